"""Switching-activity energy in OSU 0.18 um: reference multiplier, PE measurement time, bypass cases on LeNet-5.

1. **Reference**: an 8x8 signed exact multiplier with registered inputs and output, 10 ns clock,
   4000 cycles, zero-delay (Verilator), on random operands and on operands of which 80 % of the
   activations ``a`` are 0 (``b`` random); plain, with operand isolation (the input registers hold
   while an operand is 0, a registered zero flag forces the product to 0) and clock-gated (the
   input registers behind the ICG of ``hw/clock_gate.py``). Figures measured earlier on this
   machine with another flow: 28.1 / 19.2 pJ per cycle plain, 29.6 / 11.6 isolated, 30.4 / 9.2
   clock-gated.
2. **Time** of a PE measurement: mapping, Verilator build (once per design, cached), simulation
   plus toggle count and energy of one sample of LeNet-5 segments.
3. **Bypass study** (:func:`axmac.gen.bypass_study.bypass_study`): area and energy per valid slot
   of the plain PE, each bypass case, all cases and each gating mode on real LeNet-5/MNIST data
   (``--images`` test images, ``--per-layer`` sampled segments per layer, 8x8 array), energy per
   inference with its sampling error, and Ma & Jiao's Eq. 1 / the thesis's Eq. 4.1.

Usage: ``python bench/bench_energy.py [--cycles N] [--images N] [--per-layer N] [--skip-study] [--json]``
(needs ``make osu018``; the first run builds about a dozen Verilator models: 10-15 minutes).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from amaranth.hdl import ClockDomain, Module, Mux, ResetSignal, Signal
from amaranth.lib import wiring

from axmac.config import ArrayConfig
from axmac.gen.activity import GateSim
from axmac.gen.asic import map_component
from axmac.gen.bypass_study import bypass_study
from axmac.gen.energy import EnergyModel
from axmac.gen.pe_energy import PEDesign, measure_pe
from axmac.gen.pe_workload import lenet_operands, sample_segments
from axmac.gen.tables import format_table
from axmac.gen.techlib import find_techlib
from axmac.golden.multipliers import make_multiplier
from axmac.hw.clock_gate import ICG_MODULE, ICG_VERILOG, ClockGate
from axmac.hw.multipliers import make_hw_multiplier


class RegisteredMultiplier(wiring.Component):
    """A multiplier between input and output registers; ``gating`` as in the module docstring."""

    def __init__(self, model, gating: str):
        self.mult = make_hw_multiplier(model)
        self.gating = gating
        self.extra_sources = list(self.mult.extra_sources)
        self.extra_verilog = {f"{ICG_MODULE}.v": ICG_VERILOG} if gating == "icg" else {}
        super().__init__(self.mult.signature)

    def elaborate(self, platform):
        m = Module()
        m.submodules.mult = mult = self.mult
        a_r, b_r = Signal(self.a.shape(), name="a_r"), Signal(self.b.shape(), name="b_r")
        zero = (self.a == 0) | (self.b == 0)
        z_r = Signal(name="z_r")
        m.d.comb += [mult.a.eq(a_r), mult.b.eq(b_r)]
        if self.gating == "none":
            m.d.sync += [a_r.eq(self.a), b_r.eq(self.b), self.p.eq(mult.p)]
            return m
        if self.gating == "enable":
            with m.If(~zero):
                m.d.sync += [a_r.eq(self.a), b_r.eq(self.b)]
        else:
            m.submodules.icg = icg = ClockGate()
            m.domains.gated = gated = ClockDomain("gated", local=True)
            m.d.comb += [icg.en.eq(~zero | ResetSignal()), gated.clk.eq(icg.gclk), gated.rst.eq(ResetSignal())]
            m.d.gated += [a_r.eq(self.a), b_r.eq(self.b)]
        m.d.sync += [z_r.eq(zero), self.p.eq(Mux(z_r, 0, mult.p))]
        return m


def reference(cycles: int, tech) -> list[dict]:
    model = make_multiplier("exact", 8, True)
    rng = np.random.default_rng(0)
    a, b = rng.integers(-128, 128, cycles), rng.integers(-128, 128, cycles)
    sparse = np.where(rng.random(cycles) < 0.8, 0, a)
    rows = []
    for gating in ("none", "enable", "icg"):
        mapped = map_component(RegisteredMultiplier(model, gating), "mul", tech)
        sim = GateSim(mapped).build()
        em = EnergyModel(sim.net, tech.library())
        for data, x in (("random", a), ("80% zero a", sparse)):
            st = {"rst": np.r_[1, 1, np.zeros(cycles, int)], "a": np.r_[0, 0, x], "b": np.r_[0, 0, b]}
            act = sim.run(st, [(4, cycles + 2)])
            e = em.energy(act.toggles, act.cycles)[0]
            got = np.array(act.outputs["p"][4:], dtype=np.int64)
            assert np.array_equal(np.where(got >= 1 << 15, got - (1 << 16), got), (x * b)[1:-1]), gating
            rows.append({"gating": gating, "data": data, "area_um2": mapped.area,
                         "pj_per_cycle": float(e.sum() / act.cycles[0]),
                         "by_group": dict(zip(em.groups, (e / act.cycles[0]).round(3).tolist(), strict=True))})
    return rows


def timing(images: int, per_layer: int, tech) -> dict:
    cfg = ArrayConfig()
    t = time.perf_counter()
    ops = lenet_operands(images)
    t_ops = time.perf_counter() - t
    design = PEDesign(bypass="zero", gating="icg")
    segs = sample_segments(ops, cfg, per_layer, mult=design.model, seed=1)
    t = time.perf_counter()
    first = measure_pe(design, segs, tech=tech)
    t_first = time.perf_counter() - t
    t = time.perf_counter()
    measure_pe(design, segs, tech=tech)
    t_again = time.perf_counter() - t
    return {"operands_s": t_ops, "segments": len(segs), "cycles": int(first.cycles.sum()),
            "first_measure_s": t_first, "cached_measure_s": t_again, "pj_per_slot": first.per_slot()}


def _print_study(s: dict) -> None:
    print(f"\nbypass cases on LeNet-5/MNIST ({s['images']} image(s), {s['per_layer']} segments per layer, "
          f"8x8 ws array): golden fractions zero {s['stats']['zero']:.3f}, one {s['stats']['one']:.3f}, "
          f"add-zero {s['stats']['add_zero']:.3f}, opposite {s['stats']['opposite']:.4f}")
    hdr = ["bypass", "gating", "area um2", "area +%", "pJ/slot", "saving %", "uJ/inference", "+-", "pJ/MAC",
           "mult", "bypass", "regs", "clock", "gclk duty"]
    rows = []
    for r in s["designs"]:
        g = r["pj_per_slot_by_group"]
        rows.append([r["bypass"], r["gating"], f"{r['area_um2']:.0f}", f"{r.get('area_cost_pct', 0):.1f}",
                     f"{r['pj_per_slot']:.2f}", f"{r.get('saving_pct', 0):.1f}", f"{r['inference_uj']:.2f}",
                     f"{r['stderr_uj']:.2f}", f"{r['pj_per_mac']:.1f}", f"{g.get('multiplier', 0):.2f}",
                     f"{g.get('mul bypass', 0) + g.get('add bypass', 0):.2f}", f"{g.get('pe registers', 0):.2f}",
                     f"{g.get('clock tree', 0):.2f}", "-" if r["gclk_duty"] is None else f"{r['gclk_duty']:.2f}"])
    print(format_table(hdr, rows, left=2))
    a = s.get("analytic")
    if a:
        print(f"\nall cases: p_m {a['p_mul']:.3f}, p_a {a['p_add']:.3f}; per-op energies (pJ/slot) "
              + ", ".join(f"{k} {v:.2f}" for k, v in a["energies_pj"].items()))
        print(f"Eq. 1 with this PE's energies {100 * a['eq1']:.1f} %, with Ma & Jiao's FP32 energies "
              f"{100 * a['eq1_paper_energies']:.1f} %; Eq. 4.1 {100 * a['eq41']:.1f} %; measured "
              + ", ".join(f"{k} {100 * v:.1f} %" for k, v in a["measured"].items()))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cycles", type=int, default=4000)
    p.add_argument("--images", type=int, default=1)
    p.add_argument("--per-layer", type=int, default=8)
    p.add_argument("--skip-study", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    tech = find_techlib()
    out = {"reference": reference(args.cycles, tech), "timing": timing(args.images, args.per_layer, tech)}
    if not args.skip_study:
        out["study"] = bypass_study(ArrayConfig(), images=args.images, per_layer=args.per_layer, tech=tech)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"8x8 signed multiplier, registered I/O, OSU018, {args.cycles} cycles of 10 ns, Verilator zero-delay")
    print(format_table(["gating", "data", "area um2", "pJ/cycle"],
                       [[r["gating"], r["data"], f"{r['area_um2']:.0f}", f"{r['pj_per_cycle']:.1f}"]
                        for r in out["reference"]], left=2))
    t = out["timing"]
    print(f"\nPE measurement ({t['segments']} LeNet segments, {t['cycles']} cycles): first "
          f"{t['first_measure_s']:.1f} s (mapping + Verilator build unless cached), then {t['cached_measure_s']:.1f} s "
          f"per sample (simulation, toggle count, energy); operands of {args.images} image(s): {t['operands_s']:.1f} s")
    if "study" in out:
        _print_study(out["study"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
