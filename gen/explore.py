"""Design-space exploration (``axmac explore``): accuracy, area and energy of approximate arrays, Pareto front.

:func:`explore` takes a model, a labelled dataset (or only unlabelled inputs: then no accuracy),
an :class:`~axmac.config.ArrayConfig` and the candidates of a
:class:`~axmac.gen.explore_space.Space` (multipliers, bypass sets, gating modes, operand widths),
runs the chosen strategies (:mod:`axmac.gen.explore_strategies`: uniform sweep, layer-by-layer
sensitivity, greedy per layer, Moons et al.'s forward sweep) on an executor
(:mod:`axmac.gen.explore_exec`: local processes by default, or a Dask cluster), with every result
cached on disk (:mod:`axmac.gen.explore_cache`), and returns the JSON document of
:mod:`axmac.gen.explore_report` (points, Pareto front, sensitivity, precision scaling).
:func:`write_outputs` writes it and its figures.

Objectives: accuracy (top-1 of the golden engine on the test images), area (the PE mapped to the
OSU 0.18 um cells, times ``R * C``) and energy per inference (gate-level switching activity of the
PE on sampled real layer data, scaled to every PE-cycle of the array), see
:mod:`axmac.gen.explore_eval` and :mod:`axmac.gen.explore_hw` for what is and is not counted.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..config import ArrayConfig
from ..errors import AxmacError
from . import explore_report as report
from .explore_cache import Cache, file_digest
from .explore_eval import Evaluator
from .explore_exec import make_executor
from .explore_space import (
    DEFAULT_BYPASSES,
    DEFAULT_GATINGS,
    DEFAULT_MULTIPLIERS,
    DEFAULT_STRATEGIES,
    DEFAULT_WIDTHS,
    Space,
    check_specs,
)
from .explore_strategies import NEED_ACCURACY, STRATEGIES, Pool
from .explore_tasks import Context


def describe_model(model: str, array: ArrayConfig, quant: dict, input_shapes: dict) -> tuple[list, list, bool]:
    """MAC layer names, MACs per inference, and whether axmac quantizes every layer (so its width can
    change); checks that the layers fit the array's operand format."""
    from ..onnx_import.loader import load_model
    from ..onnx_import.lower import lower_layer
    from ..onnx_import.quantize import QuantConfig

    net = load_model(model, quant=QuantConfig(**quant, bits=array.bits), input_shapes=input_shapes, shapes_only=True)
    layers = net.mac_layers
    if not layers:
        raise AxmacError(f"{model} has no MAC layer (Conv / Gemm / MatMul) to explore")
    fmt = array.operand
    for la in layers:
        if la.operand.lo < fmt.lo or la.operand.hi > fmt.hi:
            raise AxmacError(f"layer {la.name!r} has {la.operand} operands: the array's multipliers are {fmt} "
                             "(--bits, --signed/--unsigned)")
    macs = [lower_layer(la, net.shapes[la.x], batch=1).macs for la in layers]
    scalable = False
    if array.bits > 2:
        w = array.bits - 1
        probe = load_model(model, quant=QuantConfig(**quant, bits=w), input_shapes=input_shapes, shapes_only=True)
        scalable = all(la.operand.bits == w for la in probe.mac_layers)
    return [la.name for la in layers], macs, scalable


