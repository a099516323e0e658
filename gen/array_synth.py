"""Area and speed of the generated array (``hw/top.py``): the library of ``axmac synth``.

:func:`synth_array` synthesises :class:`axmac.hw.top.Accelerator` for one
:class:`~axmac.config.ArrayConfig` and one target:

``generic``
    Yosys ``synth`` with the hierarchy kept (:func:`axmac.gen.synth.synth_sources`,
    ``hierarchy=True``), ``abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX``: cells by type, gates, flip-flops
    and Yosys's CMOS transistor estimate, per module and so per group. ABC optimises each module
    on its own: a few percent more gates than a flattened run. One ABC mapping per netlist
    (``synth -noabc``, ``one_abc``): ``synth``'s own mapping, which the gate mapping redoes, took a
    third of the 8x8 array's time; the PEs alone (``pe``, the exploration) keep both (1-4 % fewer
    gates).
``ice40`` / ``ecp5``
    The array inside :class:`axmac.hw.synth_wrapper.SerialWrapper` (two data pins: its ports do
    not fit a package) through ``synth_ice40`` / ``synth_ecp5`` and nextpnr (iCE40 HX8K ct256,
    ECP5-25k CABGA256): LUT4s, carries, flip-flops, block RAMs, DSPs (ECP5; ``dsp=False`` maps
    the multipliers to LUTs, the fair comparison of approximate and exact multipliers, which a DSP
    block would hide) and Fmax. The wrapper's own cost is reported beside (one flip-flop per input
    bit of the array, an XOR tree over its output bits). A design that does not fit the device
    keeps Yosys's figures and gets a note instead of an Fmax. Gating ``icg`` is refused there: its
    latch-based clock gate stands for an ASIC library's ICG cell, and Yosys's FPGA flows reject
    the latch (``enable`` is the FPGA form of the same isolation).
``osu018`` (or any Liberty library, ``tech``)
    The array mapped to standard cells with its hierarchy (:func:`axmac.gen.asic.map_component`,
    one ABC mapping as for ``generic``): area in um^2 by type, and by group from the hierarchical
    statistics (:func:`axmac.gen.asic.module_areas`; the flattened netlist of an 8x8 array, which
    the PE's energy flow reads, would be a 420 MB JSON file). No Fmax: there is no usable static timing here (Debian's
    OpenSTA cannot read this flow's activity or gated clocks and was not set up for timing; ABC's
    mapping logs no delay).

Groups (:func:`axmac.gen.breakdown.array_group`): the PEs' multiplier, MUL and ADD bypass units,
gating, PE registers and PE logic, then counters, mesh glue, skew registers, accumulator buffer,
output stage, parameter banks, output FIFO and control. In the generic and ASIC flows memories
(accumulator buffer ``D x A`` bits per column, FIFO ``F x C*A`` bits) are flip-flops: OSU018 has
no SRAM macros, so these groups are what flip-flop memories cost.

Besides the array, the PE of the array (``hw/pe_ws.py`` / ``hw/pe_os.py``) is synthesised alone
for the configuration and for the same PE without bypass and gating (``pe``): the overhead of the
bypass cases and gating per PE in percent, measured as the difference of the two designs (Ma &
Jiao report about 3 % of an FP32 unit; in the int8 PE it is tens of percent, see the report).

Everything is cached by design hash (Yosys/nextpnr results in ``build/synth_cache``, mappings in
``build/asic``): a rerun returns at once.
"""

from __future__ import annotations

import time

from ..config import ArrayConfig
from ..errors import AxmacError
from .breakdown import ARRAY_GROUPS, PE_GROUPS, module_group, path_group

TARGETS = ("generic", "ice40", "ecp5", "osu018")
TOP = "top"
FORMAT = "axmac-synth/1"
NO_STA = ("no Fmax for a standard-cell library: there is no usable static timing analysis here (Debian's "
          "OpenSTA of 2019 was not set up for it, and ABC's mapping logs no delay); FPGA Fmax comes from nextpnr")
FF_MEMORIES = ("memories are flip-flops here (the accumulator buffer: D x A bits per column; the output FIFO: "
               "F x C*A bits): {} has no SRAM macros")


def array_pe(cfg: ArrayConfig, **changes):
    """The array's PE component for ``cfg`` (``changes``: e.g. ``bypass="none"``)."""
    from ..golden.bypass import Bypass
    from ..golden.multipliers import make_multiplier
    from ..hw.pe_os import OutputStationaryPE
    from ..hw.pe_ws import WeightStationaryPE

    cfg = cfg.replace(**changes)
    cls = WeightStationaryPE if cfg.dataflow == "ws" else OutputStationaryPE
    return cls(multiplier=make_multiplier(cfg.multiplier, cfg.bits, cfg.signed), acc_bits=cfg.acc_bits,
               bypass=Bypass.parse(cfg.bypass), gating=cfg.gating, overflow=cfg.overflow)


