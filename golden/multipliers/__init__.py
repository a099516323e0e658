"""Bit-exact NumPy models of every multiplier family, behind one registry.

>>> from axmac.golden.multipliers import make_multiplier
>>> m = make_multiplier("exact", bits=8, signed=True)
>>> int(m(-3, 5))
-15
"""

from .base import FAMILIES, Multiplier, OperandFormat, make_multiplier, register, split_spec

#: modules defining the families, one family per file (imported on first use).
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


def families() -> dict[str, type[Multiplier]]:
    """The registry, with every family loaded."""
    _load_families()
    return dict(FAMILIES)


__all__ = ["FAMILIES", "Multiplier", "OperandFormat", "families", "make_multiplier", "register", "split_spec"]
