"""The numba kernel family of the table and fallback paths: one loop nest, compile-time switches.

Every kernel adds products ``P`` from a *row source* into accumulators, for rows ``m`` of the
activation patterns ``xi``. :func:`kernel` builds (and numba caches) one specialisation per
``(layout, stats)``:

``layout``
    ``"rows"``   for each K-block and block of output columns, each thread gathers its private
    ``L[kk, a, :] = T[a, wi[k0 + kk, cols]]`` (L2-sized), then for each row ``m`` adds the
    contiguous rows ``L[kk, xi[m, k]]`` into the accumulator row (SIMD, eight rows per pass, each
    widened to the accumulator's dtype); rows of ``T`` that are all zero (``zrow``) are skipped
    (a ReLU'd activation's zeros, an image's background).
    ``"given"``  the same with the rows supplied by the caller (the fallback path: ``src`` and
    per-``(m, kk)`` row indices), one K-block and one column block per call.
    ``"direct"`` few rows: ``T[xi[m, k], wi[k, n]]`` gathered per product, no ``L``.
    ``"conv"``   a stride-1 convolution with few outputs per group straight from the padded
    input (no im2col): per output channel, its taps' columns of ``T`` (``lut``) are gathered at
    the input row's patterns, vectorised over the output row (LeNet's first layer, depthwise).
    ``"sconv"``  the same for a separable table ``T[a, b] = u[a] v[b]`` (exact products, ``trunc``,
    ``drum``: one term), statistics only (without them: BLAS): the products are ``xu * v`` of the
    input transformed once (``xu = u[xp]``) and one factor per tap (``v[w[mo, k]]``), and the
    whole output plane is one vector at the input's row stride (a multiply-add over the plane
    per tap instead of a gather per product and a loop per output row).
``"mul"``   a separable table with many rows, statistics only (without them: BLAS): the
    products ``u[x] * v[w]`` are formed in the walk (int16 lanes for 8-bit operands) from the
    activations' factors and the rows of ``v[wi]`` (a few KiB, in L1/L2) instead of gathered from
    ``L``; activations with ``u = 0`` are skipped, one chain per output column per row.
``"scatter"`` ``"conv"``'s sums from the input side, without statistics (a sparse input: MNIST's
    background): each pixel that adds anything adds its products to the outputs whose window
    holds it; zero pixels cost nothing and no product is gathered per output.
``"pix"``   ``"conv"``'s walk per output pixel with the group's output channels as lanes, over
    the taps that add anything in chain order (a sparse input, with statistics).
``stats``
    ``False``: ``acc += sum P`` only (``acc`` int32 for ``"rows"``: the caller keeps every sum of
    one call below ``2**31``; int64 for the others).
    ``True``: the products enter each accumulation chain's partial sum ``s`` in ``k`` order
    (``chain``, int32 when the caller has bounded every partial sum below ``2**31``, else int64;
    ``blocks[b] = (k0, k1, first, last)``: a chain starts with ``s = 0`` at a ``first`` block and
    is added to ``acc`` (int64) after a ``last`` one). Per product the kernel counts case (e),
    :func:`~axmac.golden.bypass.opposite_case_sum` of the addends ``p, s`` and their sum as the
    chain holds it (as the returns to 0, ``acc_zero(s + p) and not acc_zero(s)``, which is the
    same: see ``counting``); per chain end, :func:`~axmac.golden.bypass.acc_zero` of the final ``s``
    (``counts[part] = (opposite, chains ending at 0)``), and per ``(m, k)`` the histogram of the
    row indices (``hist``). Case (d), (a) and (b) follow from these (see ``counting``).

All layouts split rows (``"conv"``: images) into ``nparts`` contiguous parts, one per thread:
one fork/join per call.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from ..bypass import acc_zero, opposite_case_sum

#: Below this many MACs the numba kernels run on one thread (a fork/join costs more, more so
#: on a busy machine).
PARALLEL_MIN_WORK = 1 << 22
LAYOUTS = ("rows", "given", "direct", "conv", "sconv", "mul", "scatter", "pix")
#: ``"rows"``: a part of fewer than ``PRESENT_ROWS * 2**n`` rows gathers only the rows of ``L``
#: whose pattern occurs in its K-block (LeNet's fully connected layers at batch 1000: 256 x K x N
#: gathers for 1000 x K x N products); more rows hold nearly every pattern.
PRESENT_ROWS = 16


class threads:
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


# ------------------------------------------------------------------------------------------
# shared pieces (inlined into every specialisation)
# ------------------------------------------------------------------------------------------
@njit(inline="always")
def _kbmax(blocks):  # pragma: no cover - numba
    kb = 0
    for b in range(blocks.shape[0]):
        kb = max(kb, blocks[b, 1] - blocks[b, 0])
    return kb


def _row_adder(acc_type):
    """``add_rows(out, lrows, idx, c)``: ``out += sum_q lrows[idx[q]]`` for ``q < c``, eight rows
    per pass over ``out`` (then four, two, one). Every row is cast to ``acc_type`` (``out``'s
    dtype) before it is added: numba would widen an int16 sum to int64 (half the SIMD lanes)."""
    A = acc_type

    @njit(inline="always")
    def add_rows(out, lrows, idx, c):  # pragma: no cover - numba
        wn = out.shape[0]
        q = 0
        while q + 8 <= c:
            r0, r1, r2, r3 = lrows[idx[q]], lrows[idx[q + 1]], lrows[idx[q + 2]], lrows[idx[q + 3]]
            r4, r5, r6, r7 = lrows[idx[q + 4]], lrows[idx[q + 5]], lrows[idx[q + 6]], lrows[idx[q + 7]]
            for j in range(wn):
                out[j] += (((A(r0[j]) + A(r1[j])) + (A(r2[j]) + A(r3[j])))
                           + ((A(r4[j]) + A(r5[j])) + (A(r6[j]) + A(r7[j]))))
            q += 8
        if q + 4 <= c:
            r0, r1, r2, r3 = lrows[idx[q]], lrows[idx[q + 1]], lrows[idx[q + 2]], lrows[idx[q + 3]]
            for j in range(wn):
                out[j] += (A(r0[j]) + A(r1[j])) + (A(r2[j]) + A(r3[j]))
            q += 4
        if q + 2 <= c:
            r0, r1 = lrows[idx[q]], lrows[idx[q + 1]]
            for j in range(wn):
                out[j] += A(r0[j]) + A(r1[j])
            q += 2
        if q < c:
            r0 = lrows[idx[q]]
            for j in range(wn):
                out[j] += A(r0[j])

    return add_rows


@njit(inline="always")
def _walk_rows(s, lrows, idx, c, mask, ret):  # pragma: no cover - numba
    """Chain walk: for ``q < c``, ``s += lrows[idx[q]]`` element-wise, counting case (e) per
    element in ``ret``, four rows per pass (the partial sums stay in registers across them).
    Every sum is cast to ``s``'s dtype before it is tested: the chain holds it modulo its
    dtype, as the accumulator does (the caller keeps ``acc_bits <= 32`` or ``|s| < 2**31`` for
    int32 chains), and the test runs in that dtype. Case (e) is counted as the returns to 0,
    ``acc_zero(s + p) and not acc_zero(s)`` (:func:`~axmac.golden.bypass.opposite_case_sum`:
    ``p`` cannot read 0 then, see :mod:`.counting`)."""
    C = s.dtype.type
    R = ret.dtype.type
    wn = s.shape[0]
    q = 0
    while q + 4 <= c:
        r0, r1, r2, r3 = lrows[idx[q]], lrows[idx[q + 1]], lrows[idx[q + 2]], lrows[idx[q + 3]]
        for j in range(wn):
            s0 = s[j]
            s1 = C(s0 + C(r0[j]))
            s2 = C(s1 + C(r1[j]))
            s3 = C(s2 + C(r2[j]))
            s4 = C(s3 + C(r3[j]))
            n0 = (s0 & mask) != 0
            n1 = (s1 & mask) != 0
            n2 = (s2 & mask) != 0
            n3 = (s3 & mask) != 0
            n4 = (s4 & mask) != 0
            ret[j] += (R(n0 & ~n1) + R(n1 & ~n2)) + (R(n2 & ~n3) + R(n3 & ~n4))
            s[j] = s4
        q += 4
    while q < c:
        row = lrows[idx[q]]
        for j in range(wn):
            _step(s, j, C(row[j]), mask, ret)
        q += 1


@njit(inline="always")
def _walk_mul(s, vrows, idx, xs, c, mask, ret):  # pragma: no cover - numba
    """Chain walk of :func:`_walk_rows` with the products computed, not gathered: for ``q < c``,
    ``s += xs[q] * vrows[idx[q]]`` element-wise (a separable table: ``xs`` the activations'
    factors, ``vrows`` the weights'), each product formed in ``vrows``'s dtype (the caller
    bounds every product within it: int16 lanes for 8-bit operands) and widened to ``s``'s."""
    C = s.dtype.type
    P = vrows.dtype.type
    R = ret.dtype.type
    wn = s.shape[0]
    q = 0
    while q + 4 <= c:
        a0, a1, a2, a3 = xs[q], xs[q + 1], xs[q + 2], xs[q + 3]
        r0, r1, r2, r3 = vrows[idx[q]], vrows[idx[q + 1]], vrows[idx[q + 2]], vrows[idx[q + 3]]
        for j in range(wn):
            s0 = s[j]
            s1 = C(s0 + C(P(a0 * r0[j])))
            s2 = C(s1 + C(P(a1 * r1[j])))
            s3 = C(s2 + C(P(a2 * r2[j])))
            s4 = C(s3 + C(P(a3 * r3[j])))
            n0 = (s0 & mask) != 0
            n1 = (s1 & mask) != 0
            n2 = (s2 & mask) != 0
            n3 = (s3 & mask) != 0
            n4 = (s4 & mask) != 0
            ret[j] += (R(n0 & ~n1) + R(n1 & ~n2)) + (R(n2 & ~n3) + R(n3 & ~n4))
            s[j] = s4
        q += 4
    while q < c:
        a = xs[q]
        row = vrows[idx[q]]
        for j in range(wn):
            _step(s, j, C(P(a * row[j])), mask, ret)
        q += 1


@njit(inline="always")
def _step(s, q, p, mask, ret):  # pragma: no cover - numba
    """One step of chain ``q``: ``s[q] += p`` in the chain's dtype, counting a return to 0 in ``ret[q]``."""
    s0 = s[q]
    s1 = s.dtype.type(s0 + p)
    ret[q] += ret.dtype.type(((s0 & mask) != 0) & ((s1 & mask) == 0))
    s[q] = s1


@njit(inline="always")
def _walk_gather(s, lut, xs, mask, ret):  # pragma: no cover - numba
    """Chain walk of :func:`_walk_rows` with one product per chain: ``s[q] += lut[xs[q]]``."""
    C = s.dtype.type
    for q in range(s.shape[0]):
        _step(s, q, C(lut[xs[q]]), mask, ret)


@njit(inline="always")
def _walk_scaled(s, xu, v, mask, ret):  # pragma: no cover - numba
    """Chain walk of :func:`_walk_gather` with the products ``xu[q] * v`` (separable table)."""
    C = s.dtype.type
    for q in range(s.shape[0]):
        _step(s, q, C(xu[q]) * C(v), mask, ret)


@njit(inline="always")
def _end_plane(s, o, wp, mask):  # pragma: no cover - numba
    """:func:`_end_chains` of an output plane ``o`` (oh, ow) held at row stride ``wp`` in ``s``."""
    z = 0
    for r in range(o.shape[0]):
        for q in range(o.shape[1]):
            v = s[r * wp + q]
            o[r, q] += v
            z += acc_zero(v, mask)
    return z


@njit(inline="always")
def _end_chains(s, out, mask):  # pragma: no cover - numba
    """``out += s``; returns how many of the ``s`` read 0 in the accumulator."""
    z = 0
    for j in range(s.shape[0]):
        out[j] += s[j]
        z += acc_zero(s[j], mask)
    return z


@njit(inline="always")
def _flush(ret):  # pragma: no cover - numba
    """The sum of the int32 lane counters ``ret``, which are reset to 0 (flushed before they
    could overflow)."""
    total = 0
    for j in range(ret.shape[0]):
        total += ret[j]
        ret[j] = 0
    return total


@njit(inline="always")
def _tap_hist(xp, hist, cg, kh, kw, dh, dw, oh, ow, k_total, na):  # pragma: no cover - numba
    """``hist[(g*K + k)*na + a] +=`` how many outputs of the images ``xp`` (padded patterns)
    read pattern ``a`` at tap ``k = (c, i, j)`` of group ``g``: each non-zero input pixel is
    added to the taps whose window holds it, pattern 0 gets the rest (a background costs
    nothing)."""
    for n in range(xp.shape[0]):
        for ch in range(xp.shape[1]):
            base = (ch // cg) * k_total
            c = ch % cg
            for y in range(xp.shape[2]):
                row = xp[n, ch, y]
                for x in range(row.shape[0]):
                    a = row[x]
                    if a == 0:
                        continue
                    for i in range(kh):
                        r = y - i * dh
                        if r < 0 or r >= oh:
                            continue
                        for j in range(kw):
                            q = x - j * dw
                            if 0 <= q < ow:
                                hist[(base + (c * kh + i) * kw + j) * na + a] += 1
    for gk in range(hist.shape[0] // na):
        nonzero = 0
        for a in range(1, na):
            nonzero += hist[gk * na + a]
        hist[gk * na] = xp.shape[0] * oh * ow - nonzero


# ------------------------------------------------------------------------------------------
# the family
# ------------------------------------------------------------------------------------------
_CACHE: dict = {}


def kernel(layout: str, stats: bool):
    """The numba kernel of ``layout`` (see the module docstring), with or without statistics."""
    key = (layout, bool(stats))
    if key not in _CACHE:
        if layout not in LAYOUTS:
            raise ValueError(f"unknown kernel layout {layout!r}")
        if layout in ("sconv", "mul", "pix") and not stats:
            raise ValueError(f"the {layout!r} layout walks chains for statistics only")
        if layout == "scatter" and stats:
            raise ValueError("the 'scatter' layout adds products out of chain order: no statistics")
        _CACHE[key] = _make(layout, bool(stats))
    return _CACHE[key]


def _make(layout: str, STATS: bool):  # noqa: C901 - one loop nest per layout, flags are constants
    ROWS = layout == "rows"
    if layout in ("rows", "given"):
        add_rows = _row_adder(np.int32 if ROWS else np.int64)  # the dtype of acc without statistics

        @njit(parallel=True, cache=True)
        def rows_kernel(xi, wi, src, zrow, blocks, nb, n_first, nparts, mask,  # pragma: no cover
                        acc, chain, hist, counts):
            """``"rows"``: ``src`` is the table ``T`` and ``wi`` the weight patterns; ``"given"``:
            ``src`` holds the product rows, ``xi[m, kk]`` indexes them (``wi`` unused) and
            ``n_first`` is the first output column of ``src``'s columns."""
            m_total = xi.shape[0]
            n_total = wi.shape[1] if ROWS else n_first + src.shape[1]
            na = src.shape[0]
            kbm = _kbmax(blocks)
            for part in prange(nparts):
                r0 = part * m_total // nparts
                r1 = (part + 1) * m_total // nparts
                lflat = np.empty(kbm * na * nb if ROWS else 1, src.dtype)
                # few rows: gather only the rows of L whose pattern occurs in the block (see PRESENT_ROWS)
                sparse = ROWS and (r1 - r0) < PRESENT_ROWS * na
                used = np.empty(kbm * na if sparse else 1, np.bool_)
                idx = np.empty(kbm, np.int32)
                ret = np.zeros(nb, np.int32)
                n_ret = 0
                n_zero = 0
                for n0 in range(n_first, n_total, nb):
                    wn = min(nb, n_total - n0)
                    # C-contiguous rows of exactly wn products (a column slice would not vectorise)
                    lrows = lflat[:kbm * na * wn].reshape(kbm * na, wn) if ROWS else src
                    for b in range(blocks.shape[0]):
                        k0 = blocks[b, 0]
                        kb = blocks[b, 1] - k0
                        if ROWS:
                            if sparse:
                                used[:kb * na] = False
                                for m in range(r0, r1):
                                    for kk in range(kb):
                                        used[kk * na + xi[m, k0 + kk]] = True
                            for kk in range(kb):
                                for a in range(na):
                                    if sparse and not used[kk * na + a] or zrow[a]:
                                        continue  # never read: no row indexes it
                                    row = lrows[kk * na + a]
                                    for j in range(wn):
                                        row[j] = src[a, wi[k0 + kk, n0 + j]]
                        for m in range(r0, r1):
                            xr = xi[m, k0:k0 + kb]
                            c = 0
                            for kk in range(kb):
                                a = xr[kk]
                                r = np.int32(kk * na) + np.int32(a) if ROWS else np.int32(a)
                                idx[c] = r
                                c += not zrow[a]
                                if STATS and n0 == n_first:
                                    hist[part, k0 * na + r if ROWS else r] += 1
                            if STATS:
                                s = chain[m, n0:n0 + wn]
                                if blocks[b, 2]:
                                    s[:] = 0
                                _walk_rows(s, lrows, idx, c, mask, ret)
                                if blocks[b, 3]:
                                    n_zero += _end_chains(s, acc[m, n0:n0 + wn], mask)
                            else:
                                add_rows(acc[m, n0:n0 + wn], lrows, idx, c)
                        if STATS:  # int32 lane counters: at most rows x kb events between flushes
                            n_ret += _flush(ret[:wn])
                counts[part, 0] += n_ret
                counts[part, 1] += n_zero

        return rows_kernel

    if layout == "conv":

        @njit(parallel=True, cache=True)
        def conv_kernel(xp, lut, zero0, geom, k_tile, nparts, mask, out, chain, ret, hist, counts):  # pragma: no cover
            """``out[n, mo, r, q] += sum_k lut[mo, k, xp[n, g*cg + c, r + i*dh, q + j*dw]]`` over the
            taps ``k = (c, i, j)`` (channel-major: the chain order) of group ``g = mo // mg``;
            ``geom = (cg, kh, kw, dh, dw, oh, ow, mg)``; ``chain``/``ret`` hold one output row
            per part; ``hist[part, (g*K + k)*n + a]`` counts pattern ``a`` at tap ``k``
            (:func:`_tap_hist`). With
            ``zero0`` (row 0 of ``T`` is all zero) a tap whose input segment is all zero adds
            nothing and is skipped (an image's background, padding)."""
            cg, kh, kw, dh, dw, oh, ow, mg = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5], geom[6], geom[7]
            n_total = xp.shape[0]
            m_total, k_total = lut.shape[0], lut.shape[1]
            na = hist.shape[1] // ((m_total // mg) * k_total)  # patterns ("sconv": lut has one column)
            for part in prange(nparts):
                s = chain[part, :ow]
                e = ret[part, :ow]
                n_ret = 0
                n_zero = 0
                n0, n1 = part * n_total // nparts, (part + 1) * n_total // nparts
                if STATS:
                    _tap_hist(xp[n0:n1], hist[part], cg, kh, kw, dh, dw, oh, ow, k_total, na)
                for n in range(n0, n1):
                    for mo in range(m_total):
                        g = mo // mg
                        for r in range(oh):
                            o = out[n, mo, r]
                            s[:] = 0
                            k = 0
                            for c in range(cg):
                                for i in range(kh):
                                    xrow = xp[n, g * cg + c, r + i * dh]
                                    for j in range(kw):
                                        xs = xrow[j * dw:j * dw + ow]
                                        if STATS and k > 0 and k % k_tile == 0:  # a new chain
                                            n_zero += _end_chains(s, o, mask)
                                            s[:] = 0
                                        nz = not zero0
                                        for q in range(ow):
                                            nz |= xs[q] != 0
                                        if nz:
                                            lk = lut[mo, k]
                                            if STATS:
                                                _walk_gather(s, lk, xs, mask, e)
                                            else:
                                                for q in range(ow):
                                                    s[q] += lk[xs[q]]
                                        k += 1
                            if STATS:
                                n_zero += _end_chains(s, o, mask)
                                n_ret += _flush(e)
                            else:
                                for q in range(ow):
                                    o[q] += s[q]
                counts[part, 0] += n_ret
                counts[part, 1] += n_zero

        return conv_kernel

    if layout == "scatter":

        @njit(parallel=True, cache=True)
        def scatter_kernel(xp, luta, zrow, geom, nparts, out):  # pragma: no cover
            """``"scatter"``: the ``"conv"`` sums (no statistics) from the input side: every input
            pixel whose pattern ``a`` has a product row that is not all zero adds its products
            ``luta[a, mo, k]`` to the outputs ``(mo, r, q)`` whose window holds it at tap
            ``k = (c, i, j)`` (``r = y - i*dh``, ``q = x - j*dw``). Zero pixels (an image's
            background, padding, a ReLU's zeros) cost nothing, and no product is gathered."""
            cg, kh, kw, dh, dw, oh, ow, mg = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5], geom[6], geom[7]
            n_total = xp.shape[0]
            for part in prange(nparts):
                for n in range(part * n_total // nparts, (part + 1) * n_total // nparts):
                    o = out[n]
                    for ch in range(xp.shape[1]):
                        g, c = ch // cg, ch % cg
                        for y in range(xp.shape[2]):
                            row = xp[n, ch, y]
                            i0 = max(0, -((oh - 1 - y) // dh))  # the taps i with 0 <= y - i*dh < oh
                            i1 = min(kh, y // dh + 1)
                            for x in range(row.shape[0]):
                                a = row[x]
                                if zrow[a]:
                                    continue
                                j0 = max(0, -((ow - 1 - x) // dw))
                                j1 = min(kw, x // dw + 1)
                                la = luta[a]
                                for mo in range(g * mg, (g + 1) * mg):
                                    lm = la[mo]
                                    for i in range(i0, i1):
                                        orow = o[mo, y - i * dh]
                                        kb = (c * kh + i) * kw
                                        for j in range(j0, j1):
                                            orow[x - j * dw] += lm[kb + j]

        return scatter_kernel

    if layout == "pix":

        @njit(parallel=True, cache=True)
        def pix_kernel(xp, lutk, zrow, geom, k_tile, nparts, mask, out, chain, ret, hist, counts):  # pragma: no cover
            """``"pix"``: the ``"conv"`` walk (statistics) per output pixel with the group's
            output channels as lanes: the taps whose pattern has a product row that is not all
            zero are collected in chain order (``k = (c, i, j)``) and walked, ``s[o] +=
            lutk[k*na + a, g*lanes + o]``; the taps skipped add 0 and cannot return a chain to 0.
            ``lutk`` holds ``lanes >= mg`` columns per group (a whole number of SIMD vectors: the
            columns past ``mg`` are 0, their chains stay at 0 and are not counted). Chains
            restart every ``k_tile`` taps; ``chain``/``ret`` hold ``lanes`` per part; ``hist``
            as ``"conv"``'s (:func:`_tap_hist`)."""
            cg, kh, kw, dh, dw, oh, ow, mg = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5], geom[6], geom[7]
            n_total = xp.shape[0]
            groups = out.shape[1] // mg
            lanes = lutk.shape[1] // groups
            k_total = cg * kh * kw
            na = lutk.shape[0] // k_total
            C = chain.dtype.type
            for part in prange(nparts):
                s = chain[part, :lanes]
                e = ret[part, :lanes]
                idx = np.empty(k_total + 1, np.int32)
                n_ret = 0
                n_zero = 0
                n0, n1 = part * n_total // nparts, (part + 1) * n_total // nparts
                _tap_hist(xp[n0:n1], hist[part], cg, kh, kw, dh, dw, oh, ow, k_total, na)
                for n in range(n0, n1):
                    for g in range(groups):
                        for r in range(oh):
                            for q in range(ow):
                                c = 0
                                for ch in range(cg):
                                    for i in range(kh):
                                        row = xp[n, g * cg + ch, r + i * dh]
                                        kb = (ch * kh + i) * kw
                                        for j in range(kw):
                                            a = row[q + j * dw]
                                            idx[c] = (kb + j) * na + a
                                            c += not zrow[a]
                                idx[c] = k_total * na  # sentinel: past every tile
                                t = 0
                                for k0 in range(0, k_total, k_tile):  # one chain per tile
                                    for o in range(lanes):
                                        s[o] = 0
                                    while idx[t] < min(k0 + k_tile, k_total) * na:
                                        lk = lutk[idx[t], g * lanes:(g + 1) * lanes]
                                        for o in range(lanes):
                                            _step(s, o, C(lk[o]), mask, e)
                                        t += 1
                                    n_zero += _end_chains(s[:mg], out[n, g * mg:(g + 1) * mg, r, q], mask)
                    n_ret += _flush(e)  # int32 lane counters: at most K events per pixel
                counts[part, 0] += n_ret
                counts[part, 1] += n_zero

        return pix_kernel

    if layout == "sconv":

        @njit(parallel=True, cache=True)
        def plane_kernel(xp, xu, v, geom, k_tile, nparts, mask, out, chain, ret, hist, counts):  # pragma: no cover
            """``"sconv"``: ``out[n, mo, r, q] += sum_k xu[n, g*cg + c, (r + i*dh)*wp + q + j*dw] * v[mo, k]``
            (``xu``: the padded input's ``u`` values, rows of ``wp`` flattened; taps ``k = (c, i, j)``
            in chain order). Per image and output channel the whole output plane is one vector of
            chains at the input's row stride (``pos = r*wp + q``; lanes ``q >= ow`` hold sums of no
            output: neither added nor counted), so that a tap is one contiguous multiply-add over
            the plane; a tap whose factor ``v`` is 0 is skipped. ``hist`` as ``"conv"``'s."""
            cg, kh, kw, dh, dw, oh, ow, mg = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5], geom[6], geom[7]
            wp = xp.shape[3]
            n_total = xp.shape[0]
            m_total, k_total = v.shape
            na = hist.shape[1] // ((m_total // mg) * k_total)
            lanes = (oh - 1) * wp + ow
            for part in prange(nparts):
                s = chain[part, :lanes]
                e = ret[part, :lanes]
                n_ret = 0
                n_zero = 0
                n0, n1 = part * n_total // nparts, (part + 1) * n_total // nparts
                _tap_hist(xp[n0:n1], hist[part], cg, kh, kw, dh, dw, oh, ow, k_total, na)
                for n in range(n0, n1):
                    for mo in range(m_total):
                        g = mo // mg
                        o = out[n, mo]
                        s[:] = 0
                        e[:] = 0
                        for k in range(k_total):
                            if k > 0 and k % k_tile == 0:  # a new chain
                                n_zero += _end_plane(s, o, wp, mask)
                                s[:] = 0
                            f = v[mo, k]
                            if f == 0:
                                continue
                            c = k // (kh * kw)
                            off = (k // kw) % kh * dh * wp + k % kw * dw
                            _walk_scaled(s, xu[n, g * cg + c, off:off + lanes], f, mask, e)
                        n_zero += _end_plane(s, o, wp, mask)
                        for r in range(oh):
                            for q in range(ow):
                                n_ret += e[r * wp + q]
                counts[part, 0] += n_ret
                counts[part, 1] += n_zero

        return plane_kernel

    if layout == "mul":

        @njit(parallel=True, cache=True)
        def mul_kernel(xi, xf, vw, blocks, nparts, mask, acc, chain, hist, counts):  # pragma: no cover
            """``"mul"``: ``acc[m, n] += sum_k xf[xi[m, k]] * vw[k, n]`` for a separable table
            (``xf = u`` by activation pattern, ``vw = v[wi]``, both in the products' dtype):
            per row, its factors and the indices of the weight rows they scale are collected
            (activations with ``u = 0`` skipped: a ReLU's zeros) and the row's chains walked with
            :func:`_walk_mul`; ``blocks`` holds the chains (one block per K tile); ``chain``
            one row of partial sums per part; ``hist`` as ``"rows"``'s."""
            m_total = xi.shape[0]
            n_total = vw.shape[1]
            na = xf.shape[0]
            kbm = _kbmax(blocks)
            for part in prange(nparts):
                r0 = part * m_total // nparts
                r1 = (part + 1) * m_total // nparts
                s = chain[part]
                h = hist[part]
                idx = np.empty(kbm, np.int32)
                xs = np.empty(kbm, vw.dtype)
                ret = np.zeros(n_total, np.int32)
                n_ret = 0
                n_zero = 0
                for m in range(r0, r1):
                    for b in range(blocks.shape[0]):
                        if blocks[b, 2]:
                            s[:] = 0
                        c = 0
                        for k in range(blocks[b, 0], blocks[b, 1]):
                            a = xi[m, k]
                            h[k * na + a] += 1
                            f = xf[a]
                            idx[c] = k
                            xs[c] = f
                            c += f != 0
                        if mask == -1:  # a constant mask: no AND per partial sum
                            _walk_mul(s, vw, idx, xs, c, s.dtype.type(-1), ret)
                        else:
                            _walk_mul(s, vw, idx, xs, c, mask, ret)
                        if blocks[b, 3]:
                            n_zero += _end_chains(s, acc[m], mask)
                    n_ret += _flush(ret)  # int32 lane counters: at most K events per row
                counts[part, 0] += n_ret
                counts[part, 1] += n_zero

        return mul_kernel

    @njit(parallel=True, cache=True)
    def direct_kernel(xi, wi, table, blocks, nparts, mask, acc, chain, hist, counts):  # pragma: no cover
        """``"direct"``: ``acc[m, n] += sum_k table[xi[m, k], wi[k, n]]``; ``chain`` holds one
        row of partial sums per part."""
        m_total = xi.shape[0]
        n_total = wi.shape[1]
        na = table.shape[0]
        for part in prange(nparts):
            r0 = part * m_total // nparts
            r1 = (part + 1) * m_total // nparts
            n_ret = 0
            n_zero = 0
            s = chain[part if STATS else 0]
            for m in range(r0, r1):
                for b in range(blocks.shape[0]):
                    if STATS and blocks[b, 2]:
                        s[:] = 0
                    for k in range(blocks[b, 0], blocks[b, 1]):
                        row = table[xi[m, k]]
                        if not STATS:
                            for n in range(n_total):
                                acc[m, n] += row[wi[k, n]]
                            continue
                        hist[part, k * na + xi[m, k]] += 1
                        for n in range(n_total):
                            s0 = s[n]
                            p = row[wi[k, n]]
                            s[n] = s0 + p
                            n_ret += opposite_case_sum(p, s0, s[n], mask)
                    if STATS and blocks[b, 3]:
                        n_zero += _end_chains(s, acc[m], mask)
            counts[part, 0] += n_ret
            counts[part, 1] += n_zero

    return direct_kernel
