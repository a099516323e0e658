"""Test streams of the systolic array: idle / backpressure patterns and bulk beat files.

docs/array.md, "Test streams": the driver of an input stream presents its next beat in cycle
``t`` only if no beat is pending and ``idle[t mod L]`` is false; ``o.ready`` during cycle ``t`` is
``not stall[t mod L]``. :class:`StreamPatterns` holds one such pattern per input stream and the
stall pattern of ``o``; the golden array model (``golden/array.py``) and the Verilog harness
(``sim/harness.py``) both read it, so that the expected cycle of every output beat and the cycle
it is captured in can be compared.

Beats travel in bulk: :func:`write_hex` writes a stream's payloads (Python integers of ``bits``
bits, or an ``(n, words)`` array of little-endian 64-bit words) as a ``$readmemh`` file, and
:func:`read_hex` reads a ``$writememh`` dump back into such a word array, both vectorised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: The input streams of the array's top, in the order the harness lists them.
INPUTS = ("cmd", "w", "a", "qp")
#: Longest pattern the harness holds (``L <= MAX_PATTERN``).
MAX_PATTERN = 4096

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE = np.full(256, 255, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_NIBBLE[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16)
_NIBBLE[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)


def _pattern(p, what: str) -> np.ndarray:
    a = np.asarray(p, dtype=bool).ravel()
    if not 1 <= a.size <= MAX_PATTERN:
        raise ValueError(f"{what} pattern length must be in 1..{MAX_PATTERN}, not {a.size}")
    return a


@dataclass(frozen=True)
class StreamPatterns:
    """Idle patterns of the input streams and the stall pattern of ``o`` (docs/array.md).

    Parameters
    ----------
    idle : dict of str to bool array
        ``idle[name][t % L]``: the driver of stream ``name`` presents no new beat in cycle ``t``.
        Streams left out never idle.
    stall : bool array
        ``stall[t % L]``: ``o.ready`` is low in cycle ``t``.
    """

    idle: dict = field(default_factory=dict)
    stall: np.ndarray = field(default_factory=lambda: np.zeros(1, bool))

    def __post_init__(self):
        unknown = set(self.idle) - set(INPUTS)
        if unknown:
            raise ValueError(f"no input stream {sorted(unknown)[0]!r} (streams: {', '.join(INPUTS)})")
        object.__setattr__(self, "idle", {s: _pattern(self.idle.get(s, False), f"idle[{s}]") for s in INPUTS})
        object.__setattr__(self, "stall", _pattern(self.stall, "stall"))

    @classmethod
    def keep_up(cls) -> StreamPatterns:
        """All inputs always valid, ``o.ready`` always high (the cycle model's case)."""
        return cls()

    @classmethod
    def random(cls, rng: np.random.Generator, *, idle: float = 0.3, stall: float = 0.3,
               length: int = 97) -> StreamPatterns:
        """Seeded random patterns: each input idles with probability ``idle`` per cycle, ``o``
        stalls with probability ``stall`` (each pattern keeps at least one active cycle); each
        pattern has its own length near ``length`` (so the streams do not repeat in lock step)."""
        lengths = rng.integers(max(1, length // 2), length + 1, len(INPUTS) + 1)

        def draw(n, p):  # never all true: every stream delivers, o is ready now and then
            a = rng.random(n) < p
            a[rng.integers(n)] = False
            return a

        idle_p = {s: draw(n, idle) for s, n in zip(INPUTS, lengths[:-1], strict=True)}
        return cls(idle_p, draw(lengths[-1], stall))

    @property
    def keeps_up(self) -> bool:
        return not self.stall.any() and not any(p.any() for p in self.idle.values())

    def idle_at(self, stream: str, t) -> np.ndarray:
        """``idle[stream][t mod L]`` (vectorised over cycles ``t``)."""
        p = self.idle[stream]
        return p[np.asarray(t) % p.size]

    def ready_at(self, t) -> np.ndarray:
        """``o.ready`` in cycles ``t``."""
        return ~self.stall[np.asarray(t) % self.stall.size]

    def to_dict(self) -> dict:
        """JSON-ready (``"0110..."`` strings)."""
        bits = lambda p: "".join("1" if v else "0" for v in p)  # noqa: E731
        return {"idle": {s: bits(p) for s, p in self.idle.items()}, "stall": bits(self.stall)}

    @classmethod
    def from_dict(cls, d: dict) -> StreamPatterns:
        parse = lambda s: np.frombuffer(s.encode(), np.uint8) == ord("1")  # noqa: E731
        return cls({k: parse(v) for k, v in d.get("idle", {}).items()}, parse(d.get("stall", "0")))


# -- bulk beat files ---------------------------------------------------------------------------------
def words_per(bits: int) -> int:
    """64-bit words holding ``bits`` bits."""
    return max(1, -(-bits // 64))


def to_words(beats, bits: int) -> np.ndarray:
    """Payloads as an ``(n, words_per(bits))`` uint64 array, word 0 the least significant.

    ``beats`` is a sequence of non-negative Python integers below ``2**bits``, or already such a
    word array (returned as it is), or a 1-D integer array (``bits <= 64``; negative values are
    taken as their two's complement in ``bits`` bits).
    """
    nw = words_per(bits)
    if isinstance(beats, np.ndarray) and beats.ndim == 2:
        if beats.shape[1] != nw:
            raise ValueError(f"expected {nw} words per beat, not {beats.shape[1]}")
        return beats.astype(np.uint64, copy=False)
    if isinstance(beats, np.ndarray):
        if bits > 64:
            raise ValueError("a 1-D array holds payloads of at most 64 bits")
        mask = np.uint64((1 << bits) - 1) if bits < 64 else np.uint64(2**64 - 1)
        return (beats.astype(np.int64).view(np.uint64) & mask).reshape(-1, 1)
    nbytes = 8 * nw
    raw = b"".join(int(b).to_bytes(nbytes, "little") for b in beats)
    return np.frombuffer(raw, dtype="<u8").reshape(-1, nw).astype(np.uint64)


def pack_words(layout, values: dict) -> np.ndarray:
    """Beats of a payload ``layout`` (``golden/array_payload.py``: leaves with offset, width,
    count, stride) packed straight into an ``(n, words)`` uint64 array, vectorised over beats.

    ``values[name]`` is ``(n,)`` for a single field, ``(n, count)`` for an array member (the form
    ``Layout.pack`` takes); signed fields are taken modulo ``2**width``. The same bits as
    ``Layout.pack`` (``tests/test_sim_harness.py`` checks it), without a Python integer per beat.
    """
    first = np.asarray(values[layout.leaves[0].name])
    n = first.shape[0]
    words = np.zeros((n, words_per(layout.width)), np.uint64)
    for f in layout.leaves:
        v = np.asarray(values[f.name], np.int64).reshape(n, f.count).view(np.uint64)
        mask = np.uint64((1 << f.width) - 1) if f.width < 64 else np.uint64(2**64 - 1)
        for j in range(f.count):
            at = f.offset + j * f.stride
            w, sh = divmod(at, 64)
            col = v[:, j] & mask
            words[:, w] |= col << np.uint64(sh)
            if sh + f.width > 64:
                words[:, w + 1] |= col >> np.uint64(64 - sh)
    return words


def from_words(words: np.ndarray) -> list[int]:
    """Inverse of :func:`to_words`: Python integers."""
    w = np.ascontiguousarray(words, dtype="<u8")
    raw = w.tobytes()
    step = 8 * w.shape[1]
    return [int.from_bytes(raw[i:i + step], "little") for i in range(0, len(raw), step)]


def write_hex(path: str | Path, beats, bits: int) -> int:
    """Write payloads of ``bits`` bits as a ``$readmemh`` file (one beat per line, exactly
    ``ceil(bits / 4)`` hex digits, most significant first); return the number of beats."""
    words = to_words(beats, bits)
    n, nw = words.shape
    digits = -(-bits // 4)
    be = words[:, ::-1].astype(">u8").view(np.uint8).reshape(n, 8 * nw)  # most significant byte first
    text = np.empty((n, 16 * nw + 1), dtype=np.uint8)
    text[:, 0:-1:2] = _HEX[be >> 4]
    text[:, 1:-1:2] = _HEX[be & 15]
    text[:, -1] = ord("\n")
    Path(path).write_bytes(np.ascontiguousarray(text[:, 16 * nw - digits:]).tobytes() if n else b"")
    return n


def write_bits(path: str | Path, flags: Sequence[bool] | np.ndarray) -> None:
    """A 1-bit-wide ``$readmemh`` file (one ``0``/``1`` per line)."""
    a = np.asarray(flags, dtype=bool)
    text = np.full((a.size, 2), ord("\n"), dtype=np.uint8)
    text[:, 0] = np.where(a, ord("1"), ord("0"))
    Path(path).write_bytes(text.tobytes())


def read_hex(path: str | Path, nwords: int) -> np.ndarray:
    """A ``$writememh`` dump of entries of ``64 * nwords`` bits as an ``(n, nwords)`` uint64 array.

    Comment lines (``//``) and blank lines are skipped; every entry must have ``16 * nwords`` digits.
    """
    lines = [ln for ln in (raw.strip() for raw in Path(path).read_bytes().splitlines())
             if ln and not ln.startswith(b"//")]
    digits = 16 * nwords
    if not lines:
        return np.zeros((0, nwords), np.uint64)
    bad = next((ln for ln in lines if len(ln) != digits), None)
    if bad is not None:
        raise ValueError(f"{path}: entry {bad[:40]!r} is not {digits} hex digits")
    nib = _NIBBLE[np.frombuffer(b"".join(lines), dtype=np.uint8)].reshape(len(lines), nwords, 16)
    if (nib == 255).any():
        raise ValueError(f"{path}: not a hex dump (x or z bits?)")
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    words = (nib.astype(np.uint64) << shifts).sum(axis=2, dtype=np.uint64)
    return words[:, ::-1].copy()  # word 0 the least significant


def signed_lanes(words: np.ndarray) -> np.ndarray:
    """64-bit words as signed integers (``int64`` view)."""
    return np.ascontiguousarray(words, dtype=np.uint64).view(np.int64)
