"""``trunc:k``: operand precision scaling, the ``k`` least significant bits of each operand zeroed.

Definition
----------
With the mask :math:`m_k = 2^k - 1` applied to the operands' bit patterns,

.. math::  \\tilde a = a \\wedge \\lnot m_k = 2^k \\lfloor a / 2^k \\rfloor,\\qquad
           P_{\\mathrm{trunc}:k}(a, b) = \\tilde a \\cdot \\tilde b .

For two's-complement operands zeroing LSBs rounds toward :math:`-\\infty` (``-1`` becomes
``-2**k``), exactly what the hardware does when it ties the low operand wires to 0. The product
of the truncated operands is exact and always fits ``2n`` bits. ``k`` ranges over ``0..n-1``
(``trunc:0`` is exact).

Sources: precision scaling, Moons et al., "Energy-efficient ConvNets through approximate
computing" (WACV 2016), sec. 3.2.1 (fewer active bits in the multiplier); the mantissa-bit
ignoring multipliers used by ASNet (approximate test bed, parameter ``p`` = ignored LSBs).
"""

from __future__ import annotations

import numpy as np

from .base import Multiplier, OperandFormat, int_param, register


@register
class Trunc(Multiplier):
    family = "trunc"
    summary = "operand precision scaling: the k LSBs of both operands zeroed, then exact product"
    param = "k"

    def __init__(self, fmt: OperandFormat, arg: str | None = None):
        super().__init__(fmt, arg)
        self.k = int_param(self.family, arg, 0, fmt.bits - 1, "k (dropped operand LSBs)")

    @property
    def is_exact(self) -> bool:
        return self.k == 0

    @property
    def keep_mask(self) -> int:
        """Mask of the operand bits that are kept (``~(2**k - 1)`` as a Python int)."""
        return ~((1 << self.k) - 1)

    def _product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        keep = np.int64(self.keep_mask)
        return (a & keep) * (b & keep)
