"""A generated Verilog harness that replays stream stimulus from memories and captures ``o``.

Per-cycle Python is what makes co-simulation slow (shared/TOOLCHAIN.md: 54k cycles/s with one
vector driven from Python per cycle, 232k with only the clock running). The harness moves all
stimulus and all output capture into the simulator, so that cocotb only runs the clock and reads
files:

* the clock is generated inside the harness (``always #5 clk = ~clk``, built with Verilator's
  ``--timing``): cocotb runs no clock, so no Python or VPI callback happens per cycle (8x8 array,
  8-bit, streams keeping up: 139k instead of 78k cycles/s with cocotb's clock driver);
* every input stream ``s`` (``cmd``, ``w``, ``a``, ``qp``) is replayed from a memory loaded with
  ``$readmemh("s.hex")``, following docs/array.md's "Test streams": the stream presents its
  next beat in cycle ``t`` only if no beat is pending and ``idle[t mod L]`` is false (memory
  ``s_idle.hex``, ``L = s_len``); a presented beat stays until it transfers;
* ``o.ready`` is ``not stall[t mod L]`` (``o_stall.hex``); every ``o`` beat is written, with the
  cycle it transferred in (a free-running counter, 0 in the first cycle after reset), into a
  capture memory dumped by ``$writememh("o.hex", ...)``: one line per beat of ``lanes + 1``
  64-bit words, word 0 the cycle, word ``1 + j`` lane ``j`` sign-extended from ``lane_bits``;
* ``cfg.hex`` holds, as 64-bit words, each input's beat count and pattern length, the stall
  pattern's length, ``max_cycles`` (``done`` rises in cycle ``max_cycles``) and ``snap_cycle``:
  the ``counters`` output holds the DUT's counters as they read during that cycle (docs/array.md:
  the events of cycles ``0 .. snap_cycle - 1``).

Ports, the only signals marked public for VPI (the design is built without ``--public-flat-rw``,
see :func:`axmac.sim.cosim.run_job`): ``clk`` (an output), ``rst`` (synchronous, also resets the replay),
``load`` (read every ``.hex`` file at the next rising edge), ``dump`` (write ``o.hex`` at the next
rising edge), ``done``, ``cycle``, ``beats`` (``o`` beats seen, including any beyond the capture
memory), ``<s>_sent`` (beats of each input that transferred) and, when the DUT has it,
``counters``. File names are relative to the simulator's working folder (the build folder, held
under its lock by :func:`axmac.sim.runner.run_cocotb`). Verilator runs ``$readmemh`` /
``$writememh`` in procedural code at run time, so one build serves any number of runs with any
stimulus.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from amaranth.hdl import Shape

from .stream import INPUTS, MAX_PATTERN, words_per

#: Verilog module name of the harness.
HARNESS = "axmac_harness"
#: Bump when the generated harness changes meaning (part of every build folder's key).
HARNESS_VERSION = 4
#: Bytes one stimulus or capture memory may take in the simulator.
MEMORY_BUDGET = 16 << 20
#: Most beats a memory of each stream holds (before the byte budget).
MAX_DEPTH = {"cmd": 1 << 16, "w": 1 << 18, "a": 1 << 20, "qp": 1 << 12, "o": 1 << 18}


@dataclass(frozen=True)
class StreamPort:
    """One input stream of the DUT: payload width and the depth of its replay memory."""

    name: str
    bits: int
    depth: int


@dataclass(frozen=True)
class HarnessSpec:
    """What the harness is built for (saved as ``harness.json`` beside the build).

    Parameters
    ----------
    dut : str
        Verilog module of the design under test (ports ``<s>__payload/__valid/__ready``).
    inputs : tuple of StreamPort
        Its input streams, in :data:`~axmac.sim.stream.INPUTS` order.
    lanes, lane_bits : int
        ``o`` payload: ``lanes`` signed integers of ``lane_bits`` bits, lane 0 at the LSBs.
    out_depth : int
        ``o`` beats the capture memory holds.
    counters_bits : int
        Width of the DUT's ``counters`` port (0: none).
    """

    dut: str
    inputs: tuple[StreamPort, ...]
    lanes: int
    lane_bits: int
    out_depth: int
    counters_bits: int = 0
    max_pattern: int = MAX_PATTERN
    version: int = field(default=HARNESS_VERSION)

    @property
    def cfg_names(self) -> list[str]:
        """The words of ``cfg.hex``, in order."""
        return [f"{s.name}_{k}" for s in self.inputs for k in ("count", "len")] + ["stall_len", "max_cycles",
                                                                                   "snap_cycle"]

    @property
    def capture_words(self) -> int:
        return self.lanes + 1

    def port(self, name: str) -> StreamPort:
        return next(s for s in self.inputs if s.name == name)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HarnessSpec:
        d = json.loads(text)
        d["inputs"] = tuple(StreamPort(**s) for s in d["inputs"])
        return cls(**d)


def _depth(name: str, bits: int) -> int:
    per = 8 * words_per(bits)
    d = 1 << max(8, (MEMORY_BUDGET // per).bit_length() - 1)
    return min(d, MAX_DEPTH[name])


def spec_for(component, *, dut: str, lanes: int, lane_bits: int) -> HarnessSpec:
    """The :class:`HarnessSpec` of an Amaranth component with streams ``cmd, w, a, qp -> o``
    (payload widths read from its signature; ``counters`` if it has that port)."""
    members = component.signature.members

    def width(name):
        return Shape.cast(members[name].signature.members["payload"].shape).width

    inputs = tuple(StreamPort(s, width(s), _depth(s, width(s))) for s in INPUTS)
    if width("o") != lanes * lane_bits:
        raise ValueError(f"o payload is {width('o')} bits, not {lanes} x {lane_bits}")
    counters = Shape.cast(members["counters"].shape).width if "counters" in members else 0
    return HarnessSpec(dut, inputs, lanes, lane_bits, _depth("o", 64 * (lanes + 1)), counters)


def _input_block(s: StreamPort, i: int, lmax_bits: int) -> str:
    n, w = s.name, s.bits
    ab = max(1, (s.depth - 1).bit_length())
    return f"""
    // ---- input stream {n}: {w} bits, {s.depth} beats
    reg [{w - 1}:0] {n}_mem [0:{s.depth - 1}];
    reg {n}_idle [0:{(1 << lmax_bits) - 1}];
    reg [31:0] {n}_idx;
    reg {n}_pend;
    reg [{lmax_bits - 1}:0] {n}_ph;
    wire {n}_more = {n}_idx < cfg[{2 * i}][31:0];
    wire {n}_valid = {n}_more && ({n}_pend || !{n}_idle[{n}_ph]);
    wire {n}_ready;
    wire [{w - 1}:0] {n}_payload = {n}_mem[{n}_idx[{ab - 1}:0]];
    assign {n}_sent = {n}_idx;
    always @(posedge clk) begin
        if (load) begin
            $readmemh("{n}.hex", {n}_mem);
            $readmemh("{n}_idle.hex", {n}_idle);
        end
        if (rst) begin
            {n}_idx <= 0;
            {n}_pend <= 1'b0;
            {n}_ph <= 0;
        end else begin
            if ({n}_valid && {n}_ready) begin
                {n}_idx <= {n}_idx + 1;
                {n}_pend <= 1'b0;
            end else if ({n}_valid) begin
                {n}_pend <= 1'b1;
            end
            {n}_ph <= ({{{32 - lmax_bits}'d0, {n}_ph}} + 32'd1 == cfg[{2 * i + 1}][31:0]) ? 0 : {n}_ph + 1'b1;
        end
    end
"""


def _counter_snapshot(bits: int, word: int) -> str:
    if not bits:
        return ""
    return f"""    // ---- counters as they read during cycle snap_cycle
    wire [{bits - 1}:0] dut_counters;
    reg [{bits - 1}:0] snap;
    assign counters = snap;
    always @(posedge clk) if (t == cfg[{word}]) snap <= dut_counters;
"""


def harness_verilog(spec: HarnessSpec) -> str:
    """Verilog text of the harness around ``spec.dut`` (see the module docstring)."""
    lmax_bits = (spec.max_pattern - 1).bit_length()
    n_in = len(spec.inputs)
    stall_len, max_cycles = 2 * n_in, 2 * n_in + 1
    C, A, cw = spec.lanes, spec.lane_bits, spec.capture_words
    ob = max(1, (spec.out_depth - 1).bit_length())
    lanes = ", ".join(
        (f"{{{{{64 - A}{{o_payload[{j * A + A - 1}]}}}}, o_payload[{j * A + A - 1}:{j * A}]}}" if A < 64
         else f"o_payload[{j * A + A - 1}:{j * A}]") for j in reversed(range(C)))
    ports = ["output reg clk", "input wire rst", "input wire load", "input wire dump", "output reg done",
             "output wire [63:0] cycle", "output reg [31:0] beats"]
    ports += [f"output wire [31:0] {s.name}_sent" for s in spec.inputs]
    if spec.counters_bits:
        ports.append(f"output wire [{spec.counters_bits - 1}:0] counters")
    ports = [f"{p} /*verilator public_flat_rw*/" for p in ports]  # the only signals cocotb touches
    conns = [".clk(clk)", ".rst(rst)"]
    for s in spec.inputs:
        conns += [f".{s.name}__payload({s.name}_payload)", f".{s.name}__valid({s.name}_valid)",
                  f".{s.name}__ready({s.name}_ready)"]
    conns += [".o__payload(o_payload)", ".o__valid(o_valid)", ".o__ready(o_ready)"]
    if spec.counters_bits:
        conns.append(".counters(dut_counters)")
    body = "".join(_input_block(s, i, lmax_bits) for i, s in enumerate(spec.inputs))
    sep = ",\n    "
    return f"""// Generated by axmac.sim.harness (version {spec.version}): stream replay and output capture
// around {spec.dut}. Do not edit.
/* verilator lint_off DECLFILENAME */
/* verilator lint_off UNUSEDSIGNAL */
module {HARNESS} (
    {sep.join(ports)}
);
    /*verilator public_module*/
    // The clock runs inside the simulator (Verilator --timing): no call into cocotb per cycle.
    initial clk = 1'b0;
    always #5 clk = ~clk;
    reg [63:0] cfg [0:{2 * n_in + 2}];
    reg [63:0] t;
    assign cycle = t;
    always @(posedge clk) begin
        if (load) $readmemh("cfg.hex", cfg);
        t <= rst ? 64'd0 : t + 64'd1;
        done <= !rst && (t + 64'd1 == cfg[{max_cycles}]);
    end
{body}
    // ---- output stream o: {C} lanes of {A} bits, captured with the cycle
    wire [{C * A - 1}:0] o_payload;
    wire o_valid;
    reg o_stall [0:{(1 << lmax_bits) - 1}];
    reg [{lmax_bits - 1}:0] o_ph;
    wire o_ready = !o_stall[o_ph];
    reg [{64 * cw - 1}:0] cap [0:{spec.out_depth - 1}];
    always @(posedge clk) begin
        if (load) $readmemh("o_stall.hex", o_stall);
        if (dump && beats != 0) $writememh("o.hex", cap, 0, (beats > {spec.out_depth} ? {spec.out_depth} : beats) - 1);
        if (rst) begin
            beats <= 0;
            o_ph <= 0;
        end else begin
            if (o_valid && o_ready) begin
                if (beats < {spec.out_depth}) cap[beats[{ob - 1}:0]] <= {{{lanes}, t}};
                beats <= beats + 1;
            end
            o_ph <= ({{{32 - lmax_bits}'d0, o_ph}} + 32'd1 == cfg[{stall_len}][31:0]) ? 0 : o_ph + 1'b1;
        end
    end

{_counter_snapshot(spec.counters_bits, 2 * n_in + 2)}
    {spec.dut} dut (
        {sep.join(conns)}
    );
endmodule
"""


def _write_if_changed(path, data: bytes) -> None:
    """Leave an identical file alone (its timestamp too: Verilator and make then rebuild nothing)."""
    if not (path.is_file() and path.read_bytes() == data):
        path.write_bytes(data)


def write_harness(component, spec: HarnessSpec, build_dir) -> list:
    """Write the DUT's Verilog (and any files it needs), ``harness.v`` and ``harness.json`` into
    ``build_dir``; return the source list (harness last). Call it under the folder's
    :func:`~axmac.sim.runner.build_lock`. Unchanged files are not rewritten."""
    import tempfile
    from pathlib import Path

    from ..verilog import write_design

    build_dir = Path(build_dir)
    src = build_dir / "src"
    src.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=build_dir) as tmp:
        paths = write_design(component, spec.dut, tmp)
        sources = []
        for p in paths:
            if Path(tmp) in p.parents:  # generated: move beside the build
                dest = src / p.name
                _write_if_changed(dest, p.read_bytes())
                sources.append(dest)
            else:  # a user's file (a verilog: multiplier): used where it lies
                sources.append(p)
    harness = src / "harness.v"
    _write_if_changed(harness, harness_verilog(spec).encode())
    _write_if_changed(build_dir / "harness.json", spec.to_json().encode())
    return [*sources, harness]
