"""Amaranth multipliers in Amaranth's simulator: ``mitchell``, ``mitchw``, ``drum`` (hw/multipliers/
{mitchell,mitchw,drum,logmul}.py) and the exact product structures of ``exact`` and ``trunc``
(hw/multipliers/{array,exact,trunc}.py).

``rtl_products`` drives a component in Amaranth's Python simulator (async testbench) and
``ref_products`` asks the golden model: the two must be equal bit for bit, exhaustively at 2-5
bits for every parameter and structure, on random pairs plus corners at 8, 12 and 16 bits, and
exhaustively at 8 bits in the slow suite. The shared helpers (leading-one detector, barrel
shifters, the Dadda reduction) are checked on their own against Python integers. Every family
is also checked in Verilator, in bulk, by ``tests/test_multipliers_rtl.py``.
"""

from __future__ import annotations

import gc
import re
import warnings

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from axmac.golden.multipliers import make_multiplier
from axmac.hw.multipliers import make_hw_multiplier
from axmac.hw.multipliers.array import STRUCTURES, best_structure, csa_sum
from axmac.hw.multipliers.drum import DrumMultiplier
from axmac.hw.multipliers.exact import ExactMultiplier
from axmac.hw.multipliers.logmul import leading_one, shift_left, shift_right
from axmac.hw.multipliers.mitchell import MitchellMultiplier
from axmac.hw.multipliers.mitchw import MitchWMultiplier
from axmac.verilog import to_verilog


def rtl_products(dut, a, b) -> np.ndarray:
    """Products of the component ``dut`` for the pairs ``(a[i], b[i])``, one settle per pair."""
    out = []

    async def testbench(ctx):
        for x, y in zip(a, b, strict=True):
            ctx.set(dut.a, int(x))
            ctx.set(dut.b, int(y))
            out.append(ctx.get(dut.p))

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    return np.array(out, dtype=np.int64)


def ref_products(model, a, b) -> np.ndarray:
    return model(np.asarray(a), np.asarray(b))


def all_specs(bits: int) -> list[str]:
    return (["mitchell"] + [f"mitchw:{w}" for w in range(1, bits)] + [f"drum:{k}" for k in range(2, bits + 1)])


def check(spec, bits, signed, a, b):
    model = make_multiplier(spec, bits, signed)
    got = rtl_products(make_hw_multiplier(model), a, b)
    want = ref_products(model, a, b)
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, f"{spec} {model.fmt}: {[(int(a[i]), int(b[i]), int(got[i]), int(want[i])) for i in bad[:5]]}"


def all_pairs(bits, signed):
    v = make_multiplier("exact", bits, signed).fmt.values()
    return np.repeat(v, v.size), np.tile(v, v.size)


def random_pairs(bits, signed, n, seed):
    rng = np.random.default_rng(seed)
    fmt = make_multiplier("exact", bits, signed).fmt
    corners = sorted({c for c in (fmt.lo, fmt.lo + 1, fmt.hi, fmt.hi - 1, 0, 1, 2, 3, -1, -2, 2 ** (bits - 1),
                                  2 ** (bits - 2), 2 ** (bits - 2) + 1) if fmt.lo <= c <= fmt.hi})
    a = np.concatenate([rng.integers(fmt.lo, fmt.hi + 1, n), np.repeat(corners, len(corners))])
    b = np.concatenate([rng.integers(fmt.lo, fmt.hi + 1, n), np.tile(corners, len(corners))])
    return a, b


# -- equality with the golden model ----------------------------------------------------------------


@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
@pytest.mark.parametrize("bits", [2, 3, 4, 5])
def test_exhaustive_small(bits, signed):
    a, b = all_pairs(bits, signed)
    for spec in all_specs(bits):
        check(spec, bits, signed, a, b)


@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
@pytest.mark.parametrize("spec", ["mitchell", "mitchw:1", "mitchw:4", "mitchw:6", "mitchw:7", "drum:2", "drum:3",
                                  "drum:4", "drum:6", "drum:8"])
def test_random_8bit(spec, signed):
    a, b = random_pairs(8, signed, 3000, seed=len(spec) * 2 + signed)
    check(spec, 8, signed, a, b)


@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
@pytest.mark.parametrize("bits,spec", [(12, "mitchell"), (12, "mitchw:5"), (12, "drum:4"), (16, "mitchell"),
                                       (16, "mitchw:6"), (16, "mitchw:15"), (16, "drum:2"), (16, "drum:6"),
                                       (16, "drum:16")])
