"""``axmac energy``: energy per MAC and per inference of the array, from gate-level switching activity.

Parses the model, dataset, array configuration and measurement options, calls
:func:`axmac.gen.array_energy.load_workload` and :func:`~axmac.gen.array_energy.measure_array`
(with a progress bar on standard error) and prints the designs' energies, savings and the
analytic estimates (``--json``: the report).
"""

from __future__ import annotations

import argparse
import sys

from . import array_options, options

DESCRIPTION = """\
Energy of the systolic array per MAC and per inference, measured from switching activity: the
array's PE and the rest of the array (skew, accumulator buffer, output stage, FIFO, controller,
counters) are mapped to the OSU 0.18 um standard cells (or --liberty/--cells), simulated at gate
level on the model's real quantized layer data (every output checked against the golden models)
and every net's toggles weighted by the library: switching energy from pin capacitances,
internal energy from the cells' power tables, leakage.

The PE is measured on --samples-per-layer sampled segments (one PE, one tile) per layer and the
rest of the array on --runs-per-layer sampled runs (one column block of one row chunk, every K
tile); both are scaled to the layer's cycles from the array's cycle model, idle PE cycles (fill,
drain) at the measured idle energy, with the standard error of the sampling. --compare measures
the same array with each bypass case (bypass) or each gating mode (gating) on the same samples:
savings against the array without bypass and gating, beside Ma & Jiao's Eq. 1 and the thesis's
Eq. 4.1 computed from the same images' trivial-computation statistics.

Default model: the bundled LeNet-5 on MNIST. Simulation is Verilator zero-delay; --simulator
icarus --delays simulates the PE with the cells' delays (glitches: an upper bound); the rest of
the array, which runs the PEs' RTL beside its gates, always runs on Verilator. A first run builds
one simulation per design: minutes; reruns reuse the builds."""


def add_parser(sub) -> None:
    p = sub.add_parser("energy", parents=[options.model(optional=True, help="the ONNX model (default: the bundled "
                                                                           "model of the dataset, LeNet-5 for mnist)"),
                                          options.json_flag()],
                       help="energy per MAC and per inference from gate-level switching activity",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--dataset", default="mnist", metavar="mnist|digits|FILE.npz",
                   help="test images (and calibration images) the layers run on (default mnist)")
    d.add_argument("--images", type=options.int_in(1, 10_000, what="a number of images"), default=1, metavar="N",
                   help="test images whose layer data is sampled (default 1)")
    array_options.add_array_options(p)
    g = p.add_argument_group("measurement")
    g.add_argument("--samples-per-layer", type=options.int_in(2, 100_000, what="a sample size"), default=8,
                   metavar="S", help="PE segments sampled per layer (default 8)")
    g.add_argument("--runs-per-layer", type=options.int_in(2, 1000, what="a sample size"), default=2, metavar="T",
                   help="runs of the whole array sampled per layer (default 2)")
    g.add_argument("--seed", type=options.non_negative_int, default=0, help="seed of the samples (default 0)")
    g.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator",
                   help="gate-level simulator of the PE (default verilator, zero-delay)")
    g.add_argument("--delays", action="store_true", help="with --simulator icarus: the cells' delays (glitches)")
    g.add_argument("--compare", choices=("none", "bypass", "gating", "all"), default="none",
                   help="also measure each bypass case / each gating mode (default none: the configured array "
                   "and the one without bypass and gating)")
    g.add_argument("--liberty", type=options.input_file, metavar="FILE.lib", help="standard cells (default OSU018)")
    g.add_argument("--cells", type=options.input_file, metavar="FILE.v",
                   help="Verilog models of the --liberty cells (needed with --liberty)")
    g.add_argument("-o", "--output", type=options.output_path, metavar="FILE.json", help="also write the report here")
    p.set_defaults(func=cmd_energy, parser=p)


def check_args(args) -> None:
    """One-line errors for option combinations argparse cannot see."""
    from ..errors import AxmacError

    if args.delays and args.simulator != "icarus":
        raise AxmacError("--delays needs --simulator icarus (Verilator simulates zero-delay)")
    if (args.liberty is None) != (args.cells is None):
        raise AxmacError("--liberty and --cells go together (the library and its Verilog cell models)")


