"""hw/synth_wrapper.py: the serial-in shift register drives every input, ``sout`` is the registered
XOR of every output bit."""

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from axmac.config import ArrayConfig
from axmac.hw.synth_wrapper import SerialWrapper
from axmac.hw.top import Accelerator
from tests.array_bench import run_sim


class Adder(wiring.Component):
    """x (3 bits) + y (2 bits) -> s (4 bits), and a registered copy of y."""

    x: In(3)
    y: In(2)
    s: Out(4)
    yq: Out(2)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.s.eq(self.x + self.y)
        m.d.sync += self.yq.eq(self.y)
        return m


def test_shift_in_and_xor_out():
    dut = SerialWrapper(Adder())
    assert (dut.in_bits, dut.out_bits) == (5, 6)
    bits = [1, 0, 1, 1, 0, 1, 1, 0, 0, 1]
    seen = []

    async def bench(ctx):
        for b in bits:
            ctx.set(dut.sin, b)
            await ctx.tick()
            seen.append((ctx.get(dut.inner.x), ctx.get(dut.inner.y), ctx.get(dut.inner.s), ctx.get(dut.inner.yq),
                         ctx.get(dut.sout)))

    run_sim(dut, bench)
    chain = 0
    prev_xor = 0
    for t, b in enumerate(bits):
        chain = ((chain << 1) | b) & 0b11111  # the newest bit enters at bit 0
        x, y, s, yq, sout = seen[t]
        assert (x, y) == (chain & 0b111, chain >> 3)
        assert sout == prev_xor  # registered: the XOR of the outputs one cycle earlier
        prev_xor = bin(s | (yq << 4)).count("1") % 2


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_accelerator_fits_two_pins():
    cfg = ArrayConfig(rows=2, cols=2, counters="none", gating="icg")
    top = Accelerator(config=cfg)
    w = SerialWrapper(top)
    assert set(w.signature.members) == {"sin", "sout"}
    assert w.in_bits == 26 + 1 + 2 * 8 + 1 + 2 * 8 + 1 + (2 * 69 + 98) + 1 + 1  # cmd, w, a, qp payload+valid; o.ready
    assert w.out_bits == 4 + 2 * 32 + 1  # cmd/w/a/qp ready, o payload, o valid
    assert list(w.extra_verilog) == ["axmac_icg.v"]
    with pytest.raises(TypeError, match="inner must be an amaranth wiring.Component"):
        SerialWrapper(None)
