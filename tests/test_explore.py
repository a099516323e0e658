"""gen/explore*.py: the exploration end to end on the bundled digits CNN, with an analytic stand-in for the
gate-level hardware model (tests/test_explore_gate.py runs the real one, slow).

Checked against computations made here by other means: accuracies against ``emulate`` (the
``axmac emulate`` library), energies against the array's cycle model (a stub whose energy is a fixed
amount per PE-cycle must give that amount times every PE-cycle of the schedule), areas against the
stub's areas times ``R * C``, fronts against the definition of dominance, figures against the JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from axmac.config import ArrayConfig
from axmac.errors import AxmacError
from axmac.gen import explore_tasks
from axmac.gen.datasets import default_model, load_dataset
from axmac.gen.emulation import emulate
from axmac.gen.explore import explore, write_outputs
from axmac.gen.explore_cache import Cache
from axmac.gen.explore_report import figures
from axmac.gen.plots import artist_data
from axmac.onnx_import.quantize import QuantConfig

from .test_pareto import brute_front

CFG = ArrayConfig(rows=4, cols=4, acc_depth=64)
LIMIT = 200
#: pJ per PE-cycle of the stub, by multiplier
K = {"exact": 1.0, "drum:4": 0.6, "mitchell": 0.5, "trunc:2": 0.8}
AREA = {"exact": 3000.0, "drum:4": 2000.0, "mitchell": 1500.0, "trunc:2": 2500.0}
CALLS = {"area": 0, "measure": 0}


@dataclass(frozen=True)
class StubHardware:
    """Area by group from :data:`AREA`; energy ``K[spec]`` pJ per cycle (``data``: plus a term in the data)."""

    data: bool = False

    def version(self):
        return f"stub-{self.data}"

    def describe(self):
        return {"method": "stub", "not_counted": []}

    def area(self, design):
        CALLS["area"] += 1
        return {"multiplier": AREA[design.multiplier], "pe logic": 1000.0,
                "pe registers": 500.0 + (80.0 if design.gating != "none" else 0.0)}

    def measure(self, design, segments):
        CALLS["measure"] += 1
        k = K[design.multiplier]
        rows = []
        for s in segments:
            extra = 0.01 * k * float(np.count_nonzero(s.a)) * (s.w != 0) if self.data else 0.0
            rows.append([0.6 * k * s.cycles + extra, 0.4 * k * s.cycles])
        return ["multiplier", "pe logic"], np.array(rows)


def run(tmp_path, **kw):
    args = {"array": CFG, "multipliers": ("exact", "drum:4"), "bypasses": ("none",), "gatings": ("none",),
            "widths": (), "strategies": ("uniform",), "hardware": StubHardware(), "jobs": 1,
            "cache": Cache(tmp_path / "cache"), "limit": LIMIT, "energy_images": 1, "energy_samples": 4}
    args.update(kw)
    return explore(None, "digits", **args)


@pytest.fixture
def counted(monkeypatch):
    """Count the accuracy jobs and the stub's calls made in this process."""
    calls = {"accuracy": 0}
    real = explore_tasks.AccuracyJob.run

    def run_acc(self, ctx):
        calls["accuracy"] += 1
        return real(self, ctx)

    monkeypatch.setattr(explore_tasks.AccuracyJob, "run", run_acc)
    CALLS.update(area=0, measure=0)

    def take():
        out = {**calls, **CALLS}
        calls["accuracy"] = 0
        CALLS.update(area=0, measure=0)
        return out
    return take


def figures_of(doc):
    return [(p["key"], p["accuracy"], p["area_um2"], p["energy_pj"], p["energy_stderr_pj"]) for p in doc["points"]]


