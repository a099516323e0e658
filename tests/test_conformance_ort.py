"""Bundled LeNet-5 quantized by onnxruntime (``quantize_static``), executed by the golden engine.

Four int8 models: QOperator and QDQ formats, per-tensor and per-channel weights, calibrated
with a ``CalibrationDataReader`` over the 200 calibration images (training split). The exact
reference is ``onnx.reference`` (tests/reference.py: com.microsoft ops from their mathematical
definition): every tensor the engine computes must equal what the reference makes of the
engine's own inputs of that node, or differ by one LSB in at most 0.1% of the elements (float
requantization rounding), and so must the outputs end to end. onnxruntime is compared where it
is exact: its QDQ graph runs float Conv/Gemm between Dequantize/Quantize (at most 1 LSB apart in
at most 0.1% of the logits, on any CPU); its integer kernels (QOperator, and QDQ with graph
optimizations on) must match bit for bit where the probe (``axmac.onnx_import.ort_probe``) finds
them exact, and the test skips with the probe's reason elsewhere. The figures are printed
(``pytest -s``). Top-1 accuracy of each int8 model must be within 0.5 percentage points of the
float model's (onnxruntime).

An "op zoo" CNN (grouped / dilated convs and every kind of non-MAC op between Q/DQ pairs)
quantized to QDQ must match onnxruntime bit for bit: the golden float32 kernels reproduce
onnxruntime's arithmetic (see golden/ops.py), so every requantized int8 value agrees.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from axmac.gen.datasets import default_model, load_dataset
from axmac.golden.engine import run_network
from axmac.onnx_import.loader import load_model

from .reference import assert_within_one_lsb, run_reference, teacher_forced
from .test_ort_probe import skip_unless_ort_exact

VARIANTS = [("QOperator", False), ("QOperator", True), ("QDQ", False), ("QDQ", True)]


def _session(path, optimize=False):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def data():
    x, y, calib = load_dataset("mnist")
    float_logits = _session(default_model("mnist")).run(None, {"input": x})[0]
    return x, y, calib, float_logits


def ort_quantize(src, dst, calib, fmt, per_channel):
    """onnxruntime ``quantize_static`` (int8 activations and weights) with a CalibrationDataReader.

    The source is copied next to ``dst`` first: the quantizer writes a ``*-inferred.onnx`` beside
    its input, which parallel workers quantizing the same bundled model would race on.
    """
    import shutil

    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    src_copy = dst.parent / f"{dst.stem}_src.onnx"
    shutil.copyfile(src, src_copy)
    src = src_copy

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"input": calib[i:i + 50]} for i in range(0, len(calib), 50)])

        def get_next(self):
            return next(self.batches, None)

    logging.disable(logging.WARNING)  # the quantizer's advice to pre-process the model
    try:
        quantize_static(str(src), str(dst), Reader(), quant_format=getattr(QuantFormat, fmt),
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=per_channel)
    finally:
        logging.disable(logging.NOTSET)
    return dst


@pytest.fixture(scope="module")
def quantized(tmp_path_factory, data):
    _, _, calib, _ = data
    d = tmp_path_factory.mktemp("ortq")
    return {(fmt, pc): ort_quantize(default_model("mnist"), d / f"lenet_{fmt}_{'pc' if pc else 'pt'}.onnx", calib,
                                    fmt, pc) for fmt, pc in VARIANTS}


def _output_scale(net) -> float:
    """Scale of the graph output's final DequantizeLinear (one LSB of the int8 logits)."""
    last = [n for n in net.nodes if getattr(n, "op_type", "") == "DequantizeLinear"
            and n.outputs[0] == net.outputs[0].name]
    assert len(last) == 1
    return float(np.asarray(net.constants[last[0].inputs[1]]))


def check_reference(path, net, feeds, n_lsb_elements: float = 0.001):
    """axmac against the exact reference (tests/reference.py): every tensor axmac computes equals,
    within one LSB in at most ``n_lsb_elements`` of its elements, what the reference makes of
    axmac's own inputs of that node; and the graph outputs, end to end, the same way (one LSB of
    the final DequantizeLinear for float outputs)."""
    import onnx

    model = onnx.load(str(path))
    out, rep = run_network(net, feeds, stats=False, trace=True)
    counts = assert_within_one_lsb(teacher_forced(model, feeds, rep.tensors), max_fraction=n_lsb_elements)
    ref = run_reference(model, feeds)
    for t in net.outputs:
        got, want = out[t.name], ref[t.name]
        if np.issubdtype(want.dtype, np.floating):
            lsb = _output_scale(net)
            diff = np.rint(np.abs(got.astype(np.float64) - want) / lsb)
            assert diff.max() <= 1 and np.count_nonzero(diff) <= max(1, n_lsb_elements * diff.size)
        else:
            assert_within_one_lsb({t.name: (want, got)}, max_fraction=n_lsb_elements)
    return counts


