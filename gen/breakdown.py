"""Where area and energy go: groups of cells by the module they were mapped in.

A group function ``group(cell, lib) -> str`` (used by :meth:`GateNetlist.area_by
<axmac.gen.netlist.GateNetlist.area_by>` and :class:`axmac.gen.energy.EnergyModel`) names the
part of the design a cell belongs to, from its instance path (the hierarchy that
:mod:`axmac.gen.asic` keeps). :data:`MODULE_GROUPS` maps the last component of a submodule's
instance name, without an index suffix (``pe_3_1`` -> ``pe``, ``acc_2`` -> ``acc``, ``banks$88`` ->
``banks``), to a group;
the innermost component with an entry decides. The cells of a PE's own module (``pe``, and the
PE's slot unit ``slot``, which has no entry) are split into its registers and its other logic.

For a PE (``hw/pe.py``, ``hw/pe_ws.py``): ``multiplier`` (``mult``), ``mul bypass`` and ``add
bypass`` (the units ``mul_bypass``, ``add_bypass``), ``gating`` (the clock gate ``icg``), ``pe
registers`` (flip-flops of the PE itself: activation, weights, partial sum, valid, flags and the
isolated multiplier operand ``a_mul``) and ``pe logic`` (its adder, the product and result
multiplexers and the operand-flag comparators).

For the array (``hw/top.py``; :func:`array_group`): the PEs' groups above, ``counters`` (the
activity counters of each PE, ``mesh.counters_r_c``), ``mesh`` (the mesh's own glue: shadow
write decode, drain-load registers), ``skew`` (``a_skew``, ``w_skew``, ``deskew``),
``accumulator buffer`` (``acc_c``: the memory, as flip-flops in a standard-cell flow, and its
adder), ``output stage`` (``stage``), ``parameter banks`` (``banks``), ``output fifo``
(``fifo``) and ``control`` (the controller ``ctl`` and the top's own cells: the control delay
line beside the wavefront, the os row sequencer). :data:`ARRAY_GROUPS` lists them in report order.
"""

from __future__ import annotations

import re

from .liberty import Library
from .netlist import CellInst

#: instance name (index suffix removed) -> group; ``None``: a PE (its cells: registers / logic)
MODULE_GROUPS = {
    "mult": "multiplier",
    "mul_bypass": "mul bypass",
    "add_bypass": "add bypass",
    "icg": "gating",
    "pe": None,
    "counters": "counters",
    "mesh": "mesh",
    "a_skew": "skew",
    "w_skew": "skew",
    "deskew": "skew",
    "acc": "accumulator buffer",
    "stage": "output stage",
    "banks": "parameter banks",
    "fifo": "output fifo",
    "ctl": "control",
}
PE_GROUPS = ("multiplier", "mul bypass", "add bypass", "gating", "pe registers", "pe logic")
#: the groups of :func:`array_group`, PE groups first
ARRAY_GROUPS = (*PE_GROUPS, "counters", "mesh", "skew", "accumulator buffer", "output stage", "parameter banks",
                "output fifo", "control")
_INDEX = re.compile(r"(_\d+|\$\d+)+$")  # pe_3_1 -> pe; Amaranth's banks$88 (a name taken twice) -> banks


def path_group(path: str, *, registers: bool, own: str = "pe", top: str | None = None) -> str:
    """The group of a cell in module ``path`` (instance path, ``""`` for the top); ``registers``:
    whether the cell is a flip-flop or latch. Module docstring; ``top`` names the group of the top
    module's own cells (default: ``"<own> registers"`` / ``"<own> logic"``)."""
    for part in reversed(path.split(".") if path else []):
        key = _INDEX.sub("", part)
        if key in MODULE_GROUPS:
            group = MODULE_GROUPS[key]
            if group is None:
                return "pe registers" if registers else "pe logic"
            return group
    if top is not None:
        return top
    return f"{own} registers" if registers else f"{own} logic"


def module_group(cell: CellInst, lib: Library, *, own: str = "pe") -> str:
    """The group of ``cell``: the innermost instance-path component with an entry in
    :data:`MODULE_GROUPS`, else ``"<own> registers"`` / ``"<own> logic"``."""
    return path_group(cell.path, registers=lib.cell(cell.type).seq, own=own)


def array_group(cell: CellInst, lib: Library) -> str:
    """The group of a cell of the array's top (module docstring); the top's own cells are ``control``."""
    return path_group(cell.path, registers=lib.cell(cell.type).seq, top="control")


__all__ = ["ARRAY_GROUPS", "MODULE_GROUPS", "PE_GROUPS", "array_group", "module_group", "path_group"]
