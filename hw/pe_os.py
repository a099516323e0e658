"""Output-stationary PE of the systolic array: accumulator, hold register and a drain-chain stage.

::

      w_in (from above) ─► w_reg ─► w_out (down)
      a_in/valid_in/start_in/end_in ─► a_reg ... ─► a_out ... (right)
                 multiplier, MacSlot: acc' = (start ? 0 : acc) + p
                 acc <= acc' (valid slots);  hold <= acc' (valid slot with end)
      drain_in (from above) ─► drain <= drain_load ? hold : drain_in ─► drain_out (down)

docs/array.md "Output-stationary": the activation (with ``valid``, and the tile's ``start`` /
``end`` flags) moves right and the weight moves down, both registered, so a pair presented to
PE ``(0, 0)`` meets in PE ``(i, j)`` ``i + j`` cycles later. A valid slot adds its product to the
accumulator; the tile's first slot (``start``) adds it to 0 instead, the last one (``end``)
also writes the final value into ``hold``. The hold registers of a column are copied into the
column's drain chain (``drain_load``, driven by the mesh) and leave at the bottom, one row per
cycle; the next tile can accumulate meanwhile.

Latency and throughput
----------------------
* A slot presented in cycle ``t`` is computed in cycle ``t + 1`` (``mul_ctrl``, ``add_ctrl``,
  ``valid_out``, ``end_out`` show it); ``acc`` and ``hold`` take its result at edge ``t + 2``.
* ``drain_load`` in cycle ``t``: ``drain_out`` is ``hold`` from cycle ``t + 1`` (else
  ``drain_in`` one cycle later). One MAC per cycle.
* Gating isolates both multiplier operands (:func:`axmac.hw.gating.gated_operands`): both move.

Cost (bench/bench_array_synth.py, as hw/pe_ws.py): no bypass 595 gates + 115 FFs (accumulator,
hold and drain registers); all four cases 1084 + 119; gating ``enable`` 1120 + 135, ``icg``
1129 + 136.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Shape, Signal
from amaranth.lib.wiring import In, Out

from .array_pe import ArrayPE
from .bypass import mul_needed
from .gating import gated_operands
from .mac_slot import register_operand


class OutputStationaryPE(ArrayPE):
    """Output-stationary array PE (see the module docstring for timing).

    Parameters
    ----------
    multiplier, acc_bits, bypass, gating, overflow : see :class:`axmac.hw.array_pe.ArrayPE`.

    Attributes
    ----------
    a_in, valid_in, start_in, end_in / a_out, valid_out, start_out, end_out :
        The activation slot moving right and its flags (registered pass-through);
        ``valid_out`` / ``end_out`` describe the slot computed this cycle.
    w_in / w_out : the weight moving down (registered).
    drain_in, drain_load / drain_out : the drain chain (``signed(acc_bits)``).
    mul_ctrl, add_ctrl : Out(2)
        Table IV codes of the slot computed this cycle.
    """

    def ports(self, op: Shape, acc: Shape) -> dict:
        return {
            "a_in": In(op), "valid_in": In(1), "start_in": In(1), "end_in": In(1),
            "a_out": Out(op), "valid_out": Out(1), "start_out": Out(1), "end_out": Out(1),
            "w_in": In(op), "w_out": Out(op),
            "drain_in": In(acc), "drain_load": In(1), "drain_out": Out(acc),
        }

    def elaborate(self, platform):
        m = Module()
        sgn = self.is_signed
        slot = self.slot_unit(m)

        a_reg, a_zero_q, a_one_q, a_zero, a_one = register_operand(m, self.a_in, sgn, "a")
        w_reg, w_zero_q, w_one_q, w_zero, w_one = register_operand(m, self.w_in, sgn, "w")
        valid_reg = Signal(name="valid_reg")
        start_reg = Signal(name="start_reg")
        end_reg = Signal(name="end_reg")
        m.d.sync += [valid_reg.eq(self.valid_in), start_reg.eq(self.start_in), end_reg.eq(self.end_in)]
        mul_en = Signal(name="mul_en")
        m.d.comb += mul_en.eq(self.valid_in & mul_needed(self.bypass, a_zero, a_one, w_zero, w_one))
        a_mul, w_mul = gated_operands(m, gating=self.gating, enable=mul_en,
                                      operands=[(self.a_in, a_reg, "a_mul"), (self.w_in, w_reg, "w_mul")])
        m.d.comb += [self.mult.a.eq(a_mul), self.mult.b.eq(w_mul)]

        acc = Signal(self.drain_in.shape(), name="acc")
        hold = Signal(self.drain_in.shape(), name="hold")
        drain = Signal(self.drain_in.shape(), name="drain")
        m.d.comb += [slot.valid.eq(valid_reg), slot.a.eq(a_reg), slot.b.eq(w_reg), slot.a_zero.eq(a_zero_q),
                     slot.a_one.eq(a_one_q), slot.b_zero.eq(w_zero_q), slot.b_one.eq(w_one_q),
                     slot.addend.eq(Mux(start_reg, 0, acc))]
        with m.If(valid_reg):
            m.d.sync += acc.eq(slot.result)
            with m.If(end_reg):
                m.d.sync += hold.eq(slot.result)
        m.d.sync += drain.eq(Mux(self.drain_load, hold, self.drain_in))

        m.d.comb += [self.a_out.eq(a_reg), self.valid_out.eq(valid_reg), self.start_out.eq(start_reg),
                     self.end_out.eq(end_reg), self.w_out.eq(w_reg), self.drain_out.eq(drain)]
        return m
