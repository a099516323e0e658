"""The model's inputs: their shapes, given by the user (``NAME=D1xD2x...``) or taken from the
arrays to run (:func:`shapes_from_arrays`), fixed into the graph; arrays named after the inputs
(:func:`name_arrays`).

A symbolic leading (batch) dimension without a value defaults to 1 (the golden engine runs any
batch); any other dynamic dimension must be given.
"""

from __future__ import annotations

from ..errors import AxmacError


def parse_input_shapes(items) -> dict[str, tuple[int, ...]]:
    """``["x=1x1x28x28", ...]`` (or one comma-separated string) -> ``{"x": (1, 1, 28, 28)}``."""
    if items is None:
        return {}
    if isinstance(items, dict):
        return {k: tuple(int(d) for d in v) for k, v in items.items()}
    if isinstance(items, str):
        items = [items]
    out = {}
    for item in items:
        for part in str(item).split(","):
            if not part.strip():
                continue
            name, sep, dims = part.partition("=")
            try:
                shape = tuple(int(d) for d in dims.lower().split("x"))
            except ValueError:
                shape = ()
            if not sep or not name.strip() or not shape or min(shape) < 1:
                raise AxmacError(f"bad input shape {part!r}: expected NAME=D1xD2x... with positive dims")
            out[name.strip()] = shape
    return out


def fix_input_shapes(proto, shapes: dict[str, tuple[int, ...]]) -> set[str]:
    """Set the input dims given in ``shapes``, default a symbolic leading dim to 1 (names returned)."""
    defaulted = set()
    inits = {t.name for t in proto.graph.initializer}
    names = [i.name for i in proto.graph.input if i.name not in inits]
    for name in shapes:
        if name not in names:
            raise AxmacError(f"--input-shape names {name!r}, which is not a graph input (inputs: {', '.join(names)})")
    for inp in proto.graph.input:
        if inp.name in inits:
            continue
        tt = inp.type.tensor_type
        dims = tt.shape.dim
        if inp.name in shapes:
            new = shapes[inp.name]
            if len(dims) and len(dims) != len(new):
                raise AxmacError(f"--input-shape {inp.name} has {len(new)} dims, the model's input has {len(dims)}")
            del dims[:]
            for d in new:
                dims.add().dim_value = d
            continue
        if not tt.HasField("shape"):
            raise AxmacError(f"input {inp.name!r} has no shape; give it with --input-shape {inp.name}=D1xD2x...")
        for i, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value > 0:
                continue
            if i == 0:  # a symbolic batch dimension: default to 1
                d.Clear()
                d.dim_value = 1
                defaulted.add(inp.name)
                continue
            shown = "x".join(str(x.dim_value) if x.HasField("dim_value") else (x.dim_param or "?") for x in dims)
            raise AxmacError(f"input {inp.name!r} has a dynamic shape {shown}; fix it with "
                             f"--input-shape {inp.name}=D1xD2x...")
    return defaulted


def model_inputs(model) -> list[tuple[str, list[int | None], object]]:
    """``(name, dims, numpy dtype)`` of the real (non-initializer) graph inputs of ``model`` (a path
    or ``ModelProto``), read without importing it; a dynamic dim is None, an unknown dtype None."""
    import os

    import numpy as np
    import onnx

    if isinstance(model, str | os.PathLike):
        if not os.path.isfile(os.fspath(model)):
            raise AxmacError(f"no such ONNX file: {os.fspath(model)}")
        try:
            model = onnx.load(os.fspath(model), load_external_data=False)
        except Exception as e:  # noqa: BLE001 - protobuf decode errors of all kinds
            raise AxmacError(f"cannot read ONNX model {os.fspath(model)}: {type(e).__name__}") from None
    inits = {t.name for t in model.graph.initializer}
    out = []
    for i in model.graph.input:
        if i.name in inits:
            continue
        tt = i.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tt.shape.dim]
        try:
            dt = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type))
        except Exception:  # noqa: BLE001 - undefined element type
            dt = None
        out.append((i.name, dims, dt))
    return out


def name_arrays(model, arrays) -> dict:
    """``arrays`` keyed by the model's input names: a single array under any key (``np.savez(f, x)``
    writes ``arr_0``) feeds a single-input model; otherwise every key must be an input and every
    input given. :class:`AxmacError` naming the first problem."""
    from ..golden.network_checks import check_input_names

    names = [n for n, _, _ in model_inputs(model)]
    arrays = dict(arrays)
    if len(names) == 1 and len(arrays) == 1 and names[0] not in arrays:
        return {names[0]: next(iter(arrays.values()))}
    check_input_names(arrays, names)
    return arrays


def shapes_from_arrays(model, arrays) -> dict[str, tuple[int, ...]]:
    """Input shapes to import ``model`` with, taken from the arrays it will run on.

    ``arrays``: ``{input name: array}`` (see :func:`name_arrays`). Every dynamic dimension comes
    from the array, but the leading (batch) one: it keeps the model's value, or 1 when dynamic
    (the golden engine runs any batch). A static dimension the array contradicts (but the batch)
    is an :class:`AxmacError`, as is an array of the wrong rank.
    """
    import numpy as np

    arrays = name_arrays(model, arrays)
    out = {}
    for name, dims, _ in model_inputs(model):
        shape = np.shape(arrays[name])
        if dims and len(shape) != len(dims):
            raise AxmacError(f"input {name!r} has {len(shape)} dims {tuple(shape)}, the model's has {len(dims)}")
        if not dims:
            dims = [None] * len(shape)
        fixed = []
        for k, (d, a) in enumerate(zip(dims, shape, strict=True)):
            if k == 0 and len(dims) > 1:
                fixed.append(d or 1)
            elif d is not None and d != a:
                shown = "x".join("?" if v is None else str(v) for v in dims)
                raise AxmacError(f"input {name!r} has shape {tuple(shape)}, the model declares {shown}")
            else:
                fixed.append(int(a))
        out[name] = tuple(fixed)
    return out
