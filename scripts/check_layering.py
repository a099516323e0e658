"""Check the layering rules of DESIGN.md with import-linter (the contracts are in pyproject.toml).

The import name ``axmac`` spans the repository's top-level folders (``axmac.golden`` is
``golden/``, see pyproject's ``package-dir``), a layout import-linter cannot walk: it looks for
every submodule under the root package's own folder. So this script mirrors the sources as one
ordinary package, ``build/layering/axmac/{golden,hw,...}`` (symbolic links to the real files), and
runs import-linter on the mirror. Exit status 0 when every contract is kept.

Usage: ``python scripts/check_layering.py`` (``make lint`` runs it; so does tests/test_layering.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def package_dirs() -> dict[str, Path]:
    """``{"axmac.golden": REPO / "golden", ...}`` from pyproject's ``package-dir``."""
    conf = tomllib.loads((REPO / "pyproject.toml").read_text())
    return {name: REPO / folder for name, folder in conf["tool"]["setuptools"]["package-dir"].items()}


def build_mirror(root: Path) -> Path:
    """Mirror every package's ``.py`` files under ``root/axmac/...``; return ``root``."""
    shutil.rmtree(root, ignore_errors=True)
    for name, folder in package_dirs().items():
        dest = root.joinpath(*name.split("."))
        for src in folder.rglob("*.py"):
            rel = src.relative_to(folder)
            if rel.parts[0] in ("__pycache__",) or any(p.startswith(".") for p in rel.parts):
                continue
            # a sub-folder that is itself a mapped package of its own is mirrored by its own entry
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.symlink_to(src)
    return root


def lint(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter with pyproject's contracts on the mirror at ``root`` (output captured)."""
    env = dict(os.environ, PYTHONPATH=str(root))
    cmd = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
           "sys.exit(lint_imports_command())", str(REPO / "pyproject.toml"), "--no-cache", "--no-logo"]
    return subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, timeout=300)


def main() -> int:
    proc = lint(build_mirror(REPO / "build" / "layering"))
    print(proc.stdout.strip(), proc.stderr.strip(), sep="\n")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
