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
