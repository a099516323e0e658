"""The result of ``axmac explore`` as a JSON document, its figures, and the precision-scaling comparison.

JSON format ``axmac-explore/1``
-------------------------------
* ``format``; ``model``, ``model_sha256``; ``dataset`` (``null``: no labels, no accuracy),
  ``samples`` (test images scored), ``inputs`` (the unlabelled energy inputs when no dataset);
* ``array``: the :class:`~axmac.config.ArrayConfig` fields; ``space``: ``layers`` (names, in
  order), ``macs`` (per inference, per layer), ``multipliers``, ``bypass``, ``gating``,
  ``widths``, ``full_width``;
* ``objectives``: ``{"accuracy": "max", "area_um2": "min", "energy_pj": "min"}`` (no accuracy
  without a dataset);
* ``area`` / ``energy``: how they were obtained (``method``, ``library``, ``not_counted``...),
  ``energy.images`` and ``energy.segments_per_layer`` (the sample), ``energy.seed``;
* ``points``: one object per evaluated point, sorted by ``key``: ``id`` (``p0``, ``p1``, ...),
  ``key`` (canonical), ``label``, ``multipliers`` / ``bits`` (per layer), ``bypass``, ``gating``,
  ``strategies`` (which visited it), ``accuracy``, ``area_um2``, ``energy_pj``,
  ``energy_stderr_pj`` (sampling error), ``macs``, ``pj_per_mac``, ``saving_pct`` (energy
  saved against the baseline), ``area_change_pct``, ``pe_area_um2`` (by group), ``layers`` (per
  layer: ``name``, ``multiplier``, ``bits``, ``energy_pj``, ``stderr_pj``, ``idle_pj``, ``macs``,
  ``pj_per_mac``, ``slots``, ``pj_per_slot_by_group``). Hardware fields are ``null`` for a point
  only scored for accuracy (a per-layer search candidate below the target);
* ``baseline``: the id of the array as configured; ``front``: ids of the Pareto front over the
  objectives, best energy first (:func:`axmac.gen.pareto.pareto_front`); ``fronts_2d``: the
  fronts of the pairs the figures show (``accuracy_energy``, ``accuracy_area``, ``area_energy``);
* ``strategies``: per strategy its summary (``uniform.points``, ``sensitivity.rows``,
  ``greedy.path`` / ``forward.path`` as point keys, ``target_accuracy``...);
* ``precision_scaling``: :func:`precision_scaling`;
* ``run``: executor, workers, jobs run, cache hits and misses, seconds (these differ from run to
  run; everything above does not).
"""

from __future__ import annotations

from .pareto import pareto_front

FORMAT = "axmac-explore/1"
#: Moons et al. Table 1: switching activity of a multiplier O(n^2), of adders/registers O(n)
QUADRATIC, LINEAR = ("multiplier",), ("pe logic", "pe registers")


def point_rows(pool, space, baseline_key: str) -> list[dict]:
    """The ``points`` of the document (module docstring)."""
    base = pool.results.get(baseline_key)
    rows = []
    for i, k in enumerate(sorted(pool.results)):
        r = pool.results[k]
        p = r.point
        row = {"id": f"p{i}", "key": k, "label": p.label(space.names, space.full_width), **p.to_dict(space.names),
               "strategies": pool.tags[k], "accuracy": r.accuracy, "area_um2": r.area_um2, "energy_pj": r.energy_pj,
               "energy_stderr_pj": r.energy_stderr_pj, "macs": r.macs, "pj_per_mac": r.pj_per_mac,
               "saving_pct": None, "area_change_pct": None, "pe_area_um2": r.pe_area or None,
               "layers": r.layers or None}
        if base is not None and base.energy_pj and r.energy_pj is not None:
            row["saving_pct"] = 100.0 * (base.energy_pj - r.energy_pj) / base.energy_pj
            row["area_change_pct"] = 100.0 * (r.area_um2 - base.area_um2) / base.area_um2
        rows.append(row)
    return rows


PAIRS = {"accuracy_energy": ("energy_pj", "accuracy"), "accuracy_area": ("area_um2", "accuracy"),
         "area_energy": ("energy_pj", "area_um2")}


def fronts(rows: list[dict], with_accuracy: bool) -> tuple[list[str], dict[str, list[str]]]:
    """The front over all objectives and the 2-D fronts of :data:`PAIRS` (ids, in front order)."""
    sense = {"accuracy": "max", "energy_pj": "min", "area_um2": "min"}
    keys = [r["key"] for r in rows]

    def front(cols):
        idx = pareto_front([[r[c] for c in cols] for r in rows], [sense[c] for c in cols], keys)
        return [rows[i]["id"] for i in idx]

    two = {name: front([x, y]) for name, (x, y) in PAIRS.items() if with_accuracy or "accuracy" not in (x, y)}
    # the main front lists best energy first
    main = front(["energy_pj", "area_um2"] + (["accuracy"] if with_accuracy else []))
    return main, two


