"""``axmac synth`` (gen/cmd_synth.py): figures printed as the library computes them, JSON and -o the
same report; bad input one line, exit 2, nothing written (before anything is synthesised)."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from axmac.gen import cli

from .test_array_synth import TINY

pytestmark = pytest.mark.synth

TINY_OPTS = ["--rows", "2", "--cols", "1", "--acc-depth", "2", "--counters", "none", "--output-stage", "acc",
             "--bypass", "all", "--gating", "icg"]


def run(*argv: str) -> tuple[int, str, str]:
    """``axmac ARGV`` in this process: exit status, standard output, standard error."""
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        rc = cli.main(list(argv))
    return rc, o.getvalue(), e.getvalue()


def synth(*opts: str) -> tuple[int, str, str]:
    return run("synth", *opts)


def test_generic_report_text_json_and_file(tmp_path):
    from axmac.gen.array_synth import synth_array

    lib = synth_array(TINY, "generic")
    out = tmp_path / "r.json"
    rc, text, err = synth(*TINY_OPTS, "-o", str(out))
    assert rc == 0 and err == ""
    doc = json.loads(out.read_text())
    assert doc["groups"] == lib["groups"] and doc["config"] == TINY.to_dict()
    f = lib["figures"]
    assert f"{f['gates']} gates, {f['dff']} flip-flops, {f['transistors']} transistors" in text
    total = sum(v["transistors"] for v in lib["groups"].values())
    mult = lib["groups"]["multiplier"]["transistors"]
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("multiplier"))
    assert f"{mult:.0f}" in line and f"{100 * mult / total:.1f}" in line and f"{mult / 2:.0f}" in line
    assert f"overhead {lib['pe']['overhead_pct']:+.1f} %" in text and "note: no Fmax" in text
    rc, js, _ = synth(*TINY_OPTS, "--json")
    assert rc == 0 and json.loads(js)["groups"] == lib["groups"]


@pytest.mark.parametrize("opts, message", [
    (["--target", "asic"], "argument --target: invalid choice: 'asic'"),
    (["--target", "ice40", "--liberty", "{missing}"], "argument --liberty: no such file"),
    (["--target", "ice40", "--liberty", "{lib}"], "--liberty maps to standard cells: it goes with --target osu018"),
    (["--no-dsp"], "--no-dsp is an ecp5 option"),
    (["--rows", "0"], "argument --rows"),
    (["--multiplier", "drum:99"], "--multiplier drum:99"),
    (["--acc-bits", "8"], "acc_bits 8 is narrower than a 16-bit product"),
    (["--seed", "-1"], "argument --seed"),
])
def test_bad_input_one_line_nothing_written(tmp_path, opts, message):
    check_bad_input("synth", tmp_path, opts, message)


def check_bad_input(command: str, folder, opts: list[str], message: str) -> None:
    """``axmac COMMAND OPTS -o FILE`` (``{lib}``: a Liberty file there, ``{missing}``: a missing file) ends
    in exit 2, one line with ``message``, nothing printed or written."""
    lib = folder / "cells.lib"
    lib.write_text("library(x) {}\n")
    opts = [o.format(missing=folder / "none.onnx", lib=lib) for o in opts]
    out = folder / "r.json"
    rc, text, err = run(command, *opts, "-o", str(out))
    assert rc == 2 and text == "" and err.count("\n") == 1 and err.startswith("axmac: error: "), err
    assert message in err, err
    assert not out.exists() and list(folder.iterdir()) == [lib]
