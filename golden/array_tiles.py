"""Tiling of a (grouped) GEMM for the systolic array, in the order its streams carry the tiles.

A GEMM ``Y[g] = X[g] @ W[g]`` (``G`` groups of ``X (M, K)``, ``W (K, N)``) becomes tiles of
``docs/array.md``. ``gp`` groups share a tile **block-diagonally** (Gemmini and TPU-style
packing of grouped / depthwise convolutions): group ``i`` of the tile holds rows
``i*kt .. i*kt + k - 1`` and columns ``i*nt .. i*nt + n - 1`` of the array, the other PEs hold
zero weights, so ``gp`` groups of ``N <= C/gp`` columns use the array's width at once.

``ws`` (weight-stationary): a tile is a ``k <= kt`` x ``n <= nt`` block of each of its groups'
W (``gp*kt <= R``, ``gp*nt <= C``) and ``m <= D`` rows of X (``D = acc_depth``). Order: group
set, column block ``ni``, row block ``mi``, K block ``ki`` innermost (``first`` = ``ki == 0``,
``last`` = the last K block; partial sums stay in the accumulator buffer in between).
``cmd.count = m``.

``os`` (output-stationary): a tile is ``m <= R`` rows x ``n <= nt`` columns of each group's Y
over all of ``K``; packed groups concatenate their K ranges (beat ``i*K + k`` carries group
``i``'s column ``k`` of X and row ``k`` of W in its own columns), so ``cmd.count = gp*K``,
``cmd.m = m``. Order: group set, column block ``ni``, row block ``mi``: the output-stage
parameters (per column) then change once per column block, not once per tile, and the two
parameter banks never hold back short tiles.

``qp_commit`` marks the first tile of each (group set, column block) that outputs results when
the program carries output-stage parameters (bias or requantization). :func:`choose_gpack`
picks ``gp`` for the fewest estimated cycles (``ws``: ``max(m, R)`` per tile; ``os``:
``max(count, R)`` per tile).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import COUNT_BITS, ArrayConfig
from ..errors import AxmacError

#: Columns of :attr:`TilePlan.tiles`, in order.
TILE_FIELDS = ("g0", "g1", "mi", "ki", "ni", "m0", "m1", "k0", "k1", "n0", "n1",
               "first", "last", "qp_commit", "count", "m")
_F = {name: i for i, name in enumerate(TILE_FIELDS)}


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class TilePlan:
    """The tiles of one GEMM on one array, in stream order.

    Attributes
    ----------
    dataflow : str
        ``"ws"`` or ``"os"``.
    groups, m, k, n : int
        Per-group GEMM ``(M, K) @ (K, N)``, ``groups`` of them.
    gp, kt, nt, mt : int
        Groups per tile, row stride per group (ws; ``K`` for os), column stride per group, and
        rows per row block (``<= acc_depth`` for ws, ``<= R`` for os).
    tiles : numpy.ndarray of int64, shape (T, len(TILE_FIELDS))
        One row per tile (:data:`TILE_FIELDS`): groups ``g0..g1-1``, block indices, the
        ``[m0, m1) x [k0, k1) x [n0, n1)`` block of each group, the command's flags, ``count``
        and ``m`` (``cmd.m``: os rows, 0 in ws).
    """

    dataflow: str
    groups: int
    m: int
    k: int
    n: int
    gp: int
    kt: int
    nt: int
    mt: int
    tiles: np.ndarray

    def field(self, name: str) -> np.ndarray:
        return self.tiles[:, _F[name]]

    @property
    def macs(self) -> np.ndarray:
        """Useful MACs per tile: ``(g1-g0) * (m1-m0) * (k1-k0) * (n1-n0)``."""
        f = self.field
        return (f("g1") - f("g0")) * (f("m1") - f("m0")) * (f("k1") - f("k0")) * (f("n1") - f("n0"))

    @property
    def commits(self) -> int:
        """Number of parameter blocks (``qp`` beats)."""
        return int(self.field("qp_commit").sum())

    @property
    def out_rows(self) -> int:
        """Rows the array outputs (``o`` beats): ws ``sum m`` of last tiles, os ``sum m``."""
        f = self.field
        if self.dataflow == "ws":
            return int((f("count") * f("last")).sum())
        return int(f("m").sum())


def _blocks(total: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.arange(0, total, size, dtype=np.int64)
    return starts, np.minimum(starts + size, total)


def check_gemm(cfg: ArrayConfig, m: int, k: int, n: int, groups: int) -> None:
    if not isinstance(cfg, ArrayConfig):
        raise AxmacError(f"an ArrayConfig is needed, not {type(cfg).__name__}")
    for name, v in (("M", m), ("K", k), ("N", n), ("groups", groups)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise AxmacError(f"GEMM {name} must be a positive integer, not {v!r}")
    if cfg.dataflow == "os" and k > (1 << COUNT_BITS) - 1:
        raise AxmacError(f"os tiles stream all of K = {k} in one command: at most {(1 << COUNT_BITS) - 1}")
    if cfg.dataflow == "os" and cfg.fifo_depth < min(m, cfg.rows):
        raise AxmacError(f"an os tile of {min(m, cfg.rows)} rows needs as many output FIFO rows "
                         f"(out_fifo_depth {cfg.fifo_depth})")


def pack_strides(cfg: ArrayConfig, k: int, n: int, gp: int) -> tuple[int, int]:
    """``(kt, nt)``: rows (ws) and columns per packed group for ``gp`` groups per tile."""
    nt = min(n, cfg.cols // gp)
    kt = min(k, cfg.rows // gp) if cfg.dataflow == "ws" else k
    return kt, nt


def estimate_cycles(cfg: ArrayConfig, m: int, k: int, n: int, groups: int, gp: int) -> int:
    """Streaming-bound cycle estimate of a packing (``ws``: ``max(m, R)`` per tile, ``os``:
    ``max(count, R)`` per tile): what :func:`choose_gpack` minimises."""
    R = cfg.rows
    kt, nt = pack_strides(cfg, k, n, gp)
    sets, nb = _ceil(groups, gp), _ceil(n, nt)
    if cfg.dataflow == "ws":
        d = min(m, cfg.acc_depth)
        rows = (m // d) * max(d, R) + (max(m % d, R) if m % d else 0)
        return sets * nb * _ceil(k, kt) * rows
    full, rest = divmod(groups, gp)
    per_set = [(gp, full)] + ([(rest, 1)] if rest else [])
    return sum(cnt * nb * _ceil(m, R) * max(g * k, R) for g, cnt in per_set)


def choose_gpack(cfg: ArrayConfig, m: int, k: int, n: int, groups: int) -> int:
    """Groups per tile with the fewest :func:`estimate_cycles` (the smallest on ties)."""
    most = min(groups, cfg.cols, cfg.rows if cfg.dataflow == "ws" else groups)
    if cfg.dataflow == "os":  # a tile's K (all packed groups) must fit a command's count
        most = min(most, max(1, ((1 << COUNT_BITS) - 1) // k))
    best = min(range(1, max(most, 1) + 1), key=lambda g: (estimate_cycles(cfg, m, k, n, groups, g), g))
    return int(best)


def plan_gemm(cfg: ArrayConfig, m: int, k: int, n: int, groups: int = 1, *, params: bool = True,
              gp: int | None = None) -> TilePlan:
    """Tiles of ``groups`` GEMMs ``(m, k) @ (k, n)`` on ``cfg``'s array (module docstring).

    ``params``: the program carries output-stage parameters (a ``qp`` beat per column block
    and ``qp_commit`` on its first result tile). ``gp``: groups per tile (default
    :func:`choose_gpack`).
    """
    check_gemm(cfg, m, k, n, groups)
    m, k, n, groups = int(m), int(k), int(n), int(groups)
    R, C = cfg.rows, cfg.cols
    gp = choose_gpack(cfg, m, k, n, groups) if gp is None else int(gp)
    if isinstance(gp, bool) or not 1 <= gp <= min(groups, C) or (cfg.dataflow == "ws" and gp > R):
        raise AxmacError(f"cannot pack {gp} groups per tile on a {R}x{C} array")
    kt, nt = pack_strides(cfg, k, n, gp)
    mt = min(m, cfg.acc_depth) if cfg.dataflow == "ws" else min(m, R)
    g0, g1 = _blocks(groups, gp)
    m0, m1 = _blocks(m, mt)
    n0, n1 = _blocks(n, nt)
    k0, k1 = _blocks(k, kt) if cfg.dataflow == "ws" else (np.zeros(1, np.int64), np.full(1, k, np.int64))
    gi, ni, mi, ki = (a.ravel() for a in np.meshgrid(np.arange(len(g0)), np.arange(len(n0)), np.arange(len(m0)),
                                                      np.arange(len(k0)), indexing="ij"))
    first = ki == 0
    last = ki == len(k0) - 1
    qp_commit = (last & (mi == 0)) if params else np.zeros_like(last)
    gcount = g1[gi] - g0[gi]
    if cfg.dataflow == "ws":
        count, rows = m1[mi] - m0[mi], np.zeros_like(gi)
    else:
        count, rows = gcount * k, m1[mi] - m0[mi]
    tiles = np.stack([g0[gi], g1[gi], mi, ki, ni, m0[mi], m1[mi], k0[ki], k1[ki], n0[ni], n1[ni],
                      first, last, qp_commit, count, rows], axis=1).astype(np.int64)
    return TilePlan(cfg.dataflow, groups, m, k, n, gp, kt, nt, mt, tiles)
