"""Weight-stationary processing element with trivial-computation bypass and multiplier gating.

One PE of the systolic array: the weight stays, the activation moves right (``a_in`` ->
``a_out``), the partial sum moves down (``psum_in`` -> ``psum_out``)::

              w_in/w_load            psum_in
                  │                     │
          ┌───────▼──────┐  ┌───────────▼─────────────────────────────┐
          │ w_reg + flags│  │ input registers: a_reg, valid, psum_reg,│
          │ (==0, ==+-1) │  │ a flags, a_mul (multiplier operand)     │
          └──┬───────────┘  └──┬─────────────────────────┬────────────┘
  a_in ─► flags, mul_en        │ mult (a_mul, w_reg)     │ MulBypass (ctrl, exact result)
                               └─────► product mux ◄─────┘   -> mul_ctrl
                                          │
                          AddBypass + adder (psum_reg + product) -> add_ctrl
                                          ▼
                                      psum_out                (a_out = a_reg)

Semantics are those of :func:`axmac.golden.pe.pe_stream` (cases, codes, operand roles, idle
slots, ``acc_bits`` wrap): a slot's inputs presented in cycle ``t`` give ``psum_out``,
``mul_ctrl``, ``add_ctrl``, ``a_out`` and ``valid_out`` in cycle ``t + 1``. The slot arithmetic
(:class:`axmac.hw.mac_slot.MacSlot`) and the gating (:func:`axmac.hw.gating.gated_operands`) are
shared with the systolic array's PEs (hw/pe_ws.py, hw/pe_os.py).

Latency and throughput
----------------------
* Latency 1 cycle from ``a_in``/``valid_in``/``psum_in`` to every output. The registers sit on
  the input side, so ``psum_out`` is combinational from this PE's registers (multiplier, product
  multiplexer and adder in one cycle) and is registered by the next PE down.
* Throughput one MAC per cycle.
* ``w_load`` in cycle ``t`` stores ``w_in``; the activation presented in the same cycle already
  meets the new weight. ``w_out`` is the stored weight (chain PEs for column-wise loading).
  The weight's ``== 0`` / ``== +-1`` flags are computed once at load and stored.

Gating (what the multiplier sees in a cycle whose MUL is bypassed, or that is idle)
-----------------------------------------------------------------------------------
* ``"none"``: the multiplier's operand is ``a_reg`` itself; it switches every cycle and its
  result is simply not selected.
* ``"enable"``: operand isolation. The multiplier's activation operand is a register ``a_mul``
  loaded (clock enable) only when the slot is valid and no enabled MUL case applies, so in
  bypassed and idle cycles the multiplier's inputs hold their last values and its logic does not
  switch. (There is no product register: the product goes straight to the adder; the weight
  operand only changes at loads.)
* ``"icg"``: the same ``a_mul`` register, clocked by a latch-based clock gate
  (:class:`axmac.hw.clock_gate.ClockGate`, its own module) whose enable is the same condition
  (or reset), so the register's clock pin is idle too.

ADD cases only select the adder's result (additions are exact and cheap); they do not gate it.
Idle slots (``valid_in`` low) pass the partial sum through and show codes ``00``/``10``.

Cost (``axmac.gen.synth.synth_component(PE(...), "pe", target="generic", registered=False)``:
Yosys 0.70 with the Booth pre-pass of the exact baseline, ``abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX``,
exact 8x8 signed, ``acc_bits=32``; gates excluding flip-flops / CMOS transistor estimate): no
bypass 540 gates + 49 FFs (4400 T); ``zero`` 561 + 51 (4402 T); ``zero,one`` 680 + 53 (5276 T);
all four cases 817 + 53 (5746 T). Gating ``enable`` adds 8 FFs (``a_mul``), ``icg`` 9 (the
clock-gate latch counts as one: 5990 T). The ADD cases cost about as much as the 32-bit adder they
bypass (all four cases: +51% gates over no bypass).

Verification: ``tests/test_pe.py`` (cocotb + Verilator vs :mod:`axmac.golden.pe`, every cycle,
and the isolation property) and ``tests/test_pe_formal.py`` (Yosys k-induction: with all cases
and the exact multiplier the PE equals an independently written MAC, for every gating mode).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.hdl import signed as signed_shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..golden.bypass import NO_BYPASS, Bypass
from ..golden.multipliers import Multiplier
from .bypass import MulBypass, mul_needed, operand_flags
from .gating import GATINGS, gated_operands, gating_verilog
from .mac_slot import MacSlot, check_pe_args, register_operand
from .multipliers import make_hw_multiplier

#: The dataflow of this stand-alone PE (the array's PEs: hw/pe_ws.py, hw/pe_os.py).
SUPPORTED_DATAFLOWS = ("ws",)


class PE(wiring.Component):
    """Weight-stationary MAC processing element (see the module docstring for timing).

    Parameters
    ----------
    multiplier : Multiplier
        Golden model of the multiplier (``make_multiplier(spec, bits, signed)``); its hardware,
        ``make_hw_multiplier(multiplier)``, is the submodule ``mult``.
    acc_bits : int
        Partial-sum width (signed two's complement, wraps), ``2*bits <= acc_bits <= 64``.
    bypass : Bypass
        Enabled trivial-computation cases (Ma & Jiao); a bypassed product is exact.
    gating : "none" | "enable" | "icg"
        How the multiplier is kept idle in bypassed and idle cycles.
    dataflow : "ws"
        Weight-stationary (the only dataflow implemented).

    Attributes
    ----------
    w_in, w_load, w_out : weight load port and stored weight.
    a_in, valid_in, a_out, valid_out : moving activation (registered pass-through).
    psum_in, psum_out : partial sums, ``signed(acc_bits)``.
    mul_ctrl, add_ctrl : Out(2), Table IV control codes of the slot shown on ``psum_out``.
    mult : the multiplier component (probe ``mult.a``/``mult.b`` to see gating at work).
    extra_sources, extra_verilog : sources the generated Verilog needs (see ``write_design``).
    """

    #: The MUL bypass unit (a hook for tests that inject a bug into it).
    mul_bypass_cls = MulBypass

    def __init__(self, *, multiplier: Multiplier, acc_bits: int = 32, bypass: Bypass = NO_BYPASS,
                 gating: str = "none", dataflow: str = "ws"):
        check_pe_args(multiplier, acc_bits, bypass, gating, "wrap")
        if dataflow not in SUPPORTED_DATAFLOWS:
            raise ValueError(f"dataflow must be 'ws' (weight-stationary; 'os' is not implemented), not {dataflow!r}")
        self.model, self.acc_bits, self.bypass, self.gating, self.dataflow = (
            multiplier, acc_bits, bypass, gating, dataflow)
        self.bits, self.is_signed = multiplier.bits, multiplier.signed
        self.mult = make_hw_multiplier(multiplier)
        self.extra_sources = list(self.mult.extra_sources)
        self.extra_verilog = dict(getattr(self.mult, "extra_verilog", None) or {})
        self.extra_verilog.update(gating_verilog(gating))
        op = signed_shape(self.bits) if self.is_signed else unsigned(self.bits)
        acc = signed_shape(acc_bits)
        super().__init__({
            "w_in": In(op), "w_load": In(1), "w_out": Out(op),
            "a_in": In(op), "valid_in": In(1), "a_out": Out(op), "valid_out": Out(1),
            "psum_in": In(acc), "psum_out": Out(acc),
            "mul_ctrl": Out(2), "add_ctrl": Out(2),
        })

    def elaborate(self, platform):
        m = Module()
        bp, sgn = self.bypass, self.is_signed
        op = self.a_in.shape()
        m.submodules.mult = mult = self.mult
        m.submodules.slot = slot = MacSlot(bits=self.bits, signed=sgn, acc_bits=self.acc_bits, bypass=bp,
                                           mul_bypass_cls=self.mul_bypass_cls)

        # -- stationary weight and its flags, computed once at load ---------------------------
        w_reg = Signal(op, name="w_reg")
        w_zero = Signal(init=1, name="w_zero")  # the weight resets to 0
        w_one = Signal(name="w_one")
        in_zero, in_one = operand_flags(self.w_in, sgn)
        with m.If(self.w_load):
            m.d.sync += [w_reg.eq(self.w_in), w_zero.eq(in_zero), w_one.eq(in_one)]
        # flags of the weight this cycle's activation meets (a load applies at once)
        nw_zero = Mux(self.w_load, in_zero, w_zero)
        nw_one = Mux(self.w_load, in_one, w_one)

        # -- input registers ----------------------------------------------------------------------
        a_reg, a_zero_q, a_one_q, a_zero, a_one = register_operand(m, self.a_in, sgn, "a")
        valid_reg = Signal(name="valid_reg")
        psum_reg = Signal(self.psum_in.shape(), name="psum_reg")
        m.d.sync += [valid_reg.eq(self.valid_in), psum_reg.eq(self.psum_in)]

        # -- the multiplier's activation operand, isolated by gating ---------------------------
        mul_en = Signal(name="mul_en")  # this cycle's slot needs the multiplier
        m.d.comb += mul_en.eq(self.valid_in & mul_needed(bp, a_zero, a_one, nw_zero, nw_one))
        (a_mul,) = gated_operands(m, gating=self.gating, enable=mul_en, operands=[(self.a_in, a_reg, "a_mul")])
        m.d.comb += [mult.a.eq(a_mul), mult.b.eq(w_reg)]

        # -- bypass or multiplier, then bypass or adder (hw/mac_slot.py) ------------------------
        m.d.comb += [slot.valid.eq(valid_reg), slot.a.eq(a_reg), slot.b.eq(w_reg), slot.a_zero.eq(a_zero_q),
                     slot.a_one.eq(a_one_q), slot.b_zero.eq(w_zero), slot.b_one.eq(w_one),
                     slot.mult_p.eq(mult.p), slot.addend.eq(psum_reg)]
        m.d.comb += [self.psum_out.eq(slot.result), self.mul_ctrl.eq(slot.mul_ctrl), self.add_ctrl.eq(slot.add_ctrl),
                     self.a_out.eq(a_reg), self.valid_out.eq(valid_reg), self.w_out.eq(w_reg)]
        return m


__all__ = ["GATINGS", "NO_BYPASS", "PE", "SUPPORTED_DATAFLOWS"]
