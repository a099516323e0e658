"""The array around its PEs at gate level: skew, accumulator buffer, output stage, FIFO, controller, counters.

The PEs' energy is measured one PE at a time (:mod:`axmac.gen.pe_energy`, ``kind="ws"``); this
module measures everything else of ``hw/top.py`` on the real streams of sampled tiles:

* :func:`split_design` writes the accelerator's Verilog and splits it: ``rest.v`` (every module
  but the PEs and their submodules), ``pe_stubs.v`` (each PE module's ports only) and the PEs' own
  RTL (with the clock-gate cell and imported multipliers they need).
* :func:`map_rest` maps ``rest.v`` with the PEs as black boxes (:func:`axmac.gen.asic.map_sources`),
  so the standard-cell netlist holds everything but the PEs, and :class:`RestModel` weights its
  nets (:class:`axmac.gen.energy.EnergyModel`): a net into a PE carries ``port_load_pf`` per PE
  pin (the stand-in the PE measurement uses for its own output ports), a net a PE drives is
  undriven here and its switching goes to the group ``"pe outputs"`` (already counted as the PEs'
  output-port load: :data:`EXCLUDED`), cells' passive input energy stays with the cells.
* :func:`sample_runs` draws runs of a layer: one column block of one row chunk of one image, every
  K tile of it (a sub-GEMM through :func:`~axmac.golden.array_program.gemm_program`, with the
  layer's bias and requantization of those columns; grouped layers one group at a time).
* :func:`run_stimulus` turns a GEMM :class:`~axmac.golden.array_program.Program` and its golden
  run (:func:`axmac.golden.array.simulate`, streams keeping up, ``o`` always ready) into the
  top's input ports per cycle: each stream presents its next beat from the cycle after the previous
  one transferred to the cycle it transfers, as the contract's drivers do. Several runs go into one
  simulation, each after a reset; :func:`measure_runs` simulates them (the PEs from their RTL, the
  rest at gate level), checks every ``o`` beat's value and cycle, and with ``counters = "pe"`` the
  counters at the end of each run, against the golden model, and returns each run's energy by group.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import ArrayConfig
from ..errors import AxmacError
from ..paths import build_dir
from .breakdown import array_group
from .energy import EnergyModel, EnergyOptions
from .netlist import GateNetlist, _bit_names, read_netlist
from .pe_workload import _dims

TOP = "top"
PE_OUTPUTS = "pe outputs"
#: groups of the rest's energy that are not the rest's (counted with the PEs)
EXCLUDED = (PE_OUTPUTS,)
RESET = 3
_MODULE = re.compile(r"^module\s+(\\?\S+)\s*\(.*?^endmodule\s*$", re.M | re.S)
_PORT = re.compile(r"^\s*(?:input|output|inout)\b[^;]*;", re.M)


def _pe_module(name: str) -> str | None:
    """``"pe"`` for a PE's module, ``"sub"`` for one of its submodules, else None."""
    m = re.fullmatch(rf"\\?{TOP}\.mesh\.pe_\d+_\d+(\..+)?", name)
    return None if m is None else "sub" if m.group(1) else "pe"


def split_design(cfg: ArrayConfig, out_dir: Path) -> tuple[Path, Path, str]:
    """``(rest.v, pe_stubs.v, RTL of the PEs)`` of the accelerator ``cfg`` (module docstring)."""
    from ..hw.top import Accelerator
    from ..verilog import write_design

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        top, *extra = write_design(Accelerator(config=cfg), TOP, tmp)
        text = top.read_text()
        extra_text = "".join(Path(p).read_text() + "\n" for p in extra)
    rest, stubs, rtl = [], [], [extra_text]
    for m in _MODULE.finditer(text):
        kind = _pe_module(m.group(1))
        if kind is None:
            rest.append(m.group(0))
            continue
        rtl.append(m.group(0))
        if kind == "pe":
            head = m.group(0).split(";", 1)[0]
            stubs.append(head + ";\n" + "\n".join(p.group(0) for p in _PORT.finditer(m.group(0))) + "\nendmodule")
    if not stubs:
        raise AxmacError("no PE modules found in the accelerator's Verilog")
    (out_dir / "rest.v").write_text("\n\n".join(rest) + "\n")
    (out_dir / "pe_stubs.v").write_text("\n\n".join(stubs) + "\n")
    return out_dir / "rest.v", out_dir / "pe_stubs.v", "\n\n".join(rtl) + "\n"


