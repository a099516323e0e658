"""sim/stream.py, sim/harness.py, sim/array_tb.py, sim/cosim.py on a stand-in DUT.

The stand-in has the array's stream ports (``cmd, w, a, qp -> o``, ``counters``) and a behaviour
simple enough to model cycle by cycle in a few lines of Python: every ``a`` beat comes out of ``o``
after a pipeline of ``LATENCY`` registers and a FIFO, ``a.ready`` is a credit check on what is in
flight (as the array's controller does), ``cmd``/``w``/``qp`` are taken on a fixed ready pattern
and summed into the counters. It checks the harness's replay (idle patterns, pending beats held,
stall patterns, the cycle of every captured beat) against the docs/array.md "Test streams" rules
as written in :class:`StandInModel`, independently of the real array.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Cat, Module, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from axmac.config import ArrayConfig
from axmac.golden.array_payload import stream_layouts
from axmac.paths import BUILD_ROOT
from axmac.sim import harness
from axmac.sim.array_tb import Expected
from axmac.sim.cosim import CosimError, prepare, run_job, source_digest
from axmac.sim.harness import spec_for
from axmac.sim.stream import INPUTS, StreamPatterns, from_words, pack_words, read_hex, to_words, write_hex

LANES_IN, BITS, LANES_OUT, ACC = 2, 8, 3, 20
LATENCY, CREDITS = 2, 4
WIDTHS = {"cmd": 19, "w": LANES_OUT * BITS, "a": LANES_IN * BITS, "qp": 70}


def ready_pattern(stream_name: str, tick: int) -> bool:
    """The stand-in's own readiness on cmd/w/qp (a free-running counter)."""
    return {"cmd": tick % 2 == 1, "w": tick % 4 != 0, "qp": True}[stream_name]


class StandIn(wiring.Component):
    """``a`` -> ``LATENCY`` registers -> FIFO -> ``o`` (lane j = signed a lane j % LANES_IN, plus j)."""

    def __init__(self, *, bug: bool = False):
        self.bug = bug
        sig = {s: In(stream.Signature(unsigned(WIDTHS[s]))) for s in INPUTS}
        sig["o"] = Out(stream.Signature(unsigned(LANES_OUT * ACC)))
        sig["counters"] = Out(4 * 32)
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        tick = Signal(8)
        m.d.sync += tick.eq(tick + 1)
        m.d.comb += [self.cmd.ready.eq(tick[0]), self.w.ready.eq(tick[:2] != 0), self.qp.ready.eq(1)]
        sums = [Signal(32, name=f"sum_{s}") for s in ("cmd", "w", "qp")]
        for s, acc in zip(("cmd", "w", "qp"), sums, strict=True):
            port = getattr(self, s)
            with m.If(port.valid & port.ready):
                m.d.sync += acc.eq(acc + port.payload)
        n_a = Signal(32)
        m.d.comb += self.counters.eq(Cat(*sums, n_a))

        occ = Signal(range(CREDITS + 1))
        take = self.a.valid & self.a.ready
        give = self.o.valid & self.o.ready
        m.d.comb += self.a.ready.eq(occ < (CREDITS + 1 if self.bug else CREDITS))
        m.d.sync += occ.eq(occ + take - give)
        with m.If(take):
            m.d.sync += n_a.eq(n_a + 1)
        lanes = [self.a.payload[BITS * (j % LANES_IN):][:BITS].as_signed() + j for j in range(LANES_OUT)]
        m.submodules.fifo = fifo = SyncFIFO(width=LANES_OUT * ACC, depth=CREDITS)
        lane_sigs = [Signal(signed(ACC), name=f"lane{j}") for j in range(LANES_OUT)]
        m.d.comb += [s.eq(ln) for s, ln in zip(lane_sigs, lanes, strict=True)]
        data, valid = Cat(*lane_sigs), take
        for k in range(LATENCY):
            d_k, v_k = Signal(len(data), name=f"pipe{k}"), Signal(name=f"pipe{k}_valid")
            m.d.sync += [d_k.eq(data), v_k.eq(valid)]
            data, valid = d_k, v_k
        m.d.comb += [fifo.w_data.eq(data), fifo.w_en.eq(valid),
                     self.o.valid.eq(fifo.r_rdy), self.o.payload.eq(fifo.r_data), fifo.r_en.eq(self.o.ready)]
        return m


