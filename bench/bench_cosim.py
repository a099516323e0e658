"""Co-simulation figures of the array RTL (Verilator + cocotb harness) against the golden models.

* **throughput**, 8x8 and 16x16 weight-stationary arrays, streams keeping up: a batch of GEMMs
  (``M = 1024``, ``K = 8R``, ``N = 4C``, requantized) in one simulator process after a small
  warm-up GEMM; simulated cycles per second of simulation alone and of everything (programs,
  golden array model, payload packing, scoreboard, counters, the GEMM reference), useful MACs
  per second of everything, and the whole job's cycles per second (simulator start-up and the
  golden model's kernel loading included). Goal >= 50k cycles/s for 8x8 including all checking.
* **utilization**, measured on the RTL (useful MACs / (R x C x cycles)) for a ws GEMM with
  ``K = 8R`` and four column blocks. Goal >= 95 %.
* **LeNet-5, one inference** through the 8x8 RTL layer by layer (``axmac verify --all``,
  ``models/lenet5_mnist.onnx`` quantized at load time): wall time of the whole command's work
  after the build (loading, quantization, golden trace, simulation, checks). Goal < 10 s.
* **LeNet-5, 100 MNIST images** the same way, with the RTL's top-1 accuracy beside golden's.
  Goal < 2 min.

Builds are made (or found) first and not timed. Usage:
``python bench/bench_cosim.py [--sizes 8 16] [--images 100] [--json]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from axmac.config import ArrayConfig
from axmac.gen.datasets import default_model
from axmac.gen.verify import summary, verify_model
from axmac.sim.cosim import array_build, array_job, run_job


def throughput(cfg: ArrayConfig, gemms: int) -> dict:
    """One job: a small warm-up GEMM (loads the golden model's compiled kernels), then ``gemms``
    big ones. Steady state: the big GEMMs' simulated cycles per second of their whole work
    (programs, golden model, simulation, checks); the job figures add the start-up."""
    R, C = cfg.rows, cfg.cols
    big = {"m": 1024, "k": 8 * R, "n": 4 * C, "requant": True, "idle": 0, "stall": 0}
    cases = [{"m": R, "k": R, "n": C, "idle": 0, "stall": 0}] + [big] * gemms
    t0 = time.perf_counter()
    res = run_job(array_build(cfg), array_job(cfg, "axmac.sim.array_run:gemms_body",
                                              {"config": cfg.to_dict(), "cases": cases, "seed": 1}))
    wall = time.perf_counter() - t0
    s = summary(cfg, res, res.get("gemms", []))
    if not s["matched"]:
        raise SystemExit(f"{R}x{C}: the RTL differed from golden: {res['mismatch']}")
    steady = res["gemms"][1:]
    sim = sum(g["simulated"] for g in steady)
    cycles, macs, secs = (sum(g[k] for g in steady) for k in ("cycles", "macs", "seconds"))
    return {"cycles_per_second": sim / sum(g["sim_seconds"] for g in steady),
            "checked_cycles_per_second": sim / secs, "macs_per_second": macs / secs,
            "utilization": macs / (cfg.pes * cycles), "cycles": cycles, "macs": macs,
            "job_cycles_per_second": s["simulated_cycles"] / wall, "job_seconds": wall}


def lenet(cfg: ArrayConfig, images: int) -> dict:
    t0 = time.perf_counter()
    res = verify_model(cfg, default_model("mnist"), images=images)
    res["seconds"] = time.perf_counter() - t0
    if not res["matched"]:
        raise SystemExit(f"LeNet-5 on the RTL differed from golden: {res['mismatch']}")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--gemms", type=int, default=4, help="GEMMs per throughput run (default 4)")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = {"throughput": {}, "lenet": {}}
    lenet_cfg = ArrayConfig(rows=8, cols=8)
    for r in sorted(set(args.sizes) | {8}):  # elaborate and compile first (or find the build): not timed
        cfg = ArrayConfig(rows=r, cols=r)
        run_job(array_build(cfg), array_job(cfg, "axmac.sim.array_run:gemms_body",
                                            {"config": cfg.to_dict(), "cases": [{"m": 1, "k": 1, "n": 1}]}))
    for r in args.sizes:
        cfg = ArrayConfig(rows=r, cols=r)
        out["throughput"][f"{r}x{r}"] = throughput(cfg, args.gemms)
    for n in (1, args.images):
        res = lenet(lenet_cfg, n)
        out["lenet"][str(n)] = {k: res.get(k) for k in ("seconds", "cycles", "macs", "utilization", "sim_seconds",
                                                          "cycles_per_second", "accuracy", "golden_accuracy",
                                                          "agreement")}
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        print()
        return 0
    print("co-simulation throughput (ws, M=1024, K=8R, N=4C, requantized, streams keeping up; 'checked': per second"
          " of everything, golden model and checks included; 'job': with simulator and model start-up)")
    print(f"{'array':>6} {'cycles/s sim':>13} {'cycles/s checked':>17} {'MAC/s checked':>14} {'cycles/s job':>13} "
          f"{'utilization':>12}")
    for name, t in out["throughput"].items():
        print(f"{name:>6} {t['cycles_per_second']:13.0f} {t['checked_cycles_per_second']:17.0f} "
              f"{t['macs_per_second']:14.3g} {t['job_cycles_per_second']:13.0f} {100 * t['utilization']:11.1f}%")
    for n, res in out["lenet"].items():
        acc = (f", top-1 accuracy RTL {res['accuracy']:.3f} / golden {res['golden_accuracy']:.3f}"
               if res.get("accuracy") is not None else "")
        print(f"LeNet-5 through the 8x8 RTL, {n} image(s): {res['seconds']:.1f} s ({res['cycles']} cycles, "
              f"utilization {100 * res['utilization']:.1f}%{acc})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
