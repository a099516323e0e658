"""Emulation throughput of the golden engine, end to end (``golden.engine.run_network``).

Two workloads, both quantized to int8 by axmac at load time (per-channel, max calibration):

* ``lenet``: the bundled LeNet-5 on the 1000 MNIST test images (416 k MACs per image);
* ``wide``: a conv stack built here as ONNX: ``--depth`` x [Conv 64->64 3x3 pad 1 + Relu] on
  64 x 32 x 32 maps (37.7 M MACs per layer and image), ``--wide-batch`` random images.

For each: ``exact`` and the approximate multipliers of ``--approx`` (default ``drum:4``, a
separable table, and ``mitchell``, a table that is not), each without and with
trivial-operation statistics (``axmac emulate`` counts them by default: "on" is the figure a
user sees). Reported: MACs, the best wall time and the best CPU time of ``--repeat`` runs of
``run_network`` after one untimed warm-up run (other processes share the machine: CPU time is
the steadier figure with one thread), MAC/s, the slowdown against exact with the same
statistics setting (``x exact``), against the same multiplier without statistics (``x off``),
against ``f32 ref`` (``x f32``), and the peak resident memory of the process. ``f32 ref`` runs
every MAC layer of the network as a float32 convolution of the same shapes (NumPy im2col +
float32 BLAS, ``bench_kernels.f32_conv``; no other op), the yardstick of an ordinary float
framework on one core. Load + quantization time is reported separately.

Threads: BLAS / OpenMP / numba use ``--threads`` (default 1), set before NumPy is imported. On
this shared 2-core machine multi-threaded OpenBLAS was measured up to 30x slower (median) than
one thread on the same GEMM when the other core is busy.

Usage: ``python bench/bench_emulation.py [--approx SPEC,...] [--repeat R] [--depth D] [--wide-batch N]
[--only lenet|wide] [--threads T] [--json]``
"""

from __future__ import annotations

# isort: off
from bench_kernels import f32_conv  # first: it sets the thread counts from --threads before NumPy loads
# isort: on

import argparse
import json
import resource
import sys
import time

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from axmac.gen.datasets import default_model, load_dataset
from axmac.golden.engine import run_network
from axmac.onnx_import.loader import load_model


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
    """The report of the fastest of ``repeat`` runs, and the best CPU time of them, after one
    untimed run (numba kernels compiled or loaded from their cache; measured here, the second
    run of a process was still 0.1-0.15 s slower on LeNet than the later ones)."""
    run_network(net, feeds, **kw)
    best, rep, cpu = None, None, None
    for _ in range(repeat):
        c0 = time.process_time()
        _, r = run_network(net, feeds, **kw)
        c = time.process_time() - c0
        cpu = c if cpu is None else min(cpu, c)
        if best is None or r.seconds < best:
            best, rep = r.seconds, r
    return rep, cpu


def f32_reference(net, batch: int, repeat: int) -> tuple[float, float]:
    """Best wall and CPU time of every MAC layer of ``net`` as a float32 im2col + BLAS
    convolution of the same shapes (random data: the time does not depend on it)."""
    rng = np.random.default_rng(0)
    layers = []
    for layer in net.mac_layers:
        shape = (batch,) + tuple(net.shapes[layer.x][1:])
        x = rng.standard_normal(shape).astype(np.float32)
        if layer.kind == "conv":
            w = layer.weight.astype(np.float32)
            layers.append(lambda x=x, w=w, layer=layer: f32_conv(x, w, layer.pads, layer.strides, layer.dilations,
                                                                 layer.group))
        else:
            w = layer.weight.T.astype(np.float32).reshape(layer.weight.shape[1], -1, 1, 1)
            x = x.reshape(-1, w.shape[1], 1, 1)
            layers.append(lambda x=x, w=w: f32_conv(x, w))
    walls, cpus = [], []
    for _ in range(repeat + 1):  # the first run warms up
        c0, t0 = time.process_time(), time.perf_counter()
        for run in layers:
            run()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls[1:]), min(cpus[1:])


def bench(name, net, feeds, args, load_s):
    rows = []
    batch = next(iter(feeds.values())).shape[0]
    ref_wall, ref_cpu = f32_reference(net, batch, args.repeat)
    for spec in ["exact"] + [s for s in args.approx.split(",") if s]:
        for stats in (False, True):
            rep, cpu = timed(net, feeds, args.repeat, multiplier=spec, stats=stats, batch_size=args.batch_size)
            rows.append({"workload": name, "multiplier": spec, "stats": stats, "samples": rep.samples,
                         "macs": rep.macs, "seconds": rep.seconds, "cpu_seconds": cpu,
                         "macs_per_second": rep.macs_per_second, "load_seconds": load_s,
                         "f32_ref_seconds": ref_wall, "f32_ref_cpu_seconds": ref_cpu,
                         "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    for r in rows:
        ex = next(e for e in rows if e["multiplier"] == "exact" and e["stats"] == r["stats"])
        off = next(e for e in rows if e["multiplier"] == r["multiplier"] and not e["stats"])
        r["slowdown_vs_exact"] = r["seconds"] / ex["seconds"]
        r["slowdown_vs_off"] = r["seconds"] / off["seconds"]
        r["slowdown_vs_f32"] = r["seconds"] / r["f32_ref_seconds"]
        r["cpu_slowdown_vs_exact"] = r["cpu_seconds"] / ex["cpu_seconds"]
        r["cpu_slowdown_vs_off"] = r["cpu_seconds"] / off["cpu_seconds"]
        r["cpu_slowdown_vs_f32"] = r["cpu_seconds"] / r["f32_ref_cpu_seconds"]
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--approx", default="drum:4,mitchell", help="approximate multiplier specs, comma-separated")
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
    print("x exact / x off / x f32: wall-time ratios (CPU-time ratios in brackets)")
    print(f"{'workload':8s} {'multiplier':10s} {'stats':5s} {'MACs':>9s} {'seconds':>8s} {'cpu s':>7s} {'MAC/s':>9s} "
          f"{'x exact':>13s} {'x off':>13s} {'x f32':>13s} {'load s':>6s} {'RSS MB':>7s}")
    for w in dict.fromkeys(r["workload"] for r in rows):
        r = next(r for r in rows if r["workload"] == w)
        print(f"{w:8s} {'f32 ref':10s} {'-':5s} {'':9s} {r['f32_ref_seconds']:8.3f} {r['f32_ref_cpu_seconds']:7.3f}")
        for r in (r for r in rows if r["workload"] == w):
            ratios = " ".join(f"{r[k]:6.2f}({r['cpu_' + k]:4.2f})" for k in
                              ("slowdown_vs_exact", "slowdown_vs_off", "slowdown_vs_f32"))
            print(f"{w:8s} {r['multiplier']:10s} {'on' if r['stats'] else 'off':5s} {r['macs']:9.3g} "
                  f"{r['seconds']:8.3f} {r['cpu_seconds']:7.3f} {r['macs_per_second']:9.3g} {ratios} "
                  f"{r['load_seconds']:6.2f} {r['peak_rss_mb']:7.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
