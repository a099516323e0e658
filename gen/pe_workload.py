"""What one PE of a weight-stationary array computes: segments of real layer data, sampled, and their scaling.

A **segment** is the work of one PE ``(r, c)`` of an ``R x C`` array during one tile of a layer
(``docs/array.md``, ``ws``): the tile holds rows ``k0..k0+R-1`` and columns ``n0..n0+C-1`` of
the layer's GEMM weights ``W[g]`` (``K x N``, :func:`axmac.onnx_import.lower.weight_matrix`)
and streams ``m <= D`` rows of the im2col activations ``X[g]`` (``M x K``,
:func:`~axmac.onnx_import.lower.im2col`; ``D`` = ``acc_depth``) of one image. The PE holds
``w = W[k0+r, n0+c]`` (0 outside the GEMM: padded PEs work on zeros), sees ``a = X[m0:m0+m,
k0+r]`` and the partial sums of the rows above it, ``psum = sum_{r'<r} P(X[., k0+r'],
W[k0+r', n0+c])`` (``P``: the PE product path of :func:`axmac.golden.pe.pe_products`; row 0
starts from 0). In steady state a tile lasts ``max(m, R)`` cycles (weights of the next tile
stream behind the commit wave), so a segment is ``m`` valid slots and ``max(m, R) - m`` idle
cycles; a layer's PE-cycles come from the schedule's cycle model (:mod:`axmac.golden.cycle_model`,
fill and drain included) when known.

**Sampling** (:func:`sample_segments`): per layer (stratum), segments are drawn uniformly from
all of them (image, group, tile, row chunk, PE position). :func:`estimate` scales the sampled
energies to one inference with the ratio estimator per stratum, ``E_L = (sum E_i / sum
cycles_i) * cycles_L`` (``cycles_L``: PE-cycles of the layer, every PE of the array counted),
and states its standard error (the linearised variance of a ratio, sampling with replacement),
summed over strata.

Crafted workloads for sanity checks: :func:`crafted_segments` (all-zero weights, dense random,
sparse activations). :func:`stimulus` turns segments into a PE stimulus with windows, for the
stand-alone PE (``hw/pe.py``: the weight loaded with the first slot) or the array's
weight-stationary PE (``hw/pe_ws.py``: the weight written into the shadow register during the
previous segment, committed by the segment's first slot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import ArrayConfig
from ..errors import AxmacError
from ..golden.bypass import Bypass
from ..golden.pe import pe_products


@dataclass(frozen=True)
class Segment:
    """One PE's work in one tile (module docstring)."""

    layer: str
    w: int
    a: np.ndarray
    psum: np.ndarray
    #: valid slots + idle cycles (``max(m, R)``)
    cycles: int
    #: MACs of the GEMM done here (``m``, or 0 for a padded PE)
    useful: int


@dataclass(frozen=True)
class Stratum:
    """A layer's totals for one inference, every PE of the array counted."""

    layer: str
    segments: int
    cycles: int
    slots: int
    macs: int


@dataclass(frozen=True)
class LayerOperands:
    """A MAC layer lowered to GEMM: centered ``x`` ``(groups, M, K)`` and ``w`` ``(groups, K, N)``."""

    name: str
    x: np.ndarray
    w: np.ndarray
    images: int
    kind: str = "gemm"
    #: array cycles of the layer for all ``images`` from the schedule's cycle model (None: steady state)
    array_cycles: int | None = None
    #: the layer's bias per output channel (``groups * N``) and requantization (None: without)
    bias: np.ndarray | None = None
    requant: object | None = None


def layer_params(layer):
    """``(bias, requant)`` of a MAC layer as the array's output stage takes them: the bias per output
    channel (int64) or None, and :class:`~axmac.golden.requant.RequantParams` for a requantizing
    layer (None for an int32 or dequantized output)."""
    from ..golden.requant import RequantParams

    bias = None if layer.bias is None else np.asarray(layer.bias, np.int64).ravel()
    out = layer.output
    requant = None
    if out.kind == "requant" and out.scale is not None:
        requant = RequantParams.from_scale(np.asarray(out.scale, np.float32), zp=int(out.zero_point),
                                           dtype=out.dtype, relu=bool(out.relu))
    return bias, requant


def network_operands(net, inputs: dict[str, np.ndarray], cfg: ArrayConfig | None = None) -> list[LayerOperands]:
    """The GEMM operands of every MAC layer of ``net`` run on ``inputs`` (golden engine trace), with
    each layer's bias and requantization; with ``cfg``, each layer's array cycles from the schedule
    (:func:`axmac.onnx_import.schedule.make_schedule`)."""
    from ..golden.engine import run_network
    from ..onnx_import.lower import im2col, weight_matrix
    from ..onnx_import.schedule import make_schedule

    _, rep = run_network(net, inputs, stats=False, trace=True)
    images = int(next(iter(inputs.values())).shape[0])
    cycles = [None] * len(net.mac_layers)
    if cfg is not None:
        cycles = [int(x["cycles"]) for x in make_schedule(net, cfg, batch=images, summary=True)["layers"]]
    return [LayerOperands(layer.name, im2col(layer, rep.tensors[layer.x]), weight_matrix(layer), images, layer.kind,
                          c, *layer_params(layer)) for layer, c in zip(net.mac_layers, cycles, strict=True)]


