"""``axmac verify`` (gen/cmd_verify.py, gen/verify.py, sim/array_network.py).

End to end on the 4x4 weight-stationary build the co-simulation tests use
(tests/test_array_cosim.py): random GEMMs, one LeNet-5 layer with its real quantized operands,
and whole LeNet-5 inferences layer by layer through the RTL. What differed is reported (exit 1)
with the layer, tile, element, cycle, got and want; bad input gets one line and exit 2 before
anything is built or simulated.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from axmac.config import ArrayConfig
from axmac.gen import cli
from axmac.gen.cmd_verify import print_summary
from axmac.gen.datasets import default_model
from axmac.gen.verify import verify_gemms

from .test_array_cosim import FAST

pytestmark = pytest.mark.rtl

CFG = FAST["4x4_ws_s8"]
ARRAY = ["--rows", "4", "--cols", "4", "--acc-depth", "64"]
LENET = str(default_model("mnist"))


def verify(*argv: str) -> tuple[int, str, str]:
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        rc = cli.main(["verify", *argv])
    return rc, o.getvalue(), e.getvalue()


def test_random_gemms_json():
    rc, out, err = verify(*ARRAY, "--gemm", "9x33x7", "--gemm", "1x1x1", "--idle", "0.3", "--stall", "0.3",
                          "--seed", "5", "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert res["matched"] and len(res["gemms"]) == 2
    assert res["macs"] == 9 * 33 * 7 + 1 and res["cycles"] == sum(g["cycles"] for g in res["gemms"])
    assert 0 < res["utilization"] == pytest.approx(res["macs"] / (16 * res["cycles"]))
    assert res["sim_seconds"] > 0 and res["cycles_per_second"] > 1000
    assert res["config"] == CFG.to_dict()


def test_lenet_layer():
    rc, out, err = verify(LENET, *ARRAY, "--layer", "/3/Conv", "--images", "2", "--json")
    assert rc == 0, err
    res = json.loads(out)
    (layer,) = res["layers"]
    assert res["matched"] and layer["name"] == "/3/Conv"
    assert (layer["M"], layer["K"], layer["N"]) == (2 * 10 * 10, 150, 16) and layer["macs"] == 200 * 150 * 16


def test_lenet_inference_layer_by_layer():
    rc, out, err = verify("--all", *ARRAY, "--images", "3", "--idle", "0.1", "--stall", "0.1")
    assert rc == 0, err
    assert "matched: every output value and cycle" in out and "top-1 accuracy on 3 images: RTL" in out
    for name in ("/0/Conv", "/3/Conv", "/7/Gemm", "/9/Gemm", "/11/Gemm"):
        assert name in out


def test_mismatch_is_reported(capsys):
    res = verify_gemms(CFG, [(6, 9, 5)], mutation={"kind": "value", "beat": 3, "lane": 2, "bit": 4})
    assert not res["matched"]
    mm = res["mismatch"]
    assert (mm["what"], mm["beat"], mm["lane"]) == ("value", 3, 2) and mm["got"] ^ mm["want"] == 16
    print_summary(res, CFG)
    text = capsys.readouterr().out
    assert "MISMATCH: o beat 3, lane 2" in text and f"tile {mm['tile']}" in text and "cycle got" in text


def runtime_weight_model(path):
    """MatMulInteger whose weight is a graph input (the array holds constant weights only)."""
    node = h.make_node("MatMulInteger", ["x", "w"], ["y"], name="mm")
    vi = [h.make_tensor_value_info("x", T.INT8, [1, 4]), h.make_tensor_value_info("w", T.INT8, [4, 3])]
    g = h.make_graph([node], "g", vi, [h.make_tensor_value_info("y", T.INT32, None)])
    path.write_bytes(h.make_model(g, opset_imports=[h.make_opsetid("", 13)], ir_version=10).SerializeToString())


def unsigned_model(path):
    """A uint8 x uint8 MatMulInteger: its operands do not fit the default signed 8-bit array."""
    w = np.arange(12, dtype=np.uint8).reshape(4, 3)
    node = h.make_node("MatMulInteger", ["x", "w"], ["y"], name="mmu")
    g = h.make_graph([node], "g", [h.make_tensor_value_info("x", T.UINT8, [1, 4])],
                     [h.make_tensor_value_info("y", T.INT32, None)], [nh.from_array(w, "w")])
    path.write_bytes(h.make_model(g, opset_imports=[h.make_opsetid("", 13)], ir_version=10).SerializeToString())


BAD = {
    "zero rows": (["--rows", "0"], "--rows: 0 is out of range (1..64)"),
    "narrow accumulator": (["--acc-bits", "12"], "acc_bits 12 is narrower than a 16-bit product"),
    "unknown dataflow": (["--dataflow", "diagonal"], "invalid choice: 'diagonal'"),
    "bad gemm": (["--gemm", "3x0x4"], "expected MxKxN with positive sizes"),
    "gemm of two": (["--gemm", "3x4"], "expected MxKxN"),
    "gemm and model": (["--gemm", "2x2x2", "--all"], "--gemm runs random GEMMs"),
    "layer and all": (["--all", "--layer", "/0/Conv"], "not allowed with argument"),
    "unknown layer": (["--layer", "conv9"], "--layer 'conv9': no such MAC layer (layers: /0/Conv, /3/Conv"),
    "operands of the model": (["--all", "--unsigned"], "has s8 operands, the array u8: use --bits 8 --signed"),
    "os FIFO shorter than a tile": (["--dataflow", "os", "--rows", "8", "--fifo-depth", "4", "--gemm", "8x8x8"],
                                    "needs as many output FIFO rows"),
    "too many images": (["--all", "--images", "5000"], "--images 5000: the dataset has 1000 test samples"),
    "idle always": (["--idle", "1"], "--idle: 1 is out of range [0, 1)"),
    "unknown dataset": ([LENET, "--all", "--dataset", "cifar"], "unknown dataset 'cifar'"),
    "no bundled model": (["--all", "--dataset", "cifar"], "no bundled model for dataset 'cifar'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input(case):
    opts, msg = BAD[case]
    rc, out, err = verify(*opts)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("axmac: error: ") and msg in err, err


def test_bad_models(tmp_path):
    runtime_weight_model(tmp_path / "rt.onnx")
    rc, _, err = verify(str(tmp_path / "rt.onnx"), "--all", "--dataset", str(dataset(tmp_path, np.int8)))
    assert rc == 2 and "layer 'mm' reads its weight from the run-time tensor 'w'" in err, err
    unsigned_model(tmp_path / "u.onnx")
    rc, _, err = verify(str(tmp_path / "u.onnx"), "--all", "--dataset", str(dataset(tmp_path, np.uint8)))
    assert rc == 2 and "layer 'mmu' has " in err and "use --bits" in err, err
    rc, _, err = verify(str(tmp_path / "nothere.onnx"), "--all")
    assert rc == 2 and "no such file" in err


def dataset(tmp_path, dtype):
    path = tmp_path / f"d_{np.dtype(dtype).name}.npz"
    np.savez(path, x=np.ones((4, 4), dtype), y=np.zeros(4, np.int64))
    return path


def test_default_gemms_cover_edge_tiles():
    from axmac.gen.verify import default_gemms

    for cfg in (CFG, ArrayConfig(rows=3, cols=5), ArrayConfig(rows=1, cols=1)):
        shapes = default_gemms(cfg)
        assert any(k >= 8 * cfg.rows and m % cfg.rows and n % cfg.cols for m, k, n in shapes) or cfg.rows == 1
        assert (1, 1, 1) in shapes


def qlinear_model(path, rng):
    """int8 QLinearMatMul -> int8 (zero points 0: s8 operands): an output stage the array's
    fixed-point requantization runs."""
    b = rng.integers(-128, 128, (40, 6)).astype(np.int8)
    inits = [nh.from_array(np.array(0.02, np.float32), "a_s"), nh.from_array(np.array(0, np.int8), "a_z"),
             nh.from_array(b, "b"), nh.from_array(np.array(0.01, np.float32), "b_s"),
             nh.from_array(np.array(0, np.int8), "b_z"), nh.from_array(np.array(0.37, np.float32), "y_s"),
             nh.from_array(np.array(3, np.int8), "y_z")]
    node = h.make_node("QLinearMatMul", ["a", "a_s", "a_z", "b", "b_s", "b_z", "y_s", "y_z"], ["y"], name="qmm")
    g = h.make_graph([node], "g", [h.make_tensor_value_info("a", T.INT8, ["N", 40])],
                     [h.make_tensor_value_info("y", T.INT8, None)], inits)
    path.write_bytes(h.make_model(g, opset_imports=[h.make_opsetid("", 13)], ir_version=10).SerializeToString())


def test_requantized_layer(tmp_path):
    """A layer whose output stage is requantization: the RTL's fixed-point stage must equal the
    golden engine's accumulators through golden/requant.py, element for element."""
    rng = np.random.default_rng(4)
    qlinear_model(tmp_path / "q.onnx", rng)
    x = rng.integers(-128, 128, (30, 40)).astype(np.int8)
    np.savez(tmp_path / "d.npz", x=x, y=rng.integers(0, 6, 30))
    rc, out, err = verify(str(tmp_path / "q.onnx"), *ARRAY, "--all", "--images", "30", "--dataset",
                          str(tmp_path / "d.npz"), "--json")
    assert rc == 0, err
    res = json.loads(out)
    (layer,) = res["layers"]
    assert res["matched"] and (layer["M"], layer["K"], layer["N"]) == (30, 40, 6)
    assert "float_requant_differences" in layer  # the requantized path, not accumulators


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["QOperator", "QDQ"])
def test_onnxruntime_quantized_lenet(tmp_path, fmt):
    """LeNet-5 quantized by onnxruntime (requantizing layers; activation zero points make the
    centered operands 9-bit): 20 images layer by layer through the RTL."""
    from axmac.gen.datasets import load_dataset

    from .test_conformance_ort import ort_quantize

    model = ort_quantize(LENET, tmp_path / f"lenet_{fmt}.onnx", load_dataset("mnist")[2], fmt, True)
    rc, out, err = verify(str(model), *ARRAY, "--bits", "9", "--all", "--images", "20", "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert res["matched"] and res["accuracy"] == res["golden_accuracy"] and len(res["layers"]) == 5
