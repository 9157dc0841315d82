"""Every shipped report, rendered in headless Chromium: structure, cells, factors, Findings.

Each shipped spec (``experiments/*.toml`` but the smoke test) runs with few
replications, its report is written and opened in Debian's Chromium; a full-page
screenshot is saved as a test artifact (``test-artifacts/reports/<name>.png``, or
under ``$KAMSIM_ARTIFACTS``), and the rendered page is checked against the results:
the Findings come first and quote numbers recomputed here from the runs, every cell
of the experiment appears in the figures' data, and legends and panel titles name
their factors.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, require_chromium  # same Chromium set-up

from kamsim.experiments import load_results, run_experiment
from kamsim.experiments.design import fmt_level, value_column
from kamsim.reporting import write_reports
from kamsim.reports.formatting import fmt_money, fmt_number
from kamsim.sensitivity.report import write_sensitivity_report
from kamsim.sensitivity.run import sensitivity

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ["portfolio_size", "investment_policies", "dependency_risk"]
ARTIFACTS = Path(os.environ.get("KAMSIM_ARTIFACTS", ROOT / "test-artifacts")) / "reports"


def _spec(name: str, **changes: Any) -> dict[str, Any]:
    data = tomllib.loads((ROOT / "experiments" / f"{name}.toml").read_text())
    data.update(changes)
    return data


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shipped experiments with 30 replications and their reports."""
    out = tmp_path_factory.mktemp("results")
    for name in EXPERIMENTS:
        run_experiment(_spec(name, replications=30), out=out, workers=2, quiet=True)
    write_reports(out)
    return {name: out / name for name in EXPERIMENTS}


@pytest.fixture(scope="module")
def sensitivity_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped sensitivity spec, shrunk (8 base samples, 4 replications, 2 points)."""
    spec = _spec("sensitivity", samples=8, replications=4)
    spec["robustness"] = {**spec["robustness"], "points": 2}
    res = sensitivity(spec, workers=2, quiet=True)
    folder = tmp_path_factory.mktemp("gsa") / "report"
    write_sensitivity_report(res, folder)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def render(browser: Any, report: Path, name: str) -> tuple[Any, dict[str, Any], list[str]]:
    """Open a report, wait for its images, save a screenshot; return page, data, errors."""
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto((report / "report.html").as_uri())
    page.wait_for_function(
        "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    data = json.loads(page.locator("#kamsim-report-data").text_content())
    return page, data, errors


def _first_screen(page: Any) -> list[str]:
    """Headings in order, and the Findings items as rendered."""
    headings = page.locator("h2").all_inner_texts()
    assert headings[0] == "Findings", headings
    top = page.locator("#findings").bounding_box()
    first_fig = page.locator("figure").first.bounding_box()
    assert top["y"] < first_fig["y"] and top["y"] < 900  # on the first screen
    return page.locator("#findings li").all_inner_texts()


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_shipped_report_renders_with_its_findings_and_cells(
    name: str, reports: dict[str, Path], browser: Any
) -> None:
    """Findings first with numbers from the runs; every cell drawn; factors named."""
    folder = reports[name]
    page, data, errors = render(browser, folder / "report", name)
    items = _first_screen(page)
    assert len(items) >= 3
    assert items == [f["text"].replace("**", "") for f in data["findings"]]

    # numbers recomputed from the stored runs
    runs = load_results(folder, frames=["runs"]).runs
    spec = json.loads((folder / "manifest.json").read_text())["spec"]
    factors = [f for f, lv in spec["factors"].items() if len(lv) > 1]
    value = value_column(runs)
    label = "NPV with terminal value" if value == "npv_terminal" else "NPV"
    means = runs.groupby(factors)[value].mean()
    assert f"highest mean {label} is {fmt_money(means.max())} k€" in items[0]
    assert f"lowest {fmt_money(means.min())} k€" in items[0]
    if "policy" in factors:
        by_pol = (
            runs.groupby(["policy", "replication"])[value].mean().groupby("policy").mean()
        )
        best = next(i for i in items if f"has the highest mean {label}" in i)
        assert f"{by_pol.idxmax()} has the highest mean {label}" in best or (
            f"baseline {by_pol.idxmax()} has the highest" in best
        )
        assert fmt_money(by_pol.max()) in best

    # every cell of the experiment in the figures' data
    cells = {
        tuple(sorted((k, fmt_level(v)) for k, v in zip(factors, row, strict=True)))
        for row in runs[factors].drop_duplicates().itertuples(index=False)
    }
    assert len(cells) == len(means)
    figures = data["figures"]
    for prefix in ("value_by_cell", "risk_return", "stage_mix", "whale_curve"):
        drawn = {
            tuple(sorted(c.items()))
            for f in figures
            if f["file"].startswith(prefix)
            for p in f["panels"]
            for c in p["cells"]
        }
        assert drawn == cells, prefix
    # legends and panel titles name their factors; labels do not overlap
    for f in figures:
        for leg in f["legends"]:
            assert leg["title"] in [*factors, "stage"], (f["file"], leg)
        for p in f["panels"]:
            for line in p["title"].splitlines():
                assert any(line.startswith(k) or k in line for k in factors), (
                    f["file"],
                    line,
                )
        if f["file"].startswith("risk_return"):
            assert f["label_overlaps"] == 0
    shown = page.locator("figure img").count()
    assert shown == len(figures)
    assert errors == []


def test_sensitivity_report_renders_with_its_findings(
    sensitivity_report: Path, browser: Any
) -> None:
    """The sensitivity report opens with Findings quoting the indices of indices.csv."""
    import pandas as pd

    page, data, errors = render(browser, sensitivity_report, "sensitivity")
    items = _first_screen(page)
    indices = pd.read_csv(sensitivity_report / "indices.csv")
    first = indices[indices["output"] == data["outputs"][0]].sort_values("rank").iloc[0]
    if first["verdict"] == "influential":
        assert f"{first['parameter']} (ST {fmt_number(first['ST'], 2)}" in items[0]
    assert any("best policy" in i for i in items)
    assert any("best portfolio size" in i for i in items)
    panels = data["figures"][0]["panels"]
    assert {p["title"] for p in panels} >= {"mean NPV with terminal value (npv_terminal)"}
    assert all(len(p["cells"]) == len(data["parameters"]) for p in panels)
    assert errors == []


@pytest.fixture(scope="module")
def tournament_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped policy tournament with 20 replications per matchup, and its report."""
    out = tmp_path_factory.mktemp("tournament")
    run_experiment(
        _spec("policy_tournament", replications=20), out=out, workers=2, quiet=True
    )
    write_reports(out)
    return out / "policy_tournament"


