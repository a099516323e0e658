"""Co-simulation of the array RTL (hw/top.py) against the golden array model (golden/array.py).

Every test runs random GEMMs through :mod:`axmac.sim.array_run` on the harnessed RTL: each
``o`` beat's value and the cycle it leaves, every stream's beat count and the activity counters
are compared with the register-level golden model, and the assembled ``Y`` with the plain GEMM
reference (``Program.expected``) wherever no accumulator can overflow.

One Verilator build per configuration (``build/cosim/array/<config hash>``), reused by every
test and every run on it. The fast subset is three builds that cover the axes together
(:data:`FAST`): ws and os; 1x4, 3x5 and 4x4 arrays; 4-, 8- and 12-bit operands, signed and
unsigned; wrap and saturate; exact, ``mitchw`` and ``drum`` multipliers; no bypass, two cases and
all four; every gating mode; counters; edge tiles, K much larger than the rows, grouped GEMMs
(block-diagonal packing), accumulator row blocks; random idle/backpressure and streams that keep
up. The slow matrix (:data:`SLOW`) adds 1x1, 8x8 and 16x16, ``lut:`` and ``verilog:``
multipliers and other combinations of the same axes. A mutated golden expectation (one bit of
one value, or one cycle) must make a run fail.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from axmac.config import ArrayConfig
from axmac.paths import BUILD_ROOT
from axmac.sim.array_tb import describe
from axmac.sim.cosim import array_build, array_job, run_job
from axmac.sim.multiplier_tb import lut_file

pytestmark = pytest.mark.rtl

DATA = Path(__file__).parent / "data"
BODY = "axmac.sim.array_run:gemms_body"

#: The fast builds (see the module docstring).
FAST = {
    "4x4_ws_s8": ArrayConfig(rows=4, cols=4, acc_depth=64),
    "3x5_os_u4": ArrayConfig(rows=3, cols=5, bits=4, signed=False, acc_bits=9, overflow="saturate", dataflow="os",
                             multiplier="mitchw:2", bypass="all", gating="enable"),
    "1x4_ws_s12": ArrayConfig(rows=1, cols=4, bits=12, acc_bits=25, overflow="saturate", multiplier="drum:4",
                              bypass="zero,one", gating="icg", acc_depth=8),
}


def lut(bits: int, signed: bool) -> str:
    """A ``lut:`` spec whose table lies where every run finds it (part of the build's key)."""
    return f"lut:{lut_file(BUILD_ROOT / 'cosim' / 'luts', bits, signed)}"


def slow_configs() -> dict:
    return {
        "1x1_ws_s8": ArrayConfig(rows=1, cols=1, acc_depth=16, counters="none"),
        "1x1_os_u8_drum": ArrayConfig(rows=1, cols=1, signed=False, acc_bits=17, overflow="saturate",
                                      dataflow="os", multiplier="drum:4", bypass="all", gating="enable"),
        "1x4_os_s4_mitchw": ArrayConfig(rows=1, cols=4, bits=4, acc_bits=8, dataflow="os", multiplier="mitchw:2",
                                        bypass="zero", gating="icg"),
        "3x5_ws_s12_sat": ArrayConfig(rows=3, cols=5, bits=12, acc_bits=25, overflow="saturate",
                                      bypass="add-zero,opposite", acc_depth=16),
        "4x4_os_s6_lut": ArrayConfig(rows=4, cols=4, bits=6, dataflow="os", multiplier=lut(6, True), bypass="one",
                                     gating="enable"),
        "4x4_ws_u8_verilog": ArrayConfig(rows=4, cols=4, signed=False, multiplier=f"verilog:{DATA / 'approx_mul8_u.v'}",
                                         bypass="all", gating="icg", acc_depth=32),
        "4x4_ws_s4_lut_wrap": ArrayConfig(rows=4, cols=4, bits=4, acc_bits=8, multiplier=lut(4, True),
                                          bypass="zero,opposite", acc_depth=16),
        "8x8_ws_s8": ArrayConfig(rows=8, cols=8),
        "8x8_os_s8_drum": ArrayConfig(rows=8, cols=8, dataflow="os", multiplier="drum:4", bypass="all",
                                      gating="enable"),
        "16x16_ws_s8": ArrayConfig(rows=16, cols=16, bypass="zero,one", gating="enable", acc_depth=64),
        "16x16_os_u4_mitchw": ArrayConfig(rows=16, cols=16, bits=4, signed=False, acc_bits=9, overflow="saturate",
                                          dataflow="os", multiplier="mitchw:3", bypass="all", gating="icg"),
    }


def cases(cfg: ArrayConfig, *, big: bool = False) -> list[dict]:
    """GEMMs for one build: edge tiles on every axis, K much larger than the rows, a single MAC,
    grouped GEMMs, more rows than the accumulator depth (ws), with random idle cycles and
    backpressure, and the same shapes with streams that keep up."""
    R, C, D = cfg.rows, cfg.cols, cfg.acc_depth
    m_big = D + 3 if cfg.dataflow == "ws" else 2 * R + 1
    shapes = [(2 * R + 1, 8 * R + 1, 2 * C + 1, 1), (1, 1, 1, 1), (m_big, R + 1, C, 1), (5, 2, 3, 3)]
    if big:
        shapes.append((3 * R, 16 * R + 5, 3 * C, 1))
    out = []
    for i, (m, k, n, g) in enumerate(shapes):
        for idle, stall in ((0.3, 0.4), (0.0, 0.0)):
            out.append({"m": m, "k": k, "n": n, "groups": g, "bias": i != 1, "requant": i % 2 == 0,
                        "idle": idle, "stall": stall})
    out.append({"m": 7, "k": 3 * R, "n": C, "idle": 0.85, "stall": 0.1, "requant": True})  # starved inputs
    out.append({"m": 7, "k": 3 * R, "n": C, "idle": 0.05, "stall": 0.9})  # o rarely ready: the FIFO fills
    return out


def check(cfg: ArrayConfig, **kw) -> dict:
    build = array_build(cfg)
    res = run_job(build, array_job(cfg, BODY, {"config": cfg.to_dict(), "cases": cases(cfg, **kw), "seed": 7}))
    assert res["matched"], describe(res["mismatch"])
    gemms = res["gemms"]
    assert len(gemms) == len(cases(cfg, **kw)) and all(g["cycles"] > 0 and g["beats"] > 0 for g in gemms)
    if cfg.acc_bits >= 2 * cfg.bits + 8:  # room for sums: Y is checked against the GEMM reference too
        assert sum(g["referenced"] for g in gemms) >= len(gemms) // 2
    return res


@pytest.mark.parametrize("name", sorted(FAST))
def test_fast_matrix(name):
    res = check(FAST[name])
    keep_up = [g for g in res["gemms"] if g["idle"] == g["stall"] == 0]
    slowed = [g for g in res["gemms"] if g["idle"] or g["stall"]]
    # idle inputs and backpressure cost cycles; keeping up never costs more for the same shape
    assert sum(g["cycles"] for g in slowed[:8:2]) >= sum(g["cycles"] for g in keep_up[:4])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(slow_configs()))
