"""Portfolio metrics: per-quarter records, NPV, concentration and dependency risk.

Functions take arrays whose last axis is the account slot (shape (..., n)), so the
Mesa face (one market) and the batched engine (R markets) compute every figure with
the same code and get identical numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "COUNT_COLUMNS",
    "EXIT_COLUMNS",
    "QUARTER_COLUMNS",
    "STAGE_LABELS",
    "SUPPLIER_QUARTER_COLUMNS",
    "account_dependency",
    "cvar",
    "discount_factors",
    "downside",
    "exits_by_cause",
    "herfindahl",
    "largest_share",
    "major_customer_risk",
    "market_record",
    "npv",
    "profit_concentration",
    "quantile_lower",
    "revenue_drop",
    "stage_distribution",
    "stage_times",
    "top_fifth_share",
    "whale_curve",
]

#: Stage names in order (tactical first).
STAGE_LABELS = ("tactical", "cooperative", "interdependent", "strategic")

#: Per-quarter columns that count relationships or accounts (integers).
COUNT_COLUMNS = (
    "n_tactical",
    "n_cooperative",
    "n_interdependent",
    "n_strategic",
    "n_active",
    "exits_switched",
    "exits_vanished",
    "exits_dropped",
    "exits_breach",
    "exits_faded",
    *(f"exits_from_{s}" for s in STAGE_LABELS),
    "new_accounts",
    "rival_strategic",
)

#: Columns of one per-quarter record of the focal supplier and its market, in order.
QUARTER_COLUMNS = (
    *COUNT_COLUMNS,
    "revenue",
    "profit",
    "investment",
    "mean_trust",
    "hhi",
    "largest_share",
    "top_fifth_share",
    "market_share",
    "mean_share_of_wallet",
    "mean_dependence",
    "account_disruption_cost",
    "downturn",
    "disruption",
)

#: Per-supplier per-quarter columns (arrays (R, M) per quarter).
SUPPLIER_QUARTER_COLUMNS = ("revenue", "profit", "investment", "market_share", "n_active")


def _shares(revenue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = np.sum(revenue, axis=-1, keepdims=True)
    safe = np.where(total > 0, total, 1.0)
    return revenue / safe, total[..., 0]


def herfindahl(revenue: np.ndarray) -> np.ndarray:
    """Herfindahl-Hirschman index of revenue: ``sum_i (r_i / sum r)^2`` in [1/n, 1].

    Takes revenues along the last axis (vacant slots 0). NaN where total revenue is 0.
    """
    shares, total = _shares(revenue)
    return np.where(total > 0, np.sum(shares * shares, axis=-1), np.nan)


def largest_share(revenue: np.ndarray) -> np.ndarray:
    """Share of revenue from the largest account (NaN where total revenue is 0).

    It is also the fractional revenue drop if that account leaves.
    """
    shares, total = _shares(revenue)
    return np.where(total > 0, np.max(shares, axis=-1), np.nan)


def top_fifth_share(revenue: np.ndarray, n_active: np.ndarray | None = None) -> np.ndarray:
    """Share of revenue from the top fifth of live accounts (at least one account).

    ``k = max(1, ceil(n_active / 5))`` largest revenues over total revenue.
    """
    shares, total = _shares(revenue)
    if n_active is None:
        n_active = np.sum(revenue > 0, axis=-1)
    k = np.maximum(1, -(-np.asarray(n_active) // 5))
    ordered = -np.sort(-shares, axis=-1)
    csum = np.cumsum(ordered, axis=-1)
    idx = np.clip(k - 1, 0, shares.shape[-1] - 1)
    top = np.take_along_axis(csum, np.asarray(idx)[..., None], axis=-1)[..., 0]
    return np.where(total > 0, top, np.nan)


def _mean_over(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over ``mask`` along the last axis (NaN where mask is empty)."""
    count = np.sum(mask, axis=-1)
    total = np.sum(np.where(mask, values, 0.0), axis=-1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def market_record(
    *,
    stage: np.ndarray,
    live_end: np.ndarray,
    trust: np.ndarray,
    share: np.ndarray,
    revenue: np.ndarray,
    profit: np.ndarray,
    investment: np.ndarray,
    end_cause: np.ndarray,
    demand: np.ndarray,
    present: np.ndarray,
    new_relationships: np.ndarray,
    disruption_cost: np.ndarray,
    downturn: np.ndarray,
    disrupted: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One quarter's record of R markets from relationship arrays (R, M, n).

    ``stage`` is each relationship's stage at the end of the quarter (the stage it
    ended in for relationships that ended), ``live_end`` marks relationships still
    in place; ``trust`` and ``share`` are end-of-quarter values; ``revenue``,
    ``profit`` (k€, including acquisition costs), ``investment`` (allocation, k€) and
    ``end_cause`` are zero where no relationship lived through the quarter.
    ``demand``, ``present`` and ``disruption_cost`` are per account (R, 1, n),
    ``new_relationships`` the focal supplier's new relationships (R,), ``downturn``
    (R,) and ``disrupted`` (R, M) the quarter's shocks.

    Returns the focal supplier's and market's record, arrays (R,) keyed by
    :data:`QUARTER_COLUMNS`, and the suppliers' record, arrays (R, M) keyed by
    :data:`SUPPLIER_QUARTER_COLUMNS`.
    """
    focal_stage = np.where(live_end[:, 0], stage[:, 0], 0)
    cause0 = end_cause[:, 0]
    ended_stage = np.where(cause0 > 0, stage[:, 0], 0)
    acc_present = present[:, 0]
    wallet_share = np.sum(share * demand, axis=-1)
    total_demand = np.sum(np.where(present, demand, 0.0), axis=-1)
    market_share = np.where(
        total_demand > 0,
        wallet_share / np.where(total_demand > 0, total_demand, 1.0),
        np.nan,
    )
    rival_strategic = np.zeros(acc_present.shape, dtype=bool)
    for k in range(1, stage.shape[1]):
        rival_strategic = rival_strategic | (live_end[:, k] & (stage[:, k] == 4))
    dependence = np.max(np.where(live_end, share, 0.0), axis=1)
    rev0 = revenue[:, 0]
    out: dict[str, np.ndarray] = {
        "n_tactical": np.sum(focal_stage == 1, axis=-1),
        "n_cooperative": np.sum(focal_stage == 2, axis=-1),
        "n_interdependent": np.sum(focal_stage == 3, axis=-1),
        "n_strategic": np.sum(focal_stage == 4, axis=-1),
        "n_active": np.sum(live_end[:, 0], axis=-1),
        "exits_switched": np.sum(cause0 == 1, axis=-1),
        "exits_vanished": np.sum(cause0 == 2, axis=-1),
        "exits_dropped": np.sum(cause0 == 3, axis=-1),
        "exits_breach": np.sum(cause0 == 4, axis=-1),
        "exits_faded": np.sum(cause0 == 5, axis=-1),
        "exits_from_tactical": np.sum(ended_stage == 1, axis=-1),
        "exits_from_cooperative": np.sum(ended_stage == 2, axis=-1),
        "exits_from_interdependent": np.sum(ended_stage == 3, axis=-1),
        "exits_from_strategic": np.sum(ended_stage == 4, axis=-1),
        "new_accounts": np.asarray(new_relationships),
        "rival_strategic": np.sum(rival_strategic & acc_present, axis=-1),
        "revenue": np.sum(rev0, axis=-1),
        "profit": np.sum(profit[:, 0], axis=-1),
        "investment": np.sum(investment[:, 0], axis=-1),
        "mean_trust": _mean_over(trust[:, 0], live_end[:, 0]),
        "hhi": herfindahl(rev0),
        "largest_share": largest_share(rev0),
        "top_fifth_share": top_fifth_share(rev0, np.sum(rev0 > 0, axis=-1)),
        "market_share": market_share[:, 0],
        "mean_share_of_wallet": _mean_over(share[:, 0], acc_present),
        "mean_dependence": _mean_over(dependence, acc_present),
        "account_disruption_cost": np.sum(
            np.where(present, disruption_cost, 0.0)[:, 0], axis=-1
        ),
        "downturn": np.asarray(downturn, dtype=np.float64).reshape(-1),
        "disruption": np.asarray(disrupted[:, 0], dtype=bool),
    }
    suppliers: dict[str, np.ndarray] = {
        "revenue": np.sum(revenue, axis=-1),
        "profit": np.sum(profit, axis=-1),
        "investment": np.sum(investment, axis=-1),
        "market_share": market_share,
        "n_active": np.sum(live_end, axis=-1),
    }
    return out, suppliers


def discount_factors(quarters: int, annual_rate: float) -> np.ndarray:
    """Discount factor of quarters 1..T: ``(1 + r) ** (-t / 4)``."""
    t = np.arange(1, quarters + 1, dtype=np.float64)
    return (1.0 + annual_rate) ** (-t / 4.0)


def npv(profit: Any, annual_rate: float) -> np.ndarray:
    """Net present value (k€) of quarterly profits along the last axis.

    ``NPV = sum_t profit_t * (1 + r)^(-t/4)``, quarters numbered from 1.
    """
    arr = np.asarray(profit, dtype=np.float64)
    return np.sum(arr * discount_factors(arr.shape[-1], annual_rate), axis=-1)


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
