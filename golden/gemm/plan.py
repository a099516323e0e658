"""Plans: how one multiplier + bypass executes, decided once per pair and cached.

For operands of at most ``MAX_TABLE_BITS`` bits the plan holds the PE product table ``T``
(indexed by bit pattern, bypass applied: :meth:`~axmac.golden.bypass.Bypass.apply_to_table`).
Kernels, per call (:meth:`Plan.kernel`):

``blas``      ``T`` is exact multiplication (or the family says so) and no statistics are asked;
``lowrank``   ``T`` is an exact integer sum of at most :data:`MAX_LOWRANK` separable terms
              (:mod:`.lowrank`: ``trunc``, ``drum``, ...), no statistics: float BLAS on
              transformed operands;
``table``     any other table, and every table when statistics are asked;
``fallback``  wider operands: the multiplier's vectorised model on the distinct operand pairs.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ...errors import AxmacError
from ..bypass import NO_BYPASS, Bypass
from ..multipliers.base import MAX_TABLE_BITS, Multiplier
from .lowrank import decompose

#: Largest number of separable terms run through BLAS (each term costs about one exact GEMM;
#: the table kernel costs about three).
MAX_LOWRANK = 3
#: Tables whose derived data (decomposition, kernel table, statistics grids) is kept: the
#: engine builds new multiplier objects per run, with equal tables.
DERIVED_CACHE = 64


@dataclass(frozen=True)
class Plan:
    """How one multiplier + bypass executes.

    ``table`` is the PE table as int32 (``None`` beyond ``MAX_TABLE_BITS``), ``ktable`` the
    same in the narrowest integer dtype holding it (what the kernels gather), ``max_abs`` its
    largest magnitude, ``zrow[a]`` whether row ``a`` of ``T`` is all zero (the kernels skip
    such activations), ``terms`` the separable factors (or ``None``). The multiplier is held by
    a weak reference: plans are cached in a ``WeakKeyDictionary`` keyed by the multiplier, and
    a strong reference would keep every multiplier alive.
    """

    mult_ref: weakref.ref
    bypass: Bypass
    exact: bool
    table: np.ndarray | None
    max_abs: int
    ktable: np.ndarray | None = None
    zrow: np.ndarray | None = None
    terms: list | None = None
    #: derived data cached per plan (statistics grids per accumulator width)
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def mult(self) -> Multiplier:
        m = self.mult_ref()
        if m is None:  # pragma: no cover - the caller holds the multiplier while it runs
            raise RuntimeError("the multiplier of this plan no longer exists")
        return m

    @property
    def bits(self) -> int:
        return self.mult.bits

    @property
    def signed(self) -> bool:
        return self.mult.signed

    def separable(self):
        """``(u, v)`` as int32 lookup tables by bit pattern when the table is ``u[a] * v[b]``
        (exact products: the operands' values; a one-term decomposition: ``trunc``, ``drum``),
        else ``None``."""
        if self.table is None:
            return None
        if self.exact:
            v = self.mult.fmt.values().astype(np.int32)
            return v, v
        if self.terms is not None and len(self.terms) == 1:
            u, v = self.terms[0]
            if max(int(np.abs(u).max()), int(np.abs(v).max())) < 1 << 31:
                return u.astype(np.int32), v.astype(np.int32)
        return None

    def kernel(self, with_stats: bool) -> str:
        if not with_stats:
            if self.exact:
                return "blas"
            if self.terms is not None:
                return "lowrank"
        return "table" if self.table is not None else "fallback"


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def make_plan(mult: Multiplier, bypass: Bypass = NO_BYPASS) -> Plan:
    """The :class:`Plan` of ``mult`` with ``bypass`` (cached per multiplier object)."""
    if not isinstance(mult, Multiplier):
        raise AxmacError(f"mult must be a Multiplier (see make_multiplier), not {type(mult).__name__}")
    if not isinstance(bypass, Bypass):
        raise AxmacError(f"bypass must be a Bypass, not {type(bypass).__name__}")
    try:
        per_mult = _PLANS.setdefault(mult, {})
    except TypeError:  # a multiplier class made unhashable: no caching
        per_mult = {}
    plan = per_mult.get(bypass)
    if plan is None:
        plan = _new_plan(mult, bypass)
        per_mult[bypass] = plan
    return plan


def _new_plan(mult: Multiplier, bypass: Bypass) -> Plan:
    fmt = mult.fmt
    if fmt.bits > MAX_TABLE_BITS:
        return Plan(weakref.ref(mult), bypass, bool(mult.is_exact), None, 0)
    t = bypass.apply_to_table(mult.table(), fmt.values(), fmt.signed)
    d = _derived(t, fmt.signed)
    if d["max_abs"] >= 1 << 31:
        raise AxmacError(f"{mult.spec}: products do not fit 32 bits")
    exact = bool(mult.is_exact) or d["exact"]
    return Plan(weakref.ref(mult), bypass, exact, d["table"], d["max_abs"], d["ktable"], d["zrow"],
                None if exact else d["terms"], d["memo"])


_DERIVED: OrderedDict = OrderedDict()


def _derived(t: np.ndarray, signed: bool) -> dict:
    """What a plan derives from its PE table ``t`` (int64, bypass applied), shared by every plan
    with an equal table (keyed by its content) among the last :data:`DERIVED_CACHE`."""
    digest = hashlib.blake2b(np.ascontiguousarray(t).tobytes(), digest_size=16).digest()
    key = (t.shape, bool(signed), MAX_LOWRANK, digest)
    d = _DERIVED.get(key)
    if d is not None:
        _DERIVED.move_to_end(key)
        return d
    n = t.shape[0]
    v = np.arange(n, dtype=np.int64)
    if signed:
        v = np.where(v >= n // 2, v - n, v)
    max_abs = int(np.abs(t).max())
    table = t.astype(np.int32)
    d = {"exact": bool(np.array_equal(t, v[:, None] * v[None, :])), "max_abs": max_abs,
         "table": table, "ktable": table.astype(np.int16) if max_abs < 1 << 15 else table,
         "zrow": ~np.any(t != 0, axis=1), "memo": {}}
    d["terms"] = None if d["exact"] or max_abs >= 1 << 31 else decompose(t, MAX_LOWRANK)
    for a in ("table", "ktable", "zrow"):
        d[a].setflags(write=False)
    _DERIVED[key] = d
    if len(_DERIVED) > DERIVED_CACHE:
        _DERIVED.popitem(last=False)
    return d


def kernel_for(mult: Multiplier, bypass: Bypass = NO_BYPASS, with_stats: bool = False) -> str:
    """Name of the kernel (``"blas"``, ``"lowrank"``, ``"table"`` or ``"fallback"``) that
    :func:`~axmac.golden.gemm.mac_gemm` uses."""
    return make_plan(mult, bypass).kernel(with_stats)


def to_patterns(a: np.ndarray, plan: Plan) -> np.ndarray:
    """Operand values -> bit patterns (``a & mask``) as uint16, the table's index.

    The cast to uint16 is modulo ``2**16`` (two's complement), so masking after it gives the
    ``n``-bit pattern of an in-range value of any integer dtype, without an int64 copy.
    """
    return a.astype(np.uint16) & np.uint16(plan.mult.fmt.mask)
