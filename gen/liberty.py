"""Liberty (``.lib``) standard-cell libraries: a small reader and the figures energy and area need.

A Liberty file is a tree of groups ``name (args) { ... }`` holding simple attributes
``name : value ;`` and complex attributes ``name (v1, v2, ...) ;``. :func:`parse_liberty` reads
that tree (comments, quoted strings and ``\\`` line continuations included) into :class:`Group`
objects; :func:`read_liberty` extracts what axmac uses into a :class:`Library`:

* per cell: ``area`` (um^2), ``leakage`` (nW), whether it is a flip-flop (``ff``) or a latch
  (``latch``), and its pins;
* per pin: direction, capacitance (pF, the mean of ``rise_capacitance`` and ``fall_capacitance``
  where given), ``clock``, ``function``, the output transition tables of its ``timing()`` groups
  (ns, by related pin) and its ``internal_power()`` tables (pJ per transition: by related pin for
  an output, passive energy of an input under the key ``""``).

Units are normalised: capacitance in pF, time in ns, energy in pJ (``capacitive_load_unit x
voltage_unit^2``, the Liberty convention for internal-power tables), leakage in nW, supply
``voltage`` in V (``nom_voltage``). Tables keep their own ``index_1``/``index_2`` and know from
their template which axis is the output load and which the input slew; :meth:`Table.at`
interpolates bilinearly and extrapolates linearly, as timing and power tools do.

Cells whose ``area`` is 0 (OSU018's ``LATCH``) can be given their layout area (from the LEF
``SIZE``, see :mod:`axmac.gen.techlib`) through ``areas``. The parser is ours (about 0.2 s for
OSU018's 250 KB): no third-party Liberty package is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AxmacError

_TOKEN = re.compile(r'/\*.*?\*/|//[^\n]*|\\\n|"(?:[^"\\]|\\.)*"|[{}();:,]|[^\s{}();:,"]+', re.S)
_SCALES = {"f": 1e-3, "p": 1.0, "n": 1e3, "u": 1e6, "m": 1e9}  # capacitance relative to pF


class LibertyError(AxmacError):
    """A Liberty file that cannot be read (the message names the file and the problem)."""


@dataclass
class Group:
    """One Liberty group: ``kind (args) { attrs; groups }``."""

    kind: str
    args: list[str]
    attrs: dict[str, object] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)

    def sub(self, kind: str) -> list[Group]:
        return [g for g in self.groups if g.kind == kind]


def parse_liberty(text: str) -> Group:
    """The top group (``library``) of a Liberty text."""
    toks = [t for t in _TOKEN.findall(text) if not t.startswith(("/*", "//", "\\"))]
    pos = 0

    def value(t: str):
        return t[1:-1] if t.startswith('"') else t

    def body(group: Group) -> None:
        nonlocal pos
        while pos < len(toks) and toks[pos] != "}":
            name = toks[pos]
            if pos + 1 >= len(toks):
                raise LibertyError(f"unexpected end after {name!r}")
            nxt = toks[pos + 1]
            if nxt == ":":
                group.attrs[name] = value(toks[pos + 2])
                pos += 3
                if pos < len(toks) and toks[pos] == ";":
                    pos += 1
            elif nxt == "(":
                end = toks.index(")", pos + 2)
                args = [value(t) for t in toks[pos + 2:end] if t != ","]
                pos = end + 1
                if pos < len(toks) and toks[pos] == "{":
                    pos += 1
                    child = Group(name, args)
                    body(child)
                    if pos >= len(toks) or toks[pos] != "}":
                        raise LibertyError(f"group {name}({', '.join(args)}) is not closed")
                    pos += 1
                    group.groups.append(child)
                else:
                    group.attrs[name] = args
                    if pos < len(toks) and toks[pos] == ";":
                        pos += 1
            else:
                raise LibertyError(f"cannot parse near {name!r} {nxt!r}")

    root = Group("", [])
    body(root)
    libs = root.sub("library")
    if pos != len(toks) or len(libs) != 1:
        raise LibertyError("not a Liberty file: expected one library(...) { ... } group")
    return libs[0]


def _floats(v) -> np.ndarray:
    items = v if isinstance(v, list) else [v]
    return np.array([float(x) for s in items for x in str(s).replace(",", " ").split()], dtype=float)


@dataclass(frozen=True)
class Table:
    """A lookup table of energy (pJ) or time (ns) by output load (pF) and input slew (ns).

    ``loads`` / ``slews`` are the axes (``None`` when the table does not depend on it);
    ``values[i, j]`` is at ``loads[i]``, ``slews[j]``.
    """

    loads: tuple[float, ...] | None
    slews: tuple[float, ...] | None
    values: np.ndarray

    def at(self, load: float = 0.0, slew: float = 0.1) -> float:
        """Bilinear interpolation, linear extrapolation outside the axes."""
        v = self.values.reshape(len(self.loads or (0,)), len(self.slews or (0,)))
        rows = v if self.loads is None else _interp_rows(np.array(self.loads), v, load)
        vec = rows.reshape(-1)
        if self.slews is None:
            return float(vec[0])
        return float(_interp_rows(np.array(self.slews), vec[:, None], slew)[0])


def _interp_rows(axis: np.ndarray, v: np.ndarray, x: float) -> np.ndarray:
    """Row of ``v`` (indexed along axis 0 by ``axis``) at ``x``, linear in and beyond the axis."""
    if len(axis) == 1:
        return v[0]
    i = int(np.clip(np.searchsorted(axis, x) - 1, 0, len(axis) - 2))
    t = (x - axis[i]) / (axis[i + 1] - axis[i])
    return v[i] + t * (v[i + 1] - v[i])


@dataclass
class Pin:
    name: str
    direction: str
    cap: float = 0.0
    clock: bool = False
    function: str | None = None
    #: related pin -> (rise, fall) output transition tables (ns)
    transition: dict[str, tuple[Table, Table]] = field(default_factory=dict)
    #: related pin -> (rise, fall) internal energy tables (pJ); "" for an input's passive energy
    power: dict[str, tuple[Table, Table]] = field(default_factory=dict)


@dataclass
class Cell:
    name: str
    area: float
    leakage: float
    pins: dict[str, Pin]
    #: "ff", "latch" or None
    seq: str | None = None

    @property
    def outputs(self) -> list[Pin]:
        return [p for p in self.pins.values() if p.direction == "output"]


@dataclass
class Library:
    """What axmac reads from a Liberty file (units in the module docstring)."""

    name: str
    voltage: float
    cells: dict[str, Cell]
    path: str = ""
    #: cells whose area came from ``areas`` (the layout) because the .lib says 0
    area_from_layout: tuple[str, ...] = ()

    def cell(self, name: str) -> Cell:
        try:
            return self.cells[name]
        except KeyError:
            raise LibertyError(f"cell {name!r} is not in library {self.name}") from None


def _axes(tbl: Group, templates: dict[str, Group], cap_scale: float, time_scale: float):
    tmpl = templates.get(tbl.args[0] if tbl.args else "", Group("", []))
    axes = {}
    for k in ("1", "2"):
        var = str(tmpl.attrs.get(f"variable_{k}", ""))
        idx = tbl.attrs.get(f"index_{k}", tmpl.attrs.get(f"index_{k}"))
        if var and idx is not None:
            load = "capacitance" in var
            scale = cap_scale if load else time_scale
            axes["load" if load else "slew"] = (var, tuple(float(v) * scale for v in _floats(idx)))
    names = [tmpl.attrs.get("variable_1"), tmpl.attrs.get("variable_2")]
    return axes, names


def _table(tbl: Group, templates: dict[str, Group], scale: float, cap_scale: float, time_scale: float) -> Table:
    axes, names = _axes(tbl, templates, cap_scale, time_scale)
    loads = axes.get("load", (None, None))[1]
    slews = axes.get("slew", (None, None))[1]
    vals = _floats(tbl.attrs.get("values", "0")) * scale
    if loads is not None and slews is not None:
        vals = vals.reshape((len(loads), len(slews)) if "capacitance" in str(names[0]) else
                            (len(slews), len(loads)))
        if "capacitance" not in str(names[0]):
            vals = vals.T
    return Table(loads, slews, np.ascontiguousarray(vals, dtype=float))


def _pin(g: Group, templates, cap_scale: float, energy_scale: float, time_scale: float) -> Pin:
    a = g.attrs
    rf = [float(a[k]) for k in ("rise_capacitance", "fall_capacitance") if k in a]
    cap = (sum(rf) / len(rf) if rf else float(a.get("capacitance", 0.0))) * cap_scale
    pin = Pin(g.args[0], str(a.get("direction", "input")), cap, str(a.get("clock", "false")) == "true",
              a.get("function"))
    for into, group, kinds, scale in ((pin.transition, "timing", ("rise_transition", "fall_transition"), time_scale),
                                      (pin.power, "internal_power", ("rise_power", "fall_power"), energy_scale)):
        for t in g.sub(group):
            rise, fall = (t.sub(k) for k in kinds)
            if rise and fall:
                into[str(t.attrs.get("related_pin", ""))] = tuple(
                    _table(x[0], templates, scale, cap_scale, time_scale) for x in (rise, fall))
    return pin


def _unit(text, units: dict[str, float], what: str) -> float:
    m = re.fullmatch(r"\s*([\d.eE+-]*)\s*([a-zA-Z]+)\s*", str(text))
    if not m or m.group(2).lower() not in units:
        raise LibertyError(f"unsupported {what} {text!r}")
    return float(m.group(1) or 1) * units[m.group(2).lower()]


def library_from_group(lib: Group, *, path: str = "", areas: dict[str, float] | None = None) -> Library:
    """:class:`Library` of a parsed ``library`` group (see :func:`read_liberty`)."""
    a = lib.attrs
    cap_unit = a.get("capacitive_load_unit", ["1", "pf"])
    cap_scale = float(cap_unit[0]) * _SCALES[str(cap_unit[1]).lower()[0]]
    time_scale = _unit(a.get("time_unit", "1ns"), {"ps": 1e-3, "ns": 1.0, "us": 1e3}, "time_unit")
    leak_scale = _unit(a.get("leakage_power_unit", "1nW"), {"pw": 1e-3, "nw": 1.0, "uw": 1e3, "mw": 1e6},
                       "leakage_power_unit")
    volt_scale = _unit(a.get("voltage_unit", "1V"), {"mv": 1e-3, "v": 1.0}, "voltage_unit")
    energy_scale = cap_scale * volt_scale ** 2
    voltage = float(a.get("nom_voltage", 1.0)) * volt_scale
    templates = {g.args[0]: g for g in lib.groups if g.kind.endswith("template") and g.args}
    cells, fixed = {}, []
    for c in lib.sub("cell"):
        name = c.args[0]
        area = float(c.attrs.get("area", 0.0))
        if area == 0.0 and areas and areas.get(name):
            area = float(areas[name])
            fixed.append(name)
        pins = {p.args[0]: _pin(p, templates, cap_scale, energy_scale, time_scale) for p in c.sub("pin")}
        seq = "ff" if c.sub("ff") else "latch" if c.sub("latch") else None
        cells[name] = Cell(name, area, float(c.attrs.get("cell_leakage_power", 0.0)) * leak_scale, pins, seq)
    if not cells:
        raise LibertyError(f"library {lib.args[0] if lib.args else '?'} has no cells")
    return Library(lib.args[0] if lib.args else "?", voltage, cells, path, tuple(fixed))


def read_liberty(path: str | Path, *, areas: dict[str, float] | None = None) -> Library:
    """Read a Liberty file into a :class:`Library`.

    Parameters
    ----------
    path : path
        The ``.lib`` file.
    areas : dict, optional
        ``{cell: um^2}`` used for cells whose Liberty ``area`` is 0 (layout areas).
    """
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        raise LibertyError(f"cannot read Liberty file {path}: {e.strerror or e}") from None
    try:
        return library_from_group(parse_liberty(text), path=str(path), areas=areas)
    except LibertyError as e:
        raise LibertyError(f"{path.name}: {e}") from None
    except (ValueError, IndexError, KeyError) as e:
        raise LibertyError(f"{path.name}: malformed Liberty data ({e})") from None


__all__ = ["Cell", "Group", "Library", "LibertyError", "Pin", "Table", "library_from_group", "parse_liberty",
           "read_liberty"]