class StandInModel:
    """The stand-in, cycle by cycle, under docs/array.md's driver and monitor rules."""

    counter_shape = (1, 1, 4)
    counter_names = ("sum cmd", "sum w", "sum qp", "a beats")

    def expect(self, streams, patterns: StreamPatterns) -> Expected:
        beats = {s: list(streams.get(s, [])) for s in INPUTS}
        idx = dict.fromkeys(INPUTS, 0)
        pend = dict.fromkeys(INPUTS, False)
        sums = dict.fromkeys(("cmd", "w", "qp"), 0)
        occ, fifo, out = 0, [], []
        t = 0
        while any(idx[s] < len(beats[s]) for s in INPUTS) or fifo:
            valid = {s: idx[s] < len(beats[s]) and (pend[s] or not patterns.idle_at(s, t)) for s in INPUTS}
            ready = {s: ready_pattern(s, t % 256) for s in ("cmd", "w", "qp")}
            ready["a"] = occ < CREDITS
            if fifo and fifo[0][0] <= t and patterns.ready_at(t):
                out.append((t, fifo.pop(0)[1]))
                occ -= 1
            for s in INPUTS:
                if valid[s] and ready[s]:
                    if s == "a":
                        occ += 1
                        fifo.append((t + LATENCY + 1, beats[s][idx[s]]))
                    else:
                        sums[s] = (sums[s] + beats[s][idx[s]]) & 0xFFFFFFFF
                    idx[s] += 1
                pend[s] = valid[s] and not ready[s]
            t += 1
        cycles = np.array([c for c, _ in out], np.int64)
        values = np.array([[self.lane(b, j) for j in range(LANES_OUT)] for _, b in out], np.int64).reshape(-1, 3)
        counters = np.array([sums["cmd"], sums["w"], sums["qp"], len(beats["a"])], np.int64).reshape(1, 1, 4)
        return Expected(cycles, values, t, counters,
                        where=lambda i, j: {"element": f"a beat {i} lane {j}"})

    @staticmethod
    def lane(beat: int, j: int) -> int:
        v = (beat >> (BITS * (j % LANES_IN))) & 0xFF
        return (v - 256 if v >= 128 else v) + j


