"""The array-configuration options of ``generate``, ``verify`` (and synth, energy...): one
:class:`~axmac.config.ArrayConfig` from the command line.

    p = sub.add_parser("generate", ...)
    array_options.add_array_options(p)     # (or parents=[array_options.array_config()])
    ...
    cfg = array_options.config_from_args(args)

A base configuration comes from ``--config F.toml|F.json`` (keys of :class:`ArrayConfig`, at the
top or in an ``[array]`` table) or ``--preset NAME`` (:data:`axmac.config.PRESETS`), else the
defaults; every option given explicitly overrides it, the others leave it alone (so they have no
argparse defaults: ``None`` means "not given"). The merged configuration is checked once by
:class:`ArrayConfig` (one-line :class:`~axmac.config.ConfigError` for an impossible one, e.g. an
accumulator narrower than a product) and its multiplier spec by the multiplier registry.
Options shared with other commands (``--multiplier``, ``--bypass``, ``--bits``,
``--signed/--unsigned``) come from :mod:`axmac.gen.options`, so they are spelled and checked
the same way everywhere.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..config import COUNTERS as COUNTER_CHOICES
from ..config import DATAFLOWS, GATINGS, MAX_ACC_BITS, MAX_SIDE, OUTPUT_STAGES_KINDS, OVERFLOWS, PRESETS
from ..errors import AxmacError
from . import options

#: ArrayConfig field -> argparse dest, for every option of :func:`array_config`.
FIELDS = {"rows": "rows", "cols": "cols", "bits": "bits", "signed": "signed", "acc_bits": "acc_bits",
          "overflow": "overflow", "multiplier": "multiplier", "bypass": "bypass", "gating": "gating",
          "dataflow": "dataflow", "acc_depth": "acc_depth", "out_fifo_depth": "fifo_depth",
          "counters": "counters", "output_stage": "output_stage", "clock_mhz": "clock_mhz"}


def frequency(text: str) -> float:
    """A clock frequency in MHz, ``(0, 10000]``."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a frequency in MHz, not {text!r}") from None
    if not (math.isfinite(v) and 0 < v <= 10_000):
        raise argparse.ArgumentTypeError(f"{text} is out of range (0, 10000] MHz")
    return v


def add_array_options(parser) -> None:
    """Add the array-configuration options to ``parser`` (in a group of their own)."""
    g = parser.add_argument_group("array configuration (override --config / --preset)")
    base = g.add_mutually_exclusive_group()
    base.add_argument("--config", type=options.input_file, metavar="F.toml",
                      help="array configuration: TOML or JSON (keys of the configuration, at the top or in an "
                      "[array] table) or the manifest.json `axmac generate` wrote")
    base.add_argument("--preset", choices=sorted(PRESETS), help="a named starting configuration")
    side = options.int_in(1, MAX_SIDE, what="an array side")
    g.add_argument("--rows", type=side, metavar="R", help=f"PE rows, 1..{MAX_SIDE} (default 8)")
    g.add_argument("--cols", type=side, metavar="C", help=f"PE columns, 1..{MAX_SIDE} (default 8)")
    g.add_argument("--bits", type=options.operand_bits, metavar="BITS", help="operand width (default 8)")
    sg = g.add_mutually_exclusive_group()
    sg.add_argument("--signed", dest="signed", action="store_const", const=True, help="signed operands (default)")
    sg.add_argument("--unsigned", dest="signed", action="store_const", const=False, help="unsigned operands")
    g.add_argument("--acc-bits", type=options.int_in(2, MAX_ACC_BITS, what="an accumulator width in bits"),
                   metavar="A", help="accumulator width (default 32; at least 2*BITS, 2*BITS+1 to saturate)")
    g.add_argument("--overflow", choices=OVERFLOWS, help="accumulator overflow: wrap (default) or saturate")
    options.add_multiplier(g)
    options.add_bypass(g)
    g.add_argument("--gating", choices=GATINGS, help="idle multiplier: none (default), enable (operand "
                   "isolation) or icg (latch-based clock gate)")
    g.add_argument("--dataflow", choices=DATAFLOWS, help="ws: weight-stationary (default); os: output-stationary")
    g.add_argument("--acc-depth", type=options.positive_int, metavar="D",
                   help="ws: accumulator buffer rows per column, the most X rows a tile streams (default 256)")
    g.add_argument("--fifo-depth", type=options.int_in(2, 1 << 16, what="a FIFO depth"), metavar="F",
                   help="output FIFO rows (default 3R + C + 4: never full when o is always ready)")
    g.add_argument("--counters", choices=COUNTER_CHOICES, help="activity counters: pe (default, 7 per PE) or none")
    g.add_argument("--output-stage", choices=OUTPUT_STAGES_KINDS,
                   help="requant (default: bias, fixed-point requantization, ReLU, clamp) or acc (bias only)")
    g.add_argument("--clock-mhz", type=frequency, metavar="F", help="target clock for the constraints (default 100)")
    parser.set_defaults(multiplier=None, bypass=None)  # "not given": the base configuration decides


def array_config() -> argparse.ArgumentParser:
    """A parent parser with the options of :func:`add_array_options`."""
    p = argparse.ArgumentParser(add_help=False)
    add_array_options(p)
    return p


def _manifest_config(path):
    """The configuration of a ``manifest.json`` written by ``axmac generate``, else ``None``."""
    import json

    from ..config import ArrayConfig

    if str(path).lower().endswith(".json"):
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            return None  # load_config says what is wrong with it
        if isinstance(data, dict) and str(data.get("format", "")).startswith("axmac-array/"):
            return ArrayConfig.from_dict(data.get("config"), where=f"{path} (config)")
    return None


def read_config_file(path):
    """The :class:`~axmac.config.ArrayConfig` of a TOML/JSON file or of a ``manifest.json``."""
    from ..config import load_config

    return _manifest_config(path) or load_config(path)


def config_from_args(args):
    """The :class:`~axmac.config.ArrayConfig` of ``--config``/``--preset`` and the explicit options.

    Raises :class:`~axmac.errors.AxmacError` (one line) for an impossible configuration or an
    unknown multiplier spec.
    """
    from ..config import ArrayConfig
    from ..golden.multipliers import make_multiplier

    if getattr(args, "config", None) is not None:
        base = read_config_file(args.config)
    elif getattr(args, "preset", None) is not None:
        base = PRESETS[args.preset]
    else:
        base = ArrayConfig()
    changes = {f: getattr(args, dest) for f, dest in FIELDS.items() if getattr(args, dest, None) is not None}
    if "bypass" in changes:
        changes["bypass"] = str(changes["bypass"])
    cfg = base.replace(**changes)
    try:
        make_multiplier(cfg.multiplier, cfg.bits, cfg.signed)
    except AxmacError as e:
        raise AxmacError(f"--multiplier {cfg.multiplier}: {e}") from None
    return cfg
