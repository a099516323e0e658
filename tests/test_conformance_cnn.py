"""CNNs as people bring them, quantized by onnxruntime every way it offers, run by axmac.

Two float CNNs are built here (``onnx.helper``, random weights, BN statistics of plausible size):
a MobileNet-v2-style one (Conv+BN+HardSwish stem, inverted residual blocks with ReLU6 = Clip,
depthwise convolutions and a residual Add) and a ResNet-style one (MaxPool, basic blocks with a
1x1 strided shortcut), both ending in GlobalAveragePool, Flatten, Gemm and a Softmax, with a
dynamic batch, height and width. onnxruntime's quantizer makes the variants people bring:
``quantize_static`` QDQ and QOperator, per-tensor and per-channel, with and without
``quant_pre_process`` (without it BatchNormalization stays a node of its own; QOperator output has
com.microsoft QLinearSoftmax, QLinearAdd, QGemm...), partly quantized (``op_types_to_quantize``:
the Gemm and Softmax stay float) and ``quantize_dynamic`` (DynamicQuantizeLinear + ConvInteger /
MatMulInteger, int8 or uint8 weights).

axmac imports each one with its input shapes taken from the images it runs on (other sizes than
the calibration images), and its every tensor is checked against the exact reference
(tests/reference.py: onnx.reference, node by node on axmac's own inputs): integer tensors equal, or
one LSB apart in at most 0.1% of the elements where float requantization rounds differently; float
tensors to float32 rounding; the output end to end within one LSB of its final quantization.
onnxruntime is compared too: its QDQ graphs (float kernels, any CPU) to the same tolerance, its
integer kernels (QOperator, dynamic) bit for bit where the probe finds them exact (else a visible
skip). The figures are printed (``pytest -s``).

The fast subset covers each kind of variant once; the rest is marked slow.
"""

from __future__ import annotations

import logging

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from axmac.golden.engine import run_network
from axmac.onnx_import.inputs import shapes_from_arrays
from axmac.onnx_import.loader import load_model
from axmac.onnx_import.runtime import RuntimeMacLayer

from .reference import assert_within_one_lsb, run_reference, teacher_forced
from .test_ort_probe import skip_unless_ort_exact

N_CLASSES = 5


