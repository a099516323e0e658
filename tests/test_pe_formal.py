"""gen/formal.py: Yosys k-induction proof that the bypassing PE (exact multiplier) is a plain MAC.

The reference MAC is hand-written Verilog with a shift-and-add product (gen/formal.py), so the
two sides share no multiplier cell. The proof is unbounded (induction), and it must FAIL, with a
reachable counterexample, on PEs with injected bugs.
"""

import pytest
from amaranth.hdl import Const

import axmac.hw.pe as pe_module
from axmac.gen.formal import prove_pe_matches_mac, reference_mac_verilog, run_yosys
from axmac.golden.bypass import Bypass
from axmac.golden.multipliers import make_multiplier
from axmac.hw.bypass import MulBypass
from axmac.hw.pe import PE
from axmac.paths import BUILD_ROOT

pytestmark = pytest.mark.synth

ALL = Bypass.parse("all")


class BuggyMulBypass(MulBypass):
    """Returns +b for a = -1 (the sign of the +-1 operand is ignored)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        with m.If(self.ctrl == 0b10):
            m.d.comb += self.result.eq(self.b)  # the last assignment wins
        return m


class BuggyPE(PE):
    mul_bypass_cls = BuggyMulBypass


def _pe(bits, signed, gating, cls=PE, bypass=ALL):
    return cls(multiplier=make_multiplier("exact", bits, signed), acc_bits=2 * bits + 2, bypass=bypass,
               gating=gating)


def _where(name):
    return BUILD_ROOT / "pe" / "formal" / name


@pytest.mark.parametrize("gating", ["none", "enable", "icg"])
@pytest.mark.parametrize("bits,signed", [(4, True), (5, False)])
def test_pe_all_bypass_equals_plain_mac(bits, signed, gating):
    r = prove_pe_matches_mac(_pe(bits, signed, gating), _where(f"ok_{bits}{signed:d}_{gating}"))
    assert (r.proved, r.verdict) == (True, "proved"), f"see {r.log}"


@pytest.mark.parametrize("gating", ["enable", "icg"])
def test_injected_bypass_bug_is_found(gating):
    r = prove_pe_matches_mac(_pe(4, True, gating, BuggyPE), _where(f"bug_sign_{gating}"))
    assert (r.proved, r.verdict) == (False, "counterexample"), f"see {r.log}"


@pytest.mark.parametrize("gating", ["enable", "icg"])
def test_injected_isolation_bug_is_found(monkeypatch, gating):
    """Operand isolation / a clock gate that never loads the multiplier's operand feeds it stale activations."""
    monkeypatch.setattr(pe_module, "mul_needed", lambda *args: Const(0, 1))
    r = prove_pe_matches_mac(_pe(4, True, gating), _where(f"bug_isolation_{gating}"))
    assert (r.proved, r.verdict) == (False, "counterexample"), f"see {r.log}"


def test_injected_opposite_bug_is_found(monkeypatch):
    """A carry-free opposite detector that ignores the top bit says 'opposite' when it is not."""
    from axmac.hw.bypass import AddBypass

    def wrong(a, b):
        n = len(a) - 1
        ua, ub = a.as_unsigned()[:n], b.as_unsigned()[:n]
        return (ua ^ ub) == ((ua | ub) << 1)[:n]

    monkeypatch.setattr(AddBypass, "opposite", staticmethod(wrong))
    r = prove_pe_matches_mac(_pe(4, True, "none", bypass=Bypass(opposite=True)), _where("bug_opposite"))
    assert (r.proved, r.verdict) == (False, "counterexample"), f"see {r.log}"


@pytest.mark.parametrize("signed", [True, False])
def test_reference_mac_has_no_multiplier_cell(signed):
    """The reference is shift-and-add: Yosys finds no $mul in it (but does in the PE's exact multiplier)."""
    where = _where(f"ref_cells_{signed:d}")
    where.mkdir(parents=True, exist_ok=True)
    (where / "mac_ref.v").write_text(reference_mac_verilog(6, signed, 14))
    code, log = run_yosys("read_verilog mac_ref.v\nproc\nselect -assert-none t:$mul\nselect -assert-any t:$add\n",
                          where, "cells")
    assert code == 0, log[-500:]


def test_icg_clock_gate_bug_is_found():
    """A clock gate without its latch (gclk = clk & en: en may change while clk is high and make
    a spurious edge; the inputs of the check may change in either clock phase) is caught."""
    from axmac.hw import clock_gate

    pe = _pe(4, True, "icg")
    bad = clock_gate.ICG_VERILOG.replace("if (!clk) en_latched = en;", "en_latched = en;")
    assert bad != clock_gate.ICG_VERILOG
    pe.extra_verilog = {"axmac_icg.v": bad}
    r = prove_pe_matches_mac(pe, _where("bug_icg_latch"))
    assert (r.proved, r.verdict) == (False, "counterexample"), f"see {r.log}"


@pytest.mark.slow
@pytest.mark.parametrize("gating", ["none", "enable", "icg"])
def test_pe_all_bypass_equals_plain_mac_8bit(gating):
    r = prove_pe_matches_mac(_pe(8, True, gating), _where(f"ok_8_{gating}"), timeout=1200)
    assert r.proved, f"see {r.log}"
