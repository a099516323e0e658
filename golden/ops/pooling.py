"""Pooling: MaxPool, AveragePool (onnxruntime's float32 summation orders), global pools.

Window geometry follows ONNX / onnxruntime, including ``ceil_mode`` (a last window that would
start in the end padding is dropped) and the ``auto_pad`` modes.
"""

from __future__ import annotations

import itertools

import numpy as np

from ...errors import AxmacError
from .dtypes import F32


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


def pool_output_shape(shape, *, kernel_shape, strides=None, pads=None, dilations=None, ceil_mode=0,
                      auto_pad="NOTSET") -> tuple[int, ...]:
    """Output shape of a pooling over the trailing ``len(kernel_shape)`` axes of ``shape``."""
    nd = len(kernel_shape)
    out, *_ = _pool_geometry(tuple(shape)[-nd:], kernel_shape, strides, pads, dilations, ceil_mode, auto_pad)
    return (*tuple(shape)[:-nd], *out)


def _window_reduce(xp, out, strides, dilations, kernel_shape, ufunc, dtype=None):
    """Reduce the pooling windows of the trailing spatial axes of a padded array with ``ufunc``.

    One strided slice per kernel offset (``prod(kernel_shape)`` whole-array operations), so the
    cost is that of ``prod(kernel_shape)`` element-wise passes, whatever the window layout.
    """
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


