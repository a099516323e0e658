"""The bundled models (models/*.onnx, scripts/train_lenet.py) and what approximation does to them.

* The float models are valid ONNX that onnxruntime runs, trained on the training split only,
  and accurate on the held-out real images (LeNet-5 >= 95% on the 1000 MNIST test images;
  LeCun et al. report ~99% with 60000 training images, TOOLCHAIN.md measured 94.9% for a
  quick LeNet on these 4000).
* Bias correction (Kim et al., seed 003): Mitchell's multiplier underestimates products by
  ~3.7% on average; scaling each layer's requantization by 1/(1 + bias) must remove most of the
  systematic logit error against the exact integer model. Figures are printed (``pytest -s``).
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from axmac.gen.datasets import default_model, load_dataset
from axmac.golden.engine import run_network
from axmac.onnx_import.loader import load_model


def _float_logits(path, x):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]


@pytest.mark.parametrize("dataset,hw,min_acc", [("mnist", 28, 0.95), ("digits", 8, 0.90)])
def test_bundled_model_valid_and_accurate(dataset, hw, min_acc):
    path = default_model(dataset)
    m = onnx.load(str(path))
    onnx.checker.check_model(m, full_check=True)
    assert m.ir_version <= 10 and m.opset_import[0].version == 13
    assert [i.name for i in m.graph.input] == ["input"] and [o.name for o in m.graph.output] == ["logits"]
    dims = [d.dim_value or d.dim_param for d in m.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [1, hw, hw]
    x, y, _ = load_dataset(dataset)
    acc = (_float_logits(path, x).argmax(1) == y).mean()
    print(f"\n{path.name}: float top-1 {acc:.4f} on {len(y)} test images")
    assert acc >= min_acc


@pytest.fixture(scope="module")
def lenet():
    x, y, calib = load_dataset("mnist")
    net = load_model(default_model("mnist"), calibration={"input": calib})
    exact, _ = run_network(net, {"input": x}, stats=False)
    return net, x, y, exact["logits"]


def test_trivial_computations_like_ma_and_jiao(lenet):
    """Ma & Jiao (seed 001, Table II, float LeNet-5-like on MNIST): trivial MULs (a)+(b) 39.5%,
    (d) 21.0%, (e) below 0.01%. Our int8 LeNet-5 (ReLU, pixels in [0, 1] so the background is 0,
    not -1 as in their tiny-dnn setup: their (b) becomes our (a)) must show the same picture:
    a large trivial share and a negligible (e). The engine's counts on the first layer are checked
    against a direct count of the pixels that quantize to zero."""
    net, x, _, _ = lenet
    _, rep = run_network(net, {"input": x[:200]}, stats=True)
    f = rep.total.fractions()
    print(f"\nLeNet-5 int8, 200 MNIST images: (a) {100 * f['zero']:.2f}%  (b) {100 * f['one']:.2f}%  "
          f"(d) {100 * f['add_zero']:.2f}%  (e) {100 * f['opposite']:.4f}%  x=0 {100 * f['x_zero']:.1f}%  "
          f"w=0 {100 * f['w_zero']:.2f}%")
    assert f["zero"] + f["one"] > 0.3 and f["add_zero"] > 0.2
    assert f["opposite"] < 1e-4
    # first layer: the zero activations streamed are the pixels quantizing to 0 (|x| <= s_x / 2)
    # in each 5x5 window, padding (2) included
    s_x = np.float32(net.mac_layers[0].x_scale)
    xp = np.pad(np.rint(x[:200, 0] / s_x), ((0, 0), (2, 2), (2, 2)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (5, 5), axis=(1, 2))
    st = rep.layers[0].stats
    assert st.x_zeros == int((win == 0).sum()) and st.x_count == win.size


def _figures(net, x, y, ref, spec, bc):
    out, rep = run_network(net, {"input": x}, multiplier=spec, stats=False, bias_correction=bc)
    lg = out["logits"]
    scale = np.abs(ref).mean()
    return {"acc": (lg.argmax(1) == y).mean(), "agree": (lg.argmax(1) == ref.argmax(1)).mean(),
            "mean_err": (lg - ref).mean() / scale, "rms_err": np.sqrt(((lg - ref) ** 2).mean()) / scale,
            "correction": rep.layers[0].correction}


def _check_correction(lenet, spec):
    net, x, y, ref = lenet
    exact_acc = (ref.argmax(1) == y).mean()
    plain = _figures(net, x, y, ref, spec, False)
    corr = _figures(net, x, y, ref, spec, True)
    for name, f in (("plain", plain), ("corrected", corr)):
        print(f"\nLeNet-5 {spec} {name:9s}: top-1 {f['acc']:.4f} (exact {exact_acc:.4f}), agreement {f['agree']:.4f}, "
              f"mean logit error {100 * f['mean_err']:+.2f}%, rms {100 * f['rms_err']:.2f}% "
              f"(scale x{f['correction']:.4f})")
    assert plain["correction"] == 1.0 and corr["correction"] > 1.0
    assert corr["rms_err"] < 0.5 * plain["rms_err"]
    assert abs(corr["mean_err"]) < 0.5 * abs(plain["mean_err"])
    assert corr["acc"] >= exact_acc - 0.01


def test_bias_correction_mitchell(lenet):
    _check_correction(lenet, "mitchell")


@pytest.mark.slow
def test_bias_correction_mitchw2(lenet):
    """Mitch-w with a 2-bit mantissa: bias about -32%, the correction matters more."""
    _check_correction(lenet, "mitchw:2")


@pytest.mark.slow
def test_training_script_reproduces_the_model(tmp_path):
    """Retraining with scripts/train_lenet.py (needs PyTorch, a training-only dependency) gives a
    model as accurate as the committed one."""
    pytest.importorskip("torch", reason="PyTorch is needed only to retrain (pip install torch==2.13.0)")
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "train_lenet.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True)
    x, y, _ = load_dataset("mnist")
    new = (_float_logits(tmp_path / "lenet5_mnist.onnx", x).argmax(1) == y).mean()
    old = (_float_logits(default_model("mnist"), x).argmax(1) == y).mean()
    assert abs(new - old) <= 0.01
