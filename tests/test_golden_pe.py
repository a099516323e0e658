"""golden/pe.py (classification codes and PE streams) vs a per-element Python reference."""

import itertools

import numpy as np
import pytest

from axmac.errors import AxmacError
from axmac.golden.bypass import Bypass
from axmac.golden.multipliers import Multiplier, OperandFormat, make_multiplier
from axmac.golden.pe import add_ctrl, mul_ctrl, pe_products, pe_stream, wrap
from axmac.sim.stimulus import activations, partial_sums

from .test_bypass import ref_add_case, ref_is_one, ref_mul_case, ref_product, ref_reads_zero

ALL_BYPASS = [Bypass(*flags) for flags in itertools.product((False, True), repeat=4)]


class Skewed(Multiplier):
    """A deliberately wrong multiplier (every product + 3, wrapped): bypassed slots must not see it."""

    family = "skewed-test"

    def _product(self, a, b):
        return wrap(a * b + 3, 2 * self.bits)


def ref_mul_code(a: int, b: int, bp: Bypass, signed: bool) -> int:
    """Ma & Jiao Sec. III-C, one rule at a time, written as prose reads (the reference
    predicates of tests/test_bypass.py)."""
    if bp.zero and (a == 0 or b == 0):
        return 0b00
    if bp.one and ref_is_one(b, signed):
        return 0b01
    if bp.one and ref_is_one(a, signed):
        return 0b10
    return 0b11


def ref_add_code(p: int, s: int, bp: Bypass, acc_bits: int) -> int:
    if bp.add_zero and ref_reads_zero(s, acc_bits):
        return 0b01
    if bp.add_zero and ref_reads_zero(p, acc_bits):
        return 0b10
    if bp.opposite and ref_reads_zero(p + s, acc_bits):
        return 0b00
    return 0b11


def ref_wrap(x: int, bits: int) -> int:
    x &= (1 << bits) - 1
    return x - (1 << bits) if x >> (bits - 1) else x


def ref_pe(mult, bp, w, a_seq, s_seq, valid, acc_bits):
    """Per element: the product the bypass unit or the multiplier delivers, then the exact sum."""
    out, mcs, acs = [], [], []
    for a, s, v in zip(a_seq.tolist(), s_seq.tolist(), valid.tolist(), strict=True):
        if not v:
            out.append(s)
            mcs.append(0b00)
            acs.append(0b10)
            continue
        mc = ref_mul_code(a, w, bp, mult.signed)
        if mc == 0b00:
            p = 0
        elif mc == 0b01:
            p = a if w == 1 else -a
        elif mc == 0b10:
            p = w if a == 1 else -w
        else:
            p = int(mult(a, w))
        out.append(ref_wrap(s + p, acc_bits))
        mcs.append(mc)
        acs.append(ref_add_code(p, s, bp, acc_bits))
    return np.array(out), np.array(mcs), np.array(acs)


def rich_stream(rng, fmt, n, acc_bits, mult, w):
    """Activations rich in 0 and +-1; partial sums rich in 0 and in opposites of the product
    (the one PE stimulus generator of sim/stimulus.py)."""
    a = activations(rng, fmt, n)
    return a, partial_sums(rng, mult, a, w, acc_bits)


@pytest.mark.parametrize("signed", [True, False])
def test_codes_exhaustive_small(signed):
    """Every operand pair of a 4-bit format and every bypass subset."""
    fmt = OperandFormat(4, signed)
    v = fmt.values()
    a, b = np.meshgrid(v, v, indexing="ij")
    for bp in ALL_BYPASS:
        got = mul_ctrl(a, b, bp, signed)
        want = np.vectorize(lambda x, y, bp=bp: ref_mul_code(int(x), int(y), bp, signed))(a, b)
        np.testing.assert_array_equal(got, want)


def test_add_codes_exhaustive_small():
    acc = 6
    v = np.arange(-32, 32)
    p, s = np.meshgrid(v, v, indexing="ij")
    for bp in ALL_BYPASS:
        got = add_ctrl(p, s, bp, acc)
        want = np.vectorize(lambda x, y, bp=bp: ref_add_code(int(x), int(y), bp, acc))(p, s)
        np.testing.assert_array_equal(got, want)
    # the wrap matters: -32 + -32 == -64 == 0 mod 64 is "opposite" in a 6-bit accumulator
    assert add_ctrl(-32, -32, Bypass(opposite=True), 6) == 0b00
    assert add_ctrl(-32, -32, Bypass(opposite=True), 7) == 0b11


