"""Area by module, FPGA Fmax and switching-activity energy of the generated array (``axmac synth`` / ``axmac energy``).

Figures of the issue "Area, Fmax and switching-activity energy" (sections 1, 2 and 6), all through the
libraries of the two commands (cached by design hash: a rerun prints at once):

1. **Area by module** (:func:`axmac.gen.array_synth.synth_array`) of the ``R x R`` array (default 8x8,
   weight-stationary, signed 8-bit, 32-bit accumulators, ``D = 256``, activity counters, the
   bias-only output stage ``acc``: the requantizing stage is measured once on its own, below) for the
   exact multiplier, approximate ones (DRUM-4, DRUM-6, Mitch-w 4) and bypass/gating options:
   generic (Yosys gates, flip-flops, transistors) and OSU018 (um^2); iCE40 HX8K at 4x4 (LUTs, Fmax);
   ECP5-25k at ``R x R`` with and without DSP blocks (LUTs, DSPs, Fmax). The requantizing output
   stage of ``R`` columns alone, generic and OSU018.
2. **Energy** (:func:`axmac.gen.array_energy.measure_array`) of LeNet-5 on MNIST per MAC and per
   inference, with the sampling error, for the array without bypass and gating, each bypass case,
   all of them and each gating mode, beside Ma & Jiao's Eq. 1 and the thesis's Eq. 4.1.
3. **Time per PE sample**: a PE measurement on cached builds (simulation, toggle count, energy)
   divided by its segments.

    .venv/bin/python bench/bench_array_synth_energy.py [--rows R] [--quick] [--skip-synth] [--skip-energy]
        [--energy-rows R] [--energy-depth D] [--images N] [--samples S] [--runs T] [--json]

A cold run takes hours on this project's 2-core machines (each 8x8 mapping minutes to an hour, the
requantizing stage's ABC most; each design's gate-level simulation build minutes).
"""

from __future__ import annotations

import argparse
import json
import time

from axmac.config import ArrayConfig
from axmac.gen.tables import format_table, jsonable

#: (multiplier, bypass, gating) of the area sweep
AREA = [("exact", "none", "none"), ("drum:4", "none", "none"), ("drum:6", "none", "none"),
        ("mitchw:4", "none", "none"), ("exact", "all", "none"), ("exact", "none", "enable"),
        ("exact", "all", "icg")]


def _base(rows: int, **kw) -> ArrayConfig:
    return ArrayConfig(rows=rows, cols=rows, output_stage="acc", **kw)


def area_rows(rows: int, quick: bool) -> list[dict]:
    from axmac.gen.array_synth import synth_array

    out = []
    sweep = AREA[:1] + AREA[4:5] if quick else AREA
    for target in ("generic", "osu018"):
        for mult, bp, gt in sweep:
            r = synth_array(_base(rows, multiplier=mult, bypass=bp, gating=gt), target)
            key = "transistors" if target == "generic" else None
            g = {k: (v[key] if key else v) for k, v in r["groups"].items()}
            total = sum(g.values())
            pe = sum(v for k, v in g.items() if k in r["per_pe"])
            out.append({"target": target, "array": f"{rows}x{rows}", "multiplier": mult, "bypass": bp, "gating": gt,
                        "total": total, "pes": pe, "multiplier_part": g.get("multiplier", 0),
                        "bypass_part": g.get("mul bypass", 0) + g.get("add bypass", 0),
                        "buffers": g.get("accumulator buffer", 0) + g.get("output fifo", 0),
                        "pe_overhead_pct": r["pe"].get("overhead_pct"), "groups": g, "seconds": r["seconds"]})
    return out


def stage_rows(rows: int) -> list[dict]:
    """The requantizing output stage of ``rows`` columns alone (its four-input Booth multipliers dominate)."""
    from axmac.gen.asic import map_component
    from axmac.gen.synth import synth_component
    from axmac.gen.techlib import find_techlib
    from axmac.hw.output_stage import OutputStage

    cfg = ArrayConfig(rows=rows, cols=rows)
    t0 = time.perf_counter()
    g = synth_component(OutputStage(config=cfg), "stage", target="generic", registered=False, timeout=6 * 3600)
    t1 = time.perf_counter()
    m = map_component(OutputStage(config=cfg), "stage", find_techlib(), timeout=6 * 3600)
    return [{"what": f"requant output stage, {rows} columns", "gates": g["gates"], "dff": g["dff"],
             "transistors": g["transistors"], "area_um2": m.area, "generic_s": t1 - t0,
             "osu018_s": time.perf_counter() - t1}]


