"""Reports of experiments: Markdown + HTML whose first screen answers the question.

:func:`write_report` turns one experiment's :class:`kamsim.Results` into a report
folder; :func:`write_reports` does it for every results folder (one holding
``manifest.json``) under a root, as ``kamsim report RESULTS_DIR`` does (a
sensitivity study's folder gets its own report, :mod:`kamsim.sensitivity.report`).

A report reads, top to bottom:

1. the question (the spec's description);
2. **Findings** — plain sentences computed from the results
   (:func:`kamsim.reports.findings.find`): the best policy and by how much it beats the
   baseline (paired 95 % CI), the portfolio size at which the budget adds most value,
   how each factor moves the downside, which differences are noise;
3. the set-up (replications, seeds, fixed factors);
4. figures as small multiples with named factors, every cell shown
   (:mod:`kamsim.reports.figures`);
5. tables, summarised on the page when long, in full as CSV beside the report.

Everything is driven by the factors and columns present in the results: the value
metric is NPV with terminal value (``npv_terminal``) when the model reports it, else
NPV. The folder is written to a temporary sibling and moved into place at the end,
so a failed report never leaves a half-written folder behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from kamsim.analysis import metrics, tournament
from kamsim.analysis.statistics import summarize
from kamsim.engine.results import Results
from kamsim.experiments.design import Design, Layout, fmt_level, value_column
from kamsim.reports.document import MAX_TABLE_ROWS, ReportDoc, axes_record, write_folder
from kamsim.reports.figures import Context, all_figures
from kamsim.reports.findings import find
from kamsim.reports.formatting import fmt_money, fmt_pct, human_title
from kamsim.reports.judgement import is_judgement_study, judgement_section

__all__ = ["headline_table", "missing_results", "write_report"]

#: Optional per-cell columns of the headline table: runs column -> heading.
_HEADLINE_EXTRA = {
    "final_largest_share": "largest account share",
    "final_n_interdependent": "interdependent at end",
    "final_n_strategic": "strategic at end",
    "exits_switched": "switched exits",
}


def headline_table(
    runs: pd.DataFrame, by: Sequence[str], value: str | None = None
) -> pd.DataFrame:
    """One row per cell: mean value with 95 % CI, downside, concentration, top stages.

    Columns: the ``by`` factors, ``mean (k€)``, ``CI low``, ``CI high``, ``5 %
    quantile (k€)``, ``CVaR 5 % (k€)``, ``P(loss)``, then those of
    ``final_largest_share``, ``final_n_interdependent``, ``final_n_strategic``,
    ``exits_switched`` present in ``runs`` (cell means), and ``n``. The value metric
    is ``value`` (default: ``npv_terminal`` if present, else ``npv``).
    """
    keys = list(by)
    v = value or value_column(runs)
    summ = summarize(runs, by=keys, metrics=[v])
    risk = metrics.downside(runs, by=keys or None, metric=v)
    extra = [c for c in _HEADLINE_EXTRA if c in runs.columns]
    if keys:
        means = runs.groupby(keys, sort=False, observed=True)[extra].mean().reset_index()
        table = summ.merge(risk, on=keys, suffixes=("", "_r")).merge(means, on=keys)
    else:
        means = runs[extra].mean().to_frame().T
        shared = {c: f"{c}_r" for c in risk.columns if c in summ.columns}
        table = pd.concat(
            [summ.reset_index(drop=True), risk.rename(columns=shared), means], axis=1
        )
    out = pd.DataFrame({k: table[k] for k in keys})
    out["mean (k€)"] = table["mean"]
    out["CI low"] = table["ci_low"]
    out["CI high"] = table["ci_high"]
    out["5 % quantile (k€)"] = table["q05"]
    out["CVaR 5 % (k€)"] = table["cvar05"]
    out["P(loss)"] = table["p_loss"]
    for c in extra:
        out[_HEADLINE_EXTRA[c]] = table[c].astype(float)
    out["n"] = table["n"].astype("int64")
    return out


def _summarise(
    df: pd.DataFrame, d: Design, lay: Layout, value: str
) -> tuple[pd.DataFrame, str | None]:
    """A long per-cell table as it is shown on the page, and a note saying how."""
    if len(df) <= MAX_TABLE_ROWS:
        return df, None
    if lay.x and lay.hue and not lay.facets and len(d.levels[lay.x]) <= 15:
        piv = df.pivot_table(index=lay.x, columns=lay.hue, values=value, sort=False)
        piv = piv.reindex(index=d.levels[lay.x], columns=d.levels[lay.hue]).reset_index()
        piv.columns = [str(c) for c in piv.columns]
        return piv, f"{value} by {lay.x} (rows) and {lay.hue} (columns)."
    order = df.sort_values(value, ascending=False)
    top = pd.concat([order.head(5), order.tail(5)])
    return top, f"The 5 highest and 5 lowest of {len(df)} cells by {value}."


def _by_x(
    df: pd.DataFrame, lay: Layout, d: Design, keys: Sequence[str], values: Sequence[str]
) -> tuple[pd.DataFrame, str | None]:
    """A secondary table averaged over every factor but the x factor (if it is long)."""
    if len(df) <= MAX_TABLE_ROWS or lay.x is None:
        return df, None
    out = df.groupby([lay.x, *keys], sort=False, observed=True)[list(values)].mean()
    others = [f for f in d.factors if f != lay.x]
    return out.reset_index(), f"Averaged over {', '.join(others)}."


def _setup_text(runs: pd.DataFrame, d: Design, spec: dict[str, Any]) -> str:
    text = (
        f"Set-up: {len(runs):,} replications in {d.n_cells} cell(s) ({d.n_reps:,} per "
        f"cell), horizon {spec.get('quarters', '?')} quarters, root seed "
        f"{spec.get('seed', '?')}. Every cell runs on the same replication seeds (common "
        "random numbers), so differences between cells are paired. Money in k€; "
        f"the value metric is {d.value_label} (`{d.value}`), discounted at the model's "
        "annual rate."
    )
    if d.fixed:
        text += (
            " Fixed: "
            + ", ".join(f"{k} = {fmt_level(v)}" for k, v in d.fixed.items())
            + "."
        )
    if spec.get("params"):
        text += (
            " Parameter overrides: "
            + ", ".join(f"{k} = {v}" for k, v in dict(spec["params"]).items())
            + "."
        )
    return text


#: What the comparisons table's ``variance_reduction`` column means, under the table.
VARIANCE_REDUCTION_NOTE = (
    "diff: mean paired difference (policy minus baseline, same seeds); ci_low, ci_high: "
    "its 95 % CI. variance_reduction: how many times smaller the variance of the "
    "estimated difference is thanks to pairing on common random numbers than with two "
    "independent samples of the same size, (var(x) + var(x_baseline)) / var(diff); "
    "above 1, pairing helped."
)


def _drop_zero(df: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, str | None]:
    """``df`` without those ``columns`` that are 0 in every row, and a note naming them."""
    zero = [c for c in columns if c in df.columns and bool((df[c].fillna(0) == 0).all())]
    if not zero:
        return df, None
    return df.drop(columns=zero), (
        f"Left out, 0 in every row: {', '.join(zero)} (k€ the accounts lose to supplier "
        "disruptions; this experiment has none)."
    )


def _joined_notes(*notes: str | None) -> str | None:
    text = " ".join(n for n in notes if n)
    return text or None


def _tables(doc: ReportDoc, ctx: Context, tables: dict[str, pd.DataFrame | None]) -> None:
    d, lay, runs = ctx.design, ctx.layout, ctx.runs
    by = list(d.factors)
    doc.heading("Tables")
    head = headline_table(runs, by, d.value)
    shown, note = _summarise(head, d, lay, "mean (k€)")
    doc.heading(f"{d.value_label} per cell: mean, downside, concentration", 3)
    doc.table(shown, "headline.csv", full=head, note=note)
    comp = tables.get("comparisons")
    if comp is not None:
        cols = [
            *[f for f in by if f != "policy"],
            "policy",
            "baseline_mean",
            "mean",
            "diff",
            "ci_low",
            "ci_high",
            "variance_reduction",
        ]
        c = comp[cols]
        shown, note = _summarise(c, d, lay, "diff")
        doc.heading(f"Paired differences against {d.baseline}", 3)
        doc.text(VARIANCE_REDUCTION_NOTE, css="note")
        doc.table(shown, "comparisons.csv", full=comp, note=note)
    summarize(runs, by=by).to_csv(doc.folder / "summary.csv", index=False)
    tables["risk"].to_csv(doc.folder / "risk_return.csv", index=False)  # type: ignore[union-attr]
    _secondary_tables(doc, ctx, tables)


def _secondary_tables(
    doc: ReportDoc, ctx: Context, tables: dict[str, pd.DataFrame | None]
) -> None:
    d, lay, runs = ctx.design, ctx.layout, ctx.runs
    by = list(d.factors) or None
    dist, whale = tables.get("stages"), tables.get("whale")
    if dist is not None:
        dist.to_csv(doc.folder / "stage_distribution.csv", index=False)
        dep = metrics.account_dependency(ctx.results.quarters, by=by)
        last = dep[dep["quarter"] == dep["quarter"].max()].drop(columns="quarter")
        shown, note = _by_x(
            last, lay, d, [], [c for c in last.columns if c not in d.factors]
        )
        shown, dropped = _drop_zero(shown, ["account_disruption_cost"])
        doc.heading("Account-side dependency at the end of the horizon", 3)
        doc.table(shown, "dependency.csv", full=dep, note=_joined_notes(note, dropped))
    if whale is not None:
        whale.to_csv(doc.folder / "whale_curve.csv", index=False)
        conc = metrics.profit_concentration(ctx.results.accounts, by=by)
        cols = ["top_fifth_profit_share", "whale_peak", "share_unprofitable"]
        mean = (
            conc.groupby(list(d.factors), observed=True)[cols].mean().reset_index()
            if d.factors
            else conc[cols].mean().to_frame().T
        )
        shown, note = _by_x(mean, lay, d, [], cols)
        shown = shown.assign(
            top_fifth_profit_share=100 * shown["top_fifth_profit_share"],
            share_unprofitable=100 * shown["share_unprofitable"],
            whale_peak=100 * shown["whale_peak"],
        ).rename(
            columns={
                "top_fifth_profit_share": "top fifth's share of profit (%)",
                "whale_peak": "whale curve peak (%)",
                "share_unprofitable": "unprofitable accounts (%)",
            }
        )
        doc.heading("Customer profitability per cell", 3)
        doc.table(shown, "profit_concentration.csv", full=mean, note=note)
    times = metrics.stage_times(runs, by=by)
    shown, note = _by_x(times, lay, d, ["stage"], ["years", "share_of_runs"])
    doc.heading("Time to reach each stage (years)", 3)
    doc.table(shown, "stage_times.csv", full=times, note=note)
    exits = metrics.exits_by_cause(runs, by=by)
    shown, note = _exits_pivot(exits, lay, d)
    doc.heading("Exits by cause (mean per replication)", 3)
    doc.table(shown, "exits_by_cause.csv", full=exits, note=note)
    major = metrics.major_customer_risk(runs, by=by)
    shown, note = _by_x(major, lay, d, [], ["p_major", "mean_drop", "q95_drop"])
    doc.heading("Dependency on the largest account", 3)
    doc.text(
        "p_major: share of replications whose largest account holds at least 10 % of "
        "revenue at the end; mean_drop and q95_drop: fractional revenue drop if it left.",
        css="note",
    )
    doc.table(shown, "major_customer_risk.csv", full=major, note=note)


def _budgets_text(spec: dict[str, Any]) -> str:
    """What the tournament's suppliers spend: "same budgets" only when they do."""
    from kamsim.model.params import ModelParams

    factors = dict(spec.get("factors") or {})
    if "budget" in factors or "rival_budget" in factors:
        return "budgets as in each cell"
    p = {**ModelParams().to_dict(), **dict(spec.get("params") or {})}
    mine, theirs = float(p["budget"]), float(p["rival_budget"])
    if mine == theirs:
        return f"same budgets, {fmt_money(mine)} k€ a quarter"
    return f"budgets {fmt_money(mine)} (focal) and {fmt_money(theirs)} (rival) a quarter"


