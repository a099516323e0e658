"""Register-level golden model of the whole systolic array, cycle by cycle (``docs/array.md``).

Written from the contract alone (never from ``hw/``), so that co-simulation of the RTL against it
checks both. :func:`simulate` runs a :class:`~axmac.golden.array_program.Program` (or any
streams of the same form) through:

* the **stream drivers** of "Test streams": stream ``s`` presents its next beat in cycle ``t``
  when none is pending and ``idle[s][t mod L]`` is false; ``o.ready = not stall[t mod L]``;
* the **controller** (ws rules 1-4 with ``A_cur``, ``rows``, credits; os: joined ``a``/``w``
  beats, ``L_prev + R`` and ``credits >= m`` on a tile's last beat) and the **parameter banks**
  (``g``, ``loaded``, ``inflight``; a result is tagged with the bank in effect after the edge
  that takes its beat);
* the **mesh** as a wavefront: the beat taken in cycle ``n`` is the slot of PE ``(r, c)`` in
  cycle ``n + 1 + r + c`` (skew registers included). ws: shadow weights written at edge
  ``n + 1 + c`` by row address, committed to the active weight when the tile's first beat
  reaches the PE (the commit reads the shadow before that edge's write); column sums run top
  to bottom into the **accumulator buffer** (first/last rules) during cycle ``n + R + c``.
  os: each PE accumulates from 0 at a tile's first beat; the last beat's values become the
  tile's rows (the hold registers and drain chain only delay them);
* the **output stage** (``requant`` / accumulator pass, :mod:`~axmac.golden.requant`) and the
  **output FIFO**: a result at the stage's input in cycle ``T`` (ws ``n + R + C``; os
  ``n_last + 2R + C - i``) enters the FIFO at edge ``T + P`` and leaves in the first cycle
  from ``T + P`` on with ``o.ready``, one row per cycle, in order.

PE arithmetic: products of the PE product path (``golden/pe.py``: the multiplier's model with
bypassed MUL cases exact) — a table ``Bypass.apply_to_table(mult.table())`` for operands of at
most 10 bits, ``a * w`` for the exact multiplier at any width, products precomputed per slot
(``golden.pe.pe_products``) for wider approximate multipliers; ``s' = s + p`` wrapped or
saturated to ``A`` bits. MUL codes come from ``golden.pe.mul_ctrl`` (as a table over the
operands' zero / +-1 flags, which the hardware stores with each weight), ADD codes from
``golden.pe.add_ctrl`` over the predicates of ``golden.bypass`` (``acc_zero``, ``opposite``).

Counters (``docs/array.md``): the 7 per PE, exact (the port shows them modulo ``2**32``), as
they read **during cycle** :attr:`ArrayRun.cycles` (events of cycles ``0..cycles-1``; ``gated =
cycles - mul_used`` with ``gating`` ``enable``/``icg``).

Speed: the cycle loop is one numba kernel (``golden/array_kernel.py``). Measured with
``python bench/bench_array_golden.py`` (8x8 array, one core of a shared 2-core machine): LeNet-5,
one image (0.42 M MACs, 14.5 k cycles in ws) in 0.04-0.2 s; 100 images (42 M MACs, 0.79 M
cycles) in 2-3 s, about 3e5 cycles/s (2e7 PE slots/s), for exact and table multipliers alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import COUNTER_BITS, COUNTER_NAMES, OUTPUT_STAGES, ArrayConfig
from ..errors import AxmacError
from .array_kernel import ERRORS, MODE_EXACT, MODE_PRE, MODE_TABLE, run_kernel
from .array_program import CMD_FIELDS, Program
from .bypass import Bypass, is_one
from .multipliers import make_multiplier
from .multipliers.base import MAX_TABLE_BITS
from .pe import add_ctrl, mul_ctrl, pe_products
from .requant import acc_output, requantize

STREAMS = ("cmd", "w", "a", "qp")
#: Largest number of precomputed wide products (slots) :func:`simulate` accepts.
MAX_PRECOMPUTED = 1 << 26


@dataclass
class ArrayRun:
    """What the array did (see :func:`simulate`).

    ``o (n_o, C)``: every ``o`` beat's payload (after the output stage); ``o_cycles``: the cycle
    each left; ``raw``: the results before the output stage; ``tile_starts``: the cycle each
    tile's ``cmd`` transferred; ``cycles``: the cycle after the last ``o`` beat left;
    ``counters (R, C, 7)`` in :data:`~axmac.config.COUNTER_NAMES` order; ``beat_cycles``: the
    transfer cycle of every beat of every input stream.
    """

    o: np.ndarray
    o_cycles: np.ndarray
    raw: np.ndarray
    tile_starts: np.ndarray
    cycles: int
    counters: np.ndarray
    beat_cycles: dict = field(default_factory=dict)

    def counter(self, name: str) -> np.ndarray:
        """One counter of every PE, ``(R, C)``."""
        return self.counters[:, :, COUNTER_NAMES.index(name)]

    def counter_port(self) -> int:
        """The ``counters`` port as an integer: PE ``(r, c)`` counter ``j`` at bits
        ``((r*C + c)*7 + j)*32``, each modulo ``2**32``."""
        flat = (self.counters.reshape(-1) % (1 << COUNTER_BITS)).astype(np.uint64)
        return sum(int(v) << (COUNTER_BITS * i) for i, v in enumerate(flat))


def _pattern(p, name: str) -> np.ndarray:
    p = np.zeros(1, dtype=bool) if p is None else np.asarray(p, dtype=bool).ravel()
    if p.size == 0:
        raise AxmacError(f"the {name} pattern is empty")
    return p


def _flags(v: np.ndarray, signed: bool) -> np.ndarray:
    """Operand flags the MUL code depends on: 1 = zero, 2 = +-1 (``golden.bypass.is_one``), 0 = other."""
    return np.where(v == 0, 1, np.where(is_one(v, signed), 2, 0)).astype(np.uint8)


def _code_tables(cfg: ArrayConfig, bypass: Bypass):
    """MUL codes by (activation flag, weight flag) and ADD codes by (p zero, s zero, opposite),
    from ``golden.pe``'s own definitions evaluated on representatives of each class."""
    other = -2 if cfg.signed else 2
    rep = np.array([other, 0, 1], dtype=np.int64)
    mul = mul_ctrl(rep[:, None], rep[None, :], bypass, cfg.signed).astype(np.uint8)
    add = np.full((2, 2, 2), 3, dtype=np.uint8)
    for pz, sz, opp, p, s in ((1, 1, 1, 0, 0), (1, 0, 0, 0, 1), (0, 1, 0, 1, 0), (0, 0, 1, 1, -1), (0, 0, 0, 1, 1)):
        add[pz, sz, opp] = add_ctrl(np.int64(p), np.int64(s), bypass, cfg.acc_bits)
    return mul, add


