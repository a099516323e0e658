"""``bam:k``: broken-array multiplier built as an explicit partial-product array (no ``*``).

The array is the one documented in :mod:`axmac.golden.multipliers.bam`: row ``i`` is the
``n``-bit word ``(a_i & b) ^ c_i`` shifted left by ``i``, where ``c_i`` selects the
complemented (NAND) bits of the modified Baugh-Wooley array (all zero for unsigned operands);
bits in columns below ``k`` are not built at all; the constant 1 bits (signed: columns ``n`` and
``2n-1``) are added where their column is ``>= k``; the rows are summed modulo ``2**(2n)``.
Combinational, latency 0.
"""

from amaranth.hdl import Module

from ...golden.multipliers.bam import bam_constants
from .array import partial_product_rows, row_sum
from .base import MultiplierComponent, register_hw


@register_hw("bam")
class BamMultiplier(MultiplierComponent):
    """Broken-array multiplier (Baugh-Wooley array when signed). Combinational, latency 0."""

    def elaborate(self, platform):
        m = Module()
        model = self.model
        n = model.bits
        rows = partial_product_rows(self.a, self.b, model.signed, keep=model.row_keep_mask)
        const = sum(1 << c for c in bam_constants(n, model.signed) if c >= model.k)
        m.d.comb += self.p.eq(row_sum(m, rows, const, 2 * n))
        return m
