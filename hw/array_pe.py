"""What the systolic array's two PEs share (hw/pe_ws.py, hw/pe_os.py): checks, multiplier, slot unit.

An :class:`ArrayPE` subclass declares its ports in :meth:`ArrayPE.ports` and builds its registers
in ``elaborate``; :meth:`ArrayPE.slot_unit` adds the multiplier (submodule ``mult``) and the
combinational slot arithmetic (:class:`axmac.hw.mac_slot.MacSlot`, submodule ``slot``) and drives
the ``mul_ctrl`` / ``add_ctrl`` outputs (Table IV codes of the slot the PE computes this cycle).
"""

from __future__ import annotations

from amaranth.hdl import Module, Shape, unsigned
from amaranth.hdl import signed as signed_shape
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from ..golden.bypass import NO_BYPASS, Bypass
from ..golden.multipliers import Multiplier
from .gating import gating_verilog
from .mac_slot import MacSlot, check_pe_args
from .multipliers import make_hw_multiplier


class ArrayPE(wiring.Component):
    """Base of the array PEs.

    Parameters
    ----------
    multiplier : Multiplier
        Golden model of the multiplier (``make_multiplier(spec, bits, signed)``); its hardware,
        ``make_hw_multiplier(multiplier)``, is the submodule ``mult``.
    acc_bits : int
        Partial-sum / accumulator width (signed): ``2*bits .. 64``, at least ``2*bits + 1`` with
        ``overflow="saturate"`` (docs/array.md: the opposite-addend detector must mean ``p + s == 0``).
    bypass : Bypass
        Enabled trivial-computation cases (Ma & Jiao); a bypassed product is exact.
    gating : "none" | "enable" | "icg"
        See :mod:`axmac.hw.gating`.
    overflow : "wrap" | "saturate"
        What every accumulation does outside the signed ``acc_bits`` range.

    Attributes
    ----------
    mult : the multiplier component.
    extra_sources, extra_verilog : what the generated Verilog needs (see ``axmac.verilog.write_design``).
    """

    def __init__(self, *, multiplier: Multiplier, acc_bits: int = 32, bypass: Bypass = NO_BYPASS,
                 gating: str = "none", overflow: str = "wrap"):
        check_pe_args(multiplier, acc_bits, bypass, gating, overflow)
        self.model, self.acc_bits, self.bypass, self.gating, self.overflow = (
            multiplier, acc_bits, bypass, gating, overflow)
        self.bits, self.is_signed = multiplier.bits, multiplier.signed
        self.mult = make_hw_multiplier(multiplier)
        self.extra_sources = list(self.mult.extra_sources)
        self.extra_verilog = {**(getattr(self.mult, "extra_verilog", None) or {}), **gating_verilog(gating)}
        op = signed_shape(self.bits) if self.is_signed else unsigned(self.bits)
        super().__init__({**self.ports(op, signed_shape(acc_bits)), "mul_ctrl": Out(2), "add_ctrl": Out(2)})

    def ports(self, op: Shape, acc: Shape) -> dict:
        """The subclass's ports (besides ``mul_ctrl`` and ``add_ctrl``) for operand and accumulator shapes."""
        raise NotImplementedError

    def slot_unit(self, m: Module) -> MacSlot:
        """Add the multiplier and the slot unit to ``m`` and drive the codes; return the slot unit."""
        m.submodules.mult = self.mult
        m.submodules.slot = slot = MacSlot(bits=self.bits, signed=self.is_signed, acc_bits=self.acc_bits,
                                           bypass=self.bypass, overflow=self.overflow)
        m.d.comb += [slot.mult_p.eq(self.mult.p), self.mul_ctrl.eq(slot.mul_ctrl), self.add_ctrl.eq(slot.add_ctrl)]
        return slot
