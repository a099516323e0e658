"""Trivial-computation bypass (Ma & Jiao): each case's predicate, written once, and the bypass set.

Cases, each switchable (names as on the command line, ``--bypass zero,one,add-zero,opposite``):

* ``zero``      (a) a multiplier operand is 0        -> product 0, multiplier idle;
* ``one``       (b) a multiplier operand is +1 / -1  -> +/- the other operand (sign by XOR);
* ``add-zero``  (d) an addend is 0                   -> the other addend, adder idle;
* ``opposite``  (e) the addends are opposite (a+b=0) -> 0, adder idle.

A bypassed multiplication is **exact** even when the multiplier is approximate: the bypass unit
produces the result, not the multiplier. Rules are applied in the order (a), then (b). Additions
are always exact, so (d) and (e) never change a result, only which hardware switches; they
matter for statistics and energy. ``all`` enables every case, ``none`` (the default) none.

Predicates
----------
The functions below are the single definition of each case; the PE model
(:mod:`axmac.golden.pe`), the bypass masks here and the GEMM kernels' statistics
(:mod:`axmac.golden.gemm`) all call them. They are ``numba.njit`` functions written with
element-wise operators only, so one body serves numba kernels (scalars), and Python callers
(scalars or NumPy arrays, broadcast). Operands are integer *values* (not bit patterns).

* :func:`mul_zero` ``(a)``: ``a == 0 or b == 0``;
* :func:`is_one` / :func:`mul_one` ``(b)``: ``x == +1``, or ``x == -1`` when ``signed``;
* :func:`acc_zero`: ``v`` reads 0 in an ``acc_bits``-bit two's-complement accumulator,
  ``wrap(v, acc_bits) == 0``, i.e. ``v == 0 (mod 2**acc_bits)``, tested as ``v & mask == 0``
  with ``mask = acc_mask(acc_bits)`` (``-1``, all bits, for 64);
* :func:`add_zero` ``(d)``: ``acc_zero(p) or acc_zero(s)`` for the addends ``p`` (product) and
  ``s`` (incoming partial sum);
* :func:`opposite` ``(e)``: ``acc_zero(p + s)``, the hardware's carry-free ``a + b == 0``
  detector: opposite modulo ``2**acc_bits``.

"First match wins" (detection order of Ma & Jiao Sec. III-C) gives the counted cases
:func:`mul_one_case` (``(b)`` and not ``(a)``) and :func:`opposite_case` (``(e)`` and not ``(d)``;
:func:`opposite_case_sum` takes the sum as a kernel's accumulator holds it, so that a kernel
with int32 partial sums tests them in int32).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..config import BYPASS_CASES as CASE_NAMES
from ..config import normalize_bypass


# ------------------------------------------------------------------------------------------
# the predicates (scalars in numba kernels; scalars or broadcast arrays from Python)
# ------------------------------------------------------------------------------------------
@njit(cache=True)
def mul_zero(a, b):
    """Case (a): a multiplier operand is 0."""
    return (a == 0) | (b == 0)


@njit(cache=True)
def is_one(x, signed):
    """The operand of case (b): ``x == 1``, or ``x == +-1`` for signed operands."""
    return (x == 1) | (signed & (x == -1))


@njit(cache=True)
def mul_one(a, b, signed):
    """Case (b): a multiplier operand is +-1 (only +1 unsigned), whatever (a) says."""
    return is_one(a, signed) | is_one(b, signed)


@njit(cache=True)
def mul_one_case(a, b, signed):
    """Case (b) as detected: ``mul_one`` and not ``mul_zero`` ((a) is tested first)."""
    return mul_one(a, b, signed) & ~mul_zero(a, b)


@njit(cache=True)
def acc_mask(acc_bits):
    """``2**acc_bits - 1`` as int64 (``-1``, all bits, for ``acc_bits >= 64``)."""
    if acc_bits >= 64:
        return np.int64(-1)
    return (np.int64(1) << np.int64(acc_bits)) - np.int64(1)


@njit(cache=True)
def acc_zero(v, mask):
    """``v`` reads 0 in the accumulator: ``wrap(v, acc_bits) == 0`` with ``mask = acc_mask(acc_bits)``."""
    return (v & mask) == 0


@njit(cache=True)
def add_zero(p, s, mask):
    """Case (d): an addend (product ``p`` or partial sum ``s``) reads 0 in the accumulator."""
    return acc_zero(p, mask) | acc_zero(s, mask)


@njit(cache=True)
def opposite(p, s, mask):
    """Case (e): opposite addends, ``wrap(p + s, acc_bits) == 0``, whatever (d) says."""
    return acc_zero(p + s, mask)


@njit(cache=True)
def opposite_case_sum(p, s, total, mask):
    """Case (e) as detected, given the sum ``total`` as the accumulator holds it
    (``total == p + s`` modulo ``2**acc_bits``): ``acc_zero(total)`` and not ``add_zero``."""
    return acc_zero(total, mask) & ~add_zero(p, s, mask)


@njit(cache=True)
def opposite_case(p, s, mask):
    """Case (e) as detected: ``opposite`` and not ``add_zero`` ((d) is tested first)."""
    return opposite_case_sum(p, s, p + s, mask)


# ------------------------------------------------------------------------------------------
# the set of enabled cases
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bypass:
    zero: bool = False
    one: bool = False
    add_zero: bool = False
    opposite: bool = False

    @classmethod
    def parse(cls, text: str | None) -> Bypass:
        """``"zero,one"`` / ``"all"`` / ``"none"`` / ``""`` -> :class:`Bypass` (the vocabulary of
        :func:`axmac.config.normalize_bypass`: an unknown case is a one-line error)."""
        items = normalize_bypass(text).split(",")
        return cls(*(name in items for name in CASE_NAMES))

    @property
    def any_mul(self) -> bool:
        return self.zero or self.one

    def __str__(self) -> str:
        on = [n for n, f in zip(CASE_NAMES, (self.zero, self.one, self.add_zero, self.opposite), strict=True) if f]
        return ",".join(on) if on else "none"

    def mul_bypassed(self, a, b, signed: bool) -> np.ndarray:
        """Boolean mask (broadcast of ``a`` and ``b``) of the products the bypass unit computes
        instead of the multiplier: :func:`mul_zero` if ``zero``, :func:`mul_one` if ``one``."""
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        mask = np.zeros(np.broadcast_shapes(a.shape, b.shape), dtype=bool)
        if self.zero:
            mask |= mul_zero(a, b)
        if self.one:
            mask |= mul_one(a, b, bool(signed))
        return mask

    def apply(self, approx: np.ndarray, a: np.ndarray, b: np.ndarray, signed: bool) -> np.ndarray:
        """Products of a PE with this bypass: exact ``a*b`` where bypassed, ``approx`` elsewhere."""
        if not self.any_mul:
            return approx
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        return np.where(self.mul_bypassed(a, b, signed), a * b, approx)

    def apply_to_table(self, table: np.ndarray, values: np.ndarray, signed: bool) -> np.ndarray:
        """A product table (indexed by bit pattern, ``values[i]`` = value of pattern ``i``) with
        the bypassed entries replaced by exact products: the table of the whole PE product path."""
        if not self.any_mul:
            return table
        a = values[:, None]
        b = values[None, :]
        return self.apply(table, a, b, signed)


#: The default: no case bypassed.
NO_BYPASS = Bypass()
