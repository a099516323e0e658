"""onnx_import.loader: IR structure and numerics of every MAC form, against onnxruntime / onnx.reference.

The imported MacLayers are executed here by ``ref_mac``, a small int64 reference written for this
test (explicitly padded input, one ``einsum`` per kernel tap), independent of the golden engine and
of ``onnx_import.lower``.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh
from onnx.reference import ReferenceEvaluator

from axmac.errors import AxmacError
from axmac.onnx_import import MacLayer, Node, load_model, operand_format, parse_input_shapes
from axmac.onnx_import.convert import Converter
from axmac.onnx_import.graph import read_model

from .reference import assert_within_one_lsb, run_reference, teacher_forced
from .test_ort_probe import skip_unless_ort_exact

RNG = np.random.default_rng(1234)


# -- helpers ------------------------------------------------------------------------------------------------
def make_model(nodes, inputs, outputs, inits=(), opset=21):
    g = h.make_graph(nodes, "t", inputs, outputs, initializer=list(inits))
    return h.make_model(g, opset_imports=[h.make_opsetid("", opset)], ir_version=10)


def ort_run(model, feeds, optimize=False):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                     else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    s = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


def ref_acc(layer: MacLayer, x: np.ndarray) -> np.ndarray:
    """int64 accumulator of ``layer`` on the raw integer input ``x`` (centered operands, zero padding)."""
    xc = x.astype(np.int64) - layer.x_zero_point
    wzp = np.asarray(layer.w_zero_point, np.int64)
    if layer.kind == "gemm":
        w = layer.weight - (wzp if wzp.ndim == 0 else wzp[None, :])
        acc = np.einsum("...k,kn->...n", xc, w)
        return acc + (0 if layer.bias is None else layer.bias)
    w = layer.weight - (wzp if wzp.ndim == 0 else wzp[:, None, None, None])
    n, c, hh, ww = xc.shape
    m, cg, kh, kw = w.shape
    pt, pl, pb, pr = layer.pads
    xp = np.zeros((n, c, hh + pt + pb, ww + pl + pr), np.int64)
    xp[:, :, pt:pt + hh, pl:pl + ww] = xc
    (sh, sw), (dh, dw), g = layer.strides, layer.dilations, layer.group
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, m, oh, ow), np.int64)
    mg = m // g
    for gi in range(g):
        xs = xp[:, gi * cg:(gi + 1) * cg]
        wg = w[gi * mg:(gi + 1) * mg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
                out[:, gi * mg:(gi + 1) * mg] += np.einsum("nchw,mc->nmhw", patch, wg[:, :, i, j])
    if layer.bias is not None:
        out += layer.bias[None, :, None, None]
    return out


def ref_mac(layer: MacLayer, x: np.ndarray) -> np.ndarray:
    """Apply the whole layer: accumulator then its output stage (float32 scaling, round half even, saturate)."""
    acc = ref_acc(layer, x)
    st = layer.output
    ch = (None, slice(None), None, None) if layer.kind == "conv" else (Ellipsis, slice(None))
    scale = np.asarray(st.scale, np.float32)
    scale = scale if scale.ndim == 0 else scale[ch]
    if st.kind == "int32":
        return acc.astype(np.int32)
    if st.kind == "dequant":
        return acc.astype(np.float32) * scale
    info = np.iinfo(st.dtype)
    q = np.rint(acc.astype(np.float32) * scale).astype(np.int64) + st.zero_point
    return np.clip(q, info.min, info.max).astype(st.dtype)


def only_mac(net) -> MacLayer:
    (layer,) = net.mac_layers
    return layer


# -- operand formats ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("ranges", [[(0, 255), (-127, 127)], [(-128, 127), (-127, 127)], [(0, 255), (0, 3)],
                                    [(-3, 2)], [(0, 1)], [(-129, 5)], [(-5, 128)], [(-32768, 32767)]])
def test_operand_format_is_smallest(ranges):
    fmt = operand_format(*ranges)
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    assert fmt.lo <= lo and hi <= fmt.hi
    # brute force: no narrower width of either signedness holds the range
    for bits in range(2, fmt.bits):
        for signed in (False, True):
            flo = -(1 << (bits - 1)) if signed else 0
            fhi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
            assert not (flo <= lo and hi <= fhi)


def test_operand_format_too_wide():
    with pytest.raises(AxmacError, match="17 bits"):
        operand_format((0, 65535), (-1, 1))


def test_parse_input_shapes():
    assert parse_input_shapes(["x=1x1x28x28", "y=3"]) == {"x": (1, 1, 28, 28), "y": (3,)}
    for bad in ("x", "x=", "x=1xax2", "=1x2", "x=0x1"):
        with pytest.raises(AxmacError):
            parse_input_shapes([bad])


# -- ConvInteger / MatMulInteger ------------------------------------------------------------------------------
CONV_CASES = [
    dict(),
    dict(pads=[1, 2, 0, 1]),
    dict(strides=[2, 1], pads=[1, 1, 1, 1]),
    dict(dilations=[2, 2], pads=[2, 1, 2, 1]),
    dict(auto_pad="SAME_UPPER", strides=[2, 2]),
    dict(auto_pad="SAME_LOWER", strides=[2, 2]),
    dict(auto_pad="SAME_UPPER", strides=[1, 1]),
    dict(auto_pad="VALID", strides=[2, 2]),
    dict(group=2, pads=[1, 1, 1, 1]),
    dict(group=4, pads=[1, 1, 1, 1]),  # depthwise (4 input channels)
]


@pytest.mark.parametrize("attrs", CONV_CASES, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()) or "plain")
def test_conv_integer_vs_onnxruntime(attrs):
    g = attrs.get("group", 1)
    c, m = 4, 8 if g != 4 else 4
    w = RNG.integers(-128, 128, (m, c // g, 3, 3)).astype(np.int8)
    x = RNG.integers(0, 256, (2, c, 9, 7)).astype(np.uint8)
    model = make_model(
        [h.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], name="ci", **attrs)],
        [h.make_tensor_value_info("x", T.UINT8, list(x.shape))], [h.make_tensor_value_info("y", T.INT32, None)],
        [nh.from_array(w, "w"), nh.from_array(np.array(131, np.uint8), "xz"),
         nh.from_array(np.array(-3, np.int8), "wz")], opset=10)
    net = load_model(model)
    layer = only_mac(net)
    assert layer.kind == "conv" and layer.source == "ConvInteger" and layer.group == g
    assert layer.output.kind == "int32" and layer.x_zero_point == 131
    assert np.array_equal(layer.weight, w.astype(np.int64))
    # x - 131 in [-131, 124], w + 3 in actual range: signed 9 bits needed because of -131
    assert layer.operand.signed and layer.operand.bits == 9
    expect = ReferenceEvaluator(model).run(None, {"x": x})[0]
    got = ref_mac(layer, x)
    assert got.shape == expect.shape == net.shapes["y"]
    assert np.array_equal(got, expect)
    assert layer.gemm_dims(x.shape) == (g, 2 * expect.shape[2] * expect.shape[3], c // g * 9, m // g)
    if g == 1:  # onnxruntime's ConvInteger: group 1 only
        skip_unless_ort_exact()
        assert np.array_equal(got, ort_run(model, {"x": x})[0])


def test_matmul_integer_vs_onnxruntime():
    a = RNG.integers(0, 256, (3, 5, 16)).astype(np.uint8)
    b = RNG.integers(-128, 128, (16, 6)).astype(np.int8)
    bz = RNG.integers(-4, 4, 6).astype(np.int8)
    model = make_model([h.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"], name="mmi")],
                       [h.make_tensor_value_info("a", T.UINT8, list(a.shape))],
                       [h.make_tensor_value_info("y", T.INT32, None)],
                       [nh.from_array(b, "b"), nh.from_array(np.array(7, np.uint8), "az"), nh.from_array(bz, "bz")])
    layer = only_mac(load_model(model))
    assert layer.kind == "gemm" and layer.w_zero_point.shape == (6,)
    wc = b.astype(np.int64) - bz
    assert layer.operand == operand_format((0 - 7, 255 - 7), (wc.min(), wc.max()))
    assert layer.gemm_dims(a.shape) == (1, 15, 16, 6)
    got = ref_mac(layer, a)
    assert np.array_equal(got, ReferenceEvaluator(model).run(None, {"a": a})[0])
    skip_unless_ort_exact()
    assert np.array_equal(got, ort_run(model, {"a": a})[0])


# -- QLinearConv / QLinearMatMul ------------------------------------------------------------------------------
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("xdt", [np.uint8, np.int8])
def test_qlinear_conv_vs_onnxruntime(per_channel, xdt):
    m, c = 6, 3
    x = RNG.integers(np.iinfo(xdt).min, np.iinfo(xdt).max + 1, (2, c, 8, 8)).astype(xdt)
    w = RNG.integers(-127, 128, (m, c, 3, 3)).astype(np.int8)
    ws = (RNG.uniform(0.001, 0.01, m) if per_channel else np.array(0.004)).astype(np.float32)
    bias = RNG.integers(-2000, 2000, m).astype(np.int32)
    xz = np.array(10 if xdt == np.uint8 else -3, xdt)
    yz = np.array(120 if xdt == np.uint8 else 2, xdt)
    inits = [nh.from_array(np.array(0.02, np.float32), "xs"), nh.from_array(xz, "xz"), nh.from_array(w, "w"),
             nh.from_array(ws, "ws"), nh.from_array(np.zeros(ws.shape, np.int8), "wz"),
             nh.from_array(np.array(0.05, np.float32), "ys"), nh.from_array(yz, "yz"), nh.from_array(bias, "b")]
    model = make_model([h.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"],
                                    name="qc", pads=[1, 1, 1, 1], strides=[2, 1])],
                       [h.make_tensor_value_info("x", onnx.helper.np_dtype_to_tensor_dtype(np.dtype(xdt)),
                                                 list(x.shape))],
                       [h.make_tensor_value_info("y", onnx.helper.np_dtype_to_tensor_dtype(np.dtype(xdt)), None)],
                       inits)
    layer = only_mac(load_model(model))
    assert layer.output.kind == "requant" and layer.output.zero_point == int(yz)
    assert layer.output.dtype == np.dtype(xdt)
    # float32 arithmetic, left to right, as onnxruntime computes the output scale
    assert np.array_equal(layer.output.scale, (np.float32(0.02) * ws) / np.float32(0.05))
    assert layer.output.scale.dtype == np.float32
    got = ref_mac(layer, x)
    expect_ref = ReferenceEvaluator(model).run(None, {"x": x})[0]
    # integer accumulators are exact; the float rescale may differ by one LSB on exact ties
    assert np.abs(got.astype(int) - expect_ref.astype(int)).max() <= 1
    assert np.mean(got == expect_ref) > 0.99
    skip_unless_ort_exact()
    expect_ort = ort_run(model, {"x": x})[0]
    assert np.abs(got.astype(int) - expect_ort.astype(int)).max() <= 1
    assert np.mean(got == expect_ort) > 0.99


def test_qlinear_matmul_vs_onnxruntime():
    a = RNG.integers(0, 256, (4, 32)).astype(np.uint8)
    b = RNG.integers(0, 256, (32, 5)).astype(np.uint8)
    inits = [nh.from_array(np.array(0.03, np.float32), "as"), nh.from_array(np.array(100, np.uint8), "az"),
             nh.from_array(b, "b"), nh.from_array(np.array(0.01, np.float32), "bs"),
             nh.from_array(np.array(128, np.uint8), "bz"), nh.from_array(np.array(0.4, np.float32), "ys"),
             nh.from_array(np.array(50, np.uint8), "yz")]
    model = make_model([h.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])],
                       [h.make_tensor_value_info("a", T.UINT8, list(a.shape))],
                       [h.make_tensor_value_info("y", T.UINT8, None)], inits)
    net = load_model(model)
    layer = only_mac(net)
    assert layer.name == "QLinearMatMul_0"  # unnamed nodes get op_index names
    assert layer.operand == operand_format((-100, 155), (int(b.min()) - 128, int(b.max()) - 128))
    got = ref_mac(layer, a)
    assert np.abs(got.astype(int) - ReferenceEvaluator(model).run(None, {"a": a})[0].astype(int)).max() <= 1
    skip_unless_ort_exact()
    assert np.abs(got.astype(int) - ort_run(model, {"a": a})[0].astype(int)).max() <= 1


@pytest.mark.parametrize("requant", [True, False])
@pytest.mark.parametrize("trans_a,trans_b,alpha", [(0, 0, 1.0), (1, 1, 1.0), (0, 1, 0.75)])
def test_qgemm_microsoft_vs_onnxruntime(requant, trans_a, trans_b, alpha):
    """com.microsoft.QGemm, as onnxruntime's QOperator quantizer writes it."""
    m, k, n = 4, 20, 6
    a = RNG.integers(0, 256, (k, m) if trans_a else (m, k)).astype(np.uint8)
    b = RNG.integers(-127, 128, (n, k) if trans_b else (k, n)).astype(np.int8)
    c = RNG.integers(-3000, 3000, n).astype(np.int32)
    inits = [nh.from_array(np.array(0.02, np.float32), "as"), nh.from_array(np.array(120, np.uint8), "az"),
             nh.from_array(b, "b"), nh.from_array(RNG.uniform(0.001, 0.01, n).astype(np.float32), "bs"),
             nh.from_array(np.zeros(n, np.int8), "bz"), nh.from_array(c, "c"),
             nh.from_array(np.array(0.07, np.float32), "ys"), nh.from_array(np.array(128, np.uint8), "yz")]
    ins = ["a", "as", "az", "b", "bs", "bz", "c"] + (["ys", "yz"] if requant else [])
    node = h.make_node("QGemm", ins, ["y"], name="qg", domain="com.microsoft", transA=trans_a, transB=trans_b,
                       alpha=alpha)
    g = h.make_graph([node], "t", [h.make_tensor_value_info("a", T.UINT8, list(a.shape))],
                     [h.make_tensor_value_info("y", T.UINT8 if requant else T.FLOAT, [m, n])], inits)
    model = h.make_model(g, opset_imports=[h.make_opsetid("", 17), h.make_opsetid("com.microsoft", 1)],
                         ir_version=10)
    net = load_model(model)
    layer = only_mac(net)
    assert layer.source == "com.microsoft.QGemm" and layer.weight.shape == (k, n)
    assert layer.output.kind == ("requant" if requant else "dequant")
    got = ref_mac(layer, a.T if trans_a else a)
    # the exact reference: integer products, scales applied in float64 (tests/reference.py)
    ref = run_reference(model, {"a": a})["y"]
    if requant:
        assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1 and np.mean(got == ref) > 0.9
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
    skip_unless_ort_exact()
    expect = ort_run(model, {"a": a})[0]
    if requant:
        assert np.abs(got.astype(int) - expect.astype(int)).max() <= 1 and np.mean(got == expect) > 0.9
    else:
        np.testing.assert_allclose(got, expect, rtol=1e-6, atol=1e-6)


