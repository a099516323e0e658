"""gen/flow.py, gen/flow_stages.py, gen/cmd_flow.py: ``axmac flow`` end to end on a tiny configuration.

The fast tests run every stage for real on the bundled digits CNN and a 2x2 array, except two,
whose real versions are tested elsewhere:

* the PE hardware model (Yosys mapping and gate-level simulation, tens of seconds per design) is
  :class:`FlowStub`, an analytic stand-in with the real one's groups (tests/test_explore_gate.py
  runs the real model through the exploration);
* the co-simulation of the RTL (a Verilator build per array configuration) is :func:`stub_verify`,
  which answers what the RTL must (the golden engine's predictions, the cycle model's cycles;
  tests/test_cmd_verify.py and tests/test_array_cosim.py run the real one);
* the synthesis of the whole array (minutes per target) and its gate-level energy are
  :func:`stub_synth_array` and :func:`stub_measure_array`, which record what they were asked
  (tests/test_array_synth.py and tests/test_array_energy.py run the real ones).

Every figure of the report is checked against a computation made here by other means (the
emulation library, the golden engine's statistics, the schedule, the Pareto definition, Ma & Jiao's
equations by hand). The slow test runs the real default flow (LeNet-5 on MNIST) and opens the page
in headless Chromium.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from axmac.config import ArrayConfig, normalize_bypass
from axmac.gen import explore_cache, explore_hw, flow_stages
from axmac.gen.cli import main
from axmac.gen.datasets import default_model, load_dataset
from axmac.gen.explore_cache import Cache
from axmac.gen.flow import STAGES, FlowConfig, choose, realizable, run_flow

CFG = ArrayConfig(rows=2, cols=2, acc_depth=64)
FAST = ["--rows", "2", "--cols", "2", "--acc-depth", "64", "--limit", "60", "--images", "3",
        "--multipliers", "exact,drum:4,mitchell", "--energy-images", "1", "--energy-samples", "4", "--jobs", "1",
        "--array-energy"]
#: pJ per PE-cycle of the stub's multiplier group, by multiplier
K = {"exact": 1.0, "drum:4": 0.6, "mitchell": 0.5}


@dataclass(frozen=True)
class FlowStub:
    """Area and energy by the real model's groups; bypass adds its detectors and skips multiplications."""

    def version(self):
        return "flow-stub-1"

    def describe(self):
        return {"method": "stub", "library": "none", "not_counted": ["everything"]}

    def area(self, design):
        out = {"multiplier": 3000.0 * K[design.multiplier], "pe logic": 1000.0, "pe registers": 500.0}
        if design.bypass != "none":
            out.update({"mul bypass": 150.0, "add bypass": 100.0})
        return out

    def measure(self, design, segments):
        k, byp = K[design.multiplier], design.bypass != "none"
        rows = []
        for s in segments:
            busy = float(np.count_nonzero(s.a)) * (s.w != 0) if byp else float(len(s.a))
            rows.append([k * busy + 0.1 * s.cycles, 0.5 * len(s.a) + 0.1 * s.cycles,
                         0.05 * len(s.a) if byp else 0.0, 0.03 * len(s.a) if byp else 0.0])
        return ["multiplier", "pe logic", "mul bypass", "add bypass"], np.array(rows)


def stub_verify(cfg, model, *, dataset="mnist", images=1, input_shapes=None, progress=None, **kw):
    """What the RTL answers when it matches: golden's predictions, the cycle model's cycles."""
    from axmac.gen.verify import load_network
    from axmac.golden.bypass import Bypass
    from axmac.golden.engine import run_network
    from axmac.onnx_import.schedule import make_schedule

    net, inputs, labels = load_network(model, cfg, dataset, images, input_shapes)
    out, _ = run_network(net, inputs, multiplier=cfg.multiplier, bypass=Bypass.parse(cfg.bypass), stats=False)
    pred = np.asarray(out[net.outputs[0].name]).reshape(images, -1).argmax(1)
    sched = make_schedule(net, cfg, batch=images, summary=True)
    layers = [{"name": la["name"], "cycles": la["cycles"], "macs": la["macs"], "utilization": la["utilization"],
               "runs": 1} for la in sched["layers"]]
    t = sched["totals"]
    acc = float((pred == labels).mean())
    return {"matched": True, "cycles": t["cycles"], "macs": t["macs"], "utilization": t["utilization"],
            "simulated_cycles": t["cycles"], "sim_seconds": 0.01, "cycles_per_second": 1.0, "images": images,
            "accuracy": acc, "golden_accuracy": acc, "agreement": 1.0, "layers": layers}


