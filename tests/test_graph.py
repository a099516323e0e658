"""onnx_import/graph.py: reading, folding and shape inference — shape computations kept for the
engine (any batch), declared shapes that inference contradicts (one warning, inference wins)."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh
from onnx.reference import ReferenceEvaluator

from axmac.golden.engine import run_network
from axmac.onnx_import import Node, load_model
from axmac.onnx_import.graph import ShapeWarning

from .test_onnx_import import make_model

RNG = np.random.default_rng(5)


def test_shape_chain_runs_per_batch():
    """PyTorch-style flatten: Shape -> Gather -> Unsqueeze -> Concat -> Reshape runs in the engine on
    each batch (shape inference still knows every static shape at import); constants fold."""
    w = RNG.normal(size=(48, 4)).astype(np.float32)
    inits = [nh.from_array(np.array(0, np.int64), "i0"), nh.from_array(np.array([-1], np.int64), "m1"),
             nh.from_array(np.array([0], np.int64), "ax"), nh.from_array(w, "w")]
    nodes = [h.make_node("Shape", ["x"], ["s"]), h.make_node("Gather", ["s", "i0"], ["n"], axis=0),
             h.make_node("Unsqueeze", ["n", "ax"], ["nu"]), h.make_node("Concat", ["nu", "m1"], ["shp"], axis=0),
             h.make_node("Reshape", ["x", "shp"], ["f"], name="flat"),
             h.make_node("Constant", [], ["c"], value=nh.from_array(np.float32(2.0))),
             h.make_node("Mul", ["f", "c"], ["f2"], name="mul"),
             h.make_node("MatMul", ["f2", "w"], ["y"], name="mm")]
    model = make_model(nodes, [h.make_tensor_value_info("x", T.FLOAT, ["batch", 3, 4, 4])],
                       [h.make_tensor_value_info("y", T.FLOAT, None)], inits, opset=17)
    net = load_model(model, shapes_only=True)
    ops = [n.op_type if isinstance(n, Node) else "MAC" for n in net.nodes]
    assert ops == ["Shape", "Gather", "Unsqueeze", "Concat", "Reshape", "Mul", "QuantizeLinear", "MAC"]
    assert float(net.constants["c"]) == 2.0
    assert net.inputs[0].shape == (1, 3, 4, 4) and net.outputs[0].shape == (1, 4) and net.shapes["f"] == (1, 48)
    net = load_model(model, shapes_only=True, input_shapes=["x=5x3x4x4"])
    assert net.shapes["f"] == (5, 48)
    assert net.mac_layers[0].gemm_dims(net.shapes[net.mac_layers[0].x]) == (1, 5, 48, 4)
    # the same model kept in float runs at any batch size, as onnx.reference runs it
    net = load_model(model, float_layers="float")
    assert net.mac_layers == [] and [n.op_type for n in net.nodes][-1] == "MatMul"
    x = RNG.normal(size=(7, 3, 4, 4)).astype(np.float32)
    out, rep = run_network(net, {"x": x}, batch_size=3)
    np.testing.assert_allclose(out["y"], ReferenceEvaluator(model).run(None, {"x": x})[0], rtol=1e-5, atol=1e-5)
    assert [(f.name, f.op, f.macs) for f in rep.float_layers] == [("mm", "MatMul", 7 * 48 * 4)]


def _exported_classifier(out_dims):
    """A tiny float classifier with dynamic batch/H/W whose output is declared as ``out_dims``
    (an exporter's ``[-1, 2]``) and one intermediate value info that is wrong too."""
    w = RNG.normal(size=(2, 3, 3, 3)).astype(np.float32)
    nodes = [h.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             h.make_node("GlobalAveragePool", ["c"], ["g"]), h.make_node("Flatten", ["g"], ["y"])]
    m = make_model(nodes, [h.make_tensor_value_info("x", T.FLOAT, ["N", 3, "H", "W"])],
                   [h.make_tensor_value_info("y", T.FLOAT, out_dims)], [nh.from_array(w, "w")], opset=17)
    m.graph.value_info.append(h.make_tensor_value_info("g", T.FLOAT, [7, 2, 1, 1]))
    return m


def test_declared_shapes_that_inference_contradicts_warn_once():
    model = _exported_classifier([-1, 2])
    x = RNG.normal(size=(3, 3, 11, 9)).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = load_model(model, input_shapes={"x": (1, 3, 11, 9)}, float_layers="float")
    shape_warnings = [w for w in caught if issubclass(w.category, ShapeWarning)]
    assert len(shape_warnings) == 1
    msg = str(shape_warnings[0].message)
    assert "\n" not in msg and "shape inference gives" in msg and "1 more" in msg
    assert net.outputs[0].shape == (1, 2) and net.shapes["g"] == (1, 2, 1, 1)
    out, _ = run_network(net, {"x": x})
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    del fixed.graph.value_info[:]
    fixed.graph.output[0].CopyFrom(h.make_tensor_value_info("y", T.FLOAT, ["N", 2]))
    ref = ReferenceEvaluator(fixed).run(None, {"x": x})[0]
    np.testing.assert_allclose(out["y"], ref, rtol=1e-5, atol=1e-6)


def test_consistent_declared_shapes_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ShapeWarning)
        model = _exported_classifier(["N", 2])
        del model.graph.value_info[:]
        net = load_model(model, input_shapes={"x": (1, 3, 5, 5)}, float_layers="float")
    assert net.outputs[0].shape == (1, 2)


def test_dynamic_height_and_width_need_a_shape():
    model = _exported_classifier(["N", 2])
    with pytest.raises(Exception, match="--input-shape x="):
        load_model(model, float_layers="float")