def _data_args(model, dataset, inputs, limit, calibration) -> tuple[dict, dict]:
    """Check the data options up front (one-line errors), hash what they name; also one sample of
    the inputs (their shapes fix a model's dynamic dims)."""
    from .datasets import BUILTIN, load_dataset
    from .files import read_calibration, read_inputs
    from .modelinfo import single_input

    if limit is not None and limit < 1:
        raise AxmacError(f"--limit must be positive, not {limit}")
    out = {"dataset": None, "dataset_sha": None, "inputs": None, "inputs_sha": None, "limit": limit,
           "calibration": None, "calibration_sha": None, "samples": None}
    if dataset is not None and inputs is not None:
        raise AxmacError("give --dataset (accuracy and energy) or --inputs (energy only), not both")
    if dataset is not None:
        key = str(dataset)
        x, y, _ = load_dataset(key)
        sample = {single_input(model, "accuracy")[0]: x[:1]}
        sha = f"builtin:{key}" if key in BUILTIN else file_digest(key)
        out.update(dataset=key if key in BUILTIN else str(Path(key).resolve()), dataset_sha=sha,
                   samples=min(len(y), limit or len(y)))
    elif inputs is not None:
        sample = {k: v[:1] for k, v in read_inputs(inputs, model).items()}
        out.update(inputs=str(Path(inputs).resolve()), inputs_sha=file_digest(inputs))
    else:
        raise AxmacError(f"{model}: give a labelled --dataset, or --inputs IN.npz for an exploration without accuracy")
    if calibration is not None:
        read_calibration(calibration, model)
        is_file = Path(str(calibration)).is_file()
        out.update(calibration=str(Path(calibration).resolve()) if is_file else str(calibration),
                   calibration_sha=file_digest(calibration) if is_file else f"builtin:{calibration}")
    return out, sample


