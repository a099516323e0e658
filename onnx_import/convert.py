"""The node-by-node conversion of a folded ONNX graph into IR items.

:class:`Converter` walks the nodes in order and hands each MAC node to the converter of its
model form (:mod:`.forms.integer`, :mod:`.forms.qdq`, :mod:`.forms.floating`); other supported
operators become :class:`~axmac.ir.Node` as they are. It also holds what every form needs: the
constants, static shapes and element types, producers and consumers of each tensor, unique layer
names, convolution attributes as explicit pads, zero points and operand formats.

Operand format of a layer: the multiplier sees ``x - x_zero_point`` and ``w - w_zero_point``.
The activation range is the input dtype's range minus its zero point, the weight range the actual
weight codes minus theirs; the format is the narrowest signed or unsigned width holding both
(:func:`operand_format`).
"""

from __future__ import annotations

import numpy as np

from ..errors import AxmacError
from ..golden.ops import kernel
from ..ir import Node, OperandFormat
from .graph import elem_types, static_shapes
from .protos import node_attrs, np_dtype, tensor_arrays
from .runtime import check_finite

#: operators that become :class:`MacLayer` (or float layers, when a quantized model leaves them in float).
MAC_OPS = frozenset({"Conv", "Gemm", "MatMul", "ConvInteger", "MatMulInteger", "QLinearConv", "QLinearMatMul"})


def node_op_supported(op: str, domain: str) -> bool:
    """Whether the golden engine executes ``op`` (of ``domain``) as a :class:`~axmac.ir.Node`."""
    return kernel(op, domain) is not None


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


