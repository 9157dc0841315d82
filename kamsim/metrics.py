"""Portfolio metrics: per-quarter records, NPV, concentration and dependency risk.

Functions take arrays whose last axis is the account slot (shape (..., n)), so the
Mesa face (one market) and the batched engine (R markets) compute every figure with
the same code and get identical numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "QUARTER_COLUMNS",
    "discount_factors",
    "herfindahl",
    "largest_share",
    "npv",
    "quarter_metrics",
    "top_fifth_share",
]

#: Columns of one per-quarter record, in order.
QUARTER_COLUMNS = (
    "n_tactical",
    "n_cooperative",
    "n_interdependent",
    "n_strategic",
    "n_active",
    "exits_switched",
    "exits_vanished",
    "exits_dropped",
    "new_accounts",
    "revenue",
    "profit",
    "investment",
    "mean_trust",
    "hhi",
    "largest_share",
    "top_fifth_share",
    "account_disruption_cost",
    "downturn",
    "disruption",
)


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
    """Share of revenue from the largest account; also the fractional revenue drop if
    that account leaves. NaN where total revenue is 0."""
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


def quarter_metrics(
    *,
    stage: np.ndarray,
    active_end: np.ndarray,
    trust: np.ndarray,
    revenue: np.ndarray,
    profit: np.ndarray,
    investment: np.ndarray,
    end_cause: np.ndarray,
    new_accounts: np.ndarray,
    account_disruption_cost: np.ndarray,
    downturn: np.ndarray,
    disruption: np.ndarray,
) -> dict[str, np.ndarray]:
    """One per-quarter record per market from slot arrays of shape (R, n).

    ``stage`` and ``trust`` are end-of-quarter values, ``active_end`` marks
    relationships still live at the end of the quarter; ``revenue``, ``profit`` (k€,
    including acquisition costs), ``investment`` (allocation, k€) and ``end_cause``
    are zero for slots that were vacant during the quarter. Returns arrays of shape
    (R,) keyed by :data:`QUARTER_COLUMNS`.
    """
    live_stage = np.where(active_end, stage, 0)
    n_active = np.sum(active_end, axis=-1)
    trust_sum = np.sum(np.where(active_end, trust, 0.0), axis=-1)
    out: dict[str, np.ndarray] = {
        "n_tactical": np.sum(live_stage == 1, axis=-1),
        "n_cooperative": np.sum(live_stage == 2, axis=-1),
        "n_interdependent": np.sum(live_stage == 3, axis=-1),
        "n_strategic": np.sum(live_stage == 4, axis=-1),
        "n_active": n_active,
        "exits_switched": np.sum(end_cause == 1, axis=-1),
        "exits_vanished": np.sum(end_cause == 2, axis=-1),
        "exits_dropped": np.sum(end_cause == 3, axis=-1),
        "new_accounts": np.asarray(new_accounts),
        "revenue": np.sum(revenue, axis=-1),
        "profit": np.sum(profit, axis=-1),
        "investment": np.sum(investment, axis=-1),
        "mean_trust": np.where(
            n_active > 0, trust_sum / np.maximum(n_active, 1), np.nan
        ),
        "hhi": herfindahl(revenue),
        "largest_share": largest_share(revenue),
        "top_fifth_share": top_fifth_share(revenue, np.sum(revenue > 0, axis=-1)),
        "account_disruption_cost": np.sum(account_disruption_cost, axis=-1),
        "downturn": np.asarray(downturn, dtype=np.float64).reshape(-1),
        "disruption": np.asarray(disruption, dtype=bool).reshape(-1),
    }
    return out


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
