"""cocotb testbench of the systolic array: drivers, monitor, model and in-order scoreboard.

Structure (cocotb's examples/matrix_multiplier, cocotbext-axi): :class:`ArrayTB` wires one
:class:`StreamDriver` per input stream, an :class:`OutputMonitor` on ``o``, a model (the golden
array model, or any object with the same ``expect`` method) and a :class:`Scoreboard`; a test body
only hands it stimulus (``await tb.run(stimulus, patterns)``).

The design under test is the harness of :mod:`axmac.sim.harness`: drivers and monitor do not
touch a signal per cycle. A driver writes its stream's beats and idle pattern as ``$readmemh``
files, the monitor writes the stall pattern and reads back the ``$writememh`` dump of every ``o``
beat with the cycle it transferred in, and cocotb only waits for ``done`` (the harness makes its
own clock). The
scoreboard then checks, in order, every output value and the cycle it left against the model,
the beat counts of every stream and, when the DUT has them, the activity counters.

:func:`array_job` is the one cocotb test: it reads a job (``AXMAC_ARRAY_JOB``, a pickle written by
:func:`axmac.sim.cosim.run_job`) naming a body (``"module:function"``, an ``async def body(tb,
**args) -> dict``) and a model, runs the body and writes its result and any mismatch as JSON to
``AXMAC_ARRAY_RESULT``.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

import cocotb
import numpy as np

from .harness import HarnessSpec
from .stream import StreamPatterns, read_hex, signed_lanes, write_bits, write_hex

#: Cycles the harness keeps running after the model's last beat, to catch extra beats.
TAIL = 16


@dataclass
class Expected:
    """What the model says a run produces.

    ``cycles[i]``: the cycle ``o`` beat ``i`` transfers in; ``values[i, j]``: its lane ``j``;
    ``end``: the run's cycle count (the cycle after the last beat, docs/array.md); ``counters``:
    ``(R, C, NCOUNT)`` activity counters as they read during cycle ``end``, or ``None``;
    ``where(i, j)``: a dict locating beat ``i``, lane ``j`` for messages (``tile``, ``element``).
    """

    cycles: np.ndarray
    values: np.ndarray
    end: int
    counters: np.ndarray | None = None
    where: object = None

    def mutated(self, kind: str, beat: int = 0, lane: int = 0, bit: int = 0) -> Expected:
        """A copy with one bit of one value (``kind="value"``) or one cycle (``"cycle"``) changed:
        a run checked against it must fail."""
        cycles, values = self.cycles.copy(), self.values.copy()
        if kind == "value":
            values[beat, lane] ^= np.int64(1) << np.int64(bit)
        elif kind == "cycle":
            cycles[beat] += 1
        else:
            raise ValueError(f"mutation must be 'value' or 'cycle', not {kind!r}")
        return Expected(cycles, values, self.end, self.counters, self.where)


@dataclass
class Capture:
    """What the monitor saw: ``cycles[i]``, ``values[i, j]`` of every ``o`` beat, ``beats`` in all
    (more than captured if the capture memory overflowed)."""

    cycles: np.ndarray
    values: np.ndarray
    beats: int


class Mismatch(AssertionError):
    """The DUT differs from the model; ``info`` says where first (JSON-ready)."""

    def __init__(self, info: dict):
        self.info = info
        super().__init__(describe(info))


def describe(info: dict) -> str:
    """One line for a mismatch record (the keys :class:`Scoreboard` and the job bodies set)."""
    where = ", ".join(f"{k} {info[k]}" for k in ("layer", "run", "tile", "element") if info.get(k) is not None)
    where = f" ({where})" if where else ""
    if info["what"] in ("value", "cycle"):
        lane = f", lane {info['lane']}" if info.get("lane") is not None else ""
        return (f"o beat {info['beat']}{lane}{where}: {info['what']} differs: got {info['got']}, want {info['want']} "
                f"(cycle got {info['got_cycle']}, want {info['want_cycle']})")
    note = f" ({info['note']})" if info.get("note") else ""
    return f"{info['what']}{where}: got {info['got']}, want {info['want']}{note}"


class StreamDriver:
    """Replays one input stream: writes ``<name>.hex`` (beats) and ``<name>_idle.hex`` (pattern)."""

    def __init__(self, dut, port, workdir: Path):
        self.dut, self.port, self.workdir = dut, port, workdir
        self.count = 0

    def send(self, beats, idle: np.ndarray) -> int:
        n = write_hex(self.workdir / f"{self.port.name}.hex", beats, self.port.bits)
        if n > self.port.depth:
            raise ValueError(f"{n} beats on {self.port.name} exceed the harness memory ({self.port.depth})")
        write_bits(self.workdir / f"{self.port.name}_idle.hex", idle)
        self.count = n
        return n

    def sent(self) -> int:
        """Beats that transferred (read after a run)."""
        return int(getattr(self.dut, f"{self.port.name}_sent").value)


class OutputMonitor:
    """Backpressure on ``o`` (``o_stall.hex``) and the captured beats (``o.hex``)."""

    def __init__(self, dut, spec: HarnessSpec, workdir: Path):
        self.dut, self.spec, self.workdir = dut, spec, workdir

    def stall(self, pattern: np.ndarray) -> None:
        write_bits(self.workdir / "o_stall.hex", pattern)

    def collect(self) -> Capture:
        beats = int(self.dut.beats.value)
        path = self.workdir / "o.hex"
        if beats == 0:
            words = np.zeros((0, self.spec.capture_words), np.uint64)
        else:
            words = read_hex(path, self.spec.capture_words)
            path.unlink()
        lanes = signed_lanes(words)
        return Capture(lanes[:, 0].copy(), lanes[:, 1:].copy(), beats)

    def counters(self, shape) -> np.ndarray | None:
        if not self.spec.counters_bits:
            return None
        v = int(self.dut.counters.value)
        raw = v.to_bytes(self.spec.counters_bits // 8, "little")
        return np.frombuffer(raw, "<u4").astype(np.int64).reshape(shape)


class Scoreboard:
    """In-order comparison of a :class:`Capture` with an :class:`Expected`: every value, every cycle."""

    def check(self, got: Capture, want: Expected) -> None:
        n = min(len(got.cycles), len(want.cycles))
        bad = (got.values[:n] != want.values[:n]).any(axis=1) | (got.cycles[:n] != want.cycles[:n])
        if bad.any():
            i = int(np.argmax(bad))
            lanes = np.flatnonzero(got.values[i] != want.values[i])
            info = {"beat": i, "got_cycle": int(got.cycles[i]), "want_cycle": int(want.cycles[i])}
            if lanes.size:
                j = int(lanes[0])
                info.update(what="value", lane=j, got=int(got.values[i, j]), want=int(want.values[i, j]))
            else:
                j = 0
                info.update(what="cycle", lane=None, got=int(got.cycles[i]), want=int(want.cycles[i]))
            info.update(want.where(i, j) if want.where else {})
            raise Mismatch(info)
        if got.beats != len(want.cycles):
            if got.beats < len(want.cycles):
                note = f"beat {got.beats} was due in cycle {int(want.cycles[got.beats])}"
            else:
                note = f"extra beat in cycle {int(got.cycles[n])}" if len(got.cycles) > n else "extra beats"
            raise Mismatch({"what": "o beats", "got": got.beats, "want": len(want.cycles), "note": note})

    def check_counters(self, got: np.ndarray | None, want: np.ndarray | None, names) -> None:
        if got is None or want is None:
            return
        want = np.asarray(want) & 0xFFFF_FFFF  # 32-bit wrapping counters
        bad = np.argwhere(got != want)
        if bad.size:
            r, c, j = (int(x) for x in bad[0])
            raise Mismatch({"what": f"counter {names[j]} of PE ({r}, {c})",
                            "got": int(got[r, c, j]), "want": int(want[r, c, j])})


class ArrayTB:
    """Drivers, monitor, model and scoreboard around the harness ``dut``.

    Parameters
    ----------
    dut : cocotb handle of the harness.
    spec : HarnessSpec
    model : object with ``expect(streams, patterns) -> Expected`` and ``counter_shape``/``counter_names``.
    """

    def __init__(self, dut, spec: HarnessSpec, model, workdir: str | Path = "."):
        self.dut, self.spec, self.model = dut, spec, model
        self.workdir = Path(workdir)
        self.drivers = {p.name: StreamDriver(dut, p, self.workdir) for p in spec.inputs}
        self.monitor = OutputMonitor(dut, spec, self.workdir)
        self.scoreboard = Scoreboard()
        self.mutation: dict | None = None  # see Expected.mutated: make the checks fail on purpose
        self.totals = {"runs": 0, "cycles": 0, "beats": 0, "sim_seconds": 0.0, "model_seconds": 0.0,
                       "check_seconds": 0.0}

    async def start(self) -> None:
        """Hold the DUT in reset (the harness makes its own clock)."""
        self.dut.rst.value = 1
        self.dut.load.value = 0
        self.dut.dump.value = 0

    def _write_cfg(self, counts: dict, patterns: StreamPatterns, max_cycles: int, snap_cycle: int) -> None:
        vals = {"stall_len": patterns.stall.size, "max_cycles": max_cycles, "snap_cycle": snap_cycle}
        for s in self.drivers:
            vals[f"{s}_count"], vals[f"{s}_len"] = counts[s], patterns.idle[s].size
        write_hex(self.workdir / "cfg.hex", np.array([vals[k] for k in self.spec.cfg_names], np.int64), 64)

    async def _simulate(self, max_cycles: int) -> None:
        from cocotb.triggers import FallingEdge, RisingEdge

        d = self.dut
        d.rst.value = 1
        await RisingEdge(d.clk)
        d.load.value = 1
        await RisingEdge(d.clk)  # every .hex file is read at this edge
        d.load.value = 0
        await RisingEdge(d.clk)
        d.rst.value = 0  # cycle 0 starts at this edge
        await RisingEdge(d.done)
        d.dump.value = 1
        await RisingEdge(d.clk)  # o.hex is written at this edge
        d.dump.value = 0
        await FallingEdge(d.clk)

    async def run(self, stimulus, patterns: StreamPatterns, expected: Expected | None = None):
        """Replay ``stimulus`` under ``patterns`` and check every output; return ``(figures, capture)``.

        ``stimulus`` is what the model takes; its ``payloads()`` (or the object itself, a dict)
        gives ``{stream: beats}`` for the drivers. ``expected`` defaults to
        ``model.expect(stimulus, patterns)``. Raises :class:`Mismatch` on the first difference.
        """
        t0 = time.perf_counter()
        if expected is None:
            expected = self.model.expect(stimulus, patterns)
        if self.mutation:
            expected = expected.mutated(**self.mutation)
        t1 = time.perf_counter()
        beats = stimulus.payloads() if hasattr(stimulus, "payloads") else stimulus
        counts = {s: drv.send(beats.get(s, []), patterns.idle[s]) for s, drv in self.drivers.items()}
        self.monitor.stall(patterns.stall)
        max_cycles = int(expected.end) + TAIL
        self._write_cfg(counts, patterns, max_cycles, int(expected.end))
        t2 = time.perf_counter()
        await self._simulate(max_cycles)
        t3 = time.perf_counter()
        got = self.monitor.collect()
        self.scoreboard.check(got, expected)
        for s, drv in self.drivers.items():
            if drv.sent() != drv.count:
                raise Mismatch({"what": f"{s} beats taken", "got": drv.sent(), "want": drv.count,
                                "note": "the DUT left input beats unread"})
        self.scoreboard.check_counters(self.monitor.counters(getattr(self.model, "counter_shape", None)),
                                       expected.counters, getattr(self.model, "counter_names", ()))
        t4 = time.perf_counter()
        stats = {"cycles": int(got.cycles[-1]) + 1 if len(got.cycles) else 0, "simulated": max_cycles + 3,
                 "beats": int(got.beats), "sim_seconds": t3 - t2}
        tot = self.totals
        tot["runs"] += 1
        tot["cycles"] += stats["simulated"]
        tot["beats"] += stats["beats"]
        tot["sim_seconds"] += t3 - t2
        tot["model_seconds"] += t1 - t0
        tot["check_seconds"] += (t2 - t1) + (t4 - t3)
        return stats, got


def _resolve(dotted: str):
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


@cocotb.test()
async def array_job(dut):
    """Run the job named by ``AXMAC_ARRAY_JOB``; write its result to ``AXMAC_ARRAY_RESULT``."""
    job = pickle.loads(Path(os.environ["AXMAC_ARRAY_JOB"]).read_bytes())
    out = Path(os.environ["AXMAC_ARRAY_RESULT"])
    spec = HarnessSpec.from_json(Path("harness.json").read_text())
    model = _resolve(job["model"])(**job.get("model_args", {}))
    tb = ArrayTB(dut, spec, model)
    tb.mutation = job.get("mutation")
    await tb.start()
    t0 = time.perf_counter()
    result = {"matched": False}
    try:
        result.update(await _resolve(job["body"])(tb, **job.get("args", {})))
        result["matched"] = True
    except Mismatch as e:
        result["mismatch"] = e.info
        raise
    except Exception as e:
        result["error"] = f"{type(e).__name__}: {e}"
        raise
    finally:
        result["totals"] = dict(tb.totals, wall_seconds=time.perf_counter() - t0)
        out.write_text(json.dumps(result, default=_json_default))


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)