async def standin_body(tb, *, seed: int, n: int, idle: float, stall: float, runs: int = 1):
    """Random beats on every stream, ``runs`` times with fresh patterns (one simulator process)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(runs):
        streams = {s: [int(x) for x in rng.integers(0, 1 << WIDTHS[s], n, dtype=np.uint64)]
                   if WIDTHS[s] < 64 else [int(rng.integers(0, 1 << 62)) << 8 for _ in range(n)] for s in INPUTS}
        pats = StreamPatterns.keep_up() if idle == stall == 0 else StreamPatterns.random(rng, idle=idle, stall=stall)
        stats, _ = await tb.run(streams, pats)
        out.append(stats)
    return {"runs": out}


def standin(bug: bool = False):
    def make():
        dut = StandIn(bug=bug)
        return dut, spec_for(dut, dut="standin", lanes=LANES_OUT, lane_bits=ACC)

    stamp = source_digest(extra=(__file__, harness.__file__))
    return prepare(BUILD_ROOT / "cosim" / f"standin{'_bug' if bug else ''}", stamp, make)


@pytest.fixture(scope="module")
def standin_build():
    return standin()


def job(**args):
    mutation = args.pop("mutation", None)
    return {"body": f"{__name__}:standin_body", "args": args, "model": f"{__name__}:StandInModel",
            "mutation": mutation}


def test_hex_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    for bits in (1, 7, 64, 70, 200):
        beats = [int(rng.integers(0, 1 << min(bits, 62))) << max(0, bits - 62) for _ in range(50)]
        write_hex(tmp_path / "x.hex", beats, bits)
        text = (tmp_path / "x.hex").read_text().split()
        assert all(len(line) == -(-bits // 4) for line in text)
        assert [int(line, 16) for line in text] == beats
        words = to_words(beats, bits)
        assert from_words(words) == beats
        pad = -(-bits // 64) * 16
        (tmp_path / "y.hex").write_text("// dump\n" + "\n".join(f"{b:0{pad}x}" for b in beats) + "\n")
        assert from_words(read_hex(tmp_path / "y.hex", -(-bits // 64))) == beats


@pytest.mark.parametrize("cfg", [ArrayConfig(rows=3, cols=5, bits=4, signed=False, acc_bits=9),
                                 ArrayConfig(rows=16, cols=2, bits=12, acc_bits=64)])
def test_pack_words_is_layout_pack(cfg):
    """The testbench's vectorised packing gives golden's bits (golden/array_payload.py)."""
    rng = np.random.default_rng(2)
    for name, lay in stream_layouts(cfg).items():
        values = {}
        for f in lay.leaves:
            lo, hi = (-(1 << (f.width - 1)), 1 << (f.width - 1)) if f.signed else (0, 1 << f.width)
            v = rng.integers(max(lo, -(1 << 62)), min(hi, 1 << 62), (9, f.count))
            v[0], v[1] = max(lo, -(1 << 63)), min(hi, 1 << 63) - 1  # the extremes
            values[f.name] = v if f.count > 1 or f.stride else v[:, 0]
        assert from_words(pack_words(lay, values)) == lay.pack(values), name


def test_patterns():
    rng = np.random.default_rng(1)
    p = StreamPatterns.random(rng, idle=0.5, stall=0.5, length=40)
    assert not p.keeps_up and StreamPatterns.keep_up().keeps_up
    assert StreamPatterns.from_dict(p.to_dict()).to_dict() == p.to_dict()
    t = np.arange(200)
    assert (p.idle_at("a", t) == p.idle["a"][t % p.idle["a"].size]).all()
    with pytest.raises(ValueError, match="no input stream"):
        StreamPatterns({"x": [True]})


@pytest.mark.parametrize("idle, stall", [(0.0, 0.0), (0.4, 0.5), (0.8, 0.2), (0.1, 0.9)])
def test_standin_matches_model(standin_build, idle, stall):
    res = run_job(standin_build, job(seed=int(idle * 10 + stall * 100), n=300, idle=idle, stall=stall, runs=3))
    assert res["matched"], res
    assert res["totals"]["runs"] == 3 and all(r["beats"] == 300 for r in res["runs"])
    if idle == stall == 0:  # keeps up: a credit every cycle, one beat per cycle
        assert res["runs"][0]["cycles"] <= 300 + LATENCY + 4


@pytest.mark.parametrize("mutation", [{"kind": "value", "beat": 17, "lane": 2, "bit": 19},
                                      {"kind": "cycle", "beat": 299}])
def test_mutated_model_fails(standin_build, mutation):
    res = run_job(standin_build, job(seed=3, n=300, idle=0.3, stall=0.3, mutation=mutation))
    assert not res["matched"]
    mm = res["mismatch"]
    assert mm["what"] == mutation["kind"] and mm["beat"] == mutation["beat"], mm
    if mutation["kind"] == "value":
        assert mm["got"] ^ mm["want"] == 1 << 19 and mm["element"] == "a beat 17 lane 2"
    else:
        assert mm["want"] == mm["got"] + 1


def test_dut_bug_is_found():
    build = standin(bug=True)  # one credit too many: the FIFO fills, o beats come out late
    res = run_job(build, job(seed=4, n=200, idle=0.0, stall=0.7))
    assert not res["matched"] and res["mismatch"]["what"] in ("cycle", "value", "o beats"), res


def test_build_failure_is_one_line(tmp_path):
    """A design Verilator cannot compile: a CosimError of one line naming the log, not a traceback."""
    def make():
        dut = StandIn()
        dut.extra_verilog = {"broken.v": "module broken(input a;\nendmodule\n"}
        return dut, spec_for(dut, dut="standin", lanes=LANES_OUT, lane_bits=ACC)

    build = prepare(tmp_path / "broken", "stamp", make)
    with pytest.raises(CosimError) as e:
        run_job(build, job(seed=1, n=4, idle=0.0, stall=0.0))
    assert "\n" not in str(e.value) and "the simulator build failed" in str(e.value) and "sim.log" in str(e.value)
