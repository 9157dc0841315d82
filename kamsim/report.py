"""Reports of experiments: Markdown + HTML, PNG figures and CSV tables.

:func:`write_report` turns one experiment's :class:`kamsim.Results` into a report
folder; :func:`write_reports` does it for every results folder (one holding
``manifest.json``) under a root, as ``kamsim report RESULTS_DIR`` does.

A report folder holds:

* ``report.md`` and ``report.html`` (self-contained: figures embedded), headline table
  first;
* ``summary.csv`` — mean, sd, n and 95 % CI of every headline metric per cell;
* ``risk_return.csv`` — mean NPV, its 5 % quantile, CVaR and loss probability per cell;
* ``comparisons.csv`` — paired differences against the baseline policy (if ``policy``
  varies);
* ``stage_distribution.csv``, ``whale_curve.csv``, ``profit_concentration.csv``,
  ``exits_by_cause.csv``, ``stage_times.csv``, ``dependency.csv``;
* the figures as PNG.

The folder is written to a temporary sibling and moved into place at the end, so a
failed report never leaves a half-written folder behind.
"""

from __future__ import annotations

import base64
import html
import secrets
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kamsim import metrics, plots, tournament
from kamsim.analysis import compare, summarize
from kamsim.params import ParameterError
from kamsim.results import Results

__all__ = [
    "find_experiments",
    "headline_table",
    "missing_results",
    "write_report",
    "write_reports",
]

#: Maximum number of panels in a small-multiples figure.
MAX_PANELS = 24


