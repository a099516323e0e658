"""The non-MAC ONNX operators of the golden engine: one small vectorised NumPy kernel per op.

Semantics follow the ONNX operator specification (opset 13 and later; Clip's old ``min``/``max``
attributes and pre-13 Softmax are accepted too). Where ONNX computes in floating point the
kernels compute in ``float32`` like onnxruntime; integer tensors keep their dtype (MaxPool, Relu,
Concat, Reshape... on int8 / uint8 data are exact). Each kernel is checked against
``onnx.reference`` (and onnxruntime where the two disagree, e.g. pooling with ``ceil_mode``) in
``tests/test_ops.py``. Sigmoid, Tanh, AveragePool and GlobalAveragePool go further and reproduce
onnxruntime's float32 results bit for bit (its rational logistic, its summation orders): in a
QDQ graph a one-ulp difference before a QuantizeLinear can flip a requantized value.

onnxruntime's contrib ops of QOperator models (domain ``com.microsoft``: QLinearAdd, QLinearMul,
QLinearSigmoid, QLinearLeakyRelu, QLinearGlobalAveragePool, QLinearConcat; :data:`MS_OPS`) are
reproduced bit for bit from onnxruntime's float32 formulas (tests against onnxruntime itself).
QLinearAveragePool is not: its rounding did not match any formula tried.

Kernels take the node's inputs positionally (``None`` for an omitted optional input) and its
attributes as keyword arguments, and return one array. :func:`run_op` is the dispatcher the
engine uses; an unsupported op or attribute raises :class:`~axmac.errors.AxmacError`.

Quantization (ONNX ``QuantizeLinear`` / ``DequantizeLinear``)::

    q = saturate(round_half_even(x / scale) + zero_point)          (x / scale in float32)
    x = float32(q - zero_point) * scale
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from ..errors import AxmacError

F32 = np.float32


# -- element-wise ---------------------------------------------------------------------------------

def identity(x):
    return x


def relu(x):
    return np.maximum(x, np.zeros((), x.dtype))


def leaky_relu(x, *, alpha=0.01):
    return np.where(x >= 0, x, x * F32(alpha)).astype(x.dtype, copy=False)


def clip(x, lo=None, hi=None, *, min=None, max=None):  # noqa: A002 - ONNX attribute names (opset < 11)
    lo = min if lo is None else lo
    hi = max if hi is None else hi
    y = x
    if lo is not None:
        y = np.maximum(y, np.asarray(lo, dtype=x.dtype))
    if hi is not None:
        y = np.minimum(y, np.asarray(hi, dtype=x.dtype))
    return np.asarray(y, dtype=x.dtype)


#: Rational approximation of the logistic function used by onnxruntime's MLAS (the constants
#: of Eigen's float logistic): ``sigma(v) = v P(v^2) / Q(v^2) + 1/2`` on ``v = clip(x, -18, 18)``.
_LOGISTIC_P = tuple(F32(c) for c in (4.37031012579801e-11, 1.15627324459942e-07, 6.08574864600143e-05,
                                     8.51377133304701e-03, 2.48287947061529e-01))
_LOGISTIC_Q = tuple(F32(c) for c in (6.10247389755681e-13, 5.76102136993427e-09, 6.29106785017040e-06,
                                     1.70198817374094e-03, 1.16817656904453e-01, 9.93151921023180e-01))


def _fma32(a, b, c):
    """float32 ``a * b + c`` rounded once (the product of two float32 is exact in float64)."""
    return (a.astype(np.float64) * np.float64(b) + np.float64(c)).astype(F32)


def sigmoid(x):
    """ONNX Sigmoid ``1 / (1 + exp(-x))``, float32 **as onnxruntime computes it** (MLAS logistic).

    .. math:: \\sigma(x) \\approx \\max\\left(0, \\frac{v\\,P(v^2)}{Q(v^2)} + \\tfrac12\\right),
              \\quad v = \\mathrm{clip}(x, -18, 18)

    with degree-4 ``P`` and degree-5 ``Q`` evaluated by Horner's rule with fused multiply-adds
    (onnxruntime's ``MlasComputeLogistic``, constants from Eigen's float logistic); absolute
    error below 2.4e-7 against the exact function. Matching it bit for bit keeps QDQ networks
    with Sigmoid equal to onnxruntime after requantization (measured: 300001 of 300001 values
    equal on x86-64 with FMA). Float64 inputs use the exact formula.
    """
    if x.dtype != F32:
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
    v = np.clip(x, F32(-18), F32(18))
    v2 = v * v
    return np.maximum((_horner_fma(v2, _LOGISTIC_P) * v) / _horner_fma(v2, _LOGISTIC_Q) + F32(0.5), F32(0))


def hard_sigmoid(x, *, alpha=0.2, beta=0.5):
    return np.clip(x * F32(alpha) + F32(beta), 0, 1).astype(x.dtype, copy=False)


def hard_swish(x):
    """``x * max(0, min(1, x / 6 + 1/2))`` (ONNX HardSwish: alpha = 1/6, beta = 0.5)."""
    return (x * np.clip(x * F32(1 / 6) + F32(0.5), 0, 1)).astype(x.dtype, copy=False)


#: Rational approximation of tanh used by onnxruntime's MLAS (Eigen's float tanh constants):
#: ``tanh(v) = v P(v^2) / Q(v^2)`` on ``v = clip(x, -9, 9)``.
_TANH_P = tuple(F32(c) for c in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                                 5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                                 4.89352455891786e-03))
_TANH_Q = tuple(F32(c) for c in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                                 4.89352518554385e-03))


def _horner_fma(v2, coeffs):
    acc = _fma32(v2, coeffs[0], coeffs[1])
    for c in coeffs[2:]:
        acc = _fma32(acc, v2, c)
    return acc


def tanh(x):
    """ONNX Tanh, float32 **as onnxruntime computes it** (MLAS): ``v P(v^2) / Q(v^2)`` with
    ``v = clip(x, -9, 9)``, Horner with fused multiply-adds (degree-6 / degree-3 polynomials in
    ``v^2``; 300001 of 300001 test values equal to onnxruntime's). Float64 uses ``np.tanh``."""
    if x.dtype != F32:
        return np.tanh(x)
    v = np.clip(x, F32(-9), F32(9))
    return (_horner_fma(v * v, _TANH_P) * v) / _horner_fma(v * v, _TANH_Q)


def add(a, b):
    return np.add(a, b, dtype=np.result_type(a.dtype, b.dtype))


def sub(a, b):
    return np.subtract(a, b, dtype=np.result_type(a.dtype, b.dtype))


def div(a, b):
    """ONNX Div: true division for floats, truncation toward zero for integers (as C++ does)."""
    dt = np.result_type(a.dtype, b.dtype)
    if np.issubdtype(dt, np.integer):
        q = np.abs(a.astype(np.int64)) // np.abs(b.astype(np.int64))
        return (np.sign(a.astype(np.int64)) * np.sign(b.astype(np.int64)) * q).astype(dt)
    return np.divide(a, b, dtype=dt)


def mul(a, b):
    return np.multiply(a, b, dtype=np.result_type(a.dtype, b.dtype))


def softmax(x, *, axis=-1):
    """Softmax along ``axis`` (opset 13 semantics), max-subtracted for stability."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(x.dtype, copy=False)


def log_softmax(x, *, axis=-1):
    d = x - x.max(axis=axis, keepdims=True)
    return (d - np.log(np.exp(d).sum(axis=axis, keepdims=True))).astype(x.dtype, copy=False)


def dropout(x, ratio=None, training_mode=None, *, seed=None):
    """Inference: the identity (a ``training_mode`` input that is true is refused)."""
    if training_mode is not None and bool(np.asarray(training_mode)):
        raise AxmacError("Dropout: training_mode is not supported")
    return x


def cast(x, *, to, saturate=1, round_mode="up"):
    return x.astype(_onnx_dtype(to))


# -- shape ----------------------------------------------------------------------------------------

def concat(*xs, axis):
    return np.concatenate(xs, axis=axis)


def flatten(x, *, axis=1):
    axis = axis % x.ndim if x.ndim else 0
    return x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)


def reshape(x, shape, *, allowzero=0):
    shape = [int(s) for s in np.asarray(shape).ravel()]
    if not allowzero:
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    try:
        return x.reshape(shape)
    except ValueError:
        raise AxmacError(f"Reshape: cannot reshape {x.shape} to {shape}") from None


def squeeze(x, axes=None, *, axes_attr=None):
    axes = axes_attr if axes is None else axes
    if axes is None:
        return np.squeeze(x)
    return np.squeeze(x, axis=tuple(int(a) % x.ndim for a in np.asarray(axes).ravel()))


def unsqueeze(x, axes=None, *, axes_attr=None):
    axes = axes_attr if axes is None else axes
    if axes is None:
        raise AxmacError("Unsqueeze: needs axes")
    axes = [int(a) for a in np.asarray(axes).ravel()]
    nd = x.ndim + len(axes)
    return np.expand_dims(x, tuple(a % nd for a in axes))


def transpose(x, *, perm=None):
    return np.transpose(x, None if perm is None else tuple(perm))


def pad(x, pads, constant_value=None, axes=None, *, mode="constant"):
    """ONNX Pad (opset 11+): ``pads = [b_1.., e_1..]`` per axis; negative pads crop."""
    pads = [int(p) for p in np.asarray(pads).ravel()]
    axes = list(range(x.ndim)) if axes is None else [int(a) % x.ndim for a in np.asarray(axes).ravel()]
    if len(pads) != 2 * len(axes):
        raise AxmacError(f"Pad: {len(pads)} pads for {len(axes)} axes")
    before = [0] * x.ndim
    after = [0] * x.ndim
    for i, a in enumerate(axes):
        before[a], after[a] = pads[i], pads[i + len(axes)]
    crop = tuple(slice(-b if b < 0 else 0, x.shape[a] + e if e < 0 else None)
                 for a, (b, e) in enumerate(zip(before, after, strict=True)))
    x = x[crop]
    width = [(max(b, 0), max(e, 0)) for b, e in zip(before, after, strict=True)]
    if mode == "constant":
        cv = 0 if constant_value is None else np.asarray(constant_value).item()
        return np.pad(x, width, mode="constant", constant_values=np.asarray(cv, x.dtype))
    if mode in ("reflect", "edge", "wrap"):
        return np.pad(x, width, mode=mode)
    raise AxmacError(f"Pad: unsupported mode {mode!r}")


# -- pooling --------------------------------------------------------------------------------------

def _pool_geometry(shape, kernel_shape, strides, pads, dilations, ceil_mode, auto_pad):
    """Output sizes and explicit pads ``(begin, end)`` per spatial axis (ONNX / onnxruntime rules).

    ``out = floor_or_ceil((L + pb + pe - ((k - 1) d + 1)) / s) + 1``; with ``ceil_mode`` a last
    window that would start in the end padding is dropped (onnxruntime, PyTorch).
    """
    nd = len(kernel_shape)
    strides = list(strides or [1] * nd)
    dilations = list(dilations or [1] * nd)
    pads = list(pads or [0] * 2 * nd)
    out, pb, pe = [], [], []
    for i in range(nd):
        L, k, s, d = shape[i], kernel_shape[i], strides[i], dilations[i]
        span = (k - 1) * d + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-L // s)
            total = max((o - 1) * s + span - L, 0)
            b = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            out.append(o), pb.append(b), pe.append(total - b)
            continue
        if auto_pad == "VALID":
            b = e = 0
        elif auto_pad in ("NOTSET", "", None):
            b, e = pads[i], pads[i + nd]
        else:
            raise AxmacError(f"pooling: unsupported auto_pad {auto_pad!r}")
        num = L + b + e - span
        if ceil_mode:
            o = -(-num // s) + 1
            if (o - 1) * s >= L + b:
                o -= 1
        else:
            o = num // s + 1
        out.append(o), pb.append(b), pe.append(e)
    return out, pb, pe, strides, dilations


def _window_reduce(xp, out, strides, dilations, kernel_shape, ufunc, dtype=None):
    """Reduce the pooling windows of the trailing spatial axes of a padded array with ``ufunc``.

    One strided slice per kernel offset (``prod(kernel_shape)`` whole-array operations), so the
    cost is that of ``prod(kernel_shape)`` element-wise passes, whatever the window layout.
    """
    import itertools

    nd = len(out)
    lead = (slice(None),) * (xp.ndim - nd)
    acc = None
    for offs in itertools.product(*(range(k) for k in kernel_shape)):
        sl = lead + tuple(slice(o * d, o * d + (n - 1) * s + 1, s)
                          for o, d, n, s in zip(offs, dilations, out, strides, strict=True))
        v = xp[sl]
        if acc is None:
            acc = v.astype(dtype or v.dtype, copy=True)
        else:
            ufunc(acc, v, out=acc)
    return acc


def _padded(x, out, pb, pe, strides, dilations, kernel_shape, fill):
    """Pad ``x`` by the explicit pads, plus what ceil mode needs beyond the end, with ``fill``."""
    nd = len(out)
    width = [(0, 0)] * (x.ndim - nd)
    for i in range(nd):
        need = (out[i] - 1) * strides[i] + (kernel_shape[i] - 1) * dilations[i] + 1
        width.append((pb[i], max(need - x.shape[x.ndim - nd + i] - pb[i], 0)))
    return np.pad(x, width, mode="constant", constant_values=fill), width


def max_pool_nchw(x, *, kernel_shape, strides=None, pads=None, dilations=None, ceil_mode=0, auto_pad="NOTSET",
                  storage_order=0):
    """ONNX MaxPool over the trailing ``len(kernel_shape)`` axes; pads never win (filled with -inf / min)."""
    out, pb, pe, strides, dilations = _pool_geometry(x.shape[2:], kernel_shape, strides, pads, dilations,
                                                     ceil_mode, auto_pad)
    fill = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    xp, _ = _padded(x, out, pb, pe, strides, dilations, kernel_shape, fill)
    return _window_reduce(xp, out, strides, dilations, kernel_shape, np.maximum)


def average_pool_nchw(x, *, kernel_shape, strides=None, pads=None, dilations=None, ceil_mode=0, auto_pad="NOTSET",
                      count_include_pad=0, _column_sums=False):
    """ONNX AveragePool. The divisor counts the input elements of each window, plus the explicit
    pads when ``count_include_pad`` (never the extra elements ``ceil_mode`` adds past the end).

    float32 sums in onnxruntime's order: row-major over the window (opset 19+ kernel), or, with
    ``_column_sums`` (2-D, opset < 19, onnxruntime's MLAS kernel), the sum of each window column
    first, then the column sums left to right; then one division by the count.
    """
    nd = len(kernel_shape)
    out, pb, pe, strides, dilations = _pool_geometry(x.shape[2:], kernel_shape, strides, pads, dilations,
                                                     ceil_mode, auto_pad)
    xp, width = _padded(x.astype(F32, copy=False), out, pb, pe, strides, dilations, kernel_shape, 0)
    if _column_sums and nd == 2:
        s = None
        for j in range(kernel_shape[1]):
            col = _window_reduce(xp[..., j * dilations[1]:], out, strides, dilations, [kernel_shape[0], 1], np.add, F32)
            s = col if s is None else np.add(s, col, out=s)
    else:
        s = _window_reduce(xp, out, strides, dilations, kernel_shape, np.add, F32)
    # the divisor, built per axis (a separable product of 1-D counts)
    count = np.ones((), F32)
    for i in range(nd):
        L = x.shape[2 + i]
        b, e_total = width[2 + i]
        m = np.zeros(b + L + e_total, F32)
        if count_include_pad:
            m[: b + L + pe[i]] = 1  # explicit pads count, ceil-mode extension does not
        else:
            m[b: b + L] = 1
        c = _window_reduce(m, [out[i]], [strides[i]], [dilations[i]], [kernel_shape[i]], np.add)
        count = count[..., None] * c if count.ndim else c
    return (s / count).astype(F32)


def global_max_pool(x):
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)


def global_average_pool(x):
    """Mean over the spatial axes, float32 summed as onnxruntime does (Eigen, 4-lane SIMD): four
    running lane sums over the flattened map, combined as ``(l0 + l2) + (l1 + l3)``, then the
    tail elements in order, then one division by the count."""
    if x.dtype != F32:
        return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype, copy=False)
    flat = x.reshape(*x.shape[:2], -1)
    n = flat.shape[-1]
    full = n - n % 4
    lanes = np.zeros((*x.shape[:2], 4), F32)
    for i in range(0, full, 4):
        lanes += flat[..., i:i + 4]
    s = (lanes[..., 0] + lanes[..., 2]) + (lanes[..., 1] + lanes[..., 3])
    for i in range(full, n):
        s += flat[..., i]
    return (s / F32(n)).reshape(*x.shape[:2], *([1] * (x.ndim - 2)))


# -- resize ---------------------------------------------------------------------------------------

def _nearest_index(out_len, in_len, scale, ctm, nearest_mode):
    """Input index of each output index along one axis; float32 arithmetic as in onnxruntime."""
    i = np.arange(out_len, dtype=F32)
    scale = F32(scale)
    half = F32(0.5)
    if ctm == "half_pixel":
        xo = (i + half) / scale - half
    elif ctm == "pytorch_half_pixel":
        xo = (i + half) / scale - half if out_len > 1 else np.zeros_like(i)
    elif ctm == "align_corners":
        xo = i * F32(in_len - 1) / F32(out_len - 1) if out_len > 1 else np.zeros_like(i)
    elif ctm == "asymmetric":
        xo = i / scale
    elif ctm == "tf_half_pixel_for_nn":
        xo = (i + half) / scale
    else:
        raise AxmacError(f"Resize: unsupported coordinate_transformation_mode {ctm!r}")
    if nearest_mode == "round_prefer_floor":
        idx = np.where(xo == np.floor(xo) + 0.5, np.floor(xo), np.round(xo))
    elif nearest_mode == "round_prefer_ceil":
        idx = np.where(xo == np.floor(xo) + 0.5, np.ceil(xo), np.round(xo))
    elif nearest_mode == "floor":
        idx = np.floor(xo)
    elif nearest_mode == "ceil":
        idx = np.ceil(xo)
    else:
        raise AxmacError(f"Resize: unsupported nearest_mode {nearest_mode!r}")
    return np.clip(idx, 0, in_len - 1).astype(np.int64)


def resize(x, roi=None, scales=None, sizes=None, *, mode="nearest", coordinate_transformation_mode="half_pixel",
           nearest_mode="round_prefer_floor", axes=None, antialias=0, keep_aspect_ratio_policy="stretch",
           cubic_coeff_a=-0.75, exclude_outside=0, extrapolation_value=0.0):
    """ONNX Resize (opset 11+), ``mode="nearest"`` only: gathers one input index per output index."""
    if mode != "nearest":
        raise AxmacError(f"Resize: only mode 'nearest' is supported, not {mode!r}")
    if axes is not None or antialias or keep_aspect_ratio_policy != "stretch":
        raise AxmacError("Resize: axes / antialias / keep_aspect_ratio_policy are not supported")
    if sizes is not None and np.asarray(sizes).size:
        out = [int(s) for s in np.asarray(sizes).ravel()]
        sc = [o / i for o, i in zip(out, x.shape, strict=True)]
    elif scales is not None and np.asarray(scales).size:
        sc = [float(s) for s in np.asarray(scales, dtype=F32).ravel()]
        out = [int(math.floor(i * s)) for i, s in zip(x.shape, sc, strict=True)]
    else:
        raise AxmacError("Resize: needs scales or sizes")
    y = x
    for ax in range(x.ndim):
        if out[ax] == x.shape[ax] and sc[ax] == 1:
            continue
        idx = _nearest_index(out[ax], x.shape[ax], sc[ax], coordinate_transformation_mode, nearest_mode)
        y = np.take(y, idx, axis=ax)
    return y


# -- quantization ---------------------------------------------------------------------------------

def _per_axis(v, ndim, axis):
    v = np.asarray(v)
    if v.ndim == 0 or v.size == 1:
        return v.reshape(())
    shape = [1] * ndim
    shape[axis % ndim] = v.size
    return v.reshape(shape)


def saturate_cast(v, dtype):
    """Clamp an integer array to ``dtype``'s range (explicit ``np.iinfo`` limits) and cast."""
    info = np.iinfo(dtype)
    return np.clip(v, info.min, info.max).astype(dtype)


def quantize_linear(x, y_scale, y_zero_point=None, *, axis=1, saturate=1, block_size=0, output_dtype=0,
                    precision=0):
    """``saturate(round_half_even(x / y_scale) + y_zero_point)``, per tensor or per ``axis``."""
    if block_size:
        raise AxmacError("QuantizeLinear: blocked quantization is not supported")
    if y_zero_point is None:
        dtype = np.dtype(np.uint8) if not output_dtype else _onnx_dtype(output_dtype)
        zp = np.zeros((), dtype)
    else:
        zp = np.asarray(y_zero_point)
        dtype = zp.dtype
    if not np.issubdtype(dtype, np.integer):
        raise AxmacError(f"QuantizeLinear: output type {dtype} is not supported")
    scale = _per_axis(np.asarray(y_scale, dtype=F32), x.ndim, axis)
    info = np.iinfo(dtype)
    q = np.rint(x.astype(F32, copy=False) / scale)
    if info.bits > 16:  # 32-bit outputs: saturate in int64
        q = np.clip(q, -(2.0**40), 2.0**40).astype(np.int64) + _per_axis(zp, x.ndim, axis).astype(np.int64)
        return saturate_cast(q, dtype)
    # rint(x / s) is an integer-valued float32; adding the zero point is exact below 2**24 and
    # anything beyond saturates anyway, so clip + cast in float32 equals the int64 formula.
    q += _per_axis(zp, x.ndim, axis).astype(F32)
    return np.clip(q, F32(info.min), F32(info.max), out=q).astype(dtype)


def dequantize_linear(x, x_scale, x_zero_point=None, *, axis=1, block_size=0, output_dtype=0):
    """``float32(x - x_zero_point) * x_scale``, per tensor or per ``axis``."""
    if block_size:
        raise AxmacError("DequantizeLinear: blocked quantization is not supported")
    zp = 0 if x_zero_point is None else _per_axis(np.asarray(x_zero_point).astype(np.int64), x.ndim, axis)
    scale = _per_axis(np.asarray(x_scale, dtype=F32), x.ndim, axis)
    return ((x.astype(np.int64) - zp).astype(F32) * scale).astype(F32)


def _onnx_dtype(code: int) -> np.dtype:
    from onnx.helper import tensor_dtype_to_np_dtype

    return np.dtype(tensor_dtype_to_np_dtype(int(code)))


# -- onnxruntime's quantized element-wise ops (domain com.microsoft, QOperator models) -------------

def _zp_of(zp, like):
    return np.zeros((), like.dtype) if zp is None else np.asarray(zp)


def _table_op(fn, x, x_scale, x_zero_point, y_scale, y_zero_point):
    """An 8-bit op as onnxruntime runs it: a 256-entry table ``Q(fn(DQ(v)))`` over every code ``v``."""
    if x.dtype not in (np.int8, np.uint8):
        raise AxmacError(f"quantized table op: input must be int8 or uint8, not {x.dtype}")
    info = np.iinfo(x.dtype)
    codes = np.arange(info.min, info.max + 1).astype(x.dtype)
    table = quantize_linear(fn(dequantize_linear(codes, x_scale, _zp_of(x_zero_point, x))), y_scale,
                            _zp_of(y_zero_point, x).astype(x.dtype))
    return table[x.astype(np.int64) - info.min]


def qlinear_sigmoid(x, x_scale, x_zero_point, y_scale, y_zero_point=None):
    return _table_op(sigmoid, x, x_scale, x_zero_point, y_scale, y_zero_point)


def qlinear_leaky_relu(x, x_scale, x_zero_point, y_scale, y_zero_point=None, *, alpha=0.01):
    return _table_op(lambda v: leaky_relu(v, alpha=alpha), x, x_scale, x_zero_point, y_scale, y_zero_point)


def _a_broadcast_inner(a_shape, b_shape) -> bool:
    """True when ``A`` is constant along the innermost varying axis of the broadcast (onnxruntime
    then treats A as the per-span scalar)."""
    out = np.broadcast_shapes(a_shape, b_shape)
    a = (1,) * (len(out) - len(a_shape)) + tuple(a_shape)
    for ax in range(len(out) - 1, -1, -1):
        if out[ax] > 1:
            return a[ax] == 1
    return False


def qlinear_add(a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale, c_zero_point=None):
    """com.microsoft.QLinearAdd as onnxruntime's MLAS computes it (float32, fused multiply-adds):

    ``r_a = s_a / s_c``, ``r_b = s_b / s_c``, ``k = z_c - r_a z_a - r_b z_b`` and
    ``c = sat(rhe(fma(a, r_a, fma(b, r_b, k))))`` — the operand that is constant along the
    innermost broadcast axis goes into the inner fma. Measured equal to onnxruntime on 10^6 values.
    """
    zc = _zp_of(c_zero_point, a)
    dtype = zc.dtype
    ra = F32(F32(a_scale) / F32(c_scale))
    rb = F32(F32(b_scale) / F32(c_scale))
    k = F32(F32(F32(zc) - ra * F32(_zp_of(a_zero_point, a))) - rb * F32(_zp_of(b_zero_point, b)))
    af, bf = a.astype(F32), b.astype(F32)
    if _a_broadcast_inner(a.shape, b.shape):
        y = _fma32(bf, rb, _fma32(af, ra, k))
    else:
        y = _fma32(af, ra, _fma32(bf, rb, k))
    info = np.iinfo(dtype)
    return np.clip(np.rint(y), info.min, info.max).astype(dtype)


def qlinear_mul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale, c_zero_point=None):
    """com.microsoft.QLinearMul: ``sat(rhe((a - z_a)(b - z_b) * (s_a s_b / s_c) + z_c))`` in float32."""
    zc = _zp_of(c_zero_point, a)
    r = F32(F32(F32(a_scale) * F32(b_scale)) / F32(c_scale))
    pa = a.astype(F32) - F32(_zp_of(a_zero_point, a))
    pb = b.astype(F32) - F32(_zp_of(b_zero_point, b))
    y = (pa * pb) * r + F32(zc)
    info = np.iinfo(zc.dtype)
    return np.clip(np.rint(y), info.min, info.max).astype(zc.dtype)


def qlinear_global_average_pool(x, x_scale, x_zero_point, y_scale, y_zero_point=None, *, channels_last=0):
    """com.microsoft.QLinearGlobalAveragePool: integer sum ``S`` over the map (``n`` values), then
    ``sat(rhe(f32(S - n z_x) * (s_x / (s_y n))) + z_y)`` in float32."""
    zy = _zp_of(y_zero_point, x)
    axes = tuple(range(1, x.ndim - 1)) if channels_last else tuple(range(2, x.ndim))
    n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    s = x.astype(np.int64).sum(axis=axes, keepdims=True) - n * int(_zp_of(x_zero_point, x))
    mult = F32(F32(x_scale) / F32(F32(y_scale) * F32(n)))
    y = np.rint(s.astype(F32) * mult) + F32(zy)
    info = np.iinfo(zy.dtype)
    return np.clip(y, info.min, info.max).astype(zy.dtype)


def qlinear_concat(y_scale, y_zero_point, *xs, axis):
    """com.microsoft.QLinearConcat: inputs given as ``(x, x_scale, x_zero_point)`` triples after
    the output's scale and zero point; each requantized to the output's ``Q(DQ(x))``, then joined."""
    if len(xs) % 3:
        raise AxmacError("QLinearConcat: inputs must come in (x, scale, zero point) triples")
    zy = np.asarray(y_zero_point)
    parts = []
    for x, s, z in zip(xs[0::3], xs[1::3], xs[2::3], strict=True):
        same = F32(s) == F32(y_scale) and int(np.asarray(z)) == int(zy)
        parts.append(x if same else quantize_linear(dequantize_linear(x, s, z), y_scale, zy))
    return np.concatenate(parts, axis=axis)


#: onnxruntime contrib ops (domain ``com.microsoft``) -> kernel
MS_OPS = {
    "QLinearAdd": qlinear_add, "QLinearMul": qlinear_mul, "QLinearSigmoid": qlinear_sigmoid,
    "QLinearLeakyRelu": qlinear_leaky_relu, "QLinearGlobalAveragePool": qlinear_global_average_pool,
    "QLinearConcat": qlinear_concat,
}


# -- dispatch -------------------------------------------------------------------------------------

#: ONNX op type (default domain) -> kernel
OPS = {
    "Identity": identity, "Relu": relu, "LeakyRelu": leaky_relu, "Clip": clip, "Sigmoid": sigmoid,
    "HardSigmoid": hard_sigmoid, "HardSwish": hard_swish, "Add": add, "Mul": mul, "Softmax": softmax,
    "Concat": concat, "Flatten": flatten, "Reshape": reshape, "Transpose": transpose, "Pad": pad,
    "MaxPool": max_pool_nchw, "AveragePool": average_pool_nchw, "GlobalAveragePool": global_average_pool,
    "Resize": resize, "QuantizeLinear": quantize_linear, "DequantizeLinear": dequantize_linear,
    "Tanh": tanh, "Sub": sub, "Div": div, "LogSoftmax": log_softmax, "GlobalMaxPool": global_max_pool,
    "Squeeze": squeeze, "Unsqueeze": unsqueeze, "Dropout": dropout, "Cast": cast,
}



def run_op(op_type: str, inputs: list, attrs: dict | None = None, domain: str = "", opset: int = 0) -> np.ndarray:
    """Run ONNX op ``op_type`` on ``inputs`` (arrays, ``None`` for omitted optional inputs).

    ``domain`` ``""`` (ONNX) or ``"com.microsoft"`` (:data:`MS_OPS`). ``opset`` (the model's
    default-domain opset, 0 = recent) selects the pre-13 semantics of Softmax / LogSoftmax (input
    coerced to 2-D at ``axis``, default 1) and Squeeze / Unsqueeze (``axes`` attribute), and
    onnxruntime's pre-19 AveragePool summation order. Raises :class:`~axmac.errors.AxmacError`
    for an op or attribute the golden engine does not implement (one line naming it).
    """
    attrs = dict(attrs or {})
    if domain == "com.microsoft" and op_type in MS_OPS:
        fn = MS_OPS[op_type]
    elif domain in ("", "ai.onnx") and op_type in OPS:
        fn = OPS[op_type]
    else:
        name = f"{domain}.{op_type}" if domain not in ("", "ai.onnx") else op_type
        supported = [*sorted(OPS), *(f"com.microsoft.{k}" for k in sorted(MS_OPS))]
        raise AxmacError(f"unsupported operator {name} (supported: {', '.join(supported)})")
    if op_type in ("Squeeze", "Unsqueeze") and "axes" in attrs:
        attrs["axes_attr"] = attrs.pop("axes")
    params = inspect.signature(fn).parameters
    kw_only = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY and not n.startswith("_")}
    unknown = sorted(set(attrs) - kw_only)
    if unknown:
        raise AxmacError(f"{op_type}: unsupported attribute {unknown[0]!r}")
    while inputs and inputs[-1] is None:
        inputs = inputs[:-1]
    if fn in (softmax, log_softmax) and 0 < opset < 13:
        x = inputs[0]
        axis = int(attrs.get("axis", 1)) % max(x.ndim, 1)
        flat = x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)
        return fn(flat, axis=1).reshape(x.shape)
    if fn is average_pool_nchw and 0 < opset < 19:
        attrs["_column_sums"] = True
    return fn(*inputs, **attrs)
