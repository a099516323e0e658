"""onnx_import/ort_probe.py: is onnxruntime's u8 x s8 integer arithmetic exact on this CPU?

The probe's inputs must make every pair of products overflow int16 (checked here with a model of
``vpmaddubsw``: pairs added in saturating int16, then summed in int32), so that a CPU without VNNI
cannot pass it. Tests that compare with onnxruntime's integer kernels call
:func:`skip_unless_ort_exact` after their comparison with the exact reference: on such a CPU they
skip visibly, with the probe's reason.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from axmac.onnx_import import ort_probe
from axmac.onnx_import.ort_probe import OrtExactness, describe_cpu, exact_results, ort_exactness


def skip_unless_ort_exact() -> None:
    """``pytest.skip`` with the probe's reason where onnxruntime's integer kernels are inexact."""
    res = ort_probe.ort_exactness()
    if not res.exact:
        pytest.skip(f"onnxruntime is no integer reference here: {res.reason}")


def pair_saturating_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """u8 x s8 matrix product as AVX2's ``vpmaddubsw`` + ``vpmaddwd`` form it: products of
    neighbouring k added in pairs, each pair sum saturated to int16, then summed exactly."""
    p = a.astype(np.int64)[:, :, None] * b.astype(np.int64)[None, :, :]  # (M, K, N)
    pairs = p[:, 0::2] + p[:, 1::2]
    return np.clip(pairs, -32768, 32767).sum(axis=1)


def test_probe_case_saturates_int16_pairs():
    a, b = ort_probe.probe_matmul()
    exact, _ = exact_results()
    assert np.array_equal(exact, a.astype(np.int64) @ b.astype(np.int64))
    sat = pair_saturating_matmul(a, b)
    assert np.all(sat != exact)  # every output element is wrong on such a CPU
    assert np.array_equal(sat[0], [32767 * 32, -32768 * 32])


def test_probe_conv_expected_values_by_hand():
    _, conv = exact_results()
    # centre: 8 channels x 9 taps of 255 * 127, divided by 2**14, rounded
    assert conv[0, 0, 2, 2] == round(72 * 255 * 127 / 2 ** 14) == 142
    assert conv[0, 0, 0, 0] == round(32 * 255 * 127 / 2 ** 14) == 63  # corner: 2x2 taps inside


def test_result_is_cached_frozen_and_names_the_cpu():
    res = ort_exactness()
    assert ort_exactness() is res
    assert isinstance(res, OrtExactness) and isinstance(res.exact, bool)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.exact = not res.exact
    flags = ort_probe.cpu_flags()
    if flags is not None:
        assert describe_cpu(flags) in res.reason
    if flags and any(f in flags for f in ort_probe.VNNI_FLAGS):
        assert res.exact, res.reason  # VNNI accumulates u8 x s8 in int32: exact


def test_describe_cpu():
    assert describe_cpu({"avx2", "avx512_vnni"}) == "avx512_vnni"
    assert "vpmaddubsw" in describe_cpu({"sse2", "avx2", "fma"})
    assert "unknown" in describe_cpu(None)


def test_cpu_flags_of_a_file(tmp_path):
    p = tmp_path / "cpuinfo"
    p.write_text("processor\t: 0\nflags\t\t: fpu avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert ort_probe.cpu_flags(str(p)) == {"fpu", "avx2", "fma"}
    assert ort_probe.cpu_flags(str(tmp_path / "missing")) is None


def test_skip_names_the_reason_when_inexact(monkeypatch):
    reason = "onnxruntime's u8 x s8 integer kernels are inexact on this CPU (simulated)"
    monkeypatch.setattr(ort_probe, "ort_exactness", lambda: OrtExactness(False, reason))
    with pytest.raises(pytest.skip.Exception, match="simulated"):
        skip_unless_ort_exact()
    monkeypatch.setattr(ort_probe, "ort_exactness", lambda: OrtExactness(True, "exact"))
    skip_unless_ort_exact()  # no skip
