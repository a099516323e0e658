"""hw/pe.py (with hw/bypass.py, hw/clock_gate.py): cocotb + Verilator vs the golden PE, cycle by cycle.

Each Verilator build holds several PEs that differ only in their bypass cases (see
``sim/pe_tb.py``), so one build checks a bypass subset list for one gating mode and multiplier.
The fast part covers no bypass, each single case and all cases, for every gating mode, with the
exact and an approximate multiplier (``drum:4``); the slow part every one of the 16 subsets.
"""

import gc
import hashlib
import itertools
import json

import numpy as np
import pytest
from amaranth.hdl import Module, Shape, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from axmac.golden.bypass import CASE_NAMES, Bypass
from axmac.golden.multipliers import make_multiplier
from axmac.golden.pe import MUL_USED, add_ctrl, mul_ctrl, wrap
from axmac.hw.bypass import AddBypass, MulBypass, operand_flags
from axmac.hw.clock_gate import ClockGate
from axmac.hw.pe import GATINGS, PE
from axmac.paths import BUILD_ROOT
from axmac.sim.runner import build_lock, content_file, run_cocotb
from axmac.verilog import write_design

COVER = ["none", *CASE_NAMES, "all"]
ALL16 = [str(Bypass(*f)) for f in itertools.product((False, True), repeat=4)]


OUTPUTS = ("psum_out", "mul_ctrl", "add_ctrl", "a_out", "valid_out", "w_out")


class Harness(wiring.Component):
    """Registered shared inputs (as the neighbours in an array drive them) fanned out to one PE per
    ``(bypass, gating)`` configuration; PE ``i`` is the submodule ``pe{i}`` and its outputs are the
    ports ``<name>_i``. Latency 2."""

    def __init__(self, *, multiplier, acc_bits, configs):
        self.pes = [PE(multiplier=multiplier, acc_bits=acc_bits, bypass=Bypass.parse(b), gating=g)
                    for b, g in configs]
        self.extra_sources = [s for pe in self.pes for s in pe.extra_sources]
        self.extra_verilog = {k: v for pe in self.pes for k, v in pe.extra_verilog.items()}
        pe = self.pes[0]
        ports = {name: In(getattr(pe, name).shape()) for name in ("w_in", "w_load", "a_in", "valid_in", "psum_in")}
        for i in range(len(self.pes)):
            for name in OUTPUTS:
                ports[f"{name}_{i}"] = Out(getattr(pe, name).shape())
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        regs = {}
        for name in ("w_in", "w_load", "a_in", "valid_in", "psum_in"):
            regs[name] = Signal.like(getattr(self, name), name=f"{name}_q")
            m.d.sync += regs[name].eq(getattr(self, name))
        for i, pe in enumerate(self.pes):
            m.submodules[f"pe{i}"] = pe
            m.d.comb += [getattr(pe, name).eq(r) for name, r in regs.items()]
            m.d.comb += [getattr(self, f"{name}_{i}").eq(getattr(pe, name)) for name in OUTPUTS]
        return m


def run_pe(spec, bits, signed, acc_bits, bypasses, gatings=GATINGS, *, slots=1500, seed=1, load_first=True):
    """Build one harness with a PE for every bypass subset x gating mode and run sim/pe_tb.py on it.

    Isolation is checked on every PE: multiplier inputs hold in bypassed/idle slots with gating
    ``enable``/``icg``, and do change in some of them with ``none``. ``load_first=False``: no weight
    load in slot 0 (the first slots meet the reset weight 0). Runs of one harness share its build
    (under the build folder's lock, one parameter file per run).
    """
    mult = make_multiplier(spec, bits, signed)
    configs = [(b, g) for g in gatings for b in bypasses]
    pes = [{"bypass": b, "gating": g, "isolation": "change" if g == "none" else "hold"} for b, g in configs]
    params = {"spec": spec, "bits": bits, "signed": signed, "acc_bits": acc_bits, "pes": pes, "latency": 2,
              "slots": slots, "seed": seed, "load_first": load_first}
    key = json.dumps([spec, bits, signed, acc_bits, configs])
    tag = f"{spec.replace(':', '')}_{'s' if signed else 'u'}{bits}_{hashlib.sha1(key.encode()).hexdigest()[:8]}"
    harness = Harness(multiplier=mult, acc_bits=acc_bits, configs=configs)
    with build_lock(BUILD_ROOT / "pe" / tag) as build:
        srcs = write_design(harness, "harness", build)
        pfile = content_file(build, "params", json.dumps(params).encode(), ".json")
        return run_cocotb(sources=srcs, toplevel="harness", test_module="axmac.sim.pe_tb", build_dir=build,
                          extra_env={"AXMAC_PE_PARAMS": str(pfile)})


