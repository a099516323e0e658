"""hw/counters.py: the seven activity counters of a PE against a count of the same events in Python."""

import numpy as np
import pytest

from axmac.config import COUNTER_NAMES
from axmac.hw.counters import PECounters
from tests.array_bench import run_sim


def rtl_counts(gating, valid, mc, ac):
    dut = PECounters(gating=gating)
    seen = []

    async def bench(ctx):
        for t in range(len(valid) + 1):
            seen.append([ctx.get(dut.counts[j]) for j in range(len(COUNTER_NAMES))])
            if t < len(valid):
                ctx.set(dut.valid, int(valid[t]))
                ctx.set(dut.mul_ctrl, int(mc[t]))
                ctx.set(dut.add_ctrl, int(ac[t]))
            await ctx.tick()

    run_sim(dut, bench)
    return np.array(seen)


@pytest.mark.parametrize("gating", ["none", "enable", "icg"])
def test_counts_by_code(gating):
    rng = np.random.default_rng(3)
    n = 200
    valid = rng.random(n) < 0.7
    mc = rng.integers(0, 4, n)
    ac = rng.integers(0, 4, n)
    got = rtl_counts(gating, valid, mc, ac)
    assert got[0].tolist() == [0] * 7  # nothing counted during cycle 0
    used = valid & (mc == 3)
    want = {
        "mul_used": used, "zero": valid & (mc == 0), "one": valid & ((mc == 1) | (mc == 2)),
        "add_zero": valid & ((ac == 1) | (ac == 2)), "opposite": valid & (ac == 0),
        "gated": ~used if gating != "none" else np.zeros(n, bool), "valid": valid,
    }
    for j, name in enumerate(COUNTER_NAMES):
        # during cycle t the counters hold the events of cycles 0..t-1
        np.testing.assert_array_equal(got[1:, j], np.cumsum(want[name]), err_msg=name)
    if gating != "none":
        np.testing.assert_array_equal(got[:, 0] + got[:, 5], np.arange(n + 1))


def test_port_layout():
    """Counter j at bits 32*j of ``counts`` (a valid slot using the multiplier and the adder: counters 0 and 6)."""
    dut = PECounters(gating="none")

    async def bench(ctx):
        ctx.set(dut.valid, 1)
        ctx.set(dut.mul_ctrl, 3)
        ctx.set(dut.add_ctrl, 3)
        await ctx.tick()
        assert ctx.get(dut.counts.as_value()) == 1 | 1 << (6 * 32)

    run_sim(dut, bench)
    assert len(dut.counts.as_value()) == 7 * 32


def test_constructor_checks():
    with pytest.raises(ValueError, match="gating must be one of 'none', 'enable', 'icg', not 'off'"):
        PECounters(gating="off")