def stub_run_job(build, job, *, progress=None, **kw):
    """The co-simulation job of a network without labels (gen/flow_stages.py calls it directly), as the
    simulator answers when the RTL matches: the cycle model's cycles per layer."""
    from axmac.onnx_import.schedule import make_schedule

    args = job["args"]
    cfg = ArrayConfig.from_dict(args["config"])
    n = len(next(iter(args["inputs"].values())))
    sched = make_schedule(args["net"], cfg, batch=n, summary=True)
    layers = [{"name": la["name"], "cycles": la["cycles"], "macs": la["macs"], "utilization": la["utilization"],
               "runs": 1} for la in sched["layers"]]
    return {"matched": True, "layers": layers, "agreement": 1.0,
            "totals": {"runs": len(layers), "cycles": sched["totals"]["cycles"], "sim_seconds": 0.01,
                       "model_seconds": 0.01, "check_seconds": 0.01, "wall_seconds": 0.03}}


SYNTH_CALLS: list = []
ENERGY_CALLS: list = []


def stub_synth_array(cfg, target="generic", *, pe=True, **kw):
    """Figures of the shape :func:`axmac.gen.array_synth.synth_array` returns, from the configuration."""
    SYNTH_CALLS.append((cfg, target))
    n = cfg.rows * cfg.cols
    if target == "osu018":
        groups = {"multiplier": 3000.0 * n, "pe registers": 500.0 * n, "accumulator buffer": 40.0 * cfg.acc_depth}
        fig = {"library": "osu018", "area_um2": sum(groups.values()), "sequential_um2": 900.0 * n, "cells": 70 * n}
    elif target == "generic":
        groups = {"multiplier": {"gates": 300 * n, "dff": 0, "transistors": 1800 * n}}
        fig = {"gates": 420 * n, "dff": 80 * n, "transistors": 2600 * n, "work_dir": "/nowhere"}
    else:
        groups, fig = None, {"lut4": 200 * n, "lc": 240 * n, "dff": 80 * n, "fmax_mhz": 61.5}
    return {"format": "axmac-synth/1", "target": target, "config": cfg.to_dict(), "figures": fig, "groups": groups,
            "notes": [f"stub {target}"], "seconds": 0.5}


def stub_measure_array(cfg, operands, layer_cycles, *, images, samples_per_layer=8, seed=0, variants=None, **kw):
    """Energies of the shape :func:`axmac.gen.array_energy.measure_array` returns: 1 pJ per PE-cycle of each
    layer's cycles (0.5 with bypass), the rest 10 pJ per array cycle."""
    ENERGY_CALLS.append((cfg, images, dict(layer_cycles), list(variants)))
    designs = []
    for bypass, gating in variants:
        k = 0.5 if bypass != "none" else 1.0
        layers = []
        for op in operands:
            macs = int(op.x.shape[0] * op.x.shape[1] * op.x.shape[2] * op.w.shape[2]) // images
            pe, rest = k * cfg.pes * layer_cycles[op.name] / images, 10.0 * layer_cycles[op.name] / images
            layers.append({"name": op.name, "macs": macs, "pe_busy_pj": pe, "pe_idle_pj": 0.0, "rest_pj": rest,
                           "energy_pj": pe + rest, "stderr_pj": 0.01 * pe, "pj_per_mac": (pe + rest) / macs})
        total = sum(la["energy_pj"] for la in layers)
        designs.append({"bypass": bypass, "gating": gating, "inference_pj": total, "stderr_pj": 0.01 * total,
                        "pj_per_mac": total / sum(la["macs"] for la in layers),
                        "rest_share": sum(la["rest_pj"] for la in layers) / total, "saving_pct": 0.0,
                        "pe_saving_pct": 0.0, "layers": layers, "explanation": ["stub"]})
    return {"format": "axmac-energy/1", "images": images, "samples_per_layer": samples_per_layer, "runs_per_layer": 2,
            "library": "osu018", "period_ns": 10.0, "designs": designs}


