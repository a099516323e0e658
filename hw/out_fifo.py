"""The output FIFO: first-word fall-through like ``amaranth.lib.fifo.SyncFIFO``, but block-RAM friendly.

``SyncFIFO`` reads its memory asynchronously (no block RAM on FPGAs maps that: ``F`` rows of
``C*A`` bits become flip-flops); ``SyncFIFOBuffered`` reads synchronously but adds a cycle of
latency, which docs/array.md does not allow (a row written at edge ``e`` can leave in cycle
``e``). This FIFO reads synchronously with the *next* read pointer, through a port transparent
for the write port, so during every cycle the read data is the head entry, including one written
at the edge that began the cycle: the timing of ``SyncFIFO`` with a memory a block RAM can hold.

Latency: an entry written at edge ``e`` (``w_en`` in cycle ``e - 1``) is on ``r.payload`` with
``r.valid`` from cycle ``e``. Throughput: one write and one read per cycle. Writes to a full FIFO
are dropped (the array's credits never let that happen).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out


class OutputFifo(wiring.Component):
    """A first-word-fall-through FIFO of ``depth`` entries of ``width`` bits with a synchronous read port.

    Parameters
    ----------
    width : int
        Bits per entry.
    depth : int
        Entries, at least 2.

    Attributes
    ----------
    w_data, w_en : In
        The entry written at the next edge (if not full).
    w_rdy : Out(1)
        Not full.
    r : Out(stream.Signature(width))
        ``valid`` = not empty, ``payload`` = the head; ``ready`` pops it.
    level : Out(range(depth + 1))
    """

    def __init__(self, *, width: int, depth: int):
        if not isinstance(width, int) or isinstance(width, bool) or width < 1:
            raise ValueError(f"width must be a positive integer, not {width!r}")
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 2:
            raise ValueError(f"depth must be an integer >= 2, not {depth!r}")
        self.width, self.depth = width, depth
        super().__init__({"w_data": In(width), "w_en": In(1), "w_rdy": Out(1),
                          "r": Out(stream.Signature(unsigned(width))), "level": Out(range(depth + 1))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.storage = storage = Memory(shape=unsigned(self.width), depth=self.depth, init=[])
        wr = storage.write_port()
        rd = storage.read_port(domain="sync", transparent_for=(wr,))
        produce = Signal(range(self.depth), name="produce")
        consume = Signal(range(self.depth), name="consume")

        def incr(p):
            return Mux(p == self.depth - 1, 0, p + 1)

        m.d.comb += [self.w_rdy.eq(self.level != self.depth), self.r.valid.eq(self.level != 0)]
        do_write = self.w_en & self.w_rdy
        do_read = self.r.valid & self.r.ready
        consume_next = Mux(do_read, incr(consume), consume)
        m.d.comb += [wr.addr.eq(produce), wr.data.eq(self.w_data), wr.en.eq(do_write),
                     rd.addr.eq(consume_next), self.r.payload.eq(rd.data)]
        with m.If(do_write):
            m.d.sync += produce.eq(incr(produce))
        m.d.sync += [consume.eq(consume_next), self.level.eq(self.level + do_write - do_read)]
        return m