def _group_energy(row: dict) -> dict[str, float]:
    """pJ per inference by group, from the per-slot group energies of each layer."""
    out: dict[str, float] = {}
    for la in row["layers"]:
        for g, v in la["pj_per_slot_by_group"].items():
            out[g] = out.get(g, 0.0) + v * la["slots"]
    return out


def precision_scaling(rows: list[dict], space) -> dict | None:
    """Measured energy of narrower operands on the full-width exact PE against Moons et al.'s model.

    For each width ``w`` of the uniform sweep (exact multiplier, the first bypass set and gating
    mode), the measured energy per inference by group, and Moons et al.'s first-order model
    scaled from the full-width measurement ``F``: the multiplier's energy times ``(w/F)^2``, the
    adder, multiplexers and registers (``pe logic``, ``pe registers``) times ``w/F``, the rest
    (clock tree, inputs, bypass, gating: not in their model) unchanged. Beside it, where the sweep
    has ``trunc:F-w`` (the same precision with the bits at the MSB end, the LSBs zeroed), its
    measured multiplier energy. ``None`` when the sweep has no narrower width.
    """
    full = space.full_width
    b0, g0 = space.bypasses[0], space.gatings[0]
    by_label = {(tuple(r["multipliers"].values()), tuple(r["bits"].values()), r["bypass"], r["gating"]): r
                for r in rows if r["energy_pj"] is not None}
    n = len(space.names)

    def find(spec, w):
        return by_label.get(((spec,) * n, (w,) * n, b0, g0))

    ref = find("exact", full)
    narrower = [w for w in space.widths if w < full]
    if ref is None or not narrower:
        return None
    e_ref = _group_energy(ref)
    out = []
    for w in [full, *narrower]:
        r = find("exact", w)
        if r is None:
            continue
        s = w / full
        groups = _group_energy(r)
        model = {g: v * (s * s if g in QUADRATIC else s if g in LINEAR else 1.0) for g, v in e_ref.items()}
        trunc = find(f"trunc:{full - w}", full) if w < full else None
        out.append({"bits": w, "point": r["id"], "accuracy": r["accuracy"], "measured_pj": r["energy_pj"],
                    "measured_by_group_pj": groups, "moons_model_pj": sum(model.values()),
                    "moons_model_by_group_pj": model,
                    "measured_over_model": r["energy_pj"] / sum(model.values()),
                    "multiplier_measured_ratio": groups.get("multiplier", 0.0) / e_ref["multiplier"]
                    if e_ref.get("multiplier") else None,
                    "multiplier_model_ratio": s * s,
                    "msb_aligned": None if trunc is None else {
                        "point": trunc["id"], "multiplier": f"trunc:{full - w}", "energy_pj": trunc["energy_pj"],
                        "multiplier_ratio": _group_energy(trunc).get("multiplier", 0.0) / e_ref["multiplier"]
                        if e_ref.get("multiplier") else None}})
    return {"bypass": b0, "gating": g0, "full_width": full, "rows": out}


def figures(doc: dict) -> dict:
    """``{file name: Figure}``: accuracy vs energy and vs area, area vs energy, sensitivity."""
    from .plots import sensitivity_figure, tradeoff_figure

    rows = [r for r in doc["points"] if r["energy_pj"] is not None]
    ids = {r["id"]: i for i, r in enumerate(rows)}
    scale = {"energy_pj": (1e-6, "energy per inference (uJ)"), "area_um2": (1e-6, "array PE area (mm^2)"),
             "accuracy": (1.0, "top-1 accuracy")}
    out = {}
    for name, (x, y) in PAIRS.items():
        if name not in doc["fronts_2d"]:
            continue
        sx, lx = scale[x]
        sy, ly = scale[y]
        front = [ids[i] for i in doc["fronts_2d"][name]]
        xerr = [sx * (r["energy_stderr_pj"] or 0.0) for r in rows] if x == "energy_pj" else None
        out[f"{name}.png"] = tradeoff_figure([sx * r[x] for r in rows], [sy * r[y] for r in rows], front,
                                             xlabel=lx, ylabel=ly, xerr=xerr, labels=[r["label"] for r in rows],
                                             maximize_y=y == "accuracy", title=f"{doc['model_name']}: {name}")
    sens = doc["strategies"].get("sensitivity")
    if sens and sens["reference_accuracy"] is not None:
        names = doc["space"]["layers"]
        curves: dict[str, list] = {}
        for row in sens["rows"]:
            label = row["multiplier"] + ("" if row["bits"] == doc["space"]["full_width"] else f"@{row['bits']}b")
            curves.setdefault(label, [None] * len(names))[names.index(row["layer"])] = row["accuracy"]
        out["sensitivity.png"] = sensitivity_figure(names, doc["space"]["macs"], sens["reference_accuracy"], curves,
                                                    title=f"{doc['model_name']}: one layer changed at a time")
    return out


__all__ = ["FORMAT", "PAIRS", "figures", "fronts", "point_rows", "precision_scaling"]
