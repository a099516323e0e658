"""Golden models trunc, bam, lut and verilog against independent formulations, and their spec errors."""

import itertools
from pathlib import Path

import numpy as np
import pytest

from axmac.errors import SpecError
from axmac.gen.cli import main
from axmac.golden.multipliers import make_multiplier
from axmac.golden.multipliers.base import OperandFormat

DATA = Path(__file__).resolve().parent / "data"
FORMATS = [(n, s) for n in (2, 3, 4, 5, 8) for s in (True, False)]


def operands(n, signed):
    v = OperandFormat(n, signed).values()
    return v[:, None], v[None, :]


def random_operands(n, signed, count=20_000, seed=0):
    f = OperandFormat(n, signed)
    rng = np.random.default_rng(seed)
    return rng.integers(f.lo, f.hi + 1, count), rng.integers(f.lo, f.hi + 1, count)


# -- trunc -------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,signed", FORMATS)
def test_trunc_is_floor_scaled_product(n, signed):
    a, b = operands(n, signed)
    for k in range(n):
        q = 1 << k
        ref = (a - np.mod(a, q)) * (b - np.mod(b, q))  # floor to a multiple of 2**k (two's complement)
        assert (make_multiplier(f"trunc:{k}", n, signed).table() == ref).all(), k


@pytest.mark.parametrize("n", [12, 16])
def test_trunc_wide_random(n):
    for signed, k in itertools.product((True, False), (1, 3, n - 1)):
        a, b = random_operands(n, signed, seed=k)
        ref = [(x // (1 << k) << k) * (y // (1 << k) << k) for x, y in zip(a.tolist(), b.tolist(), strict=True)]
        assert (make_multiplier(f"trunc:{k}", n, signed)(a, b) == ref).all()


def test_trunc_examples():
    assert int(make_multiplier("trunc:2", 8, True)(-1, 7)) == -4 * 4
    assert int(make_multiplier("trunc:2", 8, False)(255, 255)) == 252 * 252
    assert make_multiplier("trunc:0", 8, True).is_exact


# -- bam: a per-pair, bit-level reference written from the array definition -----------------------

def ref_bam(a, b, n, signed, k):
    """Slow reference: list every bit of the (Baugh-Wooley if signed) array, keep columns >= k."""
    abit = [(a >> i) & 1 for i in range(n)]  # Python ints: two's complement bits of negatives
    bbit = [(b >> j) & 1 for j in range(n)]
    bits = []  # (column, value)
    for i in range(n):
        for j in range(n):
            pp = abit[i] & bbit[j]
            if signed and (i == n - 1) != (j == n - 1):
                pp = 1 - pp  # the NAND bits of the rows/columns with one sign bit
            bits.append((i + j, pp))
    if signed:
        bits += [(n, 1), (2 * n - 1, 1)]
    total = sum(v << c for c, v in bits if c >= k) % (1 << (2 * n))
    if signed and total >= 1 << (2 * n - 1):
        total -= 1 << (2 * n)
    return total


@pytest.mark.parametrize("n,signed", [(n, s) for n in (2, 3, 4, 5) for s in (True, False)])
def test_bam_matches_bit_level_reference_exhaustively(n, signed):
    v = OperandFormat(n, signed).values().tolist()
    for k in range(2 * n):
        t = make_multiplier(f"bam:{k}", n, signed).table()
        ref = np.array([[ref_bam(x, y, n, signed, k) for y in v] for x in v])
        assert (t == ref).all(), k


@pytest.mark.parametrize("n", [8, 12, 16])
def test_bam_matches_bit_level_reference_sampled(n):
    for signed, k in itertools.product((True, False), (1, n - 1, n, n + 1, 2 * n - 1)):
        a, b = random_operands(n, signed, count=300, seed=k)
        got = make_multiplier(f"bam:{k}", n, signed)(a, b)
        ref = [ref_bam(x, y, n, signed, k) for x, y in zip(a.tolist(), b.tolist(), strict=True)]
        assert (got == ref).all(), (signed, k)


@pytest.mark.parametrize("n,signed", FORMATS)
def test_bam_0_is_exact(n, signed):
    a, b = operands(n, signed)
    assert (make_multiplier("bam:0", n, signed).table() == a * b).all()


@pytest.mark.parametrize("n", [4, 8])
def test_unsigned_bam_error_is_the_dropped_partial_products(n):
    """Unsigned: exact - bam = sum of a_i b_j 2^(i+j) over i + j < k (a different formulation)."""
    a, b = operands(n, False)
    for k in range(2 * n):
        dropped = sum(((a >> i) & 1) * ((b >> j) & 1) << (i + j) for i in range(n) for j in range(n) if i + j < k)
        assert (make_multiplier(f"bam:{k}", n, False).table() == a * b - dropped).all(), k


@pytest.mark.parametrize("spec,msg", [("trunc:8", "out of range 0..7"), ("trunc:x", "must be an integer"),
                                      ("trunc:-1", "out of range"), ("bam:16", "out of range 0..15"),
                                      ("bam:1.5", "must be an integer"), ("trunc", "needs a parameter"),
                                      ("bam", "needs a parameter")])
def test_trunc_bam_bad_parameters(spec, msg):
    with pytest.raises(SpecError, match=msg):
        make_multiplier(spec, 8, True)


# -- lut ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,signed", [(4, True), (4, False), (8, True), (8, False)])
def test_lut_round_trip(tmp_path, n, signed):
    f = OperandFormat(n, signed)
    rng = np.random.default_rng(n)
    w = 2 * n
    lo, hi = (-(1 << (w - 1)), 1 << (w - 1)) if signed else (0, 1 << w)
    table = rng.integers(lo, hi, size=(1 << n, 1 << n)).astype(np.int32)
    path = tmp_path / "t.npy"
    np.save(path, table)
    m = make_multiplier(f"lut:{path}", n, signed)
    assert m.table_only and m.table().dtype == np.int64
    assert (m.table() == table).all()
    a, b = random_operands(n, signed, 1000)
    # bit-pattern indexing computed independently: two's complement pattern of a negative value
    ia = np.where(a < 0, a + (1 << n), a)
    ib = np.where(b < 0, b + (1 << n), b)
    assert (m(a, b) == table[ia, ib]).all()
    assert f.values()[ia].tolist() == a.tolist()


def test_lut_of_exact_products_is_exact(tmp_path):
    a, b = operands(6, True)
    path = tmp_path / "exact6.npy"
    np.save(path, (a * b).astype(np.int16))
    x, y = random_operands(6, True, 500)
    assert (make_multiplier(f"lut:{path}", 6, True)(x, y) == x * y).all()


def _save(tmp_path, name, arr, **kw):
    path = tmp_path / name
    np.save(path, arr, **kw)
    return path


@pytest.mark.parametrize("case,msg", [
    ("missing", "not found"),
    ("text", "cannot read"),
    ("object", "cannot read"),
    ("1d", "square 2-D"),
    ("3d", "square 2-D"),
    ("rect", "square 2-D"),
    ("not_pow2", "not a power of two"),
    ("width", "i.e. 4-bit operands, but the operand width is 8"),
    ("float", "dtype float64"),
    ("bool", "dtype bool"),
    ("range_s", "outside the signed 8-bit output range"),
    ("range_u", "outside the unsigned 8-bit output range"),
])
def test_lut_bad_tables(tmp_path, case, msg):
    bits, signed = (4, True)
    if case == "missing":
        path = tmp_path / "nope.npy"
    elif case == "text":
        path = tmp_path / "t.npy"
        path.write_text("not numpy")
    elif case == "object":
        path = _save(tmp_path, "o.npy", np.array([[1, None], [2, 3]], dtype=object), allow_pickle=True)
    elif case == "1d":
        path = _save(tmp_path, "a.npy", np.zeros(16, np.int64))
    elif case == "3d":
        path = _save(tmp_path, "a.npy", np.zeros((16, 16, 1), np.int64))
    elif case == "rect":
        path = _save(tmp_path, "a.npy", np.zeros((16, 8), np.int64))
    elif case == "not_pow2":
        path = _save(tmp_path, "a.npy", np.zeros((12, 12), np.int64))
    elif case == "width":
        path = _save(tmp_path, "a.npy", np.zeros((16, 16), np.int64))
        bits = 8
    elif case == "float":
        path = _save(tmp_path, "a.npy", np.zeros((16, 16)))
    elif case == "bool":
        path = _save(tmp_path, "a.npy", np.zeros((16, 16), bool))
    elif case == "range_s":
        t = np.zeros((16, 16), np.int64)
        t[3, 5] = 128  # signed 8-bit output range is [-128, 127]
        path = _save(tmp_path, "a.npy", t)
    else:
        t = np.zeros((16, 16), np.int64)
        t[0, 1] = -1
        path = _save(tmp_path, "a.npy", t)
        signed = False
    with pytest.raises(SpecError, match=msg):
        make_multiplier(f"lut:{path}", bits, signed)


def test_lut_range_edges_accepted(tmp_path):
    t = np.zeros((16, 16), np.int64)
    t[0, 0], t[0, 1] = -128, 127
    assert make_multiplier(f"lut:{_save(tmp_path, 's.npy', t)}", 4, True).table()[0, 0] == -128
    t[0, 0], t[0, 1] = 0, 255
    assert make_multiplier(f"lut:{_save(tmp_path, 'u.npy', t.astype(np.uint8))}", 4, False).table()[0, 1] == 255


def test_cli_bad_lut_is_one_line_exit_2(tmp_path, capsys):
    path = _save(tmp_path, "a.npy", np.zeros((16, 16), np.int64))
    rc = main(["multipliers", "characterize", f"lut:{path}", "--bits", "8", "--no-hw"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "4-bit operands" in err


# -- verilog -----------------------------------------------------------------------------------

def bit(x, i):
    return (x >> i) & 1


def test_verilog_exact_multiplier_table_is_exact():
    m = make_multiplier(f"verilog:{DATA / 'exact_mul6_s.v'}:exact_mul6_s", 6, True)
    a, b = operands(6, True)
    assert m.table_only and (m.table() == a * b).all()


def test_verilog_approx_unsigned_vs_formula():
    a, b = operands(8, False)
    ref = a * b - bit(a, 0) * bit(b, 0) - 4 * bit(a, 1) * bit(b, 1) - 128 * bit(a, 7) * bit(b, 0)
    m = make_multiplier(f"verilog:{DATA / 'approx_mul8_u.v'}", 8, False)
    assert (m.table() == ref).all()
    x, y = random_operands(8, False, 100)
    assert (m(x, y) == (x * y - bit(x, 0) * bit(y, 0) - 4 * bit(x, 1) * bit(y, 1) - 128 * bit(x, 7) * bit(y, 0))).all()


def test_verilog_approx_signed_vs_formula():
    a, b = operands(8, True)
    p = a * b
    low = np.mod(p, 8)
    ref = p - low + np.where(low > 0, 4, 0)
    assert (make_multiplier(f"verilog:{DATA / 'approx_mul8_s.v'}", 8, True).table() == ref).all()


@pytest.mark.parametrize("signed", [True, False])
def test_verilog_narrow_output_is_extended(signed):
    a, b = operands(4, signed)
    low7 = np.mod((a & 15) * (b & 15), 128)  # the module: low 7 bits of the product of the bit patterns
    ref = np.where(low7 >= 64, low7 - 128, low7) if signed else low7
    assert (make_multiplier(f"verilog:{DATA / 'mul4_narrow.v'}", 4, signed).table() == ref).all()


def _vfile(tmp_path, text, name="m.v"):
    path = tmp_path / name
    path.write_text(text)
    return path


BAD_SOURCES = {
    "three_inputs": "module t(input [3:0] a, b, c, output [7:0] p); assign p = a*b+c; endmodule",
    "two_outputs": "module t(input [3:0] a, b, output [7:0] p, q); assign p = a*b; assign q = 0; endmodule",
    "wide_out": "module t(input [3:0] a, b, output [8:0] p); assign p = a*b; endmodule",
    "syntax": "module t(input [3:0] a, b, output [7:0] p); assign p = ; endmodule",
    "no_module": "// nothing here",
}


@pytest.mark.parametrize("case,bits,msg", [
    ("missing", 4, "not found"),
    ("nomodule", 4, "module 'nope' not found in mul4_narrow.v \\(modules: mul4_narrow\\)"),
    ("three_inputs", 4, "exactly two inputs and one output"),
    ("two_outputs", 4, "exactly two inputs and one output"),
    ("width", 6, "do not match the operand width 6"),
    ("wide_out", 4, "has 9 bits, more than 2\\*4"),
    ("syntax", 4, "Yosys cannot read m.v"),
    ("too_wide", 12, "limited to 10-bit operands"),
    ("empty_top", 4, "empty module name"),
    ("no_module", 4, "no module declared"),
])
def test_verilog_bad_files(tmp_path, case, bits, msg):
    narrow = DATA / "mul4_narrow.v"
    if case in BAD_SOURCES:
        spec = f"verilog:{_vfile(tmp_path, BAD_SOURCES[case])}"
    else:
        spec = {
            "missing": f"verilog:{tmp_path / 'nope.v'}",
            "nomodule": f"verilog:{narrow}:nope",
            "width": f"verilog:{narrow}",
            "too_wide": f"verilog:{narrow}",
            "empty_top": f"verilog:{narrow}:",
        }[case]
    with pytest.raises(SpecError, match=msg):
        make_multiplier(spec, bits, True)


def test_cli_bad_verilog_is_one_line_exit_2(tmp_path, capsys):
    path = _vfile(tmp_path, "module t(input [3:0] a, b, output [7:0] p); assign p = ; endmodule")
    rc = main(["multipliers", "characterize", f"verilog:{path}", "--bits", "4", "--no-hw"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Yosys cannot read" in err
