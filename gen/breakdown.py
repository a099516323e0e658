"""Where area and energy go: groups of cells by the module they were mapped in.

A group function ``group(cell, lib) -> str`` (used by :meth:`GateNetlist.area_by
<axmac.gen.netlist.GateNetlist.area_by>` and :class:`axmac.gen.energy.EnergyModel`) names the
part of the design a cell belongs to, from its instance path (the hierarchy that
:mod:`axmac.gen.asic` keeps). :data:`MODULE_GROUPS` maps the last component of a submodule's
instance name to a group; the cells of a module that has no entry (e.g. the PE's own module)
are split into its registers and its other logic.

For a PE (``hw/pe.py``): ``multiplier`` (``mult``), ``mul bypass`` and ``add bypass`` (the units
``mul_bypass``, ``add_bypass``),
``gating`` (the clock gate ``icg``), ``pe registers`` (flip-flops of the PE itself: activation,
weight, partial sum, valid, flags and the isolated multiplier operand ``a_mul``) and ``pe logic``
(its adder, the product and result multiplexers and the operand-flag comparators). The array
(``hw/top.py``) adds its modules here (``mesh``, buffers, output stage, controller).
"""

from __future__ import annotations

from .liberty import Library
from .netlist import CellInst

MODULE_GROUPS = {
    "mult": "multiplier",
    "mul_bypass": "mul bypass",
    "add_bypass": "add bypass",
    "icg": "gating",
}


def module_group(cell: CellInst, lib: Library, *, own: str = "pe") -> str:
    """The group of ``cell``: the innermost instance-path component with an entry in
    :data:`MODULE_GROUPS`, else ``"<own> registers"`` / ``"<own> logic"``."""
    for part in reversed(cell.path.split(".") if cell.path else []):
        if part in MODULE_GROUPS:
            return MODULE_GROUPS[part]
    return f"{own} registers" if lib.cell(cell.type).seq else f"{own} logic"


__all__ = ["MODULE_GROUPS", "module_group"]
