"""gen/pe_energy.py, gen/bypass_study.py: a PE's energy from its gate-level activity (slow: one Verilator
build per PE design, about 20-60 s each; needs `make osu018`).

Sanity on crafted workloads: all-zero weights gate nearly every multiplier cycle, dense random data
none, and on sparse data the clock-gated PE spends no more than the ungated one. Every measurement
also checks the simulated outputs against the golden PE, slot for slot.
"""

import numpy as np
import pytest

from axmac.config import ArrayConfig
from axmac.errors import AxmacError
from axmac.gen.bypass_study import bypass_study
from axmac.gen.pe_energy import PEDesign, measure_pe
from axmac.gen.pe_workload import LayerOperands, crafted_segments

from .test_asic import osu018

CFG = ArrayConfig()
GATINGS = ("none", "enable", "icg")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["pe", "ws"])
def crafted(request):
    """Both PEs: the stand-alone one (hw/pe.py) and the array's (hw/pe_ws.py, what ``axmac energy`` measures)."""
    tech = osu018()
    out = {}
    for kind in ("zero_weights", "dense", "sparse"):
        segs = crafted_segments(kind, 6, CFG, m=32, seed=5)
        out[kind] = {g: measure_pe(PEDesign(bypass="zero", gating=g, kind=request.param), segs, tech=tech)
                     for g in GATINGS}
    return out


def test_all_zero_weights_gate_nearly_everything(crafted):
    m = crafted["zero_weights"]
    assert m["icg"].gclk_duty < 0.02
    assert m["icg"].per_slot() <= m["none"].per_slot()
    assert m["enable"].groups_per_slot()["multiplier"] < 0.01


def test_dense_random_data_gates_nothing(crafted):
    m = crafted["dense"]
    assert m["icg"].gclk_duty > 0.99
    # nothing to gate: the gating hardware only adds
    assert m["icg"].per_slot() >= m["none"].per_slot() and m["enable"].per_slot() >= m["none"].per_slot()
    mul = [m[g].groups_per_slot()["multiplier"] for g in GATINGS]
    assert max(mul) / min(mul) < 1.05


def test_gated_no_worse_than_ungated_on_sparse_data(crafted):
    m = crafted["sparse"]
    assert m["icg"].per_slot() <= m["none"].per_slot()
    for g in ("enable", "icg"):  # the isolated multiplier switches much less
        assert m[g].groups_per_slot()["multiplier"] < 0.8 * m["none"].groups_per_slot()["multiplier"]


def test_bypass_study_on_small_real_like_data():
    tech = osu018()
    rng = np.random.default_rng(0)
    x = np.maximum(rng.integers(-40, 100, (1, 24, 12)), 0)  # post-ReLU activations: many zeros
    w = rng.integers(-3, 4, (1, 12, 6))  # small weights: many 0 and +-1
    ops = [LayerOperands("conv", x, w, 1, "conv"), LayerOperands("fc", x[:, :2], w, 1, "gemm")]
    res = bypass_study(ArrayConfig(rows=4, cols=4, acc_depth=16), operands=ops, per_layer=3,
                       designs=(("none", "none"), ("all", "icg")), tech=tech)
    base, full = res["designs"]
    assert full["area_um2"] > base["area_um2"] and full["area_cost_um2"] == full["area_um2"] - base["area_um2"]
    assert 0.0 < full["gclk_duty"] < 1.0
    assert base["stderr_uj"] >= 0 and base["pj_per_mac"] > 0
    a = res["analytic"]
    assert 0 < a["p_mul"] < 1 and a["eq1_paper_energies"] > a["eq41"] > 0
    assert set(a["measured"]) == {"all/icg"}
    assert a["measured"]["all/icg"] == pytest.approx(full["saving_pct"] / 100)


def test_verilator_toggles_equal_icarus_zero_delay():
    """Every net of the PE: Verilator (with -fno-gate) counts what the event simulator counts."""
    import shutil

    from axmac.gen.activity import GateSim
    from axmac.gen.pe_energy import RESET_CYCLES, pe_area
    from axmac.gen.pe_workload import stimulus

    if shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog is not installed (make icarus)")
    mapped, _ = pe_area(PEDesign(), osu018())
    st, win = stimulus(crafted_segments("sparse", 8, CFG, m=3, seed=2), reset=RESET_CYCLES)  # idle cycles too
    ver = GateSim(mapped).run(st, win)
    ica = GateSim(mapped, simulator="icarus").run(st, win)
    assert ver.outputs == ica.outputs
    assert np.array_equal(ver.toggles, ica.toggles)


def test_array_pe_checked_against_golden_and_larger_by_its_shadow_weight():
    """The array's PE (hw/pe_ws.py): every slot checked against the golden PE (weights committed from the
    shadow register), one-cycle segments included; it adds the shadow weight and its flags to hw/pe.py."""
    tech = osu018()
    cfg = ArrayConfig(rows=2, cols=2)
    segs = crafted_segments("sparse", 4, cfg, m=3, seed=7) + crafted_segments("dense", 2, cfg, m=1, seed=8)
    ws = measure_pe(PEDesign(kind="ws", bypass="all", gating="icg"), segs, tech=tech)
    pe = measure_pe(PEDesign(bypass="all", gating="icg"), segs, tech=tech)
    assert ws.slots.sum() == pe.slots.sum() == 14
    extra = ws.area["pe registers"] - pe.area["pe registers"]
    assert 10 * 96 <= extra <= 12 * 96  # shadow weight (8) and its two flags, the commit register: DFFPOSX1 each
    assert 0 < ws.gclk_duty < 1
    with pytest.raises(AxmacError, match="only wraps"):
        PEDesign(overflow="saturate")
