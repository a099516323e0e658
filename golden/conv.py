"""Bit-exact 2-D convolution (NCHW) lowered to :func:`~axmac.golden.gemm.mac_gemm` kernels.

ONNX ``Conv`` semantics (cross-correlation, explicit pads ``(top, left, bottom, right)``,
strides, dilations, groups; depthwise is ``group == C``) on centered integer operands; the
padding value is 0, the zero point of the centered activations. Each group is one GEMM
``(N*OH*OW, K) x (K, M/group)`` with ``K = C/group * kH * kW`` (im2col), the layout of
:meth:`axmac.onnx_import.ir.MacLayer.gemm_dims`. The accumulation chain of an output runs over
``k`` in the order of ``weight.reshape(M, -1)``: ``(c, i, j)``, channel-major, which is what
the trivial-addition statistics (cases (d)/(e)) and ``k_tile`` refer to.

The im2col matrix is built in chunks of output pixels (at most :data:`IM2COL_BYTES` at a time),
so memory stays bounded whatever the batch size; channels-last (k order ``(i, j, c)``, the
faster copy) when no statistics need the chain order. Per path (:func:`~axmac.golden.gemm.kernel_for`):

* ``blas`` / ``lowrank``: float im2col of the activations (for a separable table ``T = sum_i
  u_i v_i^T``: of ``u_i[x]``, the terms side by side along the channels) and one float GEMM;
* ``table``: im2col of the bit patterns and the table kernels; for stride 1 and fewer than
  :data:`DIRECT_MAX_OUT` outputs per group, a direct convolution without im2col instead;
* ``fallback``: im2col of the values and the model on distinct operand pairs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..errors import AxmacError
from .bypass import NO_BYPASS, Bypass
from .gemm import (
    blas_gemm,
    blas_plan,
    check_operands,
    fallback_gemm,
    make_plan,
    max_abs,
    table_gemm,
    threads,
    to_patterns,
)
from .gemm.blas import lowrank_dtype, lowrank_factors
from .gemm.counting import add_counts, chain_dtype, n_chains, plan_grids, table_counts
from .gemm.kernels import kernel as numba_kernel
from .multipliers.base import Multiplier
from .stats import TrivialStats

#: Upper bound of one im2col chunk, in bytes: the float BLAS path (small: the chunk stays in
#: cache between its construction and the GEMM) and the table / fallback paths (large: each
#: table GEMM call gathers its L blocks again).
IM2COL_BYTES = 1 << 23
IM2COL_TABLE_BYTES = 1 << 25
#: Fewer outputs per group than this (stride 1, table path) take the direct convolution:
#: im2col rows of so few products cost more than the products (LeNet's first layer, depthwise).
DIRECT_MAX_OUT = 8
#: The direct convolution of a table that is not separable, with at least two outputs per
#: group, takes the input-side layouts when fewer of the padded input's pixels than these
#: fractions add anything: ``"scatter"`` without statistics, ``"pix"`` with them (MNIST with
#: LeNet's padding: 0.15). Crossovers measured here with mitchell (one core): scatter against
#: the gather per product at 0.45 (LeNet's first layer), 0.2 (3 -> 4 channels, 64 x 64), 0.1
#: (depthwise: equal); pix at > 0.7, 0.5 and never (depthwise: one lane).
SPARSE_SCATTER = 0.25
SPARSE_PIX = 0.4
#: ``"pix"`` lanes per group: the output channels rounded up to whole SIMD vectors of int32.
PIX_LANES = 8


def conv2d_nchw(x, w, *, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group: int = 1,
                mult: Multiplier, bypass: Bypass = NO_BYPASS, stats: TrivialStats | None = None,
                k_tile: int | None = None, acc_bits: int | None = None) -> np.ndarray:
    """Bit-exact ``Conv`` of centered integers with the PE product path of ``mult`` + ``bypass``.

    .. math:: y[n, m, p, q] = \\sum_{c, i, j} P(x_{pad}[n, g C_g + c, p s_h + i d_h, q s_w + j d_w],
              w[m, c, i, j]), \\quad g = \\lfloor m / M_g \\rfloor

    Parameters
    ----------
    x : array_like of int, shape (N, C, H, W)
        Centered activations within ``mult.fmt``'s range.
    w : array_like of int, shape (M, C // group, kH, kW)
        Centered weights within ``mult.fmt``'s range.
    strides, dilations : (int, int)
    pads : (int, int, int, int)
        ``(top, left, bottom, right)``, zero padding.
    group : int
        Number of groups (``C`` and ``M`` divisible by it).
    mult, bypass, stats, k_tile, acc_bits
        As for :func:`~axmac.golden.gemm.mac_gemm`; the statistics count the im2col GEMMs
        (padding zeros are zero operands, each weight is counted once).

    Returns
    -------
    numpy.ndarray of int64, shape (N, M, OH, OW)
    """
    plan = make_plan(mult, bypass)
    x = np.asarray(x)
    w = np.asarray(w)
    if x.ndim != 4 or w.ndim != 4:
        raise AxmacError(f"conv2d_nchw needs 4-D x and w, got shapes {x.shape} and {w.shape}")
    if x.dtype.kind not in "iu" or w.dtype.kind not in "iu":
        raise AxmacError(f"conv2d_nchw needs integer operands, got {x.dtype} and {w.dtype}")
    nb_, c, h, wd = x.shape
    m_out, cg, kh, kw = w.shape
    group = _pos_int(group, "group")
    sh, sw = _int_tuple(strides, 2, "strides", 1)
    dh, dw = _int_tuple(dilations, 2, "dilations", 1)
    pt, pl, pb, pr = _int_tuple(pads, 4, "pads", 0)
    if c % group or m_out % group:
        raise AxmacError(f"group {group} does not divide input channels {c} and output channels {m_out}")
    if cg != c // group:
        raise AxmacError(f"weight has {cg} input channels per group, input has {c} / group {group} = {c // group}")
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1 or kh < 1 or kw < 1:
        raise AxmacError(f"convolution output would be empty: input {h}x{wd}, kernel {kh}x{kw}, pads {pads}")
    k_tile, acc_bits = check_operands(mult, x, w, stats, k_tile, ("conv input", "conv weight"), acc_bits)

    kernel = plan.kernel(stats is not None)
    mg = m_out // group
    k = cg * kh * kw
    out = np.empty((nb_, m_out, oh, ow), dtype=np.int64)
    if nb_ == 0 or m_out == 0:
        return out
    geom = (kh, kw, sh, sw, dh, dw, oh, ow)
    pads4 = ((0, 0), (0, 0), (pt, pb), (pl, pr))
    if kernel == "table" and sh == sw == 1 and mg < DIRECT_MAX_OUT and k > 0:
        return _direct_conv(x, w, plan, geom, pads4, group, stats, k_tile, acc_bits)
    float_path = kernel in ("blas", "lowrank")
    if float_path:
        xs, ws, dt, max_prod = _float_operands(x, w, plan, kernel, pads4, k)
    elif kernel == "table":
        dt = np.uint16
        xs, ws = [np.pad(to_patterns(x, plan), pads4)], [to_patterns(w, plan)]
    else:
        dt = np.int64
        xs, ws = [np.pad(x.astype(np.int64), pads4)], [w]
    # Channels-last im2col (k order (i, j, c)) is the faster one from 8 channels on, but the
    # statistics need the chains in (c, i, j) order; few channels: the numba channels-first one.
    channels_last = stats is None and len(xs) * cg >= 8

    for g in range(group):
        # operands of the group, one slice per separable term side by side along the channels
        xg = _cat([xt[:, g * cg:(g + 1) * cg] for xt in xs])
        wg = _cat([wt[g * mg:(g + 1) * mg] for wt in ws])
        kg = len(xs) * k
        if channels_last:
            xg = np.ascontiguousarray(xg.transpose(0, 2, 3, 1))  # measured 2x faster im2col than a view
            wmat = wg.transpose(2, 3, 1, 0).reshape(kg, mg)  # k order (i, j, c)
        else:
            wmat = wg.reshape(mg, kg).T  # k order (c, i, j)
        budget = IM2COL_BYTES if float_path else IM2COL_TABLE_BYTES
        for n0, n1, r0, r1 in _chunks(nb_, oh, ow, kg, np.dtype(dt).itemsize, budget):
            cols = _im2col(xg, n0, n1, r0, r1, geom, channels_last=channels_last)
            if float_path:
                acc = blas_gemm(cols, wmat, max_prod)
            elif kernel == "table":
                acc = table_gemm(cols, wmat, plan, stats=stats, k_tile=k_tile, acc_bits=acc_bits)
            else:
                acc = fallback_gemm(cols, wmat, plan, stats=stats, k_tile=k_tile, acc_bits=acc_bits)
            out[n0:n1, g * mg:(g + 1) * mg, r0:r1, :] = acc.reshape(n1 - n0, r1 - r0, ow, mg).transpose(0, 3, 1, 2)
    return out


def _direct_conv(x, w, plan, geom, pads4, group: int, stats, k_tile, acc_bits) -> np.ndarray:
    """The table path's stride-1 convolution without im2col (kernel layouts ``"conv"``,
    ``"sconv"`` for separable tables with statistics, ``"scatter"`` / ``"pix"`` for sparse
    inputs: see :data:`SPARSE_SCATTER`), with the statistics of the im2col GEMMs it replaces
    (one per group, chains in ``(c, i, j)`` order)."""
    kh, kw, _, _, dh, dw, oh, ow = geom
    n, m_out, cg = x.shape[0], w.shape[0], w.shape[1]
    mg, k = m_out // group, cg * kh * kw
    xp = np.pad(to_patterns(x, plan), pads4)
    wp = to_patterns(w, plan).reshape(m_out, k)
    table = plan.ktable
    na = table.shape[0]
    sep = plan.separable() if stats is not None else None
    tile = k if k_tile is None or stats is None else min(k, k_tile)
    cdt, mask = chain_dtype(tile, plan.max_abs, acc_bits if stats is not None else 64)
    out = np.zeros((n, m_out, oh, ow), dtype=np.int64)
    geom8 = np.array([cg, kh, kw, dh, dw, oh, ow, mg])
    with threads(n * m_out * oh * ow * k, n) as nparts:
        # one output row per part; "sconv": one output plane at the padded input's row stride
        lanes = ow if sep is None else (oh - 1) * xp.shape[3] + ow
        chain = np.zeros((nparts, lanes), dtype=cdt)
        ret = np.zeros((nparts, lanes), dtype=np.int32)
        hist = np.zeros((nparts, group * k * na) if stats is not None else (1, 1), dtype=np.int32)
        counts = np.zeros((nparts, 2), dtype=np.int64)
        live = _live_fraction(xp, plan.zrow) if sep is None and mg >= 2 else 1.0
        sparse = live < (SPARSE_SCATTER if stats is None else SPARSE_PIX)
        if sparse and stats is None:  # from the input side: zero pixels cost nothing
            luta = np.ascontiguousarray(table[:, wp])  # luta[a, mo, k] = T[a, w[mo, k]]
            numba_kernel("scatter", False)(xp, luta, plan.zrow, geom8, nparts, out)
        elif sparse:  # per output pixel, its live taps in chain order, output channels as lanes
            lanes = -(-mg // PIX_LANES) * PIX_LANES
            lutk = np.zeros((k, na, group, lanes), dtype=table.dtype)  # lutk[k, a, g, o] = T[a, w[g*mg + o, k]]
            lutk[..., :mg] = table[:, wp].reshape(na, group, mg, k).transpose(3, 0, 1, 2)
            lutk = lutk.reshape(k * na, group * lanes)
            chain = np.zeros((nparts, lanes), dtype=cdt)
            ret = np.zeros((nparts, lanes), dtype=np.int32)
            numba_kernel("pix", True)(xp, lutk, plan.zrow, geom8, tile, nparts, cdt(mask), out, chain, ret, hist,
                                      counts)
        elif sep is None:
            lut = np.ascontiguousarray(table.T[wp])  # lut[mo, k, a] = T[a, w[mo, k]]
            numba_kernel("conv", stats is not None)(xp, lut, bool(plan.zrow[0]), geom8, tile, nparts, cdt(mask), out,
                                                    chain, ret, hist, counts)
        else:  # T[a, b] = u[a] v[b]: the input transformed once, one factor per tap
            xu = np.ascontiguousarray(sep[0][xp]).reshape(xp.shape[0], xp.shape[1], -1)
            numba_kernel("sconv", True)(xp, xu, np.ascontiguousarray(sep[1][wp]), geom8, tile, nparts, cdt(mask), out,
                                        chain, ret, hist, counts)
    if stats is not None:
        hx = hist.sum(axis=0, dtype=np.int64).reshape(group, k, na)
        rows = n * oh * ow
        for g in range(group):
            zero, one, p_zero = table_counts(hx[g], wp[g * mg:(g + 1) * mg].T, plan_grids(plan, acc_bits))
            first = g == 0  # the kernel's chain counters cover every group
            add_counts(stats, rows, k, mg, n_chains(rows, k, mg, k_tile), zero, one, p_zero,
                       int(counts[:, 0].sum()) if first else 0, int(counts[:, 1].sum()) if first else 0,
                       int(hx[g, :, 0].sum()))
    return out


def _live_fraction(xp: np.ndarray, zrow: np.ndarray) -> float:
    """The fraction of the padded input's pixels whose pattern has a product row that is not
    all zero (the others add nothing: an image's background, padding, a ReLU's zeros)."""
    return float(np.count_nonzero(~zrow[xp])) / max(1, xp.size)


def _float_operands(x, w, plan, kernel: str, pads4, k: int):
    """Padded float activations and float weights of the BLAS path, one pair per separable
    term (exact: the operands themselves), with the float dtype and the bound of one product."""
    if kernel == "blas":
        max_prod = max_abs(x) * max_abs(w)
        dt, _ = blas_plan(max_prod, k)
        return [np.pad(x.astype(dt), pads4)], [w.astype(dt)], dt, max_prod
    dt, max_prod = lowrank_dtype(plan.terms, k)
    u, v = lowrank_factors(plan.terms, dt)
    xp = np.pad(to_patterns(x, plan), pads4)  # pad with pattern 0 (value 0): u_i(0) after the lookup
    wp = to_patterns(w, plan)
    return [ui[xp] for ui in u], [vi[wp] for vi in v], dt, max_prod


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def _im2col(xp: np.ndarray, n0: int, n1: int, r0: int, r1: int, geom, channels_last: bool) -> np.ndarray:
    """im2col rows for images ``n0:n1`` and output rows ``r0:r1``, shape ``(pixels, K)``.

    ``channels_last``: ``xp`` is ``(N, Hp, Wp, C)`` and columns are ordered ``(i, j, c)``;
    otherwise ``xp`` is ``(N, C, Hp, Wp)`` and columns are ordered ``(c, i, j)``.
    One strided NumPy copy per kernel tap, except channels-first with few channels, where a
    numba kernel writing each row contiguously is 1.6-2x faster (measured in the conv, where
    for channels-last the NumPy copies win).
    """
    kh, kw, sh, sw, dh, dw, _, ow = geom
    nr = r1 - r0
    if channels_last:
        c = xp.shape[3]
        cols = np.empty((n1 - n0, nr, ow, kh, kw, c), dtype=xp.dtype)
        for i in range(kh):
            h0 = r0 * sh + i * dh
            for j in range(kw):
                w0 = j * dw
                cols[:, :, :, i, j, :] = xp[n0:n1, h0:h0 + (nr - 1) * sh + 1:sh, w0:w0 + (ow - 1) * sw + 1:sw, :]
        return cols.reshape((n1 - n0) * nr * ow, kh * kw * c)
    c = xp.shape[1]
    if c >= 8:
        return _im2col_numpy(xp, n0, n1, r0, r1, geom)
    cols = np.empty(((n1 - n0) * nr * ow, kh * kw * c), dtype=xp.dtype)
    with threads(cols.size, (n1 - n0) * nr):
        _im2col_cf(xp, n0, n1, r0, r1, kh, kw, sh, sw, dh, dw, ow, cols)
    return cols


def _im2col_numpy(xp: np.ndarray, n0: int, n1: int, r0: int, r1: int, geom) -> np.ndarray:
    """Channels-first :func:`_im2col` by one strided NumPy copy per kernel tap."""
    kh, kw, sh, sw, dh, dw, _, ow = geom
    nr = r1 - r0
    c = xp.shape[1]
    cols = np.empty((n1 - n0, nr, ow, c, kh, kw), dtype=xp.dtype)
    for i in range(kh):
        h0 = r0 * sh + i * dh
        for j in range(kw):
            w0 = j * dw
            src = xp[n0:n1, :, h0:h0 + (nr - 1) * sh + 1:sh, w0:w0 + (ow - 1) * sw + 1:sw]
            cols[:, :, :, :, i, j] = src.transpose(0, 2, 3, 1)
    return cols.reshape((n1 - n0) * nr * ow, kh * kw * c)


@njit(parallel=True, cache=True)
def _im2col_cf(xp, n0, n1, r0, r1, kh, kw, sh, sw, dh, dw, ow, cols):  # pragma: no cover - numba
    """Channels-first im2col: ``cols[row, (c, i, j)] = xp[n, c, r*sh + i*dh, q*sw + j*dw]``."""
    c = xp.shape[1]
    nr = r1 - r0
    for idx in prange((n1 - n0) * nr):
        n = n0 + idx // nr
        r = r0 + idx % nr
        for q in range(ow):
            out = cols[idx * ow + q]
            col = 0
            for cc in range(c):
                for i in range(kh):
                    h = r * sh + i * dh
                    for j in range(kw):
                        out[col] = xp[n, cc, h, q * sw + j * dw]
                        col += 1


def _chunks(n: int, oh: int, ow: int, k: int, itemsize: int, budget: int):
    """``(n0, n1, r0, r1)`` blocks of images x output rows, each im2col <= ``budget`` bytes
    (at least one output row)."""
    row_bytes = ow * k * itemsize
    img_bytes = oh * row_bytes
    if img_bytes <= budget:
        per = max(1, budget // img_bytes)
        for n0 in range(0, n, per):
            yield n0, min(n, n0 + per), 0, oh
    else:
        rows = max(1, budget // row_bytes)
        for n0 in range(n):
            for r0 in range(0, oh, rows):
                yield n0, n0 + 1, r0, min(oh, r0 + rows)


def _pos_int(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise AxmacError(f"{what} must be a positive integer, not {v!r}")
    return int(v)


def _int_tuple(v, n: int, what: str, lo: int) -> tuple[int, ...]:
    try:
        t = tuple(int(e) for e in v)
    except (TypeError, ValueError):
        raise AxmacError(f"{what} must be {n} integers, not {v!r}") from None
    if len(t) != n or any(e < lo for e in t):
        raise AxmacError(f"{what} must be {n} integers >= {lo}, not {v!r}")
    return t
