"""The stages of ``axmac flow`` (:mod:`axmac.gen.flow`), each a function of the resolved inputs.

Every stage returns a JSON-ready dict (the flow caches it, keyed by what it depends on) and
composes the library's public functions; none of them writes into the report folder:

* :func:`model_stage` -- the model quantized for the array (:func:`~axmac.onnx_import.loader.load_model`)
  and its schedule on the base array (:func:`~axmac.onnx_import.schedule.make_schedule`, cycle model);
* :func:`emulate_stage` -- the exact integer model's accuracy (:func:`~axmac.gen.emulation.emulate`),
  onnxruntime's, and Ma & Jiao's trivial-computation statistics per layer, accumulation chains of
  ``R`` products (a weight-stationary column);
* :func:`multipliers_stage` -- the error metrics of every candidate multiplier
  (:func:`~axmac.golden.metrics.error_metrics`, exhaustive at the array's width);
* :func:`explore_stage` -- :func:`~axmac.gen.explore.explore` with the uniform sweep (every
  multiplier with every bypass set) and the layer-by-layer sensitivity;
* :func:`generate_stage` -- the chosen design's Verilog, manifest and constraints
  (:func:`~axmac.gen.generate.generate`) in a cache folder;
* :func:`cosim_stage` -- one whole inference and a batch of images through the RTL
  (:func:`~axmac.gen.verify.verify_model`, ``axmac verify --all``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import ArrayConfig
from ..errors import AxmacError


@dataclass(frozen=True)
class Data:
    """The model and data of a flow, resolved and checked (:func:`resolve_data`)."""

    model: str
    model_sha: str
    #: labelled test set ("mnist", "digits" or an npz path), or None
    dataset: str | None
    dataset_sha: str | None
    #: unlabelled inputs (npz / npy) when there is no dataset
    inputs: str | None
    inputs_sha: str | None
    input_name: str
    input_shape: tuple[int, ...]
    #: test samples scored (None: no labels)
    samples: int | None
    #: input shapes fixing the model's dynamic dims
    shapes: tuple = ()

    def key(self) -> list:
        return [self.model_sha, self.dataset_sha, self.inputs_sha, self.samples, [list(s) for s in self.shapes]]


def resolve_data(model, dataset, inputs, limit: int | None, input_shapes: dict | None = None) -> Data:
    """Check the model and data options (one-line errors) and hash what they name."""
    from ..onnx_import.inputs import shapes_from_arrays
    from .datasets import BUILTIN, load_dataset, model_or_bundled
    from .explore_cache import file_digest
    from .files import read_inputs
    from .modelinfo import single_input

    if dataset is not None and inputs is not None:
        raise AxmacError("give --dataset (accuracy) or --inputs (a model without a dataset), not both")
    model = model_or_bundled(model, dataset)
    name = single_input(model, "axmac flow")[0]
    if dataset is not None:
        key = str(dataset)
        x, y, _ = load_dataset(key)
        if limit is not None and limit > len(y):
            raise AxmacError(f"--limit {limit}: the dataset has {len(y)} test samples")
        sha = f"builtin:{key}" if key in BUILTIN else file_digest(key)
        samples = min(len(y), limit or len(y))
        dataset = key if key in BUILTIN else str(Path(key).resolve())
        isha = None
    elif inputs is not None:
        x = read_inputs(inputs, model)[name]
        sha, samples, isha, inputs = None, None, file_digest(inputs), str(Path(inputs).resolve())
    else:
        raise AxmacError(f"{model}: give a labelled --dataset, or --inputs IN.npz for a flow without accuracy")
    shapes = {**shapes_from_arrays(model, {name: x[:1]}), **(input_shapes or {})}
    return Data(model, file_digest(model), dataset, sha, inputs, isha, name, tuple(x.shape[1:]), samples,
                tuple(sorted((k, tuple(v)) for k, v in shapes.items())))


def images(data: Data, count: int | None = None):
    """``(x, y or None, calibration)`` of the data: the test images (the first ``count``) or the inputs."""
    from .datasets import load_dataset
    from .files import read_inputs
    from .modelinfo import graph_inputs

    want = graph_inputs(data.model)[0][1]
    if data.dataset is not None:
        x, y, calib = load_dataset(data.dataset)
        x, y = x[:data.samples], y[:data.samples]
    else:
        x = calib = read_inputs(data.inputs, data.model)[data.input_name]
        y = None
    if want is not None and want.kind == "f" and x.dtype.kind == "f":
        x, calib = x.astype(want, copy=False), calib.astype(want, copy=False)
    n = len(x) if count is None else min(count, len(x))
    return np.ascontiguousarray(x[:n]), None if y is None else y[:n], calib


def network(data: Data, cfg: ArrayConfig):
    """The model quantized to the array's operand width, calibrated on the dataset's calibration
    images (or, without a dataset, on the inputs), as explore and verify quantize it."""
    from ..onnx_import.loader import load_model
    from ..onnx_import.quantize import QuantConfig

    _, _, calib = images(data)
    return load_model(data.model, quant=QuantConfig(bits=cfg.bits), calibration={data.input_name: calib},
                      input_shapes=dict(data.shapes))


def model_stage(data: Data, cfg: ArrayConfig) -> dict:
    """The model's MAC layers and their schedule on the base array (cycles of one inference)."""
    from ..onnx_import.schedule import make_schedule

    net = network(data, cfg)
    for la in net.mac_layers:
        if la.operand != cfg.operand:
            raise AxmacError(f"layer {la.name!r} has {la.operand} operands, the array {cfg.operand}: "
                             f"use --bits {la.operand.bits} --{'signed' if la.operand.signed else 'unsigned'}")
    sched = make_schedule(net, cfg, batch=1, summary=True)
    keys = ("name", "kind", "operand", "M", "K", "N", "macs", "tiles", "cycles", "utilization")
    return {"path": data.model, "name": Path(data.model).stem, "sha256": data.model_sha,
            "input": {"name": data.input_name, "shape": list(data.input_shape)},
            "layers": [{k: la[k] for k in keys} for la in sched["layers"]],
            "macs": sched["totals"]["macs"], "cycles": sched["totals"]["cycles"],
            "utilization": sched["totals"]["utilization"],
            "quantization": {"bits": cfg.bits, "signed": cfg.signed, "per_channel": True, "calibration": "max"}}


