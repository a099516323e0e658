"""Golden models of ``mitchell``, ``mitchw`` and ``drum`` (golden/multipliers/{mitchell,mitchw,drum,logmul}.py).

Each family is compared with a scalar reference written here from the papers' equations in a
different form: Python integers and exact fractions per pair, the characteristic from
``math.frexp``, Mitch-w truncation applied to the operand (not the fraction), DRUM's
approximation applied to each operand before an ordinary product. Then the published
behaviour: Mitchell never over-estimates and errs at most 1/9, mean error -3.9 %; Mitch-w6
-5.9 % (Kim et al.); DRUM nearly unbiased, DRUM6 MRED about 1.47 % at 16 bits (Hashemi et al.).
The metrics are computed here with a few lines of NumPy.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from axmac.errors import SpecError
from axmac.golden.multipliers import make_multiplier
from axmac.golden.multipliers.logmul import leading_one, mitchell_core

# -- independent scalar references ---------------------------------------------------------------


def char(x: int) -> int:
    """floor(log2 x) for x >= 1, from frexp (x = m * 2**e, 0.5 <= m < 1)."""
    return math.frexp(x)[1] - 1


def ref_log_product(x: int, y: int, keep: int | None = None) -> int:
    """Mitchell's antilog(log x + log y), rational arithmetic; operands truncated to ``keep`` bits."""
    x, y = max(x, 1), max(y, 1)  # a zero magnitude goes through the log datapath as 1
    kx, ky = char(x), char(y)
    if keep is not None:
        x = (x >> max(kx - keep + 1, 0)) << max(kx - keep + 1, 0)
        y = (y >> max(ky - keep + 1, 0)) << max(ky - keep + 1, 0)
    s = Fraction(x, 2**kx) - 1 + Fraction(y, 2**ky) - 1
    p = 2 ** (kx + ky) * (1 + s) if s < 1 else 2 ** (kx + ky + 1) * s
    assert p.denominator == 1, (x, y, p)  # the antilog of integer operands is an integer
    return int(p)


