"""Statistics of Monte Carlo results: means with confidence intervals, paired comparisons.

Both functions take a :class:`kamsim.Results` (or its ``runs`` DataFrame) and return a
tidy DataFrame, one row per group and metric:

* :func:`summarize` — mean, standard deviation, n and a t-based 95 % confidence
  interval of each metric per cell (group of factor levels);
* :func:`compare` — paired differences against a baseline level of one factor
  (``policy`` by default) on common random numbers: rows are matched on
  ``replication`` and ``seed`` within every combination of the other factors, so
  each difference is measured in the same random world.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from kamsim.params import ParameterError, suggest
from kamsim.results import Results

__all__ = [
    "HEADLINE_METRICS",
    "compare",
    "factor_columns",
    "main_effect",
    "mean_ci",
    "paired_effect",
    "paired_gain_difference",
    "summarize",
]

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


def compare(
    results: Results | pd.DataFrame,
    baseline: Any = "uniform",
    by: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    factor: str = "policy",
    level: float = 0.95,
) -> pd.DataFrame:
    """Paired differences against a baseline level of ``factor`` (common random numbers).

    Within each combination of the ``by`` factors, every level of ``factor`` is
    matched to the baseline row with the same ``replication`` and ``seed`` (the same
    random world), and the difference ``d_r = x_r(level) - x_r(baseline)`` is
    summarised: mean, sd, n and the t-based interval ``mean(d) +- t * sd(d) /
    sqrt(n)``. The column ``variance_reduction`` is the factor by which pairing
    shrinks the variance of the estimated difference compared with two independent
    samples of the same size: ``(var(x) + var(x_baseline)) / var(d)`` (> 1 when
    common random numbers help).

    Args:
        results: a :class:`kamsim.Results` or its ``runs`` frame.
        baseline: the level of ``factor`` to compare against.
        by: the other grouping factors; default every factor column but ``factor``.
        metrics: columns to compare; default the :data:`HEADLINE_METRICS` present.
        factor: the factor whose levels are compared (default ``policy``).
        level: confidence level of the interval.

    Returns:
        ``[*by, factor, metric, baseline_mean, mean, diff, sd, n, ci_low, ci_high,
        variance_reduction]`` with one row per group, non-baseline level and metric.

    Raises:
        ParameterError: if a column is unknown, the baseline level is absent, or no
            rows can be paired.
    """
    runs = _runs(results)
    _check_columns(runs, [factor], "factor")
    keys = (
        list(by) if by is not None else [c for c in factor_columns(results) if c != factor]
    )
    keys = [k for k in keys if k != factor]
    mets = (
        [m for m in HEADLINE_METRICS if m in runs.columns]
        if metrics is None
        else list(metrics)
    )
    _check_columns(runs, [*keys, "replication", "seed"], "by")
    _check_columns(runs, mets, "metrics")
    levels = list(pd.unique(runs[factor]))
    if baseline not in levels:
        text = [str(v) for v in levels]
        raise ParameterError(
            f"'baseline' must be one of the levels of '{factor}' {text}: {baseline!r}"
            f"{suggest(str(baseline), text)}"
        )
    match = ["replication", "seed"]
    rows = []
    for key, g in _groups(runs, keys):
        key_t = key if isinstance(key, tuple) else (key,)
        base = g[g[factor] == baseline][[*match, *mets]]
        if base[match].duplicated().any():
            raise ParameterError(
                f"rows of '{factor}' = {baseline!r} are not unique per replication; "
                f"add the other factors to 'by': {keys!r}"
            )
        for lev in levels:
            if lev == baseline:
                continue
            other = g[g[factor] == lev][[*match, *mets]]
            if other.empty:
                continue
            pair = other.merge(base, on=match, suffixes=("", "__base"), validate="1:1")
            if pair.empty:
                raise ParameterError(
                    f"no replications of '{factor}' = {lev!r} share replication and seed "
                    f"with the baseline {baseline!r}; paired comparison needs common "
                    "random numbers (the same root seed)"
                )
            for m in mets:
                a = pair[m].to_numpy(dtype=np.float64)
                b = pair[f"{m}__base"].to_numpy(dtype=np.float64)
                ok = ~(np.isnan(a) | np.isnan(b))
                a, b = a[ok], b[ok]
                d = mean_ci(a - b, level)
                var_d = d["sd"] ** 2 if d["n"] > 1 else float("nan")
                unpaired = (
                    float(np.var(a, ddof=1) + np.var(b, ddof=1))
                    if a.size > 1
                    else float("nan")
                )
                vrf = unpaired / var_d if var_d and var_d > 0 else float("nan")
                rows.append(
                    {
                        **dict(zip(keys, key_t, strict=True)),
                        factor: lev,
                        "metric": m,
                        "baseline_mean": float(np.mean(b)) if b.size else float("nan"),
                        "mean": float(np.mean(a)) if a.size else float("nan"),
                        "diff": d["mean"],
                        "sd": d["sd"],
                        "n": d["n"],
                        "ci_low": d["ci_low"],
                        "ci_high": d["ci_high"],
                        "variance_reduction": vrf,
                    }
                )
    cols = [
        *keys,
        factor,
        "metric",
        "baseline_mean",
        "mean",
        "diff",
        "sd",
        "n",
        "ci_low",
        "ci_high",
        "variance_reduction",
    ]
    out = pd.DataFrame(rows, columns=cols)
    out["n"] = out["n"].astype(np.int64)
    return out


def paired_effect(
    runs: pd.DataFrame,
    factor: str,
    level: Any,
    baseline: Any,
    metric: str,
    factors: Sequence[str],
    within: Mapping[str, Any] | None = None,
    conf: float = 0.95,
) -> dict[str, float]:
    """Paired effect of ``factor = level`` against ``factor = baseline`` on ``metric``.

    Rows are restricted to ``within`` (factor -> level), then each row with
    ``factor = level`` is matched to the baseline row with the same replication,
    seed and levels of the other ``factors``, so each difference is measured in the
    same random world. The differences are averaged per replication over the other
    factors' combinations (a main effect), and the mean and t-based interval are
    taken over replications, which are independent.

    Returns:
        ``mean``, ``sd``, ``n`` (replications), ``ci_low``, ``ci_high``, and
        ``combos`` (other-factor combinations averaged over).

    Raises:
        ParameterError: for unknown columns or if no rows can be paired.
    """
    _check_columns(runs, [factor, metric, "replication", "seed"], "factor")
    df = runs
    for k, v in dict(within or {}).items():
        df = df[df[k] == v]
    a = df[df[factor] == level]
    b = df[df[factor] == baseline]
    others = [c for c in factors if c != factor]
    keys = ["replication", "seed", *others]
    pair = a[[*keys, metric]].merge(
        b[[*keys, metric]], on=keys, suffixes=("", "__base"), validate="1:1"
    )
    if pair.empty:
        raise ParameterError(
            f"no rows of '{factor}' = {level!r} pair with {baseline!r} on replication "
            "and seed (paired comparison needs common random numbers)"
        )
    d = pair[metric].to_numpy(np.float64) - pair[f"{metric}__base"].to_numpy(np.float64)
    per_rep = pd.Series(d).groupby(pair["replication"].to_numpy()).mean()
    out = mean_ci(per_rep.to_numpy(), conf)
    combos = len(pair) // max(1, per_rep.size)
    return {**out, "combos": float(combos)}


def paired_gain_difference(
    runs: pd.DataFrame,
    factor: str,
    level: Any,
    baseline: Any,
    metric: str,
    factors: Sequence[str],
    at: Mapping[str, Any],
    versus: Mapping[str, Any],
    conf: float = 0.95,
) -> dict[str, float]:
    """Paired difference between two gains: ``gain(at) - gain(versus)``.

    ``gain(c)`` is the paired effect of ``factor = level`` against ``factor =
    baseline`` in the cells ``c`` (e.g. ``{"n_accounts": 20}``), per replication
    and averaged over the other ``factors``; the difference of the two gains is
    summarised over replications, so the interval accounts for the common random
    numbers.
    """

    def per_rep(cell: Mapping[str, Any]) -> pd.Series:
        df = runs
        for k, v in cell.items():
            df = df[df[k] == v]
        others = [c for c in factors if c != factor and c not in cell]
        keys = ["replication", "seed", *others]
        a = df[df[factor] == level].set_index(keys)[metric]
        b = df[df[factor] == baseline].set_index(keys)[metric]
        return (a - b).groupby(level="replication").mean()

    d = (per_rep(at) - per_rep(versus)).dropna()
    return mean_ci(d.to_numpy(np.float64), conf)


def main_effect(
    runs: pd.DataFrame, factor: str, metric: str, conf: float = 0.95
) -> pd.DataFrame:
    """Mean of ``metric`` per level of ``factor``, averaged over the other factors.

    Each replication's values are first averaged over the other factors'
    combinations at that level, then the mean and t-based interval are taken over
    replications. Returns ``[factor, mean, sd, n, ci_low, ci_high]``.
    """
    _check_columns(runs, [factor, metric, "replication"], "factor")
    rows = []
    for lev, g in runs.groupby(factor, sort=False, observed=True):
        per_rep = g.groupby("replication")[metric].mean().to_numpy(np.float64)
        rows.append({factor: lev, **mean_ci(per_rep, conf)})
    return pd.DataFrame(rows)
