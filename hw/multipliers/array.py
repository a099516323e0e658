"""Exact product structures: partial-product arrays, their carry-save reduction, and the choice.

The partial-product array is the one of :mod:`axmac.golden.multipliers.bam` (plain AND array when
unsigned, modified Baugh-Wooley array when signed, constant 1 bits included). Two ways of summing
it are built here, bit for bit:

* :func:`row_sum`: each row an ``n``-bit word, the rows added with ``+`` (Yosys makes a chain of
  adders of them: small, but the carries ripple through every row);
* :func:`csa_sum`: a Dadda tree of full and half adders reduces every column to at most two
  bits (carry-save), then one ``2n``-bit adder adds the two rows.

:func:`exact_product` builds an exact product with the smallest structure measured
(``hw/multipliers/exact.py`` has the figures): for signed operands of 8 bits or more the ``*``
operator, which the project's synthesis flow maps to a radix-4 Booth multiplier
(:mod:`axmac.gen.synth`); otherwise the Dadda-reduced array.
Combinational, latency 0.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Signal, Value

from ...golden.multipliers.bam import bam_constants, bam_rows

#: exact product structures (see :func:`exact_product`).
STRUCTURES = ("mul", "array", "csa")
#: signed operands at least this wide: ``*`` (Booth in the flow) is smaller than the Dadda array.
BOOTH_MIN_BITS = 8

_DADDA = [2]  # Dadda's column heights: d_1 = 2, d_{j+1} = floor(3 d_j / 2)
while _DADDA[-1] < 1 << 10:
    _DADDA.append(_DADDA[-1] * 3 // 2)


def best_structure(bits: int, signed: bool) -> str:
    """The smallest exact structure for ``bits``-bit operands: ``"mul"`` or ``"csa"``."""
    return "mul" if signed and bits >= BOOTH_MIN_BITS else "csa"


def partial_product_rows(a: Value, b: Value, signed: bool, keep=None) -> list[tuple[int, Value]]:
    """``(i, word)`` for each row ``i`` of the array: an ``n``-bit word of columns ``i .. i+n-1``.

    ``(a_i & b) ^ c_i`` with ``c_i`` the complemented (NAND) bits of the Baugh-Wooley array;
    ``keep(i)`` (default all ones) masks the bits that are built; rows keeping none are left out.
    """
    n = len(a)
    b = Value.cast(b).as_unsigned()
    rows = []
    for i, (_, invert) in enumerate(bam_rows(n, signed)):
        mask = (1 << n) - 1 if keep is None else keep(i)
        if mask:
            rows.append((i, ((a[i].replicate(n) & b) ^ invert) & mask))
    return rows


def row_sum(m, rows: list[tuple[int, Value]], consts: int, width: int, name: str = "pp") -> Value:
    """``sum(word << i) + consts`` modulo ``2**width`` over the ``(i, word)`` rows, each row a named
    signal ``<name><i>`` (the sum: ``<name>_sum``)."""
    terms = []
    for i, row in rows:
        sig = Signal(len(row), name=f"{name}{i}")
        m.d.comb += sig.eq(row)
        terms.append(sig << i)
    if consts:
        terms.append(Const(consts, width))
    total = Signal(width, name=f"{name}_sum")
    m.d.comb += total.eq(sum(terms) if terms else 0)
    return total


def csa_sum(m, columns: list[list[Value]], width: int, name: str = "csa") -> Value:
    """The sum of the 1-bit ``columns[c]`` (weight ``2**c``) modulo ``2**width``, ``width`` bits.

    Dadda reduction: for each height ``d`` of Dadda's sequence below the tallest column, from
    the largest down to 2, each column is cut to ``d`` bits with full adders (3 bits -> sum here,
    carry to the next column) and, where one bit too many is left, a half adder; then the two
    remaining rows go through one adder. Sum and carry bits are named signals
    ``<name>_<stage>_<column>_<k>``.
    """
    cols = [list(c) for c in columns[:width]] + [[] for _ in range(width - len(columns))]
    count = 0

    def bit(expr, stage, col):
        nonlocal count
        s = Signal(name=f"{name}_{stage}_{col}_{count}")
        count += 1
        m.d.comb += s.eq(expr)
        return s

    heights = [d for d in _DADDA if d < max(len(c) for c in cols)]
    for stage, d in enumerate(reversed(heights)):
        nxt = [[] for _ in range(width + 1)]
        for c in range(width):
            left = cols[c]
            while len(left) + len(nxt[c]) > d:
                if len(left) + len(nxt[c]) == d + 1:  # half adder: one bit fewer
                    x, y, left = left[0], left[1], left[2:]
                    nxt[c].append(bit(x ^ y, stage, c))
                    nxt[c + 1].append(bit(x & y, stage, c + 1))
                else:  # full adder: two bits fewer
                    x, y, z, left = left[0], left[1], left[2], left[3:]
                    nxt[c].append(bit(x ^ y ^ z, stage, c))
                    nxt[c + 1].append(bit((x & y) | (z & (x ^ y)), stage, c + 1))
            nxt[c].extend(left)
        cols = nxt[:width]  # a carry out of the top column wraps away
    zero = Const(0, 1)
    r0 = Cat(*(c[0] if len(c) > 0 else zero for c in cols))
    r1 = Cat(*(c[1] if len(c) > 1 else zero for c in cols))
    total = Signal(width, name=f"{name}_sum")
    m.d.comb += total.eq(r0 + r1)
    return total


def array_columns(rows: list[tuple[int, Value]], consts: int, width: int) -> list[list[Value]]:
    """The bits of the ``(i, word)`` rows (``word`` shifted left by ``i``) and of ``consts`` by column."""
    cols = [[] for _ in range(width)]
    for i, row in rows:
        for j in range(len(row)):
            if i + j < width:
                cols[i + j].append(row[j])
    for c in range(width):
        if consts >> c & 1:
            cols[c].append(Const(1, 1))
    return cols


def exact_product(m, a: Value, b: Value, signed: bool, *, structure: str | None = None,
                  name: str = "prod") -> Value:
    """The exact ``2n``-bit product of the ``n``-bit operands ``a`` and ``b`` (of signedness ``signed``).

    ``structure``: ``"mul"`` (``a * b``, mapped by synthesis), ``"array"`` (:func:`row_sum` of the
    array), ``"csa"`` (:func:`csa_sum` of it); default :func:`best_structure`. The result is a
    ``signed(2n)`` value when ``signed``.
    """
    n = len(a)
    structure = best_structure(n, signed) if structure is None else structure
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {', '.join(map(repr, STRUCTURES))}, not {structure!r}")
    if structure == "mul":
        return a * b
    rows = partial_product_rows(a, b, signed)
    consts = sum(1 << c for c in bam_constants(n, signed))
    if structure == "array":
        total = row_sum(m, rows, consts, 2 * n, name=f"{name}_pp")
    else:
        total = csa_sum(m, array_columns(rows, consts, 2 * n), 2 * n, name=name)
    return total.as_signed() if signed else total


__all__ = ["BOOTH_MIN_BITS", "STRUCTURES", "array_columns", "best_structure", "csa_sum", "exact_product",
           "partial_product_rows", "row_sum"]