def _exits_pivot(
    exits: pd.DataFrame, lay: Layout, d: Design
) -> tuple[pd.DataFrame, str | None]:
    """Exits by cause as shown: one row per cell (or x level), one column per cause.

    Mean exits per replication; averaged over the factors other than x when the
    cells would make more than a page of rows.
    """
    causes = list(dict.fromkeys(exits["cause"]))
    keys = [f for f in d.factors if f in exits.columns]
    note = None
    n_cells = len(exits) // max(len(causes), 1)
    if n_cells > MAX_TABLE_ROWS and lay.x is not None:
        others = [f for f in keys if f != lay.x]
        keys = [lay.x]
        note = f"Averaged over {', '.join(others)}." if others else None
    if not keys:
        wide = exits.set_index("cause")[["mean"]].T.reset_index(drop=True)
    else:
        wide = exits.pivot_table(
            index=keys, columns="cause", values="mean", sort=False, observed=True
        ).reset_index()
    wide.columns = [str(c) for c in wide.columns]
    wide["all causes"] = wide[causes].sum(axis=1)
    return wide[[*keys, *causes, "all causes"]], note


def _tournament_section(doc: ReportDoc, results: Results, spec: dict[str, Any]) -> None:
    """Who wins against whom: standings, then NPV and market share per matchup."""
    import matplotlib.pyplot as plt

    table = tournament.matchups(results.suppliers)
    ranks = tournament.standings(table)
    best, worst = ranks.iloc[0], ranks.iloc[-1]
    doc.heading("Tournament: which policy wins against which")
    doc.text(
        f"Averaged over every opponent, `{best['policy']}` earns the highest NPV with "
        f"terminal value ({fmt_money(best['npv_terminal'])}), holds "
        f"{fmt_pct(best['market_share'])} of the accounts' spend and out-earns its "
        f"opponent in {fmt_pct(best['win_rate'])} of the markets; the weakest policy, "
        f"`{worst['policy']}`, earns {fmt_money(worst['npv_terminal'])}. Each row of the "
        "figure is a policy played by the focal supplier against the opponent in the "
        f"column ({_budgets_text(spec)}; same markets: common random numbers)."
    )
    doc.table(ranks, "standings.csv", full=table, note="Every matchup: matchups.csv.")
    cells = [
        {"policy": fmt_level(p), "rival_policy": fmt_level(o)}
        for p, o in zip(table["policy"], table["opponent"], strict=True)
    ]
    fig, axes = plt.subplots(1, 2, figsize=(15, 6))
    tournament.plot_matchups(
        table, "npv_terminal", ax=axes[0], label="NPV with terminal value (k€)"
    )
    axes[0].set_title("NPV with terminal value (k€) of the row policy", fontsize=10)
    tournament.plot_matchups(
        table.assign(market_share=100 * table["market_share"]),
        "market_share",
        ax=axes[1],
        fmt="{:.1f}",
        label="market share (%)",
    )
    axes[1].set_title("Market share (%) of the row policy", fontsize=10)
    fig.tight_layout()
    doc.figure(
        fig,
        "tournament.png",
        "Every policy against every opponent",
        [axes_record(ax, cells) for ax in axes],
    )