def cmd_energy(args) -> int:
    from tqdm import tqdm

    from .array_energy import load_workload, measure_array, variants_for
    from .cmd_synth import emit

    check_args(args)
    cfg = array_options.config_from_args(args)
    if cfg.dataflow != "ws":
        from ..errors import AxmacError

        raise AxmacError("axmac energy measures the weight-stationary dataflow only (--dataflow ws)")
    variants = variants_for(cfg, args.compare)
    if args.liberty is not None:
        from .techlib import techlib_from_files

        tech = techlib_from_files(args.liberty, args.cells)
    else:
        from .techlib import find_techlib

        tech = find_techlib()
    ops, cycles = load_workload(cfg, args.model, args.dataset, images=args.images,
                                input_shapes=options.input_shapes(args) or None)
    bar = tqdm(total=2 * len(variants), desc="energy", unit="step", file=sys.stderr, leave=False)

    def progress(step: str) -> None:
        if bar.n or step != f"PE {variants[0][0]}/{variants[0][1]}":
            bar.update(1)
        bar.set_postfix_str(step)

    try:
        res = measure_array(cfg, ops, cycles, images=args.images, samples_per_layer=args.samples_per_layer,
                            runs_per_layer=args.runs_per_layer, seed=args.seed, variants=variants, tech=tech,
                            simulator=args.simulator, delays=args.delays, progress=progress)
    finally:
        bar.close()
    res["model"] = str(args.model) if args.model is not None else "bundled LeNet-5 (models/lenet5_mnist.onnx)"
    res["dataset"] = str(args.dataset)
    emit(args, res, summary)
    return 0


def summary(res: dict) -> str:
    """The designs, the configured design's layers, the analytic estimates and the notes, as text."""
    from .tables import format_table, num

    c = res["config"]
    lines = [f"{res['model']} on {res['images']} {res['dataset']} image(s); {c['rows']}x{c['cols']} ws array, "
             f"{'s' if c['signed'] else 'u'}{c['bits']} {c['multiplier']}, D={c['acc_depth']}, {res['library']}, "
             f"{res['period_ns']:g} ns clock, {res['simulator']}{' with delays' if res['delays'] else ''}",
             f"samples: {res['samples_per_layer']} PE segments and {res['runs_per_layer']} array runs per layer; "
             f"trivial fractions: " + ", ".join(f"{k} {num(v)}" for k, v in res["stats"].items()), ""]
    def pct(v) -> str:
        return "-" if v is None else f"{100 * v:.1f}"

    rows = []
    for d in res["designs"]:
        a = d.get("analytic") or {}
        rows.append([d["bypass"], d["gating"], f"{sum(d['pe']['area_um2'].values()):.0f}",
                     f"{d['pe_area_cost_pct']:+.1f}", f"{d['pe']['pj_per_slot']:.2f}",
                     f"{d['inference_pj'] / 1e6:.3f} +- {d['stderr_pj'] / 1e6:.3f}", f"{d['pj_per_mac']:.2f}",
                     f"{d['pe_saving_pct']:+.1f}", f"{d['saving_pct']:+.1f}", pct(a.get("eq1")),
                     pct(a.get("eq1_paper_energies")), pct(a.get("eq41"))])
    lines.append(format_table(["bypass", "gating", "PE um^2", "area %", "PE pJ/slot", "uJ/inference", "pJ/MAC",
                               "PE saving %", "saving %", "Eq.1 %", "Eq.1 FP32 %", "Eq.4.1 %"], rows, left=2))
    conf = next(d for d in res["designs"] if (d["bypass"], d["gating"]) == (c["bypass"], c["gating"]))
    lines += ["", f"layers of bypass {conf['bypass']}, gating {conf['gating']} (pJ per inference):"]
    lines.append(format_table(["layer", "MACs", "PE busy", "PE idle", "rest", "total", "+-", "pJ/MAC"],
                              [[x["name"], str(x["macs"]), f"{x['pe_busy_pj']:.0f}", f"{x['pe_idle_pj']:.0f}",
                                f"{x['rest_pj']:.0f}", f"{x['energy_pj']:.0f}", f"{x['stderr_pj']:.0f}",
                                num(x["pj_per_mac"])] for x in conf["layers"]], left=2))
    for d in res["designs"]:
        for note in d.get("explanation", []):
            lines.append(f"{d['bypass']}/{d['gating']}: {note}")
    pe_s = [d["pe"]["seconds_per_segment"] for d in res["designs"]]
    lines.append(f"time: {max(pe_s):.2f} s per PE segment at most (simulation, toggle count, energy; the first "
                 "run of a design also maps it and builds its simulation)")
    return "\n".join(lines)
