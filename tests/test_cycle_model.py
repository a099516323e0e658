"""golden.cycle_model against the register-level model (golden.array) when the streams keep up:
tile starts, the cycle of every output beat, qp beats and run length agree exactly on random
programs (GEMM plans and raw command sequences) and configurations; closed forms of the docstring."""

from __future__ import annotations

import numpy as np
import pytest

from axmac.config import OUTPUT_STAGES, ArrayConfig
from axmac.errors import AxmacError
from axmac.golden.array import simulate
from axmac.golden.array_program import QP_FIELDS, gemm_program
from axmac.golden.cycle_model import plan_timing, run_timing
from axmac.golden.requant import RequantParams

RNG = np.random.default_rng(8)
P = OUTPUT_STAGES


def assert_agree(cfg, streams, timing):
    run = simulate(cfg, streams)
    assert np.array_equal(run.tile_starts, timing.starts)
    assert np.array_equal(run.o_cycles, timing.o_cycles)
    assert np.array_equal(run.beat_cycles["qp"], timing.qp_cycles)
    assert run.cycles == timing.cycles
    assert timing.starts[0] + timing.tile_cycles.sum() == timing.cycles
    return run


def random_config(rng, dataflow):
    R, C = (int(v) for v in rng.integers(1, 7, 2))
    D = int(rng.integers(1, 10))
    F = None if rng.random() < 0.5 else int(rng.integers(max(R, 2) if dataflow == "os" else 2, 3 * R + C + P + 3))
    return ArrayConfig(rows=R, cols=C, dataflow=dataflow, acc_depth=D, out_fifo_depth=F)


def random_gemm_case(rng, dataflow):
    cfg = random_config(rng, dataflow)
    G = int(rng.integers(1, 5))
    M, K, N = (int(v) for v in rng.integers(1, 14, 3))
    x = rng.integers(-128, 128, (G, M, K))
    w = rng.integers(-128, 128, (G, K, N))
    kw = {}
    if rng.random() < 0.5:
        kw["bias"] = rng.integers(-50, 50, G * N)
    if rng.random() < 0.4:
        kw["requant"] = RequantParams.from_scale(rng.uniform(1e-3, 1.0, G * N))
    gp = None if rng.random() < 0.7 else int(rng.integers(1, min(G, cfg.cols, cfg.rows) + 1))
    return cfg, gemm_program(cfg, x, w, gp=gp, **kw)


def raw_program(rng, cfg):
    """Random commands (counts, flags, commits, rows) with random operands: sequences no GEMM
    plan makes (commits anywhere, K-chains of any length, tiles of one beat...)."""
    R, C = cfg.rows, cfg.cols
    T = int(rng.integers(1, 12))
    ws = cfg.dataflow == "ws"
    count = rng.integers(1, (cfg.acc_depth if ws else 2 * R + 2) + 1, T)
    last = rng.random(T) < 0.6 if ws else np.ones(T, bool)
    last[-1] = True
    first = np.ones(T, bool) if not ws else np.concatenate([[True], last[:-1]])
    commit = (rng.random(T) < 0.5) & last
    m = np.zeros(T, np.int64) if ws else rng.integers(1, min(R, cfg.fifo_depth) + 1, T)
    n_a = int(count.sum())
    cmd = {"count": count, "first": first.astype(np.int64), "last": last.astype(np.int64),
           "qp_commit": commit.astype(np.int64), "m": m}
    q = int(commit.sum())
    qp = {f: np.zeros((q, C) if f.startswith("col.") else q, np.int64) for f in QP_FIELDS}
    qp["col.bias"] = rng.integers(-9, 9, (q, C))
    streams = {"cmd": cmd, "w": rng.integers(-128, 128, (R * T if ws else n_a, C)),
               "a": rng.integers(-128, 128, (n_a, R)), "qp": qp}
    return streams, run_timing(cfg, count, last, commit, m)


@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_gemm_programs_agree_with_register_model(dataflow):
    rng = np.random.default_rng(100 + (dataflow == "os"))
    for _ in range(60):
        cfg, prog = random_gemm_case(rng, dataflow)
        run = assert_agree(cfg, prog, plan_timing(cfg, prog.plan))
        assert np.array_equal(prog.assemble(run.o), prog.expected())


@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_raw_programs_agree_with_register_model(dataflow):
    rng = np.random.default_rng(200 + (dataflow == "os"))
    for _ in range(60):
        cfg = random_config(rng, dataflow)
        streams, timing = raw_program(rng, cfg)
        assert_agree(cfg, streams, timing)


@pytest.mark.slow
@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_many_random_programs(dataflow):
    rng = np.random.default_rng(300 + (dataflow == "os"))
    for _ in range(1500):
        cfg, prog = random_gemm_case(rng, dataflow)
        assert_agree(cfg, prog, plan_timing(cfg, prog.plan))
        cfg = random_config(rng, dataflow)
        assert_agree(cfg, *raw_program(rng, cfg))


def test_closed_forms_without_waits():
    """No parameters and a FIFO that never fills: ws S_t = R + sum max(m_u, R), outputs at
    n + R + C + P; os E_t = E_{t-1} + max(K_t, R), row i at E + 2R + C - i + P."""
    R, C = 5, 3
    cfg = ArrayConfig(rows=R, cols=C, acc_depth=64)
    m = RNG.integers(1, 12, 20)
    last = RNG.random(20) < 0.5
    tm = run_timing(cfg, m, last, np.zeros(20))
    want = R + np.concatenate([[0], np.cumsum(np.maximum(m, R))[:-1]])
    assert np.array_equal(tm.starts, want) and np.array_equal(tm.ends, want + m - 1)
    beats = np.concatenate([np.arange(s, s + k) for s, k, la in zip(want, m, last, strict=True) if la])
    assert np.array_equal(tm.o_cycles, beats + R + C + P)
    os_cfg = cfg.replace(dataflow="os")
    k = RNG.integers(1, 12, 20)
    rows = RNG.integers(1, R + 1, 20)
    tm = run_timing(os_cfg, k, None, np.zeros(20), rows)
    ends = np.cumsum(np.concatenate([[k[0]], np.maximum(k[1:], R)])) - 1
    assert np.array_equal(tm.ends, ends)
    want = np.concatenate([e + 2 * R + C + P - np.arange(r - 1, -1, -1) for e, r in zip(ends, rows, strict=True)])
    assert np.array_equal(tm.o_cycles, want)


def test_parameter_banks_throttle_tiny_blocks():
    """One-beat ws tiles, each with its own parameter block: qp i waits for block i-2's results."""
    R, C = 3, 2
    cfg = ArrayConfig(rows=R, cols=C, acc_depth=4)
    tm = run_timing(cfg, np.ones(6), np.ones(6), np.ones(6))
    lat = R + C + P
    assert tm.qp_cycles[:3].tolist() == [0, tm.starts[0] + 1, tm.starts[0] + lat]
    assert tm.starts[2] == tm.qp_cycles[2] + 1 > tm.starts[1] + R
    assert tm.cycles == tm.o_cycles[-1] + 1


def test_bad_timing_input():
    with pytest.raises(AxmacError, match="count"):
        run_timing(ArrayConfig(), [0], [1], [0])
    with pytest.raises(AxmacError, match="rows"):
        run_timing(ArrayConfig(dataflow="os", rows=4), [3], None, [0], [5])
