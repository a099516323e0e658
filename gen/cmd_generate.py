"""``axmac generate``: Verilog of the systolic array + manifest.json + constraints.

Parses the array configuration (:mod:`axmac.gen.array_options`), calls
:func:`axmac.gen.generate.generate` and prints what it wrote (``--json``: the manifest).
"""

from __future__ import annotations

import argparse

from . import array_options, options

DESCRIPTION = """\
Generate the Verilog of a systolic MAC array (docs/array.md) for one configuration, with
manifest.json (the configuration, every port and payload field, latencies and cycle formulas)
and constraints filled in from templates: SDC (the clock at --clock-mhz), iCE40 PCF, ECP5 LPF.

The configuration starts from --config FILE (TOML/JSON) or --preset, else the defaults (8x8,
signed 8-bit operands, 32-bit wrapping accumulators, exact multipliers, weight-stationary);
every option given overrides it."""


def add_parser(sub) -> None:
    p = sub.add_parser("generate", parents=[options.out_dir(help="folder to write the design into (required)"),
                                            options.json_flag()],
                       help="Verilog of the array + manifest.json + SDC/PCF/LPF constraints",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    array_options.add_array_options(p)
    p.add_argument("--top", default="axmac_top", metavar="NAME", help="Verilog name of the top module "
                   "(default axmac_top)")
    p.set_defaults(func=cmd_generate, parser=p)


def cmd_generate(args) -> int:
    from .generate import generate
    from .tables import print_json

    if args.out_dir is None:
        args.parser.error("the following arguments are required: --out-dir")
    cfg = array_options.config_from_args(args)
    man = generate(cfg, args.out_dir, top=args.top)
    if args.json:
        print_json(man, indent=2)
        return 0
    files = man["files"]
    print(f"{cfg.rows}x{cfg.cols} {cfg.dataflow} array, {'s' if cfg.signed else 'u'}{cfg.bits} operands, "
          f"{cfg.acc_bits}-bit {cfg.overflow} accumulators, multiplier {cfg.multiplier}, bypass {cfg.bypass}, "
          f"gating {cfg.gating}, counters {cfg.counters}")
    for name in [*files["verilog"], *files["constraints"].values(), "manifest.json"]:
        print(f"wrote {args.out_dir / name}")
    return 0
