"""axmac schedule: tile a model's GEMMs for an R x C MAC array (tiles, cycles, traffic, utilization).

``axmac schedule MODEL.onnx --rows R --cols C [--dataflow ws|os] -o schedule.json`` lowers every
MAC layer of the model to GEMM tiles for an R x C array and writes the schedule
(:func:`axmac.onnx_import.schedule.make_schedule`): tiles in order, MACs, cycles of the array's
cycle model (:mod:`axmac.golden.cycle_model`), buffer traffic and utilization per layer and in
total. A float model needs no calibration for this (shapes and weight widths only); with
``--calibration FILE.npz`` it is quantized as ``axmac run`` would (the schedule is the same
except for the ``source`` strings). Prints one line per layer.
"""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser("schedule", help="tile the model's GEMMs for an R x C array: cycles, traffic, utilization",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("model", metavar="MODEL.onnx", help="ONNX model (float, QDQ or integer ops)")
    p.add_argument("--rows", type=int, required=True, help="array rows R")
    p.add_argument("--cols", type=int, required=True, help="array columns C")
    p.add_argument("--dataflow", choices=("ws", "os"), default="ws",
                   help="ws: weight-stationary (default); os: output-stationary")
    p.add_argument("--acc-bits", type=int, default=32, help="accumulator width for partial-sum traffic (default 32)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.json", help="schedule to write")
    p.add_argument("--summary", action="store_true", help="per-layer figures only, no tile list")
    p.add_argument("--max-tiles", type=int, default=100_000,
                   help="list tiles only up to this many (default 100000), else per-layer only")
    add_model_options(p)
    p.set_defaults(func=cmd_schedule)


def add_model_options(p) -> None:
    """Options shared by commands that load a model: input shapes, calibration and quantization."""
    from .cmd_run import add_quant_options

    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=D1xD2x...",
                   help="fix a dynamic input shape (repeatable)")
    p.add_argument("--calibration", metavar="FILE.npz|mnist|digits", help="calibration inputs for a float model "
                   "(arrays named like the model inputs; a single array is taken for a single input; or a built-in "
                   "dataset's calibration images)")
    add_quant_options(p)


def load_from_args(args, *, shapes_only: bool):
    """Load ``args.model`` with the shared model options (see :func:`add_model_options`)."""

    from ..onnx_import import load_model
    from .cmd_run import graph_input_names, quant_config, read_calibration

    cfg = quant_config(args)
    calib = read_calibration(args.calibration, graph_input_names(args.model)) if args.calibration else None
    return load_model(args.model, quant=cfg, calibration=calib, input_shapes=args.input_shape,
                      shapes_only=shapes_only and calib is None)


def cmd_schedule(args) -> int:
    from ..errors import AxmacError
    from ..onnx_import.schedule import make_schedule
    from ..util import atomic_output

    if args.max_tiles < 0:
        raise AxmacError(f"--max-tiles must be >= 0, not {args.max_tiles}")
    net = load_from_args(args, shapes_only=True)
    sched = make_schedule(net, args.rows, args.cols, args.dataflow, acc_bits=args.acc_bits, summary=args.summary,
                          max_tiles=args.max_tiles)
    with atomic_output(args.output) as f:
        json.dump(sched, f, separators=(",", ":") if sched["tiles_listed"] else (", ", ": "))
        f.write("\n")
    print(f"{'layer':<24} {'G':>4} {'M':>7} {'K':>6} {'N':>5} {'tiles':>7} {'cycles':>10} {'util':>6}")
    for la in sched["layers"]:
        print(f"{la['name'][:24]:<24} {la['groups']:>4} {la['M']:>7} {la['K']:>6} {la['N']:>5} {la['tiles']:>7} "
              f"{la['cycles']:>10} {la['utilization']:>6.3f}")
    t = sched["totals"]
    print(f"{'total':<24} {'':>4} {'':>7} {'':>6} {'':>5} {t['tiles']:>7} {t['cycles']:>10} {t['utilization']:>6.3f}")
    print(f"wrote {args.output} ({args.rows}x{args.cols} {args.dataflow}, "
          f"{'tiles listed' if sched['tiles_listed'] else 'per-layer only'})")
    return 0
