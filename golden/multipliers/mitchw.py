"""``mitchw:w``: Mitch-w, Mitchell's multiplier on ``w``-bit truncated operands, one's-complement signs.

Definition
----------
**Signs (signed operands), one's complement (C1).** A negative operand is inverted instead of
negated: :math:`a' = \\lnot a = -a - 1 = |a| - 1` (a positive one is kept, :math:`a' = a`), so
:math:`a'` always fits ``n - 1`` bits and the log multiplier is ``n - 1`` bits wide. The
magnitude product :math:`P'` is inverted back when the signs differ:

.. math::

    P = \\begin{cases} \\lnot P' = -P' - 1 & \\operatorname{sign} a \\ne \\operatorname{sign} b \\\\
                       P' & \\text{otherwise} \\end{cases}
    \\qquad P = 0 \\text{ if } a = 0 \\text{ or } b = 0 .

This saves the two operand incrementers and the output incrementer of two's-complement
negation, at the price of large relative errors for negative operands of small magnitude
(Kim et al. 2021, Fig. 2b: "a small frequency of high relative errors caused by the 1's
complement (C1) sign handling"): e.g. ``-2 * 3 -> ~(1 * 3) = -4``.
Unsigned operands have no sign handling: the log multiplier is ``n`` bits wide.

**Magnitudes, truncated Mitchell.** :math:`P' = P(a', b')` of
:mod:`axmac.golden.multipliers.logmul` with each operand truncated (toward zero) to its ``w``
most significant bits starting at the leading one, i.e. the leading one and the top ``w - 1``
fraction bits, before the log addition: the adder and the antilog shifter are ``w`` bits wide
instead of ``n``. Operands with at most ``w`` significant bits are exact.

Reading of ``w``: the papers say "the truncation of the operands" to ``w`` bits without a
figure in the seeds; counting the leading one among the ``w`` bits is the reading that
reproduces the one published figure, the mean error of Mitch-w6, ``-5.9%`` (Kim et al. 2021,
sec. 2, uniform random inputs): measured here ``-5.9%`` at 16 and 32 bits with 5 fraction bits,
against ``-4.9%`` with 6 fraction bits (and Mitchell's ``-3.85%``, published ``-3.9%``).

Choices the papers leave open, taken from the authors' own published HDL (Kim & Del Barrio,
C1 Mitch-w, github.com/albertodbg/log-arithmetic, ``verilog/logMultK-w-c1``; idea only, no code
copied):

* the zero test is on the *original* operands (``a == 0`` or ``b == 0`` gives ``0``);
* a C1 magnitude of ``0`` (the operand ``-1``) goes through the log multiplier as ``1`` (the
  leading-one detector reports position 0), so ``-1 * -1 = 1`` and ``-1 * b = ~b'`` with
  :math:`b'` the truncated value of :math:`b` (``-1 * 5 -> -6`` for ``w >= 3``);
* the mantissa is truncated, not rounded and not unbiased (the TC paper's Mitch-w; the same
  repository also has an "unbiased" variant that appends a 1, which is not this family).

``w`` ranges over ``1..n-1`` (``w = 1``: powers of two only); signed with ``w = n - 1`` nothing
is truncated (C1 values have ``n - 1`` bits) and only the C1 sign handling differs from
``mitchell``. The magnitude never exceeds the exact one, :math:`|P| \\le |ab|`, except for the
operand ``-1`` times a positive ``b``: :math:`|P| = b_w + 1` with :math:`b_w \\le b` the truncated
value of ``b``.

Sources: M. S. Kim, A. A. Del Barrio, L. T. Oliveira, R. Hermida, N. Bagherzadeh, "Efficient
Mitchell's approximate log multipliers for convolutional neural networks", IEEE Trans. Computers
68(5), 2019 (Mitch-w, C1); M. S. Kim et al., "Effects of approximate multiplication on
convolutional neural networks", sec. 2 and 6 (Mitch-w6, mean error ``-5.9%`` at 32 bits).
"""

from __future__ import annotations

import numpy as np

from .base import Multiplier, OperandFormat, int_param, register
from .logmul import mitchell_core


@register
class MitchW(Multiplier):
    family = "mitchw"
    summary = "Mitch-w: Mitchell on operands truncated to w bits from the leading one, one's-complement signs"
    param = "w"

    def __init__(self, fmt: OperandFormat, arg: str | None = None):
        super().__init__(fmt, arg)
        self.w = int_param(self.family, arg, 1, fmt.bits - 1, "w (operand bits kept from the leading one)")

    @property
    def magnitude_bits(self) -> int:
        """Width of the unsigned log multiplier: ``n - 1`` signed (C1 values), ``n`` unsigned."""
        return self.bits - 1 if self.signed else self.bits

    def _product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.signed:
            na, nb = a < 0, b < 0
            ma, mb = np.where(na, ~a, a), np.where(nb, ~b, b)
        else:
            na = nb = np.zeros(a.shape, dtype=bool)
            ma, mb = a, b
        p = mitchell_core(ma, mb, self.magnitude_bits, self.w - 1)
        p = np.where(na != nb, ~p, p)
        return np.where((a == 0) | (b == 0), 0, p)
