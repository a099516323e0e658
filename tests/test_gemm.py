"""golden/gemm/: bit-exact GEMM kernels against independent slow references.

ref_* functions compute the same thing the obvious way: the full ``M x K x N`` product tensor
from the multiplier model and the reference bypass of tests/test_bypass.py, summed with einsum,
and the trivial-computation counts from a per-element Python loop over the accumulation chains
with the reference cases of tests/test_bypass.py (the paper's definitions, modulo
``2**acc_bits`` as the accumulator reads them).
"""

from __future__ import annotations

import numpy as np
import pytest

from axmac.errors import AxmacError, SpecError
from axmac.golden import gemm
from axmac.golden.bypass import Bypass, acc_mask
from axmac.golden.gemm import blas_gemm, blas_plan, kernel_for, mac_gemm
from axmac.golden.multipliers import make_multiplier
from axmac.golden.multipliers.base import Multiplier, OperandFormat
from axmac.golden.stats import TrivialStats

from .test_bypass import ref_add_case, ref_mul_case, ref_products


class Perturbed(Multiplier):
    """A deliberately wrong multiplier: ``a*b + e(a, b)`` with ``e`` in -2..2 (zero for some
    nonzero operands and nonzero for some zero operands, so bypass and (d) really matter)."""

    family = "perturbed-test"

    def _product(self, a, b):
        e = (a * 7 + b * 13 + (a * b) % 11) % 5 - 2
        p = a * b + e
        return p if self.signed else np.maximum(p, 0)


def perturbed(bits: int, signed: bool) -> Perturbed:
    return Perturbed(OperandFormat(bits, signed))


# ---------------------------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------------------------
NONE = Bypass()


def ref_tensor(x, w, mult, bypass):
    return ref_products(np.asarray(x, np.int64)[:, :, None], np.asarray(w, np.int64)[None, :, :], mult, bypass)


def ref_gemm(x, w, mult, bypass=NONE):
    return np.einsum("mkn->mn", ref_tensor(x, w, mult, bypass))


def ref_stats(x, w, mult, bypass=NONE, k_tile=None, acc_bits=32) -> TrivialStats:
    """Per-element loop over every chain with the reference cases (Ma & Jiao Table I)."""
    p = ref_tensor(x, w, mult, bypass)
    m_, k_, n_ = p.shape
    st = TrivialStats(acc_bits=acc_bits)
    for m in range(m_):
        for n in range(n_):
            s = 0
            for k in range(k_):
                if k_tile is not None and k % k_tile == 0:
                    s = 0
                q = int(p[m, k, n])
                st.macs += 1
                case = ref_mul_case(int(x[m, k]), int(w[k, n]), mult.signed)
                st.zero += case == "zero"
                st.one += case == "one"
                case = ref_add_case(q, s, acc_bits)
                st.add_zero += case == "add_zero"
                st.opposite += case == "opposite"
                s += q
    st.x_zeros = int(np.sum(x == 0))
    st.x_count = x.size
    st.w_zeros = int(np.sum(w == 0))
    st.w_count = w.size
    return st


def rich_operands(rng, shape, fmt: OperandFormat, frac_special=0.5):
    """Random in-range operands, about half of them 0, +1, -1 or the extremes."""
    v = rng.integers(fmt.lo, fmt.hi + 1, size=shape, dtype=np.int64)
    special = np.array([0, 0, 1, -1, fmt.lo, fmt.hi, 2] if fmt.signed else [0, 0, 1, fmt.hi, 2])
    pick = rng.random(shape) < frac_special
    v[pick] = rng.choice(special, size=int(pick.sum()))
    return v


def with_opposites(x, w, fmt: OperandFormat):
    """Make opposite products (signed only): every 4th pair of columns of x repeats, the matching
    row of w is negated (clipped to the range), so chains see ``p, -p`` pairs (case (e))."""
    x = x.copy()
    w = w.copy()
    if fmt.signed:
        for k in range(0, x.shape[1] - 1, 4):
            x[:, k + 1] = x[:, k]
            w[k + 1] = np.clip(-w[k], fmt.lo, fmt.hi)
    return x, w


