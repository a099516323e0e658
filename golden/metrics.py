"""Error metrics of an approximate multiplier (thesis ch. 3.2; Kim et al., Sec. II).

For a pair of operands ``(a, b)`` with exact product ``P = a*b`` and approximate product ``P~``
the *error* is ``e = P~ - P`` (in product units, i.e. LSBs of the ``2n``-bit product). Over a set
of ``N`` pairs (all ``2**(2n)`` pairs when exhaustive) the metrics are

============================  ===================================================================
``mae``                       mean absolute error  ``(1/N) sum |e|``
``wce``                       worst-case error  ``max |e|``
``mean_error``                mean signed error  ``(1/N) sum e``
``error_variance``            population variance of ``e`` (``ddof=0``), product units squared
``error_probability``         fraction of pairs with ``e != 0``
``wcre``                      worst-case relative error  ``max |e| / |P|``  over pairs with ``P != 0``
``mred``                      mean relative error distance  ``mean |e| / |P|``  over ``P != 0``
``bias``                      signed mean relative error  ``mean e / P``  over ``P != 0``
============================  ===================================================================

Pairs whose exact product is 0 take part in the absolute metrics but not in the relative ones
(their relative error is undefined). ``bias`` is the figure Kim et al. quote as the "mean error"
of a log multiplier (-3.9 % for Mitchell, -5.9 % for Mitch-w6 at 32 bits) and use to rescale the
outputs of a layer (``y / (1 + bias)``) when the network has batch normalization: on average
``P~ = (1 + bias) P``. It is relative to the *signed* product ``P``, so that a multiplier which
shrinks magnitudes (Mitchell with exact sign handling: ``P~ = 0.96 P`` for either sign of ``P``)
has a negative bias with signed operands too; ``e / |P|`` would average to about 0 there. For
unsigned operands the two are the same.

Exhaustive versus sampled
-------------------------
Up to :data:`EXHAUSTIVE_MAX_BITS` (10) bits every operand pair is evaluated, through the model's
product table (``2**n x 2**n``, indexed by bit pattern); beyond, only on request
(``exhaustive=True``, the model on every pair, chunk by chunk). Otherwise ``samples`` pairs are drawn
independently and uniformly over the operand range by :func:`numpy.random.default_rng` with the
given ``seed``, in chunks of :data:`CHUNK` pairs: the same ``(samples, seed)`` always gives the same
pairs and the same figures. Every computation is vectorised and chunked, so memory stays bounded
(a few times ``CHUNK`` int64 values) whatever the number of pairs.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import AxmacError
from .multipliers import Multiplier

#: widths up to which :func:`error_metrics` evaluates every operand pair.
EXHAUSTIVE_MAX_BITS = 10
#: pairs per chunk (bounds the memory of the temporaries).
CHUNK = 1 << 18

METRIC_KEYS = ("mae", "wce", "wcre", "mred", "bias", "mean_error", "error_variance", "error_probability")


class _Accumulator:
    """Streaming sums of the error metrics over chunks of ``(approx, exact)`` products.

    The variance is combined chunk by chunk with Chan et al.'s parallel update of the mean and
    the sum of squared deviations (numerically stable; plain ``sum e**2`` loses precision for
    16-bit products whose errors reach ``2**31``).
    """

    def __init__(self):
        self.n = 0
        self.n_err = 0
        self.sum_abs = 0  # exact Python int
        self.sum_err = 0
        self.max_abs = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.n_nz = 0
        self.sum_rel = 0.0
        self.sum_srel = 0.0
        self.max_rel = 0.0

    def add(self, approx: np.ndarray, exact: np.ndarray) -> None:
        approx = np.asarray(approx, dtype=np.int64).ravel()
        exact = np.asarray(exact, dtype=np.int64).ravel()
        if approx.shape != exact.shape:
            raise AxmacError(f"approximate and exact products differ in size: {approx.size} != {exact.size}")
        k = approx.size
        if k == 0:
            return
        err = approx - exact
        abs_err = np.abs(err)
        self.n_err += int(np.count_nonzero(err))
        self.sum_abs += int(abs_err.sum())
        s = int(err.sum())
        self.sum_err += s
        self.max_abs = max(self.max_abs, int(abs_err.max()))
        # Chan's parallel variance update
        ef = err.astype(np.float64)
        mean_b = s / k
        m2_b = float(np.square(ef - mean_b).sum())
        delta = mean_b - self.mean
        tot = self.n + k
        self.m2 += m2_b + delta * delta * self.n * k / tot
        self.mean += delta * k / tot
        self.n = tot
        nz = exact != 0
        n_nz = int(np.count_nonzero(nz))
        if n_nz:
            rel = ef[nz] / exact[nz].astype(np.float64)
            self.n_nz += n_nz
            self.sum_srel += float(rel.sum())
            arel = np.abs(rel)
            self.sum_rel += float(arel.sum())
            self.max_rel = max(self.max_rel, float(arel.max()))

    def result(self) -> dict:
        if self.n == 0:
            raise AxmacError("no products to compute error metrics from")
        nan = math.nan
        return {
            "mae": self.sum_abs / self.n,
            "wce": self.max_abs,
            "wcre": self.max_rel if self.n_nz else nan,
            "mred": self.sum_rel / self.n_nz if self.n_nz else nan,
            "bias": self.sum_srel / self.n_nz if self.n_nz else nan,
            "mean_error": self.sum_err / self.n,
            "error_variance": self.m2 / self.n,
            "error_probability": self.n_err / self.n,
            "pairs": self.n,
        }


def error_metrics_from_products(approx, exact) -> dict:
    """Error metrics of approximate products ``approx`` against the exact ``exact`` (same shape).

    Returns a dict with :data:`METRIC_KEYS` and ``pairs`` (the number of products). See the module
    docstring for the definitions. Works on any integer arrays, chunk by chunk.
    """
    approx = np.asarray(approx)
    exact = np.asarray(exact)
    if approx.shape != exact.shape:
        raise AxmacError(f"approximate and exact products differ in shape: {approx.shape} != {exact.shape}")
    acc = _Accumulator()
    a = approx.ravel()
    e = exact.ravel()
    for i in range(0, a.size, CHUNK):
        acc.add(a[i:i + CHUNK], e[i:i + CHUNK])
    return acc.result()


def error_metrics(mult: Multiplier, *, samples: int = 1_000_000, seed: int = 0,
                  exhaustive: bool | None = None) -> dict:
    """Error metrics of a multiplier's golden model.

    Parameters
    ----------
    mult : Multiplier
        The golden model (``axmac.golden.multipliers.make_multiplier(spec, bits, signed)``).
    samples : int
        Number of uniform random operand pairs when not exhaustive (at least 1).
    seed : int
        Seed of :func:`numpy.random.default_rng` for the sampled pairs.
    exhaustive : bool, optional
        Force (``True``) or refuse (``False``) the exhaustive evaluation; by default exhaustive
        iff ``mult.bits <= 10``. Beyond 10 bits an exhaustive run evaluates the model on all
        ``2**(2n)`` pairs chunk by chunk (no table): 12 bits is 1.7e7 pairs (seconds),
        16 bits 4.3e9 (tens of minutes at the model's 5-10 M products/s).

    Returns
    -------
    dict
        :data:`METRIC_KEYS`, ``pairs`` (pairs evaluated), ``exhaustive``, ``bits``, ``signed``,
        ``spec``, and ``seed`` (``None`` when exhaustive).
    """
    if not isinstance(mult, Multiplier):
        raise TypeError(f"mult must be a Multiplier, not {mult!r}")
    if exhaustive is None:
        exhaustive = mult.bits <= EXHAUSTIVE_MAX_BITS
    acc = _Accumulator()
    fmt = mult.fmt
    if exhaustive:
        v = fmt.values()
        table = mult.table() if mult.bits <= EXHAUSTIVE_MAX_BITS or mult.table_only else None
        rows = max(1, CHUNK >> fmt.bits)
        for r in range(0, v.size, rows):
            va = v[r:r + rows, None]
            vb = v[None, :]
            approx = table[r:r + rows] if table is not None else mult(*np.broadcast_arrays(va, vb), check=False)
            acc.add(approx, va * vb)
    else:
        if isinstance(samples, bool) or not isinstance(samples, int | np.integer) or samples < 1:
            raise AxmacError(f"samples must be a positive integer, not {samples!r}")
        rng = np.random.default_rng(seed)
        done = 0
        while done < samples:
            k = min(CHUNK, samples - done)
            a = rng.integers(fmt.lo, fmt.hi, size=k, dtype=np.int64, endpoint=True)
            b = rng.integers(fmt.lo, fmt.hi, size=k, dtype=np.int64, endpoint=True)
            acc.add(mult(a, b, check=False), a * b)
            done += k
    out = acc.result()
    out.update(exhaustive=bool(exhaustive), bits=mult.bits, signed=mult.signed, spec=mult.spec,
               seed=None if exhaustive else int(seed))
    return out


__all__ = ["CHUNK", "EXHAUSTIVE_MAX_BITS", "METRIC_KEYS", "error_metrics", "error_metrics_from_products"]
