"""Fuzzing the ``axmac`` command line: bad input ends in one error line, never in a traceback.

Each case of tests/fuzz_cli_cases.py (seeded: a case id always builds the same input) runs
in-process through ``axmac.gen.cli.main`` with standard error captured at the file-descriptor
level (onnxruntime writes there from C++). A case passes when it ends

* in exit status 2 with exactly one line ``axmac: error: ...`` on stderr (the prefix once), no
  warning but axmac's own (which the CLI prints as ``axmac: warning: ...`` lines; numpy's and
  onnxruntime's are defects), and none of the command's outputs written (nor a temporary file
  left beside them); or
* in exit status 0 with its outputs written whole (an npz or a JSON file that loads).

Any exception escaping ``main`` is a bug the test reports with the case's description. Cases
whose traceback comes from code outside gen/ are listed in :data:`KNOWN` (xfail, strict: a fix
makes them pass and the entry must go). ``make test`` runs :data:`FAST` cases per family; the
slow suite runs :data:`SLOW`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from axmac.gen.cli import main

from .fuzz_cli_cases import FAMILIES, build

#: cases per family in the fast suite and in the slow one (Verilog cases build with Verilator: fewer).
FAST = {"onnx-bytes": 50, "onnx-structure": 120, "npz": 80, "specs": 50, "verilog": 6, "layer-maps": 25,
        "numbers": 50, "output-paths": 25}
SLOW = {name: 10 * n for name, n in FAST.items()}

#: Defects outside gen/ the fuzz finds, by case id (strict xfail: the fix makes the case pass; then
#: delete its entry). Reproduce one with ``pytest "tests/test_fuzz_cli.py::test_fuzz_slow[<id>]" -m slow``.
#: Empty: the defects it found (a bias of the wrong size, onnxruntime's log lines, an undecodable
#: initializer, a Verilog multiplier with a combinational loop) are fixed.
KNOWN: dict[str, str] = {}


def _params(counts, marks=()):
    out = []
    for family, n in counts.items():
        for i in range(n):
            cid = f"{family}-{i}"
            m = list(marks)
            if family == "verilog":
                m.append(pytest.mark.rtl)
            if cid in KNOWN:
                m.append(pytest.mark.xfail(reason=KNOWN[cid], strict=True))
            out.append(pytest.param(family, i, id=cid, marks=m))
    return out


def _outcome(argv, outputs, capfd) -> tuple[int, str, list]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn"):
            rc = main(argv)
    _, err = capfd.readouterr()
    shown = [w for w in caught if not issubclass(w.category, DeprecationWarning | PendingDeprecationWarning)]
    return rc, err, shown


def check_case(family: str, index: int, folder: Path, capfd) -> str:
    """Run one case; assert the contract of the module docstring; return ``"error"`` or ``"ok"``."""
    case = build(family, index, folder)
    where = f"{family}-{index}: {case.what}\n  argv: {case.argv}"
    try:
        rc, err, shown = _outcome(case.argv, case.outputs, capfd)
    except SystemExit as e:  # argparse's --help/--version only: never reached by these cases
        pytest.fail(f"SystemExit({e.code}) escaped main\n{where}")
    except Exception as e:  # noqa: BLE001 - the point of the test: report any escaping exception
        pytest.fail(f"{type(e).__name__} escaped main: {e}\n{where}")
    if rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("axmac: error: "), f"{where}\n  stderr: {err!r}"
        assert lines[0].count("axmac: error:") == 1, f"{where}\n  stderr: {err!r}"
        foreign = [w for w in shown if not w.category.__module__.startswith("axmac.")]
        assert not foreign, f"{where}\n  warnings on the error path: {[str(w.message) for w in foreign]}"
        for out in case.outputs:
            if str(out) in ("", "."):
                continue
            assert not out.is_file(), f"{where}\n  {out} written although the command failed"
            if out.parent.is_dir():
                assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")], where
        return "error"
    assert rc == 0, f"{where}\n  exit status {rc}, stderr: {err!r}"
    assert "Traceback" not in err, where
    for out in case.outputs:
        if out.is_file():
            if out.read_bytes()[:2] == b"PK":  # a zip: an npz
                with np.load(out) as f:
                    assert f.files, where
            else:
                json.loads(out.read_text())
    return "ok"


@pytest.mark.parametrize("family,index", _params(FAST))
def test_fuzz(family, index, tmp_path, capfd):
    check_case(family, index, tmp_path, capfd)


@pytest.mark.slow
@pytest.mark.parametrize("family,index", _params({f: n for f, n in SLOW.items()}))
def test_fuzz_slow(family, index, tmp_path, capfd):
    if index < FAST[family]:
        pytest.skip("in the fast suite")
    check_case(family, index, tmp_path, capfd)


def test_cases_are_reproducible(tmp_path):
    """A case id builds the same command and files every time (the xfail list relies on it)."""
    for family in FAMILIES:
        a, b = tmp_path / f"{family}-a", tmp_path / f"{family}-b"
        a.mkdir()
        b.mkdir()
        ca, cb = build(family, 3, a), build(family, 3, b)
        assert ca.what.replace(str(a), "D") == cb.what.replace(str(b), "D")
        assert [s.replace(str(a), "D") for s in ca.argv] == [s.replace(str(b), "D") for s in cb.argv]
        for p in sorted(a.rglob("*")):
            q = b / p.relative_to(a)
            assert q.exists() and (p.is_dir() or p.read_bytes() == q.read_bytes()), p


@pytest.mark.parametrize("family,index", [("onnx-bytes", 0), ("npz", 1), ("specs", 2), ("output-paths", 0),
                                          ("layer-maps", 0)])
def test_fuzz_subprocess(family, index, tmp_path):
    """The same contract through the installed ``axmac`` command (a fresh interpreter, real stderr)."""
    case = build(family, index, tmp_path)
    exe = Path(sys.executable).parent / "axmac"
    proc = subprocess.run([str(exe), *case.argv], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "default"})
    assert "Traceback" not in proc.stderr, proc.stderr
    if proc.returncode == 2:
        lines = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("axmac: warning: ")]
        assert len(lines) == 1 and lines[0].startswith("axmac: error: "), proc.stderr
        assert all(not o.is_file() for o in case.outputs if str(o) not in ("", "."))
    else:
        assert proc.returncode == 0, proc.stderr