SPECS = ["exact", "trunc:2", "bam:3", "mitchell", "mitchw:2", "drum:3"]


def make(spec, bits, signed):
    if spec == "perturbed":
        return perturbed(bits, signed)
    return make_multiplier(spec, bits, signed)


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("bits", [4, 6, 8, 10])
@pytest.mark.parametrize("spec", ["exact", "perturbed"])
@pytest.mark.parametrize("bypass", ["none", "zero,one"])
def test_gemm_matches_reference(spec, bits, signed, bypass):
    rng = np.random.default_rng(bits * 10 + signed)
    mult = make(spec, bits, signed)
    bp = Bypass.parse(bypass)
    for m, k, n in ((1, 7, 3), (3, 40, 5), (130, 33, 9)):
        x = rich_operands(rng, (m, k), mult.fmt)
        w = rich_operands(rng, (k, n), mult.fmt)
        got = mac_gemm(x, w, mult=mult, bypass=bp)
        assert got.dtype == np.int64 and got.shape == (m, n)
        np.testing.assert_array_equal(got, ref_gemm(x, w, mult, bp))


def test_kernel_choice():
    assert kernel_for(make_multiplier("exact", 8, True)) == "blas"
    assert kernel_for(make_multiplier("exact", 8, True), with_stats=True) == "table"
    assert kernel_for(perturbed(8, True)) == "table"
    assert kernel_for(perturbed(12, True)) == "fallback"
    assert kernel_for(make_multiplier("exact", 12, False)) == "blas"
    assert kernel_for(make_multiplier("exact", 12, False), with_stats=True) == "fallback"
    # trunc:0 drops nothing: its table equals the exact one, so it takes the BLAS path
    assert kernel_for(make_multiplier("trunc:0", 8, True)) == "blas"
    # separable tables (rank 1; the +-1 bypass adds two terms) take BLAS on transformed operands
    for spec, bypasses in (("trunc:2", ("none", "zero", "all")), ("drum:4", ("none", "zero", "all")),
                           ("drum:2", ("none", "zero"))):
        for bp in bypasses:
            assert kernel_for(make_multiplier(spec, 8, True), Bypass.parse(bp)) == "lowrank"
            assert kernel_for(make_multiplier(spec, 8, True), Bypass.parse(bp), with_stats=True) == "table"
    # drum:2 signed with the +-1 bypass needs 4 terms (one saturated entry): above MAX_LOWRANK = 3
    assert kernel_for(make_multiplier("drum:2", 8, True), Bypass.parse("all")) == "table"
    assert kernel_for(make_multiplier("mitchell", 8, True)) == "table"


@pytest.mark.parametrize("spec", ["trunc:3", "drum:4", "drum:2", "bam:3", "mitchw:2"])
@pytest.mark.parametrize("signed", [True, False])
def test_lowrank_plans_are_exact(spec, signed, monkeypatch):
    """Every plan that takes the BLAS path on transformed operands reproduces its table exactly,
    and the GEMM matches the reference, with each bypass subset and extreme operands (up to 4
    terms here: bam:3 and mitchw:2 need 4)."""
    monkeypatch.setattr(gemm.plan, "MAX_LOWRANK", 4)
    rng = np.random.default_rng(31)
    mult = make_multiplier(spec, 8, signed)
    fmt = mult.fmt
    for bp in ("none", "zero", "one", "all"):
        plan = gemm.make_plan(mult, Bypass.parse(bp))
        if plan.terms is None:
            continue
        rebuilt = sum(np.outer(u, v) for u, v in plan.terms)
        np.testing.assert_array_equal(rebuilt, plan.table)
        x = rich_operands(rng, (40, 300), fmt)
        x[:5] = fmt.lo if signed else fmt.hi  # long runs of the largest products
        w = rich_operands(rng, (300, 7), fmt)
        w[:, :2] = fmt.lo if signed else fmt.hi
        np.testing.assert_array_equal(mac_gemm(x, w, mult=mult, bypass=Bypass.parse(bp)),
                                      ref_gemm(x, w, mult, Bypass.parse(bp)))
        assert plan.kernel(False) == "lowrank"
    assert gemm.make_plan(mult).terms is not None


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("signed", [True, False])
def test_real_approximate_families(spec, signed):
    rng = np.random.default_rng(7)
    mult = make_multiplier(spec, 8, signed)
    for bp in (Bypass(), Bypass.parse("all")):
        x = rich_operands(rng, (150, 37), mult.fmt)
        w = rich_operands(rng, (37, 11), mult.fmt)
        np.testing.assert_array_equal(mac_gemm(x, w, mult=mult, bypass=bp), ref_gemm(x, w, mult, bp))


