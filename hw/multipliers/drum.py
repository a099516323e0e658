"""``drum:k``: DRUM, dynamic range unbiased multiplier (Hashemi, Bahar, Reda, ICCAD 2015).

Structure (golden model: :mod:`axmac.golden.multipliers.drum`)::

    a, b --|abs|--> LOD --> shift = max(t - k + 1, 0) --> barrel shift right, LSB |= (shift != 0)
         --> exact k x k multiplier --> barrel shift left by shift_a + shift_b --> +/- --> p

Combinational, latency 0. The only ``*`` is the small ``k x k`` segment product. Signed with
``k = 2`` (``n > 2``) adds the saturation of the one overflowing square, ``(-2**(n-1))**2``.
"""

from amaranth.hdl import Const, Module, Mux, Signal

from .base import MultiplierComponent, register_hw
from .logmul import leading_one, magnitude, shift_left, shift_right


@register_hw("drum")
class DrumMultiplier(MultiplierComponent):
    """DRUM-k, equal bit for bit to the ``drum:k`` golden model."""

    def _segment(self, m, mag, name):
        """``(segment, shift)`` of an ``n``-bit magnitude: ``k`` bits from the leading one, LSB set."""
        k = self.model.k
        t, _ = leading_one(mag)
        shift = Signal(len(t), name=f"shift_{name}")
        m.d.comb += shift.eq(Mux(t >= k, t - (k - 1), 0))
        seg = Signal(k, name=f"seg_{name}")
        m.d.comb += seg.eq(shift_right(mag, shift)[:k] | (shift != 0))
        return seg, shift

    def elaborate(self, platform):
        m = Module()
        n = self.model.bits
        neg_a, abs_a = magnitude(self.a, self.model.signed)
        neg_b, abs_b = magnitude(self.b, self.model.signed)
        mag_a, mag_b = Signal(n, name="mag_a"), Signal(n, name="mag_b")
        m.d.comb += [mag_a.eq(abs_a), mag_b.eq(abs_b)]
        seg_a, sh_a = self._segment(m, mag_a, "a")
        seg_b, sh_b = self._segment(m, mag_b, "b")

        prod = Signal(2 * self.model.k, name="seg_prod")
        m.d.comb += prod.eq(seg_a * seg_b)
        p_mag = Signal(2 * n, name="p_mag")
        m.d.comb += p_mag.eq(shift_left(prod, sh_a + sh_b, 2 * n))

        if not self.model.signed:
            m.d.comb += self.p.eq(p_mag)
            return m
        neg = neg_a ^ neg_b
        result = Mux(neg, -p_mag, p_mag)
        if self.model.saturates:
            result = Mux(~neg & p_mag[2 * n - 1], Const((1 << (2 * n - 1)) - 1, 2 * n), result)
        m.d.comb += self.p.eq(result)
        return m
