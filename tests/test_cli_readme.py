"""The README's command lines run as written, and the example files they name are what they claim.

Every indented line of README.md that starts with ``axmac`` runs in-process from a scratch folder
that sees the repository's ``models/`` and ``examples/`` (so outputs land there, not in the
checkout). A line that synthesises hardware runs with ``--no-hw`` in the fast suite and as
written in the slow one; a line that co-simulates, synthesises or measures the array
(``verify``, ``synth``, ``energy``: minutes each) runs in the slow suite.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest

from axmac.gen.cli import main
from axmac.golden.metrics import METRIC_KEYS, error_metrics
from axmac.golden.multipliers import make_multiplier

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
LINES = [ln.strip() for ln in README.splitlines() if ln.startswith("    axmac ")]


def _synthesises(line: str) -> bool:
    return " characterize " in line and "--no-hw" not in line


#: commands that build and simulate or synthesise the array (minutes each): the slow suite
ARRAY_HEAVY = ("axmac verify ", "axmac synth ", "axmac energy ")


def _marks(line: str) -> list:
    if line.startswith(ARRAY_HEAVY):
        return [pytest.mark.slow, pytest.mark.rtl]
    return [pytest.mark.rtl] if "verilog:" in line else []


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    for d in ("models", "examples"):
        (tmp_path / d).symlink_to(ROOT / d)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(line: str, capsys, extra=()) -> str:
    rc = main([*shlex.split(line)[1:], *extra])
    out, err = capsys.readouterr()
    assert rc == 0, (line, err)
    return out


def test_readme_has_examples():
    assert len(LINES) >= 8 and any(ln.startswith("axmac run ") for ln in LINES)
    assert {ln.split()[1] for ln in LINES} >= {"generate", "verify", "synth", "energy"}


@pytest.mark.parametrize("line", [pytest.param(ln, marks=_marks(ln), id=ln[6:60]) for ln in LINES])
def test_readme_line_runs(line, scratch, capsys):
    out = _run(line, capsys, ["--no-hw"] if _synthesises(line) else [])
    if "--json" in line:
        json.loads(out)
    for flag in ("-o", "--output"):
        argv = shlex.split(line)
        if flag in argv:
            assert (scratch / argv[argv.index(flag) + 1]).stat().st_size > 0
    argv = shlex.split(line)
    if argv[1] == "generate":
        out_dir = scratch / argv[argv.index("--out-dir") + 1]
        manifest = json.loads((out_dir / "manifest.json").read_text())
        assert manifest and any(p.suffix == ".v" for p in out_dir.iterdir())


@pytest.mark.slow
@pytest.mark.synth
@pytest.mark.parametrize("line", [pytest.param(ln, marks=_marks(ln), id=ln[6:60]) for ln in LINES
                                  if _synthesises(ln)])
def test_readme_line_runs_with_hardware(line, scratch, capsys):
    out = _run(line, capsys)
    assert "LUT4" in out or '"lut4": ' in out


def test_every_example_file_is_used_and_exists():
    named = {p for ln in LINES for p in shlex.split(ln) for p in [p.split(":")[1] if ":" in p else p]
             if p.startswith("examples/")}
    shipped = {f"examples/{p.name}" for p in (ROOT / "examples").iterdir()}
    assert named == shipped


def test_example_inputs_are_the_first_mnist_test_images():
    from axmac.gen.datasets import load_dataset

    with np.load(ROOT / "examples/mnist_4.npz") as f:
        assert f.files == ["input"]
        np.testing.assert_array_equal(f["input"], load_dataset("mnist")[0][:4])


def test_example_table_is_mitchell_6bit_signed():
    table = np.load(ROOT / "examples/mitchell_s6.npy")
    np.testing.assert_array_equal(table, make_multiplier("mitchell", 6, True).table())


def test_example_layer_map_names_lenets_layers(capsys):
    assert main(["info", str(ROOT / "models/lenet5_mnist.onnx"), "--json"]) == 0
    layers = [la["name"] for la in json.loads(capsys.readouterr().out)["layers"]]
    assert sorted(json.loads((ROOT / "examples/lenet5_layers.json").read_text())) == sorted(layers)


@pytest.mark.rtl
def test_example_verilog_is_bam4_unsigned(capsys):
    """The example module leaves out the partial products of columns 0..3: bam:4's function, and
    without --signed/--unsigned it is characterized unsigned (its ports are not declared signed)."""
    assert main(["multipliers", "characterize", f"verilog:{ROOT}/examples/mul8.v:mul8", "--no-hw", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    ref = error_metrics(make_multiplier("bam:4", 8, False))
    assert got["signed"] is False and all(got[k] == ref[k] for k in METRIC_KEYS)