# -- QDQ graphs ---------------------------------------------------------------------------------------------
def qdq_conv_model(with_q: bool, per_channel: bool):
    m, c = 4, 3
    w = RNG.integers(-127, 128, (m, c, 3, 3)).astype(np.int8)
    ws = (RNG.uniform(0.002, 0.01, m) if per_channel else np.array(0.005)).astype(np.float32)
    xs, bs = np.float32(0.05), None
    bs = (xs * ws).astype(np.float32)
    b = RNG.integers(-500, 500, m).astype(np.int32)
    inits = [nh.from_array(w, "w"), nh.from_array(ws, "ws"), nh.from_array(np.zeros(ws.shape, np.int8), "wz"),
             nh.from_array(np.array(xs), "xs"), nh.from_array(np.array(-5, np.int8), "xz"), nh.from_array(b, "b"),
             nh.from_array(bs, "bs"), nh.from_array(np.zeros(bs.shape, np.int32), "bz"),
             nh.from_array(np.array(0.3, np.float32), "ys"), nh.from_array(np.array(3, np.int8), "yz")]
    nodes = [h.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xf"], name="dqx"),
             h.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wf"], name="dqw", axis=0),
             h.make_node("DequantizeLinear", ["b", "bs", "bz"], ["bf"], name="dqb", axis=0),
             h.make_node("Conv", ["xf", "wf", "bf"], ["yf"], name="conv", pads=[1, 1, 1, 1])]
    out_t = T.FLOAT
    if with_q:
        nodes.append(h.make_node("QuantizeLinear", ["yf", "ys", "yz"], ["y"], name="qy"))
        out_t = T.INT8
    else:
        nodes.append(h.make_node("Identity", ["yf"], ["y"], name="id"))
    return make_model(nodes, [h.make_tensor_value_info("x", T.INT8, [2, c, 6, 6])],
                      [h.make_tensor_value_info("y", out_t, None)], inits)


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("with_q", [True, False])
def test_qdq_conv(with_q, per_channel):
    model = qdq_conv_model(with_q, per_channel)
    net = load_model(model)
    layer = only_mac(net)
    assert layer.x == "x" and layer.x_zero_point == -5
    assert not any(isinstance(n, Node) and n.op_type == "DequantizeLinear" for n in net.nodes)  # fused
    x = RNG.integers(-128, 128, (2, 3, 6, 6)).astype(np.int8)
    got = ref_mac(layer, x)
    ref = ReferenceEvaluator(model).run(None, {"x": x})[0]
    if with_q:
        assert layer.output.kind == "requant" and layer.y == "y" and layer.source == "DQ+Conv+Q"
        assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1
        assert np.abs(got.astype(int) - ort_run(model, {"x": x})[0].astype(int)).max() <= 1  # float Conv
        skip_unless_ort_exact()  # optimized, onnxruntime fuses DQ+Conv+Q into an integer kernel
        assert np.abs(got.astype(int) - ort_run(model, {"x": x}, optimize=True)[0].astype(int)).max() <= 1
    else:
        assert layer.output.kind == "dequant" and layer.output.dtype == np.float32
        assert [n.op_type for n in net.nodes if isinstance(n, Node)] == ["Identity"]
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got, ort_run(model, {"x": x})[0], rtol=1e-5, atol=1e-5)


