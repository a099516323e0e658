"""gen/power_models.py: Ma & Jiao's Eq. 1/2 and the thesis's Eq. 4.1."""

import pytest

from axmac.gen.power_models import (
    MA_JIAO_TABLE_II_MNIST,
    MA_JIAO_TABLE_V,
    analytic_savings,
    eq1,
    eq2,
    eq41,
    trivial_fractions,
)
from axmac.golden.bypass import Bypass
from axmac.golden.stats import TrivialStats


def test_eq1_reproduces_ma_and_jiao_on_mnist():
    t, p = MA_JIAO_TABLE_V, MA_JIAO_TABLE_II_MNIST
    p_mul, p_add = p["zero"] + p["one"], p["add_zero"]
    total = eq1(p_mul, p_add, t["mul"], t["add"], t["bypass_mul"], t["bypass_add_no_e"])
    assert total == pytest.approx(0.3352, abs=0.001)  # the paper: 33.52 % on MNIST
    case_a = eq2(p["zero"], t["mul"], t["bypass_mul"], t["mul"], t["add"])
    assert case_a == pytest.approx(0.1037, abs=0.0001)  # the paper: 10.37 % from case (a)


def test_eq41():
    assert eq41(0.0971, 0.5) == pytest.approx(0.9 * 0.8 * 0.0971 * 0.5)
    assert eq41(1.0, 1.0, conv_share=1.0, mul_share=1.0) == 1.0


def test_trivial_fractions_follow_the_enabled_cases():
    st = TrivialStats(macs=100, zero=30, one=10, add_zero=20, opposite=1)
    assert trivial_fractions(st, Bypass.parse("all")) == pytest.approx((0.4, 0.21))
    assert trivial_fractions(st, Bypass.parse("one,opposite")) == pytest.approx((0.1, 0.01))
    assert trivial_fractions(st, Bypass()) == (0.0, 0.0)


def test_analytic_savings():
    st = TrivialStats(macs=100, zero=50, one=0, add_zero=0, opposite=0)
    r = analytic_savings(st, Bypass.parse("zero"), e_mul=3.0, e_add=1.0, e_bypass_mul=1.0, e_bypass_add=0.0,
                         conv_share=1.0)
    assert r["eq1"] == pytest.approx(0.5 * 2.0 / 4.0)
    assert r["eq41"] == pytest.approx(0.8 * (1 - 1 / 3) * 0.5)
    t = MA_JIAO_TABLE_V
    assert r["eq1_paper_energies"] == pytest.approx(0.5 * (t["mul"] - t["bypass_mul"]) / (t["mul"] + t["add"]))
