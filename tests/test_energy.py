"""gen/energy.py: energy of a hand-made netlist and library, computed by hand."""

import pytest

from axmac.gen.energy import CLOCK_TREE, INPUTS, EnergyModel, EnergyOptions
from axmac.gen.liberty import library_from_group, parse_liberty
from axmac.gen.netlist import CellInst, GateNetlist

#: round numbers: constant tables, so every energy below is easy to check by hand
LIB = r"""
library(toy) {
  capacitive_load_unit (1,pf);
  nom_voltage : 1.0;
  power_lut_template(e) { variable_1 : total_output_net_capacitance; variable_2 : input_transition_time;
                          index_1 ("0, 1"); index_2 ("0, 1"); }
  power_lut_template(p) { variable_1 : input_transition_time; index_1 ("0, 1"); }
  lu_table_template(d) { variable_1 : total_output_net_capacitance; variable_2 : input_net_transition;
                         index_1 ("0, 1"); index_2 ("0, 1"); }
  cell (INV) {
    area : 10; cell_leakage_power : 1;
    pin(A) { direction : input; capacitance : 0.01; }
    pin(Y) { direction : output; function : "(!A)";
      timing() { related_pin : "A"; rise_transition(d) { values ("0.2, 0.2", "0.2, 0.2"); }
                                     fall_transition(d) { values ("0.2, 0.2", "0.2, 0.2"); } }
      internal_power() { related_pin : "A"; rise_power(e) { values ("0.1, 0.1", "0.1, 0.1"); }
                                            fall_power(e) { values ("0.3, 0.3", "0.3, 0.3"); } } }
  }
  cell (BUF) {
    area : 12; cell_leakage_power : 0;
    pin(A) { direction : input; capacitance : 0.004; }
    pin(Y) { direction : output; function : "A";
      timing() { related_pin : "A"; rise_transition(d) { values ("0.1, 0.1", "0.1, 0.1"); }
                                     fall_transition(d) { values ("0.1, 0.1", "0.1, 0.1"); } }
      internal_power() { related_pin : "A"; rise_power(e) { values ("0.02, 0.02", "0.02, 0.02"); }
                                            fall_power(e) { values ("0.04, 0.04", "0.04, 0.04"); } } }
  }
  cell (DFF) {
    area : 40; cell_leakage_power : 2;
    ff (IQ, IQN) { next_state : "D"; clocked_on : "CLK"; }
    pin(CLK) { direction : input; capacitance : 0.02; clock : true;
      internal_power() { rise_power(p) { values ("0.01, 0.01"); } fall_power(p) { values ("0.03, 0.03"); } } }
    pin(D) { direction : input; capacitance : 0.005;
      internal_power() { rise_power(p) { values ("0.002, 0.002"); } fall_power(p) { values ("0.004, 0.004"); } } }
    pin(Q) { direction : output; function : "IQ";
      internal_power() { related_pin : "CLK"; rise_power(e) { values ("0.05, 0.05", "0.05, 0.05"); }
                                              fall_power(e) { values ("0.07, 0.07", "0.07, 0.07"); } } }
  }
}
"""
OPT = EnergyOptions(period_ns=10.0, wire_pf=0.001, wire_per_fanout_pf=0.0005, port_load_pf=0.01, voltage=2.0,
                    clock_buffer="BUF", clock_fanout=2, clock_tree_min=3)


def _lib():
    return library_from_group(parse_liberty(LIB))