def test_tournament_report_shows_every_matchup(
    tournament_report: Path, browser: Any
) -> None:
    """The tournament report shows every matchup and recomputed standings.

    Findings first, then who wins against whom; every matchup drawn in both heatmaps;
    the best policy recomputed from the stored runs.
    """
    page, data, errors = render(browser, tournament_report / "report", "policy_tournament")
    _first_screen(page)
    headings = page.locator("h2").all_inner_texts()
    assert "Tournament: which policy wins against which" in headings
    sup = load_results(tournament_report).suppliers
    focal = sup[sup["supplier"] == 0]
    opp = sup[sup["supplier"] == 1][["cell", "replication", "supplier_policy"]]
    pairs = focal.merge(opp, on=["cell", "replication"], suffixes=("", "_opp"))
    expected = {
        (("policy", p), ("rival_policy", o))
        for p, o in zip(pairs["policy"], pairs["supplier_policy_opp"], strict=True)
    }
    assert len(expected) == 64
    fig = next(f for f in data["figures"] if f["file"] == "tournament.png")
    for panel in fig["panels"]:
        assert {tuple(sorted(c.items())) for c in panel["cells"]} == expected
    best = focal.groupby("policy")["npv_terminal"].mean().idxmax()
    text = page.locator("p").all_inner_texts()
    text = [t.replace("`", "") for t in text]
    assert any(f"{best} earns the highest NPV with terminal value" in t for t in text)
    # issue 22: paired panels' x labels cut, 64 labelled risk/return points
    clashes = {f["file"]: f["text_clashes"] for f in data["figures"] if f["text_clashes"]}
    assert clashes == {}
    risk = next(f for f in data["figures"] if f["file"] == "risk_return.png")
    assert risk["label_overlaps"] == 0
    assert "a panel of more than 12 cells labels at most 12" in risk["caption"]
    assert errors == []


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_report_page_is_readable(browser: Any, reports: dict[str, Path], name: str) -> None:
    """Human title, no page wider than the window, tables as pivots, whale cap said.

    Issue 22: snake_case titles, tables wider than the page, a 60-row exits table.
    """
    from kamsim.reports.formatting import human_title

    page, data, errors = render(browser, reports[name] / "report", f"{name}-readable")
    try:
        # issue 22: y labels cut and colliding, ticks touching ("5" "8" read "58")
        clashes = {f["file"]: f["text_clashes"] for f in data["figures"]}
        assert {k: v for k, v in clashes.items() if v} == {}
        assert page.locator("h1").inner_text() == human_title(name) != name
        assert page.title() == human_title(name)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, width  # wide tables scroll in their own box
        assert "Tournament" not in page.locator("h2").all_inner_texts()
        exits = page.locator("h3", has_text="Exits by cause").locator(
            "xpath=following-sibling::div[1]//tbody/tr"
        )
        assert exits.count() <= 15
        captions = " ".join(page.locator("figcaption").all_inner_texts())
        assert "The y axis stops at 300 %" in captions
        assert not errors
    finally:
        page.close()
