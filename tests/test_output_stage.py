"""hw/output_stage.py and hw/param_banks.py: the output stage's arithmetic against golden/requant.py,
its 3-stage latency, and the parameter banks' rules (docs/array.md "Output stage")."""

import numpy as np
import pytest
from amaranth.hdl import Value

from axmac.config import ArrayConfig
from axmac.golden.requant import acc_output, requantize
from axmac.hw.layouts import qp_layout
from axmac.hw.output_stage import OutputStage
from axmac.hw.param_banks import ParamBanks
from tests.array_bench import ref_output, run_sim


def random_blocks(rng, cfg, n):
    A = cfg.acc_bits
    half = 1 << (A - 1)
    blocks = []
    for i in range(n):
        lo, hi = sorted(rng.integers(-half, half, 2).tolist())
        if i % 5 == 4:
            lo, hi = hi, lo  # lo > hi: hi wins
        cols = [{"bias": int(rng.integers(-half, half)), "mult": int(rng.choice([0, 1, (1 << 31) - 1,
                 int(rng.integers(0, 1 << 31))])), "shift": int(rng.choice([0, 1, 31, 63, int(rng.integers(0, 64))]))}
                for _ in range(cfg.cols)]
        blocks.append({"col": cols, "zp": int(rng.integers(-half, half)), "lo": lo, "hi": hi,
                       "relu": int(rng.random() < 0.5), "requant": int(i % 3 != 2)})
    return blocks


def rtl_stage(cfg, banks, rows, tags, valids):
    """Feed one row per cycle; return (o_row, o_valid, o_tag) seen two cycles after each input."""
    dut = OutputStage(config=cfg)
    lay = qp_layout(cfg)
    got = []

    async def bench(ctx):
        for b in range(2):
            ctx.set(Value.cast(dut.banks[b]), lay.const(banks[b]).as_value().value)
        for t in range(len(rows) + 2):
            if t < len(rows):
                ctx.set(dut.i_row, rows[t])
                ctx.set(dut.i_tag, tags[t])
                ctx.set(dut.i_valid, valids[t])
            if t >= 2:
                got.append((list(ctx.get(dut.o_row)), ctx.get(dut.o_valid), ctx.get(dut.o_tag)))
            await ctx.tick()

    run_sim(dut, bench)
    return got


@pytest.mark.parametrize("acc_bits,overflow,kind", [(32, "wrap", "requant"), (20, "saturate", "requant"),
                                                      (17, "saturate", "acc"), (64, "wrap", "requant")])
def test_arithmetic_against_golden_requant(acc_bits, overflow, kind):
    cfg = ArrayConfig(rows=2, cols=3, acc_bits=acc_bits, overflow=overflow, output_stage=kind)
    rng = np.random.default_rng(acc_bits)
    half = 1 << (acc_bits - 1)
    n = 60
    blocks = random_blocks(rng, cfg, 12)
    rows = rng.integers(-half, half, (n, cfg.cols))
    rows[::7] = half - 1
    rows[3::7] = -half
    tags = rng.integers(0, 2, n)
    valids = rng.random(n) < 0.8
    for i in range(0, len(blocks), 2):
        got = rtl_stage(cfg, blocks[i:i + 2], rows.tolist(), tags.tolist(), valids.tolist())
        for t, (out, valid, tag) in enumerate(got):
            assert (valid, tag) == (valids[t], tags[t])
            qp = blocks[i + tags[t]]
            bias = np.array([c["bias"] for c in qp["col"]])
            want = acc_output(rows[t], bias, acc_bits, overflow)
            if kind == "requant" and qp["requant"]:
                t_ = [int(r) + int(b) for r, b in zip(rows[t], bias, strict=True)]
                want = requantize(np.array(t_, dtype=object), [c["mult"] for c in qp["col"]],
                                  [c["shift"] for c in qp["col"]], qp["zp"], qp["lo"], qp["hi"], bool(qp["relu"]))
            assert out == [int(v) for v in want], (t, qp)
            assert out == [ref_output(int(r), c, qp, acc_bits, overflow, kind) for r, c in zip(rows[t], qp["col"],
                                                                                               strict=True)]


def banks_run(cfg, script):
    """``script``: per cycle ``(qp_valid, commit, take, enter, enter_tag)``; returns per cycle
    ``(qp_ready, can_commit, tag, g-bank contents' zp)``."""
    dut = ParamBanks(config=cfg)
    lay = qp_layout(cfg)
    seen = []

    async def bench(ctx):
        for i, (qv, commit, take, enter, etag) in enumerate(script):
            ctx.set(dut.qp.valid, qv)
            ctx.set(Value.cast(dut.qp.payload), lay.const({"zp": 100 + i}).as_value().value)
            ctx.set(dut.commit, commit)
            ctx.set(dut.take, take)
            ctx.set(dut.enter, enter)
            ctx.set(dut.enter_tag, etag)
            seen.append((ctx.get(dut.qp.ready), ctx.get(dut.can_commit), ctx.get(dut.tag),
                         ctx.get(dut.banks[0].zp), ctx.get(dut.banks[1].zp)))
            await ctx.tick()

    run_sim(dut, bench)
    return seen


def test_parameter_bank_rules():
    cfg = ArrayConfig(rows=2, cols=2)
    seen = banks_run(cfg, [
        (1, 0, 0, 0, 0),  # 0: qp -> bank 1 (g = 0), loaded[1]
        (1, 0, 0, 0, 0),  # 1: refused: bank 1 loaded, not committed
        (0, 1, 1, 0, 0),  # 2: commit: g = 1; one result tagged 1 already
        (1, 0, 1, 0, 0),  # 3: qp -> bank 0 (inflight[0] == 0); result tagged 1
        (1, 0, 0, 1, 1),  # 4: refused (loaded[0]); a result of bank 1 enters the FIFO
        (0, 1, 2, 0, 0),  # 5: commit: g = 0, two results tagged 0
        (1, 0, 0, 1, 1),  # 6: refused: inflight[1] == 1
        (1, 0, 0, 0, 0),  # 7: qp -> bank 1
        (0, 0, 0, 0, 0),
    ])
    ready = [s[0] for s in seen]
    assert ready == [1, 0, 0, 1, 0, 0, 0, 1, 0]
    assert [s[1] for s in seen] == [0, 1, 1, 0, 1, 1, 0, 0, 1]  # can_commit = loaded[1-g]
    assert [s[2] for s in seen][2:6] == [1, 1, 1, 0]  # the committing beat is tagged with the new bank
    assert seen[1][4] == 100 and seen[4][3] == 103 and seen[8][4] == 107  # written at the next edge
