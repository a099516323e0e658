"""``verilog:FILE[:TOP]``: an instance of the imported Verilog module itself.

The module's ``a``/``b`` inputs get the operand bits and its output (``w <= 2n`` bits) is
sign-extended (signed) or zero-extended (unsigned) to ``p``, exactly as the golden table was
derived (:mod:`axmac.sim.tabulate`). ``FILE`` is added to :attr:`extra_sources`: every
simulation or synthesis of a design containing this component must compile it.
Combinational (as the module is), latency 0.
"""

from amaranth.hdl import Instance, Module, Signal, signed, unsigned

from .base import MultiplierComponent, register_hw


@register_hw("verilog")
class VerilogInstanceMultiplier(MultiplierComponent):
    """Instance of a user Verilog multiplier. Combinational, latency 0."""

    def __init__(self, model):
        super().__init__(model)
        self.extra_sources = [model.path]

    def elaborate(self, platform):
        m = Module()
        ports = self.model.ports
        shape = signed(ports.p_bits) if self.model.signed else unsigned(ports.p_bits)
        out = Signal(shape, name="imported_p")
        m.submodules.imported = Instance(ports.top, **{f"i_{ports.a}": self.a, f"i_{ports.b}": self.b,
                                                       f"o_{ports.p}": out})
        m.d.comb += self.p.eq(out)
        return m
