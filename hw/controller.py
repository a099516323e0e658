"""The array's controller: tile starts, weight rows, os joins and credits (docs/array.md).

All conditions are on register values of the current cycle plus the streams' ``valid`` bits
(``ready`` may depend on ``valid``: joins); every update takes effect at the next edge. Latency
0 (the handshakes are combinational), throughput one ``a`` (and ``w``) beat per cycle.

Weight-stationary (rules 1-4 of docs/array.md):

1. a tile starts (``cmd`` and its first ``a`` beat transfer together) iff no tile is streaming,
   ``cmd.valid``, ``a.valid``, ``rows == R``, ``credits > 0`` if ``cmd.last``, and
   ``can_commit`` if ``cmd.qp_commit``; then ``rows = 0`` and ``since = 0`` (``since = n - A_cur``,
   saturating at ``R``: ``R`` after reset) already for rule 2 in that cycle;
2. a ``w`` beat (row ``j = rows``) transfers iff ``w.valid``, ``rows < R`` and ``since >= j``;
3. further ``a`` beats of a streaming tile transfer iff ``a.valid`` and (``!last`` or ``credits > 0``);
4. credits (``F`` at reset): each beat of a ``last`` tile costs one, each ``o`` beat returns one.

Output-stationary: a beat is an ``a``/``w`` pair (a join); the first beat of a tile also needs
``cmd.valid``, no tile streaming and ``can_commit`` if ``qp_commit``; the last beat (beat ``K-1``)
also ``credits >= m`` and ``since >= R`` (``since = n - L_prev``, the previous last beat), and
costs ``m`` credits. ``count = 0`` is taken as 1.

Outputs describe the beat taken this cycle (``take``): ``start`` (the first beat of a tile:
ws commit flag / os start flag), ``first``/``last``/``index`` (ws), ``end``/``m`` (os), and the
weight row taken (``w_take``, ``w_row``, ws).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..config import COUNT_BITS, ArrayConfig
from .layouts import M_BITS, check_config, cmd_layout, index_shape


class Controller(wiring.Component):
    """Handshakes and per-beat control of the array (see the module docstring).

    Parameters
    ----------
    config : ArrayConfig

    Attributes
    ----------
    cmd_valid, cmd, a_valid, w_valid : In
        The streams' ``valid`` bits and the command payload.
    cmd_ready, a_ready, w_ready : Out
    o_fire : In(1)
        An ``o`` beat leaves this cycle (returns a credit).
    can_commit : In(1), commit : Out(1)
        A ``qp_commit`` tile may start / starts this cycle (see :class:`~axmac.hw.param_banks.ParamBanks`).
    take, start : Out(1)
        A beat transfers this cycle; it is the first of its tile.
    first, last, index : Out
        ws: the beat's tile flags and its row within the tile.
    end, m : Out
        os: the beat is its tile's last; the tile's rows.
    results : Out(7)
        Results this beat will produce (ws: ``last``; os: ``m`` on the last beat), for the banks' count.
    w_take, w_row : Out
        ws: a weight row transfers this cycle, and its row index.
    credits : Out
        Credits left (for tests).
    """

    def __init__(self, *, config: ArrayConfig):
        check_config(config)
        self.config = config
        R = config.rows
        super().__init__({
            "cmd_valid": In(1), "cmd": In(cmd_layout()), "a_valid": In(1), "w_valid": In(1),
            "cmd_ready": Out(1), "a_ready": Out(1), "w_ready": Out(1),
            "o_fire": In(1), "can_commit": In(1), "commit": Out(1),
            "take": Out(1), "start": Out(1),
            "first": Out(1), "last": Out(1), "index": Out(COUNT_BITS),
            "end": Out(1), "m": Out(M_BITS), "results": Out(M_BITS),
            "w_take": Out(1), "w_row": Out(index_shape(R)),
            "credits": Out(range(config.fifo_depth + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        R = cfg.rows
        cmd = self.cmd
        credits = Signal(range(cfg.fifo_depth + 1), init=cfg.fifo_depth, name="credits")
        remaining = Signal(COUNT_BITS, name="remaining")  # beats of the streaming tile still to come
        since = Signal(range(R + 1), init=R, name="since")  # cycles since the last tile start (ws) / end (os)
        idle = remaining == 0
        count = Mux(cmd.count == 0, 1, cmd.count)
        m.d.comb += [self.commit.eq(self.start & cmd.qp_commit), self.credits.eq(credits)]
        with m.If(self.start):
            m.d.sync += remaining.eq(count - 1)
        with m.Elif(self.take):
            m.d.sync += remaining.eq(remaining - 1)
        cost = Signal(M_BITS, name="cost")  # credits taken by this cycle's beat
        if cfg.dataflow == "ws":
            self._ws(m, idle, credits, since, cost)
        else:
            self._os(m, idle, count, remaining, credits, since, cost)
        m.d.comb += self.results.eq(cost)
        m.d.sync += credits.eq(credits - cost + self.o_fire)
        return m

    def _ws(self, m, idle, credits, since, cost):
        R, cmd = self.config.rows, self.cmd
        rows = Signal(range(R + 1), name="rows")  # shadow rows accepted since the last start
        cur_first = Signal(name="cur_first")
        cur_last = Signal(name="cur_last")
        next_index = Signal(COUNT_BITS, name="next_index")
        has_credit = credits != 0
        m.d.comb += self.start.eq(idle & self.cmd_valid & self.a_valid & (rows == R) & (~cmd.last | has_credit)
                                  & (~cmd.qp_commit | self.can_commit))
        streaming_ok = ~idle & (~cur_last | has_credit)
        m.d.comb += [self.cmd_ready.eq(self.start), self.a_ready.eq(self.start | streaming_ok),
                     self.take.eq(self.start | (streaming_ok & self.a_valid))]
        m.d.comb += [self.first.eq(Mux(self.start, cmd.first, cur_first)),
                     self.last.eq(Mux(self.start, cmd.last, cur_last)),
                     self.index.eq(Mux(self.start, 0, next_index)),
                     cost.eq(self.take & self.last)]
        with m.If(self.start):
            m.d.sync += [cur_first.eq(cmd.first), cur_last.eq(cmd.last)]
        with m.If(self.take):
            m.d.sync += next_index.eq(self.index + 1)
        # rule 2: weight rows stream into the shadow registers behind the commit wave
        eff_rows = Mux(self.start, 0, rows)
        eff_since = Mux(self.start, 0, since)
        m.d.comb += [self.w_ready.eq((eff_rows < R) & (eff_since >= eff_rows)), self.w_row.eq(eff_rows),
                     self.w_take.eq(self.w_valid & self.w_ready)]
        m.d.sync += [rows.eq(eff_rows + self.w_take), since.eq(Mux(eff_since == R, R, eff_since + 1))]

    def _os(self, m, idle, count, remaining, credits, since, cost):
        R, cmd = self.config.rows, self.cmd
        cur_m = Signal(M_BITS, name="cur_m")
        pair = self.a_valid & self.w_valid
        m_now = Mux(idle, cmd.m, cur_m)
        is_end = Mux(idle, count == 1, remaining == 1)
        end_ok = (credits >= m_now) & (since == R)
        allowed = Mux(idle, self.cmd_valid & (~cmd.qp_commit | self.can_commit), 1) & (~is_end | end_ok)
        m.d.comb += [self.take.eq(pair & allowed), self.start.eq(self.take & idle),
                     self.cmd_ready.eq(self.start), self.a_ready.eq(self.take), self.w_ready.eq(self.take),
                     self.end.eq(is_end), self.m.eq(m_now), cost.eq(Mux(self.take & is_end, m_now, 0))]
        with m.If(self.start):
            m.d.sync += cur_m.eq(cmd.m)
        m.d.sync += since.eq(Mux(self.take & is_end, 1, Mux(since == R, R, since + 1)))