class _Builder:
    """Nodes and random initializers of a float CNN, named as they are added."""

    def __init__(self, seed):
        self.rng, self.nodes, self.inits, self.k = np.random.default_rng(seed), [], [], 0

    def name(self, prefix):
        self.k += 1
        return f"{prefix}{self.k}"

    def const(self, a, prefix="c"):
        n = self.name(prefix)
        self.inits.append(nh.from_array(np.asarray(a, np.float32), n))
        return n

    def op(self, op_type, inputs, **attrs):
        y = self.name(op_type.lower())
        self.nodes.append(h.make_node(op_type, inputs, [y], name=y, **attrs))
        return y

    def conv(self, x, cin, cout, k=3, stride=1, group=1):
        w = self.rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2.0 / (cin // group * k * k))
        return self.op("Conv", [x, self.const(w, "w")], kernel_shape=[k, k], strides=[stride] * 2, pads=[k // 2] * 4,
                       group=group)

    def bn(self, x, c):
        r = self.rng
        return self.op("BatchNormalization", [x, self.const(r.uniform(0.5, 1.5, c)), self.const(r.normal(0, .1, c)),
                                              self.const(r.normal(0, .1, c)), self.const(r.uniform(.5, 2, c))],
                       epsilon=1e-5)

    def clip6(self, x):
        return self.op("Clip", [x, self.const(0.0), self.const(6.0)])

    def head(self, x, c):
        x = self.op("Flatten", [self.op("GlobalAveragePool", [x])])
        x = self.op("Gemm", [x, self.const(self.rng.normal(0, .3, (N_CLASSES, c))),
                             self.const(self.rng.normal(0, .1, N_CLASSES))], transB=1)
        self.nodes.append(h.make_node("Softmax", [x], ["probs"], name="softmax", axis=1))
        g = h.make_graph(self.nodes, "cnn", [h.make_tensor_value_info("input", T.FLOAT, ["N", 3, "H", "W"])],
                         [h.make_tensor_value_info("probs", T.FLOAT, ["N", N_CLASSES])], self.inits)
        return h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8)


def mobilenet_v2_style(seed=0):
    b = _Builder(seed)
    x = b.op("HardSwish", [b.bn(b.conv("input", 3, 8, stride=2), 8)])

    def inverted_residual(x, cin, cout, stride, expand=2):
        c = cin * expand
        y = b.clip6(b.bn(b.conv(x, cin, c, k=1), c))
        y = b.clip6(b.bn(b.conv(y, c, c, stride=stride, group=c), c))  # depthwise
        y = b.bn(b.conv(y, c, cout, k=1), cout)
        return b.op("Add", [x, y]) if stride == 1 and cin == cout else y

    x = inverted_residual(inverted_residual(inverted_residual(x, 8, 8, 1), 8, 16, 2), 16, 16, 1)
    return b.head(b.op("HardSwish", [b.bn(b.conv(x, 16, 32, k=1), 32)]), 32)


def resnet_style(seed=1):
    b = _Builder(seed)
    x = b.op("Relu", [b.bn(b.conv("input", 3, 8), 8)])
    x = b.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])

    def basic_block(x, cin, cout, stride):
        y = b.bn(b.conv(b.op("Relu", [b.bn(b.conv(x, cin, cout, stride=stride), cout)]), cout, cout), cout)
        shortcut = x if stride == 1 and cin == cout else b.bn(b.conv(x, cin, cout, k=1, stride=stride), cout)
        return b.op("Relu", [b.op("Add", [y, shortcut])])

    return b.head(basic_block(basic_block(x, 8, 8, 1), 8, 16, 2), 16)


ARCHS = {"mobilenet": mobilenet_v2_style, "resnet": resnet_style}
KINDS = ("QDQ", "QOperator", "QDQ-partial", "QOperator-partial", "dynamic-s8", "dynamic-u8")
#: (arch, kind, per_channel, pre-processed); the fast subset has every kind and both architectures
FAST = {("mobilenet", "QOperator", False, False), ("mobilenet", "QDQ", True, True), ("resnet", "QOperator", True, True),
        ("resnet", "QDQ", False, False), ("mobilenet", "QDQ-partial", False, True),
        ("resnet", "QOperator-partial", False, True), ("mobilenet", "dynamic-s8", True, True),
        ("resnet", "dynamic-u8", True, False)}


def _all_variants():
    out = []
    for arch in ARCHS:
        for kind in KINDS:
            for pc in (False, True):
                for pre in (False, True):
                    if kind.endswith("partial") and (pc or not pre):
                        continue  # one partial variant per format and architecture
                    v = (arch, kind, pc, pre)
                    name = "-".join([arch, kind, "pc" if pc else "pt", "pre" if pre else "raw"])
                    out.append(pytest.param(*v, id=name, marks=() if v in FAST else pytest.mark.slow))
    return out


CALIB = np.random.default_rng(5).standard_normal((16, 3, 20, 24)).astype(np.float32)
IMAGES = np.random.default_rng(6).standard_normal((6, 3, 24, 20)).astype(np.float32)  # not the calibration size


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cnn")


