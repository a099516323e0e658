"""onnx_import.lower / onnx_import.schedule / `axmac schedule`: lowering, coverage, totals, traffic, CLI."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from axmac.gen.cli import main
from axmac.golden.cycle_model import CycleModel
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
def independent_macs(net, layer) -> int:
    """MACs from the ONNX-inferred output shape: outputs x (C/group * kH * kW) or x K."""
    out = int(np.prod(net.shapes[layer.y]))
    taps = int(np.prod(layer.weight.shape[1:])) if layer.kind == "conv" else layer.weight.shape[0]
    return out * taps


@pytest.mark.parametrize("dataflow", ["ws", "os"])
@pytest.mark.parametrize("rows,cols", [(1, 1), (3, 2), (4, 4), (16, 8), (64, 64)])
def test_tiles_cover_every_mac_once(dataflow, rows, cols):
    net = load_model(small_cnn(), shapes_only=True)
    sched = make_schedule(net, rows, cols, dataflow)
    assert sched["tiles_listed"] and sched["tile_fields"] == list(TILE_FIELDS)
    tiles = np.array(sched["tiles"])
    f = {name: tiles[:, i] for i, name in enumerate(TILE_FIELDS)}
    model = CycleModel(rows, cols, dataflow)
    for li, (layer, entry) in enumerate(zip(net.mac_layers, sched["layers"], strict=True)):
        g, m, k, n = layer.gemm_dims(net.shapes[layer.x])
        cover = np.zeros((g, m, k, n), np.int64)
        sel = np.flatnonzero(f["layer"] == li)
        assert np.all(np.diff(sel) == 1)  # a layer's tiles are consecutive
        for t in sel:
            m0, m1, k0, k1, n0, n1 = (int(f[x][t]) for x in ("m0", "m1", "k0", "k1", "n0", "n1"))
            if dataflow == "ws":
                assert k1 - k0 <= rows and n1 - n0 <= cols and (m0, m1) == (0, m)
            else:
                assert m1 - m0 <= rows and n1 - n0 <= cols and (k0, k1) == (0, k)
            cover[f["group"][t], m0:m1, k0:k1, n0:n1] += 1
            assert f["macs"][t] == (m1 - m0) * (k1 - k0) * (n1 - n0)
            assert f["cycles"][t] == model.tile_cycles(m1 - m0, k1 - k0, n1 - n0)
        assert np.all(cover == 1)
        assert entry["macs"] == independent_macs(net, layer) == int(f["macs"][sel].sum())
        assert entry["cycles"] == int(f["cycles"][sel].sum()) and entry["tiles"] == len(sel)
        assert 0 < entry["utilization"] <= 1
    assert sched["totals"]["macs"] == sum(independent_macs(net, la) for la in net.mac_layers)
    assert 0 < sched["totals"]["utilization"] <= 1
    # depthwise: one GEMM per channel with N = 1
    dw = sched["layers"][1]
    assert (dw["groups"], dw["N"], dw["K"]) == (6, 1, 9)


def test_tile_order():
    net = load_model(small_cnn(), shapes_only=True)
    ws = np.array(make_schedule(net, 4, 4, "ws")["tiles"])
    # conv1: K = 18 -> 5 K blocks innermost, then N = 6 -> 2 N blocks
    first = ws[ws[:, 0] == 0][:, 2:5]
    assert first[:6].tolist() == [[0, k, 0] for k in range(5)] + [[0, 0, 1]]
    os_ = np.array(make_schedule(net, 4, 4, "os")["tiles"])
    first = os_[os_[:, 0] == 0][:, 2:5]
    assert first[:3].tolist() == [[0, 0, 0], [0, 0, 1], [1, 0, 0]]


@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_traffic_brute_force_and_closed_form(dataflow):
    net = load_model(small_cnn(), shapes_only=True, quant=None)
    sched = make_schedule(net, 3, 5, dataflow, acc_bits=24)
    tiles = sched["tiles"]
    for li, entry in enumerate(sched["layers"]):
        tot = dict.fromkeys(("weight_bytes", "input_bytes", "psum_read_bytes", "output_bytes"), 0)
        for t in tiles:
            if t[0] != li:
                continue
            _, _, _, ki, _, m0, m1, k0, k1, n0, n1, _, _ = t
            for _m in range(m0, m1):  # element by element
                tot["input_bytes"] += (k1 - k0) * 1
                tot["output_bytes"] += (n1 - n0) * 3
                if dataflow == "ws" and ki > 0:
                    tot["psum_read_bytes"] += (n1 - n0) * 3
            tot["weight_bytes"] += (k1 - k0) * (n1 - n0)
        assert entry["traffic"] == tot
    summary = make_schedule(net, 3, 5, dataflow, acc_bits=24, max_tiles=0)
    assert "tiles" not in summary and not summary["tiles_listed"]
    assert summary["layers"] == sched["layers"] and summary["totals"] == sched["totals"]
    assert "tiles" not in make_schedule(net, 3, 5, dataflow, summary=True)


def test_operand_width_sets_element_size():
    from axmac.onnx_import import QuantConfig

    net = load_model(small_cnn(), shapes_only=True, quant=QuantConfig(bits=12, layer_bits={"conv1": 4}))
    layers = make_schedule(net, 4, 4, "os")["layers"]
    assert layers[0]["operand"] == "s4" and layers[1]["operand"] == "s12"
    assert layers[1]["traffic"]["weight_bytes"] == 2 * 6 * 9 * int(np.ceil(layers[1]["M"] / 4))


# -- CLI ------------------------------------------------------------------------------------------------------
def test_cli_writes_valid_json(tmp_path, capsys):
    model = tmp_path / "m.onnx"
    onnx.save(small_cnn(), model)
    out = tmp_path / "s.json"
    assert main(["schedule", str(model), "--rows", "4", "--cols", "4", "--dataflow", "os", "-o", str(out)]) == 0
    sched = json.loads(out.read_text())
    assert sched["array"] == {"rows": 4, "cols": 4, "dataflow": "os", "acc_bits": 32,
                              "cycle_model": "os: (K + R + C - 2) + R cycles per tile"}
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
