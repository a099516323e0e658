"""``mitchell``: Mitchell's logarithmic multiplier, exact sign-magnitude handling.

Structure (golden model: :mod:`axmac.golden.multipliers.mitchell`)::

    a, b --|abs|--> LOD + barrel shift (k, f) --> add (k1+k2, f1+f2) --> antilog shift --> +/- --> p
             (two's complement)                                                       zero flag

Combinational, latency 0: two magnitude negators, two ``n``-bit leading-one detectors and
normalising shifters, an ``n``-bit fraction adder, a ``2n``-bit antilog barrel shifter and the
output negator. No multiplier.
"""

from amaranth.hdl import Module, Mux, Signal

from .base import MultiplierComponent, register_hw
from .logmul import magnitude, mitchell_antilog, normalise


@register_hw("mitchell")
class MitchellMultiplier(MultiplierComponent):
    """Mitchell's log multiplier, equal bit for bit to the ``mitchell`` golden model."""

    def elaborate(self, platform):
        m = Module()
        n = self.model.bits
        width = self.model.magnitude_bits

        neg_a, abs_a = magnitude(self.a, self.model.signed)
        neg_b, abs_b = magnitude(self.b, self.model.signed)
        mag_a, mag_b = Signal(width, name="mag_a"), Signal(width, name="mag_b")
        m.d.comb += [mag_a.eq(abs_a), mag_b.eq(abs_b)]
        k_a, f_a = Signal(range(max(width, 2)), name="k_a"), Signal(width - 1, name="f_a")
        k_b, f_b = Signal(range(max(width, 2)), name="k_b"), Signal(width - 1, name="f_b")
        ka, fa = normalise(mag_a, width - 1)
        kb, fb = normalise(mag_b, width - 1)
        m.d.comb += [k_a.eq(ka), f_a.eq(fa), k_b.eq(kb), f_b.eq(fb)]

        p_mag = Signal(2 * width, name="p_mag")
        m.d.comb += p_mag.eq(mitchell_antilog(k_a, f_a, k_b, f_b, 2 * width))

        zero = (self.a == 0) | (self.b == 0)
        signed_p = Mux(neg_a ^ neg_b, -p_mag, p_mag)
        m.d.comb += self.p.eq(Mux(zero, 0, signed_p[:2 * n]))
        return m
