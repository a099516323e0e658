"""``verilog:FILE[:TOP]``: any combinational multiplier written in Verilog (e.g. an EvoApprox circuit).

The golden model is the file itself: its table is the simulated behaviour of module ``TOP``
(default: the first module declared in ``FILE``) on every operand pair. This module holds the
arithmetic rules; the simulation belongs to ``axmac.sim.tabulate``, which registers itself as
the :class:`VerilogSource` of this family when ``axmac.sim`` is imported (the CLI and the tests
do so). Without a registered source the family is an error that says so.

Rules:

* The module has exactly two inputs of ``n`` bits (the first declared is ``a``, the second
  ``b``; both receive the operands' bit patterns) and one output of ``w <= 2n`` bits
  (:func:`check_ports`).
* The output pattern is extended to the ``2n``-bit product (:func:`extend_outputs`):
  sign-extended from bit ``w-1`` for signed multipliers, zero-extended for unsigned ones; so a
  module may omit constant high bits.
* Widths up to :data:`MAX_VERILOG_BITS` (``2**20`` simulated pairs).

The hardware (:mod:`axmac.hw.multipliers.verilog`) instantiates the same module and compiles the
same file, so model and hardware cannot diverge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ...errors import SpecError
from .base import Multiplier, OperandFormat, register

#: operand widths up to which a Verilog multiplier can be tabulated (2**20 simulations).
MAX_VERILOG_BITS = 10


@dataclass(frozen=True)
class VerilogPorts:
    """Ports of an imported multiplier module: inputs ``a``, ``b`` and output ``p`` (names, widths).

    ``signed`` is True when the module declares all three ports ``signed``: a module that says
    so is a signed multiplier; an undeclared port is unsigned in Verilog, but many signed
    multipliers convert internally (``$signed``), so the user may still ask for signed operands.
    """

    top: str
    a: str
    b: str
    p: str
    a_bits: int
    b_bits: int
    p_bits: int
    signed: bool = False


class VerilogSource(Protocol):
    """What tabulates a Verilog multiplier (``axmac.sim.tabulate`` provides one)."""

    def ports(self, path: Path, top: str | None) -> VerilogPorts:
        """Ports of module ``top`` (default: the first module) of ``path``; SpecError if it is no multiplier."""

    def raw_outputs(self, path: Path, ports: VerilogPorts, bits: int) -> np.ndarray:
        """Output patterns for every input pair ``(a << bits) | b``, ``2**(2*bits)`` unsigned integers."""


_source: VerilogSource | None = None


def set_verilog_source(source: VerilogSource | None) -> None:
    """Register what tabulates ``verilog:`` multipliers (``axmac.sim.tabulate`` calls this on import)."""
    global _source
    _source = source


def verilog_source() -> VerilogSource:
    if _source is None:
        raise SpecError("verilog: no Verilog simulator is registered to tabulate the module "
                        "(import axmac.sim, which provides Verilator)")
    return _source


def check_ports(ports: VerilogPorts, bits: int, where: str = "") -> None:
    """Check that ``ports`` make an ``bits x bits -> <= 2*bits`` multiplier (SpecError if not)."""
    where = where or ports.top
    if ports.a_bits != bits or ports.b_bits != bits:
        raise SpecError(f"verilog: {where}: inputs {ports.a}[{ports.a_bits}] and {ports.b}[{ports.b_bits}] "
                        f"do not match the operand width {bits}")
    if ports.p_bits > 2 * bits:
        raise SpecError(f"verilog: {where}: output {ports.p} has {ports.p_bits} bits, more than 2*{bits}")
    if bits > MAX_VERILOG_BITS:
        raise SpecError(f"verilog: multipliers are tabulated exhaustively, limited to {MAX_VERILOG_BITS}-bit "
                        f"operands, not {bits}")


def extend_outputs(raw: np.ndarray, p_bits: int, bits: int, signed: bool) -> np.ndarray:
    """Output patterns of ``p_bits`` bits -> ``2*bits``-bit values (sign- or zero-extended), int64."""
    v = np.asarray(raw).astype(np.int64) & ((1 << p_bits) - 1)
    if signed:
        v = np.where(v >= 1 << (p_bits - 1), v - (1 << p_bits), v)
    return v


def parse_verilog_arg(arg: str) -> tuple[Path, str | None]:
    """``"mul.v"`` -> ``(mul.v, None)``; ``"mul.v:top"`` -> ``(mul.v, "top")``."""
    path, sep, top = arg.rpartition(":")
    if not sep or not path or "/" in top or top.endswith((".v", ".sv")):
        return Path(arg).expanduser(), None
    if not top:
        raise SpecError(f"verilog: empty module name in {arg!r} (use verilog:FILE or verilog:FILE:TOP)")
    return Path(path).expanduser(), top


@register
class VerilogMultiplier(Multiplier):
    family = "verilog"
    summary = "any combinational Verilog multiplier (FILE[:TOP]), tabulated by exhaustive Verilator simulation"
    param = "file[:top]"
    table_only = True

    def __init__(self, fmt: OperandFormat, arg: str | None = None):
        super().__init__(fmt, arg)
        path, top = parse_verilog_arg(arg)
        if fmt.bits > MAX_VERILOG_BITS:
            raise SpecError(f"verilog: multipliers are tabulated exhaustively, limited to {MAX_VERILOG_BITS}-bit "
                            f"operands, not {fmt.bits}")
        if not path.is_file():
            raise SpecError(f"verilog: file {str(path)!r} not found")
        self.path = path.resolve()
        self.ports = verilog_source().ports(self.path, top)
        self.top = self.ports.top
        check_ports(self.ports, fmt.bits, f"{self.path.name}:{self.top}")

    def table(self) -> np.ndarray:
        if self._table is None:
            raw = verilog_source().raw_outputs(self.path, self.ports, self.bits)
            if raw.shape != (1 << (2 * self.bits),):
                raise SpecError(f"verilog: the tabulation of {self.path.name} gave {raw.size} outputs, "
                                f"not {1 << (2 * self.bits)}")
            t = extend_outputs(raw, self.ports.p_bits, self.bits, self.signed).reshape(1 << self.bits, -1)
            t.setflags(write=False)
            self._table = t
        return self._table

    def _product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        m = self.fmt.mask
        return self.table()[a & m, b & m]
