"""Emulation throughput of the golden engine, end to end (``golden.engine.run_network``).

Two workloads, both quantized to int8 by axmac at load time (per-channel, max calibration):

* ``lenet``: the bundled LeNet-5 on the 1000 MNIST test images (416 k MACs per image);
* ``wide``: a conv stack built here as ONNX: ``--depth`` x [Conv 64->64 3x3 pad 1 + Relu] on
  64 x 32 x 32 maps (37.7 M MACs per layer and image), ``--wide-batch`` random images.

For each: ``exact`` and a table-based approximate multiplier (``--approx``, default
``mitchell``), each without and with trivial-operation statistics. Reported: MACs, the best
wall time of ``--repeat`` runs of ``run_network`` (other processes share the machine), MAC/s,
the slowdown of approximate against exact, and the peak resident memory of the process.
Load + quantization time is reported separately. Goals: exact wide >= 2e10 MAC/s; approximate
>= 2e9 MAC/s on both and <= 5x slower than exact on LeNet-5.

Threads: BLAS / OpenMP / numba use ``--threads`` (default 1), set before NumPy is imported. On
this shared 2-core machine multi-threaded OpenBLAS was measured up to 30x slower (median) than
one thread on the same GEMM when the other core is busy.

Usage: ``python bench/bench_emulation.py [--approx SPEC] [--repeat R] [--depth D] [--wide-batch N]
[--threads T] [--json]``
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


for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = _threads_from_argv(sys.argv)

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from axmac.gen.datasets import default_model, load_dataset  # noqa: E402
from axmac.golden.engine import run_network  # noqa: E402
from axmac.onnx_import.loader import load_model  # noqa: E402


def wide_model(depth: int, channels: int = 64, hw: int = 32, seed: int = 0):
    """``depth`` x [Conv c->c 3x3 pad 1 + Relu] as an ONNX ModelProto (float, random He weights)."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    x = "input"
    for i in range(depth):
        w = (rng.standard_normal((channels, channels, 3, 3)) * np.sqrt(2 / (9 * channels))).astype(np.float32)
        b = (rng.standard_normal(channels) * 0.01).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes += [helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        x = f"r{i}"
    g = helper.make_graph(nodes, "wide", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                        ["N", channels, hw, hw])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", channels, hw, hw])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)


def timed(net, feeds, repeat, **kw):
    best, rep = None, None
    for _ in range(repeat):
        _, r = run_network(net, feeds, **kw)
        if best is None or r.seconds < best:
            best, rep = r.seconds, r
    return rep


def bench(name, net, feeds, args, load_s):
    rows = []
    for spec in ("exact", args.approx):
        for stats in (False, True):
            rep = timed(net, feeds, args.repeat, multiplier=spec, stats=stats, batch_size=args.batch_size)
            rows.append({"workload": name, "multiplier": spec, "stats": stats, "samples": rep.samples,
                         "macs": rep.macs, "seconds": rep.seconds, "macs_per_second": rep.macs_per_second,
                         "load_seconds": load_s,
                         "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    for r in rows:
        ex = next(e for e in rows if e["multiplier"] == "exact" and e["stats"] == r["stats"])
        r["slowdown_vs_exact"] = r["seconds"] / ex["seconds"]
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--approx", default="mitchell", help="table-based approximate multiplier spec")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--wide-batch", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=None, help="default: the engine's auto_batch_size")
    ap.add_argument("--only", choices=("lenet", "wide"))
    ap.add_argument("--threads", default="1", help="BLAS / OpenMP / numba threads (read before NumPy loads)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    if args.only in (None, "lenet"):
        x, _, calib = load_dataset("mnist")
        t0 = time.perf_counter()
        net = load_model(default_model("mnist"), calibration={"input": calib})
        rows += bench("lenet", net, {"input": x}, args, time.perf_counter() - t0)
    if args.only in (None, "wide"):
        rng = np.random.default_rng(1)
        xw = rng.standard_normal((args.wide_batch, 64, 32, 32)).astype(np.float32)
        t0 = time.perf_counter()
        net = load_model(wide_model(args.depth), calibration={"input": xw[:4]})
        rows += bench("wide", net, {"input": xw}, args, time.perf_counter() - t0)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    print(f"{'workload':8s} {'multiplier':10s} {'stats':5s} {'MACs':>9s} {'seconds':>8s} {'MAC/s':>9s} "
          f"{'x exact':>7s} {'load s':>6s} {'RSS MB':>7s}")
    for r in rows:
        print(f"{r['workload']:8s} {r['multiplier']:10s} {'on' if r['stats'] else 'off':5s} {r['macs']:9.3g} "
              f"{r['seconds']:8.3f} {r['macs_per_second']:9.3g} {r['slowdown_vs_exact']:7.2f} "
              f"{r['load_seconds']:6.2f} {r['peak_rss_mb']:7.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
