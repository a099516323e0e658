"""golden/bypass.py: the trivial-computation predicates, written once, against the paper's definition.

This file holds THE independent reference of the Ma & Jiao cases (Table I, detection order of
Sec. III-C; see the docstring of golden/pe.py) that every test of a predicate user imports:
plain Python on one pair of integers, itself checked on hand-made cases below.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from axmac.errors import AxmacError
from axmac.golden import bypass as bp_mod
from axmac.golden.bypass import NO_BYPASS, Bypass
from axmac.golden.multipliers import Multiplier, OperandFormat, make_multiplier


# ---------------------------------------------------------------------------------------------
# the reference (plain Python, one pair of ints at a time)
# ---------------------------------------------------------------------------------------------
def ref_is_one(v: int, signed: bool) -> bool:
    """Operand of case (b): +1, or -1 when the operands are signed."""
    return v == 1 or (signed and v == -1)


def ref_reads_zero(v: int, acc_bits: int) -> bool:
    """``v`` as an ``acc_bits``-bit two's-complement accumulator holds it is 0."""
    return v % (1 << acc_bits) == 0


def ref_mul_case(a: int, b: int, signed: bool) -> str | None:
    """(a) an operand is 0; else (b) an operand is +-1; else not trivial."""
    if a == 0 or b == 0:
        return "zero"
    if ref_is_one(a, signed) or ref_is_one(b, signed):
        return "one"
    return None


def ref_add_case(p: int, s: int, acc_bits: int) -> str | None:
    """(d) an addend is 0; else (e) the addends are opposite; both as the accumulator reads them."""
    if ref_reads_zero(p, acc_bits) or ref_reads_zero(s, acc_bits):
        return "add_zero"
    if ref_reads_zero(p + s, acc_bits):
        return "opposite"
    return None


def ref_product(mult, bypass: Bypass, a: int, b: int) -> int:
    """The PE's product: exact where an enabled MUL case applies, the multiplier's elsewhere."""
    case = ref_mul_case(a, b, mult.signed)
    zero_hit = bypass.zero and (a == 0 or b == 0)
    one_hit = bypass.one and (ref_is_one(a, mult.signed) or ref_is_one(b, mult.signed))
    assert case is not None or not (zero_hit or one_hit)
    return a * b if zero_hit or one_hit else int(mult(a, b))


