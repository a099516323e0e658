"""``lut:FILE.npy``: the product table as a ROM addressed by the operand bits ``{a, b}``.

An :class:`amaranth.lib.memory.Memory` of ``2**(2n)`` words of ``2n`` bits initialised with the
golden table (the words are the products' ``2n``-bit patterns), read asynchronously
(``domain="comb"``). At 8 bits that is 65,536 words; the Verilog stays a memory with an
initialiser, which synthesis maps to ROM/LUT logic. Combinational, latency 0.
"""

from amaranth.hdl import Cat, Module, unsigned
from amaranth.lib.memory import Memory

from .base import MultiplierComponent, register_hw


@register_hw("lut")
class LutMultiplier(MultiplierComponent):
    """Product table ROM. Combinational, latency 0."""

    def elaborate(self, platform):
        m = Module()
        n = self.model.bits
        words = (self.model.table().ravel() & ((1 << (2 * n)) - 1)).tolist()  # row-major: (a << n) | b
        m.submodules.rom = rom = Memory(shape=unsigned(2 * n), depth=1 << (2 * n), init=words)
        port = rom.read_port(domain="comb")
        m.d.comb += [port.addr.eq(Cat(self.b, self.a)), self.p.eq(port.data)]
        return m
