"""Global sensitivity analysis: indices that behave, reproducibility, store, errors, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import kamsim
from kamsim import ModelParams
from kamsim.cli.main import cli
from kamsim.experiments.design import value_column
from kamsim.experiments.spec import SpecError
from kamsim.sensitivity.report import write_sensitivity_report
from kamsim.sensitivity.run import SensitivityResult, sensitivity
from kamsim.sensitivity.spec import default_range, load_sensitivity_spec


def tiny(**changes: Any) -> dict[str, Any]:
    """A small Sobol study: a dominant, a dummy and a weak parameter (80 points)."""
    spec: dict[str, Any] = {
        "name": "tiny_gsa",
        "method": "sobol",
        "samples": 16,
        "replications": 8,
        "quarters": 12,
        "seed": 11,
        "parameters": ["gross_margin", "disruption_dependency", "trust_loss"],
        "ranges": {"gross_margin": [0.15, 0.45]},
        "outputs": ["value", "account_disruption_cost"],
        "fixed": {"n_accounts": 8, "policy": "uniform", "disruption_probability": 0.0},
    }
    spec.update(changes)
    return spec


@pytest.fixture(scope="module")
def sobol() -> SensitivityResult:
    return sensitivity(tiny(), workers=1, quiet=True)


def _row(res: SensitivityResult, output: str, parameter: str) -> pd.Series:
    d = res.indices
    return d[(d["output"] == output) & (d["parameter"] == parameter)].iloc[0]


def test_parameter_without_effect_has_zero_total_index(sobol: SensitivityResult) -> None:
    """disruption_dependency with no disruptions: ST indistinguishable from 0."""
    row = _row(sobol, "value", "disruption_dependency")
    assert row["ST"] - row["ST_conf"] <= 0.0 <= row["ST"] + row["ST_conf"]
    assert abs(row["ST"]) < 1e-12  # common random numbers: identical outputs
    assert row["verdict"] == "negligible"
    # with no disruptions the accounts' disruption cost never varies: not analysed
    assert any("account_disruption_cost" in n for n in sobol.notes)


def test_dominant_parameter_ranked_first(sobol: SensitivityResult) -> None:
    """Gross margin over [0.15, 0.45] dominates NPV: rank 1, influential, ST > 0.5."""
    row = _row(sobol, "value", "gross_margin")
    assert row["rank"] == 1 and row["verdict"] == "influential" and row["ST"] > 0.5
    assert sobol.top("value", 1) == ["gross_margin"]
    assert len(sobol.points) == 16 * (3 + 2)


def test_same_spec_and_seed_give_identical_indices(sobol: SensitivityResult) -> None:
    """Rerunning the same spec (on two workers) gives identical indices; a new seed not."""
    again = sensitivity(tiny(), workers=2, quiet=True)
    pd.testing.assert_frame_equal(sobol.indices, again.indices)
    other = sensitivity(tiny(seed=12), workers=1, quiet=True)
    assert not other.indices["ST"].equals(sobol.indices["ST"])


def test_morris_screens_the_same_way() -> None:
    """Morris: the dummy has mu* = 0, gross margin has the largest mu*."""
    res = sensitivity(tiny(method="morris", samples=6), workers=1, quiet=True)
    d = res.indices[res.indices["output"] == "value"].set_index("parameter")
    assert d.loc["disruption_dependency", "mu_star"] == 0.0
    assert d["mu_star"].idxmax() == "gross_margin"
    assert d.loc["disruption_dependency", "verdict"] == "negligible"


def test_runs_through_the_store_and_resumes(
    tmp_path: Path, sobol: SensitivityResult
) -> None:
    """With out= the points are stored with a manifest; a rerun runs only the missing."""
    first = sensitivity(tiny(), out=tmp_path, workers=1, quiet=True)
    folder = tmp_path / "tiny_gsa"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["spec"]["kind"] == "sensitivity" and manifest["status"] == "complete"
    files = sorted((folder / "runs").glob("*.parquet"))
    assert len(files) == 80
    for f in files[:5]:
        f.unlink()
    again = sensitivity(tiny(), out=tmp_path, workers=1, quiet=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["sessions"][-1]["units_to_run"] == 5
    pd.testing.assert_frame_equal(first.indices, again.indices)
    pd.testing.assert_frame_equal(first.indices, sobol.indices)


def test_robustness_checks_policies_and_sizes() -> None:
    """The robustness table: the defaults first, then a best policy and size per point."""
    spec = tiny(
        robustness={
            "points": 3,
            "policies": ["none", "uniform"],
            "n_accounts": [4, 8],
            "size_baseline": "none",
        }
    )
    res = sensitivity(spec, workers=1, quiet=True)
    rob = res.robustness
    assert rob is not None and len(rob) == 4 and bool(rob.loc[0, "is_default"])
    assert rob.loc[0, "gross_margin"] == pytest.approx(0.3)  # the model default
    assert set(rob["best_policy"]) <= {"none", "uniform"}
    assert set(rob["best_size"]) <= {4, 8}
    runs = res.results.runs
    point0 = runs[(runs["point"] == 0) & (runs["design"] == "policy")]
    means = point0.groupby("policy")[value_column(point0)].mean()
    assert rob.loc[0, "best_policy"] == means.idxmax()


def test_report_findings_quote_the_indices(
    sobol: SensitivityResult, tmp_path: Path
) -> None:
    """The report opens with Findings naming the top parameter and its ST from the data."""
    md = write_sensitivity_report(sobol, tmp_path / "report")
    text = md.read_text()
    assert text.index("## Findings") < text.index("![")
    data = json.loads((md.parent / "report.json").read_text())
    first = data["findings"][0]
    st = _row(sobol, "value", "gross_margin")["ST"]
    assert first["numbers"]["ST_gross_margin"] == pytest.approx(st)
    assert f"gross_margin (ST {st:.2f}" in first["text"]
    assert "disruption_dependency" in first["text"]  # negligible, and named as such
    assert (md.parent / "indices.csv").is_file() and (md.parent / "indices.png").is_file()


def test_default_ranges_and_per_stage_factors() -> None:
    """Default ranges are ±50 % of the default; per-stage factors keep allowed bounds."""
    r = default_range("trust_gain")
    gain = ModelParams().trust_gain
    assert (r.lo, r.hi) == pytest.approx((0.5 * gain, 1.5 * gain))
    assert r.origin == "default ±50 %"
    cap = default_range("share_cap")
    assert cap.per_stage and (cap.lo, cap.hi) == (0.5, 1.5)
    expected = tuple(min(1.0, 1.5 * v) for v in ModelParams().share_cap)
    assert cap.apply(1.5) == pytest.approx(expected)  # capped at 1
    assert default_range("min_tenure").apply(4.4) == 4  # integers round


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"methd": "sobol"}, r"'methd' is not a spec key \(did you mean 'method'\?\)"),
        ({"method": "fast"}, r"'method' must be one of \['sobol', 'morris'\]: 'fast'"),
        ({"samples": 24}, r"'samples' must be a power of 2 .*: 24"),
        ({"parameters": ["gross_margn"]}, r"did you mean 'gross_margin'"),
        (
            {"ranges": {"gross_margin": [0.5, 0.2]}},
            r"'ranges.gross_margin' must be \[low, high\]",
        ),
        ({"ranges": {"gross_margin": [0.5, 1.2]}}, r"must lie within the allowed range"),
        (
            {"outputs": ["npvv"]},
            r"'outputs' must name columns .*'npvv' \(did you mean 'npv'\?\)",
        ),
        ({"outputs": ["npv:median"]}, r"statistic must be one of"),
        (
            {"fixed": {"n_accounts": 0}},
            r"'fixed.n_accounts' must be an integer in \[1, 500\]",
        ),
        ({"fixed": {"budget": -5}}, r"fixed.budget: 'budget' must be a number in .*: -5"),
        ({"fixed": {"trust_loss": 0.3}}, r"'fixed.trust_loss' is varied"),
        (
            {"robustness": {"policies": ["none", "unifrom"]}},
            r"robustness.policies: .*uniform",
        ),
        ({"replications": 0}, r"'replications' must be an integer in \[2, "),
        ({"parameters": ["gross_margin"]}, r"at least two parameters"),
    ],
)
def test_bad_specs_give_one_clear_error(change: dict[str, Any], message: str) -> None:
    """Each mistake raises one SpecError naming the field, the value and what is allowed."""
    with pytest.raises(SpecError, match=message) as info:
        load_sensitivity_spec(tiny(**change))
    assert "\n" not in str(info.value)


def test_cli_runs_reports_and_says_when_nothing_is_left(tmp_path: Path) -> None:
    """`kamsim sensitivity` prints top parameters and the report; reruns have no work."""
    spec = tmp_path / "gsa.toml"
    spec.write_text(
        'name = "cli_gsa"\nsamples = 8\nreplications = 4\nquarters = 8\nseed = 2\n'
        'parameters = ["gross_margin", "trust_loss"]\noutputs = ["value"]\n'
        "[fixed]\nn_accounts = 6\n"
    )
    args = ["sensitivity", str(spec), "--out", str(tmp_path / "res"), "--workers", "1"]
    res = CliRunner().invoke(cli, [*args, "--quiet"])
    assert res.exit_code == 0, res.output
    assert "(npv_terminal): gross_margin, trust_loss" in res.output
    report = tmp_path / "res" / "cli_gsa" / "report" / "report.html"
    assert f"report: {report}" in res.output and report.is_file()
    again = CliRunner().invoke(cli, [*args, "--quiet"])
    assert "nothing left to run" in again.output
    paths = CliRunner().invoke(cli, ["report", str(tmp_path / "res")])
    assert paths.exit_code == 0 and str(report) in paths.output


def test_cli_bad_spec_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    """A bad spec gives one usage line, exit code 2 and no results folder."""
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "bad"\nsamples = 10\nparameters = ["gross_margin", "hazard"]\n')
    res = CliRunner().invoke(
        cli, ["sensitivity", str(spec), "--out", str(tmp_path / "res")]
    )
    assert res.exit_code == 2 and "'samples' must be a power of 2" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "res").exists()


def test_public_function_is_exported() -> None:
    """kamsim.sensitivity is the sensitivity function (the Python entry point)."""
    assert kamsim.sensitivity is sensitivity


def test_dask_cluster_gives_the_same_indices(sobol: SensitivityResult) -> None:
    """Points run on a Dask LocalCluster give exactly the in-process indices."""
    from dask import distributed

    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        remote = sensitivity(tiny(), scheduler=cluster, quiet=True)
    assert remote.results.meta["sessions"][-1]["backend"] == "dask"
    pd.testing.assert_frame_equal(remote.indices, sobol.indices)
