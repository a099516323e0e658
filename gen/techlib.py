"""The standard-cell library of the ASIC flows: where its files are, and what is wrong with them.

axmac's ASIC figures (area in um^2, energy from switching activity) use a real, free library:
OSU 0.18 um (``osu018_stdcells``, Oklahoma State University), packaged by Debian as
``qflow-tech-osu018``. Only three of its files are used: the Liberty file (``.lib``: areas,
pin capacitances, power and transition tables), the Verilog cell models (``.v``: gate-level
simulation) and the LEF (``.lef``: cell sizes). ``make osu018`` installs them, without qflow and
its dependencies, into ``.venv/share/axmac/osu018`` (``apt-get download qflow-tech-osu018 &&
dpkg -x``, a 62 KB package; nothing is downloaded at run time).

:func:`find_techlib` looks, in this order, in ``$AXMAC_OSU018`` (a folder), the virtual
environment (``<sys.prefix>/share/axmac/osu018``) and a system install
(``/usr/share/qflow/tech/osu018``); if none has the files it raises :class:`TechLibMissing`
saying how to get them. Any other library: :func:`techlib_from_files` (``--liberty FILE``).

Pitfalls of OSU018 handled here: ``LATCH`` has ``area : 0`` in the ``.lib`` although its layout
is 5.6 x 10 um: cells with zero area get their LEF area (``SIZE w BY h``), both in the
:class:`~axmac.gen.liberty.Library` and in the copy of the ``.lib`` Yosys reads
(:func:`patched_liberty`). The library has no clock-gate cell and no tie cells: an ICG is built
from ``INVX1 + LATCH + AND2X1`` (see :mod:`axmac.hw.clock_gate`) and constants stay wires.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import AxmacError
from .liberty import Library, read_liberty

OSU018 = "osu018_stdcells"
SEARCH_ENV = "AXMAC_OSU018"
SYSTEM_DIR = Path("/usr/share/qflow/tech/osu018")
INSTALL_HINT = ("run `make osu018` (apt-get download qflow-tech-osu018 && dpkg -x ..., a 62 KB Debian package, "
                f"installed into .venv/share/axmac/osu018) or set {SEARCH_ENV} to a folder holding "
                f"{OSU018}.lib, {OSU018}.v and {OSU018}.lef")


class TechLibMissing(AxmacError):
    """The standard-cell library is not installed (the message says how to install it)."""


@dataclass(frozen=True)
class TechLib:
    """The files of one standard-cell library.

    ``verilog`` (cell models, for gate-level simulation) and ``lef`` (cell sizes) are optional.
    """

    name: str
    liberty: Path
    verilog: Path | None = None
    lef: Path | None = None

    def library(self) -> Library:
        """The parsed library, zero areas replaced by LEF areas (cached per file)."""
        return _load(self.liberty, self.lef)


def search_dirs() -> list[Path]:
    """Folders :func:`find_techlib` searches, in order."""
    dirs = []
    if os.environ.get(SEARCH_ENV):
        dirs.append(Path(os.environ[SEARCH_ENV]))
    dirs += [Path(sys.prefix) / "share" / "axmac" / "osu018", SYSTEM_DIR]
    return dirs


def find_techlib() -> TechLib:
    """OSU018's files (see the module docstring), or :class:`TechLibMissing`."""
    for d in search_dirs():
        lib, v, lef = (d / f"{OSU018}{ext}" for ext in (".lib", ".v", ".lef"))
        if lib.is_file() and v.is_file():
            return TechLib("osu018", lib, v, lef if lef.is_file() else None)
    where = ", ".join(str(d) for d in search_dirs())
    raise TechLibMissing(f"the OSU 0.18 um standard-cell library is not installed (looked in {where}): {INSTALL_HINT}")


def techlib_from_files(liberty: str | Path, verilog: str | Path | None = None,
                       lef: str | Path | None = None) -> TechLib:
    """A user's library (``--liberty FILE``): the files must exist."""
    paths = []
    for what, p in (("Liberty", liberty), ("Verilog cell models", verilog), ("LEF", lef)):
        if p is not None and not Path(p).is_file():
            raise AxmacError(f"{what} file {str(p)!r} not found")
        paths.append(Path(p).resolve() if p is not None else None)
    return TechLib(paths[0].stem, *paths)


def lef_areas(path: str | Path | None) -> dict[str, float]:
    """``{macro: width * height}`` (um^2) from the ``MACRO ... SIZE w BY h`` entries of a LEF file."""
    if path is None:
        return {}
    text = Path(path).read_text(errors="replace")
    out = {}
    for m in re.finditer(r"^\s*MACRO\s+(\S+)(.*?)^\s*END\s+\1\b", text, re.M | re.S):
        size = re.search(r"\bSIZE\s+([\d.]+)\s+BY\s+([\d.]+)", m.group(2))
        if size:
            out[m.group(1)] = round(float(size.group(1)) * float(size.group(2)), 6)
    return out


@functools.lru_cache(maxsize=8)
def _load(liberty: Path, lef: Path | None) -> Library:
    return read_liberty(liberty, areas=lef_areas(lef))


def patched_liberty(tech: TechLib) -> str:
    """The ``.lib`` text with every zero ``area`` replaced by the cell's layout area (for Yosys)."""
    text = tech.liberty.read_text(errors="replace")
    lib = tech.library()
    for name in lib.area_from_layout:
        pat = re.compile(r"(\bcell\s*\(\s*\"?" + re.escape(name) + r"\"?\s*\)\s*\{\s*area\s*:\s*)0(?:\.0*)?(\s*;)")
        area = lib.cells[name].area
        text = pat.sub(lambda m, a=area: f"{m.group(1)}{a:g}{m.group(2)}", text, count=1)
    return text


__all__ = ["INSTALL_HINT", "OSU018", "TechLib", "TechLibMissing", "find_techlib", "lef_areas", "patched_liberty",
           "search_dirs", "techlib_from_files"]
