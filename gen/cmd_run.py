"""``axmac run``: bit-exact golden execution of an ONNX model on given inputs.

    axmac run MODEL.onnx --inputs IN.npz -o OUT.npz [--multiplier SPEC] [--layers MAP.json]
              [--bypass CASES] [--bias-correction] [--calibration CAL.npz|mnist|digits] [--trace] [--json]

``IN.npz`` holds one array per graph input, keyed by input name, batch along axis 0 (a single
array, under any name or as a ``.npy`` file, feeds a single-input model; dynamic input dims
come from the arrays);
``OUT.npz`` receives one array per graph output (keyed by output name), written atomically;
with ``--trace`` also every intermediate tensor and each MAC layer's int64 accumulators
(``"<layer output>::acc"``), e.g. to drive a co-simulation with real activations. Float models
are quantized at load time from calibration data (``--calibration``). ``MAP.json`` is
``{"layer name": "spec", ...}`` (``axmac info MODEL`` lists the layer names); layers it does not
name use ``--multiplier``.
"""

from __future__ import annotations

import argparse

from . import options

DESCRIPTION = """\
Bit-exact golden execution of an ONNX model on the inputs of an npz file.

IN.npz holds one array per graph input, keyed by input name, batch along axis 0 (a single
array, or a .npy file, feeds a single-input model; dynamic input dims come from the arrays).
OUT.npz receives one array per graph output, keyed by output name; with --trace also every
intermediate tensor and each MAC layer's int64 accumulators ('<layer output>::acc'). Float
models are quantized at load time from the --calibration data. `axmac info MODEL` lists the
input and layer names."""


def add_parser(sub) -> None:
    p = sub.add_parser("run", parents=[options.model(), options.calibration(), options.arithmetic(),
                                       options.quantization(), options.json_flag(),
                                       options.output_file(metavar="OUT.npz", required=False,
                                                           help="where the graph outputs go (required)")],
                       help="bit-exact golden execution of an ONNX model on inputs from an npz",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inputs", required=True, type=options.input_file, metavar="IN.npz",
                   help="one array per graph input, keyed by input name")
    p.add_argument("--outputs", dest="output", type=options.output_path, help=argparse.SUPPRESS)  # old spelling
    p.add_argument("--trace", action="store_true",
                   help="also write every intermediate tensor and each MAC layer's accumulators ('<y>::acc')")
    p.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    import numpy as np

    from ..errors import AxmacError
    from ..golden.engine import run_network
    from ..onnx_import.inputs import shapes_from_arrays
    from ..onnx_import.loader import load_model
    from .files import read_calibration, read_inputs, read_layer_map, write_output
    from .tables import print_json, stats_table

    if args.output is None:  # not required by argparse, so that the old spelling --outputs still works
        raise AxmacError("run: the following arguments are required: -o/--output")
    layer_map = read_layer_map(args.layers)
    calib = read_calibration(args.calibration, args.model)
    inputs = read_inputs(args.inputs, args.model)
    shapes = {**shapes_from_arrays(args.model, inputs), **options.input_shapes(args)}
    net = load_model(args.model, quant=options.quant_config(args), calibration=calib, input_shapes=shapes,
                     float_layers=args.float_layers)
    if not net.outputs:
        raise AxmacError(f"{args.model} has no graph outputs: nothing to write")
    outputs, report = run_network(net, inputs, multiplier=args.multiplier, layers=layer_map, bypass=args.bypass,
                                  bias_correction=args.bias_correction, stats=args.stats, batch_size=args.batch_size,
                                  k_tile=args.k_tile, trace=args.trace, requant=args.requant)
    write_output(args.output, "--output", lambda f: np.savez(f, **{**report.tensors, **outputs}), "wb")
    if args.json:
        print_json({"model": str(args.model), "outputs": str(args.output), **report.to_dict()}, indent=2)
    else:
        print(f"{args.model}: {report.samples} sample(s), {report.macs} MACs in {report.seconds:.3f} s; "
              f"outputs -> {args.output}")
        if report.total is not None or report.float_layers:
            print(stats_table(report))
    return 0
