"""golden.array_tiles / array_program / array_payload: tiles cover every MAC once, the streams
compute Y when evaluated tile by tile (a plain host-side reading of docs/array.md), and the
payload bits equal amaranth.lib.data's layouts of the contract's table."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from axmac.config import ArrayConfig
from axmac.errors import AxmacError
from axmac.golden.array_payload import stream_layouts
from axmac.golden.array_program import gemm_program
from axmac.golden.array_tiles import choose_gpack, estimate_cycles, plan_gemm
from axmac.golden.requant import RequantParams

RNG = np.random.default_rng(3)


def random_gemm(g, m, k, n, lo=-128, hi=128):
    return RNG.integers(lo, hi, (g, m, k)), RNG.integers(lo, hi, (g, k, n))


# -- tiles ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dataflow", ["ws", "os"])
@pytest.mark.parametrize("R,C,D", [(1, 1, 1), (3, 2, 4), (4, 4, 64), (8, 3, 5), (2, 8, 3)])
@pytest.mark.parametrize("G,M,K,N", [(1, 7, 5, 3), (6, 4, 9, 1), (4, 3, 2, 2), (3, 10, 1, 5)])
def test_tiles_cover_every_mac_once(dataflow, R, C, D, G, M, K, N):
    cfg = ArrayConfig(rows=R, cols=C, dataflow=dataflow, acc_depth=D)
    for gp in sorted({1, choose_gpack(cfg, M, K, N, G)}):
        plan = plan_gemm(cfg, M, K, N, G, gp=gp)
        cover = np.zeros((G, M, K, N), np.int64)
        f = {name: plan.field(name) for name in ("g0", "g1", "m0", "m1", "k0", "k1", "n0", "n1", "count", "m")}
        for t in range(len(plan.tiles)):
            g0, g1, m0, m1, k0, k1, n0, n1 = (int(f[x][t]) for x in ("g0", "g1", "m0", "m1", "k0", "k1", "n0", "n1"))
            gc = g1 - g0
            assert gc <= gp and gc * (n1 - n0) <= C and gc * 1 <= C
            if dataflow == "ws":
                assert gc * (k1 - k0) <= R and m1 - m0 <= D and f["count"][t] == m1 - m0 and f["m"][t] == 0
            else:
                assert m1 - m0 <= R and (k0, k1) == (0, K) and f["count"][t] == gc * K and f["m"][t] == m1 - m0
            cover[g0:g1, m0:m1, k0:k1, n0:n1] += 1
        assert np.all(cover == 1) and plan.macs.sum() == G * M * K * N


def test_tile_order_and_flags():
    cfg = ArrayConfig(rows=2, cols=2, acc_depth=3)
    plan = plan_gemm(cfg, 5, 5, 3, 1)
    order = plan.tiles[:, [4, 2, 3]].tolist()  # ni, mi, ki
    assert order == sorted(order) and order[:4] == [[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 1, 0]]
    assert plan.field("first").tolist()[:4] == [1, 0, 0, 1] and plan.field("last").tolist()[:4] == [0, 0, 1, 0]
    # one parameter block per column block: on the last K tile of its first row block
    assert plan.field("qp_commit").nonzero()[0].tolist() == [2, 8]
    assert plan_gemm(cfg, 5, 5, 3, 1, params=False).commits == 0
    os_plan = plan_gemm(cfg.replace(dataflow="os"), 5, 5, 3, 1)
    assert os_plan.tiles[:, [4, 2]].tolist() == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
    assert os_plan.field("qp_commit").tolist() == [1, 0, 0, 1, 0, 0]


def test_depthwise_packing_choice():
    """3x3 depthwise on 8x8: eight channels per ws tile (one tap row each), estimate 9/8 per channel."""
    ws = ArrayConfig(rows=8, cols=8, acc_depth=256)
    assert choose_gpack(ws, 256, 9, 1, 32) == 8
    assert estimate_cycles(ws, 256, 9, 1, 32, 8) == 4 * 9 * 256  # 4 group sets x 9 one-row K tiles
    assert estimate_cycles(ws, 256, 9, 1, 32, 1) == 32 * 2 * 256  # 32 channels x 2 K tiles
    os16 = ArrayConfig(rows=16, cols=16, dataflow="os")
    assert choose_gpack(os16, 64, 9, 1, 32) == 2  # K = 9 < R = 16: two channels fill a tile's 16 beats
    assert choose_gpack(ws, 256, 9, 16, 1) == 1  # an ordinary layer: no packing
    with pytest.raises(AxmacError, match="pack"):
        plan_gemm(ws, 4, 9, 1, 32, gp=9)


@pytest.mark.parametrize("bad", [dict(m=0), dict(k=-1), dict(groups=0), dict(n=2.5)])
def test_bad_gemm(bad):
    args = dict(m=3, k=3, n=3, groups=1) | bad
    with pytest.raises(AxmacError):
        plan_gemm(ArrayConfig(), **args)
    with pytest.raises(AxmacError, match="K = 70000"):
        plan_gemm(ArrayConfig(dataflow="os"), 2, 70000, 2)


# -- streams ------------------------------------------------------------------------------------------
def host_eval(cfg: ArrayConfig, prog) -> np.ndarray:
    """Evaluate the streams tile by tile, as docs/array.md says the array combines them (exact
    products, no timing): ws beat i of a tile -> row x_i @ W_block, accumulated over K tiles by
    first/last; os -> X_block^T-as-beats contracted over the tile's beats, rows bottom first."""
    R, C = cfg.rows, cfg.cols
    out, acc = [], {}
    wa = ab = 0
    for t in range(len(prog.cmd["count"])):
        count, first, last = (int(prog.cmd[f][t]) for f in ("count", "first", "last"))
        if cfg.dataflow == "ws":
            wblk = prog.w[wa:wa + R]
            wa += R
            for i in range(count):
                s = prog.a[ab + i] @ wblk
                acc[i] = s if first else acc[i] + s
                if last:
                    out.append(acc[i])
        else:
            y = prog.a[ab:ab + count].T @ prog.w[ab:ab + count]  # (R, C)
            out.extend(y[i] for i in range(int(prog.cmd["m"][t]) - 1, -1, -1))
        ab += count
    return np.array(out, np.int64).reshape(-1, C)


