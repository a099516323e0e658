"""Tiled schedules of a Network's GEMMs on an R x C array, with cycles, traffic and utilization.

Tiling (see :mod:`axmac.golden.cycle_model` for what one tile does, cycle by cycle):

* ``ws`` (weight-stationary): a tile holds a ``k <= R`` x ``n <= C`` block of W and streams all
  ``M`` rows of X. Order: group, then N block (``ni``), then K block (``ki``) innermost, so the
  partial sums of one output block are accumulated by consecutive tiles.
* ``os`` (output-stationary): a tile holds an ``m <= R`` x ``n <= C`` block of Y and streams all
  of ``K``. Order: group, then M block (``mi``), then N block (``ni``).

Buffer traffic of a tile, in bytes, with element sizes ``bx = bw = ceil(operand_bits / 8)`` (one
operand format per layer) and ``ba = ceil(acc_bits / 8)``:

* ``weight_bytes = k * n * bw`` (weights read once per tile);
* ``input_bytes = m * k * bx`` (activations as streamed, i.e. im2col-expanded);
* ``psum_read_bytes = m * n * ba`` for a ws tile with ``ki > 0`` (partial sums read back to
  accumulate), else 0;
* ``output_bytes = m * n * ba`` (partial sums or final accumulators written, before the output
  stage).

Utilization of a layer: ``useful MACs / (R * C * cycles)``.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import AxmacError
from ..golden.cycle_model import CycleModel
from ..ir import Network
from .lower import GemmShape, lower_network

FORMAT = "axmac-schedule/1"
TILE_FIELDS = ("layer", "group", "mi", "ki", "ni", "m0", "m1", "k0", "k1", "n0", "n1", "macs", "cycles")
TRAFFIC_KEYS = ("weight_bytes", "input_bytes", "psum_read_bytes", "output_bytes")
DEFAULT_MAX_TILES = 100_000


def _blocks(total: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.arange(0, total, size, dtype=np.int64)
    return starts, np.minimum(starts + size, total)


def layer_tiles(index: int, gs: GemmShape, model: CycleModel) -> np.ndarray:
    """All tiles of one layer, in schedule order, as an ``(T, len(TILE_FIELDS))`` int64 array."""
    R, C = model.rows, model.cols
    if model.dataflow == "ws":
        k0, k1 = _blocks(gs.k, R)
        n0, n1 = _blocks(gs.n, C)
        g, ni, ki = (a.ravel() for a in np.meshgrid(np.arange(gs.groups), np.arange(len(n0)), np.arange(len(k0)),
                                                    indexing="ij"))
        mi = np.zeros_like(g)
        m0, m1 = np.zeros_like(g), np.full_like(g, gs.m)
        k0, k1, n0, n1 = k0[ki], k1[ki], n0[ni], n1[ni]
    else:
        m0, m1 = _blocks(gs.m, R)
        n0, n1 = _blocks(gs.n, C)
        g, mi, ni = (a.ravel() for a in np.meshgrid(np.arange(gs.groups), np.arange(len(m0)), np.arange(len(n0)),
                                                    indexing="ij"))
        ki = np.zeros_like(g)
        k0, k1 = np.zeros_like(g), np.full_like(g, gs.k)
        m0, m1, n0, n1 = m0[mi], m1[mi], n0[ni], n1[ni]
    macs = (m1 - m0) * (k1 - k0) * (n1 - n0)
    per_tile = model.tile_cycles(gs.m if model.dataflow == "ws" else min(R, gs.m), min(R, gs.k) if
                                 model.dataflow == "ws" else gs.k, min(C, gs.n))
    cycles = np.full_like(g, per_tile)
    return np.stack([np.full_like(g, index), g, mi, ki, ni, m0, m1, k0, k1, n0, n1, macs, cycles], axis=1)


def tile_traffic(tiles: np.ndarray, operand_bits: int, acc_bits: int, dataflow: str) -> dict[str, int]:
    """Total buffer traffic (bytes) of ``tiles`` (rows of :data:`TILE_FIELDS`)."""
    f = {name: tiles[:, i] for i, name in enumerate(TILE_FIELDS)}
    m, k, n = f["m1"] - f["m0"], f["k1"] - f["k0"], f["n1"] - f["n0"]
    bx = math.ceil(operand_bits / 8)
    ba = math.ceil(acc_bits / 8)
    psum_read = (m * n * ba * (f["ki"] > 0)) if dataflow == "ws" else np.zeros_like(m)
    return {"weight_bytes": int((k * n).sum() * bx), "input_bytes": int((m * k).sum() * bx),
            "psum_read_bytes": int(psum_read.sum()), "output_bytes": int((m * n).sum() * ba)}


def make_schedule(net: Network, rows: int, cols: int, dataflow: str = "ws", *, acc_bits: int = 32,
                  summary: bool = False, max_tiles: int = DEFAULT_MAX_TILES) -> dict:
    """The schedule of every MAC layer of ``net`` as a JSON-ready dict.

    Keys: ``format``, ``model``, ``array`` (rows, cols, dataflow, acc_bits, cycle model formula),
    ``layers`` (per layer: name, source, kind, groups, M, K, N, x_shape, operand, macs, tiles,
    cycles, utilization, traffic), ``totals``, ``tile_fields`` and ``tiles`` (one list per tile in
    order, :data:`TILE_FIELDS`; left out, with ``tiles_listed: false``, when ``summary`` or when
    there are more than ``max_tiles``).
    """
    model = CycleModel(rows, cols, dataflow)
    if not isinstance(acc_bits, int) or not 8 <= acc_bits <= 64:
        raise AxmacError(f"accumulator width must be an integer in 8..64, not {acc_bits!r}")
    gemms = lower_network(net)
    if not gemms:
        raise AxmacError("the model has no MAC layer (Conv / Gemm / MatMul) to schedule")
    n_tiles = sum(model.gemm_tiles(g.m, g.k, g.n, g.groups) for g in gemms)
    listed = not summary and n_tiles <= max_tiles
    layers, all_tiles = [], []
    for idx, (gs, layer) in enumerate(zip(gemms, net.mac_layers, strict=True)):
        if n_tiles <= max_tiles:
            tiles = layer_tiles(idx, gs, model)
            traffic = tile_traffic(tiles, gs.operand_bits, acc_bits, dataflow)
            cycles, macs, count = int(tiles[:, -1].sum()), int(tiles[:, -2].sum()), len(tiles)
            if listed:
                all_tiles.append(tiles)
        else:  # very large: closed forms, no per-tile arrays
            count = model.gemm_tiles(gs.m, gs.k, gs.n, gs.groups)
            cycles, macs = model.gemm_cycles(gs.m, gs.k, gs.n, gs.groups), gs.macs
            traffic = _traffic_closed_form(gs, model, acc_bits)
        layers.append({"name": gs.layer, "source": layer.source, "kind": gs.kind, "groups": gs.groups,
                       "M": gs.m, "K": gs.k, "N": gs.n, "x_shape": list(gs.x_shape), "operand": str(layer.operand),
                       "macs": macs, "tiles": count, "cycles": cycles,
                       "utilization": model.utilization(macs, cycles), "traffic": traffic})
    totals = {"macs": sum(x["macs"] for x in layers), "tiles": sum(x["tiles"] for x in layers),
              "cycles": sum(x["cycles"] for x in layers),
              "traffic": {k: sum(x["traffic"][k] for x in layers) for k in TRAFFIC_KEYS}}
    totals["utilization"] = model.utilization(totals["macs"], totals["cycles"])
    out = {"format": FORMAT, "model": net.name,
           "array": {"rows": rows, "cols": cols, "dataflow": dataflow, "acc_bits": acc_bits,
                     "cycle_model": ("ws: R + (M + R + C - 2) cycles per tile" if dataflow == "ws"
                                     else "os: (K + R + C - 2) + R cycles per tile")},
           "layers": layers, "totals": totals, "tiles_listed": listed, "tile_fields": list(TILE_FIELDS)}
    if listed:
        out["tiles"] = np.concatenate(all_tiles).tolist()
    return out


def _traffic_closed_form(gs: GemmShape, model: CycleModel, acc_bits: int) -> dict[str, int]:
    """Same totals as :func:`tile_traffic` without listing tiles (each element block counted once per pass)."""
    bx, ba = math.ceil(gs.operand_bits / 8), math.ceil(acc_bits / 8)
    g = gs.groups
    if model.dataflow == "ws":
        kt = -(-gs.k // model.rows)
        nt = -(-gs.n // model.cols)
        return {"weight_bytes": g * gs.k * gs.n * bx, "input_bytes": g * gs.m * gs.k * nt * bx,
                "psum_read_bytes": g * gs.m * gs.n * (kt - 1) * ba, "output_bytes": g * gs.m * gs.n * kt * ba}
    mt = -(-gs.m // model.rows)
    nt = -(-gs.n // model.cols)
    return {"weight_bytes": g * gs.k * gs.n * mt * bx, "input_bytes": g * gs.m * gs.k * nt * bx,
            "psum_read_bytes": 0, "output_bytes": g * gs.m * gs.n * ba}
