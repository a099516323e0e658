"""The non-MAC ONNX operators of the golden engine: one small vectorised NumPy kernel per op,
grouped by family (:mod:`.elementwise`, :mod:`.activations`, :mod:`.reduce`, :mod:`.shape`,
:mod:`.slicing`, :mod:`.resize`, :mod:`.pooling`, :mod:`.normalization`, :mod:`.quantization`,
:mod:`.float_mac`, :mod:`.microsoft`).

Semantics follow the ONNX operator specification (opset 13 and later; Clip's old ``min``/``max``
attributes and pre-13 Softmax are accepted too). Where ONNX computes in floating point the
kernels compute in ``float32`` like onnxruntime; integer tensors keep their dtype (MaxPool, Relu,
Concat, Reshape... on int8 / uint8 data are exact). Each kernel is checked against
``onnx.reference`` (and onnxruntime where the two disagree, e.g. pooling with ``ceil_mode``) in
``tests/test_ops.py``. Sigmoid, Tanh, AveragePool and GlobalAveragePool go further and reproduce
onnxruntime's float32 results bit for bit (its rational logistic, its summation orders): in a
QDQ graph a one-ulp difference before a QuantizeLinear can flip a requantized value.

onnxruntime's contrib ops of QOperator models (domain ``com.microsoft``: QLinearAdd, QLinearMul,
QLinearSigmoid, QLinearLeakyRelu, QLinearGlobalAveragePool, QLinearConcat, QLinearSoftmax,
QLinearAveragePool; :data:`MS_OPS`) are reproduced bit for bit from onnxruntime's float32
algorithms (tests against onnxruntime itself); so are BatchNormalization and
DynamicQuantizeLinear. Float Conv / Gemm / MatMul (:mod:`.float_mac`: the MAC layers a
quantized model leaves in float) are correctly rounded float32, a few ulps from onnxruntime's.

Kernels take the node's inputs positionally (``None`` for an omitted optional input) and its
attributes as keyword arguments, and return one array, or a tuple for the multi-output ops
(:func:`n_outputs`). :func:`run_op` is the dispatcher the engine uses; an unsupported op or
attribute raises :class:`~axmac.errors.AxmacError`.

Quantization (ONNX ``QuantizeLinear`` / ``DequantizeLinear``)::

    q = saturate(round_half_even(x / scale) + zero_point)          (x / scale in float32)
    x = float32(q - zero_point) * scale
"""

from __future__ import annotations

import inspect

import numpy as np

from ...errors import AxmacError
from . import elementwise as ew
from . import shape as sh
from .activations import hard_sigmoid, hard_swish, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .dtypes import saturate_cast
from .float_mac import conv, gemm, matmul
from .microsoft import MS_OPS
from .normalization import batch_normalization
from .pooling import average_pool_nchw, global_average_pool, global_max_pool, max_pool_nchw
from .quantization import dequantize_linear, dynamic_quantize_linear, quantize_linear
from .reduce import reduce_max, reduce_mean, reduce_min, reduce_sum
from .resize import resize
from .slicing import gather, pad, slice_, split

__all__ = ["FLOAT_MAC_OPS", "MS_OPS", "OPS", "dequantize_linear", "n_outputs", "quantize_linear", "run_op",
           "saturate_cast"]

