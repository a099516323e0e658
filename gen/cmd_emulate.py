"""``axmac emulate``: accuracy and trivial-computation statistics of a model with approximate MACs.

    axmac emulate [MODEL.onnx] --dataset mnist|digits|FILE.npz [--multiplier SPEC | --layers MAP.json]
                  [--bypass CASES] [--bias-correction] [--limit N] [--json]

The model (default: the bundled model of the dataset, LeNet-5 for ``mnist``) is quantized at
load time with calibration images from the dataset's training split, then run bit-exactly on
the test images twice: once with the given arithmetic (statistics on) and once with exact
multipliers (the *exact integer model*). Reported: top-1 accuracy of both and of the model as
given run by onnxruntime (``onnxruntime_accuracy``: the float accuracy for a float model), the
agreement of the two integer models' top-1 decisions, Ma & Jiao's trivial-computation
fractions per layer and in total, and the throughput of the emulation (``macs``, ``seconds``,
``macs_per_second``: the MACs of the approximate run over its wall time, after a one-sample
warm-up so that JIT compilation is not counted). Float images of
another precision (e.g. float64 in a user's npz) are cast to the model's float type.
"""

from __future__ import annotations

import json
import sys

from .cmd_run import add_arith_args, format_stats_table, graph_inputs, load_network, quant_config, read_layer_map


def add_parser(sub) -> None:
    p = sub.add_parser("emulate", help="accuracy + trivial-computation statistics with approximate multipliers",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("model", nargs="?", metavar="MODEL.onnx", help="default: the bundled model of the dataset")
    p.add_argument("--dataset", default="mnist", metavar="mnist|digits|FILE.npz",
                   help="test images and labels (FILE.npz: arrays x, y [, calib]); default mnist")
    add_arith_args(p)
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N test samples")
    p.add_argument("--no-ort", dest="ort_ref", action="store_false",
                   help="skip the onnxruntime accuracy of the model as given")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_emulate)


def ort_accuracy(model: str, name: str, x, y) -> float | None:
    """Top-1 accuracy of the model as given under onnxruntime (``None`` if onnxruntime cannot run it)."""
    try:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        out = sess.run(None, {name: x})[0]
    except Exception:  # noqa: BLE001 - a model onnxruntime refuses still emulates
        return None
    return float((out.reshape(len(y), -1).argmax(1) == y).mean())


