"""Bit-exact integer GEMM with any multiplier: the hot path of the golden engine.

:func:`mac_gemm` computes

.. math:: \\mathrm{acc}[m, n] = \\sum_k P(x[m, k], w[k, n])

where ``P`` is the product of the PE product path: the multiplier's model with the bypass of
:class:`~axmac.golden.bypass.Bypass` applied (bypassed products are exact). Additions are exact
(Kim et al.: only multiplications may be approximate), so the order of summation does not
change the result; it only matters for the trivial-addition statistics (cases (d)/(e)).

Four paths, chosen per call by the multiplier's :class:`~.plan.Plan` (:func:`kernel_for`):

``blas`` (:mod:`.blas`)
    exact products, no statistics: float GEMM on K-chunks keeping every partial sum exact.
``lowrank`` (:mod:`.lowrank`, :mod:`.blas`)
    a separable table ``T = sum_i u_i v_i^T`` (``trunc``, ``drum``...), no statistics: the same
    float GEMM on the transformed operands ``u_i[x]``, ``v_i[w]``.
``table`` (:mod:`.table`, :mod:`.kernels`)
    operands of at most 10 bits, any table, and every table when statistics are asked: numba
    kernels gathering rows of ``T``.
``fallback`` (:mod:`.fallback`)
    wider operands: the vectorised model on the distinct operand pairs of each ``k``.

Statistics (:class:`~axmac.golden.stats.TrivialStats`) use the predicates of
:mod:`axmac.golden.bypass` with every case enabled, (d)/(e) modulo ``2**acc_bits``; the
kernels walk every accumulation chain and :mod:`.counting` derives all counts from a few
counters and histograms. Memory stays bounded: no ``M x K x N`` intermediate.
"""

from __future__ import annotations

import numpy as np

from ...errors import AxmacError
from ..bypass import NO_BYPASS, Bypass
from ..multipliers.base import Multiplier
from ..stats import TrivialStats
from .blas import F32_EXACT, F64_EXACT, blas_gemm, blas_plan, lowrank_dtype, lowrank_operands, max_abs
from .counting import resolve_acc_bits
from .fallback import fallback_gemm
from .kernels import threads
from .plan import Plan, kernel_for, make_plan, to_patterns
from .table import block_array, blocks_of, table_gemm

__all__ = [
    "F32_EXACT", "F64_EXACT", "NO_BYPASS", "Plan", "block_array", "blas_gemm", "blas_plan", "blocks_of",
    "check_k_tile", "check_operands", "fallback_gemm", "kernel_for", "lowrank_gemm", "mac_gemm", "make_plan",
    "max_abs", "table_gemm", "threads", "to_patterns",
]


def mac_gemm(x, w, *, mult: Multiplier, bypass: Bypass = NO_BYPASS, stats: TrivialStats | None = None,
             k_tile: int | None = None, acc_bits: int | None = None) -> np.ndarray:
    """Bit-exact ``(M, K) x (K, N)`` integer GEMM with the PE product path of ``mult`` + ``bypass``.

    Parameters
    ----------
    x : array_like of int, shape (M, K)
        Centered activations, within ``mult.fmt``'s range.
    w : array_like of int, shape (K, N)
        Centered weights, within ``mult.fmt``'s range.
    mult : Multiplier
        The multiplier model (``make_multiplier(spec, bits, signed)``).
    bypass : Bypass
        Trivial-computation bypass of the PE (bypassed products are exact).
    stats : TrivialStats, optional
        If given, this GEMM's counts are added to it (see :mod:`axmac.golden.stats`).
    k_tile : int, optional
        Accumulation chains for cases (d)/(e): the partial sum of ``acc[m, n]`` runs over ``k`` in
        increasing order from 0 and restarts at every multiple of ``k_tile`` (the array's K
        tiling). ``None``: one chain over all of ``K``. Does not change the result.
    acc_bits : int, optional
        Accumulator width of cases (d)/(e) (``2*bits .. 64``); default ``stats.acc_bits`` (32).
        Does not change the result, which is exact.

    Returns
    -------
    numpy.ndarray of int64, shape (M, N)
        ``acc[m, n] = sum_k P(x[m, k], w[k, n])``.
    """
    plan = make_plan(mult, bypass)
    x = _as_int_matrix(x, "x")
    w = _as_int_matrix(w, "w")
    if x.shape[1] != w.shape[0]:
        raise AxmacError(f"GEMM shapes do not match: x {x.shape} @ w {w.shape}")
    k_tile, acc_bits = check_operands(mult, x, w, stats, k_tile, ("x", "w"), acc_bits)
    kernel = plan.kernel(stats is not None)
    if kernel == "blas":
        return blas_gemm(x, w)
    if kernel == "lowrank":
        return lowrank_gemm(to_patterns(x, plan), to_patterns(w, plan), plan)
    if kernel == "table":
        return table_gemm(to_patterns(x, plan), to_patterns(w, plan), plan, stats=stats, k_tile=k_tile,
                          acc_bits=acc_bits)
    return fallback_gemm(x, w, plan, stats=stats, k_tile=k_tile, acc_bits=acc_bits)


def lowrank_gemm(xi: np.ndarray, wi: np.ndarray, plan: Plan) -> np.ndarray:
    """``sum_k T[xi, wi]`` of bit patterns for a separable plan (``plan.terms``), via BLAS."""
    dt, max_prod = lowrank_dtype(plan.terms, xi.shape[1])
    xo, wo = lowrank_operands(xi, wi, plan.terms, dt)
    return blas_gemm(xo, wo, max_prod)


def check_operands(mult: Multiplier, x: np.ndarray, w: np.ndarray, stats, k_tile, names: tuple[str, str],
                   acc_bits: int | None = None) -> tuple[int | None, int | None]:
    """Checks shared by :func:`mac_gemm` and ``conv2d_nchw``: operands within ``mult``'s format,
    ``stats`` a :class:`TrivialStats` (this call's weights are counted into it once), ``k_tile``
    and ``acc_bits`` valid. Returns ``(k_tile, acc_bits)`` normalised."""
    mult.fmt.check(x, names[0])
    mult.fmt.check(w, names[1])
    k_tile = check_k_tile(k_tile)
    if stats is not None and not isinstance(stats, TrivialStats):
        raise AxmacError(f"stats must be a TrivialStats, not {type(stats).__name__}")
    if stats is not None or acc_bits is not None:
        try:
            acc_bits = resolve_acc_bits(acc_bits, stats, mult.bits)
        except (TypeError, ValueError) as e:
            raise AxmacError(str(e)) from None
    if stats is not None:
        stats.w_zeros += int(np.count_nonzero(w == 0))
        stats.w_count += int(w.size)
    return k_tile, acc_bits


def check_k_tile(k_tile) -> int | None:
    if k_tile is None:
        return None
    if isinstance(k_tile, bool) or not isinstance(k_tile, (int, np.integer)) or k_tile < 1:
        raise AxmacError(f"k_tile must be a positive integer or None, not {k_tile!r}")
    return int(k_tile)


def _as_int_matrix(a, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise AxmacError(f"GEMM operand {what} must be 2-D, got shape {a.shape}")
    if a.dtype.kind not in "iu":
        raise AxmacError(f"GEMM operand {what} must be an integer array, got {a.dtype}")
    return a
