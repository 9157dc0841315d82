"""Write the three kamsim notebooks (outputs cleared) from the cells below.

The notebooks are generated so that they can be reviewed as code: edit this file,
then run ``.venv/bin/python scripts/make_notebooks.py`` and commit both.
tests/test_notebooks.py executes them in a fresh kernel.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "notebooks"

Cell = tuple[str, str]  # ("md" | "py", source)


def md(text: str) -> Cell:
    """A Markdown cell."""
    return ("md", text.strip("\n"))


def py(text: str) -> Cell:
    """A code cell."""
    return ("py", text.strip("\n"))


# --------------------------------------------------------------------------- 01
FOUR_STAGES: list[Cell] = [
    md("""
# The four stages of key account management

A supplier looks after a portfolio of **key accounts**. Each relationship moves
through four stages (McDonald & Woodburn; Millman & Wilson):

| stage | what it looks like |
|---|---|
| 1 **tactical** | one of several suppliers, price decides, easy to leave |
| 2 **cooperative** | several contacts, costs rise before benefits show |
| 3 **interdependent** | sole or main supplier, joint planning, leaving is costly |
| 4 **strategic** | joint long-term strategy, leaving is "traumatic" for both |

Relationships go **up** with investment and trust, **down** when trust erodes, and
**end** when a competitor's offer beats the account's exit costs. This notebook
follows one market quarter by quarter with `kamsim.KAMModel` (a Mesa model), then
opens up the mechanisms one by one.
"""),
    py("""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import kamsim
from kamsim import KAMModel, ModelParams, rules

STAGES = ["tactical", "cooperative", "interdependent", "strategic"]
COLORS = ["#b0bec5", "#4fc3f7", "#1e88e5", "#1a237e"]
pd.set_option("display.precision", 2)
"""),
    md("""
## 1. One market, one quarter at a time

Twenty key accounts, a KAM budget of 100 k€ per quarter split equally (`uniform`),
seed 42 (the same seed always gives the same market).
"""),
    py("""
model = KAMModel(n_accounts=20, policy="uniform", rng=42)
model.step()  # one quarter


def account_table(model):
    rows = [
        {
            "account": a.slot + 1,
            "stage": a.stage_name,
            "trust": a.trust,
            "investment stock (k€)": a.stock,
            "share of wallet": a.share_of_wallet,
            "revenue (k€/q)": a.revenue,
            "willing to partner": bool(a.willing),
        }
        for a in model.accounts
    ]
    return pd.DataFrame(rows).set_index("account")


print("quarter", model.quarter)
account_table(model).head(8)
"""),
    md("Ten years later (40 quarters):"),
    py("""
for _ in range(39):
    model.step()
print("quarter", model.quarter)
account_table(model).sort_values("trust", ascending=False).head(8)
"""),
    md("""
## 2. Stage counts over time

`model.datacollector` holds one row per quarter. The stacked chart shows how many
relationships are in each stage.
"""),
    py("""
def stage_chart(model, ax, title):
    df = model.datacollector.get_model_vars_dataframe()
    ax.stackplot(df.index, *[df[f"n_{s}"] for s in STAGES], labels=STAGES,
                 colors=COLORS, step="post")
    ax.set(xlabel="quarter", ylabel="accounts", title=title, xlim=(0, len(df) - 1))
    return ax


fig, ax = plt.subplots(figsize=(8, 3.5))
stage_chart(model, ax, "20 accounts, uniform policy, seed 42")
ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
plt.show()
"""),
    md("""
## 3. Trust: slow to build, quick to lose

Each quarter trust rises a little after good service
(`trust += trust_gain * quality * (1 - trust)`) and falls a lot after a service
failure (`trust -= trust_loss * trust`) — negative events weigh more than positive
ones (Slovic 1993). Below: service of quality 0.6 every quarter, with failures in
quarters 12 and 14.
"""),
    py("""
p = ModelParams()
trust = [p.trust_initial]
failures = {12, 14}
for q in range(1, 31):
    t = rules.update_trust(trust[-1], 0.6, q in failures, False, p)
    trust.append(float(t))

fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(range(31), trust, marker=".", color="#1e88e5")
for q in failures:
    ax.axvline(q, color="#c62828", ls=":", lw=1)
for thr, name in zip(p.trust_to_advance, STAGES[1:]):
    ax.axhline(thr, color="grey", lw=0.6)
    ax.text(30.5, thr, f"to {name}", va="center", fontsize=8)
ax.set(xlabel="quarter", ylabel="trust", ylim=(0, 1),
       title="Two failures undo about ten good quarters")
