"""NumPy helpers shared by the logarithmic (Mitchell-style) multipliers and DRUM.

Mitchell's algorithm
--------------------
A positive integer :math:`x` with its leading one at bit :math:`k = \\lfloor \\log_2 x \\rfloor`
(the *characteristic*) is :math:`x = 2^k (1 + f)` with the fraction (*mantissa*)
:math:`f = x / 2^k - 1 \\in [0, 1)`: the bits below the leading one, read as a binary fraction.
Mitchell approximates :math:`\\log_2 x \\approx k + f` (linear between powers of two), adds the
two logarithms and takes the antilogarithm with the same linear approximation:

.. math::

    P(x, y) = \\begin{cases}
        2^{k_1 + k_2}\\,(1 + f_1 + f_2)     & f_1 + f_2 < 1 \\\\
        2^{k_1 + k_2 + 1}\\,(f_1 + f_2)     & f_1 + f_2 \\ge 1
    \\end{cases}

In fixed point with :math:`F` fraction bits this is one addition: the sum
:math:`s = f_1 + f_2` has a carry :math:`c` into the integer part; the antilog mantissa is
always :math:`1.s_{F-1..0}` (``2**F | (s mod 2**F)``) and the exponent :math:`k_1 + k_2 + c`.
:math:`P` is always an integer: :math:`f_i` has at most :math:`k_i` significant fraction bits,
so :math:`2^{k_1+k_2} f_i` is an integer. Truncating the fractions to their top bits
(Mitch-w) keeps that property, so the antilog drops no non-zero bit and no rounding rule is
needed. :math:`P \\le xy` always (Mitchell's error is never positive); the worst case is
:math:`f_1 = f_2 = 1/2`: :math:`P/xy = 2/2.25`, an error of :math:`-1/9 \\approx -11.1\\%`.

Source: J. N. Mitchell, "Computer multiplication and division using binary logarithms",
IRE Trans. Electronic Computers EC-11(4), 1962.
"""

from __future__ import annotations

import numpy as np


def leading_one(x: np.ndarray) -> np.ndarray:
    """Position of the leading one of each non-negative ``x < 2**32``; ``0`` where ``x == 0``.

    Binary search on shifts (five vectorised steps), exact for every integer (no float).
    """
    x = np.asarray(x, dtype=np.int64)
    k = np.zeros(x.shape, dtype=np.int64)
    for s in (16, 8, 4, 2, 1):
        k += s * ((x >> (k + s)) != 0)
    return k


def mitchell_core(x: np.ndarray, y: np.ndarray, width: int, frac_bits: int | None = None) -> np.ndarray:
    """Mitchell's approximate product of unsigned ``width``-bit magnitudes ``x`` and ``y``.

    Parameters
    ----------
    x, y : ndarray of int64
        Magnitudes in ``[0, 2**width)``. A zero is seen as ``1`` (a leading-one detector
        reports position 0 for an all-zero input): callers force the product of a zero
        operand themselves.
    width : int
        Magnitude width; fractions have ``F = width - 1`` bits.
    frac_bits : int, optional
        Keep only the top ``frac_bits`` bits of each fraction (Mitch-w truncation, toward zero);
        ``None`` (or ``frac_bits >= F``) keeps them all.

    Returns
    -------
    ndarray of int64
        :math:`P(x, y)` of the module docstring, ``< 2**(2*width)``.
    """
    F = width - 1
    x = np.maximum(np.asarray(x, dtype=np.int64), 1)
    y = np.maximum(np.asarray(y, dtype=np.int64), 1)
    k1 = leading_one(x)
    k2 = leading_one(y)
    # fractions scaled by 2**F (the bits below the leading one, left-aligned)
    f1 = (x - (np.int64(1) << k1)) << (F - k1)
    f2 = (y - (np.int64(1) << k2)) << (F - k2)
    if frac_bits is not None and frac_bits < F:
        keep = np.int64(~((1 << (F - frac_bits)) - 1))
        f1 &= keep
        f2 &= keep
    s = f1 + f2
    c = s >> F
    mant = (s & ((1 << F) - 1)) | (1 << F)
    return (mant << (k1 + k2 + c)) >> F


def sign_magnitude(v: np.ndarray, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(negative, |v|)``: exact two's-complement magnitudes (``|-2**(n-1)| = 2**(n-1)``)."""
    v = np.asarray(v, dtype=np.int64)
    if not signed:
        return np.zeros(v.shape, dtype=bool), v
    return v < 0, np.abs(v)
