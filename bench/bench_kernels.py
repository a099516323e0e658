"""Throughput of the golden GEMM/conv kernels (``axmac.golden.conv`` / ``axmac.golden.gemm``).

Prints MAC/s for the exact multiplier (float BLAS path) and approximate ones (``--approx``,
default ``drum:4`` (separable: BLAS on transformed operands) and ``mitchell`` (table path)),
with and without trivial-computation statistics, on

* a wide conv layer: 64 -> 64 channels, 3x3, pad 1, 32x32 maps, batch 16;
* the layers of the bundled LeNet-5 at batch 1000: conv 1->6 5x5 pad 2 on 28x28, conv 6->16
  5x5 on 14x14, fc 400->120, fc 120->84, fc 84->10;

plus the peak traced memory (``tracemalloc``) of each case and the process' max RSS. Each case
is run at least ``--repeat`` times and the best time is reported (the machine is shared): wall
time, and CPU time of all threads (robust against other processes; with one thread it is the
single-core figure). ``x f32`` is the best wall time against a float32 convolution of the same
shapes (:func:`f32_conv`: NumPy im2col + float32 BLAS, the yardstick of an ordinary float
framework on one core).

Threads: BLAS / numba use ``--threads`` (default 1), set before NumPy is imported.

    .venv/bin/python bench/bench_kernels.py [--approx drum:4,mitchell] [--bypass none] [--bits 8]
        [--repeat 3] [--quick] [--threads 1]
"""

from __future__ import annotations

import os
import sys


def _threads_from_argv(argv) -> str:
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


# Before NumPy loads, also when bench_emulation imports this module (it reads the same --threads).
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = _threads_from_argv(sys.argv)

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

from axmac.golden.bypass import Bypass  # noqa: E402
from axmac.golden.conv import conv2d_nchw  # noqa: E402
from axmac.golden.gemm import kernel_for, mac_gemm  # noqa: E402
from axmac.golden.multipliers import make_multiplier  # noqa: E402
from axmac.golden.stats import TrivialStats  # noqa: E402


def f32_conv(x: np.ndarray, w: np.ndarray, pads=(0, 0, 0, 0), strides=(1, 1), dilations=(1, 1),
             group: int = 1) -> np.ndarray:
    """Float32 NCHW convolution by NumPy im2col (channels-last windows) + one float32 BLAS GEMM
    per group: the reference a float framework runs on the same shapes (a fc layer is a conv
    on 1x1 maps)."""
    n, c, _, _ = x.shape
    m, cg, kh, kw = w.shape
    sh, sw = strides
    dh, dw = dilations
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3]))).transpose(0, 2, 3, 1)
    win = np.lib.stride_tricks.sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(1, 2))
    win = win[:, ::sh, ::sw, :, ::dh, ::dw]  # (n, oh, ow, c, kh, kw)
    oh, ow = win.shape[1:3]
    mg = m // group
    out = np.empty((n * oh * ow, m), dtype=np.float32)
    for g in range(group):
        cols = win[:, :, :, g * cg:(g + 1) * cg].reshape(n * oh * ow, cg * kh * kw)
        out[:, g * mg:(g + 1) * mg] = cols @ w[g * mg:(g + 1) * mg].reshape(mg, -1).T
    return out.reshape(n, oh, ow, m).transpose(0, 3, 1, 2)