plt.show()
gain = p.trust_gain * 0.6 * (1 - 0.5)
loss = p.trust_loss * 0.5
print(f"at trust 0.5: one good quarter +{gain:.3f}, one failure -{loss:.3f} "
      f"({loss / gain:.1f} times as much)")
"""),
    md("""
## 4. What it takes to move up, and when a relationship falls back

A relationship climbs one stage when trust and the supplier's specific investment
stock pass the stage's thresholds, the account is willing, and it has spent at least
`min_tenure` quarters in its stage. It drops a stage when trust falls below the
threshold that admitted it minus a margin (hysteresis), so it does not flicker.
"""),
    py("""
t = rules.stage_tables(p)
pd.DataFrame(
    {
        "trust to move up": t.trust_up,
        "stock to move up (x effort scale)": t.stock_up,
        "falls back below trust": t.trust_down,
        "share of wallet": t.share_of_wallet,
        "cost to serve (x quarterly wallet)": t.cost_to_serve,
    },
    index=STAGES,
)
"""),
    md("""
## 5. Exit costs rise with the stage

An account leaves when a competitor's offer gains it more than its **exit barrier**:
the exit cost (`exit_cost[stage] * spend + lock_in * stock`) plus the value it puts
on trust. For an account spending 100 k€ a quarter with the supplier:
"""),
    py("""
stage = np.arange(1, 5)
spend_q = 100.0
cost = rules.exit_cost(stage, 0.0, spend_q, p)
cost_stock = rules.exit_cost(stage, 200.0, spend_q, p)
barrier = rules.exit_barrier(stage, 200.0, 0.7, spend_q, p)

fig, ax = plt.subplots(figsize=(7, 3.2))
w = 0.27
ax.bar(stage - w, cost, w, label="exit cost, no specific investment", color="#b0bec5")
ax.bar(stage, cost_stock, w, label="... with 200 k€ specific investment", color="#4fc3f7")
ax.bar(stage + w, barrier, w, label="... plus trust 0.7 (exit barrier)", color="#1a237e")
ax.set_xticks(stage, STAGES)
ax.set(ylabel="k€", title="What an account gives up by leaving")
ax.legend(fontsize=8)
plt.show()
"""),
    md("""
## 6. Following one relationship

`model.slot_trajectory()` gives every slot's stage, trust and share of wallet per
quarter. Here the account that climbed highest:
"""),
    py("""
traj = model.slot_trajectory()
best = int(np.argmax(traj["stage"].max(axis=0)))
fig, ax1 = plt.subplots(figsize=(8, 3.2))
q = np.arange(1, model.quarter + 1)
ax1.step(q, traj["stage"][:, best], where="post", color="#1a237e", label="stage")
ax1.set(xlabel="quarter", ylabel="stage", yticks=[1, 2, 3, 4], ylim=(0.5, 4.5))
ax2 = ax1.twinx()
ax2.plot(q, traj["trust"][:, best], color="#ffb300", label="trust")
ax2.set(ylabel="trust", ylim=(0, 1))
ax1.set_title(f"Account #{best + 1}: stage (steps) and trust (line)")
plt.show()
"""),
    md("""
## 7. Same market, no investment

With the same seed the accounts, competitor offers and service draws are the same
(common random numbers); only the policy differs. Without KAM investment, how far do
relationships get?
"""),
    py("""
lazy = KAMModel(n_accounts=20, policy="none", rng=42)
for _ in range(40):
    lazy.step()
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
stage_chart(model, axes[0], "uniform: 100 k€/quarter")
stage_chart(lazy, axes[1], "none: no KAM investment")
axes[1].legend(loc="upper left", bbox_to_anchor=(1, 1))
plt.show()
for m in (model, lazy):
    df = m.datacollector.get_model_vars_dataframe()
    print(f"{m.supplier.policy_name:8s} cumulative profit {df['profit'].sum():9,.0f} k€, "
          f"accounts interdependent or strategic at the end: "
          f"{df['n_interdependent'].iloc[-1] + df['n_strategic'].iloc[-1]}")
"""),
    md("""
## 8. Exercises

1. Double the budget (`KAMModel(..., budget=200)`). Do more relationships reach the
   top stages? Does cumulative profit rise as much as the extra spend?
2. Set `share_willing=0.2`. What happens to the stage chart, and why can money not
   fix it?
3. Make trust symmetric (`trust_loss=0.1`, the same as `trust_gain`). How does the
   trust path of section 3 change? Why might real relationships not work like that?
4. Raise competitor pressure (`offer_probability=0.15`). In which stages do
   accounts now leave? Use `model.ended_accounts` and their `stage` and `end_cause`.
