"""The work units of ``axmac explore``, as a worker process runs them.

A :class:`Context` says where the model and the data are (paths and content hashes, so a worker
on another host with the same files computes the same thing) and how to quantize and cut the
work; it is small and goes with every job. Heavy things a worker derives from it -- the dataset,
a network quantized at a set of widths, the GEMM operands of the energy images -- are kept in a
per-process memo, so consecutive jobs of one worker load them once.

Jobs (each returns a JSON-ready dict and names its cache key):

* :class:`AccuracyJob`: top-1 accuracy of the network on the test images with one multiplier per
  layer, the PE's MUL bypass cases and per-layer widths (the golden engine, deterministic).
  Narrow layers run the full-width multiplier model on their narrow values (their operand
  format is widened to the array's: sign extension).
* :class:`HardwareJob`: one PE design: its area by group, and its energy on the sampled segments
  of every layer for each requested set of widths (:func:`workload`), with the workload's
  per-layer totals (PE-cycles, slots, MACs per inference) and the idle PE-cycles the array's
  cycle model adds (fill and drain, parameter waits).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from ..config import ArrayConfig
from ..errors import AxmacError
from .explore_cache import code_version, digest

#: modules whose code an accuracy depends on (their edit recomputes accuracies)
ACCURACY_CODE = ("golden", "onnx_import", "axmac", "gen/datasets.py", "gen/files.py", "gen/explore_tasks.py")
#: cycles of a segment with one slot and the rest idle, to price idle PE-cycles
IDLE_CYCLES = 64
IDLE = "__idle__"


@dataclass(frozen=True)
class Context:
    """Where the model and data are and how the work is cut (module docstring)."""

    model: str
    model_sha: str
    array: ArrayConfig
    #: labelled test set: "mnist", "digits" or an npz path (None: no accuracy)
    dataset: str | None = None
    dataset_sha: str | None = None
    limit: int | None = None
    #: unlabelled inputs (an npz / npy path) for the energy workload when there is no dataset
    inputs: str | None = None
    inputs_sha: str | None = None
    calibration: str | None = None
    calibration_sha: str | None = None
    input_shapes: tuple = ()
    #: QuantConfig fields other than the widths: per_channel, calibration, percentile
    quant: tuple = (("per_channel", True), ("calibration", "max"), ("percentile", 99.99))
    energy_images: int = 2
    energy_samples: int = 16
    seed: int = 0
    hardware: object = None
    names: tuple[str, ...] = field(default=())

    def data_key(self) -> list:
        """What the loaded network and the test set depend on."""
        return [self.model_sha, self.dataset_sha, self.limit, self.inputs_sha, self.calibration_sha,
                [list(s) for s in self.input_shapes], [list(q) for q in self.quant],
                [self.array.bits, self.array.signed]]


def _layer_widths(ctx: Context, widths: tuple[int, ...]) -> dict[str, int]:
    return {n: w for n, w in zip(ctx.names, widths, strict=True) if w != ctx.array.bits}


_MEMO: OrderedDict = OrderedDict()
MEMO_SIZE = 8


def _memo(what: str, key: list, make):
    """``make()``, kept per process under ``(what, key)`` (the last :data:`MEMO_SIZE` values)."""
    k = digest(what, key)
    if k in _MEMO:
        _MEMO.move_to_end(k)
        return _MEMO[k]
    value = make()
    _MEMO[k] = value
    while len(_MEMO) > MEMO_SIZE:
        _MEMO.popitem(last=False)
    return value


def _data(ctx: Context):
    """``(input name, x_test or None, y_test or None, calibration, energy inputs)``."""
    return _memo("data", [ctx.data_key(), ctx.energy_images], lambda: _load_data(ctx))


def _load_data(ctx: Context):
    from .datasets import load_dataset
    from .files import read_calibration, read_inputs
    from .modelinfo import graph_inputs

    ins = graph_inputs(ctx.model)
    names = [i[0] for i in ins]
    x = y = None
    if ctx.dataset is not None:
        if len(ins) != 1:
            raise AxmacError(f"accuracy needs a model with exactly one input, {ctx.model} has {len(ins)}")
        x, y, calib = load_dataset(ctx.dataset)
        if ctx.limit is not None:
            x, y = x[:ctx.limit], y[:ctx.limit]
        want = ins[0][1]
        if want is not None and want.kind == "f" and x.dtype.kind == "f":
            x, calib = x.astype(want, copy=False), calib.astype(want, copy=False)
        calib = {names[0]: calib}
        energy = {names[0]: x[:ctx.energy_images]}
    else:
        energy = read_inputs(ctx.inputs, ctx.model)
        energy = {k: v[:ctx.energy_images] for k, v in energy.items()}
        calib = energy
    if ctx.calibration is not None:
        calib = read_calibration(ctx.calibration, ctx.model)
    return names[0], x, y, calib, energy


def network(ctx: Context, widths: tuple[int, ...]):
    """The network quantized at ``widths``, every narrow layer widened to the array's operand format."""
    return _memo("network", [ctx.data_key(), list(widths)], lambda: _load_network(ctx, widths))


