"""``axmac flow``: the main job end to end (``make demo``): parse, call :func:`axmac.gen.flow.run_flow`, print."""

from __future__ import annotations

import argparse
import os

from . import array_options, options

DESCRIPTION = """\
The main job, end to end, on a model (default: the bundled LeNet-5 on MNIST): quantize it for
the array; emulate it exactly (accuracy, Ma & Jiao's trivial computations); evaluate every
candidate multiplier with and without bypass on all layers, and one layer at a time (accuracy,
PE area in OSU 0.18 um cells, switching-activity energy per inference); choose a design by a
stated rule on the Pareto front; generate its Verilog; co-simulate one whole inference and a
batch of images through that RTL against golden; synthesize it (Yosys generic gates, iCE40 with
nextpnr, OSU 0.18 um cells) and measure its energy per inference at gate level; write the
report: report.json (schema in docs/report_schema.md), report.md, index.html with the figures,
and the design's rtl/.

The rule: the lowest-energy design with one multiplier in every PE whose top-1 accuracy is
within --max-loss percentage points of the exact integer model's. Without labels (--inputs):
the lowest-energy design whose arithmetic is exact.

The array options give the base design (rows, columns, operand width, accumulators, gating);
its --multiplier and --bypass are the baseline that savings are measured against. Every stage
is cached under build/: a rerun takes seconds, a change recomputes only what depends on it."""


def targets(text: str) -> tuple[str, ...]:
    """``generic,ice40,osu018`` (any of them) or ``none``."""
    from .cmd_explore import comma_list

    items = comma_list("synthesis targets")(text)
    return () if items == ("none",) else items


