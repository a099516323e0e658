"""Amaranth multipliers, one family per file, all with :func:`multiplier_signature`."""

from ...errors import SpecError
from ...golden.multipliers import Multiplier, make_multiplier
from .base import HW_FAMILIES, MultiplierComponent, multiplier_signature, operand_shape, register_hw

FAMILY_MODULES = ("exact", "trunc", "bam", "mitchell", "mitchw", "drum", "lut", "verilog")

_loaded = False


def _load_families() -> None:
    global _loaded
    if _loaded:
        return
    import importlib

    for mod in FAMILY_MODULES:
        importlib.import_module(f"{__name__}.{mod}")
    _loaded = True


def make_hw_multiplier(model: "Multiplier | str", bits: int = 8, signed: bool = True) -> MultiplierComponent:
    """The Amaranth component for a golden model (or a spec string, built at ``bits``/``signed``)."""
    if isinstance(model, str):
        model = make_multiplier(model, bits, signed)
    _load_families()
    cls = HW_FAMILIES.get(model.family)
    if cls is None:
        raise SpecError(f"no hardware implementation for multiplier family {model.family!r}")
    return cls(model)


__all__ = ["HW_FAMILIES", "MultiplierComponent", "make_hw_multiplier", "multiplier_signature",
           "operand_shape", "register_hw"]
