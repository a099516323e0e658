"""Weight-stationary PE of the systolic array: double-buffered weight, committed by the activation wave.

::

      shadow_in/shadow_we ──► shadow weight (+ ==0, ==+-1 flags, computed at the write)
                                  │ commit_in: copied at the edge that takes the slot
                                  ▼
      a_in/valid_in/commit_in ─► active weight (+ flags) ─► multiplier, MacSlot ─► psum_out
      psum_in ─► psum_reg ──────────────────────────────────────────┘

docs/array.md "Weight-stationary": the shadow register is written by row address (the array's
weight lane of this column drives ``shadow_in`` and raises ``shadow_we`` for this PE's row); the
**commit flag** travels with the first activation of a tile (``commit_in`` -> ``commit_out``):
at the edge that takes that slot the active weight and its flags become the shadow's, and that
very slot already multiplies by the new weight. A shadow write at the same edge as a commit is
safe: the commit copies the old shadow. Activation, valid and commit pass right registered
(``a_out``, ``valid_out``, ``commit_out``); the partial sum goes down.

Latency and throughput
----------------------
* A slot presented on ``a_in``/``valid_in``/``commit_in``/``psum_in`` in cycle ``t`` is computed
  in cycle ``t + 1``: ``psum_out`` (combinational from this PE's registers: multiplier, product
  multiplexer, adder), ``mul_ctrl``, ``add_ctrl`` and ``valid_out`` then show it.
* One MAC per cycle. Arithmetic (bypass cases, codes, wrap or saturate) is
  :class:`axmac.hw.mac_slot.MacSlot`'s, gating :func:`axmac.hw.gating.gated_operands`'s (the
  activation is isolated; the weight operand only changes at commits).

Cost (bench/bench_array_synth.py: Yosys 0.70 generic gates, exact 8x8 signed, ``acc_bits=32``,
flip-flops apart): no bypass 542 gates + 58 FFs; all four cases 827 + 64; with gating
``enable`` 815 + 72, ``icg`` 838 + 73 (the latch counted as a flip-flop). In a 4x4 / 8x8 mesh,
440 / 492 gates per PE (row 0 adds to a constant 0).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Shape, Signal
from amaranth.lib.wiring import In, Out

from .array_pe import ArrayPE
from .bypass import mul_needed, operand_flags
from .gating import gated_operands
from .mac_slot import register_operand


class WeightStationaryPE(ArrayPE):
    """Weight-stationary array PE (see the module docstring for timing).

    Parameters
    ----------
    multiplier, acc_bits, bypass, gating, overflow : see :class:`axmac.hw.array_pe.ArrayPE`.

    Attributes
    ----------
    shadow_in, shadow_we : In
        Shadow weight write (value, enable), taken at the next edge.
    a_in, valid_in, commit_in / a_out, valid_out, commit_out :
        The moving activation slot and its flags (registered pass-through).
    psum_in, psum_out : partial sums, ``signed(acc_bits)``.
    w_out : Out
        The active weight.
    mul_ctrl, add_ctrl : Out(2)
        Table IV codes of the slot shown on ``psum_out`` (``valid_out`` is that slot's valid).
    """

    def ports(self, op: Shape, acc: Shape) -> dict:
        return {
            "shadow_in": In(op), "shadow_we": In(1), "w_out": Out(op),
            "a_in": In(op), "valid_in": In(1), "commit_in": In(1),
            "a_out": Out(op), "valid_out": Out(1), "commit_out": Out(1),
            "psum_in": In(acc), "psum_out": Out(acc),
        }

    def elaborate(self, platform):
        m = Module()
        sgn = self.is_signed
        slot = self.slot_unit(m)

        # -- shadow weight, written by row address, its flags computed at the write ------------
        shadow = Signal(self.shadow_in.shape(), name="shadow")
        sh_zero = Signal(init=1, name="shadow_zero")  # registers reset to the weight 0
        sh_one = Signal(name="shadow_one")
        in_zero, in_one = operand_flags(self.shadow_in, sgn)
        with m.If(self.shadow_we):
            m.d.sync += [shadow.eq(self.shadow_in), sh_zero.eq(in_zero), sh_one.eq(in_one)]

        # -- active weight: the shadow's at the edge that takes a committing slot ---------------
        w_reg = Signal(self.shadow_in.shape(), name="w_reg")
        w_zero = Signal(init=1, name="w_zero")
        w_one = Signal(name="w_one")
        with m.If(self.commit_in):
            m.d.sync += [w_reg.eq(shadow), w_zero.eq(sh_zero), w_one.eq(sh_one)]
        nw_zero = Mux(self.commit_in, sh_zero, w_zero)  # the flags the incoming slot will meet
        nw_one = Mux(self.commit_in, sh_one, w_one)

        # -- input registers and the isolated multiplier operand ------------------------------
        a_reg, a_zero_q, a_one_q, a_zero, a_one = register_operand(m, self.a_in, sgn, "a")
        valid_reg = Signal(name="valid_reg")
        commit_reg = Signal(name="commit_reg")
        psum_reg = Signal(self.psum_in.shape(), name="psum_reg")
        m.d.sync += [valid_reg.eq(self.valid_in), commit_reg.eq(self.commit_in), psum_reg.eq(self.psum_in)]
        mul_en = Signal(name="mul_en")
        m.d.comb += mul_en.eq(self.valid_in & mul_needed(self.bypass, a_zero, a_one, nw_zero, nw_one))
        (a_mul,) = gated_operands(m, gating=self.gating, enable=mul_en, operands=[(self.a_in, a_reg, "a_mul")])
        m.d.comb += [self.mult.a.eq(a_mul), self.mult.b.eq(w_reg)]

        m.d.comb += [slot.valid.eq(valid_reg), slot.a.eq(a_reg), slot.b.eq(w_reg), slot.a_zero.eq(a_zero_q),
                     slot.a_one.eq(a_one_q), slot.b_zero.eq(w_zero), slot.b_one.eq(w_one), slot.addend.eq(psum_reg)]
        m.d.comb += [self.psum_out.eq(slot.result), self.a_out.eq(a_reg), self.valid_out.eq(valid_reg),
                     self.commit_out.eq(commit_reg), self.w_out.eq(w_reg)]
        return m
