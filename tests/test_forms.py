"""onnx_import/forms/ and convert.py: 1-D convolutions in every form, BatchNormalization that
follows no float Conv, the float-layer policy of partly quantized models, NaN / infinity refused.

References: onnx.reference (exact integer semantics) and onnxruntime's float kernels (exact on any
CPU) where axmac reproduces them bit for bit.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh
from onnx.reference import ReferenceEvaluator

from axmac.errors import AxmacError
from axmac.golden.engine import run_network
from axmac.ir import MacLayer
from axmac.onnx_import import Node, load_model

from .test_onnx_import import make_model, one_line, ort_run

RNG = np.random.default_rng(31)


def _vi(name, arr):
    return h.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(arr.dtype), list(arr.shape))


@pytest.mark.parametrize("attrs", [dict(pads=[1, 2], strides=[2]), dict(dilations=[2], pads=[2, 2]),
                                   dict(auto_pad="SAME_UPPER", strides=[3]), dict(group=2, pads=[1, 1])])
def test_conv_integer_1d(attrs):
    """A 1-D convolution runs as a 2-D one of unit height, exactly as onnx.reference computes it."""
    g = attrs.get("group", 1)
    x = RNG.integers(0, 256, (3, 4, 17)).astype(np.uint8)
    w = RNG.integers(-128, 128, (6, 4 // g, 3)).astype(np.int8)
    model = make_model([h.make_node("ConvInteger", ["x", "w", "xz"], ["y"], name="c1d", **attrs)], [_vi("x", x)],
                       [h.make_tensor_value_info("y", T.INT32, None)],
                       [nh.from_array(w, "w"), nh.from_array(np.array(128, np.uint8), "xz")], opset=10)
    net = load_model(model)
    (layer,) = net.mac_layers
    assert layer.weight.shape == (6, 4 // g, 1, 3) and layer.strides[0] == 1 and layer.pads[0] == layer.pads[2] == 0
    assert [n.op_type for n in net.nodes if isinstance(n, Node)] == ["Unsqueeze", "Squeeze"]
    for mult in ("exact", "mitchell"):
        out, _ = run_network(net, {"x": x}, multiplier=mult)
        if mult == "exact":
            want = ReferenceEvaluator(model).run(None, {"x": x})[0]
            np.testing.assert_array_equal(out["y"], want)
            assert net.outputs[0].shape == want.shape


def test_qlinear_and_qdq_conv_1d():
    x = RNG.integers(-128, 128, (2, 3, 12)).astype(np.int8)
    w = RNG.integers(-127, 128, (5, 3, 3)).astype(np.int8)
    ws = RNG.uniform(0.002, 0.01, 5).astype(np.float32)
    inits = [nh.from_array(np.array(0.05, np.float32), "xs"), nh.from_array(np.array(-3, np.int8), "xz"),
             nh.from_array(w, "w"), nh.from_array(ws, "ws"), nh.from_array(np.zeros(5, np.int8), "wz"),
             nh.from_array(np.array(0.04, np.float32), "ys"), nh.from_array(np.array(2, np.int8), "yz")]
    # onnx.reference's QLinearConv broadcasts per-channel scales as 2-D only: a scalar scale here
    scalar = [nh.from_array(np.float32(0.004), "ws"), nh.from_array(np.int8(0), "wz")]
    qlinear = make_model([h.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"],
                                      pads=[1, 1])], [_vi("x", x)], [h.make_tensor_value_info("y", T.INT8, None)],
                         [i for i in inits if i.name not in ("ws", "wz")] + scalar)
    qdq = make_model([h.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xf"]),
                      h.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=0),
                      h.make_node("Conv", ["xf", "wf"], ["yf"], pads=[1, 1]),
                      h.make_node("QuantizeLinear", ["yf", "ys", "yz"], ["y"])],
                     [_vi("x", x)], [h.make_tensor_value_info("y", T.INT8, None)], inits)
    for model, src in ((qlinear, "QLinearConv"), (qdq, "DQ+Conv+Q")):
        net = load_model(model)
        assert [layer.source for layer in net.mac_layers] == [src]
        out, _ = run_network(net, {"x": x})
        want = ReferenceEvaluator(model).run(None, {"x": x})[0]
        assert np.abs(out["y"].astype(int) - want).max() <= 1 and np.mean(out["y"] == want) > 0.95


def test_float_conv_1d_quantized_and_kept_float():
    x = RNG.normal(size=(4, 3, 16)).astype(np.float32)
    model = make_model([h.make_node("Conv", ["x", "w", "b"], ["y"], name="c", pads=[1, 1], strides=[2])],
                       [_vi("x", x)], [h.make_tensor_value_info("y", T.FLOAT, None)],
                       [nh.from_array(RNG.normal(size=(6, 3, 3)).astype(np.float32), "w"),
                        nh.from_array(RNG.normal(size=6).astype(np.float32), "b")], opset=17)
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    quantized = load_model(model, calibration={"x": x})
    out, _ = run_network(quantized, {"x": x})
    assert out["y"].shape == want.shape and np.abs(out["y"] - want).max() < 0.05 * np.abs(want).max()
    kept = load_model(model, float_layers="float")
    out, rep = run_network(kept, {"x": x})
    np.testing.assert_allclose(out["y"], want, rtol=1e-5, atol=1e-5)
    assert [f.name for f in rep.float_layers] == ["c"]


def _qdq_bn_model():
    """int8 x -> DQ -> BatchNormalization -> Q -> DQ: a BN that follows no float Conv, as onnxruntime's
    quantizer leaves one without pre-processing."""
    c = 5
    inits = [nh.from_array(np.array(0.05, np.float32), "s"), nh.from_array(np.array(1, np.int8), "z"),
             nh.from_array(np.array(0.07, np.float32), "s2"), nh.from_array(np.array(-2, np.int8), "z2"),
             nh.from_array(RNG.uniform(0.5, 2, c).astype(np.float32), "g"),
             nh.from_array(RNG.normal(size=c).astype(np.float32), "b"),
             nh.from_array(RNG.normal(size=c).astype(np.float32), "m"),
             nh.from_array(RNG.uniform(0.2, 3, c).astype(np.float32), "v")]
    nodes = [h.make_node("DequantizeLinear", ["x", "s", "z"], ["xf"]),
             h.make_node("BatchNormalization", ["xf", "g", "b", "m", "v"], ["bn"], name="bn", epsilon=1e-3),
             h.make_node("QuantizeLinear", ["bn", "s2", "z2"], ["q"]),
             h.make_node("DequantizeLinear", ["q", "s2", "z2"], ["y"])]
    return make_model(nodes, [h.make_tensor_value_info("x", T.INT8, [8, c, 6, 6])],
                      [h.make_tensor_value_info("y", T.FLOAT, None)], inits, opset=19)


def test_batch_normalization_anywhere_runs_as_onnxruntime():
    model = _qdq_bn_model()
    net = load_model(model)
    assert "BatchNormalization" in [n.op_type for n in net.nodes]
    x = RNG.integers(-128, 128, (8, 5, 6, 6)).astype(np.int8)
    out, _ = run_network(net, {"x": x})
    np.testing.assert_array_equal(out["y"], ort_run(model, {"x": x})[0])  # float kernels: exact on any CPU
    ref = ReferenceEvaluator(model).run(None, {"x": x})[0]
    assert np.abs(np.rint((out["y"] - ref) / np.float32(0.07))).max() <= 1


def _partial_model():
    """A QDQ conv followed by a float Gemm the quantizer left alone (``op_types_to_quantize``)."""
    w = RNG.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    inits = [nh.from_array(w, "w"), nh.from_array(np.array(0.01, np.float32), "ws"),
             nh.from_array(np.array(0.05, np.float32), "xs"), nh.from_array(np.array(0, np.int8), "xz"),
             nh.from_array(RNG.normal(size=(5, 16)).astype(np.float32), "fw"),
             nh.from_array(RNG.normal(size=5).astype(np.float32), "fb")]
    nodes = [h.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xf"]),
             h.make_node("DequantizeLinear", ["w", "ws"], ["wf"]),
             h.make_node("Conv", ["xf", "wf"], ["c"], name="conv"),
             h.make_node("Flatten", ["c"], ["f"]),
             h.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1)]
    return make_model(nodes, [h.make_tensor_value_info("x", T.INT8, ["N", 3, 4, 4])],
                      [h.make_tensor_value_info("y", T.FLOAT, None)], inits, opset=19)


def test_float_layers_of_a_quantized_model_stay_float_unless_asked():
    model = _partial_model()
    x = RNG.integers(-128, 128, (6, 3, 4, 4)).astype(np.int8)
    net = load_model(model)
    assert [layer.name for layer in net.mac_layers] == ["conv"]
    out, rep = run_network(net, {"x": x})
    assert [(f.name, f.op, f.macs) for f in rep.float_layers] == [("fc", "Gemm", 6 * 5 * 16)]
    assert rep.to_dict()["float_layers"] == [{"name": "fc", "kind": "float", "op": "Gemm", "macs": 480}]
    ref = ReferenceEvaluator(model).run(None, {"x": x})[0]
    np.testing.assert_allclose(out["y"], ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["y"], ort_run(model, {"x": x})[0], rtol=1e-5, atol=1e-5)
    with pytest.raises(AxmacError, match="'fc', a float layer"):
        run_network(net, {"x": x}, layers={"fc": "mitchell"})
    with pytest.raises(AxmacError, match=r"float MAC layers \(fc\).*calibration"):
        load_model(model, float_layers="quantize")
    calib = RNG.normal(size=(16, 3, 4, 4)).astype(np.float32)
    quantized = load_model(model, float_layers="quantize", calibration={"x": (calib * 40).astype(np.int8)})
    assert [layer.name for layer in quantized.mac_layers] == ["conv", "fc"]
    with pytest.raises(AxmacError, match="float_layers must be one of"):
        load_model(model, float_layers="maybe")


def test_nan_and_infinity_are_refused():
    model = _partial_model()
    bad = onnx.ModelProto()
    bad.CopyFrom(model)
    for t in bad.graph.initializer:
        if t.name == "ws":
            t.CopyFrom(nh.from_array(np.array(np.inf, np.float32), "ws"))
    with pytest.raises(AxmacError) as e:
        load_model(bad)
    assert "infinity" in one_line(e) and "'ws'" in one_line(e)
    w = RNG.normal(size=(2, 3, 3, 3)).astype(np.float32)
    w[0, 0, 0, 0] = np.nan
    flt = make_model([h.make_node("Conv", ["x", "w"], ["y"], name="c")],
                     [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 5, 5])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], [nh.from_array(w, "w")])
    with pytest.raises(AxmacError) as e:
        load_model(flt, shapes_only=True)
    assert "NaN" in one_line(e) and "weight" in one_line(e)
    bn = _qdq_bn_model()
    for t in bn.graph.initializer:
        if t.name == "v":
            t.CopyFrom(nh.from_array(np.array([1, 1, np.nan, 1, 1], np.float32), "v"))
    with pytest.raises(AxmacError, match="BatchNormalization node 'bn': var 'v' contains NaN"):
        load_model(bn)


def test_layers_are_mac_layers_and_nodes():
    net = load_model(_partial_model())
    assert all(isinstance(n, MacLayer | Node) for n in net.nodes)