def test_qdq_weights_quantized_in_graph():
    """Float weights behind QuantizeLinear -> DequantizeLinear: Q(const) folds to integer codes, the layer fuses."""
    wf = RNG.normal(size=(3, 2, 3, 3)).astype(np.float32)
    inits = [nh.from_array(wf, "wf"), nh.from_array(np.array(0.02, np.float32), "ws"),
             nh.from_array(np.array(0, np.int8), "wz"), nh.from_array(np.array(0.1, np.float32), "xs"),
             nh.from_array(np.array(0, np.int8), "xz")]
    nodes = [h.make_node("QuantizeLinear", ["wf", "ws", "wz"], ["wq"]),
             h.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"]),
             h.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xd"]),
             h.make_node("Conv", ["xd", "wd"], ["y"], name="conv")]
    model = make_model(nodes, [h.make_tensor_value_info("x", T.INT8, [1, 2, 5, 5])],
                       [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    net = load_model(model)
    layer = only_mac(net)
    assert net.nodes == [layer] and layer.source == "DQ+Conv"
    assert np.array_equal(layer.weight, np.clip(np.rint(wf / np.float32(0.02)), -128, 127))
    x = RNG.integers(-128, 128, (1, 2, 5, 5)).astype(np.int8)
    np.testing.assert_allclose(ref_mac(layer, x), ReferenceEvaluator(model).run(None, {"x": x})[0], rtol=1e-5,
                               atol=1e-5)


def test_resize_modes():
    def model(mode):
        return make_model([h.make_node("Resize", ["x", "", "sc"], ["y"], name="up", mode=mode)],
                          [h.make_tensor_value_info("x", T.FLOAT, [1, 1, 2, 2])],
                          [h.make_tensor_value_info("y", T.FLOAT, None)],
                          [nh.from_array(np.array([1, 1, 2, 2], np.float32), "sc")], opset=13)

    (node,) = load_model(model("nearest")).nodes
    assert node.op_type == "Resize" and load_model(model("nearest")).shapes["y"] == (1, 1, 4, 4)
    with pytest.raises(AxmacError, match="Resize.*linear.*'up'"):
        load_model(model("linear"))


def test_qdq_input_used_elsewhere_keeps_dequantize():
    model = qdq_conv_model(False, False)
    g = model.graph
    g.node.append(h.make_node("Relu", ["xf"], ["r"], name="side"))
    g.output.append(h.make_tensor_value_info("r", T.FLOAT, None))
    net = load_model(model)
    ops = [n.op_type for n in net.nodes if isinstance(n, Node)]
    assert ops.count("DequantizeLinear") == 1 and "Relu" in ops  # DQ(x) kept for the Relu, DQ(w), DQ(b) fused


@pytest.mark.parametrize("trans_a", [0, 1])
@pytest.mark.parametrize("trans_b", [0, 1])
def test_qdq_gemm_trans_alpha_beta(trans_a, trans_b):
    k, n, m = 12, 5, 3
    w = RNG.integers(-127, 128, (n, k) if trans_b else (k, n)).astype(np.int8)
    ws = RNG.uniform(0.002, 0.01, n).astype(np.float32)
    b = RNG.integers(-500, 500, n).astype(np.int32)
    xs = np.float32(0.1)
    inits = [nh.from_array(w, "w"), nh.from_array(ws, "ws"), nh.from_array(np.array(xs), "xs"),
             nh.from_array(np.array(2, np.int8), "xz"), nh.from_array(b, "b"),
             nh.from_array((xs * ws).astype(np.float32), "bs")]
    nodes = [h.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xf"]),
             h.make_node("DequantizeLinear", ["w", "ws"], ["wf"], axis=0 if trans_b else 1),
             h.make_node("DequantizeLinear", ["b", "bs"], ["bf"], axis=0),
             h.make_node("Gemm", ["xf", "wf", "bf"], ["y"], name="fc", transA=trans_a, transB=trans_b,
                         alpha=0.5, beta=0.5)]
    xshape = [k, m] if trans_a else [m, k]
    model = make_model(nodes, [h.make_tensor_value_info("x", T.INT8, xshape)],
                       [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    net = load_model(model)
    layer = only_mac(net)
    assert layer.weight.shape == (k, n)
    assert np.array_equal(layer.weight, (w.T if trans_b else w).astype(np.int64))
    x = RNG.integers(-128, 128, xshape).astype(np.int8)
    if trans_a:
        (tr,) = [nd for nd in net.nodes if isinstance(nd, Node)]
        assert tr.op_type == "Transpose" and tr.inputs == ["x"] and tr.outputs == [layer.x]
        assert net.shapes[layer.x] == (m, k)
        xin = x.T
    else:
        xin = x
    got = ref_mac(layer, xin)
    np.testing.assert_allclose(got, ReferenceEvaluator(model).run(None, {"x": x})[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, ort_run(model, {"x": x})[0], rtol=1e-5, atol=1e-5)


def test_qdq_matmul_requant():
    w = RNG.integers(-127, 128, (8, 4)).astype(np.int8)
    inits = [nh.from_array(w, "w"), nh.from_array(np.array(0.01, np.float32), "ws"),
             nh.from_array(np.array(0.02, np.float32), "xs"), nh.from_array(np.array(128, np.uint8), "xz"),
             nh.from_array(np.array(0.05, np.float32), "ys"), nh.from_array(np.array(128, np.uint8), "yz")]
    nodes = [h.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xf"]),
             h.make_node("DequantizeLinear", ["w", "ws"], ["wf"]),
             h.make_node("MatMul", ["xf", "wf"], ["yf"]), h.make_node("QuantizeLinear", ["yf", "ys", "yz"], ["y"])]
    model = make_model(nodes, [h.make_tensor_value_info("x", T.UINT8, [2, 3, 8])],
                       [h.make_tensor_value_info("y", T.UINT8, None)], inits)
    layer = only_mac(load_model(model))
    assert layer.operand == operand_format((-128, 127), (int(w.min()), int(w.max())))
    x = RNG.integers(0, 256, (2, 3, 8)).astype(np.uint8)
    got = ref_mac(layer, x)
    assert np.abs(got.astype(int) - ReferenceEvaluator(model).run(None, {"x": x})[0].astype(int)).max() <= 1
    assert np.abs(got.astype(int) - ort_run(model, {"x": x})[0].astype(int)).max() <= 1


# -- float models: BN folding, Gemm forms, constant folding ----------------------------------------------------------
def float_conv_bn_model():
    w = RNG.normal(size=(5, 3, 3, 3)).astype(np.float32)
    inits = [nh.from_array(w, "w"), nh.from_array(RNG.normal(size=5).astype(np.float32), "b"),
             nh.from_array(RNG.uniform(0.5, 2, 5).astype(np.float32), "g"),
             nh.from_array(RNG.normal(size=5).astype(np.float32), "be"),
             nh.from_array(RNG.normal(size=5).astype(np.float32), "mu"),
             nh.from_array(RNG.uniform(0.2, 2, 5).astype(np.float32), "var")]
    nodes = [h.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 0, 1, 0], strides=[1, 2]),
             h.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["y"], name="bn", epsilon=1e-3)]
    return make_model(nodes, [h.make_tensor_value_info("x", T.FLOAT, [2, 3, 7, 9])],
                      [h.make_tensor_value_info("y", T.FLOAT, None)], inits, opset=17)


def float_conv(x, w, b, pads, strides):
    """float64 direct convolution (group 1), loops over kernel taps."""
    pt, pl, pb, pr = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    m, _, kh, kw = w.shape
    sh, sw = strides
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], m, oh, ow))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nchw,mc->nmhw", xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw],
                             w[:, :, i, j])
    return out + b[None, :, None, None]


