"""The columns of a market's per-quarter record, and NPV.

The record both faces keep has the columns :data:`QUARTER_COLUMNS` for the focal
supplier and :data:`SUPPLIER_QUARTER_COLUMNS` per supplier; it is computed by
:func:`kamsim.model.market.record_quarter`, the same compiled function in both faces.
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
    "npv",
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
