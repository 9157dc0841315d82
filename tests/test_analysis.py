"""Tests of summarize() and compare(): CI coverage, pairing by replication, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kamsim
from kamsim.analysis.statistics import compare, factor_columns, mean_ci, summarize
from kamsim.model.params import ParameterError


def test_mean_ci_known_case() -> None:
    """The t interval of [1, 2, 3] is 2 +- t(0.975, 2) * 1 / sqrt(3) (t = 4.3027)."""
    ci = mean_ci([1.0, 2.0, 3.0])
    assert ci["mean"] == 2.0 and ci["n"] == 3
    assert ci["ci_high"] - 2.0 == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)


def test_ci_coverage_on_normal_data() -> None:
    """95 % CIs from summarize cover the true mean in 95 +- 1.5 % of 2000 normal samples."""
    rng = np.random.default_rng(123)
    k, n = 2000, 10
    runs = pd.DataFrame(
        {"group": np.repeat(np.arange(k), n), "npv": rng.normal(5.0, 2.0, k * n)}
    )
    s = summarize(runs, by=["group"], metrics=["npv"])
    covered = ((s["ci_low"] <= 5.0) & (5.0 <= s["ci_high"])).mean()
    assert abs(covered - 0.95) < 0.015


def test_compare_pairs_by_replication() -> None:
    """Paired comparison matches rows on replication and seed, not on row order."""
    base = pd.DataFrame(
        {
            "replication": [0, 1, 2],
            "seed": [10, 11, 12],
            "policy": "a",
            "npv": [1.0, 5.0, 9.0],
        }
    )
    other = pd.DataFrame(
        {
            "replication": [2, 0, 1],
            "seed": [12, 10, 11],
            "policy": "b",
            "npv": [10.0, 2.0, 6.0],
        }
    )
    c = compare(pd.concat([base, other]), baseline="a", by=[], metrics=["npv"])
    row = c.iloc[0]
    assert row["diff"] == pytest.approx(1.0) and row["sd"] == pytest.approx(0.0)
    assert row["n"] == 3 and row["policy"] == "b"


def test_compare_variance_reduction_on_crn() -> None:
    """On common random numbers the paired CI is narrower than unpaired (factor > 1)."""
    res = kamsim.Results.concat(
        [
            kamsim.simulate(n_accounts=10, policy=p, replications=100, seed=4)
            for p in ("uniform", "stage_gated")
        ]
    )
    c = compare(res, metrics=["npv"])
    assert c["variance_reduction"].iloc[0] > 1.5
    assert c["n"].iloc[0] == 100


def test_factor_columns_and_errors() -> None:
    """Factors default to n_accounts/policy; unknown names and baselines are explained."""
    res = kamsim.simulate(n_accounts=5, policy="none", replications=5, seed=1)
    assert factor_columns(res) == ["n_accounts", "policy", "rivals", "rival_policy"]
    assert set(summarize(res)["metric"]) >= {"npv", "final_n_strategic"}
    with pytest.raises(ParameterError, match="did you mean 'npv'"):
        summarize(res, metrics=["npvv"])
    with pytest.raises(ParameterError, match="'baseline'"):
        compare(res, baseline="uniform")
