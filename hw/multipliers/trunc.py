"""``trunc:k``: the k LSBs of both operands dropped, then an exact ``(n-k) x (n-k)`` product.

Equal to the golden model (:mod:`axmac.golden.multipliers.trunc`):
``(a & ~(2**k-1)) * (b & ~(2**k-1)) == ((a >> k) * (b >> k)) << 2k`` with ``>>`` arithmetic for
signed operands, so the hardware multiplies only the ``n-k`` kept bits and wires the ``2k`` low
product bits to 0. The kept product is built like ``exact`` at width ``n-k``
(:func:`axmac.hw.multipliers.array.exact_product`: ``*``, Booth-mapped by the flow, for signed
``n-k >= 8``; the Dadda-reduced array otherwise), so ``trunc:k`` and ``exact`` at ``n-k`` bits
cost the same.
"""

from amaranth.hdl import Module

from .array import exact_product
from .base import MultiplierComponent, register_hw


@register_hw("trunc")
class TruncMultiplier(MultiplierComponent):
    """Operand precision scaling. Combinational, latency 0."""

    def elaborate(self, platform):
        m = Module()
        k, sgn = self.model.k, self.model.signed
        a, b = self.a[k:], self.b[k:]  # the kept n-k bits (a slice is unsigned: restore the sign)
        if sgn:
            a, b = a.as_signed(), b.as_signed()
        kept = exact_product(m, a, b, sgn)
        m.d.comb += self.p.eq(kept << (2 * k))
        return m
