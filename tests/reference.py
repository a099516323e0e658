"""The exact reference the tests compare axmac with: ``onnx.reference.ReferenceEvaluator``.

onnxruntime is not a reference for integer semantics (its u8 x s8 kernels saturate pairs of
products on AVX2 CPUs without VNNI, see ``axmac.onnx_import.ort_probe``), and onnx has no
schema for the com.microsoft ops onnxruntime's quantizer writes. This module gives the reference
evaluator those ops, written here from their *mathematical* definition in onnxruntime's
contrib-op documentation (dequantize, compute in float64, quantize with round half to even and
saturation) — not from onnxruntime's float32 algorithms, which axmac reproduces. Where axmac's
float32 arithmetic rounds differently from float64 the two may differ by one LSB; that is the
documented tolerance (:func:`assert_within_one_lsb`).

:func:`teacher_forced` runs the reference node by node, feeding each node the values axmac
computed for its inputs (when axmac computed them): every tensor axmac produced is compared with
what the reference makes of axmac's own inputs, so a one-LSB difference is seen where it arises,
not amplified downstream.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

MIN_OPSET = 19  # ReferenceEvaluator has Quantize/DequantizeLinear from opset 19 on


def _dq(x, s, z):
    z = 0 if z is None else np.asarray(z, np.float64)
    return (np.asarray(x, np.float64) - z) * np.asarray(s, np.float64)


def _q(v, s, z, dtype):
    info = np.iinfo(dtype)
    z = 0 if z is None else int(np.asarray(z))
    q = np.rint(np.asarray(v, np.float64) / float(np.asarray(s, np.float64).reshape(()))) + z
    return np.clip(q, info.min, info.max).astype(dtype)


def _dtype(z, like):
    return np.asarray(z).dtype if z is not None else np.asarray(like).dtype


class QGemm(OpRun):
    op_domain = "com.microsoft"

    def _run(self, a, a_s, a_z, b, b_s, b_z, c=None, y_s=None, y_z=None, alpha=1.0, transA=0, transB=0):  # noqa: N803
        a = np.asarray(a, np.int64) - (0 if a_z is None else int(np.asarray(a_z)))
        b = np.asarray(b, np.int64)
        b_s = np.asarray(b_s, np.float64).ravel()
        b_z = np.zeros(1, np.int64) if b_z is None else np.asarray(b_z, np.int64).ravel()
        a = a.T if transA else a
        b = (b - b_z[:, None]).T if transB else b - b_z[None, :]
        acc = a @ b + (0 if c is None else np.asarray(c, np.int64))
        y = acc * (float(alpha) * float(np.asarray(a_s)) * b_s)
        if y_s is None:
            return (y.astype(np.float32),)
        return (_q(y, y_s, y_z, _dtype(y_z, np.uint8)),)


class QLinearAdd(OpRun):
    op_domain = "com.microsoft"

    def _run(self, a, a_s, a_z, b, b_s, b_z, c_s, c_z=None):
        return (_q(_dq(a, a_s, a_z) + _dq(b, b_s, b_z), c_s, c_z, _dtype(c_z, a)),)


class QLinearMul(OpRun):
    op_domain = "com.microsoft"

    def _run(self, a, a_s, a_z, b, b_s, b_z, c_s, c_z=None):
        return (_q(_dq(a, a_s, a_z) * _dq(b, b_s, b_z), c_s, c_z, _dtype(c_z, a)),)


class QLinearSigmoid(OpRun):
    op_domain = "com.microsoft"

    def _run(self, x, x_s, x_z, y_s, y_z=None):
        return (_q(1 / (1 + np.exp(-_dq(x, x_s, x_z))), y_s, y_z, _dtype(y_z, x)),)


class QLinearLeakyRelu(OpRun):
    op_domain = "com.microsoft"

    def _run(self, x, x_s, x_z, y_s, y_z=None, alpha=0.01):
        v = _dq(x, x_s, x_z)
        return (_q(np.where(v >= 0, v, v * float(np.float32(alpha))), y_s, y_z, _dtype(y_z, x)),)


class QLinearGlobalAveragePool(OpRun):
    op_domain = "com.microsoft"

    def _run(self, x, x_s, x_z, y_s, y_z=None, channels_last=0):
        axes = tuple(range(1, x.ndim - 1)) if channels_last else tuple(range(2, x.ndim))
        return (_q(_dq(x, x_s, x_z).mean(axis=axes, keepdims=True), y_s, y_z, _dtype(y_z, x)),)


class QLinearConcat(OpRun):
    op_domain = "com.microsoft"

    def _run(self, y_s, y_z, *xs, axis=0):
        parts = [_q(_dq(x, s, z), y_s, y_z, _dtype(y_z, x)) for x, s, z in zip(xs[0::3], xs[1::3], xs[2::3],
                                                                               strict=True)]
        return (np.concatenate(parts, axis=axis),)


class QLinearSoftmax(OpRun):
    op_domain = "com.microsoft"

    def _run(self, x, x_s, x_z, y_s, y_z=None, axis=-1, opset=13):
        v = _dq(x, x_s, x_z)
        if opset < 13:  # coerced to 2-D at axis
            ax = axis % v.ndim
            flat = v.reshape(int(np.prod(v.shape[:ax])), -1)
            e = np.exp(flat - flat.max(axis=1, keepdims=True))
            p = (e / e.sum(axis=1, keepdims=True)).reshape(v.shape)
        else:
            e = np.exp(v - v.max(axis=axis, keepdims=True))
            p = e / e.sum(axis=axis, keepdims=True)
        return (_q(p, y_s, y_z, _dtype(y_z, x)),)


class QLinearAveragePool(OpRun):
    op_domain = "com.microsoft"

    def _run(self, x, x_s, x_z, y_s, y_z=None, **attrs):
        channels_last = attrs.pop("channels_last", 0)
        v = _dq(x, x_s, x_z)
        if channels_last:
            v = np.moveaxis(v, -1, 1)
        node = onnx.helper.make_node("AveragePool", ["v"], ["y"], **attrs)
        g = onnx.helper.make_graph([node], "pool", [onnx.helper.make_tensor_value_info("v", onnx.TensorProto.DOUBLE,
                                                                                       list(v.shape))],
                                   [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.DOUBLE, None)])
        m = onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 19)], ir_version=10)
        p = ReferenceEvaluator(m).run(None, {"v": v})[0]
        if channels_last:
            p = np.moveaxis(p, 1, -1)
        return (_q(p, y_s, y_z, _dtype(y_z, x)),)


MS_REFERENCE_OPS = [QGemm, QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu, QLinearGlobalAveragePool,
                    QLinearConcat, QLinearSoftmax, QLinearAveragePool]


def reference_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` converted to an opset ReferenceEvaluator runs Quantize/DequantizeLinear in."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset >= MIN_OPSET:
        return model
    from onnx import version_converter

    return version_converter.convert_version(model, 21)


def evaluator(model: onnx.ModelProto) -> ReferenceEvaluator:
    return ReferenceEvaluator(reference_model(model), new_ops=MS_REFERENCE_OPS)


def run_reference(model: onnx.ModelProto, feeds: dict) -> dict[str, np.ndarray]:
    """The reference's graph outputs, by name."""
    ev = evaluator(model)
    return dict(zip(ev.output_names, ev.run(None, feeds), strict=True))


