"""Wall time of the whole 8-bit exhaustive RTL regression of every multiplier family.

One bank (``axmac.sim.multiplier_tb``) holds every family's representative multipliers, signed
and unsigned, at 8 bits; all 65,536 operand pairs are driven and every product is compared with
its golden table. Prints the time of each stage. ``--clean`` removes the Verilator build first
(cold build); the cached Verilog-import tables are kept unless ``--cold-tables`` is given.

    .venv/bin/python bench/bench_rtl_regression.py [--clean] [--cold-tables]
"""

from __future__ import annotations

import argparse
import shutil
import time

import numpy as np

from axmac.golden.multipliers import make_multiplier
from axmac.paths import BUILD_ROOT, REPO
from axmac.sim.multiplier_tb import decode_pairs, regression_specs, write_bank, write_case
from axmac.sim.runner import build_lock, run_cocotb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clean", action="store_true", help="rebuild the Verilator model from scratch")
    ap.add_argument("--cold-tables", action="store_true", help="also drop the cached Verilog-import tables")
    args = ap.parse_args()
    work = BUILD_ROOT / "bench_rtl_regression"
    if args.clean and work.exists():
        shutil.rmtree(work)
    if args.cold_tables:
        shutil.rmtree(BUILD_ROOT / "verilog_import" / "tables", ignore_errors=True)

    t0 = time.perf_counter()
    data = REPO / "tests" / "data"
    models = [make_multiplier(spec, 8, s) for s in (True, False)
              for spec in regression_specs(8, s, work, verilog_dir=data)]
    ab = np.arange(1 << 16, dtype=np.uint64)
    expected = np.stack([m(*decode_pairs(ab, 8, m.signed)) for m in models])
    t1 = time.perf_counter()
    with build_lock(work):  # as run_bank does, with each stage timed
        sources = write_bank(models, work)
        case = write_case(work, models, ab, expected)
        t2 = time.perf_counter()
        run_cocotb(sources=sources, toplevel="bank", test_module="axmac.sim.multiplier_tb", build_dir=work,
                   extra_env={"AXMAC_MUL_CASE": str(case)})
        case.unlink()
    t3 = time.perf_counter()
    fams = sorted({m.family for m in models})
    print(f"multipliers: {len(models)} ({', '.join(fams)}), 8-bit signed + unsigned, {len(ab)} pairs each")
    print(f"golden models + tables : {t1 - t0:6.1f} s")
    print(f"Verilog of the bank    : {t2 - t1:6.1f} s")
    print(f"Verilator build + sim  : {t3 - t2:6.1f} s")
    print(f"total                  : {t3 - t0:6.1f} s  (all {len(models) * len(ab)} products equal to golden)")


if __name__ == "__main__":
    main()
