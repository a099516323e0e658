"""``axmac explore``: design-space exploration of approximate arrays, Pareto front of accuracy, area, energy.

Parses the options, calls :func:`axmac.gen.explore.explore` (and
:func:`~axmac.gen.explore.write_outputs` with ``--out-dir``) and prints the front.
"""

from __future__ import annotations

import argparse

from . import array_options, options

DESCRIPTION = """\
Design-space exploration: which multiplier, where, with which bypass, gating and operand widths,
costs how much accuracy and saves how much area and energy.

A point gives every MAC layer a multiplier and an operand width, and the array a bypass set and a
gating mode. Objectives: top-1 accuracy (golden engine on the test images), area (the PE mapped
to the OSU 0.18 um cells with Yosys, times R*C) and energy per inference (gate-level switching
activity of the PE on sampled real layer data, scaled to every PE-cycle of the array). A layer
narrower than --bits runs on the array's multipliers sign-extended. The array options
(--multiplier, --bypass, --gating, ...) give the baseline that savings are measured against.

Strategies: uniform (every candidate on all layers, each bypass set and gating mode),
sensitivity (one layer changed at a time, the others exact), greedy (from all-exact, the
one-layer change with the largest energy saving per accuracy lost while the accuracy stays within
--tolerance of the all-exact one), forward (Moons et al.'s layer-by-layer sweep).

Results are cached under build/explore/cache: a rerun computes nothing, a changed model, option or
code recomputes only what depends on it. Jobs run on --jobs local processes, or on a Dask cluster
with --scheduler tcp://host:port (the workers need the model and data at the same paths)."""


def comma_list(what: str):
    """An argparse type: a non-empty comma-separated list."""
    def convert(text: str) -> tuple[str, ...]:
        items = tuple(t.strip() for t in text.split(",") if t.strip())
        if not items:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {what}")
        return items

    convert.__name__ = what
    return convert


def width_list(text: str) -> tuple[int, ...]:
    return tuple(options.operand_bits(t) for t in comma_list("widths")(text))


