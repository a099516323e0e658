"""ONNX QuantizeLinear / DequantizeLinear, per tensor or per axis::

    q = saturate(round_half_even(x / scale) + zero_point)          (x / scale in float32)
    x = float32(q - zero_point) * scale
"""

from __future__ import annotations

import numpy as np

from ...errors import AxmacError
from .dtypes import F32, onnx_dtype, saturate_cast


def _per_axis(v, ndim, axis):
    v = np.asarray(v)
    if v.ndim == 0 or v.size == 1:
        return v.reshape(())
    shape = [1] * ndim
    shape[axis % ndim] = v.size
    return v.reshape(shape)


def quantize_linear(x, y_scale, y_zero_point=None, *, axis=1, saturate=1, block_size=0, output_dtype=0,
                    precision=0):
    """``saturate(round_half_even(x / y_scale) + y_zero_point)``, per tensor or per ``axis``."""
    if block_size:
        raise AxmacError("QuantizeLinear: blocked quantization is not supported")
    if y_zero_point is None:
        dtype = np.dtype(np.uint8) if not output_dtype else onnx_dtype(output_dtype)
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


def dynamic_quantize_linear(x):
    """ONNX DynamicQuantizeLinear, float32 as onnxruntime computes it: ``(y, y_scale, y_zero_point)``.

    ``lo = min(0, min(x))``, ``hi = max(0, max(x))``, ``scale = (hi - lo) / 255`` (1 when
    ``hi == lo``), ``zp = round_half_even(clip(0 - lo / scale, 0, 255))``, then
    ``y = saturate(round_half_even(x / scale) + zp)`` to uint8 — over the whole tensor, so the
    result depends on everything in it (the whole batch).
    """
    x = np.asarray(x, F32)
    lo = min(F32(x.min()), F32(0)) if x.size else F32(0)
    hi = max(F32(x.max()), F32(0)) if x.size else F32(0)
    scale = F32(1) if hi == lo else F32((hi - lo) / F32(255))
    zp = np.rint(np.clip(F32(F32(0) - F32(lo / scale)), F32(0), F32(255))).astype(np.uint8)
    y = np.clip(np.rint(x / scale) + F32(zp), F32(0), F32(255)).astype(np.uint8)
    return y, np.array(scale, F32), np.array(zp, np.uint8)
