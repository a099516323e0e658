"""golden/engine.py: whole-network execution against a brute-force integer reference.

The reference below shares nothing with the engine's kernels: it forms every product of a
convolution / matrix product explicitly (one kernel offset at a time, broadcasting over all
channels), applies the multiplier's vectorised model and the bypass rule, sums in int64, and
requantizes with the ONNX formula written out again.
"""

from __future__ import annotations

import numpy as np
import pytest

from axmac.errors import AxmacError, SpecError
from axmac.golden.bypass import Bypass
from axmac.golden.engine import BATCH_BUDGET, MAX_BATCH, auto_batch_size, output_stage, run_network
from axmac.golden.multipliers import OperandFormat, make_multiplier
from axmac.golden.stats import TrivialStats
from axmac.ir import MacLayer, Network, Node, OutputStage, TensorInfo

from .test_bypass import ref_products as _ref_products

FMT = OperandFormat(9, True)  # int8 activations minus zero point -2 need 9 bits


def make_net(w_zero=True, seed=7, fmt=FMT):
    """int8 input -> conv 3x3 (pad 1, stride 1, x_zp -2, per-channel scale, fused relu) -> int8
    -> MaxPool 2x2 -> Flatten -> gemm (dequant, float32 logits)."""
    rng = np.random.default_rng(seed)
    wc = rng.integers(-60, 60, (4, 3, 3, 3))
    if w_zero:
        wc[rng.random(wc.shape) < 0.3] = 0
        wc[0, 0, 0, :2] = [1, -1]
    conv = MacLayer("conv", "conv", "x", "c", wc, fmt,
                    OutputStage("requant", np.array([0.004, 0.0031, 0.0052, 0.0045], np.float32), 3,
                                np.dtype(np.int8), relu=True),
                    x_zero_point=-2, w_zero_point=np.zeros(4, np.int64), bias=rng.integers(-500, 500, 4),
                    pads=(1, 1, 1, 1))
    wg = rng.integers(-100, 100, (36, 5))
    gemm = MacLayer("fc", "gemm", "f", "y", wg, fmt, OutputStage("dequant", np.float32(0.0123), dtype=np.float32),
                    x_zero_point=3, w_zero_point=np.int64(0), bias=None)
    nodes = [conv, Node("pool", "MaxPool", ["c"], ["p"], {"kernel_shape": [2, 2], "strides": [2, 2]}),
             Node("flat", "Flatten", ["p"], ["f"], {}), gemm]
    return Network("t", [TensorInfo("x", (1, 3, 6, 6), np.dtype(np.int8))],
                   [TensorInfo("y", (1, 5), np.dtype(np.float32))], nodes)


def ref_products(mult, bypass, a, b):
    """PE products of broadcast operands: the model's products, exact where bypassed (the
    independent reference of tests/test_bypass.py, not the code under test)."""
    return _ref_products(a, b, mult, bypass)


def ref_conv(x, w, pads, mult, bypass):
    n, c, h, wd = x.shape
    m, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh, ow = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    acc = np.zeros((n, m, oh, ow), np.int64)
    for i in range(kh):
        for j in range(kw):
            xs = xp[:, None, :, i:i + oh, j:j + ow]          # n, 1, c, oh, ow
            ws = w[None, :, :, i, j][..., None, None]         # 1, m, c, 1, 1
            acc += ref_products(mult, bypass, xs, ws).sum(axis=2)
    return acc


def ref_requant(acc, scale, zp, dtype, relu):
    y = np.rint(acc.astype(np.float32) * scale).astype(np.int64) + zp
    if relu:
        y = np.maximum(y, zp)
    return np.clip(y, np.iinfo(dtype).min, np.iinfo(dtype).max).astype(dtype)


def reference(net, x, conv_spec="exact", fc_spec="exact", bypass=None):
    bypass = bypass or Bypass()
    conv, _, _, fc = net.nodes
    fmt = conv.operand
    mc = make_multiplier(conv_spec, fmt.bits, fmt.signed)
    acc = ref_conv(x.astype(np.int64) - conv.x_zero_point, conv.weight, conv.pads, mc, bypass)
    acc += conv.bias[None, :, None, None]
    c = ref_requant(acc, conv.output.scale[None, :, None, None], conv.output.zero_point, np.int8, True)
    p = c.reshape(c.shape[0], 4, 3, 2, 3, 2).max(axis=(3, 5))
    f = p.reshape(p.shape[0], -1).astype(np.int64) - fc.x_zero_point
    mf = make_multiplier(fc_spec, fmt.bits, fmt.signed)
    accf = ref_products(mf, bypass, f[:, :, None], fc.weight[None]).sum(axis=1)
    return accf.astype(np.float32) * np.float32(0.0123)


