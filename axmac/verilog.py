"""Verilog emission of Amaranth components (the neutral core: hw, sim and gen all write Verilog)."""

from __future__ import annotations

import re
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


_MODULE = re.compile(r"(?ms)^module\s+(\\\S+|[A-Za-z_][A-Za-z0-9_$]*)(.*?^endmodule\b[^\n]*\n?)")
#: names Amaranth's Verilog numbers from design-wide counters: local ones and ports made of expressions
_NUMBERED = re.compile(r"\\(?:\$auto|port)\$\S+")


def _numbered(rest: str) -> list[str]:
    """The numbered names of a module's text, each once, in the order they first appear."""
    return list(dict.fromkeys(m.group(0) for m in _NUMBERED.finditer(rest)))


def _canonical(rest: str) -> str:
    """A module's text after its name with its numbered names replaced by their order of appearance."""
    index = {n: f"\\$n${i}" for i, n in enumerate(_numbered(rest))}
    return _NUMBERED.sub(lambda m: index[m.group(0)], rest)


def dedup_modules(text: str) -> str:
    """Verilog ``text`` with modules that are the same but for their names written once.

    Amaranth writes one module per instance (``top.mesh.pe_1_2``, ``top.stage.column_3``...) and
    numbers some names design-wide (``$auto$...``, ports made of expressions ``port$4461$32``), so a
    synthesis tool maps every copy of a PE or of an output-stage column again. Here two modules
    whose texts agree once their names and those numbered names are set aside become one: the
    first keeps its name; every instantiation of another names the first, with its numbered port
    names translated; repeated until nothing changes (parents of merged children may then agree
    too). Instance names and behaviour are untouched; a design of distinct modules comes back as
    it was.
    """
    while True:
        mods = [(m.group(1), m.group(2), m.start(), m.end()) for m in _MODULE.finditer(text)]
        first: dict[str, tuple[str, str]] = {}
        rename: dict[str, tuple[str, dict[str, str]]] = {}
        for name, rest, _, _ in mods:
            kept, kept_rest = first.setdefault(_canonical(rest), (name, rest))
            if kept != name:
                ports = dict(zip(_numbered(rest), _numbered(kept_rest), strict=True))
                rename[name] = (kept, ports)
        if not rename:
            return text
        out, pos = [], 0
        for name, _, start, end in mods:
            if name in rename:
                out.append(text[pos:start])
                pos = end
        out.append(text[pos:])
        text = "".join(out)
        types = "|".join(re.escape(n) for n in sorted(rename, key=len, reverse=True))
        inst = re.compile(r"(?ms)^([ \t]+)(" + types + r")(\s.*?\);)")

        def retarget(m, rename=rename):
            kept, ports = rename[m.group(2)]
            body = _NUMBERED.sub(lambda p: ports.get(p.group(0), p.group(0)), m.group(3))
            return m.group(1) + kept + body

        text = inst.sub(retarget, text)