def test_batchnorm_folding_vs_onnxruntime():
    model = float_conv_bn_model()
    folded, _ = read_model(model)
    _, floats = Converter(folded).run()
    (fl,) = floats
    assert fl.source == "Conv+BatchNormalization" and fl.y == "y"
    x = RNG.normal(size=(2, 3, 7, 9)).astype(np.float32)
    got = float_conv(x, fl.weight, fl.bias, fl.conv["pads"], fl.conv["strides"])
    np.testing.assert_allclose(got, ort_run(model, {"x": x})[0], rtol=1e-4, atol=1e-4)
    net = load_model(model, calibration={"x": x})
    layer = only_mac(net)
    assert layer.y == "y" and not any(isinstance(n, Node) and n.op_type == "BatchNormalization" for n in net.nodes)


def test_bundled_lenet_structure():
    net = load_model("models/lenet5_mnist.onnx", shapes_only=True)
    dims = [layer.gemm_dims(net.shapes[layer.x]) for layer in net.mac_layers]
    assert dims == [(1, 784, 25, 6), (1, 100, 150, 16), (1, 1, 400, 120), (1, 1, 120, 84), (1, 1, 84, 10)]


# -- bad input --------------------------------------------------------------------------------------------------
def one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_unsupported_ops_named_in_one_error():
    model = make_model([h.make_node("Relu", ["x"], ["r"]), h.make_node("Hardmax", ["r"], ["t"], name="weird"),
                        h.make_node("Hardmax", ["t"], ["u"], name="weird2"),
                        h.make_node("Celu", ["u"], ["v"], name="odd"),
                        h.make_node("FusedGemm", ["v", "v"], ["y"], name="ms", domain="com.microsoft")],
                       [h.make_tensor_value_info("x", T.FLOAT, [4, 4])], [h.make_tensor_value_info("y", T.FLOAT, None)])
    model.opset_import.append(h.make_opsetid("com.microsoft", 1))
    with pytest.raises(AxmacError) as e:
        load_model(model)
    msg = one_line(e)
    assert msg.startswith("unsupported operators: ")
    for part in ("Hardmax (nodes 'weird', 'weird2')", "Celu (node 'odd')", "com.microsoft.FusedGemm (node 'ms')"):
        assert part in msg


