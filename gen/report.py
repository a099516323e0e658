"""The report of ``axmac flow``: one JSON document, and the Markdown, HTML and figures drawn from it.

:func:`assemble` puts the flow's stage results together into the ``axmac-flow-report/1`` document
(its schema: :mod:`axmac.gen.report_schema`, documented field by field in docs/report_schema.md)
and derives what no stage computes alone: the chosen design's figures side by side, and the
trivial-computation breakdown of Ma & Jiao's Fig. 7 (:func:`bypass_breakdown`).

:func:`write_report` checks the document against the schema, writes ``report.json`` first, reads
it back, and draws every figure (:mod:`axmac.gen.report_figures`) and writes ``report.md`` and
``index.html`` (:mod:`axmac.gen.report_html`) from what it read: the JSON is the one source of
every number shown. The folder (with the design's ``rtl/``) is assembled beside the target and
renamed into place, so it appears whole or not at all; an existing folder is replaced only if
it is an axmac report (it holds ``report.json``) or empty.
"""

from __future__ import annotations

import datetime
import json
import math
import shutil
import tempfile
from pathlib import Path

from ..errors import AxmacError

FORMAT = "axmac-flow-report/1"
#: Ma & Jiao's cases: (letter, statistics key, operation)
CASES = (("a", "zero", "MUL"), ("b", "one", "MUL"), ("d", "add_zero", "ADD"), ("e", "opposite", "ADD"))


def check_out_dir(path: Path) -> None:
    """Refuse an output folder that is a file, or a non-empty folder that is not an axmac report."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise AxmacError(f"--out-dir {path}: it is a file, not a folder")
        if any(path.iterdir()) and not (path / "report.json").is_file():
            raise AxmacError(f"--out-dir {path} holds files that are not an axmac report: give a new or empty folder")


def group_per_slot(point: dict) -> dict[str, float]:
    """pJ per valid slot (one MAC slot of a PE) by group, over the whole inference."""
    num: dict[str, float] = {}
    slots = 0
    for la in point["layers"]:
        slots += la["slots"]
        for g, v in la["pj_per_slot_by_group"].items():
            num[g] = num.get(g, 0.0) + v * la["slots"]
    return {g: v / slots for g, v in num.items()} if slots else {}


def _uniform(points, spec: str, bypass: str, gating: str):
    for p in points:
        if set(p["multipliers"].values()) == {spec} and p["bypass"] == bypass and p["gating"] == gating \
                and p["energy_pj"] is not None and len(set(p["bits"].values())) == 1:
            return p
    return None


def bypass_breakdown(points: list[dict], fractions: dict, gating: str) -> dict | None:
    """Ma & Jiao's Fig. 7 for this PE: the energy saving of each bypass case by their Eq. 2.

    ``p_i (E_full - E_bypass) / (E_mul + E_add)`` with ``p_i`` the fraction of MACs in case ``i``
    (the golden statistics), and the PE's own energies per valid slot, measured on the exact
    multiplier: ``E_mul`` its ``multiplier`` group and ``E_add`` its ``pe logic`` group (adder
    and multiplexers) without bypass, ``E_bypass`` the ``mul bypass`` / ``add bypass`` groups
    with every case bypassed. Beside it: the same equations with the paper's MNIST Table II and
    FP32 Table V, and the saving measured on the whole PE (all cases against none, energy per
    inference), which also counts registers, clock and the detectors' own activity.
    ``None`` when the exploration lacks the exact PE with and without every case.
    """
    from ..config import normalize_bypass
    from .power_models import MA_JIAO_TABLE_II_MNIST, MA_JIAO_TABLE_V, eq2

    none = _uniform(points, "exact", "none", gating)
    full = _uniform(points, "exact", normalize_bypass("all"), gating)
    if none is None or full is None:
        return None
    g0, g1 = group_per_slot(none), group_per_slot(full)
    e = {"mul": g0.get("multiplier", 0.0), "add": g0.get("pe logic", 0.0), "bypass_mul": g1.get("mul bypass", 0.0),
         "bypass_add": g1.get("add bypass", 0.0)}
    t = MA_JIAO_TABLE_V
    rows = []
    for letter, key, op in CASES:
        full_e, byp = (e["mul"], e["bypass_mul"]) if op == "MUL" else (e["add"], e["bypass_add"])
        pf, pb = (t["mul"], t["bypass_mul"]) if op == "MUL" else (t["add"], t["bypass_add_no_e"])
        rows.append({"case": letter, "name": key, "op": op, "fraction": fractions[key],
                     "saving": eq2(fractions[key], full_e, byp, e["mul"], e["add"]) if e["mul"] + e["add"] else None,
                     "paper_fraction": MA_JIAO_TABLE_II_MNIST[key],
                     "paper_saving": eq2(MA_JIAO_TABLE_II_MNIST[key], pf, pb, t["mul"], t["add"])})
    return {"points": {"none": none["id"], "all": full["id"]}, "energies_pj_per_slot": e, "cases": rows,
            "eq1": sum(r["saving"] or 0.0 for r in rows), "paper_eq1": sum(r["paper_saving"] for r in rows),
            "measured_saving": 1.0 - full["energy_pj"] / none["energy_pj"]}


def _accuracy(emulated: dict) -> dict | None:
    acc, n = emulated["accuracy"], emulated["samples"]
    if acc is None:
        return None
    return {"exact": acc, "onnxruntime": emulated["onnxruntime_accuracy"],
            "onnxruntime_note": emulated["onnxruntime_note"], "samples": n,
            "stderr": math.sqrt(acc * (1 - acc) / n) if n else None}


ENERGY_KEYS = ("bypass", "gating", "inference_pj", "stderr_pj", "pj_per_mac", "rest_share", "saving_pct",
               "pe_saving_pct", "layers", "explanation")


def _array_energy(e: dict | None) -> dict | None:
    """What the report keeps of :func:`axmac.gen.array_energy.measure_array`'s document."""
    if e is None:
        return None
    return {**{k: e[k] for k in ("images", "samples_per_layer", "runs_per_layer", "library", "period_ns")},
            "designs": [{k: d.get(k) for k in ENERGY_KEYS} for d in e["designs"]]}


