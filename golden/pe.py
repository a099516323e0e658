"""Golden model of one processing element: trivial-computation classification and MAC streams.

This module is the single definition of the 2-bit control codes of the bypass cases (Ma & Jiao,
"Detecting and Bypassing Trivial Computations in CNNs", Table I and Table IV); each case's
predicate is written once in :mod:`axmac.golden.bypass` and used here, by the GEMM kernels'
statistics and by ``Bypass.mul_bypassed``. The RTL in ``axmac.hw.bypass`` / ``axmac.hw.pe``
imports or mirrors the codes.

Operands
--------
MUL: ``a`` is the moving operand (the activation), ``b`` the stationary one (the weight).
ADD: ``a`` is this PE's product ``p``, ``b`` the incoming partial sum ``psum``.

Control codes (Table IV), detection order as in Ma & Jiao Sec. III-C, first match wins:

====  =====================================  ======================================
code  MUL                                    ADD
====  =====================================  ======================================
00    (a) ``a == 0 or b == 0`` -> 0          (e) ``p + psum == 0`` -> 0
01    (b) ``b == +-1`` -> ``+-a``            (d) ``psum == 0`` -> ``p``
10    (b) ``a == +-1`` -> ``+-b``            (d) ``p == 0`` -> ``psum``
11    (c) the multiplier is used             (f) the adder is used
====  =====================================  ======================================

* MUL order: (a) before (b); within (b) the stationary ``b`` is tested before ``a`` (its
  flag is stored at weight load), so ``a == b == 1`` gives ``01``. ADD order: (d) before (e);
  within (d) ``psum == 0`` is tested before ``p == 0`` (both zero gives ``01``).
* A disabled case falls through to the next rule, finally to ``11`` (e.g. with only ``one``
  enabled, ``a == 0, b == 1`` gives ``01``; with only ``opposite``, ``p == psum == 0`` gives
  ``00``).
* "+-1" means ``+1`` or ``-1`` for signed operands and only ``+1`` for unsigned ones.
* Opposite addends are tested modulo ``2**acc_bits`` (the accumulator's two's-complement
  wrap), exactly as the hardware's carry-free ``a + b == 0`` detector does.

A bypassed product is the *exact* product (``0``, ``+-a``, ``+-b``) even when the multiplier is
approximate; additions are always exact, so ADD cases never change a result.
"""

from __future__ import annotations

import numpy as np

from ..errors import AxmacError
from .bypass import Bypass, acc_mask, acc_zero, is_one, mul_zero, opposite
from .multipliers import Multiplier

MUL_ZERO, MUL_B_ONE, MUL_A_ONE, MUL_USED = 0b00, 0b01, 0b10, 0b11
ADD_OPPOSITE, ADD_B_ZERO, ADD_A_ZERO, ADD_USED = 0b00, 0b01, 0b10, 0b11
#: Codes shown while the PE is idle (``valid`` low): product 0, partial sum passed through.
IDLE_MUL, IDLE_ADD = MUL_ZERO, ADD_A_ZERO

MAX_ACC_BITS = 64


def wrap(x, bits: int) -> np.ndarray:
    """Two's-complement wrap of integers to ``bits`` bits: ``((x + 2**(bits-1)) mod 2**bits) - 2**(bits-1)``."""
    x = np.asarray(x, dtype=np.int64)
    if bits >= 64:
        return x
    half = np.int64(1) << np.int64(bits - 1)
    return ((x + half) & ((half << np.int64(1)) - np.int64(1))) - half


def mul_ctrl(a, b, bypass: Bypass, signed: bool) -> np.ndarray:
    """MUL control codes (``uint8``, broadcast of ``a`` and ``b``): see the module docstring.

    ``a`` is the activation, ``b`` the weight; codes are ``MUL_ZERO`` (a), ``MUL_B_ONE`` /
    ``MUL_A_ONE`` (b) and ``MUL_USED`` (c). The cases are the predicates of
    :mod:`axmac.golden.bypass` (:func:`~axmac.golden.bypass.mul_zero`, :func:`~axmac.golden.bypass.is_one`).
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    code = np.full(np.broadcast_shapes(a.shape, b.shape), MUL_USED, dtype=np.uint8)
    signed = bool(signed)
    # Applied in reverse priority: a later (higher-priority) rule overwrites an earlier one.
    if bypass.one:
        code[np.broadcast_to(is_one(a, signed), code.shape)] = MUL_A_ONE
        code[np.broadcast_to(is_one(b, signed), code.shape)] = MUL_B_ONE
    if bypass.zero:
        code[np.broadcast_to(mul_zero(a, b), code.shape)] = MUL_ZERO
    return code


def add_ctrl(p, psum, bypass: Bypass, acc_bits: int = 32) -> np.ndarray:
    """ADD control codes (``uint8``) for product ``p`` and incoming partial sum ``psum``.

    Codes are ``ADD_B_ZERO`` (d, ``psum == 0``), ``ADD_A_ZERO`` (d, ``p == 0``), ``ADD_OPPOSITE``
    (e, ``p + psum == 0 (mod 2**acc_bits)``) and ``ADD_USED`` (f): the predicates
    :func:`~axmac.golden.bypass.acc_zero` and :func:`~axmac.golden.bypass.opposite`.
    """
    p = np.asarray(p, dtype=np.int64)
    psum = np.asarray(psum, dtype=np.int64)
    code = np.full(np.broadcast_shapes(p.shape, psum.shape), ADD_USED, dtype=np.uint8)
    mask = acc_mask(acc_bits)
    if bypass.opposite:
        code[np.broadcast_to(opposite(p, psum, mask), code.shape)] = ADD_OPPOSITE
    if bypass.add_zero:
        code[np.broadcast_to(acc_zero(p, mask), code.shape)] = ADD_A_ZERO
        code[np.broadcast_to(acc_zero(psum, mask), code.shape)] = ADD_B_ZERO
    return code


def pe_products(mult: Multiplier, bypass: Bypass, a, b) -> np.ndarray:
    """Products of the PE's MUL path: exact where a MUL case is bypassed, ``mult(a, b)`` elsewhere."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    return bypass.apply(mult(a, b), a, b, mult.signed)


