"""Delay lines of the systolic array: skew (lane ``i`` delayed ``i``), de-skew (``n-1-i``), taps.

* :class:`Skew` feeds the mesh: the activations of one beat enter row ``r`` after ``r``
  registers, the weight lanes column ``c`` after ``c`` (docs/array.md), so that a beat moves
  through the mesh as a diagonal wavefront.
* :class:`Skew` with ``reverse=True`` is the de-skew: column ``c`` of the results is delayed
  ``n - 1 - c`` so that a row of results leaves together.
* :func:`delay_taps` is a plain register chain with every stage visible (control that travels
  beside the wavefront and is read where it is needed).

Lanes may have any shape (e.g. a ``data.StructLayout`` of a value and its flags); registers reset
to 0. Throughput one beat per cycle; latency as stated, per lane.
"""

from __future__ import annotations

from amaranth.hdl import Module, Shape, ShapeLike, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


def delay_taps(m: Module, value, depth: int, name: str) -> list:
    """``[value, value delayed 1, ..., value delayed depth]`` through ``depth`` registers
    ``{name}_d1 .. {name}_d{depth}`` (of ``value``'s shape)."""
    if not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be a non-negative integer, not {depth!r}")
    shape = value.shape()
    taps = [value]
    for d in range(1, depth + 1):
        reg = Signal(shape, name=f"{name}_d{d}")
        m.d.sync += reg.eq(taps[-1])
        taps.append(reg)
    return taps


class Skew(wiring.Component):
    """``lanes`` parallel delay lines: lane ``i`` delayed ``i`` cycles (or ``lanes - 1 - i`` if ``reverse``).

    Parameters
    ----------
    lanes : int
        Number of lanes, >= 1.
    shape : ShapeLike
        Shape of one lane.
    reverse : bool
        De-skew: lane ``i`` delayed ``lanes - 1 - i``.

    Attributes
    ----------
    i : In(ArrayLayout(shape, lanes))
    o : Out(ArrayLayout(shape, lanes))
        Lane ``k`` of ``i`` in cycle ``t`` is lane ``k`` of ``o`` in cycle ``t + delay(k)``
        (lane 0, or the last lane with ``reverse``, is combinational).
    """

    def __init__(self, *, lanes: int, shape: ShapeLike, reverse: bool = False):
        if not isinstance(lanes, int) or isinstance(lanes, bool) or lanes < 1:
            raise TypeError(f"lanes must be a positive integer, not {lanes!r}")
        Shape.cast(shape)
        self.lanes, self.lane_shape, self.reverse = lanes, shape, bool(reverse)
        layout = data.ArrayLayout(shape, lanes)
        super().__init__({"i": In(layout), "o": Out(layout)})

    def delay(self, lane: int) -> int:
        """Registers in ``lane``."""
        return self.lanes - 1 - lane if self.reverse else lane

    def elaborate(self, platform):
        m = Module()
        for k in range(self.lanes):
            taps = delay_taps(m, self.i[k], self.delay(k), f"lane{k}")
            m.d.comb += Value.cast(self.o[k]).eq(Value.cast(taps[-1]))
        return m
