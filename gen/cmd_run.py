"""``axmac run``: bit-exact golden execution of an ONNX model on given inputs.

    axmac run MODEL.onnx --inputs IN.npz --outputs OUT.npz [--multiplier SPEC] [--layers MAP.json]
              [--bypass zero,one,add-zero,opposite|all|none] [--bias-correction]
              [--calibration CAL.npz|mnist|digits] [--json]

``IN.npz`` holds one array per graph input (keyed by input name, batch along axis 0);
``OUT.npz`` receives one array per graph output (keyed by output name), written atomically;
with ``--trace`` also every intermediate tensor and each MAC layer's int64 accumulators
(``"<layer output>::acc"``), e.g. to drive a co-simulation with real activations.
Float models are quantized at load time (``onnx_import``'s QuantConfig) from calibration data:
``--calibration`` (an npz keyed by input name, or a built-in dataset's calibration images).
``MAP.json`` is ``{"layer name": "spec", ...}`` (layer names as ``axmac emulate --json`` lists them);
layers it does not name use ``--multiplier`` (default ``exact``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="bit-exact golden execution of an ONNX model on inputs from an npz",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("model", metavar="MODEL.onnx")
    p.add_argument("--inputs", required=True, metavar="IN.npz", help="one array per graph input, keyed by name")
    p.add_argument("--outputs", required=True, metavar="OUT.npz", help="where the graph outputs go")
    add_arith_args(p)
    p.add_argument("--calibration", metavar="CAL.npz|mnist|digits",
                   help="calibration inputs for float models (npz keyed by input name, or a built-in dataset)")
    p.add_argument("--trace", action="store_true",
                   help="also write every intermediate tensor and each MAC layer's accumulators ('<y>::acc')")
    p.add_argument("--json", action="store_true", help="print the report (MACs, statistics per layer) as JSON")
    p.set_defaults(func=cmd_run)


def add_arith_args(p) -> None:
    """The options ``run`` and ``emulate`` share: multiplier, layer map, bypass, bias correction."""
    p.add_argument("--multiplier", default="exact", metavar="SPEC",
                   help="multiplier of every MAC layer (default exact; see `axmac multipliers list`)")
    p.add_argument("--layers", metavar="MAP.json", help='per-layer multipliers: {"layer name": "spec", ...}')
    p.add_argument("--bypass", default="none", metavar="CASES",
                   help="trivial-computation bypass: zero,one,add-zero,opposite | all | none (default none)")
    p.add_argument("--bias-correction", action="store_true",
                   help="scale each approximate layer's requantization by 1/(1 + mean relative error)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="samples per step (default: as many as fit 256 MiB of activations, at most 1024)")
    add_quant_options(p)
    p.add_argument("--no-stats", dest="stats", action="store_false",
                   help="skip the trivial-computation statistics (faster: exact layers use the BLAS path)")
    p.add_argument("--k-tile", type=int, metavar="K",
                   help="accumulation chain length for the add statistics (d)/(e): the array's K tile (default: all K)")


def add_quant_options(p) -> None:
    """How float models are quantized at load time (``run``, ``emulate``, ``schedule``)."""
    q = p.add_argument_group("quantization of float models (Moons et al. precision scaling)")
    q.add_argument("--bits", type=int, default=8, metavar="B", help="operand width of every float MAC layer (2..16)")
    q.add_argument("--layer-bits", default="", metavar="NAME=B,...",
                   help="per-layer operand widths overriding --bits, e.g. conv1=6,fc1=4")
    q.add_argument("--per-tensor", action="store_true", help="one weight scale per layer (default: per channel)")
    q.add_argument("--percentile", type=float, metavar="P",
                   help="activation range from the P-th percentile of |x| (default: the maximum)")


def parse_layer_bits(text: str) -> dict[str, int]:
    from ..errors import AxmacError

    out = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, b = part.rpartition("=")
        try:
            out[name.strip()] = int(b)
        except ValueError:
            name = ""
        if not sep or not name.strip():
            raise AxmacError(f"bad --layer-bits item {part!r}: expected NAME=BITS")
    return out


def read_layer_map(path: str | None) -> dict[str, str] | None:
    """``MAP.json`` -> ``{layer: spec}``; :class:`AxmacError` when unreadable or not such a mapping."""
    from ..errors import AxmacError

    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise AxmacError(f"layer map {path} does not exist") from None
    except (OSError, ValueError) as e:
        raise AxmacError(f"cannot read layer map {path}: {e}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise AxmacError(f"layer map {path} must be a JSON object {{\"layer name\": \"spec\", ...}}")
    return data


def graph_input_names(model: str) -> list[str]:
    """Names of the real (non-initializer) graph inputs of an ONNX file."""
    return [name for name, _ in graph_inputs(model)]


def graph_inputs(model: str) -> list[tuple[str, object]]:
    """``(name, numpy dtype or None)`` of the real (non-initializer) graph inputs of an ONNX file."""
    import numpy as np
    import onnx

    from ..errors import AxmacError

    if not Path(model).is_file():
        raise AxmacError(f"no such ONNX file: {model}")
    try:
        m = onnx.load(model, load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf decode errors of all kinds
        raise AxmacError(f"cannot read ONNX model {model}: {type(e).__name__}") from None
    inits = {i.name for i in m.graph.initializer}
    out = []
    for i in m.graph.input:
        if i.name in inits:
            continue
        try:
            dt = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type))
        except Exception:  # noqa: BLE001 - unknown / undefined element type
            dt = None
        out.append((i.name, dt))
    return out


def quant_config(args):
    """The :class:`QuantConfig` of the ``--bits / --per-tensor / --percentile`` options."""
    from ..onnx_import.quantize import QuantConfig

    bits = getattr(args, "bits", 8)
    pct = getattr(args, "percentile", None)
    return QuantConfig(per_channel=not getattr(args, "per_tensor", False), bits=bits,
                       calibration="max" if pct is None else "percentile", percentile=100.0 if pct is None else pct,
                       layer_bits=parse_layer_bits(getattr(args, "layer_bits", "")))


def load_network(model: str, calibration: dict | None, quant=None):
    """``load_model`` with the calibration dict; float layers quantized by ``quant`` (default QuantConfig())."""
    from ..onnx_import.loader import load_model

    return load_model(model, quant=quant, calibration=calibration)


def read_calibration(spec: str | None, names: list[str] | None) -> dict | None:
    """``--calibration``: a built-in dataset's calibration images, or an npz keyed by input name
    (a single array is taken for a model with a single input)."""
    import zipfile

    import numpy as np

    from ..errors import AxmacError
    from .datasets import BUILTIN, load_dataset

    if spec is None:
        return None
    if spec in BUILTIN:
        if not names or len(names) != 1:
            raise AxmacError(f"--calibration {spec} needs a model with one input, not {len(names or [])}")
        return {names[0]: load_dataset(spec)[2]}
    if not Path(spec).is_file():
        raise AxmacError(f"calibration file {spec} does not exist")
    try:
        with np.load(spec, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise AxmacError(f"cannot read calibration file {spec}: {e}") from None
    if not data:
        raise AxmacError(f"calibration file {spec} holds no arrays")
    if names and len(names) == 1 and len(data) == 1 and names[0] not in data:
        data = {names[0]: next(iter(data.values()))}
    return data


def read_inputs(path: str) -> dict:
    import numpy as np

    from ..errors import AxmacError

    if not Path(path).is_file():
        raise AxmacError(f"inputs file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except Exception as e:  # noqa: BLE001 - zip / format errors
        raise AxmacError(f"cannot read inputs file {path}: {e}") from None


def format_stats_table(report) -> str:
    """Per-layer and total trivial-computation percentages (Ma & Jiao Table II columns)."""
    rows = [("layer", "mult", "MACs", "(a)zero", "(b)one", "(d)add0", "(e)opp", "x=0", "w=0")]

    def row(name, mult, macs, st):
        f = st.fractions()
        return (name, mult, f"{macs:.3g}", *(f"{100 * f[k]:.2f}%" for k in
                                               ("zero", "one", "add_zero", "opposite", "x_zero", "w_zero")))

    for layer in report.layers:
        rows.append(row(layer.name, layer.multiplier, layer.macs, layer.stats))
    rows.append(row("total", "", report.macs, report.total))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths,
                                                                                                  strict=True)))
                     for r in rows)


def cmd_run(args) -> int:
    import numpy as np

    from ..errors import AxmacError
    from ..golden.bypass import Bypass
    from ..golden.engine import run_network
    from ..util import atomic_output

    bypass = Bypass.parse(args.bypass)
    layer_map = read_layer_map(args.layers)
    names = graph_input_names(args.model)
    calib = read_calibration(args.calibration, names)
    inputs = read_inputs(args.inputs)
    net = load_network(args.model, calib, quant_config(args))
    if args.batch_size is not None and args.batch_size < 1:
        raise AxmacError(f"--batch-size must be positive, not {args.batch_size}")
    outputs, report = run_network(net, inputs, multiplier=args.multiplier, layers=layer_map, bypass=bypass,
                                  bias_correction=args.bias_correction, stats=args.stats, batch_size=args.batch_size,
                                  k_tile=args.k_tile, trace=args.trace)
    with atomic_output(args.outputs, "wb") as f:
        np.savez(f, **{**report.tensors, **outputs})
    if args.json:
        json.dump({"model": str(args.model), "outputs": str(args.outputs), **report.to_dict()}, sys.stdout, indent=2)
        print()
    else:
        print(f"{args.model}: {report.samples} sample(s), {report.macs} MACs in {report.seconds:.3f} s; "
              f"outputs -> {args.outputs}")
        if report.total is not None:
            print(format_stats_table(report))
    return 0
