"""ONNX Resize, ``mode="nearest"``: one input index per output index along each axis, coordinates
computed in float32 as onnxruntime does."""

from __future__ import annotations

import math

import numpy as np

from ...errors import AxmacError
from .dtypes import F32


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


