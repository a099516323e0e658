"""Fixed-point requantization: the array's output stage, defined once (``docs/array.md``).

Integer hardware does not multiply by a float scale. Per output channel it holds an unsigned
31-bit multiplier ``mult`` and a right shift ``shift`` (``0..63``), and computes, for
``t = acc + bias`` (exact):

.. math::

    y = \\mathrm{clamp}\\big(zp + ((t \\cdot mult + rnd) \\gg shift),\\; lo',\\; hi\\big),
    \\qquad rnd = 2^{shift-1} \\text{ if } shift > 0 \\text{ else } 0

where ``>>`` is the arithmetic (floor) shift, so ``(t*mult + rnd) >> shift`` is ``t * mult /
2**shift`` rounded to nearest, ties towards ``+inf``; ``lo' = max(lo, zp)`` with ``relu``, else
``lo``; ``clamp(x, lo', hi) = min(max(x, lo'), hi)``. All arithmetic is exact (no width limit):
:func:`requantize` computes in int64 when the data provably fit, in Python integers otherwise.

From a float scale to ``(mult, shift)`` (:func:`quantize_scale`)
------------------------------------------------------------------
``scale = f * 2**e`` with ``f`` in ``[0.5, 1)`` (``frexp``); ``mult = rint(f * 2**31)`` (round to
nearest, ties to even) normalised into ``[2**30, 2**31)`` (a rounding up to ``2**31`` becomes
``2**30`` with ``e + 1``), ``shift = 31 - e``, so ``scale ~= mult * 2**-shift`` with a relative
error of at most ``2**-31``. A float32 scale (24-bit mantissa) is represented **exactly**.

* ``scale >= 2**31`` (``shift`` would be negative): :class:`~axmac.errors.AxmacError`;
* ``scale < 2**-33`` (``shift`` would exceed 63): documented clamp, ``shift = 63`` and
  ``mult = rint(scale * 2**63)`` below ``2**30`` (fewer significant bits; 0 below ``2**-64``,
  which outputs ``clamp(zp)``);
* ``scale == 0``: ``mult = shift = 0``; negative, NaN or infinite scales: AxmacError.

Against the float requantization of onnxruntime (``golden.engine.output_stage``:
``rint(f32(acc) * scale) + zp`` in float32, ties to even), the fixed form differs only where
float32 rounds the product (``|acc| > 2**24`` or a product within one float32 ulp of a
half-integer) or on exact ties (``.5``: even vs up), and then by 1 LSB. Measured with
``python bench/bench_array_golden.py --requant`` on the bundled float models as axmac quantizes
them, every MAC layer requantized to the next layer's input (``scale = s_x s_w / s_y``, fused
ReLU), all test images:

* LeNet-5 (``models/lenet5_mnist.onnx``), 1000 MNIST test images: 6 of 6,508,000 outputs differ
  (9.2e-7), each by 1 LSB;
* digits CNN (``models/digits_cnn.onnx``), its 500 test images: 0 of 272,000 differ.

On random accumulators (``|acc| < 2**20``, random float32 scales, ``tests/test_requant.py``) the
rate stays below 1e-3, always 1 LSB.
"""

from __future__ import annotations

import numpy as np

from ..errors import AxmacError
from .pe import wrap

#: Width of the unsigned multiplier and largest shift of the output stage.
MULT_BITS = 31
MAX_SHIFT = 63
#: int64 is used when every intermediate stays below this magnitude.
_INT64_SAFE = 1 << 61


