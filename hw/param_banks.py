"""The output stage's two parameter banks and their bookkeeping (docs/array.md "Output stage").

State: ``bank[0]``, ``bank[1]`` (one ``qp`` block each), the current bank ``g`` (0 at reset),
``loaded[2]`` and ``inflight[2]`` (results tagged with a bank that have not entered the FIFO).

1. A ``qp`` beat transfers iff ``!loaded[1-g]`` and ``inflight[1-g] == 0``; it writes
   ``bank[1-g]`` and sets ``loaded[1-g]`` at the next edge.
2. A tile with ``qp_commit`` may start only if ``loaded[1-g]`` (``can_commit``); when it starts
   (``commit``), ``g`` flips and ``loaded[new g]`` clears at the next edge.
3. Results taken in a cycle (``take`` of them) are tagged ``tag``: ``g`` as it is after that
   cycle's edge (a committing tile's first beat already gets the new bank). ``inflight[tag]``
   counts them from that edge; ``enter`` (with ``enter_tag``) ends the count of one.

A bank's contents never change while results tagged with it are in flight, so the output stage
reads ``banks[tag]`` combinationally at each of its stages. Latency: every update at the next edge.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import ArrayConfig
from .layouts import M_BITS, check_config, qp_layout


class ParamBanks(wiring.Component):
    """Two parameter banks behind the ``qp`` stream (see the module docstring).

    Parameters
    ----------
    config : ArrayConfig

    Attributes
    ----------
    qp : In(stream of qp_layout)
    commit : In(1)
        A ``qp_commit`` tile starts this cycle.
    can_commit : Out(1)
        ``loaded[1-g]``: a ``qp_commit`` tile may start.
    take : In(7), tag : Out(1)
        Results taken this cycle and the bank they are tagged with.
    enter, enter_tag : In(1)
        A result (tagged ``enter_tag``) enters the output FIFO this cycle.
    banks : Out(array of 2 qp blocks)
    """

    def __init__(self, *, config: ArrayConfig):
        check_config(config)
        self.config = config
        #: inflight counts are bounded by the credits (at most F results between take and FIFO)
        self.max_inflight = config.fifo_depth + config.rows
        super().__init__({
            "qp": In(stream.Signature(qp_layout(config))),
            "commit": In(1), "can_commit": Out(1),
            "take": In(M_BITS), "tag": Out(1),
            "enter": In(1), "enter_tag": In(1),
            "banks": Out(data.ArrayLayout(qp_layout(config), 2)),
        })

    def elaborate(self, platform):
        m = Module()
        g = Signal(name="g")
        loaded = [Signal(name=f"loaded{b}") for b in range(2)]
        inflight = [Signal(range(self.max_inflight + 1), name=f"inflight{b}") for b in range(2)]
        other = ~g
        other_loaded = Mux(g, loaded[0], loaded[1])
        other_inflight = Mux(g, inflight[0], inflight[1])
        m.d.comb += [self.qp.ready.eq(~other_loaded & (other_inflight == 0)), self.can_commit.eq(other_loaded),
                     self.tag.eq(g ^ self.commit)]
        qp_fire = self.qp.valid & self.qp.ready
        with m.If(self.commit):
            m.d.sync += g.eq(other)
        for b in range(2):
            with m.If(qp_fire & (other == b)):
                m.d.sync += [self.banks[b].eq(self.qp.payload), loaded[b].eq(1)]
            with m.If(self.commit & (other == b)):
                m.d.sync += loaded[b].eq(0)
            add = Mux(self.tag == b, self.take, 0)
            sub = self.enter & (self.enter_tag == b)
            m.d.sync += inflight[b].eq(inflight[b] + add - sub)
        return m
