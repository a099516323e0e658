"""gen/array_synth.py: the array's area by module, its PE alone, FPGA figures; orderings physics demands.

Report figures are checked against the computations under them (groups sum to the totals, per-PE
figures are the PE groups over R*C, overheads are the two designs' difference). Orderings:

* bypass adds area; ``icg`` adds a latch per PE (one ``$_DLATCH_`` in generic synthesis, the
  ``INVX1 + LATCH + AND2X1`` clock gate in OSU018) and the isolated operand register;
* DRUM-4 < DRUM-6 < exact holds at 16 bits. At 8 bits it does **not** hold against the honest exact
  baseline (signed ``*`` mapped to a radix-4 Booth multiplier, hw/multipliers/exact.py): DRUM-6's
  leading-one detectors, shifters and 6x6 core cost more than the whole 8x8 Booth multiplier
  (measured for the multiplier alone: 3154 vs 2798 transistors); only DRUM-4 < exact and
  DRUM-4 < DRUM-6 are asserted there.
"""

import pytest

from axmac.config import ArrayConfig
from axmac.errors import AxmacError
from axmac.gen.array_synth import array_pe, pe_figures, synth_array
from axmac.gen.breakdown import PE_GROUPS

from .test_asic import osu018

pytestmark = pytest.mark.synth

#: the smallest array with every part: 2x1 PEs, bypass and clock gating, 2-row buffer, bias-only stage
TINY = ArrayConfig(rows=2, cols=1, acc_depth=2, counters="none", output_stage="acc", bypass="all", gating="icg")


def _check_groups(res, key=None):
    cfg = res["config"]
    pes = cfg["rows"] * cfg["cols"]
    for g, per in res["per_pe"].items():
        total = res["groups"][g]
        if key is None:
            assert per == pytest.approx(total / pes)
        else:
            assert per[key] == pytest.approx(total[key] / pes)
    assert set(res["per_pe"]) <= set(PE_GROUPS)


def test_generic_array_by_module():
    res = synth_array(TINY, "generic")
    f, groups = res["figures"], res["groups"]
    for key in ("gates", "dff", "transistors"):
        assert sum(v[key] for v in groups.values()) == f[key], key
    _check_groups(res, "gates")
    assert groups["gating"]["dff"] == 2  # one clock-gate latch per PE
    assert groups["mul bypass"]["gates"] > 0 and groups["add bypass"]["gates"] > 0
    for part in ("multiplier", "pe registers", "skew", "accumulator buffer", "output stage", "output fifo",
                 "control", "parameter banks"):
        assert groups[part]["gates"] + groups[part]["dff"] > 0, part
    pe = res["pe"]
    d, b = pe["design"], pe["baseline"]
    assert pe["overhead_pct"] == pytest.approx(100 * (d["transistors"] - b["transistors"]) / b["transistors"])
    assert pe["gates_overhead_pct"] == pytest.approx(100 * (d["gates"] - b["gates"]) / b["gates"])
    assert d["gates"] > b["gates"]  # bypass adds area
    assert d["dff"] >= b["dff"] + 8 + 1  # icg: the isolated activation register and the latch
    assert d["groups"]["gating"]["dff"] == 1 and "gating" not in b["groups"]
    assert sum(v["transistors"] for v in d["groups"].values()) == d["transistors"]
    assert any("no Fmax" in n for n in res["notes"]) and any("flip-flops" in n for n in res["notes"])


def test_bad_arguments():
    with pytest.raises(AxmacError, match="unknown target 'asic'"):
        synth_array(TINY, "asic")
    with pytest.raises(AxmacError, match="ArrayConfig"):
        synth_array({"rows": 2}, "generic")
    with pytest.raises(AxmacError, match="gating 'icg' is a latch-based clock gate.*synth_ice40 rejects"):
        synth_array(TINY, "ice40")  # before anything is synthesised


