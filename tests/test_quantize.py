"""onnx_import.quantize: symmetric weights, calibration, per-layer widths, error bound of a quantized Conv."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from axmac.errors import AxmacError
from axmac.onnx_import import Node, QuantConfig, load_model
from axmac.onnx_import.quantize import calibrate, quantize_weight

from .test_onnx_import import float_conv, make_model, ref_mac

RNG = np.random.default_rng(99)


def two_conv_model():
    """x -> Conv(3->4, pad 1) -> Relu -> Conv(4->2, stride 2) -> y, all float."""
    w1 = RNG.normal(size=(4, 3, 3, 3)).astype(np.float32)
    b1 = RNG.normal(size=4).astype(np.float32)
    w2 = (RNG.normal(size=(2, 4, 3, 3)) * np.array([1, 20])[:, None, None, None]).astype(np.float32)
    inits = [nh.from_array(w1, "w1"), nh.from_array(b1, "b1"), nh.from_array(w2, "w2")]
    nodes = [h.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             h.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             h.make_node("Conv", ["r1", "w2"], ["y"], name="conv2", strides=[2, 2])]
    model = make_model(nodes, [h.make_tensor_value_info("x", T.FLOAT, ["N", 3, 8, 8])],
                       [h.make_tensor_value_info("y", T.FLOAT, None)], inits, opset=17)
    return model, w1, b1, w2


@pytest.mark.parametrize("bits", [8, 5, 12])
@pytest.mark.parametrize("per_channel", [False, True])
def test_symmetric_weights(bits, per_channel):
    w = RNG.normal(size=(6, 3, 3, 3)) * RNG.uniform(0.01, 10, 6)[:, None, None, None]
    w[2] = 0.0  # an all-zero channel
    wq, scale = quantize_weight(w, bits, per_channel=per_channel, axis=0)
    qmax = 2 ** (bits - 1) - 1
    assert wq.dtype == np.int64 and np.abs(wq).max() <= qmax
    s = scale.astype(np.float64).reshape(-1, 1, 1, 1) if per_channel else np.float64(scale)
    assert np.all(np.abs(w - s * wq) <= s / 2 * (1 + 1e-6))
    if per_channel:
        assert scale.shape == (6,)
        for c in (0, 1, 3, 4, 5):  # the largest magnitude of each channel maps to +-qmax
            assert np.abs(wq[c]).max() == qmax
        assert np.all(wq[2] == 0)
    else:
        assert scale.shape == () and np.abs(wq).max() == qmax
        np.testing.assert_allclose(scale, np.abs(w).max() / qmax, rtol=1e-6)


def test_calibration_max_and_percentile():
    model, w1, b1, _ = two_conv_model()
    x = RNG.normal(size=(6, 3, 8, 8)).astype(np.float32)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 2  # fixed batch 2: calibrated in 3 chunks
    r1 = np.maximum(float_conv(x, w1.astype(np.float64), b1, (1, 1, 1, 1), (1, 1)), 0)
    got = calibrate(model, ["x", "r1"], {"x": x}, QuantConfig())
    np.testing.assert_allclose(got["x"], np.abs(x).max(), rtol=1e-6)
    np.testing.assert_allclose(got["r1"], np.abs(r1).max(), rtol=1e-5)
    got = calibrate(model, ["x", "r1"], {"x": x}, QuantConfig(calibration="percentile", percentile=99.0))
    np.testing.assert_allclose(got["x"], np.percentile(np.abs(x), 99.0), rtol=1e-5)
    np.testing.assert_allclose(got["r1"], np.percentile(np.abs(r1), 99.0), rtol=1e-4)
    assert got["r1"] < np.abs(r1).max()


def test_quantized_network_structure_and_layer_bits():
    model, *_ = two_conv_model()
    x = RNG.normal(size=(4, 3, 8, 8)).astype(np.float32)
    net = load_model(model, calibration={"x": x}, input_shapes=["x=4x3x8x8"],
                     quant=QuantConfig(layer_bits={"conv2": 6}, per_channel=False))
    c1, c2 = net.mac_layers
    assert (c1.operand.bits, c1.operand.signed, c2.operand.bits, c2.operand.signed) == (8, True, 6, True)
    assert np.abs(c2.weight).max() == 31 and np.abs(c1.weight).max() == 127
    assert c1.output.kind == c2.output.kind == "dequant" and c2.y == "y"
    ops = [n.op_type if isinstance(n, Node) else n.name for n in net.nodes]
    assert ops == ["QuantizeLinear", "conv1", "Relu", "QuantizeLinear", "Clip", "conv2"]
    clip = net.nodes[4]
    assert clip.outputs == [c2.x]
    assert int(net.constants[clip.inputs[1]]) == -32 and int(net.constants[clip.inputs[2]]) == 31
    # the Q node's scale is the activation scale of the layer, zero point 0 int8
    q = net.nodes[0]
    assert float(net.constants[q.inputs[1]]) == c1.x_scale and net.constants[q.inputs[2]].dtype == np.int8
    np.testing.assert_allclose(c1.x_scale, np.abs(x).max() / 127, rtol=1e-6)


@pytest.mark.parametrize("per_channel", [True, False])
def test_quantized_conv_error_bound(per_channel):
    """|y_float - y_dequant| <= s_x/2 * sum|w| + s_w/2 * sum|x_hat| + s_x s_w / 2 (+ float32 rounding).

    With x = x_hat + e_x (x_hat = s_x x_q, |e_x| <= s_x/2 since max calibration never clips the
    calibration data) and w = w_hat + e_w (|e_w| <= s_w/2): x w - x_hat w_hat = e_x w + x_hat e_w; the
    quantized bias is off by at most half an accumulator unit s_x s_w.
    """
    model, w1, b1, _ = two_conv_model()
    x = RNG.normal(size=(3, 3, 8, 8)).astype(np.float32)
    net = load_model(model, calibration={"x": x}, input_shapes={"x": (3, 3, 8, 8)},
                     quant=QuantConfig(per_channel=per_channel))
    c1 = net.mac_layers[0]
    sx = np.float32(c1.x_scale)
    xq = np.clip(np.rint(x / sx), -128, 127).astype(np.int8)  # QuantizeLinear, computed here
    y = ref_mac(c1, xq).astype(np.float64)
    y_float = float_conv(x, w1.astype(np.float64), b1.astype(np.float64), (1, 1, 1, 1), (1, 1))
    sw = np.broadcast_to(np.asarray(c1.w_scale, np.float64), (4,))
    x_hat = xq.astype(np.float64) * np.float64(sx)
    bound = (float(sx) / 2 * float_conv(np.ones_like(x, np.float64), np.abs(w1.astype(np.float64)), np.zeros(4),
                                        (1, 1, 1, 1), (1, 1))
             + float_conv(np.abs(x_hat), np.ones_like(w1, np.float64), np.zeros(4), (1, 1, 1, 1), (1, 1))
             * (sw / 2)[None, :, None, None]
             + (float(sx) * sw / 2)[None, :, None, None])
    err = np.abs(y - y_float)
    assert np.all(err <= bound * (1 + 1e-4) + 1e-5)
    assert err.max() > 0  # quantization did something
    # per-channel weights are never worse than the per-tensor bound on the same data
    assert y.shape == (3, 4, 8, 8)


def test_quantized_model_close_to_float_end_to_end_first_layer():
    """The quantized first layer tracks onnxruntime's float conv output to a few percent of its range."""
    model, *_ = two_conv_model()
    x = RNG.normal(size=(2, 3, 8, 8)).astype(np.float32)
    net = load_model(model, calibration={"x": x}, input_shapes={"x": (2, 3, 8, 8)})
    c1 = net.mac_layers[0]
    sess_model = make_model(list(model.graph.node)[:1], [h.make_tensor_value_info("x", T.FLOAT, [2, 3, 8, 8])],
                            [h.make_tensor_value_info("c1", T.FLOAT, None)], list(model.graph.initializer), opset=17)
    s = ort.InferenceSession(sess_model.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = s.run(None, {"x": x})[0]
    xq = np.clip(np.rint(x / np.float32(c1.x_scale)), -128, 127).astype(np.int8)
    got = ref_mac(c1, xq)
    assert np.abs(got - ref).max() < 0.02 * np.abs(ref).max()


def test_bad_config_and_calibration():
    for kw in (dict(calibration="mean"), dict(bits=1), dict(bits=17), dict(percentile=0),
               dict(layer_bits={"conv1": 20}), dict(bits=True)):
        with pytest.raises(AxmacError):
            QuantConfig(**kw)
    model, *_ = two_conv_model()
    x = RNG.normal(size=(2, 3, 8, 8)).astype(np.float32)
    with pytest.raises(AxmacError, match="unknown float MAC layer"):
        load_model(model, calibration={"x": x}, quant=QuantConfig(layer_bits={"nope": 4}))
    with pytest.raises(AxmacError, match="no array for model input"):
        load_model(model, calibration={"y": x})
    with pytest.raises(AxmacError, match="shape"):
        load_model(model, calibration={"x": x[:, :2]})


@pytest.mark.parametrize("trans_a,trans_b", [(0, 0), (1, 1), (0, 1)])
def test_quantized_float_gemm_alpha_beta_trans(trans_a, trans_b):
    """Gemm alpha/beta/transA/transB folded at import: dequantized output within the derived bound of onnxruntime's."""
    m, k, n, alpha, beta = 5, 12, 4, 0.5, 2.0
    w = RNG.normal(size=(n, k) if trans_b else (k, n)).astype(np.float32)
    c = RNG.normal(size=n).astype(np.float32)
    xshape = [k, m] if trans_a else [m, k]
    model = make_model([h.make_node("Gemm", ["x", "w", "c"], ["y"], name="fc", alpha=alpha, beta=beta,
                                    transA=trans_a, transB=trans_b)],
                       [h.make_tensor_value_info("x", T.FLOAT, xshape)], [h.make_tensor_value_info("y", T.FLOAT, None)],
                       [nh.from_array(w, "w"), nh.from_array(c, "c")], opset=17)
    x = RNG.normal(size=xshape).astype(np.float32)
    net = load_model(model, calibration={"x": x})
    (layer,) = net.mac_layers
    xin = x.T if trans_a else x
    sx = np.float32(layer.x_scale)
    xq = np.clip(np.rint(xin / sx), -128, 127).astype(np.int8)
    y = ref_mac(layer, xq).astype(np.float64)
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y_float = s.run(None, {"x": x})[0].astype(np.float64)
    w_eff = alpha * (w.T if trans_b else w).astype(np.float64)  # (k, n)
    sw = np.broadcast_to(np.asarray(layer.w_scale, np.float64), (n,))
    np.testing.assert_allclose(sw, np.abs(w_eff).max(axis=0) / 127, rtol=1e-6)  # per channel of alpha * W
    x_hat = xq.astype(np.float64) * float(sx)
    bound = float(sx) / 2 * np.abs(w_eff).sum(0)[None, :] + np.abs(x_hat).sum(1)[:, None] * sw / 2 + float(sx) * sw / 2
    err = np.abs(y - y_float)
    assert np.all(err <= bound * (1 + 1e-4) + 1e-5) and err.max() > 0


@pytest.mark.parametrize("p", [0.5, 50.0, 99.0, 99.99, 100.0])
@pytest.mark.parametrize("chunks,size", [(1, 7), (5, 1000), (13, 37)])
def test_streaming_percentile_is_exact(p, chunks, size):
    from axmac.onnx_import.quantize import _AbsRange

    data = RNG.standard_t(3, size=(chunks, size)).astype(np.float32)
    r = _AbsRange(QuantConfig(calibration="percentile", percentile=p))
    for c in range(chunks):
        r.add(data[c], data.size)
    assert r.top.size <= max(3, (1 - p / 100) * data.size + 3)  # only the tail is kept
    np.testing.assert_allclose(r.value(), np.percentile(np.abs(data).astype(np.float64), p), rtol=1e-7)
    m = _AbsRange(QuantConfig())
    for c in range(chunks):
        m.add(data[c], data.size)
    assert m.value() == np.abs(data).max()


def test_calibration_with_symbolic_batch_and_baked_reshape():
    """A symbolic batch runs in chunks; a graph that bakes batch 1 into a Reshape falls back to one sample per run."""
    w = RNG.normal(size=(12, 3)).astype(np.float32)
    for target in ([-1, 12], [1, 12]):
        model = make_model([h.make_node("Reshape", ["x", "s"], ["f"]), h.make_node("Relu", ["f"], ["r"]),
                            h.make_node("MatMul", ["r", "w"], ["y"], name="mm")],
                           [h.make_tensor_value_info("x", T.FLOAT, ["N", 3, 4])],
                           [h.make_tensor_value_info("y", T.FLOAT, None)],
                           [nh.from_array(np.array(target, np.int64), "s"), nh.from_array(w, "w")], opset=17)
        x = RNG.normal(size=(70, 3, 4)).astype(np.float32)
        net = load_model(model, calibration={"x": x})
        np.testing.assert_allclose(net.mac_layers[0].x_scale, np.maximum(x, 0).max() / 127, rtol=1e-6)
