"""The chain walks of the statistics kernels that do not gather rows of ``L``: the direct table
convolution (kernel layouts ``"conv"``, ``"sconv"``) against the im2col loop reference, and the
separable GEMM walk (``"mul"``) against the per-product loop reference, in int32 and int64
partial sums and at several accumulator widths."""

from __future__ import annotations

import numpy as np
import pytest

from axmac.golden import conv as conv_mod
from axmac.golden.bypass import acc_mask
from axmac.golden.conv import conv2d_nchw
from axmac.golden.stats import TrivialStats

from .test_conv import ref_conv, ref_im2col
from .test_gemm import perturbed, ref_gemm, ref_stats, rich_operands, with_opposites


def record_layouts(monkeypatch, module, name: str) -> list:
    """The kernel layouts ``module.name(layout, stats)`` is asked for from now on (in order)."""
    used = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda layout, stats: used.append(layout) or real(layout, stats))
    return used


def check_conv(x, w, s, p, d, g, mult, k_tile, acc_bits) -> TrivialStats:
    """``conv2d_nchw`` with statistics equals the convolution reference and its statistics the
    loop reference over the im2col GEMMs; returns the reference statistics."""
    st = TrivialStats(acc_bits=acc_bits)
    got = conv2d_nchw(x, w, strides=s, pads=p, dilations=d, group=g, mult=mult, stats=st, k_tile=k_tile)
    np.testing.assert_array_equal(got, ref_conv(x, w, s, p, d, g, mult))
    ref = TrivialStats(acc_bits=acc_bits)
    for cols, wm in ref_im2col(x, w, s, p, d, g):
        ref += ref_stats(cols, wm, mult, k_tile=k_tile, acc_bits=acc_bits)
    assert st == ref, (x.shape, k_tile, st, ref)
    return ref


