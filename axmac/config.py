"""One configuration of the systolic array: :class:`ArrayConfig`, checked once, shared by every layer.

The same frozen object drives the RTL (``hw/top.py``), the register-level golden model
(``golden/array.py``), the cycle model and the schedule, the testbenches and synthesis; its
meaning is the contract of ``docs/array.md``. Presets are copies made with
:func:`dataclasses.replace` (:data:`PRESETS`, Gemmini-style); a config reads from and writes to
TOML or JSON (:func:`load_config`, :meth:`ArrayConfig.to_toml`, :meth:`ArrayConfig.to_dict`).

This module is part of the neutral core: it checks everything it can without the layers (ranges,
names, the relations between widths). The multiplier spec is checked by the consumer that builds
it (``make_multiplier(cfg.multiplier, cfg.bits, cfg.signed)``), the bypass cases here against
:data:`BYPASS_CASES`, the vocabulary ``golden.bypass.Bypass.parse`` reads.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from .errors import AxmacError
from .ir import MAX_BITS, MIN_BITS, OperandFormat

#: Trivial-computation cases a PE may bypass (Ma & Jiao), as named on the command line.
BYPASS_CASES = ("zero", "one", "add-zero", "opposite")
#: How the idle multiplier is kept from switching (see hw/pe.py).
GATINGS = ("none", "enable", "icg")
#: Weight-stationary or output-stationary.
DATAFLOWS = ("ws", "os")
#: What an accumulator does when a sum leaves the signed ``acc_bits`` range.
OVERFLOWS = ("wrap", "saturate")
#: Activity counters: none, one set per PE.
COUNTERS = ("none", "pe")
#: Output stage: ``requant`` (bias, fixed-point requantization, ReLU, clamp) or ``acc`` (bias only).
OUTPUT_STAGES_KINDS = ("requant", "acc")
#: Pipeline depth of the output stage (docs/array.md: a result enters the FIFO ``P`` cycles later).
OUTPUT_STAGES = 3
#: Activity counters per PE and their order in the ``counters`` port.
COUNTER_NAMES = ("mul_used", "zero", "one", "add_zero", "opposite", "gated", "valid")
COUNTER_BITS = 32
#: Width of the ``count`` field of a command (tile rows in ws, K in os).
COUNT_BITS = 16
#: Array sides the generator accepts.
MAX_SIDE = 64
MAX_ACC_BITS = 64


class ConfigError(AxmacError, ValueError):
    """An impossible array configuration (the CLI prints it on one line, exit 2)."""


def normalize_bypass(text: str | None) -> str:
    """``"one,zero"`` -> ``"zero,one"`` (cases in :data:`BYPASS_CASES` order), ``"all"``, ``"none"``."""
    if text is None:
        return "none"
    if not isinstance(text, str):
        raise ConfigError(f"bypass must be a string of cases, not {text!r}")
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    if items in ([], ["none"]):
        return "none"
    if items == ["all"]:
        return ",".join(BYPASS_CASES)
    bad = [t for t in items if t not in BYPASS_CASES]
    if bad:
        raise ConfigError(f"unknown bypass case {bad[0]!r} (known: {', '.join(BYPASS_CASES)}, all, none)")
    return ",".join(c for c in BYPASS_CASES if c in items)


def _check_int(name: str, v, lo: int, hi: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{name} must be an integer, not {v!r}")
    if not lo <= v <= hi:
        raise ConfigError(f"{name} must be in {lo}..{hi}, not {v}")


def _check_choice(name: str, v, choices: tuple[str, ...]) -> None:
    if v not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {v!r}")


@dataclass(frozen=True)
class ArrayConfig:
    """A systolic MAC array (``docs/array.md``).

    Parameters
    ----------
    rows, cols : int
        Array size ``R x C``, each ``1..64`` (non-square allowed).
    bits : int
        Operand width (``2..16``); ``signed`` two's complement or unsigned.
    acc_bits : int
        Partial-sum / accumulator width ``A``: ``2*bits <= A <= 64`` (``2*bits + 1`` with
        ``overflow="saturate"``, so that the opposite-addend detector means ``p + s == 0``).
    overflow : "wrap" | "saturate"
        What every accumulation does outside the signed ``A``-bit range.
    multiplier : str
        Multiplier spec of every PE (``axmac multipliers list``).
    bypass : str
        Bypassed trivial cases, normalised (``"none"``, ``"zero,one"``, ... in
        :data:`BYPASS_CASES` order; ``"all"`` is accepted and stored as the full list).
    gating : "none" | "enable" | "icg"
        Operand isolation / clock gating of the idle multiplier.
    dataflow : "ws" | "os"
        Weight-stationary (W block in the array, X rows streamed) or output-stationary.
    acc_depth : int
        ws: rows of the accumulator buffer per column ``D`` (a tile streams at most ``D`` rows of X).
    out_fifo_depth : int or None
        Output FIFO rows ``F``; ``None``: ``3R + C + P + 1`` (never full when ``o`` is always ready).
    counters : "none" | "pe"
        Activity counters per PE (:data:`COUNTER_NAMES`), read after a run.
    output_stage : "requant" | "acc"
        ``requant``: bias, fixed-point requantization, ReLU and clamp (per parameter block, a
        ``requant`` bit may still pass accumulators); ``acc``: bias only (no multiplier).
    clock_mhz : float
        Target clock for the constraints (SDC/PCF/LPF) and synthesis reports.
    """

    rows: int = 8
    cols: int = 8
    bits: int = 8
    signed: bool = True
    acc_bits: int = 32
    overflow: str = "wrap"
    multiplier: str = "exact"
    bypass: str = "none"
    gating: str = "none"
    dataflow: str = "ws"
    acc_depth: int = 256
    out_fifo_depth: int | None = None
    counters: str = "pe"
    output_stage: str = "requant"
    clock_mhz: float = 100.0

    def __post_init__(self):
        _check_int("rows", self.rows, 1, MAX_SIDE)
        _check_int("cols", self.cols, 1, MAX_SIDE)
        _check_int("bits", self.bits, MIN_BITS, MAX_BITS)
        if not isinstance(self.signed, bool):
            raise ConfigError(f"signed must be true or false, not {self.signed!r}")
        _check_choice("overflow", self.overflow, OVERFLOWS)
        lo = 2 * self.bits + (1 if self.overflow == "saturate" else 0)
        if isinstance(self.acc_bits, int) and not isinstance(self.acc_bits, bool) and self.acc_bits < lo:
            why = " (saturating accumulators need one bit more than a product)" if self.overflow == "saturate" else ""
            raise ConfigError(f"acc_bits {self.acc_bits} is narrower than a {2 * self.bits}-bit product{why}: "
                              f"use at least {lo}")
        _check_int("acc_bits", self.acc_bits, lo, MAX_ACC_BITS)
        if not isinstance(self.multiplier, str) or not self.multiplier.strip():
            raise ConfigError(f"multiplier must be a spec string, not {self.multiplier!r}")
        object.__setattr__(self, "multiplier", self.multiplier.strip())
        object.__setattr__(self, "bypass", normalize_bypass(self.bypass))
        _check_choice("gating", self.gating, GATINGS)
        _check_choice("dataflow", self.dataflow, DATAFLOWS)
        _check_int("acc_depth", self.acc_depth, 1, (1 << COUNT_BITS) - 1)
        if self.out_fifo_depth is not None:
            _check_int("out_fifo_depth", self.out_fifo_depth, 2, 1 << 16)
        _check_choice("counters", self.counters, COUNTERS)
        _check_choice("output_stage", self.output_stage, OUTPUT_STAGES_KINDS)
        if isinstance(self.clock_mhz, bool) or not isinstance(self.clock_mhz, (int, float)) \
                or not math.isfinite(self.clock_mhz) or not 0 < self.clock_mhz <= 10_000:
            raise ConfigError(f"clock_mhz must be a frequency in (0, 10000] MHz, not {self.clock_mhz!r}")
        object.__setattr__(self, "clock_mhz", float(self.clock_mhz))

    # -- derived ---------------------------------------------------------------------------------
    @property
    def operand(self) -> OperandFormat:
        """The operands' :class:`~axmac.ir.OperandFormat`."""
        return OperandFormat(self.bits, self.signed)

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    @property
    def fifo_depth(self) -> int:
        """Output FIFO rows ``F`` (``out_fifo_depth`` or its default ``3R + C + P + 1``)."""
        if self.out_fifo_depth is not None:
            return self.out_fifo_depth
        return 3 * self.rows + self.cols + OUTPUT_STAGES + 1

    @property
    def bypass_cases(self) -> tuple[str, ...]:
        return () if self.bypass == "none" else tuple(self.bypass.split(","))

    def replace(self, **changes) -> ArrayConfig:
        """A checked copy with ``changes`` (``dataclasses.replace``)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown array option {sorted(unknown)[0]!r}")
        return dataclasses.replace(self, **changes)

    # -- files -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Every field (JSON/TOML-ready; ``out_fifo_depth`` left out when it is the default)."""
        d = dataclasses.asdict(self)
        if d["out_fifo_depth"] is None:
            del d["out_fifo_depth"]
        return d

    @classmethod
    def from_dict(cls, data: dict, *, where: str = "configuration") -> ArrayConfig:
        """Build from a mapping of field names (unknown keys are an error naming them)."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where} must be a table of array options, not {type(data).__name__}")
        data = dict(data.get("array", data)) if isinstance(data.get("array"), dict) else dict(data)
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"{where}: unknown array option {unknown[0]!r} (known: {', '.join(sorted(names))})")
        return cls(**data)

    def to_toml(self) -> str:
        """The configuration as a TOML ``[array]`` table (read back by :func:`load_config`)."""
        lines = ["[array]"]
        for k, v in self.to_dict().items():
            if isinstance(v, bool):
                text = "true" if v else "false"
            elif isinstance(v, str):
                text = json.dumps(v)
            else:
                text = repr(v)
            lines.append(f"{k} = {text}")
        return "\n".join(lines) + "\n"


def load_config(path: str | Path) -> ArrayConfig:
    """Read an :class:`ArrayConfig` from a ``.toml`` (keys at the top or in ``[array]``) or ``.json`` file."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"configuration file {str(path)!r} not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read configuration file {str(path)!r}: {e}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path.name} is not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: "
                          f"{str(e).splitlines()[0]}") from None
    return ArrayConfig.from_dict(data, where=path.name)


#: Named starting points (copies of the defaults).
PRESETS: dict[str, ArrayConfig] = {
    "tiny": ArrayConfig(rows=4, cols=4, acc_depth=64),
    "default": ArrayConfig(),
    "lenet": ArrayConfig(rows=8, cols=8, acc_depth=1024),
    "large": ArrayConfig(rows=16, cols=16, acc_depth=1024),
    "os8": ArrayConfig(dataflow="os"),
}
PRESETS["bypass"] = dataclasses.replace(PRESETS["default"], bypass="all", gating="enable")
