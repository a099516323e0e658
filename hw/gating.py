"""Keeping an idle multiplier from switching: operand isolation or a clock-gated operand register.

Gating modes (``ArrayConfig.gating``, the PEs' ``gating`` parameter):

* ``"none"``: the multiplier's operands are the PE's input registers themselves; it switches
  every cycle and its result is simply not selected when a MUL case is bypassed or the slot idle.
* ``"enable"``: operand isolation. Each operand the multiplier sees is a register of its own,
  loaded (clock enable) only for slots that use the multiplier, so in bypassed and idle slots
  its inputs hold their last values and its logic does not switch.
* ``"icg"``: the same registers, clocked by a latch-based clock gate
  (:class:`axmac.hw.clock_gate.ClockGate`, its own Verilog module) whose enable is the same
  condition (or reset), so their clock pins are idle too.

:func:`gated_operands` builds that for any number of operands (one activation in a
weight-stationary PE, whose weight only changes at commits; activation and weight in an
output-stationary PE). Latency: the registers load at the same edge as the PE's input registers,
so a slot that uses the multiplier sees the same operand values in every mode.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import ClockDomain, Module, ResetSignal, Signal, Value

from ..config import GATINGS
from .clock_gate import ICG_MODULE, ICG_VERILOG, ClockGate


def check_gating(gating: str) -> None:
    """ValueError unless ``gating`` is one of :data:`GATINGS`."""
    if gating not in GATINGS:
        raise ValueError(f"gating must be one of {', '.join(map(repr, GATINGS))}, not {gating!r}")


def gating_verilog(gating: str) -> dict[str, str]:
    """The Verilog a design with this gating mode must be compiled with (the ICG cell for ``"icg"``)."""
    return {f"{ICG_MODULE}.v": ICG_VERILOG} if gating == "icg" else {}


def gated_operands(m: Module, *, gating: str, enable: Value,
                   operands: Sequence[tuple[Value, Signal, str]]) -> list[Value]:
    """The values a multiplier should see, one per operand, for ``gating``.

    Parameters
    ----------
    m : Module
        The PE's module (the registers, and with ``"icg"`` the clock gate ``icg`` and the local
        domain ``gated``, are added to it).
    enable : Value
        True in the cycle before a slot that uses the multiplier (what the input registers load
        at the next edge needs it).
    operands : sequence of ``(next, reg, name)``
        ``next`` is what the PE's input register ``reg`` loads at the next edge; ``name`` names
        the isolated register (e.g. ``"a_mul"``).
    """
    check_gating(gating)
    if gating == "none":
        return [reg for _, reg, _ in operands]
    regs = [Signal.like(reg, name=name) for _, reg, name in operands]
    loads = [r.eq(nxt) for r, (nxt, _, _) in zip(regs, operands, strict=True)]
    if gating == "enable":
        with m.If(enable):
            m.d.sync += loads
    else:
        m.submodules.icg = icg = ClockGate()
        m.domains.gated = gated = ClockDomain("gated", local=True)
        m.d.comb += [icg.en.eq(enable | ResetSignal()), gated.clk.eq(icg.gclk), gated.rst.eq(ResetSignal())]
        m.d.gated += loads
    return regs
