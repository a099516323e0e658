"""``axmac demo``: the characterization table of every multiplier family (``make demo`` runs it).

One row per family at 8-bit signed operands: ``exact``, ``trunc:2``, ``bam:6``, ``mitchell``,
``mitchw:4``, ``drum:4``, ``lut:`` (a product table the demo writes from DRUM-4, so the row must
equal DRUM-4's error figures) and ``verilog:`` (a small Verilog multiplier the demo writes: the exact
product with its 4 low bits cleared). Each row has the exhaustive error metrics and the hardware
figures (Yosys generic gates / transistors, iCE40 LUT4s and Fmax). Hardware results are cached
(``build/synth_cache``): the first run synthesises every design (about a minute), later runs
take seconds. Every family must characterize: a failing row is a bug, reported as an error.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import options

DEMO_SPECS = ("exact", "trunc:2", "bam:6", "mitchell", "mitchw:4", "drum:4", "lut", "verilog")
DEMO_BITS = 8
DEMO_SIGNED = True

#: the demo's Verilog multiplier (written to build/demo/): exact product, 4 low bits cleared.
DEMO_VERILOG = """\
// axmac demo: an 8x8 signed multiplier whose 4 least significant product bits are forced to 0.
module demo_mul8 (
    input  signed [7:0]  a,
    input  signed [7:0]  b,
    output signed [15:0] p
);
    wire signed [15:0] full = a * b;
    assign p = {full[15:4], 4'b0000};
endmodule
"""


def add_parser(sub) -> None:
    p = sub.add_parser("demo", parents=[options.json_flag(), options.out_dir(
                           help="where the demo's lut and verilog files go (default build/demo)")],
                       help="characterization table of every multiplier family (error, area, Fmax)",
                       description="The characterization table of every multiplier family at 8-bit signed "
                       "operands: exhaustive error metrics, Yosys gate/transistor counts, iCE40 LUT4s and Fmax.")
    p.add_argument("--no-hw", dest="hw", action="store_false", help="error metrics only (no Yosys / nextpnr)")
    p.set_defaults(func=cmd_demo)


def _demo_files(out_dir: Path) -> dict[str, str]:
    """Write the lut table (from DRUM-4) and the Verilog multiplier; return the specs naming them."""
    import numpy as np

    from ..golden.multipliers import make_multiplier
    from .files import write_output

    path = out_dir / f"drum4_s{DEMO_BITS}.npy"
    table = make_multiplier("drum:4", DEMO_BITS, DEMO_SIGNED).table()
    write_output(path, "--out-dir", lambda f: np.save(f, table), "wb")
    vpath = out_dir / "demo_mul8.v"
    if not vpath.is_file() or vpath.read_text() != DEMO_VERILOG:
        write_output(vpath, "--out-dir", lambda f: f.write(DEMO_VERILOG))
    return {"lut": f"lut:{path}", "verilog": f"verilog:{vpath}:demo_mul8"}


def demo_specs() -> list[str]:
    """:data:`DEMO_SPECS`, plus any registered family they miss (by name when it takes no parameter)."""
    from ..golden.multipliers import families

    specs = list(DEMO_SPECS)
    covered = {s.split(":")[0] for s in specs}
    specs += [name for name, cls in families().items() if name not in covered and cls.param is None]
    return specs


def cmd_demo(args) -> int:
    from tqdm import tqdm

    from ..golden.multipliers import families, make_multiplier
    from ..paths import BUILD_ROOT
    from .characterize import characterization_table, characterize
    from .tables import print_json

    out_dir = args.out_dir if args.out_dir else BUILD_ROOT / "demo"
    files = _demo_files(out_dir)
    specs, rows, notes = demo_specs(), [], []
    bar = tqdm(specs, desc="characterizing", unit="multiplier", file=sys.stderr, disable=None, leave=False)
    for name in bar:
        spec = files.get(name, name)
        label = name if name not in files else f"{name}:{Path(spec.split(':', 1)[1].split(':')[0]).name}"
        bar.set_postfix_str(label)
        res = characterize(make_multiplier(spec, DEMO_BITS, DEMO_SIGNED), hw=args.hw)
        res["spec"] = label
        if res["hw_note"]:
            notes.append(f"{label}: {res['hw_note']}")
        rows.append(res)
    bar.close()
    if args.json:
        print_json([{k: v for k, v in r.items() if k != "hw"} for r in rows])
        return 0
    print(f"Multipliers, {DEMO_BITS}-bit {'signed' if DEMO_SIGNED else 'unsigned'} operands: error over all "
          f"{1 << 2 * DEMO_BITS} operand pairs: MAE / WCE in product LSBs; MRED / WCRE = mean / max "
          "|approx - a*b| / |a*b|; bias = mean (approx - a*b) / (a*b); EP = error probability")
    print("hardware: generic = Yosys gates (2-input + MUX + NOT) and CMOS transistor estimate of the "
          "combinational multiplier; LUT4 / Fmax = iCE40 hx8k via nextpnr, inputs and outputs registered\n")
    print(characterization_table(rows))
    shown = {s.split(":")[0] for s in specs}
    missing = [f"{n}:{c.param.upper()}" for n, c in families().items() if n not in shown]
    if missing:
        notes.append(f"not in the demo (need a parameter): {', '.join(missing)}")
    for n in notes:
        print(f"  note: {n}")
    return 0
