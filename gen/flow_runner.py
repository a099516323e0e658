"""How the stages of ``axmac flow`` run: each from the cache when it is there, with progress lines.

:class:`Stages` runs one stage at a time (:meth:`Stages.run`) or several independent ones at once
(:meth:`Stages.run_many`: :class:`Job` objects, the missing ones on worker processes), looks each
result up in a :class:`~axmac.gen.explore_cache.Cache` first under a key over what it depends on
(the caller's key parts and the source code of the stage's modules,
:func:`~axmac.gen.explore_cache.code_version`), stores what it computed, and writes one line to
standard error when a stage starts and one when it ends (what it found, seconds, "cached").
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Job:
    """A cached computation :meth:`Stages.run_many` may run in another process: ``fn`` (a module-level
    function) called with ``args`` and ``kwargs``, under the cache kind of ``stage``."""

    label: str
    stage: str
    key_parts: list
    fn: object
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    describe: object = None


class Stages:
    """Runs stages in order, each from the cache when it is there, with a line to ``log`` at each end."""

    def __init__(self, cache, names: tuple[str, ...], code: dict, log=None):
        self.cache, self.names, self.code, self.log = cache, names, code, log or sys.stderr
        self.timing: list[dict] = []

    def say(self, text: str) -> None:
        print(text, file=self.log, flush=True)

    def run(self, name: str, key_parts, compute, describe=None, valid=None):
        """``compute()`` or its cached result; ``key_parts=None``: not cached; ``valid(doc)``: a
        cached result is used only if it holds (e.g. its files still exist)."""
        from .explore_cache import code_version, digest

        i = self.names.index(name) + 1
        self.say(f"axmac flow [{i}/{len(self.names)}] {name} ...")
        t0 = time.perf_counter()
        key = None if key_parts is None else digest("flow", name, key_parts, code_version(*self.code.get(name, ())))
        doc = self.cache.get(f"flow-{name}", key) if key is not None else None
        cached = doc is not None and (valid is None or valid(doc))
        if not cached:
            doc = compute()
            if key is not None:
                self.cache.put(f"flow-{name}", key, doc)
        seconds = time.perf_counter() - t0
        self.timing.append({"stage": name, "seconds": seconds, "cached": cached})
        what = describe(doc) if describe is not None else ""
        self.say(f"axmac flow [{i}/{len(self.names)}] {name}: {what}{'; ' if what else ''}{seconds:.1f} s"
                 f"{' (cached)' if cached else ''}")
        return doc

    def run_many(self, jobs: list[Job], workers: int | None) -> dict[str, object]:
        """Run independent ``jobs`` (cached ones answered here), the others on ``workers`` processes
        at once (in this process when there are fewer than two to run or ``workers == 1``); a line
        when each starts and ends. Returns ``{job.label: result}``."""
        from .explore_cache import code_version, digest

        out, todo, t0 = {}, [], time.perf_counter()
        for job in jobs:
            i = self.names.index(job.stage) + 1
            self.say(f"axmac flow [{i}/{len(self.names)}] {job.label} ...")
            key = digest("flow", job.stage, job.key_parts, code_version(*self.code.get(job.stage, ())))
            doc = self.cache.get(f"flow-{job.stage}", key)
            if doc is not None:
                out[job.label] = doc
                self._done(job, doc, 0.0, True)
            else:
                todo.append((job, key))
        if len(todo) < 2 or workers == 1:
            for job, key in todo:
                out[job.label] = self._store(job, key, job.fn(*job.args, **job.kwargs), t0)
            return out
        import concurrent.futures as cf
        import multiprocessing

        spawn = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(min(len(todo), workers or 2), mp_context=spawn) as ex:
            futures = {ex.submit(job.fn, *job.args, **job.kwargs): (job, key) for job, key in todo}
            try:
                for f in cf.as_completed(futures):
                    job, key = futures[f]
                    out[job.label] = self._store(job, key, f.result(), t0)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        return out

    def _store(self, job: Job, key: str, doc, t0: float):
        self.cache.put(f"flow-{job.stage}", key, doc)
        self._done(job, doc, time.perf_counter() - t0, False)
        return doc

    def _done(self, job: Job, doc, seconds: float, cached: bool) -> None:
        i = self.names.index(job.stage) + 1
        self.timing.append({"stage": job.label, "seconds": seconds, "cached": cached})
        what = job.describe(doc) if job.describe is not None else ""
        self.say(f"axmac flow [{i}/{len(self.names)}] {job.label}: {what}{'; ' if what else ''}{seconds:.1f} s"
                 f"{' (cached)' if cached else ''}")

    def skip(self, name: str, why: str) -> None:
        i = self.names.index(name) + 1
        self.say(f"axmac flow [{i}/{len(self.names)}] {name}: skipped ({why})")


__all__ = ["Job", "Stages"]
