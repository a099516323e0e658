"""``exact``: ``p = a * b``, built as the smallest exact structure measured.

Structure (:func:`axmac.hw.multipliers.array.exact_product`): for signed operands of 8 bits or
more, the ``*`` operator, which the project's synthesis flow (:mod:`axmac.gen.synth`) maps to a
radix-4 Booth multiplier; for unsigned operands and narrower signed ones, the partial-product
array of ``bam:0`` (AND array, or modified Baugh-Wooley when signed) reduced by a Dadda tree of
full/half adders and one final adder. Combinational, latency 0.

Why: every area saving is quoted against ``exact``, so it must not be padded. Measured with the
project's own flow (:mod:`axmac.gen.synth`, Yosys 0.70): ``gates`` (two-input gates and muxes) /
CMOS transistor estimate / iCE40 hx8k LUT4 / Fmax MHz with registered I/O, for ``*`` with Yosys's
default mapping, ``*`` mapped to a radix-4 Booth multiplier, the ``bam:0`` array summed row by row
(``array``) and reduced by a Dadda tree (``csa``); ``>`` marks what ``exact`` builds::

    format  *                  booth               array               csa
    s4       91/  860/ 37/189   66/  512/ 30/227    68/  558/ 33/153  > 64/  512/ 27/197
    s8      419/ 3688/176/120 > 314/ 2798/127/117  336/ 2894/145/ 84    328/ 2800/132/121
    s12     995/ 8646/422/ 86 > 722/ 6340/284/ 92  810/ 7022/350/ 63    784/ 6640/327/ 93
    s16    1796/15894/776/ 70 >1281/11246/484/ 79 1511/12978/642/ 44   1431/11844/599/ 76
    u4       70/  532/ 28/192   96/  810/ 39/168    63/  478/ 28/147  > 62/  464/ 25/166
    u8      344/ 2750/158/118  363/ 3014/144/113   337/ 2686/127/ 81  >330/ 2646/133/107
    u12     813/ 6636/369/ 87  786/ 6906/315/ 88   791/ 6562/335/ 62  >795/ 6310/326/ 84
    u16    1511/12630/681/ 72 1361/12774/546/ 72  1506/12392/613/ 42 >1442/11404/600/ 72

(``.venv/bin/python bench/bench_exact_baseline.py [--bits ...]``.) Signed, Booth is the smallest
from 8 bits on (also at 9 and 10); below 8 bits (2-7) the Dadda array is smallest or within 1 %
(s5: array 944, csa 952 transistors). Unsigned, Booth needs an extra row and is the largest in
transistors; the Dadda array is smallest at every width from 3 to 16 bits or within 1.3 % (u6:
``*`` 1380, csa 1398). Against the former plain ``*``, the signed baseline shrinks by 24-40 %
in transistors (s8: 3688 -> 2798), the unsigned one by 4-13 %. The Booth mapping is a synthesis
step, so the Verilog keeps the readable ``a * b`` for signed operands of 8 bits or more.
"""

from amaranth.hdl import Module

from .array import STRUCTURES, exact_product
from .base import MultiplierComponent, register_hw


@register_hw("exact")
class ExactMultiplier(MultiplierComponent):
    """Exact product. Combinational, latency 0.

    Parameters
    ----------
    model : Multiplier
        The ``exact`` golden model.
    structure : {"mul", "array", "csa"}, optional
        Force one structure (for measurements); default the smallest (see the module docstring).
    """

    def __init__(self, model, *, structure: str | None = None):
        if structure is not None and structure not in STRUCTURES:
            raise ValueError(f"structure must be one of {', '.join(map(repr, STRUCTURES))}, not {structure!r}")
        super().__init__(model)
        self.structure = structure

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.p.eq(exact_product(m, self.a, self.b, self.model.signed, structure=self.structure))
        return m