def test_float_model_needs_calibration():
    with pytest.raises(AxmacError) as e:
        load_model(float_conv_bn_model())
    assert "calibration" in one_line(e)


def test_dynamic_shape_needs_input_shape():
    model = float_conv_bn_model()
    d = model.graph.input[0].type.tensor_type.shape.dim[2]
    d.Clear()
    d.dim_param = "H"
    with pytest.raises(AxmacError) as e:
        load_model(model, shapes_only=True)
    assert "--input-shape x=" in one_line(e)
    net = load_model(model, shapes_only=True, input_shapes={"x": (2, 3, 7, 9)})
    assert net.shapes["y"] == (2, 5, 7, 4)
    with pytest.raises(AxmacError):
        load_model(model, shapes_only=True, input_shapes={"nope": (1,)})


def test_corrupt_and_truncated_files(tmp_path):
    good = tmp_path / "good.onnx"
    onnx.save(float_conv_bn_model(), good)
    data = good.read_bytes()
    (tmp_path / "trunc.onnx").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.onnx").write_bytes(b"\x00\xffnot an onnx file at all" * 10)
    (tmp_path / "empty.onnx").write_bytes(b"")
    for name in ("trunc.onnx", "junk.onnx", "empty.onnx", "missing.onnx"):
        with pytest.raises(AxmacError) as e:
            load_model(tmp_path / name)
        one_line(e)
    with pytest.raises(AxmacError):
        load_model(12)


