"""Tests of the report writer: files, headline table first, atomic writing, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import kamsim
from kamsim.params import ParameterError
from kamsim.report import write_report, write_reports

SPEC = {
    "name": "mini",
    "description": "two policies x two sizes",
    "replications": 40,
    "quarters": 12,
    "seed": 5,
    "factors": {"n_accounts": [5, 10], "policy": ["none", "uniform"]},
    "params": {},
}


@pytest.fixture(scope="module")
def mini() -> kamsim.Results:
    cells = [(n, p) for n in (5, 10) for p in ("none", "uniform")]
    return kamsim.Results.concat(
        [
            kamsim.simulate(
                n_accounts=n,
                policy=p,
                replications=40,
                quarters=12,
                seed=5,
                factors={"cell": i},
            )
            for i, (n, p) in enumerate(cells)
        ]
    )


def test_write_report_files_and_headline(mini: kamsim.Results, tmp_path: Path) -> None:
    """A report has md/html, figures and CSV tables; the headline table comes first."""
    md = write_report(mini, tmp_path / "report", spec=SPEC)
    folder = md.parent
    for name in (
        "report.html",
        "summary.csv",
        "risk_return.csv",
        "comparisons.csv",
        "stage_distribution.csv",
        "whale_curve.csv",
        "risk_return.png",
        "whale_curve.png",
        "stage_distribution.png",
        "comparisons.png",
    ):
        assert (folder / name).is_file(), name
    text = md.read_text()
    first_table = text.index("| n_accounts | policy | NPV mean")
    assert first_table < text.index("![")
    head = pd.read_csv(folder / "headline.csv")
    assert len(head) == 4 and set(head["policy"]) == {"none", "uniform"}
    summ = pd.read_csv(folder / "summary.csv")
    npv = summ[(summ.metric == "npv") & (summ.policy == "none") & (summ.n_accounts == 5)]
    expected = mini.runs.query("policy == 'none' and n_accounts == 5")["npv"].mean()
    assert npv["mean"].iloc[0] == pytest.approx(expected)
    comp = pd.read_csv(folder / "comparisons.csv")
    assert set(comp["policy"]) == {"none"}  # compared against uniform
    assert "data:image/png;base64" in (folder / "report.html").read_text()


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
