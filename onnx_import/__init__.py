"""ONNX import: integer Network IR, post-training quantization, GEMM lowering and tiled schedules.

Main entry points: :func:`load_model` (ONNX -> :class:`Network`), :class:`QuantConfig`,
:func:`make_schedule`.
"""

from ..ir import MacLayer, Network, Node, OutputStage, TensorInfo
from .convert import operand_format
from .inputs import parse_input_shapes
from .loader import load_model
from .quantize import QuantConfig
from .schedule import make_schedule

__all__ = ["MacLayer", "Network", "Node", "OutputStage", "QuantConfig", "TensorInfo", "load_model", "make_schedule",
           "operand_format", "parse_input_shapes"]
