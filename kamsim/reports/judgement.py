"""The report section on what better account analysis is worth (model 3).

An experiment whose factors include the focal supplier's misjudgement of potential
(``focal_potential_bias``) and, optionally, the market's (``potential_bias``) answers
three questions, all on common random numbers (pairs of the same replication):

* **the value of our own judgement**: how each policy's NPV changes as the focal
  supplier's judgement improves, the rivals' unchanged (the value-of-information
  curve);
* **the revenue trap**: at which quality of judgement a potential-led policy beats
  judging accounts by current revenue (``revenue_proportional``), and where not;
* **herding**: what the same improvement is worth when every supplier gets it (they
  then court the same accounts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from kamsim.analysis.statistics import compare
from kamsim.engine.results import Results, mean_ci
from kamsim.experiments.design import fmt_level
from kamsim.model.params import ModelParams
from kamsim.reports.document import ReportDoc, axes_record
from kamsim.reports.formatting import fmt_signed

__all__ = ["everyone_value", "is_judgement_study", "judgement_section", "own_value"]

FOCAL, MARKET = "focal_potential_bias", "potential_bias"
#: The revenue-led policy the potential-led ones are measured against.
REVENUE_LED = "revenue_proportional"
VALUE = "npv_terminal"


def is_judgement_study(runs: pd.DataFrame) -> bool:
    """Whether the runs vary the policy and the focal supplier's judgement."""
    return (
        "policy" in runs
        and FOCAL in runs
        and runs[FOCAL].nunique() > 1
        and runs["policy"].nunique() > 1
    )


def _market_levels(runs: pd.DataFrame) -> list[float]:
    """The rivals' judgement levels, the model's default first."""
    default = ModelParams().potential_bias
    if MARKET not in runs:
        return [default]
    return sorted(runs[MARKET].unique(), key=lambda x: (x != default, x))


def _at_market(runs: pd.DataFrame, level: float) -> pd.DataFrame:
    return runs[runs[MARKET] == level] if MARKET in runs else runs


def own_value(runs: pd.DataFrame, market: float) -> pd.DataFrame:
    """Paired change of NPV as the focal judgement moves from the market's level.

    Rows per policy and focal level (market judgement ``market``; the baseline is
    the focal level equal to it): ``diff``, ``ci_low``, ``ci_high`` (k€).
    """
    sub = _at_market(runs, market)
    return compare(sub, baseline=market, by=["policy"], metrics=[VALUE], factor=FOCAL)