def lenet_operands(images: int = 1, first: int = 0, cfg: ArrayConfig | None = None) -> list[LayerOperands]:
    """GEMM operands of the bundled LeNet-5 on MNIST test images ``first .. first+images-1`` (and, with
    ``cfg``, the schedule's cycles per layer)."""
    from ..onnx_import.loader import load_model
    from .datasets import default_model, load_dataset
    from .modelinfo import graph_inputs

    model = str(default_model("mnist"))
    name = graph_inputs(model)[0][0]
    x, _, calib = load_dataset("mnist")
    net = load_model(model, calibration={name: calib})
    return network_operands(net, {name: x[first:first + images]}, cfg)


def _dims(op: LayerOperands, cfg: ArrayConfig):
    g, m_all, k = op.x.shape
    n = op.w.shape[2]
    m_img = m_all // op.images
    chunks = [min(cfg.acc_depth, m_img - m0) for m0 in range(0, m_img, cfg.acc_depth)]
    return g, m_img, k, n, chunks, math.ceil(k / cfg.rows), math.ceil(n / cfg.cols)


def strata(operands: list[LayerOperands], cfg: ArrayConfig) -> list[Stratum]:
    """Per layer: segments, PE-cycles, valid slots and useful MACs of one inference.

    PE-cycles are ``R * C`` times the layer's array cycles from the schedule's cycle model when the
    operands carry them (fill and drain included), else the steady state ``max(m, R)`` per tile.
    """
    out = []
    for op in operands:
        g, m_img, k, n, chunks, kt, nt = _dims(op, cfg)
        tiles = g * kt * nt
        pes = cfg.rows * cfg.cols
        cycles = (op.array_cycles * pes // op.images if op.array_cycles is not None else
                  tiles * pes * sum(max(c, cfg.rows) for c in chunks))
        out.append(Stratum(op.name, tiles * len(chunks) * pes, cycles, tiles * pes * m_img, g * m_img * k * n))
    return out


def segment(op: LayerOperands, cfg: ArrayConfig, mult, bypass: Bypass, image: int, g: int, ki: int, ni: int,
            mi: int, r: int, c: int) -> Segment:
    """The segment of PE ``(r, c)`` in tile ``(g, ki, ni)``, row chunk ``mi`` of ``image``."""
    _, m_img, k, n, chunks, _, _ = _dims(op, cfg)
    m0 = image * m_img + mi * cfg.acc_depth
    m = chunks[mi]
    kk, nn = ki * cfg.rows + r, ni * cfg.cols + c
    x = op.x[g, m0:m0 + m]
    a = x[:, kk] if kk < k else np.zeros(m, np.int64)
    w = int(op.w[g, kk, nn]) if kk < k and nn < n else 0
    psum = np.zeros(m, np.int64)
    if nn < n:
        for rr in range(ki * cfg.rows, min(kk, k)):
            psum += pe_products(mult, bypass, x[:, rr], np.full(m, op.w[g, rr, nn]))
    return Segment(op.name, w, np.asarray(a, np.int64), psum, max(m, cfg.rows), m if kk < k and nn < n else 0)


def sample_segments(operands: list[LayerOperands], cfg: ArrayConfig, per_layer: int, *, mult,
                    bypass: Bypass | None = None, seed: int = 0) -> list[Segment]:
    """``per_layer`` segments drawn uniformly (with replacement) from each layer (module docstring)."""
    if per_layer < 2:
        raise AxmacError(f"sample at least 2 segments per layer (for an error estimate), not {per_layer}")
    rng = np.random.default_rng(seed)
    bypass = bypass or Bypass()
    out = []
    for op in operands:
        g, _, _, _, chunks, kt, nt = _dims(op, cfg)
        for _ in range(per_layer):
            pick = [int(rng.integers(v)) for v in (op.images, g, kt, nt, len(chunks), cfg.rows, cfg.cols)]
            out.append(segment(op, cfg, mult, bypass, *pick))
    return out


def crafted_segments(kind: str, count: int, cfg: ArrayConfig, *, seed: int = 0, m: int = 32) -> list[Segment]:
    """Synthetic segments of ``m`` slots: ``"zero_weights"`` (w = 0, random activations), ``"dense"``
    (random operands with ``|a|, |w| >= 2``: no trivial product) or ``"sparse"`` (80 % of activations 0)."""
    lo, hi = (-(1 << (cfg.bits - 1)), 1 << (cfg.bits - 1)) if cfg.signed else (0, 1 << cfg.bits)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        a = rng.integers(lo, hi, m)
        w = int(rng.integers(lo, hi))
        if kind == "zero_weights":
            w = 0
        elif kind == "dense":
            a = np.where(np.abs(a) < 2, 2, a)
            w = w if abs(w) >= 2 else 2
        elif kind == "sparse":
            a = np.where(rng.random(m) < 0.8, 0, a)
        else:
            raise AxmacError(f"unknown crafted workload {kind!r} (zero_weights, dense, sparse)")
        psum = rng.integers(-(1 << 20), 1 << 20, m)
        out.append(Segment(kind, w, a, psum, max(m, cfg.rows), m))
    return out


