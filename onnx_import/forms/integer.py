"""Integer model forms: ``ConvInteger`` / ``MatMulInteger`` (``int32`` output stage),
``QLinearConv`` / ``QLinearMatMul`` and onnxruntime's ``com.microsoft.QGemm`` (``requant``, or
``dequant`` for a float QGemm).

Requantization scale of ``QLinearConv`` / ``QLinearMatMul``: ``float32`` arithmetic
``x_scale * w_scale / y_scale`` per output channel, evaluated left to right as onnxruntime's
``QLinearConv`` kernel does (``output_scales[i] = X_scale * W_scale[i] / Y_scale``) and as
``onnx.reference`` does on float32 arrays; the golden engine then rounds half to even and
saturates (:class:`~axmac.ir.OutputStage`).

Each converter reads the node's parameters through a pure function of a getter
(:mod:`..runtime`), so the same code serves constant parameters and run-time ones (weights given
as graph inputs, zero points computed by DynamicQuantizeLinear).
"""

from __future__ import annotations

import numpy as np

from ...errors import AxmacError
from ...ir import OutputStage
from ..protos import node_attrs
from ..runtime import build_layer


def _zp(get, idx, what, dtype):
    v = get(idx, what, False)
    return np.zeros((), np.dtype(dtype)) if v is None else np.asarray(v)


def _scalar(node, v, what):
    v = np.asarray(v)
    if v.size != 1:
        raise AxmacError(f"{node.op_type} node {node.name!r}: only a scalar {what} is supported")
    return v


def _fmt(cx, x_dtype, kind):
    return lambda p: cx.fmt(x_dtype, p["x_zero_point"], p["weight"], p["w_zero_point"], kind)


def _operands(cx, node, w_index, conv_op):
    """``(kind, x, weight tensor, x dtype, weight shape)`` of an integer MAC node."""
    x, w_name = node.input[0], node.input[w_index]
    return "conv" if node.op_type == conv_op else "gemm", x, w_name, cx.dtype_of(x), cx.shape_of(node, w_name)


def integer_op(cx, node, i):
    """``ConvInteger`` / ``MatMulInteger``: the int32 accumulator is the output."""
    kind, x, w_name, x_dtype, w_shape = _operands(cx, node, 1, "ConvInteger")

    def params(get):
        w = cx.int_weight(node, get(1, "weight"), kind)
        n_out = w.shape[0] if kind == "conv" else w.shape[1]
        return dict(weight=w, x_zero_point=cx.x_zp(node, _zp(get, 2, "x_zero_point", x_dtype)),
                    w_zero_point=cx.weight_zp(node, _zp(get, 3, "w_zero_point", w.dtype), n_out), bias=None,
                    output=OutputStage("int32"))

    x, y, conv = cx.conv_io(node, i, x, node.output[0], w_shape) if kind == "conv" else (x, node.output[0], {})
    skeleton = dict(name=cx.uname(node, i), kind=kind, x=x, y=y, source=node.op_type, **conv)
    return build_layer(cx, node, skeleton, params, {1: "weight", 2: "x_zero_point", 3: "w_zero_point"}, x_dtype,
                       cx.dtype_of(w_name), _fmt(cx, x_dtype, kind))


def requant_scale(x_scale, w_scale, y_scale) -> np.ndarray:
    """float32 ``x_scale * w_scale / y_scale`` (onnxruntime's order of operations)."""
    xs = np.float32(np.asarray(x_scale, np.float32).reshape(()))
    ys = np.float32(np.asarray(y_scale, np.float32).reshape(()))
    ws = np.asarray(w_scale, np.float32)
    return ((xs * ws) / ys).astype(np.float32)


