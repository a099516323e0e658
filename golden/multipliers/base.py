"""The multiplier interface and registry: one spec string -> one bit-exact NumPy model.

A *spec* names a family and its parameter, e.g. ``exact``, ``trunc:2``, ``drum:6``,
``lut:table.npy`` or ``verilog:mult.v:top``. Together with an operand width (2..16 bits) and a
signedness it makes a :class:`Multiplier`, the single source of arithmetic truth for that
multiplier: the hardware in ``axmac.hw.multipliers`` is checked against it bit for bit.

Conventions
-----------
* Operands are integers in the operand range: ``[-2**(n-1), 2**(n-1) - 1]`` when signed,
  ``[0, 2**n - 1]`` when unsigned. Both operands have the same format.
* Products are ``2n``-bit integers of the same signedness (returned as ``int64``).
* :meth:`Multiplier.table` is indexed by the operands' *bit patterns*:
  ``table[a & mask, b & mask] == model(a, b)`` with ``mask = 2**n - 1`` (so a signed ``-1`` is
  row ``2**n - 1``), exactly as a ROM addressed by the operand wires would be.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ...errors import SpecError
from ...ir import OperandFormat

MAX_TABLE_BITS = 10


class Multiplier:
    """Base class of every multiplier family's golden model.

    Subclasses set ``family`` (the spec name), ``summary`` (one line for ``multipliers list``),
    ``param`` (name of the spec parameter, or ``None``), implement :meth:`parse` when they take a
    parameter, and :meth:`_product`, the vectorised arithmetic on ``int64`` arrays of in-range
    operands (no Python loop per product).
    """

    family: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    param: ClassVar[str | None] = None
    #: Families whose golden model exists only as a table (lut, verilog) override this.
    table_only: ClassVar[bool] = False

    def __init__(self, fmt: OperandFormat, arg: str | None = None):
        self.fmt = fmt
        self.arg = arg
        self._table: np.ndarray | None = None

    # -- spec --------------------------------------------------------------------------------
    @property
    def bits(self) -> int:
        return self.fmt.bits

    @property
    def signed(self) -> bool:
        return self.fmt.signed

    @property
    def spec(self) -> str:
        return self.family if self.arg is None else f"{self.family}:{self.arg}"

    @property
    def is_exact(self) -> bool:
        """True when the family is exact multiplication by construction (``exact``, ``trunc:0``...)."""
        return False

    def __repr__(self) -> str:
        return f"<Multiplier {self.spec} {self.fmt}>"

    # -- arithmetic --------------------------------------------------------------------------
    def _product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, a, b, *, check: bool = True) -> np.ndarray:
        """Approximate products of ``a`` and ``b`` (broadcast), as ``int64``."""
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        if check:
            self.fmt.check(a, "operand a")
            self.fmt.check(b, "operand b")
        if self.table_only or self.bits <= MAX_TABLE_BITS:
            # One flat gather from the cached table (built once by _product): ~10x faster than
            # evaluating the bit-level model again for every call.
            m, n = self.fmt.mask, self.bits
            return self.table().ravel()[((a & m) << n) | (b & m)]
        a, b = np.broadcast_arrays(a, b)
        return self._product(a, b).astype(np.int64, copy=False)

    def table(self) -> np.ndarray:
        """The full ``2**n x 2**n`` product table indexed by bit pattern (``n <= 10``), cached."""
        if self._table is None:
            if self.bits > MAX_TABLE_BITS and not self.table_only:
                raise SpecError(f"product tables are limited to {MAX_TABLE_BITS}-bit operands, not {self.bits}")
            v = self.fmt.values()
            t = self._product(*np.broadcast_arrays(v[:, None], v[None, :])).astype(np.int64)
            t.setflags(write=False)
            self._table = t
        return self._table


#: family name -> Multiplier subclass, filled by :func:`register`.
FAMILIES: dict[str, type[Multiplier]] = {}


def register(cls: type[Multiplier]) -> type[Multiplier]:
    """Class decorator adding a family to the registry under ``cls.family``."""
    if not cls.family or cls.family in FAMILIES:
        raise ValueError(f"bad or duplicate multiplier family name {cls.family!r}")
    FAMILIES[cls.family] = cls
    return cls


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"drum:6"`` -> ``("drum", "6")``; ``"exact"`` -> ``("exact", None)``."""
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError(f"empty multiplier spec {spec!r}")
    name, sep, arg = spec.strip().partition(":")
    return name.lower(), (arg if sep else None)


def make_multiplier(spec: str, bits: int = 8, signed: bool = True) -> Multiplier:
    """Build the golden model named by ``spec`` for ``bits``-bit operands.

    Raises :class:`~axmac.errors.SpecError` (one clear line) for an unknown family, a missing
    or bad parameter or an operand width out of range.
    """
    from . import _load_families

    _load_families()
    name, arg = split_spec(spec)
    cls = FAMILIES.get(name)
    if cls is None:
        known = ", ".join(sorted(FAMILIES))
        raise SpecError(f"unknown multiplier family {name!r} (known: {known})")
    if cls.param is None and arg is not None:
        raise SpecError(f"multiplier family {name!r} takes no parameter (got {spec!r})")
    if cls.param is not None and (arg is None or arg == ""):
        raise SpecError(f"multiplier family {name!r} needs a parameter: {name}:{cls.param.upper()}")
    return cls(OperandFormat(bits, bool(signed)), arg)


def int_param(family: str, arg: str, lo: int, hi: int, what: str = "parameter") -> int:
    """Parse an integer spec parameter and check ``lo <= value <= hi`` (helper for families)."""
    try:
        v = int(arg, 10)
    except (TypeError, ValueError):
        raise SpecError(f"{family}: {what} must be an integer, not {arg!r}") from None
    if not lo <= v <= hi:
        raise SpecError(f"{family}: {what} {v} is out of range {lo}..{hi}")
    return v
