"""The plan's report: where the budget should go, each account, the risks, the rules.

:func:`write_plan_report` writes ``report.html``, ``report.md``, ``report.json``, the
figure and ``plan.csv`` (the per-account table for spreadsheet users) into a folder,
built aside and moved into place when complete (nothing half-written). Its first
screen answers the question: the recommended rule, its paired gain over the team's
alternatives on held-out replications, and what it assumed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kamsim.plan.run import SEARCHED, PlanResult
from kamsim.policies.family import ScoreRule, save_rule
from kamsim.reports.document import ReportDoc, axes_record, write_folder
from kamsim.reports.formatting import fmt_ci, fmt_money, fmt_pct, fmt_signed

__all__ = ["PLAN_COLUMNS", "plan_table", "write_plan_report"]

#: The columns of ``plan.csv`` with what they mean (units in the name's description).
PLAN_COLUMNS = {
    "account": "the account, as in the file",
    "stage": "the file's stage (1 tactical - 4 strategic)",
    "revenue": "the file's revenue, k€ per year",
    "share_of_wallet": "the file's share of wallet (0-1)",
    "invest_next_year": "recommended rule's mean investment, first 4 quarters, k€",
    "p_up_2y": "probability of moving up at least one stage within 2 years",
    "p_lost_2y": "probability of losing the account (relationship ended) within 2 years",
    "p_up_5y": "probability of moving up within 5 years",
    "p_lost_5y": "probability of losing the account within 5 years",
    "npv_contribution": "expected discounted profit plus terminal value, k€",
    "team_potential": "the team's potential estimate as written, k€ per year",
    "model_potential": "median true potential the runs drew, k€ per year",
    "model_potential_p10": "its 10 % quantile",
    "model_potential_p90": "its 90 % quantile",
    "model_spend_3y": "median category spend in 3 years in the runs, k€ per year",
}


def plan_table(res: PlanResult) -> pd.DataFrame:
    """The per-account table of ``plan.csv`` (columns :data:`PLAN_COLUMNS`)."""
    return res.accounts[list(PLAN_COLUMNS)].copy()


def _shown(res: PlanResult) -> pd.DataFrame:
    """The per-account table as printed in the report (rounded, labelled)."""
    a = res.accounts
    return pd.DataFrame(
        {
            "account": a["account"],
            "stage": a["stage"],
            "revenue k€/yr": [fmt_money(x) for x in a["revenue"]],
            "invest next year k€": [fmt_money(x) for x in a["invest_next_year"]],
            "up ≤2y": [fmt_pct(x, 0) for x in a["p_up_2y"]],
            "up ≤5y": [fmt_pct(x, 0) for x in a["p_up_5y"]],
            "lost ≤2y": [fmt_pct(x, 0) for x in a["p_lost_2y"]],
            "lost ≤5y": [fmt_pct(x, 0) for x in a["p_lost_5y"]],
            "NPV contribution k€": [fmt_money(x) for x in a["npv_contribution"]],
            "team potential": _team_shown(res),
            "model potential (10-90 %)": [
                f"{fmt_money(m)} ({fmt_money(lo)}-{fmt_money(hi)})"
                for m, lo, hi in zip(
                    a["model_potential"],
                    a["model_potential_p10"],
                    a["model_potential_p90"],
                    strict=True,
                )
            ],
        }
    )


def _team_shown(res: PlanResult) -> list[str]:
    """The team's potential as the report prints it: ``1,960``, ``310-510`` or ``–``."""
    pf = res.portfolio
    out = []
    for x, lo, hi in zip(pf.potential, pf.potential_low, pf.potential_high, strict=True):
        if np.isfinite(x):
            out.append(fmt_money(x))
        else:
            out.append(f"{fmt_money(lo)}-{fmt_money(hi)}" if np.isfinite(lo) else "–")
    return out