def add_parser(sub) -> None:
    from .cmd_explore import comma_list
    from .flow import FLOW_MULTIPLIERS, MAX_LOSS_PP, RTL_IMAGES, TARGETS

    p = sub.add_parser("flow", parents=[options.model(optional=True, help="the ONNX model (default: the bundled "
                                                                         "model of the built-in dataset)"),
                                        options.dataset(), array_options.array_config(),
                                        options.out_dir(help="the report folder (default build/report)"),
                                        options.json_flag()],
                       help="the main job: explore, choose, generate, co-simulate, report",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(dataset=None, func=cmd_flow)
    g = p.add_argument_group("flow")
    g.add_argument("--inputs", type=options.input_file, metavar="IN.npz",
                   help="unlabelled inputs of a model without a dataset (no accuracy; also its calibration)")
    g.add_argument("--images", type=options.positive_int, default=RTL_IMAGES, metavar="N",
                   help=f"test images co-simulated through the RTL besides the single inference (default {RTL_IMAGES})")
    g.add_argument("--multipliers", type=comma_list("multiplier specs"), default=FLOW_MULTIPLIERS, metavar="SPEC,...",
                   help=f"candidate multipliers (default {','.join(FLOW_MULTIPLIERS)}: one per family)")
    g.add_argument("--bypass-set", dest="bypass_sets", action="append", type=options.bypass_cases, metavar="CASES",
                   help="a bypass set to try (repeatable; default none and all)")
    percentage_points = options.float_in(0, 100, "percentage points", " percentage points", upper_open=True)
    g.add_argument("--max-loss", type=percentage_points, default=MAX_LOSS_PP, metavar="PP",
                   help=f"accuracy the chosen design may lose, in percentage points (default {MAX_LOSS_PP:g})")
    g.add_argument("--targets", type=targets, default=TARGETS, metavar="LIST",
                   help=f"synthesis targets of the chosen array: {','.join(TARGETS)} (default) or none")
    g.add_argument("--array-energy", action="store_true",
                   help="also measure the gate-level energy of the whole chosen array beside it without bypass and "
                   "gating (the exploration's PE energies are measured anyway; the Verilator build of a whole "
                   "array's netlist takes far longer than the rest of the flow for the default 8x8 on two cores, "
                   "minutes for a 4x4 with a small --acc-depth)")
    options.add_energy_execution(p, scheduler_help="run the exploration on a Dask cluster, e.g. tcp://host:8786",
                                 cache_help="recompute every stage (results are still stored)")


def config_from_args(args):
    """The :class:`~axmac.gen.flow.FlowConfig` of the parsed options."""
    from .flow import FLOW_BYPASSES, FlowConfig

    dataset = args.dataset if args.dataset is not None or args.inputs is not None or args.model is not None \
        else "mnist"
    return FlowConfig(model=None if args.model is None else str(args.model), dataset=dataset,
                      inputs=None if args.inputs is None else str(args.inputs), limit=args.limit,
                      input_shapes=tuple(sorted(options.input_shapes(args).items())), rtl_images=args.images,
                      array=array_options.config_from_args(args), multipliers=args.multipliers,
                      bypasses=tuple(str(b) for b in args.bypass_sets) if args.bypass_sets else FLOW_BYPASSES,
                      max_loss_pp=args.max_loss, energy_images=args.energy_images,
                      energy_samples=args.energy_samples, seed=args.seed, jobs=args.jobs, scheduler=args.scheduler,
                      out_dir=args.out_dir, use_cache=args.use_cache, targets=args.targets,
                      array_energy=args.array_energy)


def cmd_flow(args) -> int:
    from .flow import run_flow
    from .tables import print_json

    doc, written = run_flow(config_from_args(args))
    if args.json:
        print_json(doc, indent=1)
    else:
        out = written[0].parent
        rel = os.path.relpath(out)
        print(summary(doc, out if rel.startswith("..") else rel))
    return 0 if doc["cosim"]["matched"] else 1


def _synth_text(target: str, f: dict) -> str:
    from .tables import num

    if target == "generic":
        return f"generic {num(f.get('gates'))} gates + {num(f.get('dff'))} flip-flops"
    if target == "osu018":
        return f"osu018 {num(None if f.get('area_um2') is None else f['area_um2'] * 1e-6)} mm^2"
    fmax = f.get("fmax_mhz")
    return f"{target} {num(f.get('lut4'))} LUT4, " + ("no Fmax (see the report)" if fmax is None else
                                                      f"Fmax {fmax:.1f} MHz")


def summary(doc: dict, out_dir) -> str:
    """What the flow prints: the chosen design and its figures, and where the report is."""
    from .tables import num

    d, c, acc, cos = doc["design"], doc["choice"], doc["accuracy"], doc["cosim"]
    cfg = d["config"]
    data = f"{doc['data']['dataset']} ({doc['data']['samples']} test images)" if doc["data"]["labelled"] \
        else f"{doc['data']['inputs']} ({doc['data']['samples']} inputs, no labels)"
    lines = [f"axmac flow: {doc['model']['name']} on {data}; {cfg['rows']}x{cfg['cols']} weight-stationary array, "
             f"{cfg['bits']}-bit {'signed' if cfg['signed'] else 'unsigned'} operands",
             f"{len(doc['exploration']['points'])} designs explored, Pareto front of "
             f"{len(doc['exploration']['front'])}",
             f"chosen design: {d['label']}", f"  rule: {c['rule']}"]
    if acc is not None:
        lines.append(f"  accuracy  {num(d['accuracy'])} +- {num(d['accuracy_stderr'])} top-1 "
                     f"(exact integer model {num(acc['exact'])}, {acc['samples']} images)")
    lines += [f"  area      {num(d['area_um2'] * 1e-6)} mm^2 of PEs ({num(d['area_change_pct'])} % vs the baseline)",
              f"  energy    {num(d['energy_pj'] * 1e-6)} +- {num(d['energy_stderr_pj'] * 1e-6)} uJ per inference "
              f"({num(d['saving_pct'])} % saved vs the baseline)",
              f"  cycles    {d['cycles_rtl']} per inference on the RTL (cycle model {d['cycles']})"]
    if d.get("array_energy_pj") is not None:
        lines.append(f"  whole array: {num(d['array_energy_pj'] * 1e-6)} +- "
                     f"{num(d['array_energy_stderr_pj'] * 1e-6)} uJ per inference at gate level")
    syn = doc.get("synthesis") or {}
    if syn:
        lines.append("  synthesis: " + "; ".join(_synth_text(t, r["figures"]) for t, r in syn.items()))
    b = cos["batch"]
    verdict = "matched" if cos["matched"] else "MISMATCH"
    rtl = f"; {b['images']} images: RTL top-1 {num(b['accuracy'])}, golden {num(b['golden_accuracy'])}" \
        if b and "accuracy" in b else (f"; {b['images']} images" if b else "")
    lines.append(f"  co-simulation: {verdict} (one inference layer by layer{rtl})")
    lines.append(f"report: {out_dir}/index.html (report.md, report.json, rtl/)")
    return "\n".join(lines)
