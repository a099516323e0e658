"""hw/pe_ws.py (with hw/array_pe.py): the weight-stationary array PE against the golden PE, slot by slot.

Amaranth's simulator drives random slots, shadow writes and commits; the reference keeps a shadow
and an active weight as docs/array.md says (at the edge that takes a committing slot the active
weight becomes the shadow's *old* value, even if the shadow is written at that same edge) and
computes every slot with :mod:`axmac.golden.pe`; saturation is checked against a clamp of the
exact sum. (Gating ``icg`` needs the ICG cell's Verilog, which Amaranth's simulator does not run:
its PEs are built in Verilator by tests/test_top_verilator.py and co-simulated by sim/.)
"""

import numpy as np
import pytest

from axmac.golden.bypass import Bypass
from axmac.golden.multipliers import make_multiplier
from axmac.golden.pe import MUL_USED, add_ctrl, mul_ctrl, pe_products
from axmac.hw.pe_os import OutputStationaryPE
from axmac.hw.pe_ws import WeightStationaryPE
from tests.array_bench import check_isolation, fit, run_sim


def slot_stimulus(rng, fmt, n, acc_bits, *, commit_p=0.15, we_p=0.3):
    specials = np.array(sorted({0, 1, fmt.lo, fmt.hi} | ({-1} if fmt.signed else set())))
    a = np.where(rng.random(n) < 0.3, rng.choice(specials, n), rng.integers(fmt.lo, fmt.hi + 1, n))
    w = np.where(rng.random(n) < 0.5, rng.choice(specials, n), rng.integers(fmt.lo, fmt.hi + 1, n))
    half = 1 << (acc_bits - 1)
    psum = rng.integers(-half, half, n)
    psum[rng.random(n) < 0.2] = 0
    psum[rng.random(n) < 0.1] = half - 1
    return {"a": a, "w": w, "we": rng.random(n) < we_p, "commit": rng.random(n) < commit_p,
            "valid": rng.random(n) < 0.85, "psum": psum}


def ref_ws(mult, bypass, acc_bits, overflow, st):
    """Per slot (presented in cycle t, shown in t + 1): the active weight, psum_out and codes."""
    shadow = active = 0
    weights = []
    for t in range(len(st["a"])):
        if st["commit"][t]:
            active = shadow
        if st["we"][t]:
            shadow = int(st["w"][t])
        weights.append(active)
    w = np.array(weights)
    p = np.where(st["valid"], pe_products(mult, bypass, st["a"], w), 0)
    out = [fit(int(s + q), acc_bits, overflow) if v else int(s)
           for s, q, v in zip(st["psum"], p, st["valid"], strict=True)]
    mc = np.where(st["valid"], mul_ctrl(st["a"], w, bypass, mult.signed), 0b00)
    ac = np.where(st["valid"], add_ctrl(p, st["psum"], bypass, acc_bits), 0b10)
    return w, np.array(out), mc, ac


def rtl_ws(pe, st):
    """Drive the slots; returns per slot (w_out, psum_out, mul_ctrl, add_ctrl, mult.a) one cycle later."""
    got = []

    async def bench(ctx):
        n = len(st["a"])
        for t in range(n + 1):
            if t < n:
                ctx.set(pe.a_in, int(st["a"][t]))
                ctx.set(pe.valid_in, bool(st["valid"][t]))
                ctx.set(pe.commit_in, bool(st["commit"][t]))
                ctx.set(pe.psum_in, int(st["psum"][t]))
                ctx.set(pe.shadow_in, int(st["w"][t]))
                ctx.set(pe.shadow_we, bool(st["we"][t]))
            if t:
                got.append((ctx.get(pe.w_out), ctx.get(pe.psum_out), ctx.get(pe.mul_ctrl), ctx.get(pe.add_ctrl),
                            ctx.get(pe.mult.a), ctx.get(pe.a_out), ctx.get(pe.valid_out), ctx.get(pe.commit_out)))
            await ctx.tick()

    run_sim(pe, bench)
    return [np.array(col) for col in zip(*got, strict=True)]


@pytest.mark.parametrize("spec,bits,signed,acc_bits,overflow,bypass,gating", [
    ("exact", 8, True, 32, "wrap", "all", "enable"),
    ("drum:4", 8, True, 17, "saturate", "all", "enable"),
    ("trunc:2", 6, False, 12, "wrap", "zero,one", "none"),
    ("exact", 4, True, 9, "saturate", "one,opposite", "enable"),
])
def test_ws_pe_vs_golden(spec, bits, signed, acc_bits, overflow, bypass, gating):
    mult = make_multiplier(spec, bits, signed)
    bp = Bypass.parse(bypass)
    st = slot_stimulus(np.random.default_rng(bits + acc_bits), mult.fmt, 400, acc_bits)
    w, psum, mc, ac = ref_ws(mult, bp, acc_bits, overflow, st)
    pe = WeightStationaryPE(multiplier=mult, acc_bits=acc_bits, bypass=bp, gating=gating, overflow=overflow)
    got_w, got_psum, got_mc, got_ac, mult_a, a_out, v_out, c_out = rtl_ws(pe, st)
    np.testing.assert_array_equal(got_w, w)
    np.testing.assert_array_equal(got_psum, psum)
    np.testing.assert_array_equal(got_mc, mc)
    np.testing.assert_array_equal(got_ac, ac)
    np.testing.assert_array_equal(a_out, st["a"])
    np.testing.assert_array_equal(v_out, st["valid"])
    np.testing.assert_array_equal(c_out, st["commit"])
    check_isolation(gating, st["valid"] & (mc == MUL_USED), mult_a, st["a"])


def test_commit_reads_the_old_shadow():
    """A shadow write at the edge of a commit: the committing slot uses the old shadow, the next commit the new."""
    mult = make_multiplier("exact", 8, True)
    st = {"a": np.array([3, 3, 3, 3]), "w": np.array([5, 7, 0, 0]), "we": np.array([1, 1, 0, 0], bool),
          "commit": np.array([0, 1, 0, 1], bool), "valid": np.ones(4, bool), "psum": np.zeros(4, np.int64)}
    pe = WeightStationaryPE(multiplier=mult, acc_bits=16)
    got_w, got_psum, *_ = rtl_ws(pe, st)
    assert got_w.tolist() == [0, 5, 5, 7] and got_psum.tolist() == [0, 15, 15, 21]


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_constructor_checks():
    """The checks every PE shares (hw/mac_slot.check_pe_args; the others are pinned by tests/test_pe.py)
    plus the overflow mode, on both array PEs."""
    m8 = make_multiplier("exact", 8, True)
    for cls in (WeightStationaryPE, OutputStationaryPE):
        with pytest.raises(TypeError, match="multiplier must be a Multiplier golden model"):
            cls(multiplier="exact")
        with pytest.raises(ValueError, match="overflow must be one of 'wrap', 'saturate', not 'clip'"):
            cls(multiplier=m8, overflow="clip")
        with pytest.raises(ValueError, match=r"overflow='saturate' needs acc_bits >= 17 \(a product and a sign "
                                             r"bit\), not 16"):
            cls(multiplier=m8, acc_bits=16, overflow="saturate")
