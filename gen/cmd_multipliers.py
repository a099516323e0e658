"""``axmac multipliers list | characterize SPEC``: the multiplier families, their error and their cost.

``characterize`` prints the error metrics of :func:`axmac.golden.metrics.error_metrics`
(exhaustive up to 10-bit operands, 1e6 seeded random pairs beyond) and the hardware figures of
:func:`axmac.gen.characterize.characterize`. With ``--json`` it prints one JSON object::

    {"spec", "bits", "signed", "exhaustive", "pairs", "seed",
     "mae", "wce", "wcre", "mred", "bias", "mean_error", "error_variance", "error_probability",
     "gates", "transistors", "lut4", "lc", "fmax_mhz",        # null with --no-hw / when unavailable
     "hw": {"generic": {...}, "ice40": {...}} | null, "hw_note": str | null}
"""

from __future__ import annotations

import argparse
import json
import sys

from . import options
from .options import MAX_SAMPLES, int_in, non_negative_int

TARGET_CHOICES = ("all", "generic", "ice40")

SPEC_FORMS = """\
multiplier specs:
  exact              exact product
  trunc:K            drop K low bits of each operand
  bam:K              broken-array: omit partial-product bits below column K
  mitchell           Mitchell's logarithmic multiplier
  mitchw:W           Mitch-w: mantissas truncated to W bits
  drum:K             DRUM: K-bit dynamic-range segments
  lut:FILE.npy       any 2^BITS x 2^BITS product table
  verilog:FILE[:TOP] any combinational Verilog multiplier (module TOP, default the first);
                     without --signed/--unsigned its operands are signed when its ports are
                     declared signed, else unsigned
`axmac multipliers list` lists the families with their hardware."""


def add_parser(sub) -> None:
    p = sub.add_parser("multipliers", help="list the multiplier families or characterize one (error, area, Fmax)",
                       description="The multiplier families, and the error metrics and hardware cost "
                       "(Yosys, nextpnr) of one of them.")
    msub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    msub.required = True

    pl = msub.add_parser("list", parents=[options.json_flag()], help="list the multiplier families",
                         description="The multiplier families: spec form, summary, and whether they have hardware.")
    pl.set_defaults(func=cmd_list)

    pc = msub.add_parser(
        "characterize", parents=[options.operands(default_signed=None), options.json_flag()],
        help="error metrics and hardware cost of one multiplier", epilog=SPEC_FORMS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Error metrics (MAE, WCE, WCRE, MRED, bias, error variance, error probability; exhaustive "
        "up to 10-bit operands) and hardware cost (Yosys gates and transistors, iCE40 LUT4s and Fmax) of one "
        "multiplier.")
    pc.add_argument("spec", metavar="SPEC", help="multiplier spec, e.g. exact, trunc:2, drum:4, lut:T.npy, "
                    "verilog:mul8.v:mul8 (forms below)")
    pc.add_argument("--no-hw", dest="hw", action="store_false", help="error metrics only (no Yosys / nextpnr)")
    pc.add_argument("--target", choices=TARGET_CHOICES, default="all", help="hardware target(s) (default all)")
    pc.add_argument("--samples", type=int_in(1, MAX_SAMPLES, what="a positive integer"), default=1_000_000,
                    metavar="N", help="random operand pairs beyond 10 bits (default 1e6)")
    pc.add_argument("--seed", type=non_negative_int, default=0, metavar="N",
                    help="seed of the random pairs (default 0)")
    pc.add_argument("--exhaustive", action="store_true", default=None,
                    help="all operand pairs even beyond 10 bits (12 bits: seconds; 16 bits: tens of minutes)")
    pc.set_defaults(func=cmd_characterize)


def cmd_list(args) -> int:
    from ..golden.multipliers import families
    from ..hw.multipliers import hw_families

    hw = hw_families()
    rows = [{"family": name, "param": cls.param, "summary": cls.summary, "hardware": name in hw}
            for name, cls in families().items()]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    specs = [r["family"] + (f":{r['param'].upper()}" if r["param"] else "") for r in rows]
    w = max(len(s) for s in specs)
    for s, r in zip(specs, rows, strict=True):
        hw = "" if r["hardware"] else "  [no hardware yet]"
        print(f"{s.ljust(w)}  {r['summary']}{hw}")
    return 0


def cmd_characterize(args) -> int:
    from .characterize import characterize, multiplier_for
    from .synth import TARGETS
    from .tables import num, pct, print_json

    model, warning = multiplier_for(args.spec, args.bits, args.signed)
    if warning:
        print(f"axmac: warning: {warning}", file=sys.stderr)
    targets = TARGETS if args.target == "all" else (args.target,)
    res = characterize(model, hw=args.hw, targets=targets, samples=args.samples, seed=args.seed,
                       exhaustive=args.exhaustive)
    if args.json:
        print_json(res)
        return 0
    kind = "signed" if model.signed else "unsigned"
    how = (f"exhaustive, {res['pairs']} pairs" if res["exhaustive"]
           else f"{res['pairs']} random pairs, seed {res['seed']}")
    print(f"{model.spec}  {model.bits}-bit {kind}  ({how})")
    print(f"  MAE {num(res['mae'])}   WCE {res['wce']}   mean error {num(res['mean_error'])}   "
          f"error variance {num(res['error_variance'])}")
    print(f"  MRED {pct(res['mred'])} %   WCRE {pct(res['wcre'])} %   bias {pct(res['bias'])} %   "
          f"error probability {pct(res['error_probability'])} %")
    hw = res["hw"] or {}
    if "generic" in hw:
        g = hw["generic"]
        print(f"  generic (Yosys): {g['gates']} gates, {g['transistors']} transistors (CMOS estimate)")
    if "ice40" in hw:
        i = hw["ice40"]
        fmax = "-" if i["fmax_mhz"] is None else f"{i['fmax_mhz']:.1f}"
        ram = f", {i['ram']} RAM4K" if i.get("ram") else ""
        print(f"  iCE40 {i['device']} (registered I/O): {i['lut4']} LUT4, {i['lc']} logic cells{ram}, "
              f"Fmax {fmax} MHz")
    if res["hw_note"]:
        print(f"  hardware: {res['hw_note']}", file=sys.stderr)
    return 0
