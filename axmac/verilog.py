"""Verilog emission of Amaranth components (the neutral core: hw, sim and gen all write Verilog)."""

from __future__ import annotations

from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring


def to_verilog(component: wiring.Component, name: str) -> str:
    """Verilog text of ``component`` with top module ``name`` (ports from its signature)."""
    return verilog.convert(component, name=name, emit_src=False)


def write_design(component: wiring.Component, name: str, out_dir: str | Path) -> list[Path]:
    """Write ``name.v`` into ``out_dir``; return it plus any extra sources the design needs.

    Components that instantiate external Verilog (the ``verilog:`` multiplier family, and
    anything containing one) list those files in ``extra_sources``; they are returned after
    the generated file so a simulator or synthesis script gets the complete source list.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.v"
    path.write_text(to_verilog(component, name))
    extra = [Path(p).resolve() for p in collect_extra_sources(component)]
    for fname, text in (getattr(component, "extra_verilog", None) or {}).items():
        # Verilog kept as text by hw/ (e.g. the ICG cell of hw/clock_gate.py): written beside the design.
        (out_dir / fname).write_text(text)
        extra.append((out_dir / fname).resolve())
    return [path, *dict.fromkeys(extra)]


def collect_extra_sources(component) -> list[Path]:
    """``extra_sources`` of a component and of every component it says it contains.

    Containers expose their children through an ``extra_sources`` attribute of their own
    (they should merge their children's), so this just reads the attribute.
    """
    return list(getattr(component, "extra_sources", []) or [])
