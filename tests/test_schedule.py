"""onnx_import.lower / onnx_import.schedule / `axmac schedule`: lowering, coverage, cycles equal to the
register-level array model tile by tile, port traffic, batch, packing, CLI."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from axmac.config import ArrayConfig, ConfigError
from axmac.errors import AxmacError
from axmac.gen.cli import main
from axmac.golden.array import simulate
from axmac.golden.array_payload import stream_layouts
from axmac.golden.array_program import gemm_program
from axmac.golden.requant import RequantParams
from axmac.onnx_import import load_model
from axmac.onnx_import.lower import col2out, im2col, lower_network, weight_matrix
from axmac.onnx_import.schedule import TILE_FIELDS, make_schedule

from .test_onnx_import import CONV_CASES, make_model, ref_acc

RNG = np.random.default_rng(7)


def small_cnn():
    """Float Conv -> Relu -> depthwise Conv (stride 2) -> Flatten -> Gemm (transB) -> MatMul."""
    inits = [nh.from_array(RNG.normal(size=(6, 2, 3, 3)).astype(np.float32), "w1"),
             nh.from_array(RNG.normal(size=(6, 1, 3, 3)).astype(np.float32), "w2"),
             nh.from_array(RNG.normal(size=(7, 6 * 4 * 3)).astype(np.float32), "w3"),
             nh.from_array(RNG.normal(size=7).astype(np.float32), "b3"),
             nh.from_array(RNG.normal(size=(7, 5)).astype(np.float32), "w4")]
    nodes = [h.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             h.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             h.make_node("Conv", ["r1", "w2"], ["c2"], name="dw", group=6, strides=[2, 2], pads=[1, 1, 1, 1]),
             h.make_node("Flatten", ["c2"], ["f"], name="flat"),
             h.make_node("Gemm", ["f", "w3", "b3"], ["g"], name="fc", transB=1),
             h.make_node("MatMul", ["g", "w4"], ["y"], name="mm")]
    return make_model(nodes, [h.make_tensor_value_info("x", T.FLOAT, [2, 2, 8, 6])],
                      [h.make_tensor_value_info("y", T.FLOAT, None)], inits, opset=17)


# -- lowering ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("attrs", CONV_CASES, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()) or "plain")
def test_im2col_gemm_equals_direct_conv(attrs):
    g = attrs.get("group", 1)
    c, m = 4, 8 if g != 4 else 4
    w = RNG.integers(-128, 128, (m, c // g, 3, 3)).astype(np.int8)
    x = RNG.integers(0, 256, (2, c, 9, 7)).astype(np.uint8)
    model = make_model([h.make_node("ConvInteger", ["x", "w", "xz"], ["y"], **attrs)],
                       [h.make_tensor_value_info("x", T.UINT8, list(x.shape))],
                       [h.make_tensor_value_info("y", T.INT32, None)],
                       [nh.from_array(w, "w"), nh.from_array(np.array(77, np.uint8), "xz")], opset=10)
    (layer,) = load_model(model).mac_layers
    cols, wm = im2col(layer, x), weight_matrix(layer)
    gg, mm, kk, nn = layer.gemm_dims(x.shape)
    assert cols.shape == (gg, mm, kk) and wm.shape == (gg, kk, nn)
    y = col2out(layer, np.matmul(cols, wm), x.shape)
    assert np.array_equal(y, ref_acc(layer, x))


def test_gemm_lowering_with_batch_dims():
    b = RNG.integers(-128, 128, (6, 4)).astype(np.int8)
    model = make_model([h.make_node("MatMulInteger", ["a", "b"], ["y"])],
                       [h.make_tensor_value_info("a", T.INT8, [2, 3, 6])],
                       [h.make_tensor_value_info("y", T.INT32, None)],
                       [nh.from_array(b, "b")])
    net = load_model(model)
    (layer,) = net.mac_layers
    a = RNG.integers(-128, 128, (2, 3, 6)).astype(np.int8)
    y = col2out(layer, np.matmul(im2col(layer, a), weight_matrix(layer)), a.shape)
    assert np.array_equal(y, a.astype(np.int64) @ b.astype(np.int64))
    (gs,) = lower_network(net)
    assert (gs.groups, gs.m, gs.k, gs.n, gs.macs) == (1, 6, 6, 4, 144)


# -- schedules ----------------------------------------------------------------------------------------------
def independent_macs(net, layer, batch=None) -> int:
    """MACs from the ONNX-inferred output shape: outputs x (C/group * kH * kW) or x K."""
    shape = net.shapes[layer.y]
    out = int(np.prod(shape)) // shape[0] * (batch or shape[0])
    taps = int(np.prod(layer.weight.shape[1:])) if layer.kind == "conv" else layer.weight.shape[0]
    return out * taps


def tile_dict(sched):
    tiles = np.array(sched["tiles"])
    return {name: tiles[:, i] for i, name in enumerate(TILE_FIELDS)}


@pytest.mark.parametrize("dataflow", ["ws", "os"])
@pytest.mark.parametrize("rows,cols,depth", [(1, 1, 4), (3, 2, 16), (4, 4, 256), (16, 8, 7), (64, 64, 256)])
def test_tiles_cover_every_mac_once(dataflow, rows, cols, depth):
    net = load_model(small_cnn(), shapes_only=True)
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, acc_depth=depth)
    sched = make_schedule(net, cfg)
    assert sched["format"] == "axmac-schedule/2" and sched["tiles_listed"]
    assert sched["tile_fields"] == list(TILE_FIELDS)
    f = tile_dict(sched)
    for li, (layer, entry) in enumerate(zip(net.mac_layers, sched["layers"], strict=True)):
        g, m, k, n = layer.gemm_dims(net.shapes[layer.x])
        cover = np.zeros((g, m, k, n), np.int64)
        sel = np.flatnonzero(f["layer"] == li)
        assert np.all(np.diff(sel) == 1)  # a layer's tiles are consecutive
        for t in sel:
            g0, g1, m0, m1, k0, k1, n0, n1 = (int(f[x][t]) for x in ("g0", "g1", "m0", "m1", "k0", "k1", "n0", "n1"))
            cover[g0:g1, m0:m1, k0:k1, n0:n1] += 1
            assert f["macs"][t] == (g1 - g0) * (m1 - m0) * (k1 - k0) * (n1 - n0)
            assert (g1 - g0) * (n1 - n0) <= cols and (m1 - m0 <= (depth if dataflow == "ws" else rows))
        assert np.all(cover == 1)
        assert entry["macs"] == independent_macs(net, layer) == int(f["macs"][sel].sum())
        assert entry["fill"] + int(f["cycles"][sel].sum()) == entry["cycles"] and entry["tiles"] == len(sel)
        assert np.all(np.diff(f["start"][sel]) > 0) and f["start"][sel][0] == entry["fill"]
        assert 0 < entry["utilization"] <= 1
    assert sched["totals"]["macs"] == sum(independent_macs(net, la) for la in net.mac_layers)
    assert sched["totals"]["cycles"] == sum(la["cycles"] for la in sched["layers"])
    assert 0 < sched["totals"]["utilization"] <= 1
    dw = sched["layers"][1]  # depthwise: one GEMM per channel with N = 1
    assert (dw["groups"], dw["N"], dw["K"]) == (6, 1, 9)


@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_tile_starts_and_cycles_equal_register_model(dataflow):
    """The schedule's cycles of every tile are those of golden.array running the layer's streams."""
    net = load_model(small_cnn(), shapes_only=True)
    cfg = ArrayConfig(rows=4, cols=3, dataflow=dataflow, acc_depth=9)
    sched = make_schedule(net, cfg)
    f = tile_dict(sched)
    for li, layer in enumerate(net.mac_layers):
        x = RNG.integers(-128, 128, net.shapes[layer.x]).astype(np.int8)
        rq = None if layer.output.kind != "requant" else RequantParams(1 << 30, 31)
        prog = gemm_program(cfg, im2col(layer, x), weight_matrix(layer), bias=layer.bias, requant=rq)
        run = simulate(cfg, prog)
        sel = f["layer"] == li
        assert np.array_equal(run.tile_starts, f["start"][sel])
        assert run.cycles == sched["layers"][li]["cycles"]
        assert np.array_equal(prog.plan.tiles, np.array(sched["tiles"])[sel][:, 1:1 + len(prog.plan.tiles[0])])
        lay = stream_layouts(cfg)
        beats = {k: len(v) for k, v in prog.payloads().items()} | {"o": len(run.o)}
        assert sched["layers"][li]["traffic"] == {f"{k}_bytes": beats[k] * -(-lay[k].width // 8) for k in beats}


def test_tile_order_and_depthwise_packing():
    net = load_model(small_cnn(), shapes_only=True)
    ws = make_schedule(net, 4, 4, "ws", acc_depth=64)
    f = tile_dict(ws)
    # conv1: K = 18 -> 5 K blocks innermost, then the second of 2 N blocks; M = 96 -> 2 row blocks
    first = np.stack([f["ni"], f["mi"], f["ki"]], axis=1)[f["layer"] == 0]
    assert first[:6].tolist() == [[0, 0, k] for k in range(5)] + [[0, 1, 0]]
    dw = ws["layers"][1]
    # 6 channels, K = 9 on 4 rows: two channels of 2 taps per tile (3 sets x 5 K tiles) beat one
    # channel of 4 taps (6 x 3 tiles) and four of one tap (2 x 9)
    assert dw["gp"] == 2 and dw["tiles"] == 15
    os_ = make_schedule(net, 4, 4, "os")
    f = tile_dict(os_)
    assert np.stack([f["ni"], f["mi"]], axis=1)[f["layer"] == 0][:3].tolist() == [[0, 0], [0, 1], [0, 2]]


def test_batch_scales_m_and_utilization():
    net = load_model(small_cnn(), shapes_only=True)  # batch 2 in the model
    one = make_schedule(net, 8, 8, "ws", batch=1, summary=True)
    many = make_schedule(net, 8, 8, "ws", batch=16, summary=True)
    assert one["batch"] == 1 and "tiles" not in one
    for la, lb, layer in zip(one["layers"], many["layers"], net.mac_layers, strict=True):
        assert lb["M"] == 16 * la["M"] and lb["macs"] == independent_macs(net, layer, 16) == 16 * la["macs"]
    fc1, fc16 = one["layers"][2], many["layers"][2]
    assert fc16["utilization"] > 4 * fc1["utilization"]
    assert many["totals"]["utilization"] > one["totals"]["utilization"]
    with pytest.raises(AxmacError, match="batch"):
        make_schedule(net, 8, 8, batch=0)


def test_array_arguments_and_bad_input():
    from axmac.onnx_import import QuantConfig

    net = load_model(small_cnn(), shapes_only=True, quant=QuantConfig(bits=12, layer_bits={"conv1": 4}))
    sched = make_schedule(net, 4, 4, "os")
    assert sched["array"]["bits"] == 12 and sched["array"]["acc_bits"] == 32 and sched["array"]["dataflow"] == "os"
    assert [la["operand"] for la in sched["layers"][:2]] == ["s4", "s12"]
    with pytest.raises(ConfigError, match="s12 operands"):
        make_schedule(net, ArrayConfig(rows=4, cols=4))
    with pytest.raises(AxmacError, match="either"):
        make_schedule(net, ArrayConfig(), 4)
    with pytest.raises(AxmacError, match="rows and cols"):
        make_schedule(net, 4)
    with pytest.raises(ConfigError, match="acc_bits"):
        make_schedule(net, 4, 4, acc_bits=20)
    net.mac_layers[2].weight = "fc_weight"  # a weight that arrives at run time
    with pytest.raises(AxmacError, match="runtime tensor 'fc_weight'"):
        make_schedule(net, 4, 4)
    with pytest.raises(AxmacError, match="runtime tensor"):
        lower_network(net)


# -- CLI ------------------------------------------------------------------------------------------------------
def test_cli_writes_valid_json(tmp_path, capsys):
    model = tmp_path / "m.onnx"
    onnx.save(small_cnn(), model)
    out = tmp_path / "s.json"
    assert main(["schedule", str(model), "--rows", "4", "--cols", "4", "--dataflow", "os", "-o", str(out)]) == 0
    sched = json.loads(out.read_text())
    assert sched["format"] == "axmac-schedule/2"
    assert {k: sched["array"][k] for k in ("rows", "cols", "dataflow", "acc_bits")} == \
        {"rows": 4, "cols": 4, "dataflow": "os", "acc_bits": 32}
    assert len(sched["tiles"]) == sched["totals"]["tiles"]
    assert "total" in capsys.readouterr().out
    # with calibration data and per-layer widths
    calib = tmp_path / "c.npz"
    np.savez(calib, anything=RNG.normal(size=(2, 2, 8, 6)).astype(np.float32))
    assert main(["schedule", str(model), "--rows", "4", "--cols", "4", "--calibration", str(calib),
                 "--layer-bits", "dw=5", "--summary", "-o", str(out)]) == 0
    sched = json.loads(out.read_text())
    assert "tiles" not in sched and sched["layers"][1]["operand"] == "s5"
    assert "shapes only" not in sched["layers"][0]["source"]


def test_cli_dynamic_input_shape(tmp_path):
    m = small_cnn()
    d = m.graph.input[0].type.tensor_type.shape.dim[3]
    d.Clear()
    d.dim_param = "W"
    model = tmp_path / "dyn.onnx"
    onnx.save(m, model)
    out = tmp_path / "s.json"
    assert main(["schedule", str(model), "--rows", "2", "--cols", "2", "-o", str(out)]) == 2
    assert not out.exists()
    assert main(["schedule", str(model), "--rows", "2", "--cols", "2", "--input-shape", "x=2x2x8x6",
                 "-o", str(out)]) == 0


@pytest.mark.parametrize("case", ["rows0", "corrupt", "unsupported", "no-calib-file", "bad-layer-bits",
                                  "bad-shape", "unknown-layer", "missing-model", "no-mac", "bad-npz"])
def test_cli_bad_input_exit_2(tmp_path, capsys, case):
    model = tmp_path / "m.onnx"
    onnx.save(small_cnn(), model)
    out = tmp_path / "s.json"
    args = ["schedule", str(model), "--rows", "4", "--cols", "4", "-o", str(out)]
    if case == "rows0":
        args[3] = "0"
    elif case == "corrupt":
        model.write_bytes(model.read_bytes()[:300])
    elif case == "unsupported":
        onnx.save(make_model([h.make_node("Erf", ["x"], ["y"], name="e")],
                             [h.make_tensor_value_info("x", T.FLOAT, [1, 4])],
                             [h.make_tensor_value_info("y", T.FLOAT, [1, 4])]), model)
    elif case == "no-calib-file":
        args += ["--calibration", str(tmp_path / "none.npz")]
    elif case == "bad-layer-bits":
        args += ["--layer-bits", "conv1"]
    elif case == "bad-shape":
        args += ["--input-shape", "x=2xx"]
    elif case == "unknown-layer":
        args += ["--layer-bits", "nope=4"]
    elif case == "missing-model":
        args[1] = str(tmp_path / "nope.onnx")
    elif case == "no-mac":
        onnx.save(make_model([h.make_node("Relu", ["x"], ["y"])], [h.make_tensor_value_info("x", T.FLOAT, [1, 4])],
                             [h.make_tensor_value_info("y", T.FLOAT, [1, 4])]), model)
    elif case == "bad-npz":
        (tmp_path / "bad.npz").write_bytes(b"not a zip")
        args += ["--calibration", str(tmp_path / "bad.npz")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("axmac: error:") and "\n" not in err and "Traceback" not in err
    assert not out.exists()