def _hardware(design: dict, synthesis: dict | None, energy: dict | None) -> None:
    """The whole array's figures beside the design's: area (OSU018), Fmax (iCE40), energy (gate level)."""
    syn = synthesis or {}
    design["array_area_um2"] = syn.get("osu018", {}).get("figures", {}).get("area_um2")
    design["fmax_mhz"] = syn.get("ice40", {}).get("figures", {}).get("fmax_mhz")
    chosen = energy["designs"][-1] if energy else {}
    design["array_energy_pj"] = chosen.get("inference_pj")
    design["array_energy_stderr_pj"] = chosen.get("stderr_pj")


def _design(point: dict, choice: dict, model: dict, emulated: dict, cosim: dict, samples) -> dict:
    rtl = {la["name"]: la for la in cosim["inference"]["layers"]}
    frac = {la["name"]: la["fractions"] for la in emulated["layers"]}
    energy = {la["name"]: la for la in point["layers"]}
    layers = [{"name": la["name"], "kind": la["kind"], "macs": la["macs"], "cycles": la["cycles"],
               "cycles_rtl": rtl.get(la["name"], {}).get("cycles"), "utilization": la["utilization"],
               "energy_pj": energy[la["name"]]["energy_pj"], "stderr_pj": energy[la["name"]]["stderr_pj"],
               "pj_per_mac": energy[la["name"]]["pj_per_mac"], "multiplier": energy[la["name"]]["multiplier"],
               "trivial": frac[la["name"]]} for la in model["layers"]]
    acc = point["accuracy"]
    return {"point": point["id"], "label": point["label"], "config": choice["config"], "accuracy": acc,
            "accuracy_stderr": math.sqrt(acc * (1 - acc) / samples) if acc is not None and samples else None,
            "area_um2": point["area_um2"], "pe_area_um2": point["pe_area_um2"], "energy_pj": point["energy_pj"],
            "energy_stderr_pj": point["energy_stderr_pj"], "saving_pct": point["saving_pct"],
            "area_change_pct": point["area_change_pct"], "cycles": model["cycles"],
            "cycles_rtl": cosim["inference"]["cycles"], "layers": layers}