def _operands(rng, shape, bits, zero_frac):
    """Signed operands, full range, with a fraction of zeros (as after a ReLU)."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    a = rng.integers(lo, hi + 1, size=shape, dtype=np.int64)
    a[rng.random(shape) < zero_frac] = 0
    return a


def cases(batch_wide: int, batch_lenet: int, bits: int, rng):
    """``(name, macs, fn(mult, bypass, stats), f32 fn)`` of the benchmark layers."""
    out = []
    convs = [(f"wide conv 64->64 3x3 32x32 b{batch_wide}", (batch_wide, 64, 32, 32), (64, 64, 3, 3), 1, 32),
             (f"lenet conv1 1->6 5x5 p2 b{batch_lenet}", (batch_lenet, 1, 28, 28), (6, 1, 5, 5), 2, 28),
             (f"lenet conv2 6->16 5x5 14x14 b{batch_lenet}", (batch_lenet, 6, 14, 14), (16, 6, 5, 5), 0, 10)]
    for name, xs, ws, pad, oh in convs:
        x = _operands(rng, xs, bits, 0.5)
        w = _operands(rng, ws, bits, 0.1)
        pads = (pad,) * 4
        xf, wf = x.astype(np.float32), w.astype(np.float32)
        out.append((name, xs[0] * oh * oh * int(np.prod(ws)),
                    lambda mu, bp, st, x=x, w=w, pads=pads: conv2d_nchw(x, w, pads=pads, mult=mu, bypass=bp, stats=st),
                    lambda xf=xf, wf=wf, pads=pads: f32_conv(xf, wf, pads)))
    for k, n in ((400, 120), (120, 84), (84, 10)):
        x = _operands(rng, (batch_lenet, k), bits, 0.5)
        w = _operands(rng, (k, n), bits, 0.1)
        xf, wf = x.astype(np.float32).reshape(batch_lenet, k, 1, 1), w.T.astype(np.float32).reshape(n, k, 1, 1)
        out.append((f"lenet fc {k}->{n} b{batch_lenet}", batch_lenet * k * n,
                    lambda mu, bp, st, x=x, w=w: mac_gemm(x, w, mult=mu, bypass=bp, stats=st),
                    lambda xf=xf, wf=wf: f32_conv(xf, wf)))
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
    ap.add_argument("--approx", default="drum:4,mitchell", help="approximate multiplier specs, comma-separated")
    ap.add_argument("--bypass", default="none", help="bypass of the approximate multipliers (default: none, "
                                                     "as `axmac emulate`)")
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small batches (smoke run)")
    ap.add_argument("--only", default=None, help="run only the cases whose name contains this text")
    ap.add_argument("--threads", default="1", help="BLAS / numba threads (read before NumPy loads)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    bw, bl = (2, 50) if args.quick else (16, 1000)
    specs = [("exact", Bypass())] + [(s, Bypass.parse(args.bypass)) for s in args.approx.split(",") if s]
    print("MAC/s = MACs / best wall time, MAC/cpu-s = MACs / best CPU time, x f32 = wall / float32 conv wall")
    print(f"{'case':36s} {'multiplier':>10s} {'stats':>5s} {'kernel':>8s} {'wall s':>8s} {'MAC/s':>9s} "
          f"{'MAC/cpu-s':>9s} {'x f32':>6s} {'peak MB':>8s}")
    for name, macs, fn, ref in cases(bw, bl, args.bits, rng):
        if args.only and args.only not in name:
            continue
        f32_wall, f32_cpu, _ = best_time(ref, args.repeat)
        print(f"{name:36s} {'float32':>10s} {'-':>5s} {'f32 ref':>8s} {f32_wall:8.4f} {macs / f32_wall:9.2e} "
              f"{macs / max(f32_cpu, 1e-9):9.2e} {1:6.2f} {'':>8s}", flush=True)
        for spec, bp in specs:
            mult = make_multiplier(spec, args.bits, True)
            for with_stats in (False, True):
                kern = kernel_for(mult, bp, with_stats)
                wall, cpu, peak = best_time(lambda fn=fn, mult=mult, bp=bp, ws=with_stats:
                                            fn(mult, bp, TrivialStats() if ws else None), args.repeat)
                print(f"{name:36s} {spec:>10s} {'yes' if with_stats else 'no':>5s} {kern:>8s} {wall:8.4f} "
                      f"{macs / wall:9.2e} {macs / max(cpu, 1e-9):9.2e} {wall / f32_wall:6.2f} {peak / 2**20:8.1f}",
                      flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max RSS of the process: {rss:.0f} MB")


if __name__ == "__main__":
    main()
