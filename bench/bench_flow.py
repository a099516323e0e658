"""Wall time of ``axmac flow``, cold and warm, stage by stage.

    .venv/bin/python bench/bench_flow.py [--quick] [--build DIR] [-- FLOW OPTIONS...]

Runs ``axmac flow`` twice in a subprocess with its own build folder (``AXMAC_BUILD``; a fresh
temporary one unless ``--build`` names one): **cold** (empty caches, the state after ``make
setup``: every PE design mapped and simulated, the array's simulator built, everything computed)
and **warm** (the same command again: every stage from its cache). Printed per stage: seconds cold
and warm and whether the warm run took it from the cache (parsed from the flow's progress lines on
standard error); and per run: wall seconds, CPU seconds of the whole process tree (user + system
of the flow and every process it waited for: workers, Yosys, Verilator, the C++ compiler, the
simulator) and the load average when it ended. On a shared machine the wall time depends on the
other load; ``CPU / cores`` is what the same work needs at best on an idle machine.

``--quick``: the digits CNN on a 4x4 array, two multipliers (a minute or two cold), to try the bench.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LINE = re.compile(r"^axmac flow \[\d+/\d+\] ([\w ]+?): .*?([\d.]+) s( \(cached\))?$")
QUICK = ["--dataset", "digits", "--preset", "tiny", "--limit", "200", "--images", "5", "--multipliers",
         "exact,drum:4", "--energy-samples", "8"]


def run(args: list[str], build: Path, out: Path) -> dict:
    """One ``axmac flow`` run: wall and CPU seconds, load, and each stage's seconds and cache state."""
    env = {**os.environ, "AXMAC_BUILD": str(build)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "axmac", "flow", *args, "--out-dir", str(out)], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"axmac flow failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    stages = {}
    for line in proc.stderr.splitlines():
        m = LINE.match(line.strip())
        if m:
            stages[m.group(1)] = (float(m.group(2)), bool(m.group(3)))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "load": os.getloadavg()[0], "stages": stages, "stdout": proc.stdout}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a small configuration (digits, 4x4, two multipliers)")
    p.add_argument("--build", type=Path, help="build folder (default: a fresh temporary one: a cold start)")
    p.add_argument("flow_args", nargs="*", help="more axmac flow options (after --)")
    a = p.parse_args(argv)
    args = (QUICK if a.quick else []) + a.flow_args
    with tempfile.TemporaryDirectory(prefix="bench-flow-") as tmp:
        build = a.build or Path(tmp) / "build"
        cold = run(args, build, Path(tmp) / "report")
        warm = run(args, build, Path(tmp) / "report")
    print(f"axmac flow {' '.join(args) or '(defaults: LeNet-5 on MNIST)'}; {os.cpu_count()} CPUs\n")
    print(cold["stdout"])
    print(f"{'stage':14s} {'cold s':>9s} {'warm s':>9s}  warm from cache")
    for name in cold["stages"]:
        c = cold["stages"][name][0]
        w, hit = warm["stages"].get(name, (float("nan"), False))
        print(f"{name:14s} {c:9.1f} {w:9.1f}  {'yes' if hit else 'no'}")
    for label, r in (("cold", cold), ("warm", warm)):
        print(f"{label}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU (process tree; / {os.cpu_count()} cores = "
              f"{r['cpu'] / (os.cpu_count() or 1):.1f} s), load average {r['load']:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
