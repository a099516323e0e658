"""golden/ops.py against onnx's reference evaluator (and onnxruntime for pooling in ceil mode).

Each case builds a one-node ONNX model, runs it with ``onnx.reference.ReferenceEvaluator`` and
compares with :func:`axmac.golden.ops.run_op`: integer results exactly, float results to a few
float32 ulps (summation order differs).
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from axmac.errors import AxmacError
from axmac.golden.ops import run_op

RNG = np.random.default_rng(1234)


def one_node(op, inputs, attrs, opset=19, n_out=1):
    names = [f"i{k}" if a is not None else "" for k, a in enumerate(inputs)]
    node = helper.make_node(op, names, [f"y{k}" for k in range(n_out)], **attrs)
    vi = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
          for n, a in zip(names, inputs, strict=True) if a is not None]
    outs = [helper.make_tensor_value_info(f"y{k}", TensorProto.UNDEFINED, None) for k in range(n_out)]
    graph = helper.make_graph([node], "g", vi, outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    feeds = {n: a for n, a in zip(names, inputs, strict=True) if a is not None}
    return model, feeds


def reference(op, inputs, attrs, opset=19):
    model, feeds = one_node(op, inputs, attrs, opset)
    return ReferenceEvaluator(model).run(None, feeds)[0]


def check(op, inputs, attrs=None, opset=19, rtol=2e-6):
    attrs = attrs or {}
    want = reference(op, inputs, attrs, opset)
    got = run_op(op, list(inputs), attrs, opset=opset)
    assert got.shape == want.shape
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if np.issubdtype(want.dtype, np.floating):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, want)


def f32(*shape, scale=3.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def i8(*shape):
    return RNG.integers(-128, 128, shape).astype(np.int8)


# -- element-wise ---------------------------------------------------------------------------------

@pytest.mark.parametrize("x", [f32(2, 3, 4), i8(5, 7)], ids=["f32", "i8"])
def test_relu_identity(x):
    check("Relu", [x])
    check("Identity", [x])


@pytest.mark.parametrize("op,attrs", [
    ("LeakyRelu", {}), ("LeakyRelu", {"alpha": 0.3}), ("Sigmoid", {}), ("HardSigmoid", {}),
    ("HardSigmoid", {"alpha": 0.1, "beta": 0.4}), ("HardSwish", {}), ("Softmax", {}), ("Softmax", {"axis": 1}),
])
def test_float_activations(op, attrs):
    x = f32(3, 5, 6, scale=6.0)
    x[0, 0, :3] = [-100.0, 100.0, 0.0]  # sigmoid saturation, exact zero
    check(op, [x], attrs)


def test_more_elementwise_and_shape():
    x = f32(2, 3, 4)
    check("Tanh", [x])
    check("LogSoftmax", [x])
    for op in ("Softmax", "LogSoftmax"):  # pre-13: coerced to 2-D at axis; onnx.reference ignores that
        model, feeds = one_node(op, [x], {"axis": 1}, opset=11)
        model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y0", TensorProto.FLOAT, None))
        want = _session(model).run(None, feeds)[0]
        np.testing.assert_allclose(run_op(op, [x], {"axis": 1}, opset=11), want, rtol=2e-6, atol=1e-6)
    check("Sub", [x, f32(4)])
    check("Div", [x, f32(3, 1) + 10])
    a = RNG.integers(-50, 50, (3, 4)).astype(np.int32)
    check("Div", [a, np.array([3, -7, 2, -5], np.int32)])
    check("GlobalMaxPool", [f32(2, 3, 5, 4)])
    check("Squeeze", [f32(2, 1, 3, 1), np.array([1, 3], np.int64)])
    check("Squeeze", [f32(2, 1, 3, 1)], {"axes": [-1]}, opset=11)
    check("Unsqueeze", [x, np.array([0, -1], np.int64)])
    check("Unsqueeze", [x], {"axes": [1]}, opset=11)
    check("Dropout", [x])
    check("Cast", [x], {"to": TensorProto.INT32})
    check("Cast", [a], {"to": TensorProto.FLOAT})


def test_clip_inputs_and_old_attrs():
    x = f32(4, 9)
    check("Clip", [x, np.float32(-1.0), np.float32(2.0)])
    check("Clip", [x, None, np.float32(0.5)])
    check("Clip", [x, np.float32(-0.25)])
    check("Clip", [i8(4, 9), np.int8(-3), np.int8(100)])
    check("Clip", [x], {"min": -1.5, "max": 0.5}, opset=6)


@pytest.mark.parametrize("op", ["Add", "Mul"])
def test_binary_broadcast(op):
    check(op, [f32(2, 3, 4, 5), f32(3, 1, 1)])
    check(op, [f32(4, 5), f32(5)])
    a = RNG.integers(-1000, 1000, (3, 4)).astype(np.int32)
    check(op, [a, RNG.integers(-1000, 1000, (4,)).astype(np.int32)])


# -- shape ----------------------------------------------------------------------------------------

def test_shape_ops():
    x = f32(2, 3, 4, 5)
    check("Concat", [x, f32(2, 1, 4, 5), f32(2, 2, 4, 5)], {"axis": 1})
    check("Concat", [x, x], {"axis": -1})
    for axis in (0, 1, 2, -1):
        check("Flatten", [x], {"axis": axis})
    check("Reshape", [x, np.array([0, -1, 5], np.int64)])
    check("Reshape", [x, np.array([6, 20], np.int64)])
    check("Transpose", [x], {"perm": [0, 2, 3, 1]})
    check("Transpose", [x])


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
def test_pad(mode):
    x = f32(2, 3, 5, 6)
    check("Pad", [x, np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64)], {"mode": mode})
    if mode == "constant":
        check("Pad", [x, np.array([0, 1, 2, 1, 0, 0, 2, 3], np.int64), np.float32(1.5)], {"mode": mode})
        check("Pad", [x, np.array([1, 2, 3, 1], np.int64), np.float32(-2), np.array([2, -1], np.int64)])
        check("Pad", [i8(1, 2, 3, 3), np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), np.int8(-128)])


def test_pad_negative_crops():
    """Negative pads remove elements (onnx.reference rejects them; compared with slicing + np.pad)."""
    x = f32(2, 3, 5, 6)
    got = run_op("Pad", [x, np.array([0, 1, 2, -1, 0, 0, -2, 3], np.int64), np.float32(1.5)])
    want = np.pad(x[:, :, :3, 1:], [(0, 0), (1, 0), (2, 0), (0, 3)], constant_values=1.5)
    np.testing.assert_array_equal(got, want)


# -- pooling --------------------------------------------------------------------------------------

POOL_CASES = [
    {"kernel_shape": [2, 2], "strides": [2, 2]},
    {"kernel_shape": [3, 3]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]},
    {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 2, 1]},
    {"kernel_shape": [2, 3], "strides": [1, 2], "dilations": [2, 1]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"},
    {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "SAME_LOWER"},
    {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "VALID"},
]


@pytest.mark.parametrize("attrs", POOL_CASES)
def test_max_pool(attrs):
    if attrs.get("auto_pad") == "SAME_LOWER":  # onnx.reference gets the SAME_LOWER output shape wrong
        x = f32(2, 3, 9, 10)
        np.testing.assert_array_equal(run_op("MaxPool", [x], attrs), _ort("MaxPool", [x], attrs))
    else:
        check("MaxPool", [f32(2, 3, 9, 10)], attrs)
    q = i8(1, 2, 7, 8)
    # onnx.reference computes integer MaxPool through NaN padding (it fails): onnxruntime checks int8
    np.testing.assert_array_equal(run_op("MaxPool", [q], attrs), _ort("MaxPool", [q], attrs, TensorProto.INT8))


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("attrs", [a for a in POOL_CASES if "dilations" not in a])
def test_average_pool(attrs, count_include_pad):
    x, attrs = f32(2, 3, 9, 10), {**attrs, "count_include_pad": count_include_pad}
    if count_include_pad and attrs.get("auto_pad", "NOTSET").startswith("SAME"):
        # onnx.reference pads SAME with NaN even when counting pads: onnxruntime is the reference here
        np.testing.assert_allclose(run_op("AveragePool", [x], attrs), _ort("AveragePool", [x], attrs),
                                   rtol=2e-6, atol=1e-6)
    else:
        check("AveragePool", [x], attrs)


def _session(model):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def _ort(op, inputs, attrs, out_type=TensorProto.FLOAT, opset=19):
    model, feeds = one_node(op, inputs, attrs, opset=opset)
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y0", out_type, None))
    return _session(model).run(None, feeds)[0]


@pytest.mark.parametrize("op,attrs", [
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1, "count_include_pad": 1}),
    ("AveragePool", {"kernel_shape": [2, 3], "strides": [2, 2], "pads": [1, 1, 0, 1], "ceil_mode": 1,
                     "count_include_pad": 1}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER", "count_include_pad": 1}),
])
def test_pool_ceil_mode_vs_onnxruntime(op, attrs):
    """ceil_mode and SAME with counted pads: onnxruntime is the reference (onnx.reference splits the
    ceil-mode extension across both ends and pads SAME with NaN, unlike the spec's examples)."""
    x = f32(2, 3, 10, 9)
    np.testing.assert_allclose(run_op(op, [x], attrs), _ort(op, [x], attrs), rtol=2e-6, atol=1e-6)


def test_global_average_pool():
    check("GlobalAveragePool", [f32(2, 5, 7, 6)])


# -- float32 bit-exactness with onnxruntime (what keeps QDQ networks equal after requantization) -

def _dequantized(*shape):
    """Float32 values on an int8 grid, as a DequantizeLinear produces them (many exact ties)."""
    return RNG.integers(-128, 128, shape).astype(np.float32) * np.float32(0.0371)


@pytest.mark.parametrize("opset", [13, 19])
@pytest.mark.parametrize("op", ["Sigmoid", "Tanh"])
def test_rational_activations_bitexact_with_onnxruntime(op, opset):
    x = np.concatenate([f32(200000, scale=6.0), np.linspace(-25, 25, 100001, dtype=np.float32)])
    np.testing.assert_array_equal(run_op(op, [x], {}, opset=opset), _ort(op, [x], {}, opset=opset))


@pytest.mark.parametrize("op,attrs", [("HardSigmoid", {}), ("HardSigmoid", {"alpha": 0.25, "beta": 0.4}),
                                      ("HardSwish", {}), ("LeakyRelu", {"alpha": 0.1}), ("Relu", {})])
def test_simple_activations_bitexact_with_onnxruntime(op, attrs):
    x = np.concatenate([_dequantized(100000), f32(100000, scale=5.0)])
    np.testing.assert_array_equal(run_op(op, [x], attrs), _ort(op, [x], attrs))


@pytest.mark.parametrize("opset", [13, 19])
@pytest.mark.parametrize("attrs", [
    {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1]},
    {"kernel_shape": [2, 2], "strides": [2, 2]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "count_include_pad": 1},
    {"kernel_shape": [5, 3], "strides": [1, 2], "pads": [2, 1, 2, 1]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
    {"kernel_shape": [4, 4], "strides": [1, 1], "pads": [0, 0, 2, 2]},
])
def test_average_pool_bitexact_with_onnxruntime(attrs, opset):
    """onnxruntime sums windows row-major from opset 19 on, column by column before (MLAS)."""
    x = _dequantized(20, 8, 13, 12)
    np.testing.assert_array_equal(run_op("AveragePool", [x], attrs, opset=opset),
                                  _ort("AveragePool", [x], attrs, opset=opset))


@pytest.mark.parametrize("hw", [1, 3, 7, 16])
def test_global_average_pool_bitexact_with_onnxruntime(hw):
    x = _dequantized(50, 6, hw, hw)
    np.testing.assert_array_equal(run_op("GlobalAveragePool", [x], {}), _ort("GlobalAveragePool", [x], {}, opset=13))


# -- resize ---------------------------------------------------------------------------------------

CTMS = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"]
NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


@pytest.mark.parametrize("ctm", ["half_pixel", "asymmetric", "pytorch_half_pixel"])
@pytest.mark.parametrize("nearest_mode", NEAREST)
def test_resize_nearest_integer_scales(ctm, nearest_mode):
    attrs = {"mode": "nearest", "coordinate_transformation_mode": ctm, "nearest_mode": nearest_mode}
    x = f32(1, 2, 4, 5)
    check("Resize", [x, None, np.array([1, 1, 2.0, 3.0], np.float32)], attrs)
    check("Resize", [x, None, None, np.array([1, 2, 8, 10], np.int64)], attrs)


@pytest.mark.parametrize("ctm", CTMS)
@pytest.mark.parametrize("nearest_mode", NEAREST)
def test_resize_nearest_vs_onnxruntime(ctm, nearest_mode):
    """Fractional scales: onnxruntime is the reference (it computes coordinates in float32 and
    align_corners from the floored output length; onnx.reference uses float64 and the unfloored
    length, which rounds differently at exact ties)."""
    attrs = {"mode": "nearest", "coordinate_transformation_mode": ctm, "nearest_mode": nearest_mode}
    x = f32(1, 2, 4, 5)
    for ins in ([x, None, np.array([1, 1, 2.0, 1.5], np.float32)], [x, None, np.array([1, 1, 0.6, 0.8], np.float32)],
                [x, None, None, np.array([1, 2, 7, 3], np.int64)]):
        np.testing.assert_array_equal(run_op("Resize", ins, attrs), _ort("Resize", ins, attrs))


# -- quantization ---------------------------------------------------------------------------------

@pytest.mark.parametrize("zp_dtype", [np.int8, np.uint8])
def test_quantize_dequantize_per_tensor(zp_dtype):
    x = f32(3, 4, 5, scale=20.0)
    x[0, 0, :4] = [0.5, 1.5, 2.5, -2.5]  # exact ties at scale 1: round half to even
    zp = np.array(3 if zp_dtype == np.int8 else 128, zp_dtype)
    check("QuantizeLinear", [x, np.float32(1.0), zp])
    check("QuantizeLinear", [x, np.float32(0.137), zp])
    check("QuantizeLinear", [x, np.float32(0.05)])  # no zero point: uint8, saturating
    q = run_op("QuantizeLinear", [x, np.float32(0.137), zp])
    check("DequantizeLinear", [q, np.float32(0.137), zp])
    check("DequantizeLinear", [q, np.float32(0.137)])
    acc = RNG.integers(-(2**31), 2**31, (4, 6)).astype(np.int32)
    check("DequantizeLinear", [acc, np.float32(3e-5), np.int32(0)])


def test_quantize_dequantize_per_axis():
    x = f32(2, 4, 3, 3, scale=10.0)
    s = np.array([0.1, 0.2, 0.05, 0.4], np.float32)
    zp = np.array([0, -3, 5, 1], np.int8)
    check("QuantizeLinear", [x, s, zp], {"axis": 1})
    q = run_op("QuantizeLinear", [x, s, zp], {"axis": 1})
    check("DequantizeLinear", [q, s, zp], {"axis": 1})
    s0 = np.array([0.1, 0.3], np.float32)
    check("QuantizeLinear", [x, s0, np.array([1, 2], np.int8)], {"axis": 0})


# -- onnxruntime contrib ops (com.microsoft): QOperator models ------------------------------------

def _ort_ms(op, inputs, attrs, dtype):
    names = [f"i{k}" for k in range(len(inputs))]
    arrays = [np.asarray(a) for a in inputs]
    node = helper.make_node(op, names, ["y"], domain="com.microsoft", **attrs)
    vi = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
          for n, a in zip(names, arrays, strict=True)]
    g = helper.make_graph([node], "g", vi, [helper.make_tensor_value_info("y", helper.np_dtype_to_tensor_dtype(
        np.dtype(dtype)), None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)],
                          ir_version=10)
    return _session(m).run(None, dict(zip(names, arrays, strict=True)))[0]


