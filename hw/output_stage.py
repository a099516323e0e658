"""Output stage: bias, fixed-point requantization, ReLU and clamp, or the accumulator (3 stages).

For column ``c`` of a row of results, with the parameters of the bank the row is tagged with
(docs/array.md "Output stage"; ``golden/requant.py`` is the reference), ``t = result + bias_c``
exactly (``A + 1`` bits), then

* ``requant = 1``: ``y = clamp(zp + ((t * mult_c + round) >> shift_c), lo', hi)`` with
  ``round = 2**(shift_c - 1)`` (0 if ``shift_c = 0``), ``>>`` arithmetic (floor), and
  ``lo' = max(lo, zp)`` if ``relu`` else ``lo``; ``clamp(x, lo', hi) = min(max(x, lo'), hi)``;
* ``requant = 0``: ``y = fit(t)``, wrapped or saturated to ``A`` bits (``ArrayConfig.overflow``).

With ``ArrayConfig.output_stage == "acc"`` there is no multiplier and every row takes the
``requant = 0`` path.

Pipeline (``P = 3``): stage 1, cycle ``T``: ``t`` (registered at edge ``T + 1``); stage 2: the
product plus rounding, or ``t`` itself (registered at ``T + 2``); stage 3, cycle ``T + 2``,
combinational: shift, zero point and clamp, or ``fit``. ``o_row``/``o_valid`` are meant to be
written into the output FIFO at edge ``T + 3``. Throughput one row per cycle.
"""

from __future__ import annotations

from amaranth.hdl import Const, Elaboratable, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..config import ArrayConfig
from .layouts import check_config, o_layout, qp_layout
from .overflow import fit


def clamp(x, lo, hi):
    """``min(max(x, lo), hi)`` (``hi`` wins when ``lo > hi``)."""
    low = Mux(x < lo, lo, x)
    return Mux(low > hi, hi, low)


class ColumnStage(Elaboratable):
    """One column of the output stage, a module of its own (synthesis maps each column on its own:
    ABC on one 66k-cell module of eight columns took longer than on eight modules of one).

    ``result`` and ``bias`` in cycle ``T``; ``mult``, ``shift1`` and ``requant1`` (the row's bank)
    in cycle ``T + 1``; ``shift2``, ``requant``, ``zp``, ``lo`` (ReLU applied) and ``hi`` in cycle
    ``T + 2``, when ``out`` is the column's output (the module docstring's three stages).
    """

    def __init__(self, cfg: ArrayConfig):
        self.cfg = cfg
        qp = qp_layout(cfg)
        col = qp.members["col"].elem_shape
        self.result = Signal(signed(cfg.acc_bits))
        self.bias = Signal(col.members["bias"])
        self.mult = Signal(col.members["mult"])
        self.shift1 = Signal(col.members["shift"])
        self.shift2 = Signal(col.members["shift"])
        self.requant1 = Signal()
        self.requant = Signal()
        self.zp = Signal(qp.members["zp"])
        self.lo = Signal(qp.members["lo"])
        self.hi = Signal(qp.members["hi"])
        self.out = Signal(o_layout(cfg).elem_shape)

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        A = cfg.acc_bits
        t1 = Signal(signed(A + 1))
        m.d.sync += t1.eq(self.result + self.bias)
        # stage 2: the requantization product plus rounding, or t itself
        if cfg.output_stage == "requant":
            rounding = (Const(1, 1) << self.shift1) >> 1  # 2**(shift-1), 0 for shift 0: 63 bits
            prod = t1 * self.mult + rounding
            v2 = Signal(prod.shape())
            m.d.sync += v2.eq(Mux(self.requant1, prod, t1))
        else:
            v2 = Signal(t1.shape())
            m.d.sync += v2.eq(t1)
        # stage 3 (combinational, into the FIFO): shift, zero point and clamp, or fit
        out = fit(v2, A, cfg.overflow)
        if cfg.output_stage == "requant":
            out = Mux(self.requant, clamp(self.zp + (v2 >> self.shift2), self.lo, self.hi), out)
        m.d.comb += self.out.eq(out)
        return m


class OutputStage(wiring.Component):
    """The output stage of the array (see the module docstring).

    Parameters
    ----------
    config : ArrayConfig
        ``cols``, ``acc_bits``, ``overflow`` and ``output_stage`` (``"requant"`` or ``"acc"``).

    Attributes
    ----------
    i_row, i_valid, i_tag : In
        A row of ``C`` results at the stage's input in cycle ``T`` and its bank tag.
    banks : In(array of 2 qp blocks)
        The parameter banks (stable while rows tagged with them are in flight).
    o_row, o_valid : Out
        The row's outputs in cycle ``T + 2`` (combinational), for the FIFO.
    o_tag : Out(1)
    """

    def __init__(self, *, config: ArrayConfig):
        check_config(config)
        self.config = config
        super().__init__({
            "i_row": In(o_layout(config)), "i_valid": In(1), "i_tag": In(1),
            "banks": In(data.ArrayLayout(qp_layout(config), 2)),
            "o_row": Out(o_layout(config)), "o_valid": Out(1), "o_tag": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        requant_hw = cfg.output_stage == "requant"
        valid = [self.i_valid, Signal(name="valid1"), Signal(name="valid2")]
        tag = [self.i_tag, Signal(name="tag1"), Signal(name="tag2")]
        m.d.sync += [valid[1].eq(valid[0]), valid[2].eq(valid[1]), tag[1].eq(tag[0]), tag[2].eq(tag[1])]
        bank = [Signal(qp_layout(cfg), name=f"bank{k}") for k in range(3)]  # the parameters of stage k's row
        m.d.comb += [bank[k].eq(Mux(tag[k], self.banks[1], self.banks[0])) for k in range(3)]
        requant = bank[2].requant if requant_hw else Const(0, 1)

        zp, lo, hi = bank[2].zp, bank[2].lo, bank[2].hi
        lo_eff = Mux(bank[2].relu & (zp > lo), zp, lo)
        for c in range(cfg.cols):
            m.submodules[f"column_{c}"] = col = ColumnStage(cfg)
            m.d.comb += [col.result.eq(self.i_row[c]), col.bias.eq(bank[0].col[c].bias),
                         col.zp.eq(zp), col.lo.eq(lo_eff), col.hi.eq(hi), col.requant.eq(requant),
                         self.o_row[c].eq(col.out)]
            if requant_hw:
                p1 = bank[1].col[c]
                m.d.comb += [col.mult.eq(p1.mult), col.shift1.eq(p1.shift), col.requant1.eq(bank[1].requant),
                             col.shift2.eq(bank[2].col[c].shift)]
        m.d.comb += [self.o_valid.eq(valid[2]), self.o_tag.eq(tag[2])]
        return m