def check_acc_bits(acc_bits: int, bits: int) -> None:
    """``acc_bits`` must hold a product (``2*bits``) and fit ``int64``."""
    if not isinstance(acc_bits, int) or isinstance(acc_bits, bool):
        raise TypeError(f"acc_bits must be an integer, not {acc_bits!r}")
    if not 2 * bits <= acc_bits <= MAX_ACC_BITS:
        raise ValueError(f"acc_bits must be in {2 * bits}..{MAX_ACC_BITS} for {bits}-bit operands, not {acc_bits}")


def pe_stream(mult: Multiplier, bypass: Bypass, weight, a_seq, psum_seq, signed: bool | None = None, *,
              acc_bits: int = 32, valid_seq=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outputs of one weight-stationary PE for a stream of inputs, one element per MAC slot.

    Parameters
    ----------
    mult : Multiplier
        Golden model of the PE's multiplier (approximate products where not bypassed).
    bypass : Bypass
        Enabled trivial-computation cases.
    weight : int or array_like
        The stationary operand ``b``: a scalar, or one value per slot (the weight in effect).
    a_seq, psum_seq : array_like of int
        Activations (in the multiplier's operand range) and incoming partial sums (in the signed
        ``acc_bits`` range), same length.
    signed : bool, optional
        Must agree with ``mult.signed`` when given.
    acc_bits : int
        Accumulator width: every sum wraps to ``acc_bits``-bit two's complement.
    valid_seq : array_like of bool, optional
        Slots with ``valid`` low are idle: ``psum_out = psum_in`` and the codes read
        ``IDLE_MUL``/``IDLE_ADD`` (``00``/``10``) whatever the enabled cases.

    Returns
    -------
    psum_out, mul_codes, add_codes : ndarray
        ``psum_out[t] = wrap(psum_in[t] + P(a[t], b[t]), acc_bits)`` (``int64``) and the codes
        (``uint8``). The RTL shows slot ``t``'s results one cycle after its inputs.
    """
    if not isinstance(mult, Multiplier):
        raise TypeError(f"mult must be a Multiplier, not {mult!r}")
    if not isinstance(bypass, Bypass):
        raise TypeError(f"bypass must be a Bypass, not {bypass!r}")
    if signed is not None and bool(signed) != mult.signed:
        raise ValueError(f"signed={signed} disagrees with the multiplier {mult!r}")
    check_acc_bits(acc_bits, mult.bits)
    a = np.asarray(a_seq, dtype=np.int64)
    psum = np.asarray(psum_seq, dtype=np.int64)
    if a.ndim != 1 or psum.shape != a.shape:
        raise AxmacError(f"a_seq and psum_seq must be 1-D of one length, not {a.shape} and {psum.shape}")
    w = np.broadcast_to(np.asarray(weight, dtype=np.int64), a.shape)
    mult.fmt.check(w, "weight")
    if psum.size and acc_bits < 64 and (psum.min() < -(1 << (acc_bits - 1)) or psum.max() >= 1 << (acc_bits - 1)):
        raise AxmacError(f"partial sums out of the signed {acc_bits}-bit range: [{psum.min()}, {psum.max()}]")
    valid = np.ones(a.shape, dtype=bool) if valid_seq is None else np.asarray(valid_seq, dtype=bool)
    if valid.shape != a.shape:
        raise AxmacError(f"valid_seq must have shape {a.shape}, not {valid.shape}")

    p = np.where(valid, pe_products(mult, bypass, a, w), 0)
    mc = np.where(valid, mul_ctrl(a, w, bypass, mult.signed), IDLE_MUL).astype(np.uint8)
    ac = np.where(valid, add_ctrl(p, psum, bypass, acc_bits), IDLE_ADD).astype(np.uint8)
    return wrap(psum + p, acc_bits), mc, ac
