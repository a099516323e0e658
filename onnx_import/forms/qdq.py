"""The QDQ form: ``DequantizeLinear(x_int)``, ``DequantizeLinear(w_int const)`` [,
``DequantizeLinear(bias_int32 const)``] -> ``Conv`` / ``Gemm`` / ``MatMul`` [-> ``QuantizeLinear``].

The layer's input is the integer tensor before the DQ; its output stage is ``requant`` when the
op's only consumer is a ``QuantizeLinear`` (scale ``x_scale * w_scale / y_scale`` in float32,
times ``alpha`` for a Gemm), else ``dequant`` (float output, scale ``x_scale * w_scale``). A float
bias is expressed in accumulator units ``x_scale * w_scale`` (exact when it was quantized at that
scale, as quantizers do).
"""

from __future__ import annotations

import numpy as np

from ...errors import AxmacError
from ...ir import MacLayer, OutputStage
from ..protos import node_attrs
from .integer import requant_scale


def dq_producer(cx, tensor):
    """The DequantizeLinear node producing ``tensor`` (or None)."""
    p = cx.producer.get(tensor)
    return p if p is not None and p.op_type == "DequantizeLinear" and p.domain in ("", "ai.onnx") else None


def dq_params(cx, dq):
    """``(scale, zero_point, axis, dtype of the quantized input)`` of a DequantizeLinear node."""
    a = node_attrs(dq)
    if a.get("block_size", 0):
        raise AxmacError(f"DequantizeLinear node {dq.name!r}: blocked quantization is not supported")
    scale = cx.const(dq, 1, "scale")
    src = dq.input[0]
    dt = cx.dtype_of(src)
    zp = cx.zp(dq, 2, "zero_point", dt) if len(dq.input) > 2 else np.zeros((), dt)
    return scale, zp, int(a.get("axis", 1)), dt


def _bias(cx, node, b_name, n_out, x_scale, w_scale, alpha, beta):
    """The bias in accumulator units ``x_scale * w_scale`` (int64), from a DQ'd int32 or a float constant."""
    b_dq = dq_producer(cx, b_name)
    if b_dq is not None and b_dq.input[0] in cx.consts:
        bq = cx.consts[b_dq.input[0]]
        if not np.issubdtype(bq.dtype, np.integer):
            raise AxmacError(f"{node.op_type} node {node.name!r}: quantized bias must be integer")
        b_scale, b_zp, _, _ = dq_params(cx, b_dq)
        bias = (bq.astype(np.int64) - np.asarray(b_zp, np.int64)).astype(np.float64) * np.asarray(b_scale, np.float64)
    else:
        bias = np.asarray(cx.const(node, 2, "bias"), np.float64)
    bias = cx.bias_vector(node, bias, n_out).astype(np.float64)
    acc_unit = np.float64(np.float32(x_scale.reshape(()))) * w_scale.astype(np.float64)
    return np.round(bias * beta / alpha / acc_unit).astype(np.int64).reshape(n_out)


def qdq_op(cx, node, i, kind, a, x_dq, w_dq, b_name) -> MacLayer:
    """The MacLayer of a QDQ Conv / Gemm / MatMul (see module doc)."""
    op = node.op_type
    x_scale, x_zp_arr, _, x_dtype = dq_params(cx, x_dq)
    if x_scale.size != 1:
        raise AxmacError(f"DequantizeLinear node {x_dq.name!r}: per-channel activation scales are not supported")
    x_zp = cx.x_zp(x_dq, x_zp_arr)
    w_scale, w_zp, w_axis, _ = dq_params(cx, w_dq)
    w = cx.int_weight(node, cx.consts[w_dq.input[0]], "conv" if kind == "conv" else "gemm_any")
    x = x_dq.input[0]
    transposed = False
    alpha = beta = 1.0
    if kind == "gemm":
        if w.ndim != 2:
            raise AxmacError(f"{op} node {node.name!r}: only 2-D constant weights are supported, got {w.shape}")
        if op == "Gemm":
            alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
            if a.get("transA", 0):
                x = cx.transposed_input(node, i, x)
            if a.get("transB", 0):
                w, transposed = w.T, True
        out_axis = 1 if not transposed else 0  # axis of the original weight that holds N
        n_out = w.shape[1]
    else:
        out_axis, n_out = 0, w.shape[0]
    if w_scale.size > 1 and (w_axis % len(cx.consts[w_dq.input[0]].shape)) != out_axis:
        raise AxmacError(f"DequantizeLinear node {w_dq.name!r}: per-channel weight scales must be along the "
                         "output channels")
    w_scale = cx.per_channel(w_dq, w_scale, n_out, "weight scale").astype(np.float32)
    w_zp = cx.weight_zp(w_dq, w_zp, n_out)
    bias = _bias(cx, node, b_name, n_out, x_scale, w_scale, alpha, beta) if b_name else None
    y = node.output[0]
    q = cx.sole_consumer(y)
    requant = q is not None and q.op_type == "QuantizeLinear" and q.domain in ("", "ai.onnx")
    y_final = q.output[0] if requant else y
    x, y_final, conv = cx.conv_io(node, i, x, y_final, cx.consts[w_dq.input[0]].shape) if kind == "conv" \
        else (x, y_final, {})
    xs32 = np.float32(np.asarray(x_scale, np.float32).reshape(()))
    if requant:
        qa = node_attrs(q)
        y_scale = cx.const(q, 1, "y_scale")
        if y_scale.size != 1:
            raise AxmacError(f"QuantizeLinear node {q.name!r}: only a scalar output scale is supported")
        if qa.get("block_size", 0) or not qa.get("saturate", 1):
            raise AxmacError(f"QuantizeLinear node {q.name!r}: block_size / saturate=0 not supported")
        y_zp = cx.zp(q, 2, "y_zero_point", np.uint8)
        scale = requant_scale(x_scale, w_scale, y_scale)
        if alpha != 1.0:
            scale = (scale * np.float32(alpha)).astype(np.float32)
        out = OutputStage("requant", scale=scale, zero_point=int(y_zp.reshape(())), dtype=np.dtype(y_zp.dtype))
        cx.skip.add(list(cx.g.node).index(q))
        src = f"DQ+{op}+Q"
    else:
        scale = (xs32 * w_scale).astype(np.float32)
        if alpha != 1.0:
            scale = (scale * np.float32(alpha)).astype(np.float32)
        out = OutputStage("dequant", scale=scale, dtype=np.dtype(np.float32))
        src = f"DQ+{op}"
    return MacLayer(name=cx.uname(node, i), kind=kind, x=x, y=y_final, weight=w, output=out,
                    operand=cx.fmt(x_dtype, x_zp, w, w_zp, kind), x_zero_point=x_zp, w_zero_point=w_zp,
                    bias=bias, x_scale=float(xs32), w_scale=w_scale, source=src, **conv)
