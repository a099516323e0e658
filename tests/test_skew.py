"""hw/skew.py: skew (lane i delayed i), de-skew (n-1-i) and delay taps, on struct lanes."""

import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data
from amaranth.sim import Simulator

from axmac.hw.skew import Skew, delay_taps
from tests.array_bench import run_sim


def run_skew(dut, n_cycles, lanes):
    """Lane k gets 100*k + t in cycle t (value) and valid = t odd; returns what o shows per cycle."""
    seen = []

    async def bench(ctx):
        for t in range(n_cycles):
            for k in range(lanes):
                ctx.set(dut.i[k].value, 100 * k + t)
                ctx.set(dut.i[k].valid, t % 2)
            seen.append([(ctx.get(dut.o[k].value), ctx.get(dut.o[k].valid)) for k in range(lanes)])
            await ctx.tick()

    run_sim(dut, bench)
    return seen


@pytest.mark.parametrize("reverse", [False, True])
def test_lane_delays(reverse):
    lanes = 4
    dut = Skew(lanes=lanes, shape=data.StructLayout({"value": signed(12), "valid": 1}), reverse=reverse)
    seen = run_skew(dut, 10, lanes)
    for k in range(lanes):
        d = lanes - 1 - k if reverse else k
        assert dut.delay(k) == d
        for t in range(d, 10):
            assert seen[t][k] == (100 * k + t - d, (t - d) % 2), (k, t)
        assert all(seen[t][k] == (0, 0) for t in range(d))  # registers reset to 0


def test_single_lane_is_a_wire():
    dut = Skew(lanes=1, shape=signed(12))

    async def bench(ctx):
        ctx.set(dut.i[0], -5)
        assert ctx.get(dut.o[0]) == -5

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


def test_delay_taps():
    m = Module()
    x = Signal(8)
    taps = delay_taps(m, x, 3, "x")
    assert [t.name for t in taps[1:]] == ["x_d1", "x_d2", "x_d3"]
    seen = []

    async def bench(ctx):
        for t in range(6):
            ctx.set(x, t + 1)
            seen.append([ctx.get(v) for v in taps])
            await ctx.tick()

    run_sim(m, bench)
    assert seen[5] == [6, 5, 4, 3]
    assert seen[1] == [2, 1, 0, 0]


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_constructor_checks():
    with pytest.raises(TypeError, match="lanes must be a positive integer, not 0"):
        Skew(lanes=0, shape=8)
    with pytest.raises(ValueError, match="depth must be a non-negative integer, not -1"):
        delay_taps(Module(), Signal(2), -1, "x")