def _build(
    results: Results, folder: Path, spec: dict[str, Any], missing: Sequence[str] = ()
) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    runs = results.runs
    d = Design.from_runs(runs, spec)
    ctx = Context(results=results, design=d, layout=d.layout())
    name = str(spec.get("name", "experiment"))
    doc = ReportDoc(folder)
    doc.heading(human_title(name), 1)
    if missing:
        doc.warning("Incomplete results", missing)
    if spec.get("description"):
        doc.text(str(spec["description"]), css="question")
    found = find(runs, d)
    doc.heading("Findings", anchor="findings-heading")
    doc.bullets([f.text for f in found], anchor="findings")
    doc.text(_setup_text(runs, d, spec), css="setup")
    if tournament.is_tournament(results):
        _tournament_section(doc, results, spec)
    if is_judgement_study(runs):
        judgement_section(doc, results)
    doc.data = {
        "name": name,
        "value": d.value,
        "factors": list(d.factors),
        "levels": {f: [fmt_level(v) for v in lv] for f, lv in d.levels.items()},
        "cells": [{k: fmt_level(v) for k, v in c.items()} for c in d.cells()],
        "baseline": d.baseline,
        "findings": [
            {"topic": f.topic, "text": f.text, "numbers": f.numbers} for f in found
        ],
    }
    doc.heading("Figures")
    tables = all_figures(doc, ctx)
    _tables(doc, ctx, tables)
    doc.text(
        "All metrics with 95 % confidence intervals per cell: summary.csv.", css="note"
    )
    return doc.write(human_title(name))


