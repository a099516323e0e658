"""The table path: ``sum_k T[xi[m, k], wi[k, n]]`` for operands of at most ``MAX_TABLE_BITS`` bits.

:func:`table_gemm` picks the layout of :func:`.kernels.kernel` from the shape: ``direct`` for
few rows (``4 M < 2**n``: gathering ``L`` would cost more than it saves), ``rows`` otherwise,
with K-blocks sized so that one gathered ``L`` block about fills L2 (:data:`L_BLOCK_BYTES`,
:data:`STATS_L_BLOCK_BYTES`). The table is gathered as int16 when it fits. (A transposed layout
for few columns, summing over ``k`` innermost with gathers, was measured slower than ``rows`` on
LeNet's first layer once ``rows`` skipped zero activations and stopped slicing columns.)

Without statistics the ``rows`` layout accumulates in int32 over K-spans with
``span * max|T| < 2**31`` (:data:`INT32_LIMIT`), int64 across spans. With statistics the kernels
walk the accumulation chains (restarting at every multiple of ``k_tile``) in int32 when no
partial sum can reach ``2**31``, else in int64, and :mod:`.counting` turns their counters into
:class:`~axmac.golden.stats.TrivialStats`. A separable table (exact products, ``trunc``,
``drum``: ``T = u v^T``) with statistics and many rows takes the ``mul`` layout instead of
``rows``: its products are formed in the walk from ``u[x]`` and ``v[w]`` (int16 lanes for 8-bit
operands), no ``L`` is gathered (a 16384 x 576 x 64 layer: 0.104 -> 0.080 s, 0.067 -> 0.049 s
with ReLU'd activations, measured on one core here).
"""

from __future__ import annotations

import numpy as np

from ..stats import TrivialStats
from .counting import add_counts, chain_dtype, n_chains, plan_grids, resolve_acc_bits, table_counts
from .kernels import kernel, threads
from .plan import Plan

#: Target size in bytes of one gathered ``L`` block without statistics (2 MiB L2 per core here;
#: 2 MiB measured best for the int16 table with 64 columns: the int32 accumulators stream
#: through memory once per K-block, so bigger blocks save more than the L2 misses cost).
L_BLOCK_BYTES = 1 << 21
#: The same with statistics (the partial sums also stream once per K-block, but the chain walk
#: costs more per row than the L2 misses: 1 MiB measured best).
STATS_L_BLOCK_BYTES = 1 << 20
#: Output columns per block of the ``rows`` layout.
N_BLOCK = 256
#: Bound of the int32 accumulators.
INT32_LIMIT = (1 << 31) - 1