def emulate_stage(data: Data, cfg: ArrayConfig) -> dict:
    """Accuracy of the exact integer model (and of onnxruntime) and trivial-computation statistics."""
    from ..golden.engine import run_network
    from ..onnx_import.quantize import QuantConfig
    from .emulation import emulate

    out = {"acc_chain": cfg.rows, "accuracy": None, "onnxruntime_accuracy": None, "onnxruntime_note": None,
           "samples": data.samples}
    if data.dataset is not None:
        res, rep = emulate(data.model, data.dataset, multiplier="exact", stats=True, k_tile=cfg.rows,
                           limit=data.samples, quant=QuantConfig(bits=cfg.bits), input_shapes=dict(data.shapes))
        out.update(accuracy=res["accuracy"], onnxruntime_accuracy=res["onnxruntime_accuracy"],
                   onnxruntime_note=res["onnxruntime_note"])
    else:
        x, _, _ = images(data)
        _, rep = run_network(network(data, cfg), {data.input_name: x}, stats=True, k_tile=cfg.rows)
        out["samples"] = int(len(x))
    out["layers"] = [{"name": la.name, "macs": la.macs, "counts": la.stats.to_dict(),
                      "fractions": la.stats.fractions()} for la in rep.layers]
    out["total"] = {"macs": rep.macs, "counts": rep.total.to_dict(), "fractions": rep.total.fractions()}
    return out


def multipliers_stage(specs, cfg: ArrayConfig) -> list[dict]:
    """Error metrics of each candidate multiplier at the array's operand format."""
    from ..golden.metrics import error_metrics
    from ..golden.multipliers import make_multiplier

    rows = []
    for spec in specs:
        m = error_metrics(make_multiplier(spec, cfg.bits, cfg.signed))
        rows.append({"spec": spec, **{k: m.get(k) for k in ("mae", "wce", "mred", "wcre", "bias", "error_variance",
                                                            "error_probability", "exhaustive")}})
    return rows


def explore_stage(data: Data, cfg: ArrayConfig, *, multipliers, bypasses, energy_images: int, energy_samples: int,
                  seed: int, jobs, scheduler, use_cache: bool) -> dict:
    """The exploration document (``axmac-explore/1``): uniform sweep and, with labels, sensitivity."""
    from .explore import explore
    from .explore_cache import Cache

    strategies = ("uniform", "sensitivity") if data.dataset is not None else ("uniform",)
    return explore(data.model, data.dataset, inputs=data.inputs, limit=data.samples if data.dataset else None,
                   calibration=data.inputs, input_shapes=dict(data.shapes), array=cfg, multipliers=tuple(multipliers),
                   bypasses=tuple(bypasses), gatings=(cfg.gating,), widths=(), strategies=strategies,
                   energy_images=energy_images, energy_samples=energy_samples, seed=seed, jobs=jobs,
                   scheduler=scheduler, cache=Cache(enabled=use_cache))


