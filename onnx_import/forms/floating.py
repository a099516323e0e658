"""The float form: ``Conv`` / ``Gemm`` / ``MatMul`` with a constant float weight (a following
``BatchNormalization`` folded into a Conv), waiting as a :class:`FloatLayer` for the loader to
quantize it (:mod:`axmac.onnx_import.quantize`) or to keep it in float. A Conv/Gemm/MatMul fed by
DequantizeLinear nodes of an integer activation and integer constant weights is handed to the QDQ
form instead; one whose weight is a run-time tensor stays a float node.

Gemm's ``transB`` and ``alpha`` are folded into the weight, ``beta`` into the bias, ``transA``
becomes a Transpose node before the layer; the weight is stored ``(K, N)``. A bias that is not
one value per output column (a per-row or full matrix ``C``) is added after the layer
(``post_bias``). A 1-D convolution is a 2-D one of unit height between an Unsqueeze and a Squeeze.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import AxmacError
from ...ir import Node
from ..bn import fold_bn
from ..protos import node_attrs
from .qdq import dq_producer, qdq_op


@dataclass
class FloatLayer:
    """A float Conv/Gemm/MatMul waiting for quantization (weights already BN-folded, (K, N) for gemm)."""

    name: str
    kind: str
    x: str  # tensor fed to the MAC (after a transA Transpose / 1-D Unsqueeze when there is one)
    x_calib: str  # tensor whose range calibrates x (exists in the original model)
    y: str
    weight: np.ndarray  # float64
    bias: np.ndarray | None
    source: str
    conv: dict = field(default_factory=dict)
    #: a Gemm bias that is not per output column, added (float) after the layer
    post_bias: np.ndarray | None = None
    #: nodes that must follow the layer once quantized (a 1-D convolution's Squeeze)
    post: list = field(default_factory=list)
    #: the original node(s), as the engine runs them when the layer stays in float (Conv, BN)
    float_nodes: list = field(default_factory=list)
    #: why the layer cannot be quantized (a MatMul weight that is not one matrix), else None
    error: str | None = None


def float_op(cx, node, i):
    """A :class:`FloatLayer`, the QDQ MacLayer when the operands are dequantized integers, or a
    float :class:`~axmac.ir.Node` when the weight is not a constant."""
    op = node.op_type
    kind = "conv" if op == "Conv" else "gemm"
    a = node_attrs(node)
    x = node.input[0]
    w_name = node.input[1] if len(node.input) > 1 else ""
    b_name = node.input[2] if len(node.input) > 2 else ""
    x_dq, w_dq = dq_producer(cx, x), dq_producer(cx, w_name)
    if x_dq is not None and x_dq.input[0] not in cx.consts and w_dq is not None and w_dq.input[0] in cx.consts:
        return qdq_op(cx, node, i, kind, a, x_dq, w_dq, b_name)
    if w_name not in cx.consts or (b_name and b_name not in cx.consts):
        return cx.plain_node(node, i)  # run-time weight: stays a float layer
    w = np.asarray(cx.const(node, 1, "weight"), np.float64)
    bias = None if not b_name else np.asarray(cx.const(node, 2, "bias"), np.float64)
    name = cx.uname(node, i)
    original = [Node(name, op, list(node.input), list(node.output), a)]
    y = node.output[0]
    post_bias = None
    if kind == "gemm":
        if w.ndim != 2:  # a batch of weight matrices: it can stay in float, not be one layer of the array
            return FloatLayer(name=name, kind=kind, x=x, x_calib=x, y=y, weight=w, bias=bias, source=op,
                              float_nodes=original, error=f"{op} node {node.name!r}: only 2-D constant weights can be "
                              f"quantized, got shape {w.shape}")
        w, bias, x_mac, post_bias = gemm_form(cx, node, i, a, w, bias, x)
        conv, src = {}, op
    else:
        x_mac, y_mac, conv = cx.conv_io(node, i, x, y, w.shape)
        if w.ndim == 3:
            w = w[:, :, None, :]
        src = "Conv"
        bn = cx.sole_consumer(y)
        if bn is not None and bn.op_type == "BatchNormalization":
            bn_index = list(cx.g.node).index(bn)
            original.append(cx.plain_node(bn, bn_index))
            w, bias = fold_bn(cx, bn, w, bias)
            if y_mac == y:
                y_mac = bn.output[0]
            else:  # 1-D: the Squeeze after the layer now writes the BN's output
                cx.after[-1].outputs = [bn.output[0]]
            y = bn.output[0]
            cx.skip.add(bn_index)
            src = "Conv+BatchNormalization"
        y = y_mac
    layer = FloatLayer(name=name, kind=kind, x=x_mac, x_calib=x, y=y, weight=w, bias=bias, source=src, conv=conv,
                       post_bias=post_bias, post=list(cx.after), float_nodes=original)
    cx.after = []
    return layer


def gemm_form(cx, node, i, a, w, bias, x):
    """(K, N) weight times alpha, per-N bias (or a bias added after the layer), MAC input (transA ->
    Transpose node)."""
    op = node.op_type
    if op == "Gemm":
        alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
        if a.get("transB", 0):
            w = w.T
        if a.get("transA", 0):
            x = cx.transposed_input(node, i, x)
        w = w * alpha
        if bias is not None:
            bias = beta * bias
    if w.ndim != 2:
        raise AxmacError(f"{op} node {node.name!r}: only 2-D constant weights are supported, got shape {w.shape}")
    n = w.shape[1]
    post_bias = None
    if bias is not None:
        b = np.asarray(bias)
        if b.size == 1 or (b.ndim >= 1 and b.shape[-1] == n and b.size == n):
            bias = cx.bias_vector(node, b, n)
        else:
            bias, post_bias = None, b.astype(np.float32)
    return w, bias, x, post_bias