def fpga_rows(rows: int, quick: bool) -> list[dict]:
    from axmac.gen.array_synth import synth_array

    out = []
    specs = ("exact",) if quick else ("exact", "drum:6", "mitchw:4")
    for mult in specs:
        for bp in ("none", "all"):
            r = synth_array(_base(4, multiplier=mult, bypass=bp), "ice40", pe=False)["figures"]
            out.append({"target": "ice40", "array": "4x4", "multiplier": mult, "bypass": bp, "lut4": r["lut4"],
                        "carry": r["carry"], "dff": r["dff"], "ram": r["ram"], "dsp": "", "fmax_mhz": r["fmax_mhz"],
                        "note": r.get("note", "")})
    for mult in specs:
        for dsp in (True, False):
            r = synth_array(_base(rows, multiplier=mult), "ecp5", dsp=dsp, pe=False)["figures"]
            out.append({"target": "ecp5" + ("" if dsp else " -nodsp"), "array": f"{rows}x{rows}", "multiplier": mult,
                        "bypass": "none", "lut4": r["lut4"], "carry": r["carry"], "dff": r["dff"], "ram": r["ram"],
                        "dsp": r["dsp"], "fmax_mhz": r["fmax_mhz"], "note": r.get("note", "")})
    return out


def energy_report(rows: int, depth: int, images: int, samples: int, runs: int, compare: str) -> dict:
    from axmac.gen.array_energy import load_workload, measure_array, variants_for

    cfg = ArrayConfig(rows=rows, cols=rows, acc_depth=depth, output_stage="acc")
    ops, cycles = load_workload(cfg, images=images)
    return measure_array(cfg, ops, cycles, images=images, samples_per_layer=samples, runs_per_layer=runs,
                         variants=variants_for(cfg, compare), progress=lambda s: print(f"  [{s}]", flush=True))


def pe_sample_time(rows: int, images: int, samples: int) -> dict:
    """A PE measurement on cached builds: seconds per segment (simulation, toggle count, energy)."""
    from axmac.gen.pe_energy import PEDesign, measure_pe
    from axmac.gen.pe_workload import lenet_operands, sample_segments

    cfg = ArrayConfig(rows=rows, cols=rows)
    design = PEDesign(kind="ws")
    segs = sample_segments(lenet_operands(images), cfg, samples, mult=design.model, seed=3)
    measure_pe(design, segs[:4])  # build (cached after the first run)
    t0 = time.perf_counter()
    m = measure_pe(design, segs)
    s = time.perf_counter() - t0
    return {"segments": len(segs), "cycles": int(m.cycles.sum()), "seconds": s, "seconds_per_segment": s / len(segs),
            "cycles_per_second": float(m.cycles.sum() / s)}