def _findings(res: PlanResult) -> list[str]:
    """The first screen: the rule, its gain, where the money goes, what it assumed."""
    s, t = res.settings, res.candidates
    best = t[t["policy"] == res.recommended].iloc[0]
    others = t[t["policy"] != res.recommended]
    gains = "; ".join(
        f"{r.policy} {fmt_signed(r.gain)} k€ {fmt_ci(r.gain_low, r.gain_high, signed=True)}"
        for r in others.itertuples()
    )
    runner_up = others.iloc[0] if len(others) else None
    lines = [
        f"**Recommended rule: {res.recommended}.** Its portfolio NPV with terminal value "
        f"is {fmt_money(best['mean'])} k€ on average {fmt_ci(best.ci_low, best.ci_high)} "
        f"over {s['quarters'] // 4} years, on replications that did not choose it.",
    ]
    if runner_up is not None:
        lines.append(
            f"**Gain over the alternatives** (paired, 95 % CI, k€): over the best of "
            f"them on these replications, {runner_up.policy}, {fmt_signed(runner_up.gain)} "
            f"{fmt_ci(runner_up.gain_low, runner_up.gain_high, signed=True)}"
            + (
                " — not distinguishable from it at this number of replications."
                if runner_up.gain_low <= 0 <= runner_up.gain_high
                else "."
            )
            + f" All: {gains}."
        )
    a = res.accounts.sort_values("invest_next_year", ascending=False)
    total = float(res.accounts["invest_next_year"].sum())
    top = "; ".join(
        f"{r.account} {fmt_money(r.invest_next_year)} k€" for r in a.head(5).itertuples()
    )
    lines.append(
        f"**Where next year's budget goes** under it (mean of the first four quarters, "
        f"{fmt_money(total)} k€ of {fmt_money(s['budget_per_year'])} k€): {top}; "
        f"{int((res.accounts['invest_next_year'] < 1.0).sum())} accounts get (almost) "
        "nothing."
    )
    r = res.risks
    lines.append(
        f"**Risk:** the three largest accounts ({', '.join(r['top3'])}) are "
        f"{fmt_pct(r['top3_share'])} of revenue; at least one of them is lost within five "
        f"years in {fmt_pct(r['p_lose_top3_5y'])} of the runs."
    )
    lines.append(
        f"**Assumed:** {s['rivals']} rival(s) playing {s['rival_policy']} with "
        f"{fmt_money(s['rival_budget_per_year'])} k€/yr each; our budget "
        f"{fmt_money(s['budget_per_year'])} k€/yr (the model's "
        f"{fmt_money(s['budget_per_quarter'])} k€ per quarter); "
        f"{s['replications']:,} replications to choose and {s['replications']:,} others "
        f"to measure (root seed {s['seed']}); what the file does not say (trust, joint "
        "investment, true potential, willingness) drawn per replication from the "
        "priors of docs/odd.md §3.2."
    )
    return lines


def _npv_figure(doc: ReportDoc, res: PlanResult) -> None:
    """Box plots of the held-out portfolio NPV per candidate, best on top."""
    import matplotlib.pyplot as plt

    order = list(res.candidates["policy"])[::-1]
    fig, ax = plt.subplots(figsize=(8.5, 0.55 * len(order) + 1.6), layout="constrained")
    data = [res.npv[name] for name in order]
    box = ax.boxplot(
        data,
        orientation="horizontal",
        whis=(5, 95),
        showfliers=False,
        patch_artist=True,
        widths=0.6,
        medianprops={"color": "black"},
    )
    for patch, name in zip(box["boxes"], order, strict=True):
        patch.set_facecolor("#f4a259" if name == res.recommended else "#cfd8e3")
    ax.plot([np.mean(d) for d in data], range(1, len(order) + 1), "k^", label="mean")
    ax.set_yticks(range(1, len(order) + 1), [str(x) for x in order])
    ax.set_xlabel("portfolio NPV with terminal value (k€), held-out replications")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    doc.figure(
        fig,
        "npv_by_rule.png",
        f"Portfolio NPV per candidate rule (box: quartiles and median, whiskers 5-95 %, "
        f"triangle: mean; the recommended rule, {res.recommended}, in orange). "
        "Replications that chose the rule are left out.",
        [axes_record(ax)],
    )


def _risk_section(doc: ReportDoc, res: PlanResult) -> None:
    r = res.risks
    doc.heading("Portfolio risks")
    doc.bullets(
        [
            f"**Dependence on the largest accounts:** {r['largest']} alone is "
            f"{fmt_pct(r['largest_share'])} of our revenue, the three largest "
            f"{fmt_pct(r['top3_share'])}; they carry {fmt_pct(r['top3_value_share'])} of "
            "the expected NPV under the recommended rule.",
            f"**Losing one of them:** at least one of {', '.join(r['top3'])} is lost "
            f"within five years in {fmt_pct(r['p_lose_top3_5y'])} of the runs.",
            "**Accounts most at risk of switching or fading** (probability of losing "
            "the relationship; main cause where it ended):",
        ]
    )
    at = r["at_risk"].copy()
    at["revenue"] = [fmt_money(x) for x in at["revenue"]]
    at["p_lost_2y"] = [fmt_pct(x, 0) for x in at["p_lost_2y"]]
    at["p_lost_5y"] = [fmt_pct(x, 0) for x in at["p_lost_5y"]]
    names = {"revenue": "revenue k€/yr", "p_lost_2y": "lost ≤2y", "p_lost_5y": "lost ≤5y"}
    doc.table(at.rename(columns={**names, "main_cause": "main cause"}))