def _tree_groups(modules: dict, top: str, kinds: dict[str, bool], own: str | None = None) -> dict[str, dict]:
    """Per-module figures (hierarchical synthesis) summed by group: ``modules[name]`` holds the module's
    own figures (``kinds``: figure name -> whether it counts registers) and ``children``.

    Amaranth names a module after its instance path (``top.mesh.pe_0_0.mult``); a module of another
    name (an external Verilog module: the clock-gate cell, a ``verilog:`` multiplier) takes the path
    of the module that instantiates it, and counts once per instance.
    """
    out: dict[str, dict] = {}

    def visit(name: str, path: str, times: int) -> None:
        fig = modules[name]
        if name == top or name.startswith(f"{top}."):
            path = name[len(top) + 1:]
        for kind, registers in kinds.items():
            g = path_group(path, registers=registers, **({"top": "control"} if own is None else {"own": own}))
            d = out.setdefault(g, dict.fromkeys(kinds, 0))
            d[kind] += times * (fig[kind] or 0)
        for child, n in fig["children"].items():
            visit(child, path, times * n)

    visit(top, "", 1)
    return out


def _generic_groups(modules: dict, top: str, own: str | None = None) -> dict[str, dict]:
    """Gates, flip-flops and transistors of every group (:func:`_tree_groups`)."""
    groups = _tree_groups(modules, top, {"gates": False, "dff": True, "transistors": False}, own)
    return {g: {"gates": d["gates"], "dff": d["dff"], "transistors": d["transistors"]} for g, d in groups.items()}


def _asic_groups(modules: dict, top: str) -> dict[str, float]:
    """Cell area (um^2) of every group of the array from :func:`axmac.gen.asic.module_areas`; groups
    without cells are left out (as a flattened netlist's :meth:`~axmac.gen.netlist.GateNetlist.area_by`)."""
    groups = _tree_groups(modules, top, {"logic": False, "registers": True})
    return {g: d["logic"] + d["registers"] for g, d in groups.items() if d["logic"] + d["registers"] > 0}


def _ordered(groups: dict, order) -> dict:
    return {g: groups[g] for g in [*order, *sorted(set(groups) - set(order))] if g in groups}


def pe_figures(pe, target: str, tech=None, *, dsp: bool = True, timeout: float = 3600.0) -> dict:
    """One PE alone: generic gates/transistors by group, ASIC um^2 by group, or FPGA LUTs (registered I/O)."""
    from .synth import synth_component

    if target == "generic":
        r = synth_component(pe, "pe", target="generic", registered=False, hierarchy=True, timeout=timeout)
        return {"gates": r["gates"], "dff": r["dff"], "transistors": r["transistors"],
                "groups": _ordered(_generic_groups(r["modules"], "pe", own="pe"), PE_GROUPS)}
    if target == "osu018":
        from .asic import map_component
        from .netlist import read_netlist
        from .techlib import find_techlib

        tech = tech or find_techlib()
        mapped = map_component(pe, "pe", tech, timeout=timeout)
        groups = read_netlist(mapped.flat_json, "pe").area_by(tech.library(), module_group)
        return {"area_um2": mapped.area, "groups": _ordered(groups, PE_GROUPS)}
    r = synth_component(pe, "pe", target=target, registered=True, dsp=dsp, timeout=timeout)
    return {k: r.get(k) for k in ("lut4", "carry", "dff", "dsp", "fmax_mhz")}


def _pe_section(cfg: ArrayConfig, target: str, tech, *, dsp: bool, timeout: float) -> dict:
    """The configured PE and the same without bypass and gating; the overhead in percent."""
    design = pe_figures(array_pe(cfg), target, tech, dsp=dsp, timeout=timeout)
    base = pe_figures(array_pe(cfg, bypass="none", gating="none"), target, tech, dsp=dsp, timeout=timeout)
    key = {"generic": "transistors", "osu018": "area_um2"}.get(target, "lut4")
    out = {"design": design, "baseline": base, "measure": key}
    if base.get(key):
        out["overhead_pct"] = 100.0 * (design[key] - base[key]) / base[key]
    if target == "generic":
        out["gates_overhead_pct"] = 100.0 * (design["gates"] - base["gates"]) / base["gates"]
    return out


