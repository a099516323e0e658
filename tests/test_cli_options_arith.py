"""CLI wiring of --requant, --float-layers (run, emulate) and of schedule's --batch/--acc-depth/--config."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from axmac.gen.cli import main

from .test_forms import _partial_model

RNG = np.random.default_rng(5)


def qlinear_matmul_model(path, scale):
    """int8 (N, 16) x int8 (16, 6) -> QLinearMatMul, output scale chosen so that products round often."""
    w = RNG.integers(-127, 128, (16, 6)).astype(np.int8)
    inits = [nh.from_array(w, "w"), nh.from_array(np.array(0.02, np.float32), "xs"),
             nh.from_array(np.array(0, np.int8), "xz"), nh.from_array(np.array(0.013, np.float32), "ws"),
             nh.from_array(np.array(0, np.int8), "wz"), nh.from_array(np.array(scale, np.float32), "ys"),
             nh.from_array(np.array(3, np.int8), "yz")]
    node = h.make_node("QLinearMatMul", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"], name="mm")
    g = h.make_graph([node], "qmm", [h.make_tensor_value_info("x", T.INT8, ["N", 16])],
                     [h.make_tensor_value_info("y", T.INT8, None)], inits)
    path.write_bytes(h.make_model(g, opset_imports=[h.make_opsetid("", 21)], ir_version=10).SerializeToString())
    return w


def test_run_requant_fixed_rounds_as_the_array(tmp_path, capsys):
    w = qlinear_matmul_model(tmp_path / "m.onnx", 0.37)
    x = RNG.integers(-128, 128, (200, 16)).astype(np.int8)
    np.savez(tmp_path / "in.npz", x=x)
    outs = {}
    for mode in ("float", "fixed"):
        assert main(["run", str(tmp_path / "m.onnx"), "--inputs", str(tmp_path / "in.npz"), "-o",
                     str(tmp_path / f"{mode}.npz"), "--requant", mode]) == 0
        with np.load(tmp_path / f"{mode}.npz") as f:
            outs[mode] = f["y"].astype(np.int64)
    capsys.readouterr()
    acc = x.astype(np.int64) @ w.astype(np.int64)
    scale = Fraction(float(np.float32(np.float32(0.02) * np.float32(0.013) / np.float32(0.37))))
    # fixed: round half up of the exact rational acc * (float32 requant scale), + zero point, saturated
    want = np.array([[min(127, max(-128, int((Fraction(int(a)) * scale + Fraction(1, 2)).__floor__()) + 3))
                      for a in row] for row in acc])
    np.testing.assert_array_equal(outs["fixed"], want)
    assert np.abs(outs["fixed"] - outs["float"]).max() <= 1


def test_emulate_requant_and_float_layers_in_json(tmp_path, capsys):
    model = _partial_model()
    (tmp_path / "p.onnx").write_bytes(model.SerializeToString())
    x = RNG.integers(-128, 128, (12, 3, 4, 4)).astype(np.int8)
    np.savez(tmp_path / "ds.npz", x=x, y=np.arange(12) % 5)
    assert main(["emulate", str(tmp_path / "p.onnx"), "--dataset", str(tmp_path / "ds.npz"), "--no-ort",
                 "--requant", "fixed", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["requant"] == "fixed"
    assert res["float_layers"] == [{"name": "fc", "kind": "float", "op": "Gemm", "macs": 12 * 5 * 16}]
    assert main(["emulate", str(tmp_path / "p.onnx"), "--dataset", str(tmp_path / "ds.npz"), "--no-ort"]) == 0
    text = capsys.readouterr().out
    assert "float Gemm" in text  # the float layer is listed in the statistics table
    rc = main(["emulate", str(tmp_path / "p.onnx"), "--dataset", str(tmp_path / "ds.npz"), "--no-ort",
               "--float-layers", "float", "--json"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["float_layers"][0]["name"] == "fc"


def test_schedule_batch_depth_and_config(tmp_path, capsys):
    out = tmp_path / "s.json"
    lenet = "models/lenet5_mnist.onnx"
    assert main(["schedule", lenet, "--rows", "8", "--cols", "8", "-o", str(out), "--summary"]) == 0
    one = json.loads(out.read_text())
    assert main(["schedule", lenet, "--rows", "8", "--cols", "8", "--batch", "16", "-o", str(out), "--summary"]) == 0
    sixteen = json.loads(out.read_text())
    assert sixteen["batch"] == 16 and sixteen["totals"]["macs"] == 16 * one["totals"]["macs"]
    assert sixteen["totals"]["utilization"] > one["totals"]["utilization"]
    assert main(["schedule", lenet, "--rows", "8", "--cols", "8", "--batch", "16", "--acc-depth", "64", "-o",
                 str(out), "--summary"]) == 0
    shallow = json.loads(out.read_text())
    assert shallow["array"]["acc_depth"] == 64 and shallow["totals"]["tiles"] > sixteen["totals"]["tiles"]
    (tmp_path / "a.toml").write_text('[array]\nrows = 4\ncols = 16\ndataflow = "os"\n')
    assert main(["schedule", lenet, "--config", str(tmp_path / "a.toml"), "--cols", "8", "-o", str(out)]) == 0
    a = json.loads(out.read_text())["array"]
    assert (a["rows"], a["cols"], a["dataflow"]) == (4, 8, "os")
    capsys.readouterr()
    assert main(["schedule", lenet, "--rows", "8", "--cols", "8", "--acc-depth", "0", "-o", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
