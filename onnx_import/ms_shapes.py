"""Output shapes and types of onnxruntime's com.microsoft ops (onnx has no schema for them).

onnxruntime's QOperator quantizer writes QGemm, QLinearAdd, QLinearMul, ... between the standard
QLinear ops; ONNX shape inference leaves their outputs untyped, which stops inference of
everything downstream. :func:`annotate_ms_ops` adds a value info for each such output whose
inputs' shapes are known, and inference is run again.
"""

from __future__ import annotations

import numpy as np

from .protos import node_attrs


def ms_output(n, attrs, shapes, types):
    """``(shape, elem_type)`` of a com.microsoft op's output from its inputs' (None if unknown)."""
    inp = list(n.input)
    op = n.op_type
    if op == "QGemm":
        a, b = shapes.get(inp[0]), shapes.get(inp[3]) if len(inp) > 3 else None
        if a is None or b is None or len(a) != 2 or len(b) != 2:
            return None
        m = a[1] if attrs.get("transA", 0) else a[0]
        nn = b[0] if attrs.get("transB", 0) else b[1]
        etype = types.get(inp[8], 0) if len(inp) > 8 and inp[8] else 1  # float output without y_zero_point
        return [m, nn], etype
    if op in ("QLinearAdd", "QLinearMul"):
        a, b = shapes.get(inp[0]), shapes.get(inp[3]) if len(inp) > 3 else None
        if a is None or b is None:
            return None
        return list(np.broadcast_shapes(a, b)), types.get(inp[0], 0)
    if op == "QLinearAveragePool":
        from ..golden.ops.pooling import pool_output_shape

        a = shapes.get(inp[0])
        if a is None or len(a) < 3:
            return None
        keys = ("kernel_shape", "strides", "pads", "ceil_mode", "auto_pad")
        geo = {k: v for k, v in attrs.items() if k in keys}
        if attrs.get("channels_last", 0):
            out = pool_output_shape((a[0], a[-1], *a[1:-1]), **geo)
            return [out[0], *out[2:], out[1]], types.get(inp[0], 0)
        return list(pool_output_shape(a, **geo)), types.get(inp[0], 0)
    if op in ("QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftmax"):
        a = shapes.get(inp[0])
        return None if a is None else (list(a), types.get(inp[0], 0))
    if op == "QLinearGlobalAveragePool":
        a = shapes.get(inp[0])
        if a is None or len(a) < 3:
            return None
        if attrs.get("channels_last", 0):
            return [a[0], *([1] * (len(a) - 2)), a[-1]], types.get(inp[0], 0)
        return [a[0], a[1], *([1] * (len(a) - 2))], types.get(inp[0], 0)
    if op == "QLinearConcat":
        xs = [shapes.get(x) for x in inp[2::3]]
        if not xs or any(x is None for x in xs):
            return None
        axis = attrs.get("axis", 0) % len(xs[0])
        out = list(xs[0])
        out[axis] = sum(x[axis] for x in xs)
        return out, types.get(inp[1], 0)
    return None


def annotate_ms_ops(proto, shapes: dict, types: dict) -> bool:
    """Add value_info for com.microsoft outputs whose input shapes are known; True when something was added.

    ``shapes`` / ``types``: the static shapes and element types known so far (updated in place).
    """
    from onnx import helper

    g = proto.graph
    known = {vi.name for vi in list(g.value_info) + list(g.output) if vi.type.tensor_type.elem_type}
    added = False
    for n in g.node:
        if n.domain != "com.microsoft" or not n.output or n.output[0] in known:
            continue
        res = ms_output(n, node_attrs(n), shapes, types)
        if res is None or not res[1]:
            continue
        g.value_info.append(helper.make_tensor_value_info(n.output[0], res[1], res[0]))
        shapes[n.output[0]], types[n.output[0]] = tuple(res[0]), res[1]
        added = True
    return added
