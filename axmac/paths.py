"""Where axmac keeps what it builds: one definition of the build folder.

``BUILD_ROOT`` is ``$AXMAC_BUILD`` when set, else ``build/`` at the repository root (the
checkout axmac is installed from in editable mode). Every tool keeps its work under a folder of
its own there (``build/synth``, ``build/verilog_import``, ``build/pe``...): see
:func:`build_dir`.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root (``axmac/`` is one of its folders).
REPO = Path(__file__).resolve().parent.parent
#: Root of every generated file, cache and simulator build.
BUILD_ROOT = Path(os.environ.get("AXMAC_BUILD", REPO / "build"))


def build_dir(*parts: str) -> Path:
    """``BUILD_ROOT / part / ...`` (not created)."""
    return BUILD_ROOT.joinpath(*parts)
