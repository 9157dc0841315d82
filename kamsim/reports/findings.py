"""Findings: what an experiment found, in plain words computed from its results.

:func:`find` reads an experiment's ``runs`` and its
:class:`~kamsim.experiments.design.Design` and returns a list of :class:`Finding` —
short sentences for the first screen of a report, each with the numbers it quotes (so
a test can check every number against the data; none is typed). Which findings appear
depends on the factors that vary:

* the best cell overall;
* with ``policy``: the best policy, by how much it beats the baseline (paired 95 %
  CI on common random numbers), which policies are better, worse or not
  distinguishable from it;
* with ``n_accounts`` and a baseline policy: the portfolio size at which each policy
  adds most over the baseline (with ``none`` as baseline: the size at which the
  budget adds most value), and whether that peak stands out from the next best size;
* with any other factor: its paired effect on the value metric, overall and by
  portfolio size;
* for every factor: how the downside (5 % quantile, CVaR 5 %, P(loss)) moves;
* which of the differences above are not distinguishable from noise.

The value metric is NPV with terminal value (``npv_terminal``) when the results have
it, else NPV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamsim.analysis import metrics
from kamsim.analysis.statistics import (
    main_effect,
    paired_effect,
    paired_gain_difference,
)
from kamsim.experiments.design import Design, fmt_level
from kamsim.reports.formatting import fmt_ci, fmt_money, fmt_pct, fmt_signed

__all__ = ["Comparison", "Finding", "find"]


@dataclass(frozen=True)
class Comparison:
    """A paired difference quoted in the findings (k€ of the value metric).

    Attributes:
        label: what is compared, in words (``"greedy_roi vs uniform"``).
        mean: mean paired difference.
        ci_low: lower end of its 95 % confidence interval.
        ci_high: upper end.
    """

    label: str
    mean: float
    ci_low: float
    ci_high: float

    @property
    def is_noise(self) -> bool:
        """True if the interval covers 0 (not distinguishable from noise)."""
        return bool(self.ci_low <= 0.0 <= self.ci_high)

    def text(self) -> str:
        """``"+4,874 k€ (95 % CI [+4,500, +5,248])"``."""
        ci = fmt_ci(self.ci_low, self.ci_high, signed=True)
        return f"{fmt_signed(self.mean)} k€ (95 % CI {ci})"


@dataclass(frozen=True)
class Finding:
    """One sentence of the Findings section and the numbers it quotes.

    Attributes:
        topic: what it is about (``best_cell``, ``best_policy``, ``best_size``,
            ``factor_effect``, ``downside``, ``noise``).
        text: the sentence (Markdown, plain words).
        numbers: every number quoted, by name (raw values, before formatting).
        comparisons: the paired differences it quotes.
    """

    topic: str
    text: str
    numbers: dict[str, float] = field(default_factory=dict)
    comparisons: tuple[Comparison, ...] = ()


def _cmp(label: str, stats: dict[str, float]) -> Comparison:
    return Comparison(
        label, float(stats["mean"]), float(stats["ci_low"]), float(stats["ci_high"])
    )


def _where(d: Design, cell: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {fmt_level(v)}" for k, v in cell.items())


# --------------------------------------------------------------------------- best cell
def _best_cell(runs: pd.DataFrame, d: Design) -> Finding:
    v = d.value
    if not d.factors:
        s = metrics.downside(runs, metric=v).iloc[0]
        return Finding(
            "best_cell",
            f"Mean {d.value_label} is {fmt_money(s['mean'])} k€ over "
            f"{int(s['n']):,} replications.",
            {"mean": float(s["mean"])},
        )
    means = runs.groupby(list(d.factors), observed=True)[v].mean().sort_values()
    hi_key, lo_key = means.index[-1], means.index[0]
    hi = dict(
        zip(d.factors, hi_key if isinstance(hi_key, tuple) else (hi_key,), strict=True)
    )
    lo = dict(
        zip(d.factors, lo_key if isinstance(lo_key, tuple) else (lo_key,), strict=True)
    )
    return Finding(
        "best_cell",
        f"Of the {d.n_cells} cells, the highest mean {d.value_label} is "
        f"{fmt_money(means.iloc[-1])} k€ ({_where(d, hi)}) and the lowest "
        f"{fmt_money(means.iloc[0])} k€ ({_where(d, lo)}).",
        {"best_mean": float(means.iloc[-1]), "worst_mean": float(means.iloc[0])},
    )


# --------------------------------------------------------------------------- policy
def _best_policy(runs: pd.DataFrame, d: Design) -> list[Finding]:
    base, v = d.baseline, d.value
    effects = main_effect(runs, "policy", v).set_index("policy")["mean"]
    best = str(effects.idxmax())
    others = [p for p in d.levels["policy"] if p != base]
    comps = {
        p: _cmp(f"{p} vs {base}", paired_effect(runs, "policy", p, base, v, d.factors))
        for p in others
    }
    over = " averaged over the other factors" if len(d.factors) > 1 else ""
    nums = {"best_mean": float(effects[best])}
    extra: list[Comparison] = []
    if best != base:
        c = comps[best]
        text = (
            f"**{best}** has the highest mean {d.value_label}{over}: "
            f"{fmt_money(effects[best])} k€, {c.text()} over the baseline {base} "
            "(paired on the same replications)."
        )
        nums.update(
            {"best_diff": c.mean, "best_ci_low": c.ci_low, "best_ci_high": c.ci_high}
        )
        rivals = [p for p in d.levels["policy"] if p not in (best, base)]
        if rivals:
            second = max(rivals, key=lambda p: effects[p])
            r = _cmp(
                f"{best} vs {second}",
                paired_effect(runs, "policy", best, second, v, d.factors),
            )
            verdict = "not " * r.is_noise + "distinguishable from noise"
            text += f" Its lead over the runner-up {second} is {r.text()} — {verdict}."
            nums["lead_over_runner_up"] = r.mean
            extra.append(r)
    else:
        second = max(others, key=lambda p: effects[p])
        c = comps[second]
        text = (
            f"The baseline **{base}** has the highest mean {d.value_label}{over}: "
            f"{fmt_money(effects[base])} k€; the runner-up {second} earns {c.text()} "
            "against it."
        )
        nums.update({"runner_up_diff": c.mean})
    better = [p for p in others if comps[p].ci_low > 0]
    worse = [p for p in others if comps[p].ci_high < 0]
    tied = [p for p in others if comps[p].is_noise]
    parts = []
    if better:
        parts.append(f"better than {base}: {', '.join(better)}")
    if worse:
        parts.append(f"worse: {', '.join(worse)}")
    if tied:
        parts.append(f"not distinguishable from {base}: {', '.join(tied)}")
    out = [Finding("best_policy", text, nums, (*comps.values(), *extra))]
    out.append(Finding("policy_ranking", "Paired 95 % CIs — " + "; ".join(parts) + "."))
    if len(d.factors) > 1:
        out.append(_policy_wins(runs, d))
    return out


def _policy_wins(runs: pd.DataFrame, d: Design) -> Finding:
    others = [f for f in d.factors if f != "policy"]
    means = runs.groupby([*others, "policy"], observed=True)[d.value].mean().reset_index()
    winners = means.loc[means.groupby(others, observed=True)[d.value].idxmax(), "policy"]
    counts = winners.value_counts()
    total = int(counts.sum())
    text = (
        f"Best policy cell by cell (across the {total} combinations of "
        f"{', '.join(others)}): "
        + ", ".join(f"{p} in {int(n)}" for p, n in counts.items())
        + "."
    )
    return Finding("policy_wins", text, {f"wins_{p}": float(n) for p, n in counts.items()})


# --------------------------------------------------------------------------- size
def _best_size(runs: pd.DataFrame, d: Design) -> list[Finding]:
    base, v = d.baseline, d.value
    sizes = d.levels["n_accounts"]
    out = []
    for pol in [p for p in d.levels["policy"] if p != base]:
        gains = {
            n: paired_effect(
                runs, "policy", pol, base, v, d.factors, within={"n_accounts": n}
            )
            for n in sizes
        }
        peak = max(sizes, key=lambda n: gains[n]["mean"])
        c = _cmp(f"{pol} vs {base} at {peak} accounts", gains[peak])
        rest = [n for n in sizes if n != peak]
        second = max(rest, key=lambda n: gains[n]["mean"])
        diff = _cmp(
            f"{pol}: gain at {peak} vs {second} accounts",
            paired_gain_difference(
                runs,
                "policy",
                pol,
                base,
                v,
                d.factors,
                {"n_accounts": peak},
                {"n_accounts": second},
            ),
        )
        stands = "not " * diff.is_noise + "distinguishable from noise"
        head = (
            f"Under {pol}, the budget adds most value at **{peak} accounts**: "
            f"{c.text()} over none"
            if base == "none"
            else f"{pol} gains most over {base} at **{peak} accounts**: {c.text()}"
        )
        text = (
            f"{head}; the next best size, {second} accounts, gains "
            f"{fmt_signed(gains[second]['mean'])} k€, and the peak exceeds it by "
            f"{diff.text()} — {stands}."
        )
        out.append(
            Finding(
                "best_size",
                text,
                {
                    f"{pol}_peak_size": float(peak),
                    f"{pol}_peak_gain": c.mean,
                    f"{pol}_second_size": float(second),
                    f"{pol}_second_gain": float(gains[second]["mean"]),
                    f"{pol}_peak_minus_second": diff.mean,
                },
                (c, diff),
            )
        )
    trend = _size_trend(runs, d)
    if trend is not None:
        out.append(trend)
    return out


def _size_trend(runs: pd.DataFrame, d: Design) -> Finding | None:
    sizes = d.levels["n_accounts"]
    means = runs.groupby(["policy", "n_accounts"], observed=True)[d.value].mean()
    rising = [
        p for p in d.levels["policy"] if means.loc[p].reindex(sizes).is_monotonic_increasing
    ]
    if len(rising) != len(d.levels["policy"]):
        return None
    lo, hi = sizes[0], sizes[-1]
    text = (
        f"Total mean {d.value_label} rises with portfolio size under every policy "
        f"(from {lo} to {hi} accounts)"
    )
    if d.baseline == "none":
        text += (
            ", so the best size for the KAM budget is where its gain over no "
            "investment peaks, not where total value does"
        )
    return Finding("size_trend", text + ".")


# --------------------------------------------------------------------------- factors
def _factor_effects(runs: pd.DataFrame, d: Design, factor: str) -> Finding:
    v = d.value
    base = d.levels[factor][0]
    comps: list[Comparison] = []
    parts = []
    nums: dict[str, float] = {}
    for lev in d.levels[factor][1:]:
        c = _cmp(
            f"{factor} = {fmt_level(lev)} vs {fmt_level(base)}",
            paired_effect(runs, factor, lev, base, v, d.factors),
        )
        comps.append(c)
        nums[f"{factor}={lev}"] = c.mean
        text = (
            f"{factor} = {fmt_level(lev)} (vs {fmt_level(base)}) changes mean "
            f"{d.value_label} by {c.text()}"
        )
        if "n_accounts" in d.factors and factor != "n_accounts" and len(d.factors) > 1:
            by = []
            for n in d.levels["n_accounts"]:
                cn = _cmp(
                    f"{factor} = {fmt_level(lev)} vs {fmt_level(base)} at {n} accounts",
                    paired_effect(
                        runs, factor, lev, base, v, d.factors, within={"n_accounts": n}
                    ),
                )
                comps.append(cn)
                nums[f"{factor}={lev}@{n}"] = cn.mean
                by.append(f"{fmt_signed(cn.mean)} k€ at {n}")
            text += " — by portfolio size: " + ", ".join(by) + " accounts"
        parts.append(text)
    return Finding("factor_effect", "; ".join(parts) + ".", nums, tuple(comps))


def _downside(runs: pd.DataFrame, d: Design, factor: str) -> Finding:
    risk = metrics.downside(runs, by=list(d.factors), metric=d.value)
    me = risk.groupby(factor, observed=True)[["q05", "cvar05", "p_loss"]].mean()
    me = me.reindex(d.levels[factor])
    over = " (averaged over the other factors' cells)" if len(d.factors) > 1 else ""
    nums = {
        f"{col}@{lev}": float(me.loc[lev, col])
        for lev in me.index
        for col in ("q05", "cvar05", "p_loss")
    }
    if d.is_numeric(factor) or len(me) == 2:
        a, b = me.index[0], me.index[-1]
        text = (
            f"Downside by {factor}{over}, from {factor} = {fmt_level(a)} to "
            f"{fmt_level(b)}: the 5 % quantile of {d.value_label} moves from "
            f"{fmt_money(me.loc[a, 'q05'])} to {fmt_money(me.loc[b, 'q05'])} k€. "
            f"The CVaR 5 % moves from {fmt_money(me.loc[a, 'cvar05'])} to "
            f"{fmt_money(me.loc[b, 'cvar05'])} k€. P({d.value_label} < 0) moves from "
            f"{fmt_pct(me.loc[a, 'p_loss'])} to {fmt_pct(me.loc[b, 'p_loss'])}."
        )
    else:
        cvar: dict[Any, float] = me["cvar05"].to_dict()
        ploss: dict[Any, float] = me["p_loss"].to_dict()
        best_c, worst_c = max(cvar, key=cvar.__getitem__), min(cvar, key=cvar.__getitem__)
        best_p, worst_p = (
            min(ploss, key=ploss.__getitem__),
            max(ploss, key=ploss.__getitem__),
        )
        same = ploss[worst_p] == ploss[best_p]
        loss = (
            f"P({d.value_label} < 0) is {fmt_pct(ploss[best_p])} under every level."
            if same
            else f"P({d.value_label} < 0) is lowest under {fmt_level(best_p)} "
            f"({fmt_pct(ploss[best_p])}) and highest under "
            f"{fmt_level(worst_p)} ({fmt_pct(ploss[worst_p])})."
        )
        text = (
            f"Downside by {factor}{over}: CVaR 5 % of {d.value_label} is best under "
            f"{fmt_level(best_c)} ({fmt_money(cvar[best_c])} k€) and worst "
            f"under {fmt_level(worst_c)} ({fmt_money(cvar[worst_c])} k€). {loss}"
        )
    return Finding("downside", text, nums)


def _noise(found: Sequence[Finding]) -> Finding:
    comps = [c for f in found for c in f.comparisons]
    noise = [c for c in comps if c.is_noise]
    if not comps:
        return Finding("noise", "No paired differences were computed (a single cell).")
    if not noise:
        return Finding(
            "noise",
            f"All {len(comps)} paired differences quoted above are distinguishable from "
            "noise (their 95 % CIs exclude 0).",
            {"n_compared": float(len(comps)), "n_noise": 0.0},
        )
    listed = "; ".join(
        f"{c.label}: {fmt_signed(c.mean)} k€, CI {fmt_ci(c.ci_low, c.ci_high, signed=True)}"
        for c in noise
    )
    return Finding(
        "noise",
        f"Not distinguishable from noise ({len(noise)} of {len(comps)} paired "
        f"differences; 95 % CI covers 0): {listed}.",
        {"n_compared": float(len(comps)), "n_noise": float(len(noise))},
        tuple(noise),
    )


def _downside_ranking(runs: pd.DataFrame, d: Design) -> Finding:
    risk = metrics.downside(runs, by=list(d.factors), metric=d.value)
    spans = {
        f: float(np.ptp(risk.groupby(f, observed=True)["cvar05"].mean().to_numpy()))
        for f in d.factors
    }
    order = sorted(spans, key=lambda f: -spans[f])
    text = (
        f"The downside (CVaR 5 % of {d.value_label}) depends most on **{order[0]}** "
        f"(its levels span {fmt_money(spans[order[0]])} k€)"
    )
    if len(order) > 1:
        text += ", then " + ", ".join(f"{f} ({fmt_money(spans[f])} k€)" for f in order[1:])
    return Finding(
        "downside_ranking", text + ".", {f"span_{f}": s for f, s in spans.items()}
    )


def find(runs: pd.DataFrame, design: Design) -> list[Finding]:
    """The findings of an experiment, computed from its ``runs`` frame.

    Args:
        runs: one row per replication and cell (factor columns, ``replication``,
            ``seed`` and the metrics).
        design: the experiment's design
            (:meth:`kamsim.experiments.design.Design.from_runs`).

    Returns:
        The findings in reading order; the last one says which differences are not
        distinguishable from noise.
    """
    d = design
    sized = "n_accounts" in d.factors and "policy" in d.factors
    scenario = [f for f in d.factors if f != "policy" and not (sized and f == "n_accounts")]
    effects = [_factor_effects(runs, d, f) for f in scenario]
    sizes = _best_size(runs, d) if sized else []
    policy = _best_policy(runs, d) if "policy" in d.factors else []
    ranking = [_downside_ranking(runs, d)] if len(d.factors) > 1 else []
    by_factor = {f: _downside(runs, d, f) for f in d.factors}
    found: list[Finding] = [_best_cell(runs, d)]
    if scenario and sized and ranking:
        # scenarios (shocks, settings) across sizes and policies: a question of risk;
        # lead with what the downside depends on most
        top = max(d.factors, key=lambda f: ranking[0].numbers[f"span_{f}"])
        rest = [by_factor[f] for f in d.factors if f != top]
        found += [*ranking, by_factor[top], *effects, *sizes, *policy, *rest]
    else:
        found += [*effects, *sizes, *policy, *ranking, *by_factor.values()]
    if d.factors:
        found.append(_noise(found))
    return found
