"""Shape operators (Concat, Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Pad) and Resize
(nearest): data is moved, never changed, so integer tensors stay exact."""

from __future__ import annotations

import math

import numpy as np

from ...errors import AxmacError
from .dtypes import F32


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