# -- ONNX's own backend test cases (rebuilt in memory, offline) ----------------------------------------------
FLOAT_BACKEND_CASES = [
    "test_basic_conv_with_padding", "test_basic_conv_without_padding", "test_conv_with_strides_padding",
    "test_conv_with_strides_no_padding", "test_conv_with_strides_and_asymmetric_padding", "test_conv_with_autopad_same",
    "test_gemm_default_zero_bias", "test_gemm_default_no_bias", "test_gemm_default_scalar_bias",
    "test_gemm_default_single_elem_vector_bias", "test_gemm_default_vector_bias", "test_gemm_transposeA",
    "test_gemm_transposeB", "test_gemm_alpha", "test_gemm_beta", "test_gemm_all_attributes", "test_matmul_2d",
    "test_gemm_default_matrix_bias"]
#: refused with a clear error when quantized: batches of weight matrices
FLOAT_BACKEND_REFUSED = {"test_matmul_3d": "only 2-D constant weights", "test_matmul_4d": "only 2-D constant weights"}
BACKEND_CASES = ["test_convinteger_without_padding", "test_convinteger_with_padding", "test_matmulinteger",
                 "test_qlinearconv", "test_qlinearmatmul_2D_uint8_float32", "test_qlinearmatmul_2D_int8_float32"]