def _fmt(x: Any, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    return f"{x:,.{digits}f}"


def _varying(runs: pd.DataFrame, factors: Sequence[str]) -> list[str]:
    return [f for f in factors if f in runs.columns and runs[f].nunique(dropna=False) > 1]


def _spec_factors(spec: dict[str, Any], runs: pd.DataFrame) -> list[str]:
    names = [f for f in (spec.get("factors") or {}) if f in runs.columns]
    for f in ("n_accounts", "policy"):
        if f in runs.columns and f not in names:
            names.append(f)
    return names


def headline_table(runs: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """One row per cell: mean NPV with 95 % CI, downside, concentration, top stages.

    Columns: the ``by`` factors, ``NPV mean (k€)``, ``95 % CI``, ``NPV 5 % quantile
    (k€)``, ``NPV CVaR 5 % (k€)``, ``P(NPV < 0)``, ``largest share``, ``top stages at
    end`` (interdependent + strategic relationships), ``switched exits``.
    """
    keys = list(by)
    summ = summarize(runs, by=keys, metrics=["npv"])
    risk = metrics.downside(runs, by=keys or None)
    extra_cols = ["final_largest_share", "final_n_interdependent", "final_n_strategic"]
    extra_cols += ["exits_switched"]
    if keys:
        extra = (
            runs.groupby(keys, sort=True, observed=True)[extra_cols].mean().reset_index()
        )
        table = summ.merge(risk, on=keys, suffixes=("", "_r")).merge(extra, on=keys)
    else:
        extra = runs[extra_cols].mean().to_frame().T
        shared = {c: f"{c}_r" for c in risk.columns if c in summ.columns}
        table = pd.concat(
            [summ.reset_index(drop=True), risk.rename(columns=shared), extra], axis=1
        )
    out = pd.DataFrame({k: table[k] for k in keys})
    out["NPV mean (k€)"] = [_fmt(v) for v in table["mean"]]
    out["95 % CI"] = [
        f"[{_fmt(lo)}, {_fmt(hi)}]"
        for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
    ]
    out["NPV 5 % quantile (k€)"] = [_fmt(v) for v in table["q05"]]
    out["NPV CVaR 5 % (k€)"] = [_fmt(v) for v in table["cvar05"]]
    out["P(NPV < 0)"] = [_fmt(v, 3) for v in table["p_loss"]]
    out["largest share"] = [_fmt(v, 3) for v in table["final_largest_share"]]
    out["top stages at end"] = [
        _fmt(a + b, 2)
        for a, b in zip(
            table["final_n_interdependent"], table["final_n_strategic"], strict=True
        )
    ]
    out["switched exits"] = [_fmt(v, 1) for v in table["exits_switched"]]
    out["n"] = table["n"].astype(np.int64).to_numpy()
    return out


def _column_digits(df: pd.DataFrame) -> list[int]:
    """Decimals per column by its largest value: 0 (>= 100), 1 (>= 10), else 3."""
    out = []
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_float_dtype(col) and col.notna().any():
            top = float(np.nanmax(np.abs(col.to_numpy())))
            out.append(0 if top >= 100 else 1 if top >= 10 else 3)
        else:
            out.append(0)
    return out


def _panel_title(keys: Sequence[str], value: Any) -> str:
    """``"n_accounts = 5, policy = uniform"`` for a groupby key (scalar or tuple)."""
    values = value if isinstance(value, tuple) else (value,)
    return ", ".join(f"{k} = {v}" for k, v in zip(keys, values, strict=False))


def _md_table(df: pd.DataFrame, max_rows: int = 60) -> str:
    d = df.head(max_rows)
    cols = [str(c) for c in d.columns]
    digits = _column_digits(d)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in d.itertuples(index=False):
        cells = []
        for v, dg in zip(row, digits, strict=True):
            if isinstance(v, float):
                cells.append(_fmt(v, dg))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    if len(df) > max_rows:
        lines.append(f"\n*({len(df) - max_rows} more rows in the CSV file)*")
    return "\n".join(lines)


def _label_col(df: pd.DataFrame, keys: Sequence[str]) -> pd.Series:
    if not keys:
        return pd.Series(["all"] * len(df), index=df.index)
    return df[list(keys)].astype(str).agg(", ".join, axis=1)


class _Doc:
    """Collects report sections and renders them as Markdown and HTML."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.md: list[str] = []
        self.html: list[str] = []

    def heading(self, text: str, level: int = 2) -> None:
        self.md.append("#" * level + " " + text + "\n")
        self.html.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def text(self, text: str) -> None:
        self.md.append(text + "\n")
        self.html.append(f"<p>{html.escape(text)}</p>")

    def warning(self, title: str, lines: Sequence[str]) -> None:
        """A boxed notice at this point: a Markdown quote, an HTML ``div.warning``."""
        self.md.append(f"> **{title}**\n>\n" + "\n>\n".join(f"> {t}" for t in lines) + "\n")
        body = "".join(f"<p>{html.escape(t)}</p>" for t in lines)
        self.html.append(f'<div class="warning"><h2>{html.escape(title)}</h2>{body}</div>')

    def table(self, df: pd.DataFrame, csv: str | None = None) -> None:
        self.md.append(_md_table(df) + "\n")
        d = df.head(60)
        formatters = {
            c: (lambda v, dg=dg: _fmt(v, dg))
            for c, dg in zip(d.columns, _column_digits(d), strict=True)
            if pd.api.types.is_float_dtype(d[c])
        }
        self.html.append(d.to_html(index=False, formatters=formatters))
        if csv:
            self.md.append(f"Table: [{csv}]({csv})\n")
            self.html.append(f'<p>Table: <a href="{csv}">{csv}</a></p>')

    def figure(self, fig: Any, name: str, caption: str) -> None:
        path = self.folder / name
        fig.savefig(path, dpi=110, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig)
        self.md.append(f"![{caption}]({name})\n\n*{caption}*\n")
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        self.html.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def write(self, title: str) -> Path:
        md_path = self.folder / "report.md"
        md_path.write_text("\n".join(self.md), encoding="utf-8")
        style = (
            "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;font-size:0.85em;margin:1em 0}"
            "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
            "img{max-width:100%}figcaption{font-style:italic;font-size:0.9em}"
            ".warning{border:3px solid #c00;background:#fee;padding:0 1em;margin:1em 0}"
        )
        page = (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{style}</style></head><body>"
            + "\n".join(self.html)
            + "</body></html>"
        )
        (self.folder / "report.html").write_text(page, encoding="utf-8")
        return md_path


def _panels(n: int) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False, sharey=False
    )
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _tournament_section(doc: _Doc, results: Results, plt: Any) -> None:
    """Who wins against whom: standings, then NPV and market share per matchup."""
    table = tournament.matchups(results.suppliers)
    table.to_csv(doc.folder / "matchups.csv", index=False)
    ranks = tournament.standings(table)
    ranks.to_csv(doc.folder / "standings.csv", index=False)
    best = ranks.iloc[0]
    doc.heading("Tournament: which policy wins against which")
    doc.text(
        f"Averaged over every opponent, `{best['policy']}` earns the highest NPV with "
        f"terminal value ({_fmt(best['npv_terminal'])} k€), holds "
        f"{100 * best['market_share']:.1f} % of the accounts' spend and out-earns its "
        f"opponent in {100 * best['win_rate']:.0f} % of the markets; the weakest "
        f"policy, `{ranks.iloc[-1]['policy']}`, earns "
        f"{_fmt(ranks.iloc[-1]['npv_terminal'])} k€. Each row below is a policy played "
        "by the focal supplier against the opponent in the column (same budgets, same "
        "markets: common random numbers)."
    )
    doc.table(ranks, "standings.csv")
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
    doc.figure(fig, "tournament.png", "Every policy against every opponent")


def _build(
    results: Results, folder: Path, spec: dict[str, Any], missing: Sequence[str]
) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    runs, quarters, accounts = results.runs, results.quarters, results.accounts
    if runs is None or runs.empty:
        raise ParameterError("'results' has no runs to report on (the runs frame is empty)")
    name = str(spec.get("name", "experiment"))
    factors = _spec_factors(spec, runs)
    # a factor with several levels in the spec keeps its column even when a partial
    # run has results for only one of them
    spec_levels = {k: v for k, v in (spec.get("factors") or {}).items() if len(v) > 1}
    by = [f for f in factors if f in spec_levels or f in _varying(runs, factors)]
    fixed = {f: runs[f].iloc[0] for f in factors if f not in by}
    doc = _Doc(folder)

    doc.heading(f"Experiment report: {name}", 1)
    if missing:
        doc.warning("Incomplete results", missing)
    if spec.get("description"):
        doc.text(str(spec["description"]))
    n_reps = int(runs.groupby(by, observed=True).size().min()) if by else len(runs)
    n_cells = runs.groupby(by, observed=True).ngroups if by else 1
    doc.text(
        f"{runs.shape[0]:,} replications in {n_cells} "
        f"cell(s) (at least {n_reps:,} per cell), horizon {spec.get('quarters', '?')} "
        f"quarters, root seed {spec.get('seed', '?')}. Money in k€; NPV discounted at the "
        "model's annual discount rate. Cells share replication seeds (common random "
        "numbers)."
    )
    if fixed:
        doc.text(
            "Fixed factors: " + ", ".join(f"{k} = {v}" for k, v in fixed.items()) + "."
        )
    if spec.get("params"):
        doc.text(
            "Parameter overrides: "
            + ", ".join(f"{k} = {v}" for k, v in dict(spec["params"]).items())
            + "."
        )

    if tournament.is_tournament(results):
        _tournament_section(doc, results, plt)

    # headline --------------------------------------------------------------------
    head = headline_table(runs, by)
    head.to_csv(folder / "headline.csv", index=False)
    doc.heading("Headline: NPV, downside and concentration per cell")
    doc.table(head, "headline.csv")

    # tables ------------------------------------------------------------------------
    summ = summarize(runs, by=by)
    summ.to_csv(folder / "summary.csv", index=False)
    risk = metrics.downside(runs, by=by or None)
    risk.to_csv(folder / "risk_return.csv", index=False)

    # NPV by factor -----------------------------------------------------------------
    numeric = [f for f in by if pd.api.types.is_numeric_dtype(runs[f])]
    x = (
        "n_accounts"
        if "n_accounts" in by
        else (numeric[0] if numeric else (by[0] if by else None))
    )
    if x is not None:
        others = [f for f in by if f != x]
        doc.heading(f"Mean NPV and its downside by {x}")
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        s = summ[summ["metric"] == "npv"].copy()
        r = risk.copy()
        hue = None
        if others:
            s["cell"] = _label_col(s, others)
            r["cell"] = _label_col(r, others)
            hue = "cell"
        plots.plot_metric_by(s, x, ax=axes[0], hue=hue, ylabel="mean NPV (k€, 95 % CI)")
        r2 = r.drop(columns=["mean"]).assign(
            mean=r["cvar05"], ci_low=r["cvar05"], ci_high=r["cvar05"]
        )
        plots.plot_metric_by(r2, x, ax=axes[1], hue=hue, ylabel="CVaR 5 % of NPV (k€)")
        doc.figure(fig, "npv_by_factor.png", f"Mean NPV (left) and CVaR 5 % (right) by {x}")

    doc.heading("Risk and return")
    fig, ax = plt.subplots(figsize=(7, 5))
    plots.plot_risk_return(risk, ax=ax, label=by or None)
    doc.figure(
        fig, "risk_return.png", "Mean NPV against CVaR 5 % of NPV, one point per cell"
    )
    doc.table(risk, "risk_return.csv")

    # paired comparisons ------------------------------------------------------------
    comp = None
    if "policy" in by:
        levels = list(spec_levels.get("policy") or pd.unique(runs["policy"]))
        base = (spec.get("report") or {}).get("baseline") or (
            "uniform" if "uniform" in levels else levels[0]
        )
        others = [f for f in by if f != "policy"]
        try:
            comp = compare(runs, baseline=base, by=others)
        except ParameterError as exc:  # a partial run without the baseline's results
            comp = None
            doc.heading(f"Paired differences against '{base}'")
            doc.text(f"Not available for these (incomplete) results: {exc}.")
    if "policy" in by and comp is not None:
        comp.to_csv(folder / "comparisons.csv", index=False)
        doc.heading(f"Paired differences against '{base}' (common random numbers)")
        doc.text(
            "Each policy is compared with the baseline on the same replication seeds; "
            "diff is the mean paired difference with its 95 % CI; variance_reduction is "
            "how much pairing shrinks the variance against independent samples."
        )
        npv_comp = comp[comp["metric"] == "npv"]
        groups = (
            list(npv_comp.groupby(others, observed=True)) if others else [("all", npv_comp)]
        )
        groups = groups[:MAX_PANELS]
        fig, axes = _panels(len(groups))
        for ax, (key, g) in zip(axes, groups, strict=False):
            plots.plot_comparison(g, ax=ax, xlabel="Δ NPV vs " + base + " (k€)")
            if others:
                ax.set_title(_panel_title(others, key), fontsize=9)
        fig.tight_layout()
        doc.figure(fig, "comparisons.png", f"Paired NPV difference against {base}, 95 % CI")
        cols = [
            *others,
            "policy",
            "baseline_mean",
            "mean",
            "diff",
            "ci_low",
            "ci_high",
            "variance_reduction",
        ]
        doc.table(npv_comp[cols], "comparisons.csv")

    # stages over time --------------------------------------------------------------
    if quarters is not None and not quarters.empty:
        dist = metrics.stage_distribution(quarters, by=by or None)
        dist.to_csv(folder / "stage_distribution.csv", index=False)
        doc.heading("Stage distribution over time")
        cells = list(dist.groupby(by, observed=True)) if by else [("all", dist)]
        shown = cells[:MAX_PANELS]
        fig, axes = _panels(len(shown))
        for ax, (key, g) in zip(axes, shown, strict=False):
            plots.plot_stage_distribution(g, ax=ax)
            ax.set_title(_panel_title(by, key), fontsize=9)
            if ax.get_legend() is not None and key != shown[0][0]:
                ax.get_legend().remove()
        fig.tight_layout()
        note = f" (first {MAX_PANELS} cells)" if len(cells) > MAX_PANELS else ""
        doc.figure(
            fig, "stage_distribution.png", f"Mean relationships per stage by quarter{note}"
        )
        dep = metrics.account_dependency(quarters, by=by or None)
        dep.to_csv(folder / "dependency.csv", index=False)
        last = dep[dep["quarter"] == dep["quarter"].max()]
        doc.heading("Account-side dependency at the end of the horizon")
        doc.text(
            "mean_share_of_wallet: average share of an account's spend placed with the "
            "focal supplier; mean_dependence: average largest share an account gives "
            "any supplier; share_top_stages: share of the focal supplier's live "
            "relationships in the interdependent or strategic stage; "
            "account_disruption_cost: k€ lost by accounts to supplier "
            "disruptions in the last quarter (per-run totals are in summary.csv)."
        )
        doc.table(last, "dependency.csv")

    # whale curve -------------------------------------------------------------------
    if accounts is not None and not accounts.empty:
        whale = metrics.whale_curve(accounts, by=by or None)
        whale.to_csv(folder / "whale_curve.csv", index=False)
        conc = metrics.profit_concentration(accounts, by=by or None)
        conc_mean = (
            conc.groupby(by, observed=True)[
                ["top_fifth_profit_share", "whale_peak", "share_unprofitable"]
            ]
            .mean()
            .reset_index()
            if by
            else conc[["top_fifth_profit_share", "whale_peak", "share_unprofitable"]]
            .mean()
            .to_frame()
            .T
        )
        conc_mean.to_csv(folder / "profit_concentration.csv", index=False)
        doc.heading("Customer profitability (whale curve)")
        fig, ax = plt.subplots(figsize=(7, 5))
        w = whale.copy()
        if by:
            w["cell"] = _label_col(w, by)
            cells_w = list(pd.unique(w["cell"]))[:12]
            w = w[w["cell"].isin(cells_w)]
        plots.plot_whale_curve(w, ax=ax, group="cell" if by else None)
        doc.figure(
            fig, "whale_curve.png", "Cumulative share of lifetime profit by account rank"
        )
        doc.table(conc_mean, "profit_concentration.csv")

    # time to stages and exits ------------------------------------------------------
    times = metrics.stage_times(runs, by=by or None)
    times.to_csv(folder / "stage_times.csv", index=False)
    doc.heading("Time to reach each stage")
    doc.table(times, "stage_times.csv")
    exits = metrics.exits_by_cause(runs, by=by or None)
    exits.to_csv(folder / "exits_by_cause.csv", index=False)
    doc.heading("Exits by cause (mean per replication)")
    doc.table(exits, "exits_by_cause.csv")
    major = metrics.major_customer_risk(runs, by=by or None)
    major.to_csv(folder / "major_customer_risk.csv", index=False)
    doc.heading("Dependency on the largest account")
    doc.text(
        "p_major: share of replications whose largest account holds at least 10 % of "
        "revenue at the end; mean_drop and q95_drop: fractional revenue drop if it left."
    )
    doc.table(major, "major_customer_risk.csv")
    doc.heading("All metrics: means with 95 % confidence intervals")
    doc.text("See summary.csv (one row per cell and metric).")
    return doc.write(name)


def _new_temp_dir(target: Path) -> Path:
    """Create an empty sibling folder of ``target`` with the umask's permissions."""
    while True:
        tmp = target.parent / f".{target.name}-{secrets.token_hex(6)}"
        try:
            tmp.mkdir()
        except FileExistsError:
            continue
        return tmp


def write_report(
    results: Results,
    out_dir: Path,
    *,
    spec: dict[str, Any],
    missing: Sequence[str] = (),
) -> Path:
    """Write the report of one experiment into ``out_dir`` and return ``report.md``.

    ``out_dir`` is replaced as a whole: the report is built in a temporary sibling
    folder and moved into place only when complete.

    Args:
        results: the experiment's results; the factor columns named in
            ``spec["factors"]`` (plus ``n_accounts``/``policy``) define the cells.
        out_dir: the report folder to write (e.g. ``results/portfolio_size/report``).
        spec: the experiment spec as a dict (name, description, replications,
            quarters, seed, factors, params).
        missing: lines saying what the results lack (see :func:`missing_results`),
            shown first, under "Incomplete results".

    Raises:
        ParameterError: if ``results`` has no runs.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp_dir(out_dir)
    try:
        _build(results, tmp, dict(spec), missing)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir / "report.md"


def find_experiments(results_root: Path) -> list[Path]:
    """Experiment folders (holding ``manifest.json``) at or under ``results_root``.

    Folders inside another experiment folder (its ``report/``) are not experiments;
    an experiment may itself be named ``report``.
    """
    root = Path(results_root)
    if (root / "manifest.json").is_file():
        return [root]
    found = sorted(p.parent for p in root.rglob("manifest.json"))
    return [f for f in found if not any(o != f and f.is_relative_to(o) for o in found)]


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


def write_reports(
    results_root: Path,
    out: Path | None = None,
    *,
    warn: Callable[[str], object] | None = None,
) -> list[Path]:
    """Write a report for every experiment folder at or under ``results_root``.

    Each experiment's report goes to ``<folder>/report/``, or to
    ``<out>/<folder name>/report/`` when ``out`` is given. The report of a partial
    or failed run covers what is stored and says first what is missing.

    Args:
        results_root: an experiment folder, or a folder holding some.
        out: where to write the reports instead.
        warn: called with one line for each incomplete experiment.

    Returns:
        The paths of the written ``report.md`` files.

    Raises:
        ParameterError: if no experiment folder is found, or one has no results yet.
    """
    from kamsim.experiments import load_results

    root = Path(results_root)
    folders = find_experiments(root)
    if not folders:
        raise ParameterError(
            f"'RESULTS_DIR' must be an experiment folder (holding manifest.json) or "
            f"contain one: {str(root)!r}"
        )
    written = []
    for folder in folders:
        res = load_results(folder)
        missing = missing_results(folder, res.meta)
        if res.runs.empty:
            why = f": {missing[0]}" if missing else ""
            raise ParameterError(f"'{folder}' has no results to report on yet{why}")
        spec = dict(res.meta.get("spec") or {"name": folder.name})
        target = (Path(out) / folder.name if out is not None else folder) / "report"
        written.append(write_report(res, target, spec=spec, missing=missing))
        if missing and warn is not None:
            warn(f"warning: {folder}: {missing[0]} See {written[-1]}.")
    return written