def test_rerun_computes_nothing_and_a_change_recomputes_only_what_it_touches(tmp_path, counted):
    first = run(tmp_path)
    c = counted()
    assert c == {"accuracy": 2, "area": 2, "measure": 2}  # exact and drum:4: one arithmetic, one PE each
    again = run(tmp_path)
    assert counted() == {"accuracy": 0, "area": 0, "measure": 0}
    assert figures_of(again) == figures_of(first) and again["front"] == first["front"]
    more = run(tmp_path, multipliers=("exact", "drum:4", "mitchell"))
    assert counted() == {"accuracy": 1, "area": 1, "measure": 1}  # only mitchell is new
    assert set(figures_of(first)) < set(figures_of(more))
    run(tmp_path, seed=1)  # another sample of segments: energies again, accuracies not
    assert counted() == {"accuracy": 0, "area": 2, "measure": 2}
    run(tmp_path, limit=LIMIT - 1)  # other test images: accuracies and the energy workload (its first image)
    c = counted()
    assert c["accuracy"] == 2


def schedule_cycles(widths=None):
    """Cycles per layer of one inference, from the array's cycle model (the schedule)."""
    from axmac.gen.modelinfo import graph_inputs
    from axmac.onnx_import.loader import load_model
    from axmac.onnx_import.schedule import make_schedule

    model = default_model("digits")
    name = graph_inputs(model)[0][0]
    net = load_model(model, quant=QuantConfig(layer_bits=widths or {}), calibration={name: load_dataset("digits")[2]})
    return {la["name"]: la["cycles"] for la in make_schedule(net, CFG, batch=1, summary=True)["layers"]}


def test_energy_is_every_pe_cycle_of_the_schedule_and_area_the_pe_times_rc(tmp_path):
    doc = run(tmp_path, strategies=("uniform", "sensitivity"))
    cycles = schedule_cycles()
    names = doc["space"]["layers"]
    by_label = {p["label"]: p for p in doc["points"]}
    for spec in ("exact", "drum:4"):
        p = by_label[spec]
        assert p["energy_pj"] == pytest.approx(K[spec] * CFG.pes * sum(cycles.values()), rel=1e-9)
        assert p["energy_stderr_pj"] == pytest.approx(0.0, abs=1e-6 * p["energy_pj"])
        assert p["area_um2"] == pytest.approx(CFG.pes * (AREA[spec] + 1500.0))
        assert p["macs"] == sum(la["macs"] for la in p["layers"]) and p["pj_per_mac"] == p["energy_pj"] / p["macs"]
    # one layer on drum:4: a PE holding both multipliers; each layer's energy from its own multiplier
    first = names[0]
    mixed = by_label[f"{first}=drum:4"]
    assert mixed["area_um2"] == pytest.approx(CFG.pes * (AREA["exact"] + 1500.0 + AREA["drum:4"]))
    want = sum((K["drum:4"] if n == first else K["exact"]) * CFG.pes * c for n, c in cycles.items())
    assert mixed["energy_pj"] == pytest.approx(want, rel=1e-9)
    base = by_label["exact"]
    assert mixed["saving_pct"] == pytest.approx(100 * (base["energy_pj"] - want) / base["energy_pj"])


def test_sensitivity_accuracies_are_those_of_emulate(tmp_path):
    doc = run(tmp_path, strategies=("sensitivity",), widths=(4,))
    sens = doc["strategies"]["sensitivity"]
    ref = emulate(None, "digits", limit=LIMIT, stats=False, ort_ref=False)[0]["accuracy"]
    assert sens["reference_accuracy"] == ref
    assert len(sens["rows"]) == 2 * len(doc["space"]["layers"])  # drum:4, exact@4 on each layer
    for row in sens["rows"]:
        if row["bits"] == 8:
            want = emulate(None, "digits", layers={row["layer"]: row["multiplier"]}, limit=LIMIT, stats=False,
                           ort_ref=False)[0]["accuracy"]
        else:
            want = emulate(None, "digits", quant=QuantConfig(layer_bits={row["layer"]: row["bits"]}), limit=LIMIT,
                           stats=False, ort_ref=False)[0]["accuracy"]
        assert row["accuracy"] == want, row


