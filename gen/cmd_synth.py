"""``axmac synth``: area (and FPGA speed) of the generated array, by module.

Parses the array configuration (:mod:`axmac.gen.array_options`) and the target, calls
:func:`axmac.gen.array_synth.synth_array` and prints its figures (``--json``: the report).
"""

from __future__ import annotations

import argparse
import json

from . import array_options, options

DESCRIPTION = """\
Synthesise the systolic array of one configuration (the Verilog `axmac generate` writes) and
report its cost, broken down by module: the PEs' multipliers, MUL and ADD bypass units, gating,
registers and other logic, then counters, skew registers, accumulator buffer, output stage,
parameter banks, output FIFO and control. Beside it, the array's PE alone with and without its
bypass cases and gating: their overhead per PE in percent.

Targets: generic (Yosys gates, flip-flops and CMOS transistor estimate), ice40 (HX8K) and ecp5
(25k; --no-dsp maps multipliers to LUTs, the fair comparison of approximate and exact ones):
LUTs, carries, flip-flops, block RAMs, DSPs and Fmax from nextpnr, the array behind a two-pin
serial wrapper whose cost is shown; osu018 (or --liberty FILE): standard-cell area in um^2 (no
Fmax: there is no usable static timing analysis here). Memories are flip-flops in the generic
and standard-cell flows (OSU018 has no SRAM). Results are cached by design hash: a rerun is
instant; a first run of an 8x8 array takes minutes to hours."""


def add_parser(sub) -> None:
    p = sub.add_parser("synth", parents=[options.json_flag()],
                       help="area by module (generic, iCE40, ECP5, OSU018) and FPGA Fmax of the array",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    array_options.add_array_options(p)
    g = p.add_argument_group("synthesis")
    g.add_argument("--target", choices=("generic", "ice40", "ecp5", "osu018"), default=None,
                   help="generic (default), ice40, ecp5 or osu018 (the OSU 0.18 um standard cells)")
    g.add_argument("--liberty", type=options.input_file, metavar="FILE.lib",
                   help="map to this Liberty library instead of OSU018 (implies --target osu018)")
    g.add_argument("--no-dsp", dest="dsp", action="store_false", help="ecp5: multipliers in LUTs, no DSP blocks")
    g.add_argument("--seed", type=options.non_negative_int, default=1, help="nextpnr placer seed (default 1)")
    g.add_argument("--no-pe", dest="pe", action="store_false",
                   help="skip the PE alone (with and without bypass and gating)")
    g.add_argument("-o", "--output", type=options.output_path, metavar="FILE.json", help="also write the report here")
    p.set_defaults(func=cmd_synth, parser=p)


def target_of(args) -> str:
    """The target, ``--liberty`` implying ``osu018``; one-line errors for contradictions."""
    from ..errors import AxmacError

    if args.liberty is not None and args.target not in (None, "osu018"):
        raise AxmacError(f"--liberty maps to standard cells: it goes with --target osu018, not {args.target}")
    if not args.dsp and (args.target or "generic") != "ecp5":
        raise AxmacError("--no-dsp is an ecp5 option (--target ecp5)")
    return "osu018" if args.liberty is not None else (args.target or "generic")


def cmd_synth(args) -> int:
    from .array_synth import synth_array

    target = target_of(args)
    cfg = array_options.config_from_args(args)
    tech = None
    if args.liberty is not None:
        from .techlib import techlib_from_files

        tech = techlib_from_files(args.liberty)
    res = synth_array(cfg, target, tech=tech, dsp=args.dsp, seed=args.seed, pe=args.pe)
    emit(args, res, summary)
    return 0


def emit(args, res: dict, text) -> None:
    """Write ``res`` to ``--output`` (whole or not at all) and print it: JSON with ``--json``, else ``text(res)``."""
    from ..util import atomic_output
    from .tables import jsonable, print_json

    if args.output is not None:
        with atomic_output(args.output) as f:
            json.dump(jsonable(res), f, indent=1)
    if args.json:
        print_json(res, indent=1)
    else:
        print(text(res))
        if args.output is not None:
            print(f"wrote {args.output}")


def _figures_line(res: dict) -> str:
    f, t = res["figures"], res["target"]
    if t == "generic":
        return (f"generic (Yosys, hierarchy kept): {f['gates']} gates, {f['dff']} flip-flops, "
                f"{f['transistors']} transistors (CMOS estimate)")
    if t == "osu018":
        return (f"{f['library']}: {f['area_um2']:.0f} um^2 ({f['sequential_um2']:.0f} um^2 sequential), "
                f"{f['cells']} cells")
    fmax = "-" if f.get("fmax_mhz") is None else f"{f['fmax_mhz']:.1f} MHz"
    dsp = f", {f['dsp']} DSP" if "dsp" in f else ""
    w = f["wrapper"]
    return (f"{t} {f['device']}: {f['lut4']} LUT4, {f['carry']} carry, {f['dff']} FF, {f['ram']} block RAM{dsp}, "
            f"Fmax {fmax} (serial wrapper included: {w['flip_flops']} FF, XOR of {w['xor_inputs']} outputs)")


def summary(res: dict) -> str:
    """The report as text: figures, groups with their shares, the PE alone, notes."""
    from .tables import format_table

    c = res["config"]
    lines = [f"{c['rows']}x{c['cols']} {c['dataflow']} array, {'s' if c['signed'] else 'u'}{c['bits']} operands, "
             f"multiplier {c['multiplier']}, bypass {c['bypass']}, gating {c['gating']}, D={c['acc_depth']}, "
             f"counters {c['counters']}, output stage {c['output_stage']}", _figures_line(res)]
    groups = res.get("groups")
    if groups:
        generic = res["target"] == "generic"
        key = "transistors" if generic else None
        total = sum((v[key] if generic else v) for v in groups.values()) or 1
        rows = []
        for g, v in groups.items():
            val = v[key] if generic else v
            per = res["per_pe"].get(g)
            per_s = "" if per is None else f"{per[key]:.0f}" if generic else f"{per:.0f}"
            rows.append([g, *([str(v["gates"]), str(v["dff"])] if generic else []), f"{val:.0f}",
                         f"{100 * val / total:.1f}", per_s])
        unit = "transistors" if generic else "um^2"
        lines += ["", format_table(["group", *(["gates", "FF"] if generic else []), unit, "%", "per PE"], rows,
                                   left=2)]
    pe = res.get("pe")
    if pe:
        k = pe["measure"]
        d, b = pe["design"][k], pe["baseline"][k]
        extra = f"; gates +{pe['gates_overhead_pct']:.1f} %" if "gates_overhead_pct" in pe else ""
        lines += ["", f"PE alone ({k}): {d:.0f} with bypass {c['bypass']} and gating {c['gating']}, {b:.0f} "
                  f"without: overhead {pe.get('overhead_pct', 0.0):+.1f} %{extra}"]
    lines += [f"note: {n}" for n in res["notes"]]
    lines.append(f"({res['seconds']:.1f} s)")
    return "\n".join(lines)
