"""gen/pe_workload.py: PE segments of a tiled GEMM, their stimulus, sampling and scaling."""

import numpy as np
import pytest

from axmac.config import ArrayConfig
from axmac.errors import AxmacError
from axmac.gen.pe_workload import LayerOperands, crafted_segments, estimate, sample_segments, segment, stimulus, strata
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
