"""gen/activity.py: gate-level simulation of a mapped netlist, toggles per cycle against hand counts."""

import shutil

import numpy as np
import pytest

from axmac.errors import AxmacError
from axmac.gen.activity import GateSim

from .test_asic import map_tiny

N = 40


def _stimulus():
    rng = np.random.default_rng(3)
    return {"a": rng.integers(0, 2, N), "b": rng.integers(0, 2, N)}


def _changes(x):
    return np.r_[0, (x[1:] != x[:-1]).astype(int)]


def _expected(st):
    """Toggles of cycle k (window [e_k - period, e_k)) by hand: vector k arrives in it, and the
    flip-flop shows what it sampled at the edge that opens it (vector k-1)."""
    a, b = st["a"], st["b"]
    d = a ^ b
    return {"a": _changes(a), "b": _changes(b), "z": _changes(a & b), "d": _changes(d),
            "q": np.r_[0, _changes(d)[:-1]], "clk": np.r_[0, np.full(N - 1, 2)]}


def _by_name(sim, act):
    net = sim.net
    dff = next(c for c in net.cells if c.type == "DFFPOSX1")
    cols = {"a": net.ports["a"][1][0], "b": net.ports["b"][1][0], "z": net.ports["z"][1][0],
            "q": net.ports["q"][1][0], "clk": net.ports["clk"][1][0], "d": dff.pins["D"]}
    return {k: act.toggles[:, c] for k, c in cols.items()}


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_toggles_per_cycle_match_hand_counts(tmp_path, simulator):
    if simulator == "icarus" and shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog is not installed (make icarus)")
    sim = GateSim(map_tiny(tmp_path), simulator=simulator)
    st = _stimulus()
    windows = [(k, k + 1) for k in range(2, N)]  # cycles 0, 1 hold the flip-flop's unknown start value
    act = sim.run(st, windows)
    assert act.untraced == [] and act.cycles.tolist() == [1] * (N - 2)
    want = _expected(st)
    for name, got in _by_name(sim, act).items():
        assert got.tolist() == want[name][2:].tolist(), name
    assert act.outputs["q"] == (st["a"] ^ st["b"]).tolist()  # output line k: what the edge of vector k loaded
    assert act.outputs["z"][:-1] == (st["a"] & st["b"])[1:].tolist()  # ... and the logic of vector k + 1


def test_cell_delays_only_add_glitches(tmp_path):
    if shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog is not installed (make icarus)")
    st = _stimulus()
    zero = GateSim(map_tiny(tmp_path), simulator="icarus").run(st, [(2, N)])
    slow = GateSim(map_tiny(tmp_path), simulator="icarus", delays=True).run(st, [(2, N)])
    assert np.all(slow.toggles >= zero.toggles) and slow.outputs == zero.outputs


def test_bad_stimulus_and_options(tmp_path):
    m = map_tiny(tmp_path)
    with pytest.raises(AxmacError, match="delays need the icarus"):
        GateSim(m, delays=True)
    sim = GateSim(m, simulator="icarus")
    with pytest.raises(AxmacError, match="missing \\['b'\\]"):
        sim.run({"a": np.zeros(4)})
    with pytest.raises(AxmacError, match="windows"):
        sim.run(_stimulus(), [(0, N + 1)])


SHIFT3 = """\
module shift3(input clk, input rst, input [3:0] d, output [3:0] q);
  reg [3:0] a, b, c;
  always @(posedge clk) begin a <= rst ? 4'd0 : d; b <= a; c <= b; end
  assign q = c;
endmodule
"""


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_register_chains_keep_their_cycles(tmp_path, simulator):
    """Three flip-flops in a row: output line k shows what edge k loaded into the last one, vector k-2.
    (Verilator ran the library's udp_dff like logic and showed vector k: the cells are rewritten for it.)"""
    from axmac.gen.asic import map_sources

    from .test_asic import osu018

    if simulator == "icarus" and shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog is not installed (make icarus)")
    src = tmp_path / "shift3.v"
    src.write_text(SHIFT3)
    m = map_sources([src], "shift3", osu018())
    assert m.cells_by_type["DFFPOSX1"] == 12
    d = np.arange(20) % 16
    act = GateSim(m, simulator=simulator).run({"rst": np.r_[1, 1, np.zeros(18, int)], "d": d})
    assert act.outputs["q"][4:] == d[2:-2].tolist()


def test_verilator_cells_make_udp_dff_a_clocked_module():
    from axmac.gen.activity import verilator_cells

    text = ("primitive udp_dff (out, in, clk, clr, set, NOTIFIER);\n  table\n  endtable\nendprimitive // udp_dff\n"
            "module DFFPOSX1 (CLK, D, Q);\n   udp_dff (DS0000, D, CLK, 1'B0, 1'B0, NOTIFIER);\nendmodule\n")
    out = verilator_cells(text)
    assert "primitive udp_dff" not in out and "always @(posedge clk or posedge clr or posedge set)" in out
    assert "   udp_dff udp_dff_i (DS0000, D, CLK" in out
    assert verilator_cells("module X; endmodule\n") == "module X; endmodule\n"
