"""``mitchw:w``: Mitch-w, truncated Mitchell multiplier with one's-complement sign handling.

Structure (golden model: :mod:`axmac.golden.multipliers.mitchw`)::

    a, b --XOR sign--> LOD + barrel shift, keep w-1 fraction bits --> w-bit add --> antilog
                                                               --> XOR (sa ^ sb) --> zero flag --> p

Signed operands: the C1 conversion is ``n - 1`` XOR gates per operand (no incrementer) and the
log datapath is ``n - 1`` bits wide; the output's C1 is ``2n`` XOR gates. Unsigned operands skip
both. The fraction adder is ``w - 1`` bits wide. Combinational, latency 0; no multiplier.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal

from .base import MultiplierComponent, register_hw
from .logmul import mitchell_antilog, normalise


@register_hw("mitchw")
class MitchWMultiplier(MultiplierComponent):
    """Mitch-w, equal bit for bit to the ``mitchw:w`` golden model."""

    def elaborate(self, platform):
        m = Module()
        n = self.model.bits
        width = self.model.magnitude_bits  # n - 1 signed (C1 values), n unsigned
        frac = min(self.model.w - 1, width - 1)

        if self.model.signed:
            s_a, s_b = self.a[n - 1], self.b[n - 1]
            c1_a = (self.a.as_unsigned() ^ s_a.replicate(n))[:width]
            c1_b = (self.b.as_unsigned() ^ s_b.replicate(n))[:width]
        else:
            s_a = s_b = Const(0, 1)
            c1_a, c1_b = self.a, self.b
        x_a, x_b = Signal(width, name="c1_a"), Signal(width, name="c1_b")
        m.d.comb += [x_a.eq(c1_a), x_b.eq(c1_b)]

        k_a, f_a = Signal(range(max(width, 2)), name="k_a"), Signal(frac, name="f_a")
        k_b, f_b = Signal(range(max(width, 2)), name="k_b"), Signal(frac, name="f_b")
        ka, fa = normalise(x_a, frac)
        kb, fb = normalise(x_b, frac)
        m.d.comb += [k_a.eq(ka), f_a.eq(fa), k_b.eq(kb), f_b.eq(fb)]

        p_mag = Signal(2 * width, name="p_mag")
        m.d.comb += p_mag.eq(mitchell_antilog(k_a, f_a, k_b, f_b, 2 * width))

        p_c1 = Cat(p_mag, Const(0, 2 * (n - width))) ^ (s_a ^ s_b).replicate(2 * n)
        zero = (self.a == 0) | (self.b == 0)
        m.d.comb += self.p.eq(Mux(zero, 0, p_c1))
        return m
