"""Portfolio metrics of results: downside risk, concentration, dependency, whale curve.

The functions work on the tidy frames of :class:`kamsim.Results` (``runs``,
``quarters``, ``accounts``) and return numbers or tidy DataFrames; ``by`` names the
grouping columns (factors such as ``n_accounts`` and ``policy``). The per-quarter
record and NPV they summarise are :mod:`kamsim.model.records`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kamsim.model.records import QUARTER_COLUMNS, STAGE_LABELS

__all__ = [
    "EXIT_COLUMNS",
    "account_dependency",
    "cvar",
    "downside",
    "exits_by_cause",
    "major_customer_risk",
    "profit_concentration",
    "quantile_lower",
    "revenue_drop",
    "stage_distribution",
    "stage_times",
    "whale_curve",
]


# --- distribution-level metrics (across replications and accounts) -------------------
#
# The functions below work on the tidy frames of :class:`kamsim.Results` (``runs``,
# ``quarters``, ``accounts``) and return tidy DataFrames; ``by`` names the grouping
# columns (factors such as ``n_accounts`` and ``policy``).

#: End causes reported by :func:`exits_by_cause` and their ``runs`` columns.
EXIT_COLUMNS = {
    "switched": "exits_switched",
    "vanished": "exits_vanished",
    "dropped": "exits_dropped",
    "breach": "exits_breach",
    "faded": "exits_faded",
}


def _by(by: Sequence[str] | str | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def quantile_lower(values: Any, alpha: float = 0.05) -> float:
    """Lower ``alpha`` quantile of a sample (e.g. the 5 % quantile of NPV, k€).

    Uses linear interpolation between order statistics (NumPy's default), ignoring
    NaN. This is the level that the worst ``100 * alpha`` % of replications fall
    below (the value at risk expressed as a level, not a loss).
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan")
    return float(np.quantile(x, alpha))


def cvar(values: Any, alpha: float = 0.05) -> float:
    """Expected shortfall (CVaR) of the lower tail: mean of the worst ``alpha`` share.

    ``CVaR_alpha = mean of the k = ceil(alpha * N)`` smallest values of a sample of
    size N (NaN ignored), so ``CVaR_alpha <= quantile_alpha`` up to interpolation. For
    NPV it is the average outcome of the worst 5 % of worlds (k€).

    References:
        Rockafellar, R. T., & Uryasev, S. (2002). Conditional value-at-risk for general
        loss distributions. Journal of Banking & Finance 26(7), 1443-1471.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan")
    k = max(1, math.ceil(alpha * x.size - 1e-9))
    return float(np.mean(x[:k]))


def downside(
    runs: pd.DataFrame,
    by: Sequence[str] | str | None = None,
    metric: str = "npv",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Risk-return table per group: mean, sd, lower quantile and CVaR of ``metric``.

    Returns one row per group with columns ``mean``, ``sd``, ``q{alpha}`` (e.g.
    ``q05``), ``cvar{alpha}`` (e.g. ``cvar05``), ``p_loss`` (share of replications
    with ``metric < 0``) and ``n``.
    """
    tag = f"{round(alpha * 100):02d}"
    keys = _by(by)

    def one(x: pd.Series) -> dict[str, float]:
        v = x.to_numpy(dtype=np.float64)
        return {
            "mean": float(np.nanmean(v)) if v.size else float("nan"),
            "sd": float(np.nanstd(v, ddof=1)) if v.size > 1 else float("nan"),
            f"q{tag}": quantile_lower(v, alpha),
            f"cvar{tag}": cvar(v, alpha),
            "p_loss": float(np.mean(v < 0)) if v.size else float("nan"),
            "n": float(np.sum(~np.isnan(v))),
        }

    if not keys:
        return pd.DataFrame([one(runs[metric])])
    rows = []
    for key, g in runs.groupby(keys, sort=True, observed=True):
        key_t = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key_t, strict=True)), **one(g[metric])})
    out = pd.DataFrame(rows)
    out["n"] = out["n"].astype(np.int64)
    return out


