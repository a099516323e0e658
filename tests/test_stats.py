"""golden/stats.py: TrivialStats arithmetic and fractions."""

from __future__ import annotations

import json

import pytest

from axmac.golden.stats import TrivialStats


def test_add_and_iadd():
    a = TrivialStats(macs=10, zero=2, one=3, add_zero=4, opposite=1, x_zeros=5, x_count=20, w_zeros=1, w_count=8)
    b = TrivialStats(macs=30, zero=1, one=0, add_zero=6, opposite=0, x_zeros=0, x_count=12, w_zeros=3, w_count=8)
    c = a + b
    assert c.to_dict() == {"macs": 40, "zero": 3, "one": 3, "add_zero": 10, "opposite": 1,
                           "x_zeros": 5, "x_count": 32, "w_zeros": 4, "w_count": 16, "acc_bits": 32}
    assert a.macs == 10  # + makes a new object
    ref = a
    a += b
    assert a is ref and a == c
    with pytest.raises(TypeError):
        a += 3
    json.dumps(a.to_dict())  # plain ints


def test_fractions():
    s = TrivialStats(macs=200, zero=50, one=30, add_zero=20, opposite=2, x_zeros=3, x_count=12, w_zeros=1, w_count=4)
    f = s.fractions()
    assert f["zero"] == 0.25 and f["one"] == 0.15 and f["add_zero"] == 0.1 and f["opposite"] == 0.01
    assert f["mul_trivial"] == pytest.approx(0.4) and f["add_trivial"] == pytest.approx(0.11)
    assert f["x_zero"] == 0.25 and f["w_zero"] == 0.25
    assert set(TrivialStats().fractions().values()) == {0.0}


def test_accumulator_width():
    """Counts of cases (d)/(e) refer to one accumulator width: only equal widths add up."""
    a = TrivialStats(macs=4, add_zero=1, acc_bits=16)
    b = TrivialStats(macs=6, opposite=2, acc_bits=16)
    c = a + b
    assert (c.macs, c.add_zero, c.opposite, c.acc_bits) == (10, 1, 2, 16)
    with pytest.raises(ValueError, match="cannot add statistics of a 32-bit accumulator to 16-bit ones"):
        a += TrivialStats(macs=1)
    assert a.macs == 4  # unchanged by the refused addition
    for bad in (1, 65, 32.0, True):
        with pytest.raises(ValueError, match="acc_bits must be an integer in 2..64"):
            TrivialStats(acc_bits=bad)
