"""Amaranth-simulator stream harness of the accelerator (hw/top.py) shared by the array tests.

:func:`run_streams` drives the ``cmd``, ``w``, ``a`` and ``qp`` streams with lists of beats as
docs/array.md's test streams do (a driver presents its next beat only if none is pending and its
``idle[t mod L]`` is false; ``o.ready = not stall[t mod L]``), records the cycle of every
transfer and of every ``o`` row, and returns them with the counters as they read in the cycle
after the last row left. :func:`cocheck` runs a :mod:`axmac.golden.array_program` program through
it and through the register-level golden model (:func:`axmac.golden.array.simulate`) and
compares everything: ``o`` values and cycles, every input beat's cycle, counters, run length.
:func:`ref_output` is docs/array.md's output-stage formula, written out for the unit tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from amaranth.hdl import Value
from amaranth.sim import Simulator

from axmac.config import COUNTER_BITS, COUNTER_NAMES

STREAMS = ("cmd", "w", "a", "qp")


@dataclass
class Trace:
    taken: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in STREAMS})
    out: list[tuple[int, list[int]]] = field(default_factory=list)  # (cycle, row)
    counters: list[list[list[int]]] | None = None  # [r][c][j]
    credits: list[int] = field(default_factory=list)
    cycles: int = 0


def wrap(x: int, bits: int) -> int:
    return ((x + (1 << (bits - 1))) % (1 << bits)) - (1 << (bits - 1))


def fit(x: int, bits: int, overflow: str) -> int:
    if overflow == "wrap":
        return wrap(x, bits)
    return max(-(1 << (bits - 1)), min((1 << (bits - 1)) - 1, x))


def ref_output(acc: int, col: dict, qp: dict, acc_bits: int, overflow: str, kind: str = "requant") -> int:
    """docs/array.md's output stage for one column."""
    t = acc + col["bias"]
    if kind == "acc" or not qp["requant"]:
        return fit(t, acc_bits, overflow)
    shift = col["shift"]
    rounding = 1 << (shift - 1) if shift else 0
    x = qp["zp"] + ((t * col["mult"] + rounding) >> shift)
    lo = max(qp["lo"], qp["zp"]) if qp["relu"] else qp["lo"]
    return min(max(x, lo), qp["hi"])


def _pack(layout, beat) -> int:
    return beat if isinstance(beat, int) else layout.const(beat).as_value().value


def _pattern(p) -> Callable[[int], bool]:
    if p is None:
        return lambda _t: False
    if callable(p):
        return p
    p = [bool(v) for v in p]
    return lambda t: p[t % len(p)]


def run_sim(dut, bench) -> None:
    """Run the async testbench ``bench`` on ``dut`` with a ``sync`` clock (1 MHz)."""
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def check_isolation(gating: str, used, seen, operand) -> None:
    """``seen`` (what a multiplier input showed in each slot) equals ``operand`` in the slots that
    use the multiplier; with gating it holds its value in every other slot, without it switches."""
    import numpy as np

    np.testing.assert_array_equal(seen[used], operand[used])
    held = ~used[1:]
    if gating == "none":
        assert (seen[1:][held] != seen[:-1][held]).any()
    else:
        np.testing.assert_array_equal(seen[1:][held], seen[:-1][held])


def run_streams(dut, beats: dict[str, list], *, n_out: int, idle: dict | None = None, stall=None,
                max_cycles: int = 2000, extra_cycles: int = 0, probe=None) -> Trace:
    """Drive ``dut`` (an :class:`~axmac.hw.top.Accelerator`) until ``n_out`` rows have left.

    ``beats[s]`` are payloads for stream ``s``: packed integers, or what ``layout.const`` takes
    (dicts, lists). ``idle[s]`` and ``stall`` are boolean patterns (repeated) or functions of the
    cycle. ``probe(ctx, t, trace)`` is called every cycle before the edge (to watch internals).
    """
    idle = {s: _pattern((idle or {}).get(s)) for s in STREAMS}
    stall = _pattern(stall)
    trace = Trace()
    layouts = {s: getattr(dut, s).payload.shape() for s in STREAMS}
    queues = {s: [_pack(layouts[s], b) for b in beats.get(s, [])] for s in STREAMS}

    async def bench(ctx):
        pending = dict.fromkeys(STREAMS)
        t = 0
        done_at = None
        while t < max_cycles:
            for s in STREAMS:
                port = getattr(dut, s)
                if pending[s] is None and queues[s] and not idle[s](t):
                    pending[s] = queues[s].pop(0)
                ctx.set(port.valid, pending[s] is not None)
                if pending[s] is not None:
                    ctx.set(Value.cast(port.payload), pending[s])
            ready = not stall(t)
            ctx.set(dut.o.ready, ready)
            fired = [s for s in STREAMS if pending[s] is not None and ctx.get(getattr(dut, s).ready)]
            if ctx.get(dut.o.valid) and ready:
                trace.out.append((t, list(ctx.get(dut.o.payload))))
            if probe:
                probe(ctx, t, trace)
            await ctx.tick()
            for s in fired:
                pending[s] = None
                trace.taken[s].append(t)
            t += 1
            if done_at is None and len(trace.out) >= n_out:
                done_at = t
            if done_at is not None and t >= done_at + extra_cycles:
                break
        trace.cycles = t
        if hasattr(dut, "counters"):
            cfg = dut.config
            raw = ctx.get(dut.counters)
            n = len(COUNTER_NAMES)
            trace.counters = [[[(raw >> (((r * cfg.cols + c) * n + j) * COUNTER_BITS)) & ((1 << COUNTER_BITS) - 1)
                                for j in range(n)] for c in range(cfg.cols)] for r in range(cfg.rows)]

    run_sim(dut, bench)
    return trace


def cocheck(cfg, program, *, idle: dict | None = None, stall=None, max_cycles: int = 5000):
    """Run ``program`` on ``Accelerator(config=cfg)`` and on the golden model; assert they agree.

    Returns ``(trace, golden_run)``.
    """
    import numpy as np

    from axmac.golden.array import simulate
    from axmac.hw.top import Accelerator

    gold = simulate(cfg, program, idle=idle, stall=stall)
    dut = Accelerator(config=cfg)
    tr = run_streams(dut, program.payloads(), n_out=len(gold.o), idle=idle, stall=stall, max_cycles=max_cycles)
    for s in STREAMS:
        assert tr.taken[s] == [int(c) for c in gold.beat_cycles[s]], f"{s} beats taken in other cycles"
    assert [c for c, _ in tr.out] == [int(c) for c in gold.o_cycles], "o rows left in other cycles"
    np.testing.assert_array_equal(np.array([row for _, row in tr.out]).reshape(gold.o.shape), gold.o)
    assert tr.cycles == gold.cycles
    if tr.counters is not None:
        np.testing.assert_array_equal(np.array(tr.counters), gold.counters % (1 << COUNTER_BITS))
    return tr, gold
