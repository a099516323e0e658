"""Analytic cycle model of the systolic array when the streams keep up (``docs/array.md``).

"Keep up": every input stream presents its next beat in every cycle and ``o.ready`` is always
high. Then the controller rules of ``docs/array.md`` reduce to recurrences over tiles, which
this module evaluates exactly (``tests/test_cycle_model.py`` checks them, cycle for cycle, against
the register-level model :mod:`axmac.golden.array` on random programs). ``R``, ``C``: array
size; ``P = 3``: output-stage depth; ``F``: output FIFO rows; tiles ``t = 0, 1, ...`` in stream
order; ``qp`` beat ``i`` loads the parameters of the ``i``-th ``qp_commit`` tile ``c_i``.

Weight-stationary (``ws``; tile ``t`` streams ``m_t`` rows)
----------------------------------------------------------
* weights: tile 0's ``R`` rows arrive in cycles ``0..R-1``; tile ``t``'s row ``j`` in cycle
  ``S_{t-1} + j`` (behind the commit wave of tile ``t-1``), so they are complete at
  ``W_t = R`` (``t = 0``), ``S_{t-1} + R`` (double buffering: loading overlaps streaming);
* start: ``S_t = max(W_t, E_{t-1} + 1, Q_i + 1 if t = c_i)``, ``E_t`` = the cycle of its last beat;
* beats: ``n_{t,j} = S_t + j``; a ``last`` tile's beat ``n`` leaves ``o`` in ``n + R + C + P``
  (its result enters the FIFO then). With few FIFO rows (``F <= R + C + P``) the ``b``-th result
  beat also waits for a credit: ``n_b >= n_{b-F} + R + C + P + 1``.
* Closed form when parameters and credits never wait: ``S_t = R + sum_{u<t} max(m_u, R)``.

Output-stationary (``os``; tile ``t`` streams ``K_t`` beats for ``m_t`` rows)
------------------------------------------------------------------------------
* first beat ``f_t = max(E_{t-1} + 1, Q_i + 1 if t = c_i)`` (``E_{-1} = -1``), then one beat
  per cycle; the last beat
  ``E_t = max(f_t + K_t - 1, E_{t-1} + R, the first cycle with credits >= m_t)``;
* row ``i`` leaves in ``E_t + 2R + C - i + P`` (bottom row first).
* Closed form when parameters and credits never wait: ``E_t = E_{t-1} + max(K_t, R)``,
  ``E_0 = max(K_0, ...) - 1``.

Parameter banks (both)
----------------------
``Q_0 = 0``; ``Q_i = max(Q_{i-1} + 1, S_{c_{i-1}} + 1, Z_{i-2})`` where ``Z_j`` is the cycle
the last result of block ``j`` (the tiles from ``c_j`` up to ``c_{j+1}``; block ``-1``: before
``c_0``) enters the FIFO: the bank ``qp`` beat ``i`` overwrites is the one block ``i-2`` used.

A run's length is the cycle after its last result leaves. SCALE-Sim's WS model (no weight
double buffering, fill and drain per tile) gives ``R + (M + R + C - 2)`` cycles per tile; here a
run of tiles pays ``R`` of weight fill and ``R + C + P`` of drain once, and a tile costs
``max(m, R)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import OUTPUT_STAGES, ArrayConfig
from ..errors import AxmacError

NEVER = -(1 << 40)


@dataclass(frozen=True)
class Timing:
    """Cycles of a run: per tile ``starts`` (its ``cmd`` and first ``a`` beat) and ``ends`` (its
    last beat), ``o_cycles`` (each ``o`` beat leaves), ``qp_cycles``, ``cycles`` (the cycle
    after the last ``o`` beat)."""

    starts: np.ndarray
    ends: np.ndarray
    o_cycles: np.ndarray
    qp_cycles: np.ndarray
    cycles: int

    @property
    def tile_cycles(self) -> np.ndarray:
        """Cycles from each tile's start to the next tile's (the last: to the end of the run);
        ``starts[0] + tile_cycles.sum() == cycles``."""
        nxt = np.append(self.starts[1:], self.cycles)
        return nxt - self.starts


class _Banks:
    """The parameter-bank recurrence: ``Q_i`` and the blocks' last FIFO entries ``Z_j``."""

    def __init__(self):
        self.q: list[int] = []
        self.commit_starts: list[int] = []
        self.z = {-1: NEVER}

    def block(self) -> int:
        return len(self.commit_starts) - 1

    def qp_ready(self) -> int:
        """``Q_i`` for the next commit ``i`` (all earlier tiles known)."""
        i = len(self.q)
        if i == 0:
            qi = 0
        else:
            qi = max(self.q[-1] + 1, self.commit_starts[-1] + 1, self.z.get(i - 2, NEVER))
        self.q.append(qi)
        return qi

    def result(self, enter: int) -> None:
        b = self.block()
        self.z[b] = max(self.z.get(b, NEVER), enter)


