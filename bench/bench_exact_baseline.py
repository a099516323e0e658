"""Which structure makes the smallest exact multiplier: the measurement behind ``hw/multipliers/exact.py``.

For every operand format (default 4, 8, 12, 16 bits, signed and unsigned) the exact product is
synthesised with the project's own flow (:mod:`axmac.gen.synth`: Yosys generic gates and CMOS
transistor estimate, iCE40 hx8k LUT4 and Fmax with registered I/O) in each structure:

* ``*``: the ``*`` operator with Yosys's default mapping (``booth="none"``);
* ``booth``: the ``*`` operator mapped to a radix-4 Booth multiplier (``booth="all"``);
* ``array``: the ``bam:0`` partial-product array summed row by row;
* ``csa``: the same array reduced by a Dadda tree of full/half adders, then one adder.

Prints ``gates/transistors/LUT4/Fmax`` per structure and format, marks the structure ``exact``
uses (:func:`axmac.hw.multipliers.array.best_structure`) with ``*`` and names the smallest in
transistors (ties broken by gates, then LUT4). Results are cached by the flow (rerunning is instant).

    .venv/bin/python bench/bench_exact_baseline.py [--bits 4 8 12 16] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys

from axmac.gen.synth import synth_component
from axmac.golden.multipliers import make_multiplier
from axmac.hw.multipliers.array import best_structure
from axmac.hw.multipliers.exact import ExactMultiplier

#: column name -> (exact structure, the flow's Booth choice)
VARIANTS = {"*": ("mul", "none"), "booth": ("mul", "all"), "array": ("array", "none"), "csa": ("csa", "none")}


def measure(bits: int, signed: bool) -> dict[str, dict]:
    """``{variant: {"gates", "transistors", "lut4", "fmax_mhz"}}`` for one operand format."""
    model = make_multiplier("exact", bits, signed)
    out = {}
    for name, (structure, booth) in VARIANTS.items():
        fig = {}
        for target in ("generic", "ice40"):
            r = synth_component(ExactMultiplier(model, structure=structure), "mul", target=target,
                                registered=(target == "ice40"), booth=booth)
            keys = ("gates", "transistors") if target == "generic" else ("lut4", "fmax_mhz")
            fig.update({k: r[k] for k in keys})
        out[name] = fig
    return out


def _cell(fig: dict, chosen: bool) -> str:
    fmax = f"{fig['fmax_mhz']:.0f}" if fig["fmax_mhz"] else "-"
    return f"{'*' if chosen else ''}{fig['gates']}/{fig['transistors']}/{fig['lut4']}/{fmax}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bits", type=int, nargs="+", default=[4, 8, 12, 16])
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rows = []
    for signed in (True, False):
        for bits in args.bits:
            fig = measure(bits, signed)
            chosen = {"mul": "booth" if signed else "*", "csa": "csa"}[best_structure(bits, signed)]
            smallest = min(fig, key=lambda v: (fig[v]["transistors"], fig[v]["gates"], fig[v]["lut4"]))
            rows.append({"format": f"{'s' if signed else 'u'}{bits}", "chosen": chosen, "smallest": smallest,
                         **fig})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print("exact multiplier structures: gates / CMOS transistors / iCE40 LUT4 / Fmax MHz (registered I/O)")
    print(f"{'format':<7}" + "".join(f"{v:>26}" for v in VARIANTS) + "   smallest")
    for r in rows:
        cells = "".join(f"{_cell(r[v], v == r['chosen']):>26}" for v in VARIANTS)
        note = "" if r["smallest"] == r["chosen"] else f"  (exact uses {r['chosen']})"
        print(f"{r['format']:<7}{cells}   {r['smallest']}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
