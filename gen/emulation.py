"""Accuracy of a network with approximate multipliers on a labelled dataset (``axmac emulate``).

:func:`emulate` quantizes the model (a float one) with calibration images from the dataset's
training split, runs it bit-exactly on the test images twice -- once with the given arithmetic
(statistics on) and once with exact multipliers (the *exact integer model*) -- and scores both
against the labels, and the model as given under onnxruntime (:func:`ort_accuracy`). Where the
model uses integer kernels and onnxruntime's own integer kernels are not exact on this CPU
(:func:`axmac.onnx_import.ort_probe.ort_exactness`), the result says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import AxmacError

#: ONNX operators onnxruntime runs with its integer kernels (QDQ pairs are fused into them).
INTEGER_OPS = frozenset({"QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "QGemm",
                         "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"})


def _ort_errors() -> tuple[type[BaseException], ...]:
    """The exception types onnxruntime raises for a model or feed it cannot run."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    own = [e for e in vars(state).values() if isinstance(e, type) and issubclass(e, Exception)]
    return (*own, RuntimeError, ValueError, TypeError)


def ort_accuracy(model: str | Path, name: str, x: np.ndarray, y: np.ndarray) -> float | None:
    """Top-1 accuracy of the model as given under onnxruntime; ``None`` if onnxruntime cannot run it."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 4  # its refusals are our None, not lines on stderr
    try:
        sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
        out = sess.run(None, {name: x})[0]
    except _ort_errors():
        return None
    return float((np.asarray(out).reshape(len(y), -1).argmax(1) == y).mean())


def ort_integer_note(model: str | Path) -> str | None:
    """Why onnxruntime's accuracy of ``model`` is not that of exact integer arithmetic, or ``None``.

    Only models that run on onnxruntime's integer kernels are concerned; the reason is the probe's
    (:func:`axmac.onnx_import.ort_probe.ort_exactness`, which names the CPU feature).
    """
    import onnx

    from ..onnx_import.ort_probe import ort_exactness

    ops = {n.op_type for n in onnx.load(str(model), load_external_data=False).graph.node}
    if not ops & INTEGER_OPS:
        return None
    probe = ort_exactness()
    return None if probe.exact else probe.reason


def emulate(model, dataset, *, multiplier="exact", layers=None, bypass=None, bias_correction=False, limit=None,
            batch_size=None, k_tile=None, stats=True, quant=None, input_shapes=None, ort_ref=True,
            progress=None, requant="float", float_layers="auto") -> tuple[dict, object]:
    """Run the emulation; return ``(results dict, Report of the approximate run)``.

    Parameters
    ----------
    model : path or None
        The ONNX model; ``None``: the bundled model of a built-in dataset.
    dataset : str or path
        ``"mnist"``, ``"digits"`` or an npz (:func:`axmac.gen.datasets.load_dataset`).
    multiplier, layers, bypass, bias_correction, batch_size, k_tile, stats, requant
        As :func:`axmac.golden.engine.run_network`.
    float_layers : "auto" | "quantize" | "float"
        As :func:`axmac.onnx_import.loader.load_model`.
    limit : int, optional
        Use only the first ``limit`` test samples.
    quant : QuantConfig, optional
        How a float model is quantized.
    input_shapes : dict, optional
        ``{input name: shape}`` fixing dynamic input dims (by default the dataset's images fix them).
    ort_ref : bool
        Also score the model as given under onnxruntime.
    progress : callable or tqdm bar, optional
        Called with the number of samples just finished (a bar's total is set to the sample count).
    """
    from ..golden.bypass import Bypass
    from ..golden.engine import run_network
    from ..onnx_import.inputs import shapes_from_arrays
    from ..onnx_import.loader import load_model
    from .datasets import load_dataset, model_or_bundled
    from .modelinfo import single_input

    bypass = bypass or Bypass()
    model = model_or_bundled(model, dataset)
    name, want, _ = single_input(model, "emulate")
    x, y, calib = load_dataset(dataset)
    if limit is not None:
        if limit < 1:
            raise AxmacError(f"--limit must be positive, not {limit}")
        x, y = x[:limit], y[:limit]
    if want is not None and want.kind == "f":  # float64 images from a user's npz
        x = x.astype(want, copy=False) if x.dtype.kind == "f" else x
        calib = calib.astype(want, copy=False) if calib.dtype.kind == "f" else calib
    shapes = {**shapes_from_arrays(model, {name: x}), **(input_shapes or {})}  # dynamic dims from the dataset
    net = load_model(model, quant=quant, calibration={name: calib}, input_shapes=shapes, float_layers=float_layers)
    if not net.outputs:
        raise AxmacError(f"{model} has no graph outputs: emulate scores the first one")
    if hasattr(progress, "reset"):
        progress.reset(total=len(y))
    update = getattr(progress, "update", progress)
    # warm-up on one sample: JIT compilation of the kernels stays out of the measured throughput
    run_network(net, {name: x[:1]}, multiplier=multiplier, layers=layers, bypass=bypass, stats=stats,
                k_tile=k_tile, requant=requant)
    out, rep = run_network(net, {name: x}, multiplier=multiplier, layers=layers, bypass=bypass,
                           bias_correction=bias_correction, stats=stats, batch_size=batch_size, k_tile=k_tile,
                           progress=update, requant=requant)
    pred = _top1(out[net.outputs[0].name], len(y))
    all_exact = rep.layers and all(layer.multiplier == "exact" for layer in rep.layers)
    exact_seconds = None
    if all_exact and not bias_correction:
        pred_exact = pred  # bypassed products are exact too: the exact integer model itself
    else:
        out_e, rep_e = run_network(net, {name: x}, stats=False, batch_size=batch_size, requant=requant)
        pred_exact = _top1(out_e[net.outputs[0].name], len(y))
        exact_seconds = rep_e.seconds
    results = {
        "model": model, "dataset": str(dataset), "samples": int(len(y)),
        "multiplier": multiplier, "layers": {layer.name: layer.multiplier for layer in rep.layers},
        "bypass": str(bypass), "bias_correction": bool(bias_correction), "k_tile": k_tile, "requant": requant,
        "accuracy": float((pred == y).mean()),
        "exact_accuracy": float((pred_exact == y).mean()),
        "onnxruntime_accuracy": ort_accuracy(model, name, x, y) if ort_ref else None,
        "onnxruntime_note": ort_integer_note(model) if ort_ref else None,
        "agreement": float((pred == pred_exact).mean()),
        "macs": rep.macs, "seconds": rep.seconds, "macs_per_second": rep.macs_per_second,
        "exact_seconds": exact_seconds,  # the exact integer run (no statistics), when one was needed
        "total": rep.to_dict().get("total"),
        "quantization": None if quant is None else {"bits": quant.bits, "per_channel": quant.per_channel,
                                                    "calibration": quant.calibration,
                                                    "percentile": quant.percentile},
        "per_layer": [layer.to_dict() for layer in rep.layers],
        "float_layers": [layer.to_dict() for layer in rep.float_layers], "float_macs": rep.float_macs,
    }
    return results, rep


def _top1(logits, n):
    return logits.reshape(n, -1).argmax(axis=1)
