"""The cocotb runner helper: a passing testbench passes, a failing one raises."""

import pytest

from axmac.hw.multipliers import make_hw_multiplier
from axmac.paths import BUILD_ROOT
from axmac.sim.runner import SimulationFailed, run_cocotb
from axmac.verilog import write_design

pytestmark = pytest.mark.rtl


def _run(pairs):
    srcs = write_design(make_hw_multiplier("exact", 8, True), "mul", BUILD_ROOT / "runner_smoke")
    return run_cocotb(sources=srcs, toplevel="mul", test_module="axmac.sim.smoke_tb",
                      build_dir=BUILD_ROOT / "runner_smoke", extra_env={"AXMAC_PAIRS": pairs})


def test_runner_passes_and_fails():
    assert _run("3,5;-128,-128;-1,127") == (1, 0)
    # 200 does not fit a signed 8-bit operand: the DUT sees -56 * 3 != 600 and the check fails.
    with pytest.raises(SimulationFailed):
        _run("200,3")
