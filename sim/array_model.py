"""The golden array model (``golden/array.py``) as :class:`~axmac.sim.array_tb.ArrayTB`'s model.

:class:`ArrayModel` takes a :class:`~axmac.golden.array_program.Program` (the host's beat streams
of a GEMM) and the test streams' patterns, and returns what the RTL must produce: every ``o``
beat's value and cycle, the run's cycle count and the activity counters as they read then. Each
beat is located for messages (:func:`locate`): the tile that produced it and the element of
``Y`` its lane holds.

:class:`Stimulus` is what a job body hands the testbench: the program plus the payloads its
drivers replay (packed with the layouts of ``golden/array_payload.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import COUNTER_NAMES, ArrayConfig
from ..golden.array import simulate
from ..golden.array_payload import stream_layouts
from ..golden.array_program import Program
from ..golden.multipliers import make_multiplier
from .array_tb import Expected
from .stream import StreamPatterns, pack_words, words_per


@dataclass
class Stimulus:
    """One run's program; :meth:`payloads` packs its beats for the stream drivers (the layouts of
    ``golden/array_payload.py``, straight into 64-bit words)."""

    program: Program

    def payloads(self) -> dict:
        p = self.program
        lay = stream_layouts(p.config)
        fields = {"cmd": p.cmd, "w": {"w": p.w}, "a": {"a": p.a}, "qp": p.qp}
        return {s: pack_words(lay[s], v) if len(next(iter(v.values()))) else
                np.zeros((0, words_per(lay[s].width)), np.uint64) for s, v in fields.items()}


def locate(program: Program):
    """``where(i, j)`` for :class:`Expected`: the tile of ``o`` beat ``i`` and the element
    ``[g, m, n]`` of ``Y`` in its lane ``j`` (``None`` for an unused lane)."""
    plan = program.plan
    per_tile = plan.field("count") * plan.field("last") if plan.dataflow == "ws" else plan.field("m")
    tile_of = np.repeat(np.arange(len(plan.tiles)), per_tile)

    def where(i: int, j: int) -> dict:
        idx = int(program.out_index[i, j])
        element = [int(v) for v in np.unravel_index(idx, program.shape)] if idx >= 0 else None
        return {"tile": int(tile_of[i]) if i < len(tile_of) else None, "element": element}

    return where


class ArrayModel:
    """Expected results of the array ``config`` (an :meth:`ArrayConfig.to_dict`) for a program."""

    counter_names = COUNTER_NAMES

    def __init__(self, config: dict):
        self.cfg = ArrayConfig.from_dict(config)
        self.mult = make_multiplier(self.cfg.multiplier, self.cfg.bits, self.cfg.signed)
        self.counter_shape = (self.cfg.rows, self.cfg.cols, len(COUNTER_NAMES))
        self.last_run = None

    def expect(self, stimulus: Stimulus, patterns: StreamPatterns) -> Expected:
        program = stimulus.program
        run = simulate(self.cfg, program, idle=patterns.idle, stall=patterns.stall, mult=self.mult)
        self.last_run = run
        counters = run.counters if self.cfg.counters == "pe" else None
        return Expected(np.asarray(run.o_cycles, np.int64), np.asarray(run.o, np.int64), int(run.cycles),
                        counters, where=locate(program))
