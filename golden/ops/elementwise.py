"""Element-wise arithmetic: ONNX broadcasting, integer results in C++ semantics, floats in float32."""

from __future__ import annotations

import numpy as np

from ...errors import AxmacError
from .dtypes import onnx_dtype


def identity(x):
    return x


def clip(x, lo=None, hi=None, *, min=None, max=None):  # noqa: A002 - ONNX attribute names (opset < 11)
    lo = min if lo is None else lo
    hi = max if hi is None else hi
    y = x
    if lo is not None:
        y = np.maximum(y, np.asarray(lo, dtype=x.dtype))
    if hi is not None:
        y = np.minimum(y, np.asarray(hi, dtype=x.dtype))
    return np.asarray(y, dtype=x.dtype)


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


def dropout(x, ratio=None, training_mode=None, *, seed=None):
    """Inference: the identity (a ``training_mode`` input that is true is refused)."""
    if training_mode is not None and bool(np.asarray(training_mode)):
        raise AxmacError("Dropout: training_mode is not supported")
    return x


def cast(x, *, to, saturate=1, round_mode="up"):
    return x.astype(onnx_dtype(to))


