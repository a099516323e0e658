"""Payload layouts of the top's streams (docs/array.md "Ports of the top") and the mesh's lanes.

Bit layout = declaration order, LSB first; arrays have element 0 at the LSBs. The testbenches
pack and unpack the same layouts (``layout.const({...}).as_value().value`` gives the bits).
"""

from __future__ import annotations

from amaranth.hdl import Shape, unsigned
from amaranth.hdl import signed as signed_shape
from amaranth.lib import data

from ..config import COUNT_BITS, ArrayConfig

#: Width of ``cmd.m`` (an os tile's rows, 1..64).
M_BITS = 7
#: Widths of a column's requantization multiplier and shift in ``qp``.
MULT_BITS = 31
SHIFT_BITS = 6


def check_config(config) -> None:
    """TypeError unless ``config`` is an :class:`~axmac.config.ArrayConfig` (every array component takes one)."""
    if not isinstance(config, ArrayConfig):
        raise TypeError(f"config must be an ArrayConfig, not {config!r}")


def index_shape(n: int) -> Shape:
    """An index ``0..n-1``, at least one bit wide (zero-width vectors are lint errors in Verilog)."""
    return unsigned(max(1, (n - 1).bit_length()))


def operand_shape(config: ArrayConfig) -> Shape:
    return signed_shape(config.bits) if config.signed else unsigned(config.bits)


def cmd_layout() -> data.StructLayout:
    """One tile: ``count`` (ws: rows of X; os: K), ``first``, ``last``, ``qp_commit``, ``m`` (os rows)."""
    return data.StructLayout({"count": unsigned(COUNT_BITS), "first": 1, "last": 1, "qp_commit": 1,
                              "m": unsigned(M_BITS)})


def column_params_layout(acc_bits: int) -> data.StructLayout:
    """Output-stage parameters of one column: ``bias``, ``mult``, ``shift``."""
    return data.StructLayout({"bias": signed_shape(acc_bits), "mult": unsigned(MULT_BITS),
                              "shift": unsigned(SHIFT_BITS)})


def qp_layout(config: ArrayConfig) -> data.StructLayout:
    """One parameter block: ``col`` (``C`` column parameters), ``zp``, ``lo``, ``hi``, ``relu``, ``requant``."""
    acc = signed_shape(config.acc_bits)
    return data.StructLayout({"col": data.ArrayLayout(column_params_layout(config.acc_bits), config.cols),
                              "zp": acc, "lo": acc, "hi": acc, "relu": 1, "requant": 1})


def w_layout(config: ArrayConfig) -> data.ArrayLayout:
    return data.ArrayLayout(operand_shape(config), config.cols)


def a_layout(config: ArrayConfig) -> data.ArrayLayout:
    return data.ArrayLayout(operand_shape(config), config.rows)


def o_layout(config: ArrayConfig) -> data.ArrayLayout:
    return data.ArrayLayout(signed_shape(config.acc_bits), config.cols)


def act_lane_layout(config: ArrayConfig) -> data.StructLayout:
    """An activation entering a mesh row: ``value``, ``valid``, ``first`` (ws: commit; os: start), ``end`` (os)."""
    return data.StructLayout({"value": operand_shape(config), "valid": 1, "first": 1, "end": 1})


def weight_lane_layout(config: ArrayConfig) -> data.StructLayout:
    """A ws weight lane (one per column): ``value``, ``valid``, ``row`` (the shadow register it writes)."""
    return data.StructLayout({"value": operand_shape(config), "valid": 1, "row": index_shape(config.rows)})
