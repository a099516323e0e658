"""Weight-stationary accumulator buffer: one column of ``D`` partial sums across K tiles.

docs/array.md: the column sum ``s`` of row ``i`` of a tile arrives (combinational from the
mesh's bottom PE) during cycle ``u``; then, by the tile's flags,

=================  ==========================================
``first & !last``  ``acc[i] = s``
``!first & !last`` ``acc[i] = fit(acc[i] + s)``
``!first & last``  result ``= fit(acc[i] + s)``
``first & last``   result ``= s``
=================  ==========================================

(``fit``: wrap or saturate to ``A`` bits, :mod:`axmac.hw.overflow`). ``acc`` is an
:class:`amaranth.lib.memory.Memory` with one write port and one synchronous read port that is
transparent for it, so it maps to block RAM: the read address is the index of the sum arriving
*next* cycle (``next_index``, known a cycle early from the control delay line), and a write at the
same edge as the read (the same row of the previous tile, possible when ``R = 1``) is seen.

Latency: a sum arriving in cycle ``u`` is written at edge ``u + 1``; a result is registered at
edge ``u + 1`` (``result``/``result_valid`` during cycle ``u + 1``). One sum per cycle.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .layouts import index_shape
from .overflow import check_overflow, fit


class AccumulatorColumn(wiring.Component):
    """The accumulator buffer of one column (see the module docstring).

    Parameters
    ----------
    acc_bits : int
        Width ``A`` of sums and entries (signed).
    depth : int
        Entries ``D`` (a tile has at most ``D`` rows).
    overflow : "wrap" | "saturate"

    Attributes
    ----------
    next_index : In(range(depth))
        Row index of the sum arriving in the next cycle (read address).
    s, valid, first, last, index : In
        The sum arriving this cycle, whether there is one, its tile's flags and its row index.
    result, result_valid : Out
        A ``last`` tile's result, registered.
    """

    def __init__(self, *, acc_bits: int, depth: int, overflow: str = "wrap"):
        if not isinstance(acc_bits, int) or isinstance(acc_bits, bool) or not 2 <= acc_bits <= 64:
            raise ValueError(f"acc_bits must be an integer in 2..64, not {acc_bits!r}")
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
            raise ValueError(f"depth must be a positive integer, not {depth!r}")
        check_overflow(overflow)
        self.acc_bits, self.depth, self.overflow = acc_bits, depth, overflow
        super().__init__({
            "next_index": In(index_shape(depth)),
            "s": In(signed(acc_bits)), "valid": In(1), "first": In(1), "last": In(1), "index": In(index_shape(depth)),
            "result": Out(signed(acc_bits)), "result_valid": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        # (at least 2 entries: a 1-entry memory has a zero-width address)
        m.submodules.acc = acc = Memory(shape=signed(self.acc_bits), depth=max(2, self.depth), init=[])
        wr = acc.write_port()
        rd = acc.read_port(domain="sync", transparent_for=(wr,))
        m.d.comb += rd.addr.eq(self.next_index)
        value = Mux(self.first, self.s, fit(rd.data + self.s, self.acc_bits, self.overflow))
        m.d.comb += [wr.addr.eq(self.index), wr.data.eq(value), wr.en.eq(self.valid & ~self.last)]
        m.d.sync += self.result_valid.eq(self.valid & self.last)
        with m.If(self.valid & self.last):
            m.d.sync += self.result.eq(value)
        return m
