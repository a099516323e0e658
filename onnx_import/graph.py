"""Reading and normalising an ONNX graph: load, check, infer shapes, fold constants.

:func:`read_model` is the first step of every import: it loads a model (file or ``ModelProto``),
checks it, fixes the input shapes (:mod:`.inputs`), folds constants and runs ONNX shape
inference (strict, with data propagation), plus the output types of the com.microsoft ops
onnxruntime's quantizer writes (:mod:`.ms_shapes`: onnx has no schema for them).

Constant folding replaces ``Constant`` nodes and every node whose inputs are all constant
(evaluated with ``onnx.reference``) by initializers, except ``DequantizeLinear`` (integer weights
must stay visible to the converter) and the random generators. ``Shape`` of an activation is not
folded: shape computations (Shape, Gather, Concat, ... Reshape) run in the golden engine on each
batch, so a model stays correct for any batch size (shape inference still propagates their values,
so every static shape is known at import).

Shapes the model declares for its outputs and intermediate tensors are hints: exporters write
some that strict inference rejects (``[-1, 2]`` where it infers ``[1, 2]``). They are set aside
before inference; where they disagree with the inferred ones, inference wins and one
:class:`ShapeWarning` says so.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import AxmacError
from .inputs import fix_input_shapes, parse_input_shapes
from .ms_shapes import annotate_ms_ops
from .protos import tensor_arrays


class ShapeWarning(UserWarning):
    """A shape the model declares disagrees with shape inference (the inferred one is used)."""


#: never folded even when all inputs are constant (a DQ of integer weights must stay visible).
NO_FOLD = frozenset({"DequantizeLinear", "RandomNormal", "RandomUniform", "RandomNormalLike",
                     "RandomUniformLike", "Multinomial", "Bernoulli"})


def read_model(model, input_shapes=None):
    """Load ``model`` (path or ``ModelProto``), fix input shapes, fold constants, infer shapes.

    Returns ``(folded_model, original_model)``: the second one (inputs fixed but for a defaulted
    batch dimension, which stays symbolic; nothing folded) is what calibration runs with onnxruntime.
    """
    import onnx

    if isinstance(model, str | os.PathLike):
        path = os.fspath(model)
        if not os.path.isfile(path):
            raise AxmacError(f"no such ONNX file: {path}")
        try:
            proto = onnx.load(path)
        except Exception as e:  # noqa: BLE001 - protobuf raises various DecodeErrors
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise AxmacError(f"cannot read ONNX model {path}: {type(e).__name__} {first}".rstrip()) from e
    elif isinstance(model, onnx.ModelProto):
        proto = onnx.ModelProto()
        proto.CopyFrom(model)
    else:
        raise AxmacError(f"expected an ONNX file path or ModelProto, not {type(model).__name__}")
    if not proto.HasField("graph") or len(proto.graph.node) == 0:
        raise AxmacError("ONNX model has no graph (empty, truncated or not an ONNX file)")
    try:
        onnx.checker.check_model(proto)
    except Exception as e:  # noqa: BLE001
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "Field 'shape' of 'type' is required" not in first:  # shapeless outputs: inference fills them
            raise AxmacError(f"invalid ONNX model: {first}") from e
    defaulted = fix_input_shapes(proto, parse_input_shapes(input_shapes))
    declared = relax_declared_shapes(proto)
    original = onnx.ModelProto()
    original.CopyFrom(proto)
    for inp in original.graph.input:  # calibration may run whole batches through a symbolic batch dim
        if inp.name in defaulted:
            d = inp.type.tensor_type.shape.dim[0]
            d.Clear()
            d.dim_param = "batch"
    folded = fold_constants(proto)
    check_declared_shapes(folded, declared)
    return folded, original


def relax_declared_shapes(proto) -> dict[str, list[int | None]]:
    """Remove the shapes declared for graph outputs and value infos (element types stay); return them
    as ``{tensor: dims}`` (a symbolic dim as None)."""
    declared = {}
    for vi in list(proto.graph.output) + list(proto.graph.value_info):
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            declared[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            tt.ClearField("shape")
    return declared


def check_declared_shapes(proto, declared: dict) -> None:
    """One :class:`ShapeWarning` for the declared shapes inference contradicts; a graph output
    inference leaves shapeless keeps its declared shape when that one is fully static."""
    import warnings

    inferred = static_shapes(proto)
    def disagree(dims, inf):
        return len(dims) != len(inf) or any(d is not None and d != i for d, i in zip(dims, inf, strict=True))

    bad = [(name, dims, inferred[name]) for name, dims in declared.items()
           if name in inferred and disagree(dims, inferred[name])]
    if bad:
        name, dims, inf = bad[0]
        shown = "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        warnings.warn(f"the model declares {name!r} as {shown}, shape inference gives {list(inf)}{more}: "
                      "using the inferred shapes", ShapeWarning, stacklevel=3)
    for o in proto.graph.output:
        dims = declared.get(o.name)
        if o.name not in inferred and dims and all(d is not None and d > 0 for d in dims):
            for d in dims:
                o.type.tensor_type.shape.dim.add().dim_value = d


def infer(proto):
    """ONNX shape inference, plus the output types of the com.microsoft ops onnxruntime's QOperator
    quantizer writes (QGemm, QLinearAdd, ...: onnx has no schema for them)."""
    import onnx

    for _ in range(1 + sum(n.domain == "com.microsoft" for n in proto.graph.node)):
        try:
            proto = onnx.shape_inference.infer_shapes(proto, strict_mode=True, data_prop=True)
        except Exception as e:  # noqa: BLE001
            raise AxmacError(f"ONNX shape inference failed: {str(e).strip().splitlines()[0]}") from e
        if not annotate_ms_ops(proto, static_shapes(proto), elem_types(proto)):
            break
    return proto


def static_shapes(proto) -> dict[str, tuple[int, ...]]:
    """``{tensor: shape}`` of every value info, graph input/output and initializer with a static shape."""
    out = {}
    g = proto.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
        if all(d >= 0 for d in dims):
            out[vi.name] = tuple(dims)
    for t in g.initializer:
        out[t.name] = tuple(t.dims)
    return out


def elem_types(proto) -> dict[str, int]:
    """``{tensor: ONNX element type}`` of every value info, graph input/output and initializer."""
    g = proto.graph
    out = {vi.name: vi.type.tensor_type.elem_type for vi in list(g.input) + list(g.value_info) + list(g.output)}
    out.update({t.name: t.data_type for t in g.initializer})
    return out


def eval_node(node, consts, opsets):
    """Evaluate one node on constant inputs with onnx's reference evaluator."""
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    inits = [numpy_helper.from_array(np.asarray(consts[n]), n) for n in dict.fromkeys(i for i in node.input if i)]
    outs = [helper.make_empty_tensor_value_info(o) for o in node.output if o]
    g = helper.make_graph([node], "fold", [], outs, initializer=inits)
    m = helper.make_model(g, opset_imports=opsets, ir_version=10)
    res = ReferenceEvaluator(m).run(None, {})
    return [np.asarray(r) for r in res]