def inputs(n=5, seed=8):
    x = np.random.default_rng(seed).integers(-128, 128, (n, 3, 6, 6)).astype(np.int8)
    x[:, 0, :2] = -2  # centered zeros
    x[:, 1, :1] = -1  # centered ones
    return x


@pytest.mark.parametrize("conv_spec,fc_spec,bypass", [
    ("exact", "exact", "none"),
    ("trunc:3", "exact", "none"),
    ("mitchell", "bam:6", "none"),
    ("mitchell", "mitchell", "zero,one"),
    ("drum:3", "trunc:2", "all"),
])
def test_network_matches_bruteforce(conv_spec, fc_spec, bypass):
    net = make_net()
    x = inputs()
    bp = Bypass.parse(bypass)
    for stats in (False, True):
        out, rep = run_network(net, {"x": x}, multiplier=fc_spec, layers={"conv": conv_spec}, bypass=bp,
                               stats=stats)
        np.testing.assert_array_equal(out["y"], reference(net, x, conv_spec, fc_spec, bp))
    assert [layer.multiplier for layer in rep.layers] == [conv_spec, fc_spec]
    assert rep.macs == 5 * (4 * 36 * 27 + 36 * 5)


def test_wide_operands_use_the_layer_width():
    """12-bit operands (no product table: the vectorised-model kernel) with approximate multipliers."""
    net = make_net(fmt=OperandFormat(12, True))
    x = inputs(2)
    for stats in (False, True):
        out, rep = run_network(net, {"x": x}, multiplier="trunc:3", layers={"conv": "drum:4"}, stats=stats,
                               bypass=Bypass.parse("zero"))
        np.testing.assert_array_equal(out["y"], reference(net, x, "drum:4", "trunc:3", Bypass.parse("zero")))
    assert {layer.operand for layer in rep.layers} == {"s12"}


def test_trace_keeps_intermediates_and_accumulators():
    """The traced conv accumulators equal the brute-force ones; the traced int8 tensor and the
    output agree with the untraced run, across batches."""
    net = make_net()
    x = inputs(7)
    out, rep = run_network(net, {"x": x}, multiplier="mitchell", batch_size=3, trace=True, stats=False)
    out0, rep0 = run_network(net, {"x": x}, multiplier="mitchell", stats=False)
    np.testing.assert_array_equal(out["y"], out0["y"])
    assert rep0.tensors == {}
    t = rep.tensors
    assert {"x", "c", "p", "f", "y", "c::acc", "y::acc"} <= set(t)
    conv = net.nodes[0]
    acc = ref_conv(x.astype(np.int64) + 2, conv.weight, conv.pads, make_multiplier("mitchell", 9, True), Bypass())
    np.testing.assert_array_equal(t["c::acc"], acc + conv.bias[None, :, None, None])
    assert t["c"].dtype == np.int8 and t["c"].shape == (7, 4, 6, 6) and t["y::acc"].dtype == np.int64
    np.testing.assert_array_equal(t["y"], out["y"])


def test_batching_does_not_change_results_or_stats():
    net = make_net()
    x = inputs(11)
    seen = []
    out1, rep1 = run_network(net, {"x": x}, multiplier="mitchell", batch_size=3, progress=seen.append)
    out2, rep2 = run_network(net, {"x": x}, multiplier="mitchell", batch_size=100)
    np.testing.assert_array_equal(out1["y"], out2["y"])
    assert rep1.total == rep2.total and rep1.macs == rep2.macs
    assert seen == [3, 3, 3, 2]


def test_auto_batch_size_bounds_activation_memory():
    net = make_net()
    assert auto_batch_size(net) == 256  # no shapes known
    net.shapes = {"x": (1, 3, 6, 6), "c": (1, 4, 6, 6), "p": (1, 4, 3, 3), "y": (1, 5), "weight": (999, 999)}
    assert auto_batch_size(net) == MAX_BATCH  # small maps; the weight-sized entry is not an activation
    net.shapes["c"] = (1, 64, 128, 128)  # 1 Mi elements per sample
    b = auto_batch_size(net)
    assert b == BATCH_BUDGET // (3 * 8 * 64 * 128 * 128) and 3 * 8 * 64 * 128 * 128 * b <= BATCH_BUDGET