def emulate(model, dataset, *, multiplier="exact", layers=None, bypass=None, bias_correction=False, limit=None,
            batch_size=None, k_tile=None, stats=True, quant=None, ort_ref=True,
            progress=None) -> tuple[dict, object]:
    """Run the emulation; return ``(results dict, Report of the approximate run)``.

    ``progress``: a callable taking the number of samples just finished, or a tqdm bar (its
    total is set to the number of test samples).
    """
    from ..errors import AxmacError
    from ..golden.bypass import Bypass
    from ..golden.engine import run_network
    from .datasets import BUILTIN, default_model, load_dataset

    bypass = bypass or Bypass()
    if model is None:
        if str(dataset) not in BUILTIN:
            raise AxmacError("give MODEL.onnx: only the built-in datasets (mnist, digits) have a bundled model")
        model = default_model(str(dataset))
    model = str(model)
    ins = graph_inputs(model)
    if len(ins) != 1:
        raise AxmacError(f"emulate needs a model with exactly one input, {model} has {len(ins)}")
    names, dtypes = [ins[0][0]], [ins[0][1]]
    x, y, calib = load_dataset(dataset)
    if limit is not None:
        if limit < 1:
            raise AxmacError(f"--limit must be positive, not {limit}")
        x, y = x[:limit], y[:limit]
    want = dtypes[0]
    if want is not None and want.kind == "f":  # float64 images from a user's npz
        x = x.astype(want, copy=False) if x.dtype.kind == "f" else x
        calib = calib.astype(want, copy=False) if calib.dtype.kind == "f" else calib
    net = load_network(model, {names[0]: calib}, quant)
    if hasattr(progress, "reset"):
        progress.reset(total=len(y))
    update = getattr(progress, "update", progress)
    # warm-up on one sample: JIT compilation of the kernels stays out of the measured throughput
    run_network(net, {names[0]: x[:1]}, multiplier=multiplier, layers=layers, bypass=bypass, stats=stats,
                k_tile=k_tile)
    out, rep = run_network(net, {names[0]: x}, multiplier=multiplier, layers=layers, bypass=bypass,
                           bias_correction=bias_correction, stats=stats, batch_size=batch_size, k_tile=k_tile,
                           progress=update)
    pred = _top1(out[net.outputs[0].name], len(y))
    all_exact = rep.layers and all(layer.multiplier == "exact" for layer in rep.layers)
    exact_seconds = None
    if all_exact and not bias_correction:
        pred_exact = pred  # bypassed products are exact too: the exact integer model itself
    else:
        out_e, rep_e = run_network(net, {names[0]: x}, stats=False, batch_size=batch_size)
        pred_exact = _top1(out_e[net.outputs[0].name], len(y))
        exact_seconds = rep_e.seconds
    results = {
        "model": model, "dataset": str(dataset), "samples": int(len(y)),
        "multiplier": multiplier, "layers": {layer.name: layer.multiplier for layer in rep.layers},
        "bypass": str(bypass), "bias_correction": bool(bias_correction), "k_tile": k_tile,
        "accuracy": float((pred == y).mean()),
        "exact_accuracy": float((pred_exact == y).mean()),
        "onnxruntime_accuracy": ort_accuracy(model, names[0], x, y) if ort_ref else None,
        "agreement": float((pred == pred_exact).mean()),
        "macs": rep.macs, "seconds": rep.seconds, "macs_per_second": rep.macs_per_second,
        "exact_seconds": exact_seconds,  # the exact integer run (no statistics), when one was needed
        "total": rep.to_dict().get("total"),
        "quantization": None if quant is None else {"bits": quant.bits, "per_channel": quant.per_channel,
                                                    "calibration": quant.calibration,
                                                    "percentile": quant.percentile},
        "per_layer": [layer.to_dict() for layer in rep.layers],
    }
    return results, rep


def _top1(logits, n):
    return logits.reshape(n, -1).argmax(axis=1)


def cmd_emulate(args) -> int:
    from tqdm import tqdm

    from ..errors import AxmacError
    from ..golden.bypass import Bypass

    bypass = Bypass.parse(args.bypass)
    layer_map = read_layer_map(args.layers)
    if args.batch_size is not None and args.batch_size < 1:
        raise AxmacError(f"--batch-size must be positive, not {args.batch_size}")
    with tqdm(desc="emulate", unit="img", file=sys.stderr, disable=None, leave=False) as bar:
        res, rep = emulate(args.model, args.dataset, multiplier=args.multiplier, layers=layer_map, bypass=bypass,
                           bias_correction=args.bias_correction, limit=args.limit, batch_size=args.batch_size,
                           k_tile=args.k_tile, stats=args.stats, quant=quant_config(args), ort_ref=args.ort_ref,
                           progress=bar)
    if args.json:
        json.dump(res, sys.stdout, indent=2)
        print()
        return 0
    fa = res["onnxruntime_accuracy"]
    print(f"model {res['model']}  dataset {res['dataset']} ({res['samples']} samples)")
    print(f"multiplier {res['multiplier']}{' + layer map' if layer_map else ''}  bypass {res['bypass']}  "
          f"bias correction {'on' if res['bias_correction'] else 'off'}")
    print(f"top-1 accuracy {res['accuracy']:.4f}   exact integer {res['exact_accuracy']:.4f}"
          + (f"   onnxruntime {fa:.4f}" if fa is not None else ""))
    print(f"agreement with the exact integer model {res['agreement']:.4f}")
    if rep.total is not None:
        print(format_stats_table(rep))
    print(f"{res['macs']:.4g} MACs in {res['seconds']:.3f} s = {res['macs_per_second']:.3g} MAC/s")
    return 0
