"""``axmac schedule``: tile a model's GEMMs for an R x C MAC array.

Lowers every MAC layer to GEMM tiles and writes the schedule of
:func:`axmac.onnx_import.schedule.make_schedule` (tiles in order, MACs, cycles of
:mod:`axmac.golden.cycle_model`, buffer traffic and utilization per layer and in total); prints
one line per layer. A float model needs no calibration for this (shapes and weight widths
only); with ``--calibration`` it is quantized as ``axmac run`` would.
"""

from __future__ import annotations

from . import options


def add_parser(sub) -> None:
    p = sub.add_parser("schedule", parents=[options.model(), options.array_shape(), options.calibration(),
                                            options.quantization(),
                                            options.output_file(metavar="FILE.json", help="schedule to write")],
                       help="tile the model's GEMMs for an R x C array: cycles, traffic, utilization",
                       description="Tile every MAC layer of a model (as a GEMM) for an R x C array and write the "
                       "schedule: tiles in order, MACs, cycles, buffer traffic and utilization per layer. A float "
                       "model needs no calibration for this (shapes and weight widths only).")
    p.add_argument("--config", type=options.input_file, metavar="F.toml",
                   help="array configuration file (TOML/JSON, or a manifest.json of axmac generate); --rows, "
                   "--cols, --dataflow, --acc-bits and --acc-depth override it")
    p.add_argument("--batch", type=options.positive_int, metavar="N",
                   help="schedule N samples at once (replaces the model's batch dimension; default: the model's)")
    p.add_argument("--summary", action="store_true", help="per-layer figures only, no tile list")
    p.add_argument("--max-tiles", type=options.non_negative_int, default=100_000, metavar="N",
                   help="list tiles only up to this many (default 100000), else per-layer only")
    p.set_defaults(func=cmd_schedule)


def cmd_schedule(args) -> int:
    import json

    from ..onnx_import.loader import load_model
    from ..onnx_import.schedule import make_schedule
    from .files import read_calibration, write_output
    from .tables import format_table

    calib = read_calibration(args.calibration, args.model)
    net = load_model(args.model, quant=options.quant_config(args), calibration=calib,
                     input_shapes=options.input_shapes(args), shapes_only=calib is None)
    given = {"rows": args.rows, "cols": args.cols, "dataflow": args.dataflow, "acc_bits": args.acc_bits,
             "acc_depth": args.acc_depth}
    given = {k: v for k, v in given.items() if v is not None}
    if args.config is not None:
        from .array_options import read_config_file

        array = read_config_file(args.config).replace(**given)
        sched = make_schedule(net, array, batch=args.batch, summary=args.summary, max_tiles=args.max_tiles)
    else:
        rows, cols = given.pop("rows", 8), given.pop("cols", 8)
        sched = make_schedule(net, rows, cols, batch=args.batch, summary=args.summary, max_tiles=args.max_tiles,
                              **given)

    def write(f):
        json.dump(sched, f, separators=(",", ":") if sched["tiles_listed"] else (", ", ": "))
        f.write("\n")

    write_output(args.output, "--output", write)
    rows = [[la["name"][:24], str(la["groups"]), str(la["M"]), str(la["K"]), str(la["N"]), str(la["tiles"]),
             str(la["cycles"]), f"{la['utilization']:.3f}"] for la in sched["layers"]]
    t = sched["totals"]
    rows.append(["total", "", "", "", "", str(t["tiles"]), str(t["cycles"]), f"{t['utilization']:.3f}"])
    print(format_table(["layer", "G", "M", "K", "N", "tiles", "cycles", "util"], rows, rule=False))
    a = sched["array"]
    print(f"wrote {args.output} ({a['rows']}x{a['cols']} {a['dataflow']}"
          f"{'' if sched['batch'] is None else ', batch ' + str(sched['batch'])}, "
          f"{'tiles listed' if sched['tiles_listed'] else 'per-layer only'})")
    return 0
