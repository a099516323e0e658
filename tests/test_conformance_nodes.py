"""Conformance with onnx's backend node tests (``onnx.backend.test.case.node``, rebuilt offline).

Integer MAC ops (ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul): each case runs exactly
as written (its weights, scales and zero points are graph inputs, fed at run time: MAC layers bound
to run-time parameters) and, again, with those inputs made constants (the layers the array runs).
The golden engine in ``exact`` mode must reproduce the expected outputs **exactly**, on both kernel
paths (``stats=False``: BLAS path, ``stats=True``: product-table path), including the 3-D
QLinearMatMul cases (a batch of weight matrices: one layer per matrix).

Float Conv / Gemm / MatMul, as written (weights fed at run time), are float layers a model leaves
unquantized: they run in float32 and must reproduce the expected outputs to float32 rounding.

Float Conv / Gemm / MatMul: quantized by axmac (symmetric int8, max calibration on the test
input itself, so nothing clips) and executed in ``exact`` mode; the result must lie within the
quantization error bound derived here. Write ``x = x^ + e_x`` and ``w = w^ + e_w`` with the
quantized values ``x^ = s_x q_x``, ``w^ = s_w q_w`` and, without clipping, ``|e_x| <= s_x / 2``,
``|e_w| <= s_w / 2``. For every product

    |x w - x^ w^| = |x^ e_w + e_x w^ + e_x e_w| <= |x^| s_w/2 + s_x/2 |w^| + s_x s_w / 4
                  <= |x| s_w/2 + |w| s_x/2 + 3 s_x s_w / 4          (|x^| <= |x| + s_x/2, same for w)

so for an output that sums ``K`` products plus a bias quantized to ``s_x s_w`` units (error
``<= s_x s_w / 2``):

    |y - y_q| <= s_w/2 sum_k |x_k| + s_x/2 sum_k |w_k| + (3K/4 + 1/2) s_x s_w  + 1e-5 |y| + 1e-6

(the last two terms cover float32 rounding of the dequantization and of the reference). The
sums over ``k`` are computed here with NumPy from the test's float data (a Conv of ``|x|`` with
ones, ``|x| @ 1``, ...), ``s_w`` per output channel.

Weights the quantizer cannot make one layer of the array (batched or 1-D MatMul weights) are
checked to fail with one clear :class:`AxmacError` line when quantization is asked for.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from axmac.errors import AxmacError
from axmac.golden.engine import run_network
from axmac.onnx_import.loader import load_model

INTEGER_OPS = ("ConvInteger", "QLinearConv", "MatMulInteger", "QLinearMatMul")
FLOAT_OPS = ("Conv", "Gemm", "MatMul")


def _cases():
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    out = {}
    for c in cases:
        ops = [n.op_type for n in c.model.graph.node]
        if len(ops) == 1 and ops[0] in INTEGER_OPS + FLOAT_OPS:
            out[c.name] = c
    return out


CASES = _cases()
INT_CASES = sorted(n for n, c in CASES.items() if c.model.graph.node[0].op_type in INTEGER_OPS)
FLOAT_CASES = sorted(n for n, c in CASES.items() if c.model.graph.node[0].op_type in FLOAT_OPS)


def freeze(model: onnx.ModelProto, inputs: list) -> onnx.ModelProto:
    """The node's model with every input but the first (the activation) made an initializer."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for vi, a in zip(list(m.graph.input)[1:], inputs[1:], strict=True):
        m.graph.initializer.append(numpy_helper.from_array(np.asarray(a), vi.name))
    del m.graph.input[1:]
    return m


def quantizable(name: str) -> bool:
    """Whether the float case's weight is one matrix / kernel axmac can quantize into a layer."""
    c = CASES[name]
    op = c.model.graph.node[0].op_type
    return op != "MatMul" or np.asarray(c.data_sets[0][0][1]).ndim == 2


def test_the_node_cases_exist():
    """The offline rebuild found the cases (so the parametrized tests below are not vacuous)."""
    ops = {CASES[n].model.graph.node[0].op_type for n in INT_CASES}
    assert ops == set(INTEGER_OPS)
    assert {CASES[n].model.graph.node[0].op_type for n in FLOAT_CASES} == set(FLOAT_OPS)
    assert len(INT_CASES) >= 10 and len(FLOAT_CASES) >= 15
    # as written, the weights are graph inputs
    assert all(len(CASES[n].model.graph.input) >= 2 for n in INT_CASES + FLOAT_CASES)


@pytest.mark.parametrize("form", ["as_written", "constant_weights"])
@pytest.mark.parametrize("name", INT_CASES)
def test_integer_node_exact(name, form):
    from axmac.onnx_import.runtime import RuntimeMacLayer

    case = CASES[name]
    for inputs, outputs in case.data_sets:
        model = case.model if form == "as_written" else freeze(case.model, inputs)
        names = [i.name for i in model.graph.input]
        feeds = dict(zip(names, inputs, strict=False))
        net = load_model(model)
        assert all(isinstance(layer, RuntimeMacLayer) == (form == "as_written") for layer in net.mac_layers)
        for stats in (False, True):
            out, _ = run_network(net, feeds, stats=stats)
            got = out[net.outputs[0].name]
            assert got.dtype == outputs[0].dtype
            np.testing.assert_array_equal(got, outputs[0])


