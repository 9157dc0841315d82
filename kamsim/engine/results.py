"""Tidy results: one object holding DataFrames with the same columns for every engine.

* ``runs``: one row per replication, the focal supplier's figures (its seed, the
  factors, NPV with and without terminal value, totals, exits by cause and by the
  stage they ended in, stage counts at the end, concentration, market share, time to
  reach each stage);
* ``suppliers``: one row per replication and supplier (focal and rivals): policy,
  budget, NPV, revenue, market share, stage counts;
* ``quarters``: one row per replication and quarter (stage counts, revenue, profit,
  trust, exits, concentration);
* ``accounts``: one row per replication and account that ever held a slot
  (arrival, end and its cause, potential, highest stage reached, totals), the raw
  material of the customer-profitability ("whale") curve.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from kamsim.engine.batch import BatchOutput
from kamsim.model.params import ModelParams, ParameterError, suggest
from kamsim.model.records import COUNT_COLUMNS, QUARTER_COLUMNS, STAGE_LABELS, npv
from kamsim.model.state import EndCause, Stage

__all__ = [
    "END_CAUSES",
    "FRAME_NAMES",
    "HEADLINE_METRICS",
    "STAGE_NAMES",
    "Results",
    "assemble_frames",
    "factor_columns",
    "frame_columns",
    "mean_ci",
    "summarize",
    "to_frames",
]

STAGE_NAMES = {s.value: s.name.lower() for s in Stage}
END_CAUSES = {c.value: c.name.lower() for c in EndCause}
#: The frames of a :class:`Results`, in order.
FRAME_NAMES = ("runs", "quarters", "accounts", "suppliers")


def constant_column(value: Any, rows: int) -> Any:
    """A column of ``rows`` copies of a factor's value, built without a Python loop.

    A text becomes the column pandas would infer from it, filled in Arrow when that
    is pandas' string type (pandas 3) instead of converting ``rows`` Python strings.
    """
    if isinstance(value, str):
        dtype = pd.Series([value]).dtype
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
            return pd.array(pa.repeat(value, rows), dtype=dtype)
        return np.full(rows, value, dtype=object)
    if isinstance(value, (bool, int, float, np.generic)):
        return np.full(rows, value)
    return [value] * rows


def to_frames(
    out: BatchOutput,
    *,
    seeds: Sequence[int],
    replications: Sequence[int],
    factors: Mapping[str, Any],
    params: ModelParams,
    supplier_policies: Sequence[str],
    keep_accounts: bool = True,
) -> dict[str, pd.DataFrame]:
    """Turn a :class:`BatchOutput` into the runs, quarters, accounts, suppliers frames.

    ``factors`` (e.g. ``{"n_accounts": 20, "policy": "uniform"}``) become constant
    columns of every frame, after ``replication`` and ``seed``.
    """
    columns = frame_columns(
        out,
        seeds=seeds,
        replications=replications,
        params=params,
        supplier_policies=supplier_policies,
        keep_accounts=keep_accounts,
    )
    return assemble_frames([columns], factors)


def assemble_frames(
    parts: Sequence[Mapping[str, Mapping[str, Any]]], factors: Mapping[str, Any]
) -> dict[str, pd.DataFrame]:
    """The four frames of several batches' columns (:func:`frame_columns`), in order.

    Each column is joined across the batches first and every frame is built once,
    with ``factors`` as constant columns after ``replication`` and ``seed``: the
    same frames as concatenating each batch's :func:`to_frames`, without building
    and concatenating a frame per batch. A frame no batch has columns for (the
    accounts, when not kept) is empty.
    """
    frames = {}
    for name in FRAME_NAMES:
        batches = [p[name] for p in parts if p[name]]
        if not batches:
            frames[name] = pd.DataFrame()
            continue
        cols = {c: _join([b[c] for b in batches]) for c in batches[0]}
        rows = len(cols["replication"])
        head = {"replication": cols.pop("replication"), "seed": cols.pop("seed")}
        for k, v in factors.items():
            head[k] = constant_column(v, rows)
        frames[name] = pd.DataFrame({**head, **cols})
    return frames


def _join(columns: Sequence[Any]) -> Any:
    """One column from its batches' pieces (NumPy arrays or categoricals)."""
    first = columns[0]
    if len(columns) == 1:
        return first
    if isinstance(first, pd.Categorical):
        codes = np.concatenate([c.codes for c in columns])
        return pd.Categorical.from_codes(codes, dtype=first.dtype)
    return np.concatenate(columns)