def test_stats_match_bruteforce_counts():
    """Cases (a)/(b) and the zero fractions, counted directly on the padded im2col products."""
    net = make_net()
    x = inputs(4)
    _, rep = run_network(net, {"x": x}, multiplier="exact", stats=True)
    conv = net.nodes[0]
    xc = np.pad(x.astype(np.int64) + 2, ((0, 0), (0, 0), (1, 1), (1, 1)))
    zero = one = xz = 0
    for i in range(3):
        for j in range(3):
            xs = xc[:, None, :, i:i + 6, j:j + 6]
            ws = conv.weight[None, :, :, i, j][..., None, None]
            xs, ws = np.broadcast_arrays(xs, ws)
            a = (xs == 0) | (ws == 0)
            zero += int(a.sum())
            one += int((~a & ((np.abs(xs) == 1) | (np.abs(ws) == 1))).sum())
            xz += int((xc[:, :, i:i + 6, j:j + 6] == 0).sum())
    st = rep.layers[0].stats
    assert (st.macs, st.zero, st.one) == (4 * 4 * 36 * 27, zero, one)
    assert st.x_zeros == xz and st.x_count == 4 * 36 * 27
    assert st.w_zeros == int((conv.weight == 0).sum()) and st.w_count == conv.weight.size
    total = TrivialStats()
    for layer in rep.layers:
        total += layer.stats
    assert rep.total == total
    d = rep.to_dict()
    assert d["total"]["stats"]["macs"] == rep.macs and 0 < d["total"]["fractions"]["zero"] < 1


def test_output_stage_rounds_half_to_even_and_saturates():
    acc = np.array([5, 7, -5, -7, 1000, -1000, 3, -3], np.int64)
    st = OutputStage("requant", np.float32(0.5), 1, np.dtype(np.int8))
    # 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, -3.5 -> -4, 1.5 -> 2, -1.5 -> -2 (half to even), +1 zero point;
    # 500 -> 127, -500 -> -128
    np.testing.assert_array_equal(output_stage(acc, st, st.scale, 0), [3, 5, -1, -3, 127, -128, 3, -1])
    st = OutputStage("requant", np.float32(0.5), -5, np.dtype(np.int8), relu=True)
    np.testing.assert_array_equal(output_stage(acc, st, st.scale, 0), [-3, -1, -5, -5, 127, -5, -3, -5])
    st = OutputStage("int32")
    assert output_stage(acc, st, None, 0).dtype == np.int32
    st = OutputStage("dequant", np.float32(0.5), dtype=np.dtype(np.float32), relu=True)
    np.testing.assert_array_equal(output_stage(acc, st, st.scale, 0), [2.5, 3.5, 0, 0, 500, 0, 1.5, 0])
    # a 32-bit requantized output saturates exactly at the int32 limits
    big = np.array([2**40, -(2**40), 2**31 - 2, 33554433], np.int64)
    st = OutputStage("requant", np.float32(1.0), 1, np.dtype(np.int32))
    want = [2**31 - 1, -(2**31), 2**31 - 1, int(np.float32(33554433)) + 1]
    np.testing.assert_array_equal(output_stage(big, st, st.scale, 0), want)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bias_correction_restores_the_gain(seed):
    """Mitchell's products are low by |bias| ~ 3.7% on average, so two approximate layers scale
    the logits by about (1 + bias)^2 (least-squares gain ``k`` of approximate vs exact logits).
    Rescaling each layer by 1/(1 + bias) must bring ``k`` back to within a third of the gap."""
    from axmac.golden.metrics import error_metrics

    net = make_net(w_zero=False, seed=seed)
    net.nodes[0].output.scale = net.nodes[0].output.scale / 4  # keep the int8 stage out of saturation
    x = inputs(40, seed=100 + seed)
    exact, _ = run_network(net, {"x": x}, multiplier="exact", stats=False)
    plain, rep0 = run_network(net, {"x": x}, multiplier="mitchell", stats=False)
    corr, rep1 = run_network(net, {"x": x}, multiplier="mitchell", stats=False, bias_correction=True)
    e = exact["y"].astype(np.float64)

    def gain(out):
        return float((out["y"] * e).sum() / (e * e).sum())

    bias = error_metrics(make_multiplier("mitchell", FMT.bits, FMT.signed))["bias"]
    assert -0.05 < bias < -0.03  # Mitchell underestimates (about -3.8%)
    assert rep0.layers[0].correction == 1.0 and rep1.layers[0].correction == pytest.approx(1 / (1 + bias))
    assert abs(gain(plain) - (1 + bias) ** 2) < 0.03
    assert abs(gain(corr) - 1) < abs(gain(plain) - 1) / 3
    # exact layers are never corrected
    _, rep = run_network(net, {"x": x}, multiplier="exact", bias_correction=True, stats=False)
    assert all(layer.correction == 1.0 for layer in rep.layers)