#: the PEs :func:`stimulus` drives: ``hw/pe.py`` and the array's ``hw/pe_ws.py``
PE_KINDS = ("pe", "ws")


def stimulus(segments: list[Segment], *, reset: int = 3,
             kind: str = "pe") -> tuple[dict[str, np.ndarray], list[tuple[int, int]]]:
    """PE input ports per cycle (``reset`` cycles of ``rst`` first) and each segment's window of cycles.

    ``kind="pe"``: a segment's first slot loads its weight (``w_load``). ``kind="ws"``: one cycle
    after the reset writes the first weight into the shadow register (``shadow_we``), every
    segment's first slot commits it (``commit_in``) and the segment's second cycle (its first, if it
    has one cycle) writes the next segment's weight. Idle cycles keep the last activation and
    partial sum with ``valid_in`` low.
    """
    if kind not in PE_KINDS:
        raise AxmacError(f"unknown PE kind {kind!r} (known: {', '.join(PE_KINDS)})")
    ws = kind == "ws"
    t = reset + ws
    n = t + sum(s.cycles for s in segments)
    names = ("shadow_in", "shadow_we", "commit_in") if ws else ("w_load", "w_in")
    st = {k: np.zeros(n, np.int64) for k in ("rst", *names, "a_in", "valid_in", "psum_in")}
    st["rst"][:reset] = 1
    if ws and segments:
        st["shadow_we"][reset], st["shadow_in"][reset:] = 1, segments[0].w
    windows = []
    for i, s in enumerate(segments):
        m = len(s.a)
        if ws:
            st["commit_in"][t] = 1
            if i + 1 < len(segments):
                at = t + min(1, s.cycles - 1)
                st["shadow_we"][at], st["shadow_in"][at:] = 1, segments[i + 1].w
        else:
            st["w_load"][t] = 1
            st["w_in"][t:] = s.w
        st["a_in"][t:t + m], st["psum_in"][t:t + m], st["valid_in"][t:t + m] = s.a, s.psum, 1
        st["a_in"][t + m:t + s.cycles] = s.a[-1]
        st["psum_in"][t + m:t + s.cycles] = s.psum[-1]
        windows.append((t, t + s.cycles))
        t += s.cycles
    return st, windows


def weights_in_effect(st: dict[str, np.ndarray]) -> np.ndarray:
    """The weight each cycle's slot of :func:`stimulus` meets (0 before the first load or commit).

    ``w_load`` applies at once; a commit copies the shadow value written in an earlier cycle (a
    write in the commit's own cycle lands at the same edge, after the copy: docs/array.md).
    """
    n = len(st["rst"])
    idx = np.arange(n)
    if "w_load" in st:
        last = np.maximum.accumulate(np.where(st["w_load"] == 1, idx, -1))
        return np.where(last >= 0, st["w_in"][np.maximum(last, 0)], 0)
    wrote = np.maximum.accumulate(np.where(st["shadow_we"] == 1, idx, -1))
    before = np.r_[-1, wrote[:-1]]  # the last write in an earlier cycle
    shadow = np.where(before >= 0, st["shadow_in"][np.maximum(before, 0)], 0)
    commit = np.maximum.accumulate(np.where(st["commit_in"] == 1, idx, -1))
    return np.where(commit >= 0, shadow[np.maximum(commit, 0)], 0)


@dataclass(frozen=True)
class Estimate:
    """Energy of one inference (pJ) scaled from samples, with its standard error."""

    energy: float
    stderr: float
    macs: int
    per_layer: dict[str, tuple[float, float]]

    @property
    def per_mac(self) -> float:
        return self.energy / self.macs if self.macs else 0.0


def estimate(segments: list[Segment], energies, strata_: list[Stratum]) -> Estimate:
    """Ratio estimate per layer of the inference energy from per-segment ``energies`` (pJ)."""
    e = np.asarray(energies, dtype=float)
    total, var, per = 0.0, 0.0, {}
    for st in strata_:
        idx = [i for i, s in enumerate(segments) if s.layer == st.layer]
        if len(idx) < 2:
            raise AxmacError(f"layer {st.layer!r} has {len(idx)} sampled segments: at least 2 are needed")
        ei = e[idx]
        ci = np.array([segments[i].cycles for i in idx], dtype=float)
        ratio = ei.sum() / ci.sum()
        v = np.var(ei - ratio * ci, ddof=1) / (len(idx) * ci.mean() ** 2)
        per[st.layer] = (ratio * st.cycles, math.sqrt(v) * st.cycles)
        total += ratio * st.cycles
        var += v * st.cycles ** 2
    return Estimate(total, math.sqrt(var), sum(s.macs for s in strata_), per)


__all__ = ["PE_KINDS", "Estimate", "LayerOperands", "Segment", "Stratum", "crafted_segments", "estimate",
           "layer_params", "lenet_operands", "network_operands", "sample_segments", "segment", "stimulus", "strata",
           "weights_in_effect"]