def add_parser(sub) -> None:
    from .explore_space import DEFAULT_GATINGS, DEFAULT_MULTIPLIERS, DEFAULT_STRATEGIES

    p = sub.add_parser("explore", parents=[options.model(optional=True, help="the ONNX model (default: the bundled "
                                                                            "model of a built-in dataset)"),
                                           options.dataset(), options.calibration(), array_options.array_config(),
                                           options.out_dir(help="write explore.json and the figures here"),
                                           options.json_flag()],
                       help="design-space exploration: Pareto front of accuracy, area and energy",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(dataset=None, func=cmd_explore)
    g = p.add_argument_group("exploration")
    g.add_argument("--inputs", type=options.input_file, metavar="IN.npz",
                   help="unlabelled inputs for the energy workload of a model without a dataset (no accuracy)")
    g.add_argument("--strategy", type=comma_list("strategies"), metavar="LIST",
                   help=f"uniform,sensitivity,greedy,forward (default {','.join(DEFAULT_STRATEGIES)}; without a "
                   "dataset, those that need no accuracy)")
    g.add_argument("--multipliers", type=comma_list("multiplier specs"), default=DEFAULT_MULTIPLIERS,
                   metavar="SPEC,...", help=f"candidate multipliers (default {','.join(DEFAULT_MULTIPLIERS)})")
    g.add_argument("--bypass-set", dest="bypass_sets", action="append", type=options.bypass_cases, metavar="CASES",
                   help="a bypass set to try (repeatable: --bypass-set none --bypass-set zero,one; default none "
                   "and all)")
    g.add_argument("--gatings", type=comma_list("gating modes"), default=DEFAULT_GATINGS, metavar="LIST",
                   help=f"gating modes to try: none,enable,icg (default {','.join(DEFAULT_GATINGS)})")
    g.add_argument("--widths", type=width_list, metavar="BITS,...",
                   help="operand widths to try per layer, below --bits: precision scaling (default 6,4 for a float "
                   "model, none for a quantized one; give the full width alone for none)")
    g.add_argument("--tolerance", type=options.fraction, default=0.01, metavar="F",
                   help="greedy/forward: relative accuracy loss allowed against all-exact (default 0.01)")
    g.add_argument("--per-tensor", action="store_true", help="one weight scale per layer (default: per channel)")
    g.add_argument("--percentile", type=options.percentile, metavar="P",
                   help="activation range from the P-th percentile of |x| (default: the maximum)")
    e = options.add_energy_execution(p, scheduler_help="run on a Dask cluster, e.g. tcp://host:8786",
                                     cache_help="recompute everything (results are still stored)")
    e.add_argument("--no-plots", dest="plots", action="store_false", help="with --out-dir: only explore.json")


def cmd_explore(args) -> int:
    from ..errors import AxmacError
    from .explore import explore, write_outputs
    from .explore_cache import Cache
    from .explore_space import DEFAULT_BYPASSES
    from .tables import print_json

    if args.out_dir is None and not args.plots:
        raise AxmacError("--no-plots needs --out-dir")
    dataset = args.dataset if args.dataset is not None or args.inputs is not None or args.model is not None \
        else "mnist"
    doc = explore(args.model, dataset, inputs=args.inputs, limit=args.limit, calibration=args.calibration,
                  input_shapes=options.input_shapes(args), per_channel=not args.per_tensor,
                  percentile=args.percentile, array=array_options.config_from_args(args),
                  multipliers=args.multipliers,
                  bypasses=tuple(str(b) for b in args.bypass_sets) if args.bypass_sets else DEFAULT_BYPASSES,
                  gatings=args.gatings, widths=args.widths, strategies=args.strategy, tolerance=args.tolerance,
                  energy_images=args.energy_images, energy_samples=args.energy_samples, seed=args.seed,
                  jobs=args.jobs, scheduler=args.scheduler, cache=Cache(enabled=args.use_cache))
    written = write_outputs(doc, args.out_dir, plots=args.plots) if args.out_dir is not None else []
    if args.json:
        print_json(doc, indent=1)
    else:
        print(summary(doc, written))
    return 0


def summary(doc: dict, written) -> str:
    """The front, the per-layer search paths and the precision-scaling rows as text."""
    from .tables import format_table, num

    pts = {p["id"]: p for p in doc["points"]}
    acc = "accuracy" in doc["objectives"]
    lines = [f"model {doc['model']}  " + (f"dataset {doc['dataset']} ({doc['samples']} samples)" if acc
                                          else f"inputs {doc['inputs']} (no accuracy)"),
             f"array {doc['array']['rows']}x{doc['array']['cols']} {doc['array']['bits']}-bit, "
             f"{len(doc['points'])} points evaluated; baseline {pts[doc['baseline']]['label']}", "",
             "Pareto front (" + ", ".join(f"{k} {v}" for k, v in doc["objectives"].items()) + "):"]
    rows = [[p["id"], p["label"], *([num(p["accuracy"])] if acc else []), num(p["area_um2"] / 1e6),
             f"{num(p['energy_pj'] / 1e6)} +- {num(p['energy_stderr_pj'] / 1e6)}", num(p["saving_pct"])]
            for p in (pts[i] for i in doc["front"])]
    lines.append(format_table(["id", "point", *(["accuracy"] if acc else []), "area mm^2", "energy uJ",
                               "saving %"], rows, left=2))
    for name in ("greedy", "forward"):
        s = doc["strategies"].get(name)
        if s:
            lines += ["", f"{name} (target accuracy {num(s['target_accuracy'])}): " +
                      " -> ".join(pts[i]["label"] for i in s["path"])]
    ps = doc.get("precision_scaling")
    if ps:
        lines += ["", "precision scaling on the full-width exact PE (sign-extended operands) vs Moons et al.:"]
        lines.append(format_table(["bits", "accuracy", "measured uJ", "Moons model uJ", "mult measured", "mult model"],
                                  [[str(r["bits"]), num(r["accuracy"]), num(r["measured_pj"] / 1e6),
                                    num(r["moons_model_pj"] / 1e6), num(r["multiplier_measured_ratio"]),
                                    num(r["multiplier_model_ratio"])] for r in ps["rows"]]))
    run = doc["run"]
    lines += ["", f"{run['executor']} x{run['workers']}: {run['jobs_run']['accuracy']} accuracy and "
              f"{run['jobs_run']['hardware']} hardware jobs run, {run['cache']['hits']} cache hits, "
              f"{run['seconds']:.1f} s"]
    lines += [f"wrote {p}" for p in written]
    return "\n".join(lines)