def test_a_narrow_layer_runs_on_the_full_width_multiplier_sign_extended(tmp_path):
    from axmac.gen.modelinfo import graph_inputs
    from axmac.golden.engine import run_network
    from axmac.golden.multipliers import make_multiplier
    from axmac.onnx_import.loader import load_model

    doc = run(tmp_path, strategies=("uniform",), widths=(4,))
    names = tuple(doc["space"]["layers"])
    model = str(default_model("digits"))
    ctx = explore_tasks.Context(model=model, model_sha="m", array=CFG, dataset="digits", dataset_sha="d",
                                names=names)
    widths = (4,) + (8,) * (len(names) - 1)
    wide = explore_tasks.network(ctx, widths)
    assert wide.mac_layers[0].operand == CFG.operand
    # the same layer quantized to 4 bits, run on a table of the 8-bit multiplier restricted to 4-bit values
    v = np.arange(-8, 8)
    m8 = make_multiplier("drum:3", 8, True)
    table = np.zeros((16, 16), np.int64)
    table[np.ix_(v & 15, v & 15)] = m8(v[:, None], v[None, :])
    np.save(tmp_path / "t.npy", table)
    x, _, calib = load_dataset("digits")
    name = graph_inputs(model)[0][0]
    narrow = load_model(model, quant=QuantConfig(layer_bits={names[0]: 4}), calibration={name: calib})
    assert narrow.mac_layers[0].operand.bits == 4
    out_wide = run_network(wide, {name: x[:50]}, layers={names[0]: "drum:3"}, stats=False)[0]
    out_lut = run_network(narrow, {name: x[:50]}, layers={names[0]: f"lut:{tmp_path / 't.npy'}"}, stats=False)[0]
    for k in out_wide:
        np.testing.assert_array_equal(out_wide[k], out_lut[k])


def test_a_model_without_a_dataset_is_explored_without_accuracy(tmp_path):
    x, _, _ = load_dataset("digits")
    np.savez(tmp_path / "in.npz", x[:5])
    model = default_model("digits")
    args = {"array": CFG, "multipliers": ("exact", "drum:4", "mitchell"), "bypasses": ("none", "all"),
            "gatings": ("none", "enable"), "widths": (), "hardware": StubHardware(data=True), "jobs": 1,
            "cache": Cache(tmp_path / "cache"), "energy_images": 2, "energy_samples": 4}
    doc = explore(model, None, inputs=tmp_path / "in.npz", strategies=("uniform", "sensitivity"), **args)
    assert "accuracy" not in doc["objectives"] and doc["dataset"] is None
    rows = doc["points"]
    assert all(p["accuracy"] is None for p in rows) and all(p["energy_pj"] > 0 for p in rows)
    want = brute_front([[p["energy_pj"], p["area_um2"]] for p in rows], ["min", "min"])
    assert set(doc["front"]) == {rows[i]["id"] for i in want}
    assert set(figures(doc)) == {"area_energy.png"}
    with pytest.raises(AxmacError, match="needs a labelled --dataset"):
        explore(model, None, inputs=tmp_path / "in.npz", strategies=("greedy",), **args)


