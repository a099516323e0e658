"""MAC layers whose parameters are run-time tensors (weights given as graph inputs, zero points
computed by DynamicQuantizeLinear, scales fed by the user).

A form converter splits a MAC node into a *skeleton* (name, kind, input, output, convolution
attributes, source: fixed by the graph) and a pure *parameter function* ``params(get)`` that reads
the node's other inputs through ``get(index, what, required)`` and returns the weight, zero
points, bias, output stage and scales. :func:`build_layer` calls it once with the constants when
every parameter input is constant (an ordinary :class:`~axmac.ir.MacLayer`), else makes a
:class:`RuntimeMacLayer` whose :meth:`~RuntimeMacLayer.bind` calls it again on the run-time
values: the same conversion, the same checks, for constants and run-time tensors alike.

The operand format of a run-time layer is fixed at import (the multiplier must not change from
batch to batch): the centered activation range is the input dtype's range minus the zero point
when that is constant, else minus any code of its dtype (``[min - max, max - min]``); the weight
range likewise from the actual constant weights or the weight dtype's range. Binding checks that
the run-time weights fit it.

Such a layer runs in the golden engine with any multiplier, but cannot be mapped to the array
(its weights are not known when the array is loaded): :func:`runtime_weight_error` is the check
schedules and lowering make.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import AxmacError
from ..ir import MacLayer, OperandFormat


@dataclass
class RuntimeMacLayer(MacLayer):
    """A :class:`~axmac.ir.MacLayer` some of whose parameters come from run-time tensors.

    ``weight`` is a zero placeholder of the weight's static shape (for shapes and GEMM
    dimensions only); ``weight_input`` names the tensor the weight comes from (``""`` when the
    weight is constant and only zero points or scales are run-time); ``runtime_inputs`` lists
    every run-time tensor the layer reads besides ``x``.
    """

    weight_input: str = ""
    runtime_inputs: tuple[str, ...] = ()
    #: the pure parameter function of the form converter (module doc), the node's input names and
    #: the constants among them
    params: Callable | None = field(default=None, repr=False, compare=False)
    node_inputs: tuple[str, ...] = ()
    constants: dict = field(default_factory=dict, repr=False, compare=False)

    def bind(self, values: Mapping[str, np.ndarray]) -> MacLayer:
        """The ordinary MacLayer of this layer for the run-time ``values`` (``{name: array}``)."""

        def get(idx, what, required=True):
            name = self.node_inputs[idx] if idx < len(self.node_inputs) else ""
            if not name:
                if required:
                    raise AxmacError(f"layer {self.name!r}: missing {what}")
                return None
            v = np.asarray(values[name]) if name in values else self.constants[name]
            return check_finite(v, f"layer {self.name!r}: {what} {name!r}")

        p = self.params(get)
        layer = MacLayer(name=self.name, kind=self.kind, x=self.x, y=self.y, operand=self.operand, source=self.source,
                         strides=self.strides, pads=self.pads, dilations=self.dilations, group=self.group, **p)
        if layer.weight.shape != self.weight.shape:
            raise AxmacError(f"layer {self.name!r}: run-time weight {self.weight_input!r} has shape "
                             f"{layer.weight.shape}, the model declares {self.weight.shape}")
        return layer


def runtime_weight_error(layer) -> AxmacError | None:
    """The error mapping ``layer`` to the MAC array must raise, or None when it can be mapped.

    Schedules and lowering call it for every MAC layer: a layer whose weight (or zero points or
    scales) are run-time tensors runs in the golden engine, not on the array.
    """
    names = tuple(getattr(layer, "runtime_inputs", ()))
    if not names:
        return None
    w = getattr(layer, "weight_input", "")
    what = f"its weight from the run-time tensor {w!r}" if w else f"run-time parameters ({', '.join(names)})"
    return AxmacError(f"layer {layer.name!r} reads {what}: only layers with constant weights and quantization "
                      "parameters can be mapped to the MAC array (the golden engine runs it: axmac run / emulate)")


def check_finite(v, what: str):
    """``v`` itself, or :class:`AxmacError` naming ``what`` when a float ``v`` holds NaN or infinity."""
    a = np.asarray(v)
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        bad = "NaN" if np.isnan(a).any() else "infinity"
        raise AxmacError(f"{what} contains {bad}")
    return v


def dtype_range(dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def centered_range(dtype, zp) -> tuple[int, int]:
    """Range of ``v - zp`` for ``v`` of ``dtype``; ``zp`` None means any code of ``dtype``."""
    lo, hi = dtype_range(dtype)
    if zp is None:
        return lo - hi, hi - lo
    zp = np.asarray(zp, np.int64)
    return lo - int(zp.max()), hi - int(zp.min())


def build_layer(cx, node, skeleton: dict, params: Callable, param_inputs: dict[int, str], x_dtype, w_dtype,
                weight_shape, fmt_of: Callable[[dict], OperandFormat]) -> MacLayer:
    """A MacLayer (all parameters constant) or a :class:`RuntimeMacLayer` (see module doc).

    ``param_inputs``: ``{input index: role}`` of the node's parameter inputs, with roles
    ``"weight"``, ``"x_zero_point"``, ``"w_zero_point"`` or anything else (scales, bias).
    ``fmt_of(p)``: the operand format of the constant parameters ``p``.
    """
    inputs = list(node.input)
    runtime = {idx: inputs[idx] for idx in param_inputs if idx < len(inputs) and inputs[idx]
               and inputs[idx] not in cx.consts}
    if not runtime:
        p = params(lambda idx, what, required=True: cx.const(node, idx, what, required))
        return MacLayer(**skeleton, operand=fmt_of(p), **p)
    roles = {param_inputs[idx]: name for idx, name in runtime.items()}
    const_of = {role: cx.consts[inputs[idx]] for idx, role in param_inputs.items()
                if idx < len(inputs) and inputs[idx] in cx.consts}
    x_zp = None if "x_zero_point" in roles else const_of.get("x_zero_point", 0)
    w_zp = None if "w_zero_point" in roles else const_of.get("w_zero_point", 0)
    if "weight" in roles:
        w_rng = centered_range(w_dtype, w_zp)
    else:
        w = np.asarray(const_of["weight"], np.int64)
        zp = np.asarray(0 if w_zp is None else w_zp, np.int64)
        lo = int(w.min()) - (int(zp.max()) if w_zp is not None else dtype_range(w_dtype)[1])
        hi = int(w.max()) - (int(zp.min()) if w_zp is not None else dtype_range(w_dtype)[0])
        w_rng = (lo, hi)
    from .convert import operand_format

    layer = RuntimeMacLayer(**skeleton, weight=np.zeros(weight_shape, np.int64),
                            operand=operand_format(centered_range(x_dtype, x_zp), w_rng),
                            output=_placeholder_output(cx, node), weight_input=roles.get("weight", ""),
                            runtime_inputs=tuple(runtime.values()), params=params, node_inputs=tuple(inputs),
                            constants={n: cx.consts[n] for n in inputs if n in cx.consts})
    return layer


def _placeholder_output(cx, node):
    """The output stage's kind and dtype, known from the graph (its scale comes at bind time)."""
    from ..ir import OutputStage

    y = node.output[0]
    dt = np.dtype(np.float32) if y not in cx.etypes else cx.dtype_of(y)
    if node.op_type in ("ConvInteger", "MatMulInteger"):
        return OutputStage("int32")
    return OutputStage("requant" if dt.kind in "iu" else "dequant", dtype=dt)
