"""``axmac info MODEL``: the names a layer map or a shape option needs (:func:`axmac.gen.modelinfo.model_info`)."""

from __future__ import annotations

from . import options


def add_parser(sub) -> None:
    p = sub.add_parser("info", parents=[options.model(), options.json_flag()],
                       help="a model's inputs, outputs and MAC layer names (for --layers, --input-shape)",
                       description="The inputs (names, types, dims), outputs and MAC layers of an ONNX model: the "
                       "names a --layers map, --layer-bits and --input-shape need.")
    p.set_defaults(func=cmd_info)


def _dims(dims) -> str:
    return "?" if dims is None else "x".join(str(d) for d in dims) or "scalar"


def cmd_info(args) -> int:
    from .modelinfo import model_info
    from .tables import format_table, print_json

    info = model_info(args.model, options.input_shapes(args))
    if args.json:
        print_json(info)
        return 0
    print(f"model {info['model']}")
    for what in ("inputs", "outputs"):
        print(f"{what}:")
        print(format_table(["name", "type", "dims"], [[i["name"], str(i["dtype"]), _dims(i["dims"])]
                                                       for i in info[what]], rule=False))
    if info["layers"] is not None:
        print("MAC layers (names for --layers and --layer-bits):")
        print(format_table(["name", "kind", "operand", "weight"],
                           [[la["name"], la["kind"], la["operand"], _dims(la["weight"])] for la in info["layers"]],
                           rule=False))
    if info["note"]:
        print(f"note: {info['note']}")
    return 0
