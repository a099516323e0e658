"""Is onnxruntime's integer arithmetic exact on this CPU?

onnxruntime's uint8 x int8 kernels (MatMulInteger, QLinearConv, QGemm, and the integer kernels a
QDQ graph is fused into) are exact on CPUs with VNNI (``avx512_vnni``, ``avxvnni``: ``vpdpbusd``
accumulates in int32) and on ARM, but on x86 CPUs with AVX2 and no VNNI they multiply with
``vpmaddubsw``, which adds *pairs* of u8 x s8 products in saturating int16: a pair whose sum
exceeds 32767 (activations near 255 times weights near +-127) is clipped. onnxruntime itself is
then not a reference for integer semantics (``onnx.reference`` is).

:func:`ort_exactness` finds out by running two tiny models whose every pair of products
saturates int16 (activations 255, weights 127 / -128) and comparing with exact integer math:

* ``MatMulInteger``: ``A`` (4 x 64) of 255, ``B`` (64 x 2) with columns of 127 and -128;
  exact ``[255*127*64, -255*128*64]`` per row (with saturated pairs: ``[32767*32, -32768*32]``);
* ``QLinearConv``: a 3x3 conv of 8 channels of 255 with weights 127, scales 1, output scale
  2**14: exact ``rint(255*127*72 / 2**14) = 142`` at the centre (saturated pairs give about 71).

The result is cached per process. The reason names the CPU feature (``/proc/cpuinfo`` flags,
where available) that explains it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

#: ``/proc/cpuinfo`` flags that decide how onnxruntime multiplies u8 x s8 on x86
VNNI_FLAGS = ("avx512_vnni", "avxvnni")


@dataclass(frozen=True)
class OrtExactness:
    """Whether onnxruntime's u8 x s8 integer kernels are exact here, and why (one line)."""

    exact: bool
    reason: str


def cpu_flags(path: str = "/proc/cpuinfo") -> set[str] | None:
    """The CPU feature flags of the first processor in ``path`` (None where there is no such file)."""
    try:
        with open(path) as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip() in ("flags", "Features"):
                    return set(value.split())
    except OSError:
        return None
    return set()


def describe_cpu(flags: set[str] | None) -> str:
    """The flags that matter for onnxruntime's u8 x s8 kernels, in words."""
    if flags is None:
        return "CPU flags unknown (no /proc/cpuinfo)"
    vnni = [f for f in VNNI_FLAGS if f in flags]
    if vnni:
        return "/".join(vnni)
    if "avx2" in flags:
        return "avx2 without avx512_vnni/avxvnni: u8 x s8 product pairs are added in saturating int16 (vpmaddubsw)"
    return "no avx2/avx512_vnni/avxvnni flag"


def probe_matmul() -> tuple[np.ndarray, np.ndarray]:
    """``(A uint8 (4, 64), B int8 (64, 2))``: every pair of products saturates int16."""
    a = np.full((4, 64), 255, np.uint8)
    b = np.stack([np.full(64, 127, np.int8), np.full(64, -128, np.int8)], axis=1)
    return a, b


def probe_conv() -> tuple[np.ndarray, np.ndarray, float]:
    """``(x uint8 (1, 8, 5, 5), w int8 (1, 8, 3, 3), y_scale)`` of the QLinearConv probe."""
    return np.full((1, 8, 5, 5), 255, np.uint8), np.full((1, 8, 3, 3), 127, np.int8), float(2 ** 14)


def _models():
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    a, b = probe_matmul()
    mm = h.make_graph([h.make_node("MatMulInteger", ["a", "b"], ["y"])], "probe_mm",
                      [h.make_tensor_value_info("a", T.UINT8, list(a.shape))],
                      [h.make_tensor_value_info("y", T.INT32, None)], [nh.from_array(b, "b")])
    x, w, ys = probe_conv()
    inits = [nh.from_array(np.array(1.0, np.float32), "xs"), nh.from_array(np.array(0, np.uint8), "xz"),
             nh.from_array(w, "w"), nh.from_array(np.array(1.0, np.float32), "ws"),
             nh.from_array(np.array(0, np.int8), "wz"), nh.from_array(np.array(ys, np.float32), "ys"),
             nh.from_array(np.array(0, np.uint8), "yz")]
    cv = h.make_graph([h.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"],
                                   pads=[1, 1, 1, 1])], "probe_conv",
                      [h.make_tensor_value_info("x", T.UINT8, list(x.shape))],
                      [h.make_tensor_value_info("y", T.UINT8, None)], inits)
    opset = [h.make_opsetid("", 13)]
    return (h.make_model(mm, opset_imports=opset, ir_version=8), {"a": a}), \
           (h.make_model(cv, opset_imports=opset, ir_version=8), {"x": x})


def exact_results() -> tuple[np.ndarray, np.ndarray]:
    """What exact integer arithmetic gives on the two probes (int64 MatMul, requantized conv)."""
    a, b = probe_matmul()
    mm = a.astype(np.int64) @ b.astype(np.int64)
    x, w, ys = probe_conv()
    xp = np.pad(x.astype(np.int64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    acc = np.zeros((1, 1, 5, 5), np.int64)
    for i in range(3):
        for j in range(3):
            acc[0, 0] += np.einsum("chw,c->hw", xp[0, :, i:i + 5, j:j + 5], w[0, :, i, j].astype(np.int64))
    conv = np.clip(np.rint(acc / ys), 0, 255).astype(np.uint8)
    return mm, conv


@functools.lru_cache(maxsize=1)
def ort_exactness() -> OrtExactness:
    """Run the probes in onnxruntime (once per process) and compare with exact integer math."""
    cpu = describe_cpu(cpu_flags())
    try:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        so.log_severity_level = 3
        got = [ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, f)[0]
               for m, f in _models()]
    except Exception as e:  # noqa: BLE001 - onnxruntime missing or refusing: then it is no reference either
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return OrtExactness(False, f"onnxruntime could not run the integer probe ({first}); CPU: {cpu}")
    want = exact_results()
    bad = [name for name, g, w in zip(("MatMulInteger", "QLinearConv"), got, want, strict=True)
           if g.shape != w.shape or not np.array_equal(g.astype(np.int64), w.astype(np.int64))]
    if bad:
        return OrtExactness(False, f"onnxruntime's u8 x s8 integer kernels are inexact on this CPU "
                                   f"({', '.join(bad)} differ from exact integer math; {cpu})")
    return OrtExactness(True, f"onnxruntime's u8 x s8 integer kernels are exact on this CPU ({cpu})")
