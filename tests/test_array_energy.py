"""gen/array_energy.py, gen/array_rest.py: the array's energy from its PE and the rest, sampled and scaled.

Fast: the design split around the PEs, the streams a golden run drives, sampled runs, the
combination of the parts. Slow (a PE and a rest-of-array simulation build per design, minutes):
the whole measurement on small layers and its figures against their computations. The crafted
workloads (all-zero weights gate nearly everything, dense random data gates nothing, gated <=
ungated on sparse data) run on the array's PE in tests/test_pe_energy.py.
"""

import numpy as np
import pytest

from axmac.config import ArrayConfig
from axmac.errors import AxmacError
from axmac.gen.array_energy import combine, measure_array, variants_for
from axmac.gen.array_rest import RESET, run_stimulus, sample_runs, split_design
from axmac.gen.pe_workload import LayerOperands
from axmac.golden.array import simulate
from axmac.golden.array_program import gemm_program
from axmac.golden.requant import RequantParams

CFG = ArrayConfig(rows=2, cols=2, acc_depth=4, counters="pe", output_stage="acc", bypass="all", gating="icg")


def _ops(seed=0):
    """Two small layers of real-looking data: post-ReLU activations (many zeros), small weights."""
    rng = np.random.default_rng(seed)
    x = np.maximum(rng.integers(-40, 100, (1, 6, 5)), 0)
    w = rng.integers(-3, 4, (1, 5, 3))
    conv = LayerOperands("conv", x, w, 1, "conv", array_cycles=40, bias=np.arange(3, dtype=np.int64) - 1)
    fc = LayerOperands("fc", x[:, :1], w, 1, "gemm", array_cycles=20,
                       requant=RequantParams(np.array([1 << 30, 1 << 29, 1 << 30]), np.array([31, 31, 31])))
    return [conv, fc]


def test_variants():
    assert variants_for(ArrayConfig(), "none") == [("none", "none")]
    assert variants_for(CFG, "none") == [("none", "none"), ("zero,one,add-zero,opposite", "icg")]
    g = variants_for(ArrayConfig(bypass="zero"), "gating")
    assert g == [("none", "none"), ("zero", "none"), ("zero", "enable"), ("zero", "icg")]
    b = variants_for(ArrayConfig(), "bypass")
    assert b[0] == ("none", "none") and len(b) == 6 and b[-1] == ("zero,one,add-zero,opposite", "none")
    with pytest.raises(AxmacError, match="--compare"):
        variants_for(CFG, "everything")


def test_split_design_around_the_pes(tmp_path):
    rest, stubs, rtl = split_design(CFG, tmp_path)
    text, stub = rest.read_text(), stubs.read_text()
    for r in range(2):
        for c in range(2):
            name = f"\\top.mesh.pe_{r}_{c} "
            assert f"module {name}" in stub and f"module {name}" in rtl and f"module {name}" not in text
    assert "module \\top.mesh.pe_0_0.mult" in rtl and ".mult" not in stub  # submodules: RTL only
    assert "module \\top.mesh " in text and "module \\top.acc_0 " in text
    assert "always" not in stub and "input [7:0] a_in;" in stub
    assert "module axmac_icg" in rtl  # the clock-gate cell the PEs instantiate


def test_run_stimulus_replays_the_golden_streams():
    rng = np.random.default_rng(1)
    p = gemm_program(CFG, rng.integers(-5, 5, (3, 5)), rng.integers(-3, 3, (5, 2)), bias=[4, -4])
    run = simulate(CFG, p)
    st = run_stimulus(CFG, p, run)
    assert len(st["rst"]) == RESET + run.cycles + 1 and st["rst"][:RESET].all() and not st["rst"][RESET:].any()
    beats = p.payloads()
    for s in ("cmd", "w", "a", "qp"):
        cyc = np.asarray(run.beat_cycles[s]) + RESET
        valid = st[f"{s}__valid"]
        assert valid.sum() == cyc[-1] - RESET + 1  # streams keep up: a beat is presented until it transfers
        assert [st[f"{s}__payload"][c] for c in cyc] == [int(b) for b in beats[s]]
        assert not valid[cyc[-1] + 1:].any()
    assert st["o__ready"].all()


