"""gen/report.py, gen/report_schema.py, gen/report_figures.py, gen/report_html.py: the flow's report.

On the document of a real (stubbed, see tests/test_flow.py) flow run: the schema accepts it and
rejects broken copies naming the field; every field of the schema is documented in
docs/report_schema.md; every figure shows exactly the JSON's numbers (read back from the artists);
the PNG files are the figures at their size; report.md and index.html carry the same tables.
"""

from __future__ import annotations

import copy
import html
import json
import re
from pathlib import Path

import numpy as np
import pytest

from axmac.errors import AxmacError
from axmac.gen.cli import main
from axmac.gen.plots import artist_data
from axmac.gen.report import check_out_dir, group_per_slot, write_report
from axmac.gen.report_figures import figure_list, figures
from axmac.gen.report_html import blocks, html_page, markdown
from axmac.gen.report_schema import SCHEMA, field_paths, validate

from .test_flow import FAST, check_page, install_stubs

DOCS = Path(__file__).parents[1] / "docs" / "report_schema.md"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """``(doc, folder)`` of one stubbed flow run on the digits CNN."""
    root = tmp_path_factory.mktemp("flow")
    with pytest.MonkeyPatch.context() as mp:
        install_stubs(mp, root)
        out = root / "report"
        assert main(["flow", "--dataset", "digits", *FAST, "--out-dir", str(out)]) == 0
    return json.loads((out / "report.json").read_text()), out


def test_the_schema_accepts_the_report_and_names_what_breaks_it(report):
    doc, _ = report
    validate(doc)
    cases = [(("design",), "cycles", None, "$.design: missing field 'cycles'"),
             (("design", "layers", 1), "cycles", "many", "$.design.layers[1].cycles: expected integer"),
             (("accuracy",), "exact", True, "$.accuracy.exact: expected number"),
             (("bypass_breakdown", "cases", 0), "op", "DIV", "$.bypass_breakdown.cases[0].op: 'DIV' is not one of"),
             (("trivial", "total", "fractions"), "zero", -0.5, "below 0"),
             ((), "format", "axmac-flow-report/2", "$.format: expected 'axmac-flow-report/1'"),
             (("synthesis", "ice40"), "figures", [], "$.synthesis.ice40.figures: expected object"),
             (("energy", "designs", 0), "inference_pj", None, "$.energy.designs[0]: missing field 'inference_pj'")]
    for where, key, value, message in cases:
        bad = copy.deepcopy(doc)
        obj = bad
        for k in where:
            obj = obj[k]
        if value is None:
            del obj[key]
        else:
            obj[key] = value
        with pytest.raises(AxmacError, match=re.escape(message)):
            validate(bad)


def test_every_schema_field_is_documented():
    text = DOCS.read_text()
    names = {p.rsplit(".", 1)[-1] for p in field_paths(SCHEMA)}
    missing = sorted(n for n in names if f"`{n}`" not in text)
    assert not missing, f"fields missing from docs/report_schema.md: {missing}"


def test_tradeoff_figures_show_the_json(report):
    doc, _ = report
    figs = figures(doc)
    assert set(figs) == {f["file"] for f in figure_list(doc)}
    pts = [p for p in doc["exploration"]["points"] if p["energy_pj"] is not None]
    ids = [p["id"] for p in pts]
    chosen = next(p for p in pts if p["id"] == doc["choice"]["point"])
    for name, x, y, front in (("accuracy_energy.png", "energy_pj", "accuracy", "accuracy_energy"),
                              ("accuracy_area.png", "area_um2", "accuracy", "accuracy_area"),
                              ("area_energy.png", "energy_pj", "area_um2", "area_energy")):
        sx = 1e-6
        sy = 1.0 if y == "accuracy" else 1e-6
        fig = figs[name]
        np.testing.assert_allclose(artist_data(fig, "points"), [[sx * p[x], sy * p[y]] for p in pts])
        want = [[sx * pts[ids.index(i)][x], sy * pts[ids.index(i)][y]] for i in doc["exploration"]["fronts_2d"][front]]
        np.testing.assert_allclose(artist_data(fig, "front"), want)
        np.testing.assert_allclose(artist_data(fig, "chosen"), [[sx * chosen[x], sy * chosen[y]]])
        if y == "accuracy":
            assert artist_data(fig, "threshold")[0, 1] == pytest.approx(doc["choice"]["threshold"])