def install_stubs(monkeypatch, root: Path) -> None:
    """The stand-ins of the module docstring, and every cache under ``root/build``."""
    import axmac.gen.array_energy
    import axmac.gen.array_synth
    import axmac.gen.verify
    import axmac.paths
    import axmac.sim.cosim

    build = root / "build"
    monkeypatch.setattr(explore_hw, "GateLevelHardware", FlowStub)
    monkeypatch.setattr(axmac.gen.verify, "verify_model", stub_verify)
    monkeypatch.setattr(axmac.sim.cosim, "run_job", stub_run_job)
    monkeypatch.setattr(axmac.sim.cosim, "array_build", lambda cfg: None)
    monkeypatch.setattr(axmac.gen.array_synth, "synth_array", stub_synth_array)
    monkeypatch.setattr(axmac.gen.array_energy, "measure_array", stub_measure_array)
    monkeypatch.setattr(explore_cache, "build_dir", lambda *p: build.joinpath(*p))
    monkeypatch.setattr(axmac.paths, "build_dir", lambda *p: build.joinpath(*p))


@pytest.fixture
def stubbed(monkeypatch, tmp_path):
    install_stubs(monkeypatch, tmp_path)
    return tmp_path


def flow_run(tmp_path: Path, *extra: str) -> tuple[int, dict, Path]:
    out = tmp_path / "report"
    rc = main(["flow", "--dataset", "digits", *FAST, "--out-dir", str(out), *extra])
    return rc, json.loads((out / "report.json").read_text()), out


def test_flow_end_to_end_prints_the_design_and_writes_the_report(stubbed, capsys):
    rc, doc, out = flow_run(stubbed)
    printed = capsys.readouterr()
    assert rc == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["report.json", "report.md", "index.html", "rtl", *(f["file"] for f in doc["figures"])])
    assert {f["file"] for f in doc["figures"]} == {"accuracy_energy.png", "accuracy_area.png", "area_energy.png",
                                                   "sensitivity.png", "trivial_breakdown.png", "area_breakdown.png",
                                                   "array_area.png"}
    assert sorted(p.name for p in (out / "rtl").iterdir()) == sorted(doc["rtl"]["files"])
    d = doc["design"]
    for text in (f"chosen design: {d['label']}", doc["choice"]["rule"], "co-simulation: matched",
                 f"report: {out}/index.html"):
        assert text in printed.out
    # one line per stage start and end on stderr (the synthesis one per target), nothing of it on stdout
    assert printed.err.count("axmac flow [") == 2 * (len(STAGES) + 2) and "axmac flow [" not in printed.out
    html = (out / "index.html").read_text()
    md = (out / "report.md").read_text()
    for f in doc["figures"]:
        assert f'<img src="{f["file"]}"' in html and f"]({f['file']})" in md


def test_rerun_is_cached_and_replaces_the_report_whole(stubbed, capsys):
    flow_run(stubbed)
    before = json.loads((stubbed / "report" / "report.json").read_text())
    rc, doc, out = flow_run(stubbed)
    assert rc == 0
    cached = {s["stage"]: s["cached"] for s in doc["timing"]["stages"]}
    assert cached == {"quantize": True, "emulate": True, "multipliers": True, "explore": True, "choose": False,
                      "generate": True, "cosim": True, "synth generic": True, "synth ice40": True,
                      "synth osu018": True, "energy": True}
    assert doc["exploration"]["points"] == before["exploration"]["points"] and doc["design"] == before["design"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".report")]  # no staging folders left


