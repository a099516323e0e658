"""Trivial-computation statistics of one GEMM from the kernels' few counters.

The kernels walk every accumulation chain (the partial sums ``s_0 = 0, s_1, ..., s_L`` of one
output over one K tile, ``s_{k+1} = s_k + p_k``) but count only case (e) per product and, per
chain, whether ``s_L`` reads 0. Everything else follows from histograms, without per-product
work. Write ``z_k`` for ``acc_zero(s_k)`` (``s_k == 0`` modulo ``2**acc_bits``).

* (e) ``opposite_case(p_k, s_k)`` = ``not z_k and z_{k+1}`` (then ``p_k`` cannot read 0):
  the chain's *returns* to 0, counted by the kernels.
* (d) ``add_zero(p_k, s_k)`` = ``acc_zero(p_k) or z_k``. If ``z_k`` and ``not acc_zero(p_k)``
  then ``not z_{k+1}``; if ``z_k`` and ``acc_zero(p_k)`` then ``z_{k+1}``. So
  ``#(d) = #acc_zero(p) + #departures``, departures being ``z_k and not z_{k+1}``; and along a
  chain departures - returns = ``z_0 - z_L = 1 - z_L``. Summed:
  ``add_zero = #acc_zero(p) + opposite + chains - chains ending at 0``.
* (a), (b) and ``#acc_zero(p)`` depend on one product's operands only: with the per-``k``
  histograms ``hx[k, a]`` of activation patterns (from the kernels) and ``hw[k, b]`` of weight
  patterns, each is ``sum_k sum_a hx[k, a] * sum_b G[a, b] * hw[k, b]`` for the grid
  ``G[a, b]`` of the predicate on every operand pair (``mul_zero``, ``mul_one_case``,
  ``acc_zero(T[a, b])``). Patterns with equal grid rows (columns) are merged into classes
  first (a handful for most tables), so this costs a few small matrix products.

The identities hold modulo ``2**acc_bits`` as the predicates do; tests compare every count with
a per-product loop over the definitions.
"""

from __future__ import annotations

import numpy as np

from ..bypass import acc_mask, acc_zero, mul_one_case, mul_zero
from ..pe import check_acc_bits
from ..stats import TrivialStats

GRID_NAMES = ("zero", "one", "p_zero")


def resolve_acc_bits(acc_bits, stats: TrivialStats | None, bits: int) -> int:
    """The accumulator width of a call: ``acc_bits``, else ``stats.acc_bits``, else 32;
    checked against the operand width (``2*bits .. 64``) and against ``stats``."""
    if acc_bits is None:
        acc_bits = stats.acc_bits if stats is not None else 32
    check_acc_bits(acc_bits, bits)
    if stats is not None and stats.acc_bits != acc_bits:
        raise ValueError(f"acc_bits={acc_bits} disagrees with the statistics' acc_bits={stats.acc_bits}")
    return acc_bits


def chain_dtype(tile: int, max_abs: int, acc_bits: int) -> tuple[type, int]:
    """``(dtype, mask)`` of the kernels' partial sums for chains of ``tile`` products of at most
    ``max_abs``: int32 when no partial sum can reach ``2**31`` (exact), else int64. ``mask`` is
    :func:`~axmac.golden.bypass.acc_mask` in that dtype (int32 holds exact sums, so a width of
    32 or more tests them whole)."""
    if tile * max_abs < 1 << 31:
        return np.int32, int(acc_mask(acc_bits)) if acc_bits < 32 else -1
    return np.int64, int(acc_mask(acc_bits))


def grids(values: np.ndarray, table: np.ndarray, signed: bool, acc_bits: int):
    """The predicates ``mul_zero``, ``mul_one_case`` and ``acc_zero(T)`` on every pair of bit
    patterns (``values[i]`` is the value of pattern ``i``), compressed: patterns whose rows
    (columns) agree in all three grids form one class. Returns ``(ra, g, rb)``: one-hot class
    matrices ``ra`` (n, ua) and ``rb`` (n, ub) and the class grids ``g`` (3, ua, ub), with
    ``G = ra @ g @ rb.T`` exactly."""
    a = values[:, None].astype(np.int64)
    b = values[None, :].astype(np.int64)
    full = np.stack([mul_zero(a, b), mul_one_case(a, b, bool(signed)),
                     acc_zero(table.astype(np.int64), acc_mask(acc_bits))])
    n = values.size
    first_a, inv_a = _classes(full.transpose(1, 0, 2).reshape(n, -1))
    first_b, inv_b = _classes(full.transpose(2, 0, 1).reshape(n, -1))
    g = full[:, first_a][:, :, first_b].astype(np.float64)
    ra = np.zeros((n, first_a.size))
    ra[np.arange(n), inv_a] = 1
    rb = np.zeros((n, first_b.size))
    rb[np.arange(n), inv_b] = 1
    return ra, g, rb


def _classes(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first, inverse)`` of the distinct boolean rows: ``rows[first[inverse[i]]] == rows[i]``."""
    packed = np.ascontiguousarray(np.packbits(rows, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def plan_grids(plan, acc_bits: int):
    """:func:`grids` of a table plan, computed once per plan and accumulator width."""
    key = ("grids", acc_bits)
    if key not in plan.memo:
        plan.memo[key] = grids(plan.mult.fmt.values(), plan.table, plan.signed, acc_bits)
    return plan.memo[key]


def table_counts(hx: np.ndarray, wi: np.ndarray, grids) -> tuple[int, ...]:
    """``(zero, one, p_zero)``: ``sum_k hx[k] . (G @ hw[k])`` for each grid (see module doc),
    on the pattern classes of :func:`grids`.

    ``hx`` (K, n) int: activation-pattern histogram per ``k``; ``wi`` (K, N) weight patterns.
    """
    ra, g, rb = grids
    k, na = hx.shape
    if k == 0 or wi.shape[1] == 0:
        return 0, 0, 0
    keys = (np.arange(k, dtype=np.int64)[:, None] * na + wi).ravel()
    hw = np.bincount(keys, minlength=k * na).reshape(k, na)
    # class histograms (float64 sums of integers below 2**53: exact), then exact int64 products
    hxc = np.rint(hx @ ra).astype(np.int64)
    hwc = np.rint(hw @ rb).astype(np.int64)
    per_kb = np.einsum("ka,gab->gkb", hxc, g.astype(np.int64))
    return tuple(int(v) for v in (per_kb * hwc).sum(axis=(1, 2)))


def add_counts(stats: TrivialStats, m: int, k: int, n: int, chains: int, zero: int, one: int, p_zero: int,
               opposite: int, zero_ends: int, x_zeros: int) -> None:
    """Add one GEMM's counts to ``stats`` (``chains``: number of accumulation chains;
    ``zero_ends``: those whose final partial sum reads 0), (d) by the identity above."""
    stats.macs += m * k * n
    stats.zero += zero
    stats.one += one
    stats.add_zero += p_zero + opposite + chains - zero_ends
    stats.opposite += opposite
    stats.x_zeros += x_zeros
    stats.x_count += m * k


def n_chains(m: int, k: int, n: int, k_tile: int | None) -> int:
    """Accumulation chains of an ``(m, k) x (k, n)`` GEMM with chains restarting every ``k_tile``."""
    tiles = 0 if k == 0 else (1 if k_tile is None else -(-k // k_tile))
    return m * n * tiles