def test_slow_matrix(name):
    check(slow_configs()[name], big=True)


@pytest.mark.parametrize("mutation", [{"kind": "value", "beat": 5, "lane": 1, "bit": 0},
                                      {"kind": "value", "beat": 0, "lane": 0, "bit": 31},
                                      {"kind": "cycle", "beat": 12}])
def test_mutated_golden_fails(mutation):
    cfg = FAST["4x4_ws_s8"]
    one = [{"m": 9, "k": 13, "n": 6, "idle": 0.3, "stall": 0.3, "requant": False}]
    res = run_job(array_build(cfg), array_job(cfg, BODY, {"config": cfg.to_dict(), "cases": one, "seed": 3},
                                              mutation=mutation))
    mm = res["mismatch"]
    assert not res["matched"] and mm["what"] == mutation["kind"] and mm["beat"] == mutation["beat"], mm
    if mutation["kind"] == "value":
        assert mm["lane"] == mutation["lane"] and mm["got"] ^ mm["want"] == 1 << mutation["bit"]
        assert mm["tile"] is not None and len(mm["element"]) == 3 and mm["gemm"].startswith("case 0")
    else:
        assert mm["want"] == mm["got"] + 1
    assert f"o beat {mutation['beat']}" in describe(mm)


def test_keep_up_utilization():
    """ws with K = 8R and several column blocks: the RTL keeps the array busy (docs/array.md:
    fill and drain once per run, tiles back to back)."""
    cfg = FAST["4x4_ws_s8"]
    one = [{"m": 64, "k": 32, "n": 12, "idle": 0, "stall": 0, "bias": False}]
    res = run_job(array_build(cfg), array_job(cfg, BODY, {"config": cfg.to_dict(), "cases": one, "seed": 1}))
    g = res["gemms"][0]
    assert res["matched"] and g["utilization"] > 0.9 and g["macs"] == 64 * 32 * 12
    assert np.isclose(g["utilization"], g["macs"] / (16 * g["cycles"]))