def test_a_failed_report_leaves_the_old_one_untouched(stubbed, monkeypatch, capsys):
    from axmac.gen import report_figures

    flow_run(stubbed)
    out = stubbed / "report"
    files = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def broken(doc):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(report_figures, "figures", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        main(["flow", "--dataset", "digits", *FAST, "--out-dir", str(out), "--max-loss", "1"])
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == files
    assert not [p for p in stubbed.iterdir() if p.name.startswith(".report")]


def test_report_figures_equal_the_underlying_computations(stubbed, capsys):
    from axmac.gen.emulation import emulate
    from axmac.gen.pareto import pareto_front
    from axmac.golden.bypass import Bypass
    from axmac.onnx_import.quantize import QuantConfig

    _, doc, _ = flow_run(stubbed)
    q = QuantConfig(bits=8)
    # the exact integer model and its trivial-computation statistics, chains of R products
    res, rep = emulate(None, "digits", limit=60, quant=q, k_tile=CFG.rows, ort_ref=False)
    assert doc["accuracy"]["exact"] == res["accuracy"] and doc["accuracy"]["samples"] == 60
    assert doc["accuracy"]["stderr"] == pytest.approx(math.sqrt(res["accuracy"] * (1 - res["accuracy"]) / 60))
    assert [la["fractions"] for la in doc["trivial"]["layers"]] == [la.stats.fractions() for la in rep.layers]
    # the chosen design's accuracy, by the emulation library with its multiplier and bypass
    d = doc["design"]
    res_d, _ = emulate(None, "digits", multiplier=d["config"]["multiplier"], bypass=Bypass.parse(d["config"]["bypass"]),
                       limit=60, quant=q, stats=False, ort_ref=False)
    assert d["accuracy"] == res_d["accuracy"]
    # every uniform point's accuracy likewise
    for p in doc["exploration"]["points"]:
        if realizable(p, CFG):
            spec = next(iter(p["multipliers"].values()))
            byp = p["bypass"] if spec != "exact" else "none"
            r, _ = emulate(None, "digits", multiplier=spec, bypass=Bypass.parse(byp), limit=60, quant=q, stats=False,
                           ort_ref=False)
            assert p["accuracy"] == r["accuracy"], p["label"]
    # the front by the definition, over the points with hardware figures
    rows = doc["exploration"]["points"]
    idx = pareto_front([[r["energy_pj"], r["area_um2"], r["accuracy"]] for r in rows], ["min", "min", "max"],
                       [r["key"] for r in rows])
    assert doc["exploration"]["front"] == [rows[i]["id"] for i in idx]
    # the rule, by hand: lowest energy among uniform points within 0.5 pp of the exact model
    ref = doc["accuracy"]["exact"]
    ok = [p for p in rows if realizable(p, CFG) and p["accuracy"] >= ref - 0.005 - 1e-12]
    assert d["point"] == min(ok, key=lambda p: (p["energy_pj"], p["area_um2"], p["key"]))["id"]
    assert d["energy_pj"] == sum(la["energy_pj"] for la in d["layers"])
    assert d["area_um2"] == pytest.approx(CFG.pes * sum(d["pe_area_um2"].values()))
    # cycles: the schedule's, and what the RTL (here its stand-in) counted
    assert d["cycles"] == sum(la["cycles"] for la in doc["model"]["layers"]) == d["cycles_rtl"]


def test_the_chosen_array_is_synthesised_and_measured(stubbed, capsys):
    from axmac.onnx_import.schedule import make_schedule

    SYNTH_CALLS.clear()
    ENERGY_CALLS.clear()
    _, doc, _ = flow_run(stubbed)
    printed = capsys.readouterr().out
    chosen = ArrayConfig.from_dict(doc["design"]["config"])
    assert SYNTH_CALLS == [(chosen, t) for t in ("generic", "osu018", "ice40")]  # the longest first
    assert list(doc["synthesis"]) == ["generic", "ice40", "osu018"]  # reported in --targets order
    syn = doc["synthesis"]
    assert syn["osu018"]["figures"]["area_um2"] == doc["design"]["array_area_um2"]
    assert syn["ice40"]["figures"]["fmax_mhz"] == doc["design"]["fmax_mhz"] == 61.5
    assert "work_dir" not in syn["generic"]["figures"] and syn["generic"]["notes"] == ["stub generic"]
    # the energy: the chosen array and the same without bypass and gating, on the energy images' cycles
    ((cfg, images, cycles, variants),) = ENERGY_CALLS
    assert cfg == chosen and images == 1
    assert variants == list(dict.fromkeys([("none", "none"), (chosen.bypass, chosen.gating)]))
    net = flow_stages.network(flow_stages.resolve_data(None, "digits", None, 60), chosen)
    assert cycles == {la["name"]: la["cycles"] for la in make_schedule(net, chosen, batch=1, summary=True)["layers"]}
    e = doc["energy"]["designs"][-1]
    assert doc["design"]["array_energy_pj"] == e["inference_pj"] == pytest.approx(sum(la["energy_pj"]
                                                                                      for la in e["layers"]))
    assert "whole array:" in printed and "synthesis: generic" in printed and "Fmax 61.5 MHz" in printed
    # skipped on request: one line each, nothing in the report
    rc = main(["flow", "--dataset", "digits", *[a for a in FAST if a != "--array-energy"], "--out-dir",
               str(stubbed / "r2"), "--targets", "none"])
    err = capsys.readouterr().err
    assert rc == 0 and "synth: skipped (--targets none)" in err and "energy: skipped (no --array-energy)" in err
    doc2 = json.loads((stubbed / "r2" / "report.json").read_text())
    assert doc2["synthesis"] is None and doc2["energy"] is None and "array_area.png" not in str(doc2["figures"])


def test_bypass_breakdown_is_ma_and_jiao_eq2_with_the_measured_energies(stubbed, capsys):
    from axmac.gen.power_models import MA_JIAO_TABLE_II_MNIST, MA_JIAO_TABLE_V

    _, doc, _ = flow_run(stubbed)
    bd = doc["bypass_breakdown"]
    pts = {p["id"]: p for p in doc["exploration"]["points"]}
    none, full = pts[bd["points"]["none"]], pts[bd["points"]["all"]]
    assert none["bypass"] == "none" and full["bypass"] == normalize_bypass("all")

    def per_slot(p, group):
        return sum(la["pj_per_slot_by_group"].get(group, 0.0) * la["slots"] for la in p["layers"]) / \
            sum(la["slots"] for la in p["layers"])

    em, ea = per_slot(none, "multiplier"), per_slot(none, "pe logic")
    eb = {"MUL": per_slot(full, "mul bypass"), "ADD": per_slot(full, "add bypass")}
    assert eb["MUL"] > 0 and eb["ADD"] > 0
    f = doc["trivial"]["total"]["fractions"]
    for c in bd["cases"]:
        e_full = em if c["op"] == "MUL" else ea
        assert c["fraction"] == f[c["name"]]
        assert c["saving"] == pytest.approx(f[c["name"]] * (e_full - eb[c["op"]]) / (em + ea))
    # the paper's own numbers: Eq. 2 of case (a) on MNIST is 10.37 %, Eq. 1 33.5 % (their Sec. IV-B)
    a = next(c for c in bd["cases"] if c["case"] == "a")
    assert a["paper_fraction"] == MA_JIAO_TABLE_II_MNIST["zero"]
    assert a["paper_saving"] == pytest.approx(0.1037, abs=5e-4) and bd["paper_eq1"] == pytest.approx(0.335, abs=1e-3)
    assert bd["measured_saving"] == pytest.approx(1 - full["energy_pj"] / none["energy_pj"])
    assert MA_JIAO_TABLE_V["mul"] > 0


def test_flow_without_a_dataset_reports_no_accuracy(stubbed, capsys):
    x, _, _ = load_dataset("digits")
    np.savez(stubbed / "in.npz", x[:6])
    out = stubbed / "report"
    fast = [a for a in FAST if a not in ("--limit", "60")]
    rc = main(["flow", str(default_model("digits")), "--inputs", str(stubbed / "in.npz"), *fast,
               "--out-dir", str(out)])
    printed = capsys.readouterr().out
    doc = json.loads((out / "report.json").read_text())
    assert rc == 0
    assert doc["accuracy"] is None and doc["sensitivity"] is None and not doc["data"]["labelled"]
    assert doc["exploration"]["objectives"] == {"area_um2": "min", "energy_pj": "min"}
    assert {f["file"] for f in doc["figures"]} == {"area_energy.png", "trivial_breakdown.png", "area_breakdown.png",
                                                   "array_area.png"}
    assert doc["choice"]["rule"].startswith("no labels") and doc["design"]["config"]["multiplier"] == "exact"
    assert doc["design"]["accuracy"] is None and "  accuracy" not in printed
    assert doc["trivial"]["total"]["macs"] == 6 * doc["model"]["macs"]
    assert doc["cosim"]["matched"]


def test_the_rule_without_accuracy_picks_exact_arithmetic_and_needs_exact():
    def point(i, spec, bypass, energy, acc=None):
        return {"id": f"p{i}", "key": f"k{i}", "label": spec, "multipliers": {"l": spec}, "bits": {"l": 8},
                "bypass": bypass, "gating": "none", "energy_pj": energy, "area_um2": 1.0, "accuracy": acc}

    pts = [point(0, "exact", "none", 10.0), point(1, "exact", "zero,one", 8.0), point(2, "drum:4", "none", 5.0)]
    doc = {"points": pts, "objectives": {"energy_pj": "min"}, "front": ["p1", "p2"]}
    c = choose(doc, ArrayConfig(), 0.5)
    assert c["point"] == "p1" and c["candidates"] == ["p0", "p1"] and c["config"]["bypass"] == "zero,one"
    labelled = {"points": [point(0, "exact", "none", 10.0, 0.9), point(2, "drum:4", "none", 5.0, 0.896),
                           point(3, "mitchell", "none", 4.0, 0.894)], "objectives": {"accuracy": "max"}, "front": []}
    c = choose(labelled, ArrayConfig(), 0.5)
    assert c["point"] == "p2" and c["threshold"] == pytest.approx(0.895)
    assert choose(labelled, ArrayConfig(), 1.0)["point"] == "p3"


def bad_cases(d: Path) -> dict:
    junk = d / "junk.onnx"
    junk.write_bytes(b"not an onnx file")
    (d / "notes").mkdir()
    (d / "notes" / "keep.txt").write_text("mine")
    np.savez(d / "in.npz", load_dataset("digits")[0][:2])
    digits = str(default_model("digits"))
    return {
        "unknown multiplier": (["--multipliers", "exact,nope:3"], "--multipliers nope:3"),
        "no exact multiplier": (["--multipliers", "drum:4"], "must include exact"),
        "output-stationary": (["--dataflow", "os"], "weight-stationary"),
        "malformed model": ([str(junk)], "cannot read ONNX model"),
        "missing model": ([str(d / "absent.onnx")], "no such file"),
        "dataset and inputs": ([digits, "--dataset", "digits", "--inputs", str(d / "in.npz")], "not both"),
        "model without data": ([digits, "--dataset", str(d / "none.npz")], "none.npz"),
        "limit beyond the dataset": (["--limit", "100000"], "--limit 100000"),
        "max loss": (["--max-loss", "-1"], "--max-loss"),
        "zero images": (["--images", "0"], "--images"),
        "unknown bypass case": (["--bypass-set", "sometimes"], "--bypass-set"),
        "out-dir is somebody's folder": (["--out-dir", str(d / "notes")], "not an axmac report"),
        "out-dir is a file": (["--out-dir", str(junk)], "is a file"),
        "impossible array": (["--acc-bits", "8"], "acc_bits"),
        "unknown target": (["--targets", "generic,asic7"], "--targets asic7"),
    }


BAD = ("unknown multiplier", "no exact multiplier", "output-stationary", "malformed model", "missing model",
       "dataset and inputs", "model without data", "limit beyond the dataset", "max loss", "zero images",
       "unknown bypass case", "out-dir is somebody's folder", "out-dir is a file", "impossible array",
       "unknown target")


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_exit_2_and_nothing_written(stubbed, capsys, case):
    cases = bad_cases(stubbed)
    assert set(cases) == set(BAD)
    args, needle = cases[case]
    out = ["--out-dir", str(stubbed / "report")] if "--out-dir" not in args else []
    lead = [] if args and args[0].endswith(".onnx") else ["--dataset", "digits"]
    rc = main(["flow", *lead, *args, *out])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("axmac flow [")]
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("axmac: error: ") and needle in lines[0], err
    assert not (stubbed / "report").exists()
    assert (stubbed / "notes" / "keep.txt").read_text() == "mine"


