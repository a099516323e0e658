"""Activity counters of one PE (docs/array.md: 7 counters of 32 bits, wrapping).

Order (``axmac.config.COUNTER_NAMES``): ``0 mul_used`` (valid slots with MUL code 11),
``1 zero`` (MUL code 00: case (a)), ``2 one`` (MUL codes 01/10: case (b)), ``3 add_zero`` (ADD
codes 01/10: case (d)), ``4 opposite`` (ADD code 00: case (e)), ``5 gated`` (cycles whose slot
is not a ``mul_used`` slot, i.e. the multiplier's operand register was not loaded for it: gating
``enable``/``icg`` only, a constant 0 for ``none``), ``6 valid`` (valid slots). A disabled case
never shows its code in a valid slot, so counts 1-4 count the slots where the case fires.

Latency: the slot a PE computes in cycle ``s`` (its ``valid``, ``mul_ctrl``, ``add_ctrl`` in
that cycle) is counted at edge ``s + 1``; during cycle ``t`` the counters hold cycles ``0..t-1``.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..config import COUNTER_BITS, COUNTER_NAMES
from ..golden.pe import ADD_A_ZERO, ADD_B_ZERO, ADD_OPPOSITE, MUL_A_ONE, MUL_B_ONE, MUL_USED, MUL_ZERO
from .gating import check_gating

NCOUNT = len(COUNTER_NAMES)


def counters_port(config) -> dict:
    """``{"counters": Out(R*C*7*32)}`` with ``config.counters == "pe"``, else no port."""
    return {"counters": Out(config.pes * NCOUNT * COUNTER_BITS)} if config.counters == "pe" else {}


class PECounters(wiring.Component):
    """The seven activity counters of one PE.

    Parameters
    ----------
    gating : "none" | "enable" | "icg"
        With ``"none"`` the ``gated`` counter is a constant 0 (no register).

    Attributes
    ----------
    valid, mul_ctrl, add_ctrl : In
        The slot the PE computes this cycle.
    counts : Out(array of 7 x unsigned(32))
        Counter ``j`` at bits ``32*j`` (the order of ``COUNTER_NAMES``).
    """

    def __init__(self, *, gating: str):
        check_gating(gating)
        self.gating = gating
        super().__init__({"valid": In(1), "mul_ctrl": In(2), "add_ctrl": In(2),
                          "counts": Out(data.ArrayLayout(COUNTER_BITS, NCOUNT))})

    def elaborate(self, platform):
        m = Module()
        mc, ac, v = self.mul_ctrl, self.add_ctrl, self.valid
        used = v & (mc == MUL_USED)
        events = {
            "mul_used": used,
            "zero": v & (mc == MUL_ZERO),
            "one": v & ((mc == MUL_A_ONE) | (mc == MUL_B_ONE)),
            "add_zero": v & ((ac == ADD_A_ZERO) | (ac == ADD_B_ZERO)),
            "opposite": v & (ac == ADD_OPPOSITE),
            "gated": ~used if self.gating != "none" else None,
            "valid": v,
        }
        for j, name in enumerate(COUNTER_NAMES):
            if events[name] is None:
                continue  # counts[j] stays 0
            count = Signal(COUNTER_BITS, name=f"count_{name}")
            with m.If(events[name]):
                m.d.sync += count.eq(count + 1)
            m.d.comb += self.counts[j].eq(count)
        return m
