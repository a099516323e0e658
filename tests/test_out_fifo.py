"""hw/out_fifo.py: the block-RAM output FIFO behaves cycle for cycle like amaranth.lib.fifo.SyncFIFO."""

import gc

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib.fifo import SyncFIFO

from axmac.hw.out_fifo import OutputFifo
from tests.array_bench import run_sim


def ref_sync_fifo(depth, width, w_en, data, r_en):
    """What SyncFIFO shows each cycle: (r_rdy, r_data when ready, w_rdy, level)."""
    dut = SyncFIFO(width=width, depth=depth)
    return _run(dut, w_en, data, r_en, lambda: (dut.r_rdy, dut.r_data, dut.w_rdy, dut.r_level),
                lambda ctx, we, d, re: (ctx.set(dut.w_en, we), ctx.set(dut.w_data, d), ctx.set(dut.r_en, re)))


def rtl_out_fifo(depth, width, w_en, data, r_en):
    dut = OutputFifo(width=width, depth=depth)
    return _run(dut, w_en, data, r_en, lambda: (dut.r.valid, dut.r.payload, dut.w_rdy, dut.level),
                lambda ctx, we, d, re: (ctx.set(dut.w_en, we), ctx.set(dut.w_data, d), ctx.set(dut.r.ready, re)))


def _run(dut, w_en, data, r_en, outs, drive):
    seen = []
    top = Module()
    top.submodules.dut = dut

    async def bench(ctx):
        for t in range(len(w_en)):
            drive(ctx, int(w_en[t]), int(data[t]), int(r_en[t]))
            rdy, d, wrdy, level = (ctx.get(s) for s in outs())
            seen.append((rdy, d if rdy else None, wrdy, level))
            await ctx.tick()

    run_sim(top, bench)
    return seen


@pytest.mark.parametrize("depth,p_write,p_read", [(2, 0.5, 0.5), (5, 0.8, 0.7), (7, 0.9, 0.8)])
def test_same_as_sync_fifo(depth, p_write, p_read):
    rng = np.random.default_rng(depth)
    n = 400
    burst = (np.arange(n) // 40) % 2 == 0  # alternate phases that fill and drain the FIFO
    w_en = rng.random(n) < np.where(burst, p_write, 1 - p_write)
    r_en = rng.random(n) < np.where(burst, 1 - p_read, p_read)
    data = rng.integers(0, 1 << 12, n)
    want = ref_sync_fifo(depth, 12, w_en, data, r_en)
    assert rtl_out_fifo(depth, 12, w_en, data, r_en) == want
    assert {lvl for *_, lvl in want} == set(range(depth + 1))  # empty to full


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_constructor_checks():
    with pytest.raises(ValueError, match="depth must be an integer >= 2, not 1"):
        OutputFifo(width=8, depth=1)
    with pytest.raises(ValueError, match="width must be a positive integer, not 0"):
        OutputFifo(width=0, depth=4)
    gc.collect()  # the refused objects warn as unused when collected: here, under this test's filter
