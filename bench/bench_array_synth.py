"""Area and speed of the systolic array: Yosys generic cells per PE and per array, iCE40 LUTs and Fmax.

Figures (issue "The systolic array", section 6), all int8 signed, exact multiplier, 32-bit
accumulators, through gen/synth.py (Yosys 0.70 ``synth -flatten`` + ``abc -g
AND,NAND,OR,NOR,XOR,XNOR,MUX``; ``synth_ice40`` + ``nextpnr-ice40 --hx8k --package ct256``):

* **per PE**: the weight-stationary PE (hw/pe_ws.py: shadow + active weight) and the
  output-stationary PE (hw/pe_os.py: accumulator, hold, drain) alone, without and with every
  bypass case and each gating mode;
* **per array**: the mesh (hw/mesh.py, R x C PEs, no counters) at 4x4 and 8x8, the whole
  accelerator (hw/top.py) at 4x4 with the accumulator-pass output stage (``acc_depth`` 16:
  generic synthesis maps memories to flip-flops, so the buffer's and FIFO's bits are in
  ``dff``), and the requantizing output stage (hw/output_stage.py) of 4 columns alone;
* **iCE40**: the 4x4 accelerator (``output_stage = "acc"``, ``acc_depth`` 256 in block RAM)
  and the 4x4 mesh inside :class:`axmac.hw.synth_wrapper.SerialWrapper` (two pins: a serial-in
  shift register drives every input, every output is XOR-reduced into one flip-flop). The
  wrapper's own cost is one flip-flop per input bit (printed) and an XOR tree of about one LUT4
  per three output bits. The requantizing output stage (four 33x31-bit multipliers) does not fit
  an hx8k next to the mesh;
* **ECP5** (``--ecp5``): the 8x8 accelerator (accumulator-pass stage) in the same wrapper on an
  LFE5U-25F (``synth_ecp5 -nodsp``: its 28 DSP blocks cannot hold 64 multipliers).

Results are cached (build/synth_cache). A cold run took 40 minutes on a loaded 2-core machine,
most of it ABC on the requantizing output stage (four 33x31-bit multipliers and 66-bit shifters:
about 29,600 gates, twice the rest of a 4x4 accelerator).

    .venv/bin/python bench/bench_array_synth.py [--quick] [--no-ice40] [--ecp5] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

from axmac.config import ArrayConfig
from axmac.gen.synth import synth_component
from axmac.golden.bypass import Bypass
from axmac.golden.multipliers import make_multiplier
from axmac.hw.mesh import Mesh
from axmac.hw.output_stage import OutputStage
from axmac.hw.pe_os import OutputStationaryPE
from axmac.hw.pe_ws import WeightStationaryPE
from axmac.hw.synth_wrapper import SerialWrapper
from axmac.hw.top import Accelerator

VARIANTS = [("none", "none"), ("all", "none"), ("all", "enable"), ("all", "icg")]


def pe_rows() -> list[dict]:
    mult = make_multiplier("exact", 8, True)
    rows = []
    for cls, df in ((WeightStationaryPE, "ws"), (OutputStationaryPE, "os")):
        for bypass, gating in VARIANTS:
            pe = cls(multiplier=mult, acc_bits=32, bypass=Bypass.parse(bypass), gating=gating)
            r = synth_component(pe, "pe", target="generic", registered=False)
            rows.append({"what": f"PE {df}", "bypass": bypass, "gating": gating, "gates": r["gates"], "dff": r["dff"]})
    return rows


def array_rows(quick: bool) -> list[dict]:
    rows = []
    sizes = (4,) if quick else (4, 8)
    for n in sizes:
        for bypass, gating in (VARIANTS[0], VARIANTS[2]):
            cfg = ArrayConfig(rows=n, cols=n, counters="none", bypass=bypass, gating=gating)
            r = synth_component(Mesh(config=cfg), "mesh", target="generic", registered=False, timeout=3600)
            rows.append({"what": f"mesh {n}x{n} ws", "bypass": bypass, "gating": gating, "gates": r["gates"],
                         "dff": r["dff"], "per_pe": round(r["gates"] / n / n)})
    cfg = ArrayConfig(rows=4, cols=4, counters="none", acc_depth=16, output_stage="acc")
    r = synth_component(Accelerator(config=cfg), "top", target="generic", registered=False, timeout=3600)
    rows.append({"what": "top 4x4 ws (D=16, F=20, acc stage)", "bypass": "none", "gating": "none",
                 "gates": r["gates"], "dff": r["dff"]})
    r = synth_component(OutputStage(config=cfg.replace(output_stage="requant")), "stage", target="generic",
                        registered=False, timeout=3600)
    rows.append({"what": "requant output stage, 4 columns", "bypass": "", "gating": "", "gates": r["gates"],
                 "dff": r["dff"]})
    return rows


def ice40_rows() -> list[dict]:
    rows = []
    for name, inner in (
        ("top 4x4 ws (D=256, acc stage)", Accelerator(config=ArrayConfig(rows=4, cols=4, counters="none",
                                                                          output_stage="acc"))),
        ("mesh 4x4 ws", Mesh(config=ArrayConfig(rows=4, cols=4, counters="none"))),
    ):
        wrapped = SerialWrapper(inner)
        r = synth_component(wrapped, "top", target="ice40", registered=False, timeout=3600)
        rows.append({"what": name, "lut4": r["lut4"], "carry": r["carry"], "dff": r["dff"], "ram": r["ram"],
                     "lc": r["lc"], "fmax_mhz": r["fmax_mhz"], "wrapper_ffs": wrapped.in_bits + 1,
                     "xor_bits": wrapped.out_bits})
    return rows


def ecp5_rows() -> list[dict]:
    """The 8x8 accelerator (accumulator-pass stage) on an LFE5U-25F, multipliers in LUTs (64 PEs
    need more multipliers than its 28 DSP blocks)."""
    inner = Accelerator(config=ArrayConfig(rows=8, cols=8, counters="none", output_stage="acc"))
    wrapped = SerialWrapper(inner)
    r = synth_component(wrapped, "top", target="ecp5", registered=False, timeout=7200, dsp=False)
    return [{"what": "top 8x8 ws (D=256, acc stage, no DSP)", "lut4": r["lut4"], "carry": r["carry"], "dff": r["dff"],
             "ram": r["ram"], "slices": r.get("slices"), "fmax_mhz": r["fmax_mhz"], "wrapper_ffs": wrapped.in_bits + 1,
             "xor_bits": wrapped.out_bits, "note": r.get("note", "")}]


def table(rows: list[dict]) -> str:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    data = [[str(r.get(k, "")) if not isinstance(r.get(k), float) else f"{r[k]:.1f}" for k in keys] for r in rows]
    widths = [max(len(k), *(len(d[i]) for d in data)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(d, widths, strict=True)) for d in data]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="PEs and the 4x4 arrays only")
    ap.add_argument("--no-ice40", action="store_true", help="skip iCE40 place and route")
    ap.add_argument("--ecp5", action="store_true", help="also the 8x8 accelerator on ECP5 (slow)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    t0 = time.perf_counter()
    out = {"generic_pe": pe_rows(), "generic_array": array_rows(args.quick)}
    if not args.no_ice40:
        out["ice40"] = ice40_rows()
    if args.ecp5:
        out["ecp5"] = ecp5_rows()
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for title, rows in out.items():
            print(f"== {title}\n{table(rows)}\n")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
