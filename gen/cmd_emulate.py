"""``axmac emulate``: accuracy and trivial-computation statistics of a model with approximate MACs.

Parses the options, calls :func:`axmac.gen.emulation.emulate` and prints its results (``--json``:
the results dict as it is).
"""

from __future__ import annotations

import argparse
import sys

from . import options

DESCRIPTION = """\
Accuracy and trivial-computation statistics of a model with approximate multipliers.

The model (default: the bundled model of the dataset, LeNet-5 for mnist) is quantized at load
time with calibration images from the dataset's training split, then run bit-exactly on the test
images twice: with the given arithmetic (statistics on) and with exact multipliers (the exact
integer model). Printed: top-1 accuracy of both and of the model as given under onnxruntime,
the agreement of the two integer models, Ma & Jiao's trivial-computation fractions per layer and
in total, and the throughput of the emulation (after a one-sample warm-up, so that JIT
compilation is not counted)."""


def add_parser(sub) -> None:
    p = sub.add_parser("emulate", parents=[options.model(optional=True, help="the ONNX model (default: the "
                                                         "bundled model of a built-in dataset)"),
                                           options.dataset(), options.arithmetic(), options.quantization(),
                                           options.json_flag()],
                       help="accuracy + trivial-computation statistics with approximate multipliers",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--no-ort", dest="ort_ref", action="store_false",
                   help="skip the onnxruntime accuracy of the model as given")
    p.set_defaults(func=cmd_emulate)


def cmd_emulate(args) -> int:
    from tqdm import tqdm

    from .emulation import emulate
    from .files import read_layer_map
    from .tables import print_json, stats_table

    layer_map = read_layer_map(args.layers)
    with tqdm(desc="emulate", unit="img", file=sys.stderr, disable=None, leave=False) as bar:
        res, rep = emulate(args.model, args.dataset, multiplier=args.multiplier, layers=layer_map, bypass=args.bypass,
                           bias_correction=args.bias_correction, limit=args.limit, batch_size=args.batch_size,
                           k_tile=args.k_tile, stats=args.stats, quant=options.quant_config(args),
                           input_shapes=options.input_shapes(args), ort_ref=args.ort_ref, progress=bar,
                           requant=args.requant, float_layers=args.float_layers)
    if args.json:
        print_json(res, indent=2)
        return 0
    fa = res["onnxruntime_accuracy"]
    print(f"model {res['model']}  dataset {res['dataset']} ({res['samples']} samples)")
    print(f"multiplier {res['multiplier']}{' + layer map' if layer_map else ''}  bypass {res['bypass']}  "
          f"bias correction {'on' if res['bias_correction'] else 'off'}")
    print(f"top-1 accuracy {res['accuracy']:.4f}   exact integer {res['exact_accuracy']:.4f}"
          + (f"   onnxruntime {fa:.4f}" if fa is not None else ""))
    if res["onnxruntime_note"]:
        print(f"  note: {res['onnxruntime_note']}")
    print(f"agreement with the exact integer model {res['agreement']:.4f}")
    if rep.total is not None or rep.float_layers:
        print(stats_table(rep))
    print(f"{res['macs']:.4g} MACs in {res['seconds']:.3f} s = {res['macs_per_second']:.3g} MAC/s")
    return 0
