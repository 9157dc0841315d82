"""Statistics of Monte Carlo results: means with confidence intervals, paired comparisons.

Both functions take a :class:`kamsim.Results` (or its ``runs`` DataFrame) and return a
tidy DataFrame, one row per group and metric:

* :func:`summarize` — mean, standard deviation, n and a t-based 95 % confidence
  interval of each metric per cell (group of factor levels); it lives beside
  :class:`~kamsim.engine.results.Results` (``Results.summary``) and is re-exported here;
* :func:`compare` — paired differences against a baseline level of one factor
  (``policy`` by default) on common random numbers: rows are matched on
  ``replication`` and ``seed`` within every combination of the other factors, so
  each difference is measured in the same random world.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kamsim.engine.results import (
    HEADLINE_METRICS,
    Results,
    _check_columns,
    _groups,
    _runs,
    factor_columns,
    mean_ci,
    summarize,
)
from kamsim.model.params import ParameterError, suggest

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
