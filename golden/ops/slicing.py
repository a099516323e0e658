"""Operators that select or extend parts of a tensor: Gather, Slice, Split, Pad."""

from __future__ import annotations

import numpy as np

from ...errors import AxmacError


def gather(x, indices, *, axis=0):
    """ONNX Gather: negative indices count from the end of ``axis``."""
    axis = axis % x.ndim
    idx = np.asarray(indices).astype(np.int64)
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    return np.take(x, idx, axis=axis)


def slice_(x, starts, ends, axes=None, steps=None):
    """ONNX Slice (opset 10+): per-axis ``starts`` / ``ends`` / ``steps``, clamped like Python slices."""
    starts, ends = (np.asarray(v).astype(np.int64).ravel() for v in (starts, ends))
    axes = range(len(starts)) if axes is None else [int(a) % x.ndim for a in np.asarray(axes).ravel()]
    steps = [1] * len(starts) if steps is None else [int(s) for s in np.asarray(steps).ravel()]
    sl = [slice(None)] * x.ndim
    for a, s, e, st in zip(axes, starts, ends, steps, strict=True):
        if st == 0:
            raise AxmacError("Slice: a step of 0")
        sl[a] = slice(int(s), int(e), st)  # Python slices clamp as ONNX does (INT64_MIN / MAX sentinels too)
    return x[tuple(sl)]


def split(x, split_=None, *, axis=0, num_outputs=None, _n_outputs=1, split_attr=None):
    """ONNX Split into ``split`` sizes, or into equal parts (the last one smaller when uneven)."""
    axis = axis % x.ndim
    sizes = split_attr if split_ is None else split_
    if sizes is None or np.asarray(sizes).size == 0:
        n = int(num_outputs or _n_outputs)
        chunk = -(-x.shape[axis] // n)
        sizes = [min(chunk, x.shape[axis] - i * chunk) for i in range(n)]
    bounds = np.cumsum([int(s) for s in np.asarray(sizes).ravel()])[:-1]
    return tuple(np.split(x, bounds, axis=axis))


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



