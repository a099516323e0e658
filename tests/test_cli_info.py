"""``axmac info MODEL`` (gen/cmd_info.py, gen/modelinfo.py): the names a layer map and a shape option need.

The names it prints are checked by using them: a layer name from ``info`` in a ``--layers`` map
changes exactly that layer of ``axmac run``, an input name in ``--input-shape`` is accepted.
"""

from __future__ import annotations

import json

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from axmac.gen.cli import main

RNG = np.random.default_rng(5)


def two_layer_model(path, dims=("N", 2, 6, 6)):
    """x (uint8) -> ConvInteger -> Cast(float) ... -> two layers whose names the importer chooses."""
    w1 = RNG.integers(-8, 8, (3, 2, 3, 3)).astype(np.int8)
    w2 = RNG.integers(-8, 8, (4, 3, 1, 1)).astype(np.int8)
    nodes = [helper.make_node("ConvInteger", ["x", "w1"], ["a"], name="first"),
             helper.make_node("Cast", ["a"], ["a8"], to=TensorProto.INT8),
             helper.make_node("ConvInteger", ["a8", "w2"], ["y"], name="second")]
    g = helper.make_graph(nodes, "two", [helper.make_tensor_value_info("x", TensorProto.UINT8, list(dims))],
                          [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
                          [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    path.write_bytes(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
                     .SerializeToString())


def info(capsys, *argv):
    assert main(["info", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_info_names_work_in_a_layer_map(tmp_path, capsys):
    model = tmp_path / "m.onnx"
    two_layer_model(model)
    got = info(capsys, str(model))
    assert got["inputs"] == [{"name": "x", "dtype": "uint8", "dims": ["N", 2, 6, 6]}]
    assert [o["name"] for o in got["outputs"]] == ["y"] and got["note"] is None
    names = [la["name"] for la in got["layers"]]
    assert len(names) == 2 and [la["kind"] for la in got["layers"]] == ["conv", "conv"]
    assert [la["weight"][0] for la in got["layers"]] == [3, 4]
    x = RNG.integers(0, 256, (2, 2, 6, 6)).astype(np.uint8)
    np.savez(tmp_path / "in.npz", x=x)
    for name in names:
        (tmp_path / "map.json").write_text(json.dumps({name: "trunc:3"}))
        assert main(["run", str(model), "--inputs", str(tmp_path / "in.npz"), "-o", str(tmp_path / "o.npz"),
                     "--layers", str(tmp_path / "map.json"), "--json", "--no-stats"]) == 0
        rep = json.loads(capsys.readouterr().out)
        assert {la["name"]: la["multiplier"] for la in rep["layers"]} == {n: "trunc:3" if n == name else "exact"
                                                                          for n in names}


def test_info_text_lists_inputs_outputs_layers(capsys):
    assert main(["info", "models/lenet5_mnist.onnx"]) == 0
    out = capsys.readouterr().out
    assert "input  float32  Nx1x28x28" in out and "logits" in out
    assert sum(ln.split()[1:2] in (["conv"], ["gemm"]) for ln in out.splitlines()) == 5  # LeNet-5: 2 conv + 3 fc


def test_info_dynamic_shape_needs_input_shape(tmp_path, capsys):
    model = tmp_path / "dyn.onnx"
    two_layer_model(model, ("N", 2, "H", "W"))
    got = info(capsys, str(model))
    assert got["inputs"][0]["dims"] == ["N", 2, "H", "W"] and got["layers"] is None
    assert "--input-shape x=" in got["note"]
    got = info(capsys, str(model), "--input-shape", "x=1x2x5x5")
    assert len(got["layers"]) == 2 and got["note"] is None
