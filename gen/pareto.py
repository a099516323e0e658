"""The Pareto front of a set of design points over several objectives, with a deterministic order.

A point ``p`` **dominates** ``q`` when it is at least as good as ``q`` in every objective and
strictly better in one (better = larger for a maximised objective, smaller for a minimised one).
The front is the set of points no other point dominates. Points with equal objective vectors do
not dominate each other: all of them are on the front (or none is).

:func:`pareto_front` returns the indices of the front sorted by the objectives (first
objective's preferred direction first, then the next...) and then by a caller's tie-break key,
so the same set of points gives the same list however it was computed or ordered (a local and a
Dask run of ``axmac explore`` must agree). Values are compared exactly; a ``None`` or NaN value
makes a point unrankable and it is left out.

The work is ``O(n^2 m)`` comparisons in NumPy, in blocks (a few thousand points take milliseconds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import AxmacError

SENSES = ("max", "min")
BLOCK = 1024


def _matrix(values: Sequence[Sequence[float | None]], senses: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The objectives as a float matrix to minimise (maximised columns negated) and the rankable rows."""
    for s in senses:
        if s not in SENSES:
            raise AxmacError(f"objective sense must be 'max' or 'min', not {s!r}")
    m = len(senses)
    rows = [list(v) for v in values]
    if any(len(r) != m for r in rows):
        raise AxmacError(f"every point needs {m} objective values")
    ok = np.array([all(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in r) for r in rows],
                  dtype=bool)
    a = np.array([[float(v) if v is not None else 0.0 for v in r] for r in rows], dtype=float).reshape(len(rows), m)
    sign = np.array([-1.0 if s == "max" else 1.0 for s in senses])
    return a * sign, ok


def dominated(values, senses) -> np.ndarray:
    """Boolean mask: which points another point dominates (unrankable points are marked dominated)."""
    a, ok = _matrix(values, senses)
    cand = a[ok]
    out = np.ones(len(a), dtype=bool)
    idx = np.flatnonzero(ok)
    for lo in range(0, len(idx), BLOCK):
        block = cand[lo:lo + BLOCK]
        # le[i, j]: cand[j] <= block[i] everywhere; lt[i, j]: strictly smaller somewhere
        le = (cand[None, :, :] <= block[:, None, :]).all(axis=2)
        lt = (cand[None, :, :] < block[:, None, :]).any(axis=2)
        out[idx[lo:lo + BLOCK]] = (le & lt).any(axis=1)
    return out


def pareto_front(values, senses, tie_keys: Sequence[str] | None = None) -> list[int]:
    """Indices of the non-dominated points, sorted by objectives then ``tie_keys`` (module docstring).

    Parameters
    ----------
    values : sequence of sequences
        ``values[i][j]``: objective ``j`` of point ``i`` (``None``/NaN: point ``i`` is left out).
    senses : sequence of ``"max"`` / ``"min"``
        The direction of each objective.
    tie_keys : sequence of str, optional
        A unique text per point, the last sort key (default: the index).
    """
    a, _ = _matrix(values, senses)
    front = np.flatnonzero(~dominated(values, senses))
    keys = list(tie_keys) if tie_keys is not None else [f"{i:012d}" for i in range(len(a))]
    if len(keys) != len(a):
        raise AxmacError("tie_keys must give one key per point")
    return sorted((int(i) for i in front), key=lambda i: (tuple(a[i]), keys[i]))


__all__ = ["SENSES", "dominated", "pareto_front"]
