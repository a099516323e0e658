"""cocotb testbench of the processing element (hw/pe.py) against the golden PE (golden/pe.py).

The design under test is a harness (built by ``tests/test_pe.py``) that registers the shared
inputs ``w_in, w_load, a_in, valid_in, psum_in`` once (as the neighbouring PEs of an array would)
and feeds them to ``K`` PEs ``pe0 .. pe{K-1}`` that differ only in their bypass cases and gating
mode; PE ``i``'s outputs are the harness ports ``psum_out_i, mul_ctrl_i, add_ctrl_i, a_out_i,
valid_out_i, w_out_i``. One Verilator build thus checks many configurations.

Parameters come from the JSON file named by ``AXMAC_PE_PARAMS``::

    {"spec": "exact", "bits": 8, "signed": true, "acc_bits": 32, "latency": 2, "slots": 1500,
     "seed": 1, "load_first": true,
     "pes": [{"bypass": "zero,one", "gating": "enable", "isolation": "hold"}, ...]}

Structure (cocotb's examples/matrix_multiplier): :class:`PETB` wires a driver (one slot per
cycle, written at the falling edge), a monitor (samples every output and the probes
``pe{i}.mult.a/b`` at the falling edge), the model (:func:`axmac.golden.pe.pe_stream`) and an
in-order scoreboard comparing every cycle. The test body only makes stimulus
(:func:`axmac.sim.stimulus.pe_stimulus`): activations rich in 0 and +-1, partial sums rich in 0
and in opposites of the slot's product, weight loads of 0, +-1, extremes and random values
(sometimes in the same cycle as a valid activation), and random idle cycles. With
``"load_first": false`` slot 0 loads no weight: the first slots meet the weight the PE holds
after reset (0), so its reset state and reset weight flags are checked too.

``isolation``: ``"hold"`` asserts that in every slot that does not need the multiplier (a MUL
case bypassed, or idle) and loads no weight, the multiplier's inputs keep their previous values,
and that in the other slots they carry the slot's operands; ``"change"`` asserts that they do
change in some such slots (gating ``none``: the check above is not vacuous).
"""

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, NextTimeStep, ReadOnly

from axmac.golden.bypass import Bypass
from axmac.golden.multipliers import make_multiplier
from axmac.golden.pe import MUL_USED, pe_stream
from axmac.sim.stimulus import pe_stimulus

OUTPUTS = ("psum_out", "mul_ctrl", "add_ctrl", "a_out", "valid_out", "w_out")


