"""Amaranth ``mitchell``, ``mitchw`` and ``drum`` multipliers (hw/multipliers/{mitchell,mitchw,drum,logmul}.py).

``rtl_products`` drives a component in Amaranth's Python simulator (async testbench) and
``ref_products`` asks the golden model: the two must be equal bit for bit, exhaustively at 4-5
bits for every parameter, on random pairs plus corners at 8, 12 and 16 bits, and exhaustively
at 8 bits in the slow suite. The shared helpers (leading-one detector, barrel shifters) are
checked on their own against Python integers.
"""

from __future__ import annotations

import gc
import re
import warnings

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from axmac.golden.multipliers import make_multiplier
from axmac.hw.multipliers import make_hw_multiplier
from axmac.hw.multipliers.drum import DrumMultiplier
from axmac.hw.multipliers.logmul import leading_one, shift_left, shift_right
from axmac.hw.multipliers.mitchell import MitchellMultiplier
from axmac.hw.multipliers.mitchw import MitchWMultiplier
from axmac.verilog import to_verilog


def rtl_products(dut, a, b) -> np.ndarray:
    """Products of the component ``dut`` for the pairs ``(a[i], b[i])``, one settle per pair."""
    out = []

    async def testbench(ctx):
        for x, y in zip(a, b, strict=True):
            ctx.set(dut.a, int(x))
            ctx.set(dut.b, int(y))
            out.append(ctx.get(dut.p))

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    return np.array(out, dtype=np.int64)


def ref_products(model, a, b) -> np.ndarray:
    return model(np.asarray(a), np.asarray(b))


def all_specs(bits: int) -> list[str]:
    return (["mitchell"] + [f"mitchw:{w}" for w in range(1, bits)] + [f"drum:{k}" for k in range(2, bits + 1)])


def check(spec, bits, signed, a, b):
    model = make_multiplier(spec, bits, signed)
    got = rtl_products(make_hw_multiplier(model), a, b)
    want = ref_products(model, a, b)
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, f"{spec} {model.fmt}: {[(int(a[i]), int(b[i]), int(got[i]), int(want[i])) for i in bad[:5]]}"


def all_pairs(bits, signed):
    v = make_multiplier("exact", bits, signed).fmt.values()
    return np.repeat(v, v.size), np.tile(v, v.size)


def random_pairs(bits, signed, n, seed):
    rng = np.random.default_rng(seed)
    fmt = make_multiplier("exact", bits, signed).fmt
    corners = sorted({c for c in (fmt.lo, fmt.lo + 1, fmt.hi, fmt.hi - 1, 0, 1, 2, 3, -1, -2, 2 ** (bits - 1),
                                  2 ** (bits - 2), 2 ** (bits - 2) + 1) if fmt.lo <= c <= fmt.hi})
    a = np.concatenate([rng.integers(fmt.lo, fmt.hi + 1, n), np.repeat(corners, len(corners))])
    b = np.concatenate([rng.integers(fmt.lo, fmt.hi + 1, n), np.tile(corners, len(corners))])
    return a, b


# -- equality with the golden model ----------------------------------------------------------------


@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
@pytest.mark.parametrize("bits", [2, 3, 4, 5])
def test_exhaustive_small(bits, signed):
    a, b = all_pairs(bits, signed)
    for spec in all_specs(bits):
        check(spec, bits, signed, a, b)


@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
@pytest.mark.parametrize("spec", ["mitchell", "mitchw:1", "mitchw:4", "mitchw:6", "mitchw:7", "drum:2", "drum:3",
                                  "drum:4", "drum:6", "drum:8"])
def test_random_8bit(spec, signed):
    a, b = random_pairs(8, signed, 3000, seed=len(spec) * 2 + signed)
    check(spec, 8, signed, a, b)


@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
@pytest.mark.parametrize("bits,spec", [(12, "mitchell"), (12, "mitchw:5"), (12, "drum:4"), (16, "mitchell"),
                                       (16, "mitchw:6"), (16, "mitchw:15"), (16, "drum:2"), (16, "drum:6"),
                                       (16, "drum:16")])
def test_random_wide(bits, spec, signed):
    a, b = random_pairs(bits, signed, 600, seed=bits + len(spec) + signed)
    check(spec, bits, signed, a, b)


@pytest.mark.slow
@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
@pytest.mark.parametrize("spec", all_specs(8))
def test_exhaustive_8bit(spec, signed):
    check(spec, 8, signed, *all_pairs(8, signed))


