"""The host side of the array: a GEMM -> the beat streams of ``docs/array.md``, and back.

:func:`gemm_program` turns ``Y[g] = X[g] @ W[g]`` (centered integer operands, optional
per-column bias, optional requantization) into a :class:`Program`: the ``cmd``, ``w``, ``a``
and ``qp`` beats in stream order (tiles of :func:`~axmac.golden.array_tiles.plan_gemm`) and the
map from every ``o`` beat lane back to an element of ``Y``. Per tile:

* ``ws``: ``R`` ``w`` beats (row ``j`` of the block-diagonal W block, zero rows below the
  tile's K slice), one ``cmd`` (``count = m``, ``first``/``last``/``qp_commit``, ``m = 0``), and
  ``m`` ``a`` beats (row ``i``: lane ``gi*kt + r`` = ``X[g0+gi][m0+i, k0+r]``, other lanes 0). A
  ``last`` tile's beat ``i`` comes back as one ``o`` beat (row ``m0 + i``).
* ``os``: one ``cmd`` (``count = gp*K``, ``m`` rows) and ``count`` pairs of ``a``/``w`` beats
  (beat ``gi*K + k``: ``a`` lane ``i`` = ``X[g0+gi][m0+i, k]``; ``w`` lane ``gi*nt + j`` =
  ``W[g0+gi][k, n0+j]``); the tile's rows come back bottom first (row ``m-1`` first).
* ``qp``: one beat per ``qp_commit`` tile, lane ``c`` holding the bias / ``mult`` / ``shift``
  of the output channel (``g*N + n``) in lane ``c``; ``zp``, ``lo``, ``hi``, ``relu`` of the layer;
  ``requant = 1`` with requantization, 0 for accumulator outputs. No ``qp`` beat at all when
  there is neither bias nor requantization (the reset banks pass accumulators).

:meth:`Program.expected` is the plain reference the array must reproduce (exact GEMM through
``mac_gemm`` + the output stage of :mod:`~axmac.golden.requant`); :meth:`Program.assemble`
scatters ``o`` values back to ``Y (G, M, N)``; :meth:`Program.payloads` packs every beat with
the layouts of :mod:`~axmac.golden.array_payload` for stimulus files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import ArrayConfig
from ..errors import AxmacError
from .array_payload import stream_layouts
from .array_tiles import TilePlan, plan_gemm
from .requant import RequantParams, acc_output

#: The fields of a ``cmd`` beat and of a ``qp`` beat as :class:`Program` holds them.
CMD_FIELDS = ("count", "first", "last", "qp_commit", "m")
QP_FIELDS = ("col.bias", "col.mult", "col.shift", "zp", "lo", "hi", "relu", "requant")


@dataclass
class Program:
    """Streams of one GEMM for one array (see the module docstring).

    ``cmd``/``qp``: ``{field: array}`` with one entry per beat (``col.*``: ``(Q, C)``);
    ``w (n_w, C)``, ``a (n_a, R)``: operand values; ``out_index (n_o, C)``: flat index into
    ``Y (G, M, N)`` of each output lane, ``-1`` for unused lanes; ``x``, ``w_mat``, ``bias``,
    ``requant``: the GEMM it came from.
    """

    config: ArrayConfig
    plan: TilePlan
    cmd: dict
    w: np.ndarray
    a: np.ndarray
    qp: dict
    out_index: np.ndarray
    x: np.ndarray
    w_mat: np.ndarray
    bias: np.ndarray
    requant: RequantParams | None

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.plan.groups, self.plan.m, self.plan.n

    @property
    def out_tiles(self) -> np.ndarray:
        """The tile (index into ``plan.tiles``) each ``o`` beat comes from."""
        f = self.plan.field
        if self.plan.dataflow == "ws":
            last = np.flatnonzero(f("last"))
            return np.repeat(last, f("count")[last])
        return np.repeat(np.arange(len(self.plan.tiles)), f("m"))

    def assemble(self, o_values) -> np.ndarray:
        """``o`` beat values ``(n_o, C)`` -> ``Y (G, M, N)`` int64 (every element is written once)."""
        o_values = np.asarray(o_values, dtype=np.int64)
        if o_values.shape != self.out_index.shape:
            raise AxmacError(f"expected {self.out_index.shape} output values, got {o_values.shape}")
        y = np.zeros(int(np.prod(self.shape)), dtype=np.int64)
        used = self.out_index >= 0
        y[self.out_index[used]] = o_values[used]
        return y.reshape(self.shape)

    def expected(self, mult=None, bypass=None) -> np.ndarray:
        """``Y`` by a plain reference: ``mac_gemm`` per group (PE product path of ``mult`` +
        ``bypass``, exact additions), then bias and the output stage. Equal to the array's
        results when no accumulator overflows (``wrap``: whatever the order)."""
        from .gemm import mac_gemm
        from .multipliers import make_multiplier

        cfg = self.config
        g, m, n = self.shape
        mult = mult or make_multiplier(cfg.multiplier, cfg.bits, cfg.signed)
        kwargs = {} if bypass is None else {"bypass": bypass}
        acc = np.stack([mac_gemm(xg, wg, mult=mult, **kwargs) for xg, wg in zip(self.x, self.w_mat, strict=True)])
        bias = self.bias.reshape(g, 1, n)
        if self.requant is None:
            return acc_output(acc, bias, cfg.acc_bits, cfg.overflow)
        t = (acc + bias).transpose(1, 0, 2).reshape(m, g * n)  # channel g*N + n on the last axis
        return self.requant.apply(t).reshape(m, g, n).transpose(1, 0, 2)

    def streams(self) -> dict:
        """``{"cmd", "w", "a", "qp"}`` as :func:`axmac.golden.array.simulate` takes them."""
        return {"cmd": self.cmd, "w": self.w, "a": self.a, "qp": self.qp}

    def payloads(self) -> dict[str, list[int]]:
        """Every beat of every input stream packed as an integer (``docs/array.md`` layouts)."""
        lay = stream_layouts(self.config)
        return {"cmd": lay["cmd"].pack(self.cmd), "w": lay["w"].pack({"w": self.w}),
                "a": lay["a"].pack({"a": self.a}),
                "qp": lay["qp"].pack(self.qp) if len(self.qp["zp"]) else []}


def _as_groups(v, name: str, ndim: int) -> np.ndarray:
    v = np.asarray(v)
    if v.dtype.kind not in "iu":
        raise AxmacError(f"GEMM operand {name} must be an integer array, not {v.dtype}")
    if v.ndim == ndim - 1:
        v = v[None]
    if v.ndim != ndim:
        raise AxmacError(f"GEMM operand {name} must have {ndim - 1} or {ndim} dimensions, not shape {v.shape}")
    return v.astype(np.int64)


def gemm_program(cfg: ArrayConfig, x, w, *, bias=None, requant: RequantParams | None = None,
                 gp: int | None = None) -> Program:
    """The :class:`Program` of ``Y[g] = X[g] @ W[g]`` on ``cfg``'s array.

    Parameters
    ----------
    cfg : ArrayConfig
        The array (size, operand format, ``acc_depth``, dataflow, ``output_stage``).
    x, w : array_like of int
        ``X (M, K)`` and ``W (K, N)``, or ``(G, M, K)`` and ``(G, K, N)`` for ``G`` groups;
        centered values within ``cfg.operand``.
    bias : array_like of int, optional
        Per output channel (``N`` or ``G*N`` entries, channel ``g*N + n``), ``signed(A)``.
    requant : RequantParams, optional
        Requantization per channel; ``None``: results are ``wrap_or_saturate(acc + bias)``.
    gp : int, optional
        Groups per tile (default: :func:`~axmac.golden.array_tiles.choose_gpack`).
    """
    x = _as_groups(x, "x", 3)
    w = _as_groups(w, "w", 3)
    if x.shape[0] != w.shape[0] or x.shape[2] != w.shape[1]:
        raise AxmacError(f"GEMM shapes do not match: x {x.shape} @ w {w.shape}")
    cfg.operand.check(x, "x")
    cfg.operand.check(w, "w")
    G, M, K = x.shape
    N = w.shape[2]
    if requant is not None and cfg.output_stage != "requant":
        raise AxmacError("the array's output stage is 'acc': it cannot requantize (output_stage='requant')")
    bias_v = np.zeros(G * N, np.int64) if bias is None else np.asarray(bias, dtype=np.int64).ravel()
    if bias_v.size == N and G > 1:
        bias_v = np.tile(bias_v, G)
    if bias_v.size != G * N:
        raise AxmacError(f"bias has {bias_v.size} entries for {G * N} output channels")
    half = 1 << (cfg.acc_bits - 1)
    if bias_v.size and (bias_v.min() < -half or bias_v.max() >= half):
        raise AxmacError(f"bias does not fit signed({cfg.acc_bits})")
    params = bias is not None or requant is not None
    mult_c, shift_c = requant.per_channel(G * N) if requant is not None else (None, None)
    plan = plan_gemm(cfg, M, K, N, G, params=params, gp=gp)
    C = cfg.cols
    cmd = {f: plan.field(f).copy() for f in CMD_FIELDS}
    w_beats, a_beats, out_rows, qp_rows = [], [], [], []
    tiles = plan.tiles
    key = tiles[:, 0] * (plan.n + 1) + tiles[:, 9]  # (group set, column block): contiguous runs of tiles
    bounds = np.flatnonzero(np.diff(key)) + 1
    for run in np.split(np.arange(len(tiles)), bounds):
        wb, ab, rows, lanes = _column_group(cfg, plan, x, w, tiles[run])
        w_beats += wb
        a_beats += ab
        lane_g, lane_n = lanes
        if len(rows):
            idx = (lane_g[None, :] * M + rows[:, None]) * N + lane_n[None, :]
            out_rows.append(np.where(lane_g[None, :] >= 0, idx, -1))
        if tiles[run, 13].any():
            qp_rows.append(np.where(lane_g >= 0, lane_g * N + lane_n, -1))
    ch = np.array(qp_rows, np.int64).reshape(-1, C)
    used = ch >= 0
    take = np.where(used, ch, 0)
    q = len(ch)
    qp = {"col.bias": np.where(used, bias_v[take], 0),
          "col.mult": np.where(used, mult_c[take], 0) if requant is not None else np.zeros((q, C), np.int64),
          "col.shift": np.where(used, shift_c[take], 0) if requant is not None else np.zeros((q, C), np.int64),
          "zp": np.full(q, requant.zp if requant else 0, np.int64),
          "lo": np.full(q, requant.lo if requant else 0, np.int64),
          "hi": np.full(q, requant.hi if requant else 0, np.int64),
          "relu": np.full(q, int(requant.relu) if requant else 0, np.int64),
          "requant": np.full(q, 1 if requant else 0, np.int64)}
    return Program(cfg, plan, cmd, np.concatenate(w_beats), np.concatenate(a_beats), qp,
                   np.concatenate(out_rows) if out_rows else np.zeros((0, C), np.int64), x, w, bias_v, requant)


def _column_group(cfg: ArrayConfig, plan: TilePlan, x: np.ndarray, w: np.ndarray, tiles: np.ndarray):
    """The ``w`` and ``a`` beats (lists of blocks), output rows and lane map ``(group, column)``
    of the consecutive tiles of one (group set, column block)."""
    R, C, K, M = cfg.rows, cfg.cols, plan.k, plan.m
    g0, g1, n0, n1 = (int(v) for v in tiles[0, [0, 1, 9, 10]])
    gc, nn = g1 - g0, n1 - n0
    lane_g = np.full(C, -1, np.int64)
    lane_n = np.full(C, -1, np.int64)
    for gi in range(gc):
        lane_g[gi * plan.nt: gi * plan.nt + nn] = g0 + gi
        lane_n[gi * plan.nt: gi * plan.nt + nn] = np.arange(n0, n1)
    if cfg.dataflow == "ws":
        wblk, xblk = {}, {}
        for k0, k1 in {(int(a), int(b)) for a, b in tiles[:, [7, 8]]}:
            wb = np.zeros((R, C), np.int64)
            xp = np.zeros((M, R), np.int64)
            for gi in range(gc):
                r, c = gi * plan.kt, gi * plan.nt
                wb[r:r + k1 - k0, c:c + nn] = w[g0 + gi, k0:k1, n0:n1]
                xp[:, r:r + k1 - k0] = x[g0 + gi, :, k0:k1]
            wblk[k0], xblk[k0] = wb, xp
        w_beats = [wblk[int(t[7])] for t in tiles]
        a_beats = [xblk[int(t[7])][int(t[5]):int(t[6])] for t in tiles]
        rows = np.concatenate([np.arange(t[5], t[6]) for t in tiles if t[12]] or [np.zeros(0, np.int64)])
        return w_beats, a_beats, rows, (lane_g, lane_n)
    # os: every row block of the column group at once, rows of a tile bottom first
    nmb, mt = len(tiles), plan.mt
    wb = np.zeros((gc * K, C), np.int64)
    ab = np.zeros((nmb, gc * K, R), np.int64)
    for gi in range(gc):
        wb[gi * K:(gi + 1) * K, gi * plan.nt: gi * plan.nt + nn] = w[g0 + gi, :, n0:n1]
        xg = np.zeros((nmb * mt, K), np.int64)
        m_lo = int(tiles[0, 5])
        xg[:min(M - m_lo, nmb * mt)] = x[g0 + gi, m_lo:m_lo + nmb * mt]
        ab[:, gi * K:(gi + 1) * K, :mt] = xg.reshape(nmb, mt, K).transpose(0, 2, 1)
    rows = (tiles[:, 5:6] + mt - 1 - np.arange(mt)[None, :]).ravel()
    rows = rows[rows < tiles[:, 6].repeat(mt)]
    return [np.broadcast_to(wb, (nmb, *wb.shape)).reshape(-1, C)], [ab.reshape(-1, R)], rows, (lane_g, lane_n)
