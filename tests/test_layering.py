"""The layering rules of DESIGN.md hold (import-linter contracts in pyproject.toml)."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import check_layering  # noqa: E402

sys.path.pop(0)


def test_import_contracts_are_kept(tmp_path):
    proc = check_layering.lint(check_layering.build_mirror(tmp_path / "mirror"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_a_broken_rule_is_reported(tmp_path):
    """The checker is not vacuous: a mirror in which golden imports sim breaks a contract."""
    root = check_layering.build_mirror(tmp_path / "mirror")
    (root / "axmac" / "golden" / "zz_bad.py").write_text("from ..sim import runner  # noqa: F401\n")
    proc = check_layering.lint(root)
    assert proc.returncode != 0
    assert "axmac.golden.zz_bad -> axmac.sim.runner" in proc.stdout
