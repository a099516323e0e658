"""The flow's report as text: ``report.md`` and ``index.html``, both from the report document alone.

:func:`blocks` turns the document into a list of neutral blocks -- headings, paragraphs, tables,
figures -- and :func:`markdown` / :func:`html_page` render that one list, so the two files show
the same numbers. The page is self-contained (inline style, figures as PNG files beside it in
``<img>`` elements); a few lines of script record each image's natural size in its
``data-natural`` attribute once the page has loaded, so a headless browser's DOM dump shows
whether every figure was decoded.
"""

from __future__ import annotations

import html

from .tables import num, pct

STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.6em 0 1.2em;font-size:0.9em}
td,th{border:1px solid #ccc;padding:0.2em 0.6em;text-align:right}td:first-child,th:first-child{text-align:left}
th{background:#f0f0f0}figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:0.85em;color:#555}.ok{color:#060;font-weight:bold}.bad{color:#a00;font-weight:bold}"""
SCRIPT = """window.addEventListener("load",function(){document.querySelectorAll("img").forEach(function(i){
i.setAttribute("data-natural",i.naturalWidth+"x"+i.naturalHeight);});});"""


def _uj(pj) -> str:
    return num(None if pj is None else pj * 1e-6)


def _mm2(um2) -> str:
    return num(None if um2 is None else um2 * 1e-6)


def _fig(doc: dict, name: str) -> list:
    return [("figure", f) for f in doc["figures"] if f["file"] == name]


def _summary(doc: dict) -> list:
    d, c, acc = doc["design"], doc["choice"], doc["accuracy"]
    cos = doc["cosim"]
    lines = [f"Chosen design: **{d['label']}** on a {d['config']['rows']}x{d['config']['cols']} weight-stationary "
             f"array of {d['config']['bits']}-bit {'signed' if d['config']['signed'] else 'unsigned'} operands.",
             f"Rule: {c['rule']}."]
    rows = []
    if acc is not None:
        rows.append(["top-1 accuracy", f"{num(d['accuracy'])} +- {num(d['accuracy_stderr'])}",
                     f"exact integer model {num(acc['exact'])} ({acc['samples']} images)"])
    rows.append(["area (PE x R x C)", f"{_mm2(d['area_um2'])} mm^2", f"{num(d['area_change_pct'])} % vs baseline"])
    if d.get("array_area_um2") is not None:
        rows.append(["area (whole array)", f"{_mm2(d['array_area_um2'])} mm^2", "OSU 0.18 um cells, synthesised"])
    rows.append(["energy per inference (PEs)", f"{_uj(d['energy_pj'])} +- {_uj(d['energy_stderr_pj'])} uJ",
                 f"{num(d['saving_pct'])} % saved vs baseline"])
    if d.get("array_energy_pj") is not None:
        rows.append(["energy per inference (whole array)",
                     f"{_uj(d['array_energy_pj'])} +- {_uj(d['array_energy_stderr_pj'])} uJ", "gate level"])
    if d.get("fmax_mhz") is not None:
        rows.append(["Fmax (iCE40)", f"{d['fmax_mhz']:.1f} MHz", "nextpnr"])
    rows += [["cycles per inference", f"{d['cycles_rtl']} (RTL)", f"cycle model {d['cycles']}"],
             ["co-simulation", "matched" if cos["matched"] else "MISMATCH",
              f"1 inference + {cos['batch']['images'] if cos['batch'] else 0} images through the RTL"]]
    return [("h2", "Summary"), *[("p", t) for t in lines], ("table", ["figure", "value", "note"], rows)]


def _model(doc: dict) -> list:
    m = doc["model"]
    rows = [[la["name"], la["kind"], la["operand"], f"{la['M']}x{la['K']}x{la['N']}", str(la["macs"]), str(la["tiles"]),
             str(la["cycles"]), num(la["utilization"])] for la in m["layers"]]
    rows.append(["total", "", "", "", str(m["macs"]), "", str(m["cycles"]), num(m["utilization"])])
    acc = doc["accuracy"]
    text = (f"{m['path']} (sha256 {m['sha256'][:12]}), input {m['input']['name']} {m['input']['shape']}, quantized to "
            f"{m['quantization']['bits']}-bit operands (per-channel weights, max calibration).")
    out = [("h2", "Model and schedule"), ("p", text),
           ("table", ["layer", "kind", "operands", "GEMM MxKxN", "MACs", "tiles", "cycles", "utilization"], rows)]
    if acc is not None:
        out.append(("p", f"Exact integer model: top-1 {num(acc['exact'])} +- {num(acc['stderr'])} (binomial standard "
                         f"error) on {acc['samples']} test images of {doc['data']['dataset']}; the float model under "
                         f"onnxruntime: {num(acc['onnxruntime'])}."))
    else:
        out.append(("p", f"No labelled dataset: no accuracy (inputs {doc['data']['inputs']}, "
                         f"{doc['data']['samples']} samples)."))
    return out


def _exploration(doc: dict) -> list:
    ex = doc["exploration"]
    pts = {p["id"]: p for p in ex["points"]}
    labels = "accuracy" in ex["objectives"]
    rows = [[p["id"], p["label"], *([num(p["accuracy"])] if labels else []), _mm2(p["area_um2"]),
             f"{_uj(p['energy_pj'])} +- {_uj(p['energy_stderr_pj'])}", num(p["saving_pct"]), num(p["area_change_pct"])]
            for p in (pts[i] for i in ex["front"])]
    head = ["id", "design", *(["accuracy"] if labels else []), "area mm^2", "energy uJ", "saving %", "area %"]
    e = ex["energy"]
    return [("h2", "Exploration and Pareto front"),
            ("p", f"{len(ex['points'])} designs evaluated: every candidate multiplier with every bypass set on all "
                  "layers" + (", and one layer at a time" if doc["sensitivity"] else "") +
                  f". Energy per inference: {e['method']}; sampled on {e['images']} images, {e['segments_per_layer']} "
                  "PE segments per layer (the +- is the standard error of that sample). Savings against the "
                  f"baseline {pts[ex['baseline']]['label']}."),
            ("table", head, rows), *_fig(doc, "accuracy_energy.png"), *_fig(doc, "accuracy_area.png"),
            *_fig(doc, "area_energy.png")]


def _sensitivity(doc: dict) -> list:
    s = doc["sensitivity"]
    if not s:
        return []
    names = [la["name"] for la in doc["model"]["layers"]]
    specs = list(dict.fromkeys(r["multiplier"] for r in s["rows"]))
    acc = {(r["layer"], r["multiplier"]): r["accuracy"] for r in s["rows"]}
    rows = [[n, *(num(acc.get((n, m))) for m in specs)] for n in names]
    ref = doc["accuracy"]
    noise = f" The binomial standard error of one accuracy is {num(ref['stderr'])} on {ref['samples']} images: " \
            "smaller differences are within the sampling noise." if ref and ref["stderr"] is not None else ""
    return [("h2", "Per-layer sensitivity"),
            ("p", f"All layers exact: {num(s['reference_accuracy'])}. Each cell: one layer on that multiplier, the "
                  f"others exact.{noise}"), ("table", ["layer", *specs], rows), *_fig(doc, "sensitivity.png")]


def _trivial(doc: dict) -> list:
    t = doc["trivial"]
    layers = [*t["layers"], {"name": "total", **t["total"]}]
    keys = ("zero", "one", "add_zero", "opposite", "x_zero", "w_zero")
    rows = [[la["name"], str(la["macs"]), *(pct(la["fractions"][k]) for k in keys)] for la in layers]
    out = [("h2", "Trivial computations (Ma & Jiao)"),
           ("p", f"Percent of MACs per case, accumulation chains of {t['acc_chain']} products (a weight-stationary "
                 "column); x=0 / w=0: zero activations / weights."),
           ("table", ["layer", "MACs", "(a) zero", "(b) +-1", "(d) add 0", "(e) opposite", "x=0", "w=0"], rows)]
    bd = doc["bypass_breakdown"]
    if bd:
        e = bd["energies_pj_per_slot"]
        out.append(("p", f"This PE's energies per MAC slot (exact multiplier): multiplier {num(e['mul'])} pJ, adder "
                         f"and multiplexers {num(e['add'])} pJ, MUL bypass {num(e['bypass_mul'])} pJ, ADD bypass "
                         f"{num(e['bypass_add'])} pJ."))
        rows = [[f"({c['case']}) {c['name']}", c["op"], pct(c["fraction"]), pct(c["saving"]),
                 pct(c["paper_fraction"]), pct(c["paper_saving"])] for c in bd["cases"]]
        rows.append(["Eq. 1 (sum)", "", "", pct(bd["eq1"]), "", pct(bd["paper_eq1"])])
        rows.append(["measured, whole PE", "", "", pct(bd["measured_saving"]), "", ""])
        out.append(("table", ["case", "op", "% of MACs", "saving % (this PE)", "paper % of MACs", "paper saving %"],
                    rows))
    return out + _fig(doc, "trivial_breakdown.png")


def _design(doc: dict) -> list:
    d = doc["design"]
    rows = [[la["name"], la["multiplier"], str(la["macs"]), str(la["cycles"]), str(la["cycles_rtl"]),
             f"{_uj(la['energy_pj'])} +- {_uj(la['stderr_pj'])}", num(la["pj_per_mac"])] for la in d["layers"]]
    area = [[g, num(v)] for g, v in sorted(d["pe_area_um2"].items())]
    cfg = ", ".join(f"{k} {v}" for k, v in d["config"].items())
    rtl = doc["rtl"]
    return [("h2", "The chosen design"), ("p", f"Configuration: {cfg}."),
            ("p", f"Verilog, manifest and constraints in {rtl['dir']}/ (top {rtl['top']}): {', '.join(rtl['files'])}."),
            ("table", ["layer", "multiplier", "MACs", "cycles (model)", "cycles (RTL)", "energy uJ", "pJ/MAC"], rows),
            ("table", ["PE part", "area um^2"], area), *_fig(doc, "area_breakdown.png")]


def _cosim(doc: dict) -> list:
    c = doc["cosim"]
    rows = [[la["name"], str(la["cycles"]), str(la["macs"]), num(la["utilization"])] for la in c["inference"]["layers"]]
    out = [("h2", "Co-simulation of the RTL"),
           ("p", f"One inference layer by layer through the generated RTL (Verilator): "
                 f"{'matched' if c['inference']['matched'] else 'MISMATCH'}, {c['inference']['cycles']} cycles, "
                 f"utilization {num(c['inference']['utilization'])}."),
           ("table", ["layer", "cycles", "MACs", "utilization"], rows)]
    b = c["batch"]
    if b:
        acc = f", RTL top-1 {num(b['accuracy'])} vs golden {num(b['golden_accuracy'])}" if "accuracy" in b else ""
        out.append(("p", f"{b['images']} images: {'matched' if b['matched'] else 'MISMATCH'}{acc}, agreement "
                         f"{num(b.get('agreement'))}, {b['simulated_cycles']} cycles simulated in "
                         f"{num(b['sim_seconds'])} s."))
    for part in (c["inference"], b or {}):
        if part.get("mismatch"):
            out.append(("p", f"First difference: {part['mismatch']}"))
    return out


def _target_row(t: str, r: dict) -> list[str]:
    f = r["figures"]
    if t == "generic":
        what = f"{num(f.get('gates'))} gates, {num(f.get('transistors'))} transistors"
    elif t == "osu018":
        what = (f"{_mm2(f.get('area_um2'))} mm^2 ({_mm2(f.get('sequential_um2'))} sequential), "
                f"{num(f.get('cells'))} cells")
    else:
        what = f"{num(f.get('lut4'))} LUT4, {num(f.get('lc'))} logic cells, {num(f.get('ram'))} RAM blocks"
    fmax = f.get("fmax_mhz")
    return [t, what, num(f.get("dff")), "-" if fmax is None else f"{fmax:.1f}", "; ".join(r.get("notes") or [])]


def _synthesis(doc: dict) -> list:
    syn = doc["synthesis"]
    if not syn:
        return []
    rows = [_target_row(t, r) for t, r in syn.items()]
    out = [("h2", "Synthesis of the chosen array"),
           ("p", "The whole generated array (hw/top.py: PEs, skew, accumulator buffer, output stage, FIFO, control, "
                 "counters) synthesised by Yosys for each target; iCE40 placed and routed by nextpnr."),
           ("table", ["target", "logic", "flip-flops", "Fmax MHz", "notes"], rows)]
    groups = {t: r["groups"] for t, r in syn.items() if r.get("groups")}
    if groups:
        names = list(dict.fromkeys(g for gs in groups.values() for g in gs))

        def cell(t, g):
            v = groups[t].get(g)
            return num(v.get("gates") if isinstance(v, dict) else v)

        out.append(("table", ["part", *(f"{t} ({'um^2' if t == 'osu018' else 'gates'})" for t in groups)],
                    [[g, *(cell(t, g) for t in groups)] for g in names]))
    return out + _fig(doc, "array_area.png")


def _energy(doc: dict) -> list:
    e = doc["energy"]
    if not e:
        return []
    rows = [[f"bypass {d['bypass']}, gating {d['gating']}", f"{_uj(d['inference_pj'])} +- {_uj(d['stderr_pj'])}",
             num(d["pj_per_mac"]), pct(1 - d["rest_share"]), num(d["saving_pct"]), num(d["pe_saving_pct"])]
            for d in e["designs"]]
    last = e["designs"][-1]
    layers = [[la["name"], str(la["macs"]), _uj(la["pe_busy_pj"]), _uj(la["pe_idle_pj"]), _uj(la["rest_pj"]),
               f"{_uj(la['energy_pj'])} +- {_uj(la['stderr_pj'])}", num(la["pj_per_mac"])] for la in last["layers"]]
    return [("h2", "Energy of the whole array"),
            ("p", f"The chosen array at gate level ({e['library']}, {num(e['period_ns'])} ns clock): its PEs on "
                  f"{e['samples_per_layer']} sampled PE segments per layer, the rest of the array on "
                  f"{e['runs_per_layer']} sampled runs per layer, over {e['images']} images; savings against the "
                  "same array without bypass and gating."),
            ("table", ["design", "energy uJ / inference", "pJ/MAC", "PEs %", "saving %", "PE saving %"], rows),
            ("table", ["layer", "MACs", "PEs busy uJ", "PEs idle uJ", "rest uJ", "total uJ", "pJ/MAC"], layers),
            *[("p", f"Why: {t}.") for t in last.get("explanation") or []]]


def _multipliers(doc: dict) -> list:
    rows = [[m["spec"], num(m["mae"]), num(m["wce"]), pct(m["mred"]), pct(m["wcre"]), pct(m["bias"]),
             pct(m["error_probability"])] for m in doc["multipliers"]]
    return [("h2", "Multipliers"), ("p", "Error metrics over every operand pair (MAE / WCE in product LSBs)."),
            ("table", ["spec", "MAE", "WCE", "MRED %", "WCRE %", "bias %", "EP %"], rows)]


def _method(doc: dict) -> list:
    ex = doc["exploration"]
    t = doc["timing"]
    rows = [[s["stage"], f"{s['seconds']:.1f}", "yes" if s["cached"] else "no"] for s in t["stages"]]
    return [("h2", "Method and limits"),
            ("p", f"Area and energy of the PEs: {ex['area']['method']} ({ex['area'].get('library', '')}). Not "
                  f"counted: {', '.join(ex['area'].get('not_counted', []))}."),
            ("h2", "Run"), ("table", ["stage", "seconds", "cached"], rows),
            ("p", f"axmac {doc['axmac']}, {doc['created']}" +
                  (f", {t['total_seconds']:.1f} s in all" if t["total_seconds"] is not None else "") + ".")]


def blocks(doc: dict) -> list:
    """The report as ``[(kind, ...)]``: ``("h1"|"h2"|"p", text)``, ``("table", header, rows)``,
    ``("figure", {"file", "title", "caption"})``."""
    data = doc["data"]["dataset"] or doc["data"]["inputs"]
    return [("h1", f"axmac flow: {doc['model']['name']} on {data}"), *_summary(doc), *_model(doc),
            *_exploration(doc), *_sensitivity(doc), *_trivial(doc), *_design(doc), *_cosim(doc), *_synthesis(doc),
            *_energy(doc), *_multipliers(doc),
            *_method(doc)]


def markdown(doc: dict) -> str:
    out = []
    for b in blocks(doc):
        if b[0] in ("h1", "h2"):
            out.append(f"{'#' if b[0] == 'h1' else '##'} {b[1]}")
        elif b[0] == "p":
            out.append(b[1])
        elif b[0] == "table":
            out.append("\n".join(["| " + " | ".join(b[1]) + " |", "|" + "---|" * len(b[1])] +
                                 ["| " + " | ".join(r) + " |" for r in b[2]]))
        else:
            out.append(f"![{b[1]['title']}]({b[1]['file']})\n\n*{b[1]['caption']}*")
    return "\n\n".join(out) + "\n"


def _inline(text: str) -> str:
    """HTML of a paragraph: escaped, ``**x**`` bold."""
    parts = html.escape(text).split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def html_page(doc: dict) -> str:
    body = []
    for b in blocks(doc):
        if b[0] in ("h1", "h2"):
            body.append(f"<{b[0]}>{html.escape(b[1])}</{b[0]}>")
        elif b[0] == "p":
            cls = ' class="bad"' if "MISMATCH" in b[1] else ""
            body.append(f"<p{cls}>{_inline(b[1])}</p>")
        elif b[0] == "table":
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b[1])
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in b[2])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        else:
            f = b[1]
            body.append(f'<figure id="{html.escape(f["file"])}"><img src="{html.escape(f["file"])}" '
                        f'alt="{html.escape(f["title"])}"><figcaption>{html.escape(f["caption"])}</figcaption></figure>')
    title = html.escape(blocks(doc)[0][1])
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{STYLE}</style></head>\n<body>\n" + "\n".join(body) +
            f"\n<script>{SCRIPT}</script>\n</body></html>\n")


__all__ = ["blocks", "html_page", "markdown"]
