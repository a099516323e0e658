"""``axmac multipliers list | characterize SPEC``: the multiplier families, their error and their cost.

``characterize`` prints the error metrics of :func:`axmac.golden.metrics.error_metrics`
(exhaustive up to 10-bit operands, 1e6 seeded random pairs beyond) and the hardware figures of
:func:`axmac.gen.synth.synth_multiplier`: generic gate and transistor counts (Yosys, the
combinational multiplier alone) and iCE40 LUT4 / logic-cell counts and Fmax (nextpnr hx8k, inputs
and outputs registered). With ``--json`` it prints one JSON object::

    {"spec", "bits", "signed", "exhaustive", "pairs", "seed",
     "mae", "wce", "wcre", "mred", "bias", "mean_error", "error_variance", "error_probability",
     "gates", "transistors", "lut4", "lc", "fmax_mhz",        # null with --no-hw / when unavailable
     "hw": {"generic": {...}, "ice40": {...}} | null, "hw_note": str | null}
"""

from __future__ import annotations

import json
import math
import sys

#: hardware figures copied to the top level of a characterization.
HW_KEYS = {"generic": ("gates", "transistors"), "ice40": ("lut4", "lc", "fmax_mhz")}
TARGET_CHOICES = ("all", "generic", "ice40")
#: widest ``lut:`` ROM synthesised (``2**(2n)`` words): 6 bits take ~40 s, 8 bits more than 5 minutes.
LUT_HW_MAX_BITS = 6


def add_parser(sub) -> None:
    p = sub.add_parser("multipliers", help="list the multiplier families or characterize one (error, area, Fmax)",
                       description="The multiplier families, and the error metrics and hardware cost "
                       "(Yosys, nextpnr) of one of them.")
    msub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    msub.required = True

    pl = msub.add_parser("list", help="list the multiplier families")
    pl.add_argument("--json", action="store_true", help="print a JSON list")
    pl.set_defaults(func=cmd_list)

    pc = msub.add_parser("characterize", help="error metrics and hardware cost of one multiplier")
    pc.add_argument("spec", metavar="SPEC", help="multiplier spec, e.g. exact, trunc:2, drum:4, lut:T.npy")
    pc.add_argument("--bits", type=int, default=8, help="operand width, 2..16 (default 8)")
    sg = pc.add_mutually_exclusive_group()
    sg.add_argument("--signed", dest="signed", action="store_true", default=True, help="signed operands (default)")
    sg.add_argument("--unsigned", dest="signed", action="store_false", help="unsigned operands")
    pc.add_argument("--json", action="store_true", help="print one JSON object")
    pc.add_argument("--no-hw", dest="hw", action="store_false", help="error metrics only (no Yosys / nextpnr)")
    pc.add_argument("--target", choices=TARGET_CHOICES, default="all", help="hardware target(s) (default all)")
    pc.add_argument("--samples", type=int, default=1_000_000,
                    help="random operand pairs beyond 10 bits (default 1e6)")
    pc.add_argument("--seed", type=int, default=0, help="seed of the random pairs (default 0)")
    pc.add_argument("--exhaustive", action="store_true", default=None,
                    help="all operand pairs even beyond 10 bits (12 bits: seconds; 16 bits: tens of minutes)")
    pc.set_defaults(func=cmd_characterize)


def _targets(target: str) -> tuple[str, ...]:
    from .synth import TARGETS

    return TARGETS if target == "all" else (target,)


def characterize(model, *, hw: bool = True, targets: tuple[str, ...] = ("generic", "ice40"),
                 samples: int = 1_000_000, seed: int = 0, exhaustive: bool | None = None) -> dict:
    """Error metrics and hardware figures of a golden multiplier model (see the module docstring)."""
    from ..errors import SpecError
    from ..golden.metrics import error_metrics

    res = error_metrics(model, samples=samples, seed=seed, exhaustive=exhaustive)
    for t in HW_KEYS:
        for k in HW_KEYS[t]:
            res[k] = None
    res["hw"] = None
    res["hw_note"] = None
    if hw and model.family == "lut" and model.bits > LUT_HW_MAX_BITS:
        res["hw_note"] = (f"lut ROMs are synthesised up to {LUT_HW_MAX_BITS}-bit operands only "
                          f"({1 << 2 * model.bits} words would take too long)")
    elif hw:
        from .synth import synth_multiplier

        try:
            res["hw"] = synth_multiplier(model, targets=targets)
        except SpecError as e:  # a family without hardware: the error figures still stand
            if "no hardware implementation" not in str(e):
                raise
            res["hw_note"] = str(e)
        else:
            for t, r in res["hw"].items():
                for k in HW_KEYS[t]:
                    res[k] = r.get(k)
    return res


def _pct(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.3g}"


def _num(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, int):
        return str(x)
    return f"{x:.4g}" if abs(x) < 1e5 else f"{x:.3e}"


#: (header, key, formatter) of the characterization table.
COLUMNS = (
    ("spec", "spec", lambda x: "?" if x is None else str(x)),
    ("MAE", "mae", _num),
    ("WCE", "wce", _num),
    ("MRED%", "mred", _pct),
    ("WCRE%", "wcre", _pct),
    ("bias%", "bias", _pct),
    ("EP%", "error_probability", _pct),
    ("gates", "gates", _num),
    ("transistors", "transistors", _num),
    ("LUT4", "lut4", _num),
    ("Fmax MHz", "fmax_mhz", lambda x: "-" if x is None else f"{x:.1f}"),
)


def format_table(rows: list[dict]) -> str:
    """Plain-text table of characterizations (one row per dict, ``-`` for missing figures)."""
    cells = [[h for h, _, _ in COLUMNS]]
    for r in rows:
        cells.append([f(r.get(k)) for _, k, f in COLUMNS])
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                   strict=True))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _jsonable(x):
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    return x


def cmd_list(args) -> int:
    from ..golden.multipliers import families
    from ..hw.multipliers import HW_FAMILIES, _load_families

    _load_families()
    fams = families()
    rows = [{"family": name, "param": cls.param, "summary": cls.summary, "hardware": name in HW_FAMILIES}
            for name, cls in fams.items()]
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
    from ..errors import AxmacError
    from ..golden.multipliers import make_multiplier

    if args.samples < 1:
        raise AxmacError(f"--samples must be at least 1, not {args.samples}")
    model = make_multiplier(args.spec, args.bits, args.signed)
    res = characterize(model, hw=args.hw, targets=_targets(args.target), samples=args.samples, seed=args.seed,
                       exhaustive=args.exhaustive)
    if args.json:
        print(json.dumps(_jsonable(res), indent=1))
        return 0
    kind = "signed" if model.signed else "unsigned"
    if res["exhaustive"]:
        how = f"exhaustive, {res['pairs']} pairs"
    else:
        how = f"{res['pairs']} random pairs, seed {res['seed']}"
    print(f"{model.spec}  {model.bits}-bit {kind}  ({how})")
    print(f"  MAE {_num(res['mae'])}   WCE {res['wce']}   mean error {_num(res['mean_error'])}   "
          f"error variance {_num(res['error_variance'])}")
    print(f"  MRED {_pct(res['mred'])} %   WCRE {_pct(res['wcre'])} %   bias {_pct(res['bias'])} %   "
          f"error probability {_pct(res['error_probability'])} %")
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
