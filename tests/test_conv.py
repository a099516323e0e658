"""golden/conv.py: conv2d_nchw against a direct convolution and onnx's reference Conv."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from axmac.errors import AxmacError, SpecError
from axmac.golden import conv as conv_mod
from axmac.golden import gemm
from axmac.golden.bypass import Bypass
from axmac.golden.conv import conv2d_nchw
from axmac.golden.multipliers import make_multiplier
from axmac.golden.stats import TrivialStats

from .test_bypass import ref_products
from .test_gemm import perturbed, ref_stats, rich_operands

NONE = Bypass()


def out_hw(h, w, kh, kw, s, p, d):
    return ((h + p[0] + p[2] - d[0] * (kh - 1) - 1) // s[0] + 1,
            (w + p[1] + p[3] - d[1] * (kw - 1) - 1) // s[1] + 1)


def ref_conv(x, w, s, p, d, g, mult, bypass=NONE):
    """Direct convolution: explicit zero padding, one shifted window per kernel tap."""
    n_, c, h, wd = x.shape
    m_, cg, kh, kw = w.shape
    xp = np.pad(x.astype(np.int64), ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
    oh, ow = out_hw(h, wd, kh, kw, s, p, d)
    out = np.zeros((n_, m_, oh, ow), np.int64)
    mg = m_ // g
    for m in range(m_):
        gg = m // mg
        for i in range(kh):
            for j in range(kw):
                a = xp[:, gg * cg:(gg + 1) * cg, i * d[0]:i * d[0] + (oh - 1) * s[0] + 1:s[0],
                       j * d[1]:j * d[1] + (ow - 1) * s[1] + 1:s[1]]
                b = w[m, :, i, j].astype(np.int64)[None, :, None, None]
                prod = ref_products(a, b, mult, bypass)
                out[:, m] += prod.sum(axis=1)
    return out


def ref_im2col(x, w, s, p, d, g):
    """Per-group (P, K) / (K, N) GEMM operands built pixel by pixel, K ordered (c, i, j)."""
    n_, c, h, wd = x.shape
    m_, cg, kh, kw = w.shape
    oh, ow = out_hw(h, wd, kh, kw, s, p, d)
    out = []
    for gg in range(g):
        cols = np.zeros((n_ * oh * ow, cg * kh * kw), np.int64)
        r = 0
        for n in range(n_):
            for y in range(oh):
                for z in range(ow):
                    col = 0
                    for cc in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                hh = y * s[0] + i * d[0] - p[0]
                                ww = z * s[1] + j * d[1] - p[1]
                                if 0 <= hh < h and 0 <= ww < wd:
                                    cols[r, col] = x[n, gg * cg + cc, hh, ww]
                                col += 1
                    r += 1
        mg = m_ // g
        out.append((cols, w[gg * mg:(gg + 1) * mg].reshape(mg, -1).T))
    return out


def onnx_conv(x, w, s, p, d, g):
    """onnx.reference's Conv on float64 copies of the integers (exact: small sums)."""
    node = helper.make_node("Conv", ["x", "w"], ["y"], strides=list(s), pads=[p[0], p[1], p[2], p[3]],
                            dilations=list(d), group=g)
    graph = helper.make_graph([node], "conv",
                              [helper.make_tensor_value_info("x", TensorProto.DOUBLE, x.shape),
                               helper.make_tensor_value_info("w", TensorProto.DOUBLE, w.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [None] * 4)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    onnx.checker.check_model(model)
    (y,) = ReferenceEvaluator(model).run(None, {"x": x.astype(np.float64), "w": w.astype(np.float64)})
    return y


# (x shape, w shape, strides, pads, dilations, group)
GEOMETRIES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((1, 4, 9, 8), (6, 2, 3, 2), (2, 1), (1, 0, 2, 1), (1, 2), 2),
    ((2, 2, 10, 9), (3, 2, 2, 3), (3, 2), (0, 2, 1, 0), (2, 1), 1),
    ((2, 4, 6, 6), (4, 1, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 4),  # depthwise
    ((1, 3, 5, 7), (6, 1, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 3),  # depthwise, multiplier 2
    ((3, 1, 8, 8), (2, 1, 5, 5), (1, 1), (0, 0, 0, 0), (1, 1), 1),  # LeNet-like, C = 1
    ((1, 5, 1, 1), (7, 5, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),  # 1x1 on 1x1: a GEMM
]


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_exact_vs_onnx_reference(geom):
    xs, ws, s, p, d, g = geom
    rng = np.random.default_rng(sum(xs))
    mult = make_multiplier("exact", 8, True)
    x = rich_operands(rng, xs, mult.fmt)
    w = rich_operands(rng, ws, mult.fmt)
    got = conv2d_nchw(x, w, strides=s, pads=p, dilations=d, group=g, mult=mult)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, onnx_conv(x, w, s, p, d, g).astype(np.int64))
    np.testing.assert_array_equal(got, ref_conv(x, w, s, p, d, g, mult))


@pytest.mark.parametrize("geom", GEOMETRIES)
@pytest.mark.parametrize("spec, bits, signed, bypass", [
    ("perturbed", 6, True, "none"),
    ("perturbed", 6, False, "zero,one"),
    ("drum:3", 8, True, "all"),  # separable: BLAS on transformed operands (3 terms)
    ("trunc:2", 6, False, "none"),  # separable, 1 term
    ("drum:4", 8, True, "zero"),
    ("mitchell", 8, True, "one"),  # table kernel
    ("perturbed", 12, True, "zero"),  # fallback kernel
])
def test_approximate_vs_direct(geom, spec, bits, signed, bypass):
    xs, ws, s, p, d, g = geom
    rng = np.random.default_rng(sum(ws))
    mult = perturbed(bits, signed) if spec == "perturbed" else make_multiplier(spec, bits, signed)
    bp = Bypass.parse(bypass)
    x = rich_operands(rng, xs, mult.fmt)
    w = rich_operands(rng, ws, mult.fmt)
    got = conv2d_nchw(x, w, strides=s, pads=p, dilations=d, group=g, mult=mult, bypass=bp)
    np.testing.assert_array_equal(got, ref_conv(x, w, s, p, d, g, mult, bp))


@pytest.mark.parametrize("geom", GEOMETRIES[1:6])
@pytest.mark.parametrize("k_tile", [None, 5])
@pytest.mark.parametrize("spec, bits", [("exact", 4), ("perturbed", 4), ("perturbed", 11)])
def test_stats_vs_im2col_loop(geom, k_tile, spec, bits):
    """Statistics = the loop reference over pixel-by-pixel im2col GEMMs, chains in (c, i, j)."""
    xs, ws, s, p, d, g = geom
    rng = np.random.default_rng(1)
    mult = perturbed(bits, True) if spec == "perturbed" else make_multiplier(spec, bits, True)
    bp = Bypass.parse("all")
    x = rich_operands(rng, xs, mult.fmt, 0.7)
    w = rich_operands(rng, ws, mult.fmt, 0.7)
    st = TrivialStats()
    got = conv2d_nchw(x, w, strides=s, pads=p, dilations=d, group=g, mult=mult, bypass=bp, stats=st, k_tile=k_tile)
    np.testing.assert_array_equal(got, ref_conv(x, w, s, p, d, g, mult, bp))
    ref = TrivialStats()
    for cols, wm in ref_im2col(x, w, s, p, d, g):
        part = ref_stats(cols, wm, mult, bp, k_tile)
        part.w_zeros = part.w_count = 0
        ref += part
    ref.w_zeros = int(np.sum(w == 0))
    ref.w_count = w.size
    assert st == ref
    n_, m_, oh, ow = got.shape
    assert st.macs == n_ * m_ * oh * ow * ws[1] * ws[2] * ws[3]


@pytest.mark.parametrize("budget", [1, 200, 2000])
def test_chunking(budget, monkeypatch):
    """Tiny im2col budgets: row chunks within an image, image chunks; same result and stats."""
    rng = np.random.default_rng(9)
    xs, ws, s, p, d, g = (3, 4, 9, 8), (6, 2, 3, 2), (2, 1), (1, 0, 2, 1), (1, 2), 2
    for mult in (make_multiplier("exact", 8, True), perturbed(6, True)):
        x = rich_operands(rng, xs, mult.fmt)
        w = rich_operands(rng, ws, mult.fmt)
        st_full = TrivialStats()
        full = conv2d_nchw(x, w, strides=s, pads=p, dilations=d, group=g, mult=mult, stats=st_full, k_tile=3)
        monkeypatch.setattr(conv_mod, "IM2COL_BYTES", budget)
        monkeypatch.setattr(conv_mod, "IM2COL_TABLE_BYTES", budget)
        st = TrivialStats()
        got = conv2d_nchw(x, w, strides=s, pads=p, dilations=d, group=g, mult=mult, stats=st, k_tile=3)
        exact_path = conv2d_nchw(x, w, strides=s, pads=p, dilations=d, group=g, mult=mult)
        monkeypatch.undo()
        np.testing.assert_array_equal(got, full)
        np.testing.assert_array_equal(exact_path, full)
        np.testing.assert_array_equal(full, ref_conv(x, w, s, p, d, g, mult))
        assert st == st_full


def test_chunks_cover_everything():
    for n, oh, ow, k, budget in ((3, 5, 4, 7, 1), (3, 5, 4, 7, 300), (10, 2, 2, 2, 100), (2, 3, 3, 1, 10**9)):
        seen = np.zeros((n, oh), int)
        for n0, n1, r0, r1 in conv_mod._chunks(n, oh, ow, k, 4, budget):
            assert n1 > n0 and r1 > r0
            seen[n0:n1, r0:r1] += 1
            assert (n1 - n0) * (r1 - r0) * ow * k * 4 <= max(budget, ow * k * 4)
        assert (seen == 1).all()


def test_bad_input():
    mult = make_multiplier("exact", 8, True)
    x = np.zeros((1, 4, 5, 5), np.int64)
    w = np.zeros((2, 4, 3, 3), np.int64)
    with pytest.raises(AxmacError, match="4-D"):
        conv2d_nchw(x[0], w, mult=mult)
    with pytest.raises(AxmacError, match="integer"):
        conv2d_nchw(x.astype(np.float32), w, mult=mult)
    with pytest.raises(AxmacError, match="group 3"):
        conv2d_nchw(x, w, group=3, mult=mult)
    with pytest.raises(AxmacError, match="input channels per group"):
        conv2d_nchw(x, w, group=2, mult=mult)
    with pytest.raises(AxmacError, match="empty"):
        conv2d_nchw(x, np.zeros((2, 4, 7, 7), np.int64), mult=mult)
    with pytest.raises(AxmacError, match="strides"):
        conv2d_nchw(x, w, strides=(0, 1), mult=mult)
    with pytest.raises(AxmacError, match="pads"):
        conv2d_nchw(x, w, pads=(1, 1), mult=mult)
    with pytest.raises(AxmacError, match="group must be"):
        conv2d_nchw(x, w, group=0, mult=mult)
    with pytest.raises(SpecError, match="out of range"):
        conv2d_nchw(x + 200, w, mult=mult)
    with pytest.raises(AxmacError, match="k_tile"):
        conv2d_nchw(x, w, mult=mult, k_tile=-1)


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["exact", "drum:4", "mitchw:3", "bam:5"])
def test_large_conv_all_kernels(spec):
    """Default budgets, several row parts and threads: every kernel agrees with the direct
    convolution; the table and the fallback kernels give the same statistics."""
    rng = np.random.default_rng(17)
    mult = make_multiplier(spec, 8, True)
    bp = Bypass.parse("all")
    xs, ws, s, p, d, g = (6, 32, 20, 20), (48, 32, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1
    x = rich_operands(rng, xs, mult.fmt, 0.6)
    w = rich_operands(rng, ws, mult.fmt, 0.3)
    ref = ref_conv(x, w, s, p, d, g, mult, bp)
    st = TrivialStats()
    np.testing.assert_array_equal(conv2d_nchw(x, w, strides=s, pads=p, dilations=d, group=g, mult=mult, bypass=bp), ref)
    got = conv2d_nchw(x, w, strides=s, pads=p, dilations=d, group=g, mult=mult, bypass=bp, stats=st, k_tile=64)
    np.testing.assert_array_equal(got, ref)
    (cols, wm), = ref_im2col(x[:2], w, s, p, d, g)
    plan = gemm.make_plan(mult, bp)
    st_t, st_f = TrivialStats(), TrivialStats()
    a = gemm.table_gemm(gemm.to_patterns(cols, plan), gemm.to_patterns(wm, plan), plan, stats=st_t, k_tile=64)
    b = gemm.fallback_gemm(cols, wm, plan, stats=st_f, k_tile=64)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a.reshape(2, 20, 20, 48).transpose(0, 3, 1, 2), ref[:2])
    assert st_t == st_f and st_t.opposite > 0


@pytest.mark.parametrize("c", [1, 3, 9])
def test_im2col_layouts(c):
    """Both im2col layouts (numba and NumPy variants) against the pixel-by-pixel reference."""
    rng = np.random.default_rng(c)
    xs, ws, s, p, d = (2, c, 9, 8), (4, c, 3, 2), (2, 1), (1, 0, 2, 1), (1, 2)
    x = rng.integers(-100, 100, size=xs)
    w = np.zeros(ws, np.int64)
    (ref, _), = ref_im2col(x, w, s, p, d, 1)
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
    oh, ow = out_hw(9, 8, 3, 2, s, p, d)
    geom = (3, 2, s[0], s[1], d[0], d[1], oh, ow)
    for r0, r1 in ((0, oh), (1, oh - 1)):
        rows = ref.reshape(2, oh, ow, -1)[:, r0:r1].reshape(-1, ref.shape[1])
        np.testing.assert_array_equal(conv_mod._im2col(xp, 0, 2, r0, r1, geom, False), rows)
        np.testing.assert_array_equal(conv_mod._im2col_numpy(xp, 0, 2, r0, r1, geom), rows)
        cl = conv_mod._im2col(xp.transpose(0, 2, 3, 1), 0, 2, r0, r1, geom, True)
        # channels-last columns are ordered (i, j, c)
        np.testing.assert_array_equal(cl, rows.reshape(-1, c, 3, 2).transpose(0, 2, 3, 1).reshape(rows.shape))


def test_random_geometries():
    """Random shapes, strides, pads, dilations and groups (kernels larger than the input
    with padding, 1-pixel outputs...): exact vs onnx's Conv, approximate vs the direct conv."""
    rng = np.random.default_rng(2024)
    exact = make_multiplier("exact", 6, True)
    approx = perturbed(6, True)
    done = 0
    while done < 25:
        g = int(rng.choice([1, 1, 2, 3]))
        cg, mg = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        h, wd = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        p = tuple(int(v) for v in rng.integers(0, 3, size=4))
        oh, ow = out_hw(h, wd, kh, kw, s, p, d)
        if oh < 1 or ow < 1:
            continue
        x = rich_operands(rng, (int(rng.integers(1, 3)), g * cg, h, wd), exact.fmt)
        w = rich_operands(rng, (g * mg, cg, kh, kw), exact.fmt)
        kw_ = dict(strides=s, pads=p, dilations=d, group=g)
        ref = onnx_conv(x, w, s, p, d, g).astype(np.int64)
        np.testing.assert_array_equal(conv2d_nchw(x, w, mult=exact, **kw_), ref)
        st = TrivialStats()
        np.testing.assert_array_equal(conv2d_nchw(x, w, mult=approx, stats=st, **kw_),
                                      ref_conv(x, w, s, p, d, g, approx))
        assert st.macs == x.shape[0] * g * mg * oh * ow * cg * kh * kw
        done += 1


@pytest.mark.parametrize("spec", ["exact", "perturbed"])
def test_stats_modulo_accumulator(spec):
    """4-bit operands, an 8-bit accumulator: the conv's counts follow the im2col loop reference
    modulo 2**8 (and the wrap changes them for the exact multiplier's runs of 64)."""
    rng = np.random.default_rng(5)
    mult = perturbed(4, True) if spec == "perturbed" else make_multiplier("exact", 4, True)
    xs, ws, s, p, d, g = (2, 4, 6, 6), (5, 4, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1
    x = rich_operands(rng, xs, mult.fmt, 0.4)
    w = rich_operands(rng, ws, mult.fmt, 0.4)
    x[0] = -8
    w[:2] = -8
    st = TrivialStats(acc_bits=8)
    got = conv2d_nchw(x, w, strides=s, pads=p, dilations=d, group=g, mult=mult, stats=st, k_tile=10)
    np.testing.assert_array_equal(got, ref_conv(x, w, s, p, d, g, mult))
    ref = TrivialStats(acc_bits=8)
    ref32 = TrivialStats()
    for cols, wm in ref_im2col(x, w, s, p, d, g):
        ref += ref_stats(cols, wm, mult, k_tile=10, acc_bits=8)
        ref32 += ref_stats(cols, wm, mult, k_tile=10)
    assert st == ref
    assert spec != "exact" or ref.opposite != ref32.opposite


@pytest.mark.parametrize("geom", [g for g in GEOMETRIES if g[2] == (1, 1)]
                         + [((2, 4, 9, 8), (6, 2, 3, 2), (1, 1), (1, 0, 2, 1), (2, 2), 2)])  # dilated
@pytest.mark.parametrize("k_tile", [None, 4])
@pytest.mark.parametrize("bypass", ["zero", "none"])  # row 0 of T zero (zero input rows skipped) or not
def test_direct_conv_matches_im2col(geom, k_tile, bypass, monkeypatch):
    """The table path's direct convolution (stride 1, few outputs per group; dilations, groups,
    depthwise) gives the results and statistics of the im2col GEMMs it replaces."""
    xs, ws, s, p, d, g = geom
    rng = np.random.default_rng(3)
    mult = perturbed(6, True)
    bp = Bypass.parse(bypass)
    assert bool(gemm.make_plan(mult, bp).zrow[0]) == (bypass == "zero")
    monkeypatch.setattr(gemm.kernels, "PARALLEL_MIN_WORK", 0)  # one part per image where threads allow
    x = rich_operands(rng, xs, mult.fmt, 0.6)
    x[..., : xs[2] // 2, :] = 0  # zero input rows (a background)
    w = rich_operands(rng, ws, mult.fmt, 0.6)
    kw_ = dict(strides=s, pads=p, dilations=d, group=g, mult=mult, bypass=bp)
    assert ws[0] // g < conv_mod.DIRECT_MAX_OUT
    st_direct = TrivialStats()
    direct = conv2d_nchw(x, w, stats=st_direct, k_tile=k_tile, **kw_)
    nostats = conv2d_nchw(x, w, **kw_)
    monkeypatch.setattr(conv_mod, "DIRECT_MAX_OUT", 0)
    st_im2col = TrivialStats()
    np.testing.assert_array_equal(direct, conv2d_nchw(x, w, stats=st_im2col, k_tile=k_tile, **kw_))
    np.testing.assert_array_equal(nostats, direct)
    np.testing.assert_array_equal(direct, ref_conv(x, w, s, p, d, g, mult, bp))
    assert st_direct == st_im2col