def ref_bypassed(a, b, bypass: Bypass, signed: bool) -> np.ndarray:
    """Vectorised restatement of ``ref_product``'s condition (checked against it below), for
    references over large operand tensors."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    ones = [1, -1] if signed else [1]
    mask = np.zeros(a.shape, dtype=bool)
    if bypass.zero:
        mask |= (a == 0) | (b == 0)
    if bypass.one:
        mask |= np.isin(a, ones) | np.isin(b, ones)
    return mask


def ref_products(a, b, mult, bypass: Bypass) -> np.ndarray:
    """``ref_product`` over broadcast operand arrays (``mult``'s model, exact where bypassed)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    return np.where(ref_bypassed(a, b, bypass, mult.signed), a * b, mult(a, b))


ALL_BYPASS = [Bypass(*flags) for flags in itertools.product((False, True), repeat=4)]


# ---------------------------------------------------------------------------------------------
# the reference on hand-made cases
# ---------------------------------------------------------------------------------------------
def test_reference_hand_cases():
    assert ref_mul_case(0, 7, True) == "zero" and ref_mul_case(5, 0, False) == "zero"
    assert ref_mul_case(0, 1, True) == "zero"  # (a) before (b)
    assert ref_mul_case(1, 9, False) == "one" and ref_mul_case(9, -1, True) == "one"
    assert ref_mul_case(-1, 9, False) is None  # unsigned: only +1 (and -1 is no unsigned value)
    assert ref_mul_case(2, -3, True) is None
    assert ref_add_case(0, 5, 32) == "add_zero" and ref_add_case(5, 0, 32) == "add_zero"
    assert ref_add_case(0, 0, 32) == "add_zero"  # (d) before (e)
    assert ref_add_case(7, -7, 32) == "opposite" and ref_add_case(7, -6, 32) is None
    # modulo the accumulator: -32 + -32 = -64 reads 0 in 6 bits, not in 7; 64 reads 0 in 6 bits
    assert ref_add_case(-32, -32, 6) == "opposite" and ref_add_case(-32, -32, 7) is None
    assert ref_add_case(64, 3, 6) == "add_zero" and ref_add_case(64, 3, 8) is None
    exact = make_multiplier("exact", 4, True)
    assert ref_product(exact, NO_BYPASS, -3, 5) == -15


class Off(Multiplier):
    """A wrong multiplier (every product + 1) that shows which products the bypass delivers."""

    family = "off-by-one-test"

    def _product(self, a, b):
        return a * b + 1


def test_reference_products_hand_cases():
    m = Off(OperandFormat(4, True))
    assert ref_product(m, NO_BYPASS, 0, 5) == 1 and ref_product(m, Bypass(zero=True), 0, 5) == 0
    assert ref_product(m, Bypass(zero=True), 1, 5) == 6 and ref_product(m, Bypass(one=True), 1, 5) == 5
    assert ref_product(m, Bypass(one=True), -1, 5) == -5 and ref_product(m, Bypass(one=True), 0, 5) == 1
    np.testing.assert_array_equal(ref_products([0, 1, -1, 3], 5, m, Bypass.parse("all")), [0, 5, -5, 16])


# ---------------------------------------------------------------------------------------------
# the predicates of golden/bypass.py against the reference
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("signed", [True, False])
def test_mul_predicates_exhaustive(signed):
    v = OperandFormat(4, signed).values()
    a, b = np.meshgrid(v, v, indexing="ij")
    cases = np.vectorize(lambda x, y: ref_mul_case(int(x), int(y), signed) or "")(a, b)
    np.testing.assert_array_equal(bp_mod.mul_zero(a, b), cases == "zero")
    np.testing.assert_array_equal(bp_mod.mul_one_case(a, b, signed), cases == "one")
    np.testing.assert_array_equal(bp_mod.mul_one(a, b, signed), np.vectorize(
        lambda x, y: ref_is_one(int(x), signed) or ref_is_one(int(y), signed))(a, b))
    np.testing.assert_array_equal(bp_mod.is_one(v, signed), [ref_is_one(int(x), signed) for x in v])
    # scalars from Python (the same njit functions)
    for x, y in [(0, 3), (1, 3), (-1, 3), (3, 3)]:
        assert bool(bp_mod.mul_zero(x, y)) == (ref_mul_case(x, y, signed) == "zero")
        assert bool(bp_mod.mul_one_case(x, y, signed)) == (ref_mul_case(x, y, signed) == "one")


@pytest.mark.parametrize("acc_bits", [6, 7, 32, 64])
def test_add_predicates_exhaustive(acc_bits):
    v = np.concatenate([np.arange(-70, 71), [2**31, -(2**31), 2**32, 2**40 + 64, -(2**40)]])
    p, s = np.meshgrid(v, v, indexing="ij")
    mask = bp_mod.acc_mask(acc_bits)
    cases = np.vectorize(lambda x, y: ref_add_case(int(x), int(y), acc_bits) or "")(p, s)
    np.testing.assert_array_equal(bp_mod.add_zero(p, s, mask), cases == "add_zero")
    np.testing.assert_array_equal(bp_mod.opposite_case(p, s, mask), cases == "opposite")
    np.testing.assert_array_equal(bp_mod.opposite_case_sum(p, s, p + s, mask), cases == "opposite")
    np.testing.assert_array_equal(bp_mod.opposite(p, s, mask),
                                  np.vectorize(lambda x, y: ref_reads_zero(int(x + y), acc_bits))(p, s))
    np.testing.assert_array_equal(bp_mod.acc_zero(v, mask), [ref_reads_zero(int(x), acc_bits) for x in v])
    assert (cases == "opposite").any() and (cases == "add_zero").any()


def test_opposite_case_sum_takes_the_accumulators_sum():
    """A kernel's int32 partial sums wrap: the predicate tests the wrapped sum it is given."""
    p, s = np.int32(5), np.int32(-5)
    assert bp_mod.opposite_case_sum(p, s, np.int32(p + s), np.int32(-1))
    big = np.array([2**31 - 1], np.int32)
    wrapped = big + np.int32(1)  # int32 wrap to -2**31: reads 0 in a 31-bit accumulator, not in 32
    assert bp_mod.acc_zero(wrapped, np.int32(bp_mod.acc_mask(31)))[0]
    assert not bp_mod.acc_zero(wrapped, np.int32(-1))[0]


def test_acc_mask():
    assert bp_mod.acc_mask(8) == 255 and bp_mod.acc_mask(32) == 2**32 - 1 and bp_mod.acc_mask(64) == -1


# ---------------------------------------------------------------------------------------------
# Bypass: parsing, masks, products, tables
# ---------------------------------------------------------------------------------------------
def test_parse_and_str():
    assert Bypass.parse(None) == Bypass.parse("") == Bypass.parse("none") == NO_BYPASS == Bypass()
    assert Bypass.parse("all") == Bypass(True, True, True, True)
    assert Bypass.parse(" zero , opposite") == Bypass(zero=True, opposite=True)
    assert str(Bypass.parse("one,add-zero")) == "one,add-zero" and str(NO_BYPASS) == "none"
    with pytest.raises(AxmacError, match="unknown bypass case 'ones'"):
        Bypass.parse("zero,ones")


@pytest.mark.parametrize("signed", [True, False])
def test_masks_products_and_tables(signed):
    m = Off(OperandFormat(4, signed)) if signed else make_multiplier("mitchell", 4, False)
    v = m.fmt.values()
    a, b = v[:, None], v[None, :]
    for bypass in ALL_BYPASS:
        want = np.array([[ref_product(m, bypass, int(x), int(y)) for y in v] for x in v])
        hit = np.array([[(bypass.zero and 0 in (x, y))
                         or (bypass.one and (ref_is_one(int(x), signed) or ref_is_one(int(y), signed)))
                         for y in v] for x in v])
        np.testing.assert_array_equal(bypass.mul_bypassed(a, b, signed), hit)
        np.testing.assert_array_equal(ref_bypassed(a, b, bypass, signed), hit)
        np.testing.assert_array_equal(bypass.apply(m(a, b), a, b, signed), want)
        np.testing.assert_array_equal(bypass.apply_to_table(m.table(), v, signed), want)
        np.testing.assert_array_equal(ref_products(a, b, m, bypass), want)
