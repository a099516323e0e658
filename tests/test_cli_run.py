"""``axmac run`` and ``axmac emulate`` (gen/cmd_run.py, gen/cmd_emulate.py, gen/datasets.py).

Results are checked against onnxruntime (integer models: bit for bit) and against properties
that hold independently of the code (bypass never changes exact results; labels from the
npz are the ones scored), and every kind of bad input must give one line and exit code 2.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from axmac.gen.cli import main
from axmac.gen.datasets import load_dataset, train_split

RNG = np.random.default_rng(3)


def conv_integer_model(path):
    """uint8 input (N, 2, 7, 7), zero point 100 -> ConvInteger (3 out, 3x3, pad 1) -> int32."""
    w = RNG.integers(-128, 128, (3, 2, 3, 3)).astype(np.int8)
    node = helper.make_node("ConvInteger", ["x", "w", "xz"], ["y"], pads=[1, 1, 1, 1])
    g = helper.make_graph([node], "ci", [helper.make_tensor_value_info("x", TensorProto.UINT8, ["N", 2, 7, 7])],
                          [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array(100, np.uint8), "xz")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
    path.write_bytes(m.SerializeToString())
    return m


def ort_run(model, feeds):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feeds)


@pytest.fixture
def ci(tmp_path):
    model_path = tmp_path / "ci.onnx"
    model = conv_integer_model(model_path)
    x = RNG.integers(0, 256, (6, 2, 7, 7)).astype(np.uint8)
    np.savez(tmp_path / "in.npz", x=x)
    return model_path, model, x


def test_run_matches_onnxruntime(ci, tmp_path, capsys):
    model_path, model, x = ci
    rc = main(["run", str(model_path), "--inputs", str(tmp_path / "in.npz"), "--outputs", str(tmp_path / "out.npz"),
               "--bypass", "all", "--batch-size", "4", "--json"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    with np.load(tmp_path / "out.npz") as f:
        assert f.files == ["y"]
        np.testing.assert_array_equal(f["y"], ort_run(model, {"x": x})[0])
    assert rep["macs"] == 6 * 3 * 7 * 7 * 18
    assert rep["total"]["stats"]["macs"] == rep["macs"]
    # --trace: the accumulators of ConvInteger are its int32 outputs, widened
    assert main(["run", str(model_path), "--inputs", str(tmp_path / "in.npz"), "--outputs",
                 str(tmp_path / "tr.npz"), "--trace"]) == 0
    capsys.readouterr()
    with np.load(tmp_path / "tr.npz") as f:
        assert {"x", "y", "y::acc"} <= set(f.files)
        np.testing.assert_array_equal(f["y::acc"], ort_run(model, {"x": x})[0].astype(np.int64))
    # without statistics (BLAS path): same outputs, no "total"
    assert main(["run", str(model_path), "--inputs", str(tmp_path / "in.npz"), "--outputs",
                 str(tmp_path / "out2.npz"), "--no-stats", "--json"]) == 0
    assert "total" not in json.loads(capsys.readouterr().out)
    with np.load(tmp_path / "out2.npz") as f:
        np.testing.assert_array_equal(f["y"], ort_run(model, {"x": x})[0])


def test_run_layer_map_changes_only_that_layer(ci, tmp_path, capsys):
    model_path, model, x = ci
    (tmp_path / "map.json").write_text(json.dumps({"ci_node0": "trunc:4"}))
    args = ["run", str(model_path), "--inputs", str(tmp_path / "in.npz"), "--outputs", str(tmp_path / "o.npz")]
    # the layer's name: whatever the importer calls it; take it from the JSON report
    assert main(args + ["--json"]) == 0
    name = json.loads(capsys.readouterr().out)["layers"][0]["name"]
    (tmp_path / "map.json").write_text(json.dumps({name: "trunc:4"}))
    assert main(args + ["--layers", str(tmp_path / "map.json"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["layers"][0]["multiplier"] == "trunc:4"
    with np.load(tmp_path / "o.npz") as f:
        y = f["y"]
    assert not np.array_equal(y, ort_run(model, {"x": x})[0])  # truncation changes results


def test_run_two_inputs_two_outputs_by_name(tmp_path):
    """Inputs are matched by graph input name and outputs written under graph output names."""
    w = RNG.integers(-128, 128, (3, 2, 3, 3)).astype(np.int8)
    nodes = [helper.make_node("ConvInteger", ["a", "w"], ["ya"]), helper.make_node("Relu", ["b"], ["yb"])]
    g = helper.make_graph(nodes, "two", [helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 4]),
                                         helper.make_tensor_value_info("a", TensorProto.INT8, ["N", 2, 5, 5])],
                          [helper.make_tensor_value_info("yb", TensorProto.FLOAT, None),
                           helper.make_tensor_value_info("ya", TensorProto.INT32, None)],
                          [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
    (tmp_path / "two.onnx").write_bytes(m.SerializeToString())
    feeds = {"a": RNG.integers(-128, 128, (3, 2, 5, 5)).astype(np.int8),
             "b": RNG.standard_normal((3, 4)).astype(np.float32)}
    np.savez(tmp_path / "in.npz", **feeds)
    assert main(["run", str(tmp_path / "two.onnx"), "--inputs", str(tmp_path / "in.npz"), "--outputs",
                 str(tmp_path / "out.npz")]) == 0
    yb, ya = ort_run(m, feeds)  # graph output order
    with np.load(tmp_path / "out.npz") as f:
        assert sorted(f.files) == ["ya", "yb"]
        np.testing.assert_array_equal(f["ya"], ya)
        np.testing.assert_array_equal(f["yb"], yb)


def _err(capsys, argv):
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("axmac: error: ") and "\n" not in err, err
    return err


def test_run_bad_input_is_one_line_exit_2(ci, tmp_path, capsys):
    model_path, _, x = ci
    out = tmp_path / "never.npz"
    base = ["run", str(model_path), "--outputs", str(out)]
    cases = {
        "missing input 'x'": {"z": x},
        "dtype int8": {"x": x.astype(np.int8)},
        "shape (6, 2, 7, 6)": {"x": x[..., :6]},
    }
    for msg, arrays in cases.items():
        np.savez(tmp_path / "bad.npz", **arrays)
        assert msg in _err(capsys, base + ["--inputs", str(tmp_path / "bad.npz")])
    good = ["--inputs", str(tmp_path / "in.npz")]
    assert "does not exist" in _err(capsys, base + ["--inputs", str(tmp_path / "nope.npz")])
    assert "unknown multiplier family" in _err(capsys, base + good + ["--multiplier", "nosuch:3"])
    assert "unknown bypass case" in _err(capsys, base + good + ["--bypass", "zero,two"])
    (tmp_path / "m.json").write_text(json.dumps({"conv9": "exact"}))
    assert "unknown layer 'conv9'" in _err(capsys, base + good + ["--layers", str(tmp_path / "m.json")])
    (tmp_path / "m.json").write_text("[1, 2]")
    assert "must be a JSON object" in _err(capsys, base + good + ["--layers", str(tmp_path / "m.json")])
    assert "no such ONNX file" in _err(capsys, ["run", str(tmp_path / "x.onnx"), "--outputs", str(out)] + good)
    x_mnist = load_dataset("mnist")[0][:2]
    np.savez(tmp_path / "m.npz", input=x_mnist)
    lenet = ["run", "models/lenet5_mnist.onnx", "--inputs", str(tmp_path / "m.npz"), "--outputs", str(out)]
    assert "calibration" in _err(capsys, lenet)  # a float model needs calibration data
    assert "calibration file" in _err(capsys, lenet + ["--calibration", str(tmp_path / "none.npz")])
    assert not out.exists()


def test_emulate_digits_json(capsys):
    """Exact arithmetic with every bypass case: bypassed products are exact, so the emulated
    model *is* the exact integer model (agreement 1); its accuracy is scored on the real labels."""
    rc = main(["emulate", "--dataset", "digits", "--limit", "200", "--bypass", "all", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["samples"] == 200 and res["agreement"] == 1.0
    assert res["accuracy"] == res["exact_accuracy"]
    assert abs(res["accuracy"] - res["onnxruntime_accuracy"]) <= 0.02
    assert res["macs"] > 0 and res["seconds"] > 0 and res["macs_per_second"] == pytest.approx(
        res["macs"] / res["seconds"])
    f = res["total"]["fractions"]
    assert 0 < f["zero"] < 1 and 0 <= f["one"] < 1 and 0 < f["x_zero"] < 1


def test_emulate_precision_scaling(capsys):
    """--bits 4 quantizes every float layer to 4-bit operands: the layers say so, and the coarser
    model is no more accurate than the 8-bit one on the same images."""
    res = {}
    for bits in (8, 4):
        assert main(["emulate", "--dataset", "digits", "--limit", "300", "--bits", str(bits), "--no-stats",
                     "--no-ort", "--json"]) == 0
        res[bits] = json.loads(capsys.readouterr().out)
    assert {layer["operand"] for layer in res[4]["per_layer"]} == {"s4"}
    assert {layer["operand"] for layer in res[8]["per_layer"]} == {"s8"}
    assert res[4]["quantization"]["bits"] == 4 and res[4]["total"] is None
    assert res[4]["exact_accuracy"] <= res[8]["exact_accuracy"] + 0.01
    assert "bits must be an integer in 2..16" in _err(capsys, ["emulate", "--dataset", "digits", "--bits", "1"])


def test_emulate_layer_bits(capsys):
    """--layer-bits overrides --bits for the named layer only; an unknown layer name is exit 2."""
    assert main(["emulate", "--dataset", "digits", "--limit", "50", "--no-stats", "--no-ort", "--json"]) == 0
    names = [layer["name"] for layer in json.loads(capsys.readouterr().out)["per_layer"]]
    assert main(["emulate", "--dataset", "digits", "--limit", "50", "--no-stats", "--no-ort", "--json",
                 "--bits", "6", "--layer-bits", f"{names[0]}=3"]) == 0
    ops = [layer["operand"] for layer in json.loads(capsys.readouterr().out)["per_layer"]]
    assert ops == ["s3"] + ["s6"] * (len(names) - 1)
    assert "unknown" in _err(capsys, ["emulate", "--dataset", "digits", "--layer-bits", "nolayer=4"])
    assert "NAME=BITS" in _err(capsys, ["emulate", "--dataset", "digits", "--layer-bits", "=4"])


def test_emulate_npz_dataset_and_errors(tmp_path, capsys):
    x, y, c = load_dataset("digits")
    # every label 0; float64 images are cast to the model's float32
    np.savez(tmp_path / "d.npz", x=x[:50].astype(np.float64), y=np.zeros(50, np.int64), calib=c.astype(np.float64))
    model = "models/digits_cnn.onnx"
    assert main(["emulate", model, "--dataset", str(tmp_path / "d.npz"), "--json", "--no-ort"]) == 0
    res = json.loads(capsys.readouterr().out)
    # the exact integer predictions of these 50 images, scored against all-zero labels
    assert res["samples"] == 50 and res["onnxruntime_accuracy"] is None
    assert res["exact_accuracy"] == pytest.approx(np.mean(y[:50] == 0), abs=0.1)
    np.savez(tmp_path / "nolabels.npz", x=x[:5])
    assert "has no array 'y'" in _err(capsys, ["emulate", model, "--dataset", str(tmp_path / "nolabels.npz")])
    assert "unknown dataset" in _err(capsys, ["emulate", model, "--dataset", "cifar"])
    assert "give MODEL.onnx" in _err(capsys, ["emulate", "--dataset", str(tmp_path / "d.npz")])
    assert "--limit must be positive" in _err(capsys, ["emulate", "--dataset", "digits", "--limit", "0"])


def test_digits_are_sklearn_load_digits():
    """The digits read straight from scikit-learn's csv are load_digits()' images and labels."""
    from sklearn.datasets import load_digits

    from axmac.gen.datasets import _digits_all

    d = load_digits()
    x, y = _digits_all()
    np.testing.assert_array_equal(x.reshape(-1, 8, 8) * 16, d.images)
    np.testing.assert_array_equal(y, d.target)


def test_dataset_splits_are_disjoint_and_fixed():
    """Test images never appear in the training split (calibration comes from it)."""
    for name, n_test in (("mnist", 1000), ("digits", 500)):
        x_te, y_te, calib = load_dataset(name)
        x_tr, y_tr = train_split(name)
        assert len(x_te) == n_test and len(y_te) == n_test
        flat_tr = {r.tobytes() for r in x_tr.reshape(len(x_tr), -1)}
        assert all(r.tobytes() in flat_tr for r in calib.reshape(len(calib), -1))
        overlap = sum(r.tobytes() in flat_tr for r in x_te.reshape(n_test, -1))
        assert overlap <= 2  # (exact duplicate images may exist in the source data)
        assert x_te.dtype == np.float32 and 0 <= x_te.min() and x_te.max() <= 1
        assert np.bincount(y_te, minlength=10).min() > 0
        np.testing.assert_array_equal(load_dataset(name)[1], y_te)