@pytest.mark.rtl
@pytest.mark.parametrize("spec,load_first", [("exact", True), ("drum:4", False)])
def test_pe_vs_golden(spec, load_first):
    """No bypass, each single case and all cases x none/enable/icg, in one build per multiplier:
    codes and partial sums every cycle, multiplier inputs held in bypassed cycles iff gated.
    Without a load in slot 0 the first slots check the reset weight (0) and its flags."""
    assert run_pe(spec, 8, True, 32, COVER, load_first=load_first) == (1, 0)


@pytest.mark.rtl
def test_pe_unsigned_narrow_accumulator():
    """Unsigned operands (case (b) is only +1), a 16-bit accumulator that wraps, trunc:3, from reset."""
    assert run_pe("trunc:3", 8, False, 16, ["all", "one", "opposite"], load_first=False) == (1, 0)


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("spec,load_first", [("exact", False), ("drum:4", True)])
def test_pe_all_bypass_subsets(spec, load_first):
    """Every one of the 16 bypass subsets x 3 gating modes (48 PEs in one build: 2.5-4 min)."""
    assert run_pe(spec, 8, True, 32, ALL16, slots=4000, seed=7, load_first=load_first) == (1, 0)


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("spec", ["mitchell", "mitchw:4", "bam:6", "trunc:2"])
def test_pe_other_multipliers(spec):
    """The other approximate families behind the bypass (bypassed products stay exact)."""
    assert run_pe(spec, 8, True, 32, ["all", "one"], slots=2000, seed=11) == (1, 0)


@pytest.mark.rtl
@pytest.mark.slow
def test_pe_wide_operands():
    assert run_pe("exact", 16, True, 48, ["all", "none"], slots=3000) == (1, 0)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")  # objects whose __init__ raised
def test_constructor_checks():
    m8 = make_multiplier("exact", 8, True)
    with pytest.raises(TypeError, match="multiplier must be a Multiplier golden model"):
        PE(multiplier="exact")
    with pytest.raises(TypeError, match="bypass must be a Bypass, not 'all'"):
        PE(multiplier=m8, bypass="all")
    with pytest.raises(ValueError, match="gating must be one of 'none', 'enable', 'icg', not 'clock'"):
        PE(multiplier=m8, gating="clock")
    with pytest.raises(ValueError, match="dataflow must be 'ws'"):
        PE(multiplier=m8, dataflow="os")
    with pytest.raises(ValueError, match="acc_bits must be in 16..64 for 8-bit operands, not 15"):
        PE(multiplier=m8, acc_bits=15)
    with pytest.raises(TypeError, match="acc_bits must be an integer"):
        PE(multiplier=m8, acc_bits="32")
    with pytest.raises(TypeError, match="domain must be a non-empty string"):
        ClockGate(domain="")
    gc.collect()  # the half-built objects warn when collected: here, under this test's filter