def test_sensitivity_and_breakdown_figures_show_the_json(report):
    doc, _ = report
    figs = figures(doc)
    names = [la["name"] for la in doc["model"]["layers"]]
    sens = figs["sensitivity.png"]
    for row in doc["sensitivity"]["rows"]:
        line = artist_data(sens, f"sensitivity:{row['multiplier']}")
        assert line[names.index(row["layer"]), 1] == row["accuracy"]
    macs = np.array([la["macs"] for la in doc["model"]["layers"]], dtype=float)
    np.testing.assert_allclose(artist_data(sens, "macs")[:, 1], macs / macs.sum())
    triv = figs["trivial_breakdown.png"]
    layers = [*doc["trivial"]["layers"], doc["trivial"]["total"]]
    for key in ("zero", "one", "add_zero", "opposite"):
        np.testing.assert_allclose(artist_data(triv, f"fraction:{key}")[:, 1], [la["fractions"][key] for la in layers])
    bd = doc["bypass_breakdown"]
    np.testing.assert_allclose(artist_data(triv, "saving:this")[:, 1],
                               [100 * c["saving"] for c in bd["cases"]] + [100 * bd["eq1"]])
    np.testing.assert_allclose(artist_data(triv, "saving:paper")[:, 1],
                               [100 * c["paper_saving"] for c in bd["cases"]] + [100 * bd["paper_eq1"]])
    assert artist_data(triv, "saving:measured")[0, 1] == pytest.approx(100 * bd["measured_saving"])


def test_area_breakdown_stacks_each_designs_pe_area(report):
    from axmac.config import ArrayConfig
    from axmac.gen.flow import realizable

    doc, _ = report
    fig = figures(doc)["area_breakdown.png"]
    cfg = ArrayConfig.from_dict(doc["config"]["array"])
    rows = sorted((p for p in doc["exploration"]["points"] if realizable(p, cfg)),
                  key=lambda p: (p["bypass"], p["area_um2"]))
    total = np.zeros(len(rows))
    for g in {g for p in rows for g in p["pe_area_um2"]}:
        heights = artist_data(fig, f"area:{g}")[:, 1]
        np.testing.assert_allclose(heights, [p["pe_area_um2"].get(g, 0.0) for p in rows])
        total += heights
    np.testing.assert_allclose(total * cfg.pes, [p["area_um2"] for p in rows])
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert [x for x in labels if x.startswith("* ")] == [f"* {doc['design']['label']}"]


def test_array_area_figure_is_the_synthesised_area_by_part(report):
    doc, _ = report
    groups = doc["synthesis"]["osu018"]["groups"]
    bars = artist_data(figures(doc)["array_area.png"], "array_area")[:, 1]
    np.testing.assert_allclose(bars, [1e-6 * v for v in groups.values()])
    assert sum(groups.values()) == pytest.approx(doc["design"]["array_area_um2"])


def test_files_are_the_figures_and_the_same_tables(report):
    from PIL import Image

    doc, out = report
    for f in doc["figures"]:
        fig = figures(doc)[f["file"]]
        w, h = fig.get_size_inches() * 110
        with Image.open(out / f["file"]) as im:
            assert (im.width, im.height) == (round(w), round(h))
    assert (out / "report.md").read_text() == markdown(doc)
    assert (out / "index.html").read_text() == html_page(doc)
    md, page = markdown(doc), html_page(doc)
    tables = [b for b in blocks(doc) if b[0] == "table"]
    assert len(tables) >= 8
    for _, header, rows in tables:
        assert "".join(f"<th>{html.escape(c)}</th>" for c in header) in page
        for r in rows:
            assert "| " + " | ".join(r) + " |" in md
            assert "".join(f"<td>{html.escape(c)}</td>" for c in r) in page
    d = doc["design"]
    assert f"**{d['label']}**" in md and f"<b>{d['label']}</b>" in page
    assert page.count("<img ") == len(doc["figures"]) and "data-natural" in page


def test_group_energy_per_slot_is_the_slot_weighted_mean():
    p = {"layers": [{"slots": 10, "pj_per_slot_by_group": {"multiplier": 2.0, "pe logic": 1.0}},
                    {"slots": 30, "pj_per_slot_by_group": {"multiplier": 4.0}}]}
    assert group_per_slot(p) == {"multiplier": (20 + 120) / 40, "pe logic": 10 / 40}


def test_write_report_refuses_a_folder_it_did_not_write_and_replaces_its_own(report, tmp_path):
    doc, _ = report
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("x")
    with pytest.raises(AxmacError, match="not an axmac report"):
        check_out_dir(mine)
    with pytest.raises(AxmacError, match="not an axmac report"):
        write_report(doc, mine)
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
    out = tmp_path / "rep"
    first = write_report(doc, out)
    assert first[0] == out / "report.json" and all(p.is_file() for p in first)
    (out / "stale.png").write_bytes(b"old")
    write_report(doc, out)  # an old report is replaced whole: nothing of it stays
    assert not (out / "stale.png").exists()
    broken = copy.deepcopy(doc)
    del broken["design"]
    with pytest.raises(AxmacError, match="missing field 'design'"):
        write_report(broken, tmp_path / "never")
    assert not (tmp_path / "never").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "rep"]


@pytest.mark.slow
def test_the_page_renders_in_headless_chromium(report, tmp_path):
    """The stubbed flow's page (seconds; tests/test_flow.py opens the real default flow's too)."""
    doc, out = report
    check_page(out, doc, tmp_path)