def _fpga(cfg: ArrayConfig, target: str, *, dsp: bool, seed: int, timeout: float) -> dict:
    from ..hw.synth_wrapper import SerialWrapper
    from ..hw.top import Accelerator
    from .synth import synth_component

    wrapped = SerialWrapper(Accelerator(config=cfg))
    r = synth_component(wrapped, TOP, target=target, registered=False, dsp=dsp, freq_mhz=cfg.clock_mhz,
                        seed=seed, timeout=timeout)
    r["wrapper"] = {"flip_flops": wrapped.in_bits + 1, "xor_inputs": wrapped.out_bits,
                    "note": "SerialWrapper: one flip-flop per input bit of the array and one for sout, an XOR "
                            "tree over its output bits; included in the figures above"}
    return r


def synth_array(cfg: ArrayConfig, target: str = "generic", *, tech=None, dsp: bool = True, seed: int = 1,
                pe: bool = True, timeout: float = 4 * 3600.0) -> dict:
    """Area (and for FPGAs speed) of the array ``cfg`` on ``target`` (module docstring).

    Parameters
    ----------
    cfg : ArrayConfig
    target : "generic" | "ice40" | "ecp5" | "osu018"
        ``"osu018"`` with ``tech`` given maps to that library instead (``--liberty FILE``).
    tech : TechLib, optional
        The standard-cell library of the ASIC target (default: OSU018, :func:`find_techlib`).
    dsp : bool
        ECP5 only: ``False`` maps multipliers to LUTs (``-nodsp``).
    seed : int
        nextpnr's placer seed.
    pe : bool
        Also synthesise the PE alone, with and without bypass and gating (the ``pe`` section).
    timeout : float
        Seconds per tool run.

    Returns
    -------
    dict
        JSON-ready: ``format``, ``target``, ``config``, ``figures`` (the flow's, see
        :func:`axmac.gen.synth.synth_sources` and :class:`axmac.gen.asic.Mapped`), ``groups``
        (generic: gates/dff/transistors; ASIC: um^2) and ``per_pe`` (the PE groups divided by
        ``R*C``) for generic and ASIC targets, ``pe`` (the PE alone), ``notes``, ``seconds``.
    """
    if target not in TARGETS:
        raise AxmacError(f"unknown target {target!r} (known: {', '.join(TARGETS)})")
    if not isinstance(cfg, ArrayConfig):
        raise AxmacError(f"an ArrayConfig is needed, not {type(cfg).__name__}")
    if target in ("ice40", "ecp5") and cfg.gating == "icg":
        raise AxmacError(f"gating 'icg' is a latch-based clock gate for a standard-cell ICG: synth_{target} rejects "
                         "its latch; use --gating enable (the same isolation with a clock enable) or target generic "
                         "or osu018")
    from ..hw.top import Accelerator
    from .synth import synth_component

    t0 = time.perf_counter()
    out = {"format": FORMAT, "target": target, "config": cfg.to_dict(), "notes": []}
    if target == "generic":
        r = synth_component(Accelerator(config=cfg), TOP, target="generic", registered=False, hierarchy=True,
                            one_abc=True, timeout=timeout)
        groups = _ordered(_generic_groups(r.pop("modules"), TOP), ARRAY_GROUPS)
        out["figures"], out["groups"] = r, groups
        out["notes"] += [NO_STA.replace("for a standard-cell library", "for generic gates"),
                         FF_MEMORIES.format("generic synthesis")]
    elif target == "osu018":
        from .asic import map_component, module_areas
        from .techlib import find_techlib

        tech = tech or find_techlib()
        mapped = map_component(Accelerator(config=cfg), TOP, tech, timeout=timeout, flat=False, one_abc=True)
        groups = _asic_groups(module_areas(mapped.stat_json, tech.library()), TOP)
        out["figures"] = {"library": tech.name, "liberty": str(tech.liberty), "area_um2": mapped.area,
                          "sequential_um2": mapped.sequential_area, "cells": sum(mapped.cells_by_type.values()),
                          "cells_by_type": mapped.cells_by_type, "cached": mapped.cached,
                          "work_dir": str(mapped.work_dir)}
        out["groups"] = _ordered(groups, ARRAY_GROUPS)
        out["notes"] += [NO_STA, FF_MEMORIES.format(tech.name)]
    else:
        out["figures"] = _fpga(cfg, target, dsp=dsp, seed=seed, timeout=timeout)
        if out["figures"].get("note"):
            out["notes"].append(out["figures"]["note"])
    if "groups" in out:
        pes = cfg.rows * cfg.cols
        out["per_pe"] = {g: ({k: v / pes for k, v in val.items()} if isinstance(val, dict) else val / pes)
                         for g, val in out["groups"].items() if g in PE_GROUPS}
    if pe:
        out["pe"] = _pe_section(cfg, target, tech, dsp=dsp, timeout=timeout)
    out["seconds"] = time.perf_counter() - t0
    return out


__all__ = ["FORMAT", "TARGETS", "TOP", "array_pe", "pe_figures", "synth_array"]