@pytest.mark.parametrize("fmt,per_channel", VARIANTS, ids=[f"{f}-{'pc' if p else 'pt'}" for f, p in VARIANTS])
def test_exact_engine_vs_onnxruntime(quantized, data, fmt, per_channel):
    x, y, _, float_logits = data
    path = quantized[(fmt, per_channel)]
    net = load_model(path)
    assert len(net.mac_layers) == 5  # int8 operands; centered activations (zero point != 0) may need 9 bits
    counts = check_reference(path, net, {"input": x[:100]})
    out, rep = run_network(net, {"input": x}, stats=False)
    got = out[net.outputs[0].name]
    acc, acc_float = ((a.argmax(1) == y).mean() for a in (got, float_logits))
    print(f"\n{fmt:9s} {'per-channel' if per_channel else 'per-tensor '}: vs the exact reference "
          f"{sum(counts.values())} elements one LSB apart; top-1 axmac {acc:.4f}, float {acc_float:.4f}; "
          f"operands {', '.join(str(layer.operand) for layer in net.mac_layers)}")
    assert abs(acc - acc_float) <= 0.005
    # the product-table path (statistics on) gives the same integers on a slice
    out_t, _ = run_network(net, {"input": x[:100]}, stats=True)
    np.testing.assert_array_equal(out_t[net.outputs[0].name], got[:100])
    lsb = _output_scale(net)
    if fmt == "QDQ":  # onnxruntime runs QDQ as float Conv/Gemm between Dequantize/Quantize: no integer kernel
        want = _session(path).run(None, {"input": x})[0]
        diff = np.rint(np.abs(got.astype(np.float64) - want) / lsb)
        n_diff = int(np.count_nonzero(got != want))
        print(f"  vs onnxruntime's float QDQ graph: {n_diff} of {got.size} logits differ, max {int(diff.max())} LSB")
        assert diff.max() <= 1
        assert n_diff <= 0.001 * got.size
    skip_unless_ort_exact()
    # QOperator: integer kernels on both sides: identical; with graph optimizations on, onnxruntime
    # fuses the QDQ pairs into integer kernels: identical too
    if fmt == "QOperator":
        np.testing.assert_array_equal(got, _session(path).run(None, {"input": x})[0])
    np.testing.assert_array_equal(got, _session(path, optimize=True).run(None, {"input": x})[0])


def test_axmac_quantized_lenet_accuracy(data):
    """The float model quantized by axmac itself (int8, per-channel, max calibration)."""
    x, y, calib, float_logits = data
    net = load_model(default_model("mnist"), calibration={"input": calib})
    out, _ = run_network(net, {"input": x}, stats=False)
    acc = (out["logits"].argmax(1) == y).mean()
    acc_float = (float_logits.argmax(1) == y).mean()
    print(f"\naxmac int8: top-1 {acc:.4f}, float {acc_float:.4f}")
    assert abs(acc - acc_float) <= 0.005


def _random_initializers(rng, inits):
    """``c(name, *shape, scale=0.3)``: append a random float32 initializer to ``inits``, return its name."""

    def c(name, *shape, scale=0.3):
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name

    return c


def _float_cnn(nodes, name, inits, input_shape):
    """Opset-13 model: float ``input`` of ``input_shape`` -> ``nodes`` -> float ``logits`` (N, 5)."""
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, input_shape)],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)


