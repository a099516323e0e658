"""Reductions: ReduceMean, ReduceMax, ReduceMin, ReduceSum over ``axes`` (an attribute before
opset 18, an input from 18 on; omitted = all axes, or none with ``noop_with_empty_axes``)."""

from __future__ import annotations

import numpy as np


def _axes(x, axes, axes_attr, noop_with_empty_axes):
    axes = axes_attr if axes is None else axes
    if axes is None or np.asarray(axes).size == 0:
        return () if noop_with_empty_axes else tuple(range(x.ndim))
    return tuple(int(a) % x.ndim for a in np.asarray(axes).ravel())


def _reduce(fn):
    def kernel(x, axes=None, *, axes_attr=None, keepdims=1, noop_with_empty_axes=0):
        ax = _axes(x, axes, axes_attr, noop_with_empty_axes)
        if not ax:
            return x
        return np.asarray(fn(x, axis=ax, keepdims=bool(keepdims))).astype(x.dtype, copy=False)
    kernel.__name__ = fn.__name__
    return kernel


def _mean(x, axis, keepdims):
    """Sum in the input's float dtype, then one division by the count (as onnxruntime's ReduceMean)."""
    n = int(np.prod([x.shape[a] for a in axis], dtype=np.int64))
    return np.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype) / np.asarray(n, x.dtype)


reduce_mean = _reduce(_mean)
reduce_max = _reduce(np.max)
reduce_min = _reduce(np.min)
reduce_sum = _reduce(np.sum)
