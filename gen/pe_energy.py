"""Area and switching-activity energy of one processing element in a standard-cell library.

The PE is the stand-alone ``hw/pe.py`` (:attr:`PEDesign.kind` ``"pe"``, the bypass study's) or the
systolic array's weight-stationary PE ``hw/pe_ws.py`` (``"ws"``: a shadow weight register and a
commit flag besides, :mod:`axmac.gen.array_energy`).

:func:`pe_area` maps a PE (:mod:`axmac.gen.asic`) and breaks its area down by module
(:func:`axmac.gen.breakdown.module_group`). :func:`measure_pe` simulates the mapped netlist on
PE segments (:mod:`axmac.gen.pe_workload`: real layer data or crafted), checks every output
against the golden PE (:func:`axmac.golden.pe.pe_stream`: the netlist must compute what the
golden model says, slot for slot), and weights the toggles of every segment's window with the
library (:class:`axmac.gen.energy.EnergyModel`). The result holds per-segment energies by group,
so the caller can average them per slot, scale them to an inference
(:func:`axmac.gen.pe_workload.estimate`) or compare designs on the same segments
(:func:`savings`, :mod:`axmac.gen.bypass_study`).

A cmd module (``axmac energy``) only parses options into a :class:`PEDesign` (or an
``ArrayConfig``), calls these and prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..config import ArrayConfig
from ..errors import AxmacError
from ..golden.bypass import Bypass
from ..golden.multipliers import make_multiplier
from ..golden.pe import pe_stream, wrap
from .activity import GateSim
from .asic import Mapped, map_component
from .breakdown import module_group
from .energy import EnergyModel, EnergyOptions
from .netlist import read_netlist
from .pe_workload import PE_KINDS, Segment, stimulus, weights_in_effect
from .techlib import TechLib, find_techlib

RESET_CYCLES = 3


@dataclass(frozen=True)
class PEDesign:
    """The parameters of one PE (those of ``ArrayConfig`` that shape a PE)."""

    multiplier: str = "exact"
    bits: int = 8
    signed: bool = True
    acc_bits: int = 32
    bypass: str = "none"
    gating: str = "none"
    #: ``"pe"``: hw/pe.py; ``"ws"``: the array's hw/pe_ws.py (module docstring)
    kind: str = "pe"
    #: the array PE's accumulation (``"wrap"`` or ``"saturate"``); hw/pe.py always wraps
    overflow: str = "wrap"

    def __post_init__(self):
        if self.kind not in PE_KINDS:
            raise AxmacError(f"unknown PE kind {self.kind!r} (known: {', '.join(PE_KINDS)})")
        if self.kind == "pe" and self.overflow != "wrap":
            raise AxmacError("the stand-alone PE (hw/pe.py) only wraps: overflow='saturate' needs kind='ws'")

    @classmethod
    def from_config(cls, cfg: ArrayConfig, kind: str = "pe") -> PEDesign:
        return cls(cfg.multiplier, cfg.bits, cfg.signed, cfg.acc_bits, cfg.bypass, cfg.gating, kind,
                   cfg.overflow if kind == "ws" else "wrap")

    def with_(self, **changes) -> PEDesign:
        return replace(self, **changes)

    @property
    def model(self):
        return make_multiplier(self.multiplier, self.bits, self.signed)

    @property
    def bypass_cases(self) -> Bypass:
        return Bypass.parse(self.bypass)

    def component(self):
        if self.kind == "ws":
            from ..hw.pe_ws import WeightStationaryPE

            return WeightStationaryPE(multiplier=self.model, acc_bits=self.acc_bits, bypass=self.bypass_cases,
                                      gating=self.gating, overflow=self.overflow)
        from ..hw.pe import PE

        return PE(multiplier=self.model, acc_bits=self.acc_bits, bypass=self.bypass_cases, gating=self.gating)

    def __str__(self) -> str:
        kind = " (array PE)" if self.kind == "ws" else ""
        return (f"{self.multiplier} {'s' if self.signed else 'u'}{self.bits} bypass={self.bypass} "
                f"gating={self.gating}{kind}")


def pe_area(design: PEDesign, tech: TechLib | None = None) -> tuple[Mapped, dict[str, float]]:
    """The mapped PE and its area (um^2) by group (``multiplier``, ``bypass``, ``gating``, ``pe registers``,
    ``pe logic``)."""
    tech = tech or find_techlib()
    mapped = map_component(design.component(), "pe", tech)
    net = read_netlist(mapped.flat_json, "pe")
    return mapped, net.area_by(tech.library(), module_group)


@dataclass
class PEMeasurement:
    """Energy of one PE design on a list of segments."""

    design: PEDesign
    area: dict[str, float]
    groups: list[str]
    #: energy[i, g]: pJ of segment i in group g
    energy: np.ndarray
    cycles: np.ndarray
    slots: np.ndarray
    #: fraction of cycles in which the gated clock ticked (``icg`` only, else None)
    gclk_duty: float | None = None
    info: dict = field(default_factory=dict)

    @property
    def total(self) -> np.ndarray:
        """pJ per segment."""
        return self.energy.sum(axis=1)

    def per_slot(self) -> float:
        """Mean pJ per valid slot over all segments (idle cycles included in the energy)."""
        return float(self.total.sum() / self.slots.sum())

    def per_cycle(self) -> float:
        return float(self.total.sum() / self.cycles.sum())

    def groups_per_slot(self) -> dict[str, float]:
        return {g: float(v) for g, v in zip(self.groups, self.energy.sum(axis=0) / self.slots.sum(), strict=True)}


def _check_outputs(design: PEDesign, stim: dict, outputs: dict) -> None:
    """The simulated ``psum_out`` and codes must equal the golden PE's, slot for slot."""
    t = slice(RESET_CYCLES, None)
    weight = weights_in_effect(stim)[t]
    valid = stim["valid_in"][t].astype(bool)
    gold, mc, ac = pe_stream(design.model, design.bypass_cases, weight, stim["a_in"][t], stim["psum_in"][t],
                             acc_bits=design.acc_bits, valid_seq=valid)
    got = wrap(np.array(outputs["psum_out"][t], dtype=np.uint64).astype(np.int64), design.acc_bits)
    codes_bad = (np.array(outputs["mul_ctrl"][t]) != mc) | (np.array(outputs["add_ctrl"][t]) != ac)
    bad = np.flatnonzero((got != gold) | codes_bad)
    if bad.size:
        i = int(bad[0])
        raise AxmacError(f"gate-level PE ({design}) differs from the golden PE at slot {i}: psum_out {got[i]} "
                         f"(golden {gold[i]}), {bad.size} slots differ")


