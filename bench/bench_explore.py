"""Throughput of ``axmac explore``: design points per minute locally and on a 2-worker Dask LocalCluster.

    .venv/bin/python bench/bench_explore.py [--dataset mnist] [--limit 500] [--multipliers exact,drum:4,...]
                                            [--widths 6,4] [--jobs 2] [--skip-cold]

Figures printed:

* the cost of measuring one PE design from nothing (Yosys mapping, Verilator build of the netlist,
  gate-level simulation of the sampled segments of every layer; a fresh build folder, in a
  subprocess) and again with the build in place (simulation only);
* points per minute of the uniform and sensitivity strategies on the bundled model (LeNet-5 on
  MNIST by default): a first run that also builds every PE design's simulator (cold), then a
  local run (``--jobs`` processes) and a Dask run (``LocalCluster(n_workers=2,
  threads_per_worker=1)``), each with an empty result cache and the simulators built (the
  steady state of an exploration: accuracy on the test images and gate-level simulations);
* the time of a rerun that finds every result in the cache.

The machine's load average is printed with the figures: on a shared machine they vary.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLD_DESIGN = """
import sys, time
from axmac.config import ArrayConfig
from axmac.gen.explore_cache import file_digest
from axmac.gen.explore_hw import GateLevelHardware
from axmac.gen.explore_tasks import Context, HardwareJob, design_dict, workload
from axmac.gen.datasets import default_model
from axmac.gen.explore import describe_model

model, limit = str(default_model(sys.argv[1])), int(sys.argv[2])
cfg = ArrayConfig()
quant = {"per_channel": True, "calibration": "max", "percentile": 99.99}
names = tuple(describe_model(model, cfg, quant, {})[0])
ctx = Context(model=model, model_sha=file_digest(model), array=cfg, dataset=sys.argv[1], dataset_sha="bench",
              limit=limit, hardware=GateLevelHardware(), names=names)
widths = (cfg.bits,) * len(names)
workload(ctx, widths)
for attempt in ("cold", "warm"):
    job = HardwareJob(tuple(sorted(design_dict(ctx, "drum:4", "none", "none").items())), (widths,))
    t = time.perf_counter()
    job.run(ctx)
    print(attempt, time.perf_counter() - t, flush=True)
"""


def cold_design_seconds(dataset: str, limit: int) -> dict[str, float]:
    """Seconds to measure one PE design with a fresh build folder, then again with its build."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AXMAC_BUILD": tmp}
        out = subprocess.run([sys.executable, "-c", COLD_DESIGN, dataset, str(limit)], env=env, check=True,
                             capture_output=True, text=True).stdout
    return {k: float(v) for k, v in (line.split() for line in out.splitlines() if line.strip())}


def timed_run(label: str, cache_dir: Path, **kw) -> dict:
    from axmac.gen.explore import explore
    from axmac.gen.explore_cache import Cache

    t = time.perf_counter()
    doc = explore(cache=Cache(cache_dir), **kw)
    s = time.perf_counter() - t
    n = sum(1 for p in doc["points"] if p["energy_pj"] is not None)
    return {"label": label, "points": n, "seconds": s, "per_minute": 60.0 * n / s, "jobs": doc["run"]["jobs_run"],
            "front": doc["front"], "figures": [(p["key"], p["accuracy"], p["energy_pj"]) for p in doc["points"]]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--limit", type=int, default=500)
    p.add_argument("--multipliers", default="exact,drum:4,mitchell,trunc:2")
    p.add_argument("--widths", default="6,4")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--skip-cold", action="store_true", help="skip the fresh-build measurement of one design")
    args = p.parse_args(argv)
    from distributed import LocalCluster

    from axmac.config import ArrayConfig

    kw = {"model": None, "dataset": args.dataset, "limit": args.limit, "array": ArrayConfig(),
          "multipliers": tuple(args.multipliers.split(",")), "bypasses": ("none",), "gatings": ("none",),
          "widths": tuple(int(w) for w in args.widths.split(",") if w), "strategies": ("uniform", "sensitivity")}
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if not args.skip_cold:
        c = cold_design_seconds(args.dataset, args.limit)
        print(f"one PE design (drum:4), measured from nothing: {c['cold']:.1f} s; with its build: {c['warm']:.1f} s")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows.append(timed_run("cold (builds every design)", tmp / "warmup", jobs=args.jobs, **kw))
        rows.append(timed_run(f"local, {args.jobs} processes", tmp / "local", jobs=args.jobs, **kw))
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
            rows.append(timed_run("Dask LocalCluster, 2 workers", tmp / "dask", scheduler=cluster.scheduler_address,
                                  **kw))
        rows.append(timed_run("rerun (every result cached)", tmp / "local", jobs=args.jobs, **kw))
    same = rows[1]["front"] == rows[2]["front"] and rows[1]["figures"] == rows[2]["figures"]
    print(f"{rows[0]['points']} points (uniform + sensitivity), {args.limit} test images, "
          f"multipliers {args.multipliers}, widths {args.widths}")
    for r in rows:
        print(f"  {r['label']:32s} {r['seconds']:8.1f} s  {r['per_minute']:8.1f} points/min  jobs {r['jobs']}")
    print(f"local and Dask fronts identical: {same}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