def assemble(parts: dict, data) -> dict:
    """The report document (module docstring) from the stage results of :func:`axmac.gen.flow.run_flow`."""
    from .cli import version
    from .report_figures import figure_list

    ex, choice = parts["explored"], parts["choice"]
    pts = {p["id"]: p for p in ex["points"]}
    cfg = parts["config"]["array"]
    sens = ex["strategies"].get("sensitivity")
    doc = {
        "format": FORMAT, "axmac": version(),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "config": parts["config"], "model": parts["model"],
        "data": {"dataset": data.dataset, "inputs": data.inputs, "labelled": data.dataset is not None,
                 "samples": parts["emulated"]["samples"]},
        "accuracy": _accuracy(parts["emulated"]),
        "trivial": {k: parts["emulated"][k] for k in ("acc_chain", "layers", "total")},
        "multipliers": parts["multipliers"],
        "exploration": {k: ex[k] for k in ("objectives", "points", "baseline", "front", "fronts_2d", "area", "energy")}
        | {"space": ex["space"], "run": ex["run"]},
        "sensitivity": None if not sens else {"reference_accuracy": sens["reference_accuracy"], "rows": sens["rows"]},
        "choice": choice,
        "design": _design(pts[choice["point"]], choice, parts["model"], parts["emulated"], parts["cosim"],
                          data.samples),
        "bypass_breakdown": bypass_breakdown(ex["points"], parts["emulated"]["total"]["fractions"], cfg["gating"]),
        "cosim": parts["cosim"],
        "synthesis": parts.get("synthesis"),
        "energy": _array_energy(parts.get("energy")),
        "rtl": {"dir": "rtl", **parts["generated"]},
        "timing": {"stages": parts["timing"], "total_seconds": None},
    }
    _hardware(doc["design"], doc["synthesis"], doc["energy"])
    doc["figures"] = figure_list(doc)
    return doc


def _swap_in(tmp: Path, out: Path) -> None:
    """Rename the finished folder ``tmp`` to ``out``, replacing an old report there."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        out.rename(old / out.name)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_report(doc: dict, out_dir: str | Path, rtl_dir: str | Path | None = None) -> list[Path]:
    """Write the report folder (module docstring); returns the paths written, ``report.json`` first."""
    from .plots import png_bytes
    from .report_figures import figures
    from .report_html import html_page, markdown
    from .report_schema import validate
    from .tables import jsonable

    out = Path(out_dir)
    check_out_dir(out)
    text = json.dumps(jsonable(doc), indent=1, allow_nan=False) + "\n"
    validate(json.loads(text))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        (tmp / "report.json").write_text(text)
        rdoc = json.loads((tmp / "report.json").read_text())  # everything below comes from the file
        names = ["report.json"]
        for name, fig in figures(rdoc).items():
            (tmp / name).write_bytes(png_bytes(fig, dpi=110))
            names.append(name)
        (tmp / "report.md").write_text(markdown(rdoc))
        (tmp / "index.html").write_text(html_page(rdoc))
        names += ["report.md", "index.html"]
        if rtl_dir is not None:
            shutil.copytree(rtl_dir, tmp / "rtl")
            names += [f"rtl/{p.name}" for p in sorted((tmp / "rtl").iterdir())]
        tmp.chmod(0o755)
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / n for n in names]


__all__ = ["CASES", "FORMAT", "assemble", "bypass_breakdown", "check_out_dir", "group_per_slot", "write_report"]