def test_bad_inputs_are_one_line_errors():
    net = make_net()
    x = inputs(2)
    with pytest.raises(AxmacError, match="missing input 'x'"):
        run_network(net, {})
    with pytest.raises(AxmacError, match="unknown input 'z'"):
        run_network(net, {"x": x, "z": x})
    with pytest.raises(AxmacError, match="dtype float32, the model expects int8"):
        run_network(net, {"x": x.astype(np.float32)})
    with pytest.raises(AxmacError, match=r"shape \(2, 3, 6, 5\)"):
        run_network(net, {"x": x[..., :5]})
    with pytest.raises(AxmacError, match="unknown layer 'nope'"):
        run_network(net, {"x": x}, layers={"nope": "exact"})
    with pytest.raises(SpecError, match="unknown multiplier family 'foo'"):
        run_network(net, {"x": x}, multiplier="foo")
    with pytest.raises(AxmacError, match="batch_size"):
        run_network(net, {"x": x}, batch_size=0)
    net.nodes[1].outputs = ["p", "indices"]
    net.nodes[2].inputs = ["indices"]
    with pytest.raises(AxmacError, match="reads 'indices', which no earlier node produces"):
        run_network(net, {"x": x})


def test_k_tile_only_changes_add_statistics():
    """Shorter accumulation chains restart the partial sum at 0 more often: more (d) cases,
    identical results and MUL statistics."""
    net = make_net()
    x = inputs(3)
    out1, rep1 = run_network(net, {"x": x}, multiplier="mitchell")
    out2, rep2 = run_network(net, {"x": x}, multiplier="mitchell", k_tile=4)
    np.testing.assert_array_equal(out1["y"], out2["y"])
    t1, t2 = rep1.total, rep2.total
    assert (t1.macs, t1.zero, t1.one) == (t2.macs, t2.zero, t2.one)
    # every chain start is an add-zero: K=27 -> 1 chain vs 7 chains (tiles of 4) per conv output
    conv_outputs = 3 * 4 * 36
    assert rep2.layers[0].stats.add_zero - rep1.layers[0].stats.add_zero <= 6 * conv_outputs
    assert rep2.layers[0].stats.add_zero > rep1.layers[0].stats.add_zero


def test_fixed_requantization_is_the_arrays_integer_form():
    """requant="fixed": requant stages use the integer multiplier and rounding shift of the array's
    output stage: round-half-up of the exact rational acc * scale (float32 scale read exactly), at
    most 1 LSB from the float (onnxruntime) form; dequant stages are unchanged."""
    from fractions import Fraction

    net = make_net()
    x = inputs(40)
    y_float, rep_f = run_network(net, {"x": x}, trace=True, stats=False)
    y_fixed, rep_x = run_network(net, {"x": x}, trace=True, stats=False, requant="fixed")
    acc = rep_x.tensors["c::acc"]
    assert np.array_equal(acc, rep_f.tensors["c::acc"])
    conv = net.nodes[0]
    got = rep_x.tensors["c"].astype(np.int64)
    for idx in np.ndindex(acc.shape):
        exact = Fraction(int(acc[idx])) * Fraction(float(conv.output.scale[idx[1]]))
        want = int((exact + Fraction(1, 2)).__floor__()) + conv.output.zero_point
        want = min(max(want, conv.output.zero_point), 127)  # fused relu, int8
        assert got[idx] == want, (idx, int(acc[idx]))
    diff = np.abs(got - rep_f.tensors["c"].astype(np.int64))
    assert diff.max() <= 1
    with pytest.raises(AxmacError, match="requant must be one of float, fixed"):
        run_network(net, {"x": x}, requant="exact")
