"""The R x C mesh of PEs (weight- or output-stationary) with its activity counters.

Wiring (docs/array.md): row ``r``'s activation lane enters PE ``(r, 0)`` and moves right through
every PE of the row (registered in each). Weight-stationary: column ``c``'s weight lane is
broadcast to the column's shadow registers, PE ``(r, c)`` taking the beats whose ``row`` is
``r``; partial sums flow down, row 0 starting from 0, and ``psum[c]`` is the combinational
output of PE ``(R-1, c)``. Output-stationary: column ``c``'s weight enters PE ``(0, c)`` and moves
down; the drain chain runs down each column, and ``drain[c]`` is the bottom register. A
column's hold registers are copied into its chain one cycle after the bottom PE has computed a
tile's last slot (``drain_load_{c}``, a register fed by that PE's ``valid_out & end_out``).

Latency: an activation entering row ``r`` in cycle ``t`` is computed by PE ``(r, c)`` in cycle
``t + 1 + c``. ws: a partial sum started by row 0 in cycle ``s`` leaves ``psum`` in cycle
``s + R - 1``. os: row ``i``'s result of a tile whose last slot PE ``(R-1, c)`` computed in
cycle ``u`` is on ``drain[c]`` in cycle ``u + R + 1 - i``. Throughput one slot per PE per cycle.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..config import COUNTER_BITS, ArrayConfig
from ..golden.bypass import Bypass
from ..golden.multipliers import make_multiplier
from .counters import NCOUNT, PECounters, counters_port
from .layouts import act_lane_layout, check_config, w_layout, weight_lane_layout
from .pe_os import OutputStationaryPE
from .pe_ws import WeightStationaryPE


class Mesh(wiring.Component):
    """``config.rows`` x ``config.cols`` PEs of ``config.dataflow`` (see the module docstring).

    Parameters
    ----------
    config : ArrayConfig
        Sizes, operand format, multiplier, bypass, gating, overflow, dataflow and counters.

    Attributes
    ----------
    rows_in : In(array of R act lanes)
        ``value``, ``valid``, ``first`` (ws commit / os start), ``end`` (os) entering each row.
    wl : In(array of C weight lanes)
        ws: ``value``, ``valid``, ``row`` broadcast to each column's shadow registers.
    w : In(array of C operands)
        os: the weights entering each column from the top.
    psum : Out(array of C signed(A))
        ws: the column sums leaving the bottom row (combinational).
    drain : Out(array of C signed(A))
        os: the drain chains' bottom registers.
    counters : Out(R*C*7*32)
        With ``config.counters == "pe"``: PE ``(r, c)``'s counter ``j`` at bits
        ``((r*C + c)*7 + j)*32`` (see :mod:`axmac.hw.counters`).
    pes : dict ``(r, c) -> PE`` (submodules ``pe_{r}_{c}``).
    """

    def __init__(self, *, config: ArrayConfig):
        check_config(config)
        self.config = cfg = config
        model = make_multiplier(cfg.multiplier, cfg.bits, cfg.signed)
        cls = WeightStationaryPE if cfg.dataflow == "ws" else OutputStationaryPE
        self.pes = {(r, c): cls(multiplier=model, acc_bits=cfg.acc_bits, bypass=Bypass.parse(cfg.bypass),
                                gating=cfg.gating, overflow=cfg.overflow)
                    for r in range(cfg.rows) for c in range(cfg.cols)}
        first = self.pes[0, 0]
        self.extra_sources = list(first.extra_sources)
        self.extra_verilog = dict(first.extra_verilog)
        acc = data.ArrayLayout(signed(cfg.acc_bits), cfg.cols)
        ports = {"rows_in": In(data.ArrayLayout(act_lane_layout(cfg), cfg.rows))}
        if cfg.dataflow == "ws":
            ports |= {"wl": In(data.ArrayLayout(weight_lane_layout(cfg), cfg.cols)), "psum": Out(acc)}
        else:
            ports |= {"w": In(w_layout(cfg)), "drain": Out(acc)}
        super().__init__(ports | counters_port(cfg))

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        R, C = cfg.rows, cfg.cols
        ws = cfg.dataflow == "ws"
        for (r, c), pe in self.pes.items():
            m.submodules[f"pe_{r}_{c}"] = pe
            # -- activations and their flags move right -----------------------------------------
            if c == 0:
                lane = self.rows_in[r]
                m.d.comb += [pe.a_in.eq(lane.value), pe.valid_in.eq(lane.valid)]
                first, end = lane.first, lane.end
            else:
                left = self.pes[r, c - 1]
                m.d.comb += [pe.a_in.eq(left.a_out), pe.valid_in.eq(left.valid_out)]
                first, end = (left.commit_out, None) if ws else (left.start_out, left.end_out)
            if ws:
                wl = self.wl[c]
                m.d.comb += [pe.commit_in.eq(first), pe.shadow_in.eq(wl.value),
                             pe.shadow_we.eq(wl.valid & (wl.row == r))]
                m.d.comb += pe.psum_in.eq(self.pes[r - 1, c].psum_out if r else 0)
            else:
                m.d.comb += [pe.start_in.eq(first), pe.end_in.eq(end),
                             pe.w_in.eq(self.pes[r - 1, c].w_out if r else self.w[c]),
                             pe.drain_in.eq(self.pes[r - 1, c].drain_out if r else 0)]
        for c in range(C):
            bottom = self.pes[R - 1, c]
            if ws:
                m.d.comb += self.psum[c].eq(bottom.psum_out)
                continue
            load = Signal(name=f"drain_load_{c}")
            m.d.sync += load.eq(bottom.valid_out & bottom.end_out)
            m.d.comb += [self.pes[r, c].drain_load.eq(load) for r in range(R)]
            m.d.comb += self.drain[c].eq(bottom.drain_out)
        if cfg.counters == "pe":
            self._counters(m)
        return m

    def _counters(self, m: Module) -> None:
        C = self.config.cols
        for (r, c), pe in self.pes.items():
            m.submodules[f"counters_{r}_{c}"] = cnt = PECounters(gating=self.config.gating)
            m.d.comb += [cnt.valid.eq(pe.valid_out), cnt.mul_ctrl.eq(pe.mul_ctrl), cnt.add_ctrl.eq(pe.add_ctrl)]
            base = (r * C + c) * NCOUNT * COUNTER_BITS
            m.d.comb += self.counters[base:base + NCOUNT * COUNTER_BITS].eq(cnt.counts.as_value())
