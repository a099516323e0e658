"""The figures of the flow's report, each drawn from the report document alone (``report.json``).

:func:`figure_list` says which figures a document has (file, title, caption); :func:`figures`
draws them (matplotlib :class:`~matplotlib.figure.Figure`, no pyplot state). Artists carry ids
(:func:`axmac.gen.plots.artist_data` reads them back), so a test can compare what a figure shows
with the JSON: the trade-off plots use those of :mod:`axmac.gen.plots` plus ``"chosen"`` (the
chosen design) and ``"threshold"`` (the rule's accuracy threshold); the breakdown of trivial
computations ``"fraction:<case>"`` (bars per layer and in total) and ``"saving:this"``,
``"saving:paper"`` (Eq. 2 per case), ``"saving:measured"``; the area breakdown
``"area:<group>"`` (stacked bars, one per design); the whole array's area ``"array_area"`` (mm^2 by part).
"""

from __future__ import annotations

import numpy as np

from .report import CASES

#: (file, x key, y key, JSON front name, title)
TRADEOFFS = (("accuracy_energy.png", "energy_pj", "accuracy", "accuracy_energy", "accuracy vs energy per inference"),
             ("accuracy_area.png", "area_um2", "accuracy", "accuracy_area", "accuracy vs area"),
             ("area_energy.png", "energy_pj", "area_um2", "area_energy", "area vs energy per inference"))
SCALE = {"energy_pj": (1e-6, "energy per inference (uJ)"), "area_um2": (1e-6, "PE area x R x C (mm^2)"),
         "accuracy": (1.0, "top-1 accuracy")}
AREA_GROUPS = ("multiplier", "mul bypass", "add bypass", "gating", "pe logic", "pe registers")


def figure_list(doc: dict) -> list[dict]:
    """``[{"file", "title", "caption"}]`` of the figures ``doc`` has data for."""
    out = []
    fronts = doc["exploration"]["fronts_2d"]
    words = {"energy_pj": "energy", "area_um2": "area", "accuracy": "accuracy"}
    for name, x, y, front, title in TRADEOFFS:
        if front in fronts:
            out.append({"file": name, "title": title.capitalize(), "caption":
                        f"Every design evaluated (grey; energy with its sampling error), the Pareto front of "
                        f"{words[y]} against {words[x]} (red) and the chosen design (star)" +
                        (", the rule's accuracy threshold (dotted)." if y == "accuracy" else ".")})
    if doc["sensitivity"]:
        out.append({"file": "sensitivity.png", "title": "Per-layer sensitivity", "caption":
                    "Top-1 accuracy with one layer on each multiplier and the others exact (thesis Fig. 5.7); "
                    "grey bars: each layer's share of the MACs; dashed: all exact."})
    out.append({"file": "trivial_breakdown.png", "title": "Trivial computations", "caption":
                "Left: fraction of MACs in each of Ma & Jiao's cases per layer (accumulation chains of R "
                "products). Right: energy saving per case by their Eq. 2 (Fig. 7) with this PE's measured "
                "energies, and with their FP32 energies and MNIST statistics; the last group is Eq. 1 (sum) "
                "and the saving measured on the whole PE." if doc["bypass_breakdown"] else
                "Fraction of MACs in each of Ma & Jiao's cases per layer (accumulation chains of R products)."})
    out.append({"file": "area_breakdown.png", "title": "Area breakdown", "caption":
                "PE area by part (OSU 0.18 um cells, Yosys) of every design with one multiplier; the chosen one "
                "is starred."})
    if (doc.get("synthesis") or {}).get("osu018", {}).get("groups"):
        out.append({"file": "array_area.png", "title": "Area of the whole array", "caption":
                    "The chosen array synthesised to OSU 0.18 um cells: area by part (memories are flip-flops: "
                    "the library has no SRAM)."})
    return out


def _tradeoff(doc: dict, x: str, y: str, front_name: str, title: str):
    from .plots import tradeoff_figure

    ex = doc["exploration"]
    rows = [p for p in ex["points"] if p["energy_pj"] is not None]
    index = {p["id"]: i for i, p in enumerate(rows)}
    (sx, lx), (sy, ly) = SCALE[x], SCALE[y]
    xs = [sx * p[x] for p in rows]
    ys = [sy * p[y] for p in rows]
    xerr = [sx * (p["energy_stderr_pj"] or 0.0) for p in rows] if x == "energy_pj" else None
    fig = tradeoff_figure(xs, ys, [index[i] for i in ex["fronts_2d"][front_name]], xlabel=lx, ylabel=ly, xerr=xerr,
                          labels=[p["label"] for p in rows], maximize_y=y == "accuracy",
                          title=f"{doc['model']['name']}: {title}")
    ax = fig.axes[0]
    c = index[doc["choice"]["point"]]
    ax.scatter([xs[c]], [ys[c]], marker="*", s=160, color="gold", edgecolors="k", zorder=4, gid="chosen",
               label=f"chosen: {rows[c]['label']}")
    if y == "accuracy" and doc["choice"]["threshold"] is not None:
        ax.axhline(doc["choice"]["threshold"], color="tab:blue", linestyle=":", linewidth=0.9, gid="threshold",
                   label=f"exact - {doc['choice']['max_loss_pp']:g} pp")
    ax.legend(loc="best", fontsize=7)
    return fig


def _sensitivity(doc: dict):
    from .plots import sensitivity_figure

    names = [la["name"] for la in doc["model"]["layers"]]
    curves: dict[str, list] = {}
    for row in doc["sensitivity"]["rows"]:
        curves.setdefault(row["multiplier"], [None] * len(names))[names.index(row["layer"])] = row["accuracy"]
    return sensitivity_figure(names, [la["macs"] for la in doc["model"]["layers"]],
                              doc["sensitivity"]["reference_accuracy"], curves,
                              title=f"{doc['model']['name']}: one layer changed at a time")


