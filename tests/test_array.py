"""golden.array (the register-level model) against plain references: ``mac_gemm`` + the output
stage (wrap mode, no overflow), a slow per-PE Python loop in the contract's order of additions
(saturate mode, bypass codes, counters), the engine on LeNet-5, and timing invariants of
docs/array.md under random idle / stall patterns."""

from __future__ import annotations

import numpy as np
import pytest

from axmac.config import COUNTER_NAMES, OUTPUT_STAGES, ArrayConfig
from axmac.errors import AxmacError
from axmac.golden.array import simulate
from axmac.golden.array_program import gemm_program
from axmac.golden.bypass import Bypass
from axmac.golden.multipliers import make_multiplier
from axmac.golden.pe import add_ctrl, mul_ctrl, pe_products
from axmac.golden.requant import RequantParams
from axmac.sim.stimulus import activations

RNG = np.random.default_rng(21)
P = OUTPUT_STAGES


def rich_operands(fmt, shape):
    """Operands with many 0 and +-1 (so that every bypass case fires): sim/stimulus.py's generator."""
    return activations(RNG, fmt, shape)


def ref_run(cfg: ArrayConfig, prog):
    """Results (raw, before the output stage) and counters by a slow loop over slots in the
    contract's order: ws, per beat and column, rows 0..R-1 then the accumulator buffer; os, per
    tile and beat, every PE's accumulator. Products and codes from golden.pe."""
    R, C, A = cfg.rows, cfg.cols, cfg.acc_bits
    mult = make_multiplier(cfg.multiplier, cfg.bits, cfg.signed)
    byp = Bypass.parse(cfg.bypass)
    lo, hi = -(1 << (A - 1)), (1 << (A - 1)) - 1

    def add(s, p):
        x = int(s) + int(p)
        return min(max(x, lo), hi) if cfg.overflow == "saturate" else ((x - lo) % (1 << A)) + lo

    cnt = np.zeros((R, C, 7), np.int64)

    def slot(r, c, av, wv, s):
        p = int(pe_products(mult, byp, np.int64(av), np.int64(wv)))
        mc = int(mul_ctrl(np.int64(av), np.int64(wv), byp, cfg.signed))
        ac = int(add_ctrl(np.int64(p), np.int64(s), byp, A))
        cnt[r, c, 6] += 1
        cnt[r, c, {3: 0, 0: 1, 1: 2, 2: 2}[mc]] += 1
        if ac in (1, 2):
            cnt[r, c, 3] += 1
        elif ac == 0:
            cnt[r, c, 4] += 1
        return add(s, p)

    out, accbuf, ab = [], {}, 0
    for t in range(len(prog.cmd["count"])):
        count, first, last, m = (int(prog.cmd[f][t]) for f in ("count", "first", "last", "m"))
        if cfg.dataflow == "ws":
            wblk = prog.w[t * R:(t + 1) * R]
            for i in range(count):
                row = []
                for c in range(C):
                    s = 0
                    for r in range(R):
                        s = slot(r, c, prog.a[ab + i, r], wblk[r, c], s)
                    if first and not last:
                        accbuf[i, c] = s
                    elif not last:
                        accbuf[i, c] = add(accbuf[i, c], s)
                    else:
                        row.append(s if first else add(accbuf[i, c], s))
                if last:
                    out.append(row)
        else:
            acc = np.zeros((R, C), object)
            for k in range(count):
                for i in range(R):
                    for j in range(C):
                        acc[i, j] = slot(i, j, prog.a[ab + k, i], prog.w[ab + k, j], 0 if k == 0 else acc[i, j])
            out.extend([[int(v) for v in acc[i]] for i in range(m - 1, -1, -1)])
        ab += count
    return np.array(out, np.int64).reshape(-1, C), cnt


def random_patterns(density=0.3):
    """Seeded random idle patterns of the input streams and a stall pattern (each with a cycle
    that delivers)."""
    def one(n):
        p = RNG.random(n) < density
        p[RNG.integers(n)] = False
        return p

    return {k: one(int(RNG.integers(1, 17))) for k in ("cmd", "w", "a", "qp")}, one(int(RNG.integers(1, 13)))


# -- values --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dataflow", ["ws", "os"])
@pytest.mark.parametrize("spec,bits,signed", [("exact", 8, True), ("mitchell", 6, True), ("drum:3", 5, False),
                                              ("exact", 12, True), ("drum:4", 12, True)])
def test_wrap_mode_equals_mac_gemm(dataflow, spec, bits, signed):
    cfg = ArrayConfig(rows=4, cols=3, bits=bits, signed=signed, multiplier=spec, bypass="all", dataflow=dataflow,
                      acc_depth=6, acc_bits=max(32, 2 * bits))
    x = rich_operands(cfg.operand, (2, 9, 7))
    w = rich_operands(cfg.operand, (2, 7, 5))
    prog = gemm_program(cfg, x, w, bias=RNG.integers(-99, 99, 10))
    run = simulate(cfg, prog)
    assert np.array_equal(prog.assemble(run.o), prog.expected(bypass=Bypass.parse("all")))


