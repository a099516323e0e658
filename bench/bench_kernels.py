"""Throughput of the golden GEMM/conv kernels (``axmac.golden.conv`` / ``axmac.golden.gemm``).

Prints MAC/s for the exact multiplier (float BLAS path) and a table-based approximate one
(numba table path), with and without trivial-computation statistics, on

* a wide conv stack: 64 -> 64 channels, 3x3, pad 1, 32x32 maps, batch 16;
* LeNet-5-like layers at batch 1000: conv 1->6 5x5 on 28x28, conv 6->16 5x5 on 12x12,
  fc 256->120, fc 120->84, fc 84->10;

plus the peak traced memory (``tracemalloc``) of each case and the process' max RSS. Each case
is run at least ``--repeat`` times and the best time is reported (the machine is shared): wall
time, and CPU time of all threads (robust against other processes; with
``OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1`` it is the single-core figure).

    .venv/bin/python bench/bench_kernels.py [--approx drum:4] [--bits 8] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numba
import numpy as np

from axmac.golden.bypass import Bypass
from axmac.golden.conv import conv2d_nchw
from axmac.golden.gemm import kernel_for, mac_gemm
from axmac.golden.multipliers import make_multiplier
from axmac.golden.stats import TrivialStats


def _operands(rng, shape, bits, zero_frac):
    """Signed operands, full range, with a fraction of zeros (as after a ReLU)."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    a = rng.integers(lo, hi + 1, size=shape, dtype=np.int64)
    a[rng.random(shape) < zero_frac] = 0
    return a


def cases(batch_wide: int, batch_lenet: int, bits: int, rng):
    """``(name, macs, fn(mult, bypass, stats))`` of the benchmark layers."""
    out = []
    x = _operands(rng, (batch_wide, 64, 32, 32), bits, 0.5)
    w = _operands(rng, (64, 64, 3, 3), bits, 0.1)
    out.append((f"wide conv 64->64 3x3 32x32 b{batch_wide}", batch_wide * 32 * 32 * 64 * 64 * 9,
                lambda mu, bp, st, x=x, w=w: conv2d_nchw(x, w, pads=(1, 1, 1, 1), mult=mu, bypass=bp, stats=st)))
    for name, xs, ws, oh in (("lenet conv1 1->6 5x5 28x28", (batch_lenet, 1, 28, 28), (6, 1, 5, 5), 24),
                             ("lenet conv2 6->16 5x5 12x12", (batch_lenet, 6, 12, 12), (16, 6, 5, 5), 8)):
        x = _operands(rng, xs, bits, 0.5)
        w = _operands(rng, ws, bits, 0.1)
        macs = xs[0] * oh * oh * ws[0] * ws[1] * ws[2] * ws[3]
        out.append((f"{name} b{batch_lenet}", macs,
                    lambda mu, bp, st, x=x, w=w: conv2d_nchw(x, w, mult=mu, bypass=bp, stats=st)))
    for k, n in ((256, 120), (120, 84), (84, 10)):
        x = _operands(rng, (batch_lenet, k), bits, 0.5)
        w = _operands(rng, (k, n), bits, 0.1)
        out.append((f"lenet fc {k}->{n} b{batch_lenet}", batch_lenet * k * n,
                    lambda mu, bp, st, x=x, w=w: mac_gemm(x, w, mult=mu, bypass=bp, stats=st)))
    return out


def best_time(fn, repeat: int) -> tuple[float, float, int]:
    """Best wall time and best CPU time (all threads) of at least ``repeat`` runs (more, up to
    50, while they take under 1 s in all), and the tracemalloc peak (bytes) of one more run."""
    fn()  # warm-up: numba compilation / cache load, plan tables
    walls, cpus = [], []
    while len(walls) < repeat or (sum(walls) < 1.0 and len(walls) < 50):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(walls), min(cpus), peak


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--approx", default="drum:4", help="approximate multiplier spec (table path)")
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small batches (smoke run)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    bw, bl = (2, 50) if args.quick else (16, 1000)
    specs = [("exact", Bypass()), (args.approx, Bypass.parse("all"))]
    print(f"threads: numba {numba.get_num_threads()}; MAC/s = MACs / best wall time, MAC/cpu-s = MACs / best CPU time")
    print(f"{'case':36s} {'multiplier':>10s} {'stats':>5s} {'kernel':>8s} {'wall s':>8s} {'MAC/s':>9s} "
          f"{'MAC/cpu-s':>9s} {'peak MB':>8s}")
    for name, macs, fn in cases(bw, bl, args.bits, rng):
        for spec, bp in specs:
            mult = make_multiplier(spec, args.bits, True)
            for with_stats in (False, True):
                kern = kernel_for(mult, bp, with_stats)
                wall, cpu, peak = best_time(lambda fn=fn, mult=mult, bp=bp, ws=with_stats:
                                            fn(mult, bp, TrivialStats() if ws else None), args.repeat)
                print(f"{name:36s} {spec:>10s} {'yes' if with_stats else 'no':>5s} {kern:>8s} {wall:8.4f} "
                      f"{macs / wall:9.2e} {macs / max(cpu, 1e-9):9.2e} {peak / 2**20:8.1f}", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max RSS of the process: {rss:.0f} MB")


if __name__ == "__main__":
    main()