class PETB:
    """Driver, monitor, golden model and in-order scoreboard for the PE harness."""

    def __init__(self, dut, params: dict):
        self.dut = dut
        self.p = params
        self.mult = make_multiplier(params["spec"], params["bits"], params["signed"])
        self.bypasses = [Bypass.parse(pe["bypass"]) for pe in params["pes"]]
        self.acc_bits = params["acc_bits"]
        self.latency = params["latency"]
        self.pes = [getattr(dut, f"pe{i}") for i in range(len(self.bypasses))]
        self.samples: list[dict[str, int]] = []
        self.toggles: list[tuple[str, str, float, float]] = []  # gating, bypass, input bit flips/slot, mult use
        self.signed_outputs = {"psum_out", "a_out", "w_out"} if params["signed"] else {"psum_out"}

    async def reset(self):
        d = self.dut
        for name in ("w_in", "w_load", "a_in", "valid_in", "psum_in"):
            getattr(d, name).value = 0
        d.rst.value = 1
        for _ in range(2):
            await FallingEdge(d.clk)
        d.rst.value = 0

    def _drive(self, stim, k):
        d = self.dut
        d.w_in.value = int(stim["w_in"][k])
        d.w_load.value = int(stim["w_load"][k])
        d.a_in.value = int(stim["a"][k])
        d.valid_in.value = int(stim["valid"][k])
        d.psum_in.value = int(stim["psum"][k])

    def _sample(self):
        d = self.dut
        s = {}
        for i, pe in enumerate(self.pes):
            for name in OUTPUTS:
                v = getattr(d, f"{name}_{i}").value
                s[f"{name}_{i}"] = v.to_signed() if name in self.signed_outputs else int(v)
            s[f"ma_{i}"] = int(pe.mult.a.value)
            s[f"mb_{i}"] = int(pe.mult.b.value)
        return s

    async def run(self, stim):
        """Drive every slot (then ``latency`` idle cycles to flush), sampling before each write.

        ``samples[k]`` is taken at the falling edge at which slot ``k`` is then written, so slot
        ``k``'s outputs are in ``samples[k + latency]``.
        """
        d = self.dut
        n = len(stim["a"])
        for k in range(n + self.latency):
            await FallingEdge(d.clk)
            await ReadOnly()
            self.samples.append(self._sample())
            await NextTimeStep()  # leave the read-only phase before writing
            if k < n:
                self._drive(stim, k)
            else:
                d.valid_in.value = 0
                d.w_load.value = 0

    def model(self, stim, i: int) -> dict[str, np.ndarray]:
        out, mc, ac = pe_stream(self.mult, self.bypasses[i], stim["w_eff"], stim["a"], stim["psum"],
                                acc_bits=self.acc_bits, valid_seq=stim["valid"])
        return {"psum_out": out, "mul_ctrl": mc, "add_ctrl": ac, "a_out": stim["a"],
                "valid_out": stim["valid"].astype(np.int64), "w_out": stim["w_eff"]}

    def scoreboard(self, stim):
        """In order: sample ``k + latency`` holds slot ``k``'s outputs."""
        n = len(stim["a"])
        got = self.samples[self.latency: self.latency + n]
        assert len(got) == n, (len(got), n)
        for i, bp in enumerate(self.bypasses):
            want = self.model(stim, i)
            for name in OUTPUTS:
                g = np.array([s[f"{name}_{i}"] for s in got], dtype=np.int64)
                bad = np.flatnonzero(g != want[name])
                assert bad.size == 0, (
                    f"PE {i} (bypass {bp}): {name} differs in {bad.size} of {n} slots; first at slot {bad[0]}: "
                    f"got {g[bad[0]]}, want {want[name][bad[0]]}; inputs a={stim['a'][bad[0]]} "
                    f"w={stim['w_eff'][bad[0]]} psum={stim['psum'][bad[0]]} valid={stim['valid'][bad[0]]}")

    def check_isolation(self, stim):
        """Multiplier inputs hold in slots that do not need the multiplier (see the module docstring)."""
        n = len(stim["a"])
        fmt_mask = self.mult.fmt.mask
        got = self.samples[self.latency - 1: self.latency + n]  # got[k + 1]: slot k; got[k]: the cycle before
        for i, bp in enumerate(self.bypasses):
            mode = self.p["pes"][i]["isolation"]
            ma = np.array([s[f"ma_{i}"] for s in got], dtype=np.int64)
            mb = np.array([s[f"mb_{i}"] for s in got], dtype=np.int64)
            _, mc, _ = pe_stream(self.mult, bp, stim["w_eff"], stim["a"], stim["psum"], acc_bits=self.acc_bits,
                                 valid_seq=stim["valid"])
            used = stim["valid"] & (mc == MUL_USED)
            idle_mul = ~used & ~stim["w_load"]
            changed = (ma[1:] != ma[:-1]) | (mb[1:] != mb[:-1])
            flips = np.bitwise_count((ma[1:] ^ ma[:-1]) | ((mb[1:] ^ mb[:-1]) << self.mult.bits)).sum()
            self.toggles.append((self.p["pes"][i]["gating"], str(bp), flips / n, used.mean()))
            if mode == "hold":
                assert idle_mul.sum() > 20, f"PE {i}: too few bypassed slots ({idle_mul.sum()}) to check isolation"
                bad = np.flatnonzero(idle_mul & changed)
                assert bad.size == 0, f"PE {i} (bypass {bp}): multiplier inputs changed in bypassed slot {bad[0]}"
                ok_a = ma[1:][used] == (stim["a"][used] & fmt_mask)
                ok_b = mb[1:][used] == (stim["w_eff"][used] & fmt_mask)
                assert ok_a.all() and ok_b.all(), f"PE {i}: multiplier operands wrong in a slot that uses it"
            elif mode == "change":  # gating none: the check above would fail
                assert (idle_mul & changed).any(), f"PE {i}: multiplier inputs never changed in a bypassed slot"


@cocotb.test()
async def pe_vs_golden(dut):
    params = json.loads(open(os.environ["AXMAC_PE_PARAMS"]).read())
    tb = PETB(dut, params)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await tb.reset()
    rng = np.random.default_rng(params.get("seed", 0))
    stim = pe_stimulus(rng, tb.mult, params["slots"], params["acc_bits"], load_first=params.get("load_first", True))
    await tb.run(stim)
    tb.scoreboard(stim)
    tb.check_isolation(stim)
    for gating, bp, flips, use in tb.toggles:
        cocotb.log.info("gating %-6s bypass %-30s multiplier input bit flips per slot %.3f, multiplier used in "
                        "%.1f %% of slots", gating, bp, flips, 100 * use)
