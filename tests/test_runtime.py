"""onnx_import/runtime.py: MAC layers bound to run-time parameters (weights given as graph inputs,
zero points and scales computed at run time), against onnx.reference and against the same layer
with constant parameters; refused by the array with one clear line."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh
from onnx.reference import ReferenceEvaluator

from axmac.errors import AxmacError
from axmac.golden.engine import run_network
from axmac.onnx_import import load_model, operand_format
from axmac.onnx_import.runtime import RuntimeMacLayer, runtime_weight_error

from .test_onnx_import import make_model, only_mac

RNG = np.random.default_rng(77)


def test_runtime_weight_integer_layer():
    """ConvInteger whose weight and zero points are graph inputs: a MAC layer bound to them at run
    time, exact with any multiplier as the same layer with constant weights is; refused by the array."""
    x = RNG.integers(0, 256, (3, 2, 6, 5)).astype(np.uint8)
    w = RNG.integers(-128, 128, (4, 2, 3, 3)).astype(np.int8)
    xz, wz = np.array(100, np.uint8), np.array(-2, np.int8)
    node = h.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], name="ci", pads=[1, 1, 1, 1])
    vi = [h.make_tensor_value_info(n, t, list(a.shape)) for n, t, a in
          (("x", T.UINT8, x), ("w", T.INT8, w), ("xz", T.UINT8, xz), ("wz", T.INT8, wz))]
    runtime = make_model([node], vi, [h.make_tensor_value_info("y", T.INT32, None)], opset=10)
    net = load_model(runtime)
    layer = only_mac(net)
    assert isinstance(layer, RuntimeMacLayer) and layer.weight_input == "w"
    assert set(layer.runtime_inputs) == {"w", "xz", "wz"} and layer.weight.shape == (4, 2, 3, 3)
    assert layer.operand == operand_format((-255, 255), (-255, 255))  # any zero point of u8 / s8
    err = runtime_weight_error(layer)
    assert "\n" not in str(err) and "'w'" in str(err) and "MAC array" in str(err)
    from axmac.onnx_import.runtime import check_mappable

    with pytest.raises(AxmacError, match="layer 'ci' reads its weight from the run-time tensor 'w'"):
        check_mappable(net)
    from axmac.onnx_import.schedule import make_schedule

    with pytest.raises(AxmacError, match="layer 'ci' reads its weight from the run-time tensor 'w'"):
        make_schedule(net, 4, 4)  # the schedule refuses it too (placeholder weight array or not)
    feeds = {"x": x, "w": w, "xz": xz, "wz": wz}
    out, rep = run_network(net, feeds, batch_size=2)
    np.testing.assert_array_equal(out["y"], ReferenceEvaluator(runtime).run(None, feeds)[0])
    assert rep.layers[0].macs == out["y"].size * 18
    constant = make_model([node], vi[:1], [h.make_tensor_value_info("y", T.INT32, None)],
                          [nh.from_array(w, "w"), nh.from_array(xz, "xz"), nh.from_array(wz, "wz")], opset=10)
    fixed = load_model(constant)
    assert runtime_weight_error(only_mac(fixed)) is None
    for mult in ("mitchell", "drum:3"):
        got, _ = run_network(net, feeds, multiplier=mult)
        want, _ = run_network(fixed, {"x": x}, multiplier=mult)
        np.testing.assert_array_equal(got["y"], want["y"])
    with pytest.raises(AxmacError, match=r"input 'w' has shape \(4, 1, 3, 3\), the model expects \(4, 2, 3, 3\)"):
        run_network(net, {**feeds, "w": w[:, :1]})


@pytest.mark.parametrize("op", ["Conv", "MatMul"])
def test_runtime_weight_float_layer(op):
    """A float Conv / MatMul whose weight is a graph input stays a float layer, run in float32."""
    x = RNG.normal(size=(2, 2, 5, 5) if op == "Conv" else (3, 4)).astype(np.float32)
    w = RNG.normal(size=(3, 2, 3, 3) if op == "Conv" else (4, 2)).astype(np.float32)
    model = make_model([h.make_node(op, ["x", "w"], ["y"], name="L")],
                       [h.make_tensor_value_info("x", T.FLOAT, list(x.shape)),
                        h.make_tensor_value_info("w", T.FLOAT, list(w.shape))],
                       [h.make_tensor_value_info("y", T.FLOAT, None)])
    net = load_model(model)
    assert net.mac_layers == [] and [n.op_type for n in net.nodes] == [op]
    out, rep = run_network(net, {"x": x, "w": w})
    np.testing.assert_allclose(out["y"], ReferenceEvaluator(model).run(None, {"x": x, "w": w})[0], rtol=1e-5,
                               atol=1e-6)
    assert [f.name for f in rep.float_layers] == ["L"] and rep.float_macs > 0 and rep.macs == 0




def test_runtime_activation_zero_point_keeps_the_layer_mappable():
    """quantize_dynamic's form: DynamicQuantizeLinear feeds MatMulInteger its activation zero point
    at run time; the weights are constant, so the layer keeps them and can be mapped."""
    from axmac.onnx_import.runtime import check_mappable

    b = RNG.integers(-128, 128, (6, 3)).astype(np.int8)
    nodes = [h.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
             h.make_node("MatMulInteger", ["xq", "b", "xz"], ["acc"], name="mm"),
             h.make_node("Cast", ["acc"], ["accf"], to=T.FLOAT), h.make_node("Mul", ["accf", "xs"], ["y"])]
    model = make_model(nodes, [h.make_tensor_value_info("x", T.FLOAT, ["N", 6])],
                       [h.make_tensor_value_info("y", T.FLOAT, None)], [nh.from_array(b, "b")], opset=17)
    net = load_model(model)
    layer = only_mac(net)
    assert isinstance(layer, RuntimeMacLayer) and layer.runtime_roles == ("x_zero_point",) and not layer.weight_input
    assert np.array_equal(layer.weight, b) and layer.operand == operand_format((-255, 255), (-128, 127))
    assert runtime_weight_error(layer) is None
    check_mappable(net)
    x = RNG.normal(size=(4, 6)).astype(np.float32) + np.float32(0.7)
    out, _ = run_network(net, {"x": x})
    np.testing.assert_array_equal(out["y"], ReferenceEvaluator(model).run(None, {"x": x})[0])
    # the batch is quantized as a whole (one scale for all samples), unless split on purpose
    one, _ = run_network(net, {"x": x[:1]})
    split, _ = run_network(net, {"x": x}, batch_size=1)
    np.testing.assert_array_equal(split["y"][:1], one["y"])
