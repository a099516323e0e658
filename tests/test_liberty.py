"""gen/liberty.py (the Liberty reader) and gen/techlib.py (finding OSU018, LEF areas)."""

import numpy as np
import pytest

from axmac.errors import AxmacError
from axmac.gen import techlib
from axmac.gen.liberty import LibertyError, Table, library_from_group, parse_liberty, read_liberty
from axmac.gen.techlib import TechLibMissing, find_techlib, lef_areas, patched_liberty, techlib_from_files

#: a small library in femtofarads and picoseconds; one table template with the slew first
SMALL = r"""
/* a comment */
library(small) {
  time_unit : "1ps";
  voltage_unit : "1V";
  leakage_power_unit : "1pW";
  capacitive_load_unit (1,ff);
  nom_voltage : 1.2;
  power_lut_template(e2) {
    variable_1 : input_transition_time;
    variable_2 : total_output_net_capacitance;
    index_1 ("10, 30");
    index_2 ("1, 3");
  }
  power_lut_template(p1) {
    variable_1 : input_transition_time;
    index_1 ("10, 30");
  }
  cell (INV) {
    area : 4;
    cell_leakage_power : 500;
    pin(A) { direction : input; rise_capacitance : 2; fall_capacitance : 4; }
    pin(Y) {
      direction : output;
      function : "(!A)";
      internal_power() {
        related_pin : "A";
        rise_power(e2) { values ( "1, 2", \
                                  "3, 4"); }
        fall_power(e2) { values ("5, 6", "7, 8"); }
      }
    }
  }
  cell (LAT) {
    area : 0;
    latch (IQ, IQN) { enable : "G"; data_in : "D"; }
    pin(G) { direction : input; capacitance : 1; clock : true;
      internal_power() { rise_power(p1) { values ("10, 20"); } fall_power(p1) { values ("30, 40"); } } }
    pin(D) { direction : input; capacitance : 1; }
    pin(Q) { direction : output; function : "IQ"; }
  }
}
"""


def test_parse_groups_attributes_and_continuations():
    lib = parse_liberty(SMALL)
    assert lib.kind == "library" and lib.args == ["small"]
    assert lib.attrs["capacitive_load_unit"] == ["1", "ff"]
    inv = next(c for c in lib.sub("cell") if c.args == ["INV"])
    pin_y = next(p for p in inv.sub("pin") if p.args == ["Y"])
    rise = pin_y.sub("internal_power")[0].sub("rise_power")[0]
    assert rise.attrs["values"] == ["1, 2", "3, 4"]  # the backslash continuation is gone


def test_units_and_axes_are_normalised():
    lib = library_from_group(parse_liberty(SMALL), areas={"LAT": 7.5})
    inv, lat = lib.cell("INV"), lib.cell("LAT")
    assert lib.voltage == 1.2
    assert inv.area == 4 and inv.leakage == pytest.approx(0.5)  # pW -> nW
    assert inv.pins["A"].cap == pytest.approx(0.003)  # mean of 2 and 4 fF, in pF
    rise, fall = inv.pins["Y"].power["A"]
    # template variable_1 is the slew: rows are slews, the table is stored load x slew
    assert rise.loads == (0.001, 0.003) and rise.slews == (0.01, 0.03)  # fF -> pF, ps -> ns
    assert rise.at(0.001, 0.01) == pytest.approx(1e-3) and rise.at(0.003, 0.01) == pytest.approx(2e-3)
    assert fall.at(0.003, 0.03) == pytest.approx(8e-3)  # fF * V^2 = fJ = 1e-3 pJ
    assert lat.seq == "latch" and lat.pins["G"].clock and lat.area == 7.5 and lib.area_from_layout == ("LAT",)
    assert lat.pins["G"].power[""][1].at(slew=0.02) == pytest.approx(35e-3)


def test_table_interpolates_and_extrapolates_linearly():
    t = Table((0.0, 1.0), (0.0, 2.0), np.array([[0.0, 2.0], [10.0, 12.0]]))
    assert t.at(0.5, 1.0) == pytest.approx(6.0)
    assert t.at(2.0, 0.0) == pytest.approx(20.0)  # beyond the load axis
    assert t.at(0.0, -2.0) == pytest.approx(-2.0)


def test_bad_liberty_is_one_clear_error(tmp_path):
    p = tmp_path / "bad.lib"
    p.write_text("library(x) { cell (A) { area : 1; }")
    with pytest.raises(LibertyError, match="bad.lib"):
        read_liberty(p)
    with pytest.raises(LibertyError, match="cannot read"):
        read_liberty(tmp_path / "none.lib")


def test_lef_areas(tmp_path):
    p = tmp_path / "c.lef"
    p.write_text("MACRO INV\n  CLASS CORE ;\n  SIZE 1.600 BY 10.000 ;\nEND INV\nMACRO FILL\nEND FILL\n")
    assert lef_areas(p) == {"INV": 16.0}


def test_missing_library_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(techlib, "search_dirs", lambda: [tmp_path])
    with pytest.raises(TechLibMissing, match="make osu018"):
        find_techlib()
    with pytest.raises(AxmacError, match="not found"):
        techlib_from_files(tmp_path / "x.lib")


def _osu018():
    try:
        return find_techlib()
    except TechLibMissing as e:
        pytest.skip(str(e))


def test_osu018_known_cells():
    tech = _osu018()
    lib = tech.library()
    assert lib.voltage == 1.8
    assert lib.cell("INVX1").area == 16 and lib.cell("AND2X1").area == 32 and lib.cell("DFFPOSX1").area == 96
    assert lib.cell("LATCH").area == 56 and lib.area_from_layout == ("LATCH",)  # 0 in the .lib, 5.6 x 10 um
    dff = lib.cell("DFFPOSX1")
    assert dff.seq == "ff" and dff.pins["CLK"].clock and not dff.pins["D"].clock
    clk_rise, clk_fall = dff.pins["CLK"].power[""]
    assert (clk_rise.at(slew=0.06), clk_fall.at(slew=0.06)) == pytest.approx((0.006865, 0.11034))
    assert "area : 56" in patched_liberty(tech)
