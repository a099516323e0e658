"""Integer model forms: ``ConvInteger`` / ``MatMulInteger`` (``int32`` output stage),
``QLinearConv`` / ``QLinearMatMul`` and onnxruntime's ``com.microsoft.QGemm`` (``requant``, or
``dequant`` for a float QGemm).

Requantization scale of ``QLinearConv`` / ``QLinearMatMul``: ``float32`` arithmetic
``x_scale * w_scale / y_scale`` per output channel, evaluated left to right as onnxruntime's
``QLinearConv`` kernel does (``output_scales[i] = X_scale * W_scale[i] / Y_scale``) and as
``onnx.reference`` does on float32 arrays; the golden engine then rounds half to even and
saturates (:class:`~axmac.ir.OutputStage`).
"""

from __future__ import annotations

import numpy as np

from ...errors import AxmacError
from ...ir import MacLayer, OutputStage
from ..protos import node_attrs


def integer_op(cx, node, i) -> MacLayer:
    """``ConvInteger`` / ``MatMulInteger``: the int32 accumulator is the output."""
    kind = "conv" if node.op_type == "ConvInteger" else "gemm"
    x = node.input[0]
    x_dtype = cx.dtype_of(x)
    w = cx.int_weight(node, cx.const(node, 1, "weight"), kind)
    x_zp = cx.x_zp(node, cx.zp(node, 2, "x_zero_point", x_dtype))
    n_out = w.shape[0] if kind == "conv" else w.shape[1]
    w_zp = cx.weight_zp(node, cx.zp(node, 3, "w_zero_point", w.dtype), n_out)
    conv = cx.conv_attrs(node, w.shape, x) if kind == "conv" else {}
    return MacLayer(name=cx.uname(node, i), kind=kind, x=x, y=node.output[0], weight=w,
                    operand=cx.fmt(x_dtype, x_zp, w, w_zp, kind), output=OutputStage("int32"),
                    x_zero_point=x_zp, w_zero_point=w_zp, bias=None, source=node.op_type, **conv)


def requant_scale(x_scale, w_scale, y_scale) -> np.ndarray:
    """float32 ``x_scale * w_scale / y_scale`` (onnxruntime's order of operations)."""
    xs = np.float32(np.asarray(x_scale, np.float32).reshape(()))
    ys = np.float32(np.asarray(y_scale, np.float32).reshape(()))
    ws = np.asarray(w_scale, np.float32)
    return ((xs * ws) / ys).astype(np.float32)


def qlinear_op(cx, node, i) -> MacLayer:
    """``QLinearConv`` / ``QLinearMatMul``: requantized output."""
    kind = "conv" if node.op_type == "QLinearConv" else "gemm"
    x = node.input[0]
    x_dtype = cx.dtype_of(x)
    x_scale = cx.const(node, 1, "x_scale")
    if x_scale.size != 1:
        raise AxmacError(f"{node.op_type} node {node.name!r}: only a scalar input scale is supported")
    x_zp = cx.x_zp(node, cx.zp(node, 2, "x_zero_point", x_dtype))
    w = cx.int_weight(node, cx.const(node, 3, "weight"), kind)
    n_out = w.shape[0] if kind == "conv" else w.shape[1]
    w_scale = cx.per_channel(node, cx.const(node, 4, "w_scale"), n_out, "w_scale")
    w_zp = cx.weight_zp(node, cx.zp(node, 5, "w_zero_point", w.dtype), n_out)
    y_scale = cx.const(node, 6, "y_scale")
    if y_scale.size != 1:
        raise AxmacError(f"{node.op_type} node {node.name!r}: only a scalar output scale is supported")
    y_zp = cx.zp(node, 7, "y_zero_point", x_dtype)
    bias = None
    if kind == "conv" and len(node.input) > 8 and node.input[8]:
        bias = cx.const(node, 8, "bias").astype(np.int64).reshape(-1)
        if bias.size != n_out:
            raise AxmacError(f"{node.op_type} node {node.name!r}: bias has {bias.size} values for {n_out} outputs")
    conv = cx.conv_attrs(node, w.shape, x) if kind == "conv" else {}
    out = OutputStage("requant", scale=requant_scale(x_scale, w_scale, y_scale),
                      zero_point=int(y_zp.reshape(())), dtype=np.dtype(y_zp.dtype))
    return MacLayer(name=cx.uname(node, i), kind=kind, x=x, y=node.output[0], weight=w,
                    operand=cx.fmt(x_dtype, x_zp, w, w_zp, kind), output=out, x_zero_point=x_zp,
                    w_zero_point=w_zp, bias=bias, x_scale=float(np.float32(x_scale.reshape(()))),
                    w_scale=np.asarray(w_scale, np.float32), source=node.op_type, **conv)


def qgemm_op(cx, node, i) -> MacLayer:
    """com.microsoft.QGemm (onnxruntime's QOperator Gemm): QLinear operands, int32 bias ``C``.

    Output scale as onnxruntime computes it: ``float32(alpha * a_scale * b_scale[n])``, then
    ``/ y_scale`` when there is one; requantized when ``y_zero_point`` is given, else float.
    """
    a = node_attrs(node)
    x = node.input[0]
    x_dtype = cx.dtype_of(x)
    x_scale = cx.const(node, 1, "a_scale")
    if x_scale.size != 1:
        raise AxmacError(f"QGemm node {node.name!r}: only a scalar input scale is supported")
    x_zp = cx.x_zp(node, cx.zp(node, 2, "a_zero_point", x_dtype))
    w = cx.int_weight(node, cx.const(node, 3, "weight"), "gemm")
    if a.get("transB", 0):
        w = w.T
    if a.get("transA", 0):
        x = cx.transposed_input(node, i, x)
    n_out = w.shape[1]
    w_scale = cx.per_channel(node, cx.const(node, 4, "b_scale"), n_out, "b_scale").astype(np.float32)
    w_zp = cx.weight_zp(node, cx.zp(node, 5, "b_zero_point", w.dtype), n_out)
    bias = None
    if len(node.input) > 6 and node.input[6]:
        bias = cx.bias_vector(node, cx.const(node, 6, "C").astype(np.int64), n_out).astype(np.int64)
    scale = (np.float32(a.get("alpha", 1.0)) * np.float32(x_scale.reshape(()))) * w_scale
    has_y_scale = len(node.input) > 7 and node.input[7]
    if has_y_scale:
        scale = scale / np.float32(cx.const(node, 7, "y_scale").reshape(()))
    scale = scale.astype(np.float32)
    if len(node.input) > 8 and node.input[8]:
        y_zp = cx.const(node, 8, "y_zero_point")
        out = OutputStage("requant", scale=scale, zero_point=int(y_zp.reshape(())), dtype=np.dtype(y_zp.dtype))
    else:
        out = OutputStage("dequant", scale=scale, dtype=np.dtype(np.float32))
    return MacLayer(name=cx.uname(node, i), kind="gemm", x=x, y=node.output[0], weight=w,
                    operand=cx.fmt(x_dtype, x_zp, w, w_zp, "gemm"), output=out, x_zero_point=x_zp,
                    w_zero_point=w_zp, bias=bias, x_scale=float(np.float32(x_scale.reshape(()))),
                    w_scale=w_scale, source="com.microsoft.QGemm")
