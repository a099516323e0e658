"""gen/pe_workload.py: PE segments of a tiled GEMM, their stimulus, sampling and scaling."""

import numpy as np
import pytest

from axmac.config import ArrayConfig
from axmac.errors import AxmacError
from axmac.gen.pe_workload import (
    LayerOperands,
    Segment,
    crafted_segments,
    estimate,
    lenet_operands,
    sample_segments,
    segment,
    stimulus,
    strata,
)
from axmac.golden.bypass import Bypass
from axmac.golden.multipliers import make_multiplier

CFG = ArrayConfig(rows=4, cols=4, acc_depth=8)
MULT = make_multiplier("exact", 8, True)


def _ops(images=2, m=10, k=6, n=5, seed=0):
    rng = np.random.default_rng(seed)
    return LayerOperands("L", rng.integers(-128, 128, (1, images * m, k)), rng.integers(-128, 128, (1, k, n)), images)


def test_segment_is_what_pe_r_c_sees():
    op = _ops()
    # image 1, tile ki=1 (rows 4..7 of W: only 4 and 5 exist), ni=1 (columns 4..7: only 4), chunk 1 (rows 8, 9)
    s = segment(op, CFG, MULT, Bypass(), 1, 0, 1, 1, 1, 1, 0)
    x = op.x[0, 10 + 8:10 + 10]
    assert s.w == op.w[0, 5, 4] and np.array_equal(s.a, x[:, 5])
    assert np.array_equal(s.psum, x[:, 4] * op.w[0, 4, 4])  # the row above in the same tile
    assert s.cycles == 4 and s.useful == 2  # max(m, R) cycles
    pad = segment(op, CFG, MULT, Bypass(), 0, 0, 1, 1, 0, 2, 0)  # row 6 of W does not exist
    assert pad.w == 0 and not pad.a.any() and pad.useful == 0


def test_strata_count_every_pe_of_every_tile():
    op = _ops()
    (st,) = strata([op], CFG)
    # per image: 2 K tiles x 2 N tiles, chunks of 8 and 2 rows, 16 PEs
    assert st.segments == 2 * 2 * 2 * 16 and st.cycles == 2 * 2 * 16 * (8 + 4) and st.macs == 10 * 6 * 5
    assert st.slots == 4 * 16 * 10
    timed = LayerOperands("L", op.x, op.w, 2, array_cycles=100)  # two images, from a schedule
    assert strata([timed], CFG)[0].cycles == 100 * 16 // 2


def test_stimulus_windows_and_weight_loads():
    segs = crafted_segments("sparse", 3, CFG, m=5)
    st, win = stimulus(segs, reset=2)
    assert win == [(2, 7), (7, 12), (12, 17)]
    assert st["rst"].tolist()[:3] == [1, 1, 0] and st["w_load"].sum() == 3 and st["valid_in"].sum() == 15
    assert st["w_in"][7] == segs[1].w and np.array_equal(st["a_in"][12:17], segs[2].a)


def test_crafted_workloads():
    z = crafted_segments("zero_weights", 2, CFG)
    d = crafted_segments("dense", 4, CFG)
    assert all(s.w == 0 for s in z)
    assert all(abs(s.w) >= 2 and np.all(np.abs(s.a) >= 2) for s in d)
    with pytest.raises(AxmacError, match="unknown crafted"):
        crafted_segments("wild", 1, CFG)


def test_estimate_scales_by_cycles_with_its_error():
    ops = [_ops()]
    segs = sample_segments(ops, CFG, 6, mult=MULT, seed=1)
    (st,) = strata(ops, CFG)
    est = estimate(segs, [2.0 * s.cycles for s in segs], [st])
    assert est.energy == pytest.approx(2.0 * st.cycles) and est.stderr == pytest.approx(0.0, abs=1e-9)
    noisy = estimate(segs, [2.0 * s.cycles + (i % 2) for i, s in enumerate(segs)], [st])
    assert noisy.stderr > 0 and noisy.per_mac == noisy.energy / st.macs
    with pytest.raises(AxmacError, match="at least 2"):
        sample_segments(ops, CFG, 1, mult=MULT)


def test_ws_stimulus_writes_the_shadow_ahead_and_commits_with_the_first_slot():
    from axmac.gen.pe_workload import weights_in_effect

    segs = [Segment("L", 5, np.array([1, 2]), np.array([0, 0]), 4, 2), Segment("L", -3, np.array([7]), np.zeros(1, int),
                                                                          1, 1),
            Segment("L", 9, np.array([4, 4, 4]), np.zeros(3, int), 4, 3)]
    st, win = stimulus(segs, reset=2, kind="ws")
    assert win == [(3, 7), (7, 8), (8, 12)]  # one cycle after the reset writes the first weight
    assert st["shadow_we"].tolist() == [0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    assert st["shadow_in"][2] == 5 and st["shadow_in"][4] == -3 and st["shadow_in"][7] == 9
    assert np.flatnonzero(st["commit_in"]).tolist() == [3, 7, 8]
    w = weights_in_effect(st)
    assert w[3:7].tolist() == [5] * 4 and w[7] == -3 and w[8:12].tolist() == [9] * 4
    # segment 2 has one cycle: its successor's weight is written in the cycle of its commit, which copies the old one
    assert st["shadow_we"][7] == 1 and st["commit_in"][7] == 1 and w[7] == -3
    pe_st, _ = stimulus(segs, reset=2)
    assert weights_in_effect(pe_st)[2:].tolist() == [5] * 4 + [-3] + [9] * 4
    with pytest.raises(AxmacError, match="unknown PE kind"):
        stimulus(segs, kind="os")


def test_operands_carry_bias_and_requantization():
    """The bundled float LeNet-5, quantized by axmac, dequantizes every MAC layer's output (the next layer
    quantizes its input): no requantization in the array, bias only. A requantizing layer gets its parameters."""
    from types import SimpleNamespace

    from axmac.gen.pe_workload import layer_params

    ops = lenet_operands(1)
    assert [op.kind for op in ops] == ["conv", "conv", "gemm", "gemm", "gemm"]
    for op in ops:
        n = op.w.shape[0] * op.w.shape[2]
        assert op.bias is not None and op.bias.shape == (n,) and op.bias.dtype == np.int64
        assert op.requant is None
    out = SimpleNamespace(kind="requant", scale=np.array([0.5, 0.25], np.float32), zero_point=3, dtype=np.int8,
                          relu=True)
    bias, rq = layer_params(SimpleNamespace(bias=[1, 2], output=out))
    assert bias.tolist() == [1, 2] and (rq.zp, rq.lo, rq.hi, rq.relu) == (3, -128, 127, True)
    assert rq.apply(np.array([[40, 40]])).tolist() == [[23, 13]]  # 3 + 40 * 0.5, 3 + 40 * 0.25
