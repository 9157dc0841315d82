"""Tests of the plotting functions: they draw on the given Axes with labelled axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
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


# ------------------------------------------------- issue 22: readable labels
def test_text_clashes_finds_cut_touching_and_overlapping_text() -> None:
    """A label past the edge, ticks "5" and "8" that read "58", panels that collide."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(4, 2))
    a.set_xticks([5, 5.02], ["5", "8"])  # 5 and 8 drawn next to each other
    a.set_xlim(0, 10)
    a.set_ylabel("Δ NPV with terminal value vs uniform (k€, 95 % CI)")  # too long
    found = plots.text_clashes(fig)
    assert "x tick labels '5' and '8' touch" in found
    assert "y label cut off at the figure's edge" in found
    a.set_title("a title long enough to reach the next panel")
    b.set_title("and a title long enough to reach the previous one")
    assert any("of another panel" in c for c in plots.text_clashes(fig))
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.set_xticks(range(8), [f"policy_{i}" for i in range(8)], rotation=30, ha="right")
    ax.set_ylabel("mean NPV (k€)")
    assert plots.text_clashes(fig) == []  # slanted labels side by side are fine
    plt.close(fig)


def test_long_panel_labels_wrap_instead_of_running_off() -> None:
    """A paired-difference panel's long y label is cut without wrapping, not with it."""
    label = "Δ NPV with terminal value vs uniform (k€, 95 % CI)"
    fig, axes = plt.subplots(2, 4, figsize=(15, 6), layout="constrained")
    for ax in axes.flat:
        ax.plot([5, 20, 40], [0, 2000, 5000])
        ax.set_ylabel(label)
        ax.set_title("lose_largest_at = off\ndownturn_probability = 0", fontsize=8)
    assert plots.text_clashes(fig) != []
    for ax in axes.flat:
        plots.wrap_labels(ax)
        assert max(len(line) for line in ax.get_ylabel().split("\n")) <= 30
    assert plots.text_clashes(fig) == []
    plt.close(fig)


def test_comparison_bars_have_spaced_ticks_on_a_small_panel() -> None:
    """Eight bars named by long policies in a small panel: the x ticks do not touch."""
    names = ["revenue_proportional", "potential_weighted", "greedy_roi", "none"] * 2
    comp = pd.DataFrame(
        {
            "policy": [f"{n}_{i}" for i, n in enumerate(names)],
            "diff": [-6000.0 + 2100 * i for i in range(8)],
            "ci_low": [-7000.0 + 2100 * i for i in range(8)],
            "ci_high": [-5000.0 + 2100 * i for i in range(8)],
        }
    )
    fig, ax = plt.subplots(figsize=(3.5, 2.8), layout="constrained")
    plots.plot_comparison(comp, ax=ax, xlabel="Δ NPV (k€, 95 % CI)")
    assert len(ax.get_xticks()) <= 6
    assert plots.text_clashes(fig) == []
    plt.close(fig)


def test_crowded_risk_return_labels_the_frontier_only() -> None:
    """64 points: about 12 labels, the frontier and the extremes among them."""
    rng = np.random.default_rng(1)
    risk = pd.DataFrame(
        {
            "cvar05": rng.uniform(0, 10_000, 64),
            "mean": rng.uniform(0, 25_000, 64),
            "policy": [f"p{i}" for i in range(64)],
        }
    )
    keep = plots.risk_return_labelled(risk)
    assert 3 <= keep.sum() <= plots.MAX_POINT_LABELS
    x, y = risk["cvar05"].to_numpy(), risk["mean"].to_numpy()
    for i in range(64):  # every frontier point is labelled
        if not ((x >= x[i]) & (y >= y[i]) & ((x > x[i]) | (y > y[i]))).any():
            assert keep[i]
    assert keep[int(np.argmin(y))] and keep[int(np.argmin(x))]
    assert plots.risk_return_labelled(risk.head(12)).all()  # few points: all labelled
    fig, ax = plt.subplots(figsize=(6, 4))
    plots.plot_risk_return(risk, ax=ax, label="policy", max_labels=12)
    assert len(ax.texts) == keep.sum() and len(ax.collections) == 1
    assert plots.label_overlaps(fig) == 0
    plt.close(fig)