def frame_columns(
    out: BatchOutput,
    *,
    seeds: Sequence[int],
    replications: Sequence[int],
    params: ModelParams,
    supplier_policies: Sequence[str],
    keep_accounts: bool = True,
) -> dict[str, dict[str, Any]]:
    """The columns of the four frames of one batch, without the factors' columns.

    Keyed by frame name (:data:`FRAME_NAMES`); each frame's columns start with
    ``replication`` and ``seed``; the accounts have none if they are not kept.
    """
    q = out.quarters
    r_count, big_t = q["revenue"].shape
    seeds_arr = np.asarray(seeds, dtype=np.int64)
    reps_arr = np.asarray(replications, dtype=np.int64)

    def head(n_rows_each: int) -> dict[str, Any]:
        return {
            "replication": np.repeat(reps_arr, n_rows_each),
            "seed": np.repeat(seeds_arr, n_rows_each),
        }

    qcols = head(big_t)
    qcols["quarter"] = np.tile(np.arange(1, big_t + 1), r_count)
    for c in QUARTER_COLUMNS:
        v = q[c].reshape(-1)
        qcols[c] = v.astype(np.int64) if c in COUNT_COLUMNS else v
    qcols["disruption"] = q["disruption"].reshape(-1).astype(bool)
    horizon = (1.0 + params.discount_rate) ** (-big_t / 4.0)
    rcols = _run_columns(out, head(1), params.discount_rate, horizon)
    scols = supplier_columns(out, head, supplier_policies, params, horizon)
    acols = _account_columns(out, reps_arr, seeds_arr) if keep_accounts else {}
    return {"runs": rcols, "quarters": qcols, "accounts": acols, "suppliers": scols}


def _run_columns(
    out: BatchOutput, rcols: dict[str, Any], rate: float, horizon: float
) -> dict[str, Any]:
    """The runs frame's columns (the focal supplier, one row per replication)."""
    q = out.quarters
    rcols["npv"] = npv(q["profit"], rate)
    rcols["terminal_value"] = out.terminal_value[:, 0] * horizon
    rcols["npv_terminal"] = rcols["npv"] + rcols["terminal_value"]
    rcols["revenue"] = q["revenue"].sum(axis=1)
    rcols["profit"] = q["profit"].sum(axis=1)
    rcols["investment"] = q["investment"].sum(axis=1)
    for c in (
        "exits_switched",
        "exits_vanished",
        "exits_dropped",
        "exits_breach",
        "exits_faded",
        *(f"exits_from_{name}" for name in STAGE_LABELS),
        "new_accounts",
    ):
        rcols[c] = q[c].sum(axis=1).astype(np.int64)
    for c in ("n_tactical", "n_cooperative", "n_interdependent", "n_strategic", "n_active"):
        rcols[f"final_{c}"] = q[c][:, -1].astype(np.int64)
    rcols["final_hhi"] = q["hhi"][:, -1]
    rcols["final_largest_share"] = q["largest_share"][:, -1]
    rcols["final_top_fifth_share"] = q["top_fifth_share"][:, -1]
    with np.errstate(all="ignore"):
        rcols["mean_hhi"] = np.nanmean(q["hhi"], axis=1)
        rcols["max_largest_share"] = np.nanmax(
            np.where(np.isnan(q["largest_share"]), -np.inf, q["largest_share"]), axis=1
        )
        rcols["mean_market_share"] = np.nanmean(q["market_share"], axis=1)
        rcols["mean_share_of_wallet"] = np.nanmean(q["mean_share_of_wallet"], axis=1)
    rcols["max_largest_share"] = np.where(
        np.isinf(rcols["max_largest_share"]), np.nan, rcols["max_largest_share"]
    )
    rcols["final_market_share"] = q["market_share"][:, -1]
    rcols["final_mean_dependence"] = q["mean_dependence"][:, -1]
    rcols["final_rival_strategic"] = q["rival_strategic"][:, -1].astype(np.int64)
    rcols["final_revenue"] = q["revenue"][:, -1]
    rcols["account_disruption_cost"] = q["account_disruption_cost"].sum(axis=1)
    for stage_k, name in ((2, "cooperative"), (3, "interdependent"), (4, "strategic")):
        tot, cnt = out.reach[stage_k]
        with np.errstate(all="ignore"):
            rcols[f"time_to_{name}"] = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
        rcols[f"reached_{name}"] = cnt.astype(np.int64)
    return rcols


