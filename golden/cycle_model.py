"""Analytic cycle model of the R x C systolic MAC array: what the array RTL must match cycle for cycle.

The array has ``R`` rows and ``C`` columns of PEs. A GEMM ``Y[M, N] = X[M, K] @ W[K, N]`` is cut
into tiles (:mod:`axmac.onnx_import.schedule`); every tile runs the same fixed sequence,
whatever part of the array it uses (unused rows / columns hold zeros), one tile after the other,
with **no overlap between tiles and no double buffering**. Cycle ``t`` below counts from 0 at the
first cycle of a tile; an event "at cycle t" happens on the clock edge that ends cycle ``t``.

Weight-stationary (``ws``): K along rows, N along columns, M streamed
-----------------------------------------------------------------------
Tile: ``k <= R`` rows of W, ``n <= C`` columns, all ``m`` rows of X.

1. **Weight load**, cycles ``0 .. R-1``: every column is a shift register fed from the top; on
   load cycle ``t`` the top row takes ``W[k0 + R-1-t, n0 + c]`` and every row passes its weight one
   row down, so after ``R`` cycles PE ``(r, c)`` holds ``W[k0 + r, n0 + c]``.
2. **Stream**, ``M + R + C - 2`` cycles starting at cycle ``R``: with ``s = t - R``, element
   ``X[m, k0 + r]`` enters row ``r`` from the left at ``s = m + r`` (input skew), moves one column
   right per cycle, and reaches PE ``(r, c)`` at ``s = m + r + c``; partial sums move one row down
   per cycle (row 0 starts from 0), so PE ``(r, c)`` adds its product at ``s = m + r + c`` and the
   finished ``Y[m, n0 + c]`` (summed over the ``R`` rows) leaves the bottom of column ``c`` at
   ``s = m + (R - 1) + c`` (output de-skew is the consumer's job). The last one leaves at
   ``s = M + R + C - 3``.

   ``cycles_ws(M) = R + (M + R + C - 2)``

Output-stationary (``os``): M x N outputs held in the array, K streamed
--------------------------------------------------------------------------
Tile: ``m <= R`` rows of Y, ``n <= C`` columns, all ``K``.

1. **Stream**, cycles ``0 .. K + R + C - 3``: ``X[m0 + i, k]`` enters row ``i`` from the left at
   cycle ``k + i`` and moves right; ``W[k, n0 + j]`` enters column ``j`` from the top at cycle
   ``k + j`` and moves down; both meet in PE ``(i, j)`` at cycle ``k + i + j``, which accumulates
   their product (accumulators cleared at the start of the tile). The last product is taken by
   PE ``(R-1, C-1)`` at cycle ``K + R + C - 3``.
2. **Drain**, ``R`` cycles: the accumulators of each column shift one row down per cycle and leave
   at the bottom, bottom row first: ``Y[m0 + i, n0 + j]`` leaves at cycle
   ``(K + R + C - 2) + (R - 1 - i)``.

   ``cycles_os(K) = (K + R + C - 2) + R``

Counts per GEMM with ``G`` groups: ``ws``: ``G * ceil(K/R) * ceil(N/C)`` tiles of
``cycles_ws(M)``; ``os``: ``G * ceil(M/R) * ceil(N/C)`` tiles of ``cycles_os(K)``. Utilization is
``useful MACs / (R * C * cycles)``, at most 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import AxmacError

DATAFLOWS = ("ws", "os")


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class CycleModel:
    """The cycle model of one array: ``rows`` x ``cols`` PEs and a dataflow (``ws`` or ``os``)."""

    rows: int
    cols: int
    dataflow: str = "ws"

    def __post_init__(self):
        for name, v in (("rows", self.rows), ("cols", self.cols)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise AxmacError(f"array {name} must be a positive integer, not {v!r}")
        if self.dataflow not in DATAFLOWS:
            raise AxmacError(f"dataflow must be one of {', '.join(DATAFLOWS)}, not {self.dataflow!r}")

    # -- one tile --------------------------------------------------------------------------------------
    @property
    def load_cycles(self) -> int:
        """Weight-load cycles of a ``ws`` tile (``R``); 0 for ``os``."""
        return self.rows if self.dataflow == "ws" else 0

    @property
    def drain_cycles(self) -> int:
        """Accumulator-drain cycles of an ``os`` tile (``R``); 0 for ``ws``."""
        return self.rows if self.dataflow == "os" else 0

    def stream_cycles(self, streamed: int) -> int:
        """Cycles of the streaming phase: ``streamed + R + C - 2`` (``streamed`` = M for ws, K for os)."""
        return int(streamed) + self.rows + self.cols - 2

    def tile_cycles(self, m: int, k: int, n: int) -> int:
        """Cycles of one tile covering ``m`` x ``k`` x ``n`` (``k <= R`` for ws, ``m <= R`` for os; ``n <= C``)."""
        if self.dataflow == "ws":
            if k > self.rows or n > self.cols:
                raise AxmacError(f"ws tile {k}x{n} does not fit a {self.rows}x{self.cols} array")
            return self.load_cycles + self.stream_cycles(m)
        if m > self.rows or n > self.cols:
            raise AxmacError(f"os tile {m}x{n} does not fit a {self.rows}x{self.cols} array")
        return self.stream_cycles(k) + self.drain_cycles

    def output_cycle(self, i: int, c: int, streamed: int) -> int:
        """Tile cycle at whose end output ``(i, c)`` of a tile leaves the array.

        ws: ``i`` is the output row ``m`` (of ``streamed = M``): ``R + i + (R - 1) + c``.
        os: ``i`` is the array row (of ``streamed = K``): ``(K + R + C - 2) + (R - 1 - i)``.
        """
        if self.dataflow == "ws":
            return self.rows + i + self.rows - 1 + c
        return self.stream_cycles(streamed) + self.rows - 1 - i

    # -- one GEMM --------------------------------------------------------------------------------------
    def gemm_tiles(self, m: int, k: int, n: int, groups: int = 1) -> int:
        """Number of tiles of a (grouped) GEMM."""
        if self.dataflow == "ws":
            return groups * _ceil(k, self.rows) * _ceil(n, self.cols)
        return groups * _ceil(m, self.rows) * _ceil(n, self.cols)

    def gemm_cycles(self, m: int, k: int, n: int, groups: int = 1) -> int:
        """Cycles of a (grouped) GEMM: tiles x cycles per tile (every tile of a GEMM has the same length)."""
        per = self.load_cycles + self.stream_cycles(m) if self.dataflow == "ws" else \
            self.stream_cycles(k) + self.drain_cycles
        return self.gemm_tiles(m, k, n, groups) * per

    def utilization(self, macs: int, cycles: int) -> float:
        """``macs / (R * C * cycles)``."""
        return float(macs) / (self.rows * self.cols * cycles) if cycles else 0.0
