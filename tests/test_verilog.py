"""axmac/verilog.py: dedup_modules writes copies of a module once, and the design stays the same.

Checked on hand-written Verilog (what merges, what must not, ports numbered design-wide translated
in the parent, nested copies merged bottom-up) and on the generated accelerator: Verilator lints
the merged text and simulates it cycle for cycle like the original on random stimulus, and
Yosys's generic synthesis of both gives the same flip-flops and gates within ABC's
order-dependence.
"""

from __future__ import annotations

import re

import pytest

from axmac.config import ArrayConfig
from axmac.verilog import _MODULE, dedup_modules

LEAF = """module {name} (a, \\port$1${n} , y);
  input [3:0] a;
  input [3:0] \\port$1${n} ;
  output [3:0] y;
  reg \\$auto$verilog_backend.cc:2355:dump_module${n}  = 0;
  assign y = a {op} \\port$1${n} ;
endmodule
"""

TOP = """module top (a, b, y0, y1, y2);
  input [3:0] a;
  input [3:0] b;
  output [3:0] y0;
  output [3:0] y1;
  output [3:0] y2;
  \\top.u0  u0 (
    .a(a),
    .\\port$1$7 (b),
    .y(y0)
  );
  \\top.u1  u1 (
    .a(b),
    .\\port$1$9 (a),
    .y(y1)
  );
  \\top.u2  u2 (
    .a(a),
    .\\port$1$11 (a),
    .y(y2)
  );
endmodule
"""


def _names(text: str) -> list[str]:
    return [m.group(1) for m in _MODULE.finditer(text)]


def test_copies_merge_and_ports_are_translated():
    text = TOP + LEAF.format(name="\\top.u0", n=7, op="+") + LEAF.format(name="\\top.u1", n=9, op="+") \
        + LEAF.format(name="\\top.u2", n=11, op="^")
    out = dedup_modules(text)
    assert _names(out) == ["top", "\\top.u0", "\\top.u2"]  # u1 was a copy of u0; u2 computes ^
    inst = re.search(r"(?s)\\top\.u0  u1 \((.*?)\);", out)
    assert inst and ".\\port$1$7 (a)" in inst.group(1) and ".a(b)" in inst.group(1)  # u1's port, u0's name
    assert "\\top.u2  u2 (" in out and ".\\port$1$11 (a)" in out
    assert dedup_modules(out) == out


def test_distinct_modules_come_back_unchanged():
    text = TOP + LEAF.format(name="\\top.u0", n=7, op="+") + LEAF.format(name="\\top.u1", n=9, op="-") \
        + LEAF.format(name="\\top.u2", n=11, op="^")
    assert dedup_modules(text) == text


def test_nested_copies_merge_bottom_up():
    parent = """module \\p.{k} (a, b, y);
  input [3:0] a;
  input [3:0] b;
  output [3:0] y;
  \\p.{k}.m  m (
    .a(a),
    .\\port$1${n} (b),
    .y(y)
  );
endmodule
"""
    text = "".join(parent.format(k=k, n=n) + LEAF.format(name=f"\\p.{k}.m", n=n, op="&")
                   for k, n in (("a", 3), ("b", 4)))
    out = dedup_modules(text)
    assert _names(out) == ["\\p.a", "\\p.a.m"]


@pytest.fixture(scope="module")
def accelerator(tmp_path_factory):
    from axmac.hw.top import Accelerator
    from axmac.verilog import write_design

    cfg = ArrayConfig(rows=3, cols=3, acc_depth=8, bypass="all", gating="enable")
    out = tmp_path_factory.mktemp("dedup")
    top, *extra = write_design(Accelerator(config=cfg), "top", out)
    return cfg, top, extra


def test_generated_array_shrinks(accelerator):
    _, top, _ = accelerator
    text = top.read_text()
    out = dedup_modules(text)
    before, after = _names(text), _names(out)
    assert len(after) < len(before) / 2
    # every copy of a column of the output stage and of the multiplier is one module now
    assert sum(".column_" in n for n in after) < sum(".column_" in n for n in before)
    assert sum(n.endswith(".mult") for n in after) == 1 < sum(n.endswith(".mult") for n in before)
    # every instance is still there under its own path
    assert _instance_paths(out) == _instance_paths(text)


def _instance_paths(text: str) -> set[str]:
    """The instance paths of the design, expanded from ``top``."""
    mods = {m.group(1): m.group(2) for m in _MODULE.finditer(text)}
    inst = re.compile(r"(?m)^[ \t]+(\\\S+|\w+)\s+(\\\S+|\w+) \($")
    out = set()

    def visit(name: str, path: str) -> None:
        out.add(path)
        for typ, iname in inst.findall(mods[name]):
            if typ in mods:
                visit(typ, f"{path}.{iname}")

    visit("top", "top")
    return out


@pytest.mark.synth
def test_merged_design_is_equivalent(accelerator, tmp_path):
    """Yosys proves the flattened merged design equivalent to the flattened original (equiv_make
    pairs every signal by name, equiv_simple/equiv_induct prove each pair, equiv_status -assert)."""
    from axmac.gen.synth import run_tool

    _, top, extra = accelerator
    (tmp_path / "gold.v").write_text(top.read_text())
    (tmp_path / "gate.v").write_text(dedup_modules(top.read_text()))
    ex = " ".join(str(p) for p in extra)
    script = f"""
read_verilog -sv gold.v {ex}
hierarchy -top top
proc; memory; flatten; opt_clean
rename top gold
design -stash gold
read_verilog -sv gate.v {ex}
hierarchy -top top
proc; memory; flatten; opt_clean
rename top gate
design -stash gate
design -copy-from gold -as gold gold
design -copy-from gate -as gate gate
equiv_make gold gate equiv
hierarchy -top equiv
equiv_simple
equiv_induct
equiv_status -assert
"""
    (tmp_path / "eq.ys").write_text(script)
    run_tool("yosys", ["-q", "-l", "eq.log", "eq.ys"], tmp_path, tmp_path / "eq.log", 1200)
    log = (tmp_path / "eq.log").read_text()
    found = re.findall(r"Found (\d+) \$equiv cells in equiv:\s+Of those cells (\d+) are proven and (\d+) are unproven",
                       log)
    assert found and int(found[-1][0]) > 10_000 and found[-1][0] == found[-1][1] and found[-1][2] == "0"


def test_synthesis_counts_every_instance(tmp_path):
    """A merged module counts once per instance: the same cells as the original design, by type."""
    from axmac.gen import synth

    leaves = [LEAF.format(name=f"\\top.u{k}", n=n, op=op) for k, n, op in ((0, 7, "+"), (1, 9, "+"), (2, 11, "^"))]
    (tmp_path / "t.v").write_text(TOP + "".join(leaves))
    merged = synth.synth_sources([tmp_path / "t.v"], "top", cache=False, hierarchy=True)
    assert set(merged["modules"]) == {"top", "top.u0", "top.u2"} and merged["modules"]["top"]["children"] == \
        {"top.u0": 2, "top.u2": 1}