def _check_streams(cfg: ArrayConfig, s: dict) -> dict:
    cmd = {f: np.asarray(s["cmd"][f], dtype=np.int64).ravel() for f in CMD_FIELDS}
    n_t = len(cmd["count"])
    w = np.asarray(s["w"], dtype=np.int64).reshape(-1, cfg.cols)
    a = np.asarray(s["a"], dtype=np.int64).reshape(-1, cfg.rows)
    n_qp = len(s["qp"]["zp"])
    cfg.operand.check(w, "w stream")
    cfg.operand.check(a, "a stream")
    if n_t and cmd["count"].min() < 1:
        raise AxmacError("a command's count must be at least 1")
    if cfg.dataflow == "ws":
        if n_t and cmd["count"].max() > cfg.acc_depth:
            raise AxmacError(f"a ws tile of {cmd['count'].max()} rows exceeds the accumulator depth {cfg.acc_depth}")
        if len(w) != cfg.rows * n_t:
            raise AxmacError(f"ws: {n_t} tiles need {cfg.rows * n_t} w beats, not {len(w)}")
    else:
        if n_t and (cmd["m"].min() < 1 or cmd["m"].max() > cfg.rows):
            raise AxmacError(f"os: a tile's m must be in 1..{cfg.rows}")
        if n_t and cmd["m"].max() > cfg.fifo_depth:
            raise AxmacError(f"os: a tile of {cmd['m'].max()} rows needs as many FIFO rows (F = {cfg.fifo_depth})")
        if len(w) != len(a):
            raise AxmacError(f"os: w and a carry one beat per k together, not {len(w)} and {len(a)}")
    if len(a) != cmd["count"].sum():
        raise AxmacError(f"the commands count {cmd['count'].sum()} a beats, the stream has {len(a)}")
    if int(cmd["qp_commit"].sum()) != n_qp:
        raise AxmacError(f"{int(cmd['qp_commit'].sum())} tiles commit parameters, the qp stream has {n_qp} beats")
    return {"cmd": cmd, "w": w, "a": a, "n_qp": n_qp}