def qlinear_op(cx, node, i):
    """``QLinearConv`` / ``QLinearMatMul``: requantized output."""
    kind, x, w_name, x_dtype, w_shape = _operands(cx, node, 3, "QLinearConv")

    def params(get):
        x_scale = _scalar(node, get(1, "x_scale"), "input scale")
        w = cx.int_weight(node, get(3, "weight"), kind)
        n_out = w.shape[0] if kind == "conv" else w.shape[1]
        w_scale = cx.per_channel(node, get(4, "w_scale"), n_out, "w_scale")
        y_scale = _scalar(node, get(6, "y_scale"), "output scale")
        y_zp = _zp(get, 7, "y_zero_point", x_dtype)
        bias = None
        b = get(8, "bias", False) if kind == "conv" else None
        if b is not None:
            bias = np.asarray(b).astype(np.int64).reshape(-1)
            if bias.size != n_out:
                raise AxmacError(f"{node.op_type} node {node.name!r}: bias has {bias.size} values for {n_out} outputs")
        out = OutputStage("requant", scale=requant_scale(x_scale, w_scale, y_scale),
                          zero_point=int(y_zp.reshape(())), dtype=np.dtype(y_zp.dtype))
        return dict(weight=w, x_zero_point=cx.x_zp(node, _zp(get, 2, "x_zero_point", x_dtype)),
                    w_zero_point=cx.weight_zp(node, _zp(get, 5, "w_zero_point", w.dtype), n_out), bias=bias,
                    output=out, x_scale=float(np.float32(x_scale.reshape(()))),
                    w_scale=np.asarray(w_scale, np.float32))

    x, y, conv = cx.conv_io(node, i, x, node.output[0], w_shape) if kind == "conv" else (x, node.output[0], {})
    skeleton = dict(name=cx.uname(node, i), kind=kind, x=x, y=y, source=node.op_type, **conv)
    roles = {1: "x_scale", 2: "x_zero_point", 3: "weight", 4: "w_scale", 5: "w_zero_point", 6: "y_scale",
             7: "y_zero_point", 8: "bias"}
    return build_layer(cx, node, skeleton, params, roles, x_dtype, cx.dtype_of(w_name), _fmt(cx, x_dtype, kind))


def qgemm_op(cx, node, i):
    """com.microsoft.QGemm (onnxruntime's QOperator Gemm): QLinear operands, int32 bias ``C``.

    Output scale as onnxruntime computes it: ``float32(alpha * a_scale * b_scale[n])``, then
    ``/ y_scale`` when there is one; requantized when ``y_zero_point`` is given, else float.
    """
    a = node_attrs(node)
    x, w_name = node.input[0], node.input[3]
    x_dtype = cx.dtype_of(x)

    def params(get):
        x_scale = _scalar(node, get(1, "a_scale"), "input scale")
        w = cx.int_weight(node, get(3, "weight"), "gemm")
        if a.get("transB", 0):
            w = w.T
        n_out = w.shape[1]
        w_scale = cx.per_channel(node, get(4, "b_scale"), n_out, "b_scale").astype(np.float32)
        c = get(6, "C", False)
        bias = None if c is None else cx.bias_vector(node, np.asarray(c).astype(np.int64), n_out).astype(np.int64)
        scale = (np.float32(a.get("alpha", 1.0)) * np.float32(x_scale.reshape(()))) * w_scale
        y_scale = get(7, "y_scale", False)
        if y_scale is not None:
            scale = scale / np.float32(np.asarray(y_scale).reshape(()))
        scale = scale.astype(np.float32)
        y_zp = get(8, "y_zero_point", False)
        if y_zp is not None:
            y_zp = np.asarray(y_zp)
            out = OutputStage("requant", scale=scale, zero_point=int(y_zp.reshape(())), dtype=np.dtype(y_zp.dtype))
        else:
            out = OutputStage("dequant", scale=scale, dtype=np.dtype(np.float32))
        return dict(weight=w, x_zero_point=cx.x_zp(node, _zp(get, 2, "a_zero_point", x_dtype)),
                    w_zero_point=cx.weight_zp(node, _zp(get, 5, "b_zero_point", w.dtype), n_out), bias=bias,
                    output=out, x_scale=float(np.float32(x_scale.reshape(()))), w_scale=w_scale)

    if a.get("transA", 0):
        x = cx.transposed_input(node, i, x)
    skeleton = dict(name=cx.uname(node, i), kind="gemm", x=x, y=node.output[0], source="com.microsoft.QGemm")
    roles = {1: "x_scale", 2: "x_zero_point", 3: "weight", 4: "w_scale", 5: "w_zero_point", 6: "bias", 7: "y_scale",
             8: "y_zero_point"}
    return build_layer(cx, node, skeleton, params, roles, x_dtype, cx.dtype_of(w_name), _fmt(cx, x_dtype, "gemm"))