#: a 3-D constant B is a batch of weight matrices: one layer per matrix
BACKEND_BATCHED = ["test_qlinearmatmul_3D_uint8_float32", "test_qlinearmatmul_3D_int8_float32"]


@pytest.fixture(scope="module")
def backend_cases():
    import warnings

    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wanted = set(BACKEND_CASES + BACKEND_BATCHED + FLOAT_BACKEND_CASES) | set(FLOAT_BACKEND_REFUSED)
        return {c.name: c for c in collect_testcases(None) if c.name in wanted}


def _constant_inputs(case):
    """The case's model with every input but the first turned into an initializer, and its data."""
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    model.ir_version = 10
    inputs, (expected,) = case.data_sets[0]
    g = model.graph
    for nm, v in zip([i.name for i in g.input][1:], inputs[1:], strict=True):
        g.initializer.append(nh.from_array(np.asarray(v), nm))
    del g.input[1:]
    return model, np.asarray(inputs[0]), expected


@pytest.mark.parametrize("name", FLOAT_BACKEND_CASES + list(FLOAT_BACKEND_REFUSED))
def test_onnx_backend_float_cases(backend_cases, name):
    """Float Conv/Gemm/MatMul node tests: the imported float layer (pads from auto_pad, alpha, beta, transA,
    transB folded) reproduces the published output in float64; quantized, it stays close."""
    model, x, expected = _constant_inputs(backend_cases[name])
    if name in FLOAT_BACKEND_REFUSED:
        with pytest.raises(AxmacError, match=FLOAT_BACKEND_REFUSED[name]):
            load_model(model, shapes_only=True)
        return
    folded, _ = read_model(model)
    _, (fl,) = Converter(folded).run()
    bias = np.zeros(fl.weight.shape[0 if fl.kind == "conv" else 1]) if fl.bias is None else fl.bias
    if fl.kind == "conv":
        assert fl.conv["dilations"] == (1, 1) and fl.conv["group"] == 1
        got = float_conv(x, fl.weight, bias, fl.conv["pads"], fl.conv["strides"])
    else:
        got = (x.T if fl.x != fl.x_calib else x).astype(np.float64) @ fl.weight + bias
        got = got if fl.post_bias is None else got + fl.post_bias  # a bias per row or per element
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    net = load_model(model, calibration={folded.graph.input[0].name: x})
    layer = only_mac(net)
    xin = x.T if fl.x != fl.x_calib else x
    xq = np.clip(np.rint(xin / np.float32(layer.x_scale)), -128, 127).astype(np.int8)
    y = ref_mac(layer, xq) + (0 if fl.post_bias is None else fl.post_bias)
    assert np.abs(y - expected).max() <= 0.03 * np.abs(expected).max() + 1e-6


