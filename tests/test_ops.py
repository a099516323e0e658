"""golden/ops/ against onnx's reference evaluator, and onnxruntime where axmac reproduces it.

Each case builds a one-node ONNX model, runs it with ``onnx.reference.ReferenceEvaluator`` and
compares with :func:`axmac.golden.ops.run_op`: integer results exactly, float results to a few
float32 ulps (summation order differs). The kernels that reproduce onnxruntime's float32
arithmetic (Sigmoid, Tanh, pooling, BatchNormalization, DynamicQuantizeLinear, the com.microsoft
ops of QOperator models) are also compared with onnxruntime bit for bit (float kernels, exact on
any CPU), and the com.microsoft ones with their mathematical definition (one LSB).
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
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
    with pytest.raises(AxmacError, match="unsupported operator NonMaxSuppression"):
        run_op("NonMaxSuppression", [f32(2)], {})
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


# -- more element-wise, reductions, shape computations ---------------------------------------------

def check_all(op, inputs, attrs=None, opset=19, n_out=1, rtol=2e-6):
    """Like :func:`check` for every output of a (multi-output) op."""
    attrs = attrs or {}
    model, feeds = one_node(op, inputs, attrs, opset, n_out=n_out)
    want = ReferenceEvaluator(model).run(None, feeds)
    got = run_op(op, list(inputs), attrs, opset=opset, n_out=n_out)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
        if np.issubdtype(w.dtype, np.floating):
            np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-6)
        else:
            np.testing.assert_array_equal(g, w)


def test_unary_math():
    x = f32(3, 4, 5)
    pos = np.abs(x) + np.float32(0.1)
    for op in ("Neg", "Abs", "Exp", "Floor", "Ceil", "Erf"):
        check(op, [x])
    for op in ("Log", "Sqrt", "Reciprocal"):
        check(op, [pos])
    check("Neg", [i8(4, 5)])
    check("Abs", [i8(4, 5)])
    check("Pow", [pos, np.float32(1.7)])
    check("Pow", [x, np.array([2.0, 3.0, 1.0, 0.0, -1.0], np.float32)], rtol=1e-5)


def test_variadic_and_comparisons():
    a, b, c = f32(2, 3, 4), f32(3, 1), f32(4)
    for op in ("Min", "Max", "Sum", "Mean"):
        check(op, [a, b, c])
        check(op, [a])
    check("Max", [i8(3, 4), i8(4)])
    for op in ("Equal", "Less", "Greater"):
        check(op, [np.rint(a), np.rint(c)])
    check("Not", [a > 0])
    check("Where", [a > 0, a, b])
    check("Where", [np.array([True, False, True, False]), i8(3, 4), np.int8(-1)])


@pytest.mark.parametrize("op", ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum"])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reductions(op, keepdims):
    x = f32(2, 3, 4, 5)
    check(op, [x, np.array([2, 3], np.int64)], {"keepdims": keepdims}, opset=18)
    check(op, [x, np.array([-3], np.int64)], {"keepdims": keepdims}, opset=18)
    check(op, [x], {"keepdims": keepdims}, opset=18)  # all axes
    check(op, [x], {"axes": [1], "keepdims": keepdims}, opset=13)  # attribute before opset 18
    check(op, [x, np.zeros(0, np.int64)], {"noop_with_empty_axes": 1}, opset=18)


def test_shape_computations():
    x = f32(2, 3, 4, 5)
    check("Shape", [x])
    check("Shape", [x], {"start": 1, "end": -1})
    check("Size", [x])
    check("Gather", [x, np.array([0, -1], np.int64)], {"axis": 1})
    check("Gather", [np.arange(5, dtype=np.int64), np.array(-2, np.int64)])
    check("Slice", [x, np.array([1, 0], np.int64), np.array([3, 2**62], np.int64), np.array([1, 3], np.int64)])
    check("Slice", [x, np.array([-1], np.int64), np.array([-(2**62)], np.int64), np.array([2], np.int64),
                    np.array([-1], np.int64)])
    model, feeds = one_node("ConstantOfShape", [np.array([2, 3], np.int64)],
                            {"value": numpy_helper.from_array(np.array([1.5], np.float32))})
    np.testing.assert_array_equal(run_op("ConstantOfShape", [np.array([2, 3], np.int64)],
                                         {"value": np.array([1.5], np.float32)}),
                                  ReferenceEvaluator(model).run(None, feeds)[0])
    check("ConstantOfShape", [np.array([4], np.int64)])
    check("Expand", [f32(3, 1), np.array([2, 1, 4], np.int64)])
    check("Range", [np.int64(2), np.int64(11), np.int64(3)])
    check("Range", [np.float32(1), np.float32(-1), np.float32(-0.5)])


def test_split_outputs():
    x = f32(2, 7, 3)
    check_all("Split", [x, np.array([2, 5], np.int64)], {"axis": 1}, n_out=2)
    check_all("Split", [x], {"axis": 1, "num_outputs": 3}, opset=18, n_out=3)  # 3, 3, 1
    check_all("Split", [x], {"axis": 1, "split": [1, 6]}, opset=11, n_out=2)
    check_all("Split", [f32(6, 2)], {}, opset=13, n_out=3)  # equal parts


# -- BatchNormalization, DynamicQuantizeLinear, float MAC layers: as onnxruntime computes them ------

def _bn_inputs(c):
    return [RNG.uniform(0.5, 2, c).astype(np.float32), f32(c, scale=0.5), f32(c, scale=0.5),
            RNG.uniform(0.1, 3, c).astype(np.float32)]


@pytest.mark.parametrize("shape", [(4, 7, 9, 11), (5, 6), (2, 3, 10)])
def test_batch_normalization_bitexact_with_onnxruntime(shape):
    x = _dequantized(*shape) * np.float32(7)
    ins = [x, *_bn_inputs(shape[1])]
    check("BatchNormalization", ins, {"epsilon": 1e-3}, opset=15, rtol=1e-5)
    np.testing.assert_array_equal(run_op("BatchNormalization", ins, {"epsilon": 1e-3}),
                                  _ort("BatchNormalization", ins, {"epsilon": 1e-3}, opset=15))
    with pytest.raises(AxmacError, match="training_mode"):
        run_op("BatchNormalization", ins, {"training_mode": 1})


@pytest.mark.parametrize("center,spread", [(0.0, 1.0), (3.0, 0.5), (-2.0, 4.0), (0.0, 0.0), (5.0, 0.0)])
def test_dynamic_quantize_linear(center, spread):
    """onnxruntime agrees bit for bit with the kernel (y, scale, zero point), and so does
    onnx.reference but on an all-zero tensor (its scale is then 0 / 255, onnxruntime's 1)."""
    x = (f32(3, 50, scale=spread) + np.float32(center)).astype(np.float32)
    if x.any():
        check_all("DynamicQuantizeLinear", [x], n_out=3, rtol=0)
    model, feeds = one_node("DynamicQuantizeLinear", [x], {}, 19, n_out=3)
    outs = [helper.make_tensor_value_info(n, t, None) for n, t in
            (("y0", TensorProto.UINT8), ("y1", TensorProto.FLOAT), ("y2", TensorProto.UINT8))]
    del model.graph.output[:]
    model.graph.output.extend(outs)
    for got, want in zip(run_op("DynamicQuantizeLinear", [x], n_out=3), _session(model).run(None, feeds), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("attrs,wshape", [
    ({"pads": [1, 1, 1, 1], "strides": [2, 1]}, (6, 4, 3, 3)),
    ({"group": 2, "dilations": [2, 1], "pads": [2, 0, 1, 1]}, (6, 2, 3, 2)),
    ({"group": 4, "auto_pad": "SAME_UPPER", "strides": [2, 2]}, (4, 1, 3, 3)),
    ({"pads": [2, 1], "strides": [2]}, (5, 4, 3)),  # 1-D
])
def test_float_conv(attrs, wshape):
    x = f32(2, 4, *((9, 8) if len(wshape) == 4 else (13,)))
    w = f32(*wshape, scale=0.3)
    check("Conv", [x, w, f32(wshape[0])], attrs, rtol=1e-5)
    check("Conv", [x, w], attrs, rtol=1e-5)


def test_float_gemm_matmul():
    check("Gemm", [f32(4, 6), f32(5, 6), f32(5)], {"transB": 1, "alpha": 0.5, "beta": 2.0}, rtol=1e-5)
    check("Gemm", [f32(6, 4), f32(6, 5), f32(4, 1)], {"transA": 1}, rtol=1e-5)  # a bias per row
    check("MatMul", [f32(2, 3, 6), f32(6, 4)], rtol=1e-5)
    check("MatMul", [f32(6), f32(2, 6, 4)], rtol=1e-5)


# -- com.microsoft QLinearSoftmax / QLinearAveragePool ---------------------------------------------

@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("shape,axis,opset", [((40, 10), -1, 13), ((20, 7, 3), 1, 13), ((20, 4, 5), 1, 12),
                                              ((8, 1000), 1, 13)])
def test_qlinear_softmax_bitexact_with_onnxruntime(dtype, shape, axis, opset):
    x = _codes(dtype, *shape)
    zy = dtype(-128 if dtype == np.int8 else 0)
    for xs in (0.02, 0.1731, 1.3):
        args = [x, np.float32(xs), dtype(3), np.float32(1 / 256), zy]
        got = run_op("QLinearSoftmax", args, {"axis": axis, "opset": opset}, domain="com.microsoft")
        np.testing.assert_array_equal(got, _ort_ms("QLinearSoftmax", args, {"axis": axis, "opset": opset}, dtype))
        # and within one LSB of "dequantize, softmax in float64, quantize"
        v = (x.astype(np.float64) - 3) * np.float32(xs)
        if opset < 13:
            v = v.reshape(v.shape[0], -1)
        e = np.exp(v - v.max(axis=axis, keepdims=True))
        ref = np.clip(np.rint(e / e.sum(axis=axis, keepdims=True) * 256) + int(zy), np.iinfo(dtype).min,
                      np.iinfo(dtype).max).reshape(x.shape)
        assert np.abs(got.astype(int) - ref).max() <= 1


QPOOL_CASES = [{"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]},
               {"kernel_shape": [2, 2], "strides": [2, 2]},
               {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1},
               {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
               {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1, "count_include_pad": 1},
               {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 1, 1]},
               {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"},
               {"kernel_shape": [3], "strides": [2], "pads": [1, 1]},
               {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "channels_last": 1},
               {"kernel_shape": [9, 8]}]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("attrs", QPOOL_CASES)
def test_qlinear_average_pool_bitexact_with_onnxruntime(dtype, attrs):
    shape = (3, 5, 11) if len(attrs["kernel_shape"]) == 1 else (3, 9, 8, 5) if attrs.get("channels_last") \
        else (3, 5, 9, 8)
    x = _codes(dtype, *shape)
    for xs, xz, ys, yz in [(0.05, 3, 0.031, 5), (0.1, -7 if dtype == np.int8 else 200, 0.1, 0), (0.02, 1, 0.07, 2)]:
        args = [x, np.float32(xs), dtype(xz), np.float32(ys), dtype(yz)]
        np.testing.assert_array_equal(run_op("QLinearAveragePool", args, attrs, domain="com.microsoft"),
                                      _ort_ms("QLinearAveragePool", args, attrs, dtype))
