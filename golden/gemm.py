"""Bit-exact integer GEMM with any multiplier: the hot path of the golden engine.

:func:`mac_gemm` computes

.. math:: \\mathrm{acc}[m, n] = \\sum_k P(x[m, k], w[k, n])

where ``P`` is the product of the PE product path: the multiplier's model with the bypass of
:class:`~axmac.golden.bypass.Bypass` applied (bypassed products are exact). Additions are exact
(Kim et al.: only multiplications may be approximate), so the order of summation does not
change the result; it only matters for the trivial-addition statistics (cases (d)/(e)).

Three kernels, chosen per call (see :func:`kernel_for`):

``blas``
    ``P`` is exact multiplication and no statistics are asked: float GEMM through NumPy's BLAS
    on K-chunks small enough that every partial sum is an exactly representable integer.
    A binary32 float holds every integer of magnitude ``<= 2**24`` exactly, and every partial
    sum a BLAS kernel may form (any order, FMA or not) is a sum of a subset of the chunk's
    products, bounded by ``kc * max|x| * max|w|``. With
    ``kc = floor(2**24 / (max|x| * max|w|))`` every intermediate is exact (binary64: ``2**53``).
    Chunk results are summed in float64 while the total bound stays below ``2**53``, else int64.
``table``
    operands of at most 10 bits: the PE product table ``T`` (``2**n x 2**n``, indexed by bit
    pattern, bypass applied) drives a numba kernel. Rows are split into one contiguous part per
    thread (a single fork/join per call). For each block of ``k`` (L2-sized) and of output
    columns, a part gathers its private ``L[k] = T[:, w[k, cols]]``, then for each of its rows
    adds the contiguous row ``L[k][x[m, k]]`` into the accumulator row (SIMD-vectorised).
    Accumulation is int32 over K-spans with ``span * max|T| < 2**31``, int64 across spans.
    Few rows (``4 M < 2**n``) use a direct gather ``T[x[m, k], w[k, n]]`` instead; few
    columns (``N < 8``) a transposed block ``L[k, n, a]`` summed over ``k`` innermost. The
    statistics variant keeps each chain's partial sum (int64) for cases (d)/(e).
    Also used for exact products when statistics are asked.
``fallback``
    wider operands (no table): the vectorised model ``mult(a, b)`` + bypass, evaluated only
    on the distinct activation values of each ``k``, then a row-gather kernel like the table
    one. Exact but slow: measured per core for ``drum:6`` at 12 bits, about 2e7 MAC/s on a
    batch-1000 fc layer (``M <= 2**n``: the model's own speed) and 7e7 MAC/s on LeNet's
    second convolution (the model evaluated on ``2**n`` rather than ``M`` values per ``k``).

Statistics (:class:`~axmac.golden.stats.TrivialStats`) use the definitions of
:mod:`axmac.golden.pe` with every case enabled: (a)/(b) from per-``k`` counts of zero and
``+-1`` operands (no per-product work), (d)/(e) inside the kernels along each chain. One
difference: the PE tests opposite addends modulo ``2**acc_bits``; here ``p + s == 0`` is exact
(the same unless the accumulator overflows).

Memory stays bounded: no ``M x K x N`` intermediate, only blocks of it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from ..errors import AxmacError
from .bypass import Bypass
from .multipliers.base import MAX_TABLE_BITS, Multiplier
from .stats import TrivialStats

#: Largest integer magnitude below which binary32 / binary64 represent every integer exactly.
F32_EXACT = 1 << 24
F64_EXACT = 1 << 53
#: Target size in bytes of one gathered ``L`` block: measured best at 128-256 KiB on this
#: machine (1 MiB L2 per core; 2x slower from 512 KiB).
L_BLOCK_BYTES = 1 << 17
#: Output columns per block of the table kernel.
N_BLOCK = 256
#: Fewer output columns than this take the transposed ("narrow") table kernel, with K-blocks
#: of NARROW_BLOCK_K (measured best at 25-32 on LeNet's first layer).
SMALL_N = 8
NARROW_BLOCK_K = 32
#: Bound of the table kernel's int32 accumulators.
INT32_LIMIT = (1 << 31) - 1
#: Largest product-row block (entries) of the fallback kernel.
FALLBACK_CHUNK = 1 << 21
#: Below this many MACs the numba kernels run on one thread (a fork/join costs more, more so
#: on a busy machine).
PARALLEL_MIN_WORK = 1 << 22
#: The default: no bypass.
NO_BYPASS = Bypass()


# --------------------------------------------------------------------------------------------
# plans: what to run for one (multiplier, bypass)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """How one multiplier + bypass executes. ``table`` is the int32 PE table (or None).

    The multiplier is held by a weak reference: plans are cached in a ``WeakKeyDictionary``
    keyed by the multiplier, and a strong reference would keep every multiplier alive.
    """

    mult_ref: weakref.ref
    bypass: Bypass
    exact: bool
    table: np.ndarray | None
    max_abs: int  # max |P| over the table (table plans only)

    @property
    def mult(self) -> Multiplier:
        m = self.mult_ref()
        if m is None:  # pragma: no cover - the caller holds the multiplier while it runs
            raise RuntimeError("the multiplier of this plan no longer exists")
        return m

    @property
    def bits(self) -> int:
        return self.mult.bits

    @property
    def signed(self) -> bool:
        return self.mult.signed

    def kernel(self, with_stats: bool) -> str:
        if self.exact and not with_stats:
            return "blas"
        return "table" if self.table is not None else "fallback"


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def make_plan(mult: Multiplier, bypass: Bypass = NO_BYPASS) -> Plan:
    """The :class:`Plan` of ``mult`` with ``bypass`` (cached per multiplier object)."""
    if not isinstance(mult, Multiplier):
        raise AxmacError(f"mult must be a Multiplier (see make_multiplier), not {type(mult).__name__}")
    if not isinstance(bypass, Bypass):
        raise AxmacError(f"bypass must be a Bypass, not {type(bypass).__name__}")
    try:
        per_mult = _PLANS.setdefault(mult, {})
    except TypeError:  # a multiplier class made unhashable: no caching
        per_mult = {}
    plan = per_mult.get(bypass)
    if plan is None:
        fmt = mult.fmt
        table = None
        exact = bool(mult.is_exact)
        max_abs = 0
        if fmt.bits <= MAX_TABLE_BITS:
            v = fmt.values()
            t = bypass.apply_to_table(mult.table(), v, fmt.signed)
            exact = exact or bool(np.array_equal(t, v[:, None] * v[None, :]))
            max_abs = int(np.abs(t).max())
            table = np.ascontiguousarray(t, dtype=np.int32)
            if max_abs >= 1 << 31 or not np.array_equal(table, t):
                raise AxmacError(f"{mult.spec}: products do not fit 32 bits")
        plan = Plan(weakref.ref(mult), bypass, exact, table, max_abs)
        per_mult[bypass] = plan
    return plan


def kernel_for(mult: Multiplier, bypass: Bypass = NO_BYPASS, with_stats: bool = False) -> str:
    """Name of the kernel (``"blas"``, ``"table"`` or ``"fallback"``) :func:`mac_gemm` uses."""
    return make_plan(mult, bypass).kernel(with_stats)


# --------------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------------
def mac_gemm(x, w, *, mult: Multiplier, bypass: Bypass = NO_BYPASS, stats: TrivialStats | None = None,
             k_tile: int | None = None) -> np.ndarray:
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
    k_tile = check_operands(mult, x, w, stats, k_tile, ("x", "w"))
    kernel = plan.kernel(stats is not None)
    if kernel == "blas":
        return blas_gemm(x, w)
    if kernel == "table":
        return table_gemm(to_patterns(x, plan), to_patterns(w, plan), plan, stats=stats, k_tile=k_tile)
    return fallback_gemm(x, w, plan, stats=stats, k_tile=k_tile)


def check_operands(mult: Multiplier, x: np.ndarray, w: np.ndarray, stats, k_tile, names: tuple[str, str]):
    """Checks shared by :func:`mac_gemm` and ``conv2d_nchw``: operands within ``mult``'s format,
    ``stats`` a :class:`TrivialStats` (this call's weights are counted into it once), ``k_tile``
    valid. Returns ``k_tile`` normalised."""
    mult.fmt.check(x, names[0])
    mult.fmt.check(w, names[1])
    k_tile = check_k_tile(k_tile)
    if stats is not None:
        if not isinstance(stats, TrivialStats):
            raise AxmacError(f"stats must be a TrivialStats, not {type(stats).__name__}")
        stats.w_zeros += int(np.count_nonzero(w == 0))
        stats.w_count += int(w.size)
    return k_tile


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


def to_patterns(a: np.ndarray, plan: Plan) -> np.ndarray:
    """Operand values -> bit patterns (``a & mask``) as uint16, the table's index.

    The cast to uint16 is modulo ``2**16`` (two's complement), so masking after it gives the
    ``n``-bit pattern of an in-range value of any integer dtype, without an int64 copy.
    """
    return a.astype(np.uint16) & np.uint16(plan.mult.fmt.mask)


# --------------------------------------------------------------------------------------------
# MUL statistics: cases (a), (b) and zero fractions from per-k column counts
# --------------------------------------------------------------------------------------------
def mul_counts(x: np.ndarray, w: np.ndarray, ones: tuple) -> tuple[int, int, int]:
    """``(zero, one, x_zeros)`` of the ``M x K x N`` products of ``x (M, K)`` and ``w (K, N)``.

    With per-``k`` counts of zero operands ``zx, zw``, nonzero ``nx = M - zx, nw = N - zw`` and
    ``+-1`` operands ``ox, ow`` (values in ``ones``; bit patterns work the same):
    ``zero = sum_k (zx*N + M*zw - zx*zw)`` and
    ``one = sum_k (nx*nw - (nx - ox)*(nw - ow))`` (nonzero pairs minus those with no ``+-1``).
    """
    m, _ = x.shape
    n = w.shape[1]
    one_a, one_b = (ones[0], ones[-1])
    zx, ox = _col_counts(x, one_a, one_b)
    zw, ow = _col_counts(w.T, one_a, one_b)
    nx, nw = m - zx, n - zw
    zero = int(np.sum(zx * n + m * zw - zx * zw))
    one = int(np.sum(nx * nw - (nx - ox) * (nw - ow)))
    return zero, one, int(zx.sum())


@njit(cache=True)
def _col_counts(a, one_a, one_b):  # pragma: no cover - numba
    """Per column of ``a``: number of zeros, number of entries equal to ``one_a`` or ``one_b``."""
    zc = np.zeros(a.shape[1], np.int64)
    oc = np.zeros(a.shape[1], np.int64)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            v = a[i, j]
            zc[j] += v == 0
            oc[j] += (v == one_a) | (v == one_b)
    return zc, oc


def _add_mul_stats(stats: TrivialStats, x, w, ones) -> None:
    zero, one, xz = mul_counts(x, w, ones)
    stats.macs += x.shape[0] * x.shape[1] * w.shape[1]
    stats.zero += zero
    stats.one += one
    stats.x_zeros += xz
    stats.x_count += int(x.size)


def ones_values(signed: bool) -> tuple[int, ...]:
    return (1, -1) if signed else (1,)


def ones_patterns(plan: Plan) -> tuple[int, ...]:
    return (1, plan.mult.fmt.mask) if plan.signed else (1,)


# --------------------------------------------------------------------------------------------
# blas: exact products through float GEMM
# --------------------------------------------------------------------------------------------
def blas_plan(max_prod: int, k: int) -> tuple[type, int]:
    """``(float dtype, K chunk)`` keeping every partial sum of a chunk exact.

    binary32 when its chunk ``floor(2**24 / max_prod)`` is at least ``min(K, 128)`` long,
    binary64 (``floor(2**53 / max_prod)``) otherwise.
    """
    max_prod = max(int(max_prod), 1)
    kc32 = F32_EXACT // max_prod
    if kc32 >= min(k, 128):
        return np.float32, max(1, min(k, kc32))
    kc64 = F64_EXACT // max_prod
    if kc64 < 1:
        raise AxmacError(f"products up to {max_prod} are too large for an exact float GEMM")
    return np.float64, max(1, min(k, kc64))


def blas_gemm(x: np.ndarray, w: np.ndarray, max_prod: int | None = None) -> np.ndarray:
    """Exact ``x @ w`` of integer (or integer-valued float) matrices via chunked float BLAS.

    ``max_prod`` bounds ``|x[m, k] * w[k, n]|``; computed from the data when not given.
    """
    m, k = x.shape
    n = w.shape[1]
    if max_prod is None:
        max_prod = _max_abs(x) * _max_abs(w)
    if m == 0 or n == 0 or k == 0 or max_prod == 0:
        return np.zeros((m, n), dtype=np.int64)
    dt, kc = blas_plan(max_prod, k)
    xf = x if x.dtype == dt else x.astype(dt)
    wf = w if w.dtype == dt else w.astype(dt)
    if kc >= k:
        return np.matmul(xf, wf).astype(np.int64)
    total_exact_f64 = k * max_prod < F64_EXACT
    acc = np.zeros((m, n), dtype=np.float64 if total_exact_f64 else np.int64)
    for k0 in range(0, k, kc):
        part = np.matmul(xf[:, k0:k0 + kc], wf[k0:k0 + kc])
        acc += part if total_exact_f64 else part.astype(np.int64)
    return acc.astype(np.int64, copy=False)


def _max_abs(a: np.ndarray) -> int:
    if a.size == 0:
        return 0
    return int(max(abs(int(a.max())), abs(int(a.min()))))


# --------------------------------------------------------------------------------------------
# table: numba kernels
# --------------------------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def _lut_gemm(xi, wi, table, blocks, nb, nparts, acc):  # pragma: no cover - numba
    """``acc[m, n] += sum_k table[xi[m, k], wi[k, n]]`` over the K-blocks ``blocks[:, :2]``.

    Rows are split into ``nparts`` contiguous parts, one per thread (a single fork/join per
    call: cheap on a busy machine). Each part walks column blocks of ``nb`` and K-blocks; for
    each it gathers its private ``L[kk, a, j] = table[a, wi[k0 + kk, n0 + j]]`` (L2-sized), then
    adds the contiguous row ``L[kk, xi[m, k0 + kk]]`` into ``acc[m, n0:n1]`` for its rows.
    ``acc`` has the table's dtype (int32): the caller keeps ``K * max|table| < 2**31``.
    """
    m_total = xi.shape[0]
    n_total = wi.shape[1]
    na = table.shape[0]
    kbmax = 0
    for b in range(blocks.shape[0]):
        kbmax = max(kbmax, blocks[b, 1] - blocks[b, 0])
    for part in prange(nparts):
        r0 = part * m_total // nparts
        r1 = (part + 1) * m_total // nparts
        lblk = np.empty((kbmax, na, nb), table.dtype)
        for n0 in range(0, n_total, nb):
            n1 = min(n_total, n0 + nb)
            wn = n1 - n0
            for b in range(blocks.shape[0]):
                k0 = blocks[b, 0]
                kb = blocks[b, 1] - k0
                for kk in range(kb):
                    for a in range(na):
                        for j in range(wn):
                            lblk[kk, a, j] = table[a, wi[k0 + kk, n0 + j]]
                for m in range(r0, r1):
                    out = acc[m, n0:n1]
                    for kk in range(kb):
                        row = lblk[kk, xi[m, k0 + kk]]
                        for j in range(wn):
                            out[j] += row[j]


@njit(parallel=True, cache=True)
def _lut_gemm_stats(xi, wi, table, blocks, nb, nparts, acc, chain, counts):  # pragma: no cover - numba
    """:func:`_lut_gemm` (int64 ``acc``) tracking each chain's partial sum for cases (d)/(e).

    ``blocks[b] = (k0, k1, first, last)``: a chain (K tile) starts at a block with ``first``
    (partial sum ``s = 0``) and ends at one with ``last`` (``acc += s``); ``chain[m, n]``
    (int64) holds ``s`` in between. For each product ``p`` entering ``s``:
    ``add_zero += (p == 0 or s == 0)``, else ``opposite += (p + s == 0)``;
    ``counts[part] = (add_zero, opposite)``.
    """
    m_total = xi.shape[0]
    n_total = wi.shape[1]
    na = table.shape[0]
    kbmax = 0
    for b in range(blocks.shape[0]):
        kbmax = max(kbmax, blocks[b, 1] - blocks[b, 0])
    for part in prange(nparts):
        r0 = part * m_total // nparts
        r1 = (part + 1) * m_total // nparts
        lblk = np.empty((kbmax, na, nb), table.dtype)
        cz = 0
        co = 0
        for n0 in range(0, n_total, nb):
            n1 = min(n_total, n0 + nb)
            wn = n1 - n0
            for b in range(blocks.shape[0]):
                k0 = blocks[b, 0]
                kb = blocks[b, 1] - k0
                first = blocks[b, 2] != 0
                last = blocks[b, 3] != 0
                for kk in range(kb):
                    for a in range(na):
                        for j in range(wn):
                            lblk[kk, a, j] = table[a, wi[k0 + kk, n0 + j]]
                for m in range(r0, r1):
                    s = chain[m, n0:n1]
                    if first:
                        s[:] = 0
                    for kk in range(kb):
                        row = lblk[kk, xi[m, k0 + kk]]
                        for j in range(wn):
                            p = np.int64(row[j])
                            q = s[j]
                            z = (p == 0) | (q == 0)
                            cz += z
                            co += (not z) & (p + q == 0)
                            s[j] = q + p
                    if last:
                        out = acc[m, n0:n1]
                        for j in range(wn):
                            out[j] += s[j]
        counts[part, 0] = cz
        counts[part, 1] = co


@njit(parallel=True, cache=True)
def _lut_gemm_narrow(xi, wi, table, blocks, nparts, acc, chain, counts, stats):  # pragma: no cover
    """Few output columns (``N < SMALL_N``): :func:`_lut_gemm` / :func:`_lut_gemm_stats` with
    the gathered block transposed, ``L[kk, n, a]``, and the sum over ``k`` innermost, one
    scalar partial sum per ``(m, n)`` (AVX-512 gathers; about 1.4x on LeNet's first layer).

    Without ``stats`` ``acc`` is int32 (the caller bounds the sums) and ``chain``/``counts``
    are unused; with ``stats`` ``acc`` is int64 and ``blocks`` carries ``(first, last)``.
    """
    m_total = xi.shape[0]
    n_total = wi.shape[1]
    na = table.shape[0]
    kbmax = 0
    for b in range(blocks.shape[0]):
        kbmax = max(kbmax, blocks[b, 1] - blocks[b, 0])
    for part in prange(nparts):
        r0 = part * m_total // nparts
        r1 = (part + 1) * m_total // nparts
        lblk = np.empty((kbmax, n_total, na), table.dtype)
        cz = 0
        co = 0
        for b in range(blocks.shape[0]):
            k0 = blocks[b, 0]
            kb = blocks[b, 1] - k0
            for kk in range(kb):
                for j in range(n_total):
                    col = wi[k0 + kk, j]
                    for a in range(na):
                        lblk[kk, j, a] = table[a, col]
            if not stats:
                for m in range(r0, r1):
                    xr = xi[m, k0:k0 + kb]
                    for j in range(n_total):
                        t = 0
                        for kk in range(kb):
                            t += lblk[kk, j, xr[kk]]
                        acc[m, j] += t
                continue
            first = blocks[b, 2] != 0
            last = blocks[b, 3] != 0
            for m in range(r0, r1):
                xr = xi[m, k0:k0 + kb]
                for j in range(n_total):
                    q = np.int64(0) if first else chain[m, j]
                    for kk in range(kb):
                        p = np.int64(lblk[kk, j, xr[kk]])
                        z = (p == 0) | (q == 0)
                        cz += z
                        co += (not z) & (p + q == 0)
                        q += p
                    if last:
                        acc[m, j] += q
                    else:
                        chain[m, j] = q
        counts[part, 0] = cz
        counts[part, 1] = co


@njit(parallel=True, cache=True)
def _direct(xi, wi, table, acc):  # pragma: no cover - numba
    """``acc[m, n] += sum_k table[xi[m, k], wi[k, n]]`` (few rows: no ``L`` gather)."""
    m_total, k_total = xi.shape
    n_total = wi.shape[1]
    for m in prange(m_total):
        for k in range(k_total):
            row = table[xi[m, k]]
            for n in range(n_total):
                acc[m, n] += row[wi[k, n]]


@njit(parallel=True, cache=True)
def _direct_stats(xi, wi, table, k_tile, acc, counts):  # pragma: no cover - numba
    """:func:`_direct` with chains restarting at multiples of ``k_tile``; ``counts[m] = (d, e)``."""
    m_total, k_total = xi.shape
    n_total = wi.shape[1]
    for m in prange(m_total):
        s = np.zeros(n_total, np.int64)
        cz = 0
        co = 0
        for k in range(k_total):
            if k % k_tile == 0 and k > 0:
                for n in range(n_total):
                    acc[m, n] += s[n]
                    s[n] = 0
            row = table[xi[m, k]]
            for n in range(n_total):
                p = np.int64(row[wi[k, n]])
                q = s[n]
                z = (p == 0) | (q == 0)
                cz += z
                co += (not z) & (p + q == 0)
                s[n] = q + p
        for n in range(n_total):
            acc[m, n] += s[n]
        counts[m, 0] = cz
        counts[m, 1] = co


def _blocks(k: int, kb: int, k_tile: int | None) -> list[tuple[int, int, bool, bool]]:
    """K-blocks ``(k0, k1, first, last)`` of at most ``kb``, never straddling a chain boundary."""
    tile = k if k_tile is None else k_tile
    out = []
    for t0 in range(0, k, tile):
        t1 = min(k, t0 + tile)
        for k0 in range(t0, t1, kb):
            k1 = min(t1, k0 + kb)
            out.append((k0, k1, k0 == t0, k1 == t1))
    return out


def _chain_buffer(blocks: np.ndarray, m: int, n: int) -> np.ndarray:
    """Partial sums carried between K-blocks of one chain for :func:`_lut_gemm_narrow`; a dummy
    when every chain is one block (that kernel then never touches it; the others always do)."""
    if blocks.size and np.all(blocks[:, 2:] != 0):
        return np.zeros((1, 1), dtype=np.int64)
    return np.zeros((m, n), dtype=np.int64)


class _threads:
    """Context manager running numba kernels on at most ``max_parts`` threads, and on one for
    small work (no fork/join: on a busy machine one costs milliseconds)."""

    def __init__(self, work: int, max_parts: int):
        self.n = max(1, min(numba.get_num_threads(), max_parts)) if work >= PARALLEL_MIN_WORK else 1

    def __enter__(self) -> int:
        self.saved = numba.get_num_threads()
        numba.set_num_threads(self.n)
        return self.n

    def __exit__(self, *exc) -> None:
        numba.set_num_threads(self.saved)


def table_gemm(xi: np.ndarray, wi: np.ndarray, plan: Plan, *, stats: TrivialStats | None = None,
               k_tile: int | None = None) -> np.ndarray:
    """Table kernel on bit patterns ``xi (M, K)`` and ``wi (K, N)`` (uint16). See module doc.

    With ``stats``, adds MUL counts, x zero counts and (d)/(e) counts (not the w counts).
    """
    m, k = xi.shape
    n = wi.shape[1]
    acc = np.zeros((m, n), dtype=np.int64)
    if stats is not None:
        _add_mul_stats(stats, xi, wi, ones_patterns(plan))
    if m == 0 or n == 0 or k == 0:
        return acc
    xi = np.ascontiguousarray(xi, dtype=np.uint16)
    wi = np.ascontiguousarray(wi, dtype=np.uint16)
    table = plan.table
    na = table.shape[0]
    direct = 4 * m < na  # few rows: gathering L would cost more than it saves
    with _threads(m * k * n, m if direct else m // 64) as nparts:
        if direct:
            if stats is None:
                _direct(xi, wi, table, acc)
            else:
                counts = np.zeros((m, 2), dtype=np.int64)
                _direct_stats(xi, wi, table, k if k_tile is None else k_tile, acc, counts)
                stats.add_zero += int(counts[:, 0].sum())
                stats.opposite += int(counts[:, 1].sum())
            return acc
        nb = min(n, N_BLOCK)
        narrow = n < SMALL_N
        kb = max(1, min(k, (NARROW_BLOCK_K if narrow else L_BLOCK_BYTES // (na * nb * 4))))
        counts = np.zeros((nparts, 2), dtype=np.int64)
        if stats is not None:
            blocks = np.array(_blocks(k, kb, k_tile), dtype=np.int64).reshape(-1, 4)
            # the narrow kernel only touches chain between the blocks of one chain
            chain = _chain_buffer(blocks, m, n) if narrow else np.zeros((m, n), dtype=np.int64)
            if narrow:
                _lut_gemm_narrow(xi, wi, table, blocks, nparts, acc, chain, counts, True)
            else:
                _lut_gemm_stats(xi, wi, table, blocks, nb, nparts, acc, chain, counts)
            stats.add_zero += int(counts[:, 0].sum())
            stats.opposite += int(counts[:, 1].sum())
            return acc
        # int32 accumulation over K-spans short enough that no sum can overflow
        span = max(1, INT32_LIMIT // max(plan.max_abs, 1))
        acc32 = np.empty((m, n), dtype=np.int32)
        for s0 in range(0, k, span):
            s1 = min(k, s0 + span)
            blocks = np.array([(k0, min(s1, k0 + kb)) for k0 in range(s0, s1, kb)], dtype=np.int64)
            acc32[:] = 0
            if narrow:
                blocks4 = np.zeros((len(blocks), 4), dtype=np.int64)
                blocks4[:, :2] = blocks
                _lut_gemm_narrow(xi, wi, table, blocks4, nparts, acc32, acc32, counts, False)
            else:
                _lut_gemm(xi, wi, table, blocks, nb, nparts, acc32)
            acc += acc32
    return acc


# --------------------------------------------------------------------------------------------
# fallback: the vectorised model on the distinct operand pairs
# --------------------------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def _rows_gemm(rowidx, lcat, n0, nparts, acc):  # pragma: no cover - numba
    """``acc[m, n0:n0+nb] += sum_kk lcat[rowidx[m, kk]]`` (int64), rows split in ``nparts``."""
    m_total, kb = rowidx.shape
    nb = lcat.shape[1]
    for part in prange(nparts):
        for m in range(part * m_total // nparts, (part + 1) * m_total // nparts):
            out = acc[m, n0:n0 + nb]
            for kk in range(kb):
                row = lcat[rowidx[m, kk]]
                for j in range(nb):
                    out[j] += row[j]


@njit(parallel=True, cache=True)
def _rows_gemm_stats(rowidx, lcat, n0, first, last, nparts, acc, chain, counts):  # pragma: no cover
    """:func:`_rows_gemm` with the chain bookkeeping of :func:`_lut_gemm_stats` (one K-block)."""
    m_total, kb = rowidx.shape
    nb = lcat.shape[1]
    for part in prange(nparts):
        cz = 0
        co = 0
        for m in range(part * m_total // nparts, (part + 1) * m_total // nparts):
            s = chain[m, n0:n0 + nb]
            if first:
                s[:] = 0
            for kk in range(kb):
                row = lcat[rowidx[m, kk]]
                for j in range(nb):
                    p = row[j]
                    q = s[j]
                    z = (p == 0) | (q == 0)
                    cz += z
                    co += (not z) & (p + q == 0)
                    s[j] = q + p
            if last:
                out = acc[m, n0:n0 + nb]
                for j in range(nb):
                    out[j] += s[j]
        counts[part, 0] += cz
        counts[part, 1] += co


def fallback_gemm(x: np.ndarray, w: np.ndarray, plan: Plan, *, stats: TrivialStats | None = None,
                  k_tile: int | None = None) -> np.ndarray:
    """``sum_k P(x[m, k], w[k, n])`` evaluating the model ``mult(a, b)`` + bypass only on the
    distinct values of each column of ``x``.

    For a block of ``k``, the distinct values ``u`` of each ``x[:, k]`` (found with a presence
    array over the operand range, no sort) get the product rows ``P(u, w[k, cols])``; the
    kernel then adds row ``rowidx[m, k]`` into ``acc[m, cols]``. Model evaluations drop from
    ``M*K*N`` to at most ``min(M, 2**n)*K*N``; a block holds at most :data:`FALLBACK_CHUNK`
    product-table entries and ``2 * FALLBACK_CHUNK`` row indices (more when one ``k`` needs it).
    """
    mult, bypass, signed, fmt = plan.mult, plan.bypass, plan.signed, plan.mult.fmt
    x = x.astype(np.int64, copy=False)
    w = w.astype(np.int64, copy=False)
    m, k = x.shape
    n = w.shape[1]
    acc = np.zeros((m, n), dtype=np.int64)
    if stats is not None:
        _add_mul_stats(stats, x, w, ones_values(signed))
    if m == 0 or n == 0 or k == 0:
        return acc
    span = 1 << fmt.bits
    distinct = min(m, span)
    nb = max(1, min(n, FALLBACK_CHUNK // distinct))
    kb = max(1, min(k, FALLBACK_CHUNK // (distinct * nb), 2 * FALLBACK_CHUNK // m, (1 << 31) // span))
    chain = np.zeros((m, n), dtype=np.int64) if stats is not None else None
    with _threads(m * k * n, m // 64) as nparts:
        counts = np.zeros((nparts, 2), dtype=np.int64)
        for k0, k1, first, last in _blocks(k, kb, k_tile):
            # presence of (column, value) pairs; rank = row of the product table
            key = (x[:, k0:k1] - fmt.lo) + np.arange(k1 - k0, dtype=np.int64) * span
            present = np.zeros((k1 - k0) * span, dtype=bool)
            present[key.ravel()] = True
            keys = np.flatnonzero(present)
            rank = np.cumsum(present, dtype=np.int64) - 1
            rowidx = rank[key].astype(np.int32)
            a = (keys % span + fmt.lo)[:, None]
            kcol = keys // span + k0
            for n0 in range(0, n, nb):
                b = w[kcol, n0:n0 + nb]
                lcat = np.ascontiguousarray(bypass.apply(mult(a, b, check=False), a, b, signed), dtype=np.int64)
                if stats is None:
                    _rows_gemm(rowidx, lcat, n0, nparts, acc)
                else:
                    _rows_gemm_stats(rowidx, lcat, n0, first, last, nparts, acc, chain, counts)
    if stats is not None:
        stats.add_zero += int(counts[:, 0].sum())
        stats.opposite += int(counts[:, 1].sum())
    return acc
