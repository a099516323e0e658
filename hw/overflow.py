"""Fitting a wide signed sum into ``bits`` bits: two's-complement wrap or saturation.

Every accumulation of the array (PE partial sums, the ws accumulator buffer, the output stage's
``requant = 0`` path) ends with :func:`fit`, so that ``ArrayConfig.overflow`` means one thing
everywhere (docs/array.md: "adds wrap or saturate like the PEs"). Combinational.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Mux, Value

OVERFLOWS = ("wrap", "saturate")


def check_overflow(overflow: str) -> None:
    """ValueError unless ``overflow`` is ``"wrap"`` or ``"saturate"``."""
    if overflow not in OVERFLOWS:
        raise ValueError(f"overflow must be one of {', '.join(map(repr, OVERFLOWS))}, not {overflow!r}")


def fit(value: Value, bits: int, overflow: str) -> Value:
    """``value`` (a signed value of any width) as a ``signed(bits)`` value.

    ``"wrap"`` keeps the low ``bits`` bits; ``"saturate"`` clamps to
    ``[-2**(bits-1), 2**(bits-1) - 1]`` (the value is out of range iff its bits from ``bits-1``
    up are not all equal to its sign).
    """
    check_overflow(overflow)
    value = Value.cast(value)
    if not value.shape().signed:
        value = Cat(value, Const(0, 1)).as_signed()  # zero-extended: the same number, signed
    if len(value) <= bits:
        return value
    low = value[:bits].as_signed()
    if overflow == "wrap":
        return low
    top = value[bits - 1:]
    in_range = top.all() | ~top.any()
    hi = Const((1 << (bits - 1)) - 1, bits)
    lo = Const(1 << (bits - 1), bits)
    return Mux(in_range, low, Mux(value[-1], lo, hi)).as_signed()