def test_random_wide(bits, spec, signed):
    a, b = random_pairs(bits, signed, 600, seed=bits + len(spec) + signed)
    check(spec, bits, signed, a, b)


@pytest.mark.slow
@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
@pytest.mark.parametrize("spec", all_specs(8))
def test_exhaustive_8bit(spec, signed):
    check(spec, 8, signed, *all_pairs(8, signed))


@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
@pytest.mark.parametrize("bits", [2, 3, 4, 5])
def test_exact_structures_and_trunc_exhaustive_small(bits, signed):
    """``exact`` in every structure and ``trunc:k`` for every ``k`` (the kept product: 1..bits wide)."""
    a, b = all_pairs(bits, signed)
    model = make_multiplier("exact", bits, signed)
    for structure in STRUCTURES:
        got = rtl_products(ExactMultiplier(model, structure=structure), a, b)
        assert (got == a * b).all(), structure
    for k in range(bits):
        check(f"trunc:{k}", bits, signed, a, b)


@pytest.mark.parametrize("bits,signed,spec", [(16, True, "exact"), (16, True, "trunc:9"), (12, True, "trunc:3")])
def test_exact_and_trunc_random_wide(bits, signed, spec):
    """Both structures (``*`` for signed kept widths >= 8, the Dadda array otherwise; the unsigned
    Dadda arrays at 12-16 bits are checked in Verilator by test_multipliers_rtl.py)."""
    check(spec, bits, signed, *random_pairs(bits, signed, 200, seed=bits + signed))


class _Columns(wiring.Component):
    """``y = sum(x[i] << column[i]) mod 2**width`` through :func:`csa_sum`."""

    def __init__(self, columns, width):
        self.columns, self.width = columns, width
        super().__init__({"x": In(len(columns)), "y": Out(width)})

    def elaborate(self, platform):
        m = Module()
        cols = [[] for _ in range(self.width)]
        for i, c in enumerate(self.columns):
            cols[c].append(self.x[i])
        m.d.comb += self.y.eq(csa_sum(m, cols, self.width))
        return m


@pytest.mark.parametrize("heights", [[1], [3, 0, 1], [2, 2, 2, 2], [1, 4, 9, 13, 7, 20, 2, 0, 5]])
def test_csa_sum_adds_any_columns(heights):
    """The Dadda reduction on ragged columns (taller than any multiplier's at the top), with wrap."""
    columns = [c for c, h in enumerate(heights) for _ in range(h)]
    width = len(heights)
    dut = _Columns(columns, width)
    xs = np.random.default_rng(len(columns)).integers(0, 1 << len(columns), 300).tolist() + [0, (1 << len(columns)) - 1]
    got = []

    async def testbench(ctx):
        for x in xs:
            ctx.set(dut.x, x)
            got.append(ctx.get(dut.y))

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    want = [sum(1 << c for i, c in enumerate(columns) if x >> i & 1) % (1 << width) for x in xs]
    assert got == want


# -- registry, signature, Verilog --------------------------------------------------------------------


@pytest.mark.parametrize("spec,bits,signed,products", [
    ("exact", 8, True, 1), ("exact", 7, True, 0), ("exact", 10, False, 0), ("trunc:4", 12, True, 1),
    ("trunc:5", 12, True, 0), ("trunc:1", 8, False, 0)])
def test_exact_structure_choice(spec, bits, signed, products):
    """``*`` (Booth-mapped by the synthesis flow) only for signed kept widths >= 8, else the array."""
    text = re.sub(r"\(\*.*?\*\)|/\*.*?\*/", "", to_verilog(make_hw_multiplier(spec, bits, signed), "mul"), flags=re.S)
    assert len(re.findall(r"\S+\s\*\s\S+", text)) == products
    assert best_structure(8, True) == "mul" and best_structure(7, True) == best_structure(16, False) == "csa"


def test_exact_rejects_unknown_structure():
    with pytest.raises(ValueError, match="structure must be one of 'mul', 'array', 'csa', not 'wallace'"):
        ExactMultiplier(make_multiplier("exact", 8, True), structure="wallace")





@pytest.mark.parametrize("spec,cls", [("mitchell", MitchellMultiplier), ("mitchw:4", MitchWMultiplier),
                                      ("drum:4", DrumMultiplier)])