5. Try the other built-in policies: `print(list(kamsim.POLICIES))`. Which one builds
   the most strategic relationships for the same budget? Is it the most profitable?
"""),
    py("""
# Exercise 1, to get you started
rich = KAMModel(n_accounts=20, policy="uniform", rng=42, budget=200.0)
for _ in range(40):
    rich.step()
df = rich.datacollector.get_model_vars_dataframe()
print("budget 200: cumulative profit", round(df["profit"].sum()), "k€")
print("built-in policies:", list(kamsim.POLICIES))
"""),
    md("""
## 9. The interactive page

The same model with sliders, Step / Play / Reset and live charts. In Jupyter, run
the cell below (the controls open from the menu button); in a terminal,
`kamsim viz` serves it in the browser.
"""),
    py("""
from kamsim.viz import page

page
"""),
]

# --------------------------------------------------------------------------- 02
POLICY_LAB: list[Cell] = [
    md("""
# Policy lab: test your own KAM investment policy

A **policy** is a plain function `my_policy(obs, budget) -> allocation`:

* `obs` (`kamsim.Observation`) holds what the supplier can see, as arrays of shape
  `(R, n)` — R simulated markets at once, n account slots: `active`, `stage` (1-4),
  `tenure`, `revenue` (last quarter, k€), `potential` and `trust` (noisy estimates),
  `potential_class` (0 low, 1 medium, 2 high), `stock` (your specific investment);
* `budget` is the KAM budget for the quarter (k€);
* return an array `(R, n)` of k€ per account; if a row adds up to more than the
  budget it is scaled down, vacant slots get nothing.

Every policy runs on **the same seeds**, so each one faces exactly the same markets
(common random numbers) and differences are measured *paired*, with far less noise.
"""),
    py("""
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import kamsim
from kamsim import analysis, metrics, plots

pd.set_option("display.precision", 1)
print("built-in policies:", list(kamsim.POLICIES))
"""),
    md("""
## 1. Your policy

An example: keep 20 % of the budget to maintain every live account, and spend the
rest on accounts that *look* promising — medium or high estimated potential and
estimated trust of at least 0.4 — in proportion to their estimated potential.
Change it and re-run the notebook.
"""),
    py("""
def my_policy(obs: kamsim.Observation, budget: float) -> np.ndarray:
    live = obs.active
    n_live = np.maximum(live.sum(axis=1, keepdims=True), 1)
    base = np.where(live, 0.2 * budget / n_live, 0.0)
    promising = live & (obs.potential_class >= 1) & (obs.trust >= 0.4)
    weight = np.where(promising, obs.potential, 0.0)
    total = weight.sum(axis=1, keepdims=True)
    focus = np.where(total > 0, 0.8 * budget * weight / np.where(total > 0, total, 1), 0.0)
    # rows with no promising account spread the rest equally
    spread = np.where(live & (total == 0), 0.8 * budget / n_live, 0.0)
    return base + focus + spread
"""),
    md("""
## 2. Run it against the built-in policies

2 000 replications of 20 accounts over 40 quarters, seed 2024, batched engine.
"""),
    py("""
REPLICATIONS, N_ACCOUNTS, QUARTERS, SEED = 2000, 20, 40, 2024
candidates = {**kamsim.POLICIES, "my_policy": my_policy}

start = time.perf_counter()
parts = []
for name, policy in candidates.items():
    r = kamsim.simulate(n_accounts=N_ACCOUNTS, policy=policy, replications=REPLICATIONS,
                        quarters=QUARTERS, seed=SEED, keep_accounts=False)
    r.runs["policy"] = name
    r.quarters["policy"] = name
    parts.append(r)
results = kamsim.Results.concat(parts)
elapsed = time.perf_counter() - start
print(f"{len(candidates)} policies x {REPLICATIONS} replications in {elapsed:.1f} s")
"""),
    md("""
## 3. Paired comparison against `uniform`

`analysis.compare` matches each replication with the `uniform` run on the same seed
and summarises the differences: mean, 95 % confidence interval, and how much
pairing shrank the variance (`variance_reduction`).
"""),
    py("""
cmp = analysis.compare(results, baseline="uniform", metrics=["npv", "profit",
                       "final_n_strategic", "final_largest_share"])
npv_cmp = cmp[cmp["metric"] == "npv"].sort_values("diff", ascending=False)
npv_cmp[["policy", "baseline_mean", "mean", "diff", "ci_low", "ci_high",
         "variance_reduction"]]
"""),
    md("""
## 4. Return and risk

