"""Random stimulus for processing elements: streams rich in the trivial computations.

One definition of what the PE checks drive, used by the cocotb testbench (``sim/pe_tb.py``) and by
the tests of the golden PE (``tests/test_golden_pe.py``). Uniform random operands almost never
meet the cases the bypass handles, so each generator mixes uniform values with chosen ones:

* :func:`activations`: 20 % zeros, 15 % ``+1``, 15 % ``-1`` (signed formats), the rest uniform;
* :func:`partial_sums`: 15 % zeros, 10 % the opposite of the exact product ``-(a * w)`` and 30 %
  the opposite of the multiplier's own product ``-mult(a, w)`` (both wrapped to ``acc_bits``:
  an approximate multiplier makes the two differ), the rest uniform;
* :func:`weight_loads`: a load in about 4 % of the slots, 60 % of them special values (0, +-1,
  2, the extremes), the weight in effect per slot (a load applies to its own slot) and, without a
  load in slot 0, the reset weight 0 until the first load;
* :func:`pe_stimulus`: all of it for one PE stream, with random idle slots (``valid`` low).

Pure NumPy on a caller's :class:`numpy.random.Generator` (no cocotb): the same seed gives the
same stream everywhere.
"""

from __future__ import annotations

import numpy as np

from ..golden.multipliers import Multiplier
from ..golden.pe import wrap
from ..ir import OperandFormat

#: the weight a PE holds after reset, until its first load (hw/pe.py).
RESET_WEIGHT = 0


def special_values(fmt: OperandFormat) -> np.ndarray:
    """0, 1, 2, the extremes and (signed) -1 of ``fmt``, sorted."""
    return np.array(sorted({0, 1, fmt.lo, fmt.hi} | ({-1, 2} if fmt.signed else {2})), dtype=np.int64)


def activations(rng: np.random.Generator, fmt: OperandFormat, shape: int | tuple[int, ...]) -> np.ndarray:
    """Activations (or any operands) in ``fmt``'s range, rich in 0 and +-1, of ``shape``."""
    a = rng.integers(fmt.lo, fmt.hi + 1, shape)
    pick = rng.random(shape)
    a[pick < 0.2] = 0
    a[(pick >= 0.2) & (pick < 0.35)] = 1
    if fmt.signed:
        a[(pick >= 0.35) & (pick < 0.5)] = -1
    return a


def partial_sums(rng: np.random.Generator, mult: Multiplier, a, w, acc_bits: int) -> np.ndarray:
    """Incoming partial sums for activations ``a`` meeting weights ``w`` (scalar or per slot):
    signed ``acc_bits``-bit values rich in 0 and in opposites of the slot's product."""
    a = np.asarray(a, dtype=np.int64)
    w = np.broadcast_to(np.asarray(w, dtype=np.int64), a.shape)
    n = a.size
    half = 1 << (acc_bits - 1) if acc_bits < 63 else 1 << 62
    psum = rng.integers(-half, half, n)
    pick = rng.random(n)
    psum[pick < 0.15] = 0
    exact_opp = (pick > 0.6) & (pick <= 0.7)
    psum[exact_opp] = wrap(-(a[exact_opp] * w[exact_opp]), acc_bits)
    opp = pick > 0.7
    psum[opp] = wrap(-np.asarray(mult(a[opp], w[opp])), acc_bits)
    return psum


def weight_loads(rng: np.random.Generator, fmt: OperandFormat, n: int, *, load_first: bool = True,
                 rate: float = 0.04) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(w_in, w_load, w_eff)`` for ``n`` slots: loads in a fraction ``rate`` of the slots (and in
    slot 0 when ``load_first``), ``w_eff`` the weight each slot meets (:data:`RESET_WEIGHT` before
    the first load)."""
    w_in = rng.integers(fmt.lo, fmt.hi + 1, n)
    w_load = rng.random(n) < rate
    w_load[0] = load_first
    special = w_load & (rng.random(n) < 0.6)
    w_in[special] = rng.choice(special_values(fmt), special.sum())
    last = np.maximum.accumulate(np.where(w_load, np.arange(n), -1))
    w_eff = np.where(last >= 0, w_in[np.maximum(last, 0)], RESET_WEIGHT)
    return w_in, w_load, w_eff


def pe_stimulus(rng: np.random.Generator, mult: Multiplier, slots: int, acc_bits: int, *,
                load_first: bool = True) -> dict[str, np.ndarray]:
    """One PE stream of ``slots`` slots: ``w_in``, ``w_load``, ``w_eff``, ``a``, ``psum``, ``valid``
    (about 15 % idle slots)."""
    w_in, w_load, w_eff = weight_loads(rng, mult.fmt, slots, load_first=load_first)
    a = activations(rng, mult.fmt, slots)
    valid = rng.random(slots) > 0.15
    psum = partial_sums(rng, mult, a, w_eff, acc_bits)
    return {"w_in": w_in, "w_load": w_load, "w_eff": w_eff, "a": a, "psum": psum, "valid": valid}


__all__ = ["RESET_WEIGHT", "activations", "partial_sums", "pe_stimulus", "special_values", "weight_loads"]
