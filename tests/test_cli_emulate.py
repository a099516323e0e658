"""``axmac emulate`` (gen/cmd_emulate.py, gen/emulation.py) and its datasets (gen/datasets.py).

Accuracies are checked against properties that hold independently of the code (bypass never
changes exact results; the labels of the npz are the ones scored; a coarser quantization is no
more accurate), and bad input gives one line and exit code 2.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from axmac.gen.cli import main
from axmac.gen.datasets import load_dataset, train_split


def _err(capsys, argv):
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("axmac: error: ") and "\n" not in err, err
    return err


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
    assert "argument --bits: 1 is out of range (2..16)" in _err(capsys, ["emulate", "--dataset", "digits", "--bits",
                                                                         "1"])


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
    assert "argument --limit: 0 is out of range" in _err(capsys, ["emulate", "--dataset", "digits", "--limit", "0"])
    np.savez(tmp_path / "nan.npz", x=np.full((3, 1, 8, 8), np.nan, np.float32), y=np.zeros(3, np.int64))
    assert "contains NaN" in _err(capsys, ["emulate", model, "--dataset", str(tmp_path / "nan.npz")])


def test_emulate_takes_dynamic_dims_from_the_dataset(tmp_path, capsys):
    """A float CNN with dynamic height and width (global pooling head) emulates on 8x8 images
    without --input-shape; with labels set to onnxruntime's own float predictions, onnxruntime
    scores 1 and the 8-bit integer model nearly so."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]), helper.make_node("Flatten", ["p"], ["y"])]
    g = helper.make_graph(nodes, "gap", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, "H", "W"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])],
                          [numpy_helper.from_array(rng.normal(size=(5, 1, 3, 3)).astype(np.float32), "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
    (tmp_path / "gap.onnx").write_bytes(m.SerializeToString())
    x = load_dataset("digits")[0][:60]
    y = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})[0].argmax(1)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    assert main(["emulate", str(tmp_path / "gap.onnx"), "--dataset", str(tmp_path / "d.npz"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["samples"] == 60 and res["onnxruntime_accuracy"] == 1.0 and res["exact_accuracy"] >= 0.9


def test_digits_are_sklearn_load_digits():
    """The digits read straight from scikit-learn's csv are the 1797 images of its documentation
    (the first one, a 0, as printed there), with about 180 of each digit."""
    from axmac.gen.datasets import _digits_all

    x, y = _digits_all()
    assert x.shape == (1797, 1, 8, 8) and y.shape == (1797,)
    first = [[0, 0, 5, 13, 9, 1, 0, 0], [0, 0, 13, 15, 10, 15, 5, 0], [0, 3, 15, 2, 0, 11, 8, 0],
             [0, 4, 12, 0, 0, 8, 8, 0], [0, 5, 8, 0, 0, 9, 8, 0], [0, 4, 11, 0, 1, 12, 7, 0],
             [0, 2, 14, 5, 10, 12, 0, 0], [0, 0, 6, 13, 10, 0, 0, 0]]
    np.testing.assert_array_equal(x[0, 0] * 16, first)
    assert y[0] == 0 and np.bincount(y).min() >= 170 and np.bincount(y).max() <= 190


def test_digits_equal_load_digits_where_importable():
    """Where scikit-learn is importable (it need not be: only its csv is read), load_digits() agrees."""
    datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn installed without scipy (data only)")
    from axmac.gen.datasets import _digits_all

    d = datasets.load_digits()
    x, y = _digits_all()
    np.testing.assert_array_equal(x.reshape(-1, 8, 8) * 16, d.images)
    np.testing.assert_array_equal(y, d.target)


def test_mnist_has_500_of_each_digit():
    from axmac.gen.datasets import _mnist_all

    x, y = _mnist_all()
    assert x.shape == (5000, 1, 28, 28) and np.bincount(y).tolist() == [500] * 10


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


@pytest.mark.parametrize("exact", [True, False])
def test_emulate_says_when_onnxruntime_is_inexact(monkeypatch, capsys, tmp_path, exact):
    """The onnxruntime accuracy of a model that runs on onnxruntime's integer kernels carries the
    probe's reason when those kernels are inexact on this CPU; a float model never does."""
    from axmac.gen.datasets import default_model
    from axmac.onnx_import import ort_probe

    from .test_conformance_ort import ort_quantize

    monkeypatch.setattr(ort_probe, "ort_exactness", lambda: ort_probe.OrtExactness(exact, "inexact: no VNNI (test)"))
    qdq = ort_quantize(default_model("digits"), tmp_path / "qdq.onnx", load_dataset("digits")[2][:50], "QDQ", False)
    for model, integer in ((qdq, True), (default_model("digits"), False)):
        assert main(["emulate", str(model), "--dataset", "digits", "--limit", "20", "--no-stats", "--json"]) == 0
        res = json.loads(capsys.readouterr().out)
        assert res["onnxruntime_accuracy"] is not None
        if integer and not exact:
            assert res["onnxruntime_note"] == "inexact: no VNNI (test)"
        else:
            assert res["onnxruntime_note"] is None