def _products(cfg: ArrayConfig, mult, bypass: Bypass, s: dict):
    """``(mode, table, pre)`` for the kernel (see the module docstring)."""
    if cfg.bits <= MAX_TABLE_BITS:
        table = bypass.apply_to_table(mult.table(), cfg.operand.values(), cfg.signed)
        return MODE_TABLE, np.ascontiguousarray(table, dtype=np.int64), np.zeros((1, 1, 1), np.int64)
    if mult.is_exact:
        return MODE_EXACT, np.zeros((1, 1), np.int64), np.zeros((1, 1, 1), np.int64)
    a, w, cmd = s["a"], s["w"], s["cmd"]
    if len(a) * cfg.rows * cfg.cols > MAX_PRECOMPUTED:
        raise AxmacError(f"{len(a) * cfg.pes} slots of a wide approximate multiplier: too many to precompute "
                         f"(at most {MAX_PRECOMPUTED}); use at most {MAX_TABLE_BITS}-bit operands or a shorter program")
    if cfg.dataflow == "os":
        wexp = w[:, None, :]
    else:  # the weight the contract puts in PE (r, c) for a beat of tile t: w beat t*R + r
        tile = np.repeat(np.arange(len(cmd["count"])), cmd["count"])
        wexp = w.reshape(-1, cfg.rows, cfg.cols)[tile]
    pre = pe_products(mult, bypass, a[:, :, None], wexp)
    return MODE_PRE, np.zeros((1, 1), np.int64), np.ascontiguousarray(pre, dtype=np.int64)


