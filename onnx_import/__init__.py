"""ONNX import: integer Network IR, post-training quantization, GEMM lowering and tiled schedules.

Main entry points: :func:`load_model` (ONNX -> :class:`Network`; input shapes from the arrays to
run with :func:`shapes_from_arrays`), :class:`QuantConfig`, :func:`make_schedule`;
:func:`ort_exactness` (is onnxruntime's integer arithmetic exact on this CPU).
"""

from ..ir import MacLayer, Network, Node, OutputStage, TensorInfo
from .convert import operand_format
from .graph import ShapeWarning
from .inputs import model_inputs, name_arrays, parse_input_shapes, shapes_from_arrays
from .loader import FLOAT_LAYER_POLICIES, load_model
from .ort_probe import OrtExactness, ort_exactness
from .quantize import QuantConfig
from .runtime import RuntimeMacLayer, check_mappable, runtime_weight_error
from .schedule import make_schedule

__all__ = ["FLOAT_LAYER_POLICIES", "MacLayer", "Network", "Node", "OrtExactness", "OutputStage", "QuantConfig",
           "RuntimeMacLayer", "ShapeWarning", "TensorInfo", "check_mappable", "load_model", "make_schedule",
           "model_inputs", "name_arrays", "operand_format", "ort_exactness", "parse_input_shapes",
           "runtime_weight_error", "shapes_from_arrays"]
