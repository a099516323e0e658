"""Which bypass cases and gating modes pay off in an integer PE: area cost and energy saving of each.

:func:`bypass_study` measures a set of PE designs (:data:`STUDY_DESIGNS`: the plain PE, each
bypass case alone, all of them, and the MUL case ``zero`` under each gating mode) on the same
sampled segments of a network's real layer data (:mod:`axmac.gen.pe_workload`), with
:func:`axmac.gen.pe_energy.measure_pe`. For every design it reports the area (um^2, by module),
the energy per valid slot and per useful MAC of one inference (with the sampling error), and
against the plain PE: the area cost and the energy saving. Beside the measurement it gives the
analytic estimates of :mod:`axmac.gen.power_models` for the all-cases design: Ma & Jiao's Eq. 1
(with this PE's own per-operation energies, and with their FP32 Table V) and the thesis's
Eq. 4.1, from the golden trivial-computation statistics of the same images
(:class:`axmac.golden.stats.TrivialStats`, accumulation chains of ``R`` products as in a
weight-stationary column).
"""

from __future__ import annotations

from ..config import ArrayConfig
from ..golden.bypass import Bypass
from ..golden.stats import TrivialStats
from .pe_energy import PEDesign, measure_pe, savings
from .pe_workload import estimate, lenet_operands, sample_segments, strata
from .power_models import analytic_savings

#: (bypass, gating) of the designs compared; the first is the baseline.
STUDY_DESIGNS = (
    ("none", "none"),
    ("zero", "none"), ("zero", "enable"), ("zero", "icg"),
    ("one", "icg"), ("add-zero", "none"), ("opposite", "none"),
    ("all", "none"), ("all", "enable"), ("all", "icg"),
)


def golden_stats(operands, cfg: ArrayConfig, mult) -> TrivialStats:
    """Trivial-computation counts of the layers' GEMMs, chains of ``cfg.rows`` products."""
    from ..golden.gemm import mac_gemm

    st = TrivialStats()
    for op in operands:
        for g in range(op.x.shape[0]):
            mac_gemm(op.x[g], op.w[g], mult=mult, stats=st, k_tile=cfg.rows)
    return st


def conv_share(operands, strata_) -> float:
    """The share of the MACs of one inference done in convolutions (Eq. 4.1's 0.9, measured)."""
    conv = sum(s.macs for s, op in zip(strata_, operands, strict=True) if op.kind == "conv")
    return conv / max(1, sum(s.macs for s in strata_))


def analytic(stats: TrivialStats, bypass: Bypass, base: dict, design: dict, share: float) -> dict:
    """Ma & Jiao's Eq. 1 and the thesis's Eq. 4.1 for ``bypass`` (:func:`analytic_savings`), with this PE's
    per-operation energies: ``base`` and ``design`` are pJ per slot by group of the PE without bypass
    (its multiplier and its other logic, the adder's group) and of the PE with it (its bypass units)."""
    e = {"mul": base.get("multiplier", 0.0), "add": base.get("pe logic", 0.0),
         "bypass_mul": design.get("mul bypass", 0.0), "bypass_add": design.get("add bypass", 0.0)}
    return {"energies_pj": e, **analytic_savings(stats, bypass, e_mul=e["mul"], e_add=e["add"],
                                                 e_bypass_mul=e["bypass_mul"], e_bypass_add=e["bypass_add"],
                                                 conv_share=share)}


def _row(m, est, base) -> dict:
    d = m.design
    row = {"bypass": d.bypass, "gating": d.gating, "area_um2": sum(m.area.values()), "area": m.area,
           "pj_per_slot": m.per_slot(), "pj_per_slot_by_group": m.groups_per_slot(),
           "inference_uj": est.energy * 1e-6, "stderr_uj": est.stderr * 1e-6, "pj_per_mac": est.per_mac,
           "gclk_duty": m.gclk_duty}
    if base is not None:
        row.update(savings(base, m))
    return row


def bypass_study(cfg: ArrayConfig | None = None, *, images: int = 1, per_layer: int = 8, seed: int = 0,
                 designs=STUDY_DESIGNS, operands=None, **measure) -> dict:
    """Measure ``designs`` (``(bypass, gating)`` pairs) on LeNet-5/MNIST data (or ``operands``).

    ``cfg`` gives the operand format, accumulator width, multiplier and the array geometry (``R``,
    ``C``, ``D``) the segments are cut for; ``measure`` goes to :func:`measure_pe` (``tech``,
    ``simulator``, ``options``). Returns a JSON-ready dict: ``config``, ``images``,
    ``per_layer``, ``stats`` (fractions), ``designs`` (one row each, savings against the first)
    and ``analytic``.
    """
    cfg = cfg or ArrayConfig()
    base_design = PEDesign.from_config(cfg).with_(bypass="none", gating="none")
    operands = operands if operands is not None else lenet_operands(images, cfg=cfg)
    mult = base_design.model
    strata_ = strata(operands, cfg)
    rows, meas = [], []
    for bp, gating in designs:
        design = base_design.with_(bypass=bp, gating=gating)
        segs = sample_segments(operands, cfg, per_layer, mult=mult, bypass=Bypass.parse(bp), seed=seed)
        m = measure_pe(design, segs, **measure)
        meas.append(m)
        rows.append(_row(m, estimate(segs, m.total, strata_), meas[0] if rows else None))
    stats = golden_stats(operands, cfg, mult)
    out = {"config": cfg.to_dict(), "images": images, "per_layer": per_layer, "segments": len(segs),
           "stats": stats.fractions(), "designs": rows}
    every = Bypass.parse("all")
    full = next((m for m in meas if m.design.bypass_cases == every), None)
    if full is not None and meas[0].design.bypass == "none":
        out["analytic"] = {
            **analytic(stats, every, meas[0].groups_per_slot(), full.groups_per_slot(),
                       conv_share(operands, strata_)),
            "measured": {f"{m.design.bypass}/{m.design.gating}": savings(meas[0], m)["saving_pct"] / 100
                         for m in meas if m.design.bypass_cases == every},
        }
    return out


__all__ = ["STUDY_DESIGNS", "analytic", "bypass_study", "conv_share", "golden_stats"]
