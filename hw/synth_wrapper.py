"""A two-pin wrapper for place and route: serial-in shift register on every input, XOR-reduced outputs.

The accelerator's ports (hundreds to thousands of bits of stream payloads) do not fit an FPGA
package, and a design whose inputs are top-level pins has no register-to-register timing path
into its first logic level. :class:`SerialWrapper` gives the inner component exactly two data
pins: ``sin`` shifts into one long register whose bits drive every input port of ``inner``
(payloads, ``valid`` and ``ready`` bits alike), and every output bit of ``inner`` is XOR-reduced
into the registered ``sout``. Nothing of ``inner`` can be optimised away (each output bit reaches
``sout``), every input comes from a flip-flop and every output goes to one, so Fmax is measured
register to register through the design.

Overhead (in the figures, documented by bench/bench_array_synth.py): one flip-flop per input bit
of ``inner``, an XOR tree over its output bits (about one LUT4 per three bits on iCE40) and one
flip-flop. Latency and throughput mean nothing here: the wrapper exists only for synthesis.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..verilog import collect_extra_sources


class SerialWrapper(wiring.Component):
    """``inner`` behind a serial-in shift register and an XOR-reduced output (see the module docstring).

    Parameters
    ----------
    inner : wiring.Component
        Any component clocked by ``sync``; its ``extra_sources`` / ``extra_verilog`` are passed on.

    Attributes
    ----------
    sin : In(1)
    sout : Out(1)
    in_bits, out_bits : int
        Widths of the shift register and of the XOR-reduced output vector.
    """

    def __init__(self, inner: wiring.Component):
        if not isinstance(inner, wiring.Component):
            raise TypeError(f"inner must be an amaranth wiring.Component, not {inner!r}")
        self.inner = inner
        members = list(inner.signature.flatten(inner))
        self._ins = [Value.cast(v) for _, member, v in members if member.flow == wiring.In]
        self._outs = [Value.cast(v) for _, member, v in members if member.flow == wiring.Out]
        self.in_bits = sum(len(v) for v in self._ins)
        self.out_bits = sum(len(v) for v in self._outs)
        if not self.in_bits or not self.out_bits:
            raise ValueError("inner must have input and output ports")
        self.extra_sources = collect_extra_sources(inner)
        self.extra_verilog = dict(getattr(inner, "extra_verilog", None) or {})
        super().__init__({"sin": In(1), "sout": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = self.inner
        chain = Signal(self.in_bits, name="chain")
        m.d.sync += chain.eq(Cat(self.sin, chain[:-1]))
        pos = 0
        for v in self._ins:
            m.d.comb += v.eq(chain[pos:pos + len(v)])
            pos += len(v)
        m.d.sync += self.sout.eq(Cat(*self._outs).xor())
        return m