def _account_columns(
    out: BatchOutput, reps_arr: np.ndarray, seeds_arr: np.ndarray
) -> dict[str, Any]:
    """The accounts frame's columns: one row per focal relationship of the ledger."""
    a = out.accounts
    exists = a["exists"]
    rr = np.nonzero(exists)
    acols: dict[str, Any] = {
        "replication": reps_arr[rr[0]],
        "seed": seeds_arr[rr[0]],
    }
    acols["slot"] = a["slot"][rr]
    acols["generation"] = a["generation"][rr]
    acols["arrived"] = a["arrived"][rr]
    ended = a["ended"][rr].astype(np.float64)
    acols["ended"] = np.where(ended < 0, np.nan, ended)
    acols["end_cause"] = pd.Categorical.from_codes(
        a["end_cause"][rr], categories=pd.Index(list(END_CAUSES.values()))
    )
    acols["willing"] = a["willing"][rr]
    acols["potential"] = a["potential"][rr]
    acols["potential_class"] = pd.Categorical.from_codes(
        a["potential_class"][rr], categories=pd.Index(["low", "medium", "high"])
    )
    acols["end_stage"] = a["end_stage"][rr].astype(np.int64)
    acols["max_stage"] = a["max_stage"][rr].astype(np.int64)
    acols["trust"] = a["trust"][rr]
    acols["revenue"] = a["revenue"][rr]
    acols["profit"] = a["profit"][rr]
    acols["investment"] = a["investment"][rr]
    return acols


def supplier_columns(
    out: BatchOutput,
    head: Any,
    policies: Sequence[str],
    params: ModelParams,
    horizon: float,
) -> dict[str, Any]:
    """Columns of one row per replication and supplier (supplier 0 is the focal one)."""
    sq = out.suppliers
    r_count, m, _ = sq["revenue"].shape
    cols = head(m)
    idx = np.tile(np.arange(m), r_count)
    cols["supplier"] = idx
    cols["role"] = pd.Categorical(
        np.where(idx == 0, "focal", "rival"), categories=["focal", "rival"]
    )
    cols["supplier_policy"] = np.tile(np.asarray(policies, dtype=object), r_count)
    budgets = np.array([params.budget] + [params.rival_budget] * (m - 1))
    cols["budget"] = np.tile(budgets, r_count)
    cols["npv"] = npv(sq["profit"], params.discount_rate).reshape(-1)
    cols["terminal_value"] = (out.terminal_value * horizon).reshape(-1)
    cols["npv_terminal"] = cols["npv"] + cols["terminal_value"]
    for c in ("revenue", "profit", "investment"):
        cols[c] = sq[c].sum(axis=2).reshape(-1)
    with np.errstate(all="ignore"):
        cols["mean_market_share"] = np.nanmean(sq["market_share"], axis=2).reshape(-1)
    cols["final_market_share"] = sq["market_share"][:, :, -1].reshape(-1)
    for k, name in enumerate(STAGE_LABELS):
        cols[f"final_n_{name}"] = out.final_stages[:, :, k].reshape(-1).astype(np.int64)
    cols["final_n_active"] = sq["n_active"][:, :, -1].reshape(-1).astype(np.int64)
    return cols


@dataclass
class Results:
    """Results of a simulation or experiment.

    Attributes:
        runs: one row per replication, the focal supplier (see module docstring).
        quarters: one row per replication and quarter.
        accounts: one row per replication and focal relationship (may be empty if
            not kept).
        suppliers: one row per replication and supplier (focal and rivals).
        meta: how the results were made: root seed, parameters, versions, timings.
    """

    runs: pd.DataFrame
    quarters: pd.DataFrame
    accounts: pd.DataFrame = field(default_factory=pd.DataFrame)
    suppliers: pd.DataFrame = field(default_factory=pd.DataFrame)
    meta: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"Results(runs={len(self.runs)} rows, quarters={len(self.quarters)} rows, "
            f"accounts={len(self.accounts)} rows, suppliers={len(self.suppliers)} rows)"
        )

    def summary(self, by: Sequence[str] | None = None) -> pd.DataFrame:
        """Mean and 95 % confidence interval of the headline figures per group.

        Shorthand for :func:`summarize` on ``runs``.
        """
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
            suppliers=cat([p.suppliers for p in parts]),
            meta=meta or {},
        )


# --- the headline summary (kamsim.analysis re-exports it) ----------------------------