def _trivial(doc: dict):
    from matplotlib.figure import Figure

    bd = doc["bypass_breakdown"]
    fig = Figure(figsize=(11.5 if bd else 6.4, 4.4), layout="constrained")
    axes = fig.subplots(1, 2 if bd else 1, squeeze=False)[0]
    layers = [*doc["trivial"]["layers"], {"name": "total", **doc["trivial"]["total"]}]
    pos = np.arange(len(layers))
    w = 0.2
    for j, (letter, key, op) in enumerate(CASES):
        axes[0].bar(pos + (j - 1.5) * w, [la["fractions"][key] for la in layers], w, label=f"({letter}) {key} {op}",
                    gid=f"fraction:{key}")
    axes[0].set_xticks(pos, [la["name"] for la in layers], rotation=30, ha="right", fontsize=7)
    axes[0].set_ylabel("fraction of MACs")
    axes[0].set_title("trivial computations by case (Table II)", fontsize=10)
    axes[0].legend(fontsize=7)
    axes[0].grid(True, axis="y", linewidth=0.3)
    if bd:
        ax = axes[1]
        cases = bd["cases"]
        pos = np.arange(len(cases) + 1)
        this = [100 * (c["saving"] or 0.0) for c in cases] + [100 * bd["eq1"]]
        paper = [100 * c["paper_saving"] for c in cases] + [100 * bd["paper_eq1"]]
        ax.bar(pos - 0.27, this, 0.27, label="this PE, Eq. 2 / Eq. 1", gid="saving:this")
        ax.bar(pos, paper, 0.27, label="Ma & Jiao MNIST, FP32 (their Tables II, V)", gid="saving:paper", color="0.6")
        ax.bar([pos[-1] + 0.27], [100 * bd["measured_saving"]], 0.27, label="measured: whole PE, all vs none",
               gid="saving:measured", color="tab:green")
        ax.set_xticks(pos, [f"({c['case']}) {c['name']}" for c in cases] + ["total"], fontsize=8)
        ax.set_ylabel("energy saving (%)")
        ax.set_title("energy saving by case (Ma & Jiao Fig. 7)", fontsize=10)
        ax.axhline(0, color="k", linewidth=0.6)
        ax.legend(fontsize=7)
        ax.grid(True, axis="y", linewidth=0.3)
    return fig


def _area(doc: dict):
    from matplotlib.figure import Figure

    from ..config import ArrayConfig
    from .flow import realizable

    cfg = ArrayConfig.from_dict(doc["config"]["array"])
    rows = sorted((p for p in doc["exploration"]["points"] if realizable(p, cfg)),
                  key=lambda p: (p["bypass"], p["area_um2"]))
    groups = [g for g in AREA_GROUPS if any(g in p["pe_area_um2"] for p in rows)]
    groups += sorted({g for p in rows for g in p["pe_area_um2"]} - set(groups))
    fig = Figure(figsize=(max(6.4, 0.55 * len(rows) + 2.5), 4.6), layout="constrained")
    ax = fig.add_subplot()
    pos = np.arange(len(rows))
    bottom = np.zeros(len(rows))
    for g in groups:
        v = np.array([p["pe_area_um2"].get(g, 0.0) for p in rows])
        ax.bar(pos, v, 0.7, bottom=bottom, label=g, gid=f"area:{g}")
        bottom += v
    chosen = doc["choice"]["point"]
    ax.set_xticks(pos, [("* " if p["id"] == chosen else "") + p["label"] for p in rows], rotation=35, ha="right",
                  fontsize=7)
    ax.set_ylabel("PE area (um^2)")
    ax.set_title(f"{doc['model']['name']}: PE area by part ({doc['exploration']['area'].get('library', '')})",
                 fontsize=10)
    ax.legend(fontsize=7, ncols=2)
    ax.grid(True, axis="y", linewidth=0.3)
    return fig


def _array_area(doc: dict):
    from .plots import figure

    groups = doc["synthesis"]["osu018"]["groups"]
    names = list(groups)
    fig, ax = figure(max(6.4, 0.6 * len(names) + 2.5), 4.4)
    ax.bar(np.arange(len(names)), [1e-6 * groups[g] for g in names], 0.7, gid="array_area", color="tab:blue")
    ax.set_xticks(np.arange(len(names)), names, rotation=35, ha="right", fontsize=7)
    ax.set_ylabel("area (mm^2)")
    ax.set_title(f"{doc['model']['name']}: {doc['design']['label']} array, OSU 0.18 um", fontsize=10)
    ax.grid(True, axis="y", linewidth=0.3)
    return fig


def figures(doc: dict) -> dict:
    """``{file name: Figure}`` of :func:`figure_list`, drawn from ``doc``."""
    out = {}
    for spec in figure_list(doc):
        name = spec["file"]
        trade = next((t for t in TRADEOFFS if t[0] == name), None)
        if trade is not None:
            out[name] = _tradeoff(doc, trade[1], trade[2], trade[3], trade[4])
        elif name == "sensitivity.png":
            out[name] = _sensitivity(doc)
        elif name == "trivial_breakdown.png":
            out[name] = _trivial(doc)
        elif name == "array_area.png":
            out[name] = _array_area(doc)
        else:
            out[name] = _area(doc)
    return out


__all__ = ["AREA_GROUPS", "TRADEOFFS", "figure_list", "figures"]
