"""The arithmetic of one MAC slot, shared by every PE: bypass or multiplier, then bypass or adder.

:class:`MacSlot` is combinational (latency 0): a PE registers its inputs (with
:func:`register_operand`, which also registers the operand's ``== 0`` / ``== +-1`` flags), feeds
the registered slot to its multiplier and to this unit, and uses ``result``: the next partial
sum (weight-stationary) or the next accumulator value (output-stationary).

Rules (those of :mod:`axmac.golden.pe`, docs/array.md "PE arithmetic"):

* the product is the multiplier's ``mult_p`` when no enabled MUL case applies (code ``11``),
  else the bypass unit's exact product (``0``, ``+-a``, ``+-b``);
* ``result = fit(addend + product)`` (``overflow`` ``"wrap"`` or ``"saturate"``, see
  :mod:`axmac.hw.overflow`), selected from the ADD bypass unit when an enabled ADD case applies
  (``addend``, ``product`` or 0: never a different value);
* an idle slot (``valid`` low) gives ``result = addend`` and the codes ``00`` / ``10``.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value, unsigned
from amaranth.hdl import signed as signed_shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..golden.bypass import Bypass
from ..golden.multipliers import Multiplier
from ..golden.pe import ADD_USED, IDLE_ADD, IDLE_MUL, MUL_USED, check_acc_bits
from .bypass import AddBypass, MulBypass, operand_flags
from .gating import check_gating
from .overflow import check_overflow, fit


def check_pe_args(multiplier, acc_bits, bypass, gating, overflow) -> None:
    """The constructor checks of every PE (hw/pe.py, hw/pe_ws.py, hw/pe_os.py; messages pinned by
    tests/test_pe.py and tests/test_pe_ws.py)."""
    if not isinstance(multiplier, Multiplier):
        raise TypeError(f"multiplier must be a Multiplier golden model (make_multiplier), not {multiplier!r}")
    if not isinstance(bypass, Bypass):
        raise TypeError(f"bypass must be a Bypass, not {bypass!r}")
    check_gating(gating)
    check_overflow(overflow)
    check_acc_bits(acc_bits, multiplier.bits)
    if overflow == "saturate" and acc_bits < 2 * multiplier.bits + 1:
        raise ValueError(f"overflow='saturate' needs acc_bits >= {2 * multiplier.bits + 1} (a product and a sign "
                         f"bit), not {acc_bits}")


def register_operand(m: Module, value: Value, is_signed: bool, name: str):
    """Register ``value`` and its flags at every edge.

    Returns ``(reg, zero_q, one_q, zero, one)``: the register ``{name}_reg`` and its flags
    ``{name}_zero_q`` / ``{name}_one_q`` (reset: the value 0), and the flags of ``value`` itself
    (what the registers load at the next edge; gating decisions need them a cycle early).
    """
    zero, one = operand_flags(value, is_signed)
    reg = Signal(value.shape(), name=f"{name}_reg")
    zero_q = Signal(init=1, name=f"{name}_zero_q")
    one_q = Signal(name=f"{name}_one_q")
    m.d.sync += [reg.eq(value), zero_q.eq(zero), one_q.eq(one)]
    return reg, zero_q, one_q, zero, one


class MacSlot(wiring.Component):
    """Product selection and accumulation of one slot (combinational).

    Parameters
    ----------
    bits, signed : int, bool
        Operand format (the multiplier's).
    acc_bits : int
        Width of ``addend`` and ``result`` (signed).
    bypass : Bypass
        Enabled trivial-computation cases.
    overflow : "wrap" | "saturate"
    mul_bypass_cls : type
        The MUL bypass unit (a hook for tests that inject a bug).

    Attributes
    ----------
    valid, a, b, a_zero, a_one, b_zero, b_one : In
        The registered slot: ``a`` the moving activation, ``b`` the weight, with their flags.
    mult_p : In(2*bits)
        The multiplier's product of this slot's operands.
    addend : In(signed(acc_bits))
        The incoming partial sum (ws) or the accumulator (os; 0 for a tile's first product).
    mul_ctrl, add_ctrl : Out(2)
        Table IV codes of the slot.
    result : Out(signed(acc_bits))
    """

    def __init__(self, *, bits: int, signed: bool, acc_bits: int, bypass: Bypass, overflow: str = "wrap",
                 mul_bypass_cls: type = MulBypass):
        check_overflow(overflow)
        self.mul_bypass = mul_bypass_cls(bits=bits, signed=signed, bypass=bypass)
        self.add_bypass = AddBypass(acc_bits=acc_bits, bypass=bypass)
        self.acc_bits, self.overflow = acc_bits, overflow
        op = signed_shape(bits) if signed else unsigned(bits)
        acc = signed_shape(acc_bits)
        super().__init__({
            "valid": In(1), "a": In(op), "b": In(op),
            "a_zero": In(1), "a_one": In(1), "b_zero": In(1), "b_one": In(1),
            "mult_p": In(self.mul_bypass.result.shape()), "addend": In(acc),
            "mul_ctrl": Out(2), "add_ctrl": Out(2), "result": Out(acc),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.mul_bypass = mb = self.mul_bypass
        m.submodules.add_bypass = ab = self.add_bypass
        m.d.comb += [mb.a.eq(self.a), mb.b.eq(self.b), mb.a_zero.eq(self.a_zero), mb.a_one.eq(self.a_one),
                     mb.b_zero.eq(self.b_zero), mb.b_one.eq(self.b_one)]
        product = Signal(self.mult_p.shape(), name="product")
        with m.If(~self.valid):
            m.d.comb += [product.eq(0), self.mul_ctrl.eq(IDLE_MUL)]
        with m.Elif(mb.ctrl == MUL_USED):
            m.d.comb += [product.eq(self.mult_p), self.mul_ctrl.eq(mb.ctrl)]
        with m.Else():
            m.d.comb += [product.eq(mb.result), self.mul_ctrl.eq(mb.ctrl)]

        m.d.comb += [ab.a.eq(product), ab.b.eq(self.addend)]  # product extended (or wrapped) to acc_bits
        total = Signal(self.result.shape(), name="sum")
        m.d.comb += total.eq(fit(self.addend + product, self.acc_bits, self.overflow))
        with m.If(~self.valid):
            m.d.comb += [self.result.eq(self.addend), self.add_ctrl.eq(IDLE_ADD)]
        with m.Elif(ab.ctrl == ADD_USED):
            m.d.comb += [self.result.eq(total), self.add_ctrl.eq(ab.ctrl)]
        with m.Else():
            m.d.comb += [self.result.eq(ab.result), self.add_ctrl.eq(ab.ctrl)]
        return m