#: ONNX op type (default domain) -> kernel
OPS = {
    "Identity": ew.identity, "Relu": relu, "LeakyRelu": leaky_relu, "Clip": ew.clip, "Sigmoid": sigmoid,
    "HardSigmoid": hard_sigmoid, "HardSwish": hard_swish, "Add": ew.add, "Mul": ew.mul, "Softmax": softmax,
    "Concat": sh.concat, "Flatten": sh.flatten, "Reshape": sh.reshape, "Transpose": sh.transpose, "Pad": pad,
    "MaxPool": max_pool_nchw, "AveragePool": average_pool_nchw, "GlobalAveragePool": global_average_pool,
    "Resize": resize, "QuantizeLinear": quantize_linear, "DequantizeLinear": dequantize_linear,
    "Tanh": tanh, "Sub": ew.sub, "Div": ew.div, "LogSoftmax": log_softmax, "GlobalMaxPool": global_max_pool,
    "Squeeze": sh.squeeze, "Unsqueeze": sh.unsqueeze, "Dropout": ew.dropout, "Cast": ew.cast,
    "Neg": ew.neg, "Abs": ew.abs_, "Exp": ew.exp, "Log": ew.log, "Sqrt": ew.sqrt, "Pow": ew.pow_, "Erf": ew.erf,
    "Reciprocal": ew.reciprocal, "Floor": ew.floor, "Ceil": ew.ceil, "Min": ew.minimum, "Max": ew.maximum,
    "Sum": ew.sum_, "Mean": ew.mean, "Where": ew.where, "Equal": ew.equal, "Less": ew.less, "Greater": ew.greater,
    "Not": ew.not_, "ReduceMean": reduce_mean, "ReduceMax": reduce_max, "ReduceMin": reduce_min,
    "ReduceSum": reduce_sum, "Shape": sh.shape, "Size": sh.size, "Gather": gather, "Slice": slice_, "Split": split,
    "ConstantOfShape": sh.constant_of_shape, "Expand": sh.expand, "Range": sh.range_,
    "BatchNormalization": batch_normalization, "DynamicQuantizeLinear": dynamic_quantize_linear,
    "Conv": conv, "Gemm": gemm, "MatMul": matmul,
}
#: the float MAC ops (a quantized model's float layers): executed here, never on the array
FLOAT_MAC_OPS = frozenset({"Conv", "Gemm", "MatMul"})
#: attributes that became inputs in later opsets: renamed so the kernel tells them apart
_ATTR_RENAMES = {"Squeeze": {"axes": "axes_attr"}, "Unsqueeze": {"axes": "axes_attr"}, "Split": {"split": "split_attr"},
                 **{op: {"axes": "axes_attr"} for op in ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum")}}


def n_outputs(op_type: str, domain: str = "", declared: int = 1) -> int:
    """How many of a node's ``declared`` outputs the kernel computes (the others stay unset:
    Dropout's mask, MaxPool's indices)."""
    if domain in ("", "ai.onnx") and op_type == "Split":
        return declared
    if domain in ("", "ai.onnx") and op_type == "DynamicQuantizeLinear":
        return 3
    return 1


def kernel(op_type: str, domain: str = ""):
    """The kernel of ``op_type`` (None when the golden engine has none)."""
    if domain == "com.microsoft":
        return MS_OPS.get(op_type)
    if domain in ("", "ai.onnx"):
        return OPS.get(op_type)
    return None


def supported_ops() -> list[str]:
    return [*sorted(OPS), *(f"com.microsoft.{k}" for k in sorted(MS_OPS))]


def run_op(op_type: str, inputs: list, attrs: dict | None = None, domain: str = "", opset: int = 0,
           n_out: int = 1):
    """Run ONNX op ``op_type`` on ``inputs`` (arrays, ``None`` for omitted optional inputs).

    ``domain`` ``""`` (ONNX) or ``"com.microsoft"`` (:data:`MS_OPS`). ``opset`` (the model's
    default-domain opset, 0 = recent) selects the pre-13 semantics of Softmax / LogSoftmax (input
    coerced to 2-D at ``axis``, default 1) and Squeeze / Unsqueeze / Split / Reduce* (attributes
    that later became inputs), and onnxruntime's pre-19 AveragePool summation order. ``n_out``:
    the node's declared outputs (Split into equal parts). Returns one array, or a tuple of
    :func:`n_outputs` arrays. Raises :class:`~axmac.errors.AxmacError` for an op or attribute the
    golden engine does not implement (one line naming it).
    """
    attrs = dict(attrs or {})
    fn = kernel(op_type, domain)
    if fn is None:
        name = f"{domain}.{op_type}" if domain not in ("", "ai.onnx") else op_type
        raise AxmacError(f"unsupported operator {name} (supported: {', '.join(supported_ops())})")
    for old, new in _ATTR_RENAMES.get(op_type, {}).items() if domain in ("", "ai.onnx") else ():
        if old in attrs:
            attrs[new] = attrs.pop(old)
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
    if fn is split:
        attrs["_n_outputs"] = n_out
    return fn(*inputs, **attrs)
