"""The per-quarter record of a market, and NPV.

:func:`market_record` turns one quarter's arrays into the record both faces keep
(columns :data:`QUARTER_COLUMNS` for the focal supplier and
:data:`SUPPLIER_QUARTER_COLUMNS` per supplier). Functions take arrays whose last axis is
the account slot (shape (..., n)), so the Mesa face (one market) and the batched engine
(R markets) compute every figure with the same code and get identical numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "COUNT_COLUMNS",
    "QUARTER_COLUMNS",
    "STAGE_LABELS",
    "SUPPLIER_QUARTER_COLUMNS",
    "discount_factors",
    "herfindahl",
    "largest_share",
    "market_record",
    "npv",
    "top_fifth_share",
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
