"""Energy from switching activity: toggles of a mapped netlist weighted by the Liberty library.

For a :class:`~axmac.gen.netlist.GateNetlist`, a :class:`~axmac.gen.liberty.Library` and the
toggles of every net in a window of cycles (:mod:`axmac.gen.activity`), the energy is linear in
the toggles::

    E = sum_n toggles_n * e_n  +  cycles * period * sum_cells leakage

with ``e_n``, the energy of one transition of net ``n`` (pJ), the sum of

* switching: ``1/2 C_n V^2``, ``C_n`` = the input capacitances of the pins it drives, plus a wire
  load ``wire_pf + wire_per_fanout_pf * fanout``, plus ``port_load_pf`` if it leaves the design;
* the internal energy of its driver: the mean of the output pin's ``rise_power`` and
  ``fall_power`` tables (a toggle is a rise or a fall, equally often), averaged over the pin's
  related inputs (a zero-delay trace does not say which input caused it), at load ``C_n`` and
  the slew of the related input's net;
* the passive internal energy of the input pins it drives (e.g. a flip-flop's ``D``).

Slews: a net driven by a cell has the mean of the driver's rise/fall transition tables at its load
(inputs at ``input_slew_ns``); primary inputs have ``input_slew_ns``.

Clock nets (nets that reach a pin with ``clock : true``) are modelled as **buffered clock trees**
(:meth:`EnergyModel.clock_tree`): the sinks are split among buffers (``clock_buffer``, at most
``clock_fanout`` sinks each, levels added until one root), each buffer's output net carries
its sinks plus wire; a toggle of the clock net then costs the switching of every tree net, the
internal energy of every buffer and the clock pins' passive energy at the leaf buffers' slew.
Without the tree an ungated clock (or a gated one behind a single AND gate) driving dozens of
flip-flops would have a slew of nanoseconds, and the slew-indexed clock-pin tables would give
several times the energy. A clock net with fewer than ``clock_tree_min`` sinks is driven
directly. A gated clock tree toggles only when the gate lets the clock through: gating saves the
tree's energy too.

Each energy is attributed to a group of cells (``group(cell, lib)``, e.g. by module):
switching and driver energy to the driver's group (``"inputs"`` for a primary input), passive
input energy to the load's group, clock trees to ``"clock tree"`` (their sinks' clock-pin energy
to the sinks' groups), leakage to each cell's group.

A netlist may contain cells that are not in the library (black boxes simulated from their RTL,
:mod:`axmac.gen.array_energy`): pass the netlist without them, ``extra_load`` (pF added to the nets
that drive their inputs) and ``input_groups`` (the group of the nets they drive, which are then
undriven: their switching energy goes there instead of ``"inputs"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .liberty import Cell, Library, Pin
from .netlist import CellInst, GateNetlist

INPUTS, CLOCK_TREE = "inputs", "clock tree"


@dataclass(frozen=True)
class EnergyOptions:
    """Assumptions of the energy model (see the module docstring); defaults for a 0.18 um library.

    OSU018 has no wire-load model: ``wire_pf + wire_per_fanout_pf * fanout`` (2 fF + 1 fF per
    pin) is of the order of the statistical wire loads of 0.18 um libraries for short local nets.
    ``port_load_pf`` stands for the next stage's register input and the wire to it. The clock
    tree uses ``BUFX4`` rather than OSU's ``CLKBUF1``: the same leaf slew (0.15 ns at 8 flip-flops)
    for a third of the internal energy.
    """

    period_ns: float = 10.0
    wire_pf: float = 0.002
    wire_per_fanout_pf: float = 0.001
    port_load_pf: float = 0.01
    input_slew_ns: float = 0.1
    clock_buffer: str = "BUFX4"
    clock_fanout: int = 8
    clock_tree_min: int = 4
    #: supply voltage; ``None``: the library's nominal voltage
    voltage: float | None = None


def _mean_rf(pair, load: float, slew: float) -> float:
    return 0.5 * (pair[0].at(load, slew) + pair[1].at(load, slew))


def _slew_out(pin: Pin, load: float, slew_in: float) -> float:
    tabs = list(pin.transition.values())
    return float(np.mean([_mean_rf(t, load, slew_in) for t in tabs])) if tabs else slew_in


@dataclass(frozen=True)
class Tree:
    """A clock tree: ``levels[i]`` buffers at level ``i`` (0 = leaves), energy per clock toggle."""

    levels: tuple[int, ...]
    leaf_slew: float
    #: pJ per toggle: tree nets' switching and buffers' internal energy (the root net not included)
    energy: float
    #: capacitance the tree presents to the net that drives it (pF)
    input_cap: float


class EnergyModel:
    """Per-net energy weights of one netlist with one library (see the module docstring).

    Parameters
    ----------
    net : GateNetlist
    lib : Library
    group : callable, optional
        ``group(cell, lib) -> str``; default: the cell's module path (``"top"`` for the top).
    options : EnergyOptions
    extra_load : dict, optional
        ``{net: pF}`` added to a net's load (inputs of cells outside ``net``, module docstring).
    input_groups : dict, optional
        ``{net: group}`` for undriven nets whose switching is not ``"inputs"`` (module docstring).
    """

    def __init__(self, net: GateNetlist, lib: Library, group: Callable[[CellInst, Library], str] | None = None,
                 options: EnergyOptions | None = None, *, extra_load: dict[int, float] | None = None,
                 input_groups: dict[int, str] | None = None):
        options = options or EnergyOptions()
        self.net, self.lib, self.opt = net, lib, options
        self.voltage = options.voltage if options.voltage is not None else lib.voltage
        group = group or (lambda c, _lib: c.path or "top")
        extra_load, input_groups = extra_load or {}, input_groups or {}
        self.cell_group = [group(c, lib) for c in net.cells]
        self.groups = list(dict.fromkeys([*self.cell_group, INPUTS, CLOCK_TREE, *input_groups.values()]))
        gi = {g: i for i, g in enumerate(self.groups)}
        self.weights = np.zeros((net.n_nets, len(self.groups)))
        self.leakage = np.zeros(len(self.groups))  # pJ per cycle
        self.caps = np.zeros(net.n_nets)
        self.slews = np.full(net.n_nets, options.input_slew_ns)
        self.trees: dict[int, Tree] = {}
        cells = [lib.cell(c.type) for c in net.cells]
        drivers, loads, outs = net.drivers(), net.loads(), net.output_nets()
        half_v2 = 0.5 * self.voltage ** 2
        for n in range(net.n_nets):
            sinks = [(ci, p) for ci, p in loads[n] if cells[ci].pins[p].clock]
            if len(sinks) >= options.clock_tree_min:
                self.trees[n] = self.clock_tree([cells[ci].pins[p].cap for ci, p in sinks])
            direct = [(ci, p) for ci, p in loads[n] if n not in self.trees or (ci, p) not in sinks]
            cap = sum(cells[ci].pins[p].cap for ci, p in direct)
            cap += options.wire_pf + options.wire_per_fanout_pf * len(direct)
            cap += self.trees[n].input_cap if n in self.trees else 0.0
            cap += options.port_load_pf if n in outs else 0.0
            cap += extra_load.get(n, 0.0)
            self.caps[n] = cap
            if drivers[n] is not None:
                ci, p = drivers[n]
                self.slews[n] = _slew_out(cells[ci].pins[p], cap, options.input_slew_ns)
        for n in range(net.n_nets):
            w = self.weights[n]
            if drivers[n] is None:
                g = CLOCK_TREE if n in self.trees else input_groups.get(n, INPUTS)
                w[gi[g]] += half_v2 * self.caps[n]
            else:
                ci, p = drivers[n]
                g = gi[CLOCK_TREE] if n in self.trees else gi[self.cell_group[ci]]
                w[g] += half_v2 * self.caps[n]
                w[gi[self.cell_group[ci]]] += self._internal(net.cells[ci], cells[ci], p, self.caps[n])
            tree = self.trees.get(n)
            if tree is not None:
                w[gi[CLOCK_TREE]] += tree.energy
            for ci, p in loads[n]:
                pin = cells[ci].pins[p]
                if "" in pin.power:
                    slew = tree.leaf_slew if tree is not None and pin.clock else self.slews[n]
                    w[gi[self.cell_group[ci]]] += _mean_rf(pin.power[""], 0.0, slew)
        for c, g in zip(cells, self.cell_group, strict=True):
            self.leakage[gi[g]] += c.leakage * options.period_ns * 1e-6  # nW * ns = 1e-6 pJ

    def _internal(self, inst: CellInst, cell: Cell, pin: str, load: float) -> float:
        tables = cell.pins[pin].power
        if not tables:
            return 0.0
        vals = []
        for rel, pair in tables.items():
            n = inst.pins.get(rel, -1)
            tree = self.trees.get(n)
            slew = (tree.leaf_slew if tree is not None and cell.pins[rel].clock else
                    self.slews[n] if n >= 0 else self.opt.input_slew_ns)
            vals.append(_mean_rf(pair, load, slew))
        return float(np.mean(vals))

    def clock_tree(self, sink_caps: list[float]) -> Tree:
        """The buffered tree that drives clock pins of capacitances ``sink_caps`` (module docstring)."""
        o = self.opt
        buf = self.lib.cell(o.clock_buffer)
        a = next(p for p in buf.pins.values() if p.direction == "input")
        y = buf.outputs[0]
        half_v2 = 0.5 * self.voltage ** 2
        loads = list(sink_caps)
        levels, energy, leaf_slew = [], 0.0, o.input_slew_ns
        while True:
            nbuf = math.ceil(len(loads) / o.clock_fanout)
            per = np.array_split(np.array(loads), nbuf)
            for group in per:
                c = float(group.sum()) + o.wire_pf + o.wire_per_fanout_pf * len(group)
                energy += half_v2 * c + float(np.mean([_mean_rf(t, c, o.input_slew_ns) for t in y.power.values()]))
                if not levels:
                    leaf_slew = max(leaf_slew, _slew_out(y, c, o.input_slew_ns))
            levels.append(nbuf)
            loads = [a.cap] * nbuf
            if nbuf == 1:
                return Tree(tuple(levels), leaf_slew, energy, a.cap)

    def energy(self, toggles: np.ndarray, cycles) -> np.ndarray:
        """Energy (pJ) per window and group: ``toggles`` is ``(windows, nets)``, ``cycles`` per window."""
        t = np.atleast_2d(np.asarray(toggles, dtype=float))
        return t @ self.weights + np.asarray(cycles, dtype=float).reshape(-1, 1) * self.leakage[None, :]


__all__ = ["CLOCK_TREE", "EnergyModel", "EnergyOptions", "INPUTS", "Tree"]
