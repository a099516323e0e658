"""Seeded generator of malformed inputs for the ``axmac`` command line (used by tests/test_fuzz_cli.py).

A case is ``(family, index)``; :func:`build` makes its files in a folder and returns the command
line, the files the command may write, and a description. The random choices come from
``numpy.random.default_rng((SEED, family number, index))``: a case id always builds the same case.

Families (:data:`FAMILIES`): byte-level corruption of ONNX files; structurally broken graphs;
unusable npz inputs, calibration data and datasets; multiplier specs and widths; Verilog
multipliers that are no multipliers; layer maps; CLI numbers; output paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20240611
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Case:
    argv: list[str]
    outputs: list[Path]
    what: str


# -- base models -----------------------------------------------------------------------------------------
def float_cnn() -> onnx.ModelProto:
    """x (N,1,6,6) -> Conv 3x3 pad 1 -> Relu -> MaxPool 2 -> Flatten -> Gemm -> y (N,4)."""
    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(rng.normal(size=(3, 1, 3, 3)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.normal(size=3).astype(np.float32), "b1"),
             numpy_helper.from_array(rng.normal(size=(4, 27)).astype(np.float32), "w2"),
             numpy_helper.from_array(rng.normal(size=4).astype(np.float32), "b2")]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], name="fc", transB=1)]
    g = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)


def int_conv() -> onnx.ModelProto:
    """x uint8 (N,2,5,5) -> ConvInteger (zero point 100) -> y int32."""
    w = np.random.default_rng(2).integers(-128, 128, (3, 2, 3, 3)).astype(np.int8)
    node = helper.make_node("ConvInteger", ["x", "w", "xz"], ["y"], name="ci", pads=[1, 1, 1, 1])
    g = helper.make_graph([node], "ci", [helper.make_tensor_value_info("x", TensorProto.UINT8, ["N", 2, 5, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array(100, np.uint8), "xz")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)


def good_x(model: str, n: int = 3) -> np.ndarray:
    rng = np.random.default_rng(3)
    if model == "int":
        return rng.integers(0, 256, (n, 2, 5, 5)).astype(np.uint8)
    return rng.normal(size=(n, 1, 6, 6)).astype(np.float32)


def save(proto: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(proto.SerializeToString())
    return path


def _run_argv(model: Path, d: Path, kind: str, rng) -> tuple[list[str], list[Path]]:
    """A command on ``model``: run (with inputs and calibration), schedule, info or emulate."""
    cmd = rng.choice(["run", "run", "schedule", "info", "emulate"])
    x = good_x(kind)
    if cmd == "run":
        np.savez(d / "in.npz", x=x)
        extra = ["--calibration", str(d / "cal.npz")] if kind == "float" else []
        if kind == "float":
            np.savez(d / "cal.npz", x=good_x("float", 8))
        return ["run", str(model), "--inputs", str(d / "in.npz"), "-o", str(d / "out.npz"), *extra], [d / "out.npz"]
    if cmd == "schedule":
        return ["schedule", str(model), "--rows", "4", "--cols", "4", "-o", str(d / "s.json")], [d / "s.json"]
    if cmd == "info":
        return ["info", str(model), "--json"], []
    np.savez(d / "ds.npz", x=x, y=np.arange(len(x)) % 4)
    return ["emulate", str(model), "--dataset", str(d / "ds.npz"), "--no-ort"], []


# -- families ---------------------------------------------------------------------------------------------
def onnx_bytes(d: Path, rng) -> Case:
    kind = rng.choice(["float", "int"])
    data = bytearray((float_cnn() if kind == "float" else int_conv()).SerializeToString())
    how = rng.choice(["flip", "truncate", "insert", "zero", "garbage"])
    if how == "flip":
        for i in rng.integers(0, len(data), int(rng.integers(1, 8))):
            data[i] ^= 1 << int(rng.integers(0, 8))
    elif how == "truncate":
        data = data[:int(rng.integers(0, len(data)))]
    elif how == "insert":
        i = int(rng.integers(0, len(data)))
        data[i:i] = rng.integers(0, 256, int(rng.integers(1, 16))).astype(np.uint8).tobytes()
    elif how == "zero":
        i = int(rng.integers(0, len(data)))
        data[i:i + int(rng.integers(1, 64))] = bytes(min(64, len(data) - i))
    else:
        data = bytearray(rng.integers(0, 256, int(rng.integers(0, 400))).astype(np.uint8).tobytes())
    path = d / "m.onnx"
    path.write_bytes(bytes(data))
    argv, outs = _run_argv(path, d, kind, rng)
    return Case(argv, outs, f"{kind} model, bytes {how}")


def _set_attr(node, name, value):
    for a in list(node.attribute):
        if a.name == name:
            node.attribute.remove(a)
    node.attribute.append(helper.make_attribute(name, value))


def _init(g, name):
    """The initializer ``name`` (a new one if an earlier mutation removed it)."""
    return next((t for t in g.initializer if t.name == name), None) or g.initializer.add()


def _replace_init(g, name, array=None, tensor=None):
    _init(g, name).CopyFrom(tensor if tensor is not None else numpy_helper.from_array(array, name))


MUTATIONS = {
    "kernel_shape as string": lambda g, r: _set_attr(g.node[0], "kernel_shape", "3x3"),
    "strides as floats": lambda g, r: _set_attr(g.node[0], "strides", [1.5, 1.5]),
    "strides 0": lambda g, r: _set_attr(g.node[0], "strides", [0, 0]),
    "negative pads": lambda g, r: _set_attr(g.node[0], "pads", [-1, -1, -1, -1]),
    "huge pads": lambda g, r: _set_attr(g.node[0], "pads", [10**6, 0, 0, 0]),
    "dilations 0": lambda g, r: _set_attr(g.node[0], "dilations", [0, 0]),
    "group 0": lambda g, r: _set_attr(g.node[0], "group", 0),
    "group 3": lambda g, r: _set_attr(g.node[0], "group", 3),
    "kernel_shape mismatch": lambda g, r: _set_attr(g.node[0], "kernel_shape", [5, 5]),
    "pool kernel 0": lambda g, r: _set_attr(g.node[2], "kernel_shape", [0, 0]),
    "pool kernel 9": lambda g, r: _set_attr(g.node[2], "kernel_shape", [9, 9]),
    "flatten axis 9": lambda g, r: _set_attr(g.node[3], "axis", 9),
    "gemm transB 7": lambda g, r: _set_attr(g.node[4], "transB", 7),
    "auto_pad bogus": lambda g, r: _set_attr(g.node[0], "auto_pad", "SIDEWAYS"),
    "weight in-channels 2": lambda g, r: _replace_init(g, "w1", np.ones((3, 2, 3, 3), np.float32)),
    "weight rank 2": lambda g, r: _replace_init(g, "w1", np.ones((3, 9), np.float32)),
    "conv bias size 5": lambda g, r: _replace_init(g, "b1", np.ones(5, np.float32)),
    "gemm bias size 7": lambda g, r: _replace_init(g, "b2", np.ones(7, np.float32)),
    "gemm weight 26 wide": lambda g, r: _replace_init(g, "w2", np.ones((4, 26), np.float32)),
    "weight NaN": lambda g, r: _replace_init(g, "w1", np.full((3, 1, 3, 3), np.nan, np.float32)),
    "bias Inf": lambda g, r: _replace_init(g, "b2", np.array([1, np.inf, 0, 0], np.float32)),
    "weight string": lambda g, r: _replace_init(g, "w1", tensor=helper.make_tensor("w1", TensorProto.STRING, [1],
                                                                                    [b"abc"])),
    "weight int64": lambda g, r: _replace_init(g, "w1", np.ones((3, 1, 3, 3), np.int64)),
    "weight float16": lambda g, r: _replace_init(g, "w1", np.ones((3, 1, 3, 3), np.float16)),
    "weight missing": lambda g, r: g.initializer.remove(_init(g, "w1")),  # (added back empty if absent)
    "output missing": lambda g, r: g.output[0].__setattr__("name", "nope"),
    "no outputs": lambda g, r: g.ClearField("output"),
    "cycle": lambda g, r: g.node[1].input.__setitem__(0, "p"),
    "self loop": lambda g, r: g.node[1].input.__setitem__(0, "r"),
    "unknown domain": lambda g, r: g.node.insert(1, helper.make_node("Foo", ["c"], ["c2"], domain="com.example")),
    "unknown op": lambda g, r: g.node[1].__setattr__("op_type", "FooBar"),
    "zero-size input dim": lambda g, r: g.input[0].type.tensor_type.shape.dim[2].__setattr__("dim_value", 0),
    "zero out-channels": lambda g, r: _replace_init(g, "w1", np.ones((0, 1, 3, 3), np.float32)),
    "input without shape": lambda g, r: g.input[0].type.tensor_type.ClearField("shape"),
    "input int64": lambda g, r: g.input[0].type.tensor_type.__setattr__("elem_type", TensorProto.INT64),
    "input undefined type": lambda g, r: g.input[0].type.tensor_type.__setattr__("elem_type", 0),
    "output shape [-1, 2]": lambda g, r: _set_dims(g.output[0], [-1, 2]),
    "duplicate outputs": lambda g, r: g.node[2].output.__setitem__(0, "r"),
    "node without inputs": lambda g, r: g.node[1].ClearField("input"),
    "dynamic H W": lambda g, r: _set_dims(g.input[0], ["N", 1, "H", "W"]),
    "rank-3 input": lambda g, r: _set_dims(g.input[0], ["N", 6, 6]),
}


#: mutations that remove what others index (applied last).
DESTRUCTIVE = ("no outputs", "node without inputs", "weight missing")


def _set_dims(vi, dims):
    shape = vi.type.tensor_type.shape
    shape.ClearField("dim")
    for dim in dims:
        if isinstance(dim, str):
            shape.dim.add().dim_param = dim
        else:
            shape.dim.add().dim_value = dim


def onnx_structure(d: Path, rng) -> Case:
    m = float_cnn()
    names = sorted(MUTATIONS)
    picked = [names[i] for i in rng.choice(len(names), int(rng.integers(1, 3)), replace=False)]
    picked.sort(key=lambda name: name in DESTRUCTIVE)  # the others may still index what these remove
    for name in picked:
        MUTATIONS[name](m.graph, rng)
    if rng.random() < 0.1:
        m.opset_import[0].version = int(rng.choice([1, 99]))
    path = save(m, d / "m.onnx")
    argv, outs = _run_argv(path, d, "float", rng)
    return Case(argv, outs, "graph: " + ", ".join(picked))


def _bad_array(rng, kind: str, like: np.ndarray):
    """An array of one unusable (or usable but odd) kind, shaped like ``like`` where that makes sense."""
    if kind == "nan":
        a = like.astype(np.float32).copy()
        a.flat[int(rng.integers(0, a.size))] = np.nan
        return a
    if kind == "inf":
        a = like.astype(np.float32).copy()
        a.flat[int(rng.integers(0, a.size))] = -np.inf
        return a
    return {"complex": lambda: like.astype(np.complex64), "struct": lambda: np.zeros(len(like), "f4,i4"),
            "text": lambda: np.array(["a"] * len(like)), "bool": lambda: like > 0,
            "int64": lambda: like.astype(np.int64), "float64": lambda: like.astype(np.float64),
            "int8": lambda: like.astype(np.int8), "scalar": lambda: np.array(3.0, np.float32),
            "zero batch": lambda: like[:0], "rank 2": lambda: like.reshape(len(like), -1),
            "wrong shape": lambda: np.concatenate([like, like], axis=-1), "empty": lambda: np.zeros(0, like.dtype),
            "big batch": lambda: np.repeat(like, 40, axis=0), "bytes": lambda: np.array([b"ab"] * len(like))}[kind]()


ARRAY_KINDS = ("nan", "inf", "complex", "struct", "text", "bool", "int64", "float64", "int8", "scalar",
               "zero batch", "rank 2", "wrong shape", "empty", "big batch", "bytes")
FILE_KINDS = ("object array", "npy", "no arrays", "text file", "truncated", "folder", "wrong name", "two arrays",
              "unnamed")


def _write_arrays(path: Path, rng, name: str, like: np.ndarray) -> str:
    """Write an npz (or something in its place) at ``path``; return what was written."""
    if rng.random() < 0.55:
        kind = str(rng.choice(ARRAY_KINDS))
        np.savez(path, **{name: _bad_array(rng, kind, like)})
        return kind
    kind = str(rng.choice(FILE_KINDS))
    if kind == "object array":
        np.savez(path, **{name: np.array([1, "a", None], dtype=object)})
    elif kind == "npy":
        with open(path, "wb") as f:
            np.save(f, like)
    elif kind == "no arrays":
        np.savez(path)
    elif kind == "text file":
        path.write_text("x,y\n1,2\n")
    elif kind == "truncated":
        np.savez(path, **{name: like})
        data = path.read_bytes()
        path.write_bytes(data[:int(rng.integers(0, len(data)))])
    elif kind == "folder":
        path.mkdir()
    elif kind == "wrong name":
        np.savez(path, **{name + "_": like})
    elif kind == "two arrays":
        np.savez(path, **{name: like, "other": like})
    else:
        np.savez(path, like)
    return kind


def npz_inputs(d: Path, rng) -> Case:
    which = rng.choice(["inputs", "calibration", "dataset", "dataset labels"])
    if which in ("inputs", "calibration"):
        kind = "int" if which == "inputs" and rng.random() < 0.4 else "float"
        model = save(float_cnn() if kind == "float" else int_conv(), d / "m.onnx")
        x = good_x(kind)
        target = d / ("in.npz" if which == "inputs" else "cal.npz")
        what = _write_arrays(target, rng, "x", x if which == "inputs" else good_x("float", 8))
        if which == "calibration":
            np.savez(d / "in.npz", x=x)
        argv = ["run", str(model), "--inputs", str(d / "in.npz"), "-o", str(d / "out.npz")]
        if kind == "float":
            argv += ["--calibration", str(d / "cal.npz")]
            if which == "inputs":
                np.savez(d / "cal.npz", x=good_x("float", 8))
        if rng.random() < 0.3 and which == "calibration":
            argv = ["schedule", str(model), "--rows", "4", "--cols", "4", "-o", str(d / "out.json"),
                    "--calibration", str(d / "cal.npz")]
        return Case(argv, [d / "out.npz", d / "out.json"], f"--{which}: {what}")
    model = save(float_cnn(), d / "m.onnx")
    x = good_x("float", 6)
    if which == "dataset":
        what = _write_arrays(d / "ds.npz", rng, "x", x)
        if what not in ("folder", "truncated", "text file", "npy"):
            with np.load(d / "ds.npz", allow_pickle=True) as f:
                data = dict(f)
            np.savez(d / "ds.npz", **data, y=np.arange(6) % 4)
    else:
        labels = {"float labels": np.zeros(6), "2-d labels": np.zeros((6, 1), int), "short labels": np.zeros(5, int),
                  "no labels": None, "negative labels": -np.ones(6, int), "huge labels": np.full(6, 2**62),
                  "calib NaN": np.zeros(6, int)}
        what = str(rng.choice(sorted(labels)))
        arrays = {"x": x} if labels[what] is None else {"x": x, "y": labels[what]}
        if what == "calib NaN":
            arrays["calib"] = np.full_like(x, np.nan)
        np.savez(d / "ds.npz", **arrays)
    return Case(["emulate", str(model), "--dataset", str(d / "ds.npz"), "--no-ort"], [], f"--dataset: {what}")


SPEC_FAMILIES = ("exact", "trunc", "bam", "mitchell", "mitchw", "drum", "lut", "verilog", "EXACT", "nosuch", "")
SPEC_PARAMS = (None, "", "0", "1", "4", "7", "15", "16", "99", "-1", "x", "1.5", "4:4", " 2", "0x3", "9" * 30,
               "/nonexistent.npy", "\u00e9", ":")


def specs(d: Path, rng) -> Case:
    fam = str(rng.choice(SPEC_FAMILIES))
    param = SPEC_PARAMS[int(rng.integers(0, len(SPEC_PARAMS)))]
    if fam == "lut" and rng.random() < 0.6:
        bits = int(rng.integers(2, 7))
        tables = [np.zeros((1 << bits, 1 << bits), np.int64), np.zeros((4, 8), np.int64),
                  np.full((1 << bits, 1 << bits), 10**12), np.zeros((1 << bits, 1 << bits), np.float64),
                  np.full((1 << bits, 1 << bits), np.nan), np.zeros((1 << bits,) * 3, np.int64)]
        table = tables[int(rng.integers(0, len(tables)))]
        np.save(d / "t.npy", table)
        param = str(d / "t.npy")
    spec = fam if param is None else f"{fam}:{param}"
    bits = str(rng.choice(["2", "4", "8", "12", "16", "1", "17", "0", "-4", "8.0", str(10**30)]))
    if rng.random() < 0.5:
        argv = ["multipliers", "characterize", spec, "--bits", bits, "--no-hw", "--samples", "2000",
                str(rng.choice(["--signed", "--unsigned"]))]
        return Case(argv, [], f"characterize {spec!r} --bits {bits}")
    model = save(int_conv(), d / "m.onnx")
    np.savez(d / "in.npz", x=good_x("int"))
    argv = ["run", str(model), "--inputs", str(d / "in.npz"), "-o", str(d / "out.npz"), "--multiplier", spec]
    return Case(argv, [d / "out.npz"], f"run --multiplier {spec!r}")


VERILOG = {
    "combinational loop": "module m(input [3:0] a, input [3:0] b, output [7:0] p);\n"
                          "  wire [7:0] t = p ^ {a, b};\n  assign p = t + 8'd1;\nendmodule\n",
    "ring oscillator": "module m(input [3:0] a, input [3:0] b, output [7:0] p);\n"
                       "  wire r;\n  assign r = ~r;\n  assign p = a * b + {7'd0, r};\nendmodule\n",
    "syntax error": "module m(input [3:0] a, input [3:0] b, output [7:0] p);\n  assign p = ;\nendmodule\n",
    "three inputs": "module m(input [3:0] a, input [3:0] b, input c, output [7:0] p);\n"
                    "  assign p = a * b;\nendmodule\n",
    "no output": "module m(input [3:0] a, input [3:0] b);\nendmodule\n",
    "output too wide": "module m(input [3:0] a, input [3:0] b, output [11:0] p);\n  assign p = a * b;\nendmodule\n",
    "wrong widths": "module m(input [2:0] a, input [3:0] b, output [7:0] p);\n  assign p = a * b;\nendmodule\n",
    "no module": "// nothing here\n",
    "empty": "",
    "binary": "\x00\x01\xff\xfe module",
    "missing submodule": "module m(input [3:0] a, input [3:0] b, output [7:0] p);\n  sub u(.a(a), .p(p));\n"
                         "endmodule\n",
    "inout": "module m(input [3:0] a, inout [3:0] b, output [7:0] p);\n  assign p = a;\nendmodule\n",
}


def verilog(d: Path, rng) -> Case:
    what = str(rng.choice(sorted(VERILOG)))
    path = d / "m.v"
    path.write_bytes(VERILOG[what].encode("latin-1"))
    top = str(rng.choice(["", ":m", ":nosuch"]))
    return Case(["multipliers", "characterize", f"verilog:{path}{top}", "--bits", "4", "--no-hw"], [],
                f"verilog {what}{top}")


LAYER_MAPS = {"not json": b"{conv: exact", "list": b"[1, 2]", "number values": b'{"ci": 3}',
              "nested": b'{"ci": {"spec": "exact"}}', "empty object": b"{}", "unknown layer": b'{"conv9": "exact"}',
              "bad spec": b'{"ci": "trunc:99"}', "unknown family": b'{"ci": "nosuch"}', "latin-1": b'{"\xe9": "x"}',
              "null": b"null", "huge string": b'{"' + b"a" * 5000 + b'": "exact"}', "empty file": b"",
              "good": b'{"ci": "drum:4"}'}


def layer_maps(d: Path, rng) -> Case:
    what = str(rng.choice(sorted(LAYER_MAPS) + ["folder", "missing"]))
    model = save(int_conv(), d / "m.onnx")
    np.savez(d / "in.npz", x=good_x("int"))
    path = d / "map.json"
    if what == "folder":
        path.mkdir()
    elif what != "missing":
        path.write_bytes(LAYER_MAPS[what])
    cmd = ["run", str(model), "--inputs", str(d / "in.npz"), "-o", str(d / "out.npz")]
    if rng.random() < 0.3:
        np.savez(d / "ds.npz", x=good_x("int"), y=np.zeros(3, int))
        cmd = ["emulate", str(model), "--dataset", str(d / "ds.npz"), "--no-ort"]
    return Case([*cmd, "--layers", str(path)], [d / "out.npz"], f"--layers {what}")


NUMBERS = ("0", "-1", "-99999999999999999999", "99999999999999999999999999999", str(2**63), "1e3", "nan", "inf",
           "", " 3", "3", "0x10", "2.5")
NUMBER_OPTIONS = {"run": ("--batch-size", "--k-tile", "--bits", "--percentile", "--input-shape"),
                  "emulate": ("--limit", "--batch-size", "--k-tile", "--bits", "--layer-bits"),
                  "schedule": ("--rows", "--cols", "--acc-bits", "--max-tiles", "--bits"),
                  "characterize": ("--bits", "--samples", "--seed")}


def numbers(d: Path, rng) -> Case:
    cmd = str(rng.choice(sorted(NUMBER_OPTIONS)))
    opt = str(rng.choice(NUMBER_OPTIONS[cmd]))
    value = str(rng.choice(NUMBERS))
    if opt == "--input-shape":
        value = f"x={value}x1x6x6"
    elif opt == "--layer-bits":
        value = f"conv={value}"
    model = save(float_cnn(), d / "m.onnx")
    np.savez(d / "in.npz", x=good_x("float"))
    np.savez(d / "ds.npz", x=good_x("float", 6), y=np.arange(6) % 4)
    base = {"run": ["run", str(model), "--inputs", str(d / "in.npz"), "-o", str(d / "out.npz"), "--calibration",
                    str(d / "in.npz")],
            "emulate": ["emulate", str(model), "--dataset", str(d / "ds.npz"), "--no-ort"],
            "schedule": ["schedule", str(model), "-o", str(d / "s.json")],
            "characterize": ["multipliers", "characterize", "drum:3", "--no-hw"]}[cmd]
    if cmd == "schedule":
        base += [x for o in ("--rows", "--cols") if o != opt for x in (o, "4")]
    return Case([*base, f"{opt}={value}"], [d / "out.npz", d / "s.json"], f"{cmd} {opt}={value!r}")


def output_paths(d: Path, rng) -> Case:
    (d / "file").write_text("x")
    (d / "dir").mkdir()
    what = str(rng.choice(["folder", "inside a file", "empty", "trailing slash", "existing file", "new folders",
                           "deep inside a file"]))
    out = {"folder": d / "dir", "inside a file": d / "file" / "o.npz", "empty": Path(""),
           "trailing slash": Path(f"{d}/new/"), "existing file": d / "file", "new folders": d / "a" / "b" / "o.npz",
           "deep inside a file": d / "file" / "x" / "o.npz"}[what]
    text = "" if what == "empty" else str(out) + ("/" if what == "trailing slash" else "")
    model = save(int_conv(), d / "m.onnx")
    np.savez(d / "in.npz", x=good_x("int"))
    cmd = str(rng.choice(["run", "schedule", "demo"]))
    if cmd == "run":
        argv = ["run", str(model), "--inputs", str(d / "in.npz"), "-o", text]
    elif cmd == "schedule":
        argv = ["schedule", str(model), "--rows", "2", "--cols", "2", "-o", text]
    else:
        if what not in ("inside a file", "empty", "existing file", "deep inside a file"):
            what = "inside a file"
            text = str(d / "file" / "o")
        argv = ["demo", "--no-hw", "--out-dir", text]
    return Case(argv, [] if what == "existing file" else [out], f"{cmd} output {what}")


#: family name -> builder ``(folder, rng) -> Case``.
FAMILIES = {"onnx-bytes": onnx_bytes, "onnx-structure": onnx_structure, "npz": npz_inputs, "specs": specs,
            "verilog": verilog, "layer-maps": layer_maps, "numbers": numbers, "output-paths": output_paths}


def build(family: str, index: int, folder: Path) -> Case:
    rng = np.random.default_rng((SEED, list(FAMILIES).index(family), index))
    return FAMILIES[family](folder, rng)
