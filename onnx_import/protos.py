"""Small helpers over ONNX protobufs: element types as NumPy dtypes, node attributes as Python values."""

from __future__ import annotations

import numpy as np

from ..errors import AxmacError


def np_dtype(elem_type: int) -> np.dtype:
    """NumPy dtype of an ONNX element type; :class:`AxmacError` for one NumPy cannot hold."""
    import onnx

    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except Exception as e:  # noqa: BLE001 - unknown element type
        raise AxmacError(f"unsupported tensor element type {elem_type}") from e


def tensor_array(t, what: str = "initializer") -> np.ndarray:
    """The value of a ``TensorProto`` as a NumPy array; :class:`AxmacError` naming it when its data
    does not match its declared type and shape (a corrupted or hand-made file)."""
    from onnx import numpy_helper

    try:
        return numpy_helper.to_array(t)
    except Exception as e:  # noqa: BLE001 - any decoding failure of the user's tensor is bad input
        dims = "x".join(str(d) for d in t.dims) or "scalar"
        raise AxmacError(f"{what} {t.name!r} ({dims}) cannot be decoded: {str(e).splitlines()[0]}") from None


def tensor_arrays(tensors, what: str = "initializer") -> dict[str, np.ndarray]:
    """``{name: array}`` of a sequence of ``TensorProto`` (:func:`tensor_array` each)."""
    return {t.name: tensor_array(t, what) for t in tensors}


def node_attrs(node) -> dict:
    """A node's attributes as plain Python values (tensors as arrays, strings decoded)."""
    import onnx

    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, onnx.TensorProto):
            v = tensor_array(v, f"node {node.name!r} attribute {a.name!r}:")
        elif isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [x.decode() for x in v]
        elif isinstance(v, onnx.GraphProto) or (isinstance(v, list) and v and not isinstance(v[0], int | float | str)):
            raise AxmacError(f"node {node.name!r} ({node.op_type}): attribute {a.name!r} is not supported")
        out[a.name] = v
    return out
