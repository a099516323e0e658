"""The common signature of every hardware multiplier and the hardware side of the registry.

Every family is one :class:`amaranth.lib.wiring.Component` with the same ports:

* ``a``, ``b``: ``In(n)`` operands (``signed(n)`` or ``unsigned(n)``);
* ``p``: ``Out(2n)`` product of the same signedness.

The multipliers are purely combinational (latency 0); the PE registers around them. Each is
built from its golden model (:class:`axmac.golden.multipliers.Multiplier`), whose parameters it
reads, and must equal it bit for bit: ``tests/test_multipliers_rtl.py`` checks that exhaustively.
"""

from __future__ import annotations

from collections.abc import Callable

from amaranth.hdl import Shape, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...golden.multipliers import Multiplier


def operand_shape(bits: int, is_signed: bool) -> Shape:
    return signed(bits) if is_signed else unsigned(bits)


def multiplier_signature(bits: int, is_signed: bool) -> wiring.Signature:
    """``a``, ``b``: ``In(bits)``; ``p``: ``Out(2*bits)``, all of one signedness."""
    return wiring.Signature({
        "a": In(operand_shape(bits, is_signed)),
        "b": In(operand_shape(bits, is_signed)),
        "p": Out(operand_shape(2 * bits, is_signed)),
    })


class MultiplierComponent(wiring.Component):
    """Base of the hardware multipliers.

    Parameters
    ----------
    model : Multiplier
        The golden model whose family, width, signedness and parameter the hardware implements.

    Attributes
    ----------
    extra_sources : list of pathlib.Path
        Verilog files the generated design must be compiled with (only ``verilog:`` uses it).
    """

    def __init__(self, model: Multiplier):
        if not isinstance(model, Multiplier):
            raise TypeError(f"model must be a Multiplier, not {model!r}")
        self.model = model
        self.extra_sources = []
        super().__init__(multiplier_signature(model.bits, model.signed))


#: family name -> component class (a callable ``model -> MultiplierComponent``).
HW_FAMILIES: dict[str, Callable[[Multiplier], MultiplierComponent]] = {}


def register_hw(family: str):
    """Class decorator adding a hardware implementation for ``family``."""

    def deco(cls):
        if family in HW_FAMILIES:
            raise ValueError(f"duplicate hardware multiplier for {family!r}")
        HW_FAMILIES[family] = cls
        return cls

    return deco