@pytest.mark.slow
def test_osu018_array_by_module():
    tech = osu018()
    res = synth_array(TINY, "osu018", tech=tech)
    groups = res["groups"]
    assert sum(groups.values()) == pytest.approx(res["figures"]["area_um2"])
    _check_groups(res)
    assert groups["gating"] == 2 * 104  # INVX1 16 + LATCH 56 (layout area) + AND2X1 32 um^2 per PE
    d, b = res["pe"]["design"], res["pe"]["baseline"]
    assert d["area_um2"] > b["area_um2"] and d["groups"]["gating"] == 104
    assert res["pe"]["overhead_pct"] == pytest.approx(100 * (d["area_um2"] - b["area_um2"]) / b["area_um2"])
    again = synth_array(TINY, "osu018", tech=tech, pe=False)
    assert again["figures"]["cached"] and again["groups"] == groups


@pytest.mark.slow
def test_fpga_targets():
    cfg = TINY.replace(rows=2, cols=2, gating="enable")
    ice = synth_array(cfg, "ice40", pe=False)["figures"]
    assert ice["lut4"] > 0 and ice["fmax_mhz"] > 0 and ice["wrapper"]["flip_flops"] > 0
    dsp = synth_array(cfg, "ecp5", pe=False)["figures"]
    lut = synth_array(cfg, "ecp5", dsp=False, pe=False)["figures"]
    assert dsp["dsp"] == 4 and lut["dsp"] == 0 and lut["lut4"] > dsp["lut4"]  # one DSP block per PE multiplier
    assert dsp["fmax_mhz"] > 0 and lut["fmax_mhz"] > 0


def _pe_transistors(spec, bits):
    cfg = ArrayConfig(bits=bits, acc_bits=max(32, 2 * bits), multiplier=spec)
    return pe_figures(array_pe(cfg), "generic")["groups"]["multiplier"]["transistors"]


@pytest.mark.slow
def test_multiplier_area_ordering_at_16_bits():
    """DRUM-4 < DRUM-6 < exact in the array's PE at 16-bit operands (module docstring)."""
    t = {s: _pe_transistors(s, 16) for s in ("drum:4", "drum:6", "exact")}
    assert t["drum:4"] < t["drum:6"] < t["exact"], t


@pytest.mark.slow
def test_multiplier_area_ordering_at_8_bits():
    """At 8 bits DRUM-4 is the smallest, but DRUM-6 is not smaller than the Booth exact multiplier
    (module docstring): only the orderings that hold are asserted."""
    t = {s: _pe_transistors(s, 8) for s in ("drum:4", "drum:6", "exact")}
    assert t["drum:4"] < t["exact"] and t["drum:4"] < t["drum:6"], t


def test_osu018_groups_from_hierarchy_equal_flat_netlist():
    """The array's ASIC areas by group come from the hierarchical statistics (module areas times
    instances); on one mapping they equal the groups of its flattened netlist, cell by cell."""
    from axmac.gen.array_synth import TOP, _asic_groups
    from axmac.gen.asic import map_component, module_areas
    from axmac.gen.breakdown import array_group
    from axmac.gen.netlist import read_netlist
    from axmac.hw.top import Accelerator

    tech = osu018()
    cfg = TINY.replace(cols=2, counters="pe")  # two columns: deduplicated modules instanced twice
    mapped = map_component(Accelerator(config=cfg), TOP, tech, timeout=1800)
    lib = tech.library()
    flat = read_netlist(mapped.flat_json, TOP).area_by(lib, array_group)
    hier = _asic_groups(module_areas(mapped.stat_json, lib), TOP)
    assert set(hier) == set(flat)
    for g, area in flat.items():
        assert hier[g] == pytest.approx(area), g
    assert sum(hier.values()) == pytest.approx(mapped.area)


def test_one_abc_mapping_is_a_different_cached_run():
    """``one_abc`` / ``flat=False`` change the script and are separate cache entries (a mapping asked
    for with its flat.json never finds one without); at their defaults the keys of earlier runs stay."""
    from axmac.gen.asic import _key, _script

    s = _script(["a.v"], "top", flat=False, one_abc=True)
    assert "synth -noabc -top top" in s and "flat.json" not in s
    s = _script(["a.v"], "top")
    assert "synth -top top" in s and "write_json flat.json" in s
    keys = {_key([b"module a; endmodule"], "top", "lib", flat=f, one_abc=o) for f in (True, False)
            for o in (True, False)}
    assert len(keys) == 4
    assert _key([b"module a; endmodule"], "top", "lib") in keys