@pytest.mark.parametrize("spec,signed,bits,acc_bits", [
    ("exact", True, 8, 32), ("exact", False, 8, 20), ("skewed", True, 6, 12), ("skewed", False, 5, 10),
    ("exact", True, 16, 64),
])
def test_stream_vs_reference(spec, signed, bits, acc_bits):
    rng = np.random.default_rng(bits * 7 + signed)
    mult = Skewed(OperandFormat(bits, signed)) if spec == "skewed" else make_multiplier(spec, bits, signed)
    fmt = mult.fmt
    weights = sorted({0, 1, fmt.lo, fmt.hi, int(rng.integers(fmt.lo, fmt.hi + 1))} | ({-1} if signed else set()))
    for bp in ALL_BYPASS:
        for w in weights:
            a, s = rich_stream(rng, fmt, 200, acc_bits, mult, w)
            valid = rng.random(a.size) > 0.15
            got = pe_stream(mult, bp, w, a, s, signed, acc_bits=acc_bits, valid_seq=valid)
            want = ref_pe(mult, bp, w, a, s, valid, acc_bits)
            for g, r, what in zip(got, want, ("psum_out", "mul_ctrl", "add_ctrl"), strict=True):
                np.testing.assert_array_equal(g, r, err_msg=f"{what} {bp} w={w}")


def test_stream_covers_every_code():
    """The rich streams above really reach every code (so the comparisons are not vacuous)."""
    rng = np.random.default_rng(1)
    mult = make_multiplier("exact", 8, True)
    seen_m, seen_a = set(), set()
    for w in (0, 1, -1, 37):
        a, s = rich_stream(rng, mult.fmt, 300, 32, mult, w)
        _, mc, ac = pe_stream(mult, Bypass.parse("all"), w, a, s)
        seen_m |= set(mc.tolist())
        seen_a |= set(ac.tolist())
    assert seen_m == seen_a == {0, 1, 2, 3}


def test_bypass_is_exact_with_approximate_multiplier():
    mult = Skewed(OperandFormat(8, True))
    a = np.array([0, 1, -1, 5, 5, 7])
    w = np.array([9, 9, 9, 0, -1, 3])
    out, mc, _ = pe_stream(mult, Bypass(zero=True, one=True), w, a, np.zeros(6, dtype=np.int64))
    np.testing.assert_array_equal(out, [0, 9, -9, 0, -5, 24])  # only 7*3 goes through the skewed multiplier
    np.testing.assert_array_equal(mc, [0, 2, 2, 0, 1, 3])


def test_wrap_matches_python():
    x = np.array([0, 127, 128, -129, 255, -256, 2**40 + 5])
    for bits in (8, 9, 33):
        np.testing.assert_array_equal(wrap(x, bits), [ref_wrap(int(v), bits) for v in x])


def test_bad_arguments():
    mult = make_multiplier("exact", 8, True)
    z = np.zeros(4, dtype=np.int64)
    with pytest.raises(ValueError, match="acc_bits must be in 16..64 for 8-bit operands, not 12"):
        pe_stream(mult, Bypass(), 1, z, z, acc_bits=12)
    with pytest.raises(TypeError, match="acc_bits must be an integer"):
        pe_stream(mult, Bypass(), 1, z, z, acc_bits=32.0)
    with pytest.raises(TypeError, match="bypass must be a Bypass"):
        pe_stream(mult, "all", 1, z, z)
    with pytest.raises(TypeError, match="mult must be a Multiplier"):
        pe_stream("exact", Bypass(), 1, z, z)
    with pytest.raises(ValueError, match="disagrees"):
        pe_stream(mult, Bypass(), 1, z, z, False)
    with pytest.raises(AxmacError, match="weight out of range"):
        pe_stream(mult, Bypass(), 200, z, z)
    with pytest.raises(AxmacError, match="partial sums out of the signed 16-bit range"):
        pe_stream(mult, Bypass(), 1, z, z + 40000, acc_bits=16)
    with pytest.raises(AxmacError, match="one length"):
        pe_stream(mult, Bypass(), 1, z, z[:3])


@pytest.mark.parametrize("signed", [True, False])
def test_codes_name_the_reference_cases(signed):
    """With every case enabled, the codes say exactly which case of the reference applies."""
    all_on = Bypass.parse("all")
    v = OperandFormat(4, signed).values()
    for a in v.tolist():
        for b in v.tolist():
            case = ref_mul_case(a, b, signed)
            code = int(mul_ctrl(a, b, all_on, signed))
            assert (code == 0b00) == (case == "zero") and (code in (0b01, 0b10)) == (case == "one")
    for p in range(-40, 41):
        for s in range(-40, 41):
            case = ref_add_case(p, s, 6)
            code = int(add_ctrl(p, s, all_on, 6))
            assert (code in (0b01, 0b10)) == (case == "add_zero") and (code == 0b00) == (case == "opposite")


@pytest.mark.parametrize("signed", [True, False])
def test_pe_products_vs_reference(signed):
    mult = Skewed(OperandFormat(5, signed))
    v = mult.fmt.values()
    for bp in ALL_BYPASS:
        got = pe_products(mult, bp, v[:, None], v[None, :])
        want = [[ref_product(mult, bp, a, b) for b in v.tolist()] for a in v.tolist()]
        np.testing.assert_array_equal(got, want)
