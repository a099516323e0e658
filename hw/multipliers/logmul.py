"""Combinational building blocks of the logarithmic multipliers (Mitchell, Mitch-w) and DRUM.

Plain functions returning Amaranth expressions (no state, latency 0), so the components read
like their golden models in :mod:`axmac.golden.multipliers.logmul`:

* :func:`leading_one`: a log-depth leading-one detector (priority encoder tree);
* :func:`shift_left` / :func:`shift_right`: barrel shifters, one 2:1 mux stage per bit of the
  shift amount;
* :func:`magnitude`: sign and exact two's-complement magnitude of an operand;
* :func:`mitchell_antilog`: the log adder and antilog of Mitchell's algorithm on two
  normalised operands (characteristic, left-aligned fraction).

Only adders, comparators, muxes and shifts: no ``*``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Mux, Value


def leading_one(x: Value) -> tuple[Value, Value]:
    """``(position, nonzero)`` of the most significant 1 of unsigned ``x``.

    ``position`` has ``max(1, ceil(log2(len(x))))`` bits and is ``0`` when ``x == 0`` (like a
    plain priority encoder: callers that need it test ``nonzero``). Built as a binary tree: the
    position of a block is the upper half's position when that half is non-zero, else the lower
    half's, with one more bit telling which: depth ``log2(len(x))`` muxes.
    """
    x = Value.cast(x)
    n = len(x)
    if n == 1:
        return Const(0, 1), x[0]
    size = 1 << (n - 1).bit_length()
    bits = [x[i] for i in range(n)] + [Const(0, 1)] * (size - n)

    def tree(lo: int, width: int) -> tuple[Value, Value]:
        if width == 2:
            return bits[lo + 1], bits[lo] | bits[lo + 1]
        half = width // 2
        pl, vl = tree(lo, half)
        ph, vh = tree(lo + half, half)
        return Cat(Mux(vh, ph, pl), vh), vh | vl

    return tree(0, size)


def shift_left(x: Value, amount: Value, width: int) -> Value:
    """``(x << amount)`` truncated to ``width`` bits, as ``len(amount)`` stages of 2:1 muxes."""
    v = Value.cast(x).as_unsigned()
    v = Cat(v, Const(0, max(0, width - len(v))))[:width]
    for i, bit in enumerate(Value.cast(amount)):
        step = 1 << i
        if step >= width:
            v = Mux(bit, Const(0, width), v)
        else:
            v = Mux(bit, Cat(Const(0, step), v[:width - step]), v)
    return v


def shift_right(x: Value, amount: Value) -> Value:
    """Logical ``x >> amount`` (same width as ``x``), as ``len(amount)`` stages of 2:1 muxes."""
    v = Value.cast(x).as_unsigned()
    width = len(v)
    for i, bit in enumerate(Value.cast(amount)):
        step = 1 << i
        if step >= width:
            v = Mux(bit, Const(0, width), v)
        else:
            v = Mux(bit, Cat(v[step:], Const(0, step)), v)
    return v


def magnitude(x: Value, is_signed: bool) -> tuple[Value, Value]:
    """``(negative, |x|)``: ``|x|`` unsigned, ``len(x)`` bits (``|-2**(n-1)| = 2**(n-1)`` fits)."""
    x = Value.cast(x)
    n = len(x)
    if not is_signed:
        return Const(0, 1), x.as_unsigned()
    neg = x[n - 1]
    return neg, Mux(neg, -x, x).as_unsigned()[:n]


def normalise(x: Value, frac_bits: int) -> tuple[Value, Value]:
    """``(k, f)``: characteristic and the top ``frac_bits`` fraction bits of unsigned ``x``.

    ``k`` is the leading-one position (0 for ``x == 0``, which is thus seen as 1) and ``f`` the
    bits below the leading one, left-aligned by a barrel shift of ``len(x) - 1 - k`` and
    truncated to ``frac_bits`` bits (Mitch-w truncation; ``frac_bits = len(x) - 1`` keeps all).
    """
    x = Value.cast(x).as_unsigned()
    width = len(x)
    k, _ = leading_one(x)
    if frac_bits == 0:
        return k, Const(0, 0)
    amount = (Const(width - 1, len(k)) - k)[:len(k)]
    aligned = shift_left(x, amount, width)  # leading one now at bit width-1
    return k, aligned[width - 1 - frac_bits:width - 1]


def mitchell_antilog(k1: Value, f1: Value, k2: Value, f2: Value, out_bits: int) -> Value:
    """Mitchell's antilog of :math:`(k_1 + f_1) + (k_2 + f_2)`, ``out_bits`` wide.

    With ``p = len(f1) = len(f2)`` fraction bits: ``s = f1 + f2`` (``p + 1`` bits), carry
    ``c = s[p]``, mantissa ``1.s[p-1:0]`` and exponent ``k1 + k2 + c``; the result is
    ``(mantissa << exponent) >> p``. The bits shifted out at the bottom are always 0 (see
    :mod:`axmac.golden.multipliers.logmul`), so a left shift and a slice suffice.
    """
    p = len(f1)
    kbits = max(len(k1), len(k2)) + 1
    if p == 0:
        return shift_left(Const(1, 1), (k1 + k2)[:kbits], out_bits)
    s = f1 + f2
    exponent = (k1 + k2 + s[p])[:kbits]
    mantissa = Cat(s[:p], Const(1, 1))
    return shift_left(mantissa, exponent, out_bits + p)[p:]


__all__ = ["leading_one", "magnitude", "mitchell_antilog", "normalise", "shift_left", "shift_right"]
