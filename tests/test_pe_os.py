"""hw/pe_os.py: the output-stationary array PE against a reference written from docs/array.md.

Random slots with random tile boundaries (``start`` / ``end`` flags), products from
:mod:`axmac.golden.pe`: the accumulator restarts from 0 at ``start``, a valid ``end`` slot moves
the final value into ``hold``, ``drain_load`` copies ``hold`` into the drain register (else it
takes ``drain_in``). Both multiplier operands are isolated with gating.
"""

import numpy as np
import pytest

from axmac.golden.bypass import Bypass
from axmac.golden.multipliers import make_multiplier
from axmac.golden.pe import MUL_USED, add_ctrl, mul_ctrl, pe_products
from axmac.hw.pe_os import OutputStationaryPE
from tests.array_bench import check_isolation, fit, run_sim
from tests.test_pe_ws import slot_stimulus


def ref_os(mult, bypass, acc_bits, overflow, st):
    """Per slot: the addend, the new accumulator, codes; per cycle: the drain register after the slot."""
    acc = hold = drain = 0
    addends, results, drains = [], [], []
    p = np.where(st["valid"], pe_products(mult, bypass, st["a"], st["w"]), 0)
    for t in range(len(p)):
        # slot t is computed in cycle t + 1; drain_load presented in cycle t + 1 loads at edge t + 2
        addend = 0 if st["start"][t] else acc
        result = fit(addend + int(p[t]), acc_bits, overflow) if st["valid"][t] else addend
        addends.append(addend)
        results.append(result)
        drain = hold if st["load"][t] else int(st["drain_in"][t])
        drains.append(drain)
        if st["valid"][t]:
            acc = result
            if st["end"][t]:
                hold = result
    mc = np.where(st["valid"], mul_ctrl(st["a"], st["w"], bypass, mult.signed), 0b00)
    ac = np.where(st["valid"], add_ctrl(p, np.array(addends), bypass, acc_bits), 0b10)
    return np.array(results), np.array(drains), mc, ac


def rtl_os(pe, st):
    got = []
    n = len(st["a"])

    async def bench(ctx):
        for t in range(n + 2):
            if t < n:
                for port, key in (("a_in", "a"), ("w_in", "w"), ("valid_in", "valid"), ("start_in", "start"),
                                  ("end_in", "end")):
                    ctx.set(getattr(pe, port), int(st[key][t]))
            if 1 <= t <= n:  # slot t-1 is computed now; drain control for the edge after it
                ctx.set(pe.drain_load, int(st["load"][t - 1]))
                ctx.set(pe.drain_in, int(st["drain_in"][t - 1]))
                got.append([ctx.get(pe.mul_ctrl), ctx.get(pe.add_ctrl), ctx.get(pe.mult.a), ctx.get(pe.mult.b),
                            ctx.get(pe.valid_out), ctx.get(pe.end_out), ctx.get(pe.w_out), ctx.get(pe.a_out)])
            if t >= 2:
                got[t - 2].append(ctx.get(pe.drain_out))
            await ctx.tick()

    run_sim(pe, bench)
    return [np.array(col) for col in zip(*got, strict=True)]


@pytest.mark.parametrize("spec,bits,signed,acc_bits,overflow,bypass,gating", [
    ("exact", 8, True, 20, "saturate", "all", "enable"),
    ("mitchell", 6, True, 12, "wrap", "zero,one,add-zero", "none"),
    ("exact", 5, False, 11, "saturate", "opposite", "enable"),
])
def test_os_pe_vs_reference(spec, bits, signed, acc_bits, overflow, bypass, gating):
    mult = make_multiplier(spec, bits, signed)
    bp = Bypass.parse(bypass)
    rng = np.random.default_rng(bits)
    n = 400
    st = slot_stimulus(rng, mult.fmt, n, acc_bits)
    st.update(start=rng.random(n) < 0.2, end=rng.random(n) < 0.2, load=rng.random(n) < 0.3, drain_in=st["psum"])
    results, drains, mc, ac = ref_os(mult, bp, acc_bits, overflow, st)
    pe = OutputStationaryPE(multiplier=mult, acc_bits=acc_bits, bypass=bp, gating=gating, overflow=overflow)
    got_mc, got_ac, mult_a, mult_b, v_out, e_out, w_out, a_out, drain = rtl_os(pe, st)
    np.testing.assert_array_equal(got_mc, mc)
    np.testing.assert_array_equal(got_ac, ac)
    np.testing.assert_array_equal(drain, drains)
    np.testing.assert_array_equal(v_out, st["valid"])
    np.testing.assert_array_equal(e_out, st["end"])
    np.testing.assert_array_equal(w_out, st["w"])
    np.testing.assert_array_equal(a_out, st["a"])
    used = st["valid"] & (mc == MUL_USED)
    check_isolation(gating, used, mult_a, st["a"])
    check_isolation(gating, used, mult_b, st["w"])
    # the hold register is only observable through the drain: make sure the test loaded non-zero sums
    assert np.count_nonzero(drains[st["load"]]) > 10