def _rules_section(doc: ReportDoc, res: PlanResult) -> None:
    doc.heading("The rules compared")
    t = res.candidates
    shown = pd.DataFrame(
        {
            "rule": t["policy"],
            "mean NPV k€": [fmt_money(x) for x in t["mean"]],
            "95 % CI": [fmt_ci(lo, hi) for lo, hi in zip(t.ci_low, t.ci_high, strict=True)],
            "NPV without terminal value": [fmt_money(x) for x in t["npv_without_terminal"]],
            "P(NPV < 0)": [fmt_pct(x) for x in t["p_loss"]],
            f"gain of {res.recommended}": [fmt_signed(x) for x in t["gain"]],
            "gain 95 % CI": [
                "" if np.isnan(lo) else fmt_ci(lo, hi, signed=True)
                for lo, hi in zip(t.gain_low, t.gain_high, strict=True)
            ],
        }
    )
    doc.table(shown, csv="rules.csv", full=t)
    _npv_figure(doc, res)


def _build(res: PlanResult, folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    pf, s = res.portfolio, res.settings
    where = pf.source or "your portfolio"
    doc = ReportDoc(folder)
    doc.heading(f"Plan for {where}: where the KAM budget should go", 1)
    doc.text(
        f"{len(pf)} key accounts, {fmt_money(pf.revenue.sum())} k€/yr of revenue; a KAM "
        f"budget of {fmt_money(s['budget_per_year'])} k€ per year. Which rule should "
        "spend it, what is each account likely to become, and what could go wrong?",
        css="question",
    )
    doc.heading("Findings", anchor="findings-heading")
    doc.bullets(_findings(res), anchor="findings")
    doc.heading("Per account")
    doc.text(
        f"Under {res.recommended}, on the held-out replications. Investment next year: the "
        "rule's mean allocation over the first four quarters. Up / lost: the chance that "
        "the relationship moves up at least one stage, or ends (the account switches, "
        "fades, breaks off, is dropped or disappears), within two and five years. NPV "
        "contribution: discounted profit after KAM spend plus terminal value. Team "
        "potential: the file's estimate or range; model potential: the true potential "
        "the runs drew around it (median and 10-90 %)."
    )
    best = res.candidates.set_index("policy").loc[res.recommended, "mean"]
    summed = fmt_money(res.accounts["npv_contribution"].sum())
    doc.table(
        _shown(res),
        csv="plan.csv",
        full=plan_table(res),
        note=f"The contributions add up to {summed} k€ of the portfolio's "
        f"{fmt_money(best)} k€; the rest is earned with new accounts that take the "
        "place of accounts that disappear.",
    )
    _risk_section(doc, res)
    _rules_section(doc, res)
    searched = res.rules.get(SEARCHED)
    if isinstance(searched, ScoreRule):
        save_rule(searched, folder / "rule.toml")
        doc.text(
            "The searched rule is saved as rule.toml; use it as any policy: "
            "`kamsim plan FILE --budget B --policy rule.toml`.",
            css="note",
        )
    doc.text(
        f"Run: {s['replications']:,} replications per rule to choose (replications "
        f"{s['selection_replications'][0]}-{s['selection_replications'][1]} of root seed "
        f"{s['seed']}) and {s['replications']:,} others to measure "
        f"({s['heldout_replications'][0]}-{s['heldout_replications'][1]}), common random "
        f"numbers; {s['quarters']} quarters"
        + (f"; the searched rule from {s['trials']} trials" if s["optimize"] else "")
        + f"; {res.seconds:.0f} s.",
        css="setup",
    )
    doc.data = {
        "kind": "plan",
        "recommended": res.recommended,
        "settings": {k: v for k, v in s.items() if k != "params"},
        "params": s["params"].to_dict(),
        "candidates": res.candidates.to_dict(orient="records"),
        "selection": res.selection.to_dict(orient="records"),
        "accounts": plan_table(res).to_dict(orient="records"),
        "risks": {k: v for k, v in res.risks.items() if k != "at_risk"},
        "findings": _findings(res),
    }
    return doc.write(f"Plan for {where}")


def write_plan_report(res: PlanResult, out_dir: str | Path) -> Path:
    """Write the plan's report and ``plan.csv`` into ``out_dir``; return ``report.md``."""
    return write_folder(Path(out_dir), lambda folder: _build(res, folder))
