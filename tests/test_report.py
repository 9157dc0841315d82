"""Tests of the report writer: Findings first and true to the data, every cell drawn.

Also: named factors, summarised long tables, atomic writing, errors.
"""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import kamsim
from kamsim.experiments.design import Design, value_column
from kamsim.model.params import ParameterError
from kamsim.reporting import write_reports
from kamsim.reports.experiment import write_report
from kamsim.reports.findings import find
from kamsim.reports.formatting import fmt_money, fmt_signed

SPEC = {
    "name": "mini",
    "description": "three policies x two sizes",
    "replications": 60,
    "quarters": 40,
    "seed": 5,
    "factors": {"n_accounts": [5, 10], "policy": ["none", "uniform", "greedy_roi"]},
    "params": {},
    "report": {"baseline": "none"},
}


def _experiment(
    factors: dict[str, list[Any]], reps: int, quarters: int, seed: int
) -> kamsim.Results:
    """Run a full-factorial design in memory, like the runner (same seeds in every cell)."""
    names = list(factors)
    parts = []
    for i, combo in enumerate(product(*factors.values())):
        level = dict(zip(names, combo, strict=True))
        n = level.pop("n_accounts", 20)
        pol = level.pop("policy", "uniform")
        params = kamsim.ModelParams().evolve(**level) if level else None
        parts.append(
            kamsim.simulate(
                n_accounts=n,
                policy=pol,
                replications=reps,
                quarters=quarters,
                seed=seed,
                params=params,
                factors={"cell": i, **level},
            )
        )
    return kamsim.Results.concat(parts)


@pytest.fixture(scope="module")
def mini() -> kamsim.Results:
    return _experiment(SPEC["factors"], 60, 40, 5)


@pytest.fixture(scope="module")
def mini_report(mini: kamsim.Results, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(mini, tmp_path_factory.mktemp("rep") / "report", spec=SPEC).parent


def _data(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "report.json").read_text())


def test_report_files_and_findings_first(mini_report: Path) -> None:
    """The report has md/html/json, figures and CSVs, and opens with its Findings."""
    for name in (
        "report.html",
        "headline.csv",
        "summary.csv",
        "risk_return.csv",
        "comparisons.csv",
        "stage_distribution.csv",
        "whale_curve.csv",
        "value_by_cell.png",
        "risk_return.png",
        "whale_curve.png",
        "stage_mix.png",
        "comparisons.png",
    ):
        assert (mini_report / name).is_file(), name
    text = (mini_report / "report.md").read_text()
    assert text.index("## Findings") < text.index("![") < text.index("## Tables")
    assert text.startswith("# Mini\n\nthree policies x two sizes")
    page = (mini_report / "report.html").read_text()
    assert page.index('id="findings"') < page.index("data:image/png;base64")
    assert 'id="kamsim-report-data"' in page


def test_findings_numbers_match_the_data(mini: kamsim.Results, mini_report: Path) -> None:
    """The best policy, its gain over the baseline and the peak size are recomputed."""
    runs = mini.runs
    value = value_column(runs)  # NPV with terminal value when the results have it
    found = {f["topic"]: f for f in _data(mini_report)["findings"]}
    # best policy averaged over sizes: per replication mean over sizes, then mean
    means = runs.groupby(["policy", "replication"])[value].mean().groupby("policy").mean()
    best = str(means.idxmax())
    assert f"**{best}**" in found["best_policy"]["text"]
    assert found["best_policy"]["numbers"]["best_mean"] == pytest.approx(means[best])
    wide = runs.pivot_table(
        index=["replication", "n_accounts"], columns="policy", values=value
    )
    diff = (wide[best] - wide["none"]).groupby("replication").mean()
    assert found["best_policy"]["numbers"]["best_diff"] == pytest.approx(diff.mean())
    half = stats.t.ppf(0.975, diff.size - 1) * diff.std(ddof=1) / np.sqrt(diff.size)
    assert found["best_policy"]["numbers"]["best_ci_low"] == pytest.approx(
        diff.mean() - half
    )
    assert fmt_money(means[best]) in found["best_policy"]["text"]
    assert fmt_signed(diff.mean()) in found["best_policy"]["text"]
    # the size at which greedy_roi adds most over none
    gain = (wide["greedy_roi"] - wide["none"]).groupby("n_accounts").mean()
    sizes = [f for f in _data(mini_report)["findings"] if f["topic"] == "best_size"]
    g = next(f for f in sizes if "greedy_roi" in f["text"])
    assert g["numbers"]["greedy_roi_peak_size"] == gain.idxmax()
    assert g["numbers"]["greedy_roi_peak_gain"] == pytest.approx(gain.max())
    assert f"**{int(gain.idxmax())} accounts**" in g["text"]
    assert "noise" in found  # the last finding says which differences are noise


