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




# -- unary math and comparisons -------------------------------------------------------------------

def neg(x):
    return np.negative(x)


def abs_(x):
    return np.abs(x)


def _float_unary(fn, x):
    """``fn`` on a float tensor, the result in the input's dtype (float32 stays float32)."""
    if not np.issubdtype(x.dtype, np.floating):
        raise AxmacError(f"{fn.__name__}: input must be a float tensor, not {x.dtype}")
    with np.errstate(all="ignore"):  # log(0) = -inf, sqrt(-1) = nan, as ONNX says
        return fn(x).astype(x.dtype, copy=False)


def exp(x):
    return _float_unary(np.exp, x)


def log(x):
    return _float_unary(np.log, x)


def sqrt(x):
    return _float_unary(np.sqrt, x)


def reciprocal(x):
    return _float_unary(np.reciprocal, x)


def erf(x):
    """The error function, evaluated in float64 (``math.erf``) and rounded to the input's dtype."""
    import math

    v = np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64)).astype(np.float64)
    return np.asarray(v, dtype=x.dtype).reshape(x.shape)


def floor(x):
    return np.floor(x)


def ceil(x):
    return np.ceil(x)


def pow_(x, y):
    """ONNX Pow: the result has the base's dtype (an integer exponent of a float base, or the reverse)."""
    with np.errstate(all="ignore"):
        return np.power(x.astype(np.float64) if np.issubdtype(x.dtype, np.floating) else x, y).astype(x.dtype)


def _variadic(fn):
    def kernel(*xs):
        out = xs[0]
        for v in xs[1:]:
            out = fn(out, v)
        return np.asarray(out)
    kernel.__name__ = fn.__name__
    return kernel


#: element-wise n-ary Min / Max / Sum (ONNX broadcasting, in input order)
minimum, maximum, sum_ = _variadic(np.minimum), _variadic(np.maximum), _variadic(np.add)


def mean(*xs):
    return (sum_(*xs) / np.asarray(len(xs), xs[0].dtype)).astype(xs[0].dtype, copy=False)


def where(cond, a, b):
    return np.where(cond.astype(bool), a, b)


def equal(a, b):
    return np.equal(a, b)


def less(a, b):
    return np.less(a, b)


def greater(a, b):
    return np.greater(a, b)


def not_(x):
    return np.logical_not(x)
