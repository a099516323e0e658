"""hw/mesh.py: structure of the mesh (ports per dataflow, PE names, counters) and its wavefront timing.

The mesh's arithmetic and counters are checked end to end against the golden model in
tests/test_top.py; here a 3x4 ws mesh is driven directly: a beat entering row r in cycle n + r
(skewed) is summed down column c and leaves ``psum[c]`` in cycle n + R + c.
"""

import numpy as np
import pytest
from amaranth.hdl import Shape

from axmac.config import ArrayConfig
from axmac.hw.mesh import Mesh
from axmac.hw.pe_os import OutputStationaryPE
from axmac.hw.pe_ws import WeightStationaryPE
from axmac.verilog import to_verilog
from tests.array_bench import run_sim


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_ports_and_pes():
    ws = Mesh(config=ArrayConfig(rows=3, cols=5, bits=6, acc_bits=20))
    assert set(ws.signature.members) == {"rows_in", "wl", "psum", "counters"}
    assert Shape.cast(ws.counters.shape()).width == 15 * 7 * 32
    assert Shape.cast(ws.psum.shape()).width == 5 * 20
    assert len(ws.pes) == 15 and all(isinstance(p, WeightStationaryPE) for p in ws.pes.values())
    os_ = Mesh(config=ArrayConfig(rows=2, cols=2, dataflow="os", counters="none", gating="icg"))
    assert set(os_.signature.members) == {"rows_in", "w", "drain"}
    assert all(isinstance(p, OutputStationaryPE) for p in os_.pes.values())
    assert list(os_.extra_verilog) == ["axmac_icg.v"]
    text = to_verilog(os_, "mesh")
    assert all(f"pe_{r}_{c}" in text for r in range(2) for c in range(2)) and "drain_load_1" in text
    with pytest.raises(TypeError, match="config must be an ArrayConfig, not None"):
        Mesh(config=None)


def test_ws_wavefront():
    """Weights W (R x C) written through the lanes, then beats x_n: psum[c] = x_n . W[:, c] in cycle n + R + c."""
    R, C = 3, 4
    cfg = ArrayConfig(rows=R, cols=C, counters="none")
    dut = Mesh(config=cfg)
    rng = np.random.default_rng(5)
    W = rng.integers(-128, 128, (R, C))
    X = rng.integers(-128, 128, (6, R))
    start = R + C  # all shadows written by then
    seen = {}

    async def bench(ctx):
        for t in range(start + len(X) + R + C + 2):
            for c in range(C):  # lane c carries row t - c (skewed), rows 0..R-1 in cycles c..c+R-1
                j = t - c
                ctx.set(dut.wl[c].valid, 0 <= j < R)
                ctx.set(dut.wl[c].row, max(0, min(j, R - 1)))
                ctx.set(dut.wl[c].value, int(W[j, c]) if 0 <= j < R else 0)
            for r in range(R):  # beat n enters row r in cycle start + n + r
                n = t - start - r
                ctx.set(dut.rows_in[r].valid, 0 <= n < len(X))
                ctx.set(dut.rows_in[r].first, n == 0)
                ctx.set(dut.rows_in[r].value, int(X[n, r]) if 0 <= n < len(X) else 0)
            for c in range(C):
                seen[t, c] = ctx.get(dut.psum[c])
            await ctx.tick()

    run_sim(dut, bench)
    Y = X @ W
    for n in range(len(X)):
        for c in range(C):
            assert seen[start + n + R + c, c] == Y[n, c], (n, c)
