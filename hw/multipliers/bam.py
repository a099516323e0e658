"""``bam:k``: broken-array multiplier built as an explicit partial-product array (no ``*``).

The array is the one documented in :mod:`axmac.golden.multipliers.bam`: row ``i`` is the
``n``-bit word ``(a_i & b) ^ c_i`` shifted left by ``i``, where ``c_i`` selects the
complemented (NAND) bits of the modified Baugh-Wooley array (all zero for unsigned operands);
bits in columns below ``k`` are not built at all; the constant 1 bits (signed: columns ``n`` and
``2n-1``) are added where their column is ``>= k``; the rows are summed modulo ``2**(2n)``.
Combinational, latency 0.
"""

from amaranth.hdl import Const, Module, Signal

from ...golden.multipliers.bam import bam_constants, bam_rows
from .base import MultiplierComponent, register_hw


@register_hw("bam")
class BamMultiplier(MultiplierComponent):
    """Broken-array multiplier (Baugh-Wooley array when signed). Combinational, latency 0."""

    def elaborate(self, platform):
        m = Module()
        model = self.model
        n = model.bits
        b = self.b.as_unsigned()
        terms = []
        for i, (_, invert) in enumerate(bam_rows(n, model.signed)):
            keep = model.row_keep_mask(i)
            if keep == 0:
                continue
            row = Signal(n, name=f"pp{i}")  # partial-product row i (bits of columns i .. i+n-1)
            m.d.comb += row.eq(((self.a[i].replicate(n) & b) ^ invert) & keep)
            terms.append(row << i)
        const = sum(1 << c for c in bam_constants(n, model.signed) if c >= model.k)
        if const:
            terms.append(Const(const, 2 * n))
        total = Signal(2 * n, name="pp_sum")
        m.d.comb += total.eq(sum(terms) if terms else 0)
        m.d.comb += self.p.eq(total)
        return m
