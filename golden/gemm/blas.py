"""The float BLAS path: exact integer GEMMs through NumPy's float32/float64 ``matmul``.

A binary32 float holds every integer of magnitude ``<= 2**24`` exactly, and every partial sum a
BLAS kernel may form (any order, FMA or not) is a sum of a subset of the chunk's products,
bounded by ``kc * max_prod``. With ``kc = floor(2**24 / max_prod)`` every intermediate is exact
(binary64: ``2**53``). Chunk results are summed in float64 while the total bound stays below
``2**53``, else in int64.

Exact products use the operands as they are (:func:`blas_gemm`); separable tables
(:mod:`.lowrank`, ``T = sum_i u_i v_i^T``) use the transformed operands ``u_i[x]``, ``v_i[w]``
side by side along ``K`` (:func:`lowrank_operands`), one GEMM for all terms.
"""

from __future__ import annotations

import numpy as np

from ...errors import AxmacError

#: Largest integer magnitude below which binary32 / binary64 represent every integer exactly.
F32_EXACT = 1 << 24
F64_EXACT = 1 << 53


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
    """Exact ``x @ w`` (int64) of integer (or integer-valued float) matrices via chunked float BLAS.

    ``max_prod`` bounds ``|x[m, k] * w[k, n]|``; computed from the data when not given.
    """
    m, k = x.shape
    n = w.shape[1]
    if max_prod is None:
        max_prod = max_abs(x) * max_abs(w)
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


def max_abs(a: np.ndarray) -> int:
    """``max |a|`` as a Python int (0 for an empty array)."""
    if a.size == 0:
        return 0
    return int(max(abs(int(a.max())), abs(int(a.min()))))


def lowrank_dtype(terms, k: int) -> tuple[type, int]:
    """``(float dtype, max_prod)`` of the low-rank GEMM of ``terms`` with inner size ``k``:
    ``max_prod`` bounds every product ``u_i[a] * v_i[b]`` of every term."""
    max_prod = max(int(np.abs(u).max()) * int(np.abs(v).max()) for u, v in terms)
    return blas_plan(max_prod, k * len(terms))[0], max_prod


def lowrank_factors(terms, dtype) -> tuple[np.ndarray, np.ndarray]:
    """The factors as lookup tables ``(U, V)`` of shape ``(r, 2**n)`` in ``dtype``, indexed by
    bit pattern."""
    u = np.stack([t[0] for t in terms]).astype(dtype)
    v = np.stack([t[1] for t in terms]).astype(dtype)
    return u, v


def lowrank_operands(xi: np.ndarray, wi: np.ndarray, terms, dtype) -> tuple[np.ndarray, np.ndarray]:
    """``[u_0[xi], u_1[xi], ...]`` side by side (``M x rK``) and ``[v_0[wi]; v_1[wi]; ...]``
    stacked (``rK x N``), for bit patterns ``xi``, ``wi``: their product is ``sum_k T[xi, wi]``."""
    u, v = lowrank_factors(terms, dtype)
    if len(terms) == 1:
        return u[0][xi], v[0][wi]
    return np.concatenate([ui[xi] for ui in u], axis=1), np.concatenate([vi[wi] for vi in v], axis=0)
