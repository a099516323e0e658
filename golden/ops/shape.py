"""Shape operators: Concat, Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Shape, Size,
ConstantOfShape, Expand, Range. Data is moved, never changed, so integer tensors stay exact."""

from __future__ import annotations

import numpy as np

from ...errors import AxmacError


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


def shape(x, *, start=0, end=None):
    """ONNX Shape (int64), ``start`` / ``end`` clamped as the spec says."""
    return np.array(x.shape[start:end], np.int64)


def size(x):
    return np.array(x.size, np.int64)


def constant_of_shape(shape_, *, value=None):
    v = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    return np.full(tuple(int(d) for d in np.asarray(shape_).ravel()), v[0], dtype=v.dtype)


def expand(x, shape_):
    """ONNX Expand: broadcast ``x`` and ``shape`` against each other (a dim of 1 in ``shape`` keeps x's)."""
    target = np.broadcast_shapes(x.shape, tuple(int(d) for d in np.asarray(shape_).ravel()))
    return np.broadcast_to(x, target).copy()


def range_(start, limit, delta):
    start, limit, delta = (np.asarray(v) for v in (start, limit, delta))
    n = max(int(np.ceil((limit.astype(np.float64) - start) / delta)), 0)
    return (start + np.arange(n, dtype=start.dtype) * delta).astype(start.dtype)
