"""Float Conv / Gemm / MatMul: the MAC layers a quantized model leaves in float.

They do not run on the array. Products and sums are formed in float64 and the result rounded once
to float32 (the correctly rounded sum, to within float64's error), so they differ from
onnxruntime's float32 kernels (blocked float32 sums) by a few float32 ulps at most.
Convolutions are N-D (1-D as well as 2-D) with explicit pads or ``auto_pad``.
"""

from __future__ import annotations

import itertools

import numpy as np

from ...errors import AxmacError


def _conv_pads(in_shape, kernel, strides, dilations, pads, auto_pad):
    nd = len(kernel)
    if auto_pad in ("NOTSET", "", None):
        p = list(pads or [0] * 2 * nd)
        return p[:nd], p[nd:]
    if auto_pad == "VALID":
        return [0] * nd, [0] * nd
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise AxmacError(f"Conv: unknown auto_pad {auto_pad!r}")
    begin, end = [], []
    for size, k, s, d in zip(in_shape, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small = total // 2
        begin.append(small if auto_pad == "SAME_UPPER" else total - small)
        end.append(total - begin[-1])
    return begin, end


def conv(x, w, b=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    """ONNX Conv (N-D, grouped), float64 sums rounded to the input's float type."""
    nd = w.ndim - 2
    strides = list(strides or [1] * nd)
    dilations = list(dilations or [1] * nd)
    pb, pe = _conv_pads(x.shape[2:], w.shape[2:], strides, dilations, pads, auto_pad)
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + list(zip(pb, pe, strict=True)))
    out = [(xp.shape[2 + i] - dilations[i] * (w.shape[2 + i] - 1) - 1) // strides[i] + 1 for i in range(nd)]
    n, c = x.shape[:2]
    m, cg = w.shape[:2]
    g = int(group)
    if c != cg * g or m % g:
        raise AxmacError(f"Conv: {c} input channels, weight {w.shape} and group {g} do not match")
    wd = w.astype(np.float64)
    y = np.zeros((n, g, m // g, *out))
    xg = xp.reshape(n, g, cg, *xp.shape[2:])
    wg = wd.reshape(g, m // g, cg, *w.shape[2:])
    for offs in itertools.product(*(range(k) for k in w.shape[2:])):
        sl = tuple(slice(o * d, o * d + (L - 1) * s + 1, s) for o, d, L, s in zip(offs, dilations, out, strides,
                                                                                  strict=True))
        y += np.einsum("ngc...,gmc->ngm...", xg[(slice(None),) * 3 + sl], wg[(slice(None),) * 3 + offs])
    y = y.reshape(n, m, *out)
    if b is not None:
        y += np.asarray(b, np.float64).reshape((1, -1) + (1,) * nd)
    return y.astype(x.dtype)


def gemm(a, b, c=None, *, alpha=1.0, beta=1.0, transA=0, transB=0):  # noqa: N803 - ONNX attribute names
    """ONNX Gemm ``alpha * A' B' + beta * C`` (C broadcast), float64 rounded to the input's float type."""
    a64 = a.astype(np.float64).T if transA else a.astype(np.float64)
    b64 = b.astype(np.float64).T if transB else b.astype(np.float64)
    y = float(np.float32(alpha)) * (a64 @ b64)
    if c is not None:
        y = y + float(np.float32(beta)) * np.asarray(c, np.float64)
    return y.astype(a.dtype)


def matmul(a, b):
    """ONNX MatMul (NumPy matmul broadcasting), float64 rounded to the inputs' type; integers exact."""
    if np.issubdtype(a.dtype, np.integer):
        return np.matmul(a.astype(np.int64), b.astype(np.int64)).astype(np.result_type(a.dtype, b.dtype))
    return np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.result_type(a.dtype, b.dtype))
