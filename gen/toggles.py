"""Toggle counts of nets from a simulator's dump: VCD (counted per time window) or SAIF (totals).

:func:`vcd_toggles` reads a Value Change Dump once and counts, for every net of interest and every
window ``[edges[w], edges[w+1])`` of simulation time, how often it switched between 0 and 1
(changes from or to ``x``/``z`` are not toggles; the values dumped at the start are the initial
state, not toggles). Vectors count per bit (``popcount(old ^ new)``). Several changes of a net at one time stamp (the
delta cycles of a zero-delay event simulator such as Icarus) count as one change to the last
value: what a zero-delay circuit does. Names are hierarchical,
``scope.sub.net`` or ``scope.sub.vec[3]`` for a bit of a vector declared ``[7:0]``; a net of
interest is given as all the names it may carry (aliases) and counted once, from the first of
them found in the dump.

:func:`saif_toggles` reads the ``TC`` (toggle count) of every net from a SAIF file
(Verilator's ``--trace-saif``): the total since dumping began. Measured with Verilator 5.48 on
this project's machines: its SAIF counts a spurious toggle for a net that is 1 when dumping
starts, and it also lists the ``specparam`` bits of every cell model (a 26 MB file for 4000
cycles of a PE), which is why the energy flow counts toggles from VCD instead, where it needs
windows anyway (one per sampled tile).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import AxmacError

_VAR = re.compile(r"\$var\s+\S+\s+(\d+)\s+(\S+)\s+(\S+)\s*(\[[^\]]*\])?\s*\$end")
_TIMESCALE = {"s": 1e12, "ms": 1e9, "us": 1e6, "ns": 1e3, "ps": 1.0, "fs": 1e-3}


def _var_bits(name: str, width: int, rng: str | None) -> list[str]:
    """Names of the bits of a VCD variable, MSB first (the order of its value strings)."""
    if rng is None:
        return [name] if width == 1 else [f"{name}[{i}]" for i in range(width - 1, -1, -1)]
    m = re.fullmatch(r"\[\s*(-?\d+)\s*(?::\s*(-?\d+)\s*)?\]", rng)
    if not m:
        return [name]
    msb = int(m.group(1))
    lsb = int(m.group(2)) if m.group(2) is not None else msb
    step = -1 if msb >= lsb else 1
    return [f"{name}[{i}]" for i in range(msb, lsb + step, step)]


def _header(lines) -> tuple[dict[str, int], dict[str, tuple[str, int]], float]:
    """``{id code: width}``, ``{bit name: (id code, position in the value string)}``, time unit (ps)."""
    scope: list[str] = []
    widths: dict[str, int] = {}
    where: dict[str, tuple[str, int]] = {}
    unit = 1.0
    pending = ""
    for line in lines:
        pending += line
        if "$end" not in pending:
            continue
        text, pending = pending.strip(), ""
        if text.startswith("$scope"):
            scope.append(text.split()[2].lstrip("\\"))
        elif text.startswith("$upscope"):
            scope.pop()
        elif text.startswith("$var"):
            m = _VAR.search(text)
            if m:
                width, code, name = int(m.group(1)), m.group(2), m.group(3).lstrip("\\")
                widths[code] = width
                for pos, b in enumerate(_var_bits(".".join([*scope, name]), width, m.group(4))):
                    where.setdefault(b, (code, pos))
        elif text.startswith("$timescale"):
            m = re.search(r"(\d+)\s*([munpf]?s)", text)
            if m:
                unit = int(m.group(1)) * _TIMESCALE[m.group(2)]
        elif text.startswith("$enddefinitions"):
            return widths, where, unit
    raise AxmacError("VCD file has no $enddefinitions")


_SCALARS = re.compile(r"^([01xzXZ])(\S+)", re.M)
_VECTORS = re.compile(r"^b(\S+)\s+(\S+)", re.M)
_TIMES = re.compile(r"^#(\d+)[ \t]*\r?$", re.M)


def vcd_toggles(path: str | Path, nets: list[list[str]], edges_ps) -> tuple[np.ndarray, list[int]]:
    """Toggles per window and net.

    Parameters
    ----------
    path : path
        The VCD file.
    nets : list of list of str
        Per net of interest, its candidate names (full hierarchical names as in the dump).
    edges_ps : array_like
        Window boundaries in picoseconds, increasing; window ``w`` is ``[edges[w], edges[w+1])``.

    Returns
    -------
    counts, missing
        ``counts[w, i]`` toggles of net ``i`` in window ``w`` (``int64``); ``missing``: indices
        of the nets none of whose names is in the dump.

    Scalar changes are counted with NumPy (about 1 s per million value changes), vectors bit by
    bit from their XOR.
    """
    edges = np.asarray(edges_ps, dtype=np.int64)
    nwin = max(len(edges) - 1, 0)
    with open(path) as f:
        widths, where, unit = _header(f)
        body = f.read()
    taps: dict[str, list[tuple[int, int]]] = {}  # id code -> [(position in its value, net column)]
    hits, missing = _lookup(nets, where)
    for col, (code, pos) in hits:
        taps.setdefault(code, []).append((pos, col))
    parts = _TIMES.split(body)
    times = np.array([int(t) for t in parts[1::2]], dtype=np.float64) * unit
    wins = np.concatenate([[-1], np.searchsorted(edges, times, side="right") - 1])
    wins[(wins < 0) | (wins >= nwin)] = -1
    scalar = {c: t[0][1] for c, t in taps.items() if widths[c] == 1}
    codes, vals, blocks = [], [], []
    vec: dict[str, tuple[list[str], list[int]]] = {c: ([], []) for c, t in taps.items() if widths[c] > 1}
    for i, block in enumerate(parts[0::2]):
        found = _SCALARS.findall(block)
        codes += [c for _, c in found]
        vals += [v for v, _ in found]
        blocks += [i] * len(found)
        for v, c in _VECTORS.findall(block):
            if c in vec:
                vec[c][0].append(v)
                vec[c][1].append(i)
    counts = np.zeros((nwin, len(nets)), dtype=np.int64)
    col = np.array([scalar.get(c, -1) for c in codes], dtype=np.int64)
    keep = col >= 0
    col, blk = col[keep], np.asarray(blocks, dtype=np.int64)[keep]
    raw = np.frombuffer("".join(vals).encode(), dtype=np.uint8)[keep]
    val = np.where(raw == 49, 1, np.where(raw == 48, 0, 2)).astype(np.int8)  # "1", "0", x/z
    order = np.argsort(col, kind="stable")
    col, blk, val = col[order], blk[order], val[order]
    last = np.r_[(col[1:] != col[:-1]) | (blk[1:] != blk[:-1]), True]  # a time step's final value
    col, w, val = col[last], wins[blk[last]], val[last]
    hit = (col[1:] == col[:-1]) & (val[1:] != val[:-1]) & (val[1:] < 2) & (val[:-1] < 2) & (w[1:] >= 0)
    np.add.at(counts, (w[1:][hit], col[1:][hit]), 1)
    for c, (values, bl) in vec.items():
        bl = np.asarray(bl, dtype=np.int64)
        last = np.r_[bl[1:] != bl[:-1], True]
        _vector_toggles(counts, [v for v, k in zip(values, last, strict=True) if k], wins[bl[last]], widths[c],
                        taps[c])
    return counts, missing


def _vector_toggles(counts: np.ndarray, values: list[str], wins: np.ndarray, width: int, taps) -> None:
    """Add the per-bit toggles of one vector's successive values (MSB-first strings) to ``counts``."""
    if len(values) < 2:
        return
    known = np.zeros((len(values), width), dtype=bool)
    bits = np.zeros((len(values), width), dtype=bool)
    for i, v in enumerate(values):
        v = v.rjust(width, "0" if v[0] in "01" else v[0])[-width:]
        a = np.frombuffer(v.encode(), dtype=np.uint8)
        known[i] = (a == 48) | (a == 49)
        bits[i] = a == 49
    flip = (bits[1:] != bits[:-1]) & known[1:] & known[:-1] & (wins[1:, None] >= 0)
    for p, c in taps:
        np.add.at(counts[:, c], wins[1:][flip[:, p]], 1)


