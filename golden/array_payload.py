"""Bit layouts of the array's stream payloads (``docs/array.md``, "Ports of the top"), and packing.

Written from the contract, not from ``hw/``: payloads are ``amaranth.lib.data`` layouts, so a
struct's fields sit in **declaration order from the LSB** and an array's element 0 is at the LSBs;
a signed field holds its two's complement. With operands of ``b`` bits, ``A = acc_bits``:

========  ==========================================================================  ===========
stream    fields (LSB first)                                                          width
========  ==========================================================================  ===========
``cmd``   ``count`` u16 @0, ``first`` @16, ``last`` @17, ``qp_commit`` @18, ``m`` u7 @19  26
``w``     ``C`` operands, lane ``c`` at ``c*b``                                         ``C*b``
``a``     ``R`` operands, lane ``r`` at ``r*b``                                         ``R*b``
``qp``    ``col[c]`` = (``bias`` sA, ``mult`` u31, ``shift`` u6) at ``c*(A+37)``,       ``C*(A+37)
          then ``zp`` sA, ``lo`` sA, ``hi`` sA, ``relu`` 1, ``requant`` 1               + 3A + 2``
``o``     ``C`` results ``signed(A)``, lane ``c`` at ``c*A``                            ``C*A``
========  ==========================================================================  ===========

A :class:`Layout` packs beats given as arrays (one row per beat) into Python integers (any
width) and back; :func:`stream_layouts` gives the five layouts of an
:class:`~axmac.config.ArrayConfig`. ``tests/test_array_program.py`` checks them against
``amaranth.lib.data`` layouts built from the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import COUNT_BITS, ArrayConfig
from ..errors import AxmacError

#: Widths of the fixed fields (``docs/array.md``).
CMD_M_BITS = 7
MULT_BITS = 31
SHIFT_BITS = 6


@dataclass(frozen=True)
class Leaf:
    """A field, or ``count`` equal fields ``stride`` bits apart (an array member), in a layout."""

    name: str
    offset: int
    width: int
    signed: bool = False
    count: int = 1
    stride: int = 0


@dataclass(frozen=True)
class Layout:
    """A payload layout: its leaves and total width (bits)."""

    name: str
    leaves: tuple[Leaf, ...]
    width: int

    def leaf(self, name: str) -> Leaf:
        for f in self.leaves:
            if f.name == name:
                return f
        raise KeyError(name)

    def pack(self, values: dict) -> list[int]:
        """Beats -> payload integers (LSB = bit 0).

        ``values[name]`` is ``(n,)`` for a single field, ``(n, count)`` for an array member;
        every leaf must be given, each value must fit its field (:class:`AxmacError` if not).
        """
        missing = [f.name for f in self.leaves if f.name not in values]
        if missing:
            raise AxmacError(f"{self.name} payload: no values for field {missing[0]!r}")
        n = len(np.asarray(values[self.leaves[0].name]))
        bits = np.zeros((n, self.width), dtype=np.uint8)
        for f in self.leaves:
            v = np.asarray(values[f.name], dtype=np.int64).reshape(n, f.count)
            lo, hi = (-(1 << (f.width - 1)), (1 << (f.width - 1)) - 1) if f.signed else (0, (1 << f.width) - 1)
            if v.size and (v.min() < lo or v.max() > hi):
                bad = v[(v < lo) | (v > hi)][0]
                raise AxmacError(f"{self.name} payload: {f.name} = {bad} does not fit "
                                 f"{'signed' if f.signed else 'unsigned'}({f.width})")
            fb = ((v[:, :, None] >> np.arange(f.width, dtype=np.int64)) & 1).astype(np.uint8)
            for j in range(f.count):
                at = f.offset + j * f.stride
                bits[:, at:at + f.width] = fb[:, j]
        raw = np.packbits(bits, axis=1, bitorder="little")
        return [int.from_bytes(row.tobytes(), "little") for row in raw]

    def unpack(self, payloads) -> dict:
        """Payload integers -> ``{name: array}`` (int64, shapes as :meth:`pack` takes them)."""
        payloads = [int(p) for p in payloads]
        nbytes = (self.width + 7) // 8
        if any(p < 0 or p >> self.width for p in payloads):
            raise AxmacError(f"{self.name} payload wider than {self.width} bits")
        raw = np.frombuffer(b"".join(p.to_bytes(nbytes, "little") for p in payloads), dtype=np.uint8)
        bits = np.unpackbits(raw.reshape(len(payloads), nbytes), axis=1, bitorder="little")
        out = {}
        for f in self.leaves:
            weights = np.left_shift(np.uint64(1), np.arange(f.width, dtype=np.uint64))
            cols = []
            for j in range(f.count):
                at = f.offset + j * f.stride
                u = (bits[:, at:at + f.width].astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
                if f.signed and f.width < 64:
                    u = u.astype(np.int64) - (((u >> np.uint64(f.width - 1)) & np.uint64(1)).astype(np.int64)
                                              << np.int64(f.width))
                cols.append(u.astype(np.int64) if not f.signed or f.width < 64 else u.view(np.int64))
            out[f.name] = np.stack(cols, axis=1) if f.count > 1 or f.stride else cols[0]
        return out


def _struct(name: str, fields) -> Layout:
    """A struct of ``(name, width, signed)`` fields and ``(name, [(sub, width, signed)...], count)``
    array-of-struct members, laid out in declaration order from bit 0."""
    leaves, at = [], 0
    for item in fields:
        if isinstance(item[1], list):
            member, subs, count = item
            stride = sum(w for _, w, _ in subs)
            off = 0
            for sub, w, s in subs:
                leaves.append(Leaf(f"{member}.{sub}", at + off, w, s, count, stride))
                off += w
            at += stride * count
        else:
            fname, w, s = item
            leaves.append(Leaf(fname, at, w, s))
            at += w
    return Layout(name, tuple(leaves), at)


def _array(name: str, width: int, signed: bool, count: int) -> Layout:
    return Layout(name, (Leaf(name, 0, width, signed, count, width),), width * count)


def cmd_layout() -> Layout:
    """``count: unsigned(16), first: 1, last: 1, qp_commit: 1, m: unsigned(7)``."""
    return _struct("cmd", [("count", COUNT_BITS, False), ("first", 1, False), ("last", 1, False),
                           ("qp_commit", 1, False), ("m", CMD_M_BITS, False)])


def qp_layout(cfg: ArrayConfig) -> Layout:
    """``col: C x (bias sA, mult u31, shift u6), zp sA, lo sA, hi sA, relu 1, requant 1``."""
    a = cfg.acc_bits
    return _struct("qp", [("col", [("bias", a, True), ("mult", MULT_BITS, False), ("shift", SHIFT_BITS, False)],
                           cfg.cols),
                          ("zp", a, True), ("lo", a, True), ("hi", a, True), ("relu", 1, False),
                          ("requant", 1, False)])


def stream_layouts(cfg: ArrayConfig) -> dict[str, Layout]:
    """The layouts of ``cmd``, ``w``, ``a``, ``qp`` and ``o`` for ``cfg``."""
    return {"cmd": cmd_layout(), "w": _array("w", cfg.bits, cfg.signed, cfg.cols),
            "a": _array("a", cfg.bits, cfg.signed, cfg.rows), "qp": qp_layout(cfg),
            "o": _array("o", cfg.acc_bits, True, cfg.cols)}
