"""The model's inputs: shapes given by the user (``NAME=D1xD2x...``) fixed into the graph.

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
