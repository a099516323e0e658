"""``axmac run`` (gen/cmd_run.py, gen/files.py).

Results are checked against onnxruntime (integer models: bit for bit) and against properties
that hold independently of the code (bypass never changes exact results), and every kind of bad
input must give one line and exit code 2.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from axmac.gen.cli import main
from axmac.gen.datasets import load_dataset

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
        "'z', which is not a graph input": {"z": x, "x": x},
        "dtype int8": {"x": x.astype(np.int8)},
        "shape (6, 2, 7, 6)": {"x": x[..., :6]},
    }
    for msg, arrays in cases.items():
        np.savez(tmp_path / "bad.npz", **arrays)
        assert msg in _err(capsys, base + ["--inputs", str(tmp_path / "bad.npz")])
    good = ["--inputs", str(tmp_path / "in.npz")]
    assert "argument --inputs: no such file" in _err(capsys, base + ["--inputs", str(tmp_path / "nope.npz")])
    assert "unknown multiplier family" in _err(capsys, base + good + ["--multiplier", "nosuch:3"])
    assert "argument --bypass: unknown bypass case" in _err(capsys, base + good + ["--bypass", "zero,two"])
    (tmp_path / "m.json").write_text(json.dumps({"conv9": "exact"}))
    assert "unknown layer 'conv9'" in _err(capsys, base + good + ["--layers", str(tmp_path / "m.json")])
    (tmp_path / "m.json").write_text("[1, 2]")
    assert "must be a JSON object" in _err(capsys, base + good + ["--layers", str(tmp_path / "m.json")])
    assert "argument MODEL.onnx: no such file" in _err(capsys, ["run", str(tmp_path / "x.onnx"), "-o", str(out)] + good)
    x_mnist = load_dataset("mnist")[0][:2]
    np.savez(tmp_path / "m.npz", input=x_mnist)
    lenet = ["run", "models/lenet5_mnist.onnx", "--inputs", str(tmp_path / "m.npz"), "--outputs", str(out)]
    assert "calibration" in _err(capsys, lenet)  # a float model needs calibration data
    assert "--calibration" in _err(capsys, lenet + ["--calibration", str(tmp_path / "none.npz")])
    assert not out.exists()


def test_run_single_unnamed_array_feeds_a_single_input_model(ci, tmp_path, capsys):
    """np.savez(f, x) (stored as arr_0) and a plain .npy both feed the one graph input."""
    model_path, model, x = ci
    np.savez(tmp_path / "unnamed.npz", x)
    np.save(tmp_path / "plain.npy", x)
    for given in ("unnamed.npz", "plain.npy"):
        out = tmp_path / f"{given}.out.npz"
        assert main(["run", str(model_path), "--inputs", str(tmp_path / given), "-o", str(out)]) == 0
        with np.load(out) as f:
            np.testing.assert_array_equal(f["y"], ort_run(model, {"x": x})[0])
    capsys.readouterr()


def test_run_takes_dynamic_dims_from_the_inputs(tmp_path, capsys):
    """A model with dynamic height and width runs on the arrays given (their dims fix the model's);
    --input-shape, accepted as by schedule, must agree with them."""
    w = RNG.integers(-128, 128, (3, 2, 3, 3)).astype(np.int8)
    g = helper.make_graph([helper.make_node("ConvInteger", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "dyn",
                          [helper.make_tensor_value_info("x", TensorProto.UINT8, ["N", 2, "H", "W"])],
                          [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
                          [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
    (tmp_path / "dyn.onnx").write_bytes(m.SerializeToString())
    x = RNG.integers(0, 256, (2, 2, 5, 9)).astype(np.uint8)
    np.savez(tmp_path / "in.npz", x=x)
    argv = ["run", str(tmp_path / "dyn.onnx"), "--inputs", str(tmp_path / "in.npz"), "-o", str(tmp_path / "o.npz")]
    for extra in ([], ["--input-shape", "x=2x2x5x9"]):
        assert main(argv + extra) == 0
        with np.load(tmp_path / "o.npz") as f:
            np.testing.assert_array_equal(f["y"], ort_run(m, {"x": x})[0])
    capsys.readouterr()
    (tmp_path / "o.npz").unlink()
    assert "'x'" in _err(capsys, argv + ["--input-shape", "x=2x2x6x9"])
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.parametrize("bad,needle", [
    (np.nan, "contains NaN"), (np.inf, "contains infinity"),
    ("complex", "is a complex array"), ("text", "is a text array"), ("struct", "is a structured array")])
def test_run_refuses_unusable_arrays(tmp_path, capsys, bad, needle):
    x = load_dataset("digits")[0][:3].copy()
    if isinstance(bad, float):
        x[1, 0, 2, 2] = bad
    else:
        x = {"complex": x.astype(np.complex64), "text": np.array(["a", "b"]),
             "struct": np.zeros(3, dtype=[("a", "f4"), ("b", "i4")])}[bad]
    np.savez(tmp_path / "in.npz", input=x)
    out = tmp_path / "o.npz"
    err = _err(capsys, ["run", "models/digits_cnn.onnx", "--inputs", str(tmp_path / "in.npz"), "-o", str(out),
                        "--calibration", "digits"])
    assert "--inputs" in err and "'input'" in err and needle in err
    assert not out.exists()
