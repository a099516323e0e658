"""Where the jobs of ``axmac explore`` run: this process, local worker processes, or a Dask cluster.

Every executor has one method, :meth:`Executor.map`: run ``fn(*args)`` for each item, show a
progress bar (tqdm on stderr) that advances as jobs finish, hand each result to ``on_result(i,
result)`` as it arrives (the caller stores it: an interrupted run keeps what was finished), and
return the results **in the order of the items**, whatever the order they finished in. The caller
assembles results in that order, so the answer does not depend on the executor or on timing.

* :class:`InlineExecutor` (``jobs=1``): in this process, one after the other.
* :class:`LocalExecutor` (default, ``--jobs N``): a ``concurrent.futures.ProcessPoolExecutor`` of
  ``N`` spawned processes (default: the CPU count), started on first use, numba capped at one
  thread per worker.
* :class:`DaskExecutor` (``--scheduler tcp://host:port``): ``distributed.Client(address)``; each
  job a task (``pure=False``). Workers need axmac installed and the model and data files at the
  same paths (the jobs carry paths and content hashes, not the data).

A job that raises makes :meth:`map` cancel the jobs not yet started and raise the same exception.
"""

from __future__ import annotations

import os
import sys

from ..errors import AxmacError


def _bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="job", file=sys.stderr, disable=None, leave=False)


class Executor:
    """Base class: ``map``, ``close``, a context manager; ``workers`` = parallel slots."""

    name = "executor"
    workers = 1

    def map(self, fn, items: list[tuple], desc: str = "explore", on_result=None) -> list:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def describe(self) -> dict:
        return {"executor": self.name, "workers": self.workers}


class InlineExecutor(Executor):
    """Run every job here, in order."""

    name = "inline"

    def map(self, fn, items, desc="explore", on_result=None):
        out = []
        with _bar(len(items), desc) as bar:
            for i, args in enumerate(items):
                out.append(fn(*args))
                if on_result is not None:
                    on_result(i, out[-1])
                bar.update(1)
        return out


def _gather(futures: list, as_completed, result, cancel, desc: str, on_result) -> list:
    index = {id(f): i for i, f in enumerate(futures)}
    out = [None] * len(futures)
    with _bar(len(futures), desc) as bar:
        try:
            for f in as_completed(futures):
                i = index[id(f)]
                out[i] = result(f)
                if on_result is not None:
                    on_result(i, out[i])
                bar.update(1)
        except BaseException:
            for f in futures:
                cancel(f)
            raise
    return out


class LocalExecutor(Executor):
    """A pool of ``jobs`` local processes (module docstring)."""

    name = "local"

    def __init__(self, jobs: int | None = None):
        self.workers = max(1, int(jobs or os.cpu_count() or 1))
        self._pool = None

    def map(self, fn, items, desc="explore", on_result=None):
        if not items:
            return []
        import concurrent.futures as cf
        import multiprocessing

        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        futures = [self._pool.submit(fn, *args) for args in items]
        return _gather(futures, cf.as_completed, lambda f: f.result(), lambda f: f.cancel(), desc, on_result)

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """Jobs as tasks of a Dask ``distributed`` cluster at ``address`` (module docstring)."""

    name = "dask"

    def __init__(self, address: str, *, timeout: float = 20.0):
        try:
            from distributed import Client
            from distributed.comm import parse_address
            from distributed.comm.registry import get_backend
        except ImportError:
            raise AxmacError("--scheduler needs Dask: pip install distributed") from None
        try:  # a malformed address fails here, before a Client exists (a half-made one complains at exit)
            scheme, where = parse_address(address)
            get_backend(scheme)
            if not where:
                raise ValueError("no host")
        except ValueError as e:
            raise AxmacError(f"--scheduler {address!r}: not a scheduler address like tcp://host:8786 ({e})") from None
        try:
            self.client = Client(address, timeout=f"{timeout}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as e:
            raise AxmacError(f"--scheduler {address}: cannot connect ({type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else 'no answer'})") from None
        self.address = address
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))

    def map(self, fn, items, desc="explore", on_result=None):
        if not items:
            return []
        from distributed import as_completed

        futures = [self.client.submit(fn, *args, pure=False) for args in items]
        return _gather(futures, lambda fs: as_completed(fs, loop=self.client.loop), lambda f: f.result(),
                       lambda f: f.cancel(), desc, on_result)

    def close(self):
        self.client.close()

    def describe(self):
        return {**super().describe(), "scheduler": self.address}


def make_executor(jobs: int | None = None, scheduler: str | None = None) -> Executor:
    """Dask at ``scheduler`` if given, else ``jobs`` local processes (``1``: this process)."""
    if scheduler:
        return DaskExecutor(scheduler)
    if jobs == 1:
        return InlineExecutor()
    return LocalExecutor(jobs)


__all__ = ["DaskExecutor", "Executor", "InlineExecutor", "LocalExecutor", "make_executor"]
