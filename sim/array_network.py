"""A quantized network's MAC layers through the array testbench (inside the simulator process).

:func:`network_body` is the job body of ``axmac verify MODEL``. The golden engine runs the
network once with ``trace=True`` (every tensor and each MAC layer's accumulators). Then each
chosen MAC layer is lowered to GEMMs with its real operands (``onnx_import.lower``: im2col of its
quantized input, centered weights, bias per output channel) and sent through the RTL by
:func:`~axmac.sim.array_run.run_gemm` (every ``o`` beat and cycle checked against the golden array
model). The layer's results are checked against the golden engine:

* a layer whose output stage is ``requant`` (and an array with a ``requant`` stage) is requantized
  by the array in fixed point (``golden/requant.py``): its output must equal the engine's
  accumulators through that stage (``requant_fixed_stage``); the elements where the engine's
  float32 requantization differs (by 1 LSB, documented there) are counted, not failed;
* any other layer (``int32``, ``dequant``) gets the accumulators plus bias from the array
  (``requant = 0``): they must equal the engine's ``"<y>::acc"``, and the engine's own output stage
  then makes the layer's output from them.

With ``layers=None`` a whole inference goes layer by layer through the RTL: the nodes run in
order, MAC layers on the RTL fed with what the RTL produced before, every other node in golden
(:func:`axmac.golden.ops.run_op`); the predicted classes must equal the golden engine's.
"""

from __future__ import annotations

import time

import numpy as np

from ..config import ArrayConfig
from ..errors import AxmacError
from ..golden.bypass import Bypass
from ..golden.engine import output_stage, run_network
from ..golden.ops import n_outputs, run_op
from ..golden.requant import RequantParams, requant_fixed_stage
from ..ir import MacLayer
from ..onnx_import.lower import col2out, im2col, weight_matrix
from ..onnx_import.runtime import runtime_weight_error
from .array_run import run_gemm
from .array_tb import Mismatch
from .cosim import report_progress


def _scale(layer):
    return None if layer.output.scale is None else np.asarray(layer.output.scale, dtype=np.float32)


def _axis(layer, ndim: int) -> int:
    return 1 if layer.kind == "conv" else ndim - 1


def _first_difference(got: np.ndarray, want: np.ndarray, what: str, layer: str) -> None:
    bad = np.argwhere(got != want)
    if bad.size:
        idx = tuple(int(v) for v in bad[0])
        raise Mismatch({"what": what, "layer": layer, "element": list(idx), "got": got[idx].item(),
                        "want": want[idx].item(), "note": f"{len(bad)} of {got.size} elements differ"})


async def rtl_layer(tb, cfg: ArrayConfig, layer: MacLayer, x: np.ndarray, rng, idle: float, stall: float):
    """Run ``layer`` on input ``x`` through the RTL; return ``(output tensor, accumulators or
    None, figures)`` (module docstring: which output stage runs where)."""
    xg = im2col(layer, x)
    wg = weight_matrix(layer)
    bias = None if layer.bias is None else np.asarray(layer.bias, np.int64)
    stage, scale = layer.output, _scale(layer)
    requant = None
    if stage.kind == "requant" and cfg.output_stage == "requant":
        requant = RequantParams.from_scale(scale, zp=int(stage.zero_point), dtype=stage.dtype, relu=bool(stage.relu))
    try:
        y, figs = await run_gemm(tb, cfg, xg, wg, bias=bias, requant=requant, rng=rng, idle=idle, stall=stall,
                                 label=layer.name)
    except Mismatch as e:
        e.info["layer"] = layer.name
        raise Mismatch(e.info) from None
    figs.update(name=layer.name, groups=int(xg.shape[0]), M=int(xg.shape[1]), K=int(xg.shape[2]),
                N=int(wg.shape[2]))
    out = col2out(layer, y, x.shape)
    if requant is not None:
        return out.astype(stage.dtype), None, figs
    return output_stage(out.copy(), stage, scale, _axis(layer, out.ndim)), out, figs


def check_layer(layer: MacLayer, out, acc, golden: dict, figs: dict) -> None:
    """The RTL's layer results against the golden engine's trace (same input)."""
    want_acc = golden[f"{layer.y}::acc"]
    if acc is not None:
        _first_difference(acc, want_acc, "accumulator vs the golden engine", layer.name)
        return
    fixed = requant_fixed_stage(want_acc, layer.output, _scale(layer), _axis(layer, want_acc.ndim))
    _first_difference(out, fixed, "requantized output vs the golden engine (fixed-point stage)", layer.name)
    figs["float_requant_differences"] = int((out != golden[layer.y]).sum())