def saif_toggles(path: str | Path, nets: list[list[str]]) -> tuple[np.ndarray, list[int]]:
    """Total toggles (``TC``) per net from a SAIF file; names as for :func:`vcd_toggles`
    (``.``-separated instance path, SAIF escapes removed). Returns ``(counts, missing)``."""
    tc: dict[str, int] = {}
    stack: list[list] = []  # frames [head, name]
    for tok in re.findall(r"\(|\)|[^\s()]+", Path(path).read_text(errors="replace")):
        if tok == "(":
            stack.append([None, None])
        elif tok == ")":
            stack.pop()
        elif stack[-1][0] is None:
            stack[-1][0] = tok
        elif stack[-1][0] == "INSTANCE" and stack[-1][1] is None:
            stack[-1][1] = tok.replace("\\", "")
        elif stack[-1][0] == "TC" and len(stack) >= 2:
            path_ = [f[1] for f in stack if f[0] == "INSTANCE"]
            tc[".".join([*path_, stack[-2][0].replace("\\", "")])] = int(tok)
    counts = np.zeros(len(nets), dtype=np.int64)
    hits, missing = _lookup(nets, tc)
    for col, n in hits:
        counts[col] = n
    return counts, missing


def _lookup(nets: list[list[str]], table: dict):
    """``[(net column, table entry of its first name found)]`` and the columns with none."""
    hits, missing = [], []
    for col, names in enumerate(nets):
        key = next((n for n in names if n in table), None)
        if key is None:
            missing.append(col)
        else:
            hits.append((col, table[key]))
    return hits, missing


__all__ = ["saif_toggles", "vcd_toggles"]