# -- registry, signature, Verilog --------------------------------------------------------------------


@pytest.mark.parametrize("spec,cls", [("mitchell", MitchellMultiplier), ("mitchw:4", MitchWMultiplier),
                                      ("drum:4", DrumMultiplier)])
@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
def test_registry_signature_and_verilog(spec, cls, signed):
    dut = make_hw_multiplier(spec, 8, signed)
    assert type(dut) is cls and dut.model.spec == spec and dut.extra_sources == []
    assert len(dut.a) == 8 and len(dut.b) == 8 and len(dut.p) == 16
    assert dut.a.shape().signed == signed and dut.p.shape().signed == signed
    text = to_verilog(dut, "mul")
    assert "module mul(" in text.replace(" (", "(")
    code = re.sub(r"\(\*.*?\*\)|/\*.*?\*/", "", text, flags=re.S)
    products = re.findall(r"\S+\s\*\s\S+", code)
    if spec.startswith("drum"):
        assert len(products) == 1  # the k x k segment product, nothing else
    else:
        assert products == []  # log multipliers: no multiplier at all


def test_component_rejects_non_model():
    msg = None
    with warnings.catch_warnings():  # the half-built component warns "never used" when collected
        warnings.simplefilter("ignore")
        try:
            MitchellMultiplier("mitchell")
        except TypeError as e:
            msg = str(e)
        gc.collect()
    assert msg and "Multiplier" in msg


# -- shared helpers ------------------------------------------------------------------------------------


class _Helpers(wiring.Component):
    """Wraps the logmul helpers on an ``n``-bit input for the simulator."""

    def __init__(self, n, width):
        self.n, self.width = n, width
        amt = max(1, (width - 1).bit_length())
        super().__init__({"x": In(n), "amt": In(amt), "pos": Out(max(1, (n - 1).bit_length())), "nz": Out(1),
                          "shl": Out(width), "shr": Out(n)})

    def elaborate(self, platform):
        m = Module()
        pos, nz = leading_one(self.x)
        m.d.comb += [self.pos.eq(pos), self.nz.eq(nz), self.shl.eq(shift_left(self.x, self.amt, self.width)),
                     self.shr.eq(shift_right(self.x, self.amt))]
        return m


@pytest.mark.parametrize("n,width", [(1, 2), (3, 5), (5, 9), (8, 16), (12, 12)])
def test_leading_one_and_shifters(n, width):
    dut = _Helpers(n, width)
    amts = range(1 << len(dut.amt))
    xs = range(1 << n) if n <= 8 else np.random.default_rng(n).integers(0, 1 << n, 300)
    bad = []

    async def testbench(ctx):
        for x in xs:
            for amt in amts:
                ctx.set(dut.x, int(x))
                ctx.set(dut.amt, amt)
                got = (ctx.get(dut.pos), ctx.get(dut.nz), ctx.get(dut.shl), ctx.get(dut.shr))
                want = (max(int(x).bit_length() - 1, 0), int(x != 0), (int(x) << amt) % (1 << width), int(x) >> amt)
                if got != want:
                    bad.append((int(x), amt, got, want))

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    assert bad == []


def test_signal_names_visible():
    """The intermediate signals keep their names in the Verilog (readable waveforms)."""
    text = to_verilog(make_hw_multiplier("mitchw:6", 8, True), "mul")
    for name in ("c1_a", "k_a", "f_b", "p_mag"):
        assert re.search(rf"\b{name}\b", text), name


@pytest.mark.synth
def test_generic_cost_ordering():
    """Yosys (generic CMOS estimate, 8-bit signed): Mitch-w is cheaper than Mitchell and gets cheaper
    with smaller ``w`` (Kim et al. 2019/2021: "Mitch-w multipliers consume significantly less
    resources compared to the Mitchell log multiplier"); all log and DRUM designs are cheaper than
    the exact multiplier and DRUM grows with ``k``."""
    from axmac.gen.synth import synth_multiplier

    specs = ("exact", "mitchell", "mitchw:4", "mitchw:6", "drum:4", "drum:6")
    cost = {s: synth_multiplier(make_multiplier(s, 8, True), targets=("generic",))["generic"]["transistors"]
            for s in specs}
    assert cost["mitchw:4"] < cost["mitchw:6"] < cost["mitchell"] < cost["exact"], cost
    assert cost["drum:4"] < cost["drum:6"] < cost["exact"], cost
