"""golden/metrics.py: every metric against a per-pair brute force in plain Python."""

import math

import numpy as np
import pytest

from axmac.errors import AxmacError
from axmac.golden.metrics import CHUNK, METRIC_KEYS, error_metrics, error_metrics_from_products
from axmac.golden.multipliers import Multiplier, OperandFormat, make_multiplier


class _Perturbed(Multiplier):
    """A deliberately wrong multiplier (not registered): errors of both signs, some pairs exact."""

    family = "perturbed"

    def _product(self, a, b):
        return a * b + ((a ^ b) & 3) - 1 - (a > 2) * (b & 1) * 5


def _ref_product(a, b):
    return a * b + ((a ^ b) & 3) - 1 - (5 if a > 2 and b & 1 else 0)


def _brute(bits, signed, prod):
    """Per-pair Python loop, straight from the definitions."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    errs, rels = [], []
    for a in range(lo, hi + 1):
        for b in range(lo, hi + 1):
            e = prod(a, b) - a * b
            errs.append(e)
            if a * b != 0:
                rels.append(e / (a * b))
    n = len(errs)
    mean = sum(errs) / n
    return {
        "mae": sum(abs(e) for e in errs) / n,
        "wce": max(abs(e) for e in errs),
        "wcre": max(abs(r) for r in rels),
        "mred": sum(abs(r) for r in rels) / len(rels),
        "bias": sum(rels) / len(rels),
        "mean_error": mean,
        "error_variance": sum((e - mean) ** 2 for e in errs) / n,
        "error_probability": sum(e != 0 for e in errs) / n,
        "pairs": n,
    }


@pytest.mark.parametrize("bits", [4, 6])
@pytest.mark.parametrize("signed", [True, False])
def test_perturbed_matches_brute_force(bits, signed):
    got = error_metrics(_Perturbed(OperandFormat(bits, signed)))
    ref = _brute(bits, signed, _ref_product)
    assert got["exhaustive"] is True and got["bits"] == bits and got["signed"] == signed
    assert got["spec"] == "perturbed"
    for k in (*METRIC_KEYS, "pairs"):
        assert got[k] == pytest.approx(ref[k], rel=1e-12, abs=1e-12), k
    assert got["wce"] > 0 and 0 < got["error_probability"] < 1 and got["bias"] != 0


@pytest.mark.parametrize("signed", [True, False])
def test_exact_has_no_error(signed):
    got = error_metrics(make_multiplier("exact", 5, signed))
    ref = _brute(5, signed, lambda a, b: a * b)
    assert got["pairs"] == 1024
    for k in METRIC_KEYS:
        assert got[k] == ref[k] == 0, k


def test_from_products_over_chunks_matches_numpy():
    rng = np.random.default_rng(1)
    exact = rng.integers(-(1 << 30), 1 << 30, size=2 * CHUNK + 123)
    exact[::7] = 0
    approx = exact + rng.integers(-1000, 3000, size=exact.size) * (rng.random(exact.size) < 0.6)
    got = error_metrics_from_products(approx, exact)
    e = (approx - exact).astype(np.float64)
    nz = exact != 0
    rel = e[nz] / exact[nz]
    assert got["pairs"] == exact.size
    assert got["mae"] == pytest.approx(np.abs(e).mean(), rel=1e-12)
    assert got["wce"] == np.abs(e).max()
    assert got["mean_error"] == pytest.approx(e.mean(), rel=1e-12)
    assert got["error_variance"] == pytest.approx(np.var(e), rel=1e-9)
    assert got["error_probability"] == pytest.approx(np.mean(e != 0), rel=1e-12)
    assert got["wcre"] == pytest.approx(np.abs(rel).max(), rel=1e-12)
    assert got["mred"] == pytest.approx(np.abs(rel).mean(), rel=1e-9)
    assert got["bias"] == pytest.approx(rel.mean(), rel=1e-9)


def test_variance_is_stable_for_large_errors():
    # errors near 2**31 with a tiny spread: the naive sum of squares loses every digit
    exact = np.zeros(3 * CHUNK, dtype=np.int64)
    approx = (1 << 31) + np.tile([0, 1, 2], CHUNK)
    got = error_metrics_from_products(approx, exact)
    assert got["error_variance"] == pytest.approx(2 / 3, rel=1e-6)


def test_sampling_is_deterministic_and_seeded():
    m = _Perturbed(OperandFormat(12, True))
    a = error_metrics(m, samples=50_000, seed=3)
    b = error_metrics(m, samples=50_000, seed=3)
    c = error_metrics(m, samples=50_000, seed=4)
    assert a == b
    assert a["exhaustive"] is False and a["pairs"] == 50_000 and a["seed"] == 3
    assert a["mae"] != c["mae"]


def test_sampled_estimate_agrees_with_exhaustive_at_10_bits():
    m = _Perturbed(OperandFormat(10, True))
    ex = error_metrics(m)
    n = 300_000
    sm = error_metrics(m, samples=n, seed=0, exhaustive=False)
    assert ex["exhaustive"] and ex["pairs"] == 1 << 20
    assert not sm["exhaustive"] and sm["pairs"] == n
    # standard errors of the means, from the exhaustive population (5 sigma)
    e = (m.table() - np.outer(m.fmt.values(), m.fmt.values())).ravel().astype(np.float64)
    p = ex["error_probability"]
    assert abs(sm["mae"] - ex["mae"]) < 5 * np.abs(e).std() / math.sqrt(n)
    assert abs(sm["mean_error"] - ex["mean_error"]) < 5 * e.std() / math.sqrt(n)
    assert abs(sm["error_probability"] - p) < 5 * math.sqrt(p * (1 - p) / n)
    assert sm["error_variance"] == pytest.approx(ex["error_variance"], rel=0.02)
    assert sm["wce"] <= ex["wce"] and sm["wcre"] <= ex["wcre"]


def test_bad_arguments():
    m = make_multiplier("exact", 12, True)
    with pytest.raises(AxmacError, match="samples"):
        error_metrics(m, samples=0)
    with pytest.raises(TypeError):
        error_metrics("exact")
    with pytest.raises(AxmacError, match="shape"):
        error_metrics_from_products(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("signed", [True, False])
def test_log_multipliers_match_published_figures(signed):
    """Kim et al. (Sec. II): mean error -3.9 % for Mitchell, -5.9 % for Mitch-w6 (32-bit; the
    figures barely depend on width), DRUM6 unbiased. Mitchell (1962): worst relative error 1/9,
    mean relative error about 3.8 %."""
    mit = error_metrics(make_multiplier("mitchell", 16, signed), samples=200_000)
    assert mit["bias"] == pytest.approx(-0.039, abs=0.002)
    assert mit["mred"] == pytest.approx(0.038, abs=0.002)
    assert 0.105 < mit["wcre"] <= 1 / 9 + 1e-12
    mw6 = error_metrics(make_multiplier("mitchw:6", 16, signed), samples=200_000)
    assert mw6["bias"] == pytest.approx(-0.059, abs=0.002)
    drum = error_metrics(make_multiplier("drum:6", 16, signed), samples=200_000)
    assert abs(drum["bias"]) < 0.002 < drum["mred"]


def test_exhaustive_beyond_table_widths_uses_the_model():
    # 11-bit: 2**22 pairs through the model in chunks; the metrics equal a direct NumPy evaluation
    m = _Perturbed(OperandFormat(11, False))
    got = error_metrics(m, exhaustive=True)
    v = np.arange(1 << 11, dtype=np.int64)
    e = (m(v[:, None], v[None, :]) - np.outer(v, v)).ravel()
    assert got["exhaustive"] is True and got["pairs"] == 1 << 22 and got["seed"] is None
    assert got["mae"] == pytest.approx(np.abs(e).mean(), rel=1e-12)
    assert got["wce"] == np.abs(e).max()
    assert got["error_variance"] == pytest.approx(e.var(), rel=1e-9)


@pytest.mark.slow
def test_sampled_estimate_agrees_with_exhaustive_at_12_bits():
    m = make_multiplier("mitchell", 12, True)
    ex = error_metrics(m, exhaustive=True)
    sm = error_metrics(m, samples=1_000_000, seed=1)
    assert ex["pairs"] == 1 << 24 and sm["pairs"] == 1_000_000
    # relative errors of Mitchell are bounded by 1/9: the standard error of a mean is < 0.12 / 1000
    assert sm["mred"] == pytest.approx(ex["mred"], abs=6e-4)
    assert sm["bias"] == pytest.approx(ex["bias"], abs=6e-4)
    assert sm["error_probability"] == pytest.approx(ex["error_probability"], abs=3e-3)
    assert sm["wcre"] <= ex["wcre"] <= 1 / 9 + 1e-12