def test_every_cell_drawn_with_named_factors(mini_report: Path) -> None:
    """Each per-cell figure draws every cell; panels and legends name their factors."""
    data = _data(mini_report)
    cells = {tuple(sorted(c.items())) for c in data["cells"]}
    assert len(cells) == 6
    for fig in data["figures"]:
        if fig["file"].startswith(("value_by_cell", "risk_return", "stage_mix", "whale")):
            drawn = {tuple(sorted(c.items())) for p in fig["panels"] for c in p["cells"]}
            assert drawn == cells, fig["file"]
        titles = [p["title"] for p in fig["panels"] if p["title"]]
        for line in (x for t in titles for x in t.splitlines()):
            assert any(f in line for f in data["factors"]), (fig["file"], line)
        for leg in fig["legends"]:
            assert leg["title"] in ("policy", "n_accounts", "stage"), fig["file"]
    value = next(f for f in data["figures"] if f["file"] == "value_by_cell.png")
    assert value["legends"][0]["title"] == "policy"
    assert value["legends"][0]["labels"] == ["none", "uniform", "greedy_roi"]
    risk = next(f for f in data["figures"] if f["file"] == "risk_return.png")
    assert risk["label_overlaps"] == 0


def test_many_panels_split_over_figures_not_dropped(tmp_path: Path) -> None:
    """With 16 panels, per-cell figures are split into pages and still show every cell."""
    factors = {
        "budget": [40.0, 80.0, 120.0, 160.0],
        "hazard": [0.0, 0.01, 0.02, 0.03],
        "n_accounts": [3, 4],
        "policy": ["none", "uniform"],
    }
    runs_only = kamsim.Results(
        runs=_experiment(factors, 8, 4, 1).runs, quarters=pd.DataFrame()
    )
    spec = {"name": "wide", "quarters": 4, "seed": 1, "factors": factors}
    folder = write_report(runs_only, tmp_path / "report", spec=spec).parent
    data = _data(folder)
    assert len(data["cells"]) == 64
    pages = [f for f in data["figures"] if f["file"].startswith("value_by_cell")]
    assert [f["file"] for f in pages] == ["value_by_cell_1.png", "value_by_cell_2.png"]
    drawn = {
        tuple(sorted(c.items())) for f in pages for p in f["panels"] for c in p["cells"]
    }
    assert len(drawn) == 64
    assert "figure 1 of 2" in pages[0]["caption"]
    md = (folder / "report.md").read_text()
    assert "The 5 highest and 5 lowest of 64 cells" in md  # long table summarised
    assert len(pd.read_csv(folder / "headline.csv")) == 64  # in full beside it


def test_value_metric_prefers_npv_terminal(mini: kamsim.Results) -> None:
    """With an npv_terminal column the design and findings use NPV with terminal value."""
    runs = mini.runs.assign(npv_terminal=mini.runs["npv"] + 1000.0)
    d = Design.from_runs(runs, SPEC)
    assert d.value == "npv_terminal" and d.value_label == "NPV with terminal value"
    assert d.baseline == "none" and d.factors == ("n_accounts", "policy")
    found = {f.topic: f for f in find(runs, d)}
    best = runs.groupby(["policy", "replication"])["npv_terminal"].mean().groupby("policy")
    assert "highest mean NPV with terminal value" in found["best_policy"].text
    assert found["best_policy"].numbers["best_mean"] == pytest.approx(best.mean().max())


def test_failed_report_leaves_nothing(tmp_path: Path) -> None:
    """A report of empty results raises a ParameterError and leaves no folder behind."""
    empty = kamsim.Results(runs=pd.DataFrame(), quarters=pd.DataFrame())
    with pytest.raises(ParameterError, match="no runs"):
        write_report(empty, tmp_path / "report", spec=SPEC)
    assert list(tmp_path.iterdir()) == []


def test_write_reports_needs_a_manifest(tmp_path: Path) -> None:
    """write_reports on a folder without experiments names the problem."""
    with pytest.raises(ParameterError, match=r"manifest\.json"):
        write_reports(tmp_path)


def test_write_reports_from_runner(tmp_path: Path) -> None:
    """write_reports finds an experiment folder written by the runner and reports it."""
    from kamsim.experiments import load_spec, run_experiment

    spec_file = tmp_path / "mini.toml"
    spec_file.write_text(
        'name = "mini"\nreplications = 20\nquarters = 8\nseed = 3\n'
        '[factors]\nn_accounts = [5]\npolicy = ["none", "greedy_roi"]\n'
    )
    run_experiment(load_spec(spec_file), out=tmp_path / "res", workers=1, quiet=True)
    paths = write_reports(tmp_path / "res")
    assert paths == [tmp_path / "res" / "mini" / "report" / "report.md"]
    manifest = json.loads((tmp_path / "res" / "mini" / "manifest.json").read_text())
    assert manifest["spec"]["name"] == "mini"
    assert "greedy_roi" in paths[0].read_text()