def test_sampled_runs_are_column_blocks_with_their_parameters():
    ops = _ops()
    runs = sample_runs(ops, CFG, 3, seed=2)
    assert [name for name, _ in runs] == ["conv"] * 3 + ["fc"] * 3
    for name, p in runs:
        op = next(o for o in ops if o.name == name)
        g, m, n = p.shape
        assert g == 1 and n <= CFG.cols and m <= CFG.acc_depth and p.x.shape[2] == 5
        cols = [c for c in range(3) if np.array_equal(op.w[0][:, c], p.w_mat[0][:, 0])]
        assert cols, "the first column of a run is a column of the layer"
        if name == "conv":
            assert p.bias[0] == op.bias[cols[0]]
        assert p.requant is None  # the array's stage is "acc": bias only
    rq = sample_runs(ops, CFG.replace(output_stage="requant"), 2)
    assert rq[-1][1].requant is not None and rq[0][1].requant is None
    with pytest.raises(AxmacError, match="at least 2"):
        sample_runs(ops, CFG, 1)


def test_combine_adds_the_parts_per_image():
    pe = {"layers": {"a": {"busy_pj": 100.0, "stderr_pj": 3.0, "idle_pj": 10.0},
                     "b": {"busy_pj": 50.0, "stderr_pj": 4.0, "idle_pj": 0.0}}}
    rest = {"layers": {"a": {"pj": 40.0, "stderr_pj": 4.0}, "b": {"pj": 30.0, "stderr_pj": 3.0}}}
    out = combine(pe, rest, {"a": 10, "b": 5}, images=2)
    assert out["inference_pj"] == pytest.approx((150 + 80) / 2)
    assert out["stderr_pj"] == pytest.approx(np.sqrt(3 ** 2 + 4 ** 2 + 4 ** 2 + 3 ** 2) / 2)
    assert out["macs"] == 15 and out["pj_per_mac"] == pytest.approx(115 / 15)
    assert out["layers"][0]["energy_pj"] == pytest.approx(75) and out["layers"][0]["pj_per_mac"] == 7.5


@pytest.mark.slow
def test_array_energy_on_small_layers():
    """The whole flow: every simulated output is checked against the golden models inside; here the
    report's figures against the computations under them."""
    from .test_asic import osu018

    tech = osu018()
    cfg = CFG.replace(bypass="none", gating="none")
    res = measure_array(cfg, _ops(), {"conv": 40, "fc": 20}, images=1, samples_per_layer=3, runs_per_layer=2,
                        variants=[("none", "none"), ("zero", "icg")], tech=tech)
    base, gated = res["designs"]
    for d in (base, gated):
        assert d["inference_pj"] == pytest.approx(sum(x["energy_pj"] for x in d["layers"]))
        for x in d["layers"]:
            assert x["energy_pj"] == pytest.approx(x["pe_busy_pj"] + x["pe_idle_pj"] + x["rest_pj"])
            assert x["pe_busy_pj"] > 0 and x["rest_pj"] > 0 and x["stderr_pj"] >= 0
        assert d["pj_per_mac"] == pytest.approx(d["inference_pj"] / d["macs"])
        assert d["macs"] == 6 * 5 * 3 + 1 * 5 * 3
        assert "inputs" not in d["pe"]["pj_per_slot_by_group"]
        assert d["rest"]["cycles"] > 0 and "pe outputs" in d["rest"]["excluded_groups"]
    assert gated["saving_pct"] == pytest.approx(100 * (base["inference_pj"] - gated["inference_pj"])
                                                / base["inference_pj"])
    assert gated["pe_area_cost_pct"] > 0 and 0 < gated["pe"]["gclk_duty"] < 1
    a = gated["analytic"]
    assert 0 < a["p_mul"] < 1 and a["eq1_paper_energies"] > 0 and gated["explanation"]
    assert 0 < base["rest_share"] < 1 and res["stats"]["zero"] > 0
