"""The shared vocabulary of the ``axmac`` commands: option groups as argparse parent parsers.

An option means one thing and is spelled one way in every command, because every command takes
it from here::

    p = sub.add_parser("run", parents=[options.model(), options.arithmetic(), options.json_flag()], ...)

Parents (each call returns a fresh ``ArgumentParser(add_help=False)``):

* :func:`model` -- ``MODEL.onnx`` and ``--input-shape NAME=D1xD2x...``;
* :func:`calibration` -- ``--calibration FILE.npz|mnist|digits``;
* :func:`quantization` -- ``--bits``, ``--layer-bits``, ``--per-tensor``, ``--percentile``;
* :func:`arithmetic` -- ``--multiplier``, ``--layers``, ``--bypass``, ``--bias-correction``,
  ``--batch-size``, ``--k-tile``, ``--no-stats``;
* :func:`dataset` -- ``--dataset``, ``--limit``;
* :func:`array_shape` -- ``--rows``, ``--cols``, ``--dataflow``, ``--acc-bits``;
* :func:`operands` -- ``--bits`` and ``--signed`` / ``--unsigned`` of one multiplier;
* :func:`json_flag` -- ``--json``; :func:`output_file` -- ``-o/--output FILE``; :func:`out_dir` --
  ``--out-dir DIR``.

A new group (the array configuration of ``generate``, say) is one more function here that
builds a parent with :func:`parent` and adds its options with the argument types below
(:func:`positive_int`, :func:`operand_bits`, :func:`output_path`, ...): those types turn bad
values into argparse errors that name the option (``argument --rows: ...``).
Help texts are plain text (argparse prints them as they are).

Parsed options become library objects with :func:`quant_config`.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..config import MAX_ACC_BITS, MAX_SIDE
from ..errors import AxmacError
from ..ir import MAX_BITS, MIN_BITS

#: largest ``--samples`` of a characterization (each pair is a few int64 words of work).
MAX_SAMPLES = 10**9
#: built-in datasets (mirrors :data:`axmac.gen.datasets.BUILTIN`, which imports NumPy).
DATASETS = ("mnist", "digits")


# -- argument types: each raises ArgumentTypeError, which argparse prefixes with the option ------------
def int_in(lo: int, hi: int | None = None, what: str = "an integer"):
    """An argparse type: an integer in ``lo..hi`` (``hi=None``: no upper bound)."""
    def convert(text: str) -> int:
        try:
            v = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}") from None
        if v < lo or (hi is not None and v > hi):
            rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
            raise argparse.ArgumentTypeError(f"{v} is out of range ({rng})")
        return v

    convert.__name__ = what
    return convert


#: largest count an option takes (a batch size, a limit, a K tile...): the kernels count in int64.
MAX_COUNT = 2**31 - 1
#: a positive integer (a count, a batch size, a tile length).
positive_int = int_in(1, MAX_COUNT, what="a positive integer")
#: a non-negative integer (a seed, a limit that may be 0).
non_negative_int = int_in(0, MAX_COUNT, what="a non-negative integer")
#: an operand width: what ``--bits`` means in every command.
operand_bits = int_in(MIN_BITS, MAX_BITS, what="an operand width in bits")


def float_in(lo: float, hi: float, what: str = "a number", unit: str = "", *, upper_open: bool = False):
    """An argparse type: a finite number in ``(lo, hi]``, or in ``[lo, hi)`` with ``upper_open``."""
    interval = f"[{lo:g}, {hi:g})" if upper_open else f"({lo:g}, {hi:g}]"

    def convert(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} in {interval}, not {text!r}") from None
        inside = lo <= v < hi if upper_open else lo < v <= hi
        if not (math.isfinite(v) and inside):
            raise argparse.ArgumentTypeError(f"{text} is out of range {interval}{unit}")
        return v

    convert.__name__ = what
    return convert


#: a percentile, ``(0, 100]``.
percentile = float_in(0, 100, what="a percentile")
#: a fraction, ``[0, 1)`` (a tolerance, an idle share).
fraction = float_in(0, 1, what="a fraction", upper_open=True)


def _written_under(text: str, path: Path, kind: str) -> Path:
    """``path`` unless ``text`` is empty or the nearest existing folder above ``path`` is a file."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"empty {kind} name")
    for p in path.parents:
        if p.exists():
            if not p.is_dir():
                raise argparse.ArgumentTypeError(f"cannot write {text}: {p} is not a folder")
            break
    return path


def output_path(text: str) -> Path:
    """A file to write: not empty, not a folder, not inside a file (checked before any work)."""
    path = _written_under(text, Path(text), "file")
    if path.is_dir() or text.endswith(("/", "\\")):
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    return path


def folder_path(text: str) -> Path:
    """A folder to write into: not empty, not an existing file, not inside a file."""
    path = _written_under(text, Path(text), "folder")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write into {text}: it is a file, not a folder")
    return path


