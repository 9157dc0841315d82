"""The report of a sensitivity study: which parameters matter, and do conclusions hold.

:func:`write_sensitivity_report` writes ``report.md``, ``report.html`` (self-contained)
and ``report.json`` with, first, **Findings** in plain words computed from the
indices (the parameters that matter for each output, those that do not, whether the
output is additive in them) and from the robustness check (how often each policy is
best across the sampled parameter space, where the best portfolio size lies); then
ranked bar charts of the indices with their 95 % confidence intervals; then the
tables (indices, ranges, robustness points), each in full as CSV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from kamsim.experiments.design import VALUE_COLUMNS
from kamsim.reports import plots
from kamsim.reports.document import ReportDoc, axes_record, write_folder
from kamsim.reports.formatting import fmt_number, fmt_pct, fmt_signed, human_title
from kamsim.sensitivity.run import THRESHOLD, SensitivityResult
from kamsim.sensitivity.spec import resolve_output

__all__ = ["output_label", "sensitivity_findings", "write_sensitivity_report"]

_STAT_WORDS = {
    "mean": "mean",
    "q05": "5 % quantile",
    "cvar05": "CVaR 5 %",
    "p_loss": "P(< 0)",
    "sd": "standard deviation",
}


def output_label(name: str, columns: list[str]) -> str:
    """An output in words: ``"mean NPV (npv)"``, ``"5 % quantile of npv"``."""
    col, stat = resolve_output(name, columns)
    what = VALUE_COLUMNS.get(col, col)
    what = f"{what} ({col})" if col in VALUE_COLUMNS else col
    return (
        f"{_STAT_WORDS[stat]} {what}"
        if stat == "mean"
        else f"{_STAT_WORDS[stat]} of {what}"
    )


def _index_text(row: pd.Series, method: str) -> str:
    if method == "sobol":
        lo, hi = row["ST"] - row["ST_conf"], row["ST"] + row["ST_conf"]
        return (
            f"{row['parameter']} (ST {fmt_number(row['ST'], 2)}, 95 % CI "
            f"[{fmt_number(lo, 2)}, {fmt_number(hi, 2)}])"
        )
    return (
        f"{row['parameter']} (mu* {fmt_number(row['mu_star'], 0)} ± "
        f"{fmt_number(row['mu_star_conf'], 0)})"
    )


def _output_finding(res: SensitivityResult, name: str) -> dict[str, Any]:
    sp = res.spec
    d = res.indices[res.indices["output"] == name].sort_values("rank")
    label = output_label(name, list(sp.columns))
    infl = d[d["verdict"] == "influential"]
    negl = d[d["verdict"] == "negligible"]
    unc = d[d["verdict"] == "uncertain"]
    parts = []
    if len(infl):
        parts.append(
            "the parameters that matter are "
            + ", ".join(_index_text(r, sp.method) for _, r in infl.iterrows())
        )
    else:
        parts.append("no parameter is clearly influential")
    if len(unc):
        parts.append("uncertain: " + ", ".join(unc["parameter"]))
    if len(negl):
        parts.append(
            "negligible (total effect below "
            f"{fmt_pct(THRESHOLD, 0)}): " + ", ".join(negl["parameter"])
        )
    text = f"**{label}** — " + "; ".join(parts) + "."
    numbers: dict[str, float] = {}
    if sp.method == "sobol":
        zero = negl[(negl["ST"] - negl["ST_conf"]) <= 0]["parameter"].tolist()
        if zero:
            text += f" Total effect indistinguishable from 0: {', '.join(zero)}."
        s1 = float(d["S1"].sum())
        if not -0.1 <= s1 <= 1.1:
            verdict = "outside [0, 1], so the sample is too small to judge (raise samples)"
        elif s1 >= 0.8:
            verdict = "the output is nearly additive in the parameters"
        else:
            verdict = "interactions between parameters matter"
        text += f" First-order indices sum to {fmt_number(s1, 2)}: {verdict}."
        numbers = {
            f"ST_{p}": float(v) for p, v in zip(d["parameter"], d["ST"], strict=True)
        }
        numbers["sum_S1"] = s1
    else:
        numbers = {
            f"mu_star_{p}": float(v)
            for p, v in zip(d["parameter"], d["mu_star"], strict=True)
        }
    return {"topic": "indices", "text": text, "numbers": numbers}


def _policy_finding(rob: pd.DataFrame) -> dict[str, Any]:
    default = rob.iloc[0]
    sampled = rob.iloc[1:]
    n = len(sampled)
    counts = sampled["best_policy"].value_counts()
    best = str(default["best_policy"])
    wins = int(counts.get(best, 0))
    decisive = int(sampled["decisive"].sum())
    lead = (
        "distinguishable from noise"
        if default["decisive"]
        else "not distinguishable from noise"
    )
    text = (
        f"At the default parameters **{best}** is the best policy, "
        f"{fmt_signed(default['margin'])} k€ ahead of {default['runner_up']} ({lead}). "
        f"Across {n} sampled parameter sets it is best in {wins} ({fmt_pct(wins / n)}); "
        "best policies: "
        + ", ".join(f"{p} {int(c)}" for p, c in counts.items())
        + f". The best policy's lead is distinguishable from noise in {decisive} of {n}."
    )
    numbers = {f"best_{p}": float(c) for p, c in counts.items()}
    numbers["default_margin"] = float(default["margin"])
    return {"topic": "robust_policy", "text": text, "numbers": numbers}


def _size_finding(rob: pd.DataFrame, res: SensitivityResult) -> dict[str, Any]:
    rb, base = res.spec.robustness, res.spec.base
    default = rob.iloc[0]
    sizes = rob.iloc[1:]["best_size"].astype(int)
    counts = sizes.value_counts().sort_index()
    what = (
        f"gain of {base.policy_name if base else 'the policy'} over {rb.size_baseline}"
        if rb is not None and rb.size_baseline
        else "decision output"
    )
    spread = (
        f"it is {sizes.min()} accounts in all of them"
        if sizes.min() == sizes.max()
        else f"it lies between {sizes.min()} and {sizes.max()} accounts (median "
        f"{fmt_number(sizes.median(), 0)}): "
        + ", ".join(f"{s} accounts in {int(c)}" for s, c in counts.items())
    )
    text = (
        f"The best portfolio size (largest {what}) is "
        f"**{int(default['best_size'])} accounts** at the default parameters; across "
        f"{len(sizes)} sampled parameter sets {spread}"
        + f". Its lead over the next best size is distinguishable from noise in "
        f"{int(rob.iloc[1:]['size_decisive'].sum())} of {len(sizes)} (at the defaults: "
        f"{'yes' if default['size_decisive'] else 'no'}, "
        f"{fmt_signed(default['size_margin'])} k€ over {int(default['next_size'])} "
        "accounts)."
    )
    numbers = {
        "default_best_size": float(default["best_size"]),
        "median_best_size": float(sizes.median()),
    }
    return {"topic": "robust_size", "text": text, "numbers": numbers}


def sensitivity_findings(res: SensitivityResult) -> list[dict[str, Any]]:
    """The Findings of a sensitivity study: text and the numbers it quotes."""
    out = [
        _output_finding(res, o)
        for o in res.spec.outputs
        if o in set(res.indices.get("output", []))
    ]
    rob = res.robustness
    if rob is not None and "best_policy" in rob.columns and len(rob) > 1:
        out.append(_policy_finding(rob))
    if rob is not None and "best_size" in rob.columns and len(rob) > 1:
        out.append(_size_finding(rob, res))
    out += [
        {"topic": "note", "text": f"Not analysed — {n}.", "numbers": {}} for n in res.notes
    ]
    return out


def _setup(res: SensitivityResult) -> str:
    sp = res.spec
    n_gsa = len(sp.design_matrix)
    how = (
        f"Sobol' indices from a Saltelli/Sobol' sample of {sp.samples} × "
        f"({len(sp.parameters)} + 2) = {n_gsa} points"
        if sp.method == "sobol"
        else f"Morris elementary effects from {sp.samples} trajectories ({n_gsa} points, "
        f"{sp.levels} levels)"
    )
    fixed = ", ".join(f"{k} = {v}" for k, v in sp.fixed.items()) or "model defaults"
    rob = ""
    if sp.robustness is not None:
        rob = (
            f" Robustness: the defaults and {sp.robustness.points} Latin-hypercube "
            "parameter sets over the same ranges; at each, policies and sizes are "
            f"compared paired on its {sp.replications} replications, so a lead that is "
            "not distinguishable from noise is a tie."
        )
    return (
        f"Set-up: {how}, {sp.replications} replications per point on the same "
        f"replication seeds (common random numbers), horizon {sp.quarters} quarters, root "
        f"seed {sp.seed} (sampling and bootstrap seeded from it). Fixed: {fixed}. "
        f"Confidence intervals: 95 %, bootstrap ({sp.method})." + rob
    )


def _index_figure(doc: ReportDoc, res: SensitivityResult) -> None:
    import matplotlib.pyplot as plt

    sp = res.spec
    outs = [o for o in sp.outputs if o in set(res.indices.get("output", []))]
    if not outs:
        return
    cols = min(3, len(outs))
    rows = -(-len(outs) // cols)
    height = 0.45 * len(sp.parameters) + 1.4
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(4.6 * cols + 0.5, height * rows),
        squeeze=False,
        layout="constrained",
    )
    flat = list(axes.flat)
    records = []
    for ax, name in zip(flat, outs, strict=False):
        d = res.indices[res.indices["output"] == name].sort_values("rank")
        if sp.method == "sobol":
            plots.plot_indices(d, ax=ax, first="S1", total="ST")
        else:
            plots.plot_indices(
                d,
                ax=ax,
                first=None,
                total="mu_star",
                xlabel="mu* (mean |elementary effect|)",
            )
        ax.axvline(THRESHOLD if sp.method == "sobol" else 0, color="#c00", lw=0.7, ls=":")
        ax.set_title(output_label(name, list(sp.columns)), fontsize=9)
        records.append(axes_record(ax, [{"parameter": p} for p in d["parameter"]]))
    for ax in flat[len(outs) :]:
        ax.set_visible(False)
    what = (
        "first-order (S1) and total-order (ST) Sobol' indices"
        if sp.method == "sobol"
        else "Morris mu*"
    )
    doc.figure(
        fig,
        "indices.png",
        f"Ranked {what} with 95 % confidence intervals, one panel per output; the dotted "
        f"line marks the {fmt_pct(THRESHOLD, 0)} threshold of an influential parameter.",
        records,
    )


def _robust_figure(doc: ReportDoc, res: SensitivityResult) -> None:
    import matplotlib.pyplot as plt

    rob = res.robustness
    if rob is None or len(rob) < 2:
        return
    sampled = rob.iloc[1:]
    panels = []
    if "best_policy" in rob.columns:
        pols = list(res.spec.robustness.policies) if res.spec.robustness else []
        share = (
            sampled["best_policy"]
            .value_counts(normalize=True)
            .reindex(pols, fill_value=0.0)
        )
        panels.append(
            ("policy", share.rename_axis("policy").reset_index(name="share"), False)
        )
    if "best_size" in rob.columns:
        sizes = list(res.spec.robustness.n_accounts) if res.spec.robustness else []
        share = (
            sampled["best_size"]
            .astype(int)
            .value_counts(normalize=True)
            .reindex(sizes, fill_value=0.0)
        )
        panels.append(
            ("n_accounts", share.rename_axis("n_accounts").reset_index(name="share"), True)
        )
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(5.2 * len(panels), 3.2),
        squeeze=False,
        layout="constrained",
    )
    records = []
    for ax, (label, df, ordered) in zip(axes.flat, panels, strict=True):
        plots.plot_best_share(df, label, ax=ax, ordered=ordered)
        ax.set_title(f"best {label} across sampled parameter sets", fontsize=9)
        records.append(axes_record(ax, [{label: str(v)} for v in df[label]]))
    doc.figure(
        fig,
        "robustness.png",
        "How often each policy is best (left) and where the best portfolio size lies "
        "(right) "
        f"across {len(sampled)} parameter sets drawn over the varied ranges.",
        records,
    )


def _tables(doc: ReportDoc, res: SensitivityResult) -> None:
    sp = res.spec
    doc.heading("Tables")
    doc.heading("Indices per output (ranked)", 3)
    if len(res.indices):
        doc.table(res.indices, "indices.csv")
    ranges = pd.DataFrame(
        [
            {
                "parameter": p.name,
                "varies": "common factor on every stage" if p.per_stage else "value",
                "low": p.lo,
                "high": p.hi,
                "range from": p.origin,
            }
            for p in sp.parameters
        ]
    )
    doc.heading("Parameters and ranges", 3)
    doc.table(ranges, "ranges.csv")
    res.points.to_csv(doc.folder / "points.csv", index=False)
    if res.robustness is not None:
        rob = res.robustness
        shown = rob.drop(columns=[p.name for p in sp.parameters], errors="ignore")
        note = None
        if len(shown) > 12:
            shown = shown.head(12)
            note = (
                f"The defaults and the first 11 of {len(rob) - 1} sampled parameter sets."
            )
        doc.heading("Robustness points", 3)
        doc.table(shown, "robustness.csv", full=rob, note=note)
    doc.text("Outputs of every sample point: points.csv.", css="note")


def _build(res: SensitivityResult, folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    sp = res.spec
    doc = ReportDoc(folder)
    doc.heading(human_title(sp.name), 1)
    if sp.description:
        doc.text(sp.description, css="question")
    found = sensitivity_findings(res)
    doc.heading("Findings", anchor="findings-heading")
    doc.bullets([f["text"] for f in found], anchor="findings")
    doc.text(_setup(res), css="setup")
    doc.data = {
        "name": sp.name,
        "kind": "sensitivity",
        "method": sp.method,
        "parameters": [p.name for p in sp.parameters],
        "outputs": list(sp.outputs),
        "findings": found,
    }
    doc.heading("Figures")
    _index_figure(doc, res)
    _robust_figure(doc, res)
    _tables(doc, res)
    return doc.write(human_title(sp.name))


def write_sensitivity_report(res: SensitivityResult, out_dir: Path) -> Path:
    """Write the report of a sensitivity study into ``out_dir``; return ``report.md``.

    The folder is built in a temporary sibling and moved into place when complete.
    """
    return write_folder(out_dir, lambda folder: _build(res, folder))