def quantize_scale(scale) -> tuple[np.ndarray, np.ndarray]:
    """``(mult, shift)`` (int64 arrays, shape of ``scale``) with ``mult * 2**-shift ~= scale``.

    See the module docstring for the normalisation and the treatment of tiny / huge scales.
    """
    s = np.asarray(scale, dtype=np.float64)
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        bad = s[~np.isfinite(s) | (s < 0)].ravel()[0]
        raise AxmacError(f"requantization scale must be finite and non-negative, not {bad!r}")
    f, e = np.frexp(s)
    mult = np.atleast_1d(np.rint(np.ldexp(f, MULT_BITS)).astype(np.int64))
    f, e, s = np.atleast_1d(f), np.atleast_1d(e), np.atleast_1d(s)
    up = mult == 1 << MULT_BITS
    mult[up] = 1 << (MULT_BITS - 1)
    e = e.astype(np.int64) + up
    shift = MULT_BITS - e
    if np.any((shift < 0) & (s > 0)):
        raise AxmacError(f"requantization scale {float(s[shift < 0].ravel()[0])!r} is too large for the "
                         f"fixed-point output stage (it must be below 2**{MULT_BITS})")
    tiny = shift > MAX_SHIFT
    if np.any(tiny):
        mult[tiny] = np.rint(np.ldexp(s[tiny], MAX_SHIFT)).astype(np.int64)
        shift[tiny] = MAX_SHIFT
    zero = s == 0
    mult[zero] = 0
    shift[zero] = 0
    shape = np.shape(scale)
    return mult.reshape(shape), shift.reshape(shape)


def requantize(t, mult, shift, zp, lo, hi, relu=False) -> np.ndarray:
    """``clamp(zp + ((t * mult + rnd) >> shift), lo', hi)`` element-wise (module docstring), int64.

    Parameters
    ----------
    t : array_like of int
        Accumulator plus bias: int64, or Python integers (object array) of any magnitude.
    mult, shift, zp, lo, hi, relu : array_like
        Broadcast against ``t`` (per channel: shape the caller's channel axis); ``mult`` in
        ``0..2**31-1``, ``shift`` in ``0..63``.

    Returns
    -------
    numpy.ndarray of int64
        The requantized values (within ``[lo', hi]``; ``hi`` when ``lo' > hi``).
    """
    t = np.asarray(t)
    t = t if t.dtype == object else t.astype(np.int64)
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    if mult.size and (mult.min() < 0 or mult.max() >= 1 << MULT_BITS):
        raise AxmacError(f"requantization multiplier out of range 0..2**{MULT_BITS}-1")
    if shift.size and (shift.min() < 0 or shift.max() > MAX_SHIFT):
        raise AxmacError(f"requantization shift out of range 0..{MAX_SHIFT}")
    zp, lo, hi = (np.asarray(v, dtype=np.int64) for v in (zp, lo, hi))
    lo = np.where(np.asarray(relu, dtype=bool), np.maximum(lo, zp), lo)
    big = max((int(np.abs(v).max()) if v.size else 0) for v in (zp, lo, hi))
    tmax = int(np.abs(t).max()) if t.size else 0
    mmax = int(mult.max()) if mult.size else 0
    smax = int(shift.max()) if shift.size else 0
    rnd_max = (1 << (smax - 1)) if smax else 0
    if t.dtype != object and tmax * mmax + rnd_max < _INT64_SAFE and big < _INT64_SAFE:
        rnd = np.where(shift > 0, np.left_shift(np.int64(1), np.maximum(shift - 1, 0)), 0)
        q = (t * mult + rnd) >> shift
        return np.minimum(np.maximum(zp + q, lo), hi)
    # exact in Python integers (object arrays): wide accumulators or huge products
    to = t.astype(object)
    so = np.broadcast_to(shift, np.broadcast_shapes(t.shape, shift.shape)).astype(object)
    rnd = np.where(so > 0, np.left_shift(1, np.maximum(so - 1, 0)), 0)
    q = (to * mult.astype(object) + rnd) >> so
    y = np.minimum(np.maximum(zp.astype(object) + q, lo.astype(object)), hi.astype(object))
    return np.asarray(y, dtype=np.int64)


def channel_shape(values, ndim: int, axis: int) -> np.ndarray:
    """``values`` (scalar or per channel) shaped to broadcast along ``axis`` of an ``ndim`` array."""
    v = np.asarray(values)
    if v.ndim and v.size > 1:
        shape = [1] * ndim
        shape[axis] = v.size
        return v.reshape(shape)
    return v.reshape(())


