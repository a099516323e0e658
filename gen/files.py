"""The files a user gives the ``axmac`` commands and the files they write.

Each reader checks what it reads and raises :class:`~axmac.errors.AxmacError` naming the CLI
option (``--inputs``, ``--layers`` ...) for anything it cannot use: a missing or unreadable
file, an array of a kind a model cannot take (complex, structured, text, object), NaN or
infinity in float data. :func:`write_output` writes a result whole or not at all.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import AxmacError

#: what ``np.load`` raises on a corrupted or foreign file.
_LOAD_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError)
#: array kinds a model input can be: bool, signed and unsigned integers, floats.
_NUMERIC_KINDS = "biuf"


def check_array(a: np.ndarray, what: str) -> np.ndarray:
    """``a`` if it is a numeric array of finite values, else :class:`AxmacError` naming ``what``."""
    if a.dtype.kind not in _NUMERIC_KINDS or a.dtype.fields is not None:
        kind = "structured" if a.dtype.fields is not None else {"c": "complex", "U": "text", "S": "bytes",
                                                                "O": "object"}.get(a.dtype.kind, str(a.dtype))
        raise AxmacError(f"{what} is a {kind} array ({a.dtype}); a model takes integers or floats")
    if a.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(a)
        if bad.any():
            which = "NaN" if np.isnan(a).any() else "infinity"
            raise AxmacError(f"{what} contains {which} ({int(bad.sum())} of {a.size} values are not finite)")
    return a


def read_arrays(path: str | Path, option: str, *, single: str | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file given by ``option``, each checked by :func:`check_array`.

    ``single``: the name a lone unnamed array takes -- one saved without a name
    (``np.savez(f, x)`` stores ``arr_0``) or a plain ``.npy`` file. Without it a ``.npy`` file
    is an error.
    """
    path = Path(path)
    if not path.is_file():
        raise AxmacError(f"{option} {path}: " + ("is a folder, not a file" if path.is_dir() else "no such file"))
    try:
        with open(path, "rb") as fh:  # our handle: np.load leaks its own when a zip is corrupted
            loaded = np.load(fh, allow_pickle=False)
            if isinstance(loaded, np.ndarray):  # a .npy file: the array itself, not an NpzFile
                if single is None:
                    raise AxmacError(f"{option} {path}: a single .npy array, where an npz of named arrays is "
                                     "expected")
                data = {single: loaded}
            else:
                data = {k: loaded[k] for k in loaded.files}
    except _LOAD_ERRORS as e:
        raise AxmacError(f"{option} {path}: not a readable npz file ({type(e).__name__}: {_first_line(e)})") from None
    if not data:
        raise AxmacError(f"{option} {path} holds no arrays")
    if single is not None and list(data) == ["arr_0"]:
        data = {single: data["arr_0"]}
    for k, v in data.items():
        check_array(v, f"{option} {path}: array {k!r}")
    return data


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def read_layer_map(path: str | Path | None) -> dict[str, str] | None:
    """``--layers MAP.json`` -> ``{layer name: multiplier spec}`` (``None`` when not given)."""
    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AxmacError(f"--layers {path}: no such file") from None
    except (OSError, ValueError) as e:
        raise AxmacError(f"--layers {path}: not a JSON file ({_first_line(e)})") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise AxmacError(f"--layers {path} must be a JSON object {{\"layer name\": \"spec\", ...}}")
    return data


def read_inputs(path: str | Path, model) -> dict[str, np.ndarray]:
    """``--inputs IN.npz`` for ``model``, keyed by its graph input names.

    A single array (under any name, or a ``.npy`` file) feeds a single-input model
    (:func:`axmac.onnx_import.inputs.name_arrays`).
    """
    from ..onnx_import.inputs import name_arrays

    data = read_arrays(path, "--inputs", single="arr_0")
    for k, v in data.items():
        if v.ndim and v.shape[0] == 0:
            raise AxmacError(f"--inputs {path}: array {k!r} holds no samples (shape {v.shape})")
    return name_arrays(model, data)


def read_calibration(spec: str | None, model) -> dict[str, np.ndarray] | None:
    """``--calibration``: a built-in dataset's calibration images, or an npz keyed by input name
    (a single array is taken for a single-input model); ``None`` when not given."""
    from ..onnx_import.inputs import model_inputs, name_arrays
    from .datasets import BUILTIN, load_dataset

    if spec is None:
        return None
    if spec in BUILTIN:
        names = [n for n, _, _ in model_inputs(model)]
        if len(names) != 1:
            raise AxmacError(f"--calibration {spec} needs a model with one input, not {len(names)}")
        return {names[0]: load_dataset(spec)[2]}
    return name_arrays(model, read_arrays(spec, "--calibration", single="arr_0"))


def write_output(path: str | Path, option: str, write: Callable, mode: str = "w") -> None:
    """Call ``write(f)`` on a file that appears at ``path`` whole, or not at all."""
    from ..util import atomic_output

    try:
        with atomic_output(path, mode) as f:
            write(f)
    except OSError as e:
        raise AxmacError(f"{option} {path}: cannot write ({e.strerror or type(e).__name__})") from None
