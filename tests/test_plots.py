"""Tests of the plotting functions: they draw on the given Axes with labelled axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from kamsim import plots


def test_stage_distribution_plot_stacks_four_stages() -> None:
    """The stage plot draws one stacked area per stage on the given Axes, with labels."""
    df = pd.DataFrame(
        {
            "quarter": [1, 2],
            "tactical": [5, 4],
            "cooperative": [0, 1],
            "interdependent": [0, 0],
            "strategic": [0, 0],
        }
    )
    fig, ax = plt.subplots()
    out = plots.plot_stage_distribution(df, ax=ax)
    assert out is ax and len(ax.collections) == 4
    assert ax.get_xlabel() == "quarter" and "relationships" in ax.get_ylabel()
    plt.close(fig)


def test_whale_risk_comparison_plots() -> None:
    """Whale, risk-return, metric and comparison plots return their Axes with units."""
    whale = pd.DataFrame(
        {"account_share": [0, 0.5, 1], "cum_profit_share": [0, 1.1, 1.0], "p": "a"}
    )
    ax = plots.plot_whale_curve(whale, group="p")
    assert len(ax.lines) == 2 and "%" in ax.get_ylabel()  # curve + 100 % line
    risk = pd.DataFrame({"mean": [1.0, 2.0], "cvar05": [-1.0, 0.5], "policy": ["a", "b"]})
    ax = plots.plot_risk_return(risk, label="policy")
    assert "k€" in ax.get_xlabel() and len(ax.texts) == 2
    summ = pd.DataFrame(
        {
            "n_accounts": [5, 10],
            "mean": [1.0, 2.0],
            "ci_low": [0.5, 1.5],
            "ci_high": [1.5, 2.5],
        }
    )
    ax = plots.plot_metric_by(summ, "n_accounts", ylabel="NPV (k€)")
    assert ax.get_xlabel() == "n_accounts" and ax.get_ylabel() == "NPV (k€)"
    comp = pd.DataFrame(
        {"policy": ["b", "c"], "diff": [1.0, -2.0], "ci_low": [0, -3], "ci_high": [2, -1]}
    )
    ax = plots.plot_comparison(comp)
    assert len(ax.patches) == 2 and "k€" in ax.get_xlabel()
    plt.close("all")