def requant_fixed_stage(acc: np.ndarray, stage, scale, channel_axis: int) -> np.ndarray:
    """A ``requant`` :class:`~axmac.ir.OutputStage` in fixed point: the hardware's form.

    Same arguments as ``golden.engine.output_stage`` (``acc``: int64 accumulators with the bias
    added; ``scale``: float32 per channel or scalar, bias correction applied), same output dtype;
    ``(mult, shift) = quantize_scale(scale)``, ``lo, hi`` = the output dtype's range,
    ``zp = stage.zero_point``, ``relu = stage.relu``.
    """
    if stage.kind != "requant":
        raise AxmacError(f"fixed-point requantization applies to requant output stages, not {stage.kind!r}")
    if scale is None:
        raise AxmacError("a requant output stage needs a scale")
    acc = np.asarray(acc)
    mult, shift = quantize_scale(scale)
    info = np.iinfo(np.dtype(stage.dtype))
    y = requantize(acc, channel_shape(mult, acc.ndim, channel_axis), channel_shape(shift, acc.ndim, channel_axis),
                   int(stage.zero_point), info.min, info.max, bool(stage.relu))
    return y.astype(stage.dtype)


class RequantParams:
    """Per-channel requantization parameters of one layer: ``mult``, ``shift`` (per channel or
    scalar) and ``zp``, ``lo``, ``hi``, ``relu`` (the layer's), as the output stage takes them."""

    def __init__(self, mult, shift, zp: int = 0, lo: int = -128, hi: int = 127, relu: bool = False):
        self.mult = np.asarray(mult, dtype=np.int64)
        self.shift = np.asarray(shift, dtype=np.int64)
        self.zp, self.lo, self.hi, self.relu = int(zp), int(lo), int(hi), bool(relu)
        if self.mult.size and (self.mult.min() < 0 or self.mult.max() >= 1 << MULT_BITS):
            raise AxmacError(f"requantization multiplier out of range 0..2**{MULT_BITS}-1")
        if self.shift.size and (self.shift.min() < 0 or self.shift.max() > MAX_SHIFT):
            raise AxmacError(f"requantization shift out of range 0..{MAX_SHIFT}")

    @classmethod
    def from_scale(cls, scale, zp: int = 0, dtype=np.int8, relu: bool = False) -> RequantParams:
        """From a float scale (per channel or scalar) and an output integer dtype's range."""
        mult, shift = quantize_scale(scale)
        info = np.iinfo(np.dtype(dtype))
        return cls(mult, shift, zp, info.min, info.max, relu)

    def per_channel(self, channels: int) -> tuple[np.ndarray, np.ndarray]:
        """``(mult, shift)`` broadcast to ``channels`` entries (AxmacError on a size mismatch)."""
        out = []
        for name, v in (("mult", self.mult), ("shift", self.shift)):
            if v.size not in (1, channels):
                raise AxmacError(f"requantization {name} has {v.size} entries for {channels} channels")
            out.append(np.broadcast_to(v.ravel(), (channels,)).copy())
        return out[0], out[1]

    def apply(self, t, channel_axis: int = -1) -> np.ndarray:
        """:func:`requantize` of ``t`` with these parameters along ``channel_axis``."""
        t = np.asarray(t, dtype=np.int64)
        axis = channel_axis % t.ndim
        mult, shift = self.per_channel(t.shape[axis])
        return requantize(t, channel_shape(mult, t.ndim, axis), channel_shape(shift, t.ndim, axis),
                          self.zp, self.lo, self.hi, self.relu)


def acc_output(result, bias, acc_bits: int, overflow: str) -> np.ndarray:
    """The stage without requantization: ``t = result + bias`` (exact) wrapped (``overflow="wrap"``)
    or saturated to the signed ``acc_bits`` range, int64."""
    r = np.asarray(result, dtype=np.int64)
    b = np.asarray(bias, dtype=np.int64)
    half = 1 << (acc_bits - 1)
    if acc_bits <= 62:
        t = r + b
        return np.clip(t, -half, half - 1) if overflow == "saturate" else wrap(t, acc_bits)
    t = r.astype(object) + b.astype(object)
    if overflow == "saturate":
        t = np.minimum(np.maximum(t, -half), half - 1)
    else:
        t = ((t + half) % (half << 1)) - half
    return np.asarray(t, dtype=np.int64)
