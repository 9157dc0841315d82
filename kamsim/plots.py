"""Matplotlib figures of kamsim results.

Every function takes a tidy DataFrame (computed by :mod:`kamsim.metrics` or
:mod:`kamsim.analysis`) and an optional ``ax``, draws on it, and returns the Axes.
No computation of results happens here; axes carry labels with units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from kamsim.metrics import STAGE_LABELS

__all__ = [
    "plot_comparison",
    "plot_metric_by",
    "plot_risk_return",
    "plot_stage_distribution",
    "plot_whale_curve",
]

STAGE_COLORS = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")


def _ax(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=(6.4, 4.0))
    return new


def _label(key: Any, names: Sequence[str]) -> str:
    key_t = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{n}={v}" for n, v in zip(names, key_t, strict=True))


def plot_stage_distribution(
    df: pd.DataFrame, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Stacked area of the mean number of relationships per stage over time.

    Args:
        df: one row per quarter with columns ``quarter`` and the four stage names
            (from :func:`kamsim.metrics.stage_distribution`, one group).
        ax: Axes to draw on (a new figure if None).
        title: optional title.
    """
    ax = _ax(ax)
    d = df.sort_values("quarter")
    ax.stackplot(
        d["quarter"].to_numpy(),
        *[d[s].to_numpy(dtype=np.float64) for s in STAGE_LABELS],
        labels=list(STAGE_LABELS),
        colors=STAGE_COLORS,
    )
    ax.set_xlabel("quarter")
    ax.set_ylabel("relationships (mean count)")
    ax.legend(loc="upper right", fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_whale_curve(
    df: pd.DataFrame, ax: Axes | None = None, group: Sequence[str] | str | None = None
) -> Axes:
    """Customer-profitability (whale) curve, one line per group.

    Args:
        df: columns ``account_share``, ``cum_profit_share`` (from
            :func:`kamsim.metrics.whale_curve`) and the ``group`` columns.
        ax: Axes to draw on.
        group: columns distinguishing the lines.
    """
    ax = _ax(ax)
    keys = [group] if isinstance(group, str) else list(group or [])
    groups = df.groupby(keys, sort=True, observed=True) if keys else [((), df)]
    for key, g in groups:
        g = g.sort_values("account_share")
        ax.plot(
            100 * g["account_share"],
            100 * g["cum_profit_share"],
            marker=".",
            label=_label(key, keys) if keys else None,
        )
    ax.axhline(100, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("accounts ranked by lifetime profit (% of accounts)")
    ax.set_ylabel("cumulative profit (% of total)")
    if keys:
        ax.legend(fontsize="small")
    return ax


def plot_risk_return(
    df: pd.DataFrame,
    ax: Axes | None = None,
    x: str = "cvar05",
    y: str = "mean",
    label: Sequence[str] | str | None = None,
    xlabel: str = "CVaR 5 % of NPV (k€)",
    ylabel: str = "mean NPV (k€)",
) -> Axes:
    """Risk-return scatter: mean NPV against its downside, one labelled point per cell.

    Args:
        df: one row per cell (from :func:`kamsim.metrics.downside`).
        ax: Axes to draw on.
        x: downside column (``q05`` or ``cvar05``).
        y: return column.
        label: columns used to label the points.
        xlabel: x-axis label (with units).
        ylabel: y-axis label (with units).
    """
    ax = _ax(ax)
    keys = [label] if isinstance(label, str) else list(label or [])
    ax.scatter(df[x], df[y], s=18)
    if keys:
        for _, row in df.iterrows():
            text = ", ".join(str(row[k]) for k in keys)
            ax.annotate(
                text,
                (row[x], row[y]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def plot_metric_by(
    df: pd.DataFrame,
    x: str,
    ax: Axes | None = None,
    hue: str | None = None,
    ylabel: str = "mean (95 % CI)",
    xlabel: str | None = None,
) -> Axes:
    """Mean with 95 % CI error bars of one metric against a factor.

    Args:
        df: rows of :func:`kamsim.analysis.summarize` for one metric (columns
            ``mean``, ``ci_low``, ``ci_high``, ``x`` and ``hue``).
        x: the factor on the horizontal axis (numeric or categorical).
        ax: Axes to draw on.
        hue: factor distinguishing the lines.
        ylabel: y-axis label (with units).
        xlabel: x-axis label (default ``x``).
    """
    ax = _ax(ax)
    groups = df.groupby(hue, sort=True, observed=True) if hue else [(None, df)]
    numeric = pd.api.types.is_numeric_dtype(df[x])
    cats = list(pd.unique(df[x]))
    for key, g in groups:
        xs = g[x].to_numpy() if numeric else np.array([cats.index(v) for v in g[x]])
        order = np.argsort(xs, kind="stable")
        mean = g["mean"].to_numpy(dtype=np.float64)[order]
        lo = g["ci_low"].to_numpy(dtype=np.float64)[order]
        hi = g["ci_high"].to_numpy(dtype=np.float64)[order]
        ax.errorbar(  # type: ignore[misc]
            xs[order],
            mean,
            yerr=[mean - lo, hi - mean],
            marker="o",
            ms=3,
            capsize=2,
            label=(hue + "=" + str(key)) if hue else None,
        )
    if not numeric:
        ax.set_xticks(range(len(cats)), [str(c) for c in cats], rotation=30, ha="right")
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel)
    if hue:
        ax.legend(fontsize="small")
    return ax


def plot_comparison(
    df: pd.DataFrame,
    ax: Axes | None = None,
    label: str = "policy",
    xlabel: str = "paired difference in NPV vs baseline (k€, 95 % CI)",
) -> Axes:
    """Horizontal bars of paired differences with 95 % CI whiskers.

    Args:
        df: rows of :func:`kamsim.analysis.compare` for one metric and group.
        ax: Axes to draw on.
        label: column naming each bar.
        xlabel: x-axis label (with units).
    """
    ax = _ax(ax)
    d = df.sort_values("diff")
    y = np.arange(len(d))
    diff = d["diff"].to_numpy(dtype=np.float64)
    err = [
        diff - d["ci_low"].to_numpy(dtype=np.float64),
        d["ci_high"].to_numpy(dtype=np.float64) - diff,
    ]
    ax.barh(y, diff, xerr=err, capsize=3, color="#6baed6")
    ax.set_yticks(y, [str(v) for v in d[label]])
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(xlabel)
    return ax
