"""Tests of the plotting functions: they draw on the given Axes with labelled axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from kamsim.reports import plots


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


def test_categorical_levels_are_points_and_quantities_lines() -> None:
    """Categories are drawn as unjoined points; a quantity such as size as a line."""
    summ = pd.DataFrame(
        {
            "policy": ["a", "b", "c", "a", "b", "c"],
            "n_accounts": [5, 5, 5, 10, 10, 10],
            "mean": [1.0, 2.0, 3.0, 2.0, 3.0, 4.0],
            "ci_low": [0.5, 1.5, 2.5, 1.5, 2.5, 3.5],
            "ci_high": [1.5, 2.5, 3.5, 2.5, 3.5, 4.5],
        }
    )
    ax = plots.plot_metric_by(summ, "policy", hue="n_accounts")
    assert all(
        line.get_linestyle() == "None" for line in ax.lines if len(line.get_xdata()) > 1
    )
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.get_legend().get_title().get_text() == "n_accounts"
    ax = plots.plot_metric_by(summ, "n_accounts", hue="policy")
    assert any(line.get_linestyle() == "-" for line in ax.lines)
    plt.close("all")


def test_risk_return_labels_do_not_overlap() -> None:
    """Twelve crowded point labels are placed without overlapping each other."""
    risk = pd.DataFrame(
        {
            "cvar05": [100.0 + i for i in range(12)],
            "mean": [1000.0 + 3 * i for i in range(12)],
            "policy": [f"policy_{i}" for i in range(12)],
        }
    )
    fig, ax = plt.subplots(figsize=(6, 4))
    plots.plot_risk_return(risk, ax=ax, label="policy")
    assert len(ax.texts) == 12
    assert plots.label_overlaps(fig) == 0
    plt.close(fig)


def test_palette_gives_distinct_colours() -> None:
    """Sixteen categories get sixteen different colours (no repeats after ten)."""
    cols = plots.palette([f"c{i}" for i in range(16)])
    assert len({tuple(c) for c in cols.values()}) == 16
    ordered = plots.palette([5, 10, 20], ordered=True)
    assert len({tuple(c) for c in ordered.values()}) == 3