def input_file(text: str) -> Path:
    """A file to read: it must exist and be a file."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file" if path.is_dir()
                                         else f"no such file: {text}")
    return path


def layer_bits(text: str) -> dict[str, int]:
    """``conv1=6,fc1=4`` -> ``{"conv1": 6, "fc1": 4}``."""
    out = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, b = part.rpartition("=")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"bad item {part!r}: expected NAME=BITS")
        out[name.strip()] = operand_bits(b.strip())
    return out


def input_shape(text: str) -> dict[str, tuple[int, ...]]:
    """``x=1x1x28x28`` (or several, comma-separated) -> ``{"x": (1, 1, 28, 28)}``."""
    out = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, dims = part.partition("=")
        try:
            shape = tuple(int(d, 10) for d in dims.lower().split("x"))
        except ValueError:
            shape = ()
        if not sep or not name.strip() or not shape or min(shape) < 1 or max(shape) > 1 << 31:
            raise argparse.ArgumentTypeError(f"bad shape {part!r}: expected NAME=D1xD2x... with positive dims")
        out[name.strip()] = shape
    return out


def bypass_cases(text: str):
    """``zero,one,add-zero,opposite`` / ``all`` / ``none`` -> :class:`~axmac.golden.bypass.Bypass`."""
    from ..golden.bypass import Bypass

    try:
        return Bypass.parse(text)
    except AxmacError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


# -- parents ------------------------------------------------------------------------------------------
def parent(title: str | None = None) -> tuple[argparse.ArgumentParser, argparse._ActionsContainer]:
    """A fresh parent parser and the container its options go in (an argument group if ``title``)."""
    p = argparse.ArgumentParser(add_help=False)
    return p, (p.add_argument_group(title) if title else p)


def model(*, optional: bool = False, help: str = "the ONNX model (float, QDQ, QOperator or integer ops)"):
    """``MODEL.onnx`` (positional; ``optional``: may be left out) and ``--input-shape``."""
    p, g = parent()
    g.add_argument("model", metavar="MODEL.onnx", type=input_file, nargs="?" if optional else None, help=help)
    g.add_argument("--input-shape", dest="input_shapes", action="append", type=input_shape, default=[],
                   metavar="NAME=D1xD2x...",
                   help="fix a dynamic input shape (repeatable; `axmac info MODEL` lists the inputs)")
    return p


def input_shapes(args) -> dict[str, tuple[int, ...]]:
    """The ``--input-shape`` options merged into one ``{name: shape}``."""
    out = {}
    for d in getattr(args, "input_shapes", None) or []:
        out.update(d)
    return out


def calibration():
    """``--calibration``: calibration inputs of a float model."""
    p, g = parent()
    g.add_argument("--calibration", metavar="FILE.npz|mnist|digits",
                   help="calibration inputs of a float model: an npz keyed by input name (a single array is "
                   "taken for a single-input model) or a built-in dataset's calibration images")
    return p


def quantization():
    """How float MAC layers are quantized at load time (Moons et al. precision scaling)."""
    p, g = parent("quantization of float models")
    g.add_argument("--bits", type=operand_bits, default=8, metavar="BITS",
                   help=f"operand width of every float MAC layer, {MIN_BITS}..{MAX_BITS} (default 8)")
    g.add_argument("--layer-bits", type=layer_bits, default={}, metavar="NAME=BITS,...",
                   help="per-layer operand widths overriding --bits, e.g. conv1=6,fc1=4")
    g.add_argument("--per-tensor", action="store_true", help="one weight scale per layer (default: per channel)")
    g.add_argument("--percentile", type=percentile, metavar="P",
                   help="activation range from the P-th percentile of |x| (default: the maximum)")
    g.add_argument("--float-layers", choices=("auto", "quantize", "float"), default="auto",
                   help="float MAC layers of a model quantized already: auto (default: kept in float32, as "
                   "onnxruntime runs them, and listed apart), quantize (by axmac, with --calibration) or float")
    return p


def quant_config(args):
    """The :class:`~axmac.onnx_import.quantize.QuantConfig` of the :func:`quantization` options."""
    from ..onnx_import.quantize import QuantConfig

    pct = args.percentile
    return QuantConfig(per_channel=not args.per_tensor, bits=args.bits, layer_bits=dict(args.layer_bits),
                       calibration="max" if pct is None else "percentile", percentile=100.0 if pct is None else pct)


def add_multiplier(g, *, default: str = "exact") -> None:
    """``--multiplier SPEC`` (shared by :func:`arithmetic` and the array configuration)."""
    g.add_argument("--multiplier", default=default, metavar="SPEC",
                   help=f"multiplier of every MAC layer (default {default}; `axmac multipliers list` lists the "
                   "families)")


def add_bypass(g) -> None:
    """``--bypass CASES`` (shared by :func:`arithmetic` and the array configuration)."""
    g.add_argument("--bypass", type=bypass_cases, default="none", metavar="CASES",
                   help="trivial-computation bypass: zero,one,add-zero,opposite | all | none (default none)")


def arithmetic():
    """The arithmetic of an emulated network: multipliers, bypass, bias correction, batching."""
    p, g = parent("arithmetic")
    add_multiplier(g)
    g.add_argument("--layers", metavar="MAP.json", type=input_file,
                   help='per-layer multipliers {"layer name": "spec", ...} (`axmac info MODEL` lists the layers)')
    add_bypass(g)
    g.add_argument("--bias-correction", action="store_true",
                   help="scale each approximate layer's requantization by 1/(1 + mean relative error)")
    g.add_argument("--batch-size", type=positive_int, metavar="N",
                   help="samples per step (default: as many as fit 256 MiB of activations, at most 1024)")
    g.add_argument("--k-tile", type=positive_int, metavar="K",
                   help="accumulation chain length of the add statistics (d)/(e): the array's K tile "
                   "(default: all of K)")
    g.add_argument("--no-stats", dest="stats", action="store_false",
                   help="skip the trivial-computation statistics (faster: exact layers use the BLAS path)")
    g.add_argument("--requant", choices=("float", "fixed"), default="float",
                   help="rounding of requantizing layers: float (float32 scale, round half to even, as onnxruntime; "
                   "default) or fixed (the array's integer multiplier and rounding shift)")
    return p


def dataset():
    """``--dataset`` and ``--limit``."""
    p, g = parent("dataset")
    g.add_argument("--dataset", default="mnist", metavar="mnist|digits|FILE.npz",
                   help="test images and labels: a built-in set or an npz with arrays x, y [, calib] "
                   "(default mnist)")
    g.add_argument("--limit", type=positive_int, metavar="N", help="use only the first N test samples")
    return p


def array_shape():
    """``--rows``, ``--cols``, ``--dataflow``, ``--acc-bits``, ``--acc-depth`` of a MAC array
    (``None`` when not given: the command's default or ``--config`` decides)."""
    p, g = parent("array")
    dim = int_in(1, MAX_SIDE, what="a positive integer")
    g.add_argument("--rows", type=dim, metavar="R", help="array rows (default 8)")
    g.add_argument("--cols", type=dim, metavar="C", help="array columns (default 8)")
    g.add_argument("--dataflow", choices=("ws", "os"),
                   help="ws: weight-stationary (default); os: output-stationary")
    g.add_argument("--acc-bits", type=int_in(2 * MIN_BITS, MAX_ACC_BITS, what="an accumulator width in bits"),
                   metavar="BITS", help="accumulator width, for partial-sum traffic (default 32)")
    g.add_argument("--acc-depth", type=positive_int, metavar="D",
                   help="ws: accumulator buffer rows, the most X rows a tile streams (default 256)")
    return p


def operands(*, default_signed: bool | None = True):
    """``--bits`` and ``--signed`` / ``--unsigned`` of a multiplier's operands.

    ``default_signed=None`` leaves ``args.signed`` as ``None`` when neither flag is given (the
    command then decides, e.g. from a Verilog module's ports).
    """
    p, g = parent()
    g.add_argument("--bits", type=operand_bits, default=8, metavar="BITS",
                   help=f"operand width, {MIN_BITS}..{MAX_BITS} (default 8)")
    sg = g.add_mutually_exclusive_group()
    sg.add_argument("--signed", dest="signed", action="store_true", default=default_signed,
                    help="signed operands" + (" (default)" if default_signed else ""))
    sg.add_argument("--unsigned", dest="signed", action="store_false", help="unsigned operands")
    return p


def json_flag():
    """``--json``: print the result as JSON on standard output."""
    p, g = parent()
    g.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def output_file(*, metavar: str = "FILE", help: str = "file to write", required: bool = True):
    """``-o/--output FILE``: the one spelling of a file a command writes."""
    p, g = parent()
    g.add_argument("-o", "--output", type=output_path, required=required, metavar=metavar, help=help)
    return p


def out_dir(*, help: str = "folder to write into"):
    """``--out-dir DIR``: the one spelling of a folder a command writes into."""
    p, g = parent()
    g.add_argument("--out-dir", type=folder_path, metavar="DIR", help=help)
    return p


def add_energy_execution(p: argparse.ArgumentParser, *, scheduler_help: str, cache_help: str):
    """The group "energy measurement and execution" shared by ``explore`` and ``flow``: PE energy
    sample (``--energy-images``, ``--energy-samples``, ``--seed``), workers (``--jobs``,
    ``--scheduler``) and ``--no-cache``. Returns the group for a command's own additions."""
    e = p.add_argument_group("energy measurement and execution")
    e.add_argument("--energy-images", type=positive_int, default=2, metavar="N",
                   help="images whose layer data the PEs are simulated on (default 2)")
    e.add_argument("--energy-samples", type=int_in(2, 100_000, what="a sample size"), default=16,
                   metavar="N", help="PE segments sampled per layer (default 16)")
    e.add_argument("--seed", type=non_negative_int, default=0, help="seed of the segment sample (default 0)")
    e.add_argument("--jobs", type=positive_int, metavar="N",
                   help="local worker processes (default: the CPU count; 1: in this process)")
    e.add_argument("--scheduler", metavar="ADDRESS", help=scheduler_help)
    e.add_argument("--no-cache", dest="use_cache", action="store_false", help=cache_help)
    return e