@pytest.mark.parametrize("acc_bits", [8, 16, 32, 64])
@pytest.mark.parametrize("chain64", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_direct_conv_walk(acc_bits, chain64, sparse, monkeypatch):
    """The direct convolution of a table that is not separable: from the output side (``"conv"``:
    a gather per product, vectorised over an output row) or from the input side (``"scatter"``
    without statistics, ``"pix"`` with them: chosen for sparse inputs, forced here); same results
    and statistics as the im2col loop reference, with groups, dilations, pads and ``k_tile``."""
    rng = np.random.default_rng(7)
    mult = perturbed(4, True)
    monkeypatch.setattr(conv_mod, "SPARSE_SCATTER", 1.01 if sparse else 0.0)
    monkeypatch.setattr(conv_mod, "SPARSE_PIX", 1.01 if sparse else 0.0)
    if chain64:
        monkeypatch.setattr(conv_mod, "chain_dtype", lambda tile, max_abs, bits: (np.int64, int(acc_mask(bits))))
    used = record_layouts(monkeypatch, conv_mod, "numba_kernel")
    cases = [((2, 3, 7, 6), (5, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, 10),
             ((2, 4, 8, 7), (6, 2, 3, 2), (1, 1), (2, 0, 1, 3), (2, 3), 2, 4),  # groups, dilation, odd pads
             ((1, 1, 9, 9), (3, 1, 5, 5), (1, 1), (2, 2, 2, 2), (1, 1), 1, None)]  # LeNet-like, one chain
    opposite = 0
    for xs, ws, s, p, d, g, k_tile in cases:
        x = rich_operands(rng, xs, mult.fmt, 0.5)
        w = rich_operands(rng, ws, mult.fmt, 0.5)
        x[0, :, :3] = 0  # zero input rows (skipped taps)
        x[-1, :, :, ::2] = -8
        w[:2] = -8
        assert ws[0] // g < conv_mod.DIRECT_MAX_OUT
        np.testing.assert_array_equal(conv2d_nchw(x, w, pads=p, dilations=d, group=g, mult=mult),
                                      ref_conv(x, w, s, p, d, g, mult))
        opposite += check_conv(x, w, s, p, d, g, mult, k_tile, acc_bits).opposite
    assert opposite > 0  # the data does exercise case (e)
    assert set(used) == ({"scatter", "pix"} if sparse else {"conv"})


def test_sparse_input_choice():
    """The input-side layouts are taken for inputs whose pixels mostly add nothing (MNIST's
    background with LeNet's padding), the output-side one for dense inputs."""
    plan_zrow = np.zeros(16, bool)
    plan_zrow[0] = True
    mnist_like = np.zeros((2, 1, 32, 32), np.uint16)
    mnist_like[:, :, 10:20, 8:22] = 5
    assert conv_mod._live_fraction(mnist_like, plan_zrow) < min(conv_mod.SPARSE_SCATTER, conv_mod.SPARSE_PIX)
    assert conv_mod._live_fraction(mnist_like + 1, plan_zrow) == 1.0


@pytest.mark.parametrize("spec,bits", [("exact", 8), ("exact", 4), ("drum:3", 6), ("trunc:2", 5)])
@pytest.mark.parametrize("acc_bits", [None, 32, 64])  # None: 2 * bits, the narrowest
@pytest.mark.parametrize("chain64", [False, True])
def test_separable_conv_walk(spec, bits, acc_bits, chain64, monkeypatch):
    """Exact and one-term separable tables take the ``"sconv"`` walk (a multiply per product, the
    input transformed once); same results and statistics as the im2col loop reference."""
    from axmac.golden.gemm import make_plan
    from axmac.golden.multipliers import make_multiplier

    mult = make_multiplier(spec, bits, True)
    plan = make_plan(mult)
    assert plan.separable() is not None, spec
    acc_bits = acc_bits or 2 * bits
    rng = np.random.default_rng(bits)
    xs, ws, s, p, d, g = (3, 4, 9, 8), (4, 2, 3, 3), (1, 1), (1, 2, 0, 1), (1, 2), 2
    x = rich_operands(rng, xs, mult.fmt, 0.4)
    w = rich_operands(rng, ws, mult.fmt, 0.3)
    x[0, :, :4] = 0
    w[1] = 0  # a channel of zero factors: its taps are skipped
    # operands that cancel: +a then -a on consecutive taps of one chain (returns to 0)
    x[2] = 3
    w[0, 0, 0, :2] = [2, -2]
    if chain64:
        monkeypatch.setattr(conv_mod, "chain_dtype", lambda tile, max_abs, bits: (np.int64, int(acc_mask(bits))))
    used = record_layouts(monkeypatch, conv_mod, "numba_kernel")
    for k_tile in (None, 5):
        assert check_conv(x, w, s, p, d, g, mult, k_tile, acc_bits).opposite > 0
    assert set(used) == {"sconv"}


def test_sconv_needs_statistics():
    from axmac.golden.gemm.kernels import kernel

    with pytest.raises(ValueError, match="statistics only"):
        kernel("sconv", False)


@pytest.mark.parametrize("spec,bits,signed", [("exact", 8, True), ("exact", 8, False), ("exact", 4, True),
                                              ("drum:4", 8, True), ("trunc:2", 6, True), ("trunc:3", 7, False)])
@pytest.mark.parametrize("acc_bits", [None, 32, 64])  # None: 2 * bits, the narrowest (a masked test)
@pytest.mark.parametrize("chain64", [False, True])
def test_separable_gemm_walk(spec, bits, signed, acc_bits, chain64, monkeypatch):
    """Exact and one-term separable tables with statistics and enough rows take the ``"mul"``
    walk (products formed in int16 lanes when they fit, int32 otherwise: unsigned 8-bit exact
    products reach 65025); same results and statistics as the per-product loop reference, for
    chains restarting at ``k_tile``, rows of zero activations and tails of the 4-product passes."""
    from axmac.golden.gemm import mac_gemm, make_plan, table
    from axmac.golden.multipliers import make_multiplier

    mult = make_multiplier(spec, bits, signed)
    plan = make_plan(mult)
    sep = plan.separable()
    assert sep is not None, spec
    assert table.product_dtype(sep) == (np.int16 if (spec, signed) != ("exact", False) or bits < 8 else np.int32)
    acc_bits = acc_bits or 2 * bits
    rng = np.random.default_rng(bits + 10 * signed)
    fmt = mult.fmt
    m, k, n = 80, 23, 7  # 4 * m >= 2**bits: not the "direct" layout
    x = rich_operands(rng, (m, k), fmt, 0.5)
    w = rich_operands(rng, (k, n), fmt, 0.4)
    x[:, ::3] = np.clip(x[:, ::3] // 16, fmt.lo, fmt.hi)  # small values: partial sums near 0
    x[5] = 0  # a row of zero activations: no product walked
    x[6, 1:] = 0  # one product, then zeros (the tail of a pass)
    w[:, 2] = 0  # a column of zero factors: its chains stay at 0
    x, w = with_opposites(x, w, fmt)
    if chain64:
        monkeypatch.setattr(table, "chain_dtype", lambda tile, max_abs, bits: (np.int64, int(acc_mask(bits))))
    used = record_layouts(monkeypatch, table, "kernel")
    for k_tile in (None, 6, 1):
        st = TrivialStats(acc_bits=acc_bits)
        got = mac_gemm(x, w, mult=mult, stats=st, k_tile=k_tile, acc_bits=acc_bits)
        np.testing.assert_array_equal(got, ref_gemm(x, w, mult))
        st.w_zeros = st.w_count = 0  # counted by mac_gemm's checks, not by the kernel: compare the rest
        ref = ref_stats(x, w, mult, k_tile=k_tile, acc_bits=acc_bits)
        ref.w_zeros = ref.w_count = 0
        assert st == ref, (k_tile, st, ref)
        if signed and k_tile != 1:
            assert ref.opposite > 0
    assert set(used) == {"mul"}


def test_mul_walk_products_dtype_and_statistics_only():
    from axmac.golden.gemm.kernels import kernel
    from axmac.golden.gemm.table import product_dtype

    big = np.array([0, 1 << 20, -(1 << 20)])
    assert product_dtype((np.array([0, 181, -181]), np.array([0, 181, -181]))) is np.int16  # 32761
    assert product_dtype((np.array([0, 182]), np.array([0, 181]))) is np.int32  # 32942
    assert product_dtype((big, big)) is np.int64
    with pytest.raises(ValueError, match="statistics only"):
        kernel("mul", False)
    with pytest.raises(ValueError, match="statistics only"):
        kernel("pix", False)
    with pytest.raises(ValueError, match="no statistics"):
        kernel("scatter", True)
