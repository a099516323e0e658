"""``lut:FILE.npy``: any multiplier given as its full product table.

The file is a NumPy ``.npy`` array of shape ``(2**n, 2**n)`` with an integer dtype, indexed by
the operands' bit patterns like :meth:`Multiplier.table`: ``T[a & mask, b & mask]`` is the
product of ``a`` and ``b`` (a signed ``-1`` is row ``2**n - 1``). It is checked when the spec is
made:

* the operand width ``n`` is ``log2`` of the table side and must equal the requested width
  (``--bits``); ``n <= 10`` (a table of ``2**20`` entries, 8 MiB);
* every entry lies in the ``2n``-bit output range of the signedness:
  ``[-2**(2n-1), 2**(2n-1) - 1]`` signed, ``[0, 2**(2n) - 1]`` unsigned.

Such tables are the emulation method of the thesis (lookup-table multipliers in TensorFlow
Lite, ch. 4): any behavioural multiplier can be plugged in without a model of its own. The
hardware (``axmac.hw.multipliers.lut``) is a ROM holding the same table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import SpecError
from .base import MAX_TABLE_BITS, Multiplier, OperandFormat, register


def load_table(path: str | Path, fmt: OperandFormat) -> np.ndarray:
    """Load and validate a product table for ``fmt``; return it as read-only ``int64``."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"lut: table file {str(path)!r} not found")
    try:
        raw = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file is bad input
        raise SpecError(f"lut: cannot read {str(path)!r} as a .npy array ({type(e).__name__}: {e})") from None
    if not isinstance(raw, np.ndarray):
        raise SpecError(f"lut: {str(path)!r} is not a single .npy array")
    if raw.ndim != 2 or raw.shape[0] != raw.shape[1]:
        raise SpecError(f"lut: table {path.name} must be a square 2-D array, not shape {raw.shape}")
    side = raw.shape[0]
    if side < 2 or side & (side - 1):
        raise SpecError(f"lut: table {path.name} side {side} is not a power of two")
    n = side.bit_length() - 1
    if n != fmt.bits:
        raise SpecError(f"lut: table {path.name} is {side}x{side}, i.e. {n}-bit operands, "
                        f"but the operand width is {fmt.bits}")
    if n > MAX_TABLE_BITS:
        raise SpecError(f"lut: tables are limited to {MAX_TABLE_BITS}-bit operands, not {n}")
    if not (np.issubdtype(raw.dtype, np.integer) and raw.dtype != np.bool_):
        raise SpecError(f"lut: table {path.name} has dtype {raw.dtype}, an integer dtype is needed")
    t = np.array(raw, dtype=np.int64) if raw.dtype != np.uint64 else None
    if t is None:  # uint64 may not fit int64: check the range before converting
        if raw.max() > np.iinfo(np.int64).max:
            raise SpecError(f"lut: table {path.name} has entries above 2**63")
        t = np.array(raw, dtype=np.int64)
    if fmt.signed:
        lo, hi = -(1 << (2 * n - 1)), (1 << (2 * n - 1)) - 1
    else:
        lo, hi = 0, (1 << (2 * n)) - 1
    bad = (t < lo) | (t > hi)
    if bad.any():
        i, j = (int(x) for x in np.argwhere(bad)[0])
        kind = "signed" if fmt.signed else "unsigned"
        raise SpecError(f"lut: table {path.name} entry [{i}, {j}] = {t[i, j]} is outside the {kind} "
                        f"{2 * n}-bit output range [{lo}, {hi}] ({int(bad.sum())} such entries)")
    t.setflags(write=False)
    return t


@register
class Lut(Multiplier):
    family = "lut"
    summary = "any multiplier as a full 2^n x 2^n product table (.npy, indexed by bit pattern)"
    param = "file"
    table_only = True

    def __init__(self, fmt: OperandFormat, arg: str | None = None):
        super().__init__(fmt, arg)
        self.path = Path(arg).expanduser().resolve()
        self._table = load_table(self.path, fmt)

    def _product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        m = self.fmt.mask
        return self._table[a & m, b & m]
