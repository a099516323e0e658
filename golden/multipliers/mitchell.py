"""``mitchell``: Mitchell's logarithmic multiplier with exact sign handling.

Definition
----------
Magnitudes are exact: :math:`|a|, |b|` (two's complement, ``n`` bits wide so that
:math:`|-2^{n-1}| = 2^{n-1}` is represented). Their approximate product is Mitchell's
(see :mod:`axmac.golden.multipliers.logmul`), with every fraction bit kept
(:math:`F = n - 1`):

.. math::

    |P| = 2^{k_1 + k_2 + c}\\,(1 + (f_1 + f_2 \\bmod 1)),\\qquad c = [f_1 + f_2 \\ge 1],

    P = 0 \\text{ if } a = 0 \\text{ or } b = 0, \\qquad
    P = -|P| \\text{ if } \\operatorname{sign} a \\ne \\operatorname{sign} b, \\text{ else } |P|.

Properties (tested): :math:`|P| \\le |ab|`, equality when an operand is a power of two;
relative error in :math:`(-1/9, 0]`, the worst at mantissas ``1.1b x 1.1b`` (e.g. ``3 x 3 -> 8``,
``-11.1%``); mean relative error about ``-3.8%`` for uniform operands (Kim et al. quote
``-3.9%`` at 32 bits). The product never overflows ``2n`` bits since :math:`|P| \\le |ab|`.

Source: J. N. Mitchell, "Computer multiplication and division using binary logarithms",
IRE Trans. Electronic Computers EC-11(4), pp. 512-517, 1962; the sign handling ("separate sign
handling ... does not affect the signs of the products") as in M. S. Kim, A. A. Del Barrio, H. Kim,
N. Bagherzadeh, "Effects of approximate multiplication on convolutional neural networks", sec. 2
and Fig. 2a (``/work/shared/seeds/003_*.txt``).
"""

from __future__ import annotations

import numpy as np

from .base import Multiplier, register
from .logmul import mitchell_core, sign_magnitude


@register
class Mitchell(Multiplier):
    family = "mitchell"
    summary = "Mitchell's log multiplier (LOD + linear log/antilog), exact sign-magnitude handling"

    @property
    def magnitude_bits(self) -> int:
        """Width of the unsigned log multiplier: ``n`` (signed ``|-2**(n-1)|`` needs ``n`` bits)."""
        return self.bits

    def _product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        na, ma = sign_magnitude(a, self.signed)
        nb, mb = sign_magnitude(b, self.signed)
        p = mitchell_core(ma, mb, self.magnitude_bits)
        p = np.where((ma == 0) | (mb == 0), 0, p)
        return np.where(na != nb, -p, p)