@pytest.mark.parametrize("name", FLOAT_CASES)
def test_float_node_as_written(name):
    """Weights fed at run time: float layers, run in float32."""
    case = CASES[name]
    for inputs, outputs in case.data_sets:
        net = load_model(case.model)
        assert net.mac_layers == []
        feeds = {i.name: a for i, a in zip(case.model.graph.input, inputs, strict=True)}
        out, rep = run_network(net, feeds)
        assert [f.op for f in rep.float_layers] == [case.model.graph.node[0].op_type]
        np.testing.assert_allclose(out[net.outputs[0].name], outputs[0], rtol=1e-5, atol=1e-6)


def _effective(op, node, inputs):
    """``(x, w_eff, bias_eff, kind)`` in the axmac layout: conv weight (M, C/g, kh, kw), gemm (K, N)."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    x = np.asarray(inputs[0], np.float64)
    if op == "Conv":
        b = np.asarray(inputs[2], np.float64) if len(inputs) > 2 else None
        return x, np.asarray(inputs[1], np.float64), b, "conv", attrs
    if op == "MatMul":
        return x, np.asarray(inputs[1], np.float64), None, "gemm", attrs
    if attrs.get("transA", 0):
        x = x.T
    w = np.asarray(inputs[1], np.float64)
    w = (w.T if attrs.get("transB", 0) else w) * attrs.get("alpha", 1.0)
    b = None
    if len(inputs) > 2:
        b = (np.asarray(inputs[2], np.float64) * attrs.get("beta", 1.0)).reshape(-1)
    return x, w, b, "gemm", attrs


def _abs_sums(kind, x, w, layer, attrs):
    """``sum_k |x_k|`` per output and ``sum_k |w_k|`` per output channel, and ``K``."""
    if kind == "gemm":
        return np.abs(x) @ np.ones((w.shape[0], 1)), np.abs(w).sum(axis=0)[None, :], w.shape[0]
    ones = np.ones((1,) + w.shape[1:])
    ax = _conv_f64(np.abs(x), ones, layer)  # (N, 1, OH, OW)
    return ax, np.abs(w).reshape(w.shape[0], -1).sum(axis=1)[None, :, None, None], int(np.prod(w.shape[1:]))


def _conv_f64(x, w, layer):
    """Plain float64 convolution (kernel offsets loop), with the importer's explicit pads."""
    pt, pl, pb, pr = layer.pads
    (sh, sw), (dh, dw) = layer.strides, layer.dilations
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    m, _, kh, kw = w.shape
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], m, oh, ow))
    for i in range(kh):
        for j in range(kw):
            xs = xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
            y += np.einsum("nchw,mc->nmhw", xs, w[:, :, i, j])
    return y


@pytest.mark.parametrize("name", [n for n in FLOAT_CASES if quantizable(n)])
def test_float_node_within_quantization_bound(name):
    case = CASES[name]
    node = case.model.graph.node[0]
    for inputs, outputs in case.data_sets:
        m = freeze(case.model, inputs)
        xname = m.graph.input[0].name
        net = load_model(m, calibration={xname: inputs[0]})
        out, _ = run_network(net, {xname: inputs[0]}, stats=False)
        got, want = out[net.outputs[0].name], np.asarray(outputs[0], np.float64)
        (layer,) = net.mac_layers
        x, w, b, kind, attrs = _effective(node.op_type, node, inputs)
        s_x = float(layer.x_scale)
        s_w = np.asarray(layer.w_scale, np.float64).ravel()
        # no clipping: the calibration saw these very values
        assert np.abs(x).max() <= 127 * s_x * (1 + 1e-6)
        w_ch = np.abs(w).reshape(w.shape[0], -1).max(axis=1) if kind == "conv" else np.abs(w).max(axis=0)
        assert np.all(w_ch <= 127 * s_w * (1 + 1e-6))
        sx_abs, sw_abs, k = _abs_sums(kind, x, w, layer, attrs)
        s_w_b = s_w[None, :, None, None] if kind == "conv" else s_w[None, :]
        bound = s_w_b / 2 * sx_abs + s_x / 2 * sw_abs + (0.75 * k + 0.5) * s_x * s_w_b
        bound = bound + 1e-5 * np.abs(want) + 1e-6
        err = np.abs(got.astype(np.float64) - want)
        assert got.shape == want.shape
        assert np.all(err <= bound), f"max err {err.max():.4g}, bound there {bound.flat[np.argmax(err - bound)]:.4g}"
        # and the bound is not vacuous: well under the output's magnitude
        assert np.median(bound) < 0.1 * np.abs(want).max()


@pytest.mark.parametrize("name", [n for n in FLOAT_CASES if not quantizable(n)])
def test_float_node_unquantizable_is_one_clear_error(name):
    case = CASES[name]
    inputs = case.data_sets[0][0]
    m = freeze(case.model, inputs)
    with pytest.raises(AxmacError) as e:
        load_model(m, calibration={m.graph.input[0].name: inputs[0]})
    assert "\n" not in str(e.value) and "2-D constant weights" in str(e.value)
    # kept in float, it runs
    out, _ = run_network(load_model(m, float_layers="float"), {m.graph.input[0].name: inputs[0]})
    np.testing.assert_allclose(next(iter(out.values())), case.data_sets[0][1][0], rtol=1e-5, atol=1e-6)
