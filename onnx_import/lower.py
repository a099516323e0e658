"""Lowering of MAC layers to GEMMs: ``Y[g] = X[g] @ W[g]`` per group.

A convolution becomes one GEMM per group by im2col (Chellapilla et al. 2006):

* ``M = batch * OH * OW``: output pixels, row index ``(n, oh, ow)`` in row-major order;
* ``K = C/group * kH * kW``: input taps, column index ``(c, kh, kw)`` in row-major order, the
  order of ``weight[o].ravel()``;
* ``N = out_channels / group``: output channels of the group.

Depthwise convolutions (``group == C``) are ``C`` GEMMs with ``N = 1`` each (the array packs
several into one tile, :mod:`axmac.golden.array_tiles`). A Gemm/MatMul is one GEMM with ``M`` =
product of the leading input dims. ``batch`` replaces the input's leading dimension (``M``
scales with it). A layer whose weight is a runtime tensor cannot be lowered (AxmacError). Operands are **centered**
(``x - x_zero_point``, ``w - w_zero_point``); padding is 0 in the centered domain (i.e. the zero
point in the raw domain, as ConvInteger / QLinearConv pad).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import AxmacError
from ..ir import MacLayer, Network, conv_out_hw
from .runtime import runtime_weight_error


@dataclass(frozen=True)
class GemmShape:
    """The GEMM(s) of one MAC layer: ``groups`` independent ``M x K @ K x N`` products."""

    layer: str
    kind: str
    groups: int
    m: int
    k: int
    n: int
    operand_bits: int
    x_shape: tuple[int, ...]

    @property
    def macs(self) -> int:
        """Useful multiply-accumulates: ``groups * M * K * N``."""
        return self.groups * self.m * self.k * self.n


def check_constant_weight(layer: MacLayer) -> None:
    """A layer whose weight (or weight zero point) is a run-time tensor cannot be lowered: the
    array's tiling, packing and schedule need the weight's values up front
    (:func:`axmac.onnx_import.runtime.runtime_weight_error` is the rule)."""
    err = runtime_weight_error(layer)
    if err is None and not isinstance(layer.weight, np.ndarray):
        err = AxmacError(f"layer {layer.name!r}: its weight is the runtime tensor {layer.weight!r}, not a constant: "
                         "it cannot be mapped onto the MAC array")
    if err is not None:
        raise err


def lower_layer(layer: MacLayer, x_shape, batch: int | None = None) -> GemmShape:
    """:class:`GemmShape` of ``layer`` for input shape ``x_shape`` (``MacLayer.gemm_dims``);
    ``batch`` replaces the input's leading (batch) dimension."""
    check_constant_weight(layer)
    x_shape = tuple(int(d) for d in x_shape)
    if batch is not None:
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise AxmacError(f"batch must be a positive integer, not {batch!r}")
        if not x_shape:
            raise AxmacError(f"layer {layer.name!r}: a scalar input has no batch dimension")
        x_shape = (int(batch), *x_shape[1:])
    g, m, k, n = layer.gemm_dims(x_shape)
    if min(m, k, n) < 1:
        raise AxmacError(f"layer {layer.name!r}: empty GEMM (M={m}, K={k}, N={n}) for input shape {x_shape}")
    return GemmShape(layer.name, layer.kind, g, m, k, n, layer.operand.bits, x_shape)


def lower_network(net: Network, batch: int | None = None) -> list[GemmShape]:
    """GEMM shapes of every MAC layer of ``net`` (input shapes from ``net.shapes``; ``batch``
    replaces their leading dimension)."""
    out = []
    for layer in net.mac_layers:
        check_constant_weight(layer)
        if layer.x not in net.shapes:
            raise AxmacError(f"layer {layer.name!r}: the shape of its input {layer.x!r} is unknown")
        out.append(lower_layer(layer, net.shapes[layer.x], batch))
    return out


def weight_matrix(layer: MacLayer) -> np.ndarray:
    """Centered weights as ``(groups, K, N)`` int64."""
    w = np.asarray(layer.weight, np.int64)
    zp = np.asarray(layer.w_zero_point, np.int64)
    if layer.kind == "gemm":
        return (w - (zp if zp.ndim == 0 else zp[None, :]))[None]
    w = w - (zp if zp.ndim == 0 else zp[:, None, None, None])
    m_out = w.shape[0]
    g = layer.group
    # (M_out, cg*kh*kw) -> (g, N, K) -> (g, K, N)
    return w.reshape(g, m_out // g, -1).transpose(0, 2, 1).copy()


def im2col(layer: MacLayer, x: np.ndarray) -> np.ndarray:
    """Centered input patches as ``(groups, M, K)`` int64 (see the module docstring for the order)."""
    xc = np.asarray(x, np.int64) - int(layer.x_zero_point)
    if layer.kind == "gemm":
        return xc.reshape(1, -1, xc.shape[-1])
    n, c, h, w = xc.shape
    _, cg, kh, kw = layer.weight.shape
    pt, pl, pb, pr = layer.pads
    (sh, sw), (dh, dw), g = layer.strides, layer.dilations, layer.group
    xp = np.pad(xc, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    win = sliding_window_view(xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw]  # (n, c, oh, ow, kh, kw)
    oh, ow = win.shape[2], win.shape[3]
    win = win.reshape(n, g, cg, oh, ow, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6)  # (g, n, oh, ow, cg, kh, kw)
    return win.reshape(g, n * oh * ow, cg * kh * kw)


def col2out(layer: MacLayer, y: np.ndarray, x_shape) -> np.ndarray:
    """GEMM results ``(groups, M, N)`` -> the layer's output layout (NCHW or ``(..., N)``)."""
    if layer.kind == "gemm":
        return y[0].reshape(*tuple(x_shape)[:-1], y.shape[-1])
    g, m, n_per = y.shape
    batch = int(x_shape[0])
    oh, ow = conv_out_hw(tuple(x_shape[2:]), layer.weight.shape[2:], layer.strides, layer.pads, layer.dilations)
    return y.reshape(g, batch, oh, ow, n_per).transpose(1, 0, 4, 2, 3).reshape(batch, g * n_per, oh, ow)