def _load_network(ctx: Context, widths: tuple[int, ...]):
    from ..ir import MacLayer
    from ..onnx_import.loader import load_model
    from ..onnx_import.quantize import QuantConfig

    _, _, _, calib, _ = _data(ctx)
    quant = QuantConfig(**dict(ctx.quant), bits=ctx.array.bits, layer_bits=_layer_widths(ctx, widths))
    net = load_model(ctx.model, quant=quant, calibration=calib, input_shapes=dict(ctx.input_shapes))
    fmt = ctx.array.operand
    nodes = []
    for node in net.nodes:
        if isinstance(node, MacLayer):
            op = node.operand
            if op.lo < fmt.lo or op.hi > fmt.hi:
                raise AxmacError(f"layer {node.name!r} has {op} operands: the array's multipliers are {fmt} (--bits)")
            node = replace(node, operand=fmt)
        nodes.append(node)
    return replace(net, nodes=nodes)


def workload(ctx: Context, widths: tuple[int, ...]) -> dict:
    """GEMM operands of the energy images at ``widths``, per-layer totals and idle cycles."""
    a = ctx.array
    key = [ctx.data_key(), ctx.energy_images, list(widths), [a.rows, a.cols, a.acc_depth, a.dataflow]]
    return _memo("workload", key, lambda: _load_workload(ctx, widths))


def _load_workload(ctx: Context, widths: tuple[int, ...]) -> dict:
    from ..onnx_import.schedule import make_schedule
    from .pe_workload import network_operands, strata

    net = network(ctx, widths)
    _, _, _, _, energy = _data(ctx)
    ops = network_operands(net, energy)
    cfg = ctx.array
    st = strata(ops, cfg)
    sched = {la["name"]: la["cycles"] for la in make_schedule(net, cfg, batch=1, summary=True)["layers"]}
    totals = {s.layer: {"segments": s.segments, "cycles": s.cycles, "slots": s.slots, "macs": s.macs,
                        "idle_cycles": max(0, cfg.pes * sched.get(s.layer, 0) - s.cycles)} for s in st}
    return {"operands": ops, "strata": st, "totals": totals}


@dataclass(frozen=True)
class AccuracyJob:
    """Accuracy of one arithmetic (module docstring); ``bypass`` holds only the MUL cases."""

    specs: tuple[str, ...]
    widths: tuple[int, ...]
    bypass: str

    kind = "accuracy"

    def key(self, ctx: Context) -> str:
        return digest("accuracy", ctx.data_key(), list(self.specs), list(self.widths), self.bypass,
                      code_version(*ACCURACY_CODE))

    def run(self, ctx: Context) -> dict:
        from ..golden.bypass import Bypass
        from ..golden.engine import run_network

        name, x, y, _, _ = _data(ctx)
        net = network(ctx, self.widths)
        if not net.outputs:
            raise AxmacError(f"{ctx.model} has no graph outputs: accuracy scores the first one")
        out, rep = run_network(net, {name: x}, layers=dict(zip(ctx.names, self.specs, strict=True)),
                               bypass=Bypass.parse(self.bypass), stats=False)
        pred = np.asarray(out[net.outputs[0].name]).reshape(len(y), -1).argmax(axis=1)
        correct = int((pred == y).sum())
        return {"accuracy": correct / len(y), "correct": correct, "samples": int(len(y)), "seconds": rep.seconds}


