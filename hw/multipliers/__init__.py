"""Amaranth multipliers, one family per file, all with :func:`multiplier_signature`."""

from ...errors import SpecError
from ...golden.multipliers import Multiplier, make_multiplier
from ...registry import load_modules
from .base import HW_FAMILIES, MultiplierComponent, multiplier_signature, operand_shape, register_hw

FAMILY_MODULES = ("exact", "trunc", "bam", "mitchell", "mitchw", "drum", "lut", "verilog")


def _load_families() -> None:
    load_modules(__name__, FAMILY_MODULES)


def hw_families() -> dict[str, type[MultiplierComponent]]:
    """The hardware registry, with every family loaded."""
    _load_families()
    return dict(HW_FAMILIES)


def make_hw_multiplier(model: "Multiplier | str", bits: int = 8, signed: bool = True) -> MultiplierComponent:
    """The Amaranth component for a golden model (or a spec string, built at ``bits``/``signed``)."""
    if isinstance(model, str):
        model = make_multiplier(model, bits, signed)
    _load_families()
    cls = HW_FAMILIES.get(model.family)
    if cls is None:
        raise SpecError(f"no hardware implementation for multiplier family {model.family!r}")
    return cls(model)


__all__ = ["HW_FAMILIES", "MultiplierComponent", "hw_families", "make_hw_multiplier", "multiplier_signature",
           "operand_shape", "register_hw"]