def table_gemm(xi: np.ndarray, wi: np.ndarray, plan: Plan, *, stats: TrivialStats | None = None,
               k_tile: int | None = None, acc_bits: int | None = None) -> np.ndarray:
    """Table kernel on bit patterns ``xi (M, K)`` and ``wi (K, N)`` (uint16). See module doc.

    With ``stats``, adds every count but the weight counts (``w_zeros``, ``w_count``);
    ``acc_bits`` (default ``stats.acc_bits``) is the accumulator width of cases (d)/(e).
    """
    m, k = xi.shape
    n = wi.shape[1]
    acc = np.zeros((m, n), dtype=np.int64)
    if stats is not None:
        acc_bits = resolve_acc_bits(acc_bits, stats, plan.bits)
    if m == 0 or n == 0 or k == 0:
        if stats is not None:
            add_counts(stats, m, k, n, 0, 0, 0, 0, 0, 0, int(np.count_nonzero(xi == 0)))
        return acc
    xi = np.ascontiguousarray(xi, dtype=np.uint16)
    wi = np.ascontiguousarray(wi, dtype=np.uint16)
    table = plan.ktable
    na = table.shape[0]
    layout = "direct" if 4 * m < na else "rows"
    nb = min(n, N_BLOCK)
    lbytes = L_BLOCK_BYTES if stats is None else STATS_L_BLOCK_BYTES
    kb = k if layout == "direct" else max(1, min(k, lbytes // (na * nb * table.itemsize)))
    with threads(m * k * n, m if layout == "direct" else m // 64) as nparts:
        counts = np.zeros((nparts, 2), dtype=np.int64)
        if stats is None:
            _sums(xi, wi, plan, layout, kb, nb, nparts, acc, counts)
            return acc
        tile = k if k_tile is None else min(k, k_tile)
        cdt, mask = chain_dtype(tile, plan.max_abs, acc_bits)
        hist = np.zeros((nparts, k * na), dtype=np.int32)
        sep = plan.separable() if layout == "rows" else None
        if sep is not None:  # products formed in the walk, no L to gather
            pdt = product_dtype(sep)
            chain = np.zeros((nparts, n), dtype=cdt)
            kernel("mul", True)(xi, sep[0].astype(pdt), np.ascontiguousarray(sep[1].astype(pdt)[wi]),
                                block_array(k, k, k_tile), nparts, cdt(mask), acc, chain, hist, counts)
            return _stats_of(hist, wi, plan, acc_bits, counts, stats, m, k, n, k_tile, acc)
        blocks = block_array(k, kb, k_tile)
        chain = np.zeros((nparts, n) if layout == "direct" else (m, n), dtype=cdt)
        if layout == "rows":
            kernel("rows", True)(xi, wi, table, plan.zrow, blocks, nb, 0, nparts, cdt(mask), acc, chain, hist, counts)
        else:
            kernel("direct", True)(xi, wi, table, blocks, nparts, cdt(mask), acc, chain, hist, counts)
    return _stats_of(hist, wi, plan, acc_bits, counts, stats, m, k, n, k_tile, acc)


def _stats_of(hist, wi, plan: Plan, acc_bits: int, counts, stats: TrivialStats, m: int, k: int, n: int, k_tile,
              acc: np.ndarray) -> np.ndarray:
    """Add the counts of one call's kernel counters and histograms to ``stats``; returns ``acc``."""
    hx = hist.sum(axis=0, dtype=np.int64).reshape(k, -1)
    zero, one, p_zero = table_counts(hx, wi, plan_grids(plan, acc_bits))
    add_counts(stats, m, k, n, n_chains(m, k, n, k_tile), zero, one, p_zero, int(counts[:, 0].sum()),
               int(counts[:, 1].sum()), int(hx[:, 0].sum()))
    return acc


def product_dtype(sep) -> type:
    """The narrowest of int16 / int32 / int64 holding every factor and product of a separable
    table ``(u, v)`` (the ``"mul"`` walk forms the products in it: int16 lanes for 8-bit signed
    operands, twice the SIMD width of int32)."""
    mu, mv = int(np.abs(sep[0]).max()), int(np.abs(sep[1]).max())
    for dt in (np.int16, np.int32):
        if mu * mv <= np.iinfo(dt).max and max(mu, mv) <= np.iinfo(dt).max:
            return dt
    return np.int64


def _sums(xi, wi, plan: Plan, layout: str, kb: int, nb: int, nparts: int, acc: np.ndarray, counts) -> None:
    """``acc += sum_k T[xi, wi]`` without statistics: int32 over K-spans (``rows``)."""
    m, k = xi.shape
    table = plan.ktable
    no_chain = np.zeros((1, 1), dtype=np.int32)
    no_hist = np.zeros((1, 1), dtype=np.int32)
    mask = np.int32(-1)
    if layout == "direct":
        kernel("direct", False)(xi, wi, table, block_array(k, k, None), nparts, mask, acc, no_chain, no_hist, counts)
        return
    span = max(1, INT32_LIMIT // max(plan.max_abs, 1))
    acc32 = np.empty(acc.shape, dtype=np.int32)
    for s0 in range(0, k, span):
        s1 = min(k, s0 + span)
        blocks = np.array([(k0, min(s1, k0 + kb), 1, 1) for k0 in range(s0, s1, kb)], dtype=np.int64)
        acc32[:] = 0
        kernel("rows", False)(xi, wi, table, plan.zrow, blocks, nb, 0, nparts, mask, acc32, no_chain, no_hist, counts)
        acc += acc32


def blocks_of(k: int, kb: int, k_tile: int | None) -> list[tuple[int, int, bool, bool]]:
    """K-blocks ``(k0, k1, first, last)`` of at most ``kb``, never straddling a chain boundary
    (chains restart at every multiple of ``k_tile``; ``None``: one chain over all of ``K``)."""
    tile = k if k_tile is None else k_tile
    out = []
    for t0 in range(0, k, tile):
        t1 = min(k, t0 + tile)
        for k0 in range(t0, t1, kb):
            k1 = min(t1, k0 + kb)
            out.append((k0, k1, k0 == t0, k1 == t1))
    return out


def block_array(k: int, kb: int, k_tile: int | None) -> np.ndarray:
    """:func:`blocks_of` as an int64 ``(nblocks, 4)`` array (the kernels' ``blocks``)."""
    return np.array(blocks_of(k, kb, k_tile), dtype=np.int64).reshape(-1, 4)
