"""The accelerator: controller, skew, mesh, accumulator buffer or drain, output stage and FIFO.

``Accelerator(config=cfg)`` is docs/array.md's top: streams ``cmd``, ``w``, ``a``, ``qp`` (in)
and ``o`` (out) with the payload layouts of :mod:`axmac.hw.layouts` (Verilog ports
``<stream>__payload/__valid/__ready``), plus ``counters`` with ``cfg.counters == "pe"``::

    cmd, a, w ─► Controller ─► Skew (a lanes: row r after r) ──► Mesh ─► ws: AccumulatorColumn x C
                     │          Skew (w lanes: column c after c) ─┘      os: drain chains
                     └─► control delay line (ws) / row sequencer (os) ─┐          │
    qp ─► ParamBanks ─────────────────────────────────────► OutputStage ◄── de-skew
                                                               └─► OutputFifo (F rows) ─► o

Latency (docs/array.md, ``P = 3``): ws: the row of results of the ``a`` beat accepted in cycle
``n`` can leave on ``o`` from cycle ``n + R + C + P``; os: row ``i`` of a tile whose last beat
was accepted in cycle ``n`` from cycle ``n + 2R + C - i + P``. Throughput: one ``a`` beat per
cycle, one ``o`` row per cycle; stalls only by the controller's rules (weights behind the commit
wave, credits, parameter banks, os hold/drain spacing).

``extra_sources`` / ``extra_verilog`` list what the generated Verilog needs besides itself
(imported ``verilog:`` multipliers, the ICG cell): ``axmac.verilog.write_design(top, name, dir)``
writes them all.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import ArrayConfig
from .acc_buffer import AccumulatorColumn
from .controller import Controller
from .counters import counters_port
from .layouts import (
    M_BITS,
    a_layout,
    act_lane_layout,
    check_config,
    cmd_layout,
    index_shape,
    o_layout,
    qp_layout,
    w_layout,
    weight_lane_layout,
)
from .mesh import Mesh
from .out_fifo import OutputFifo
from .output_stage import OutputStage
from .param_banks import ParamBanks
from .skew import Skew, delay_taps


class Accelerator(wiring.Component):
    """The systolic-array accelerator of docs/array.md.

    Parameters
    ----------
    config : ArrayConfig
        Everything: sizes, operands, multiplier, bypass, gating, dataflow, depths, counters,
        output stage.

    Attributes
    ----------
    cmd, w, a, qp : In(stream.Signature(...))
    o : Out(stream.Signature(array of C x signed(A)))
    counters : Out(R*C*7*32), only with ``config.counters == "pe"``
    extra_sources, extra_verilog : see the module docstring.
    """

    def __init__(self, *, config: ArrayConfig):
        check_config(config)
        self.config = cfg = config
        self.mesh = Mesh(config=cfg)
        self.extra_sources = list(self.mesh.extra_sources)
        self.extra_verilog = dict(self.mesh.extra_verilog)
        ports = {
            "cmd": In(stream.Signature(cmd_layout())),
            "w": In(stream.Signature(w_layout(cfg))),
            "a": In(stream.Signature(a_layout(cfg))),
            "qp": In(stream.Signature(qp_layout(cfg))),
            "o": Out(stream.Signature(o_layout(cfg))),
        }
        super().__init__(ports | counters_port(cfg))

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        R, C = cfg.rows, cfg.cols
        m.submodules.mesh = mesh = self.mesh
        m.submodules.ctl = ctl = Controller(config=cfg)
        m.submodules.banks = banks = ParamBanks(config=cfg)
        m.submodules.stage = stage = OutputStage(config=cfg)
        m.submodules.fifo = fifo = OutputFifo(width=C * cfg.acc_bits, depth=cfg.fifo_depth)

        # -- handshakes -------------------------------------------------------------------------
        wiring.connect(m, wiring.flipped(self.qp), banks.qp)
        o_fire = self.o.valid & self.o.ready
        m.d.comb += [ctl.cmd_valid.eq(self.cmd.valid), ctl.cmd.eq(self.cmd.payload), ctl.a_valid.eq(self.a.valid),
                     ctl.w_valid.eq(self.w.valid), self.cmd.ready.eq(ctl.cmd_ready), self.a.ready.eq(ctl.a_ready),
                     self.w.ready.eq(ctl.w_ready), ctl.o_fire.eq(o_fire), ctl.can_commit.eq(banks.can_commit),
                     banks.commit.eq(ctl.commit), banks.take.eq(ctl.results)]

        # -- activations into the rows, skewed ----------------------------------------------------
        m.submodules.a_skew = a_skew = Skew(lanes=R, shape=act_lane_layout(cfg))
        for r in range(R):
            lane = a_skew.i[r]
            m.d.comb += [lane.value.eq(self.a.payload[r]), lane.valid.eq(ctl.take), lane.first.eq(ctl.start),
                         lane.end.eq(ctl.end)]
        m.d.comb += mesh.rows_in.eq(a_skew.o)

        if cfg.dataflow == "ws":
            row, row_valid, row_tag = self._ws(m, ctl, banks, mesh)
        else:
            row, row_valid, row_tag = self._os(m, ctl, banks, mesh)

        # -- output stage, FIFO ---------------------------------------------------------------------
        m.d.comb += [stage.i_row.eq(row), stage.i_valid.eq(row_valid), stage.i_tag.eq(row_tag),
                     stage.banks.eq(banks.banks)]
        m.d.comb += [fifo.w_data.eq(stage.o_row), fifo.w_en.eq(stage.o_valid),
                     banks.enter.eq(stage.o_valid), banks.enter_tag.eq(stage.o_tag)]
        m.d.comb += [self.o.valid.eq(fifo.r.valid), self.o.payload.eq(fifo.r.payload), fifo.r.ready.eq(self.o.ready)]
        if cfg.counters == "pe":
            m.d.comb += self.counters.eq(mesh.counters)
        return m

    def _ws(self, m, ctl, banks, mesh):
        """Weight lanes, the control delay line, accumulator columns and de-skew; returns the output row."""
        cfg = self.config
        R, C = cfg.rows, cfg.cols
        m.submodules.w_skew = w_skew = Skew(lanes=C, shape=weight_lane_layout(cfg))
        for c in range(C):
            lane = w_skew.i[c]
            m.d.comb += [lane.value.eq(self.w.payload[c]), lane.valid.eq(ctl.w_take), lane.row.eq(ctl.w_row)]
        m.d.comb += mesh.wl.eq(w_skew.o)

        beat_layout = {"valid": 1, "first": 1, "last": 1, "tag": 1, "index": index_shape(cfg.acc_depth)}
        beat = Signal(data.StructLayout(beat_layout), name="beat")
        m.d.comb += [beat.valid.eq(ctl.take), beat.first.eq(ctl.first), beat.last.eq(ctl.last),
                     beat.tag.eq(banks.tag), beat.index.eq(ctl.index)]
        taps = delay_taps(m, beat, R + C, "beat")  # the beat's sums reach column c's bottom R + c cycles later
        m.submodules.deskew = deskew = Skew(lanes=C, shape=signed(cfg.acc_bits), reverse=True)
        for c in range(C):
            m.submodules[f"acc_{c}"] = col = AccumulatorColumn(acc_bits=cfg.acc_bits, depth=cfg.acc_depth,
                                                               overflow=cfg.overflow)
            now, ahead = taps[R + c], taps[R + c - 1]
            m.d.comb += [col.next_index.eq(ahead.index), col.s.eq(mesh.psum[c]), col.valid.eq(now.valid),
                         col.first.eq(now.first), col.last.eq(now.last), col.index.eq(now.index),
                         deskew.i[c].eq(col.result)]
        out = taps[R + C]
        return deskew.o, out.valid & out.last, out.tag

    def _os(self, m, ctl, banks, mesh):
        """Weight lanes, de-skew of the drain chains and the row sequencer; returns the output row."""
        cfg = self.config
        R, C = cfg.rows, cfg.cols
        m.submodules.w_skew = w_skew = Skew(lanes=C, shape=w_layout(cfg).elem_shape)
        m.d.comb += [w_skew.i.eq(self.w.payload), mesh.w.eq(w_skew.o)]
        m.submodules.deskew = deskew = Skew(lanes=C, shape=signed(cfg.acc_bits), reverse=True)
        m.d.comb += deskew.i.eq(mesh.drain)

        # a tile's rows reach the output stage R + C + 1 .. 2R + C cycles after its last beat, bottom row first
        token = Signal(data.StructLayout({"valid": 1, "m": M_BITS, "tag": 1}), name="token")
        m.d.comb += [token.valid.eq(ctl.take & ctl.end), token.m.eq(ctl.m), token.tag.eq(banks.tag)]
        arrived = delay_taps(m, token, R + C + 1, "token")[-1]
        left = Signal(index_shape(R), name="rows_left")  # rows of the tile still to come after this cycle's
        seq_m = Signal(M_BITS, name="seq_m")
        seq_tag = Signal(name="seq_tag")
        row = Signal(index_shape(R), name="out_row")
        row_valid = Signal(name="out_row_valid")
        row_tag = Signal(name="out_row_tag")
        with m.If(arrived.valid):
            m.d.comb += [row.eq(R - 1), row_valid.eq(R - 1 < arrived.m), row_tag.eq(arrived.tag)]
            m.d.sync += [left.eq(R - 1), seq_m.eq(arrived.m), seq_tag.eq(arrived.tag)]
        with m.Elif(left != 0):
            m.d.comb += [row.eq(left - 1), row_valid.eq(left - 1 < seq_m), row_tag.eq(seq_tag)]
            m.d.sync += left.eq(left - 1)
        return deskew.o, row_valid, row_tag
