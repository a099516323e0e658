"""``axmac energy`` (gen/cmd_energy.py): bad input one line, exit 2, nothing written, before anything is
built; a whole run on a small array (slow) prints the library's figures and writes the same report."""

from __future__ import annotations

import json

import pytest

from .test_cmd_synth import check_bad_input, run

SMALL = ["--rows", "2", "--cols", "2", "--acc-depth", "16", "--counters", "none", "--output-stage", "acc",
         "--samples-per-layer", "2", "--runs-per-layer", "2"]


def energy(*opts: str) -> tuple[int, str, str]:
    return run("energy", *opts)


@pytest.mark.parametrize("opts, message", [
    (["--delays"], "--delays needs --simulator icarus"),
    (["--liberty", "{lib}"], "--liberty and --cells go together"),
    (["--dataflow", "os"], "weight-stationary dataflow only"),
    (["--images", "0"], "argument --images"),
    (["--samples-per-layer", "1"], "argument --samples-per-layer"),
    (["--runs-per-layer", "1"], "argument --runs-per-layer"),
    (["--compare", "everything"], "argument --compare: invalid choice"),
    (["--simulator", "modelsim"], "argument --simulator: invalid choice"),
    (["{missing}"], "no such file"),
    (["--dataset", "cifar"], "unknown dataset 'cifar'"),
    (["--images", "2000"], "--images 2000: the dataset has 1000 test images"),
    (["--unsigned"], "do not fit the array's"),
    (["--multiplier", "nonsense"], "--multiplier nonsense"),
])
def test_bad_input_one_line_nothing_written(tmp_path, opts, message):
    check_bad_input("energy", tmp_path, opts, message)


@pytest.mark.slow
def test_small_array_on_lenet(tmp_path):
    """The bundled LeNet-5 on a 2x2 array: the printed figures are the report's, -o holds the same report."""
    from .test_asic import osu018

    osu018()
    out = tmp_path / "r.json"
    rc, text, err = energy(*SMALL, "-o", str(out))
    assert rc == 0, err
    doc = json.loads(out.read_text())
    (d,) = doc["designs"]
    assert (d["bypass"], d["gating"]) == ("none", "none") and doc["images"] == 1
    assert f"{d['inference_pj'] / 1e6:.3f} +- {d['stderr_pj'] / 1e6:.3f}" in text
    assert [x["name"] for x in d["layers"]] == ["/0/Conv", "/3/Conv", "/7/Gemm", "/9/Gemm", "/11/Gemm"]
    assert d["macs"] == 117600 + 240000 + 48000 + 10080 + 840  # LeNet-5: MACs of one inference
    for x in d["layers"]:
        assert f"{x['energy_pj']:.0f}" in text
    rc, js, _ = energy(*SMALL, "--json")
    assert rc == 0 and json.loads(js)["designs"][0]["inference_pj"] == pytest.approx(d["inference_pj"])