def _pairs(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    keys = ["policy", "replication", "seed"]
    m = a[[*keys, VALUE]].merge(b[[*keys, VALUE]], on=keys, suffixes=("_a", "_b"))
    return m


def everyone_value(runs: pd.DataFrame, default: float) -> pd.DataFrame:
    """Paired change of NPV when every supplier's judgement becomes perfect.

    Per policy: the cell (focal 0, market 0) minus (focal ``default``, market
    ``default``), mean and t-based 95 % CI (k€, :func:`kamsim.engine.results.mean_ci`,
    as every other interval of the reports); empty without both cells.
    """
    if MARKET not in runs or 0.0 not in set(runs[MARKET]) or 0.0 not in set(runs[FOCAL]):
        return pd.DataFrame()
    base = runs[(runs[FOCAL] == default) & (runs[MARKET] == default)]
    best = runs[(runs[FOCAL] == 0.0) & (runs[MARKET] == 0.0)]
    m = _pairs(base, best)
    rows = []
    for pol, g in m.groupby("policy", sort=False):
        ci = mean_ci(g[f"{VALUE}_b"] - g[f"{VALUE}_a"])
        rows.append({"policy": pol, "diff": ci["mean"], **ci})
    return pd.DataFrame(rows)[["policy", "diff", "ci_low", "ci_high"]]


def _versus_revenue(runs: pd.DataFrame, market: float) -> pd.DataFrame:
    sub = _at_market(runs, market)
    if REVENUE_LED not in set(sub["policy"]):
        return pd.DataFrame()
    return compare(sub, baseline=REVENUE_LED, by=[FOCAL], metrics=[VALUE])


def _ci(row: Any) -> str:
    return (
        f"{fmt_signed(row['diff'])} k€ (95 % CI {fmt_signed(row['ci_low'])} to "
        f"{fmt_signed(row['ci_high'])} k€)"
    )


def _herding_text(own: pd.DataFrame, every: pd.DataFrame) -> str:
    """Own perfect information against everyone's, for the policies that read it."""
    joined = own[own[FOCAL] == 0.0][["policy", "diff"]].merge(
        every, on="policy", suffixes=("_own", "")
    )
    readers = joined[joined["diff_own"] != 0.0]
    others = joined[joined["diff_own"] == 0.0]
    shrink = readers[readers["diff"] < readers["diff_own"]]["policy"].tolist()
    text = (
        "**Herding.** When every supplier knows potential exactly, the gain of the "
        f"policies that read it is smaller than when only we do for {len(shrink)} of "
        f"{len(readers)}"
        + (f" ({', '.join(f'`{p}`' for p in shrink)})" if shrink else "")
        + ": the rivals then court the same accounts."
    )
    if not others.empty:
        worst = others.sort_values("diff").iloc[0]
        text += (
            " A policy that reads no estimate cannot gain, and better-informed rivals "
            f"cost it up to {fmt_signed(worst['diff'])} k€ (`{worst['policy']}`)."
        )
    return text + " Table: judgement.csv."


def _trap_text(vs: pd.DataFrame, levels: Sequence[float]) -> str:
    """Which potential-led policy beats revenue_proportional, and from which bias."""
    if vs.empty:
        return ""
    best_perfect = vs[vs[FOCAL] == min(levels)].sort_values("diff").iloc[-1]
    pol = best_perfect["policy"]
    mine = vs[vs["policy"] == pol].sort_values(FOCAL)
    wins = mine[mine["ci_low"] > 0][FOCAL].tolist()
    loses = mine[mine["ci_high"] < 0][FOCAL].tolist()
    where = (
        f"it beats it significantly at a focal misjudgement of "
        f"{', '.join(fmt_level(x) for x in wins)}"
        if wins
        else "it never beats it significantly"
    )
    worse = f" and loses to it at {', '.join(fmt_level(x) for x in loses)}" if loses else ""
    return (
        f"**The revenue trap.** Judging accounts by current revenue "
        f"(`{REVENUE_LED}`) is beaten by `{pol}` when the focal supplier's judgement of "
        f"potential is perfect: {_ci(best_perfect)}; {where}{worse}. So the warning of "
        "the KAM texts — classifying accounts by revenue misses the accounts with "
        "potential — holds only for a supplier that judges potential well enough."
    )


def _curve_figure(doc: ReportDoc, runs: pd.DataFrame, markets: Sequence[float]) -> None:
    import matplotlib.pyplot as plt

    from kamsim.engine.results import summarize
    from kamsim.reports import plots

    fig, axes = plt.subplots(
        1, len(markets), figsize=(6.4 * len(markets) + 2.2, 4.6), squeeze=False,
        layout="constrained",
    )  # fmt: skip
    records = []
    for ax, level in zip(axes[0], markets, strict=True):
        sub = _at_market(runs, level)
        s = summarize(sub, by=["policy", FOCAL], metrics=[VALUE])
        plots.plot_metric_by(
            s,
            FOCAL,
            ax=ax,
            hue="policy",
            ylabel="NPV with terminal value (k€, mean, 95 % CI)",
            xlabel="focal supplier's misjudgement of potential (focal_potential_bias)",
            numeric=True,
            legend=False,
        )
        title = f"rivals' misjudgement (potential_bias) = {fmt_level(level)}"
        ax.set_title(title, fontsize=9)
        plots.wrap_labels(ax, 44)
        cells = [
            {"policy": fmt_level(p), FOCAL: fmt_level(f), MARKET: fmt_level(level)}
            for p, f in zip(s["policy"], s[FOCAL], strict=True)
        ]
        records.append(axes_record(ax, cells))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, title="policy", loc="outside right upper",
               fontsize="small", title_fontsize="small")  # fmt: skip
    doc.figure(
        fig,
        "value_of_information.png",
        "Value of information: each focal policy's NPV as its own judgement of "
        "potential gets worse (left to right), the rivals' judgement fixed per panel. "
        "Policies that read no estimate are flat.",
        records,
    )


def judgement_section(doc: ReportDoc, results: Results | pd.DataFrame) -> None:
    """What better account analysis is worth: text, the curve, the tables."""
    runs = results.runs if isinstance(results, Results) else results
    default = ModelParams().potential_bias
    markets = _market_levels(runs)
    market = default if default in markets else markets[-1]
    levels = sorted(runs[FOCAL].unique())
    own = own_value(runs, market)
    doc.heading("What better account analysis is worth")
    perfect = own[own[FOCAL] == min(levels)].sort_values("diff", ascending=False)
    if not perfect.empty:
        top = perfect.iloc[0]
        doc.text(
            f"**Our own judgement.** With the rivals' judgement at its default "
            f"({fmt_level(market)}), perfect information about potential is worth most "
            f"to `{top['policy']}`: {_ci(top)} over judging at the market's level. "
            "Policies that read no estimate of potential gain nothing (by construction)."
        )
    every = everyone_value(runs, default)
    if not every.empty:
        doc.text(_herding_text(own, every))
    doc.text(_trap_text(_versus_revenue(runs, market), levels))
    _curve_figure(doc, runs, markets)
    table = own.assign(**{FOCAL: own[FOCAL].map(fmt_level)}).rename(
        columns={FOCAL: "focal judgement", "diff": "Δ NPV (k€)"}
    )
    cols = ["policy", "focal judgement", "Δ NPV (k€)", "ci_low", "ci_high"]
    full = table[cols].copy()
    if not every.empty:
        ev = every.assign(**{"focal judgement": "everyone perfect"})
        full = pd.concat([full, ev.rename(columns={"diff": "Δ NPV (k€)"})[cols]])
    doc.table(
        full.round(1),
        "judgement.csv",
        note="Paired change of NPV with terminal value against judging at the market's "
        "level; 'everyone perfect': every supplier's judgement perfect.",
    )
