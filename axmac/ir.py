"""The shared vocabulary of every layer: operand formats and the integer Network IR.

:class:`OperandFormat` is the width and signedness of a multiplier's operands (golden models,
hardware and layers all speak it). The Network IR is what ``onnx_import`` produces and
``golden.engine`` executes.

A :class:`Network` is a topologically ordered list of nodes over named tensors. Two kinds of node:

* :class:`MacLayer` — a Conv or Gemm/MatMul whose multiplications run on the accelerator. Its
  operands are **integers**; the multiplier (exact or approximate) sees the *centered* operands
  ``x - x_zero_point`` and ``w - w_zero_point``, which must fit ``operand`` (the multiplier's
  width and signedness). Accumulation is exact (Kim et al.: multiplications may be approximate,
  additions must be exact). After the accumulator, an :class:`OutputStage` says what the layer
  writes: the raw ``int32`` accumulator, a requantized integer, or a dequantized float.
* :class:`Node` — any other ONNX operator (Relu, MaxPool, QuantizeLinear, DequantizeLinear,
  Softmax...), executed by the golden engine with ONNX semantics on NumPy arrays.

Everything constant (weights, biases, scales, zero points) is stored as NumPy arrays inside the
nodes or in ``Network.constants``; tensors produced at run time are named by ``Node.outputs`` /
``MacLayer.y``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .errors import SpecError

#: Operand widths every multiplier family supports.
MIN_BITS = 2
MAX_BITS = 16


@dataclass(frozen=True)
class OperandFormat:
    """Width and signedness of both operands of a multiplier.

    Operands are integers in ``[-2**(bits-1), 2**(bits-1) - 1]`` when signed, ``[0, 2**bits - 1]``
    when unsigned; products have ``2 * bits`` bits.
    """

    bits: int
    signed: bool

    def __post_init__(self):
        if not isinstance(self.bits, int) or isinstance(self.bits, bool):
            raise SpecError(f"operand width must be an integer, not {self.bits!r}")
        if not MIN_BITS <= self.bits <= MAX_BITS:
            raise SpecError(f"operand width {self.bits} is out of range {MIN_BITS}..{MAX_BITS}")

    @property
    def lo(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def mask(self) -> int:
        return (1 << self.bits) - 1

    @property
    def out_bits(self) -> int:
        return 2 * self.bits

    def values(self) -> np.ndarray:
        """All operand values, ordered by bit pattern (index ``i`` holds the value of pattern ``i``)."""
        v = np.arange(1 << self.bits, dtype=np.int64)
        if self.signed:
            v = np.where(v > self.hi, v - (1 << self.bits), v)
        return v

    def check(self, x: np.ndarray, what: str = "operand") -> None:
        """:class:`~axmac.errors.SpecError` when an element of ``x`` is outside the operand range."""
        if x.size and (x.min() < self.lo or x.max() > self.hi):
            kind = "signed" if self.signed else "unsigned"
            raise SpecError(f"{what} out of range for {kind} {self.bits}-bit: [{x.min()}, {x.max()}]")

    def __str__(self) -> str:
        return f"{'s' if self.signed else 'u'}{self.bits}"


@dataclass
class TensorInfo:
    """A graph input or output: name, static shape and NumPy dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype


@dataclass
class OutputStage:
    """What a :class:`MacLayer` does with its accumulator ``acc`` (int64, bias already added).

    kind
        ``"int32"``: write ``acc`` as int32 (ConvInteger, MatMulInteger).
        ``"requant"``: ``y = saturate(round_half_even(acc * scale) + zero_point)`` to ``dtype``
        (QLinearConv, QLinearMatMul, and QDQ Conv->QuantizeLinear); ``scale`` is the float32
        ``x_scale * w_scale / y_scale`` per output channel, computed as onnxruntime does.
        ``"dequant"``: ``y = float32(acc) * scale`` (float32 output), ``scale = x_scale * w_scale``
        per output channel (QDQ layers not followed by QuantizeLinear; float models quantized
        by axmac).
    scale
        float32, shape ``()`` or ``(n_out,)``.
    zero_point
        Integer output zero point (``requant`` only).
    dtype
        Output dtype (``int32``, ``int8``/``uint8``/..., or ``float32``).
    relu
        Clamp at the zero point before saturation (a fused Relu), default False.
    """

    kind: Literal["int32", "requant", "dequant"]
    scale: np.ndarray | None = None
    zero_point: int = 0
    dtype: np.dtype = np.dtype(np.int32)
    relu: bool = False


