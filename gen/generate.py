"""``axmac generate`` as a library: the array's Verilog, its manifest and its constraints.

:func:`generate` elaborates :class:`axmac.hw.top.Accelerator` for one
:class:`~axmac.config.ArrayConfig` and writes into a folder:

* ``<top>.v`` and every file the design needs besides (a ``verilog:`` multiplier's own source,
  the clock-gate cell of ``gating = icg``), so that the folder is complete;
* ``manifest.json`` (:func:`manifest`): the whole configuration, every port with its direction,
  width, Verilog names and payload fields (``golden/array_payload.py``, docs/array.md bit
  layouts), and the cycle contract's latencies and formulas for this configuration;
* constraints filled in from the templates of ``constraints/``: ``<top>.sdc`` (the clock at
  ``clock_mhz``), ``<top>.pcf`` (iCE40) and ``<top>.lpf`` (ECP5).

Everything is produced in memory first and written only when all of it succeeded, each file
whole (:func:`axmac.util.atomic_output`): bad input leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from importlib import resources
from pathlib import Path
from string import Template

from ..config import COUNTER_BITS, COUNTER_NAMES, OUTPUT_STAGES, ArrayConfig
from ..errors import AxmacError
from ..util import atomic_output

FORMAT = "axmac-array/1"
#: Default Verilog name of the top module.
TOP = "axmac_top"
#: Constraint files: suffix -> (template, clock pin site of the board the template names).
CONSTRAINTS = {"sdc": ("array.sdc.tmpl", None), "pcf": ("array.pcf.tmpl", "J3"), "lpf": ("array.lpf.tmpl", "P6")}


def timing(cfg: ArrayConfig) -> dict:
    """Latencies and cycle formulas of docs/array.md for ``cfg`` (numbers where they are fixed)."""
    R, C, P, F = cfg.rows, cfg.cols, OUTPUT_STAGES, cfg.fifo_depth
    common = {"output_stages": P, "fifo_depth": F,
              "run_cycles": "the cycle after the last result leaves (cycle 0: the first after reset)",
              "stage_to_fifo": f"a result at the output stage's input in cycle T can leave from cycle T + {P}"}
    if cfg.dataflow == "ws":
        return common | {
            "stage_input": f"n + {R + C} (R + C) for the a beat accepted in cycle n",
            "result_latency": R + C + P,
            "result_cycle": f"n + {R + C + P} (n + R + C + P) when o is ready",
            "first_tile_start": R,
            "tile_interval": f"max(m, {R}) (max(m, R)) cycles when the streams keep up",
            "max_tile_rows": cfg.acc_depth}
    return common | {
        "stage_input": f"n_last + {2 * R + C} - i (n_last + 2R + C - i) for row i of a tile",
        "result_latency": 2 * R + C + P,
        "result_cycle": f"n_last + {2 * R + C + P} - i (n_last + 2R + C + P - i) when o is ready",
        "tile_interval": f"max(K, {R}) (max(K, R)) cycles between last beats when the streams keep up",
        "max_tile_rows": R}


def _fields(layout) -> list[dict]:
    return [{"name": f.name, "offset": f.offset, "width": f.width, "signed": f.signed, "count": f.count,
             "stride": f.stride} for f in layout.leaves]


def ports(component, cfg: ArrayConfig) -> list[dict]:
    """Every port of the top: ``clk``, ``rst``, the streams (payload fields) and ``counters``."""
    from amaranth.hdl import Shape
    from amaranth.lib.wiring import Flow

    from ..golden.array_payload import stream_layouts

    layouts = stream_layouts(cfg)
    out = [{"name": "clk", "direction": "in", "width": 1}, {"name": "rst", "direction": "in", "width": 1,
                                                            "note": "synchronous, active high"}]
    for name, member in component.signature.members.items():
        direction = "in" if member.flow == Flow.In else "out"
        if member.is_signature:
            width = Shape.cast(member.signature.members["payload"].shape).width
            lay = layouts.get(name)
            if lay is not None and lay.width != width:
                raise AxmacError(f"internal: the {name} payload is {width} bits, docs/array.md says {lay.width}")
            out.append({"name": name, "direction": direction, "kind": "stream", "width": width,
                        "verilog": {k: f"{name}__{k}" for k in ("payload", "valid", "ready")},
                        "fields": _fields(lay) if lay is not None else []})
        else:
            entry = {"name": name, "direction": direction, "width": Shape.cast(member.shape).width}
            if name == "counters":
                entry["layout"] = {"names": list(COUNTER_NAMES), "bits": COUNTER_BITS,
                                   "offset": "((r*C + c)*NCOUNT + j)*32", "ncount": len(COUNTER_NAMES)}
            out.append(entry)
    return out


def manifest(cfg: ArrayConfig, component, top: str, files: dict) -> dict:
    """The ``manifest.json`` content (see the module docstring)."""
    return {"format": FORMAT, "top": top, "config": cfg.to_dict(),
            "derived": {"pes": cfg.pes, "fifo_depth": cfg.fifo_depth, "output_stages": OUTPUT_STAGES,
                        "bypass_cases": list(cfg.bypass_cases)},
            "ports": ports(component, cfg), "timing": timing(cfg), "files": files,
            "contract": "docs/array.md"}


def constraint_text(kind: str, cfg: ArrayConfig, top: str) -> str:
    """A constraint file (``sdc``, ``pcf`` or ``lpf``) filled in for ``cfg``."""
    name, site = CONSTRAINTS[kind]
    text = resources.files("axmac.constraints").joinpath(name).read_text()
    period = 1000.0 / cfg.clock_mhz
    values = {"top": top, "clock": "clk", "rows": cfg.rows, "cols": cfg.cols, "dataflow": cfg.dataflow,
              "clock_mhz": f"{cfg.clock_mhz:g}", "period_ns": f"{period:.4f}", "clk_site": site or "",
              "uncertainty_ns": f"{0.05 * period:.4f}", "io_delay_ns": "0"}
    return Template(text).substitute(values)


def elaborate(cfg: ArrayConfig):
    """The top component for ``cfg`` (:class:`axmac.hw.top.Accelerator`)."""
    from ..hw.top import Accelerator

    return Accelerator(config=cfg)


def generate(cfg: ArrayConfig, out_dir: str | Path, *, top: str = TOP) -> dict:
    """Write the Verilog, ``manifest.json`` and constraints of ``cfg`` into ``out_dir``; return the manifest."""
    from ..verilog import write_design

    if not top.isidentifier():
        raise AxmacError(f"--top {top!r} is not a Verilog identifier")
    component = elaborate(cfg)
    texts: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for p in write_design(component, top, tmp):
            if p.name in texts:
                raise AxmacError(f"two design files are named {p.name}")
            texts[p.name] = p.read_bytes()
    verilog = list(texts)
    for kind in CONSTRAINTS:
        texts[f"{top}.{kind}"] = constraint_text(kind, cfg, top).encode()
    files = {"verilog": verilog, "constraints": {k: f"{top}.{k}" for k in CONSTRAINTS},
             "sha256": {n: hashlib.sha256(b).hexdigest() for n, b in texts.items()}}
    man = manifest(cfg, component, top, files)
    texts["manifest.json"] = (json.dumps(man, indent=2) + "\n").encode()
    out_dir = Path(out_dir)
    for name, data in texts.items():
        with atomic_output(out_dir / name, "wb") as f:
            f.write(data)
    return man
