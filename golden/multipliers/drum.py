"""``drum:k``: DRUM, the dynamic range unbiased multiplier of Hashemi, Bahar and Reda.

Definition
----------
Each unsigned magnitude :math:`x` (``n`` bits) with its leading one at bit :math:`t` is
reduced to a ``k``-bit *segment* that starts at the leading one:

.. math::

    s = \\max(t - k + 1,\\ 0), \\qquad
    \\tilde x = \\begin{cases} x & s = 0 \\quad (x < 2^k\\text{: used exactly}) \\\\
        \\lfloor x / 2^s \\rfloor \\lor 1 & s > 0 \\quad
        (\\text{the segment's LSB forced to 1}) \\end{cases}

and :math:`P = (\\tilde a \\cdot \\tilde b)\\, 2^{s_a + s_b}`: a ``k x k`` exact product
shifted back. Forcing the LSB to 1 replaces the truncated tail :math:`x \\bmod 2^s` (mean
:math:`\\approx 2^{s-1}`) by exactly :math:`2^{s-1}` relative to the segment's floor, which
makes the error nearly unbiased (mean relative error close to 0, positive and negative
errors); ``drum:6`` at 16 bits has a mean relative error distance of about 1.5 %
(Hashemi et al., Table 1 / Fig. 5).

**Signed operands**: sign-magnitude, as in the paper: exact magnitudes
:math:`|a|, |b|` (``n`` bits, so :math:`|-2^{n-1}| = 2^{n-1}`), the unsigned DRUM above, and
the product negated when the signs differ. ``k`` ranges over ``2..n``; ``k = n`` is exact
(every magnitude is below :math:`2^n`).

One choice the paper leaves open: since :math:`\\tilde x` can exceed :math:`x`, the signed
square :math:`(-2^{n-1})^2` with ``k = 2`` gives :math:`(3 \\cdot 2^{n-2})^2 = 2.25 \\cdot
2^{2n-2}`, which does not fit a ``2n``-bit signed product; it is *saturated* to
:math:`2^{2n-1} - 1` (the only pair of any ``n``, ``k`` and signedness that overflows: for
``k >= 3`` :math:`\\tilde x \\le 1.25 \\cdot 2^{n-1}`, and unsigned :math:`\\tilde x < 2^n`).

Source: S. Hashemi, R. I. Bahar, S. Reda, "DRUM: a dynamic range unbiased multiplier for
approximate applications", IEEE/ACM ICCAD 2015, pp. 418-425 (sec. 3; used as DRUM6 by Kim et al.,
"Effects of approximate multiplication on convolutional neural networks").
"""

from __future__ import annotations

import numpy as np

from .base import Multiplier, OperandFormat, int_param, register
from .logmul import leading_one, sign_magnitude


def drum_segment(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(segment, shift)`` of non-negative ``x``: ``x ~ segment << shift`` (definition above)."""
    x = np.asarray(x, dtype=np.int64)
    shift = np.maximum(leading_one(x) - (k - 1), 0)
    seg = (x >> shift) | (shift > 0)
    return seg, shift


@register
class Drum(Multiplier):
    family = "drum"
    summary = "DRUM: k-bit segments from the leading one, LSB forced to 1, exact k x k product"
    param = "k"

    def __init__(self, fmt: OperandFormat, arg: str | None = None):
        super().__init__(fmt, arg)
        self.k = int_param(self.family, arg, 2, fmt.bits, "k (segment bits)")

    @property
    def is_exact(self) -> bool:
        return self.k == self.bits

    @property
    def saturates(self) -> bool:
        """Whether the product can exceed the signed ``2n``-bit range (signed, ``k = 2 < n``)."""
        return self.signed and self.k == 2 and self.bits > 2

    def _product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        na, ma = sign_magnitude(a, self.signed)
        nb, mb = sign_magnitude(b, self.signed)
        sa, ta = drum_segment(ma, self.k)
        sb, tb = drum_segment(mb, self.k)
        p = (sa * sb) << (ta + tb)
        if self.signed:
            p = np.where(na != nb, -p, np.minimum(p, (1 << (2 * self.bits - 1)) - 1))
        return p