@pytest.mark.parametrize("dataflow", ["ws", "os"])
@pytest.mark.parametrize("overflow,acc_bits,bypass", [("saturate", 17, "all"), ("wrap", 16, "zero,opposite"),
                                                      ("saturate", 18, "one,add-zero"), ("wrap", 17, "none")])
def test_overflow_and_codes_against_slow_loop(dataflow, overflow, acc_bits, bypass):
    """Narrow accumulators that overflow: the order of additions matters, codes too."""
    cfg = ArrayConfig(rows=3, cols=2, bits=8, acc_bits=acc_bits, overflow=overflow, bypass=bypass, dataflow=dataflow,
                      acc_depth=4, multiplier="mitchell", gating="enable", output_stage="acc")
    x = rich_operands(cfg.operand, (1, 7, 8))
    x[:, :3] = np.where(x[:, :3] == 0, 127, x[:, :3])
    w = rich_operands(cfg.operand, (1, 8, 3))
    w[:, :, 0] = 127
    prog = gemm_program(cfg, x, w)
    run = simulate(cfg, prog, **dict(zip(("idle", "stall"), random_patterns(), strict=True)))
    raw, cnt = ref_run(cfg, prog)
    assert np.array_equal(run.raw, raw)
    assert np.array_equal(run.o, raw)  # no bias, no qp: the reset banks pass the accumulators
    gated = COUNTER_NAMES.index("gated")
    assert np.array_equal(np.delete(run.counters, gated, axis=2), np.delete(cnt, gated, axis=2))
    assert np.array_equal(run.counter("gated"), run.cycles - run.counter("mul_used"))
    assert run.counters[:, :, 1:5].sum() > 0 or bypass == "none"


def test_counters_port_and_no_gating():
    cfg = ArrayConfig(rows=2, cols=2, acc_depth=4, bypass="zero")
    x, w = rich_operands(cfg.operand, (3, 2)), rich_operands(cfg.operand, (2, 2))
    run = simulate(cfg, gemm_program(cfg, x, w))
    assert run.counter("gated").sum() == 0  # gating none
    assert run.counter("valid").tolist() == [[3, 3], [3, 3]]
    port = run.counter_port()
    for (r, c, j), v in np.ndenumerate(run.counters):
        assert (port >> (((r * 2 + c) * 7 + j) * 32)) & 0xFFFFFFFF == v % (1 << 32)


@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_requant_stage_and_banks(dataflow):
    """Per-column parameters through the two banks, many column blocks, random streams."""
    cfg = ArrayConfig(rows=2, cols=2, dataflow=dataflow, acc_depth=3)
    x = RNG.integers(-128, 128, (3, 5, 4))
    w = RNG.integers(-128, 128, (3, 4, 5))
    rq = RequantParams.from_scale(RNG.uniform(1e-4, 1e-2, 15).astype(np.float32), zp=-3, relu=True)
    prog = gemm_program(cfg, x, w, bias=RNG.integers(-500, 500, 15), requant=rq)
    want = prog.expected()
    for _ in range(4):
        idle, stall = random_patterns(0.5)
        run = simulate(cfg, prog, idle=idle, stall=stall)
        assert np.array_equal(prog.assemble(run.o), want)


def test_lenet_layers_equal_engine():
    """Every MAC layer of the bundled LeNet-5 (2 images, approximate multiplier, all bypass cases)."""
    import onnx

    from axmac.gen.datasets import load_dataset
    from axmac.golden.engine import run_network
    from axmac.onnx_import import load_model
    from axmac.onnx_import.lower import col2out, im2col, weight_matrix

    x, _, calib = load_dataset("mnist")
    path = "models/lenet5_mnist.onnx"
    name = onnx.load(path).graph.input[0].name
    net = load_model(path, calibration={name: calib})
    _, rep = run_network(net, {name: x[:2]}, trace=True, stats=False, multiplier="drum:4",
                         bypass=Bypass.parse("all"))
    for dataflow in ("ws", "os"):
        cfg = ArrayConfig(rows=8, cols=8, multiplier="drum:4", bypass="all", dataflow=dataflow, acc_depth=256)
        for layer in net.mac_layers:
            xin = rep.tensors[layer.x]
            prog = gemm_program(cfg, im2col(layer, xin), weight_matrix(layer), bias=layer.bias)
            got = col2out(layer, prog.assemble(simulate(cfg, prog).o), xin.shape)
            assert np.array_equal(got, rep.tensors[f"{layer.y}::acc"]), (dataflow, layer.name)


