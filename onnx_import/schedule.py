"""Schedules of a Network's GEMMs on the systolic array, with the cycles the RTL takes.

Every MAC layer is lowered to ``G`` GEMMs (:mod:`~axmac.onnx_import.lower`; ``batch`` sets the
batch dimension), tiled as the array's streams carry it (:func:`axmac.golden.array_tiles.plan_gemm`:
ws tiles of at most ``acc_depth`` rows, K blocks innermost; grouped and depthwise convolutions
packed block-diagonally, several groups per tile) and timed by the array's cycle model
(:func:`axmac.golden.cycle_model.plan_timing`: weight double buffering, fill and drain once per
layer, parameter banks and credits), which equals the register-level model and the RTL cycle for
cycle when the streams keep up. Each layer is one run of the array, starting at cycle 0.

JSON format ``axmac-schedule/2``
--------------------------------
* ``format``, ``model``, ``batch`` (``null``: the model's own), ``array`` (the
  :class:`~axmac.config.ArrayConfig` fields, ``fifo_depth``, and ``cycle_model``: its summary);
* ``layers``: per MAC layer ``name``, ``source``, ``kind``, ``groups``, ``gp`` (groups per
  tile), ``M``, ``K``, ``N`` (per group), ``x_shape``, ``operand``, ``params`` (the layer
  loads output-stage parameters: bias or requantization), ``macs``, ``tiles``, ``fill`` (the
  first tile's start cycle), ``cycles`` (the run's length: the cycle after its last output),
  ``utilization`` (``macs / (R * C * cycles)``) and ``traffic``: bytes through each port,
  ``{cmd,w,a,qp,o}_bytes`` = beats x ``ceil(payload bits / 8)`` (payloads of
  :mod:`axmac.golden.array_payload`, zero lanes included);
* ``totals``: ``macs``, ``tiles``, ``cycles`` (sum over layers), ``utilization``, ``traffic``;
* ``tile_fields`` and ``tiles``: one list per tile in stream order: :data:`TILE_FIELDS`
  (``layer`` index, the tile plan's fields, ``macs``, ``start``: the cycle its command
  transfers, ``cycles``: until the next tile of the layer starts, the last one until the run
  ends, so ``fill + sum(cycles) = `` the layer's ``cycles``); left out, with ``tiles_listed:
  false``, when ``summary`` or when there are more than ``max_tiles``.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import ArrayConfig, ConfigError
from ..errors import AxmacError
from ..golden.array_payload import stream_layouts
from ..golden.array_tiles import TILE_FIELDS as PLAN_FIELDS
from ..golden.array_tiles import TilePlan, plan_gemm
from ..golden.cycle_model import Timing, plan_timing
from ..ir import MacLayer, Network, OperandFormat
from .lower import GemmShape, check_constant_weight, lower_layer

FORMAT = "axmac-schedule/2"
TILE_FIELDS = ("layer", *PLAN_FIELDS, "macs", "start", "cycles")
TRAFFIC_KEYS = ("cmd_bytes", "w_bytes", "a_bytes", "qp_bytes", "o_bytes")
DEFAULT_MAX_TILES = 100_000


def _fits(inner: OperandFormat, outer: OperandFormat) -> bool:
    return outer.lo <= inner.lo and inner.hi <= outer.hi


def array_config(net: Network, array: ArrayConfig | int | None = None, cols: int | None = None,
                 dataflow: str | None = None, *, acc_bits: int | None = None,
                 acc_depth: int | None = None) -> ArrayConfig:
    """The array to schedule ``net`` on: ``array`` itself, or ``rows = array`` x ``cols`` with
    operands wide enough for every layer (signed unless all are unsigned) and defaults for the rest."""
    if isinstance(array, ArrayConfig):
        if cols is not None or dataflow is not None or acc_bits is not None or acc_depth is not None:
            raise AxmacError("give either an ArrayConfig or rows/cols/dataflow/acc_bits/acc_depth, not both")
        return array
    if array is None or cols is None:
        raise AxmacError("make_schedule needs an ArrayConfig or both rows and cols")
    fmts = [la.operand for la in net.mac_layers]
    signed = any(f.signed for f in fmts) or not fmts
    bits = max([f.bits + (1 if signed and not f.signed else 0) for f in fmts] or [8])
    fields = {"rows": array, "cols": cols, "dataflow": dataflow or "ws", "bits": min(bits, 16), "signed": signed}
    if acc_bits is not None:
        fields["acc_bits"] = acc_bits
    elif 2 * fields["bits"] > 32:
        fields["acc_bits"] = 2 * fields["bits"]
    if acc_depth is not None:
        fields["acc_depth"] = acc_depth
    return ArrayConfig(**fields)


def layer_plan(cfg: ArrayConfig, layer: MacLayer, gs: GemmShape) -> TilePlan:
    """The tiles of one lowered layer (output-stage parameters when it has a bias or requantizes)."""
    if not _fits(layer.operand, cfg.operand):
        raise ConfigError(f"layer {layer.name!r} has {layer.operand} operands: the array's are {cfg.operand}")
    params = layer.bias is not None or (layer.output.kind == "requant" and cfg.output_stage == "requant")
    return plan_gemm(cfg, gs.m, gs.k, gs.n, gs.groups, params=params)


def stream_traffic(cfg: ArrayConfig, plan: TilePlan) -> dict[str, int]:
    """Bytes through each port of the array for ``plan`` (beats x whole bytes per payload)."""
    lay = stream_layouts(cfg)
    n_t = len(plan.tiles)
    a_beats = int(plan.field("count").sum())
    beats = {"cmd": n_t, "w": cfg.rows * n_t if cfg.dataflow == "ws" else a_beats, "a": a_beats,
             "qp": plan.commits, "o": plan.out_rows}
    return {f"{k}_bytes": v * math.ceil(lay[k].width / 8) for k, v in beats.items()}


def tile_rows(index: int, plan: TilePlan, timing: Timing) -> np.ndarray:
    """Rows of :data:`TILE_FIELDS` for one layer."""
    n = len(plan.tiles)
    return np.concatenate([np.full((n, 1), index, np.int64), plan.tiles, plan.macs[:, None],
                           timing.starts[:, None], timing.tile_cycles[:, None]], axis=1)


def make_schedule(net: Network, array: ArrayConfig | int | None = None, cols: int | None = None,
                  dataflow: str | None = None, *, acc_bits: int | None = None, acc_depth: int | None = None,
                  batch: int | None = None, summary: bool = False, max_tiles: int = DEFAULT_MAX_TILES) -> dict:
    """The schedule of every MAC layer of ``net`` as a JSON-ready dict (module docstring).

    ``make_schedule(net, cfg)`` with an :class:`~axmac.config.ArrayConfig`, or
    ``make_schedule(net, rows, cols, "ws", acc_bits=..., acc_depth=...)``; ``batch`` replaces
    the model's batch dimension.
    """
    cfg = array_config(net, array, cols, dataflow, acc_bits=acc_bits, acc_depth=acc_depth)
    layers_in = net.mac_layers
    if not layers_in:
        raise AxmacError("the model has no MAC layer (Conv / Gemm / MatMul) to schedule")
    for layer in layers_in:
        check_constant_weight(layer)
        if layer.x not in net.shapes:
            raise AxmacError(f"layer {layer.name!r}: the shape of its input {layer.x!r} is unknown")
    gemms = [lower_layer(layer, net.shapes[layer.x], batch) for layer in layers_in]
    plans = [layer_plan(cfg, layer, gs) for layer, gs in zip(layers_in, gemms, strict=True)]
    n_tiles = sum(len(p.tiles) for p in plans)
    listed = not summary and n_tiles <= max_tiles
    pes = cfg.rows * cfg.cols
    layers, all_tiles = [], []
    for idx, (gs, layer, plan) in enumerate(zip(gemms, layers_in, plans, strict=True)):
        timing = plan_timing(cfg, plan)
        macs = int(plan.macs.sum())
        if listed:
            all_tiles.append(tile_rows(idx, plan, timing))
        layers.append({"name": gs.layer, "source": layer.source, "kind": gs.kind, "groups": gs.groups, "gp": plan.gp,
                       "M": gs.m, "K": gs.k, "N": gs.n, "x_shape": list(gs.x_shape), "operand": str(layer.operand),
                       "params": bool(plan.commits), "macs": macs, "tiles": len(plan.tiles),
                       "fill": int(timing.starts[0]), "cycles": timing.cycles,
                       "utilization": macs / (pes * timing.cycles), "traffic": stream_traffic(cfg, plan)})
    totals = {"macs": sum(x["macs"] for x in layers), "tiles": n_tiles, "cycles": sum(x["cycles"] for x in layers),
              "traffic": {k: sum(x["traffic"][k] for x in layers) for k in TRAFFIC_KEYS}}
    totals["utilization"] = totals["macs"] / (pes * totals["cycles"])
    summary_text = ("ws: tiles start max(m, R) apart after R cycles of weight fill, outputs R + C + P after their "
                    "beat" if cfg.dataflow == "ws" else
                    "os: last beats max(K, R) apart, row i out 2R + C - i + P after its tile's last beat")
    out = {"format": FORMAT, "model": net.name, "batch": batch,
           "array": {**cfg.to_dict(), "fifo_depth": cfg.fifo_depth, "cycle_model": summary_text},
           "layers": layers, "totals": totals, "tiles_listed": listed, "tile_fields": list(TILE_FIELDS)}
    if listed:
        out["tiles"] = np.concatenate(all_tiles).tolist()
    return out