def op_zoo_model(seed=0):
    """A float CNN exercising the golden ops inside a QDQ graph: grouped strided conv, dilated
    conv, LeakyRelu, AveragePool (pads not counted), MaxPool, Concat, Resize (nearest),
    1x1 conv, Sigmoid, GlobalAveragePool, Flatten, Gemm (transB). Input (N, 4, 16, 16)."""
    inits = []
    c = _random_initializers(np.random.default_rng(seed), inits)

    inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"))
    mk = helper.make_node
    nodes = [
        mk("Conv", ["input", c("w1", 8, 2, 3, 3, scale=0.4), c("b1", 8, scale=0.1)], ["c1"], group=2, strides=[2, 2],
           pads=[1, 1, 1, 1]),
        mk("Relu", ["c1"], ["r1"]),
        mk("Conv", ["r1", c("w2", 8, 8, 3, 3, scale=0.2)], ["c2"], dilations=[2, 2], pads=[2, 2, 2, 2]),
        mk("LeakyRelu", ["c2"], ["r2"], alpha=0.1),
        mk("AveragePool", ["r2"], ["a2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        mk("MaxPool", ["r1"], ["m1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        mk("Concat", ["a2", "m1"], ["cat"], axis=1),
        mk("Resize", ["cat", "", "scales"], ["up"], mode="nearest"),
        mk("Conv", ["up", c("w3", 6, 16, 1, 1), c("b3", 6, scale=0.1)], ["c3"]),
        mk("Sigmoid", ["c3"], ["s3"]),
        mk("GlobalAveragePool", ["s3"], ["g"]),
        mk("Flatten", ["g"], ["f"]),
        mk("Gemm", ["f", c("w4", 5, 6, scale=1.0), c("b4", 5, scale=0.1)], ["logits"], transB=1),
    ]
    return _float_cnn(nodes, "op_zoo", inits, ["N", 4, 16, 16])


@pytest.mark.parametrize("per_channel", [False, True], ids=["pt", "pc"])
def test_qdq_op_zoo_bitexact(tmp_path, per_channel):
    """Every op of the zoo runs between DequantizeLinear / QuantizeLinear in onnxruntime's QDQ
    graph; the golden engine must give the same int8 values everywhere, hence the same logits."""
    import onnx

    x = np.random.default_rng(1).standard_normal((300, 4, 16, 16)).astype(np.float32)
    src = tmp_path / "zoo.onnx"
    onnx.save(op_zoo_model(), str(src))
    path = ort_quantize(src, tmp_path / "zoo_q.onnx", x[:100], "QDQ", per_channel)
    want = _session(path).run(None, {"input": x[100:]})[0]
    net = load_model(path)
    ops = {getattr(n, "op_type", "") for n in net.nodes}
    assert {"AveragePool", "Sigmoid", "GlobalAveragePool", "Resize", "Concat", "LeakyRelu"} <= ops
    assert len(net.mac_layers) == 4 and net.mac_layers[0].group == 2
    out, _ = run_network(net, {"input": x[100:]}, stats=False)
    np.testing.assert_array_equal(out["logits"], want)


def residual_model(seed=0):
    """A float CNN whose QOperator form needs onnxruntime's com.microsoft element-wise ops:
    Conv -> Relu -> Conv, Add skip connection, LeakyRelu, Sigmoid gate (Mul), Concat,
    GlobalAveragePool, Flatten, Gemm. Input (N, 4, 12, 12)."""
    inits = []
    c = _random_initializers(np.random.default_rng(seed), inits)

    mk = helper.make_node
    nodes = [
        mk("Conv", ["input", c("w1", 8, 4, 3, 3), c("b1", 8, scale=0.1)], ["c1"], pads=[1, 1, 1, 1]),
        mk("Relu", ["c1"], ["r1"]),
        mk("Conv", ["r1", c("w2", 8, 8, 3, 3, scale=0.2), c("b2", 8, scale=0.1)], ["c2"], pads=[1, 1, 1, 1]),
        mk("Add", ["c2", "r1"], ["res"]),
        mk("LeakyRelu", ["res"], ["l1"], alpha=0.1),
        mk("Sigmoid", ["l1"], ["s1"]),
        mk("Mul", ["l1", "s1"], ["gated"]),
        mk("Concat", ["gated", "r1"], ["cat"], axis=1),
        mk("GlobalAveragePool", ["cat"], ["g"]),
        mk("Flatten", ["g"], ["f"]),
        mk("Gemm", ["f", c("w4", 5, 16, scale=1.0), c("b4", 5, scale=0.1)], ["logits"], transB=1),
    ]
    return _float_cnn(nodes, "residual", inits, ["N", 4, 12, 12])


@pytest.mark.parametrize("per_channel", [False, True], ids=["pt", "pc"])
def test_qoperator_residual_bitexact(tmp_path, per_channel):
    """onnxruntime's QOperator quantizer writes com.microsoft QLinearAdd / QLinearMul /
    QLinearSigmoid / QLinearLeakyRelu / QLinearConcat / QLinearGlobalAveragePool between the
    QLinearConvs: the loader keeps them as nodes (shapes annotated, onnx has no schema for them)
    and the engine's outputs equal onnxruntime's bit for bit."""
    import onnx

    x = np.random.default_rng(2).standard_normal((300, 4, 12, 12)).astype(np.float32)
    src = tmp_path / "res.onnx"
    onnx.save(residual_model(), str(src))
    path = ort_quantize(src, tmp_path / "res_q.onnx", x[:100], "QOperator", per_channel)
    ms_ops = {n.op_type for n in onnx.load(str(path)).graph.node if n.domain == "com.microsoft"}
    assert {"QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearConcat", "QLinearGlobalAveragePool"} <= ms_ops
    net = load_model(path)
    assert len(net.mac_layers) == 3
    assert ms_ops - {"QGemm"} <= {n.op_type for n in net.nodes if getattr(n, "domain", "") == "com.microsoft"}
    check_reference(path, net, {"input": x[100:]}, n_lsb_elements=0.01)
    out, _ = run_network(net, {"input": x[100:]}, stats=False)
    skip_unless_ort_exact()
    np.testing.assert_array_equal(out["logits"], _session(path).run(None, {"input": x[100:]})[0])
