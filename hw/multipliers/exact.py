"""``exact``: ``p = a * b`` (Yosys maps it to its own multiplier structure)."""

from amaranth.hdl import Module

from .base import MultiplierComponent, register_hw


@register_hw("exact")
class ExactMultiplier(MultiplierComponent):
    """Exact product. Combinational, latency 0."""

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.p.eq(self.a * self.b)
        return m