def test_ports_and_icg_source(tmp_path):
    pe = PE(multiplier=make_multiplier("exact", 6, False), acc_bits=20, bypass=Bypass.parse("all"), gating="icg")
    sig = pe.signature.members
    shapes = {n: (m.flow.name, Shape.cast(m.shape).width, Shape.cast(m.shape).signed) for n, m in sig.items()}
    assert shapes == {
        "w_in": ("In", 6, False), "w_load": ("In", 1, False), "w_out": ("Out", 6, False),
        "a_in": ("In", 6, False), "valid_in": ("In", 1, False), "a_out": ("Out", 6, False),
        "valid_out": ("Out", 1, False), "psum_in": ("In", 20, True), "psum_out": ("Out", 20, True),
        "mul_ctrl": ("Out", 2, False), "add_ctrl": ("Out", 2, False)}
    files = write_design(pe, "pe", tmp_path)
    assert [f.name for f in files] == ["pe.v", "axmac_icg.v"]
    text = files[0].read_text()
    assert "axmac_icg" in text and "mult" in text
    assert "module axmac_icg" in files[1].read_text()
    assert "axmac_icg" not in write_design(PE(multiplier=make_multiplier("exact", 6, False), acc_bits=20,
                                              gating="enable"), "pe", tmp_path / "e")[0].read_text()


class _MulUnit(wiring.Component):
    """MulBypass with its flags made from the operands (as the PE does)."""

    def __init__(self, bits, signed, bypass):
        self.unit = MulBypass(bits=bits, signed=signed, bypass=bypass)
        super().__init__({"a": In(self.unit.a.shape()), "b": In(self.unit.b.shape()), "ctrl": Out(2),
                          "result": Out(self.unit.result.shape())})

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = u = self.unit
        az, a1 = operand_flags(self.a, self.unit.is_signed)
        bz, b1 = operand_flags(self.b, self.unit.is_signed)
        m.d.comb += [u.a.eq(self.a), u.b.eq(self.b), u.a_zero.eq(az), u.a_one.eq(a1), u.b_zero.eq(bz),
                     u.b_one.eq(b1), self.ctrl.eq(u.ctrl), self.result.eq(u.result)]
        return m


def _sweep(dut, pairs, outs):
    """Drive every (x, y) pair into ports a, b of a combinational dut; return the outputs."""
    got = []

    async def bench(ctx):
        for x, y in pairs:
            ctx.set(dut.a, x)
            ctx.set(dut.b, y)
            got.append(tuple(ctx.get(getattr(dut, o)) for o in outs))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.mark.parametrize("signed", [True, False])
def test_mul_bypass_unit_exhaustive(signed):
    """Every 4-bit operand pair, every zero/one setting: codes as golden, results exact where bypassed."""
    fmt = make_multiplier("exact", 4, signed).fmt
    pairs = [(int(x), int(y)) for x in fmt.values() for y in fmt.values()]
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    for zero, one in itertools.product((False, True), repeat=2):
        bp = Bypass(zero=zero, one=one)
        got = np.array(_sweep(_MulUnit(4, signed, bp), pairs, ("ctrl", "result")))
        want_code = mul_ctrl(a, b, bp, signed)
        np.testing.assert_array_equal(got[:, 0], want_code, err_msg=str(bp))
        byp = want_code != MUL_USED
        np.testing.assert_array_equal(got[byp, 1], (a * b)[byp], err_msg=str(bp))


def test_add_bypass_unit_exhaustive():
    """Every pair of 6-bit addends: codes as golden (opposite modulo 2**6), results exact."""
    v = list(range(-32, 32))
    pairs = [(x, y) for x in v for y in v]
    p = np.array([q[0] for q in pairs])
    s = np.array([q[1] for q in pairs])
    for add_zero, opposite in itertools.product((False, True), repeat=2):
        bp = Bypass(add_zero=add_zero, opposite=opposite)
        got = np.array(_sweep(AddBypass(acc_bits=6, bypass=bp), pairs, ("ctrl", "result")))
        want_code = add_ctrl(p, s, bp, 6)
        np.testing.assert_array_equal(got[:, 0], want_code, err_msg=str(bp))
        byp = want_code != 0b11
        np.testing.assert_array_equal(got[byp, 1], wrap(p + s, 6)[byp], err_msg=str(bp))