def quantize(workdir, arch, kind, per_channel, pre):
    """The onnxruntime-quantized model of a variant (a file in ``workdir``)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src = workdir / f"{arch}.onnx"
    if not src.exists():
        onnx.save(ARCHS[arch](), str(src))
    if pre:
        pre_path = workdir / f"{arch}_pre.onnx"
        if not pre_path.exists():
            quant_pre_process(str(src), str(pre_path), skip_symbolic_shape=True)  # sympy is not installed
        src = pre_path
    dst = workdir / f"{arch}_{kind}_{per_channel}_{pre}.onnx"

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"input": CALIB[i:i + 1]} for i in range(len(CALIB))])

        def get_next(self):
            return next(self.it, None)

    logging.disable(logging.WARNING)
    try:
        if kind.startswith("dynamic"):
            quantize_dynamic(str(src), str(dst), per_channel=per_channel,
                             weight_type=QuantType.QInt8 if kind.endswith("s8") else QuantType.QUInt8)
        else:
            partial = {"op_types_to_quantize": ["Conv", "Add", "GlobalAveragePool"]} if "partial" in kind else {}
            quantize_static(str(src), str(dst), Reader(), quant_format=getattr(QuantFormat, kind.split("-")[0]),
                            activation_type=QuantType.QUInt8 if partial else QuantType.QInt8,
                            weight_type=QuantType.QInt8, per_channel=per_channel, **partial)
    finally:
        logging.disable(logging.NOTSET)
    return dst


def _final_lsb(model) -> float | None:
    """Scale of the DequantizeLinear writing the graph output (one LSB of it), if one does."""
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "DequantizeLinear" and n.output[0] == "probs":
            return float(inits[n.input[1]])
    return None


@pytest.mark.parametrize("arch,kind,per_channel,pre", _all_variants())
def test_cnn_variant_against_exact_reference(workdir, arch, kind, per_channel, pre):
    import onnxruntime as ort

    path = quantize(workdir, arch, kind, per_channel, pre)
    model = onnx.load(str(path))
    feeds = {"input": IMAGES}
    net = load_model(path, input_shapes=shapes_from_arrays(path, {"arr_0": IMAGES}))  # shapes from the images
    ops = {getattr(n, "op_type", "") for n in net.nodes}
    if kind == "QOperator" and not pre:
        assert {"BatchNormalization", "QLinearSoftmax"} <= ops  # BN as a node; onnxruntime's quantized softmax
    if kind.startswith("dynamic"):
        assert "DynamicQuantizeLinear" in ops and all(isinstance(layer, RuntimeMacLayer) for layer in net.mac_layers)
    out, rep = run_network(net, feeds, trace=True)
    assert [f.op for f in rep.float_layers] == (["Gemm"] if "partial" in kind else [])
    assert len(net.mac_layers) == (12 if arch == "mobilenet" else 7) - ("partial" in kind)
    # every tensor against the exact reference, node by node
    counts = assert_within_one_lsb(teacher_forced(model, feeds, rep.tensors))
    n_int = sum(int(np.prod(rep.tensors[k].shape)) for k in counts if rep.tensors[k].dtype.kind in "iu")
    one_lsb = sum(c for k, c in counts.items() if rep.tensors[k].dtype.kind in "iu")
    # the output end to end: within one LSB of its final quantization (or float32 rounding)
    got, want = out["probs"], run_reference(model, feeds)["probs"]
    tol = (_final_lsb(model) or 0.0) * 1.0001 + 1e-6
    e2e = float(np.abs(got - want).max())
    assert e2e <= tol and np.array_equal(got.argmax(1), want.argmax(1))
    variant = f"{arch} {kind} {'pc' if per_channel else 'pt'} {'pre' if pre else 'raw'}"
    print(f"\n{variant}: {len(net.mac_layers)} MAC layers "
          f"({', '.join(sorted({layer.source for layer in net.mac_layers}))}), float layers "
          f"{[f.name for f in rep.float_layers]}; vs the exact reference {one_lsb} of {n_int} integer elements "
          f"one LSB apart, outputs max |diff| {e2e:.3g}")
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    ort_out = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    if kind.startswith("QDQ"):  # float kernels between Dequantize/Quantize: any CPU, the same tolerance
        assert np.abs(got - ort_out).max() <= tol
        return
    skip_unless_ort_exact()  # QOperator and dynamic: onnxruntime's integer kernels
    if "partial" in kind or kind.startswith("dynamic"):  # float ops after the integer layers
        np.testing.assert_allclose(got, ort_out, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, ort_out)
