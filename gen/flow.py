"""``axmac flow``: the main job, end to end (``make demo`` runs it).

On a model (default: the bundled LeNet-5) and a labelled dataset (default MNIST), or unlabelled
``--inputs`` (then no accuracy), :func:`run_flow` runs these stages in order
(:mod:`axmac.gen.flow_stages`):

1. ``quantize`` -- the model quantized to the base array's operands, its schedule and cycles;
2. ``emulate`` -- the exact integer model's accuracy and Ma & Jiao's trivial-computation statistics;
3. ``multipliers`` -- error metrics of every candidate multiplier;
4. ``explore`` -- every candidate multiplier with and without bypass on all layers (accuracy,
   PE area in the OSU 0.18 um cells, switching-activity energy per inference), the layer-by-layer
   sensitivity, the Pareto fronts;
5. ``choose`` -- the design by the rule of :func:`choose` (printed with the rule);
6. ``generate`` -- its Verilog, manifest and constraints;
7. ``cosim`` -- one whole inference and a batch of images through that RTL (``axmac verify --all``);
8. ``synth`` -- the whole chosen array synthesised: Yosys generic gates, iCE40 (nextpnr: LUTs, Fmax),
   OSU 0.18 um cells (area by part) (:mod:`axmac.gen.array_synth`, ``axmac synth``);
9. ``energy`` -- the whole chosen array's energy per inference at gate level, PEs and the rest of
   the array (:mod:`axmac.gen.array_energy`, ``axmac energy``), beside it without bypass and gating,
   with ``--array-energy`` only (the Verilator build of a whole 8x8 array's gate-level netlist, its
   flip-flop memories included, takes far longer than the rest of the flow on two cores; the
   exploration's PE energies are measured in every run);
10. ``report`` -- ``report.json``, then ``report.md``, ``index.html`` and the figures from it
   (:mod:`axmac.gen.report`), written whole or not at all.

Every stage but ``choose`` and ``report`` is cached under ``build/flow/cache`` by a key over what
it depends on (the model's and data's bytes, the options it takes, the source code of the modules
it runs: :func:`axmac.gen.explore_cache.code_version`); the exploration, the simulator builds and
the synthesis runs keep their own finer caches too. Each stage prints one line to standard error
when it starts and one when it ends (what it found, seconds, whether it came from the cache;
:mod:`axmac.gen.flow_runner`); the exploration shows progress bars there as well. The chosen
design's co-simulation, its synthesis for each target and its energy are independent: they run
at once, one worker process each (at most ``jobs`` when given), the longest first
(:data:`SYNTH_ORDER`). On the default 8x8
array (mitchw:3, this machine, one process each) the synthesis took generic 392 s, osu018 306 s and
ice40 185 s of CPU with two ABC mappings per netlist; with one (``one_abc``, see
:mod:`axmac.gen.array_synth`) generic 234 s and osu018 222 s (its flattened netlist not written).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ArrayConfig
from ..errors import AxmacError

#: one multiplier per family of the registry (``lut:``/``verilog:`` need files: give them with --multipliers)
FLOW_MULTIPLIERS = ("exact", "trunc:2", "bam:6", "mitchell", "mitchw:3", "drum:4")
FLOW_BYPASSES = ("none", "all")
MAX_LOSS_PP = 0.5
RTL_IMAGES = 50
TARGETS = ("generic", "ice40", "osu018")
#: the targets from the longest synthesis of the default 8x8 array to the shortest (CPU seconds in
#: flow.py's docstring), so that the longest jobs start first
SYNTH_ORDER = ("generic", "osu018", "ice40")
STAGES = ("quantize", "emulate", "multipliers", "explore", "choose", "generate", "cosim", "synth", "energy", "report")
RULE = ("the lowest-energy design with one multiplier in every PE (operands at full width) whose top-1 "
        "accuracy is within {tol:g} percentage points of the exact integer model's; ties: the smaller area")
RULE_NO_LABELS = ("no labels, so no accuracy: the lowest-energy design whose arithmetic is exact (the exact "
                  "multiplier; bypassed products are exact too)")
#: source folders each cached stage depends on
CODE = {"quantize": ("axmac", "golden", "onnx_import", "gen/datasets.py", "gen/files.py", "gen/flow_stages.py"),
        "emulate": ("axmac", "golden", "onnx_import", "gen/datasets.py", "gen/emulation.py", "gen/flow_stages.py"),
        "multipliers": ("golden", "gen/flow_stages.py"),
        "explore": ("axmac", "golden", "onnx_import", "hw", "gen"),
        "generate": ("axmac", "golden/multipliers", "hw", "gen/generate.py", "constraints/array.sdc.tmpl",
                     "constraints/array.pcf.tmpl", "constraints/array.lpf.tmpl"),
        "cosim": ("axmac", "golden", "onnx_import", "hw", "sim", "gen/verify.py", "gen/flow_stages.py"),
        "synth": ("axmac", "golden/multipliers", "hw", "gen/array_synth.py", "gen/synth.py", "gen/asic.py",
                  "gen/breakdown.py", "gen/netlist.py", "gen/liberty.py", "gen/techlib.py", "gen/flow_stages.py"),
        "energy": ("axmac", "golden", "onnx_import", "hw", "gen")}


@dataclass(frozen=True)
class FlowConfig:
    """What :func:`run_flow` does (see ``axmac flow --help`` for each field's option)."""

    model: str | None = None
    dataset: str | None = "mnist"
    inputs: str | None = None
    limit: int | None = None
    #: ``((input name, shape), ...)`` fixing dynamic input dims (default: from the data)
    input_shapes: tuple = ()
    rtl_images: int = RTL_IMAGES
    array: ArrayConfig = field(default_factory=ArrayConfig)
    multipliers: tuple[str, ...] = FLOW_MULTIPLIERS
    bypasses: tuple[str, ...] = FLOW_BYPASSES
    max_loss_pp: float = MAX_LOSS_PP
    energy_images: int = 2
    energy_samples: int = 16
    seed: int = 0
    jobs: int | None = None
    scheduler: str | None = None
    out_dir: Path | None = None
    use_cache: bool = True
    #: synthesis targets of the chosen array (empty: none)
    targets: tuple[str, ...] = TARGETS
    #: measure the whole chosen array's energy (PEs and the rest) at gate level
    array_energy: bool = False

    def to_dict(self) -> dict:
        return {"model": self.model, "dataset": self.dataset, "inputs": self.inputs, "limit": self.limit,
                "rtl_images": self.rtl_images, "array": self.array.to_dict(), "multipliers": list(self.multipliers),
                "bypasses": list(self.bypasses), "max_loss_pp": self.max_loss_pp,
                "energy_images": self.energy_images, "energy_samples": self.energy_samples, "seed": self.seed,
                "targets": list(self.targets), "array_energy": self.array_energy}


def out_dir_of(fc: FlowConfig) -> Path:
    from ..paths import build_dir

    return Path(fc.out_dir) if fc.out_dir is not None else build_dir("report")


def check_config(fc: FlowConfig) -> None:
    """Bad options, as one-line errors, before any work."""
    from ..config import normalize_bypass
    from ..golden.multipliers import make_multiplier
    from .report import check_out_dir

    if fc.array.dataflow != "ws":
        raise AxmacError("axmac flow explores weight-stationary arrays: --dataflow os is not supported")
    if not 0.0 <= fc.max_loss_pp < 100.0:
        raise AxmacError(f"--max-loss must be in [0, 100) percentage points, not {fc.max_loss_pp:g}")
    if fc.rtl_images < 1:
        raise AxmacError(f"--images must be positive, not {fc.rtl_images}")
    if not fc.multipliers or not fc.bypasses:
        raise AxmacError("--multipliers and --bypass-set need at least one entry")
    if "exact" not in fc.multipliers:
        raise AxmacError("--multipliers must include exact (the reference of the rule and of the savings)")
    for spec in fc.multipliers:
        try:
            make_multiplier(spec, fc.array.bits, fc.array.signed)
        except AxmacError as e:
            raise AxmacError(f"--multipliers {spec}: {e}") from None
    for b in fc.bypasses:
        normalize_bypass(b)
    bad = [t for t in fc.targets if t not in TARGETS]
    if bad:
        raise AxmacError(f"--targets {bad[0]}: unknown synthesis target (known: {', '.join(TARGETS)}, none)")
    check_out_dir(out_dir_of(fc))


def realizable(p: dict, cfg: ArrayConfig) -> bool:
    """Whether an exploration point is one array configuration: one multiplier, full-width operands."""
    return (len(set(p["multipliers"].values())) == 1 and all(b == cfg.bits for b in p["bits"].values())
            and p["gating"] == cfg.gating and p["energy_pj"] is not None)


def choose(explored: dict, cfg: ArrayConfig, max_loss_pp: float) -> dict:
    """The design (module docstring, :data:`RULE`): ``point`` (its id), ``config`` (the base array
    with its multiplier, bypass and gating), ``rule``, ``reference_accuracy``, ``threshold`` and
    ``candidates`` (ids of the points the rule admitted)."""
    points = [p for p in explored["points"] if realizable(p, cfg)]
    labels = "accuracy" in explored["objectives"]
    ref = threshold = None
    if labels:
        exact = [p["accuracy"] for p in points if set(p["multipliers"].values()) == {"exact"}]
        if not exact:
            raise AxmacError("--multipliers must include exact (the reference accuracy of the rule)")
        ref = exact[0]
        threshold = ref - max_loss_pp / 100.0
        cands = [p for p in points if p["accuracy"] >= threshold - 1e-12]
    else:
        cands = [p for p in points if set(p["multipliers"].values()) == {"exact"}]
    if not cands:
        raise AxmacError("no design satisfies the rule: include exact in --multipliers")
    best = min(cands, key=lambda p: (p["energy_pj"], p["area_um2"], p["key"]))
    spec = next(iter(best["multipliers"].values()))
    chosen = cfg.replace(multiplier=spec, bypass=best["bypass"], gating=best["gating"])
    return {"rule": RULE.format(tol=max_loss_pp) if labels else RULE_NO_LABELS, "max_loss_pp": max_loss_pp,
            "reference_accuracy": ref, "threshold": threshold, "candidates": [p["id"] for p in cands],
            "point": best["id"], "label": best["label"], "config": chosen.to_dict(),
            "on_front": best["id"] in explored["front"]}


def run_flow(fc: FlowConfig, *, log=None, cache=None) -> tuple[dict, list[Path]]:
    """Run the flow (module docstring); return the report document and the files written."""
    from ..paths import build_dir
    from ..sim.cosim import array_stamp
    from . import explore_hw
    from .explore_cache import Cache
    from .flow_runner import Job, Stages
    from .flow_stages import (
        cosim_stage,
        emulate_stage,
        energy_stage,
        explore_stage,
        generate_stage,
        model_stage,
        multipliers_stage,
        resolve_data,
        synth_stage,
    )
    from .report import assemble, write_report

    t0 = time.perf_counter()
    check_config(fc)
    data = resolve_data(fc.model, fc.dataset, fc.inputs, fc.limit, dict(fc.input_shapes))
    cfg = fc.array
    hardware = explore_hw.GateLevelHardware().version()  # the cell library must be there before any work
    st = Stages(cache or Cache(build_dir("flow", "cache"), enabled=fc.use_cache), STAGES, CODE, log)
    base = [data.key(), cfg.to_dict()]
    model = st.run("quantize", base, lambda: model_stage(data, cfg),
                   lambda d: f"{len(d['layers'])} MAC layers, {d['macs']} MACs, {d['cycles']} cycles per inference")
    emulated = st.run("emulate", base, lambda: emulate_stage(data, cfg),
                      lambda d: f"exact accuracy {d['accuracy']:.4f}" if d["accuracy"] is not None
                      else f"statistics of {d['samples']} inputs")
    mults = st.run("multipliers", [list(fc.multipliers), cfg.bits, cfg.signed],
                   lambda: multipliers_stage(fc.multipliers, cfg), lambda d: f"{len(d)} multipliers")
    ekw = {"energy_images": fc.energy_images, "energy_samples": fc.energy_samples, "seed": fc.seed}
    explored = st.run("explore", [*base, list(fc.multipliers), list(fc.bypasses), ekw, hardware],
                      lambda: explore_stage(data, cfg, multipliers=fc.multipliers, bypasses=fc.bypasses, jobs=fc.jobs,
                                            scheduler=fc.scheduler, use_cache=fc.use_cache, **ekw),
                      lambda d: f"{len(d['points'])} points, front of {len(d['front'])}")
    choice = st.run("choose", None, lambda: choose(explored, cfg, fc.max_loss_pp), lambda d: d["label"])
    chosen = ArrayConfig.from_dict(choice["config"])
    stamp = array_stamp(chosen)
    rtl = build_dir("flow", "rtl", stamp[:16])
    gen = st.run("generate", [stamp, chosen.to_dict()], lambda: generate_stage(chosen, rtl),
                 lambda d: f"{len(d['files'])} files", valid=lambda d: (rtl / "manifest.json").is_file())
    # the chosen design's co-simulation, synthesis and energy are independent: run at once, the
    # longest first (on two workers the 8x8 array's generic synthesis, then osu018, ice40, cosim)
    jobs = []
    if fc.array_energy:
        jobs.append(Job("energy", "energy", [data.key(), stamp, ekw], energy_stage, (data, chosen),
                        {"count": fc.energy_images, "samples": fc.energy_samples, "seed": fc.seed},
                        lambda d: f"{d['designs'][-1]['inference_pj'] * 1e-6:.4g} uJ per inference"))
    jobs += [Job(f"synth {t}", "synth", [stamp, t], synth_stage, (chosen, t),
                 describe=lambda d: "; ".join(d["notes"][:1])[:100])
             for t in sorted(fc.targets, key=SYNTH_ORDER.index)]
    jobs.append(Job("cosim", "cosim", [data.key(), stamp, fc.rtl_images], cosim_stage,
                    (data, chosen, min(fc.rtl_images, data.samples or fc.rtl_images)),
                    describe=lambda d: "matched" if d["matched"] else "MISMATCH"))
    # one process per job unless --jobs limits them: they are single-threaded tool runs, and more
    # processes than cores keep every core busy to the end (two workers left one idle while the
    # longest synthesis finished: 461 s instead of the ~400 s their CPU time needs on two cores)
    done = st.run_many(jobs, fc.jobs if fc.jobs is not None else len(jobs))
    cosim = done["cosim"]
    synth = {t: done[f"synth {t}"] for t in fc.targets} or None
    energy = done.get("energy")
    if not fc.targets:
        st.skip("synth", "--targets none")
    if not fc.array_energy:
        st.skip("energy", "no --array-energy")
    parts = {"config": fc.to_dict(), "model": model, "emulated": emulated, "multipliers": mults,
             "explored": explored, "choice": choice, "generated": gen, "cosim": cosim, "synthesis": synth,
             "energy": energy, "timing": list(st.timing)}
    written = []

    def report() -> dict:
        doc = assemble(parts, data)
        doc["timing"]["total_seconds"] = time.perf_counter() - t0  # up to the report itself
        written.extend(write_report(doc, out_dir_of(fc), rtl))
        return doc

    doc = st.run("report", None, report, lambda d: f"{len(written)} files in {out_dir_of(fc)}")
    return doc, written


__all__ = ["FLOW_BYPASSES", "FLOW_MULTIPLIERS", "MAX_LOSS_PP", "RULE", "RULE_NO_LABELS", "STAGES", "TARGETS",
           "FlowConfig", "check_config", "choose", "out_dir_of", "realizable", "run_flow"]