def test_library_call_with_a_config(stubbed):
    fc = FlowConfig(dataset="digits", limit=40, rtl_images=2, array=CFG, multipliers=("exact", "drum:4"),
                    bypasses=("none",), energy_images=1, energy_samples=4, jobs=1, out_dir=stubbed / "lib",
                    targets=(), array_energy=False)
    log = stubbed / "log.txt"
    with log.open("w") as f:
        doc, written = run_flow(fc, log=f, cache=Cache(stubbed / "flowcache"))
    assert written[0].name == "report.json" and all(p.exists() for p in written)
    assert doc["bypass_breakdown"] is None  # no bypass set explored: no Fig. 7
    assert doc["synthesis"] is None and doc["energy"] is None and doc["design"]["array_energy_pj"] is None
    assert "trivial_breakdown.png" in {f["file"] for f in doc["figures"]}
    assert log.read_text().count("\n") == 2 * len(STAGES) - 2  # synth and energy: one line each, skipped


def test_independent_stages_run_at_once_in_other_processes_and_are_cached(tmp_path):
    import io
    import os

    from axmac.gen.flow_runner import Job, Stages

    names, log = ("cosim", "synth", "energy"), io.StringIO()
    st = Stages(Cache(tmp_path / "c"), names, {}, log)
    jobs = [Job("cosim", "cosim", [1], os.getpid), Job("synth a", "synth", ["a"], os.getpid),
            Job("synth b", "synth", ["b"], os.getpid, describe=lambda pid: f"pid {pid}")]
    first = st.run_many(jobs, 2)
    assert set(first) == {"cosim", "synth a", "synth b"} and os.getpid() not in first.values()
    assert log.getvalue().count("\n") == 6 and "synth b: pid" in log.getvalue()
    again = Stages(Cache(tmp_path / "c"), names, {}, io.StringIO()).run_many(jobs, 2)
    assert again == first  # from the cache: no process ran them again
    bad = [Job("cosim", "cosim", [2], int, ("not a number",)), Job("energy", "energy", [2], os.getpid)]
    with pytest.raises(ValueError, match="invalid literal"):
        Stages(Cache(tmp_path / "c"), names, {}, io.StringIO()).run_many(bad, 2)


