"""``trunc:k``: the k LSBs of both operands dropped, then an exact ``(n-k) x (n-k)`` product.

Equal to the golden model (:mod:`axmac.golden.multipliers.trunc`):
``(a & ~(2**k-1)) * (b & ~(2**k-1)) == ((a >> k) * (b >> k)) << 2k`` with ``>>`` arithmetic for
signed operands, so the hardware multiplies only the ``n-k`` kept bits and wires the ``2k`` low
product bits to 0.
"""

from amaranth.hdl import Module

from .base import MultiplierComponent, register_hw


@register_hw("trunc")
class TruncMultiplier(MultiplierComponent):
    """Operand precision scaling. Combinational, latency 0."""

    def elaborate(self, platform):
        m = Module()
        k = self.model.k
        m.d.comb += self.p.eq(((self.a >> k) * (self.b >> k)) << (2 * k))
        return m
