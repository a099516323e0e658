"""gen/cmd_explore.py: ``axmac explore`` prints the front and writes explore.json and the figures; bad input
ends in one line ``axmac: error: ...``, exit status 2, and nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from axmac.gen import explore_cache, explore_hw
from axmac.gen.cli import main
from axmac.gen.datasets import default_model, load_dataset

from .test_explore import StubHardware

DIGITS = str(default_model("digits"))


@pytest.fixture
def stubbed(monkeypatch, tmp_path):
    """The stub hardware model instead of gate-level simulation; the result cache in tmp_path."""
    monkeypatch.setattr(explore_hw, "GateLevelHardware", StubHardware)
    monkeypatch.setattr(explore_cache, "build_dir", lambda *parts: tmp_path.joinpath("build", *parts))
    return tmp_path


FAST = ["--rows", "4", "--cols", "4", "--acc-depth", "64", "--limit", "100", "--multipliers", "exact,drum:4",
        "--bypass-set", "none", "--gatings", "none", "--energy-images", "1", "--energy-samples", "4", "--jobs", "1"]


def test_explore_writes_the_json_and_the_figures_and_prints_the_front(stubbed, capsys):
    out = stubbed / "out"
    rc = main(["explore", "--dataset", "digits", *FAST, "--widths", "4", "--strategy", "uniform,sensitivity,greedy",
               "--out-dir", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0
    doc = json.loads((out / "explore.json").read_text())
    assert doc["format"] == "axmac-explore/1" and doc["dataset"] == "digits" and doc["samples"] == 100
    assert sorted(p.name for p in out.iterdir()) == ["accuracy_area.png", "accuracy_energy.png", "area_energy.png",
                                                     "explore.json", "sensitivity.png"]
    for pid in doc["front"]:
        assert f"\n{pid} " in printed
    assert "greedy (target accuracy" in printed and "precision scaling" in printed
    # a rerun answers from the cache, --json prints the same document
    assert main(["explore", "--dataset", "digits", *FAST, "--widths", "4", "--strategy", "uniform,sensitivity,greedy",
                 "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["run"]["jobs_run"] == {"accuracy": 0, "hardware": 0}
    assert again["points"] == doc["points"] and again["front"] == doc["front"]


def test_explore_without_a_dataset(stubbed, capsys):
    x, _, _ = load_dataset("digits")
    np.savez(stubbed / "in.npz", x[:3])
    assert main(["explore", DIGITS, "--inputs", str(stubbed / "in.npz"), *FAST, "--strategy", "uniform",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dataset"] is None and doc["objectives"] == {"area_um2": "min", "energy_pj": "min"}
    assert all(p["accuracy"] is None for p in doc["points"])


def bad_cases(d):
    onnx_junk = d / "junk.onnx"
    onnx_junk.write_bytes(b"not an onnx file")
    np.savez(d / "in.npz", load_dataset("digits")[0][:2])
    return {
        "unknown multiplier": (["--dataset", "digits", "--multipliers", "exact,nope:3"], "--multipliers nope:3"),
        "bad multiplier parameter": (["--dataset", "digits", "--multipliers", "drum:99"], "--multipliers drum:99"),
        "widths wider than the array": (["--dataset", "digits", "--widths", "9"], "wider than the array"),
        "output-stationary": (["--dataset", "digits", "--dataflow", "os"], "weight-stationary"),
        "unknown strategy": (["--dataset", "digits", "--strategy", "uniform,annealing"], "unknown strategy"),
        "dataset and inputs": ([DIGITS, "--dataset", "digits", "--inputs", str(d / "in.npz")], "not both"),
        "neither dataset nor inputs": ([DIGITS], "give a labelled --dataset"),
        "greedy without labels": ([DIGITS, "--inputs", str(d / "in.npz"), "--strategy", "greedy"],
                                  "needs a labelled --dataset"),
        "missing dataset file": ([DIGITS, "--dataset", str(d / "none.npz")], "none.npz"),
        "malformed model": ([str(onnx_junk), "--dataset", "digits"], "cannot read ONNX model"),
        "missing model": ([str(d / "absent.onnx"), "--dataset", "digits"], "no such file"),
        "scheduler address": (["--dataset", "digits", "--scheduler", "nonsense://x"], "--scheduler"),
        "tolerance out of range": (["--dataset", "digits", "--tolerance", "1.5"], "--tolerance"),
        "one sample per layer": (["--dataset", "digits", "--energy-samples", "1"], "--energy-samples"),
        "bad bypass set": (["--dataset", "digits", "--bypass-set", "zero,never"], "--bypass-set"),
        "bad gating": (["--dataset", "digits", "--gatings", "none,sometimes"], "gating"),
        "quantized model narrowed": ([str(d / "int.onnx"), "--inputs", str(d / "in.npz"), "--widths", "4"],
                                     "quantized already"),
    }


def _int_model(path):
    """A model with one integer (ConvInteger) layer: already quantized, its width is fixed."""
    import onnx
    from onnx import TensorProto as T
    from onnx import helper, numpy_helper

    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.int8), "w")
    g = helper.make_graph([helper.make_node("ConvInteger", ["x", "w"], ["y"], name="conv")], "g",
                          [helper.make_tensor_value_info("x", T.INT8, [1, 1, 8, 8])],
                          [helper.make_tensor_value_info("y", T.INT32, [1, 2, 6, 6])], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10), str(path))


CASES = ["unknown multiplier", "bad multiplier parameter", "widths wider than the array", "output-stationary",
         "unknown strategy", "dataset and inputs", "neither dataset nor inputs", "greedy without labels",
         "missing dataset file", "malformed model", "missing model", "scheduler address", "tolerance out of range",
         "one sample per layer", "bad bypass set", "bad gating", "quantized model narrowed"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_exit_2_and_nothing_written(stubbed, capfd, case):
    _int_model(stubbed / "int.onnx")
    cases = bad_cases(stubbed)
    assert sorted(cases) == sorted(CASES)
    argv, words = cases[case]
    out = stubbed / "out"
    rc = main(["explore", *argv, "--jobs", "1", "--out-dir", str(out)])
    err = capfd.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("axmac: error: ") and words in err[0], err
    assert not out.exists()