Mean NPV is not the whole story. The table adds the downside across markets: the
5 % quantile of NPV, the CVaR (mean of the worst 5 %), the share of markets where the
policy beats `uniform`, and the dependency on the largest account at the end.
"""),
    py("""
runs = results.runs
risk = metrics.downside(runs, by="policy", metric="npv")
base = runs[runs["policy"] == "uniform"].set_index("seed")["npv"]
beats = {p: float((g.set_index("seed")["npv"] > base.loc[g["seed"]].to_numpy()).mean())
         for p, g in runs.groupby("policy")}
risk["beats uniform"] = risk["policy"].map(beats)
risk["largest account share"] = risk["policy"].map(
    runs.groupby("policy")["final_largest_share"].mean())
risk.sort_values("mean", ascending=False).set_index("policy")
"""),
    md("## 5. The picture for the deck"),
    py("""
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
plots.plot_comparison(npv_cmp[npv_cmp["policy"] != "uniform"], ax=axes[0])
axes[0].set_title("NPV vs uniform, paired (95 % CI)")
plots.plot_risk_return(risk, ax=axes[1], label="policy")
axes[1].set_title("Return vs downside (CVaR 5 %)")
fig.tight_layout()
plt.show()
"""),
    md("""
## 6. Stages reached

Mean number of relationships in each stage over time, for the built-in `uniform`
and your policy.
"""),
    py("""
dist = metrics.stage_distribution(results.quarters, by="policy")
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), sharey=True)
for ax, name in zip(axes, ["uniform", "my_policy"]):
    plots.plot_stage_distribution(dist[dist["policy"] == name], ax=ax, title=name)
plt.show()
"""),
    md("""
## Things to try

* Give everything to the accounts with the highest *revenue* — then compare with
  `revenue_proportional` and read why it can be a trap.
* Make `my_policy` ignore accounts whose estimated trust is below 0.3: does the
  downside improve?
* Re-run with `N_ACCOUNTS = 40` and the same budget: attention is diluted beyond the
  team's capacity (`manager_capacity`).
"""),
]

# --------------------------------------------------------------------------- 03
EXPERIMENTS: list[Cell] = [
    md("""
# Experiments: load, reproduce, and probe the sensitivity

1. load a shipped experiment's results (or run a small version of it);
2. reproduce its figures from the tidy results;
3. run a small global sensitivity analysis (Morris elementary effects, SALib) of key
   parameters on the batched engine.
"""),
    py("""
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.sample import morris as morris_sample

import kamsim
from kamsim import analysis, metrics, plots

pd.set_option("display.precision", 2)
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())
"""),
    md("""
## 1. Load a shipped experiment

The first of these specs under `experiments/` is used. If its results are in
`results/<name>/` (written by `make run` / `kamsim run`) they are loaded; otherwise a
small version (fewer replications) runs now into a temporary folder.
"""),
    py("""
CANDIDATES = ["investment_policies", "portfolio_size", "dependency_risk", "smoke"]
name = next(n for n in CANDIDATES if (ROOT / "experiments" / f"{n}.toml").exists())
spec = kamsim.load_spec(ROOT / "experiments" / f"{name}.toml")
folder = ROOT / "results" / name
tmp = tempfile.TemporaryDirectory()
start = time.perf_counter()
if (folder / "manifest.json").exists():
    results = kamsim.load_results(folder)
    source = f"loaded {folder}"
else:
    small = spec.to_dict()
    small["replications"] = min(spec.replications, 40)
    results = kamsim.run_experiment(small, out=tmp.name, workers=1, quiet=True)
    source = f"ran {small['replications']} replications per cell into a temp folder"
print(f"{name}: {spec.description}\\n{source} in {time.perf_counter() - start:.1f} s")
factors = analysis.factor_columns(results)
print("factors:", factors, "| runs:", len(results.runs))
"""),
    md("## 2. Headline numbers per cell (mean with 95 % CI)"),
    py("""
summary = analysis.summarize(results, metrics=["npv", "final_n_strategic",
                                               "final_largest_share"])
summary.pivot_table(index=factors, columns="metric", values="mean")
"""),
    md("""
## 3. Reproduce the figures

NPV by cell with confidence intervals, return against downside, the stage
distribution over time and the customer-profitability ("whale") curve.
"""),
    py("""
varying = [f for f in factors if results.runs[f].nunique() > 1] or factors
x = next((f for f in varying if f != "policy"), varying[0])
hue = "policy" if "policy" in varying and x != "policy" else None
npv = summary[summary["metric"] == "npv"]
risk = metrics.downside(results.runs, by=varying, metric="npv")

