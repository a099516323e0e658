"""Trivial-computation bypass units (Ma & Jiao, Sec. III-C, Table IV) for integer operands.

Both units are combinational (latency 0). Their cases, operand names and control codes are
defined once in :mod:`axmac.golden.pe`; the hardware mirrors those rules:

* :class:`MulBypass` — ``a`` the activation, ``b`` the weight. Operand flags (``== 0``,
  ``== +-1``) are *inputs*, so a weight-stationary PE can compute the weight's flags once at
  load and store them (:func:`operand_flags` makes them). ``ctrl``: 00 (a) zero, 01 (b)
  ``b == +-1``, 10 (b) ``a == +-1``, 11 (c) multiplier used. ``result`` is the exact product of
  a bypassed case: ``0``, ``+-a`` or ``+-b`` (the sign of a +-1 operand picks negation, the
  integer counterpart of Ma & Jiao's sign-bit XOR); it is 0 when ``ctrl == 11``.
* :class:`AddBypass` — ``a`` the product, ``b`` the incoming partial sum, both ``acc_bits``
  wide. ``ctrl``: 00 (e) ``a + b == 0``, 01 (d) ``b == 0``, 10 (d) ``a == 0``, 11 (f) adder
  used; ``result`` 0 / ``a`` / ``b`` / 0. Opposite addends are detected without a carry chain:
  ``a + b == 0 (mod 2**n)`` iff ``a ^ b == (a | b) << 1 (mod 2**n)`` — the ``K = 0`` case of
  Cortadella & Llaberia, "Evaluation of A+B=K conditions without carry propagation",
  IEEE Trans. Computers 41(11), 1992 (bit ``i`` of the sum is 0 iff ``a_i ^ b_i`` equals the
  carry into ``i``, and for a zero sum that carry is ``a_{i-1} | b_{i-1}``).

A disabled case (a :class:`~axmac.golden.bypass.Bypass` field that is False) generates no
detection logic and falls through to the next rule.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value, unsigned
from amaranth.hdl import signed as signed_shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..golden.bypass import Bypass
from ..golden.pe import ADD_A_ZERO, ADD_B_ZERO, ADD_OPPOSITE, ADD_USED, MUL_A_ONE, MUL_B_ONE, MUL_USED, MUL_ZERO


def operand_flags(x: Value, is_signed: bool) -> tuple[Value, Value]:
    """``(x == 0, x == +-1)`` for an operand (unsigned: ``x == 1`` only)."""
    one = x == 1
    if is_signed:
        one = one | (x == -1)
    return x == 0, one


def mul_needed(bypass: Bypass, a_zero: Value, a_one: Value, b_zero: Value, b_one: Value) -> Value:
    """True when no enabled MUL case applies (``ctrl == 11``): the multiplier must work."""
    trivial = Const(0, 1)
    if bypass.zero:
        trivial = trivial | a_zero | b_zero
    if bypass.one:
        trivial = trivial | a_one | b_one
    return ~trivial


def _check(bits, is_signed, bypass, what):
    if not isinstance(bits, int) or isinstance(bits, bool) or bits < 2:
        raise TypeError(f"{what} must be an integer >= 2, not {bits!r}")
    if not isinstance(is_signed, bool):
        raise TypeError(f"signed must be a bool, not {is_signed!r}")
    if not isinstance(bypass, Bypass):
        raise TypeError(f"bypass must be a Bypass, not {bypass!r}")


class MulBypass(wiring.Component):
    """MUL bypass: control code and exact result of the trivial multiplications.

    Parameters
    ----------
    bits : int
        Operand width ``n``; ``result`` is ``2n`` bits (the multiplier's product shape).
    signed : bool
    bypass : Bypass
        Only ``zero`` and ``one`` matter here.
    """

    def __init__(self, *, bits: int, signed: bool, bypass: Bypass):
        _check(bits, signed, bypass, "bits")
        self.bits, self.is_signed, self.bypass = bits, signed, bypass
        op = signed_shape(bits) if signed else unsigned(bits)
        prod = signed_shape(2 * bits) if signed else unsigned(2 * bits)
        super().__init__({
            "a": In(op), "b": In(op),
            "a_zero": In(1), "a_one": In(1), "b_zero": In(1), "b_one": In(1),
            "ctrl": Out(2), "result": Out(prod),
        })

    def elaborate(self, platform):
        m = Module()
        bp = self.bypass
        a_is_neg = self.a[-1] if self.is_signed else Const(0, 1)  # an unsigned +-1 operand is +1
        b_is_neg = self.b[-1] if self.is_signed else Const(0, 1)
        # case (b): the counterpart of the +-1 operand, negated when that operand is -1 (one negator)
        other = Signal(self.a.shape(), name="other")
        negate = Signal(name="negate")
        off = Const(0, 1)  # a disabled case: its rule never matches, the next one is tried
        with m.If((self.a_zero | self.b_zero) if bp.zero else off):
            m.d.comb += self.ctrl.eq(MUL_ZERO)
        with m.Elif(self.b_one if bp.one else off):
            m.d.comb += [self.ctrl.eq(MUL_B_ONE), other.eq(self.a), negate.eq(b_is_neg)]
        with m.Elif(self.a_one if bp.one else off):
            m.d.comb += [self.ctrl.eq(MUL_A_ONE), other.eq(self.b), negate.eq(a_is_neg)]
        with m.Else():
            m.d.comb += self.ctrl.eq(MUL_USED)
        if bp.one:
            signed_one = Mux(negate, -other, other) if self.is_signed else other
            with m.If((self.ctrl == MUL_B_ONE) | (self.ctrl == MUL_A_ONE)):
                m.d.comb += self.result.eq(signed_one)
        return m


class AddBypass(wiring.Component):
    """ADD bypass: control code and result of the trivial additions of ``acc_bits``-bit addends.

    Parameters
    ----------
    acc_bits : int
        Width of both addends and of the result (signed, two's complement).
    bypass : Bypass
        Only ``add_zero`` and ``opposite`` matter here.
    """

    def __init__(self, *, acc_bits: int, bypass: Bypass):
        _check(acc_bits, True, bypass, "acc_bits")
        self.acc_bits, self.bypass = acc_bits, bypass
        acc = signed_shape(acc_bits)
        super().__init__({"a": In(acc), "b": In(acc), "ctrl": Out(2), "result": Out(acc)})

    @staticmethod
    def opposite(a: Value, b: Value) -> Value:
        """``a + b == 0`` modulo ``2**len(a)`` without carry propagation (Cortadella & Llaberia)."""
        n = len(a)
        ua, ub = a.as_unsigned(), b.as_unsigned()
        return (ua ^ ub) == ((ua | ub) << 1)[:n]

    def elaborate(self, platform):
        m = Module()
        bp = self.bypass
        off = Const(0, 1)
        with m.If((self.b == 0) if bp.add_zero else off):
            m.d.comb += [self.ctrl.eq(ADD_B_ZERO), self.result.eq(self.a)]
        with m.Elif((self.a == 0) if bp.add_zero else off):
            m.d.comb += [self.ctrl.eq(ADD_A_ZERO), self.result.eq(self.b)]
        with m.Elif(self.opposite(self.a, self.b) if bp.opposite else off):
            m.d.comb += [self.ctrl.eq(ADD_OPPOSITE), self.result.eq(0)]
        with m.Else():
            m.d.comb += [self.ctrl.eq(ADD_USED), self.result.eq(0)]
        return m
