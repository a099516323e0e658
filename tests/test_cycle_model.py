"""golden.cycle_model against cycle-stepped simulations of the skewed systolic wavefront.

``sim_ws`` / ``sim_os`` below model the array register by register (activation, weight,
partial-sum registers per PE, shifted once per clock) with a tag travelling next to every value.
They count cycles until the last result leaves the array, record when each output leaves, and
check the results equal ``X @ W``; the analytic model must agree on all three.
"""

from __future__ import annotations

import numpy as np
import pytest

from axmac.errors import AxmacError
from axmac.golden.cycle_model import CycleModel

RNG = np.random.default_rng(5)
NONE = -1


def sim_ws(x: np.ndarray, w: np.ndarray, R: int, C: int):
    """Weight-stationary tile: returns (total cycles, {(m, c): leave cycle}, Y)."""
    M, k = x.shape
    _, n = w.shape
    wt = np.zeros((R, C), np.int64)
    wt[:k, :n] = w
    xp = np.zeros((M, R), np.int64)
    xp[:, :k] = x
    # phase 1: weight load through per-column shift registers, bottom row's weight first
    wreg = np.zeros((R, C), np.int64)
    t = 0
    for step in range(R):
        wreg = np.vstack([wt[R - 1 - step][None, :], wreg[:-1]])
        t += 1
    assert np.array_equal(wreg, wt)
    # phase 2: stream
    a = np.zeros((R, C), np.int64)
    a_tag = np.full((R, C), NONE)
    p = np.zeros((R, C), np.int64)
    p_tag = np.full((R, C), NONE)
    leave, y = {}, np.zeros((M, C), np.int64)
    s = 0
    while len(leave) < M * C:
        feed = np.zeros(R, np.int64)
        feed_tag = np.full(R, NONE)
        for r in range(R):
            if 0 <= s - r < M:
                feed[r], feed_tag[r] = xp[s - r, r], s - r
        a_in = np.hstack([feed[:, None], a[:, :-1]])
        a_in_tag = np.hstack([feed_tag[:, None], a_tag[:, :-1]])
        p_in = np.vstack([np.zeros((1, C), np.int64), p[:-1]])
        p_in_tag = np.vstack([a_in_tag[:1], p_tag[:-1]])  # row 0 starts a new sum for the row it sees
        # the skew must line the wavefronts up: the partial sum and the activation belong to the same m
        assert np.array_equal(p_in_tag, a_in_tag)
        a, a_tag = a_in, a_in_tag
        p = p_in + a_in * wreg
        p_tag = p_in_tag
        for c in range(C):
            if p_tag[R - 1, c] != NONE:
                m = int(p_tag[R - 1, c])
                leave[(m, c)] = t
                y[m, c] = p[R - 1, c]
        s += 1
        t += 1
    return t, leave, y[:, :n]


def sim_os(x: np.ndarray, w: np.ndarray, R: int, C: int):
    """Output-stationary tile: returns (total cycles, {(i, c): leave cycle}, Y)."""
    m, K = x.shape
    _, n = w.shape
    xp = np.zeros((R, K), np.int64)
    xp[:m] = x
    wp = np.zeros((K, C), np.int64)
    wp[:, :n] = w
    a = np.zeros((R, C), np.int64)
    a_tag = np.full((R, C), NONE)
    b = np.zeros((R, C), np.int64)
    b_tag = np.full((R, C), NONE)
    acc = np.zeros((R, C), np.int64)
    macs = np.zeros((R, C), np.int64)
    t = 0
    while macs.min() < K:  # stream until every PE has taken its K products
        fa = np.array([xp[i, t - i] if 0 <= t - i < K else 0 for i in range(R)])
        fa_tag = np.array([t - i if 0 <= t - i < K else NONE for i in range(R)])
        fb = np.array([wp[t - j, j] if 0 <= t - j < K else 0 for j in range(C)])
        fb_tag = np.array([t - j if 0 <= t - j < K else NONE for j in range(C)])
        a = np.hstack([fa[:, None], a[:, :-1]])
        a_tag = np.hstack([fa_tag[:, None], a_tag[:, :-1]])
        b = np.vstack([fb[None, :], b[:-1]])
        b_tag = np.vstack([fb_tag[None, :], b_tag[:-1]])
        valid = (a_tag != NONE) & (b_tag != NONE)
        assert np.array_equal(a_tag[valid], b_tag[valid])  # x[., k] meets w[k, .]
        assert np.array_equal(valid, (a_tag != NONE) | (b_tag != NONE))  # never a lonely operand
        acc += np.where(valid, a * b, 0)
        macs += valid
        t += 1
    # drain: each column shifts down, bottom row leaves first
    leave, y = {}, np.zeros((R, C), np.int64)
    rows_left = list(range(R))
    for _ in range(R):
        i = rows_left.pop()  # the row now at the bottom
        for c in range(C):
            leave[(i, c)] = t
            y[i, c] = acc[R - 1, c]
        acc = np.vstack([np.zeros((1, C), np.int64), acc[:-1]])
        t += 1
    return t, leave, y[:m, :n]