def run_timing(cfg: ArrayConfig, count, last, qp_commit, m=None) -> Timing:
    """:class:`Timing` of a run of tiles on ``cfg`` (``count``, ``last``, ``qp_commit``, ``m`` per
    tile as in ``cmd``; ``last`` is ignored in os, ``m`` in ws)."""
    count = np.asarray(count, dtype=np.int64).ravel()
    n_t = len(count)
    last = np.ones(n_t, np.int64) if last is None else np.asarray(last, dtype=np.int64).ravel()
    commit = np.asarray(qp_commit, dtype=np.int64).ravel()
    m = np.zeros(n_t, np.int64) if m is None else np.asarray(m, dtype=np.int64).ravel()
    if n_t and count.min() < 1:
        raise AxmacError("a tile's count must be at least 1")
    R, C, P, F = cfg.rows, cfg.cols, OUTPUT_STAGES, cfg.fifo_depth
    banks = _Banks()
    starts = np.empty(n_t, np.int64)
    ends = np.empty(n_t, np.int64)
    outs: list[np.ndarray] = []
    if cfg.dataflow == "ws":
        lat = R + C + P
        credit_free = F > lat
        beats: list[int] = []  # result beats so far (only when credits may bind)
        prev_s, prev_e = NEVER, NEVER
        for t in range(n_t):
            s = max(R if t == 0 else prev_s + R, prev_e + 1)
            if commit[t]:
                s = max(s, banks.qp_ready() + 1)
            wait = last[t] and not credit_free
            if wait and len(beats) >= F:
                s = max(s, beats[-F] + lat + 1)
            if commit[t]:
                banks.commit_starts.append(s)
            if wait:
                n = s
                beats.append(n)
                for _ in range(count[t] - 1):
                    n = max(n + 1, beats[-F] + lat + 1) if len(beats) >= F else n + 1
                    beats.append(n)
                e = n
                outs.append(np.array(beats[-count[t]:], np.int64) + lat)
            else:
                e = s + count[t] - 1
                if last[t]:
                    outs.append(np.arange(s, e + 1, dtype=np.int64) + lat)
            if last[t]:
                banks.result(e + lat)
            starts[t], ends[t] = s, e
            prev_s, prev_e = s, e
    else:
        if n_t and (m.min() < 1 or m.max() > min(R, F)):
            raise AxmacError(f"os tiles have 1..{min(R, F)} rows")
        leaves: list[int] = []
        prev_e = -1
        for t in range(n_t):
            f = prev_e + 1
            if commit[t]:
                f = max(f, banks.qp_ready() + 1)
            need = len(leaves) - (F - m[t])
            credit = leaves[need - 1] + 1 if need > 0 else NEVER
            e = max(f + count[t] - 1, (prev_e + R) if t else NEVER, credit)
            if count[t] == 1:
                f = e
            if commit[t]:
                banks.commit_starts.append(f)
            rows = e + 2 * R + C + P - np.arange(m[t] - 1, -1, -1)
            outs.append(rows)
            leaves.extend(rows.tolist())
            banks.result(int(rows[-1]))
            starts[t], ends[t] = f, e
            prev_e = e
            del leaves[:max(0, len(leaves) - F)]
    o = np.concatenate(outs) if outs else np.zeros(0, np.int64)
    cycles = int(o[-1]) + 1 if len(o) else (int(ends[-1]) + R + C + 1 if n_t else 0)
    return Timing(starts, ends, o, np.array(banks.q, np.int64), cycles)


def plan_timing(cfg: ArrayConfig, plan) -> Timing:
    """:func:`run_timing` of a :class:`~axmac.golden.array_tiles.TilePlan`."""
    f = plan.field
    return run_timing(cfg, f("count"), f("last"), f("qp_commit"), f("m"))
