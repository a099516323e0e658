"""hw/top.py: the accelerator in Amaranth's simulator against the register-level golden model.

Every case runs a GEMM program (``golden/array_program.py``) through ``Accelerator`` and through
``golden/array.simulate`` with the same idle / stall patterns and compares every ``o`` value and
the cycle it leaves, the cycle of every input beat, the run length and all counters
(``tests/array_bench.cocheck``). Configurations are small (Amaranth's simulator is slow); the
Verilator builds of large ones are in tests/test_top_verilator.py. Gating ``icg`` needs the ICG
cell's Verilog, which Amaranth's simulator does not run: it is co-simulated by sim/.
"""

import numpy as np
import pytest
from amaranth.hdl import Shape

from axmac.config import ArrayConfig
from axmac.golden.array_payload import stream_layouts
from axmac.golden.array_program import gemm_program
from axmac.golden.requant import RequantParams
from axmac.hw.top import Accelerator
from axmac.verilog import write_design
from tests.array_bench import cocheck, run_streams

STREAMS = ("cmd", "w", "a", "qp")


def program(cfg, M, K, N, seed, *, requant=True, bias=True):
    rng = np.random.default_rng(seed)
    fmt = cfg.operand
    x = rng.integers(fmt.lo, fmt.hi + 1, (M, K))
    w = rng.integers(fmt.lo, fmt.hi + 1, (K, N))
    x[rng.random(x.shape) < 0.2] = 0  # trivial operands for the bypass counters
    w[rng.random(w.shape) < 0.2] = 1
    rq = None
    if requant and cfg.output_stage == "requant":
        rq = RequantParams(rng.integers(1 << 29, 1 << 31, N), rng.integers(4, 24, N), zp=3, lo=-100, hi=90,
                           relu=bool(seed % 2))
    b = rng.integers(-1000, 1000, N) if bias else None
    return gemm_program(cfg, x, w, bias=b, requant=rq)


def patterns(seed, p_idle=0.3, p_stall=0.4):
    rng = np.random.default_rng(seed)
    return {s: rng.random(7 + i) < p_idle for i, s in enumerate(STREAMS)}, rng.random(5) < p_stall


CASES = [  # (config changes, M, K, N)
    ({}, 5, 5, 4),
    ({"dataflow": "os"}, 5, 5, 4),
    ({"rows": 1, "cols": 1, "acc_depth": 1}, 3, 2, 2),
    ({"rows": 1, "cols": 4, "dataflow": "os"}, 3, 3, 5),
    ({"rows": 3, "cols": 5, "bits": 4, "signed": False, "out_fifo_depth": 2, "bypass": "zero,opposite",
      "gating": "enable"}, 4, 7, 6),
    ({"rows": 3, "cols": 2, "dataflow": "os", "bypass": "all", "gating": "enable", "overflow": "saturate",
      "acc_bits": 17}, 5, 6, 3),
    ({"rows": 3, "cols": 5, "bits": 4, "out_fifo_depth": 3, "dataflow": "os", "output_stage": "acc"}, 4, 4, 7),
    ({"rows": 2, "cols": 2, "bits": 12, "acc_bits": 30, "overflow": "saturate", "multiplier": "drum:4",
      "bypass": "one,add-zero"}, 3, 5, 3),
]


@pytest.mark.parametrize("changes,M,K,N", CASES, ids=[str(i) for i in range(len(CASES))])
def test_matches_golden_model(changes, M, K, N):
    """Random idle and stall patterns, then streams that keep up."""
    cfg = ArrayConfig(rows=2, cols=3, acc_depth=4).replace(**changes)
    prog = program(cfg, M, K, N, seed=M * K + N)
    idle, stall = patterns(K)
    tr, gold = cocheck(cfg, prog, idle=idle, stall=stall)
    assert len(tr.out) == len(prog.out_index) and np.any(gold.o != 0)
    cocheck(cfg, prog)


def test_ws_keep_up_timing():
    """docs/array.md: the first tile starts at cycle R, tile t+1 max(m_t, R) cycles later, and the
    row of the beat taken in cycle n leaves in cycle n + R + C + P."""
    cfg = ArrayConfig(rows=3, cols=2, acc_depth=8, counters="none")
    prog = program(cfg, 2, 7, 2, seed=1, requant=False, bias=False)  # 3 K tiles of m = 2 < R
    tr = run_streams(Accelerator(config=cfg), prog.payloads(), n_out=2)
    assert tr.taken["cmd"] == [3, 6, 9]
    assert tr.taken["w"] == list(range(9))
    assert [c for c, _ in tr.out] == [n + 3 + 2 + 3 for n in tr.taken["a"][-2:]]
    np.testing.assert_array_equal(prog.assemble(np.array([r for _, r in tr.out]))[0], prog.expected()[0])


def test_os_keep_up_timing():
    """os: row i of a tile whose last beat was taken in cycle n leaves in n + 2R + C - i + P, bottom row first."""
    cfg = ArrayConfig(rows=3, cols=2, dataflow="os", counters="none")
    prog = program(cfg, 3, 4, 2, seed=2, requant=False, bias=False)
    tr = run_streams(Accelerator(config=cfg), prog.payloads(), n_out=3)
    n = tr.taken["a"][-1]
    assert tr.taken["a"] == [0, 1, 2, 3] and [c for c, _ in tr.out] == [n + 6 + 2 - i + 3 for i in (2, 1, 0)]


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")  # built to read their ports only
def test_port_layouts_match_the_contract():
    """Payload widths and field offsets as golden/array_payload.py writes them from docs/array.md."""
    cfg = ArrayConfig(rows=3, cols=5, bits=6, acc_bits=20)
    top = Accelerator(config=cfg)
    lay = stream_layouts(cfg)
    for s in (*STREAMS, "o"):
        assert Shape.cast(getattr(top, s).payload.shape()).width == lay[s].width, s
    cmd = top.cmd.payload.shape()
    assert [(n, f.offset) for n, f in cmd] == [("count", 0), ("first", 16), ("last", 17), ("qp_commit", 18),
                                               ("m", 19)]
    qp = top.qp.payload.shape()
    assert qp["zp"].offset == 5 * (20 + 37) and qp["requant"].offset == lay["qp"].width - 1
    assert Shape.cast(top.counters.shape()).width == 3 * 5 * 7 * 32
    assert not hasattr(Accelerator(config=cfg.replace(counters="none")), "counters")


def test_verilog_ports_and_extra_files(tmp_path):
    cfg = ArrayConfig(rows=2, cols=2, gating="icg", counters="none")
    files = write_design(Accelerator(config=cfg), "axmac_top", tmp_path)
    assert [f.name for f in files] == ["axmac_top.v", "axmac_icg.v"]
    text = files[0].read_text()
    for port in ("cmd__payload", "cmd__valid", "cmd__ready", "w__payload", "a__payload", "qp__ready", "o__payload",
                 "o__valid", "o__ready"):
        assert f" {port}" in text, port
    assert "counters" not in text.split(");")[0]


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_constructor_checks():
    with pytest.raises(TypeError, match="config must be an ArrayConfig, not 'tiny'"):
        Accelerator(config="tiny")
    with pytest.raises(TypeError):
        Accelerator(ArrayConfig())  # keyword-only
