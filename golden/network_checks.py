"""Checks of a :class:`~axmac.ir.Network` and of what it is run with, before the golden engine runs
it: the multiplier of every MAC layer, the float layers (which take none), the inputs' names,
dtypes and shapes (and which of them are whole parameters, not batches), and that every tensor a
node reads is computed before it."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import AxmacError
from .ops import FLOAT_MAC_OPS, n_outputs


def layer_multipliers(net, multiplier: str = "exact", layers: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{layer name: spec}`` for every MAC layer: ``layers[name]`` or the default ``multiplier``.

    Raises :class:`AxmacError` when ``layers`` names a layer the network does not have, or a
    float layer (which runs in float32 and takes no multiplier).
    """
    names = [layer.name for layer in net.mac_layers]
    floats = {n.name for n in float_layers(net)}
    layers = dict(layers or {})
    float_named = [k for k in layers if k in floats and k not in names]
    if float_named:
        raise AxmacError(f"layer map names {float_named[0]!r}, a float layer the model leaves unquantized: it runs in "
                         "float32 and takes no multiplier (quantize it at import to map it to the array)")
    unknown = [k for k in layers if k not in names]
    if unknown:
        raise AxmacError(f"layer map names unknown layer {unknown[0]!r} (layers: {', '.join(names)})")
    for k, v in layers.items():
        if not isinstance(v, str):
            raise AxmacError(f"layer map: the multiplier of {k!r} must be a spec string, not {v!r}")
    return {n: layers.get(n, multiplier) for n in names}


def float_layers(net) -> list:
    """The float Conv / Gemm / MatMul nodes of ``net`` (not MAC layers: they run in float32)."""
    from ..ir import MacLayer

    return [n for n in net.nodes if not isinstance(n, MacLayer) and n.domain in ("", "ai.onnx")
            and n.op_type in FLOAT_MAC_OPS]


def parameter_inputs(net) -> set[str]:
    """Graph inputs that MAC layers read as run-time parameters (weights, scales, zero points; the
    weight and bias of a float layer): whole tensors, never split into batches."""
    names = {t.name for t in net.inputs}
    params = {r for layer in net.mac_layers for r in getattr(layer, "runtime_inputs", ())}
    params.update(i for n in float_layers(net) for i in n.inputs[1:])
    return params & names


def check_input_names(given, names: list[str]) -> None:
    """:class:`AxmacError` for the first model input ``given`` lacks, or the first name it has that is
    no model input."""
    missing = [n for n in names if n not in given]
    if missing:
        raise AxmacError(f"missing input {missing[0]!r} (the model's inputs: {', '.join(names)})")
    extra = [n for n in given if n not in names]
    if extra:
        raise AxmacError(f"unknown input {extra[0]!r}, which is not a graph input (the model's inputs: "
                         f"{', '.join(names)})")


def check_inputs(net, inputs: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
    """Check names, dtypes and shapes (all but the batch axis) of the inputs; return them and the
    batch size (of the batched inputs: all but :func:`parameter_inputs`, whose shapes must match whole)."""
    if not isinstance(inputs, Mapping):
        raise AxmacError("inputs must be a mapping {input name: array}")
    check_input_names(inputs, [t.name for t in net.inputs])
    params = parameter_inputs(net)
    out = {}
    batch = None
    for t in net.inputs:
        a = np.asarray(inputs[t.name])
        if a.dtype != np.dtype(t.dtype):
            raise AxmacError(f"input {t.name!r} has dtype {a.dtype}, the model expects {np.dtype(t.dtype)}")
        want = tuple(t.shape)
        if t.name in params:
            if want and a.shape != want:
                raise AxmacError(f"input {t.name!r} has shape {a.shape}, the model expects {want}")
        elif want and (a.ndim != len(want) or tuple(a.shape[1:]) != want[1:]):
            raise AxmacError(f"input {t.name!r} has shape {a.shape}, the model expects "
                             f"({'N' if len(want) else ''}{''.join(f', {d}' for d in want[1:])})")
        elif a.ndim:
            if batch is not None and a.shape[0] != batch:
                raise AxmacError(f"inputs disagree on the batch size: {batch} and {a.shape[0]} ({t.name!r})")
            batch = a.shape[0]
        out[t.name] = a
    return out, (batch or 1)


def check_graph(net) -> None:
    """Every tensor a node reads is a graph input, a constant or an output an earlier node computes,
    and every graph output is produced (the engine computes :func:`~axmac.golden.ops.n_outputs`
    of a node's outputs: all of Split's and DynamicQuantizeLinear's, the first one of others)."""
    from ..ir import MacLayer

    known = {t.name for t in net.inputs} | set(net.constants)
    for node in net.nodes:
        mac = isinstance(node, MacLayer)
        reads = [node.x, *getattr(node, "runtime_inputs", ())] if mac else [i for i in node.inputs if i]
        for r in reads:
            if r not in known:
                raise AxmacError(f"node {node.name!r} reads {r!r}, which no earlier node produces "
                                 "(of Dropout's, MaxPool's... outputs only the first one is computed)")
        known.update([node.y] if mac else node.outputs[:n_outputs(node.op_type, node.domain, len(node.outputs))])
    missing = [t.name for t in net.outputs if t.name not in known]
    if missing:
        raise AxmacError(f"graph output {missing[0]!r} is not produced by any node")
