"""golden.requant: the fixed-point output stage against brute-force integer loops and against the
float (onnxruntime-compatible) requantization of golden.engine."""

from __future__ import annotations

import numpy as np
import pytest

from axmac.errors import AxmacError
from axmac.golden.engine import output_stage
from axmac.golden.requant import MAX_SHIFT, RequantParams, acc_output, quantize_scale, requant_fixed_stage, requantize
from axmac.ir import OutputStage

RNG = np.random.default_rng(11)


def ref_requant(t, mult, shift, zp, lo, hi, relu):
    """One element, Python integers, straight from docs/array.md."""
    rnd = 1 << (shift - 1) if shift > 0 else 0
    q = (t * mult + rnd) >> shift  # Python's >> floors
    lo2 = max(lo, zp) if relu else lo
    return min(max(zp + q, lo2), hi)


@pytest.mark.parametrize("scale_bits", [20, 40, 62])
def test_requantize_matches_integer_loop(scale_bits):
    n = 3000
    t = RNG.integers(-(1 << scale_bits), 1 << scale_bits, n)
    mult = RNG.integers(0, 1 << 31, n)
    mult[:20] = [0, 1, (1 << 31) - 1, 1 << 30] * 5
    shift = RNG.integers(0, MAX_SHIFT + 1, n)
    shift[:30] = np.arange(30) % 3 * 31
    zp = RNG.integers(-100, 100, n)
    lo = RNG.integers(-300, 0, n)
    hi = RNG.integers(0, 300, n)
    hi[:5] = lo[:5] - 1  # lo' > hi: the result is hi
    relu = RNG.random(n) < 0.5
    got = requantize(t, mult, shift, zp, lo, hi, relu)
    rows = zip(t, mult, shift, zp, lo, hi, relu, strict=True)
    want = [ref_requant(*(int(v) for v in args[:6]), bool(args[6])) for args in rows]
    assert got.dtype == np.int64 and got.tolist() == want


def test_rounding_is_to_nearest_ties_up():
    t = np.array([1, -1, 3, -3, 2, -2, 5])
    # t * 2**30 >> 31 = t / 2: ties go towards +inf
    assert requantize(t, 1 << 30, 31, 0, -100, 100).tolist() == [1, 0, 2, -1, 1, -1, 3]
    assert requantize(t, 5, 0, 0, -100, 100).tolist() == (t * 5).tolist()  # shift 0: no rounding term


def test_quantize_scale_normalised_and_exact_for_float32():
    s32 = RNG.uniform(1e-9, 1e3, 5000).astype(np.float32)
    mult, shift = quantize_scale(s32)
    assert np.all((mult >= 1 << 30) & (mult < 1 << 31)) and np.all((shift >= 0) & (shift <= MAX_SHIFT))
    # a float32 scale (24-bit mantissa) is represented exactly
    assert all(int(m) * 2.0 ** -int(s) == float(v) for m, s, v in zip(mult, shift, s32, strict=True))
    s64 = RNG.uniform(1e-9, 1e3, 5000)
    mult, shift = quantize_scale(s64)
    rel = np.abs(mult * np.ldexp(1.0, -shift) - s64) / s64
    assert rel.max() <= 2.0 ** -31


def test_quantize_scale_edges():
    mult, shift = quantize_scale([0.0, 2.0 ** -33, 2.0 ** -40, 2.0 ** -70, 1.0, 2.0 ** 31 - 1])
    assert mult.tolist()[:4] == [0, 1 << 30, 1 << 23, 0] and shift.tolist()[:4] == [0, 63, 63, 63]
    assert (mult[4], shift[4]) == (1 << 30, 30)
    assert shift[5] == 0 and mult[5] == (1 << 31) - 1
    # rounding up to 2**31 renormalises
    m, s = quantize_scale(np.nextafter(1.0, 0.0))
    assert (int(m), int(s)) == (1 << 30, 30)
    for bad in (2.0 ** 31, -1.0, np.nan, np.inf):
        with pytest.raises(AxmacError):
            quantize_scale(bad)


def test_requantize_checks_ranges():
    with pytest.raises(AxmacError, match="multiplier"):
        requantize([1], 1 << 31, 0, 0, 0, 1)
    with pytest.raises(AxmacError, match="shift"):
        requantize([1], 1, 64, 0, 0, 1)
    with pytest.raises(AxmacError, match="entries"):
        RequantParams([1, 2, 3], 0).per_channel(2)


@pytest.mark.parametrize("dtype,zp,relu", [(np.int8, 0, True), (np.uint8, 128, False), (np.int8, -5, False),
                                           (np.int16, 7, True)])
def test_fixed_stage_within_one_lsb_of_float(dtype, zp, relu):
    """The float (engine) and fixed forms differ rarely and by 1 LSB at most."""
    acc = RNG.integers(-(1 << 20), 1 << 20, (64, 16, 7, 5))
    scale = RNG.uniform(1e-6, 3e-4, 16).astype(np.float32)
    stage = OutputStage("requant", scale, zp, np.dtype(dtype), relu)
    a = output_stage(acc, stage, scale, 1).astype(np.int64)
    b = requant_fixed_stage(acc, stage, scale, 1)
    assert b.dtype == np.dtype(dtype)
    d = np.abs(a - b.astype(np.int64))
    assert d.max() <= 1 and (d > 0).mean() < 1e-3


def test_fixed_stage_exact_ties_round_up():
    stage = OutputStage("requant", np.float32(0.5), 0, np.dtype(np.int8))
    acc = np.array([1, 3, 5, -1, -3])
    assert requant_fixed_stage(acc, stage, np.float32(0.5), 0).tolist() == [1, 2, 3, 0, -1]
    assert output_stage(acc, stage, np.float32(0.5), 0).tolist() == [0, 2, 2, 0, -2]  # ties to even
    with pytest.raises(AxmacError):
        requant_fixed_stage(acc, OutputStage("int32"), None, 0)


def test_params_apply_per_channel_axis():
    rq = RequantParams.from_scale(np.array([0.5, 0.25, 1.0], np.float32), zp=1, dtype=np.int8, relu=True)
    t = np.arange(-6, 6).reshape(2, 3, 2)
    got = rq.apply(t, channel_axis=1)
    want = [[ref_requant(int(t[i, c, j]), int(rq.mult[c]), int(rq.shift[c]), 1, -128, 127, True)
             for j in range(2)] for i in range(2) for c in range(3)]
    assert got.reshape(6, 2).tolist() == want


@pytest.mark.parametrize("bits", [8, 32, 63, 64])
def test_acc_output_wraps_or_saturates(bits):
    half = 1 << (bits - 1)
    r = np.array([half - 1, -half, 5, half - 1], dtype=np.int64)
    b = np.array([1, -1, -7, 0], dtype=np.int64)
    wrap = [((int(x) + int(y) + half) % (2 * half)) - half for x, y in zip(r, b, strict=True)]
    sat = [min(max(int(x) + int(y), -half), half - 1) for x, y in zip(r, b, strict=True)]
    assert acc_output(r, b, bits, "wrap").tolist() == wrap
    assert acc_output(r, b, bits, "saturate").tolist() == sat


def test_bundled_lenet_fixed_vs_float():
    """LeNet-5 on MNIST test images: every layer requantized both ways (scale = s_x s_w / s_y of
    the next QuantizeLinear): rare 1-LSB differences (bench/bench_array_golden.py measures)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from bench_array_golden import requant_mismatch

    diff, total, worst = requant_mismatch("mnist", 200)
    assert total > 1_000_000 and worst <= 1 and diff / total < 1e-5