def map_rest(cfg: ArrayConfig, tech, *, timeout: float = 4 * 3600.0):
    """``(mapped rest, RTL of the PEs)``: the array without its PEs in ``tech``'s cells (cached by hash)."""
    from .asic import map_sources

    build_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=build_dir()) as tmp:
        rest, stubs, rtl = split_design(cfg, Path(tmp))
        mapped = map_sources([rest], TOP, tech, blackboxes=[stubs], timeout=timeout)
    return mapped, rtl


def sample_runs(operands, cfg: ArrayConfig, per_layer: int, *, seed: int = 0) -> list[tuple[str, object]]:
    """``per_layer`` runs per layer, drawn uniformly (image, group, column block, row chunk): ``(layer,
    Program)`` of the sub-GEMM over every K tile, with the layer's bias and requantization."""
    from ..golden.array_program import gemm_program
    from ..golden.requant import RequantParams

    if per_layer < 2:
        raise AxmacError(f"sample at least 2 runs per layer (for an error estimate), not {per_layer}")
    rng = np.random.default_rng(seed + 1)
    out = []
    for op in operands:
        groups, m_img, _, n, chunks, _, nt = _dims(op, cfg)
        for _ in range(per_layer):
            img, g, ni, mi = (int(rng.integers(v)) for v in (op.images, groups, nt, len(chunks)))
            m0 = img * m_img + mi * cfg.acc_depth
            cols = np.arange(ni * cfg.cols, min(n, (ni + 1) * cfg.cols))
            ch = g * n + cols
            bias = None if op.bias is None else np.asarray(op.bias, np.int64)[ch]
            rq = None
            if op.requant is not None and cfg.output_stage == "requant":
                mult, shift = op.requant.per_channel(groups * n)
                q = op.requant
                rq = RequantParams(mult[ch], shift[ch], q.zp, q.lo, q.hi, q.relu)
            out.append((op.name, gemm_program(cfg, op.x[g, m0:m0 + chunks[mi]], op.w[g][:, cols], bias=bias,
                                              requant=rq)))
    return out


def _box_nets(flat_json: Path, net: GateNetlist, lib) -> tuple[dict[int, int], set[int]]:
    """Nets into black boxes (net -> pins driven) and nets out of them, by name (multi-bit box ports)."""
    mod = json.loads(Path(flat_json).read_text())["modules"][TOP]
    index = {name: i for i, names in enumerate(net.names) for name in names}
    bit_name = {}
    for wname, meta in mod["netnames"].items():
        public = wname[1:] if wname.startswith("\\") else wname
        for bit, bname in zip(meta["bits"], _bit_names(public, meta), strict=True):
            bit_name.setdefault(bit, bname)
    ins: dict[int, int] = {}
    outs: set[int] = set()
    for c in mod["cells"].values():
        if c["type"].startswith("$") or c["type"] in lib.cells:
            continue
        dirs = c.get("port_directions") or {}
        for port, bits in c["connections"].items():
            for b in bits:
                n = index.get(bit_name.get(b, ""), -1) if isinstance(b, int) else -1
                if n < 0:
                    continue
                if dirs.get(port) == "output":
                    outs.add(n)
                else:
                    ins[n] = ins.get(n, 0) + 1
    return ins, outs


@dataclass
class RestModel:
    """The energy weights of the mapped rest (module docstring) and the netlist it simulates."""

    mapped: object
    rtl: str
    model: EnergyModel
    boxes: int

    @classmethod
    def build(cls, mapped, rtl: str, tech, options: EnergyOptions | None = None) -> RestModel:
        options = options or EnergyOptions()
        lib = tech.library()
        full = read_netlist(mapped.flat_json, TOP)
        ins, outs = _box_nets(mapped.flat_json, full, lib)
        cells = [c for c in full.cells if c.type in lib.cells]
        net = GateNetlist(full.top, cells, full.names, full.ports)
        model = EnergyModel(net, lib, array_group, options,
                            extra_load={n: k * options.port_load_pf for n, k in ins.items()},
                            input_groups=dict.fromkeys(outs, PE_OUTPUTS))
        return cls(mapped, rtl, model, len(full.cells) - len(cells))