def test_weights_of_an_inverter_into_a_flip_flop():
    # a -> INV u1 -> n1 -> DFF u2.D ; clk -> u2.CLK ; u2.Q -> y
    a, n1, clk, y = range(4)
    cells = [CellInst("u1", "INV", "", {"A": a, "Y": n1}, {"A": "input", "Y": "output"}),
             CellInst("u2", "DFF", "sub", {"CLK": clk, "D": n1, "Q": y}, {"CLK": "input", "D": "input", "Q": "output"})]
    net = GateNetlist("t", cells, [["a"], ["n1"], ["clk"], ["y"]],
                      {"a": ("input", [a]), "clk": ("input", [clk]), "y": ("output", [y])})
    m = EnergyModel(net, _lib(), options=OPT)
    g = {name: i for i, name in enumerate(m.groups)}
    half_v2 = 0.5 * 2.0 ** 2
    # a: INV input 0.01 + wire 0.001 + 0.0005 per fanout
    assert m.weights[a, g[INPUTS]] == pytest.approx(half_v2 * 0.0115)
    # n1: D 0.005 + wire, switching and INV internal (0.1 + 0.3) / 2 to the INV's group; D passive to the DFF's
    assert m.weights[n1, g["top"]] == pytest.approx(half_v2 * 0.0065 + 0.2)
    assert m.weights[n1, g["sub"]] == pytest.approx(0.003)
    # clk: one clock sink, fewer than clock_tree_min: driven directly; CLK passive (0.01 + 0.03) / 2
    assert m.weights[clk, g[INPUTS]] == pytest.approx(half_v2 * 0.0215)
    assert m.weights[clk, g["sub"]] == pytest.approx(0.02)
    # y: no load but wire and port; Q internal (0.05 + 0.07) / 2
    assert m.weights[y, g["sub"]] == pytest.approx(half_v2 * 0.011 + 0.06)
    assert m.slews[n1] == pytest.approx(0.2) and m.slews[a] == OPT.input_slew_ns
    e = m.energy([[4, 4, 20, 3]], [10])[0]
    leak = 10 * 10.0 * 1e-6  # pJ per nW of leakage over 10 cycles of 10 ns (INV 1 nW, DFF 2 nW)
    assert e[g["top"]] == pytest.approx(4 * (half_v2 * 0.0065 + 0.2) + 1 * leak)
    assert e[g["sub"]] == pytest.approx(4 * 0.003 + 20 * 0.02 + 3 * (half_v2 * 0.011 + 0.06) + 2 * leak)
    assert e.sum() == pytest.approx(4 * half_v2 * 0.0115 + 20 * half_v2 * 0.0215 + e[g["top"]] + e[g["sub"]])


def test_clock_tree_buffers_the_sinks():
    # five flip-flops on one clock: clock_fanout 2 -> 3 leaf buffers, 2 above them, 1 root
    cells = [CellInst(f"f{i}", "DFF", "", {"CLK": 0, "D": 1, "Q": 2 + i}, {"CLK": "input", "D": "input",
                                                                            "Q": "output"}) for i in range(5)]
    net = GateNetlist("t", cells, [["clk"], ["d"], *[[f"q{i}"] for i in range(5)]],
                      {"clk": ("input", [0]), "d": ("input", [1])})
    m = EnergyModel(net, _lib(), options=OPT)
    tree = m.trees[0]
    assert tree.levels == (3, 2, 1) and tree.leaf_slew == pytest.approx(0.1) and tree.input_cap == 0.004
    half_v2 = 2.0
    leaves = half_v2 * (5 * 0.02 + 3 * 0.001 + 5 * 0.0005)
    mids = half_v2 * (3 * 0.004 + 2 * 0.001 + 3 * 0.0005)
    root = half_v2 * (2 * 0.004 + 0.001 + 2 * 0.0005)
    assert tree.energy == pytest.approx(leaves + mids + root + 6 * 0.03)  # 6 buffers, (0.02 + 0.04) / 2 each
    g = {name: i for i, name in enumerate(m.groups)}
    # the clock port sees only the root buffer (+ wire); its sinks' CLK energy stays with the flip-flops
    assert m.caps[0] == pytest.approx(0.004 + 0.001)
    assert m.weights[0, g[CLOCK_TREE]] == pytest.approx(half_v2 * 0.005 + tree.energy)
    assert m.weights[0, g["top"]] == pytest.approx(5 * 0.02)


def test_black_box_loads_and_outputs():
    """Nets into a cell outside the netlist carry ``extra_load``; a net it drives is undriven here, and
    its switching goes to its ``input_groups`` group instead of ``inputs``; passive pin energy stays."""
    a, n1, b, y = range(4)
    cells = [CellInst("u1", "INV", "", {"A": a, "Y": n1}, {"A": "input", "Y": "output"}),
             CellInst("u2", "INV", "", {"A": b, "Y": y}, {"A": "input", "Y": "output"})]
    net = GateNetlist("t", cells, [["a"], ["n1"], ["b"], ["y"]], {"a": ("input", [a]), "y": ("output", [y])})
    # n1 feeds two pins of a black box, b is driven by it
    m = EnergyModel(net, _lib(), options=OPT, extra_load={n1: 0.02}, input_groups={b: "box"})
    g = {name: i for i, name in enumerate(m.groups)}
    half_v2 = 2.0
    assert m.caps[n1] == pytest.approx(0.001 + 0.02)  # wire (no pin of the netlist) + the black box's load
    assert m.weights[n1, g["top"]] == pytest.approx(half_v2 * 0.021 + 0.2)
    assert m.weights[b, g["box"]] == pytest.approx(half_v2 * 0.0115) and m.weights[b, g[INPUTS]] == 0
    assert m.weights[a, g[INPUTS]] == pytest.approx(half_v2 * 0.0115)
