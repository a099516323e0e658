"""gen/synth.py: Yosys generic / iCE40 flows on small designs whose figures are known independently."""

import json
import re
import shutil
from pathlib import Path

import pytest
from amaranth.hdl import Instance, Module, Signal, unsigned
from amaranth.hdl import signed as signed_shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from axmac.errors import AxmacError
from axmac.gen.synth import SynthError, synth_component, synth_multiplier, synth_sources
from axmac.golden.multipliers import make_multiplier
from axmac.hw.multipliers import make_hw_multiplier
from axmac.hw.multipliers.exact import ExactMultiplier
from axmac.paths import BUILD_ROOT

pytestmark = pytest.mark.synth

FIGURES = ("gates", "dff", "transistors", "lut4", "carry", "lc", "fmax_mhz")


class _BitwiseAnd(wiring.Component):
    """``y = a & b``: exactly ``n`` two-input AND gates, nothing else."""

    def __init__(self, n):
        super().__init__({"a": In(unsigned(n)), "b": In(unsigned(n)), "y": Out(unsigned(n))})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.y.eq(self.a & self.b)
        return m


class _ExternalAnd(_BitwiseAnd):
    """The same AND, as an instance of a Verilog module given as text (``extra_verilog``)."""

    def __init__(self, n):
        super().__init__(n)
        self.extra_verilog = {"ext_and.v": "module ext_and #(parameter N = 1) (input [N-1:0] x, input [N-1:0] z, "
                                           "output [N-1:0] o); assign o = x & z; endmodule\n"}
        self.n = n

    def elaborate(self, platform):
        m = Module()
        m.submodules.u = Instance("ext_and", p_N=self.n, i_x=self.a, i_z=self.b, o_o=self.y)
        return m


class _RegisteredAnd(_BitwiseAnd):
    """``y <= a & b`` on the ``sync`` clock: n flip-flops of its own."""

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.y.eq(self.a & self.b)
        return m


def _figures(r):
    return {k: r[k] for k in FIGURES if k in r}


def test_generic_counts_known_gates():
    r = synth_component(_BitwiseAnd(5), "band", target="generic", registered=False)
    assert r["gates_by_type"] == {"AND": 5}
    assert r["gates"] == 5 and r["dff"] == 0
    # Yosys's CMOS estimate: NAND2 / NOR2 4 transistors, NOT 2
    cm = r["cmos_by_type"]
    assert r["transistors"] == 4 * cm.get("NAND", 0) + 4 * cm.get("NOR", 0) + 2 * cm.get("NOT", 0)
    assert r["transistors"] >= 5 * 6  # an AND costs at least a NAND and an inverter


def test_external_verilog_is_synthesised():
    r = synth_component(_ExternalAnd(3), "extand", target="generic", registered=True)
    assert r["gates_by_type"] == {"AND": 3} and r["dff"] == 9


def test_wrapper_shares_the_clock_of_a_sequential_design():
    r = synth_component(_RegisteredAnd(4), "rand", target="ice40", registered=True)
    assert r["dff"] == 4 * 4 and r["lut4"] == 4  # 3n wrapper flops + n own; one LUT per AND
    assert r["io"] == 3 * 4 + 2 and r["fmax_mhz"] > 0  # one clock, one reset


def test_registered_wrapper_adds_one_flop_per_port_bit():
    # 4-bit signed multiplier: 4 + 4 input bits, 8 output bits
    r = synth_component(make_hw_multiplier("exact", 4, True), "mul4", target="generic", registered=True)
    assert r["dff"] == 16 and r["registered"] is True


def test_exact_multipliers_plausible_and_monotone():
    s4 = synth_multiplier(make_multiplier("exact", 4, True))
    s8 = synth_multiplier(make_multiplier("exact", 8, True))
    g4, g8 = s4["generic"], s8["generic"]
    # an n x n array multiplier has n*n partial-product ANDs and ~n*n full adders (>= 5 gates each)
    assert 16 <= g4["gates"] < g8["gates"] < 3000
    assert g8["gates"] >= 64 and g8["transistors"] > 4 * 64
    i4, i8 = s4["ice40"], s8["ice40"]
    assert 0 < i4["lut4"] < i8["lut4"] < 2000
    assert i8["dff"] == 32 and i8["io"] == 8 + 8 + 16 + 2  # operands, product, clk and rst
    assert i8["lc"] >= i8["lut4"]
    assert 10 < i8["fmax_mhz"] < 1000 and i4["fmax_mhz"] > i8["fmax_mhz"]


def test_truncated_multiplier_is_smaller():
    exact = synth_multiplier(make_multiplier("exact", 8, True), targets=("generic",))["generic"]
    trunc = synth_multiplier(make_multiplier("trunc:4", 8, True), targets=("generic",))["generic"]
    assert 0 < trunc["gates"] < exact["gates"] / 2  # a 4x4 core instead of 8x8
    assert trunc["transistors"] < exact["transistors"]


