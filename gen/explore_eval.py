"""Evaluation of design points: which jobs a set of points needs, the cache, and the assembly.

:meth:`Evaluator.evaluate` turns points into jobs (:mod:`axmac.gen.explore_tasks`), deduplicated
across the points -- one accuracy per distinct arithmetic (gating and the ADD bypass cases do not
change results; neither does the MUL bypass when every layer is exact); for a PE design not seen
before one hardware job covering every workload (set of widths) it is needed on, so that its
simulator is built once, for a design seen before one job per workload -- looks each result
up in the cache, runs only the missing ones on the executor, stores them, and assembles every
point's figures in the driving process, in a fixed order (so the figures do not depend on the
executor):

* ``accuracy``: top-1 on the test images (``None`` without a labelled dataset);
* ``area_um2``: ``R * C`` times the PE area (a point with several multipliers: the largest PE plus
  the other multipliers, :mod:`axmac.gen.explore_hw`);
* ``energy_pj`` per inference: per layer, the ratio estimate of :func:`axmac.gen.pe_workload.estimate`
  (sampled segment energies per PE-cycle, times the layer's PE-cycles: every PE of every tile,
  idle slots of short tiles included), plus the idle PE-cycles the array's cycle model adds
  (fill, drain, waits) priced at the PE's idle energy per cycle; ``energy_stderr_pj`` is the
  sampling error (standard error of the ratio estimates, layers independent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace

from .explore_space import Point
from .explore_tasks import AccuracyJob, Context, HardwareJob, design_dict, run_job

MUL_CASES = ("zero", "one")


@dataclass
class Result:
    """The figures of one point (module docstring); ``None`` where not evaluated."""

    point: Point
    accuracy: float | None = None
    area_um2: float | None = None
    energy_pj: float | None = None
    energy_stderr_pj: float | None = None
    macs: int | None = None
    pe_area: dict = field(default_factory=dict)
    layers: list = field(default_factory=list)

    @property
    def has_hardware(self) -> bool:
        return self.energy_pj is not None

    @property
    def pj_per_mac(self) -> float | None:
        return self.energy_pj / self.macs if self.energy_pj is not None and self.macs else None


def mul_bypass(point: Point) -> str:
    """The bypass cases that change results: the MUL ones, and only if some layer is approximate."""
    if all(s == "exact" for s in point.specs):
        return "none"
    cases = [c for c in point.bypass.split(",") if c in MUL_CASES]
    return ",".join(cases) or "none"


def _wkey(widths) -> str:
    return ",".join(map(str, widths))


class Evaluator:
    """Evaluates points on an executor with a cache (module docstring)."""

    def __init__(self, ctx: Context, executor, cache):
        self.ctx, self.executor, self.cache = ctx, executor, cache
        self.with_accuracy = ctx.dataset is not None
        self.threads = None if executor.name == "inline" else 1
        self.jobs_run = {"accuracy": 0, "hardware": 0}

    # -- jobs ----------------------------------------------------------------------------------
    def _designs(self, p: Point) -> dict[str, tuple]:
        return {s: tuple(sorted(design_dict(self.ctx, s, p.bypass, p.gating).items())) for s in p.multipliers}

    def evaluate(self, points: list[Point], *, hardware: bool = True, desc: str = "explore") -> list[Result]:
        """Figures of ``points`` (accuracy only with ``hardware=False``), in their order."""
        ctx = self.ctx
        acc_jobs = {}
        if self.with_accuracy:
            for p in points:
                job = AccuracyJob(p.specs, p.widths, mul_bypass(p))
                acc_jobs.setdefault(job.key(ctx), job)
        need: dict[tuple, set] = {}
        if hardware:
            for p in points:
                for d in self._designs(p).values():
                    need.setdefault(d, set()).add(p.widths)
        acc = {k: self.cache.get("accuracy", k) for k in acc_jobs}
        area, energy, hw_jobs = {}, {}, []
        for d, ws in sorted(need.items()):
            probe = HardwareJob(d)
            area[d] = self.cache.get("area", probe.area_key(ctx))
            missing = []
            for w in sorted(ws):
                energy[d, w] = self.cache.get("energy", probe.energy_key(ctx, w))
                if energy[d, w] is None:
                    missing.append(w)
            if area[d] is None:  # first sight of the design: one job, so that it is built once
                hw_jobs.append(HardwareJob(d, tuple(missing)))
            else:  # built before: one job per workload, in parallel
                hw_jobs += [HardwareJob(d, (w,)) for w in missing]
        todo = hw_jobs + [acc_jobs[k] for k in acc_jobs if acc[k] is None]

        def store(i, res):  # as each job finishes: an interrupted run keeps what was done
            job = todo[i]
            self.jobs_run[job.kind] += 1
            if job.kind == "accuracy":
                k = job.key(ctx)
                acc[k] = res
                self.cache.put("accuracy", k, res)
            else:
                area[job.design] = res["area"]
                self.cache.put("area", job.area_key(ctx), res["area"])
                for w in job.widths_list:
                    energy[job.design, w] = res["energy"][_wkey(w)]
                    self.cache.put("energy", job.energy_key(ctx, w), energy[job.design, w])

        self.executor.map(run_job, [(ctx, job, self.threads) for job in todo], desc=desc, on_result=store)
        out = []
        for p in points:
            r = Result(p)
            if self.with_accuracy:
                r.accuracy = acc[AccuracyJob(p.specs, p.widths, mul_bypass(p)).key(ctx)]["accuracy"]
            if hardware:
                self._assemble(r, area, energy)
            out.append(r)
        return out

    # -- assembly ------------------------------------------------------------------------------
    def _assemble(self, r: Result, area: dict, energy: dict) -> None:
        from .pe_workload import Stratum, estimate

        p, ctx = r.point, self.ctx
        designs = self._designs(p)
        areas = {s: area[d] for s, d in designs.items()}
        big = max(sorted(areas), key=lambda s: sum(areas[s].values()))
        pe = dict(areas[big])
        for s in sorted(areas):
            if s != big:
                pe[f"multiplier {s}"] = areas[s].get("multiplier", 0.0)
        r.pe_area = pe
        r.area_um2 = ctx.array.pes * sum(pe.values())
        total, var, macs, layers = 0.0, 0.0, 0, []
        for name, spec, width in zip(ctx.names, p.specs, p.widths, strict=True):
            doc = energy[designs[spec], p.widths]
            lay, tot = doc["layers"][name], doc["totals"][name]
            segs = [SimpleNamespace(layer=name, cycles=c) for c in lay["cycles"]]
            st = Stratum(name, tot["segments"], tot["cycles"], tot["slots"], tot["macs"])
            est = estimate(segs, lay["energy"], [st])
            idle = doc["idle_pj_per_cycle"] * tot["idle_cycles"]
            e = est.energy + idle
            total += e
            var += est.stderr ** 2
            macs += tot["macs"]
            layers.append({"name": name, "multiplier": spec, "bits": width, "energy_pj": e, "stderr_pj": est.stderr,
                           "idle_pj": idle, "macs": tot["macs"], "slots": tot["slots"],
                           "pj_per_mac": e / tot["macs"] if tot["macs"] else None,
                           "pj_per_slot_by_group": {g: v / lay["slots"] for g, v in lay["groups"].items()}})
        r.energy_pj, r.energy_stderr_pj, r.macs, r.layers = total, math.sqrt(var), macs, layers


__all__ = ["Evaluator", "Result", "mul_bypass"]