def test_figures_show_the_json_and_the_files_are_written_whole(tmp_path):
    doc = run(tmp_path, multipliers=("exact", "drum:4", "mitchell", "trunc:2"), bypasses=("none", "all"),
              strategies=("uniform", "sensitivity"), widths=(4,), hardware=StubHardware(data=True))
    rows = [p for p in doc["points"] if p["energy_pj"] is not None]
    by_id = {p["id"]: p for p in rows}
    figs = figures(doc)
    assert set(figs) == {"accuracy_energy.png", "accuracy_area.png", "area_energy.png", "sensitivity.png"}
    for name, (x, y, sx, sy) in {"accuracy_energy": ("energy_pj", "accuracy", 1e-6, 1.0),
                                 "accuracy_area": ("area_um2", "accuracy", 1e-6, 1.0),
                                 "area_energy": ("energy_pj", "area_um2", 1e-6, 1e-6)}.items():
        fig = figs[f"{name}.png"]
        np.testing.assert_allclose(artist_data(fig, "points"), [[sx * p[x], sy * p[y]] for p in rows])
        senses = ["min", "max" if y == "accuracy" else "min"]
        want = {rows[i]["id"] for i in brute_front([[p[x], p[y]] for p in rows], senses)}
        assert set(doc["fronts_2d"][name]) == want
        np.testing.assert_allclose(artist_data(fig, "front"),
                                   [[sx * by_id[i][x], sy * by_id[i][y]] for i in doc["fronts_2d"][name]])
    want = brute_front([[p["accuracy"], p["energy_pj"], p["area_um2"]] for p in rows], ["max", "min", "min"])
    assert set(doc["front"]) == {rows[i]["id"] for i in want}
    # the sensitivity figure: accuracies of the rows, MAC shares of the layers (from emulate's counts)
    sens = figs["sensitivity.png"]
    names = doc["space"]["layers"]
    for row in doc["strategies"]["sensitivity"]["rows"]:
        label = row["multiplier"] + ("" if row["bits"] == 8 else f"@{row['bits']}b")
        assert artist_data(sens, f"sensitivity:{label}")[names.index(row["layer"]), 1] == row["accuracy"]
    per_layer = emulate(None, "digits", limit=10, stats=False, ort_ref=False)[0]["per_layer"]
    macs = np.array([la["macs"] / 10 for la in per_layer])
    np.testing.assert_allclose(artist_data(sens, "macs")[:, 1], macs / macs.sum())
    written = write_outputs(doc, tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(["explore.json", *figs])
    back = json.loads((tmp_path / "out" / "explore.json").read_text())
    assert back["front"] == doc["front"] and back["points"] == json.loads(json.dumps(doc["points"]))
    assert all((tmp_path / "out" / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in figs)


def test_precision_scaling_rows_follow_their_definition(tmp_path):
    doc = run(tmp_path, multipliers=("exact", "trunc:2"), widths=(6, 4), hardware=StubHardware(data=True))
    ps = doc["precision_scaling"]
    assert [r["bits"] for r in ps["rows"]] == [8, 6, 4]
    ref = ps["rows"][0]["measured_by_group_pj"]
    for r in ps["rows"]:
        s = r["bits"] / 8
        model = ref["multiplier"] * s * s + ref["pe logic"] * s
        assert r["moons_model_pj"] == pytest.approx(model)
        assert r["measured_over_model"] == pytest.approx(r["measured_pj"] / model)
        assert r["multiplier_model_ratio"] == s * s
        assert r["multiplier_measured_ratio"] == pytest.approx(r["measured_by_group_pj"]["multiplier"] /
                                                               ref["multiplier"])
    assert ps["rows"][1]["msb_aligned"]["multiplier"] == "trunc:2" and ps["rows"][2]["msb_aligned"] is None


def test_local_processes_and_a_dask_cluster_give_the_same_front(tmp_path):
    distributed = pytest.importorskip("distributed")
    kw = {"multipliers": ("exact", "drum:4", "mitchell"), "widths": (4,), "strategies": ("uniform", "greedy"),
          "hardware": StubHardware(data=True), "tolerance": 0.02}
    local = run(tmp_path, jobs=2, cache=Cache(tmp_path / "local"), **kw)
    assert local["run"]["executor"] == "local"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                                  processes=True) as cluster:
        dask = run(tmp_path, scheduler=cluster.scheduler_address, cache=Cache(tmp_path / "dask"), **kw)
    assert dask["run"]["executor"] == "dask" and dask["run"]["jobs_run"] == local["run"]["jobs_run"]
    assert dask["front"] == local["front"] and len(dask["front"]) > 1
    assert figures_of(dask) == figures_of(local)
    assert dask["strategies"] == local["strategies"]
