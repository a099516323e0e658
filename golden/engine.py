"""Bit-exact integer execution of a whole :class:`~axmac.ir.Network`.

Every :class:`~axmac.ir.MacLayer` runs on the PE product path of its multiplier (any
spec of the registry, built at the layer's own operand width and signedness) with the bypass of
the PE (:class:`~axmac.golden.bypass.Bypass`); additions are exact. Per layer:

.. math::

    \\mathrm{acc} = \\sum_k P(x_k - z_x,\\; w_k - z_w) + b \\qquad (\\text{int64})

then the :class:`~axmac.ir.OutputStage`:

* ``int32``:   ``y = int32(acc)``;
* ``requant``: ``y = sat(rhe(f32(acc) * s) + z_y)``, ``rhe`` = round half to even, ``sat`` =
  clamp to the output dtype (``np.iinfo``), and ``y >= z_y`` first when ``relu`` — the float32
  arithmetic of onnxruntime's ``MlasRequantizeOutput`` and of the ONNX ``QuantizeLinear`` spec;
* ``dequant``: ``y = f32(acc) * s`` (then ``max(y, 0)`` when ``relu``).

Every other node runs with ONNX semantics through :func:`axmac.golden.ops.run_op` (all the outputs
of a multi-output op such as Split or DynamicQuantizeLinear). Among them, a float ``Conv`` /
``Gemm`` / ``MatMul`` is a *float layer* a quantized model left unquantized: it runs in float32
(:mod:`axmac.golden.ops.float_mac`), takes no multiplier and is listed in
``Report.float_layers`` with its MAC count, apart from the array's layers.

A MAC layer with run-time parameters (``runtime_inputs``, e.g. a weight given as a graph input or
a zero point computed by DynamicQuantizeLinear: :class:`axmac.onnx_import.runtime.RuntimeMacLayer`)
is bound to this batch's values by its own ``bind(values)`` (the importer's conversion, rerun on
them), then runs like any other, with any multiplier; its operand format is fixed at import, so
the multiplier does not change from batch to batch. Graph inputs such a layer reads as
parameters (weights, scales, zero points) are not split into batches.

Bias correction (Kim et al., seed 003): a multiplier with mean relative error ``E[(P - ab)/ab]
= bias`` scales products by ``(1 + bias)`` on average, so with ``bias_correction=True`` the layer
output scale ``s`` becomes ``s / (1 + bias)`` (computed in float64, stored as float32). Exact
layers and ``int32`` stages (no scale) are left alone. The bias is the multiplier's own
(:func:`axmac.golden.metrics.error_metrics`, exhaustive up to 10 bits), before bypass.

Statistics (``stats=True``): per layer and in total, a
:class:`~axmac.golden.stats.TrivialStats` with Ma & Jiao's cases (a) zero, (b) one, (d)
add-zero, (e) opposite and the zero fractions of activations and weights.

The batch (axis 0 of every input) is processed ``batch_size`` samples at a time (default
:func:`auto_batch_size`: 256 MiB of activations, at most 1024 samples), so memory is bounded by
one batch whatever the number of samples; a model whose graph fixes the batch (a ``Reshape`` to
``[1, ...]``) needs ``batch_size=1``. A model with DynamicQuantizeLinear (``quantize_dynamic``)
computes its scales over the whole tensor, samples together, as onnxruntime does: by default such
a batch is not split (an explicit ``batch_size`` splits it, each part quantized on its own;
``batch_size=1`` quantizes sample by sample, as a deployed model sees them). ``trace=True`` keeps
every intermediate tensor and each MAC layer's accumulators (``Report.tensors``) for co-simulation.

Verified in tests/test_engine.py (brute-force reference), tests/test_conformance_nodes.py (onnx
backend node tests, run as written), tests/test_conformance_ort.py and tests/test_conformance_cnn.py
(onnxruntime-quantized models against onnx.reference node by node, and onnxruntime where exact).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import AxmacError
from .bypass import NO_BYPASS, Bypass
from .multipliers import make_multiplier
from .network_checks import check_graph, check_inputs, float_layers, layer_multipliers, parameter_inputs
from .ops import n_outputs, run_op
from .report import FloatLayerReport, LayerReport, Report
from .requant import requant_fixed_stage
from .stats import TrivialStats

__all__ = ["BATCH_BUDGET", "MAX_BATCH", "FloatLayerReport", "LayerReport", "Report", "auto_batch_size", "check_graph",
           "check_inputs", "layer_multipliers", "output_stage", "run_network"]

F32 = np.float32
#: How requant output stages round (see :func:`run_network`).
REQUANT_MODES = ("float", "fixed")


@dataclass
class _Prepared:
    """A MAC layer ready to run: multiplier, centered weights, scale (bias correction applied).

    For a layer with run-time parameters, :meth:`bind` refreshes ``layer`` / ``w`` / ``bias`` /
    ``scale`` from the values of its ``runtime_inputs`` (once per distinct set of arrays).
    """

    layer: object
    mult: object
    report: LayerReport
    correction: float = 1.0
    w: np.ndarray | None = None
    bias: np.ndarray | None = None
    scale: np.ndarray | None = None
    bound_to: tuple | None = None

    def set_layer(self, layer) -> None:
        self.layer = layer
        self.w = _centered_weight(layer)
        self.bias = None if layer.bias is None else np.asarray(layer.bias, dtype=np.int64)
        scale = None if layer.output.scale is None else np.asarray(layer.output.scale, dtype=F32)
        if self.correction != 1.0 and scale is not None:
            scale = (scale.astype(np.float64) * self.correction).astype(F32)
        self.scale = scale

    def bind(self, template, values: Mapping[str, np.ndarray]) -> None:
        names = tuple(getattr(template, "runtime_inputs", ()))
        if not names:
            return
        key = tuple(id(values[n]) for n in names)
        if key != self.bound_to:
            self.set_layer(template.bind({n: values[n] for n in names}))
            self.bound_to = key


def _centered_weight(layer) -> np.ndarray:
    w = np.asarray(layer.weight, dtype=np.int64)
    zp = np.asarray(layer.w_zero_point, dtype=np.int64)
    if zp.ndim and zp.size > 1:
        zp = zp.reshape(-1, 1, 1, 1) if layer.kind == "conv" else zp.reshape(1, -1)
    wc = w - zp
    layer.operand.check(wc, f"layer {layer.name}: centered weight")
    return wc.astype(np.int32)


def _prepare(net, specs, bias_correction, stats) -> list[_Prepared]:
    from .metrics import error_metrics

    cache = {}
    out = []
    for layer in net.mac_layers:
        spec = specs[layer.name]
        key = (spec, layer.operand)
        if key not in cache:
            cache[key] = make_multiplier(spec, layer.operand.bits, layer.operand.signed)
        mult = cache[key]
        correction = 1.0
        if bias_correction and not mult.is_exact and layer.output.kind != "int32":
            correction = 1.0 / (1.0 + float(error_metrics(mult)["bias"]))
        rep = LayerReport(layer.name, layer.kind, layer.source, mult.spec, str(layer.operand),
                          stats=TrivialStats() if stats else None, correction=correction)
        p = _Prepared(layer, mult, rep, correction)
        if not getattr(layer, "runtime_inputs", ()):
            p.set_layer(layer)
        out.append(p)
    return out


def output_stage(acc: np.ndarray, stage, scale: np.ndarray | None, channel_axis: int) -> np.ndarray:
    """Apply an :class:`~axmac.ir.OutputStage` to int64 accumulators (see module doc)."""
    if stage.kind == "int32":
        return acc.astype(np.int32)
    s = scale
    if s is not None and s.ndim and s.size > 1:
        shape = [1] * acc.ndim
        shape[channel_axis] = s.size
        s = s.reshape(shape)
    y = acc.astype(F32)
    y *= s
    if stage.kind == "dequant":
        return np.maximum(y, F32(0), out=y) if stage.relu else y
    if stage.kind != "requant":
        raise AxmacError(f"unknown output stage {stage.kind!r}")
    # rint: round half to even. rint(y) + zp is exact in float32 below 2**24 and saturates
    # beyond, so clamping in float32 equals the int64 formula.
    info = np.iinfo(np.dtype(stage.dtype))
    zp = int(stage.zero_point)
    lo = max(info.min, zp) if stage.relu else info.min
    if info.bits > 16:  # 32-bit outputs: the float32 shortcut would not be exact, use int64
        q = np.rint(y).astype(np.int64) + zp
        return np.clip(q, lo, info.max).astype(stage.dtype)
    np.rint(y, out=y)
    y += F32(zp)
    return np.clip(y, F32(lo), F32(info.max), out=y).astype(stage.dtype)


def _run_mac(p: _Prepared, x: np.ndarray, bypass: Bypass, k_tile, trace: dict | None = None,
             requant: str = "float") -> np.ndarray:
    from .conv import conv2d_nchw
    from .gemm import mac_gemm

    layer = p.layer
    if x.dtype.kind not in "iu":
        raise AxmacError(f"layer {layer.name}: input {layer.x!r} must be an integer tensor, got {x.dtype}")
    zp = int(layer.x_zero_point)
    wide = layer.operand.bits > (16 if layer.operand.signed else 15)
    if zp == 0 and x.dtype.itemsize <= 2:
        xc = x  # already centered; the kernels take any integer dtype
    else:
        xc = np.subtract(x, zp, dtype=np.int32 if wide else np.int16)
    st = TrivialStats() if p.report.stats is not None else None
    if layer.kind == "conv":
        acc = conv2d_nchw(xc, p.w, strides=layer.strides, pads=layer.pads, dilations=layer.dilations,
                          group=layer.group, mult=p.mult, bypass=bypass, stats=st, k_tile=k_tile)
        axis = 1
        p.report.macs += int(acc.size) * int(np.prod(p.w.shape[1:]))
    else:
        lead = xc.shape[:-1]
        acc = mac_gemm(xc.reshape(-1, xc.shape[-1]), p.w, mult=p.mult, bypass=bypass, stats=st, k_tile=k_tile)
        acc = acc.reshape(*lead, p.w.shape[1])
        axis = acc.ndim - 1
        p.report.macs += int(acc.size) * int(p.w.shape[0])
    if st is not None:
        if p.report.stats.w_count:  # each weight counts once per layer, not once per batch
            st.w_zeros = st.w_count = 0
        p.report.stats += st
    if p.bias is not None:
        shape = [1] * acc.ndim
        shape[axis] = -1
        acc += p.bias.reshape(shape)
    if trace is not None:
        trace[f"{layer.y}::acc"] = acc.copy()
    if requant == "fixed" and layer.output.kind == "requant":
        return requant_fixed_stage(acc, layer.output, p.scale, axis)
    return output_stage(acc, layer.output, p.scale, axis)


def run_network(net, inputs: Mapping[str, np.ndarray], *, multiplier: str = "exact",
                layers: Mapping[str, str] | None = None, bypass: Bypass = NO_BYPASS, bias_correction: bool = False,
                stats: bool = True, batch_size: int | None = None, k_tile: int | None = None,
                progress: Callable[[int], None] | None = None,
                trace: bool = False, requant: str = "float") -> tuple[dict[str, np.ndarray], Report]:
    """Execute ``net`` bit-exactly on ``inputs``.

    Parameters
    ----------
    net : Network
        From :func:`axmac.onnx_import.loader.load_model`.
    inputs : mapping
        ``{graph input name: array}``; dtypes and all but the first (batch) dimension must match.
    multiplier : str
        Spec of the multiplier of every MAC layer not named in ``layers``.
    layers : mapping, optional
        ``{layer name: spec}`` per-layer assignment.
    bypass : Bypass
        Trivial-computation bypass of the PEs (bypassed products are exact).
    bias_correction : bool
        Scale each approximate layer's requantization by ``1 / (1 + bias)`` (module docstring).
    stats : bool
        Collect :class:`TrivialStats` per layer (slower for exact layers: no BLAS path).
    batch_size : int, optional
        Samples per step (bounds memory); default :func:`auto_batch_size`.
    k_tile : int, optional
        Accumulation chain length for the (d)/(e) statistics (the array's K tiling).
    progress : callable, optional
        Called with the number of samples finished after each batch.
    trace : bool
        Keep every intermediate tensor and each MAC layer's accumulators in ``Report.tensors``
        (all samples: memory grows with the number of samples; meant for co-simulation).
    requant : "float" | "fixed"
        How ``requant`` output stages round: ``float`` = float32 scale and round half to even, as
        onnxruntime; ``fixed`` = the array's integer multiplier and rounding shift
        (:func:`axmac.golden.requant.requant_fixed_stage`, the output stage of the RTL).

    Returns
    -------
    (outputs, report)
        ``{graph output name: array}`` and a :class:`Report`.
    """
    if not isinstance(bypass, Bypass):
        raise AxmacError(f"bypass must be a Bypass, not {type(bypass).__name__}")
    if requant not in REQUANT_MODES:
        raise AxmacError(f"requant must be one of {', '.join(REQUANT_MODES)}, not {requant!r}")
    coupled = batch_size is None and any(getattr(n, "op_type", "") == "DynamicQuantizeLinear" for n in net.nodes)
    if batch_size is None:
        batch_size = auto_batch_size(net)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise AxmacError(f"batch_size must be a positive integer, not {batch_size!r}")
    specs = layer_multipliers(net, multiplier, layers)
    feeds, n = check_inputs(net, inputs)
    check_graph(net)
    t0 = time.perf_counter()
    prepared = _prepare(net, specs, bias_correction, stats)
    by_node = {id(p.layer): p for p in prepared}
    floats = {id(n): FloatLayerReport(n.name, n.op_type) for n in float_layers(net)}
    chunks: dict[str, list[np.ndarray]] = {t.name: [] for t in net.outputs}
    traced: dict[str, list[np.ndarray]] = {}
    params = parameter_inputs(net)
    batched = all(a.ndim >= 1 for k, a in feeds.items() if k not in params) and n > batch_size and not coupled
    steps = range(0, n, batch_size) if batched else [0]
    for s0 in steps:
        values = dict(net.constants)
        for name, a in feeds.items():
            values[name] = a[s0:s0 + batch_size] if batched and name not in params else a
        accs = {} if trace else None
        for node in net.nodes:
            p = by_node.get(id(node))
            if p is not None:
                p.bind(node, values)
                values[node.y] = _run_mac(p, values[node.x], bypass, k_tile, accs, requant)
                continue
            args = [values[i] if i else None for i in node.inputs]
            res = _node_result(node, args, net)
            outs = node.outputs[:n_outputs(node.op_type, node.domain, len(node.outputs))]
            for o, v in zip(outs, res if isinstance(res, tuple) else (res,), strict=True):
                if o:
                    values[o] = v
            if id(node) in floats:
                floats[id(node)].macs += _float_macs(node, args, values[node.outputs[0]])
        for t in net.outputs:
            chunks[t.name].append(values[t.name])
        if trace:
            for k, v in [*values.items(), *accs.items()]:
                if k not in net.constants:
                    traced.setdefault(k, []).append(v)
        if progress is not None:
            progress(min(batch_size, n - s0) if batched else n)
    outputs = {k: (np.concatenate(v) if len(v) > 1 else v[0]) for k, v in chunks.items()}
    report = Report([p.report for p in prepared], samples=n, seconds=time.perf_counter() - t0, bypass=str(bypass),
                    tensors={k: (np.concatenate(v) if len(v) > 1 else v[0]) for k, v in traced.items()},
                    float_layers=list(floats.values()))
    return outputs, report


def _float_macs(node, args: list, y: np.ndarray) -> int:
    """Multiply-accumulates of a float Conv / Gemm / MatMul that produced ``y``: outputs times the
    products summed into each (``C/group * prod(kernel)``, or the inner dimension K)."""
    a, w = args[0], args[1]
    if node.op_type == "Conv":
        return int(y.size) * int(np.prod(w.shape[1:], dtype=np.int64))
    if node.op_type == "Gemm":
        return int(y.size) * int(a.shape[0] if node.attrs.get("transA", 0) else a.shape[-1])
    return int(y.size) * int(a.shape[-1])


#: activation memory one batch may use (bytes), see :func:`auto_batch_size`
BATCH_BUDGET = 256 << 20
MAX_BATCH = 1024


def auto_batch_size(net) -> int:
    """Samples per step so that one batch's activations stay within :data:`BATCH_BUDGET`.

    The largest per-sample activation (``Network.shapes``, batch 1) counted three times at
    8 bytes (input, int64 accumulator and output of a layer live at once); at most
    :data:`MAX_BATCH`. 256 when the network carries no shapes.
    """
    from ..ir import MacLayer

    names = {t.name for t in net.inputs}
    for node in net.nodes:
        names.update([node.y] if isinstance(node, MacLayer) else node.outputs)
    sizes = [int(np.prod(net.shapes[n][1:], dtype=np.int64)) for n in names
             if n in getattr(net, "shapes", {}) and len(net.shapes[n]) > 1]
    if not sizes:
        return 256
    return int(max(1, min(MAX_BATCH, BATCH_BUDGET // (3 * 8 * max(max(sizes), 1)))))


def _node_result(node, args, net):
    try:
        return run_op(node.op_type, args, node.attrs, node.domain, opset=getattr(net, "opset", 0),
                      n_out=len(node.outputs))
    except AxmacError as e:
        raise AxmacError(f"node {node.name!r}: {e}") from None
