"""Bit-exact NumPy models of every multiplier family, behind one registry.

>>> from axmac.golden.multipliers import make_multiplier
>>> m = make_multiplier("exact", bits=8, signed=True)
>>> int(m(-3, 5))
-15
"""

from ...registry import load_modules
from .base import FAMILIES, Multiplier, OperandFormat, make_multiplier, register, split_spec

#: modules defining the families, one family per file (imported on first use).
FAMILY_MODULES = ("exact", "trunc", "bam", "mitchell", "mitchw", "drum", "lut", "verilog")


def _load_families() -> None:
    load_modules(__name__, FAMILY_MODULES)


def families() -> dict[str, type[Multiplier]]:
    """The registry, with every family loaded."""
    _load_families()
    return dict(FAMILIES)


__all__ = ["FAMILIES", "Multiplier", "OperandFormat", "families", "make_multiplier", "register", "split_spec"]