@pytest.mark.parametrize("dataflow", ["ws", "os"])
@pytest.mark.parametrize("R,C,D,G,M,K,N", [(3, 2, 4, 1, 7, 5, 3), (4, 4, 8, 6, 5, 9, 1), (4, 6, 3, 3, 4, 3, 2),
                                         (2, 2, 64, 1, 1, 1, 1), (5, 3, 2, 2, 9, 7, 4)])
def test_streams_compute_y(dataflow, R, C, D, G, M, K, N):
    cfg = ArrayConfig(rows=R, cols=C, dataflow=dataflow, acc_depth=D)
    x, w = random_gemm(G, M, K, N)
    prog = gemm_program(cfg, x, w)
    assert prog.a.shape[1] == R and prog.w.shape[1] == C and len(prog.qp["zp"]) == 0
    y = prog.assemble(host_eval(cfg, prog))
    assert np.array_equal(y, np.matmul(x, w))
    assert np.array_equal(prog.expected(), np.matmul(x, w))
    tiles = prog.out_tiles
    assert len(tiles) == len(prog.out_index) and np.all(np.diff(tiles) >= 0)
    m0, m1 = prog.plan.field("m0")[tiles], prog.plan.field("m1")[tiles]
    row = np.where(prog.out_index >= 0, prog.out_index // N % M, -1).max(axis=1)
    assert np.all((m0 <= row) & (row < m1))  # each beat's rows belong to its tile
    unused = prog.out_index < 0
    assert np.all(host_eval(cfg, prog)[unused] == 0)  # zero lanes in, zero results out


def test_qp_beats_per_column_block():
    cfg = ArrayConfig(rows=2, cols=3, acc_depth=4)
    x, w = random_gemm(2, 3, 4, 2)
    bias = np.arange(4) * 10
    rq = RequantParams(np.arange(4) + (1 << 30), np.arange(4) + 20, zp=2, lo=-9, hi=9, relu=True)
    prog = gemm_program(cfg, x, w, bias=bias, requant=rq)
    # gp = 1 (N = 2, K = 4 > R / 2): channels g*N + n, one qp beat per (group, column block)
    assert prog.plan.gp == 1 and len(prog.qp["zp"]) == 2
    assert prog.qp["col.bias"].tolist() == [[0, 10, 0], [20, 30, 0]]
    assert prog.qp["col.shift"].tolist() == [[20, 21, 0], [22, 23, 0]]
    assert prog.qp["requant"].tolist() == [1, 1] and prog.qp["relu"].tolist() == [1, 1]
    assert prog.qp["lo"].tolist() == [-9, -9] and prog.qp["hi"].tolist() == [9, 9]
    want = rq.apply((np.matmul(x, w) + bias.reshape(2, 1, 2)).transpose(1, 0, 2).reshape(3, 4)).reshape(3, 2, 2)
    assert np.array_equal(prog.expected(), want.transpose(1, 0, 2))


def test_program_bad_input():
    cfg = ArrayConfig(rows=2, cols=2)
    x, w = random_gemm(1, 2, 3, 2)
    with pytest.raises(AxmacError, match="do not match"):
        gemm_program(cfg, x, w[:, :2])
    with pytest.raises(AxmacError, match="out of range"):
        gemm_program(cfg, x * 4, w)
    with pytest.raises(AxmacError, match="entries"):
        gemm_program(cfg, x, w, bias=[1, 2, 3])
    with pytest.raises(AxmacError, match="'acc'"):
        gemm_program(cfg.replace(output_stage="acc"), x, w, requant=RequantParams(1, 0))
    with pytest.raises(AxmacError, match="integer"):
        gemm_program(cfg, x.astype(float), w)


# -- payloads -----------------------------------------------------------------------------------------
def amaranth_layouts(cfg: ArrayConfig) -> dict:
    """The contract's table written with amaranth.lib.data."""
    op = signed(cfg.bits) if cfg.signed else unsigned(cfg.bits)
    acc = signed(cfg.acc_bits)
    col = data.StructLayout({"bias": acc, "mult": unsigned(31), "shift": unsigned(6)})
    return {"cmd": data.StructLayout({"count": unsigned(16), "first": 1, "last": 1, "qp_commit": 1, "m": unsigned(7)}),
            "w": data.ArrayLayout(op, cfg.cols), "a": data.ArrayLayout(op, cfg.rows),
            "qp": data.StructLayout({"col": data.ArrayLayout(col, cfg.cols), "zp": acc, "lo": acc, "hi": acc,
                                     "relu": 1, "requant": 1}),
            "o": data.ArrayLayout(acc, cfg.cols)}


def _const(layout, value) -> int:
    return layout.const(value).as_value().value


@pytest.mark.parametrize("cfg", [ArrayConfig(rows=3, cols=2, bits=8, acc_bits=32),
                                 ArrayConfig(rows=2, cols=3, bits=5, signed=False, acc_bits=12),
                                 ArrayConfig(rows=1, cols=2, bits=16, acc_bits=64)])
def test_payload_bits_equal_amaranth_layouts(cfg):
    mine = stream_layouts(cfg)
    ref = amaranth_layouts(cfg)
    fmt = cfg.operand
    A = cfg.acc_bits
    n = 6
    beats = {
        "cmd": {"count": RNG.integers(0, 1 << 16, n), "first": RNG.integers(0, 2, n), "last": RNG.integers(0, 2, n),
                "qp_commit": RNG.integers(0, 2, n), "m": RNG.integers(0, 128, n)},
        "w": {"w": RNG.integers(fmt.lo, fmt.hi + 1, (n, cfg.cols))},
        "a": {"a": RNG.integers(fmt.lo, fmt.hi + 1, (n, cfg.rows))},
        "qp": {"col.bias": RNG.integers(-(1 << (A - 1)), (1 << (A - 1)) - 1, (n, cfg.cols), dtype=np.int64),
               "col.mult": RNG.integers(0, 1 << 31, (n, cfg.cols)), "col.shift": RNG.integers(0, 64, (n, cfg.cols)),
               "zp": RNG.integers(-(1 << (A - 1)), (1 << (A - 1)) - 1, n, dtype=np.int64),
               "lo": np.full(n, -(1 << (A - 1))), "hi": np.full(n, (1 << (A - 1)) - 1),
               "relu": RNG.integers(0, 2, n), "requant": RNG.integers(0, 2, n)},
        "o": {"o": RNG.integers(-(1 << (A - 1)), (1 << (A - 1)) - 1, (n, cfg.cols), dtype=np.int64)},
    }
    for name, values in beats.items():
        lay = mine[name]
        assert lay.width == ref[name].size, name
        packed = lay.pack(values)
        for i in range(n):
            if name == "qp":
                v = {"col": [{"bias": int(values["col.bias"][i, c]), "mult": int(values["col.mult"][i, c]),
                              "shift": int(values["col.shift"][i, c])} for c in range(cfg.cols)],
                     **{k: int(values[k][i]) for k in ("zp", "lo", "hi", "relu", "requant")}}
            elif name == "cmd":
                v = {k: int(values[k][i]) for k in values}
            else:
                v = [int(e) for e in values[name][i]]
            assert packed[i] == _const(ref[name], v), (name, i)
        back = lay.unpack(packed)
        for k, arr in values.items():
            assert np.array_equal(back[k], np.asarray(arr).reshape(back[k].shape)), (name, k)


def test_payload_range_checks_and_program_payloads():
    cfg = ArrayConfig(rows=2, cols=2, acc_depth=4)
    lay = stream_layouts(cfg)
    with pytest.raises(AxmacError, match="does not fit"):
        lay["a"].pack({"a": np.array([[128, 0]])})
    with pytest.raises(AxmacError, match="no values"):
        lay["cmd"].pack({"count": [1]})
    x, w = random_gemm(1, 3, 3, 3)
    prog = gemm_program(cfg, x, w, bias=[1, 2, 3])
    p = prog.payloads()
    assert len(p["w"]) == len(prog.w) and len(p["a"]) == len(prog.a) and len(p["qp"]) == 2
    assert np.array_equal(lay["a"].unpack(p["a"])["a"], prog.a)
    assert lay["cmd"].unpack(p["cmd"])["count"].tolist() == prog.cmd["count"].tolist()
