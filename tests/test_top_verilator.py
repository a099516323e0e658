"""hw/top.py in Verilator: ``--lint-only -Wall`` of the generated top, and full builds of the sizes
the co-simulation uses (1x1 ... 16x16, ws and os, 4/8/12-bit, both signednesses, wrap/saturate,
every gating mode, ``verilog:`` and ``lut:`` multipliers).

Lint: Amaranth's Verilog back end (through Yosys ``write_verilog``) always produces a few kinds
of warning that say nothing about the design: mixed-width expressions (``WIDTHEXPAND``,
``WIDTHTRUNC``), ``reg x = init;`` declarations assigned in ``always`` blocks (``PROCASSINIT``),
hierarchical module names unlike the file name (``DECLFILENAME``) and one wire per named signal
of every submodule and view field, most of them unread (``UNUSEDSIGNAL``). Everything else
(e.g. zero-width vectors ``ASCRANGE``, undriven or multiply driven nets, latches outside the
ICG cell, combinational loops) fails the test: those were found and fixed in hw/.
"""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from axmac.config import ArrayConfig
from axmac.golden.multipliers import make_multiplier
from axmac.hw.top import Accelerator
from axmac.paths import BUILD_ROOT
from axmac.sim.runner import tool_env, verilator_bin_dir
from axmac.verilog import write_design

pytestmark = pytest.mark.rtl

DATA = Path(__file__).parent / "data"
#: Warnings every Amaranth design gets (see the module docstring).
AMARANTH_STYLE = {"WIDTHEXPAND", "WIDTHTRUNC", "PROCASSINIT", "DECLFILENAME", "UNUSEDSIGNAL"}


def lut_file(tmp_path: Path, bits: int, signed: bool) -> Path:
    """A product table (the exact product with its low bit set: still in range) as a .npy file."""
    v = np.array(list(make_multiplier("exact", bits, signed).fmt.values()), dtype=np.int64)
    table = (v[:, None] * v[None, :]) | 1
    order = np.argsort(v & ((1 << bits) - 1))  # rows and columns indexed by bit pattern
    path = tmp_path / f"lut{bits}{'s' if signed else 'u'}.npy"
    np.save(path, table[np.ix_(order, order)])
    return path


def verilator(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    tool_env()
    return subprocess.run([str(verilator_bin_dir() / "verilator"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=3600)


def lint(cfg: ArrayConfig, where: Path) -> dict[str, int]:
    """``--lint-only -Wall`` of ``Accelerator(config=cfg)``: warning kinds and their counts."""
    srcs = write_design(Accelerator(config=cfg), "axmac_top", where)
    r = verilator(["--lint-only", "-Wall", "--top-module", "axmac_top", *map(str, srcs)], where)
    (where / "lint.log").write_text(r.stderr)
    kinds: dict[str, int] = {}
    for kind in re.findall(r"^%Warning-([A-Z0-9_]+):", r.stderr, re.M):
        kinds[kind] = kinds.get(kind, 0) + 1
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("%Error") and "Exiting due to" not in ln]
    assert not errors, errors[:5]
    return kinds


LINT_CASES = {
    "ws_4x4_s8_icg_all": dict(rows=4, cols=4, gating="icg", bypass="all"),
    "os_3x5_u4_sat_enable": dict(rows=3, cols=5, bits=4, signed=False, acc_bits=9, overflow="saturate",
                                 dataflow="os", gating="enable", bypass="zero,opposite"),
    "ws_1x1_d1_acc": dict(rows=1, cols=1, acc_depth=1, output_stage="acc", counters="none"),
    "os_1x4_s12_drum": dict(rows=1, cols=4, bits=12, acc_bits=32, dataflow="os", multiplier="drum:5"),
}


@pytest.mark.parametrize("name", list(LINT_CASES))
def test_lint_wall(name):
    cfg = ArrayConfig(acc_depth=16).replace(**LINT_CASES[name])
    kinds = lint(cfg, BUILD_ROOT / "top_lint" / name)
    assert set(kinds) <= AMARANTH_STYLE, {k: v for k, v in kinds.items() if k not in AMARANTH_STYLE}


def build(cfg: ArrayConfig, where: Path) -> None:
    """Verilate and compile the top (C++ model, no testbench): it must build."""
    srcs = write_design(Accelerator(config=cfg), "axmac_top", where)
    r = verilator(["--cc", "--build", "-j", "2", "-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "--top-module",
                   "axmac_top", "-Mdir", str(where / "obj"), *map(str, srcs)], where)
    (where / "build.log").write_text(r.stdout + r.stderr)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (where / "obj" / "Vaxmac_top__ALL.a").is_file()


def test_build_small_verilog_multiplier():
    """A 2x2 array of an imported Verilog multiplier (the module file travels in extra_sources)."""
    spec = f"verilog:{DATA / 'approx_mul8_s.v'}"
    build(ArrayConfig(rows=2, cols=2, multiplier=spec, acc_depth=4, gating="icg"), BUILD_ROOT / "top_build" / "vmul")


BUILD_CASES = {
    "1x1_ws_s8": dict(rows=1, cols=1, acc_depth=1),
    "1x4_os_u8_sat": dict(rows=1, cols=4, signed=False, overflow="saturate", acc_bits=24, dataflow="os"),
    "3x5_ws_s4_enable": dict(rows=3, cols=5, bits=4, gating="enable", bypass="all"),
    "4x4_os_s12_icg": dict(rows=4, cols=4, bits=12, acc_bits=40, dataflow="os", gating="icg", bypass="zero,one"),
    "8x8_ws_s8": dict(rows=8, cols=8),
    "8x8_os_u4_sat_lut": dict(rows=8, cols=8, bits=4, signed=False, acc_bits=12, overflow="saturate", dataflow="os",
                              multiplier="lut"),
    "16x16_ws_s8_icg_all": dict(rows=16, cols=16, gating="icg", bypass="all"),
    "16x16_os_s8_enable": dict(rows=16, cols=16, dataflow="os", gating="enable", bypass="all"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BUILD_CASES))
def test_build(name, tmp_path):
    changes = dict(BUILD_CASES[name])
    if changes.get("multiplier") == "lut":
        changes["multiplier"] = f"lut:{lut_file(tmp_path, changes['bits'], changes.get('signed', True))}"
    build(ArrayConfig(acc_depth=32).replace(**changes), BUILD_ROOT / "top_build" / name)