def fold_constants(proto):
    """Fold ``Constant`` and all-constant nodes into initializers (see module doc)."""
    from onnx import helper, numpy_helper

    opsets = list(proto.opset_import)
    for _ in range(8):
        proto = infer(proto)
        consts = tensor_arrays(proto.graph.initializer)
        keep, changed = [], False
        for node in proto.graph.node:
            outs = [o for o in node.output if o]
            val = None
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                try:
                    val = [eval_node(node, consts, opsets)[0]]
                except Exception as e:  # noqa: BLE001
                    raise AxmacError(f"cannot evaluate Constant node {node.name!r}: {e}") from e
            elif (node.op_type not in NO_FOLD and node.domain in ("", "ai.onnx") and
                  all((not i) or i in consts for i in node.input) and any(node.input)):
                try:
                    val = eval_node(node, consts, opsets)
                except Exception:  # noqa: BLE001 - leave it to the converter to complain
                    val = None
            if val is None or len(val) != len(outs):
                keep.append(node)
                continue
            changed = True
            for o, v in zip(outs, val, strict=True):
                consts[o] = v
        if not changed:
            return proto
        used = {i for n in keep for i in n.input} | {o.name for o in proto.graph.output}
        g = proto.graph
        new_inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items() if k in used]
        graph = helper.make_graph(keep, g.name, [i for i in g.input if i.name not in consts],
                                  list(g.output), initializer=new_inits)
        new = helper.make_model(graph, opset_imports=opsets, ir_version=proto.ir_version)
        new.producer_name = proto.producer_name
        proto = new
    return infer(proto)
