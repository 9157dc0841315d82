"""The report of a policy search: Findings first, every number held out.

Reads an :class:`~kamsim.optimize.search.OptimizeResult` (or a search folder,
:func:`load_optimize_result`) and writes ``report.md`` and a self-contained
``report.html`` with: the Findings (the chosen rule's paired gain over the best
built-in on held-out seeds, with its 95 % CI; training vs held-out; robustness), the
value–risk plane with every built-in (and the Pareto rules with two objectives), the
rule in words and as allocation by stage x potential class, the robustness tables and
the search's convergence.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kamsim.analysis.metrics import cvar
from kamsim.analysis.statistics import mean_ci
from kamsim.model.records import STAGE_LABELS
from kamsim.optimize.result import CHOSEN, OptimizeResult
from kamsim.optimize.spec import Objective
from kamsim.policies.family import describe_rule
from kamsim.reports.document import ReportDoc, axes_record, write_folder
from kamsim.reports.formatting import fmt_ci, fmt_money, fmt_pct, fmt_signed, human_title

__all__ = [
    "allocation_by_stage_class",
    "heldout_table",
    "paired_gain",
    "robustness_table",
    "write_optimize_report",
]

CLASS_LABELS = ("low", "medium", "high")


def _value_col(runs: pd.DataFrame) -> str:
    return "npv_terminal" if "npv_terminal" in runs.columns else "npv"


def _by_policy(runs: pd.DataFrame, col: str) -> dict[str, pd.Series]:
    return {
        str(p): g.set_index("replication")[col].sort_index()
        for p, g in runs.groupby("policy", sort=False)
    }


def paired_gain(
    a: pd.Series, b: pd.Series, objective: Objective, boot: int = 2000
) -> dict[str, float]:
    """Paired gain of ``a`` over ``b`` in ``objective`` (same replications), 95 % CI.

    For a mean the interval is Student's t over the per-replication differences;
    for another statistic (a quantile, CVaR, P(loss)) a paired bootstrap over
    replications (``boot`` resamples, fixed seed). A gain is "better" in the
    objective's direction: for P(loss) or sd, ``b - a``.
    """
    a, b = a.align(b, join="inner")
    x, y = a.to_numpy(np.float64), b.to_numpy(np.float64)
    sign = 1.0 if objective.maximise else -1.0
    if objective.stat == "mean":
        out = mean_ci(sign * (x - y))
        return {"gain": out["mean"], "lo": out["ci_low"], "hi": out["ci_high"], "n": len(x)}
    rng = np.random.default_rng(20261201)
    est = sign * (objective.of(x) - objective.of(y))
    draws = []
    for _ in range(boot):
        i = rng.integers(0, len(x), len(x))
        draws.append(sign * (objective.of(x[i]) - objective.of(y[i])))
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return {"gain": est, "lo": float(lo), "hi": float(hi), "n": len(x)}


def heldout_table(res: OptimizeResult) -> pd.DataFrame:
    """One row per policy on the held-out seeds: value, risk, paired gap to the rule."""
    runs = res.heldout
    col = _value_col(runs)
    series = _by_policy(runs, col)
    rule = series[CHOSEN]
    rows = []
    for pol, s in series.items():
        v = s.to_numpy(np.float64)
        ci = mean_ci(v)
        d = paired_gain(rule, s, Objective("value", col, "mean"))
        rows.append(
            {
                "policy": pol,
                "kind": "rule" if pol == CHOSEN or pol.startswith("Pareto") else "built-in",
                "mean": ci["mean"],
                "ci_low": ci["ci_low"],
                "ci_high": ci["ci_high"],
                "q05": float(np.quantile(v, 0.05)),
                "cvar05": cvar(v, 0.05),
                "p_loss": float(np.mean(v < 0)),
                "objective": res.spec.objective.of(v),
                **({"risk": res.spec.risk.of(v)} if res.spec.risk is not None else {}),
                "rule_gain": d["gain"] if pol != CHOSEN else 0.0,
                "rule_gain_lo": d["lo"] if pol != CHOSEN else 0.0,
                "rule_gain_hi": d["hi"] if pol != CHOSEN else 0.0,
                "n": len(v),
            }
        )
    df = pd.DataFrame(rows)
    asc = not res.spec.objective.maximise
    return df.sort_values("objective", ascending=asc, ignore_index=True)


def _best_builtin(table: pd.DataFrame, maximise: bool) -> str:
    b = table[table["kind"] == "built-in"]
    i = b["objective"].idxmax() if maximise else b["objective"].idxmin()
    return str(b.loc[i, "policy"])  # type: ignore[misc,arg-type,assignment,index,call-overload]


def robustness_table(res: OptimizeResult) -> pd.DataFrame:
    """Per robustness cell group: the rule against the best built-in there, paired.

    One row per rival policy (``design = rival``) and per parameter set (``design =
    params``): the rule's mean value, the best built-in and its mean (chosen in that
    group, so the comparison is conservative), the paired gain and its 95 % CI.
    """
    runs = res.robustness
    if runs is None or runs.empty:
        return pd.DataFrame()
    col = _value_col(runs)
    rows = []
    for (design, point, opp), g in runs.groupby(["design", "point", "opponent"], sort=True):
        series = _by_policy(g, col)
        rule = series.pop(CHOSEN)
        means = {p: float(s.mean()) for p, s in series.items()}
        best = max(means, key=lambda p: means[p])
        d = paired_gain(rule, series[best], Objective("value", col, "mean"))
        rows.append(
            {
                "design": design,
                "where": f"rivals: {opp}"
                if design == "rival"
                else f"parameter set {int(point)}",  # type: ignore[misc,arg-type,assignment,index,call-overload]
                "rule": float(rule.mean()),
                "best built-in": best,
                "best built-in value": means[best],
                "gain": d["gain"],
                "gain_lo": d["lo"],
                "gain_hi": d["hi"],
                "verdict": "better"
                if d["lo"] > 0
                else ("worse" if d["hi"] < 0 else "no clear difference"),
            }
        )
    return pd.DataFrame(rows)


def allocation_by_stage_class(
    res: OptimizeResult, policy: Any, replications: int = 100
) -> pd.DataFrame:
    """Mean allocation (k€ per account-quarter) by stage x estimated potential class.

    The policy is run on the first ``replications`` held-out seeds with a recorder
    that reads the stage and class of every live relationship each quarter (reading
    the potential estimate changes no number). Rows: stages; columns: classes; also
    the share of all investment going to each cell (``share`` frame in ``attrs``).
    """
    from kamsim.engine.simulate import simulate
    from kamsim.policies import resolve_policy

    sp = res.spec
    fn = resolve_policy(policy)
    sums = np.zeros((4, 3))
    counts = np.zeros((4, 3))

    class Recorder:
        observes = (
            frozenset(getattr(fn, "observes", None) or ())
            | {"active", "stage", "potential", "potential_class"}
            if getattr(fn, "observes", None) is not None
            else None
        )
        __policy_name__ = "recorder"

        def __call__(self, obs: Any, budget: float) -> np.ndarray:
            a = np.asarray(fn(obs, budget), dtype=np.float64)
            a = np.broadcast_to(a, obs.active.shape)
            act = obs.active
            st = np.clip(obs.stage[act], 1, 4) - 1
            pc = np.clip(obs.potential_class[act], 0, 2)
            np.add.at(sums, (st, pc), a[act])
            np.add.at(counts, (st, pc), 1.0)
            return a

    simulate(
        policy=Recorder(),
        replications=replications,
        seed=sp.root(1),
        keep_accounts=False,
        **sp.market_kwargs(),
    )
    mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    df = pd.DataFrame(mean, index=list(STAGE_LABELS), columns=list(CLASS_LABELS))
    df.attrs["share"] = pd.DataFrame(
        sums / max(sums.sum(), 1e-300), index=list(STAGE_LABELS), columns=list(CLASS_LABELS)
    )
    df.attrs["frequency"] = pd.DataFrame(
        counts / max(counts.sum(), 1), index=list(STAGE_LABELS), columns=list(CLASS_LABELS)
    )
    return df


# --------------------------------------------------------------------------- findings
def findings(
    res: OptimizeResult, table: pd.DataFrame, robust: pd.DataFrame
) -> list[dict[str, Any]]:
    """The Findings, in words, every number from the held-out (or robustness) runs."""
    sp = res.spec
    obj = sp.objective
    best = _best_builtin(table, obj.maximise)
    col = _value_col(res.heldout)
    series = _by_policy(res.heldout, col)
    g = paired_gain(series[CHOSEN], series[best], obj)
    rule_row = table[table["policy"] == CHOSEN].iloc[0]
    best_row = table[table["policy"] == best].iloc[0]
    money = obj.stat in ("mean", "q05", "cvar05", "sd")

    def f(x: float) -> str:
        return fmt_money(x) + " k€" if money else fmt_pct(x)

    def fs(x: float) -> str:
        return fmt_signed(x) + " k€" if money else f"{x * 100:+.1f} points"

    ci_text = (
        fmt_ci(g["lo"], g["hi"], signed=True)
        if money
        else f"{g['lo'] * 100:+.1f} to {g['hi'] * 100:+.1f} points"
    )
    if g["lo"] > 0:
        verdict = "beats"
    elif g["hi"] < 0:
        verdict = "falls short of"
    else:
        verdict = "is not distinguishable from"
    out = [
        {
            "kind": "gain",
            "text": (
                f"On {int(g['n']):,} held-out markets (seeds never used in the search), the "  # noqa: E501
                f"optimized rule **{verdict}** the best built-in policy, {best}: "
                f"{obj.label()} {f(rule_row['objective'])} against {f(best_row['objective'])}, "  # noqa: E501
                f"a paired gain of {fs(g['gain'])} (95 % CI {ci_text})."
            ),
            "gain": g["gain"],
            "ci_low": g["lo"],
            "ci_high": g["hi"],
            "best_builtin": best,
            "verdict": verdict,
        }
    ]
    train = float(res.rule.origin.get("training_value", math.nan))
    if math.isfinite(train):
        out.append(
            {
                "kind": "optimism",
                "text": (
                    f"On the {sp.replications:,} training markets the rule scored "
                    f"{f(train)}; held out it scores {f(rule_row['objective'])} "
                    f"({fs(rule_row['objective'] - train)}): the search's optimism plus sampling noise, which "  # noqa: E501
                    "is why every other number here is held out."
                ),
                "training": train,
                "heldout": float(rule_row["objective"]),
            }
        )
    out.append(
        {
            "kind": "risk",
            "text": (
                f"Downside held out: CVaR 5 % {fmt_money(rule_row['cvar05'])} k€ and P(loss) "  # noqa: E501
                f"{fmt_pct(rule_row['p_loss'])} for the rule, against "
                f"{fmt_money(best_row['cvar05'])} k€ and {fmt_pct(best_row['p_loss'])} for "
                f"{best}."
            ),
        }
    )
    if not robust.empty:
        for design, label in (("rival", "rival policies"), ("params", "parameter sets")):
            r = robust[robust["design"] == design]
            if r.empty:
                continue
            better = int((r["verdict"] == "better").sum())
            worse = int((r["verdict"] == "worse").sum())
            worst = r.loc[r["gain"].idxmin()]  # type: ignore[misc,arg-type,assignment,index,call-overload]
            out.append(
                {
                    "kind": f"robust_{design}",
                    "text": (
                        f"Robustness across {len(r)} {label}: the rule beats the best "
                        f"built-in there (paired 95 % CI above 0) in {better}, falls short in "  # noqa: E501
                        f"{worse}, and is indistinguishable in {len(r) - better - worse}; its "  # noqa: E501
                        f"weakest case is {worst['where']} ({fs(worst['gain'])} against "
                        f"{worst['best built-in']})."
                    ),
                    "better": better,
                    "worse": worse,
                    "cases": len(r),
                }
            )
    return out


# --------------------------------------------------------------------------- figures
def _plane_figure(doc: ReportDoc, res: OptimizeResult, table: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    from kamsim.reports.plots import adjust_labels

    sp = res.spec
    risk = (
        sp.risk
        if sp.risk is not None
        else Objective("value:cvar05", "npv_terminal", "cvar05")
    )
    xcol = "risk" if sp.risk is not None else "cvar05"
    fig, ax = plt.subplots(figsize=(8, 5.5))
    texts = []
    for _, r in table.iterrows():
        rule = r["kind"] == "rule"
        ax.errorbar(
            r[xcol],
            r["mean"],
            yerr=[[r["mean"] - r["ci_low"]], [r["ci_high"] - r["mean"]]],
            fmt="*" if rule else "o",
            ms=14 if rule else 7,
            color="#d62728" if rule else "#1f77b4",
            capsize=3,
        )
        texts.append(ax.annotate(str(r["policy"]), (r[xcol], r["mean"]), fontsize=8,
                                 xytext=(5, 4), textcoords="offset points"))  # fmt: skip
    if sp.risk is not None and (table["kind"] == "rule").sum() > 1:
        rules = table[table["kind"] == "rule"].sort_values(xcol)
        ax.plot(rules[xcol], rules["mean"], ls="--", color="#d62728", lw=1,
                label="Pareto rules (held out)")  # fmt: skip
        ax.legend(title="search", fontsize=8)
    ax.set_xlabel(f"{risk.label()} (k€, held out; right is safer)" if risk.stat != "p_loss"
                  else "P(loss) (held out)")  # fmt: skip
    ax.set_ylabel("mean NPV with terminal value (k€, held out, 95 % CI)")
    ax.set_title("Value and risk on held-out markets: the rule and every built-in")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    adjust_labels(fig)
    doc.figure(
        fig,
        "value_risk.png",
        "Value–risk plane on held-out seeds: each point is a policy (red star: the "
        "optimized rule); up is more value, right is a better downside.",
        [axes_record(ax, [{"policy": p} for p in table["policy"]])],
    )


def _convergence_figure(doc: ReportDoc, res: OptimizeResult) -> None:
    import matplotlib.pyplot as plt

    t = res.trials
    col = f"train {res.spec.objective.text}"
    y = t[col].to_numpy(np.float64)
    best = (
        np.maximum.accumulate(y)
        if res.spec.objective.maximise
        else np.minimum.accumulate(y)
    )
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.scatter(t["trial"], y, s=10, alpha=0.5, label="trial")
    warm = t[t["warm_start"]]
    ax.scatter(warm["trial"], warm[col], s=40, marker="s", color="#2ca02c",
               label="built-in members of the family")  # fmt: skip
    ax.step(t["trial"], best, where="post", color="#d62728", label="best so far")
    lo = np.nanquantile(y, 0.1)
    ax.set_ylim(bottom=lo - 0.05 * (np.nanmax(y) - lo))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{res.spec.objective.label()} (training seeds)")
    ax.set_title(f"Search convergence ({res.spec.sampler}, {len(t)} trials)")
    ax.legend(title="trials", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    doc.figure(
        fig,
        "convergence.png",
        "Convergence on the training seeds: each trial's score and the best so far "
        "(training numbers, the only ones in this report; the lowest tenth is cut off).",
        [axes_record(ax)],
    )


def _allocation_figure(doc: ReportDoc, alloc: dict[str, pd.DataFrame]) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(alloc), figsize=(5.6 * len(alloc), 3.8), squeeze=False, sharey=True,
        layout="constrained",
    )  # fmt: skip
    vmax = max(float(np.nanmax(a.to_numpy())) for a in alloc.values())
    records = []
    for ax, (name, a) in zip(axes[0], alloc.items(), strict=True):
        v = a.to_numpy(np.float64)
        im = ax.imshow(v, cmap="viridis", vmin=0, vmax=vmax, aspect="auto")
        ax.set_xticks(range(3), list(a.columns))
        ax.set_yticks(range(4), list(a.index))
        ax.set_xlabel("estimated potential class")
        if ax is axes[0][0]:
            ax.set_ylabel("stage")
        ax.set_title(f"policy = {name}")
        for i in range(4):
            for j in range(3):
                txt = "–" if not np.isfinite(v[i, j]) else f"{v[i, j]:.1f}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=9,
                        color="white" if np.isfinite(v[i, j]) and v[i, j] < vmax / 2 else "black")  # fmt: skip  # noqa: E501
        records.append(axes_record(ax))
    fig.colorbar(im, ax=axes[0].tolist(), label="k€ per account-quarter")
    doc.figure(
        fig,
        "allocation.png",
        "The rule as allocation: mean investment per account and quarter by stage and "
        "estimated potential class, beside the best built-in (held-out markets; – = no "
        "such account).",
        records,
    )


def _robust_figure(doc: ReportDoc, robust: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.35 * len(robust) + 1.5))
    y = np.arange(len(robust))
    colors = robust["verdict"].map(
        {"better": "#2ca02c", "worse": "#d62728", "no clear difference": "#7f7f7f"}
    )
    ax.errorbar(robust["gain"], y, xerr=[robust["gain"] - robust["gain_lo"],
                robust["gain_hi"] - robust["gain"]], fmt="none", ecolor="#999")  # fmt: skip
    ax.scatter(robust["gain"], y, c=list(colors), zorder=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [f"{w} (vs {b})" for w, b in zip(robust["where"], robust["best built-in"], strict=True)],  # noqa: E501
                  fontsize=7)  # fmt: skip
    ax.invert_yaxis()
    ax.set_xlabel("paired gain of the rule over the best built-in there (k€, 95 % CI)")
    ax.set_title("Robustness: against each rival policy and across parameter sets")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    doc.figure(
        fig,
        "robustness.png",
        "Robustness: the rule's paired gain over the best built-in in each market "
        "(green: better, red: worse, grey: not distinguishable; fresh seeds).",
        [axes_record(ax, [{"where": w} for w in robust["where"]])],
    )


# --------------------------------------------------------------------------- document
def _build(res: OptimizeResult, folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    sp = res.spec
    table = heldout_table(res)
    robust = robustness_table(res)
    found = findings(res, table, robust)
    best = _best_builtin(table, sp.objective.maximise)
    doc = ReportDoc(folder)
    doc.heading(f"{human_title(sp.name)}: policy search", 1)
    if sp.description:
        doc.text(sp.description, css="question")
    doc.heading("Findings", anchor="findings-heading")
    doc.bullets([x["text"] for x in found], anchor="findings")
    rp = sp.market.rival_policy
    doc.text(
        f"Set-up: {sp.market.n_accounts} accounts, {sp.market.rivals} rival(s) with "
        f"{', '.join(rp) if isinstance(rp, tuple) else rp}, {sp.quarters} quarters; "  # type: ignore[misc,arg-type,assignment,index,call-overload]
        f"objective: {sp.objective.label()}"
        + (f", second objective {sp.risk.label()}" if sp.risk else "")
        + (
            f", constraint {sp.constraint[0].text} {sp.constraint[1]} {sp.constraint[2]}"
            if sp.constraint
            else ""
        )
        + f". Search: {sp.sampler}, {len(res.trials)} trials x {sp.replications:,} training "  # noqa: E501
        f"replications (root seed {sp.seed}, common random numbers). Held out: "
        f"{sp.eval_replications:,} replications per policy on fresh seeds (root "
        f"{sp.root(1)}); robustness: {sp.robust_replications:,} per cell (root "
        f"{sp.root(2)}). Every number below is held out except the convergence figure.",
        css="setup",
    )
    doc.heading("The rule")
    doc.bullets(describe_rule(res.rule))
    doc.text(
        f"Saved as rule.toml (family kamsim.score, version 1, id {res.rule.digest}); use it "  # noqa: E501
        "as any policy: `kamsim simulate --policy rule.toml`.",
        css="note",
    )
    alloc = {
        "optimized rule": allocation_by_stage_class(res, res.rule),
        best: allocation_by_stage_class(res, best),
    }
    doc.heading("Figures")
    _plane_figure(doc, res, table)
    _allocation_figure(doc, alloc)
    if not robust.empty:
        _robust_figure(doc, robust)
    _convergence_figure(doc, res)
    doc.heading("Tables")
    doc.text("Held-out results by policy (k€; gain: the rule minus the policy, paired).")
    shown = table[["policy", "mean", "ci_low", "ci_high", "q05", "cvar05", "p_loss",
                   "rule_gain", "rule_gain_lo", "rule_gain_hi"]]  # fmt: skip
    doc.table(shown, csv="heldout.csv", full=table)
    share = alloc["optimized rule"].attrs["share"].reset_index(names="stage")
    doc.text("Share of the rule's investment by stage and estimated potential class.")
    doc.table(share, csv="allocation_share.csv")
    if not robust.empty:
        doc.text("Robustness: the rule against the best built-in in each market.")
        doc.table(robust, csv="robustness.csv")
    params = pd.DataFrame(
        {"parameter": list(res.rule.params), "value": list(res.rule.params.values())}
    )
    doc.text("The rule's parameters.")
    doc.table(params, csv="rule_parameters.csv")
    res.trials.to_csv(folder / "trials.csv", index=False)
    doc.data = {
        "name": sp.name,
        "kind": "optimize",
        "findings": found,
        "best_builtin": best,
        "rule": {"digest": res.rule.digest, "parameters": res.rule.params},
        "heldout": table.to_dict(orient="records"),
        "robustness": robust.to_dict(orient="records"),
        "seeds": {"training": sp.seed, "heldout": sp.root(1), "robustness": sp.root(2)},
    }
    return doc.write(f"{human_title(sp.name)}: policy search")


def write_optimize_report(res: OptimizeResult, out_dir: Path) -> Path:
    """Write the report of a search into ``out_dir``; return ``report.md``."""
    return write_folder(out_dir, lambda folder: _build(res, folder))


def load_optimize_result(folder: str | Path) -> OptimizeResult:
    """Rebuild a finished search's result from its folder (for ``kamsim report``)."""
    from kamsim.experiments.store import StoreError, load_results
    from kamsim.optimize.result import FORMAT
    from kamsim.optimize.spec import load_optimize_spec
    from kamsim.policies.family import load_rule

    root = Path(folder)
    try:
        meta = json.loads((root / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read '{root / 'manifest.json'}': {exc}") from None
    if meta.get("format") != FORMAT or meta.get("status") != "complete":
        raise StoreError(
            f"'{root}' is not a complete kamsim search (status {meta.get('status')!r}); "
            "run the same `kamsim optimize` command again to finish it"
        )
    sp = load_optimize_spec(meta["spec"])
    rule = load_rule(root / "rule.toml", name=CHOSEN)
    held = load_results(root / "heldout", frames=["runs"]).runs
    rob_dir = root / "robustness"
    rob = (
        load_results(rob_dir, frames=["runs"]).runs if rob_dir.is_dir() else pd.DataFrame()
    )
    trials = pd.read_csv(root / "trials.csv")
    return OptimizeResult(
        spec=sp,
        rule=rule,
        rules=[rule],
        trials=trials,
        heldout=held,
        robustness=rob,
        folder=root,
        meta=meta,
    )
