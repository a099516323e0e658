"""gen/asic.py, gen/netlist.py, gen/breakdown.py: mapping to OSU018, areas by module (needs `make osu018`)."""

import time

import pytest

from axmac.gen.asic import map_sources
from axmac.gen.breakdown import module_group
from axmac.gen.netlist import read_netlist
from axmac.gen.pe_energy import PEDesign, pe_area
from axmac.gen.techlib import TechLibMissing, find_techlib
from axmac.hw.clock_gate import ICG_MODULE, ICG_VERILOG

#: a flip-flop on a XOR and a bare AND: XOR2X1 56 + DFFPOSX1 96 + AND2X1 32 um^2 in OSU018
TINY = """\
module tiny(input clk, input a, input b, output z, output reg q);
  assign z = a & b;
  always @(posedge clk) q <= a ^ b;
endmodule
"""
TINY_AREA = 56 + 96 + 32


def osu018():
    """The OSU018 files, or skip the test saying how to install them."""
    try:
        return find_techlib()
    except TechLibMissing as e:
        pytest.skip(str(e))


def map_tiny(tmp_path, cache=True):
    src = tmp_path / "tiny.v"
    src.write_text(TINY)
    return map_sources([src], "tiny", osu018(), cache=cache)


def test_tiny_design_area_and_netlist(tmp_path):
    m = map_tiny(tmp_path)
    assert m.area == TINY_AREA and m.sequential_area == 96
    assert m.cells_by_type == {"AND2X1": 1, "DFFPOSX1": 1, "XOR2X1": 1}
    net = read_netlist(m.flat_json, "tiny")
    lib = m.tech.library()
    assert sum(net.area_by(lib, module_group).values()) == TINY_AREA
    assert net.area_by(lib, module_group) == {"pe logic": 88.0, "pe registers": 96.0}
    assert set(net.ports) == {"clk", "a", "b", "z", "q"}
    drivers = net.drivers()
    (q,) = net.ports["q"][1]
    assert net.cells[drivers[q][0]].type == "DFFPOSX1"
    t = time.perf_counter()
    again = map_tiny(tmp_path)
    assert again.cached and again.work_dir == m.work_dir and time.perf_counter() - t < 1.0


def test_clock_gate_maps_to_inverter_latch_and_gate(tmp_path):
    src = tmp_path / "icg.v"
    src.write_text(ICG_VERILOG)
    m = map_sources([src], ICG_MODULE, osu018())
    assert m.cells_by_type == {"AND2X1": 1, "INVX1": 1, "LATCH": 1}
    assert m.area == 16 + 56 + 32  # LATCH: its layout area, not the .lib's 0


def test_pe_area_by_module():
    tech = osu018()
    plain_m, plain = pe_area(PEDesign(), tech)
    full_m, full = pe_area(PEDesign(bypass="all", gating="icg"), tech)
    for m, groups in ((plain_m, plain), (full_m, full)):
        assert sum(groups.values()) == pytest.approx(m.area)
    assert set(plain) == {"multiplier", "pe registers", "pe logic"}
    assert {"mul bypass", "add bypass", "gating"} <= set(full)
    assert full["gating"] == 104  # the clock gate: INVX1 + LATCH + AND2X1
    assert full["pe registers"] == plain["pe registers"] + 8 * 96  # the isolated multiplier operand a_mul
    assert 0.2 < (sum(full.values()) - sum(plain.values())) / sum(plain.values()) < 0.8


def test_black_boxes_stay_unmapped_cells(tmp_path):
    """A module read as a black box keeps its instance (with its ports) in the netlist; only the rest is mapped."""
    top = tmp_path / "boxed.v"
    top.write_text("module boxed(input clk, input [1:0] a, output [1:0] y, output q);\n"
                   "  wire [1:0] t; box u(.clk(clk), .i(a), .o(t)); assign y = ~t;\n"
                   "  reg r; always @(posedge clk) r <= t[0]; assign q = r;\nendmodule\n")
    stub = tmp_path / "box.v"
    stub.write_text("module box(input clk, input [1:0] i, output [1:0] o);\nendmodule\n")
    m = map_sources([top], "boxed", osu018(), blackboxes=[stub])
    assert m.cells_by_type == {"DFFPOSX1": 1, "INVX1": 2, "box": 1}
    assert m.area == 96 + 2 * 16  # the box has no area
    net = read_netlist(m.flat_json, "boxed")
    (box,) = [c for c in net.cells if c.type == "box"]
    assert box.dirs == {"clk": "input", "i": "input", "o": "output"}
    text = m.netlist.read_text()
    assert "box u" in text and "module box(" not in text and "module box (" not in text
