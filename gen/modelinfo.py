"""What an ONNX model takes and holds, for the user: input names and shapes, output names, MAC layers.

:func:`graph_inputs` reads the declared inputs without importing the model (cheap, and works for
models the importer refuses); :func:`model_info` adds the outputs and the MAC layers as the
importer names them -- the keys of a ``--layers`` map and of ``--layer-bits``. The layers need
static input shapes: a dynamic dim other than the leading batch dim needs ``--input-shape``;
without it only the inputs and outputs are listed, with a note saying so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import AxmacError


def _read(model: str | Path):
    """The ONNX graph of a file, without external data; AxmacError when it cannot be read."""
    import onnx
    from google.protobuf.message import DecodeError

    if not Path(model).is_file():
        raise AxmacError(f"no such ONNX file: {model}")
    try:
        return onnx.load(str(model), load_external_data=False).graph
    except (DecodeError, ValueError, OSError, RuntimeError) as e:
        raise AxmacError(f"cannot read ONNX model {model}: {type(e).__name__}") from None


def _describe(vi) -> tuple[str, np.dtype | None, tuple | None]:
    """``(name, NumPy dtype or None, dims or None)`` of a graph input or output."""
    import onnx

    tt = vi.type.tensor_type
    try:
        dt = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type))
    except (KeyError, TypeError, ValueError):  # undefined or unknown element type
        dt = None
    dims = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim)
    return vi.name, dt, (dims if tt.HasField("shape") else None)


def graph_inputs(model: str | Path) -> list[tuple[str, np.dtype | None, tuple | None]]:
    """``(name, NumPy dtype or None, dims or None)`` of each real (non-initializer) graph input of an
    ONNX file, without importing the model; ``dims`` holds ints and the names of symbolic dims (or ``"?"``).
    """
    g = _read(model)
    inits = {i.name for i in g.initializer}
    return [_describe(i) for i in g.input if i.name not in inits]


def model_info(model, input_shapes: dict | None = None) -> dict:
    """``{"model", "inputs", "outputs", "layers", "note"}`` of an ONNX file (see the module docstring)."""
    from ..onnx_import.loader import load_model

    def row(name, dt, dims):
        return {"name": name, "dtype": None if dt is None else str(dt), "dims": None if dims is None else list(dims)}

    shapes = dict(input_shapes or {})
    inputs = [row(*d) for d in graph_inputs(model)]
    res = {"model": str(model), "inputs": inputs, "outputs": [row(*_describe(o)) for o in _read(model).output],
           "layers": None, "note": None}
    dynamic = [i["name"] for i in inputs if i["name"] not in shapes
               and (i["dims"] is None or any(not isinstance(d, int) or d < 1 for d in i["dims"][1:]))]
    if dynamic:
        res["note"] = (f"input {dynamic[0]!r} has a dynamic shape: give --input-shape {dynamic[0]}=D1xD2x... "
                       "to list the MAC layers")
        return res
    net = load_model(model, input_shapes=shapes, shapes_only=True)
    res["layers"] = [{"name": la.name, "kind": la.kind, "operand": str(la.operand),
                      "weight": list(la.weight.shape)} for la in net.mac_layers]
    return res


def single_input(model: str | Path, who: str) -> tuple[str, np.dtype | None, tuple | None]:
    """The one real graph input of ``model`` (:func:`graph_inputs`); ``who`` names what needs it in the error."""
    ins = graph_inputs(model)
    if len(ins) != 1:
        raise AxmacError(f"{who} needs a model with exactly one input, {model} has {len(ins)}")
    return ins[0]
