"""Integer MatMuls with a batch of weight matrices (``B`` of shape ``(..., K, N)``): one MAC layer
per matrix.

``A`` (``(..., M, K)``, the same leading dims as ``B``, or a single ``(M, K)`` matrix shared by
all) and ``B`` are reshaped to ``(T, M, K)`` / ``(T, K, N)``; slice ``t`` of each is gathered
(a constant slice of a constant ``B``) and multiplied by a MAC layer converted from a copy of the
node on the slices; the ``T`` results are stacked and reshaped to ``(..., M, N)``. Other
broadcasts of the leading dims are refused.
"""

from __future__ import annotations

import numpy as np

from ...errors import AxmacError
from ...ir import Node


def is_batched(cx, node) -> bool:
    """Whether ``node`` (MatMulInteger / QLinearMatMul) multiplies by a batch of weight matrices."""
    b = node.input[3] if node.op_type == "QLinearMatMul" else node.input[1]
    return len(cx.shape_of(node, b)) > 2


def batched_matmul(cx, node, i, convert) -> list:
    """The items of a batched integer MatMul; ``convert(cx, node, i)`` converts one 2-D slice."""
    import onnx

    ia, ib = 0, (3 if node.op_type == "QLinearMatMul" else 1)
    a, b, y = node.input[ia], node.input[ib], node.output[0]
    a_shape, b_shape = cx.shape_of(node, a), cx.shape_of(node, b)
    lead = tuple(b_shape[:-2])
    if len(a_shape) < 2 or (len(a_shape) > 2 and tuple(a_shape[:-2]) != lead):
        raise AxmacError(f"{node.op_type} node {node.name!r}: leading dims of A {tuple(a_shape)} and B "
                         f"{tuple(b_shape)} do not match (only equal ones, or a 2-D A, are supported)")
    t_count = int(np.prod(lead, dtype=np.int64))
    (m, k), n = a_shape[-2:], b_shape[-1]
    base = node.name or f"{node.op_type}_{i}"
    items = []

    def const(name, value):
        cx.consts[name] = np.asarray(value)
        cx.shapes[name] = tuple(np.shape(value))
        return name

    def flat(src, shape, dtype):
        out = f"{src}::flat_for_{base}"
        items.append(Node(f"{base}::flatten_{len(items)}", "Reshape", [src, const(f"{out}::shape", shape)], [out]))
        cx.shapes[out], cx.etypes[out] = tuple(shape), cx.etypes.get(src, 0) or dtype
        return out

    a_flat = flat(a, (t_count, m, k), cx.etypes.get(a)) if len(a_shape) > 2 else None
    b_flat = None if b in cx.consts else flat(b, (t_count, k, n), cx.etypes.get(b))
    parts = []
    for t in range(t_count):
        ins = list(node.input)
        if a_flat is not None:
            ins[ia] = f"{a}::slice{t}_for_{base}"
            items.append(Node(f"{base}::a{t}", "Gather", [a_flat, const(f"{base}::index{t}", np.int64(t))], [ins[ia]]))
            cx.shapes[ins[ia]], cx.etypes[ins[ia]] = (m, k), cx.etypes.get(a, 0)
        ins[ib] = f"{b}::slice{t}_for_{base}"
        if b_flat is None:
            const(ins[ib], np.asarray(cx.consts[b]).reshape(t_count, k, n)[t])
        else:
            items.append(Node(f"{base}::b{t}", "Gather", [b_flat, const(f"{base}::index{t}", np.int64(t))], [ins[ib]]))
            cx.shapes[ins[ib]], cx.etypes[ins[ib]] = (k, n), cx.etypes.get(b, 0)
        part = f"{y}::slice{t}"
        sub = onnx.helper.make_node(node.op_type, ins, [part], name=f"{base}[{t}]", domain=node.domain)
        sub.attribute.extend(node.attribute)
        cx.shapes[part], cx.etypes[part] = (m, n), cx.etypes.get(y, 0)
        cx.producer[part] = sub
        items.append(convert(cx, sub, i))
        stacked = f"{part}::stacked"
        items.append(Node(f"{base}::stack{t}", "Unsqueeze", [part, const(f"{base}::axis0", np.array([0]))],
                          [stacked]))
        parts.append(stacked)
    joined = f"{y}::joined"
    items.append(Node(f"{base}::concat", "Concat", parts, [joined], {"axis": 0}))
    items.append(Node(f"{base}::unflatten", "Reshape", [joined, const(f"{y}::shape", (*lead, m, n))], [y]))
    return items
