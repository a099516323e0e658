"""Energy per MAC and per inference of the array from switching activity: the library of ``axmac energy``.

The array's energy in one inference is the sum of two measured parts, per MAC layer ``L``:

* **PEs** (:mod:`axmac.gen.pe_energy`, the array's weight-stationary PE ``hw/pe_ws.py`` mapped
  to the library and simulated at gate level): ``S`` segments per layer (one PE's work in one
  tile, :func:`axmac.gen.pe_workload.sample_segments`) give the ratio estimate of the busy
  PE-cycles' energy, ``(sum E_i / sum cycles_i) * busy_L`` with ``busy_L = R*C * sum over tiles
  of max(m, R)`` (padded PEs included: they clock and see zeros), with its standard error; the
  other PE-cycles of the layer (``R*C * cycles_L - busy_L``: fill and drain, from the cycle model
  of ``golden/cycle_model.py`` through :func:`axmac.onnx_import.schedule.make_schedule`) cost the
  energy per cycle of an idle PE, measured on idle segments (clock, leakage, nothing switching).
  The PE's ``inputs`` group (switching its input pins) is left out: each input is the output of a
  neighbour PE or of the rest of the array, whose port load already stands for it.
* **The rest of the array** (:mod:`axmac.gen.array_rest`: skew, accumulator buffer, output
  stage, parameter banks, FIFO, controller, counters) at gate level with the PEs simulated from
  their RTL, on ``T`` sampled runs per layer (one column block of one row chunk of one image:
  every K tile of it, with the layer's bias and requantization), ratio-estimated per array cycle
  and scaled with ``cycles_L``, with its standard error. Each run has its own fill and drain,
  which the layer pays once: a small bias towards the energy per cycle of fill and drain. The rest
  always runs on Verilator: it simulates the PEs from their Amaranth RTL, and Icarus ran that RTL
  differently from Verilator and the golden model (unknown MUL codes in 2 of 9 slots of one PE of
  a 2x2 array, in a pure-RTL run too); ``simulator``/``delays`` apply to the PE measurement.

Both outputs of every simulation are checked against the golden models (PE slot by slot; the
array's ``o`` beats and counters). ``variants`` (``(bypass, gating)`` pairs) are measured on the
same samples; savings are against the same array with neither bypass nor gating. Beside them,
:mod:`axmac.gen.power_models` gives Ma & Jiao's Eq. 1 and the thesis's Eq. 4.1 from the golden
trivial-computation statistics of the same images and this PE's measured per-operation energies
(:func:`axmac.gen.bypass_study.analytic`). Only the weight-stationary dataflow is measured (the PE
segments are weight-stationary).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np

from ..config import ArrayConfig
from ..errors import AxmacError
from ..golden.bypass import Bypass
from .array_rest import EXCLUDED, RestModel, map_rest, measure_runs, sample_runs
from .breakdown import array_group
from .energy import INPUTS, EnergyOptions
from .pe_energy import PEDesign, measure_pe
from .pe_workload import Segment, Stratum, estimate, sample_segments, strata

FORMAT = "axmac-energy/1"
IDLE, IDLE_CYCLES = "__idle__", 64
COMPARE = {"none": (), "bypass": ("bypass",), "gating": ("gating",), "all": ("bypass", "gating")}


def variants_for(cfg: ArrayConfig, compare: str) -> list[tuple[str, str]]:
    """``(bypass, gating)`` of the designs measured for ``--compare`` (the baseline first, the configured one
    always): ``bypass``: each case alone and all four; ``gating``: each mode with the configured bypass."""
    if compare not in COMPARE:
        raise AxmacError(f"--compare must be one of {', '.join(COMPARE)}, not {compare!r}")
    out = [("none", "none"), (cfg.bypass, cfg.gating)]
    if "bypass" in COMPARE[compare]:
        out += [(case, cfg.gating) for case in ("zero", "one", "add-zero", "opposite")]
        out.append((str(Bypass.parse("all")), cfg.gating))
    if "gating" in COMPARE[compare]:
        out += [(cfg.bypass, g) for g in ("none", "enable", "icg")]
    return list(dict.fromkeys((str(Bypass.parse(b)) if b != "none" else "none", g) for b, g in out))


def load_workload(cfg: ArrayConfig, model=None, dataset: str = "mnist", *, images: int = 1, first: int = 0,
                  input_shapes=None):
    """``(operands, layer_cycles)``: every MAC layer of ``model`` (default: the dataset's bundled model,
    LeNet-5 for MNIST; float layers quantized to ``cfg.bits`` on the dataset's calibration images) run
    on test images ``first .. first+images-1``, and each layer's array cycles for those images."""
    from ..onnx_import.loader import load_model
    from ..onnx_import.quantize import QuantConfig
    from .datasets import BUNDLED_MODELS, default_model, load_dataset
    from .modelinfo import graph_inputs
    from .pe_workload import network_operands

    if model is None:
        model = default_model(dataset if str(dataset) in BUNDLED_MODELS else "mnist")
    x, _, calib = load_dataset(dataset)
    if not 0 <= first < first + images <= len(x):
        raise AxmacError(f"--images {images}: the dataset has {len(x)} test images")
    name = graph_inputs(model)[0][0]
    net = load_model(model, quant=QuantConfig(bits=cfg.bits), calibration={name: calib}, input_shapes=input_shapes)
    for layer in net.mac_layers:
        fmt = layer.operand
        if fmt.lo < cfg.operand.lo or fmt.hi > cfg.operand.hi:
            raise AxmacError(f"layer {layer.name!r} has {fmt} operands: they do not fit the array's "
                             f"{cfg.operand} (--bits, --signed/--unsigned)")
    ops = network_operands(net, {name: x[first:first + images]}, cfg)
    return ops, {op.name: op.array_cycles for op in ops}


def _ratio(energies, cycles, total_cycles: int) -> tuple[float, float]:
    """Ratio estimate ``sum E / sum c * total`` and its standard error (:func:`pe_workload.estimate`)."""
    segs = [SimpleNamespace(layer="L", cycles=int(c)) for c in cycles]
    est = estimate(segs, energies, [Stratum("L", len(segs), int(total_cycles), 0, 0)])
    return est.energy, est.stderr


def measure_pe_part(design: PEDesign, operands, cfg: ArrayConfig, per_layer: int, layer_cycles: dict, *,
                    seed: int, **measure) -> dict:
    """The PEs' energy per layer (module docstring) with its standard error, for all the operands' images."""
    segs = sample_segments(operands, cfg, per_layer, mult=design.model, bypass=design.bypass_cases, seed=seed)
    zero = np.zeros(1, np.int64)
    segs += [Segment(IDLE, 0, zero, zero, IDLE_CYCLES, 0)] * 2
    t0 = time.perf_counter()
    m = measure_pe(design, segs, **measure)
    seconds = time.perf_counter() - t0
    keep = np.array([g != INPUTS for g in m.groups])
    e = m.energy[:, keep].sum(axis=1)
    idle = [i for i, s in enumerate(segs) if s.layer == IDLE]
    idle_pj = float(e[idle].sum() / sum(segs[i].cycles for i in idle))
    busy = {s.layer: s for s in strata([replace(op, array_cycles=None) for op in operands], cfg)}
    layers = {}
    for op in operands:
        idx = [i for i, s in enumerate(segs) if s.layer == op.name]
        est = estimate([segs[i] for i in idx], e[idx], [busy[op.name]])
        idle_cycles = max(0, cfg.pes * layer_cycles[op.name] - busy[op.name].cycles)
        layers[op.name] = {"busy_pj": est.energy, "stderr_pj": est.stderr, "idle_pj": idle_pj * idle_cycles,
                           "busy_pe_cycles": busy[op.name].cycles, "idle_pe_cycles": idle_cycles}
    valid = [i for i, s in enumerate(segs) if s.layer != IDLE]
    slots = m.slots[valid].sum()
    groups = {g: float(v) for g, v, k in zip(m.groups, m.energy[valid].sum(axis=0) / slots, keep, strict=True) if k}
    return {"layers": layers, "area_um2": m.area, "pj_per_slot": float(e[valid].sum() / slots),
            "pj_per_slot_by_group": groups, "idle_pj_per_cycle": idle_pj, "gclk_duty": m.gclk_duty,
            "segments": len(segs), "seconds": seconds, "seconds_per_segment": seconds / len(segs)}


def measure_rest_part(cfg: ArrayConfig, runs, layer_cycles: dict, *, tech, simulator: str, delays: bool,
                      options: EnergyOptions) -> dict:
    """The rest of the array's energy per layer (module docstring) with its standard error."""
    t0 = time.perf_counter()
    mapped, rtl = map_rest(cfg, tech)
    rest = RestModel.build(mapped, rtl, tech, options)
    t1 = time.perf_counter()
    energy, cycles = measure_runs(rest, cfg, [p for _, p in runs], simulator=simulator, delays=delays)
    keep = np.array([g not in EXCLUDED for g in rest.model.groups])
    e = energy[:, keep].sum(axis=1)
    layers = {}
    for name in dict.fromkeys(n for n, _ in runs):
        idx = [i for i, (n, _) in enumerate(runs) if n == name]
        total, se = _ratio(e[idx], cycles[idx], layer_cycles[name])
        layers[name] = {"pj": total, "stderr_pj": se, "pj_per_cycle": float(e[idx].sum() / cycles[idx].sum())}
    by_group = energy.sum(axis=0) / cycles.sum()
    return {"layers": layers, "area_um2": rest.model.net.area_by(tech.library(), array_group), "pj_per_cycle_by_group":
            {g: float(v) for g, v in zip(rest.model.groups, by_group, strict=True)},
            "excluded_groups": list(EXCLUDED), "runs": len(runs), "cycles": int(cycles.sum()),
            "map_seconds": t1 - t0, "sim_seconds": time.perf_counter() - t1}


def combine(pe: dict, rest: dict, macs: dict, images: int) -> dict:
    """Per layer and per inference: PE busy + PE idle + rest, standard errors added in quadrature."""
    layers, total, var = [], 0.0, 0.0
    for name, p in pe["layers"].items():
        r = rest["layers"][name]
        e = (p["busy_pj"] + p["idle_pj"] + r["pj"]) / images
        v = (p["stderr_pj"] ** 2 + r["stderr_pj"] ** 2) / images ** 2
        layers.append({"name": name, "macs": macs[name], "pe_busy_pj": p["busy_pj"] / images,
                       "pe_idle_pj": p["idle_pj"] / images, "rest_pj": r["pj"] / images, "energy_pj": e,
                       "stderr_pj": math.sqrt(v), "pj_per_mac": e / macs[name] if macs[name] else None})
        total += e
        var += v
    n = sum(macs.values())
    return {"layers": layers, "inference_pj": total, "stderr_pj": math.sqrt(var), "macs": n,
            "pj_per_mac": total / n if n else None, "pj_per_mac_stderr": math.sqrt(var) / n if n else None}


def _saving(base: float, other: float) -> float:
    return 100.0 * (base - other) / base if base else 0.0


def explain(row: dict, base: dict) -> list[str]:
    """Where the measured saving of ``row`` and the analytic estimates part, from the measured shares."""
    g = base["pe"]["pj_per_slot_by_group"]
    pe_slot = sum(g.values())
    regs = g.get("pe registers", 0.0) + g.get("clock tree", 0.0)
    notes = [f"the multiplier is {100 * g.get('multiplier', 0.0) / pe_slot:.0f} % of the plain PE's energy per slot "
             f"(Eq. 4.1 assumes 80 %); registers and clock are {100 * regs / pe_slot:.0f} %, which no bypass saves",
             f"the rest of the array (buffers, output stage, control, counters) is "
             f"{100 * base['rest_share']:.0f} % of the array's energy: a PE saving is diluted by that much"]
    a = row.get("analytic")
    if a:
        d = row["pe"]["pj_per_slot_by_group"]
        extra = d.get("mul bypass", 0.0) + d.get("add bypass", 0.0) + d.get("gating", 0.0)
        notes.append(f"Eq. 1 assumes a bypassed operation costs only its bypass circuit; measured, the bypass units "
                     f"and gating switch on every slot ({extra:.2f} pJ/slot) and a zero operand already silences "
                     f"most of the multiplier in the plain PE, so p_m = {a['p_mul']:.2f} of the MACs saves far less "
                     f"than p_m of the multiplier's energy")
    return notes


def measure_array(cfg: ArrayConfig, operands, layer_cycles: dict, *, images: int, samples_per_layer: int = 8,
                  runs_per_layer: int = 2, seed: int = 0, variants=None, tech=None, simulator: str = "verilator",
                  delays: bool = False, options: EnergyOptions | None = None, progress=None) -> dict:
    """Energy of the array ``cfg`` and of ``variants`` on ``operands`` (module docstring).

    ``layer_cycles``: array cycles of each layer for all ``images`` (the schedule's cycle model).
    ``variants``: ``(bypass, gating)`` pairs, the first the baseline savings are against (default
    :func:`variants_for` ``(cfg, "none")``). ``progress(step: str)`` is called before each
    measurement. Returns the JSON-ready report (``format`` :data:`FORMAT`).
    """
    from .bypass_study import analytic, conv_share, golden_stats
    from .techlib import find_techlib

    if cfg.dataflow != "ws":
        raise AxmacError("axmac energy measures the weight-stationary dataflow only (--dataflow ws): the PE "
                         "segments it samples are those of a weight-stationary array")
    tech = tech or find_techlib()
    options = options or EnergyOptions(period_ns=1000.0 / cfg.clock_mhz)
    variants = list(variants or variants_for(cfg, "none"))
    per_image = strata(operands, cfg)
    macs = {s.layer: s.macs for s in per_image}
    runs = sample_runs(operands, cfg, runs_per_layer, seed=seed)
    rows = []
    for bypass, gating in variants:
        vcfg = cfg.replace(bypass=bypass, gating=gating)
        design = PEDesign.from_config(vcfg, kind="ws")
        if progress:
            progress(f"PE {bypass}/{gating}")
        pe = measure_pe_part(design, operands, vcfg, samples_per_layer, layer_cycles, seed=seed, tech=tech,
                             simulator=simulator, delays=delays, options=options)
        if progress:
            progress(f"rest of the array {bypass}/{gating}")
        rest = measure_rest_part(vcfg, runs, layer_cycles, tech=tech, simulator="verilator", delays=False,
                                 options=options)
        row = {"bypass": bypass, "gating": gating, "pe": {k: v for k, v in pe.items() if k != "layers"},
               "rest": {k: v for k, v in rest.items() if k != "layers"}, **combine(pe, rest, macs, images)}
        row["rest_share"] = sum(x["rest_pj"] for x in row["layers"]) / row["inference_pj"]
        rows.append(row)
    base = rows[0]
    stats = golden_stats(operands, cfg, PEDesign.from_config(cfg).model)
    share = conv_share(operands, per_image)
    for row in rows:
        pe_e = sum(x["pe_busy_pj"] + x["pe_idle_pj"] for x in row["layers"])
        pe_b = sum(x["pe_busy_pj"] + x["pe_idle_pj"] for x in base["layers"])
        a0, a1 = sum(base["pe"]["area_um2"].values()), sum(row["pe"]["area_um2"].values())
        row.update(saving_pct=_saving(base["inference_pj"], row["inference_pj"]), pe_saving_pct=_saving(pe_b, pe_e),
                   pe_area_cost_pct=100.0 * (a1 - a0) / a0)
        if row["bypass"] != "none":
            row["analytic"] = analytic(stats, Bypass.parse(row["bypass"]), base["pe"]["pj_per_slot_by_group"],
                                       row["pe"]["pj_per_slot_by_group"], share)
        row["explanation"] = explain(row, base) if row is not base else []
    return {"format": FORMAT, "config": cfg.to_dict(), "images": images, "samples_per_layer": samples_per_layer,
            "runs_per_layer": runs_per_layer, "seed": seed, "simulator": simulator, "delays": delays,
            "rest_simulator": "verilator",
            "library": tech.name, "period_ns": options.period_ns, "stats": stats.fractions(), "conv_share": share,
            "designs": rows}


__all__ = ["COMPARE", "FORMAT", "combine", "explain", "load_workload", "measure_array", "measure_pe_part",
           "measure_rest_part", "variants_for"]