def teacher_forced(model: onnx.ModelProto, feeds: dict, axmac: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{tensor: (reference, axmac)}`` for every tensor of the graph that ``axmac`` holds.

    The reference runs node by node; each node reads axmac's value of an input when axmac has
    one, else the reference's own (tensors axmac fused away, e.g. the float output of a Conv
    between DequantizeLinear and QuantizeLinear).
    """
    ev = evaluator(model)
    values = dict(ev.rt_inits_)
    values.update(feeds)
    out = {}
    for node in ev.rt_nodes_:
        args = [values[i] if i else None for i in node.input]
        res = node.run(*args)
        for name, v in zip(node.output, res, strict=False):
            if not name:
                continue
            values[name] = v
            if name in axmac:
                out[name] = (np.asarray(v), np.asarray(axmac[name]))
                values[name] = axmac[name]
    return out


def assert_within_one_lsb(pairs: dict, *, max_fraction: float = 0.001, float_rtol: float = 1e-5) -> dict:
    """Integer tensors: at most one LSB apart, in at most ``max_fraction`` of the elements; float
    tensors: within ``float_rtol`` (relative to the tensor's magnitude). Returns ``{name: n_diff}``."""
    counts = {}
    for name, (ref, got) in pairs.items():
        assert ref.shape == got.shape, (name, ref.shape, got.shape)
        if np.issubdtype(ref.dtype, np.integer):
            assert got.dtype == ref.dtype, (name, got.dtype, ref.dtype)
            d = np.abs(ref.astype(np.int64) - got.astype(np.int64))
            counts[name] = int(np.count_nonzero(d))
            assert d.max(initial=0) <= 1, f"{name}: {int(d.max())} LSB apart"
            assert counts[name] <= max(1, max_fraction * d.size), f"{name}: {counts[name]} of {d.size} differ"
        else:
            scale = max(float(np.abs(ref).max(initial=0)), 1e-30)
            err = np.abs(ref.astype(np.float64) - got.astype(np.float64))
            counts[name] = int(np.count_nonzero(err))
            assert err.max(initial=0) <= float_rtol * scale, f"{name}: max error {err.max():.3g} (scale {scale:.3g})"
    return counts