class Converter:
    """State shared by the form converters while one folded model is converted (see module doc)."""

    def __init__(self, proto):
        self.proto = proto
        g = proto.graph
        self.g = g
        self.consts: dict[str, np.ndarray] = tensor_arrays(g.initializer)
        self.shapes = static_shapes(proto)
        self.etypes = elem_types(proto)
        self.producer = {o: n for n in g.node for o in n.output if o}
        self.consumers: dict[str, list] = {}
        for n in g.node:
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.graph_outputs = {o.name for o in g.output}
        self.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
        self.items: list = []
        self.after: list = []  # nodes that must follow the item being converted (1-D conv: Squeeze)
        self.skip: set[int] = set()
        self.names: set[str] = set()

    def run(self) -> tuple[list, list]:
        """Convert every node: ``(items in order, the float layers among them)``.

        All the operators the golden engine cannot execute are named in one :class:`AxmacError`.
        """
        from .forms import batched, floating, integer

        floats, unsupported = [], {}
        for i, node in enumerate(self.g.node):
            if i in self.skip:
                continue
            op, domain = node.op_type, node.domain
            ms = domain == "com.microsoft"
            known = (op == "QGemm") if ms else (op in MAC_OPS or op == "Constant")
            if not known and not node_op_supported(op, domain):
                unsupported.setdefault(op if domain in ("", "ai.onnx") else f"{domain}.{op}", []).append(
                    node.name or f"#{i}")
                continue
            if unsupported:
                continue  # only collecting the names now
            if op == "Constant":
                continue  # folded already
            if ms and op == "QGemm":
                res = integer.qgemm_op(self, node, i)
            elif op in ("MatMulInteger", "QLinearMatMul") and batched.is_batched(self, node):
                res = batched.batched_matmul(self, node, i, integer.integer_op if op == "MatMulInteger"
                                             else integer.qlinear_op)
            elif op in ("ConvInteger", "MatMulInteger"):
                res = integer.integer_op(self, node, i)
            elif op in ("QLinearConv", "QLinearMatMul"):
                res = integer.qlinear_op(self, node, i)
            elif op in ("Conv", "Gemm", "MatMul"):
                res = floating.float_op(self, node, i)
                if isinstance(res, floating.FloatLayer):
                    floats.append(res)
            else:
                res = self.plain_node(node, i)
            self.items.extend(res if isinstance(res, list) else [res])
            self.items.extend(self.after)
            self.after = []
        if unsupported:
            listed = "; ".join(f"{op} (node{'s' if len(ns) > 1 else ''} {', '.join(map(repr, ns[:3]))}"
                               f"{' ...' if len(ns) > 3 else ''})" for op, ns in unsupported.items())
            raise AxmacError(f"unsupported operator{'s' if len(unsupported) > 1 else ''}: {listed}")
        return self.items, floats

    def plain_node(self, node, i) -> Node:
        """A non-MAC operator as a :class:`Node` (its float parameters checked for NaN / infinity)."""
        attrs = node_attrs(node)
        op = node.op_type
        if op == "Resize" and attrs.get("mode", "nearest") != "nearest":
            raise AxmacError(f"unsupported operator Resize with mode {attrs['mode']!r} (node {node.name!r}; "
                             "only 'nearest' is supported)")
        if op == "BatchNormalization":
            if attrs.get("training_mode", 0) or len([o for o in node.output if o]) != 1:
                raise AxmacError(f"BatchNormalization node {node.name!r}: only inference mode is supported")
            for k, what in ((1, "scale"), (2, "B"), (3, "mean"), (4, "var")):
                if node.input[k] in self.consts:
                    check_finite(self.consts[node.input[k]],
                                 f"BatchNormalization node {node.name!r}: {what} {node.input[k]!r}")
        if op in ("QuantizeLinear", "DequantizeLinear") and len(node.input) > 1 and node.input[1] in self.consts:
            check_finite(self.consts[node.input[1]], f"{op} node {node.name!r}: scale {node.input[1]!r}")
        return Node(self.uname(node, i), op, list(node.input), list(node.output), attrs, domain=node.domain)

    # -- naming and lookup ---------------------------------------------------------------------------
    def uname(self, node, i) -> str:
        """A unique layer name: the node's name, or ``<op>_<index>`` for an unnamed node."""
        base = node.name or f"{node.op_type}_{i}"
        name, k = base, 1
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def const(self, node, idx, what, required=True):
        """The constant value of input ``idx`` of ``node`` (None when optional and omitted)."""
        name = node.input[idx] if idx < len(node.input) else ""
        if not name:
            if required:
                raise AxmacError(f"{node.op_type} node {node.name!r}: missing {what}")
            return None
        if name not in self.consts:
            raise AxmacError(f"{node.op_type} node {node.name!r}: {what} {name!r} must be a constant")
        return check_finite(self.consts[name], f"{node.op_type} node {node.name!r}: {what} {name!r}")

    def shape_of(self, node, tensor) -> tuple[int, ...]:
        """Static shape of ``tensor`` (a constant's, or inferred)."""
        if tensor in self.consts:
            return tuple(self.consts[tensor].shape)
        if tensor not in self.shapes:
            raise AxmacError(f"{node.op_type} node {node.name!r}: cannot infer the shape of {tensor!r}")
        return tuple(self.shapes[tensor])

    @staticmethod
    def weight_shape(w_shape, kind) -> tuple[int, ...]:
        """The weight's shape in the IR: a 1-D convolution's (M, C/g, k) becomes (M, C/g, 1, k)."""
        w_shape = tuple(w_shape)
        return (*w_shape[:2], 1, w_shape[2]) if kind == "conv" and len(w_shape) == 3 else w_shape

    def sole_consumer(self, tensor):
        """The one node reading ``tensor`` (None when several do or it is a graph output)."""
        cons = self.consumers.get(tensor, [])
        if len(cons) == 1 and tensor not in self.graph_outputs:
            return cons[0]
        return None

    def dtype_of(self, tensor) -> np.dtype:
        if tensor in self.consts:
            return self.consts[tensor].dtype
        if tensor not in self.etypes or self.etypes[tensor] == 0:
            raise AxmacError(f"cannot infer the element type of tensor {tensor!r}")
        return np_dtype(self.etypes[tensor])

    # -- shared pieces of the MAC forms ---------------------------------------------------------------
    def conv_io(self, node, i, x, y, w_shape) -> tuple[str, str, dict]:
        """``(input, output, attributes)`` of a convolution layer. A 1-D convolution runs as a 2-D one
        with a unit height: an Unsqueeze before the layer (``(N, C, L)`` -> ``(N, C, 1, L)``) and a
        Squeeze after it (queued in ``after``)."""
        if len(w_shape) != 3:
            return x, y, self.conv_attrs(node, w_shape, x)
        base = node.name or f"{node.op_type}_{i}"
        x2, y2, axes = f"{x}::as_2d_for_{base}", f"{y}::2d", f"{base}::unit_axis"
        self.consts[axes] = np.array([2], np.int64)
        self.items.append(Node(f"{base}::unsqueeze", "Unsqueeze", [x, axes], [x2]))
        self.after.append(Node(f"{base}::squeeze", "Squeeze", [y2, axes], [y]))
        if x in self.shapes:
            self.shapes[x2] = (*self.shapes[x][:2], 1, *self.shapes[x][2:])
        if y in self.shapes:
            self.shapes[y2] = (*self.shapes[y][:2], 1, *self.shapes[y][2:])
        return x2, y2, self.conv_attrs(node, w_shape, x)

    def conv_attrs(self, node, w_shape, x_name) -> dict:
        """Strides, explicit pads ``(top, left, bottom, right)``, dilations and group of a convolution
        (a 1-D one's as those of a 2-D convolution of unit height)."""
        a = node_attrs(node)
        in_shape = self.shapes.get(x_name)
        if len(w_shape) == 3:
            a = {k: ([1, *v] if k in ("kernel_shape", "strides", "dilations") else
                     [0, v[0], 0, v[1]] if k == "pads" else v) for k, v in a.items()}
            w_shape = self.weight_shape(w_shape, "conv")
            in_shape = None if in_shape is None else (*in_shape[:2], 1, *in_shape[2:])
        if len(w_shape) != 4:
            raise AxmacError(f"{node.op_type} node {node.name!r}: only 1-D and 2-D convolutions are supported, "
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
            shp = in_shape
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
        shp = in_shape
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

    def zp(self, node, idx, what, default_dtype) -> np.ndarray:
        """Constant zero point at input ``idx``, or a zero of ``default_dtype`` when omitted."""
        v = self.const(node, idx, what, required=False)
        if v is None:
            return np.zeros((), np.dtype(default_dtype))
        return v

    def x_zp(self, node, zp) -> int:
        zp = np.asarray(zp)
        if zp.size != 1:
            raise AxmacError(f"{node.op_type} node {node.name!r}: per-row/per-channel input zero points are not "
                             "supported (only a scalar)")
        return int(zp.reshape(()))

    def weight_zp(self, node, zp, n_out) -> np.ndarray:
        zp = np.asarray(zp).astype(np.int64)
        if zp.size == 1:
            return zp.reshape(())
        if zp.size != n_out:
            raise AxmacError(f"{node.op_type} node {node.name!r}: weight zero point has {zp.size} values for "
                             f"{n_out} output channels")
        return zp.reshape(n_out)

    def fmt(self, x_dtype, x_zp, w, w_zp, kind) -> OperandFormat:
        """Operand format of centered activations of ``x_dtype`` and the centered weight codes."""
        info = np.iinfo(x_dtype)
        wz = w_zp if w_zp.ndim == 0 else (w_zp.reshape(-1, 1, 1, 1) if kind == "conv" else w_zp.reshape(1, -1))
        wc = w - wz
        wr = (int(wc.min()), int(wc.max())) if wc.size else (0, 0)
        return operand_format((int(info.min) - x_zp, int(info.max) - x_zp), wr)

    def int_weight(self, node, w, kind):
        """Integer weight codes as int64 (a 1-D convolution's with a unit kernel height)."""
        w = np.asarray(w)
        if not np.issubdtype(w.dtype, np.integer):
            raise AxmacError(f"{node.op_type} node {node.name!r}: weight must be an integer tensor, not {w.dtype}")
        w = w.astype(np.int64)
        if kind == "conv" and w.ndim == 3:
            w = w[:, :, None, :]
        if kind == "gemm" and w.ndim != 2:
            raise AxmacError(f"{node.op_type} node {node.name!r}: only 2-D constant weights are supported, "
                             f"got shape {w.shape}")
        return w

    def per_channel(self, node, v, n_out, what) -> np.ndarray:
        v = np.asarray(v)
        if v.size == 1:
            return v.reshape(())
        if v.size != n_out:
            raise AxmacError(f"{node.op_type} node {node.name!r}: {what} has {v.size} values for {n_out} outputs")
        return v.reshape(n_out)

    def bias_vector(self, node, bias, n):
        b = np.asarray(bias)
        if b.size == 1:
            return np.full(n, b.reshape(()).item(), dtype=b.dtype)
        if b.ndim >= 1 and b.shape[-1] == n and b.size == n:
            return b.reshape(n)
        raise AxmacError(f"{node.op_type} node {node.name!r}: bias of shape {b.shape} is not per output channel "
                         f"({n},); not supported")

    def transposed_input(self, node, i, x) -> str:
        """Gemm ``transA``: a Transpose node feeding the MAC layer; returns the transposed tensor's name."""
        xt = f"{x}::transposed_for_{node.name or i}"
        self.items.append(Node(f"{node.name or node.op_type + '_' + str(i)}::transA", "Transpose", [x], [xt],
                               {"perm": [1, 0]}))
        if x in self.shapes:
            self.shapes[xt] = tuple(reversed(self.shapes[x]))
        return xt
