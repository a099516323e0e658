"""hw/acc_buffer.py: one column of the ws accumulator buffer against a dictionary model.

Random K-tile sequences (first / middle / last tiles, one sum per cycle, idle cycles), including
back-to-back tiles where a row is read at the very edge its previous value is written (the
transparent read port), with wrap and saturation.
"""

import numpy as np
import pytest

from axmac.hw.acc_buffer import AccumulatorColumn
from tests.array_bench import fit, run_sim


def sums_stream(rng, depth, acc_bits, n_tiles):
    """Per cycle ``(valid, first, last, index, s)``: tiles of 1..depth rows, K blocks of 1..3 tiles."""
    half = 1 << (acc_bits - 1)
    beats = []
    while n_tiles > 0:
        m = int(rng.integers(1, depth + 1))
        k = int(rng.integers(1, 4))
        for ki in range(k):
            for i in range(m):
                s = int(rng.choice([rng.integers(-half, half), half - 1, -half, 0]))
                beats.append((1, int(ki == 0), int(ki == k - 1), i, s))
                if rng.random() < 0.2:
                    beats.append((0, 0, 0, 0, 0))
            n_tiles -= 1
    return beats


def ref_column(beats, acc_bits, overflow):
    acc, out = {}, []
    for t, (v, first, last, i, s) in enumerate(beats):
        if not v:
            continue
        value = s if first else fit(acc[i] + s, acc_bits, overflow)
        if last:
            out.append((t + 1, value))
        else:
            acc[i] = value
    return out


def rtl_column(beats, acc_bits, depth, overflow):
    dut = AccumulatorColumn(acc_bits=acc_bits, depth=depth, overflow=overflow)
    out = []

    async def bench(ctx):
        for t in range(len(beats) + 1):
            if t < len(beats):
                v, first, last, i, s = beats[t]
                for name, val in (("valid", v), ("first", first), ("last", last), ("index", i), ("s", s)):
                    ctx.set(getattr(dut, name), val)
                ctx.set(dut.next_index, beats[t + 1][3] if t + 1 < len(beats) else 0)
            if ctx.get(dut.result_valid):
                out.append((t, ctx.get(dut.result)))
            await ctx.tick()

    run_sim(dut, bench)
    return out


@pytest.mark.parametrize("depth,acc_bits,overflow", [(1, 16, "wrap"), (3, 20, "saturate"), (8, 32, "wrap")])
def test_column_against_model(depth, acc_bits, overflow):
    beats = sums_stream(np.random.default_rng(depth), depth, acc_bits, 40)
    want = ref_column(beats, acc_bits, overflow)
    assert len(want) > 10
    assert rtl_column(beats, acc_bits, depth, overflow) == want


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_constructor_checks():
    with pytest.raises(ValueError, match="depth must be a positive integer, not 0"):
        AccumulatorColumn(acc_bits=32, depth=0)
    with pytest.raises(ValueError, match="acc_bits must be an integer in 2..64, not 65"):
        AccumulatorColumn(acc_bits=65, depth=4)
    with pytest.raises(ValueError, match="overflow must be one of 'wrap', 'saturate', not 'clamp'"):
        AccumulatorColumn(acc_bits=32, depth=4, overflow="clamp")