def ref_mitchell(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    p = ref_log_product(abs(a), abs(b))
    return -p if (a < 0) != (b < 0) else p


def ref_mitchw(a: int, b: int, w: int, signed: bool) -> int:
    """One's complement: a negative x enters as -x - 1, the product leaves as -P - 1."""
    if a == 0 or b == 0:
        return 0
    x = -a - 1 if a < 0 else a
    y = -b - 1 if b < 0 else b
    p = ref_log_product(x, y, keep=w)
    return -p - 1 if (a < 0) != (b < 0) else p


def ref_drum_approx(x: int, k: int) -> int:
    if x < 2**k:
        return x
    s = x.bit_length() - k
    return ((x >> s) | 1) << s


def ref_drum(a: int, b: int, k: int, bits: int, signed: bool) -> int:
    p = ref_drum_approx(abs(a), k) * ref_drum_approx(abs(b), k)
    if not signed:
        return p
    if (a < 0) != (b < 0):
        return -p
    return min(p, 2 ** (2 * bits - 1) - 1)  # only signed k=2 (-2**(n-1))**2 reaches this


def reference(spec: str, bits: int, signed: bool):
    name, _, arg = spec.partition(":")
    if name == "mitchell":
        return ref_mitchell
    if name == "mitchw":
        return lambda a, b: ref_mitchw(a, b, int(arg), signed)
    return lambda a, b: ref_drum(a, b, int(arg), bits, signed)


def operand_range(bits: int, signed: bool) -> range:
    return range(-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else range(2**bits)


SPECS_6 = ["mitchell"] + [f"mitchw:{w}" for w in range(1, 6)] + [f"drum:{k}" for k in range(2, 7)]


# -- bit-exactness against the references -------------------------------------------------------


@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
@pytest.mark.parametrize("spec", SPECS_6)
def test_exhaustive_6bit(spec, signed):
    m = make_multiplier(spec, 6, signed)
    ref = reference(spec, 6, signed)
    vals = list(operand_range(6, signed))
    want = np.array([[ref(a, b) for b in vals] for a in vals])
    got = m(np.array(vals)[:, None], np.array(vals)[None, :])
    np.testing.assert_array_equal(got, want)
    # the table is indexed by bit pattern
    t = m.table()
    mask = 63
    for a, b in [(vals[0], vals[-1]), (-1 if signed else 63, 5), (3, 3)]:
        assert t[a & mask, b & mask] == ref(a, b)


def _sample(bits, signed, n, rng):
    lo, hi = operand_range(bits, signed)[0], operand_range(bits, signed)[-1]
    corners = [lo, lo + 1, hi, hi - 1, 0, 1, 2, 3] + ([-1, -2, -3] if signed else [2 ** (bits - 1)])
    corners = sorted({c for c in corners if lo <= c <= hi})
    a = np.concatenate([rng.integers(lo, hi + 1, n), np.repeat(corners, len(corners))])
    b = np.concatenate([rng.integers(lo, hi + 1, n), np.tile(corners, len(corners))])
    # also small magnitudes, where C1 and exactness corners live
    a = np.concatenate([a, rng.integers(max(lo, -40), min(hi, 40) + 1, 300)])
    b = np.concatenate([b, rng.integers(lo, hi + 1, 300)])
    return a, b


@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
@pytest.mark.parametrize("bits,spec", [
    (8, "mitchell"), (8, "mitchw:1"), (8, "mitchw:4"), (8, "mitchw:7"), (8, "drum:2"), (8, "drum:4"),
    (8, "drum:8"), (12, "mitchell"), (12, "mitchw:6"), (12, "drum:5"), (16, "mitchell"), (16, "mitchw:6"),
    (16, "mitchw:15"), (16, "drum:2"), (16, "drum:6"), (16, "drum:16"), (2, "mitchell"), (2, "mitchw:1"),
    (2, "drum:2"), (3, "drum:2"),
])
def test_sampled(bits, spec, signed):
    rng = np.random.default_rng(bits * 1000 + len(spec) + signed)
    a, b = _sample(bits, signed, 2000, rng)
    m = make_multiplier(spec, bits, signed)
    ref = reference(spec, bits, signed)
    want = np.array([ref(int(x), int(y)) for x, y in zip(a, b, strict=True)])
    np.testing.assert_array_equal(m(a, b), want)
    lo, hi = -(2 ** (2 * bits - 1)), 2 ** (2 * bits - 1) - 1
    if not signed:
        lo, hi = 0, 2 ** (2 * bits) - 1
    assert want.min() >= lo and want.max() <= hi  # every product fits the 2n-bit output


def test_leading_one_and_core_helpers():
    x = np.concatenate([np.arange(0, 5000), np.array([2**31 - 1, 2**31, 2**32 - 1, 2**16, 2**16 - 1])])
    want = np.array([max(int(v).bit_length() - 1, 0) for v in x])
    np.testing.assert_array_equal(leading_one(x), want)
    rng = np.random.default_rng(7)
    xs, ys = rng.integers(0, 2**16, 3000), rng.integers(0, 2**16, 3000)
    np.testing.assert_array_equal(mitchell_core(xs, ys, 16),
                                  [ref_log_product(int(p), int(q)) for p, q in zip(xs, ys, strict=True)])
    np.testing.assert_array_equal(mitchell_core(xs, ys, 16, 3),
                                  [ref_log_product(int(p), int(q), keep=4) for p, q in zip(xs, ys, strict=True)])


# -- published behaviour ------------------------------------------------------------------------


def _rel(m, a, b):
    """Relative error (|P'| - |P|) / |P| of Kim et al. eq. (1), and the signed relative error."""
    a, b = np.broadcast_arrays(a, b)
    p, e = m(a, b).astype(float), (a * b).astype(float)
    nz = e != 0
    p, e = p[nz], e[nz]
    return (np.abs(p) - np.abs(e)) / np.abs(e), (p - e) / e


def _uniform(bits, signed, n, seed):
    rng = np.random.default_rng(seed)
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    return rng.integers(lo, hi + 1, n), rng.integers(lo, hi + 1, n)


@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
def test_mitchell_never_overestimates_worst_one_ninth(signed):
    m = make_multiplier("mitchell", 8, signed)
    v = m.fmt.values()
    a, b = v[:, None], v[None, :]
    mag_err, _ = _rel(m, a, b)
    assert mag_err.max() == 0.0  # exact at powers of two, never above
    assert mag_err.min() == pytest.approx(-1 / 9, abs=1e-12)  # attained at 1.1b x 1.1b (3 x 3 -> 8)
    assert int(m(3, 3)) == 8 and int(m(96, 96)) == 8192
    assert np.all(np.sign(m(a, b)) == np.sign(a * b))  # exact sign handling
    # exact whenever an operand is a power of two
    for p2 in (1, 2, 64):
        np.testing.assert_array_equal(m(p2, v), p2 * v)


def test_mitchell_mean_error_published():
    """Kim et al.: Mitchell's mean error is -3.9 % (32-bit, random inputs); analytically about -3.85 %."""
    for signed in (True, False):
        rel, _ = _rel(make_multiplier("mitchell", 16, signed), *_uniform(16, signed, 400_000, 1))
        assert rel.mean() == pytest.approx(-0.0385, abs=0.001)


def test_mitchw6_mean_error_published():
    """Kim et al.: Mitch-w6 with C1 sign handling has a mean error of -5.9 %."""
    rel, _ = _rel(make_multiplier("mitchw:6", 16, True), *_uniform(16, True, 400_000, 2))
    assert rel.mean() == pytest.approx(-0.059, abs=0.0015)
    assert rel.min() >= -1.0
    # more truncation, more (negative) bias: monotone in w
    means = [(_rel(make_multiplier(f"mitchw:{w}", 16, False), *_uniform(16, False, 100_000, 3))[0]).mean()
             for w in (2, 4, 6, 8, 15)]
    assert all(x < y for x, y in zip(means[:-1], means[1:], strict=True))
    assert means[-1] == pytest.approx(-0.0385, abs=0.001)  # w = 15 at 16 bits: nothing truncated but 1 bit


def test_mitchw_truncation_never_above_mitchell():
    for w in range(1, 8):
        m, ref = make_multiplier(f"mitchw:{w}", 8, False), make_multiplier("mitchell", 8, False)
        assert np.all(m.table() <= ref.table())
        assert np.all(m.table() <= np.outer(np.arange(256), np.arange(256)))


def test_mitchw_one_complement_effect():
    n = 8
    m = make_multiplier(f"mitchw:{n - 1}", n, True)  # no truncation: only C1 differs from Mitchell
    mitchell = make_multiplier("mitchell", n, True)
    pos = np.arange(1, 128)
    a, b = pos[:, None], pos[None, :]
    np.testing.assert_array_equal(m(a, b), mitchell(a, b))  # positive operands: plain Mitchell
    # a negative operand enters as |a| - 1 and the result leaves as -P - 1
    np.testing.assert_array_equal(m(-a, b), -mitchell(np.maximum(a - 1, 1), b) - 1)
    np.testing.assert_array_equal(m(-a, -b), mitchell(np.maximum(a - 1, 1), np.maximum(b - 1, 1)))
    assert int(m(-2, 3)) == -4 and int(m(-1, 5)) == -6 and int(m(-1, -1)) == 1 and int(m(0, -5)) == 0
    assert int(m(-128, -128)) == int(mitchell(127, 127))
    # the effect: large relative errors for small negative magnitudes, none for positive ones
    small = np.arange(1, 8)
    rel_neg, _ = _rel(m, -small[:, None], np.arange(1, 128)[None, :])
    rel_pos, _ = _rel(m, small[:, None], np.arange(1, 128)[None, :])
    assert rel_neg.mean() < rel_pos.mean() - 0.05
    assert rel_pos.min() >= -1 / 9 - 1e-12 and rel_neg.min() < -0.3
    # signs are never flipped, and the magnitude only exceeds the exact one for -1 * positive
    v = m.fmt.values()
    A, B = v[:, None] + 0 * v[None, :], 0 * v[:, None] + v[None, :]
    p = m(A, B)
    assert np.all(np.sign(p) == np.sign(A * B))
    over = np.abs(p) > np.abs(A * B)
    assert np.all(((A == -1) & (B > 0)) | ((B == -1) & (A > 0)) | ~over)


def test_drum_exact_when_k_is_n_and_small_operands():
    for signed in (True, False):
        for bits in (4, 6):
            m = make_multiplier(f"drum:{bits}", bits, signed)
            v = m.fmt.values()
            np.testing.assert_array_equal(m.table(), np.outer(v, v))
            assert m.is_exact
        m = make_multiplier("drum:4", 10, signed)
        small = np.arange(0, 16)
        np.testing.assert_array_equal(m(small[:, None], small[None, :]), np.outer(small, small))


@pytest.mark.parametrize("k", [3, 4, 6])
def test_drum_error_bound(k):
    """Each operand's error is at most 2**s <= 2**(1-k) of it (Hashemi et al., sec. 3), so the
    product's relative error lies within ((1 -/+ 2**(1-k))**2 - 1); exhaustive at 10 bits."""
    m = make_multiplier(f"drum:{k}", 10, False)
    v = np.arange(1, 1024)
    _, rel = _rel(m, v[:, None], v[None, :])
    e = 2.0 ** (1 - k)
    assert rel.max() <= (1 + e) ** 2 - 1 + 1e-12 and rel.min() >= (1 - e) ** 2 - 1 - 1e-12
    assert rel.max() > 0 > rel.min()  # errors of both signs: unbiasing by the forced LSB


def test_drum6_mred_published():
    """Hashemi et al.: DRUM6 (16 bits) mean relative error about 1.47 %, nearly unbiased."""
    for signed in (False, True):
        _, rel = _rel(make_multiplier("drum:6", 16, signed), *_uniform(16, signed, 400_000, 4))
        assert np.abs(rel).mean() == pytest.approx(0.0147, abs=0.0008)
        assert abs(rel.mean()) < 0.002  # bias near 0 (Mitchell: -3.85 %)


def test_drum_signed_saturation():
    for bits in (3, 8, 16):
        m = make_multiplier("drum:2", bits, True)
        lo = -(2 ** (bits - 1))
        assert int(m(lo, lo)) == 2 ** (2 * bits - 1) - 1  # 2.25 * 2**(2n-2) saturated
        assert int(m(lo, -lo - 1)) < 0 and int(m(lo, 1)) == -3 * 2 ** (bits - 2)  # 2**(n-1) -> 0b11 << (n-2)
    assert int(make_multiplier("drum:3", 8, True)(-128, -128)) == (5 * 32) ** 2  # 1.25 * 128, squared: fits


# -- bad parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize("spec,bits", [
    ("mitchw:0", 8), ("mitchw:x", 8), ("mitchw:8", 8), ("mitchw:-1", 8), ("mitchw", 8), ("mitchw:", 8),
    ("drum:1", 8), ("drum:17", 16), ("drum:9", 8), ("drum:x", 8), ("drum", 8), ("mitchell:3", 8),
    ("mitchell", 17), ("drum:2", 1),
])
def test_bad_parameters(spec, bits):
    with pytest.raises(SpecError) as ei:
        make_multiplier(spec, bits, True)
    msg = str(ei.value)
    assert msg and "\n" not in msg


def test_bad_parameter_cli_exit_2(capsys):
    from axmac.gen.cli import main

    assert main(["multipliers", "characterize", "mitchw:0", "--no-hw"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("axmac: error:") and "mitchw" in err and "\n" not in err