def _node(node, values: dict, net) -> None:
    args = [values[i] if i else None for i in node.inputs]
    res = run_op(node.op_type, args, node.attrs, node.domain, opset=getattr(net, "opset", 0), n_out=len(node.outputs))
    outs = node.outputs[:n_outputs(node.op_type, node.domain, len(node.outputs))]
    for o, v in zip(outs, res if isinstance(res, tuple) else (res,), strict=True):
        if o:
            values[o] = v


def top1(logits: np.ndarray, n: int) -> np.ndarray:
    return np.asarray(logits).reshape(n, -1).argmax(axis=1)


async def network_body(tb, *, config: dict, net, inputs: dict, layers: list | None = None, labels=None,
                       seed: int = 0, idle: float = 0.0, stall: float = 0.0) -> dict:
    """Verify ``layers`` (names) of ``net`` on ``inputs`` through the RTL, or (``None``) a whole
    inference layer by layer (module docstring)."""
    cfg = ArrayConfig.from_dict(config)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    outs, rep = run_network(net, inputs, multiplier=cfg.multiplier, bypass=Bypass.parse(cfg.bypass), trace=True,
                            stats=False)
    golden = rep.tensors
    golden_seconds = time.perf_counter() - t0
    macs = {la.name: la.macs for la in rep.layers}
    chosen = [n for n in net.mac_layers if layers is None or n.name in layers]
    total = sum(macs[la.name] for la in chosen)
    done, results = 0, []
    values = dict(net.constants) | dict(inputs)
    for node in net.nodes if layers is None else chosen:
        if not isinstance(node, MacLayer):
            _node(node, values, net)
            continue
        source = values if layers is None else golden
        x = source[node.x]
        if getattr(node, "runtime_inputs", ()):  # run-time activation zero points: bound per input
            node = node.bind({n: source[n] for n in node.runtime_inputs})
        out, acc, figs = await rtl_layer(tb, cfg, node, x, rng, idle, stall)
        if layers is not None or np.array_equal(x, golden[node.x]):
            check_layer(node, out, acc, golden, figs)
        else:
            figs["input_differs_from_engine"] = True  # fixed- vs float-point requantization upstream
        values[node.y] = out
        results.append(figs)
        done += macs[node.name]
        report_progress(done, total)
    res = {"layers": results, "golden_seconds": golden_seconds}
    if layers is None:
        name = net.outputs[0].name
        n = len(next(iter(inputs.values())))
        pred, want = top1(values[name], n), top1(outs[name], n)
        res.update(predicted=pred.tolist(), golden_predicted=want.tolist(), agreement=float((pred == want).mean()))
        if labels is not None:
            labels = np.asarray(labels)
            res.update(accuracy=float((pred == labels).mean()), golden_accuracy=float((want == labels).mean()))
        if not (pred == want).all():
            i = int(np.flatnonzero(pred != want)[0])
            raise Mismatch({"what": "predicted class", "element": [i], "got": int(pred[i]), "want": int(want[i]),
                            "note": f"{int((pred != want).sum())} of {n} samples differ"})
    return res


def check_layers(net, cfg: ArrayConfig, layers: list | None) -> None:
    """Raise :class:`AxmacError` for what the array cannot run: unknown layer names, layers whose
    operands are not the array's, layers whose weights are run-time inputs
    (:func:`~axmac.onnx_import.runtime.runtime_weight_error`)."""
    names = [la.name for la in net.mac_layers]
    if not names:
        raise AxmacError("the model has no MAC layer (Conv / Gemm / MatMul) to verify")
    for name in layers or []:
        if name not in names:
            raise AxmacError(f"--layer {name!r}: no such MAC layer (layers: {', '.join(names)})")
    for la in net.mac_layers:
        if layers is not None and la.name not in layers:
            continue
        err = runtime_weight_error(la)
        if err is not None:
            raise err
        if la.operand != cfg.operand:
            raise AxmacError(f"layer {la.name!r} has {la.operand} operands, the array {cfg.operand}: "
                             f"use --bits {la.operand.bits} --{'signed' if la.operand.signed else 'unsigned'}")
