"""The cocotb runner helper: a passing testbench passes, a failing one raises; the build lock."""

import subprocess
import sys

import pytest

from axmac.hw.multipliers import make_hw_multiplier
from axmac.paths import BUILD_ROOT
from axmac.sim.runner import SimulationFailed, build_lock, content_file, run_cocotb
from axmac.verilog import write_design


def _run(pairs):
    with build_lock(BUILD_ROOT / "runner_smoke") as build:
        srcs = write_design(make_hw_multiplier("exact", 8, True), "mul", build)
        return run_cocotb(sources=srcs, toplevel="mul", test_module="axmac.sim.smoke_tb", build_dir=build,
                          extra_env={"AXMAC_PAIRS": pairs})


@pytest.mark.rtl
def test_runner_passes_and_fails():
    assert _run("3,5;-128,-128;-1,127") == (1, 0)
    # 200 does not fit a signed 8-bit operand: the DUT sees -56 * 3 != 600 and the check fails.
    with pytest.raises(SimulationFailed):
        _run("200,3")


def _lock_is_free(lock_file) -> bool:
    """Whether another process can take the lock right now (non-blocking)."""
    code = ("import fcntl, sys\nf = open(sys.argv[1], 'a')\n"
            "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(1)\n")
    return subprocess.run([sys.executable, "-c", code, str(lock_file)]).returncode == 0


def test_build_lock_excludes_other_processes_and_nests(tmp_path):
    build = tmp_path / "b"
    lock_file = tmp_path / "b.lock"
    with build_lock(build) as held:
        assert held == build and build.is_dir()
        assert not _lock_is_free(lock_file)
        with build_lock(tmp_path / "." / "b"):  # the same folder, nested in one thread: no deadlock
            assert not _lock_is_free(lock_file)
        assert not _lock_is_free(lock_file)  # the inner exit did not release the outer hold
    assert _lock_is_free(lock_file)


def test_content_file_names_by_content(tmp_path):
    a = content_file(tmp_path, "case", b"one", ".npz")
    assert a.name.startswith("case-") and a.suffix == ".npz" and a.read_bytes() == b"one"
    assert content_file(tmp_path, "case", b"one", ".npz") == a
    assert content_file(tmp_path, "case", b"two", ".npz") != a
