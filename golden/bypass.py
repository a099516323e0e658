"""Trivial-computation bypass (Ma & Jiao): which cases a PE skips, and what that does to products.

Cases, each switchable (names as on the command line, ``--bypass zero,one,add-zero,opposite``):

* ``zero``      (a) a multiplier operand is 0        -> product 0, multiplier idle;
* ``one``       (b) a multiplier operand is +1 / -1  -> +/- the other operand (sign by XOR);
* ``add-zero``  (d) an addend is 0                   -> the other addend, adder idle;
* ``opposite``  (e) the addends are opposite (a+b=0) -> 0, adder idle.

A bypassed multiplication is **exact** even when the multiplier is approximate: the bypass unit
produces the result, not the multiplier. Rules are applied in the order (a), then (b). Additions
are always exact, so (d) and (e) never change a result, only which hardware switches; they
matter for statistics and energy. ``all`` enables every case, ``none`` (the default) none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AxmacError

CASE_NAMES = ("zero", "one", "add-zero", "opposite")


@dataclass(frozen=True)
class Bypass:
    zero: bool = False
    one: bool = False
    add_zero: bool = False
    opposite: bool = False

    @classmethod
    def parse(cls, text: str | None) -> Bypass:
        """``"zero,one"`` / ``"all"`` / ``"none"`` / ``""`` -> :class:`Bypass`."""
        if text is None:
            return cls()
        items = [t.strip().lower() for t in text.split(",") if t.strip()]
        if items in ([], ["none"]):
            return cls()
        if items == ["all"]:
            return cls(True, True, True, True)
        bad = [t for t in items if t not in CASE_NAMES]
        if bad:
            raise AxmacError(f"unknown bypass case {bad[0]!r} (known: {', '.join(CASE_NAMES)}, all, none)")
        return cls(*(name in items for name in CASE_NAMES))

    @property
    def any_mul(self) -> bool:
        return self.zero or self.one

    def __str__(self) -> str:
        on = [n for n, f in zip(CASE_NAMES, (self.zero, self.one, self.add_zero, self.opposite), strict=True) if f]
        return ",".join(on) if on else "none"

    def mul_bypassed(self, a: np.ndarray, b: np.ndarray, signed: bool) -> np.ndarray:
        """Boolean mask of the products the bypass unit computes instead of the multiplier."""
        a = np.asarray(a)
        b = np.asarray(b)
        mask = np.zeros(np.broadcast_shapes(a.shape, b.shape), dtype=bool)
        if self.zero:
            mask |= (a == 0) | (b == 0)
        if self.one:
            mask |= (a == 1) | (b == 1)
            if signed:
                mask |= (a == -1) | (b == -1)
        return mask

    def apply(self, approx: np.ndarray, a: np.ndarray, b: np.ndarray, signed: bool) -> np.ndarray:
        """Products of a PE with this bypass: exact ``a*b`` where bypassed, ``approx`` elsewhere."""
        if not self.any_mul:
            return approx
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        return np.where(self.mul_bypassed(a, b, signed), a * b, approx)

    def apply_to_table(self, table: np.ndarray, values: np.ndarray, signed: bool) -> np.ndarray:
        """A product table (indexed by bit pattern, ``values[i]`` = value of pattern ``i``) with
        the bypassed entries replaced by exact products: the table of the whole PE product path."""
        if not self.any_mul:
            return table
        a = values[:, None]
        b = values[None, :]
        return self.apply(table, a, b, signed)