def generate_stage(cfg: ArrayConfig, folder: Path) -> dict:
    """The chosen design's Verilog, manifest and constraints, written into ``folder``."""
    from .generate import generate

    man = generate(cfg, folder)
    return {"top": man["top"], "files": sorted(man["files"]["sha256"]) + ["manifest.json"],
            "verilog": man["files"]["verilog"], "timing": man["timing"], "ports": len(man["ports"])}


def _cosim_summary(res: dict) -> dict:
    keep = ("matched", "cycles", "macs", "utilization", "simulated_cycles", "sim_seconds", "cycles_per_second",
            "images", "accuracy", "golden_accuracy", "agreement", "mismatch")
    out = {k: res[k] for k in keep if k in res}
    out["layers"] = [{k: la.get(k) for k in ("name", "cycles", "macs", "utilization", "runs")}
                     for la in res.get("layers", [])]
    return out


def cosim_stage(data: Data, cfg: ArrayConfig, batch: int, progress=None) -> dict:
    """One whole inference, layer by layer, and ``batch`` images through the RTL of ``cfg``."""
    from ..sim.array_network import check_layers
    from ..sim.cosim import array_build, array_job, run_job
    from .verify import summary, verify_model

    def through_rtl(n: int) -> dict:
        if data.dataset is not None:
            return verify_model(cfg, data.model, dataset=data.dataset, images=n, input_shapes=dict(data.shapes),
                                progress=progress)
        net = network(data, cfg)  # no labels: the inputs, compared with golden's predictions
        check_layers(net, cfg, None)
        x, _, _ = images(data, n)
        args = {"config": cfg.to_dict(), "net": net, "inputs": {data.input_name: x}, "layers": None,
                "labels": None, "seed": 0, "idle": 0.0, "stall": 0.0}
        res = run_job(array_build(cfg), array_job(cfg, "axmac.sim.array_network:network_body", args),
                      progress=progress)
        out = summary(cfg, res, res.get("layers", []))
        out.update(images=n, layers=res.get("layers", []), agreement=res.get("agreement"))
        return out

    one = _cosim_summary(through_rtl(1))
    many = _cosim_summary(through_rtl(batch)) if batch > 1 else None
    return {"inference": one, "batch": many,
            "matched": bool(one["matched"] and (many is None or many["matched"]))}


def synth_stage(cfg: ArrayConfig, target: str) -> dict:
    """The chosen array synthesised for ``target`` (:func:`axmac.gen.array_synth.synth_array`): its
    figures without the bulky per-type tables, its area or gates by group, its notes."""
    from .array_synth import synth_array

    r = synth_array(cfg, target, pe=False)
    drop = ("work_dir", "cells_by_type", "gates_by_type", "cmos_by_type", "tools", "cached", "liberty")
    return {"target": target, "figures": {k: v for k, v in r["figures"].items() if k not in drop},
            "groups": r.get("groups"), "notes": r.get("notes", []), "seconds": r.get("seconds")}


def energy_stage(data: Data, cfg: ArrayConfig, *, count: int, samples: int, seed: int) -> dict:
    """Energy per inference of the whole chosen array, PEs and the rest, measured at gate level on
    the first ``count`` images of the data (:func:`axmac.gen.array_energy.measure_array`), beside
    the same array without bypass and gating."""
    from .array_energy import measure_array
    from .pe_workload import network_operands

    x, _, _ = images(data, count)
    ops = network_operands(network(data, cfg), {data.input_name: x}, cfg)
    variants = list(dict.fromkeys([("none", "none"), (cfg.bypass, cfg.gating)]))
    return measure_array(cfg, ops, {op.name: op.array_cycles for op in ops}, images=len(x),
                         samples_per_layer=samples, seed=seed, variants=variants)


__all__ = ["Data", "cosim_stage", "emulate_stage", "energy_stage", "explore_stage", "generate_stage", "images",
           "model_stage", "multipliers_stage", "network", "resolve_data", "synth_stage"]