def _codes(dtype, *shape):
    info = np.iinfo(dtype)
    return RNG.integers(info.min, info.max + 1, shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("op", ["QLinearAdd", "QLinearMul"])
@pytest.mark.parametrize("a_shape,b_shape", [((20, 3, 25, 25), (20, 3, 25, 25)), ((20, 3, 25, 25), (1, 3, 1, 1)),
                                             ((1, 3, 1, 1), (20, 3, 25, 25)), ((20, 3, 25, 25), ()),
                                             ((20, 1, 25, 25), (20, 3, 25, 25)), ((20, 3, 25, 25), (25,))])
def test_qlinear_binary_bitexact_with_onnxruntime(op, dtype, a_shape, b_shape):
    args = [_codes(dtype, *a_shape), np.float32(0.05), dtype(3), _codes(dtype, *b_shape), np.float32(0.031), dtype(5),
            np.float32(0.07), dtype(1)]
    np.testing.assert_array_equal(run_op(op, args, {}, domain="com.microsoft"), _ort_ms(op, args, {}, dtype))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_qlinear_unary_bitexact_with_onnxruntime(dtype):
    x = _codes(dtype, 8, 6, 7, 7)
    q = [np.float32(0.0531), dtype(7)]
    cases = [("QLinearSigmoid", [x, *q, np.float32(1 / 256), dtype(0 if dtype == np.uint8 else -128)], {}),
             ("QLinearLeakyRelu", [x, *q, np.float32(0.031), dtype(3)], {"alpha": 0.1}),
             ("QLinearGlobalAveragePool", [x, *q, np.float32(0.02), dtype(9)], {"channels_last": 0})]
    for op, args, attrs in cases:
        np.testing.assert_array_equal(run_op(op, args, attrs, domain="com.microsoft"), _ort_ms(op, args, attrs, dtype))
    a, b, c = _codes(dtype, 4, 3, 5, 5), _codes(dtype, 4, 2, 5, 5), _codes(dtype, 4, 1, 5, 5)
    args = [np.float32(0.07), dtype(2), a, np.float32(0.05), dtype(3), b, np.float32(0.07), dtype(2), c,
            np.float32(0.031), dtype(9)]
    np.testing.assert_array_equal(run_op("QLinearConcat", args, {"axis": 1}, domain="com.microsoft"),
                                  _ort_ms("QLinearConcat", args, {"axis": 1}, dtype))


# -- errors ---------------------------------------------------------------------------------------

def test_unsupported_op_and_attribute():
    with pytest.raises(AxmacError, match="unsupported operator Erf"):
        run_op("Erf", [f32(2)], {})
    with pytest.raises(AxmacError, match="unsupported operator com.microsoft.QGemm"):
        run_op("QGemm", [f32(2)], {}, domain="com.microsoft")
    with pytest.raises(AxmacError, match="unsupported operator com.microsoft.Relu"):
        run_op("Relu", [f32(2)], {}, domain="com.microsoft")
    with pytest.raises(AxmacError, match="unsupported attribute 'bogus'"):
        run_op("Relu", [f32(2)], {"bogus": 1})
    with pytest.raises(AxmacError, match="unsupported attribute '_column_sums'"):
        run_op("AveragePool", [f32(1, 1, 4, 4)], {"kernel_shape": [2, 2], "_column_sums": True})
    with pytest.raises(AxmacError, match="only mode 'nearest'"):
        run_op("Resize", [f32(1, 1, 2, 2), None, np.array([1, 1, 2, 2], np.float32)], {"mode": "linear"})
    with pytest.raises(AxmacError, match="coordinate_transformation_mode"):
        run_op("Resize", [f32(1, 1, 2, 2), None, np.array([1, 1, 2, 2], np.float32)],
               {"coordinate_transformation_mode": "tf_crop_and_resize"})
    with pytest.raises(AxmacError, match="cannot reshape"):
        run_op("Reshape", [f32(2, 3), np.array([4, 2], np.int64)], {})
