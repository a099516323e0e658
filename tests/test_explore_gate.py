"""gen/explore_hw.py through the exploration, with the real gate-level model (slow: a Yosys mapping and a
Verilator build per PE design, tens of seconds each; needs ``make osu018``).

The area of a uniform point is ``R * C`` times the mapped PE's (asked of gen/pe_energy.py directly);
energies carry a sampling error well below their size; narrower operands on the same PE switch less;
a local and a Dask run of the same exploration (cold result cache, warm simulator builds) agree
exactly.
"""

import pytest

from axmac.config import ArrayConfig
from axmac.gen.explore import explore
from axmac.gen.explore_cache import Cache
from axmac.gen.pe_energy import PEDesign, pe_area

from .test_asic import osu018
from .test_explore import figures_of

pytestmark = pytest.mark.slow

CFG = ArrayConfig(rows=4, cols=4, acc_depth=64)
KW = {"array": CFG, "multipliers": ("exact", "drum:4"), "bypasses": ("none",), "gatings": ("none",), "widths": (4,),
      "strategies": ("uniform",), "limit": 100, "energy_images": 1, "energy_samples": 6}


def test_gate_level_exploration(tmp_path):
    tech = osu018()
    doc = explore(None, "digits", jobs=2, cache=Cache(tmp_path / "a"), **KW)
    pts = {p["label"]: p for p in doc["points"]}
    assert set(pts) == {"exact", "drum:4", "exact @4b"}
    array_pe = {"kind": "ws"} if "kind" in PEDesign.__dataclass_fields__ else {}  # the array's PE where offered
    for spec in ("exact", "drum:4"):
        _, groups = pe_area(PEDesign(multiplier=spec, **array_pe), tech)
        assert pts[spec]["area_um2"] == pytest.approx(CFG.pes * sum(groups.values()))
    assert pts["drum:4"]["area_um2"] < pts["exact"]["area_um2"]
    for p in pts.values():
        assert 0 < p["energy_stderr_pj"] < 0.1 * p["energy_pj"]
    assert pts["exact @4b"]["energy_pj"] < pts["exact"]["energy_pj"]
    assert pts["exact @4b"]["area_um2"] == pts["exact"]["area_um2"]  # the same array
    ps = doc["precision_scaling"]["rows"]
    assert [r["bits"] for r in ps] == [8, 4] and 0 < ps[1]["multiplier_measured_ratio"] < 1
    again = explore(None, "digits", jobs=2, cache=Cache(tmp_path / "a"), **KW)
    assert again["run"]["jobs_run"] == {"accuracy": 0, "hardware": 0} and figures_of(again) == figures_of(doc)


def test_local_and_dask_agree_on_gate_level_figures(tmp_path):
    distributed = pytest.importorskip("distributed")
    osu018()
    local = explore(None, "digits", jobs=2, cache=Cache(tmp_path / "local"), **KW)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        dask = explore(None, "digits", scheduler=cluster.scheduler_address, cache=Cache(tmp_path / "dask"), **KW)
    assert dask["run"]["jobs_run"]["hardware"] == local["run"]["jobs_run"]["hardware"] > 0
    assert figures_of(dask) == figures_of(local) and dask["front"] == local["front"]