def explore(model=None, dataset=None, *, inputs=None, limit=None, calibration=None, input_shapes=None,
            per_channel: bool = True, percentile: float | None = None, array: ArrayConfig | None = None,
            multipliers=DEFAULT_MULTIPLIERS, bypasses=DEFAULT_BYPASSES, gatings=DEFAULT_GATINGS, widths=None,
            strategies=None, tolerance: float = 0.01, energy_images: int = 2, energy_samples: int = 16,
            seed: int = 0, hardware=None, jobs: int | None = None, scheduler: str | None = None,
            cache: Cache | None = None, executor=None) -> dict:
    """Explore and return the ``axmac-explore/1`` document (module docstring).

    ``model=None`` with a built-in ``dataset``: its bundled model. ``hardware``: the area and energy
    model (default :class:`~axmac.gen.explore_hw.GateLevelHardware`). ``executor`` overrides
    ``jobs``/``scheduler`` (the caller then closes it). ``widths=None``: :data:`DEFAULT_WIDTHS` for a
    float model, none for a quantized one. ``strategies=None``: :data:`DEFAULT_STRATEGIES`, without
    those that need accuracy when there is no dataset.
    """
    from ..onnx_import.inputs import shapes_from_arrays
    from .datasets import model_or_bundled
    from .explore_hw import GateLevelHardware

    t0 = time.perf_counter()
    model = model_or_bundled(model, dataset)
    array = array or ArrayConfig()
    if array.dataflow != "ws":
        raise AxmacError("explore measures weight-stationary PEs: --dataflow os is not supported")
    if strategies is not None:
        unknown = [s for s in strategies if s not in STRATEGIES]
        if unknown or not strategies:
            raise AxmacError(f"unknown strategy {unknown[0] if unknown else ''!r} (known: {', '.join(STRATEGIES)})")
    if energy_samples < 2 or energy_images < 1:
        raise AxmacError("--energy-samples must be at least 2 and --energy-images at least 1")
    data, sample = _data_args(model, dataset, inputs, limit, calibration)
    if strategies is None:
        strategies = [s for s in DEFAULT_STRATEGIES if data["dataset"] is not None or s not in NEED_ACCURACY]
    if data["dataset"] is None:
        need = [s for s in strategies if s in NEED_ACCURACY]
        if need:
            raise AxmacError(f"--strategy {need[0]} needs a labelled --dataset (accuracy)")
    quant = {"per_channel": per_channel, "calibration": "max" if percentile is None else "percentile",
             "percentile": 99.99 if percentile is None else percentile}
    shapes = {**shapes_from_arrays(model, sample), **(input_shapes or {})}  # dynamic dims from the data
    names, macs, scalable = describe_model(model, array, quant, shapes)
    if widths is None:
        widths = tuple(w for w in DEFAULT_WIDTHS if w < array.bits) if scalable else ()
    elif not scalable and any(w < array.bits for w in widths):
        raise AxmacError(f"--widths: {model} is quantized already (its layers keep their widths); narrower widths "
                         "need a float model, quantized at load")
    space = Space(tuple(names), array, tuple(multipliers), tuple(bypasses), tuple(gatings), tuple(widths))
    check_specs(space)
    hardware = hardware or GateLevelHardware()
    hardware.version()  # the library must be there before any work
    samples = data.pop("samples")
    ctx = Context(model=model, model_sha=file_digest(model), array=array, **data,
                  input_shapes=tuple(sorted((k, tuple(v)) for k, v in shapes.items())),
                  quant=tuple(sorted(quant.items())), energy_images=energy_images, energy_samples=energy_samples,
                  seed=seed, hardware=hardware, names=tuple(names))
    cache = cache or Cache()
    own = executor is None
    executor = executor or make_executor(jobs, scheduler)
    try:
        ev = Evaluator(ctx, executor, cache)
        pool = Pool()
        pool.add(ev.evaluate([space.baseline()], desc="baseline"), "baseline")
        summaries = {}
        for name in strategies:
            kw = {"tolerance": tolerance} if name in NEED_ACCURACY else {}
            summaries[name] = STRATEGIES[name](space, ev, pool, **kw)
    finally:
        if own:
            executor.close()
    rows = report.point_rows(pool, space, space.baseline().key)
    ids = {r["key"]: r["id"] for r in rows}
    front, two = report.fronts(rows, ev.with_accuracy)
    for s in summaries.values():
        for k in ("path", "points"):
            if k in s:
                s[k] = [ids[x] for x in s[k]]
        for row in s.get("rows", []):
            row["point"] = ids[row["point"]]
        if "reference" in s:
            s["reference"] = ids[s["reference"]]
    doc = {"format": report.FORMAT, "model": model, "model_name": Path(model).stem, "model_sha256": ctx.model_sha,
           "dataset": data["dataset"], "samples": samples, "inputs": data["inputs"], "array": array.to_dict(),
           "space": {**space.to_dict(), "macs": macs},
           "objectives": {**({"accuracy": "max"} if ev.with_accuracy else {}), "area_um2": "min", "energy_pj": "min"},
           "area": {"per": "PE x R*C", "rows": array.rows, "cols": array.cols, **hardware.describe()},
           "energy": {"per": "inference", "images": energy_images, "segments_per_layer": energy_samples,
                      "seed": seed, "stderr": "standard error of the per-layer ratio estimates (sampling only)",
                      **hardware.describe()},
           "points": rows, "baseline": ids[space.baseline().key], "front": front, "fronts_2d": two,
           "strategies": summaries}
    doc["precision_scaling"] = report.precision_scaling(rows, space)
    doc["run"] = {**executor.describe(), "jobs_run": dict(ev.jobs_run), "cache": cache.stats(),
                  "seconds": time.perf_counter() - t0}
    return doc


def write_outputs(doc: dict, out_dir: str | Path, *, plots: bool = True) -> list[Path]:
    """Write ``explore.json`` and the figures into ``out_dir`` (each file whole or not at all; the
    figures are all drawn before the first file is written). Returns the paths written."""
    import json

    from .files import write_output
    from .plots import png_bytes
    from .tables import jsonable

    out_dir = Path(out_dir)
    blobs = {name: png_bytes(fig) for name, fig in (report.figures(doc).items() if plots else [])}
    text = json.dumps(jsonable(doc), indent=1)
    written = []
    for name, data in [("explore.json", text), *blobs.items()]:
        path = out_dir / name
        write_output(path, "--out-dir", lambda f, d=data: f.write(d), "w" if isinstance(data, str) else "wb")
        written.append(path)
    return written


__all__ = ["DEFAULT_BYPASSES", "DEFAULT_GATINGS", "DEFAULT_MULTIPLIERS", "DEFAULT_STRATEGIES", "DEFAULT_WIDTHS",
           "describe_model", "explore", "write_outputs"]
