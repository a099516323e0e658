"""ONNX -> integer :class:`~axmac.ir.Network`.

:func:`load_model` reads a model (file or ``ModelProto``), fixes dynamic input shapes, folds
constants (``Constant``, ``Shape`` of static tensors, any node whose inputs are all constant,
except ``DequantizeLinear`` so that integer weights stay visible) and runs ONNX shape inference.
Then each node becomes

* a :class:`MacLayer` for the MAC forms

  - integer: ``ConvInteger`` / ``MatMulInteger`` (``int32`` output stage), ``QLinearConv`` /
    ``QLinearMatMul`` (``requant`` output stage);
  - QDQ: ``DequantizeLinear(x_int)``, ``DequantizeLinear(w_int const)`` [,
    ``DequantizeLinear(bias_int32 const)``] -> ``Conv`` / ``Gemm`` / ``MatMul`` [-> ``QuantizeLinear``]:
    input is the integer tensor before the DQ; ``requant`` when the op's only consumer is a
    ``QuantizeLinear``, else ``dequant`` (float output);
  - float ``Conv`` / ``Gemm`` / ``MatMul`` with a constant weight (a following
    ``BatchNormalization`` folded into the Conv): quantized by :mod:`.quantize` from
    calibration data (``QuantizeLinear`` node + ``MacLayer`` with ``dequant`` output);

* a :class:`Node` for the other supported operators (:data:`NODE_OPS`), executed by the golden
  engine with ONNX semantics.

Operand format of a layer: the multiplier sees ``x - x_zero_point`` and ``w - w_zero_point``.
The activation range is the input dtype's range minus its zero point, the weight range the actual
weight codes minus theirs; the format is the narrowest signed or unsigned width holding both
(:func:`operand_format`).

Requantization scale of ``QLinearConv`` / ``QLinearMatMul`` / ``DQ+op+Q``: ``float32`` arithmetic
``x_scale * w_scale / y_scale`` per output channel, evaluated left to right as onnxruntime's
``QLinearConv`` kernel does (``output_scales[i] = X_scale * W_scale[i] / Y_scale``) and as
``onnx.reference`` does on float32 arrays; the golden engine then rounds half to even and
saturates (:class:`OutputStage`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import AxmacError
from ..ir import MacLayer, Network, Node, OperandFormat, OutputStage, TensorInfo

#: non-MAC operators kept as :class:`Node` for the golden engine.
NODE_OPS = frozenset({
    "Relu", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish", "Sigmoid", "Tanh", "Add", "Sub", "Mul", "Div",
    "Concat", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Reshape", "Transpose",
    "Squeeze", "Unsqueeze", "Softmax", "LogSoftmax", "Pad", "Resize", "QuantizeLinear", "DequantizeLinear",
    "Identity", "Dropout", "Cast",
})
#: onnxruntime's com.microsoft QOperator ops executed by the golden engine (:data:`axmac.golden.ops.MS_OPS`).
MS_NODE_OPS = frozenset({"QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu",
                         "QLinearGlobalAveragePool", "QLinearConcat"})
#: operators that become :class:`MacLayer`.
MAC_OPS = frozenset({"Conv", "Gemm", "MatMul", "ConvInteger", "MatMulInteger", "QLinearConv", "QLinearMatMul"})
#: never folded even when all inputs are constant (a DQ of integer weights must stay visible).
_NO_FOLD = frozenset({"DequantizeLinear", "RandomNormal", "RandomUniform", "RandomNormalLike",
                      "RandomUniformLike", "Multinomial", "Bernoulli"})


# -- small helpers ------------------------------------------------------------------------------------
def operand_format(*ranges: tuple[int, int]) -> OperandFormat:
    """Narrowest :class:`OperandFormat` holding every closed integer range ``(lo, hi)``.

    Unsigned when all ``lo >= 0`` (width ``max(2, bit_length(hi))``), else signed (smallest ``b``
    with ``-2**(b-1) <= lo`` and ``hi <= 2**(b-1) - 1``). More than 16 bits is an
    :class:`AxmacError`.
    """
    lo = min(int(r[0]) for r in ranges)
    hi = max(int(r[1]) for r in ranges)
    if lo >= 0:
        bits, signed = max(2, hi.bit_length()), False
    else:
        bits, signed = max(2, (-lo - 1).bit_length() + 1, hi.bit_length() + 1), True
    if bits > 16:
        raise AxmacError(f"centered operand range [{lo}, {hi}] needs {bits} bits (at most 16 are supported)")
    return OperandFormat(bits, signed)


def parse_input_shapes(items) -> dict[str, tuple[int, ...]]:
    """``["x=1x1x28x28", ...]`` (or one comma-separated string) -> ``{"x": (1, 1, 28, 28)}``."""
    if items is None:
        return {}
    if isinstance(items, dict):
        return {k: tuple(int(d) for d in v) for k, v in items.items()}
    if isinstance(items, str):
        items = [items]
    out = {}
    for item in items:
        for part in str(item).split(","):
            if not part.strip():
                continue
            name, sep, dims = part.partition("=")
            try:
                shape = tuple(int(d) for d in dims.lower().split("x"))
            except ValueError:
                shape = ()
            if not sep or not name.strip() or not shape or min(shape) < 1:
                raise AxmacError(f"bad input shape {part!r}: expected NAME=D1xD2x... with positive dims")
            out[name.strip()] = shape
    return out


def _np_dtype(elem_type: int) -> np.dtype:
    import onnx

    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except Exception as e:  # noqa: BLE001 - unknown element type
        raise AxmacError(f"unsupported tensor element type {elem_type}") from e


def _attrs(node) -> dict:
    import onnx
    from onnx import numpy_helper

    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, onnx.TensorProto):
            v = numpy_helper.to_array(v)
        elif isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [x.decode() for x in v]
        elif isinstance(v, onnx.GraphProto) or (isinstance(v, list) and v and not isinstance(v[0], int | float | str)):
            raise AxmacError(f"node {node.name!r} ({node.op_type}): attribute {a.name!r} is not supported")
        out[a.name] = v
    return out


# -- reading and normalising the model ----------------------------------------------------------------
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
    defaulted = _fix_input_shapes(proto, parse_input_shapes(input_shapes))
    original = onnx.ModelProto()
    original.CopyFrom(proto)
    for inp in original.graph.input:  # calibration may run whole batches through a symbolic batch dim
        if inp.name in defaulted:
            d = inp.type.tensor_type.shape.dim[0]
            d.Clear()
            d.dim_param = "batch"
    folded = _fold_constants(proto)
    return folded, original


def _fix_input_shapes(proto, shapes: dict[str, tuple[int, ...]]) -> set[str]:
    """Set the input dims given in ``shapes``, default a symbolic leading dim to 1 (names returned)."""
    defaulted = set()
    inits = {t.name for t in proto.graph.initializer}
    names = [i.name for i in proto.graph.input if i.name not in inits]
    for name in shapes:
        if name not in names:
            raise AxmacError(f"--input-shape names {name!r}, which is not a graph input (inputs: {', '.join(names)})")
    for inp in proto.graph.input:
        if inp.name in inits:
            continue
        tt = inp.type.tensor_type
        dims = tt.shape.dim
        if inp.name in shapes:
            new = shapes[inp.name]
            if len(dims) and len(dims) != len(new):
                raise AxmacError(f"--input-shape {inp.name} has {len(new)} dims, the model's input has {len(dims)}")
            del dims[:]
            for d in new:
                dims.add().dim_value = d
            continue
        if not tt.HasField("shape"):
            raise AxmacError(f"input {inp.name!r} has no shape; give it with --input-shape {inp.name}=D1xD2x...")
        for i, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value > 0:
                continue
            if i == 0:  # a symbolic batch dimension: default to 1
                d.Clear()
                d.dim_value = 1
                defaulted.add(inp.name)
                continue
            shown = "x".join(str(x.dim_value) if x.HasField("dim_value") else (x.dim_param or "?") for x in dims)
            raise AxmacError(f"input {inp.name!r} has a dynamic shape {shown}; fix it with "
                             f"--input-shape {inp.name}=D1xD2x...")
    return defaulted


def _infer(proto):
    """ONNX shape inference, plus the output types of the com.microsoft ops onnxruntime's QOperator
    quantizer writes (QGemm, QLinearAdd, ...: onnx has no schema for them)."""
    import onnx

    for _ in range(1 + sum(n.domain == "com.microsoft" for n in proto.graph.node)):
        try:
            proto = onnx.shape_inference.infer_shapes(proto, strict_mode=True, data_prop=True)
        except Exception as e:  # noqa: BLE001
            raise AxmacError(f"ONNX shape inference failed: {str(e).strip().splitlines()[0]}") from e
        if not _annotate_ms_ops(proto):
            break
    return proto


def _ms_output(n, attrs, shapes, types):
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
    if op in ("QLinearSigmoid", "QLinearLeakyRelu"):
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


def _annotate_ms_ops(proto) -> bool:
    """Add value_info for com.microsoft outputs whose input shapes are known; True when something was added."""
    from onnx import helper

    g = proto.graph
    shapes, types = _static_shapes(proto), _elem_types(proto)
    known = {vi.name for vi in list(g.value_info) + list(g.output) if vi.type.tensor_type.elem_type}
    added = False
    for n in g.node:
        if n.domain != "com.microsoft" or not n.output or n.output[0] in known:
            continue
        res = _ms_output(n, _attrs(n), shapes, types)
        if res is None or not res[1]:
            continue
        g.value_info.append(helper.make_tensor_value_info(n.output[0], res[1], res[0]))
        shapes[n.output[0]], types[n.output[0]] = tuple(res[0]), res[1]
        added = True
    return added


def _static_shapes(proto) -> dict[str, tuple[int, ...]]:
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


def _elem_types(proto) -> dict[str, int]:
    g = proto.graph
    out = {vi.name: vi.type.tensor_type.elem_type for vi in list(g.input) + list(g.value_info) + list(g.output)}
    out.update({t.name: t.data_type for t in g.initializer})
    return out


def _eval_node(node, consts, opsets):
    """Evaluate one node on constant inputs with onnx's reference evaluator."""
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    inits = [numpy_helper.from_array(np.asarray(consts[n]), n) for n in dict.fromkeys(i for i in node.input if i)]
    outs = [helper.make_empty_tensor_value_info(o) for o in node.output if o]
    g = helper.make_graph([node], "fold", [], outs, initializer=inits)
    m = helper.make_model(g, opset_imports=opsets, ir_version=10)
    res = ReferenceEvaluator(m).run(None, {})
    return [np.asarray(r) for r in res]