@pytest.mark.parametrize("signed", [True, False], ids=["s", "u"])
def test_registry_signature_and_verilog(spec, cls, signed):
    dut = make_hw_multiplier(spec, 8, signed)
    assert type(dut) is cls and dut.model.spec == spec and dut.extra_sources == []
    assert len(dut.a) == 8 and len(dut.b) == 8 and len(dut.p) == 16
    assert dut.a.shape().signed == signed and dut.p.shape().signed == signed
    text = to_verilog(dut, "mul")
    assert "module mul(" in text.replace(" (", "(")
    code = re.sub(r"\(\*.*?\*\)|/\*.*?\*/", "", text, flags=re.S)
    products = re.findall(r"\S+\s\*\s\S+", code)
    if spec.startswith("drum"):
        assert len(products) == 1  # the k x k segment product, nothing else
    else:
        assert products == []  # log multipliers: no multiplier at all


def test_component_rejects_non_model():
    msg = None
    with warnings.catch_warnings():  # the half-built component warns "never used" when collected
        warnings.simplefilter("ignore")
        try:
            MitchellMultiplier("mitchell")
        except TypeError as e:
            msg = str(e)
        gc.collect()
    assert msg and "Multiplier" in msg


# -- shared helpers ------------------------------------------------------------------------------------


class _Helpers(wiring.Component):
    """Wraps the logmul helpers on an ``n``-bit input for the simulator."""

    def __init__(self, n, width):
        self.n, self.width = n, width
        amt = max(1, (width - 1).bit_length())
        super().__init__({"x": In(n), "amt": In(amt), "pos": Out(max(1, (n - 1).bit_length())), "nz": Out(1),
                          "shl": Out(width), "shr": Out(n)})

    def elaborate(self, platform):
        m = Module()
        pos, nz = leading_one(self.x)
        m.d.comb += [self.pos.eq(pos), self.nz.eq(nz), self.shl.eq(shift_left(self.x, self.amt, self.width)),
                     self.shr.eq(shift_right(self.x, self.amt))]
        return m


@pytest.mark.parametrize("n,width", [(1, 2), (3, 5), (5, 9), (8, 16), (12, 12)])
def test_leading_one_and_shifters(n, width):
    dut = _Helpers(n, width)
    amts = range(1 << len(dut.amt))
    xs = range(1 << n) if n <= 8 else np.random.default_rng(n).integers(0, 1 << n, 300)
    bad = []

    async def testbench(ctx):
        for x in xs:
            for amt in amts:
                ctx.set(dut.x, int(x))
                ctx.set(dut.amt, amt)
                got = (ctx.get(dut.pos), ctx.get(dut.nz), ctx.get(dut.shl), ctx.get(dut.shr))
                want = (max(int(x).bit_length() - 1, 0), int(x != 0), (int(x) << amt) % (1 << width), int(x) >> amt)
                if got != want:
                    bad.append((int(x), amt, got, want))

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    assert bad == []


def test_signal_names_visible():
    """The intermediate signals keep their names in the Verilog (readable waveforms)."""
    text = to_verilog(make_hw_multiplier("mitchw:6", 8, True), "mul")
    for name in ("c1_a", "k_a", "f_b", "p_mag"):
        assert re.search(rf"\b{name}\b", text), name


@pytest.mark.synth
def test_generic_cost_ordering():
    """Yosys (generic CMOS estimate, signed): Mitch-w is cheaper than Mitchell and gets cheaper
    with smaller ``w`` (Kim et al. 2019/2021: "Mitch-w multipliers consume significantly less
    resources compared to the Mitchell log multiplier"); the log designs and DRUM-4 are cheaper
    than the exact multiplier at 8 bits and DRUM grows with ``k``. DRUM-6 pays off at the 16 bits
    Hashemi et al. evaluate; at 8 bits its leading-one detectors and shifters around a 6x6 product
    cost more than the exact (Booth) 8x8 multiplier (3154 vs 2798 transistors)."""
    from axmac.gen.synth import synth_multiplier

    def cost(spec, bits=8):
        return synth_multiplier(make_multiplier(spec, bits, True), targets=("generic",))["generic"]["transistors"]

    c = {s: cost(s) for s in ("exact", "mitchell", "mitchw:4", "mitchw:6", "drum:4", "drum:6")}
    assert c["mitchw:4"] < c["mitchw:6"] < c["mitchell"] < c["exact"], c
    assert c["drum:4"] < c["drum:6"] and c["drum:4"] < c["exact"], c
    assert cost("drum:6", 16) < cost("exact", 16) / 1.5
