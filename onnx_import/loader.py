"""ONNX -> integer :class:`~axmac.ir.Network`: the import, step by step.

:func:`load_model` reads and normalises the model (:mod:`.graph`: input shapes fixed, constants
folded, shapes inferred), converts it node by node (:mod:`.convert`, one converter per model form
in :mod:`.forms`), quantizes the float MAC layers from calibration data (:mod:`.quantize`), then
prunes what fusion left unused and makes constant ``Reshape`` targets follow the batch size.

Each MAC node becomes a :class:`~axmac.ir.MacLayer`:

* integer: ``ConvInteger`` / ``MatMulInteger`` (``int32`` output stage), ``QLinearConv`` /
  ``QLinearMatMul`` / ``com.microsoft.QGemm`` (``requant`` output stage); parameters given at run
  time (weights as graph inputs, DynamicQuantizeLinear's zero points) make a
  :class:`~axmac.onnx_import.runtime.RuntimeMacLayer`; a batch of weight matrices, one layer each;
* QDQ: ``DequantizeLinear`` operands -> ``Conv`` / ``Gemm`` / ``MatMul`` [-> ``QuantizeLinear``];
* float ``Conv`` / ``Gemm`` / ``MatMul`` with a constant weight (a following
  ``BatchNormalization`` folded into the Conv): quantized from calibration data
  (``QuantizeLinear`` node + ``MacLayer`` with ``dequant`` output) in a float model; left in float
  (a float layer: the original nodes, run in float32, not on the array) in a model that is
  quantized already (``float_layers``). A float MAC with a run-time weight stays float.

1-D convolutions run as 2-D ones of unit height. Every other supported operator (BatchNormalization
that follows no float Conv included) becomes a :class:`~axmac.ir.Node`, executed by the golden
engine with ONNX semantics (onnxruntime's float32 arithmetic where it matters); all the operators
it cannot execute are named in one error.
"""

from __future__ import annotations

import numpy as np

from ..errors import AxmacError
from ..ir import MacLayer, Network, Node, TensorInfo
from .convert import Converter
from .forms.floating import FloatLayer
from .graph import read_model
from .protos import np_dtype


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
            live.update([n.x, *getattr(n, "runtime_inputs", ())] if isinstance(n, MacLayer)
                        else [i for i in n.inputs if i])
    return kept[::-1]


#: what to do with the float Conv / Gemm / MatMul layers of a model (``load_model(float_layers=...)``)
FLOAT_LAYER_POLICIES = ("auto", "quantize", "float")


def load_model(model, *, quant=None, calibration: dict | None = None, input_shapes=None,
               shapes_only: bool = False, float_layers: str = "auto") -> Network:
    """Import an ONNX model as an integer :class:`Network`.

    Parameters
    ----------
    model
        Path of an ``.onnx`` file or an ``onnx.ModelProto``.
    quant
        :class:`~axmac.onnx_import.quantize.QuantConfig` for the float MAC layers axmac quantizes
        (default ``QuantConfig()``).
    calibration
        ``{input_name: array}`` of calibration samples (batch along axis 0), needed to quantize
        float Conv/Gemm/MatMul layers.
    input_shapes
        ``{name: shape}`` or ``["name=1x1x28x28", ...]`` fixing dynamic input dims (e.g. from the
        arrays to run: :func:`axmac.onnx_import.inputs.shapes_from_arrays`). A symbolic leading
        (batch) dim with no value defaults to 1; any other dynamic dim is an error.
    shapes_only
        Import float layers without calibration (weights quantized, activation scale 1.0):
        shapes, operand widths and weights are right, activation scales are placeholders. Enough
        for schedules, not for execution.
    float_layers
        ``"auto"`` (default): a float model's MAC layers are quantized by axmac; in a model that
        is quantized already (QDQ, QOperator or integer MAC layers), the MAC layers it leaves in
        float stay float: they run in float32 as onnxruntime runs them, are not mapped to the
        array and are reported apart (``Report.float_layers``). ``"quantize"``: quantize every
        float MAC layer (calibration needed). ``"float"``: quantize none.

    Raises
    ------
    AxmacError
        Unreadable / invalid model, dynamic shapes, unsupported operators (all named at once),
        NaN or infinity in weights or scales, float layers to quantize without calibration data.
    """
    from . import quantize as q

    if float_layers not in FLOAT_LAYER_POLICIES:
        raise AxmacError(f"float_layers must be one of {', '.join(FLOAT_LAYER_POLICIES)}, not {float_layers!r}")
    if quant is not None and not isinstance(quant, q.QuantConfig):
        raise AxmacError(f"quant must be a QuantConfig, not {type(quant).__name__}")
    folded, original = read_model(model, input_shapes)
    conv = Converter(folded)
    items, floats = conv.run()
    constants = dict(conv.consts)
    quantized_model = any(isinstance(it, MacLayer) for it in items)
    to_quantize = floats if float_layers == "quantize" or (float_layers == "auto" and not quantized_model) else []
    if to_quantize:
        refused = [f.error for f in to_quantize if f.error]
        if refused:
            raise AxmacError(f"{refused[0]} (float_layers='float' keeps such layers in float)")
        quant = quant or q.QuantConfig()
        quant.check_layers([f.name for f in to_quantize])
        if calibration is None and not shapes_only:
            names = ", ".join(f.name for f in to_quantize[:4]) + (" ..." if len(to_quantize) > 4 else "")
            raise AxmacError(f"the model has float MAC layers ({names}): quantizing them needs calibration data "
                             "(calibration=... / --calibration FILE.npz)")
        amax = {} if calibration is None else q.calibrate(original, sorted({f.x_calib for f in to_quantize}),
                                                          calibration, quant)
    new_items = []
    for it in items:
        if not isinstance(it, FloatLayer):
            new_items.append(it)
        elif to_quantize:
            nodes, consts = q.quantize_layer(it, amax.get(it.x_calib), quant)
            new_items.extend(nodes)
            constants.update(consts)
        else:
            new_items.extend(it.float_nodes)
    items = new_items
    g = folded.graph
    inits = set(conv.consts)
    inputs = [TensorInfo(i.name, conv.shapes.get(i.name, ()), np_dtype(i.type.tensor_type.elem_type))
              for i in g.input if i.name not in inits]
    outputs = []
    for o in g.output:
        if o.name not in conv.shapes:
            raise AxmacError(f"cannot infer a static shape for graph output {o.name!r}")
        outputs.append(TensorInfo(o.name, conv.shapes[o.name], np_dtype(o.type.tensor_type.elem_type)))
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
