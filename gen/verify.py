"""``axmac verify`` as a library: co-simulation of the generated array RTL against golden.

:func:`verify_gemms` runs random GEMMs, :func:`verify_model` a quantized model's MAC layers (one
or several by name, or a whole inference layer by layer), on the array of an
:class:`~axmac.config.ArrayConfig`. Both build the harnessed RTL once per configuration
(:func:`axmac.sim.cosim.array_build`), run one co-simulation job (bodies in
:mod:`axmac.sim.array_run` and :mod:`axmac.sim.array_network`: every ``o`` beat's value and cycle
and the activity counters against ``golden/array.py``, results against the GEMM reference or the
golden engine) and return :func:`summary` of it: ``matched``, ``cycles`` (RTL cycles of all runs),
``macs``, ``utilization`` (useful MACs / (R x C x cycles), measured on the RTL), ``sim_seconds``,
``cycles_per_second`` (simulated cycles per second of simulation) and
``checked_cycles_per_second`` (the same per second of simulation, golden model and checking),
plus ``mismatch`` (where the RTL first differed) when it did.

Everything that can be wrong with the input is checked before anything is built or simulated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import AxmacError


def default_gemms(cfg) -> list[tuple[int, int, int]]:
    """Random GEMMs checked when none is given: edge tiles everywhere with K much larger than R,
    a single MAC, and one smaller than the array."""
    R, C = cfg.rows, cfg.cols
    return [(2 * R + 1, 8 * R + 1, 2 * C + 1), (1, 1, 1), (max(1, R - 1), R + 1, max(1, C - 1))]


def parse_gemm(text: str) -> tuple[int, int, int]:
    """``"MxKxN"`` -> ``(M, K, N)``, each positive."""
    parts = text.lower().split("x")
    try:
        dims = tuple(int(p, 10) for p in parts)
    except ValueError:
        dims = ()
    if len(dims) != 3 or min(dims) < 1 or max(dims) > 1 << 20:
        raise ValueError(f"expected MxKxN with positive sizes, not {text!r}")
    return dims


def summary(cfg, result: dict, parts: list[dict]) -> dict:
    """The figures of a job's result (module docstring); ``parts``: its GEMMs or layers."""
    tot = result["totals"]
    cycles = sum(p["cycles"] for p in parts)
    macs = sum(p["macs"] for p in parts)
    busy = tot["sim_seconds"] + tot["model_seconds"] + tot["check_seconds"]
    out = {"matched": bool(result["matched"]), "config": cfg.to_dict(), "cycles": cycles, "macs": macs,
           "utilization": macs / (cfg.pes * cycles) if cycles else 0.0, "runs": tot["runs"],
           "simulated_cycles": tot["cycles"], "sim_seconds": tot["sim_seconds"],
           "model_seconds": tot["model_seconds"], "check_seconds": tot["check_seconds"],
           "cycles_per_second": tot["cycles"] / tot["sim_seconds"] if tot["sim_seconds"] else 0.0,
           "checked_cycles_per_second": tot["cycles"] / busy if busy else 0.0,
           "macs_per_second": macs / busy if busy else 0.0, "wall_seconds": tot["wall_seconds"]}
    if "mismatch" in result:
        out["mismatch"] = result["mismatch"]
    return out


def _run(cfg, body: str, args: dict, *, progress, verbose, mutation=None) -> dict:
    from ..sim.cosim import array_build, array_job, run_job

    build = array_build(cfg)
    return run_job(build, array_job(cfg, body, args, mutation=mutation), verbose=verbose, progress=progress)


def verify_gemms(cfg, gemms=None, *, groups: int = 1, seed: int = 0, idle: float = 0.0, stall: float = 0.0,
                 requant: bool = True, progress=None, verbose: bool = False, mutation=None) -> dict:
    """Random GEMMs ``[(M, K, N), ...]`` (default :func:`default_gemms`) through the RTL."""
    gemms = list(gemms or default_gemms(cfg))
    cases = [{"m": m, "k": k, "n": n, "groups": groups, "requant": requant, "idle": idle, "stall": stall}
             for m, k, n in gemms]
    from ..golden.array_tiles import check_gemm

    for m, k, n in gemms:
        check_gemm(cfg, m, k, n, groups)
    res = _run(cfg, "axmac.sim.array_run:gemms_body", {"config": cfg.to_dict(), "cases": cases, "seed": seed},
               progress=progress, verbose=verbose, mutation=mutation)
    parts = res.get("gemms", [])
    out = summary(cfg, res, parts)
    out["gemms"] = parts
    return out


def load_network(model: str | Path, cfg, dataset: str, images: int, input_shapes=None):
    """``(network, {input: images}, labels)``: the model (a float one quantized at load time to the
    array's operand width with the dataset's calibration images) and the first ``images`` test
    samples of the dataset."""
    from ..onnx_import.loader import load_model
    from ..onnx_import.quantize import QuantConfig
    from .datasets import load_dataset
    from .modelinfo import graph_inputs

    ins = graph_inputs(model)
    if len(ins) != 1:
        from ..onnx_import.runtime import check_mappable

        check_mappable(load_model(str(model), shapes_only=True, input_shapes=input_shapes))  # the likely reason
        raise AxmacError(f"verify needs a model with exactly one input, {model} has {len(ins)}")
    name, dtype = ins[0][0], ins[0][1]
    x, y, calib = load_dataset(dataset)
    if images > len(x):
        raise AxmacError(f"--images {images}: the dataset has {len(x)} test samples")
    x, y = x[:images], y[:images]
    if dtype is not None and dtype.kind == "f":
        x, calib = x.astype(dtype, copy=False), calib.astype(dtype, copy=False)
    net = load_model(str(model), quant=QuantConfig(bits=cfg.bits), calibration={name: calib},
                     input_shapes=input_shapes)
    return net, {name: np.ascontiguousarray(x)}, y


def verify_model(cfg, model, *, layers: list[str] | None = None, dataset: str = "mnist", images: int = 1,
                 seed: int = 0, idle: float = 0.0, stall: float = 0.0, input_shapes=None, progress=None,
                 verbose: bool = False, mutation=None) -> dict:
    """MAC layers of ``model`` through the RTL: those named in ``layers``, or (``None``) a whole
    inference layer by layer with the predicted classes compared (see :mod:`axmac.sim.array_network`)."""
    from ..sim.array_network import check_layers

    net, inputs, labels = load_network(model, cfg, dataset, images, input_shapes)
    check_layers(net, cfg, layers)
    args = {"config": cfg.to_dict(), "net": net, "inputs": inputs, "layers": layers, "labels": labels,
            "seed": seed, "idle": idle, "stall": stall}
    res = _run(cfg, "axmac.sim.array_network:network_body", args, progress=progress, verbose=verbose,
               mutation=mutation)
    parts = res.get("layers", [])
    out = summary(cfg, res, parts)
    out.update(model=str(model), images=images, layers=parts)
    for k in ("accuracy", "golden_accuracy", "agreement", "golden_seconds"):
        if k in res:
            out[k] = res[k]
    return out
