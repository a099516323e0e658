"""onnx_import/inputs.py: the model's inputs, arrays named after them, shapes taken from the arrays."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from axmac.errors import AxmacError
from axmac.onnx_import.inputs import model_inputs, name_arrays, parse_input_shapes, shapes_from_arrays

from .test_onnx_import import make_model


def two_input_model():
    nodes = [h.make_node("Add", ["a", "b"], ["y"])]
    return make_model(nodes, [h.make_tensor_value_info("a", T.FLOAT, ["N", 3, "H", "W"]),
                              h.make_tensor_value_info("b", T.FLOAT, [1, 3, 1, 8])],
                      [h.make_tensor_value_info("y", T.FLOAT, None)],
                      [nh.from_array(np.zeros(1, np.float32), "unused")], opset=17)


def one_input_model(path=None):
    m = make_model([h.make_node("Relu", ["x"], ["y"])], [h.make_tensor_value_info("x", T.UINT8, ["N", 5])],
                   [h.make_tensor_value_info("y", T.UINT8, None)], opset=17)
    if path is not None:
        import onnx

        onnx.save(m, path)
        return path
    return m


def test_model_inputs(tmp_path):
    assert model_inputs(two_input_model()) == [("a", [None, 3, None, None], np.dtype(np.float32)),
                                               ("b", [1, 3, 1, 8], np.dtype(np.float32))]
    path = one_input_model(tmp_path / "m.onnx")
    assert model_inputs(path) == [("x", [None, 5], np.dtype(np.uint8))]
    with pytest.raises(AxmacError, match="no such ONNX file"):
        model_inputs(tmp_path / "missing.onnx")


def test_a_single_unnamed_array_feeds_a_single_input_model():
    x = np.zeros((2, 5), np.uint8)
    assert list(name_arrays(one_input_model(), {"arr_0": x})) == ["x"]
    assert name_arrays(one_input_model(), {"x": x})["x"] is x
    m = two_input_model()
    with pytest.raises(AxmacError, match="unknown input 'arr_0', which is not a graph input"):
        name_arrays(m, {"a": x, "b": x, "arr_0": x})
    with pytest.raises(AxmacError, match="missing input 'b'"):
        name_arrays(m, {"a": x})


def test_shapes_from_arrays():
    m = two_input_model()
    a, b = np.zeros((6, 3, 20, 24), np.float32), np.zeros((1, 3, 1, 8), np.float32)
    # dynamic H, W from the array; the batch stays the model's (1 when dynamic): the engine runs any batch
    assert shapes_from_arrays(m, {"a": a, "b": b}) == {"a": (1, 3, 20, 24), "b": (1, 3, 1, 8)}
    assert shapes_from_arrays(m, {"a": a, "b": np.zeros((4, 3, 1, 8), np.float32)})["b"] == (1, 3, 1, 8)
    with pytest.raises(AxmacError, match=r"input 'b' has shape \(1, 3, 1, 9\), the model declares 1x3x1x8"):
        shapes_from_arrays(m, {"a": a, "b": np.zeros((1, 3, 1, 9), np.float32)})
    with pytest.raises(AxmacError, match="input 'a' has 3 dims"):
        shapes_from_arrays(m, {"a": a[0], "b": b})
    assert shapes_from_arrays(one_input_model(), {"arr_0": np.zeros((9, 5), np.uint8)}) == {"x": (1, 5)}


def test_parse_input_shapes():
    assert parse_input_shapes(["x=1x1x28x28", "y=3"]) == {"x": (1, 1, 28, 28), "y": (3,)}
    assert parse_input_shapes("a=2x3,b=4") == {"a": (2, 3), "b": (4,)}
    for bad in ("x", "x=", "x=1xax2", "=1x2", "x=0x1"):
        with pytest.raises(AxmacError):
            parse_input_shapes([bad])