@dataclass
class MacLayer:
    """A convolution or matrix product executed on the MAC array.

    Shapes (NCHW for convolutions):

    * conv: input ``x`` is ``(N, C, H, W)``; ``weight`` is ``(M, C // group, kH, kW)``; output
      ``(N, M, OH, OW)``.
    * gemm: input ``x`` is ``(..., K)`` (MatMul batch dims allowed; Gemm's ``transA`` is resolved
      at import by a Transpose node); ``weight`` is ``(K, N)``; output ``(..., N)``.

    ``weight`` holds the raw integer codes (int64 array); ``w_zero_point`` is a scalar or per
    output channel. ``bias`` (int64, per output channel, or None) is added to the accumulator in
    units of ``x_scale * w_scale``.
    """

    name: str
    kind: Literal["conv", "gemm"]
    x: str
    y: str
    weight: np.ndarray
    operand: OperandFormat
    output: OutputStage
    x_zero_point: int = 0
    w_zero_point: np.ndarray = field(default_factory=lambda: np.zeros((), np.int64))
    bias: np.ndarray | None = None
    # conv attributes (ignored for gemm)
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    dilations: tuple[int, int] = (1, 1)
    group: int = 1
    # quantization parameters kept for reports and bias correction
    x_scale: float | None = None
    w_scale: np.ndarray | None = None
    #: the ONNX op(s) this layer came from, e.g. "QLinearConv" or "DQ+Conv+Q"
    source: str = ""

    @property
    def out_channels(self) -> int:
        return int(self.weight.shape[0] if self.kind == "conv" else self.weight.shape[1])

    def gemm_dims(self, x_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """``(groups, M, K, N)`` of the GEMM(s) this layer lowers to for input shape ``x_shape``.

        conv: ``M = batch * OH * OW`` output pixels, ``K = C/group * kH * kW``,
        ``N = out_channels / group``, one GEMM per group (depthwise: ``group == C``).
        gemm: ``M`` = product of the leading dims, ``K``, ``N`` from the weight, one group.
        """
        if self.kind == "gemm":
            k, n = self.weight.shape
            return 1, int(np.prod(x_shape[:-1], dtype=np.int64)), int(k), int(n)
        n_, _, h, w = x_shape
        m_out, cg, kh, kw = self.weight.shape
        oh, ow = conv_out_hw((h, w), (kh, kw), self.strides, self.pads, self.dilations)
        return self.group, int(n_ * oh * ow), int(cg * kh * kw), int(m_out // self.group)


@dataclass
class Node:
    """Any non-MAC ONNX operator, executed by the golden engine.

    ``inputs`` may contain ``""`` for an omitted optional input (ONNX convention). ``attrs``
    holds the attributes as plain Python values / NumPy arrays.
    """

    name: str
    op_type: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)
    domain: str = ""


@dataclass
class Network:
    """A whole model in integer IR form."""

    name: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    nodes: list[MacLayer | Node]
    constants: dict[str, np.ndarray] = field(default_factory=dict)
    #: static shape of every tensor whose shape import knows (inputs, outputs, MAC inputs...):
    #: the schedule uses it for ``MacLayer.gemm_dims`` (added by onnx_import.loader).
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: the model's default-domain opset version (op semantics of ``Node`` follow it).
    opset: int = 0

    @property
    def mac_layers(self) -> list[MacLayer]:
        return [n for n in self.nodes if isinstance(n, MacLayer)]

    def layer(self, name: str) -> MacLayer:
        for n in self.mac_layers:
            if n.name == name:
                return n
        raise KeyError(name)


def conv_out_hw(hw, khw, strides, pads, dilations) -> tuple[int, int]:
    """Output height and width of a convolution or pooling window (explicit pads t, l, b, r)."""
    (h, w), (kh, kw), (sh, sw), (pt, pl, pb, pr), (dh, dw) = hw, khw, strides, pads, dilations
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    return int(oh), int(ow)