def simulate(cfg: ArrayConfig, program, *, idle: dict | None = None, stall=None, mult=None,
             max_cycles: int | None = None) -> ArrayRun:
    """Run ``program`` on the array ``cfg`` cycle by cycle.

    Parameters
    ----------
    cfg : ArrayConfig
    program : Program or dict
        A :class:`~axmac.golden.array_program.Program`, or ``{"cmd": {field: (T,)}, "w": (n, C),
        "a": (n, R), "qp": {field: ...}}`` (``Program.streams()``).
    idle : dict, optional
        ``{stream: bool pattern}`` for ``cmd``, ``w``, ``a``, ``qp`` (default all-false).
    stall : bool pattern, optional
        ``o.ready`` is low in cycle ``t`` when ``stall[t mod L]`` (default never).
    mult : Multiplier, optional
        The golden multiplier (default ``make_multiplier(cfg.multiplier, cfg.bits, cfg.signed)``).
    max_cycles : int, optional
        Deadlock guard (default: a bound from the stream lengths and patterns).
    """
    if not isinstance(cfg, ArrayConfig):
        raise AxmacError(f"an ArrayConfig is needed, not {type(cfg).__name__}")
    streams = program.streams() if isinstance(program, Program) else program
    s = _check_streams(cfg, streams)
    idle = dict(idle or {})
    unknown = sorted(set(idle) - set(STREAMS))
    if unknown:
        raise AxmacError(f"unknown stream {unknown[0]!r} in idle patterns (streams: {', '.join(STREAMS)})")
    pats = {k: _pattern(idle.get(k), k) for k in STREAMS}
    stall = _pattern(stall, "stall")
    lengths = {"cmd": len(s["cmd"]["count"]), "w": len(s["w"]), "a": len(s["a"]), "qp": s["n_qp"]}
    for k in STREAMS:
        if lengths[k] and pats[k].all():
            raise AxmacError(f"the {k} stream is idle in every cycle of its pattern: it never delivers")
    if stall.all():
        raise AxmacError("o is stalled in every cycle of its pattern: no result ever leaves")
    mult = mult or make_multiplier(cfg.multiplier, cfg.bits, cfg.signed)
    bypass = Bypass.parse(cfg.bypass)
    mode, table, pre = _products(cfg, mult, bypass, s)
    mul_t, add_t = _code_tables(cfg, bypass)
    cmd = s["cmd"]
    R, C = cfg.rows, cfg.cols
    n_res = int((cmd["count"] * cmd["last"]).sum()) if cfg.dataflow == "ws" else int(cmd["m"].sum())
    if max_cycles is None:
        slow = max(len(p) for p in (*pats.values(), stall)) + 1
        max_cycles = 64 + (sum(lengths.values()) + n_res + 1) * slow * (2 * R + C + OUTPUT_STAGES + 4)
    out = run_kernel(R, C, OUTPUT_STAGES, cfg.fifo_depth, cfg.acc_depth, cfg.dataflow == "ws", cfg.acc_bits,
                     cfg.overflow == "saturate", mode, table, cfg.operand.mask, pre, mul_t, add_t,
                     cmd["count"], cmd["first"], cmd["last"], cmd["qp_commit"], cmd["m"],
                     s["w"], _flags(s["w"], cfg.signed), s["a"], _flags(s["a"], cfg.signed), s["n_qp"],
                     pats["cmd"], pats["w"], pats["a"], pats["qp"], stall, n_res, int(max_cycles))
    status, cycles, raw, res_src, o_cyc, counters, starts, beat_cyc = out
    if status:
        raise AxmacError(f"array model: {ERRORS[status].format(max_cycles=max_cycles)}")
    if cfg.gating != "none":
        counters[:, :, COUNTER_NAMES.index("gated")] = cycles - counters[:, :, COUNTER_NAMES.index("mul_used")]
    o = _output_stage(cfg, raw, res_src, streams["qp"])
    names = ("cmd", "w", "a", "qp")
    return ArrayRun(o, o_cyc, raw, starts, int(cycles), counters,
                    {k: beat_cyc[i][:lengths[k]] for i, k in enumerate(names)})


def _output_stage(cfg: ArrayConfig, raw: np.ndarray, src: np.ndarray, qp: dict) -> np.ndarray:
    """Apply each result's parameter bank (the ``qp`` beat that loaded it; -1: the reset bank,
    all zeros) to the raw results."""
    n, C = raw.shape
    q = len(qp["zp"])

    def take(name, shape):
        v = np.asarray(qp[name], dtype=np.int64).reshape((q, *shape))
        z = np.zeros((1, *shape), np.int64)
        return np.concatenate([v, z])[np.where(src >= 0, src, q)]

    bias = take("col.bias", (C,))
    y = acc_output(raw, bias, cfg.acc_bits, cfg.overflow)
    if cfg.output_stage != "requant" or not n:
        return y
    rq = take("requant", ()).astype(bool)
    if rq.any():
        r, b = raw[rq], bias[rq]
        t = r + b if cfg.acc_bits <= 62 else r.astype(object) + b.astype(object)
        y[rq] = requantize(t, take("col.mult", (C,))[rq], take("col.shift", (C,))[rq], take("zp", ())[rq, None],
                           take("lo", ())[rq, None], take("hi", ())[rq, None], take("relu", ())[rq, None].astype(bool))
    return y
