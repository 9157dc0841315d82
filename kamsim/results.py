"""Tidy results: one object holding DataFrames with the same columns for every engine.

* ``runs``: one row per replication (its seed, the factors, NPV, totals, exits by
  cause, stage counts at the end, concentration, time to reach each stage);
* ``quarters``: one row per replication and quarter (stage counts, revenue, profit,
  trust, exits, concentration);
* ``accounts``: one row per replication and account that ever held a slot
  (arrival, end and its cause, potential, highest stage reached, totals), the raw
  material of the customer-profitability ("whale") curve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamsim.engine import BatchOutput
from kamsim.metrics import COUNT_COLUMNS, QUARTER_COLUMNS, npv
from kamsim.rules import EndCause, Stage

__all__ = ["END_CAUSES", "STAGE_NAMES", "Results", "to_frames"]

STAGE_NAMES = {s.value: s.name.lower() for s in Stage}
END_CAUSES = {c.value: c.name.lower() for c in EndCause}


def to_frames(
    out: BatchOutput,
    *,
    seeds: Sequence[int],
    replications: Sequence[int],
    factors: Mapping[str, Any],
    discount_rate: float,
    keep_accounts: bool = True,
) -> dict[str, pd.DataFrame]:
    """Turn a :class:`BatchOutput` into the ``runs``, ``quarters``, ``accounts`` frames.

    ``factors`` (e.g. ``{"n_accounts": 20, "policy": "uniform"}``) become constant
    columns of every frame, after ``replication`` and ``seed``.
    """
    q = out.quarters
    r_count, big_t = q["revenue"].shape
    seeds_arr = np.asarray(seeds, dtype=np.int64)
    reps_arr = np.asarray(replications, dtype=np.int64)

    def head(n_rows_each: int) -> dict[str, Any]:
        cols: dict[str, Any] = {
            "replication": np.repeat(reps_arr, n_rows_each),
            "seed": np.repeat(seeds_arr, n_rows_each),
        }
        for k, v in factors.items():
            cols[k] = [v] * (r_count * n_rows_each)
        return cols

    # quarters -----------------------------------------------------------------
    qcols = head(big_t)
    qcols["quarter"] = np.tile(np.arange(1, big_t + 1), r_count)
    for c in QUARTER_COLUMNS:
        v = q[c].reshape(-1)
        qcols[c] = v.astype(np.int64) if c in COUNT_COLUMNS else v
    qcols["disruption"] = q["disruption"].reshape(-1).astype(bool)
    quarters = pd.DataFrame(qcols)

    # runs ---------------------------------------------------------------------
    rcols = head(1)
    rcols["npv"] = npv(q["profit"], discount_rate)
    rcols["revenue"] = q["revenue"].sum(axis=1)
    rcols["profit"] = q["profit"].sum(axis=1)
    rcols["investment"] = q["investment"].sum(axis=1)
    for c in ("exits_switched", "exits_vanished", "exits_dropped", "new_accounts"):
        rcols[c] = q[c].sum(axis=1).astype(np.int64)
    for c in ("n_tactical", "n_cooperative", "n_interdependent", "n_strategic", "n_active"):
        rcols[f"final_{c}"] = q[c][:, -1].astype(np.int64)
    rcols["final_hhi"] = q["hhi"][:, -1]
    rcols["final_largest_share"] = q["largest_share"][:, -1]
    rcols["final_top_fifth_share"] = q["top_fifth_share"][:, -1]
    with np.errstate(all="ignore"):
        rcols["mean_hhi"] = np.nanmean(
            np.where(np.isnan(q["hhi"]), np.nan, q["hhi"]), axis=1
        )
        rcols["max_largest_share"] = np.nanmax(
            np.where(np.isnan(q["largest_share"]), -np.inf, q["largest_share"]), axis=1
        )
    rcols["max_largest_share"] = np.where(
        np.isinf(rcols["max_largest_share"]), np.nan, rcols["max_largest_share"]
    )
    rcols["final_revenue"] = q["revenue"][:, -1]
    rcols["account_disruption_cost"] = q["account_disruption_cost"].sum(axis=1)
    for s, name in ((2, "cooperative"), (3, "interdependent"), (4, "strategic")):
        tot, cnt = out.reach[s]
        with np.errstate(all="ignore"):
            rcols[f"time_to_{name}"] = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
        rcols[f"reached_{name}"] = cnt.astype(np.int64)
    runs = pd.DataFrame(rcols)

    # accounts -----------------------------------------------------------------
    if keep_accounts:
        a = out.accounts
        exists = a["exists"]
        rr = np.nonzero(exists)
        acols: dict[str, Any] = {
            "replication": reps_arr[rr[0]],
            "seed": seeds_arr[rr[0]],
        }
        for k, v in factors.items():
            acols[k] = [v] * len(rr[0])
        acols["slot"] = a["slot"][rr]
        acols["generation"] = a["generation"][rr]
        acols["arrived"] = a["arrived"][rr]
        ended = a["ended"][rr].astype(np.float64)
        acols["ended"] = np.where(ended < 0, np.nan, ended)
        acols["end_cause"] = pd.Categorical(
            [END_CAUSES[int(c)] for c in a["end_cause"][rr]],
            categories=list(END_CAUSES.values()),
        )
        acols["willing"] = a["willing"][rr]
        acols["potential"] = a["potential"][rr]
        acols["potential_class"] = pd.Categorical(
            [("low", "medium", "high")[int(c)] for c in a["potential_class"][rr]],
            categories=["low", "medium", "high"],
        )
        acols["max_stage"] = a["max_stage"][rr].astype(np.int64)
        acols["revenue"] = a["revenue"][rr]
        acols["profit"] = a["profit"][rr]
        acols["investment"] = a["investment"][rr]
        accounts = pd.DataFrame(acols)
    else:
        accounts = pd.DataFrame()
    return {"runs": runs, "quarters": quarters, "accounts": accounts}


@dataclass
class Results:
    """Results of a simulation or experiment.

    Attributes:
        runs: one row per replication (see module docstring).
        quarters: one row per replication and quarter.
        accounts: one row per replication and account (may be empty if not kept).
        meta: how the results were made: root seed, parameters, versions, timings.
    """

    runs: pd.DataFrame
    quarters: pd.DataFrame
    accounts: pd.DataFrame = field(default_factory=pd.DataFrame)
    meta: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"Results(runs={len(self.runs)} rows, quarters={len(self.quarters)} rows, "
            f"accounts={len(self.accounts)} rows)"
        )

    def summary(self, by: Sequence[str] | None = None) -> pd.DataFrame:
        """Mean and 95 % confidence interval of the headline figures per group.

        Shorthand for :func:`kamsim.analysis.summarize` on ``runs``.
        """
        from kamsim.analysis import summarize

        return summarize(self, by=list(by) if by is not None else None)

    @classmethod
    def concat(
        cls, parts: Sequence[Results], meta: dict[str, Any] | None = None
    ) -> Results:
        """Stack several results (e.g. the cells of an experiment)."""

        def cat(frames: list[pd.DataFrame]) -> pd.DataFrame:
            frames = [f for f in frames if len(f)]
            return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

        return cls(
            runs=cat([p.runs for p in parts]),
            quarters=cat([p.quarters for p in parts]),
            accounts=cat([p.accounts for p in parts]),
            meta=meta or {},
        )
