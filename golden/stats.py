"""Trivial-computation statistics of MAC workloads (Ma & Jiao, Table I/II).

Every product of a GEMM/convolution is one multiplication (MUL) and one addition (ADD) into a
running partial sum. :class:`TrivialStats` counts how many of them are *trivial* in the sense of
Ma & Jiao (seed 001, Table I), with their detection order (a) before (b), (d) before (e), using
the predicates of :mod:`axmac.golden.bypass` (the PE's, written once):

* (a) ``zero``:     ``x == 0 or w == 0``;
* (b) ``one``:      not (a), and ``x`` or ``w`` is ``+1`` or ``-1`` (unsigned operands: only ``+1``);
* (d) ``add_zero``: the product ``p`` (of the PE product path, bypass applied) or the incoming
  partial sum ``s`` reads 0 in the ``acc_bits``-bit accumulator (the first product of every
  accumulation chain has ``s == 0``);
* (e) ``opposite``: not (d), and ``p + s == 0`` modulo ``2**acc_bits`` (the hardware's
  two's-complement accumulator; the same as exact ``p + s == 0`` unless a sum overflows it).

The counts are occurrences (opportunities), independent of which bypass cases a PE enables;
only ``p`` depends on the multiplier and on the bypass (a bypassed product is exact).
``x_zeros / x_count`` and ``w_zeros / w_count`` are the zero fractions of the GEMM operands as
streamed into the array: ``x`` is the (im2col) activation matrix, padding zeros included;
``w`` is each weight counted once per layer. ``acc_bits`` (default 32) is the accumulator
width the ADD cases refer to; only counts of one width add up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class TrivialStats:
    """Counts of trivial computations; additive (``a += b``), see the module docstring."""

    macs: int = 0
    zero: int = 0
    one: int = 0
    add_zero: int = 0
    opposite: int = 0
    x_zeros: int = 0
    x_count: int = 0
    w_zeros: int = 0
    w_count: int = 0
    #: accumulator width of cases (d)/(e): not a count, the definition the counts follow
    acc_bits: int = 32

    def __post_init__(self):
        if isinstance(self.acc_bits, bool) or not isinstance(self.acc_bits, int) or not 2 <= self.acc_bits <= 64:
            raise ValueError(f"acc_bits must be an integer in 2..64, not {self.acc_bits!r}")

    def __iadd__(self, other: TrivialStats) -> TrivialStats:
        if not isinstance(other, TrivialStats):
            return NotImplemented
        if other.acc_bits != self.acc_bits:
            raise ValueError(f"cannot add statistics of a {other.acc_bits}-bit accumulator to {self.acc_bits}-bit ones")
        for f in fields(self):
            if f.name != "acc_bits":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def __add__(self, other: TrivialStats) -> TrivialStats:
        if not isinstance(other, TrivialStats):
            return NotImplemented
        out = TrivialStats(**self.to_dict())
        out += other
        return out

    def to_dict(self) -> dict[str, int]:
        """All counts (and ``acc_bits``) as plain ``int`` (JSON-ready)."""
        return {k: int(v) for k, v in asdict(self).items()}

    def fractions(self) -> dict[str, float]:
        """Fractions of MUL / ADD operations per case, and the operand zero fractions.

        ``mul_trivial = (zero + one) / macs`` and ``add_trivial = (add_zero + opposite) / macs``
        are the per-operation percentages of Ma & Jiao's Table II. Empty counts give 0.0.
        """

        def frac(a: int, b: int) -> float:
            return a / b if b else 0.0

        return {
            "zero": frac(self.zero, self.macs),
            "one": frac(self.one, self.macs),
            "add_zero": frac(self.add_zero, self.macs),
            "opposite": frac(self.opposite, self.macs),
            "mul_trivial": frac(self.zero + self.one, self.macs),
            "add_trivial": frac(self.add_zero + self.opposite, self.macs),
            "x_zero": frac(self.x_zeros, self.x_count),
            "w_zero": frac(self.w_zeros, self.w_count),
        }
