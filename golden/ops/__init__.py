"""The non-MAC ONNX operators of the golden engine: one small vectorised NumPy kernel per op,
grouped by family (:mod:`.elementwise`, :mod:`.activations`, :mod:`.shape`, :mod:`.pooling`,
:mod:`.quantization`, :mod:`.microsoft`).

Semantics follow the ONNX operator specification (opset 13 and later; Clip's old ``min``/``max``
attributes and pre-13 Softmax are accepted too). Where ONNX computes in floating point the
kernels compute in ``float32`` like onnxruntime; integer tensors keep their dtype (MaxPool, Relu,
Concat, Reshape... on int8 / uint8 data are exact). Each kernel is checked against
``onnx.reference`` (and onnxruntime where the two disagree, e.g. pooling with ``ceil_mode``) in
``tests/test_ops.py``. Sigmoid, Tanh, AveragePool and GlobalAveragePool go further and reproduce
onnxruntime's float32 results bit for bit (its rational logistic, its summation orders): in a
QDQ graph a one-ulp difference before a QuantizeLinear can flip a requantized value.

onnxruntime's contrib ops of QOperator models (domain ``com.microsoft``: QLinearAdd, QLinearMul,
QLinearSigmoid, QLinearLeakyRelu, QLinearGlobalAveragePool, QLinearConcat; :data:`MS_OPS`) are
reproduced bit for bit from onnxruntime's float32 formulas (tests against onnxruntime itself).
QLinearAveragePool is not: its rounding did not match any formula tried.

Kernels take the node's inputs positionally (``None`` for an omitted optional input) and its
attributes as keyword arguments, and return one array. :func:`run_op` is the dispatcher the
engine uses; an unsupported op or attribute raises :class:`~axmac.errors.AxmacError`.

Quantization (ONNX ``QuantizeLinear`` / ``DequantizeLinear``)::

    q = saturate(round_half_even(x / scale) + zero_point)          (x / scale in float32)
    x = float32(q - zero_point) * scale
"""

from __future__ import annotations

import inspect

import numpy as np

from ...errors import AxmacError
from .activations import hard_sigmoid, hard_swish, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .dtypes import saturate_cast
from .elementwise import add, cast, clip, div, dropout, identity, mul, sub
from .microsoft import MS_OPS
from .pooling import average_pool_nchw, global_average_pool, global_max_pool, max_pool_nchw
from .quantization import dequantize_linear, quantize_linear
from .shape import concat, flatten, pad, reshape, resize, squeeze, transpose, unsqueeze

__all__ = ["MS_OPS", "OPS", "dequantize_linear", "quantize_linear", "run_op", "saturate_cast"]

#: ONNX op type (default domain) -> kernel
OPS = {
    "Identity": identity, "Relu": relu, "LeakyRelu": leaky_relu, "Clip": clip, "Sigmoid": sigmoid,
    "HardSigmoid": hard_sigmoid, "HardSwish": hard_swish, "Add": add, "Mul": mul, "Softmax": softmax,
    "Concat": concat, "Flatten": flatten, "Reshape": reshape, "Transpose": transpose, "Pad": pad,
    "MaxPool": max_pool_nchw, "AveragePool": average_pool_nchw, "GlobalAveragePool": global_average_pool,
    "Resize": resize, "QuantizeLinear": quantize_linear, "DequantizeLinear": dequantize_linear,
    "Tanh": tanh, "Sub": sub, "Div": div, "LogSoftmax": log_softmax, "GlobalMaxPool": global_max_pool,
    "Squeeze": squeeze, "Unsqueeze": unsqueeze, "Dropout": dropout, "Cast": cast,
}


def run_op(op_type: str, inputs: list, attrs: dict | None = None, domain: str = "", opset: int = 0) -> np.ndarray:
    """Run ONNX op ``op_type`` on ``inputs`` (arrays, ``None`` for omitted optional inputs).

    ``domain`` ``""`` (ONNX) or ``"com.microsoft"`` (:data:`MS_OPS`). ``opset`` (the model's
    default-domain opset, 0 = recent) selects the pre-13 semantics of Softmax / LogSoftmax (input
    coerced to 2-D at ``axis``, default 1) and Squeeze / Unsqueeze (``axes`` attribute), and
    onnxruntime's pre-19 AveragePool summation order. Raises :class:`~axmac.errors.AxmacError`
    for an op or attribute the golden engine does not implement (one line naming it).
    """
    attrs = dict(attrs or {})
    if domain == "com.microsoft" and op_type in MS_OPS:
        fn = MS_OPS[op_type]
    elif domain in ("", "ai.onnx") and op_type in OPS:
        fn = OPS[op_type]
    else:
        name = f"{domain}.{op_type}" if domain not in ("", "ai.onnx") else op_type
        supported = [*sorted(OPS), *(f"com.microsoft.{k}" for k in sorted(MS_OPS))]
        raise AxmacError(f"unsupported operator {name} (supported: {', '.join(supported)})")
    if op_type in ("Squeeze", "Unsqueeze") and "axes" in attrs:
        attrs["axes_attr"] = attrs.pop("axes")
    params = inspect.signature(fn).parameters
    kw_only = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY and not n.startswith("_")}
    unknown = sorted(set(attrs) - kw_only)
    if unknown:
        raise AxmacError(f"{op_type}: unsupported attribute {unknown[0]!r}")
    while inputs and inputs[-1] is None:
        inputs = inputs[:-1]
    if fn in (softmax, log_softmax) and 0 < opset < 13:
        x = inputs[0]
        axis = int(attrs.get("axis", 1)) % max(x.ndim, 1)
        flat = x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)
        return fn(flat, axis=1).reshape(x.shape)
    if fn is average_pool_nchw and 0 < opset < 19:
        attrs["_column_sums"] = True
    return fn(*inputs, **attrs)
