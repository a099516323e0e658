"""Exact integer low-rank decompositions of product tables (separable multipliers).

A product table ``T`` (``2**n x 2**n``, bypass applied) is *separable with rank r* when

.. math:: T[a, b] = \\sum_{i < r} u_i[a] \\, v_i[b]

with integer vectors ``u_i, v_i``. Then ``sum_k T[x[m, k], w[k, n]] = sum_i (U_i @ V_i)[m, n]``
with ``U_i = u_i[x]`` and ``V_i = v_i[w]``: ``r`` exact integer GEMMs, which the float BLAS path
computes exactly. ``trunc:k`` and ``drum:k`` are ``f(a) * g(b)`` (rank 1; ``drum:2`` signed adds
one saturated entry, rank 2); the exact bypass of ``+-1`` operands adds two rank-1 terms (the
rows and the columns of ``+-1``), the bypass of zeros none when ``f(0) = g(0) = 0``.

:func:`decompose` peels rank-1 terms off the residual ``R`` (initially ``T``) by integer
Schur complements: for a pivot row ``i``, ``v = R[i] / gcd(R[i])`` (a primitive integer vector)
and a column ``j`` with ``R[:, j]`` divisible by ``v[j]``, the term ``u = R[:, j] / v[j]``,
``v`` is subtracted: ``u v^T`` equals ``R[:, j] R[i, :] / R[i, j]``, so row ``i`` and column
``j`` of the residual vanish and its rank drops by one. It stops when the residual is zero
(success, checked exactly: ``sum_i u_i v_i^T == T``) or after ``max_rank`` terms (``None``).
"""

from __future__ import annotations

import numpy as np

#: Rows tried as pivots per term (densest first).
PIVOT_ROWS = 8
#: Largest magnitude of a factor entry: keeps every GEMM term within float64's exact range.
MAX_FACTOR = 1 << 24


def decompose(table: np.ndarray, max_rank: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Integer factors ``[(u_0, v_0), ...]`` (int64) with ``sum_i outer(u_i, v_i) == table``,
    at most ``max_rank`` of them, or ``None`` when this greedy search finds none."""
    t = np.asarray(table, dtype=np.int64)
    r = t.copy()
    terms: list[tuple[np.ndarray, np.ndarray]] = []
    while r.any():
        if len(terms) == max_rank:
            return None
        term = _rank_one_term(r)
        if term is None:
            return None
        u, v = term
        if max(np.abs(u).max(), np.abs(v).max()) > MAX_FACTOR:
            return None
        r -= np.outer(u, v)
        terms.append((u, v))
    total = np.zeros_like(t)
    for u, v in terms:
        total += np.outer(u, v)
    if not np.array_equal(total, t):  # pragma: no cover - guaranteed by construction
        return None
    return terms


def _rank_one_term(r: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A term ``(u, v)`` whose subtraction zeroes one row and one column of ``r`` (see module)."""
    nnz = np.count_nonzero(r, axis=1)
    for i in np.argsort(-nnz, kind="stable")[:PIVOT_ROWS]:
        if nnz[i] == 0:
            break
        row = r[i]
        v = row // np.gcd.reduce(row[row != 0])
        cols = np.flatnonzero(v)
        # prefer |v[j]| == 1 (always divides), else any column of r divisible by v[j]
        unit = cols[np.abs(v[cols]) == 1]
        if unit.size:
            j = unit[0]
        else:
            ok = np.all(r[:, cols] % v[cols] == 0, axis=0)
            if not ok.any():
                continue
            j = cols[np.flatnonzero(ok)[0]]
        return r[:, j] // v[j], v
    return None
