"""sim/tabulate.py (module and port discovery, the exhaustive-table cache) and the rules of
golden/multipliers/verilog.py (output extension, port checks)."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from axmac.errors import SpecError
from axmac.golden.multipliers import make_multiplier
from axmac.golden.multipliers import verilog as gv
from axmac.hw.multipliers import make_hw_multiplier
from axmac.sim import tabulate as vi
from axmac.verilog import write_design

DATA = Path(__file__).resolve().parent / "data"


def test_module_names_ignore_comments():
    text = "// module fake1(\n/* module fake2 (x);\n */ module  real_one (input a);endmodule\nmodule b2(); endmodule"
    assert vi.module_names(text) == ["real_one", "b2"]


def test_discover_ports_in_declaration_order():
    p = vi.discover_ports(DATA / "approx_mul8_s.v")
    assert p == gv.VerilogPorts("approx_mul8_s", "a_in", "b_in", "prod", 8, 8, 16)
    p = vi.discover_ports(DATA / "exact_mul6_s.v", "exact_mul6_s")
    assert (p.a, p.b, p.p, p.a_bits, p.p_bits) == ("a", "b", "p", 6, 12)


def test_default_top_is_the_first_module():
    # exact_mul6_s.v declares the helper sext6 first: it is picked, and it is no multiplier.
    with pytest.raises(SpecError, match="module sext6 in exact_mul6_s.v must have exactly two inputs"):
        vi.discover_ports(DATA / "exact_mul6_s.v")


@pytest.mark.parametrize("p_bits,bits", [(7, 4), (8, 4), (16, 8), (1, 2)])
def test_extend_outputs_vs_python_ints(p_bits, bits):
    raw = np.arange(1 << p_bits, dtype=np.uint32)
    for signed in (True, False):
        got = gv.extend_outputs(raw, p_bits, bits, signed)
        ref = [x - (1 << p_bits) if signed and x >> (p_bits - 1) else x for x in range(1 << p_bits)]
        assert got.tolist() == ref


def test_check_ports_messages():
    p = gv.VerilogPorts("m", "x", "y", "z", 8, 8, 17)
    with pytest.raises(SpecError, match="output z has 17 bits, more than 2\\*8"):
        gv.check_ports(p, 8)
    with pytest.raises(SpecError, match="x\\[8\\] and y\\[8\\] do not match the operand width 7"):
        gv.check_ports(p, 7)


def test_table_is_cached_by_file_content(tmp_path, monkeypatch):
    src = tmp_path / "mul2.v"
    src.write_text("module mul2(input [1:0] a, input [1:0] b, output [3:0] p); assign p = a * b; endmodule\n")
    ports = vi.discover_ports(src)
    t = vi.exhaustive_table(src, ports, 2, False)
    v = np.arange(4)
    assert (t == v[:, None] * v[None, :]).all()

    def no_sim(*args):
        raise AssertionError("simulated again")

    monkeypatch.setattr(vi, "_simulate", no_sim)
    assert (vi.exhaustive_table(src, ports, 2, True) == np.where(t >= 8, t - 16, t)).all()  # cached raw, signed view
    src.write_text(src.read_text().replace("a * b", "a + b"))  # new content: a new cache entry
    with pytest.raises(AssertionError, match="simulated again"):
        vi.exhaustive_table(src, vi.discover_ports(src), 2, False)


def test_hw_instance_compiles_the_same_file(tmp_path):
    f = tmp_path / "copy.v"
    shutil.copyfile(DATA / "approx_mul8_u.v", f)
    hw = make_hw_multiplier(make_multiplier(f"verilog:{f}", 8, False))
    srcs = write_design(hw, "mul", tmp_path / "out")
    assert srcs[1:] == [f.resolve()]
    text = srcs[0].read_text()
    assert "approx_mul8_u imported" in text and ".x(a)" in text and ".y(b)" in text


def test_signed_ports_give_the_signed_product(tmp_path):
    src = tmp_path / "smul4.v"
    src.write_text("module smul4(input signed [3:0] a, input signed [3:0] b, output signed [7:0] p);\n"
                   "  assign p = a * b;\nendmodule\n")
    v = np.arange(-8, 8)
    t = make_multiplier(f"verilog:{src}", 4, True).table()
    assert (t[v & 15][:, v & 15] == v[:, None] * v[None, :]).all()
