"""Golden-model throughput: products per second of every multiplier family, on one core.

For each registered family (one representative spec each) at 8 and 16 bits, signed operands:

* ``model``: the vectorised model ``mult(a, b, check=False)`` on ``N`` random operand pairs
  (``int64`` arrays, generated outside the timed region);
* ``table`` (widths <= 10 only): a lookup in the model's product table, ``table[a & m, b & m]``
  (2-D fancy indexing, as :meth:`Multiplier.__call__` does for table-only families);
* ``flat``: the same lookup through a flattened table and one index ``(a & m) << n | (b & m)``
  computed in ``int32`` (the form a GEMM kernel would use), with :func:`numpy.take`.

Each figure is the best of ``--repeat`` runs (other processes share the machine). BLAS/OpenMP
threads are pinned to 1 before NumPy is imported; the models themselves are single-threaded NumPy.
The goal is >= 50 M products/s at 8 bits.

Usage: ``python bench/bench_golden.py [--pairs N] [--repeat R] [--bits 8 16] [--json]``
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from axmac.errors import AxmacError  # noqa: E402
from axmac.golden.multipliers import families, make_multiplier  # noqa: E402
from axmac.golden.multipliers.base import MAX_TABLE_BITS  # noqa: E402

#: representative spec per family and width (families missing here: bare name if parameterless).
SPECS = {
    8: {"exact": "exact", "trunc": "trunc:2", "bam": "bam:6", "mitchell": "mitchell", "mitchw": "mitchw:4",
        "drum": "drum:4"},
    16: {"exact": "exact", "trunc": "trunc:4", "bam": "bam:12", "mitchell": "mitchell", "mitchw": "mitchw:6",
         "drum": "drum:6"},
}


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _spec(family: str, cls, bits: int, tmp: Path) -> str | None:
    if family in SPECS.get(bits, {}):
        return SPECS[bits][family]
    if cls.table_only and bits > MAX_TABLE_BITS:
        return None
    if family == "lut":  # the table of the DRUM spec of this width
        path = tmp / f"lut{bits}.npy"
        np.save(path, make_multiplier(SPECS[bits]["drum"], bits, True).table())
        return f"lut:{path}"
    if family == "verilog" and bits == 8:  # the demo's Verilog multiplier (tabulated by Verilator, cached)
        from axmac.gen.cmd_demo import DEMO_VERILOG

        path = tmp / "demo_mul8.v"
        path.write_text(DEMO_VERILOG)
        return f"verilog:{path}:demo_mul8"
    if cls.param is None:
        return family
    return None  # a parameterised family without a representative (verilog:, new ones)


def _bench_one(m, a: np.ndarray, b: np.ndarray, repeat: int) -> dict:
    """Products/s of the model, and of its table (2-D and flat lookups) when ``m.bits <= 10``."""
    pairs = a.size
    out = {"model": pairs / _best(lambda: m(a, b, check=False), repeat)}
    if m.bits <= MAX_TABLE_BITS:
        t = m.table()
        bits, mask = m.bits, (1 << m.bits) - 1
        out["table"] = pairs / _best(lambda: t[a & mask, b & mask], repeat)
        flat = np.ascontiguousarray(t.ravel())
        a32, b32 = a.astype(np.int32), b.astype(np.int32)
        out["flat"] = pairs / _best(lambda: np.take(flat, ((a32 & mask) << bits) | (b32 & mask)), repeat)
    return out


def run(bits_list, pairs: int, repeat: int) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        for bits in bits_list:
            lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
            a = rng.integers(lo, hi, size=pairs, endpoint=True, dtype=np.int64)
            b = rng.integers(lo, hi, size=pairs, endpoint=True, dtype=np.int64)
            for family, cls in families().items():
                spec = _spec(family, cls, bits, tmp)
                row = {"family": family, "spec": spec, "bits": bits, "model": None, "table": None, "flat": None}
                rows.append(row)
                if spec is None:
                    row["note"] = (f"table-only, <= {MAX_TABLE_BITS} bits" if cls.table_only
                                   else "no representative spec")
                    continue
                try:
                    m = make_multiplier(spec, bits, True)
                    m(a[:16], b[:16], check=False)  # warm up (JIT, caches)
                except AxmacError as e:
                    row["note"] = str(e)
                    continue
                row.update(_bench_one(m, a, b, repeat))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=1 << 21, help="operand pairs per timed call (default 2**21)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per figure, best kept (default 5)")
    p.add_argument("--bits", type=int, nargs="+", default=[8, 16])
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rows = run(args.bits, args.pairs, args.repeat)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"golden multiplier throughput, M products/s, one core, signed, {args.pairs} pairs, "
          f"best of {args.repeat}")
    hdr = f"{'bits':>4}  {'spec':<16}{'model':>9}{'table':>9}{'flat':>9}"
    print(hdr)
    print("-" * len(hdr))

    def f(x):
        return f"{x / 1e6:9.1f}" if x else f"{'-':>9}"

    for r in rows:
        spec = r["spec"] or r["family"]
        if spec.startswith(("lut:", "verilog:")):
            spec = spec.split(":")[0] + (":(drum table)" if spec.startswith("lut:") else ":(demo)")
        note = f"  ({r['note']})" if r.get("note") else ""
        print(f"{r['bits']:>4}  {spec:<16}{f(r['model'])}{f(r['table'])}{f(r['flat'])}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