def _fold_constants(proto):
    """Fold ``Constant``, ``Shape`` of static tensors and all-constant nodes into initializers."""
    from onnx import helper, numpy_helper

    opsets = list(proto.opset_import)
    for _ in range(8):
        proto = _infer(proto)
        shapes = _static_shapes(proto)
        consts = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
        keep, changed = [], False
        for node in proto.graph.node:
            outs = [o for o in node.output if o]
            val = None
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                try:
                    val = [_eval_node(node, consts, opsets)[0]]
                except Exception as e:  # noqa: BLE001
                    raise AxmacError(f"cannot evaluate Constant node {node.name!r}: {e}") from e
            elif node.op_type == "Shape" and node.domain in ("", "ai.onnx") and node.input[0] in shapes:
                a = _attrs(node)
                shp = np.array(shapes[node.input[0]], np.int64)
                val = [shp[a.get("start", 0):a.get("end", len(shp))]]
            elif (node.op_type not in _NO_FOLD and node.domain in ("", "ai.onnx") and
                  all((not i) or i in consts for i in node.input) and any(node.input)):
                try:
                    val = _eval_node(node, consts, opsets)
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
    return _infer(proto)


# -- conversion -----------------------------------------------------------------------------------------
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


class _Converter:
    def __init__(self, proto):
        from onnx import numpy_helper

        self.proto = proto
        g = proto.graph
        self.g = g
        self.consts: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.shapes = _static_shapes(proto)
        self.etypes = _elem_types(proto)
        self.producer = {o: n for n in g.node for o in n.output if o}
        self.consumers: dict[str, list] = {}
        for n in g.node:
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.graph_outputs = {o.name for o in g.output}
        self.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
        self.items: list = []
        self.skip: set[int] = set()
        self.names: set[str] = set()

    # naming / lookup
    def uname(self, node, i) -> str:
        base = node.name or f"{node.op_type}_{i}"
        name, k = base, 1
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def const(self, node, idx, what, required=True):
        name = node.input[idx] if idx < len(node.input) else ""
        if not name:
            if required:
                raise AxmacError(f"{node.op_type} node {node.name!r}: missing {what}")
            return None
        if name not in self.consts:
            if what == "weight":
                raise AxmacError(f"{node.op_type} node {node.name!r}: the weight {name!r} is not a constant "
                                 "(only constant weights can be mapped on the MAC array)")
            raise AxmacError(f"{node.op_type} node {node.name!r}: {what} {name!r} must be a constant")
        return self.consts[name]

    def sole_consumer(self, tensor):
        cons = self.consumers.get(tensor, [])
        if len(cons) == 1 and tensor not in self.graph_outputs:
            return cons[0]
        return None

    def dtype_of(self, tensor) -> np.dtype:
        if tensor in self.consts:
            return self.consts[tensor].dtype
        if tensor not in self.etypes or self.etypes[tensor] == 0:
            raise AxmacError(f"cannot infer the element type of tensor {tensor!r}")
        return _np_dtype(self.etypes[tensor])

    # conv attributes -> explicit pads
    def conv_attrs(self, node, w_shape, x_name) -> dict:
        a = _attrs(node)
        if len(w_shape) != 4:
            raise AxmacError(f"{node.op_type} node {node.name!r}: only 2-D convolutions (4-D weights) are supported, "
                             f"weight shape is {tuple(w_shape)}")
        kh, kw = int(w_shape[2]), int(w_shape[3])
        if "kernel_shape" in a and tuple(a["kernel_shape"]) != (kh, kw):
            raise AxmacError(f"{node.op_type} node {node.name!r}: kernel_shape {a['kernel_shape']} does not match "
                             f"the weight {tuple(w_shape)}")
        strides = tuple(int(s) for s in a.get("strides", (1, 1)))
        dil = tuple(int(d) for d in a.get("dilations", (1, 1)))
        group = int(a.get("group", 1))
        auto_pad = a.get("auto_pad", "NOTSET")
        if auto_pad in ("NOTSET", ""):
            p = tuple(int(x) for x in a.get("pads", (0, 0, 0, 0)))
            pads = (p[0], p[1], p[2], p[3])
        elif auto_pad == "VALID":
            pads = (0, 0, 0, 0)
        elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            shp = self.shapes.get(x_name)
            if shp is None:
                raise AxmacError(f"{node.op_type} node {node.name!r}: auto_pad {auto_pad} needs the static input shape")
            tot = []
            for size, s, d, k in zip(shp[2:], strides, dil, (kh, kw), strict=True):
                out = -(-size // s)
                tot.append(max(0, (out - 1) * s + (k - 1) * d + 1 - size))
            if auto_pad == "SAME_UPPER":
                pads = (tot[0] // 2, tot[1] // 2, tot[0] - tot[0] // 2, tot[1] - tot[1] // 2)
            else:
                pads = (tot[0] - tot[0] // 2, tot[1] - tot[1] // 2, tot[0] // 2, tot[1] // 2)
        else:
            raise AxmacError(f"{node.op_type} node {node.name!r}: unknown auto_pad {auto_pad!r}")
        shp = self.shapes.get(x_name)
        if shp is not None:
            if len(shp) != 4:
                raise AxmacError(f"{node.op_type} node {node.name!r}: input must be 4-D NCHW, got shape {shp}")
            if shp[1] != w_shape[1] * group:
                raise AxmacError(f"{node.op_type} node {node.name!r}: {shp[1]} input channels do not match "
                                 f"weight {tuple(w_shape)} with group {group}")
        if w_shape[0] % group:
            raise AxmacError(f"{node.op_type} node {node.name!r}: {w_shape[0]} output channels not divisible by "
                             f"group {group}")
        return dict(strides=strides, pads=pads, dilations=dil, group=group)

    # --------------------------------------------------------------------------------------------------
    def run(self) -> tuple[list, list[FloatLayer]]:
        floats = []
        for i, node in enumerate(self.g.node):
            if i in self.skip:
                continue
            op = node.op_type
            if node.domain == "com.microsoft" and op == "QGemm":
                self.items.append(self.qgemm_op(node, i))
                continue
            if node.domain == "com.microsoft" and op in MS_NODE_OPS:
                self.items.append(Node(self.uname(node, i), op, list(node.input), list(node.output), _attrs(node),
                                       domain="com.microsoft"))
                continue
            if node.domain not in ("", "ai.onnx"):
                raise AxmacError(f"unsupported operator {node.domain}.{node.op_type} (node {node.name!r})")
            if op == "Constant":
                continue  # folded already
            if op in ("ConvInteger", "MatMulInteger"):
                self.items.append(self.integer_op(node, i))
            elif op in ("QLinearConv", "QLinearMatMul"):
                self.items.append(self.qlinear_op(node, i))
            elif op in ("Conv", "Gemm", "MatMul"):
                res = self.float_op(node, i)
                if isinstance(res, FloatLayer):
                    floats.append(res)
                self.items.append(res)
            elif op == "BatchNormalization":
                raise AxmacError(f"BatchNormalization node {node.name!r} does not follow a float Conv it can be "
                                 "folded into (unsupported)")
            elif op in NODE_OPS:
                attrs = _attrs(node)
                if op == "Resize" and attrs.get("mode", "nearest") != "nearest":
                    raise AxmacError(f"unsupported operator Resize with mode {attrs['mode']!r} (node {node.name!r}; "
                                     "only 'nearest' is supported)")
                self.items.append(Node(self.uname(node, i), op, list(node.input), list(node.output), attrs))
            else:
                raise AxmacError(f"unsupported operator {op} (node {node.name!r})")
        return self.items, floats

    # -- integer forms ------------------------------------------------------------------------------
    def _zp(self, node, idx, what, default_dtype) -> np.ndarray:
        v = self.const(node, idx, what, required=False)
        if v is None:
            return np.zeros((), np.dtype(default_dtype))
        return v

    def _x_zp(self, node, zp) -> int:
        if zp.size != 1:
            raise AxmacError(f"{node.op_type} node {node.name!r}: per-row/per-channel input zero points are not "
                             "supported (only a scalar)")
        return int(zp.reshape(()))

    def _weight_zp(self, node, zp, n_out) -> np.ndarray:
        zp = np.asarray(zp).astype(np.int64)
        if zp.size == 1:
            return zp.reshape(())
        if zp.size != n_out:
            raise AxmacError(f"{node.op_type} node {node.name!r}: weight zero point has {zp.size} values for "
                             f"{n_out} output channels")
        return zp.reshape(n_out)

    def _fmt(self, x_dtype, x_zp, w, w_zp, kind) -> OperandFormat:
        info = np.iinfo(x_dtype)
        wz = w_zp if w_zp.ndim == 0 else (w_zp.reshape(-1, 1, 1, 1) if kind == "conv" else w_zp.reshape(1, -1))
        wc = w - wz
        wr = (int(wc.min()), int(wc.max())) if wc.size else (0, 0)
        return operand_format((int(info.min) - x_zp, int(info.max) - x_zp), wr)

    def _int_weight(self, node, w, kind):
        if not np.issubdtype(w.dtype, np.integer):
            raise AxmacError(f"{node.op_type} node {node.name!r}: weight must be an integer tensor, not {w.dtype}")
        w = w.astype(np.int64)
        if kind == "gemm" and w.ndim != 2:
            raise AxmacError(f"{node.op_type} node {node.name!r}: only 2-D constant weights are supported, "
                             f"got shape {w.shape}")
        return w

    def integer_op(self, node, i) -> MacLayer:
        kind = "conv" if node.op_type == "ConvInteger" else "gemm"
        x = node.input[0]
        x_dtype = self.dtype_of(x)
        w = self._int_weight(node, self.const(node, 1, "weight"), kind)
        x_zp = self._x_zp(node, self._zp(node, 2, "x_zero_point", x_dtype))
        n_out = w.shape[0] if kind == "conv" else w.shape[1]
        w_zp = self._weight_zp(node, self._zp(node, 3, "w_zero_point", w.dtype), n_out)
        conv = self.conv_attrs(node, w.shape, x) if kind == "conv" else {}
        return MacLayer(name=self.uname(node, i), kind=kind, x=x, y=node.output[0], weight=w,
                        operand=self._fmt(x_dtype, x_zp, w, w_zp, kind), output=OutputStage("int32"),
                        x_zero_point=x_zp, w_zero_point=w_zp, bias=None, source=node.op_type, **conv)

    @staticmethod
    def _requant_scale(x_scale, w_scale, y_scale) -> np.ndarray:
        """float32 ``x_scale * w_scale / y_scale`` (onnxruntime's order of operations)."""
        xs = np.float32(np.asarray(x_scale, np.float32).reshape(()))
        ys = np.float32(np.asarray(y_scale, np.float32).reshape(()))
        ws = np.asarray(w_scale, np.float32)
        return ((xs * ws) / ys).astype(np.float32)

    def _per_channel(self, node, v, n_out, what) -> np.ndarray:
        v = np.asarray(v)
        if v.size == 1:
            return v.reshape(())
        if v.size != n_out:
            raise AxmacError(f"{node.op_type} node {node.name!r}: {what} has {v.size} values for {n_out} outputs")
        return v.reshape(n_out)

    def qlinear_op(self, node, i) -> MacLayer:
        kind = "conv" if node.op_type == "QLinearConv" else "gemm"
        x = node.input[0]
        x_dtype = self.dtype_of(x)
        x_scale = self.const(node, 1, "x_scale")
        if x_scale.size != 1:
            raise AxmacError(f"{node.op_type} node {node.name!r}: only a scalar input scale is supported")
        x_zp = self._x_zp(node, self._zp(node, 2, "x_zero_point", x_dtype))
        w = self._int_weight(node, self.const(node, 3, "weight"), kind)
        n_out = w.shape[0] if kind == "conv" else w.shape[1]
        w_scale = self._per_channel(node, self.const(node, 4, "w_scale"), n_out, "w_scale")
        w_zp = self._weight_zp(node, self._zp(node, 5, "w_zero_point", w.dtype), n_out)
        y_scale = self.const(node, 6, "y_scale")
        if y_scale.size != 1:
            raise AxmacError(f"{node.op_type} node {node.name!r}: only a scalar output scale is supported")
        y_zp = self._zp(node, 7, "y_zero_point", x_dtype)
        bias = None
        if kind == "conv" and len(node.input) > 8 and node.input[8]:
            bias = self.const(node, 8, "bias").astype(np.int64).reshape(-1)
            if bias.size != n_out:
                raise AxmacError(f"{node.op_type} node {node.name!r}: bias has {bias.size} values for {n_out} outputs")
        conv = self.conv_attrs(node, w.shape, x) if kind == "conv" else {}
        out = OutputStage("requant", scale=self._requant_scale(x_scale, w_scale, y_scale),
                          zero_point=int(y_zp.reshape(())), dtype=np.dtype(y_zp.dtype))
        return MacLayer(name=self.uname(node, i), kind=kind, x=x, y=node.output[0], weight=w,
                        operand=self._fmt(x_dtype, x_zp, w, w_zp, kind), output=out, x_zero_point=x_zp,
                        w_zero_point=w_zp, bias=bias, x_scale=float(np.float32(x_scale.reshape(()))),
                        w_scale=np.asarray(w_scale, np.float32), source=node.op_type, **conv)

    def qgemm_op(self, node, i) -> MacLayer:
        """com.microsoft.QGemm (onnxruntime's QOperator Gemm): QLinear operands, int32 bias ``C``.

        Output scale as onnxruntime computes it: ``float32(alpha * a_scale * b_scale[n])``, then
        ``/ y_scale`` when there is one; requantized when ``y_zero_point`` is given, else float.
        """
        a = _attrs(node)
        x = node.input[0]
        x_dtype = self.dtype_of(x)
        x_scale = self.const(node, 1, "a_scale")
        if x_scale.size != 1:
            raise AxmacError(f"QGemm node {node.name!r}: only a scalar input scale is supported")
        x_zp = self._x_zp(node, self._zp(node, 2, "a_zero_point", x_dtype))
        w = self._int_weight(node, self.const(node, 3, "weight"), "gemm")
        if a.get("transB", 0):
            w = w.T
        if a.get("transA", 0):
            x = self._transposed_input(node, i, x)
        n_out = w.shape[1]
        w_scale = self._per_channel(node, self.const(node, 4, "b_scale"), n_out, "b_scale").astype(np.float32)
        w_zp = self._weight_zp(node, self._zp(node, 5, "b_zero_point", w.dtype), n_out)
        bias = None
        if len(node.input) > 6 and node.input[6]:
            bias = self._bias_vector(node, self.const(node, 6, "C").astype(np.int64), n_out).astype(np.int64)
        scale = (np.float32(a.get("alpha", 1.0)) * np.float32(x_scale.reshape(()))) * w_scale
        has_y_scale = len(node.input) > 7 and node.input[7]
        if has_y_scale:
            scale = scale / np.float32(self.const(node, 7, "y_scale").reshape(()))
        scale = scale.astype(np.float32)
        if len(node.input) > 8 and node.input[8]:
            y_zp = self.const(node, 8, "y_zero_point")
            out = OutputStage("requant", scale=scale, zero_point=int(y_zp.reshape(())), dtype=np.dtype(y_zp.dtype))
        else:
            out = OutputStage("dequant", scale=scale, dtype=np.dtype(np.float32))
        return MacLayer(name=self.uname(node, i), kind="gemm", x=x, y=node.output[0], weight=w,
                        operand=self._fmt(x_dtype, x_zp, w, w_zp, "gemm"), output=out, x_zero_point=x_zp,
                        w_zero_point=w_zp, bias=bias, x_scale=float(np.float32(x_scale.reshape(()))),
                        w_scale=w_scale, source="com.microsoft.QGemm")

    # -- float / QDQ forms ------------------------------------------------------------------------------
    def _dq(self, tensor):
        """The DequantizeLinear node producing ``tensor`` (or None)."""
        p = self.producer.get(tensor)
        return p if p is not None and p.op_type == "DequantizeLinear" and p.domain in ("", "ai.onnx") else None

    def _dq_params(self, dq):
        a = _attrs(dq)
        if a.get("block_size", 0):
            raise AxmacError(f"DequantizeLinear node {dq.name!r}: blocked quantization is not supported")
        scale = self.const(dq, 1, "scale")
        src = dq.input[0]
        dt = self.dtype_of(src)
        zp = self._zp(dq, 2, "zero_point", dt) if len(dq.input) > 2 else np.zeros((), dt)
        return scale, zp, int(a.get("axis", 1)), dt

    def float_op(self, node, i):
        op = node.op_type
        kind = "conv" if op == "Conv" else "gemm"
        a = _attrs(node)
        x = node.input[0]
        w_name = node.input[1] if len(node.input) > 1 else ""
        b_name = node.input[2] if len(node.input) > 2 else ""
        if op == "MatMul" and x in self.consts and w_name not in self.consts:
            raise AxmacError(f"MatMul node {node.name!r}: the weight (second input {w_name!r}) is not a constant")
        x_dq, w_dq = self._dq(x), self._dq(w_name)
        if x_dq is not None and x_dq.input[0] not in self.consts and w_dq is not None and w_dq.input[0] in self.consts:
            return self.qdq_op(node, i, kind, a, x_dq, w_dq, b_name)
        w = np.asarray(self.const(node, 1, "weight"), np.float64)
        bias = None if not b_name else np.asarray(self.const(node, 2, "bias"), np.float64)
        name = self.uname(node, i)
        y = node.output[0]
        x_mac = x
        if kind == "gemm":
            w, bias, x_mac, alpha_scale = self._gemm_form(node, i, a, w, bias, x)
            if alpha_scale != 1.0:
                w = w * alpha_scale
            conv = {}
            src = op
        else:
            conv = self.conv_attrs(node, w.shape, x)
            src = "Conv"
            bn = self.sole_consumer(y)
            if bn is not None and bn.op_type == "BatchNormalization":
                w, bias = self._fold_bn(bn, w, bias)
                y = bn.output[0]
                self.skip.add(list(self.g.node).index(bn))
                src = "Conv+BatchNormalization"
        return FloatLayer(name=name, kind=kind, x=x_mac, x_calib=x, y=y, weight=w, bias=bias, source=src, conv=conv)

    def _fold_bn(self, bn, w, bias):
        """Fold inference BatchNormalization into the conv.

        ``f = gamma / sqrt(var + eps)``, ``w' = w * f`` (per output channel), ``b' = (b - mean) * f + beta``.
        """
        a = _attrs(bn)
        if len([o for o in bn.output if o]) != 1 or a.get("training_mode", 0):
            raise AxmacError(f"BatchNormalization node {bn.name!r}: only inference mode can be folded")
        gamma, beta, mean, var = (np.asarray(self.const(bn, k, nm), np.float64).reshape(-1)
                                  for k, nm in ((1, "scale"), (2, "B"), (3, "mean"), (4, "var")))
        f = gamma / np.sqrt(var + float(a.get("epsilon", 1e-5)))
        if f.size != w.shape[0]:
            raise AxmacError(f"BatchNormalization node {bn.name!r}: {f.size} channels for {w.shape[0]} conv outputs")
        b = np.zeros(w.shape[0]) if bias is None else bias.reshape(-1)
        return w * f[:, None, None, None], (b - mean) * f + beta

    def _transposed_input(self, node, i, x) -> str:
        """Gemm ``transA``: a Transpose node feeding the MAC layer; returns the transposed tensor's name."""
        xt = f"{x}::transposed_for_{node.name or i}"
        self.items.append(Node(f"{node.name or node.op_type + '_' + str(i)}::transA", "Transpose", [x], [xt],
                               {"perm": [1, 0]}))
        if x in self.shapes:
            self.shapes[xt] = tuple(reversed(self.shapes[x]))
        return xt

    def _gemm_form(self, node, i, a, w, bias, x):
        """(K, N) weight, per-N bias, MAC input (transA -> Transpose node), alpha (for Gemm)."""
        op = node.op_type
        alpha = 1.0
        if op == "Gemm":
            alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
            if a.get("transB", 0):
                w = w.T
            if a.get("transA", 0):
                x = self._transposed_input(node, i, x)
            if bias is not None:
                bias = beta * bias
        if w.ndim != 2:
            raise AxmacError(f"{op} node {node.name!r}: only 2-D constant weights are supported, got shape {w.shape}")
        n = w.shape[1]
        if bias is not None:
            bias = self._bias_vector(node, bias, n)
        return w, bias, x, alpha

    def _bias_vector(self, node, bias, n):
        b = np.asarray(bias)
        if b.size == 1:
            return np.full(n, b.reshape(()).item(), dtype=b.dtype)
        if b.ndim >= 1 and b.shape[-1] == n and b.size == n:
            return b.reshape(n)
        raise AxmacError(f"{node.op_type} node {node.name!r}: bias of shape {b.shape} is not per output channel "
                         f"({n},); not supported")

    def qdq_op(self, node, i, kind, a, x_dq, w_dq, b_name) -> MacLayer:
        op = node.op_type
        x_scale, x_zp_arr, _, x_dtype = self._dq_params(x_dq)
        if x_scale.size != 1:
            raise AxmacError(f"DequantizeLinear node {x_dq.name!r}: per-channel activation scales are not supported")
        x_zp = self._x_zp(x_dq, x_zp_arr)
        w_scale, w_zp, w_axis, _ = self._dq_params(w_dq)
        w = self._int_weight(node, self.consts[w_dq.input[0]], "conv" if kind == "conv" else "gemm_any")
        x = x_dq.input[0]
        transposed = False
        alpha = beta = 1.0
        if kind == "gemm":
            if w.ndim != 2:
                raise AxmacError(f"{op} node {node.name!r}: only 2-D constant weights are supported, got {w.shape}")
            if op == "Gemm":
                alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
                if a.get("transA", 0):
                    x = self._transposed_input(node, i, x)
                if a.get("transB", 0):
                    w, transposed = w.T, True
            out_axis = 1 if not transposed else 0  # axis of the original weight that holds N
            n_out = w.shape[1]
        else:
            out_axis, n_out = 0, w.shape[0]
        if w_scale.size > 1 and (w_axis % len(self.consts[w_dq.input[0]].shape)) != out_axis:
            raise AxmacError(f"DequantizeLinear node {w_dq.name!r}: per-channel weight scales must be along the "
                             "output channels")
        w_scale = self._per_channel(w_dq, w_scale, n_out, "weight scale").astype(np.float32)
        w_zp = self._weight_zp(w_dq, w_zp, n_out)
        bias = None
        if b_name:
            b_dq = self._dq(b_name)
            if b_dq is not None and b_dq.input[0] in self.consts:
                bq = self.consts[b_dq.input[0]]
                if not np.issubdtype(bq.dtype, np.integer):
                    raise AxmacError(f"{op} node {node.name!r}: quantized bias must be integer")
                b_scale, b_zp, _, _ = self._dq_params(b_dq)
                bias = (bq.astype(np.int64) - np.asarray(b_zp, np.int64)).astype(np.float64) * np.asarray(b_scale,
                                                                                                        np.float64)
            else:
                bias = np.asarray(self.const(node, 2, "bias"), np.float64)
            n = n_out
            bias = self._bias_vector(node, bias, n).astype(np.float64)
            # bias in accumulator units x_scale * w_scale (exact when it was quantized at that scale)
            acc_unit = np.float64(np.float32(x_scale.reshape(()))) * w_scale.astype(np.float64)
            bias = np.round(bias * beta / alpha / acc_unit).astype(np.int64).reshape(n)
        conv = self.conv_attrs(node, w.shape, x) if kind == "conv" else {}
        y = node.output[0]
        q = self.sole_consumer(y)
        xs32 = np.float32(np.asarray(x_scale, np.float32).reshape(()))
        if q is not None and q.op_type == "QuantizeLinear" and q.domain in ("", "ai.onnx"):
            qa = _attrs(q)
            y_scale = self.const(q, 1, "y_scale")
            if y_scale.size != 1:
                raise AxmacError(f"QuantizeLinear node {q.name!r}: only a scalar output scale is supported")
            if qa.get("block_size", 0) or not qa.get("saturate", 1):
                raise AxmacError(f"QuantizeLinear node {q.name!r}: block_size / saturate=0 not supported")
            y_zp = self._zp(q, 2, "y_zero_point", np.uint8)
            scale = self._requant_scale(x_scale, w_scale, y_scale)
            if alpha != 1.0:
                scale = (scale * np.float32(alpha)).astype(np.float32)
            out = OutputStage("requant", scale=scale, zero_point=int(y_zp.reshape(())), dtype=np.dtype(y_zp.dtype))
            y = q.output[0]
            self.skip.add(list(self.g.node).index(q))
            src = f"DQ+{op}+Q"
        else:
            scale = (xs32 * w_scale).astype(np.float32)
            if alpha != 1.0:
                scale = (scale * np.float32(alpha)).astype(np.float32)
            out = OutputStage("dequant", scale=scale, dtype=np.dtype(np.float32))
            src = f"DQ+{op}"
        return MacLayer(name=self.uname(node, i), kind=kind, x=x, y=y, weight=w, output=out,
                        operand=self._fmt(x_dtype, x_zp, w, w_zp, kind), x_zero_point=x_zp, w_zero_point=w_zp,
                        bias=bias, x_scale=float(xs32), w_scale=w_scale, source=src, **conv)


def _batch_polymorphic_reshapes(nodes, shapes, constants) -> None:
    """Let constant Reshape targets follow the batch size.

    Import fixes the batch (a symbolic one defaults to 1) and folds shape computations, so a
    PyTorch-style ``x.view(x.size(0), -1)`` becomes ``Reshape(x, [1, -1])``. When the target's
    first entry equals the input's leading dim it is replaced by ``0`` ("copy that dim", ONNX
    Reshape with ``allowzero=0``): identical at the imported batch size, and right for any other
    batch the golden engine runs.
    """
    for n in nodes:
        if not isinstance(n, Node) or n.op_type != "Reshape" or n.attrs.get("allowzero", 0):
            continue
        if len(n.inputs) < 2 or n.inputs[1] not in constants or n.inputs[0] not in shapes:
            continue
        target = np.asarray(constants[n.inputs[1]]).astype(np.int64)
        src = shapes[n.inputs[0]]
        if target.ndim != 1 or not target.size or not src or target[0] != src[0] or target[0] == 0:
            continue
        new = target.copy()
        new[0] = 0
        name = f"{n.inputs[1]}::batch_polymorphic"
        constants[name] = new
        n.inputs = [n.inputs[0], name, *n.inputs[2:]]


def _prune(nodes, outputs: set[str]) -> list:
    """Drop nodes none of whose outputs is used (fused DQ / BN / Q leftovers)."""
    live = set(outputs)
    kept = []
    for n in reversed(nodes):
        outs = [n.y] if isinstance(n, MacLayer) else [o for o in n.outputs if o]
        if any(o in live for o in outs):
            kept.append(n)
            live.update([n.x] if isinstance(n, MacLayer) else [i for i in n.inputs if i])
    return kept[::-1]


def load_model(model, *, quant=None, calibration: dict | None = None, input_shapes=None,
               shapes_only: bool = False) -> Network:
    """Import an ONNX model as an integer :class:`Network`.

    Parameters
    ----------
    model
        Path of an ``.onnx`` file or an ``onnx.ModelProto``.
    quant
        :class:`~axmac.onnx_import.quantize.QuantConfig` for float MAC layers (default
        ``QuantConfig()`` when calibration data is given).
    calibration
        ``{input_name: array}`` of calibration samples (batch along axis 0), needed when the
        model has float Conv/Gemm/MatMul layers.
    input_shapes
        ``{name: shape}`` or ``["name=1x1x28x28", ...]`` fixing dynamic input dims. A symbolic
        leading (batch) dim with no value defaults to 1; any other dynamic dim is an error.
    shapes_only
        Import float layers without calibration (weights quantized, activation scale 1.0):
        shapes, operand widths and weights are right, activation scales are placeholders. Enough
        for schedules, not for execution.

    Raises
    ------
    AxmacError
        Unreadable / invalid model, dynamic shapes, unsupported operator, non-constant weight,
        float model without calibration data.
    """
    from . import quantize as q

    folded, original = read_model(model, input_shapes)
    conv = _Converter(folded)
    items, floats = conv.run()
    constants = dict(conv.consts)
    if floats:
        if quant is None:
            quant = q.QuantConfig()
        if not isinstance(quant, q.QuantConfig):
            raise AxmacError(f"quant must be a QuantConfig, not {type(quant).__name__}")
        quant.check_layers([f.name for f in floats])
        if calibration is None and not shapes_only:
            names = ", ".join(f.name for f in floats[:4]) + (" ..." if len(floats) > 4 else "")
            raise AxmacError(f"the model has float MAC layers ({names}): quantizing them needs calibration data "
                             "(calibration=... / --calibration FILE.npz)")
        amax = {} if calibration is None else q.calibrate(original, sorted({f.x_calib for f in floats}),
                                                          calibration, quant)
        new_items = []
        for it in items:
            if isinstance(it, FloatLayer):
                nodes, consts = q.quantize_layer(it, amax.get(it.x_calib), quant)
                new_items.extend(nodes)
                constants.update(consts)
            else:
                new_items.append(it)
        items = new_items
    elif quant is not None and not isinstance(quant, q.QuantConfig):
        raise AxmacError(f"quant must be a QuantConfig, not {type(quant).__name__}")
    g = folded.graph
    inits = set(conv.consts)
    inputs = [TensorInfo(i.name, conv.shapes.get(i.name, ()), _np_dtype(i.type.tensor_type.elem_type))
              for i in g.input if i.name not in inits]
    outputs = []
    for o in g.output:
        if o.name not in conv.shapes:
            raise AxmacError(f"cannot infer a static shape for graph output {o.name!r}")
        outputs.append(TensorInfo(o.name, conv.shapes[o.name], _np_dtype(o.type.tensor_type.elem_type)))
    nodes = _prune(items, {o.name for o in g.output})
    _batch_polymorphic_reshapes(nodes, conv.shapes, constants)
    # new tensors made by quantization keep the shape of what they came from
    shapes = dict(conv.shapes)
    for n in nodes:
        if isinstance(n, Node) and n.op_type in ("QuantizeLinear", "Clip") and n.inputs[0] in shapes:
            for o in n.outputs:
                shapes.setdefault(o, shapes[n.inputs[0]])
    used = {i for n in nodes if isinstance(n, Node) for i in n.inputs if i} | {o.name for o in g.output}
    constants = {k: v for k, v in constants.items() if k in used}
    return Network(name=g.name or "model", inputs=inputs, outputs=outputs, nodes=nodes, constants=constants,
                   shapes=shapes, opset=conv.opset)
