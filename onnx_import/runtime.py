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

    ``weight_input`` names the tensor the weight comes from (``""`` when the weight is constant
    and only zero points or scales are run-time); ``runtime_inputs`` lists every run-time tensor
    the layer reads besides ``x``, ``runtime_roles`` their roles. Until bound, a run-time weight
    is zeros of its static shape (for shapes and GEMM dimensions only), and run-time scales and
    zero points are placeholders too.
    """

    weight_input: str = ""
    runtime_inputs: tuple[str, ...] = ()
    #: the role of each run-time input: "weight", "w_zero_point", "x_zero_point", "x_scale", ...
    runtime_roles: tuple[str, ...] = ()
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

    Schedules, lowering and RTL generation call it for every MAC layer (or :func:`check_mappable`):
    a layer whose weight or weight zero point is a run-time tensor runs in the golden engine, not
    on the array, whose weights are loaded before the activations stream. Run-time activation zero
    points and scales (DynamicQuantizeLinear) do not stop the mapping: the weights are constant.
    """
    roles = dict(zip(getattr(layer, "runtime_roles", ()), getattr(layer, "runtime_inputs", ()), strict=True))
    if "weight" not in roles and "w_zero_point" not in roles:
        return None
    what = f"its weight from the run-time tensor {roles['weight']!r}" if "weight" in roles else \
        f"its weight zero point from the run-time tensor {roles['w_zero_point']!r}"
    return AxmacError(f"layer {layer.name!r} reads {what}: only constant weights can be mapped to the MAC array "
                      "(the golden engine runs it: axmac run / emulate)")


def check_mappable(net) -> None:
    """:class:`AxmacError` for the first MAC layer of ``net`` that cannot be mapped to the array
    (:func:`runtime_weight_error`)."""
    for layer in net.mac_layers:
        err = runtime_weight_error(layer)
        if err is not None:
            raise err


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
                fmt_of: Callable[[dict], OperandFormat]) -> MacLayer:
    """A MacLayer (all parameters constant) or a :class:`RuntimeMacLayer` (see module doc).

    ``param_inputs``: ``{input index: role}`` of the node's parameter inputs, with roles
    ``"weight"``, ``"x_zero_point"``, ``"w_zero_point"`` or anything else (scales, bias).
    ``fmt_of(p)``: the operand format of the constant parameters ``p``. A run-time layer's fields
    come from ``params`` on its constants and placeholders of the run-time tensors (zeros, or ones
    for scales, of their static shapes): its weight and weight zero point are the real ones when
    constant; its scales and activation zero point are placeholders until bound.
    """
    inputs = list(node.input)
    runtime = {idx: inputs[idx] for idx in param_inputs if idx < len(inputs) and inputs[idx]
               and inputs[idx] not in cx.consts}
    if not runtime:
        p = params(lambda idx, what, required=True: cx.const(node, idx, what, required))
        return MacLayer(**skeleton, operand=fmt_of(p), **p)
    roles = {param_inputs[idx]: name for idx, name in runtime.items()}

    def placeholder(idx, what, required=True):
        name = inputs[idx] if idx < len(inputs) else ""
        if not name or name in cx.consts:
            return cx.const(node, idx, what, required)
        dt = cx.dtype_of(name)
        shape = cx.shape_of(node, name)
        return np.ones(shape, dt) if dt.kind == "f" else np.zeros(shape, dt)

    p = params(placeholder)
    x_zp = None if "x_zero_point" in roles else p["x_zero_point"]
    w_zp = None if "w_zero_point" in roles else p["w_zero_point"]
    if "weight" in roles:
        w_rng = centered_range(w_dtype, w_zp)
    else:
        w = np.asarray(p["weight"], np.int64)
        if w_zp is None:
            w_rng = (int(w.min()) - dtype_range(w_dtype)[1], int(w.max()) - dtype_range(w_dtype)[0])
        else:
            wz = np.asarray(w_zp, np.int64)
            if wz.ndim:
                wz = wz.reshape((-1,) + (1,) * (w.ndim - 1)) if skeleton["kind"] == "conv" else wz.reshape(1, -1)
            w_rng = (int((w - wz).min()), int((w - wz).max()))
    from .convert import operand_format

    return RuntimeMacLayer(**skeleton, **p, operand=operand_format(centered_range(x_dtype, x_zp), w_rng),
                           weight_input=roles.get("weight", ""), runtime_roles=tuple(roles),
                           runtime_inputs=tuple(roles.values()), params=params, node_inputs=tuple(inputs),
                           constants={n: cx.consts[n] for n in inputs if n in cx.consts})
