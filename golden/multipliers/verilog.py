"""``verilog:FILE[:TOP]``: any combinational multiplier written in Verilog (e.g. an EvoApprox circuit).

The golden model is the file itself: its table is obtained by simulating module ``TOP`` (default:
the first module declared in ``FILE``) exhaustively with Verilator, see
:mod:`axmac.gen.verilog_import`. The module must have exactly two ``n``-bit inputs (the first
declared is ``a``, the second ``b``; both receive the operands' bit patterns) and one output of
``w <= 2n`` bits. The output pattern is extended to the ``2n``-bit product: sign-extended from bit
``w-1`` for signed multipliers, zero-extended for unsigned ones; so a module may omit constant
high bits (an unsigned module whose top bits are always 0, a signed one with redundant sign bits).

The ports are checked when the spec is made (Yosys, about a second, cached); the table is built
on first use (a Verilator build, seconds, cached under ``build/verilog_import/`` by file hash, top
and width). Widths up to 10 bits (``2**20`` simulated pairs). The hardware
(:mod:`axmac.hw.multipliers.verilog`) instantiates the same module and compiles the same file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import SpecError
from ...gen.verilog_import import MAX_VERILOG_BITS, check_ports, discover_ports, exhaustive_table
from .base import Multiplier, OperandFormat, register


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
        self.ports = discover_ports(path, top)
        self.path = path.resolve()
        self.top = self.ports.top
        check_ports(self.ports, fmt.bits, f"{self.path.name}:{self.top}")

    def table(self) -> np.ndarray:
        if self._table is None:
            t = exhaustive_table(self.path, self.ports, self.bits, self.signed)
            t.setflags(write=False)
            self._table = t
        return self._table

    def _product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        m = self.fmt.mask
        return self.table()[a & m, b & m]
