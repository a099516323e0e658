"""Co-simulation jobs from the Python side: build a harnessed design once, run jobs on it.

:func:`prepare` writes a design and its harness (:mod:`axmac.sim.harness`) into a build folder
of its own; :func:`run_job` runs one job on it with Verilator through
:func:`axmac.sim.runner.run_cocotb` and returns the job's result. A job is a dict::

    {"body": "module:function",   # async def body(tb, **args) -> dict, run inside the simulator
     "args": {...},               # picklable arguments of the body
     "model": "module:Class",     # the model ArrayTB checks against, built with model_args
     "model_args": {...},
     "mutation": None}            # or {"kind": "value"|"cycle", "beat": i, ...}: must fail

The body drives the testbench (:class:`axmac.sim.array_tb.ArrayTB`) and returns JSON-ready
figures; the result adds ``matched``, ``totals`` (runs, simulated cycles, seconds) and, when the
DUT differed from the model, ``mismatch`` (see :class:`axmac.sim.array_tb.Mismatch`).

Everything the simulator prints goes to ``sim.log`` in the build folder (or to the terminal with
``verbose=True``), so that a command's standard output stays its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import AxmacError
from .harness import HARNESS, HarnessSpec, write_harness
from .runner import SimulationFailed, build_lock, content_file, run_cocotb


class CosimError(AxmacError):
    """The simulation could not run (the build failed, the testbench crashed): not a mismatch."""


@dataclass(frozen=True)
class Build:
    """A design with its harness, ready to simulate."""

    build_dir: Path
    sources: tuple[Path, ...]
    spec: HarnessSpec


def prepare(build_dir: str | Path, stamp: str, make) -> Build:
    """A :class:`Build` in ``build_dir``: the design ``make()`` returns (``(component, spec)``)
    with its harness, written only when ``stamp`` (a digest of everything the design depends
    on) differs from the one recorded there, so a design is elaborated and compiled once."""
    build_dir = Path(build_dir).resolve()
    record = build_dir / "design.json"
    with build_lock(build_dir):
        if record.is_file():
            rec = json.loads(record.read_text())
            sources = tuple(Path(p) for p in rec["sources"])
            if rec["stamp"] == stamp and all(p.is_file() for p in sources):
                return Build(build_dir, sources, HarnessSpec.from_json(rec["spec"]))
        component, spec = make()
        sources = tuple(write_harness(component, spec, build_dir))
        record.write_text(json.dumps({"stamp": stamp, "sources": [str(p) for p in sources], "spec": spec.to_json()}))
    return Build(build_dir, sources, spec)


def source_digest(*roots: Path, extra: tuple = ()) -> str:
    """SHA-1 of every ``.py`` file under ``roots`` (names and contents) and of the ``extra`` files."""
    h = hashlib.sha1()
    for root in roots:
        for p in sorted(Path(root).rglob("*.py")):
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    for p in extra:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


@contextlib.contextmanager
def _output_to(log: Path | None):
    """Send this process's standard output and error (file descriptors 1 and 2, so the
    simulator's too) to ``log`` while the block runs (``None``: leave them)."""
    if log is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def first_error(path: Path | None) -> str:
    """The first line of the log that reports an error (for a one-line message), or ``""``."""
    try:
        lines = path.read_text(errors="replace").splitlines() if path else []
    except OSError:
        return ""
    for line in lines:
        text = line.strip()
        if "%Error" in text or "error:" in text.lower() or text.startswith(("Traceback", "RuntimeError")):
            return text[:200]
    return ""


def report_progress(done: int, total: int) -> None:
    """Inside the simulator: tell the parent how far the job is (``AXMAC_PROGRESS`` names the file)."""
    path = os.environ.get("AXMAC_PROGRESS")
    if path:
        tmp = f"{path}.tmp"
        Path(tmp).write_text(f"{int(done)} {int(total)}")
        os.replace(tmp, path)


@contextlib.contextmanager
def _watch_progress(path: Path, callback):
    """Call ``callback(done, total)`` from a thread whenever the job's progress file changes."""
    if callback is None:
        yield
        return
    stop = threading.Event()

    def poll():
        last = None
        while not stop.wait(0.2):
            try:
                text = path.read_text()
            except OSError:
                continue
            if text != last and len(text.split()) == 2:
                last = text
                callback(*(int(v) for v in text.split()))

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join()


#: Verilator flags of every harnessed build: without ``--public-flat-rw`` (cocotb's runner always
#: passes it, which keeps every internal signal visible to VPI and so unoptimised: measured on the
#: 8x8 array, 13k instead of 105k cycles/s; the testbench only touches the harness's ports, marked
#: public in the harness itself) and with ``--timing``, so that the harness makes its own clock
#: (g++ 12 needs C++20 coroutines for it, shared/TOOLCHAIN.md).
FAST_MODEL_FLAGS = ["--no-public-flat-rw", "--timing", "-CFLAGS", "-std=c++20", "-CFLAGS", "-fcoroutines"]