def _rank_accounts(accounts: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Accounts sorted by ``value`` descending within each replication of a group."""
    rep = [*keys, "replication"]
    df = accounts[[*rep, value]].sort_values(
        [*rep, value], ascending=[True] * len(rep) + [False], kind="stable"
    )
    g = df.groupby(rep, sort=False, observed=True)[value]
    df = df.assign(
        _rank=g.cumcount() + 1,
        _size=g.transform("size"),
        _cum=g.cumsum(),
        _total=g.transform("sum"),
    )
    return df


def whale_curve(
    accounts: pd.DataFrame,
    by: Sequence[str] | str | None = None,
    points: int = 21,
    value: str = "profit",
) -> pd.DataFrame:
    """Customer-profitability ("whale") curve, averaged over replications.

    In each replication the accounts (every account that held a slot) are ranked by
    lifetime profit, most profitable first; the curve at account share x is
    ``W(x) = sum of the profits of the ceil(x * N) most profitable accounts / total
    profit`` (N accounts, total profit > 0; replications with total profit <= 0 are
    left out). A whale curve rises above 1 (the best accounts earn more than the
    whole portfolio) and comes back to 1 at x = 1, because the least profitable
    accounts destroy profit. Returns columns ``[*by, account_share,
    cum_profit_share, n]`` with ``points`` equally spaced account shares in [0, 1]
    (``cum_profit_share`` is the mean over replications, ``n`` their number).

    References:
        Kaplan, R. S., & Cooper, R. (1998). Cost & Effect. Harvard Business School
        Press (the whale curve: the top 20 % of customers can earn 150-300 % of
        profit).
    """
    keys = _by(by)
    df = _rank_accounts(accounts, keys, value)
    df = df[df["_total"] > 0]
    grid = np.linspace(0.0, 1.0, points)
    rows = []
    for key, g in df.groupby(keys, sort=True, observed=True) if keys else [((), df)]:
        key_t = key if isinstance(key, tuple) else (key,)
        reps = g.groupby("replication", sort=False)
        n_reps = reps.ngroups
        size = reps["_size"].first()
        # curve of each replication at grid point x: cum profit of top ceil(x*N)
        share = (g["_cum"] / g["_total"]).to_numpy()
        first_pos = np.r_[0, np.cumsum(size.to_numpy())[:-1]]
        for x in grid:
            k = np.ceil(x * size.to_numpy() - 1e-9).astype(np.int64)
            vals = np.where(k > 0, share[first_pos + np.maximum(k, 1) - 1], 0.0)
            rows.append(
                {
                    **dict(zip(keys, key_t, strict=True)),
                    "account_share": float(x),
                    "cum_profit_share": float(np.mean(vals)),
                    "n": n_reps,
                }
            )
    return pd.DataFrame(rows)


def profit_concentration(
    accounts: pd.DataFrame, by: Sequence[str] | str | None = None, value: str = "profit"
) -> pd.DataFrame:
    """Per-replication customer-profitability figures (one row per replication).

    Columns (besides ``by`` and ``replication``):

    * ``top_fifth_profit_share``: profit of the most profitable ``ceil(N / 5)``
      accounts over total profit (> 1 on a whale curve; NaN if total profit <= 0);
    * ``whale_peak``: the highest point of the whale curve, ``max_k`` cumulative
      profit of the top k accounts over total profit;
    * ``share_unprofitable``: share of accounts with lifetime profit < 0;
    * ``n_accounts_ever``: number of accounts that held a slot (N).
    """
    keys = _by(by)
    df = _rank_accounts(accounts, keys, value)
    rep = [*keys, "replication"]
    k = np.maximum(1, np.ceil(df["_size"].to_numpy() / 5 - 1e-9))
    share = np.where(
        df["_total"].to_numpy() > 0, df["_cum"].to_numpy() / df["_total"].to_numpy(), np.nan
    )
    df = df.assign(
        _share=share,
        _is_top=df["_rank"].to_numpy() == k,
        _neg=df[value].to_numpy() < 0,
    )
    g = df.groupby(rep, sort=True, observed=True)
    out = pd.DataFrame(
        {
            "top_fifth_profit_share": df[df["_is_top"]]
            .groupby(rep, observed=True)["_share"]
            .first(),
            "whale_peak": g["_share"].max(),
            "share_unprofitable": g["_neg"].mean(),
            "n_accounts_ever": g.size(),
        }
    )
    return out.reset_index()


def stage_distribution(
    quarters: pd.DataFrame, by: Sequence[str] | str | None = None
) -> pd.DataFrame:
    """Mean number of live relationships in each stage per quarter (tidy columns).

    Returns columns ``[*by, quarter, tactical, cooperative, interdependent,
    strategic, n_active]``: means over replications of the end-of-quarter stage
    counts.
    """
    keys = [*_by(by), "quarter"]
    cols = ["n_tactical", "n_cooperative", "n_interdependent", "n_strategic", "n_active"]
    out = quarters.groupby(keys, sort=True, observed=True)[cols].mean().reset_index()
    return out.rename(columns={f"n_{s}": s for s in STAGE_LABELS})


def exits_by_cause(
    runs: pd.DataFrame, by: Sequence[str] | str | None = None
) -> pd.DataFrame:
    """Mean number of ended relationships per replication, by cause (long format).

    Causes: ``switched`` (left for a competitor, including the stress-test loss of
    the largest account), ``vanished`` (the account disappeared), ``dropped`` (ended
    by the supplier). Returns columns ``[*by, cause, mean, share]`` where ``share``
    is the cause's share of all exits in the group.
    """
    keys = _by(by)
    cols = list(EXIT_COLUMNS.values())
    if keys:
        means = runs.groupby(keys, sort=True, observed=True)[cols].mean().reset_index()
    else:
        means = runs[cols].mean().to_frame().T
    long = means.melt(id_vars=keys, value_vars=cols, var_name="cause", value_name="mean")
    long["cause"] = long["cause"].map({v: k for k, v in EXIT_COLUMNS.items()})
    total = (
        long.groupby(keys, observed=True)["mean"].transform("sum")
        if keys
        else (long["mean"].sum())
    )
    long["share"] = np.where(
        total > 0, long["mean"] / np.where(total > 0, total, 1), np.nan
    )
    return long


def stage_times(runs: pd.DataFrame, by: Sequence[str] | str | None = None) -> pd.DataFrame:
    """Mean time (quarters and years) to first reach each stage above tactical.

    ``time_to_<stage>`` in ``runs`` is the mean, over the relationships of a
    replication that reached the stage, of the quarters from arrival to first
    arrival in it; this averages it over replications where someone reached it.
    Returns columns ``[*by, stage, quarters, years, share_of_runs]`` where
    ``share_of_runs`` is the share of replications in which at least one
    relationship reached the stage.
    """
    keys = _by(by)
    rows = []
    groups = runs.groupby(keys, sort=True, observed=True) if keys else [((), runs)]
    for key, g in groups:
        key_t = key if isinstance(key, tuple) else (key,)
        for s in STAGE_LABELS[1:]:
            t = g[f"time_to_{s}"].to_numpy(dtype=np.float64)
            q = float(np.nanmean(t)) if np.any(~np.isnan(t)) else float("nan")
            rows.append(
                {
                    **dict(zip(keys, key_t, strict=True)),
                    "stage": s,
                    "quarters": q,
                    "years": q / 4.0,
                    "share_of_runs": float(np.mean(g[f"reached_{s}"].to_numpy() > 0)),
                }
            )
    return pd.DataFrame(rows)


def revenue_drop(quarters: pd.DataFrame, at: int, window: int = 4) -> pd.DataFrame:
    """Relative revenue drop of each replication around quarter ``at``.

    ``drop = 1 - mean(revenue, quarters at .. at+window-1) / mean(revenue,
    quarters at-window .. at-1)``, e.g. when the largest account leaves at ``at``
    (``lose_largest_at``). Quarters outside the horizon are ignored. Returns the
    ``quarters`` frame's non-quarter identifying columns (replication, seed,
    factors) with a ``revenue_drop`` column; NaN where revenue before is 0.
    """
    id_cols = [
        c for c in quarters.columns if c not in QUARTER_COLUMNS and c not in ("quarter",)
    ]
    q = quarters["quarter"]
    before = quarters[(q >= at - window) & (q < at)]
    after = quarters[(q >= at) & (q < at + window)]
    b = before.groupby(id_cols, sort=True, observed=True)["revenue"].mean()
    a = after.groupby(id_cols, sort=True, observed=True)["revenue"].mean()
    drop = 1.0 - a / b.where(b > 0)
    return drop.rename("revenue_drop").reset_index()


def major_customer_risk(
    runs: pd.DataFrame,
    by: Sequence[str] | str | None = None,
    threshold: float = 0.10,
    column: str = "final_largest_share",
) -> pd.DataFrame:
    """Probability and size of the revenue drop if the largest account left.

    The immediate fractional revenue drop when the largest account leaves equals its
    revenue share. Returns ``[*by, p_major, mean_drop, q95_drop]``: the share of
    replications whose largest account holds at least ``threshold`` of revenue (a
    "major customer" under the US 10 % disclosure rule), the mean drop and its 95 %
    quantile.
    """
    keys = _by(by)
    groups = runs.groupby(keys, sort=True, observed=True) if keys else [((), runs)]
    rows = []
    for key, g in groups:
        key_t = key if isinstance(key, tuple) else (key,)
        v = g[column].to_numpy(dtype=np.float64)
        v = v[~np.isnan(v)]
        rows.append(
            {
                **dict(zip(keys, key_t, strict=True)),
                "p_major": float(np.mean(v >= threshold)) if v.size else float("nan"),
                "mean_drop": float(np.mean(v)) if v.size else float("nan"),
                "q95_drop": float(np.quantile(v, 0.95)) if v.size else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def account_dependency(
    quarters: pd.DataFrame,
    by: Sequence[str] | str | None = None,
) -> pd.DataFrame:
    """How dependent the accounts have become on their suppliers, per quarter.

    From the per-quarter record (measured in the market, not read off a table):

    * ``mean_share_of_wallet`` — the average account's share of wallet with the focal
      supplier;
    * ``mean_dependence`` — the average account's largest share with any supplier
      (its own dependence);
    * ``share_top_stages = (n_interdependent + n_strategic) / n_active`` — the share
      of the focal supplier's relationships in the two top stages;
    * ``account_disruption_cost`` — k€ the accounts lose to supplier disruptions.

    Returns means over replications with columns ``[*by, quarter, ...]``.
    """
    n = quarters["n_active"].to_numpy(dtype=np.float64)
    top_counts = quarters["n_interdependent"] + quarters["n_strategic"]
    with np.errstate(all="ignore"):
        top = np.where(n > 0, top_counts.to_numpy(dtype=np.float64) / n, np.nan)
    cols = [
        *_by(by),
        "quarter",
        "mean_share_of_wallet",
        "mean_dependence",
        "account_disruption_cost",
    ]
    df = quarters[cols].assign(share_top_stages=top)
    keys = [*_by(by), "quarter"]
    return df.groupby(keys, sort=True, observed=True).mean().reset_index()
