"""The float form: ``Conv`` / ``Gemm`` / ``MatMul`` with a constant float weight (a following
``BatchNormalization`` folded into a Conv), waiting as a :class:`FloatLayer` for quantization by
:mod:`axmac.onnx_import.quantize`. A Conv/Gemm/MatMul fed by DequantizeLinear nodes of an integer
activation and integer constant weights is handed to the QDQ form instead.

Gemm's ``transB`` and ``alpha`` are folded into the weight, ``beta`` into the bias, ``transA``
becomes a Transpose node before the layer; the weight is stored ``(K, N)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import AxmacError
from ..bn import fold_bn
from ..protos import node_attrs
from .qdq import dq_producer, qdq_op


@dataclass
class FloatLayer:
    """A float Conv/Gemm/MatMul waiting for quantization (weights already BN-folded, (K, N) for gemm)."""

    name: str
    kind: str
    x: str  # tensor fed to the MAC (after a transA Transpose when there is one)
    x_calib: str  # tensor whose range calibrates x (exists in the original model)
    y: str
    weight: np.ndarray  # float64
    bias: np.ndarray | None
    source: str
    conv: dict = field(default_factory=dict)


def float_op(cx, node, i):
    """A :class:`FloatLayer`, or the QDQ MacLayer when the operands are dequantized integers."""
    op = node.op_type
    kind = "conv" if op == "Conv" else "gemm"
    a = node_attrs(node)
    x = node.input[0]
    w_name = node.input[1] if len(node.input) > 1 else ""
    b_name = node.input[2] if len(node.input) > 2 else ""
    if op == "MatMul" and x in cx.consts and w_name not in cx.consts:
        raise AxmacError(f"MatMul node {node.name!r}: the weight (second input {w_name!r}) is not a constant")
    x_dq, w_dq = dq_producer(cx, x), dq_producer(cx, w_name)
    if x_dq is not None and x_dq.input[0] not in cx.consts and w_dq is not None and w_dq.input[0] in cx.consts:
        return qdq_op(cx, node, i, kind, a, x_dq, w_dq, b_name)
    w = np.asarray(cx.const(node, 1, "weight"), np.float64)
    bias = None if not b_name else np.asarray(cx.const(node, 2, "bias"), np.float64)
    name = cx.uname(node, i)
    y = node.output[0]
    x_mac = x
    if kind == "gemm":
        w, bias, x_mac, alpha_scale = gemm_form(cx, node, i, a, w, bias, x)
        if alpha_scale != 1.0:
            w = w * alpha_scale
        conv = {}
        src = op
    else:
        conv = cx.conv_attrs(node, w.shape, x)
        src = "Conv"
        bn = cx.sole_consumer(y)
        if bn is not None and bn.op_type == "BatchNormalization":
            w, bias = fold_bn(cx, bn, w, bias)
            y = bn.output[0]
            cx.skip.add(list(cx.g.node).index(bn))
            src = "Conv+BatchNormalization"
    return FloatLayer(name=name, kind=kind, x=x_mac, x_calib=x, y=y, weight=w, bias=bias, source=src, conv=conv)


def gemm_form(cx, node, i, a, w, bias, x):
    """(K, N) weight, per-N bias, MAC input (transA -> Transpose node), alpha (for Gemm)."""
    op = node.op_type
    alpha = 1.0
    if op == "Gemm":
        alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
        if a.get("transB", 0):
            w = w.T
        if a.get("transA", 0):
            x = cx.transposed_input(node, i, x)
        if bias is not None:
            bias = beta * bias
    if w.ndim != 2:
        raise AxmacError(f"{op} node {node.name!r}: only 2-D constant weights are supported, got shape {w.shape}")
    n = w.shape[1]
    if bias is not None:
        bias = cx.bias_vector(node, bias, n)
    return w, bias, x, alpha