def test_ice40_too_many_pins_keeps_yosys_figures():
    r = synth_component(_BitwiseAnd(80), "wide", target="ice40", registered=False)
    assert r["io"] == 240 and r["lut4"] == 80  # one LUT4 per output bit
    assert r["fmax_mhz"] is None and r["lc"] is None and "206 I/O pins" in r["note"]


def test_cache_hit_returns_same_figures():
    comp = make_hw_multiplier("exact", 6, False)
    first = synth_component(comp, "mul6", target="ice40", cache=False)
    again = synth_component(make_hw_multiplier("exact", 6, False), "mul6", target="ice40")
    assert first["cached"] is False and again["cached"] is True
    assert _figures(first) == _figures(again)
    assert first["fmax_mhz"] > 0


def test_tool_failure_names_the_log(tmp_path):
    bad = tmp_path / "bad.v"
    bad.write_text("module bad(input a, output y); assign y = a &; endmodule\n")
    with pytest.raises(SynthError, match=r"yosys failed.*log: .*yosys\.log") as err:
        synth_sources([bad], "bad", cache=False)
    log = Path(re.search(r"log: (\S+)\)", str(err.value)).group(1))
    assert log.is_file()  # a failed run keeps its work folder
    shutil.rmtree(log.parent)


def test_work_folder_deleted_unless_kept(monkeypatch):
    """A top name of its own: no other test's work folder comes and goes in the glob (pytest -n)."""
    def folders():
        return set((BUILD_ROOT / "synth").glob("keepwork-generic-*"))

    def run(**kw):
        return synth_component(_BitwiseAnd(3), "keepwork", target="generic", registered=False, cache=False, **kw)

    monkeypatch.delenv("AXMAC_KEEP_WORK", raising=False)
    before = folders()
    r = run()
    assert r["work_dir"] is None and folders() == before and r["gates"] == 3
    kept = run(keep_work=True)
    monkeypatch.setenv("AXMAC_KEEP_WORK", "1")
    env_kept = run()
    for res in (kept, env_kept):
        work = Path(res["work_dir"])
        assert work.parent == BUILD_ROOT / "synth" and (work / "yosys.log").is_file()
        assert "assign" in (work / "netlist.v").read_text()
        shutil.rmtree(work)
    assert folders() == before


@pytest.mark.parametrize("spec,bits", [("exact", 8), pytest.param("trunc:2", 10, marks=pytest.mark.slow)])
def test_booth_mapped_netlist_is_exact(tmp_path, spec, bits):
    """The flow maps the signed ``*`` of ``exact`` (and of ``trunc``'s kept 8x8 product) to a Booth
    multiplier: its gate netlist, simulated on every operand pair (Verilator, the ``verilog:``
    family's tabulation), gives the golden products; without the Booth pass the netlist differs."""
    model = make_multiplier(spec, bits, True)
    r = synth_multiplier(model, targets=("generic",), cache=False, keep_work=True)["generic"]
    plain = synth_multiplier(model, targets=("generic",), booth="none")["generic"]
    assert r["booth"] == "signed" and r["gates"] < plain["gates"]
    net = tmp_path / "net.v"
    shutil.copyfile(Path(r["work_dir"]) / "netlist.v", net)
    shutil.rmtree(r["work_dir"])
    assert (make_multiplier(f"verilog:{net}:mul", bits, True).table() == model.table()).all()


def test_exact_is_the_smallest_structure():
    """``exact`` builds the smallest measured exact structure (hw/multipliers/exact.py), here at
    8 bits, within ABC's noise (1 %)."""
    for signed in (True, False):
        model = make_multiplier("exact", 8, signed)
        chosen = synth_component(make_hw_multiplier(model), "mul", registered=False)["transistors"]
        for structure, booth in (("mul", "none"), ("mul", "all"), ("array", "none"), ("csa", "none")):
            other = synth_component(ExactMultiplier(model, structure=structure), "mul", registered=False,
                                    booth=booth)["transistors"]
            assert chosen <= 1.01 * other, (signed, structure, booth, chosen, other)


def test_bad_arguments(tmp_path):
    with pytest.raises(AxmacError, match="target"):
        synth_component(None, target="asic")  # the target is checked first
    with pytest.raises(AxmacError, match="no such Verilog file"):
        synth_sources([tmp_path / "missing.v"], "x")
    with pytest.raises(AxmacError, match="top module"):
        synth_sources([tmp_path / "missing.v"], "bad name")
    with pytest.raises(AxmacError, match="booth must be one of signed, all, none, not 'yes'"):
        synth_sources([tmp_path / "missing.v"], "x", booth="yes")