#: Metrics summarised by default (columns of ``Results.runs``).
HEADLINE_METRICS = (
    "npv",
    "profit",
    "revenue",
    "investment",
    "final_n_interdependent",
    "final_n_strategic",
    "final_largest_share",
    "final_hhi",
    "final_top_fifth_share",
    "exits_switched",
    "exits_vanished",
    "time_to_interdependent",
    "time_to_strategic",
    "account_disruption_cost",
)

#: Identifying columns that are never factors.
_ID_COLUMNS = ("replication", "seed", "cell")


def _runs(results: Results | pd.DataFrame) -> pd.DataFrame:
    if isinstance(results, Results):
        return results.runs
    if isinstance(results, pd.DataFrame):
        return results
    raise ParameterError(f"'results' must be a kamsim Results or a DataFrame: {results!r}")


def factor_columns(results: Results | pd.DataFrame) -> list[str]:
    """Factor columns of a result: the market's set-up and any spec factor.

    Factors are ``n_accounts``, ``policy``, ``rivals`` and ``rival_policy`` when
    present, every factor named in
    ``results.meta["spec"]["factors"]``, and any non-numeric column that is not an
    identifier (``replication``, ``seed``, ``cell``).
    """
    runs = _runs(results)
    names: list[str] = [
        c for c in ("n_accounts", "policy", "rivals", "rival_policy") if c in runs.columns
    ]
    meta = results.meta if isinstance(results, Results) else {}
    spec = meta.get("spec") if isinstance(meta, dict) else None
    if isinstance(spec, dict):
        for f in spec.get("factors", {}) or {}:
            if f in runs.columns and f not in names:
                names.append(f)
    for c in runs.columns:
        if c in names or c in _ID_COLUMNS:
            continue
        if not pd.api.types.is_numeric_dtype(runs[c]) and not pd.api.types.is_bool_dtype(
            runs[c]
        ):
            names.append(c)
    return names


def _check_columns(runs: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    for c in cols:
        if c not in runs.columns:
            raise ParameterError(
                f"'{what}' must name columns of the results: {c!r}"
                f"{suggest(c, list(runs.columns))}"
            )


def mean_ci(values: Any, level: float = 0.95) -> dict[str, float]:
    """Mean, sd, n and t-based confidence interval of a sample (NaN ignored).

    ``mean +- t_{(1+level)/2, n-1} * sd / sqrt(n)`` with ``sd`` the sample standard
    deviation (ddof = 1). With fewer than two values the interval is NaN.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    n = int(x.size)
    mean = float(np.mean(x)) if n else float("nan")
    sd = float(np.std(x, ddof=1)) if n > 1 else float("nan")
    if n > 1:
        half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * sd / math.sqrt(n)
    else:
        half = float("nan")
    return {"mean": mean, "sd": sd, "n": n, "ci_low": mean - half, "ci_high": mean + half}


def _groups(df: pd.DataFrame, by: list[str]) -> Any:
    if not by:
        return [((), df)]
    return df.groupby(by, sort=True, observed=True, dropna=False)


def summarize(
    results: Results | pd.DataFrame,
    by: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Mean, sd, n and 95 % confidence interval of each metric per group.

    Args:
        results: a :class:`kamsim.Results` or its ``runs`` frame (one row per
            replication).
        by: grouping columns; default :func:`factor_columns` (e.g.
            ``["n_accounts", "policy"]``).
        metrics: columns of ``runs`` to summarise; default the
            :data:`HEADLINE_METRICS` present.
        level: confidence level of the interval.

    Returns:
        One row per group and metric: ``[*by, metric, mean, sd, n, ci_low, ci_high]``.
        The interval is ``mean +- t_{0.975, n-1} * sd / sqrt(n)``; NaN values (e.g.
        ``time_to_strategic`` where no relationship got there) are left out, so ``n``
        may differ between metrics.

    Raises:
        ParameterError: if ``by`` or ``metrics`` names an unknown column.
    """
    runs = _runs(results)
    keys = list(by) if by is not None else factor_columns(results)
    if metrics is None:
        mets = [m for m in HEADLINE_METRICS if m in runs.columns]
    else:
        mets = list(metrics)
    _check_columns(runs, keys, "by")
    _check_columns(runs, mets, "metrics")
    rows = []
    for key, g in _groups(runs, keys):
        key_t = key if isinstance(key, tuple) else (key,)
        for m in mets:
            rows.append(
                {**dict(zip(keys, key_t, strict=True)), "metric": m, **mean_ci(g[m], level)}
            )
    out = pd.DataFrame(
        rows, columns=[*keys, "metric", "mean", "sd", "n", "ci_low", "ci_high"]
    )
    out["n"] = out["n"].astype(np.int64)
    return out