def run_stimulus(cfg: ArrayConfig, program, run, *, reset: int = RESET) -> dict[str, np.ndarray]:
    """The top's input ports per cycle for ``program`` and its golden ``run`` (module docstring):
    ``reset`` cycles of reset, then cycles ``0 .. run.cycles`` of the run (one past its end)."""

    n = reset + run.cycles + 1
    st = {"rst": np.zeros(n, np.int64), "o__ready": np.ones(n, np.int64)}
    st["rst"][:reset] = 1
    beats = program.payloads()
    for s in ("cmd", "w", "a", "qp"):
        valid = np.zeros(n, np.int64)
        payload = np.zeros(n, dtype=object)
        payload[:] = 0
        start = 0
        for c, value in zip(np.asarray(run.beat_cycles[s], np.int64).tolist(), beats[s], strict=True):
            valid[reset + start:reset + c + 1] = 1
            payload[reset + start:] = int(value)
            start = c + 1
        st[f"{s}__valid"], st[f"{s}__payload"] = valid, payload
    return st


def check_run(cfg: ArrayConfig, run, outputs: dict, first: int) -> None:
    """The simulated ``o`` beats (value, cycle) and counters of a run whose cycle 0 is vector ``first``
    must be the golden run's. Output line ``k`` shows cycle ``k + 1``'s outputs (see
    :mod:`axmac.gen.activity`)."""
    from ..golden.array_payload import stream_layouts

    lines = range(first - 1, first + run.cycles - 1)
    valid = np.array([outputs["o__valid"][k] for k in lines], bool)
    got_cycles = np.flatnonzero(valid)
    if not np.array_equal(got_cycles, np.asarray(run.o_cycles)):
        raise AxmacError(f"gate-level array: o beats in cycles {got_cycles[:8].tolist()}..., golden "
                         f"{np.asarray(run.o_cycles)[:8].tolist()}...")
    want = stream_layouts(cfg)["o"].pack({"o": np.asarray(run.o, np.int64)})
    got = [outputs["o__payload"][first - 1 + int(c)] for c in got_cycles]
    bad = [i for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
    if bad:
        raise AxmacError(f"gate-level array: o beat {bad[0]} differs from the golden model ({len(bad)} beats differ)")
    if cfg.counters == "pe" and outputs["counters"][first - 1 + run.cycles] != run.counter_port():
        raise AxmacError("gate-level array: the activity counters differ from the golden model at the end of a run")


def measure_runs(rest: RestModel, cfg: ArrayConfig, programs: list, *, simulator: str = "verilator",
                 delays: bool = False, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Energy (pJ) by group of each program's run ``(runs, groups)`` and each run's cycles."""
    from ..golden.array import simulate
    from .activity import GateSim

    if not programs:
        raise AxmacError("no runs to simulate")
    sim = GateSim(rest.mapped, simulator=simulator, delays=delays, period_ns=rest.model.opt.period_ns,
                  rtl=rest.rtl)
    parts, windows, runs, t = [], [], [], 0
    for p in programs:
        run = simulate(cfg, p)
        st = run_stimulus(cfg, p, run)
        parts.append(st)
        windows.append((t + RESET, t + RESET + run.cycles))
        runs.append((run, t + RESET))
        t += len(st["rst"])
    stim = {k: np.concatenate([st[k] for st in parts]) for k in parts[0]}
    act = sim.run(stim, windows)
    if check:
        for run, first in runs:
            check_run(cfg, run, act.outputs, first)
    return rest.model.energy(act.toggles, act.cycles), act.cycles.astype(np.int64)


__all__ = ["EXCLUDED", "PE_OUTPUTS", "RESET", "RestModel", "check_run", "map_rest", "measure_runs", "run_stimulus",
           "sample_runs", "split_design"]