def chromium() -> str:
    path = "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.skip("headless Chromium is not installed (make chromium)")
    return path


def browse(html: Path, tmp: Path, *what: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                           "--no-first-run", "--disable-background-networking", "--disable-component-update",
                           "--disable-sync",
                           f"--user-data-dir={tmp / 'chromium-profile'}", *what, html.as_uri()],
                          capture_output=True, text=True, timeout=180, check=True)


def check_page(out: Path, doc: dict, tmp: Path) -> None:
    """The page's DOM lists every figure decoded at its PNG size, and a screenshot of it is not blank."""
    import re

    from PIL import Image

    dom = browse(out / "index.html", tmp, "--dump-dom").stdout
    imgs = dict(re.findall(r'<img src="([^"]+)"[^>]*data-natural="(\d+x\d+)"', dom))
    assert set(imgs) == {f["file"] for f in doc["figures"]}
    for name, size in imgs.items():
        assert size != "0x0", f"{name} was not decoded"
        with Image.open(out / name) as im:
            assert size == f"{im.width}x{im.height}" and im.width > 300 and im.height > 300
    assert doc["design"]["label"] in dom and "Pareto front" in dom
    shot = tmp / "page.png"
    browse(out / "index.html", tmp, f"--screenshot={shot}", "--window-size=1200,4000")
    with Image.open(shot) as im:
        px = np.asarray(im.convert("RGB"), dtype=float)
    assert px.shape[:2] == (4000, 1200)
    ink = (px.sum(axis=2) < 600).mean()  # not white
    colour = (px.max(axis=2) - px.min(axis=2) > 60).mean()  # the plots' coloured markers and bars
    assert ink > 0.01 and colour > 0.001, (ink, colour)


@pytest.mark.slow
def test_default_flow_and_its_page_in_headless_chromium(tmp_path):
    """The real flow (LeNet-5 on MNIST, every stage for real; cold: minutes), then its page in Chromium."""
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "axmac", "flow", "--out-dir", str(out)], capture_output=True,
                          text=True, timeout=3600, cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads((out / "report.json").read_text())
    assert "chosen design:" in proc.stdout and doc["cosim"]["matched"]
    assert doc["model"]["name"] == "lenet5_mnist" and len(doc["exploration"]["points"]) >= 12
    check_page(out, doc, tmp_path)