def write_report(
    results: Results,
    out_dir: Path,
    *,
    spec: dict[str, Any],
    missing: Sequence[str] = (),
) -> Path:
    """Write the report of one experiment into ``out_dir`` and return ``report.md``.

    ``out_dir`` is replaced as a whole: the report is built in a temporary sibling
    folder and moved into place only when complete (``report.html`` beside
    ``report.md``).

    Args:
        results: the experiment's results; the factor columns named in
            ``spec["factors"]`` (plus ``n_accounts``/``policy``) define the cells.
        out_dir: the report folder to write (e.g. ``results/portfolio_size/report``).
        spec: the experiment spec as a dict (name, description, replications,
            quarters, seed, factors, params, report).
        missing: lines saying what the results lack (see :func:`missing_results`),
            shown first, under "Incomplete results".

    Raises:
        ParameterError: if ``results`` has no runs.
    """
    return write_folder(
        out_dir, lambda folder: _build(results, folder, dict(spec), missing)
    )


def missing_results(folder: Path, meta: Mapping[str, Any]) -> list[str]:
    """What a results folder lacks, in words (empty when the run is complete).

    Names the run's status (a run whose process was killed still says "running" in
    its manifest; it is told apart by its folder lock being free), the cells without
    any results and those with only part of their replications, and the first
    recorded error of each failed cell.
    """
    from kamsim.experiments.store import FolderLock, stored_units

    keep = list(meta.get("keep") or ["runs"])
    stored = {
        kind: {p.name for p, _ in stored_units(Path(folder), meta, kind)} for kind in keep
    }
    cells = {int(c["cell"]): c for c in meta.get("cells", [])}
    want: dict[int, int] = {}
    have: dict[int, int] = {}
    for u in meta.get("units", []):
        c, n = int(u["cell"]), int(u["replications"])
        want[c] = want.get(c, 0) + n
        if all(u["file"] in stored[k] for k in keep):
            have[c] = have.get(c, 0) + n
    lacking = sorted(c for c in want if have.get(c, 0) < want[c])
    if not lacking:
        return []
    status = {
        "failed": "failed",
        "interrupted": "was interrupted",
        "complete": "is complete",
        "new": "has not started",
    }.get(str(meta.get("status")), f"is {meta.get('status')}")
    if meta.get("status") == "running":
        status = (
            "is still running"
            if FolderLock(Path(folder)).held_elsewhere()
            else "stopped while running (its process was killed)"
        )
    errors = {int(f["cell"]): str(f["error"]) for f in reversed(meta.get("failures", []))}

    spec_factors = set((meta.get("spec") or {}).get("factors") or {})

    def label(c: int) -> str:
        shown = {
            k: v
            for k, v in cells.get(c, {}).items()
            if k in spec_factors or k in ("n_accounts", "policy")
        }
        return f"cell {c} ({', '.join(f'{k} = {v}' for k, v in shown.items())})"

    empty = [c for c in lacking if not have.get(c)]
    lines = [
        f"INCOMPLETE: {len(lacking)} of {len(want)} cells lack results ({len(empty)} "
        f"with none at all); the run {status}.",
        "Tables and figures below cover only what is stored; run the same `kamsim run` "
        "command again to complete the rest.",
    ]
    for c in lacking:
        got = f"{have.get(c, 0):,} of {want[c]:,} replications"
        why = errors.get(c, "").splitlines()[0] if c in errors else "not run yet"
        lines.append(f"Missing: {label(c)}: {got}; {why}")
    return lines