@pytest.mark.parametrize("signed", [True, False])
def test_fallback_wide_operands(signed, monkeypatch):
    """12-bit perturbed multiplier: no table, chunked model (chunks forced small)."""
    monkeypatch.setattr(gemm.fallback, "FALLBACK_CHUNK", 200)
    rng = np.random.default_rng(3)
    mult = perturbed(12, signed)
    x = rich_operands(rng, (23, 19), mult.fmt)
    w = rich_operands(rng, (19, 6), mult.fmt)
    x, w = with_opposites(x, w, mult.fmt)
    for bp in (Bypass(), Bypass.parse("zero,one")):
        np.testing.assert_array_equal(mac_gemm(x, w, mult=mult, bypass=bp), ref_gemm(x, w, mult, bp))
        st = TrivialStats()  # several column blocks and K-blocks per chain
        got = mac_gemm(x, w, mult=mult, bypass=bp, stats=st, k_tile=11)
        np.testing.assert_array_equal(got, ref_gemm(x, w, mult, bp))
        assert st == ref_stats(x, w, mult, bp, k_tile=11)


def test_table_kernel_blocking(monkeypatch):
    """Force column blocks, K blocks, int32 spans and several row parts; compare each."""
    rng = np.random.default_rng(11)
    mult = perturbed(6, True)
    x = rich_operands(rng, (300, 45), mult.fmt)
    w = rich_operands(rng, (45, 13), mult.fmt)
    ref = ref_gemm(x, w, mult)
    monkeypatch.setattr(gemm.kernels, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(gemm.table, "N_BLOCK", 4)
    monkeypatch.setattr(gemm.table, "L_BLOCK_BYTES", 64 * 4 * 2 * 3)  # 3 k per block (int16 table)
    monkeypatch.setattr(gemm.table, "STATS_L_BLOCK_BYTES", 64 * 4 * 2 * 3)
    monkeypatch.setattr(gemm.table, "INT32_LIMIT", 1025 * 10)  # spans of 10 k (max |P| = 1025)
    np.testing.assert_array_equal(mac_gemm(x, w, mult=mult), ref)
    st, st_ref = TrivialStats(), ref_stats(x[:70], w, mult, k_tile=5)
    np.testing.assert_array_equal(mac_gemm(x[:70], w, mult=mult, stats=st, k_tile=5), ref[:70])
    assert st == st_ref


# ---------------------------------------------------------------------------------------------
# the float BLAS path: exact at the 2**24 boundary
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bits, signed", [(8, True), (8, False), (10, True), (12, True), (16, True), (16, False)])
def test_blas_chunk_bound(bits, signed):
    fmt = OperandFormat(bits, signed)
    big = max(abs(fmt.lo), fmt.hi)
    max_prod = big * big
    for k in (1, 100, 5000, 100000):
        dt, kc = blas_plan(max_prod, k)
        limit = gemm.blas.F32_EXACT if dt == np.float32 else gemm.blas.F64_EXACT
        assert 1 <= kc <= k
        assert kc * max_prod <= limit
        assert kc == k or (kc + 1) * max_prod > limit


@pytest.mark.parametrize("bits, signed", [(8, True), (8, False), (10, True), (12, True), (16, True), (16, False)])
def test_blas_exact_at_max_magnitude(bits, signed):
    """Max-magnitude operands and long K: sums far beyond 2**24 stay exact."""
    rng = np.random.default_rng(bits)
    mult = make_multiplier("exact", bits, signed)
    fmt = mult.fmt
    k = 6000
    x = np.full((4, k), fmt.hi, dtype=np.int64)  # hi is odd: odd products, odd sums
    x[1] = rng.integers(fmt.lo, fmt.hi + 1, size=k)
    x[2, ::2] = fmt.lo
    x[3] = fmt.lo
    w = np.full((k, 4), fmt.hi, dtype=np.int64)
    w[:, 1] = rng.integers(fmt.lo, fmt.hi + 1, size=k)
    w[::3, 2] = fmt.lo
    w[:, 3] = fmt.lo
    w[5, 3] = 1
    ref = x @ w  # int64 matmul: exact
    assert np.abs(ref).max() > 2**24
    got = mac_gemm(x, w, mult=mult)
    np.testing.assert_array_equal(got, ref)


def test_blas_naive_float32_would_fail():
    """The test data above does break a plain float32 GEMM, so the chunking is what saves it."""
    rng = np.random.default_rng(0)
    x = np.full((1, 6000), 127, dtype=np.int64)
    w = rng.integers(64, 128, size=(6000, 8))  # odd products, sums near 2**26
    ref = x @ w
    naive = (x.astype(np.float32) @ w.astype(np.float32)).astype(np.int64)
    assert not np.array_equal(naive, ref)
    np.testing.assert_array_equal(blas_gemm(x, w), ref)


def test_blas_chunk_accumulation_paths(monkeypatch):
    """Shrunken exactness limits force float64 chunks summed in int64: still exact."""
    monkeypatch.setattr(gemm.blas, "F32_EXACT", 1 << 16)
    monkeypatch.setattr(gemm.blas, "F64_EXACT", 1 << 20)
    rng = np.random.default_rng(2)
    x = rng.integers(-128, 128, size=(5, 300))
    w = rng.integers(-128, 128, size=(300, 7))
    assert blas_plan(128 * 128, 300) == (np.float64, 64)
    np.testing.assert_array_equal(blas_gemm(x, w), x @ w)


# ---------------------------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k_tile", [None, 1, 4, 7])
@pytest.mark.parametrize(
    "spec, bits, signed, bypass",
    [
        ("exact", 8, True, "none"),
        ("exact", 4, False, "none"),
        ("perturbed", 4, True, "none"),
        ("perturbed", 4, True, "all"),
        ("perturbed", 8, False, "zero"),
        ("drum:2", 6, True, "all"),
        ("trunc:2", 6, True, "none"),  # zero rows of T for nonzero operands (skipped rows)
        ("trunc:2", 6, False, "all"),
        ("perturbed", 12, True, "one"),  # fallback kernel
        ("exact", 11, True, "none"),  # exact, but no table: fallback kernel for the statistics
    ],
)
def test_stats_match_loop_reference(spec, bits, signed, bypass, k_tile):
    rng = np.random.default_rng(bits + 100 * signed)
    mult = make(spec, bits, signed)
    bp = Bypass.parse(bypass)
    fmt = mult.fmt
    small = OperandFormat(bits, signed)
    for m, k, n in ((2, 13, 3), (40, 21, 5), (70, 9, 9)):  # direct; rows with fewer columns than a vector, and more
        x = rich_operands(rng, (m, k), small, 0.6)
        w = rich_operands(rng, (k, n), small, 0.6)
        x = np.clip(x // 8, fmt.lo, fmt.hi) if bits > 6 else x  # small values: more (d)/(e)
        x, w = with_opposites(x, w, fmt)
        st = TrivialStats()
        got = mac_gemm(x, w, mult=mult, bypass=bp, stats=st, k_tile=k_tile)
        np.testing.assert_array_equal(got, ref_gemm(x, w, mult, bp))
        ref = ref_stats(x, w, mult, bp, k_tile)
        assert st == ref
    if signed and k_tile != 1:
        assert ref.opposite > 0  # the data does exercise case (e)


def test_stats_accumulate_and_tile_effect():
    mult = make_multiplier("exact", 8, True)
    x = np.array([[3, 0, 1, -1, 2, 2]])
    w = np.array([[2], [5], [-6], [0], [4], [-4]])
    # products 6, 0, -6, 0, 8, -8; chain: s=0 | 6 | 6 | 0 | 0 | 8
    st = TrivialStats()
    assert mac_gemm(x, w, mult=mult, stats=st)[0, 0] == 0
    assert (st.macs, st.zero, st.one, st.add_zero, st.opposite) == (6, 2, 1, 4, 2)
    # tiles of 3: chains (6, 0, -6) and (0, 8, -8): (d) at k=0, 1, 3, 4; (e) at k=2, 5
    st2 = TrivialStats()
    mac_gemm(x, w, mult=mult, stats=st2, k_tile=3)
    assert (st2.add_zero, st2.opposite) == (4, 2)
    # tiles of 2: chains (6, 0) (-6, 0) (8, -8)
    st3 = TrivialStats()
    mac_gemm(x, w, mult=mult, stats=st3, k_tile=2)
    assert (st3.add_zero, st3.opposite) == (5, 1)
    st += st2
    assert st.macs == 12 and st.w_count == 12 and st.x_zeros == 2


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------
def test_bad_input():
    mult = make_multiplier("exact", 8, True)
    x = np.zeros((2, 3), np.int64)
    w = np.zeros((3, 4), np.int64)
    with pytest.raises(AxmacError, match="do not match"):
        mac_gemm(x, w.T, mult=mult)
    with pytest.raises(AxmacError, match="2-D"):
        mac_gemm(x[0], w, mult=mult)
    with pytest.raises(AxmacError, match="integer"):
        mac_gemm(x.astype(float), w, mult=mult)
    with pytest.raises(SpecError, match="out of range"):
        mac_gemm(x + 128, w, mult=mult)
    with pytest.raises(SpecError, match="out of range"):
        mac_gemm(x, w - 129, mult=make_multiplier("exact", 8, True))
    with pytest.raises(AxmacError, match="k_tile"):
        mac_gemm(x, w, mult=mult, k_tile=0)
    with pytest.raises(AxmacError, match="Multiplier"):
        mac_gemm(x, w, mult="exact")
    with pytest.raises(AxmacError, match="Bypass"):
        mac_gemm(x, w, mult=mult, bypass="all")
    with pytest.raises(AxmacError, match="TrivialStats"):
        mac_gemm(x, w, mult=mult, stats={})


def test_empty_shapes():
    mult = perturbed(6, True)
    for m, k, n in ((0, 3, 2), (2, 0, 3), (2, 3, 0)):
        st = TrivialStats()
        got = mac_gemm(np.zeros((m, k), np.int64), np.ones((k, n), np.int64), mult=mult, stats=st)
        assert got.shape == (m, n) and not got.any()
        assert st.macs == 0


@pytest.mark.parametrize("k_tile", [None, 3])
@pytest.mark.parametrize("signed", [True, False])
def test_stats_agree_with_pe_control_codes(signed, k_tile):
    """The counts equal the PE model's control codes (golden/pe.py, all cases enabled) over the
    chains: MUL codes per product, ADD codes per (product, incoming partial sum)."""
    from axmac.golden import pe

    rng = np.random.default_rng(21)
    mult = perturbed(5, signed)
    bp = Bypass.parse("all")
    x = rich_operands(rng, (33, 14), mult.fmt, 0.7)
    w = rich_operands(rng, (14, 6), mult.fmt, 0.7)
    x, w = with_opposites(x, w, mult.fmt)
    a, b = x[:, :, None], w[None, :, :]
    p = pe.pe_products(mult, bp, a, b)
    psum = np.zeros_like(p)
    k = x.shape[1]
    tile = k if k_tile is None else k_tile
    for t0 in range(0, k, tile):
        c = np.cumsum(p[:, t0:t0 + tile], axis=1)
        psum[:, t0:t0 + tile] = c - p[:, t0:t0 + tile]
    mul = pe.mul_ctrl(a, b, bp, signed)
    add = pe.add_ctrl(p, psum, bp, acc_bits=32)
    st = TrivialStats()
    mac_gemm(x, w, mult=mult, bypass=bp, stats=st, k_tile=k_tile)
    assert st.zero == np.count_nonzero(mul == pe.MUL_ZERO)
    assert st.one == np.count_nonzero((mul == pe.MUL_A_ONE) | (mul == pe.MUL_B_ONE))
    assert st.add_zero == np.count_nonzero((add == pe.ADD_A_ZERO) | (add == pe.ADD_B_ZERO))
    assert st.opposite == np.count_nonzero(add == pe.ADD_OPPOSITE)
    assert st.macs == p.size


def test_plan_cache_does_not_keep_multipliers_alive():
    import gc
    import weakref

    mult = perturbed(6, True)
    mac_gemm(np.ones((3, 2), np.int64), np.ones((2, 2), np.int64), mult=mult)
    assert gemm.make_plan(mult) is gemm.make_plan(mult)  # cached
    ref = weakref.ref(mult)
    del mult
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize("k_tile", [None, 6, 7])
def test_few_columns_blocking(k_tile, monkeypatch):
    """Fewer than 8 columns (shorter than a SIMD vector), K-blocks of 4 inside longer chains,
    two row parts, int32 spans."""
    rng = np.random.default_rng(12)
    mult = perturbed(6, True)
    x = rich_operands(rng, (150, 30), mult.fmt, 0.7)
    w = rich_operands(rng, (30, 5), mult.fmt, 0.7)
    x, w = with_opposites(x, w, mult.fmt)
    monkeypatch.setattr(gemm.kernels, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(gemm.table, "L_BLOCK_BYTES", 64 * 5 * 2 * 4)  # 4 k per block
    monkeypatch.setattr(gemm.table, "STATS_L_BLOCK_BYTES", 64 * 5 * 2 * 4)
    monkeypatch.setattr(gemm.table, "INT32_LIMIT", 1026 * 9)
    ref = ref_gemm(x, w, mult)
    np.testing.assert_array_equal(mac_gemm(x, w, mult=mult), ref)
    st = TrivialStats()
    np.testing.assert_array_equal(mac_gemm(x, w, mult=mult, stats=st, k_tile=k_tile), ref)
    assert st == ref_stats(x, w, mult, k_tile=k_tile)


@pytest.mark.parametrize("spec, bits, signed", [("exact", 8, True), ("perturbed", 8, True), ("perturbed", 8, False),
                                                ("perturbed", 12, True), ("exact", 16, False)])
def test_operand_dtypes(spec, bits, signed):
    """Narrow integer dtypes (the engine passes int16) give the int64 results."""
    from axmac.golden.conv import conv2d_nchw

    rng = np.random.default_rng(4)
    mult = make(spec, bits, signed)
    x = rich_operands(rng, (70, 12), mult.fmt)
    w = rich_operands(rng, (12, 5), mult.fmt)
    ref = ref_gemm(x, w, mult)
    xc = rich_operands(rng, (2, 3, 6, 6), mult.fmt)
    wc = rich_operands(rng, (4, 3, 3, 3), mult.fmt)
    ref_c = conv2d_nchw(xc, wc, mult=mult, pads=(1, 1, 1, 1))
    dtypes = [np.int16, np.int32, np.int64] if signed else [np.uint16, np.int32, np.uint64]
    if bits <= 8:
        dtypes.append(np.int8 if signed else np.uint8)
    for dt in dtypes:
        st = TrivialStats()
        np.testing.assert_array_equal(mac_gemm(x.astype(dt), w.astype(dt), mult=mult), ref)
        np.testing.assert_array_equal(mac_gemm(x.astype(dt), w.astype(dt), mult=mult, stats=st), ref)
        assert st == ref_stats(x, w, mult)
        np.testing.assert_array_equal(conv2d_nchw(xc.astype(dt), wc.astype(dt), mult=mult, pads=(1, 1, 1, 1)), ref_c)


# ---------------------------------------------------------------------------------------------
# the accumulator width of cases (d)/(e)
# ---------------------------------------------------------------------------------------------
def wrapping_operands(rng, m, k, n, fmt: OperandFormat):
    """Operands whose partial sums pass multiples of ``2**(2*bits)``: runs of the largest
    product (``lo * lo``), so an accumulator of ``2*bits`` bits reads 0 where exact sums do not."""
    x = rich_operands(rng, (m, k), fmt, 0.3)
    w = rich_operands(rng, (k, n), fmt, 0.3)
    x[::2, :] = fmt.lo
    w[:, ::2] = fmt.lo
    return x, w


@pytest.mark.parametrize("m, n", [(3, 5), (40, 5), (70, 9)])  # direct; rows with few and more columns
@pytest.mark.parametrize("spec", ["exact", "perturbed"])
def test_stats_modulo_accumulator(m, n, spec):
    """4-bit operands into an 8-bit accumulator: (d)/(e) are tested modulo 2**8, as in the PE."""
    rng = np.random.default_rng(m + n)
    mult = make(spec, 4, True)
    x, w = wrapping_operands(rng, m, 24, n, mult.fmt)
    for k_tile in (None, 7):
        st = TrivialStats(acc_bits=8)
        got = mac_gemm(x, w, mult=mult, stats=st, k_tile=k_tile)
        np.testing.assert_array_equal(got, ref_gemm(x, w, mult))  # the result stays exact
        ref8 = ref_stats(x, w, mult, k_tile=k_tile, acc_bits=8)
        assert st == ref8
        if spec == "exact":  # runs of 64 reach 256: the wrap matters here
            ref32 = ref_stats(x, w, mult, k_tile=k_tile, acc_bits=32)
            assert (ref8.add_zero, ref8.opposite) != (ref32.add_zero, ref32.opposite)
        st_kw = TrivialStats(acc_bits=8)
        mac_gemm(x, w, mult=mult, stats=st_kw, k_tile=k_tile, acc_bits=8)
        assert st_kw == st


def test_stats_modulo_accumulator_fallback():
    """12-bit operands into a 24-bit accumulator (the fallback kernel, int64 partial sums)."""
    rng = np.random.default_rng(8)
    mult = make_multiplier("exact", 12, True)
    x, w = wrapping_operands(rng, 30, 20, 6, mult.fmt)
    st = TrivialStats(acc_bits=24)
    mac_gemm(x, w, mult=mult, stats=st, k_tile=9)
    ref24 = ref_stats(x, w, mult, k_tile=9, acc_bits=24)
    assert st == ref24 and ref24.opposite != ref_stats(x, w, mult, k_tile=9).opposite


def test_stats_int64_chains(monkeypatch):
    """Partial sums that could reach 2**31 take int64 chains: forced here, same counts."""
    from axmac.golden.gemm import counting

    rng = np.random.default_rng(10)
    mult = perturbed(6, True)
    x, w = wrapping_operands(rng, 70, 30, 9, mult.fmt)
    ref = ref_stats(x, w, mult, k_tile=8, acc_bits=12)
    for forced in (False, True):
        if forced:
            monkeypatch.setattr(gemm.table, "chain_dtype", lambda tile, max_abs, acc_bits:
                                (np.int64, int(counting.acc_mask(acc_bits))))
        for m in (3, 40, 70):
            cols = 5 if m == 40 else 9
            st = TrivialStats(acc_bits=12)
            mac_gemm(x[:m], w[:, :cols], mult=mult, stats=st, k_tile=8)
            assert st == ref_stats(x[:m], w[:, :cols], mult, k_tile=8, acc_bits=12)
    assert ref.opposite > 0


def test_acc_bits_checks():
    mult = make_multiplier("exact", 8, True)
    x = np.ones((2, 3), np.int64)
    w = np.ones((3, 2), np.int64)
    with pytest.raises(AxmacError, match="acc_bits must be in 16..64"):
        mac_gemm(x, w, mult=mult, stats=TrivialStats(acc_bits=12))
    with pytest.raises(AxmacError, match="acc_bits must be in 16..64"):
        mac_gemm(x, w, mult=mult, acc_bits=65)
    with pytest.raises(AxmacError, match="disagrees"):
        mac_gemm(x, w, mult=mult, stats=TrivialStats(acc_bits=32), acc_bits=24)
    with pytest.raises(ValueError, match="cannot add"):
        TrivialStats(acc_bits=24).__iadd__(TrivialStats())
    np.testing.assert_array_equal(mac_gemm(x, w, mult=mult, acc_bits=20), x @ w)


def test_derived_data_shared_by_equal_tables():
    """New multiplier objects with the same table (the engine makes them per run) reuse one
    decomposition and one set of statistics grids; another bypass is another table."""
    a, b = make_multiplier("drum:4", 8, True), make_multiplier("drum:4", 8, True)
    pa, pb = gemm.make_plan(a), gemm.make_plan(b)
    assert pa is not pb and pa.memo is pb.memo and pa.terms is pb.terms
    assert gemm.make_plan(a, Bypass.parse("one")).memo is not pa.memo
    with pytest.raises(ValueError):
        pa.table[0, 0] = 1  # shared: read-only


@pytest.mark.parametrize("acc_bits, chain64", [(16, False), (32, False), (64, False), (32, True), (16, True)])
def test_table_rows_every_pass_length(monkeypatch, acc_bits, chain64):
    """K-blocks of 13 and rows with 0..13 non-zero activations per block: every tail of the
    eight- and four-row passes of the sums and of the chain walk; 11 columns (not a multiple
    of a SIMD vector), chains of 20 straddling blocks, zero rows; int32 and int64 chains."""
    rng = np.random.default_rng(21)
    mult = perturbed(6, True)
    x = rich_operands(rng, (56, 39), mult.fmt, 0.3)
    w = rich_operands(rng, (39, 11), mult.fmt, 0.3)
    x, w = with_opposites(x, w, mult.fmt)
    for i in range(x.shape[0]):  # row i keeps about i % 14 non-zero activations per block
        x[i, rng.random(39) < 1 - (i % 14) / 13] = 0
    x[5] = 0
    monkeypatch.setattr(gemm.table, "L_BLOCK_BYTES", 64 * 11 * 2 * 13)
    monkeypatch.setattr(gemm.table, "STATS_L_BLOCK_BYTES", 64 * 11 * 2 * 13)
    if chain64:
        monkeypatch.setattr(gemm.table, "chain_dtype", lambda tile, max_abs, bits: (np.int64, int(acc_mask(bits))))
    ref = ref_gemm(x, w, mult)
    np.testing.assert_array_equal(mac_gemm(x, w, mult=mult), ref)
    st = TrivialStats(acc_bits=acc_bits)
    np.testing.assert_array_equal(mac_gemm(x, w, mult=mult, stats=st, k_tile=20), ref)
    assert st == ref_stats(x, w, mult, k_tile=20, acc_bits=acc_bits)
    assert st.opposite > 0