def design_dict(ctx: Context, spec: str, bypass: str, gating: str) -> dict:
    """The PE design fields (:class:`~axmac.gen.pe_energy.PEDesign`) of one multiplier of a point: the
    array's weight-stationary PE (``hw/pe_ws.py``, with its overflow mode) where ``PEDesign`` offers
    it (``kind``), else the stand-alone ``hw/pe.py``."""
    from dataclasses import fields

    from .pe_energy import PEDesign

    a = ctx.array
    d = {"multiplier": spec, "bits": a.bits, "signed": a.signed, "acc_bits": a.acc_bits, "bypass": bypass,
         "gating": gating}
    offered = {f.name for f in fields(PEDesign)}
    if "kind" in offered:
        d["kind"] = "ws"
        if "overflow" in offered:
            d["overflow"] = a.overflow
    return d


@dataclass(frozen=True)
class HardwareJob:
    """Area of one PE design and its energy on the workloads of ``widths_list`` (module docstring)."""

    design: tuple  # sorted items of design_dict
    widths_list: tuple[tuple[int, ...], ...] = ()

    kind = "hardware"

    def area_key(self, ctx: Context) -> str:
        return digest("area", dict(self.design), ctx.hardware.version())

    def energy_key(self, ctx: Context, widths: tuple[int, ...]) -> str:
        a = ctx.array
        geometry = [a.rows, a.cols, a.acc_depth, a.dataflow, a.out_fifo_depth, a.output_stage]
        return digest("energy", ctx.data_key(), ctx.energy_images, ctx.energy_samples, ctx.seed, geometry,
                      list(widths), dict(self.design), ctx.hardware.version(), code_version("gen/explore_tasks.py"))

    def run(self, ctx: Context) -> dict:
        from ..golden.bypass import Bypass
        from .pe_energy import PEDesign
        from .pe_workload import Segment, sample_segments

        design = PEDesign(**dict(self.design))
        hw = ctx.hardware
        out = {"area": hw.area(design), "energy": {}}
        for widths in self.widths_list:
            wl = workload(ctx, widths)
            segs = sample_segments(wl["operands"], ctx.array, ctx.energy_samples, mult=design.model,
                                   bypass=Bypass.parse(design.bypass), seed=ctx.seed)
            zero = np.zeros(1, np.int64)
            segs += [Segment(IDLE, 0, zero, zero, IDLE_CYCLES, 0)] * 2
            groups, energy = hw.measure(design, segs)
            layers = {}
            for name in ctx.names:
                idx = [i for i, s in enumerate(segs) if s.layer == name]
                layers[name] = {"energy": [float(e) for e in energy[idx].sum(axis=1)],
                                "cycles": [int(segs[i].cycles) for i in idx],
                                "slots": int(sum(len(segs[i].a) for i in idx)),
                                "groups": {g: float(v) for g, v in zip(groups, energy[idx].sum(axis=0), strict=True)}}
            idle = [i for i, s in enumerate(segs) if s.layer == IDLE]
            out["energy"][",".join(map(str, widths))] = {
                "layers": layers, "totals": wl["totals"],
                "idle_pj_per_cycle": float(energy[idle].sum() / sum(segs[i].cycles for i in idle))}
        return out


def run_job(ctx: Context, job, threads: int | None = None) -> dict:
    """Run ``job`` in this process (``threads``: cap numba's threads, as a worker of a pool does)."""
    if threads is not None:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    return job.run(ctx)


__all__ = ["ACCURACY_CODE", "AccuracyJob", "Context", "HardwareJob", "design_dict", "network", "run_job", "workload"]
