"""Policy tournaments: which investment policy wins against which.

A tournament experiment (``experiments/policy_tournament.toml``) crosses the focal
supplier's policy with its rivals' policy, on common random numbers, so every policy
meets every other in both positions. These functions read its ``suppliers`` frame
(one row per replication and supplier) and return tidy tables and figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["is_tournament", "matchups", "plot_matchups", "standings"]


def is_tournament(results: Any) -> bool:
    """True for a tournament: policies meeting each other in both positions.

    The focal and the rivals' policies both vary, the suppliers frame was kept,
    every cell has the same number of rivals (at least one) and every rivals'
    policy also plays as the focal policy. A spec that varies ``rivals`` (so some
    cells have none) or crosses unrelated focal and rival policies is not one.
    """
    runs, sup = results.runs, results.suppliers
    if (
        sup is None
        or sup.empty
        or not all(c in runs.columns for c in ("policy", "rival_policy"))
        or runs["policy"].nunique() < 2
        or runs["rival_policy"].nunique() < 2
    ):
        return False
    if "rivals" in runs.columns and (
        runs["rivals"].nunique() > 1 or int(runs["rivals"].min()) < 1
    ):
        return False
    rival = set(runs["rival_policy"].astype(str))
    return "n/a" not in rival and rival <= set(runs["policy"].astype(str))


def matchups(suppliers: pd.DataFrame, value: str = "npv_terminal") -> pd.DataFrame:
    """One row per (policy, opponent): the focal policy's results against that opponent.

    Columns: ``policy`` (the focal supplier's), ``opponent`` (the rivals'),
    ``value`` mean and 95 % CI half-width of the focal supplier, the same for the
    first rival (``opponent_value``), the focal supplier's mean market share, its win
    rate (share of replications in which it earns more than the first rival) and the
    number of replications ``n``.
    """
    focal = suppliers[suppliers["supplier"] == 0]
    rival = suppliers[suppliers["supplier"] == 1]
    keys = ["cell", "replication"]
    both = focal.merge(
        rival[[*keys, value, "mean_market_share", "supplier_policy"]],
        on=keys,
        suffixes=("", "_opp"),
    )
    rows = []
    for (pol, opp), g in both.groupby(["policy", "supplier_policy_opp"], sort=True):
        v, vo = g[value].to_numpy(float), g[f"{value}_opp"].to_numpy(float)
        n = len(g)
        half = 1.96 * v.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
        rows.append(
            {
                "policy": pol,
                "opponent": opp,
                value: v.mean(),
                f"{value}_ci": half,
                f"opponent_{value}": vo.mean(),
                "market_share": g["mean_market_share"].mean(),
                "opponent_market_share": g["mean_market_share_opp"].mean(),
                "win_rate": float(np.mean(v > vo)),
                "n": n,
            }
        )
    return pd.DataFrame(rows)


def standings(table: pd.DataFrame, value: str = "npv_terminal") -> pd.DataFrame:
    """Each policy's average over all opponents, best first.

    Columns: ``policy``, mean ``value``, mean market share, mean win rate, and the
    opponent it does best and worst against.
    """
    rows = []
    for pol, g in table.groupby("policy", sort=False):
        by_value = g.sort_values(value)
        rows.append(
            {
                "policy": pol,
                value: g[value].mean(),
                "market_share": g["market_share"].mean(),
                "win_rate": g["win_rate"].mean(),
                "best_against": by_value["opponent"].iloc[-1],
                "worst_against": by_value["opponent"].iloc[0],
            }
        )
    out = pd.DataFrame(rows)
    return out.sort_values(value, ascending=False, ignore_index=True)


def plot_matchups(
    table: pd.DataFrame,
    value: str,
    *,
    ax: Any = None,
    fmt: str = "{:,.0f}",
    label: str = "",
) -> Any:
    """Heatmap of ``value`` with the focal policy in rows and the opponent in columns.

    Every cell is shown and annotated; rows and columns are in the same order.
    Returns the Axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 6))
    grid = table.pivot(index="policy", columns="opponent", values=value)
    order = sorted(set(grid.index) | set(grid.columns))
    grid = grid.reindex(index=order, columns=order)
    im = ax.imshow(grid.to_numpy(float), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(order)), order, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(order)), order, fontsize=8)
    ax.set_xlabel("opponent's policy (rival_policy)")
    ax.set_ylabel("policy (focal supplier)")
    vals = grid.to_numpy(float)
    mid = np.nanmean(vals)
    for i in range(len(order)):
        for j in range(len(order)):
            v = vals[i, j]
            if np.isfinite(v):
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7,
                        color="white" if v < mid else "black")  # fmt: skip
    ax.figure.colorbar(im, ax=ax, label=label or value)
    return ax