def run_job(build: Build, job: dict, *, verbose: bool = False, progress=None) -> dict:
    """Run ``job`` (module docstring) on ``build``; return its result.

    A mismatch is a result (``matched`` false, ``mismatch`` set), not an exception; a build or
    testbench failure raises :class:`CosimError` naming the log. ``progress(done, total)`` is
    called (from another thread) as the body reports progress (:func:`report_progress`).
    """
    log = None if verbose else build.build_dir / "sim.log"
    with build_lock(build.build_dir):
        job_file = content_file(build.build_dir, "job", pickle.dumps(job), ".pkl")
        result_file = job_file.with_name(job_file.stem.replace("job-", "result-") + ".json")
        result_file.unlink(missing_ok=True)
        if log is not None:
            log.write_bytes(b"")
        progress_file = job_file.with_suffix(".progress")
        progress_file.unlink(missing_ok=True)
        env = {"AXMAC_ARRAY_JOB": str(job_file), "AXMAC_ARRAY_RESULT": str(result_file),
               "AXMAC_PROGRESS": str(progress_file)}
        try:
            with _output_to(log), _watch_progress(progress_file, progress):
                run_cocotb(sources=list(build.sources), toplevel=HARNESS, test_module="axmac.sim.array_tb",
                           build_dir=build.build_dir, extra_env=env, build_args=FAST_MODEL_FLAGS)
        except SimulationFailed:
            pass  # the result file says whether the DUT differed or the testbench failed
        except RuntimeError as e:  # the runner's build step
            raise CosimError(f"the simulator build failed: {first_error(log) or e} (log: {log})") from None
        finally:
            job_file.unlink(missing_ok=True)
            progress_file.unlink(missing_ok=True)
        if not result_file.is_file():
            raise CosimError(f"the co-simulation wrote no result: {first_error(log) or 'no error logged'} "
                             f"(log: {log or 'the output above'})")
        result = json.loads(result_file.read_text())
        result_file.unlink()
    if not result["matched"] and "mismatch" not in result:
        raise CosimError(f"the co-simulation failed: {result.get('error', 'unknown error')} (log: {log})")
    return result


# -- the systolic array ------------------------------------------------------------------------------
#: Verilog name of the array's top inside the harness.
ARRAY_TOP = "axmac_top"


def _spec_files(spec: str) -> tuple:
    """Files a multiplier spec names (``lut:FILE``, ``verilog:FILE[:TOP]``): their contents shape the RTL."""
    family, _, rest = spec.partition(":")
    path = Path(rest.split(":")[0]) if family in ("lut", "verilog") else None
    return (path,) if path is not None and path.is_file() else ()


def array_stamp(cfg) -> str:
    """Digest of what the array's Verilog depends on: the configuration, ``hw/``, the golden
    multipliers (tables of some hardware multipliers), the neutral core, the harness."""
    from .. import config as core_config
    from .. import hw
    from ..golden import multipliers
    from . import harness

    core = Path(core_config.__file__).parent
    digest = source_digest(Path(hw.__file__).parent, Path(multipliers.__file__).parent,
                           extra=(core / "config.py", core / "verilog.py", core / "ir.py", Path(harness.__file__),
                                  *_spec_files(cfg.multiplier)))
    return hashlib.sha1((json.dumps(cfg.to_dict(), sort_keys=True) + digest).encode()).hexdigest()


def array_build(cfg, root: str | Path | None = None) -> Build:
    """The harnessed array of ``cfg`` (:class:`axmac.hw.top.Accelerator`) in a build folder of its
    own, ``<root>/<R>x<C>_<dataflow>_<operand>_<hash of the configuration>`` (default root
    ``build/cosim/array``); elaborated and compiled only when something it depends on changed."""
    from ..paths import build_dir

    key = hashlib.sha1(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
    name = f"{cfg.rows}x{cfg.cols}_{cfg.dataflow}_{'s' if cfg.signed else 'u'}{cfg.bits}_{key}"
    folder = Path(root) / name if root is not None else build_dir("cosim", "array", name)

    def make():
        from ..hw.top import Accelerator
        from .harness import spec_for

        dut = Accelerator(config=cfg)
        return dut, spec_for(dut, dut=ARRAY_TOP, lanes=cfg.cols, lane_bits=cfg.acc_bits)

    return prepare(folder, array_stamp(cfg), make)


def array_job(cfg, body: str, args: dict, *, mutation: dict | None = None) -> dict:
    """A job for :func:`run_job` on the array of ``cfg``, checked against the golden array model."""
    return {"body": body, "args": args, "model": "axmac.sim.array_model:ArrayModel",
            "model_args": {"config": cfg.to_dict()}, "mutation": mutation}
