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


def node_attrs(node) -> dict:
    """A node's attributes as plain Python values (tensors as arrays, strings decoded)."""
    import onnx
    from onnx import numpy_helper

    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, onnx.TensorProto):
            v = numpy_helper.to_array(v)
        elif isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [x.decode() for x in v]
        elif isinstance(v, onnx.GraphProto) or (isinstance(v, list) and v and not isinstance(v[0], int | float | str)):
            raise AxmacError(f"node {node.name!r} ({node.op_type}): attribute {a.name!r} is not supported")
        out[a.name] = v
    return out
