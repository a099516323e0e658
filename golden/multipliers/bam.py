"""``bam:k``: broken-array multiplier, every partial-product bit in a column below ``k`` omitted.

The partial-product array
-------------------------
Operands are read as bit patterns :math:`a_i, b_j` (``i, j = 0..n-1``). A bit placed in
*column* ``c`` has weight :math:`2^c`; the product is the sum of all bits of the array, taken
modulo :math:`2^{2n}` (the ``2n``-bit output wraps, as an adder of that width does).

**Unsigned** (the plain array): bit :math:`a_i b_j` in column ``i + j`` for all ``i, j``
(``n*n`` bits, columns ``0..2n-2``).

**Signed** (modified Baugh-Wooley array, Baugh & Wooley, IEEE Trans. Computers C-22(12), 1973).
With :math:`a = -a_{n-1}2^{n-1} + \\sum_{i<n-1} a_i 2^i` and :math:`-x = \\bar x - 1` for a bit
:math:`x`, the product is the sum of

* :math:`a_i b_j` in column ``i + j`` for ``i, j < n-1``;
* :math:`a_{n-1} b_{n-1}` in column ``2n-2``;
* the complemented bits :math:`\\overline{a_i b_{n-1}}` in column ``i + n-1`` for ``i < n-1``
  and :math:`\\overline{a_{n-1} b_j}` in column ``n-1+j`` for ``j < n-1``;
* two constant 1 bits, in column ``n`` and in column ``2n-1`` (the ``-1`` of every
  complemented bit, summed: :math:`-2(2^{2n-2} - 2^{n-1}) = 2^n - 2^{2n-1} \\equiv 2^n + 2^{2n-1}
  \\pmod{2^{2n}}`).

Row ``i`` of the array (the bits with operand-``a`` index ``i``), as an ``n``-bit word shifted
left by ``i``, is therefore: for ``i < n-1``, ``b ^ 2**(n-1)`` when :math:`a_i = 1` else
``2**(n-1)``; for ``i = n-1``, ``b ^ (2**(n-1) - 1)`` when :math:`a_{n-1} = 1` else
``2**(n-1) - 1``. With every bit present (``k = 0``) the sum is exactly ``a * b``.

Breaking the array
------------------
``bam:k`` removes *every* bit of the array whose column is below ``k``: the AND bits, the
complemented (NAND) bits and, in the signed array, the constant 1 of column ``n`` when ``k > n``
(the constant of column ``2n-1`` is never removed since ``k <= 2n-1``). No carry or correction
is added for what was removed. The product is then the sum of the remaining bits modulo
:math:`2^{2n}`, read as a ``2n``-bit number of the operands' signedness. Dropping columns only
ever lowers the unsigned sum, so unsigned ``bam`` never over-estimates; signed ``bam`` with
``k > n`` also loses the column-``n`` constant. ``k`` ranges over ``0..2n-1`` (``bam:0`` is
exact; ``bam:2n-1`` leaves only the constant bits). The hardware
(``axmac.hw.multipliers.bam``) builds this very array, bit for bit.

Source: the broken-array multiplier (BAM) of Mahdiani et al., "Bio-inspired imprecise
computational blocks for efficient VLSI implementation of soft-computing applications",
IEEE TCAS-I 57(4), 2010 (its horizontal break only; the vertical break is ``k`` here).
"""

from __future__ import annotations

import numpy as np

from .base import Multiplier, OperandFormat, int_param, register


def bam_rows(bits: int, signed: bool) -> list[tuple[int, int]]:
    """``(word_if_a_i_is_0, xor_if_a_i_is_1)`` per row: row ``i`` is ``w0`` or ``b ^ x1``.

    Shared by the golden model and the hardware so that both build the same array (the
    hardware still forms every bit with its own gates).
    """
    if not signed:
        return [(0, 0)] * bits
    msb = 1 << (bits - 1)
    low = msb - 1
    return [(msb, msb)] * (bits - 1) + [(low, low)]


def bam_constants(bits: int, signed: bool) -> list[int]:
    """Columns of the constant 1 bits of the array (signed: ``n`` and ``2n-1``)."""
    return [bits, 2 * bits - 1] if signed else []


@register
class Bam(Multiplier):
    family = "bam"
    summary = "broken-array multiplier: partial-product bits in columns < k omitted (Baugh-Wooley if signed)"
    param = "k"

    def __init__(self, fmt: OperandFormat, arg: str | None = None):
        super().__init__(fmt, arg)
        self.k = int_param(self.family, arg, 0, 2 * fmt.bits - 1, "k (omitted columns)")

    @property
    def is_exact(self) -> bool:
        return self.k == 0

    def row_keep_mask(self, i: int) -> int:
        """Bits of row ``i``'s ``n``-bit word that lie in columns ``>= k`` (column = ``i + j``)."""
        drop = max(self.k - i, 0)
        return self.fmt.mask & ~((1 << drop) - 1)

    def _product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        n = self.bits
        mask = self.fmt.mask
        ua = a & mask
        ub = b & mask
        acc = np.zeros(np.broadcast_shapes(a.shape, b.shape), dtype=np.int64)
        for i, (w0, x1) in enumerate(bam_rows(n, self.signed)):  # n rows, each vectorised
            word = np.where((ua >> i) & 1 == 1, ub ^ x1, w0)
            acc += (word & self.row_keep_mask(i)) << i
        acc += sum(1 << c for c in bam_constants(n, self.signed) if c >= self.k)
        acc &= (1 << (2 * n)) - 1
        if self.signed:
            acc = np.where(acc >= 1 << (2 * n - 1), acc - (1 << (2 * n)), acc)
        return acc
