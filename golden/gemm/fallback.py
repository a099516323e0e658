"""The fallback path: wider operands (no table), the vectorised model on distinct operand pairs.

Exact but slow: measured per core for ``drum:6`` at 12 bits, about 2e7 MAC/s on a batch-1000
fc layer (``M <= 2**n``: the model's own speed) and 7e7 MAC/s on LeNet's second convolution
(the model evaluated on ``2**n`` rather than ``M`` values per ``k``).
"""

from __future__ import annotations

import numpy as np

from ..bypass import acc_mask, acc_zero, mul_one_case, mul_zero
from ..stats import TrivialStats
from .counting import add_counts, n_chains, resolve_acc_bits
from .kernels import kernel, threads
from .plan import Plan
from .table import blocks_of

#: Largest product-row block (entries) of the fallback kernel.
FALLBACK_CHUNK = 1 << 21


def fallback_gemm(x: np.ndarray, w: np.ndarray, plan: Plan, *, stats: TrivialStats | None = None,
                  k_tile: int | None = None, acc_bits: int | None = None) -> np.ndarray:
    """``sum_k P(x[m, k], w[k, n])`` evaluating the model ``mult(a, b)`` + bypass only on the
    distinct values of each column of ``x``.

    For a block of ``k``, the distinct values ``u`` of each ``x[:, k]`` (found with a presence
    array over the operand range, no sort) get the product rows ``P(u, w[k, cols])``; the
    ``"given"`` kernel then adds row ``rowidx[m, k]`` into ``acc[m, cols]``. Model evaluations
    drop from ``M*K*N`` to at most ``min(M, 2**n)*K*N``; a block holds at most
    :data:`FALLBACK_CHUNK` product-table entries and ``2 * FALLBACK_CHUNK`` row indices (more
    when one ``k`` needs it). With ``stats`` the predicates of (a), (b) and ``acc_zero(P)`` are
    counted per product row and weighted by how many ``(m, k)`` use the row (the kernel's
    histogram); cases (d)/(e) as for the table path (int64 partial sums).
    """
    mult, bypass, signed, fmt = plan.mult, plan.bypass, plan.signed, plan.mult.fmt
    x = x.astype(np.int64, copy=False)
    w = w.astype(np.int64, copy=False)
    m, k = x.shape
    n = w.shape[1]
    acc = np.zeros((m, n), dtype=np.int64)
    if stats is not None:
        mask = acc_mask(resolve_acc_bits(acc_bits, stats, plan.bits))
    if m == 0 or n == 0 or k == 0:
        if stats is not None:
            add_counts(stats, m, k, n, 0, 0, 0, 0, 0, 0, int(np.count_nonzero(x == 0)))
        return acc
    span = 1 << fmt.bits
    distinct = min(m, span)
    nb = max(1, min(n, FALLBACK_CHUNK // distinct))
    kb = max(1, min(k, FALLBACK_CHUNK // (distinct * nb), 2 * FALLBACK_CHUNK // m, (1 << 31) // span))
    chain = np.zeros((m, n) if stats is not None else (1, 1), dtype=np.int64)
    run = kernel("given", stats is not None)
    per_row = np.zeros(3, dtype=np.int64)  # (a), (b), acc_zero(P) over all products
    with threads(m * k * n, m // 64) as nparts:
        counts = np.zeros((nparts, 2), dtype=np.int64)
        hist = np.zeros((1, 1), dtype=np.int32)
        for k0, k1, first, last in blocks_of(k, kb, k_tile):
            # presence of (column, value) pairs; rank = row of the product table
            key = (x[:, k0:k1] - fmt.lo) + np.arange(k1 - k0, dtype=np.int64) * span
            present = np.zeros((k1 - k0) * span, dtype=bool)
            present[key.ravel()] = True
            keys = np.flatnonzero(present)
            rank = np.cumsum(present, dtype=np.int64) - 1
            rowidx = rank[key].astype(np.int32)
            a = (keys % span + fmt.lo)[:, None]
            kcol = keys // span + k0
            blocks = np.array([(0, k1 - k0, first, last)], dtype=np.int64)
            for n0 in range(0, n, nb):
                b = w[kcol, n0:n0 + nb]
                lcat = np.ascontiguousarray(bypass.apply(mult(a, b, check=False), a, b, signed), dtype=np.int64)
                if stats is not None:
                    hist = np.zeros((nparts, lcat.shape[0]), dtype=np.int32)
                run(rowidx, w, lcat, ~lcat.any(axis=1), blocks, lcat.shape[1], n0, nparts,
                    np.int64(mask if stats is not None else -1), acc, chain, hist, counts)
                if stats is not None:
                    rows = np.stack([mul_zero(a, b).sum(axis=1), mul_one_case(a, b, signed).sum(axis=1),
                                     acc_zero(lcat, mask).sum(axis=1)], axis=1)
                    per_row += hist.sum(axis=0, dtype=np.int64) @ rows
    if stats is not None:
        add_counts(stats, m, k, n, n_chains(m, k, n, k_tile), *(int(v) for v in per_row),
                   int(counts[:, 0].sum()), int(counts[:, 1].sum()), int(np.count_nonzero(x == 0)))
    return acc