fig, axes = plt.subplots(1, 3, figsize=(16, 4))
plots.plot_metric_by(npv, x=x, hue=hue, ax=axes[0], ylabel="NPV (k€, mean, 95 % CI)")
axes[0].set_title(f"NPV by {x}")
plots.plot_risk_return(risk, ax=axes[1], label=varying)
axes[1].set_title("Return vs downside")
if "policy" in varying and "uniform" in set(results.runs["policy"]):
    cmp = analysis.compare(results, baseline="uniform", metrics=["npv"])
    others = [c for c in varying if c != "policy"]
    if others:  # one group: the last cell of the other factors
        cmp = cmp.merge(cmp[others].drop_duplicates().tail(1))
    plots.plot_comparison(cmp, ax=axes[2])
    axes[2].set_title("Paired NPV difference vs uniform")
else:
    axes[2].set_visible(False)
fig.tight_layout()
plt.show()
"""),
    py("""
dist = metrics.stage_distribution(results.quarters, by=factors)
first = dist[factors].drop_duplicates().iloc[[0, -1]]  # first and last cell
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
for ax, (_, cell) in zip(axes[:2], first.iterrows()):
    mask = np.logical_and.reduce([dist[f] == cell[f] for f in factors])
    title = ", ".join(f"{f}={cell[f]}" for f in factors)
    plots.plot_stage_distribution(dist[mask], ax=ax, title=title)
if results.accounts is not None and len(results.accounts):
    whale = metrics.whale_curve(results.accounts, by=factors)
    plots.plot_whale_curve(whale, ax=axes[2], group=factors)
    axes[2].set_title("Whale curve")
fig.tight_layout()
plt.show()
"""),
    md("""
## 4. Sensitivity analysis (Morris)

Which parameters move mean NPV most? Morris' method varies one parameter at a time
along random trajectories through the parameter box and averages the absolute
elementary effects (`mu_star`); a large `sigma` flags interactions or
non-linearity. Every model evaluation is a batched Monte Carlo run of 100 markets of
20 accounts on the **same seeds** (common random numbers), so the effects are not
drowned in noise. 8 trajectories x (5 + 1) points = 48 runs.
"""),
    py("""
problem = {
    "num_vars": 5,
    "names": ["trust_gain", "trust_loss", "budget", "share_willing", "offer_probability"],
    "bounds": [[0.05, 0.2], [0.1, 0.5], [25.0, 300.0], [0.2, 1.0], [0.0, 0.15]],
}
X = morris_sample.sample(problem, N=8, num_levels=4, seed=11)


def mean_npv(row):
    params = kamsim.ModelParams().evolve(**dict(zip(problem["names"], map(float, row))))
    r = kamsim.simulate(n_accounts=20, policy="uniform", replications=100, quarters=40,
                        seed=99, params=params, keep_accounts=False)
    return float(r.runs["npv"].mean())


start = time.perf_counter()
Y = np.array([mean_npv(row) for row in X])
print(f"{len(X)} evaluations in {time.perf_counter() - start:.1f} s")
Si = morris_analyze.analyze(problem, X, Y, num_levels=4, seed=11)
sens = Si.to_df().sort_values("mu_star", ascending=False)
sens
"""),
    py("""
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.barh(sens.index[::-1], sens["mu_star"][::-1], xerr=sens["mu_star_conf"][::-1],
        color="#1e88e5")
ax.set(xlabel="mu* of mean NPV (k€ per unit move across the range)",
       title="Morris screening: what drives NPV")
plt.show()
tmp.cleanup()
"""),
    md("""
For a variance-based decomposition (first- and total-order Sobol indices) use
`SALib.sample.sobol` / `SALib.analyze.sobol` with the same `mean_npv` function —
it needs many more evaluations, so run it with more time or a Dask cluster.
"""),
]


NOTEBOOKS = {
    "01_the_four_stages.ipynb": FOUR_STAGES,
    "02_policy_lab.ipynb": POLICY_LAB,
    "03_experiments.ipynb": EXPERIMENTS,
}


def build(cells: list[Cell]) -> nbformat.NotebookNode:
    """Notebook with the given cells, no outputs, and the project's Python kernel."""
    nb = new_notebook(
        cells=[new_markdown_cell(s) if k == "md" else new_code_cell(s) for k, s in cells]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (kamsim)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main() -> None:
    """Write every notebook into ``notebooks/``."""
    OUT.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = build(cells)
        nbformat.validate(nb)
        nbformat.write(nb, OUT / name)
        print(f"wrote {OUT / name} ({len(cells)} cells)")


if __name__ == "__main__":
    main()
