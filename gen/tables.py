"""How the ``axmac`` commands print results: one plain-text table formatter, numbers, JSON."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1, rule: bool = True) -> str:
    """A plain-text table: columns padded to their widest cell, separated by two spaces.

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : sequence of sequences of str
        Cells, already formatted (one string per column).
    left : int
        The first ``left`` columns are left-aligned (names); the others right-aligned (numbers).
    rule : bool
        Draw a line of dashes under the header.
    """
    cells = [list(header), *(list(r) for r in rows)]
    if any(len(r) != len(header) for r in cells):
        raise ValueError("every row needs one cell per column")
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r):
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths,
                                                                                                strict=True)))

    lines = [line(cells[0])]
    if rule:
        lines.append("  ".join("-" * w for w in widths))
    lines += [line(r) for r in cells[1:]]
    return "\n".join(lines)


def missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def num(x) -> str:
    """A figure in 4 significant digits (integers whole); ``-`` when missing."""
    if missing(x):
        return "-"
    if isinstance(x, int):
        return str(x)
    return f"{x:.4g}" if abs(x) < 1e5 else f"{x:.3e}"


def pct(x) -> str:
    """A fraction as a percentage in 3 significant digits; ``-`` when missing."""
    return "-" if missing(x) else f"{100 * x:.3g}"


def jsonable(x):
    """``x`` with NaN floats replaced by ``None`` (JSON has no NaN)."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    return x


def print_json(x, *, indent: int = 1) -> None:
    """Print ``x`` as JSON (NaN as null) on standard output."""
    json.dump(jsonable(x), sys.stdout, indent=indent)
    print()


#: the trivial-computation cases of :func:`stats_table`: (header, key of ``TrivialStats.fractions()``).
STATS_COLUMNS = (("(a)zero", "zero"), ("(b)one", "one"), ("(d)add0", "add_zero"), ("(e)opp", "opposite"),
                 ("x=0", "x_zero"), ("w=0", "w_zero"))


def stats_table(report) -> str:
    """Per-layer and total trivial-computation percentages of an engine Report (Ma & Jiao, Table II);
    float layers (run in float32, not on the array) are listed after the total, without statistics."""
    def row(name, mult, macs, st):
        f = st.fractions() if st is not None else None
        return [name, mult, f"{macs:.3g}", *((f"{100 * f[k]:.2f}%" if f else "-") for _, k in STATS_COLUMNS)]

    rows = [row(layer.name, layer.multiplier, layer.macs, layer.stats) for layer in report.layers]
    rows.append(row("total", "", report.macs, report.total))
    rows += [row(layer.name, f"float {layer.op}", layer.macs, None) for layer in report.float_layers]
    return format_table(["layer", "mult", "MACs", *(h for h, _ in STATS_COLUMNS)], rows, left=2, rule=False)