SIZES = [(1, 1, 1, 1, 1), (3, 2, 2, 2, 2), (5, 3, 3, 4, 3), (1, 4, 3, 4, 4), (7, 2, 1, 3, 1), (4, 1, 5, 1, 5),
         (6, 4, 2, 4, 2)]


@pytest.mark.parametrize("M,k,n,R,C", SIZES)
def test_ws_tile_matches_simulation(M, k, n, R, C):
    x = RNG.integers(-8, 8, (M, k))
    w = RNG.integers(-8, 8, (k, n))
    cycles, leave, y = sim_ws(x, w, R, C)
    model = CycleModel(R, C, "ws")
    assert np.array_equal(y, x @ w)
    assert model.tile_cycles(M, k, n) == cycles
    assert all(model.output_cycle(m, c, M) == tt for (m, c), tt in leave.items())


@pytest.mark.parametrize("M,K,n,R,C", [(1, 1, 1, 1, 1), (2, 3, 2, 2, 2), (3, 5, 4, 4, 4), (1, 2, 3, 3, 3),
                                       (4, 1, 2, 4, 2), (2, 6, 1, 3, 1), (5, 4, 5, 5, 5)])
def test_os_tile_matches_simulation(M, K, n, R, C):
    x = RNG.integers(-8, 8, (M, K))
    w = RNG.integers(-8, 8, (K, n))
    cycles, leave, y = sim_os(x, w, R, C)
    model = CycleModel(R, C, "os")
    assert np.array_equal(y, x @ w)
    assert model.tile_cycles(M, K, n) == cycles
    assert all(model.output_cycle(i, c, K) == tt for (i, c), tt in leave.items())


@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_gemm_totals_brute_force(dataflow):
    """Tiling a GEMM by hand (loops over tile origins) and summing simulated tiles gives gemm_cycles."""
    R, C = 3, 2
    model = CycleModel(R, C, dataflow)
    for (M, K, N) in [(4, 5, 3), (2, 3, 2), (1, 7, 5)]:
        total = tiles = 0
        if dataflow == "ws":
            for k0 in range(0, K, R):
                for n0 in range(0, N, C):
                    k, n = min(R, K - k0), min(C, N - n0)
                    total += sim_ws(np.ones((M, k), int), np.ones((k, n), int), R, C)[0]
                    tiles += 1
        else:
            for m0 in range(0, M, R):
                for n0 in range(0, N, C):
                    m, n = min(R, M - m0), min(C, N - n0)
                    total += sim_os(np.ones((m, K), int), np.ones((K, n), int), R, C)[0]
                    tiles += 1
        assert model.gemm_tiles(M, K, N) == tiles and model.gemm_cycles(M, K, N) == total
        assert model.gemm_cycles(M, K, N, groups=3) == 3 * total
        assert 0 < model.utilization(M * K * N, total) <= 1


def test_bad_arrays():
    for args in ((0, 4), (4, -1), (2.5, 2), (True, 2)):
        with pytest.raises(AxmacError):
            CycleModel(*args)
    with pytest.raises(AxmacError, match="dataflow"):
        CycleModel(4, 4, "rs")
    with pytest.raises(AxmacError, match="does not fit"):
        CycleModel(4, 4, "ws").tile_cycles(10, 5, 4)
    with pytest.raises(AxmacError, match="does not fit"):
        CycleModel(4, 4, "os").tile_cycles(5, 10, 4)


def test_all_small_tiles_exhaustively():
    """Every tile shape of every array up to 4 x 4, streamed lengths up to 6, both dataflows."""
    for R in range(1, 5):
        for C in range(1, 5):
            ws, os_ = CycleModel(R, C, "ws"), CycleModel(R, C, "os")
            for a in range(1, R + 1):
                for n in range(1, C + 1):
                    for s in range(1, 7):
                        x = RNG.integers(-4, 4, (s, a))
                        w = RNG.integers(-4, 4, (a, n))
                        cycles, leave, y = sim_ws(x, w, R, C)
                        assert np.array_equal(y, x @ w) and cycles == ws.tile_cycles(s, a, n)
                        assert all(ws.output_cycle(m, c, s) == t for (m, c), t in leave.items())
                        x = RNG.integers(-4, 4, (a, s))
                        w = RNG.integers(-4, 4, (s, n))
                        cycles, leave, y = sim_os(x, w, R, C)
                        assert np.array_equal(y, x @ w) and cycles == os_.tile_cycles(a, s, n)
                        assert all(os_.output_cycle(i, c, s) == t for (i, c), t in leave.items())
