"""A flattened gate-level netlist (Yosys ``write_json``): cells, nets, ports, and where each cell came from.

:func:`read_netlist` reads the ``flat.json`` of :mod:`axmac.gen.asic`. Every electrical net (a
Yosys bit) gets a dense index; its names are all the wires that carry it (a port of a submodule
and the wire of its parent are one net), so any of them can be looked up in a simulator's trace.
A cell's ``path`` is the instance path of the module it was mapped in (``""`` for the top,
``"mult"``, ``"icg.cell"``), from Yosys's ``hdlname`` attribute. Constant connections (``"0"``,
``"1"``, ``"x"``) have net index ``-1``: they never switch.

:meth:`GateNetlist.area_by` sums cell areas by group: the basis of the area breakdown per
module (:func:`axmac.gen.breakdown.pe_group`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .liberty import Library


@dataclass(frozen=True)
class CellInst:
    name: str
    type: str
    path: str
    #: pin -> net index (-1: a constant)
    pins: dict[str, int]
    #: pin -> "input" | "output"
    dirs: dict[str, str]


@dataclass
class GateNetlist:
    """See the module docstring."""

    top: str
    cells: list[CellInst]
    #: names[i]: the names of net i (``"mult._12_"``, ``"psum_in[3]"``...), most readable first
    names: list[list[str]]
    #: port -> (direction, [net index per bit, LSB first])
    ports: dict[str, tuple[str, list[int]]]
    _drivers: list[tuple[int, str] | None] = field(default_factory=list, repr=False)

    @property
    def n_nets(self) -> int:
        return len(self.names)

    def drivers(self) -> list[tuple[int, str] | None]:
        """Per net: ``(cell index, output pin)`` of its driver, or ``None`` (a primary input)."""
        if not self._drivers:
            drv: list[tuple[int, str] | None] = [None] * self.n_nets
            for ci, c in enumerate(self.cells):
                for pin, n in c.pins.items():
                    if n >= 0 and c.dirs.get(pin) == "output":
                        drv[n] = (ci, pin)
            self._drivers = drv
        return self._drivers

    def loads(self) -> list[list[tuple[int, str]]]:
        """Per net: the ``(cell index, input pin)`` it drives."""
        out: list[list[tuple[int, str]]] = [[] for _ in range(self.n_nets)]
        for ci, c in enumerate(self.cells):
            for pin, n in c.pins.items():
                if n >= 0 and c.dirs.get(pin) != "output":
                    out[n].append((ci, pin))
        return out

    def output_nets(self) -> set[int]:
        """Nets of the top's output ports."""
        return {n for d, bits in self.ports.values() if d == "output" for n in bits if n >= 0}

    def area_by(self, lib: Library, group: Callable[[CellInst, Library], str]) -> dict[str, float]:
        """Cell area (um^2) summed by ``group(cell, lib)``, groups in first-seen order."""
        out: dict[str, float] = {}
        for c in self.cells:
            g = group(c, lib)
            out[g] = out.get(g, 0.0) + lib.cell(c.type).area
        return out


def _bit_names(name: str, meta: dict) -> list[str]:
    bits = meta["bits"]
    if len(bits) == 1 and not meta.get("offset") and "upto" not in meta:
        return [name]
    off = int(meta.get("offset", 0))
    if meta.get("upto"):
        return [f"{name}[{off + len(bits) - 1 - i}]" for i in range(len(bits))]
    return [f"{name}[{off + i}]" for i in range(len(bits))]


def read_netlist(path: str | Path, top: str) -> GateNetlist:
    """The flattened module ``top`` of a Yosys JSON file (see the module docstring)."""
    data = json.loads(Path(path).read_text())
    mod = data["modules"][top]
    index: dict[int, int] = {}

    def net(bit) -> int:
        if not isinstance(bit, int):
            return -1
        if bit not in index:
            index[bit] = len(index)
            names.append([])
        return index[bit]

    names: list[list[str]] = []
    ports = {p: (m["direction"], [net(b) for b in m["bits"]]) for p, m in mod["ports"].items()}
    cells = []
    for cname, c in mod["cells"].items():
        if c["type"].startswith("$"):  # $scopeinfo: hierarchy markers, no logic
            continue
        hdl = (c.get("attributes") or {}).get("hdlname")
        path = ".".join(hdl.split()[:-1]) if hdl else cname.rpartition(".")[0]
        pins = {p: net(bits[0]) if len(bits) == 1 else -1 for p, bits in c["connections"].items()}
        cells.append(CellInst(cname, c["type"], path, pins, dict(c.get("port_directions") or {})))
    for wname, meta in sorted(mod["netnames"].items(), key=lambda kv: (kv[0].count("."), kv[0])):
        public = wname[1:] if wname.startswith("\\") else wname  # Yosys writes a public "$27" as "\\$27"
        for bit, bname in zip(meta["bits"], _bit_names(public, meta), strict=True):
            n = net(bit)
            if n >= 0:
                names[n].append(bname)
    return GateNetlist(top, cells, names, ports)


__all__ = ["CellInst", "GateNetlist", "read_netlist"]