def _print_energy(doc: dict) -> None:
    c = doc["config"]
    print(f"== energy: LeNet-5, {doc['images']} image(s), {c['rows']}x{c['cols']} ws, D={c['acc_depth']}, "
          f"{doc['samples_per_layer']} PE segments and {doc['runs_per_layer']} runs per layer")
    rows = []
    for d in doc["designs"]:
        a = d.get("analytic") or {}
        rows.append([d["bypass"], d["gating"], f"{d['pe_area_cost_pct']:+.1f}", f"{d['pe']['pj_per_slot']:.2f}",
                     f"{d['inference_pj'] / 1e6:.2f} +- {d['stderr_pj'] / 1e6:.2f}", f"{d['pj_per_mac']:.1f}",
                     f"{100 * d['rest_share']:.0f}", f"{d['pe_saving_pct']:+.1f}", f"{d['saving_pct']:+.1f}",
                     *(f"{100 * a[k]:.1f}" if k in a else "-" for k in ("eq1", "eq1_paper_energies", "eq41"))])
    print(format_table(["bypass", "gating", "PE area %", "PE pJ/slot", "uJ/inference", "pJ/MAC", "rest %",
                        "PE saving %", "saving %", "Eq.1 %", "Eq.1 FP32 %", "Eq.4.1 %"], rows, left=2))
    rest = doc["designs"][0]["rest"]["pj_per_cycle_by_group"]
    print("rest of the array, pJ per cycle: " + ", ".join(f"{k} {v:.1f}" for k, v in rest.items() if v > 0.05))
    for d in doc["designs"][1:2]:
        for n in d["explanation"]:
            print(f"  {n}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=8, help="array side of the area sweep (default 8)")
    ap.add_argument("--quick", action="store_true", help="fewer designs, no requantizing stage")
    ap.add_argument("--skip-synth", action="store_true")
    ap.add_argument("--skip-fpga", action="store_true")
    ap.add_argument("--skip-energy", action="store_true")
    ap.add_argument("--energy-rows", type=int, default=8)
    ap.add_argument("--energy-depth", type=int, default=256)
    ap.add_argument("--images", type=int, default=1)
    ap.add_argument("--samples", type=int, default=8, help="PE segments per layer (default 8)")
    ap.add_argument("--runs", type=int, default=2, help="array runs per layer (default 2)")
    ap.add_argument("--compare", default="all", choices=("none", "bypass", "gating", "all"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    out = {}
    if not args.skip_synth:
        out["area"] = area_rows(args.rows, args.quick)
        if not args.quick:
            out["stage"] = stage_rows(args.rows)
    if not args.skip_fpga:
        out["fpga"] = fpga_rows(args.rows, args.quick)
    if not args.skip_energy:
        out["pe_sample_time"] = pe_sample_time(args.energy_rows, args.images, args.samples)
        out["energy"] = energy_report(args.energy_rows, args.energy_depth, args.images, args.samples, args.runs,
                                      args.compare)
    if args.json:
        print(json.dumps(jsonable(out), indent=1))
        return
    if "area" in out:
        print("== area (generic: transistors; osu018: um^2); output stage 'acc'")
        print(format_table(["target", "array", "multiplier", "bypass", "gating", "total", "PEs", "multipliers",
                            "bypass units", "buffers", "PE overhead %"],
                           [[r["target"], r["array"], r["multiplier"], r["bypass"], r["gating"], f"{r['total']:.0f}",
                             f"{r['pes']:.0f}", f"{r['multiplier_part']:.0f}", f"{r['bypass_part']:.0f}",
                             f"{r['buffers']:.0f}", "-" if r["pe_overhead_pct"] is None else
                             f"{r['pe_overhead_pct']:+.1f}"] for r in out["area"]], left=2))
    for r in out.get("stage", []):
        print(f"{r['what']}: {r['gates']} gates + {r['dff']} FF, {r['transistors']} transistors; {r['area_um2']:.0f} "
              f"um^2 ({r['generic_s']:.0f} s + {r['osu018_s']:.0f} s)")
    if "fpga" in out:
        print("\n== FPGA (the array in the two-pin serial wrapper; output stage 'acc')")
        print(format_table(["target", "array", "multiplier", "bypass", "LUT4", "carry", "FF", "RAM", "DSP", "Fmax MHz",
                            "note"], [[r["target"], r["array"], r["multiplier"], r["bypass"], str(r["lut4"]),
                                       str(r["carry"]), str(r["dff"]), str(r["ram"]), str(r["dsp"]),
                                       "-" if r["fmax_mhz"] is None else f"{r['fmax_mhz']:.1f}", r["note"][:60]]
                                      for r in out["fpga"]], left=2))
    if "energy" in out:
        t = out["pe_sample_time"]
        print(f"\n== time per PE sample: {t['seconds_per_segment']:.3f} s ({t['segments']} LeNet segments, "
              f"{t['cycles']} cycles in {t['seconds']:.1f} s: {t['cycles_per_second']:.0f} cycles/s, cached build)")
        _print_energy(out["energy"])
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
