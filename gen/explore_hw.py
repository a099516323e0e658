"""The hardware side of a design point: area and switching-activity energy of its PE designs.

:class:`GateLevelHardware` is what ``axmac explore`` uses: a PE design (the array's
weight-stationary PE ``hw/pe_ws.py`` where :class:`~axmac.gen.pe_energy.PEDesign` offers it, else
``hw/pe.py``; one multiplier, bypass and gating: :func:`axmac.gen.explore_tasks.design_dict`) is
mapped to the OSU 0.18 um standard cells with Yosys (:func:`axmac.gen.pe_energy.pe_area`: area by
group, um^2) and its energy is measured by
gate-level simulation of that netlist on sampled segments of real layer data
(:func:`axmac.gen.pe_energy.measure_pe`: Verilator, zero delay, every output checked against the
golden PE; toggles weighted by the Liberty tables). The first measurement of a design builds its
simulator (tens of seconds); later ones reuse the build (seconds).

Any object with the same four methods can stand in for it (tests use an analytic stub): it must
be picklable and equal to its own copies (a frozen dataclass), because it travels with every job.

What the figures count, and what not (:meth:`GateLevelHardware.describe`): one PE per array slot
(multiplier, bypass units, clock gate, the PE's registers, adder and multiplexers; its clock pins
behind a buffered clock tree per PE, leakage); not the array's skew registers, accumulator
buffer, output stage, parameter banks, controller, output FIFO, memories, wires between PEs or
the top-level clock tree. A point whose layers use several multipliers is priced as a PE holding
all of them (the largest design's PE plus the other multipliers' area; the selection
multiplexer is not counted); each layer's energy is that of the PE with its own multiplier (the
idle multipliers are assumed isolated: their leakage is not counted).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .explore_cache import code_version, file_digest

#: modules the area and energy of a PE depend on
HARDWARE_CODE = ("hw", "golden/multipliers", "golden/pe.py", "golden/bypass.py", "axmac/verilog.py",
                 "gen/asic.py", "gen/activity.py", "gen/netlist.py", "gen/toggles.py", "gen/energy.py",
                 "gen/liberty.py", "gen/techlib.py", "gen/breakdown.py", "gen/pe_energy.py", "gen/pe_workload.py",
                 "gen/synth.py", "gen/explore_hw.py")

NOT_COUNTED = ("skew and de-skew registers", "accumulator buffer", "output stage and parameter banks",
               "controller and output FIFO", "memories and I/O", "wires between PEs",
               "the array-level clock tree", "the multiplexer selecting among several multipliers")


@functools.cache
def _lib_digest(path) -> str:
    return file_digest(path)[:16]


@dataclass(frozen=True)
class GateLevelHardware:
    """PE area from Yosys mapping and energy from gate-level switching activity (module docstring).

    Parameters
    ----------
    simulator : "verilator" | "icarus"
        Gate-level simulator of :class:`axmac.gen.activity.GateSim`.
    period_ns : float
        Clock period of the simulation (leakage energy per cycle scales with it).
    """

    simulator: str = "verilator"
    period_ns: float = 10.0

    def _tech(self):
        from .techlib import find_techlib

        return find_techlib()

    def version(self) -> str:
        tech = self._tech()
        return f"{self.simulator}:{self.period_ns}:{code_version(*HARDWARE_CODE)}:{_lib_digest(tech.liberty)}"

    def describe(self) -> dict:
        tech = self._tech()
        return {"method": "PE mapped to standard cells with Yosys (hierarchy kept), gate-level simulation "
                          f"({self.simulator}, zero delay) on sampled segments of real layer data, toggles weighted "
                          "by the Liberty tables", "library": tech.name, "liberty": str(tech.liberty),
                "period_ns": self.period_ns, "not_counted": list(NOT_COUNTED)}

    def area(self, design) -> dict[str, float]:
        """Area (um^2) of the mapped PE by group (``multiplier``, ``pe registers``, ``pe logic``...)."""
        from .pe_energy import pe_area

        _, groups = pe_area(design, self._tech())
        return {g: float(v) for g, v in sorted(groups.items())}

    def measure(self, design, segments) -> tuple[list[str], np.ndarray]:
        """``(groups, energy)``: ``energy[i, g]`` pJ of segment ``i`` in group ``g``."""
        from .energy import EnergyOptions
        from .pe_energy import measure_pe

        m = measure_pe(design, segments, tech=self._tech(), simulator=self.simulator,
                       options=EnergyOptions(period_ns=self.period_ns))
        return list(m.groups), np.asarray(m.energy, dtype=float)


__all__ = ["GateLevelHardware", "HARDWARE_CODE", "NOT_COUNTED"]