@pytest.mark.slow
@pytest.mark.parametrize("bits", [8, 12])
def test_approximate_families_are_cheaper_than_exact(bits):
    """What every source claims of these designs (ASIC area): fewer gates and transistors than the
    exact multiplier. On iCE40 the claim holds for trunc, bam and Mitch-w; against the Booth
    baseline, whose adders use the carry chains, Mitchell and DRUM-4 at 8 bits (155 and 172 LUT4
    vs 127) and DRUM-6 at 12 bits (322 vs 284) take more LUTs than the exact multiplier."""
    specs = {8: ("trunc:2", "bam:6", "mitchell", "mitchw:4", "drum:4"),
             12: ("trunc:3", "bam:10", "mitchell", "mitchw:6", "drum:6")}[bits]
    exact = synth_multiplier(make_multiplier("exact", bits, True))
    for spec in specs:
        r = synth_multiplier(make_multiplier(spec, bits, True))
        assert r["generic"]["gates"] < exact["generic"]["gates"], spec
        assert r["generic"]["transistors"] < exact["generic"]["transistors"], spec
        if spec.startswith(("trunc", "bam", "mitchw")):
            assert r["ice40"]["lut4"] < exact["ice40"]["lut4"], spec


class _Hier(wiring.Component):
    """A registered AND through a submodule ``u`` (5 ANDs there, 5 flip-flops here)."""

    def __init__(self):
        super().__init__({"a": In(unsigned(5)), "b": In(unsigned(5)), "y": Out(unsigned(5))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.u = u = _BitwiseAnd(5)
        m.d.comb += [u.a.eq(self.a), u.b.eq(self.b)]
        m.d.sync += self.y.eq(u.y)
        return m


def test_generic_hierarchy_reports_each_module():
    r = synth_component(_Hier(), "hier", target="generic", registered=False, hierarchy=True)
    mods = r["modules"]
    assert mods["hier.u"] == {"gates": 5, "dff": 0, "transistors": mods["hier.u"]["transistors"], "children": {}}
    assert mods["hier"]["dff"] == 5 and mods["hier"]["gates"] == 0 and mods["hier"]["children"] == {"hier.u": 1}
    assert r["gates"] == sum(m["gates"] for m in mods.values()) == 5 and r["dff"] == 5
    assert r["transistors"] == sum(m["transistors"] for m in mods.values()) >= 5 * 6
    assert r["gates_by_type"] == {"AND": 5}  # no submodule instance among the cells


def test_ecp5_dsp_and_lut_multiplier():
    """An 8x8 signed multiplier with registered I/O on the ECP5-25k: one DSP block, or (``-nodsp``) LUTs
    and carry chains only; Fmax is nextpnr's routed result, the last "Max frequency" line of its log."""
    comp = make_hw_multiplier("exact", 8, True)
    dsp = synth_component(comp, "mul", target="ecp5", keep_work=True, cache=False)
    lut = synth_component(make_hw_multiplier("exact", 8, True), "mul", target="ecp5", dsp=False)
    work = Path(dsp["work_dir"])
    log = (work / "nextpnr.log").read_text()
    last = float(re.findall(r"Max frequency for clock\s+'[^']+':\s+([\d.]+) MHz", log)[-1])
    report = json.loads((work / "report.json").read_text())
    shutil.rmtree(work)
    assert dsp["fmax_mhz"] == last == pytest.approx(min(v["achieved"] for v in report["fmax"].values()), abs=0.01)
    assert dsp["device"] == "25k-CABGA256" and dsp["dsp"] >= 1 and dsp["dsp_used"] is True
    assert lut["dsp"] == 0 and lut["dsp_used"] is False and lut["lut4"] > dsp["lut4"] + 30 and lut["carry"] > 0
    assert lut["dff"] == dsp["dff"] == 32  # the wrapper's registers
    assert dsp["io"] == lut["io"] == 8 + 8 + 16 + 2
    assert 10 < lut["fmax_mhz"] < 1000 and dsp["slices"] > 0


def test_ecp5_too_many_pins_keeps_yosys_figures():
    r = synth_component(_BitwiseAnd(70), "wide", target="ecp5", registered=False)
    assert r["io"] == 210 and r["lut4"] == 70
    assert r["fmax_mhz"] is None and r["slices"] is None and "197 I/O pins" in r["note"]


class _ManyProducts(wiring.Component):
    """``n`` registered 8x8 signed products XORed together: ``n`` DSP blocks on ECP5."""

    def __init__(self, n):
        self.n = n
        super().__init__({"x": In(signed_shape(8)), "y": Out(signed_shape(16))})

    def elaborate(self, platform):
        m = Module()
        regs = [Signal(signed_shape(8), name=f"r{i}") for i in range(self.n + 1)]
        m.d.sync += regs[0].eq(self.x)
        m.d.sync += [regs[i].eq(regs[i - 1] + 1) for i in range(1, self.n + 1)]
        acc = 0
        for i in range(self.n):
            acc = acc ^ (regs[i] * regs[i + 1])
        m.d.sync += self.y.eq(acc)
        return m


def test_ecp5_more_dsps_than_the_device_has():
    """30 products need 30 DSP blocks; the 25k has 28: Yosys's figures, no Fmax, a note saying why."""
    r = synth_component(_ManyProducts(30), "many", target="ecp5", registered=False)
    assert r["dsp"] >= 29 and r["fmax_mhz"] is None and r["slices"] is None
    assert "does not fit" in r["note"] and "MULT18X18D" in r["note"]