# -- timing ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_patterns_change_timing_not_values(dataflow):
    cfg = ArrayConfig(rows=3, cols=4, dataflow=dataflow, acc_depth=5, out_fifo_depth=4 if dataflow == "ws" else 3)
    x = RNG.integers(-128, 128, (2, 11, 7))
    w = RNG.integers(-128, 128, (2, 7, 6))
    prog = gemm_program(cfg, x, w, bias=RNG.integers(-9, 9, 12))
    base = simulate(cfg, prog)
    R, C = cfg.rows, cfg.cols
    for _ in range(6):
        idle, stall = random_patterns(0.4)
        run = simulate(cfg, prog, idle=idle, stall=stall)
        assert np.array_equal(run.o, base.o) and np.array_equal(run.counters[:, :, :5], base.counters[:, :, :5])
        assert run.cycles >= base.cycles and np.all(np.diff(run.o_cycles) > 0)
        assert run.cycles == run.o_cycles[-1] + 1
        assert not np.any(stall[run.o_cycles % len(stall)])  # o leaves only with ready
        a_cyc, w_cyc, starts = run.beat_cycles["a"], run.beat_cycles["w"], run.tile_starts
        assert np.array_equal(starts, run.beat_cycles["cmd"])
        first_beat = np.concatenate([[0], np.cumsum(prog.cmd["count"])[:-1]])
        assert np.array_equal(a_cyc[first_beat], starts)  # cmd and first a beat transfer together
        if dataflow == "ws":
            # rule 2: row j of tile t+1 after tile t started (+ j); rule 1: all R rows before a start
            j = np.arange(len(w_cyc)) % R
            tile = np.arange(len(w_cyc)) // R
            assert np.all(w_cyc[tile > 0] >= starts[tile[tile > 0] - 1] + j[tile > 0])
            assert np.all(w_cyc.reshape(-1, R).max(axis=1) < starts)
            lastbeats = np.repeat(prog.cmd["last"], prog.cmd["count"]).astype(bool)
            assert np.all(run.o_cycles >= a_cyc[lastbeats] + R + C + P)
        else:
            assert np.array_equal(a_cyc, w_cyc)  # the join


def test_small_fifo_with_stalls_bounds_outstanding_results():
    cfg = ArrayConfig(rows=2, cols=2, acc_depth=8, out_fifo_depth=2)
    x = RNG.integers(-128, 128, (9, 2))
    w = RNG.integers(-128, 128, (2, 2))
    prog = gemm_program(cfg, x, w)
    run = simulate(cfg, prog, stall=[True, True, True, False])
    a_cyc = run.beat_cycles["a"]
    # a beat is taken only with a free credit: at most F results between taken and left
    for t in range(run.cycles):
        assert np.sum(a_cyc < t) - np.sum(run.o_cycles < t) <= cfg.fifo_depth
    assert np.array_equal(prog.assemble(run.o), prog.expected())


def test_first_tiles_follow_the_contract():
    """docs/array.md when the streams keep up: ws tile 0 starts at R, tiles max(m, R) apart, row
    of beat n leaves at n + R + C + P; os rows leave at n_last + 2R + C - i + P."""
    R, C = 4, 3
    cfg = ArrayConfig(rows=R, cols=C, acc_depth=6)
    prog = gemm_program(cfg, RNG.integers(-9, 9, (8, 4)), RNG.integers(-9, 9, (4, 3)))
    run = simulate(cfg, prog)
    assert run.tile_starts.tolist() == [R, R + 6]
    assert run.o_cycles.tolist() == [n + R + C + P for n in run.beat_cycles["a"]]
    os_cfg = cfg.replace(dataflow="os")
    prog = gemm_program(os_cfg, RNG.integers(-9, 9, (3, 5)), RNG.integers(-9, 9, (5, 2)))
    run = simulate(os_cfg, prog)
    assert run.tile_starts.tolist() == [0] and run.o_cycles.tolist() == [4 + 2 * R + C - i + P for i in (2, 1, 0)]


# -- bad input -----------------------------------------------------------------------------------------
def test_bad_streams_and_patterns():
    cfg = ArrayConfig(rows=2, cols=2, acc_depth=4)
    prog = gemm_program(cfg, RNG.integers(-9, 9, (3, 2)), RNG.integers(-9, 9, (2, 2)), bias=[1, 2])
    s = prog.streams()
    with pytest.raises(AxmacError, match="idle in every cycle"):
        simulate(cfg, prog, idle={"a": [True]})
    with pytest.raises(AxmacError, match="stalled"):
        simulate(cfg, prog, stall=[True, True])
    with pytest.raises(AxmacError, match="unknown stream"):
        simulate(cfg, prog, idle={"b": [False]})
    with pytest.raises(AxmacError, match="w beats"):
        simulate(cfg, {**s, "w": s["w"][:-1]})
    with pytest.raises(AxmacError, match="qp stream"):
        simulate(cfg, {**s, "qp": {k: v[:0] for k, v in s["qp"].items()}})
    with pytest.raises(AxmacError, match="accumulator depth"):
        simulate(cfg.replace(acc_depth=2), prog)
    with pytest.raises(AxmacError, match="did not finish"):
        simulate(cfg, prog, max_cycles=5)
    with pytest.raises(AxmacError, match="out of range"):
        simulate(cfg.replace(bits=2), prog)