@pytest.mark.parametrize("name", BACKEND_CASES + BACKEND_BATCHED)
def test_onnx_backend_cases(backend_cases, name):
    """The published inputs/outputs of ONNX's node tests; every input but the first becomes a constant."""
    model, x, expected = _constant_inputs(backend_cases[name])
    if name in BACKEND_BATCHED:
        from axmac.golden.engine import run_network

        net = load_model(model)
        assert len(net.mac_layers) == 2 and all(layer.weight.shape == (4, 3) for layer in net.mac_layers)
        for layer, b in zip(net.mac_layers, np.asarray(backend_cases[name].data_sets[0][0][3]), strict=True):
            assert np.array_equal(layer.weight, b)
        out, _ = run_network(net, {model.graph.input[0].name: x})
        np.testing.assert_array_equal(out[net.outputs[0].name], expected)
        return
    layer = only_mac(load_model(model))
    got = ref_mac(layer, x)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.abs(got.astype(np.int64) - expected.astype(np.int64)).max() <= (1 if "qlinear" in name else 0)


# -- whole models quantized by onnxruntime, executed by the golden engine -----------------------------------
@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_onnxruntime_quantized_model_bit_exact(tmp_path, fmt):
    """onnxruntime's own static quantization of the bundled digits CNN: the imported Network, run by
    the golden engine with exact multipliers, equals onnxruntime's integer execution bit for bit."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from axmac.gen.datasets import load_dataset
    from axmac.golden.engine import run_network

    x_test, _, x_cal = load_dataset("digits")
    x_test = x_test[:200]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"input": x_cal[i:i + 1]} for i in range(50)])

        def get_next(self):
            return next(self.it, None)

    out = tmp_path / "q.onnx"
    quantize_static("models/digits_cnn.onnx", str(out), Reader(), quant_format=getattr(QuantFormat, fmt),
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True)
    net = load_model(out)
    assert len(net.mac_layers) == 3
    got, rep = run_network(net, {"input": x_test}, stats=False, trace=True)
    # every tensor against the exact reference fed axmac's inputs of its node, and end to end
    model = onnx.load(out)
    assert_within_one_lsb(teacher_forced(model, {"input": x_test}, rep.tensors))
    name = net.outputs[0].name
    assert_within_one_lsb({name: (run_reference(model, {"input": x_test})[name], got[name])})
    skip_unless_ort_exact()
    expect = ort_run(model, {"input": x_test}, optimize=True)[0]
    assert np.array_equal(got[name], expect)


def test_node_attributes_and_opset():
    model = make_model([h.make_node("Pad", ["x", "p"], ["y"], name="pad", mode="reflect"),
                        h.make_node("Softmax", ["y"], ["z"], name="sm", axis=1)],
                       [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 4, 4])],
                       [h.make_tensor_value_info("z", T.FLOAT, None)],
                       [nh.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "p")], opset=18)
    net = load_model(model)
    pad, sm = net.nodes
    assert pad.attrs == {"mode": "reflect"} and isinstance(pad.attrs["mode"], str)
    assert sm.attrs == {"axis": 1} and net.opset == 18
    assert np.array_equal(net.constants["p"], [0, 0, 1, 1, 0, 0, 1, 1])
    assert net.shapes["z"] == (1, 3, 6, 6) and net.outputs[0].shape == (1, 3, 6, 6)
    assert net.mac_layers == []


@pytest.mark.parametrize("auto_pad,hw,strides,dil,pads", [
    # ONNX spec: out = ceil(in / s), total = (out - 1) * s + (k - 1) * d + 1 - in, UPPER puts the odd one at the end
    ("SAME_UPPER", (8, 7), (2, 1), (1, 1), (0, 1, 1, 1)),  # H: out 4, total 1; W: out 7, total 2
    ("SAME_LOWER", (8, 7), (2, 1), (1, 1), (1, 1, 0, 1)),
    ("SAME_UPPER", (5, 6), (1, 3), (2, 1), (2, 0, 2, 0)),  # H: total 4 (dilated k = 5); W: out 2, total 0
    ("VALID", (5, 6), (1, 1), (1, 1), (0, 0, 0, 0)),
])
def test_auto_pad_to_explicit_pads(auto_pad, hw, strides, dil, pads):
    w = RNG.integers(-5, 5, (2, 1, 3, 3)).astype(np.int8)
    model = make_model([h.make_node("ConvInteger", ["x", "w"], ["y"], auto_pad=auto_pad, strides=list(strides),
                                    dilations=list(dil))],
                       [h.make_tensor_value_info("x", T.INT8, [1, 1, *hw])],
                       [h.make_tensor_value_info("y", T.INT32, None)], [nh.from_array(w, "w")], opset=10)
    net = load_model(model)
    layer = only_mac(net)
    assert layer.pads == pads and layer.strides == strides and layer.dilations == dil
    x = RNG.integers(-128, 128, (1, 1, *hw)).astype(np.int8)
    assert np.array_equal(ref_mac(layer, x), ReferenceEvaluator(model).run(None, {"x": x})[0])
