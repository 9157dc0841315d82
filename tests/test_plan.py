"""`kamsim plan` and kamsim.plan: where the team's budget should go (issue 21)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from kamsim import ParameterError, Portfolio
from kamsim.cli.main import cli
from kamsim.plan import plan, write_plan_report
from kamsim.plan.report import PLAN_COLUMNS
from kamsim.plan.run import SEARCHED

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "portfolio.csv"


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return Portfolio.from_file(EXAMPLE)


def test_cli_plans_the_example(tmp_path: Path) -> None:
    """The command writes the report and plan.csv with a row for every account."""
    out = tmp_path / "plan"
    rules = ["--policy", "uniform", "--policy", "quadrant", "--policy", "stage_gated"]
    args = ["plan", str(EXAMPLE), "--budget", "600", "--out", str(out), "--quiet",
            "--replications", "20", "--quarters", "20", *rules]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "recommended rule:" in res.output and "gain over" in res.output
    for name in ("report.html", "report.md", "report.json", "plan.csv", "npv_by_rule.png"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "plan.csv")
    pf = Portfolio.from_file(EXAMPLE)
    assert list(table["account"]) == list(pf.names)
    assert list(table.columns) == list(PLAN_COLUMNS)
    assert table["invest_next_year"].sum() == pytest.approx(600.0, rel=0.02)
    for col in ("p_up_2y", "p_lost_2y", "p_up_5y", "p_lost_5y"):
        assert table[col].between(0, 1).all()
    assert (table["p_lost_5y"] >= table["p_lost_2y"]).all()
    md = (out / "report.md").read_text()
    first = md[: md.index("## Per account")]
    assert "Recommended rule" in first and "Gain over the alternatives" in first
    assert "Where next year's budget goes" in first and "Assumed" in first
    data = json.loads((out / "report.json").read_text())
    assert data["recommended"] in ("uniform", "quadrant", "stage_gated")
    assert data["settings"]["budget_per_quarter"] == 150.0
    assert data["figures"][0]["text_clashes"] == []


BAD = (
    "account,revenue,stage,share_of_wallet\n"
    "Alpha,100,tactical,120%\n"
    "Alpha,50,cooperative,20%\n"
    "Gamma,-5,superb,10%\n"
)


def test_cli_bad_file_exit_2_nothing_written(tmp_path: Path) -> None:
    """A bad file gives its problems one per line, exit code 2, and writes nothing."""
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    out = tmp_path / "plan"
    res = CliRunner().invoke(cli, ["plan", str(bad), "--budget", "600", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = [x for x in res.output.splitlines() if str(bad) in x]
    assert len(lines) >= 3  # share, duplicate, revenue, stage: each its own line
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_cli_missing_file_and_bad_budget(tmp_path: Path) -> None:
    """A missing file or a negative budget is refused with exit code 2."""
    out = tmp_path / "plan"
    res = CliRunner().invoke(cli, ["plan", str(tmp_path / "no.csv"), "--budget", "600",
                                   "--out", str(out)])  # fmt: skip
    assert res.exit_code == 2 and not out.exists()
    res = CliRunner().invoke(
        cli, ["plan", str(EXAMPLE), "--budget", "-1", "--out", str(out)]
    )
    assert res.exit_code == 2 and not out.exists()


def test_plan_chooses_on_one_set_and_reports_on_another(portfolio: Portfolio) -> None:
    """The recommended rule is the selection's best; gains are paired on other seeds."""
    res = plan(portfolio, 400, replications=12, quarters=12, policies=["uniform", "none"])
    assert res.recommended == res.selection.iloc[0]["policy"]
    assert res.settings["budget_per_quarter"] == 100.0
    t = res.candidates.set_index("policy")
    other = "none" if res.recommended == "uniform" else "uniform"
    diff = res.npv[res.recommended] - res.npv[other]
    assert t.loc[other, "gain"] == pytest.approx(diff.mean())
    # held out: the reported mean is not the selection's
    chosen = float(res.selection.set_index("policy").loc[res.recommended, "mean"])
    assert t.loc[res.recommended, "mean"] != chosen
    assert np.isfinite(res.accounts["npv_contribution"]).all()
    with pytest.raises(ParameterError, match="budget"):
        plan(portfolio, -5.0)


def test_plan_optimize_adds_the_searched_rule(portfolio: Portfolio, tmp_path: Path) -> None:
    """With optimize the searched rule joins the candidates, and the report is written."""
    res = plan(portfolio, 600, replications=6, quarters=8, policies=["uniform"],
               optimize=True, trials=3)  # fmt: skip
    assert SEARCHED in res.candidates["policy"].tolist()
    report = write_plan_report(res, tmp_path / "p")
    assert "searched rule from 3 trials" in report.read_text()
    assert (tmp_path / "p" / "rule.toml").is_file()  # reusable as --policy
