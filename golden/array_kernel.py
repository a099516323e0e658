"""The cycle loop of the register-level array model (:mod:`axmac.golden.array`), one numba kernel.

One iteration is one cycle ``t``, in this order (``docs/array.md``; state = register values
during cycle ``t``):

1. results whose ``T + P`` is ``t`` enter the output FIFO (their bank's ``inflight`` drops);
2. every PE computes its slot of cycle ``t``: the beat taken in cycle ``t - 1 - r - c``. ws:
   a tile's first beat first copies shadow -> active (the commit wave); the PE adds its product
   to the partial sum its upper neighbour computed for the same beat in cycle ``t - 1``; the
   bottom row feeds the accumulator buffer. os: the PE accumulates (from 0 on a tile's first
   beat); on the last beat its value is row ``r`` of the tile's results;
3. ws: shadow weights written at edge ``t`` (the ``w`` beat taken in cycle ``t - 1 - c``, into
   row ``j`` = its row address), after the commits of that edge read the old value;
4. the stream drivers present beats (``idle`` patterns), the controller decides what transfers
   in cycle ``t`` (ws rules 1-4; os joins), the ``qp`` rule and ``o`` (``stall`` pattern);
5. the transfers update the registers for edge ``t + 1``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bypass import acc_mask, acc_zero, opposite

MODE_TABLE, MODE_EXACT, MODE_PRE = 0, 1, 2
ERRORS = {1: "the run did not finish within {max_cycles} cycles (a stream never delivers, or a deadlock)",
          2: "a PE computed a slot with a weight of another tile (the weight rules of the contract failed)",
          3: "the output FIFO overflowed (credits out of step with the FIFO)"}
NEVER = -(1 << 40)
I64_MAX = np.int64((1 << 63) - 1)
I64_MIN = np.int64(-(1 << 63))


@njit(cache=True)
def acc_add(s, p, A, sat):  # pragma: no cover - numba
    """``s + p`` wrapped (``sat`` false) or saturated to the signed ``A``-bit range (int64)."""
    if A >= 64:
        if sat:
            if p > 0 and s > I64_MAX - p:
                return I64_MAX
            if p < 0 and s < I64_MIN - p:
                return I64_MIN
            return s + p
        return np.int64(np.uint64(s) + np.uint64(p))
    x = s + p
    half = np.int64(1) << np.int64(A - 1)
    if sat:
        return min(max(x, -half), half - 1)
    return ((x + half) & ((half << np.int64(1)) - np.int64(1))) - half


@njit(cache=True)
def run_kernel(R, C, P, F, D, ws, A, sat, mode, table, mask, pre, mul_t, add_t,
               t_count, t_first, t_last, t_commit, t_m, w, wflag, a, aflag, n_qp,
               idle_cmd, idle_w, idle_a, idle_qp, stall, n_res, max_cycles):  # pragma: no cover - numba
    T = t_count.shape[0]
    n_w = w.shape[0]
    n_a = a.shape[0]
    H = R + C + 2
    amask = acc_mask(A)
    beat_tile = np.empty(n_a, np.int64)
    beat_pos = np.empty(n_a, np.int64)
    beat_res = np.full(n_a, -1, np.int64)
    res_base = np.zeros(T, np.int64)
    b = 0
    nr = 0
    for k in range(T):
        res_base[k] = nr
        for i in range(t_count[k]):
            beat_tile[b] = k
            beat_pos[b] = i
            if ws and t_last[k]:
                beat_res[b] = nr
                nr += 1
            b += 1
        if not ws:
            nr += t_m[k]
    raw = np.zeros((n_res, C), np.int64)
    res_src = np.full(n_res, -1, np.int64)
    res_tag = np.zeros(n_res, np.int64)
    res_enter = np.zeros(n_res, np.int64)
    o_cyc = np.full(n_res, -1, np.int64)
    counters = np.zeros((R, C, 7), np.int64)
    starts = np.full(T, -1, np.int64)
    cyc = np.full((4, max(T, n_w, n_a, n_qp, 1)), -1, np.int64)  # cmd, w, a, qp
    shadow = np.zeros((R, C), np.int64)
    shadow_f = np.zeros((R, C), np.uint8)
    shadow_src = np.full((R, C), -1, np.int64)
    active = np.zeros((R, C), np.int64)
    active_f = np.zeros((R, C), np.uint8)
    active_src = np.full((R, C), -1, np.int64)
    accum = np.zeros((R, C), np.int64)
    accbuf = np.zeros((D if ws else 1, C), np.int64)
    col_psum = np.zeros((H, C), np.int64)
    ring_beat = np.full(H, -1, np.int64)
    ring_w = np.full(H, -1, np.int64)
    ring_wrow = np.zeros(H, np.int64)
    p_cmd, p_w, p_a, p_qp = 0, 0, 0, 0
    v_cmd, v_w, v_a, v_qp = False, False, False, False
    rem, cur, a_cur, rows, credits, g = 0, -1, NEVER, 0, F, 0
    loaded = np.zeros(2, np.int64)
    inflight = np.zeros(2, np.int64)
    bank_src = np.full(2, -1, np.int64)
    l_prev, last_a = NEVER, NEVER
    made, entered, head = 0, 0, 0
    status = 0
    t = 0
    while True:
        if t >= max_cycles:
            status = 1
            break
        # 1. FIFO entries at edge t
        while entered < made and res_enter[entered] <= t:
            inflight[res_tag[entered]] -= 1
            entered += 1
        if entered - head > F:
            status = 3
            break
        # 2. the slots of cycle t
        for d in range(R + C - 1):
            src = t - 1 - d
            if src < 0:
                break
            b = ring_beat[src % H]
            if b < 0:
                continue
            tile = beat_tile[b]
            pos = beat_pos[b]
            for r in range(max(0, d - C + 1), min(R - 1, d) + 1):
                c = d - r
                av = a[b, r]
                if ws:
                    if pos == 0:
                        active[r, c] = shadow[r, c]
                        active_f[r, c] = shadow_f[r, c]
                        active_src[r, c] = shadow_src[r, c]
                    if active_src[r, c] != tile * R + r:
                        status = 2
                    wv = active[r, c]
                    wf = active_f[r, c]
                    s = np.int64(0) if r == 0 else col_psum[src % H, c]
                else:
                    wv = w[b, c]
                    wf = wflag[b, c]
                    s = np.int64(0) if pos == 0 else accum[r, c]
                if mode == MODE_TABLE:
                    p = table[av & mask, wv & mask]
                elif mode == MODE_EXACT:
                    p = av * wv
                else:
                    p = pre[b, r, c]
                mc = mul_t[aflag[b, r], wf]
                ac = add_t[1 if acc_zero(p, amask) else 0, 1 if acc_zero(s, amask) else 0,
                           1 if opposite(p, s, amask) else 0]
                s2 = acc_add(s, p, A, sat)
                counters[r, c, 6] += 1
                if mc == 3:
                    counters[r, c, 0] += 1
                elif mc == 0:
                    counters[r, c, 1] += 1
                else:
                    counters[r, c, 2] += 1
                if ac == 1 or ac == 2:
                    counters[r, c, 3] += 1
                elif ac == 0:
                    counters[r, c, 4] += 1
                if ws:
                    col_psum[src % H, c] = s2
                    if r == R - 1:
                        fi, la = t_first[tile], t_last[tile]
                        if fi and not la:
                            accbuf[pos, c] = s2
                        elif not la:
                            accbuf[pos, c] = acc_add(accbuf[pos, c], s2, A, sat)
                        elif fi:
                            raw[beat_res[b], c] = s2
                        else:
                            raw[beat_res[b], c] = acc_add(accbuf[pos, c], s2, A, sat)
                else:
                    accum[r, c] = s2
                    if pos == t_count[tile] - 1 and r < t_m[tile]:
                        raw[res_base[tile] + t_m[tile] - 1 - r, c] = s2
        if status:
            break
        # 3. shadow writes at edge t
        if ws:
            for c in range(C):
                src = t - 1 - c
                if src < 0:
                    break
                wb = ring_w[src % H]
                if wb >= 0:
                    j = ring_wrow[src % H]
                    shadow[j, c] = w[wb, c]
                    shadow_f[j, c] = wflag[wb, c]
                    shadow_src[j, c] = wb
        if p_cmd == T and p_w == n_w and p_a == n_a and p_qp == n_qp and head == n_res and t > last_a + R + C:
            break
        # 4. drivers and decisions of cycle t
        v_cmd = v_cmd or (p_cmd < T and not idle_cmd[t % idle_cmd.shape[0]])
        v_w = v_w or (p_w < n_w and not idle_w[t % idle_w.shape[0]])
        v_a = v_a or (p_a < n_a and not idle_a[t % idle_a.shape[0]])
        v_qp = v_qp or (p_qp < n_qp and not idle_qp[t % idle_qp.shape[0]])
        start = False
        ax = False
        if ws:
            if rem == 0:
                if v_cmd and v_a and rows == R:
                    k = p_cmd
                    if (t_last[k] == 0 or credits > 0) and (t_commit[k] == 0 or loaded[1 - g] == 1):
                        start = True
                        ax = True
            elif v_a and (t_last[cur] == 0 or credits > 0):
                ax = True
            rows_e = 0 if start else rows
            acur_e = t if start else a_cur
            wx = v_w and rows_e < R and t >= acur_e + rows_e
        else:
            rows_e = 0
            if v_a and v_w:
                if rem == 0:
                    if v_cmd:
                        k = p_cmd
                        ok = t_commit[k] == 0 or loaded[1 - g] == 1
                        if t_count[k] == 1:
                            ok = ok and credits >= t_m[k] and t >= l_prev + R
                        start = ok
                        ax = ok
                elif rem == 1:
                    ax = credits >= t_m[cur] and t >= l_prev + R
                else:
                    ax = True
            wx = ax
        gq = 1 - g
        qx = v_qp and loaded[gq] == 0 and inflight[gq] == 0
        ox = head < entered and not stall[t % stall.shape[0]]
        # 5. edge t + 1
        if start:
            cur = p_cmd
            starts[cur] = t
            cyc[0, cur] = t
            p_cmd += 1
            v_cmd = False
            rem = t_count[cur]
            a_cur = t
            if t_commit[cur]:
                g = 1 - g
                loaded[g] = 0
        ring_beat[t % H] = -1
        if ax:
            b = p_a
            cyc[2, b] = t
            p_a += 1
            v_a = False
            rem -= 1
            ring_beat[t % H] = b
            last_a = t
            if ws:
                if t_last[cur]:
                    credits -= 1
                    res_enter[made] = t + R + C + P
                    res_tag[made] = g
                    res_src[made] = bank_src[g]
                    inflight[g] += 1
                    made += 1
            elif rem == 0:
                l_prev = t
                credits -= t_m[cur]
                for i in range(t_m[cur] - 1, -1, -1):
                    res_enter[made] = t + 2 * R + C - i + P
                    res_tag[made] = g
                    res_src[made] = bank_src[g]
                    inflight[g] += 1
                    made += 1
        ring_w[t % H] = -1
        if wx:
            cyc[1, p_w] = t
            if ws:
                ring_w[t % H] = p_w
                ring_wrow[t % H] = rows_e
                rows_e += 1
            p_w += 1
            v_w = False
        if ws:
            rows = rows_e
        if qx:
            bank_src[gq] = p_qp
            loaded[gq] = 1
            cyc[3, p_qp] = t
            p_qp += 1
            v_qp = False
        if ox:
            o_cyc[head] = t
            head += 1
            credits += 1
        t += 1
    if n_res:
        cycles = o_cyc[n_res - 1] + 1
    else:
        cycles = last_a + R + C + 1 if last_a > NEVER else 0
    return status, cycles, raw, res_src, o_cyc, counters, starts, cyc