def measure_pe(design: PEDesign, segments: list[Segment], *, tech: TechLib | None = None, simulator: str = "verilator",
               delays: bool = False, options: EnergyOptions | None = None, check: bool = True) -> PEMeasurement:
    """Energy of ``design`` on ``segments`` (see the module docstring)."""
    if not segments:
        raise AxmacError("no segments to simulate")
    tech = tech or find_techlib()
    options = options or EnergyOptions()
    mapped, area = pe_area(design, tech)
    sim = GateSim(mapped, simulator=simulator, delays=delays, period_ns=options.period_ns)
    stim, windows = stimulus(segments, reset=RESET_CYCLES, kind=design.kind)
    act = sim.run(stim, windows)
    if check:
        _check_outputs(design, stim, act.outputs)
    model = EnergyModel(sim.net, tech.library(), module_group, options)
    energy = model.energy(act.toggles, act.cycles)
    duty = None
    if design.gating == "icg":
        gclk = next((i for i, names in enumerate(sim.net.names) if "icg.gclk" in names), None)
        clk = sim.net.ports["clk"][1][0]
        if gclk is not None:
            duty = float(act.toggles[:, gclk].sum() / max(1, act.toggles[:, clk].sum()))
    return PEMeasurement(design, area, model.groups, energy, act.cycles.astype(np.int64),
                         np.array([len(s.a) for s in segments]), duty,
                         {"untraced": len(act.untraced), "clock_trees": {sim.net.names[n][0]: t.levels
                                                                          for n, t in model.trees.items()}})


def savings(base: PEMeasurement, other: PEMeasurement) -> dict[str, float]:
    """Area cost and energy saving of ``other`` against ``base`` (same segments): um^2, %, pJ/slot, %."""
    a0, a1 = sum(base.area.values()), sum(other.area.values())
    e0, e1 = base.per_slot(), other.per_slot()
    return {"area_cost_um2": a1 - a0, "area_cost_pct": 100.0 * (a1 - a0) / a0,
            "energy_cost_pj_per_slot": e1 - e0, "saving_pct": 100.0 * (e0 - e1) / e0}


__all__ = ["PEDesign", "PEMeasurement", "measure_pe", "pe_area", "savings"]
