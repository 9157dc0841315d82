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
# The four stages of key account management — in a market of suppliers

Several suppliers court the same **key accounts**. Each supplier's relationship with
each account moves through four stages (McDonald & Woodburn; Millman & Wilson):

| stage | what it looks like |
|---|---|
| 1 **tactical** | one of several suppliers, price decides, easy to leave |
| 2 **cooperative** | several contacts, costs rise before benefits show |
| 3 **interdependent** | sole or main supplier, joint planning, leaving is costly |
| 4 **strategic** | joint long-term strategy, leaving is "traumatic" for both |

Relationships go **up** with investment and trust, **down** when trust erodes, and
**end** from any stage: an outside offer beats the account's exit barrier, trust
breaks, rivals take the business, or the account disappears. This notebook follows
one market quarter by quarter with `kamsim.KAMModel` (a Mesa model): **you** are the
focal supplier, two rivals compete for the same accounts.
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

Twenty key accounts. You spend a KAM budget of 100 k€ per quarter with the
`stage_gated` policy (push high-potential accounts up, maintain the rest); two rivals
with the same budget and policy court the same accounts. Seed 57: the same seed
always gives the same market.
"""),
    py("""
model = KAMModel(n_accounts=20, policy="stage_gated", rivals=2, rng=57)
print([f"{s.role} {s.index}: {s.policy_name}, {s.budget:.0f} k€/quarter" for s in model.suppliers])


def account_table(model):
    rows = []
    for a in model.accounts:
        rows.append({
            "account": a.slot + 1,
            "your stage": a.stage_name,
            "trust in you": a.trust,
            "your share": a.shares[0],
            "rival 1 share": a.shares[1],
            "rival 2 share": a.shares[2],
            "rest of market": 1 - a.shares.sum(),
            "wallet (k€/yr)": a.wallet,
            "willing to partner": bool(a.willing),
        })
    return pd.DataFrame(rows).set_index("account")


model.step()  # one quarter
print("quarter", model.quarter)
account_table(model).head(6)
"""),
    md("Ten years later (40 quarters):"),
    py("""
for _ in range(39):
    model.step()
print("quarter", model.quarter)
account_table(model).sort_values("your share", ascending=False).head(8)
"""),
    md("""
## 2. Who holds each account's wallet

One bar per account: your share (coloured by the stage of your relationship), the two
rivals' shares, and the rest of the market. At the tactical stage you are "one of
several"; where you reached the top stages you are the sole or largest supplier.
"""),
    py("""
def wallet_bars(model, ax):
    accs = model.accounts
    x = np.arange(len(accs))
    bottom = np.zeros(len(accs))
    for i in range(len(model.suppliers)):
        share = np.array([a.shares[i] for a in accs])
        stage = np.array([a.stages[i] for a in accs])
        colors = [COLORS[s - 1] if s else "white" for s in stage]
        ax.bar(x, share, bottom=bottom, color=colors, edgecolor="black" if i == 0 else "grey",
               linewidth=1.4 if i == 0 else 0.5, hatch=None if i == 0 else "//")
        bottom += share
    ax.bar(x, 1 - bottom, bottom=bottom, color="#eeeeee", edgecolor="none")
    ax.set_xticks(x, [a.slot + 1 for a in accs], fontsize=7)
    ax.set(xlabel="account", ylabel="share of wallet", ylim=(0, 1))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLORS]
    handles += [plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="grey", hatch="//"),
                plt.Rectangle((0, 0), 1, 1, color="#eeeeee")]
    ax.legend(handles, [f"stage: {s}" for s in STAGES] + ["rivals (hatched)", "rest of market"],
              loc="upper left", bbox_to_anchor=(1, 1), fontsize=8)
    return ax


fig, ax = plt.subplots(figsize=(11, 3.6))
wallet_bars(model, ax)
ax.set_title("Your share (bottom, solid edge) and the rivals' (hatched) after 10 years")
plt.show()
"""),
    md("""
## 3. Your relationships per stage over time

`model.datacollector.get_model_vars_dataframe()` holds one row per quarter;
`get_agent_vars_dataframe()` one row per account per quarter.
"""),
    py("""
def stage_chart(model, ax, title):
    df = model.datacollector.get_model_vars_dataframe()
    ax.stackplot(df.index, *[df[f"n_{s}"] for s in STAGES], labels=STAGES,
                 colors=COLORS, step="post")
    ax.set(xlabel="quarter", ylabel="your relationships", title=title, xlim=(0, len(df) - 1))
    return ax


fig, ax = plt.subplots(figsize=(8, 3.5))
stage_chart(model, ax, "20 accounts, stage_gated, two rivals, seed 57")
ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
plt.show()
agents = model.datacollector.get_agent_vars_dataframe()
agents.xs(40, level="Step").head()
"""),
    md("""
## 4. Trust: slow to build, quick to lose — and not simply age

Without a failure, trust closes part of the gap to what the service warrants
(`trust += trust_gain * (warranted - trust)`); a failure cuts it by `trust_loss`.
Relationships start at a drawn level, so a young relationship can trust more than an
old one. Below: service of quality 0.6 every quarter from two starting levels, with
failures in quarters 12 and 14.
"""),
    py("""
p = ModelParams()
failures = {12, 14}
fig, ax = plt.subplots(figsize=(8, 3))
for start in (0.2, 0.8):
    trust = [start]
    for q in range(1, 31):
        trust.append(float(rules.update_trust(trust[-1], 0.6, q in failures, False, p)))
    ax.plot(range(31), trust, marker=".", label=f"starts at {start}")
for q in failures:
    ax.axvline(q, color="#c62828", ls=":", lw=1)
ax.axhline(float(rules.warranted_trust(0.6, p)), color="grey", lw=0.8)
ax.set(xlabel="quarter", ylabel="trust", ylim=(0, 1),
       title="Trust converges to what the service warrants; failures cost a lot")
ax.legend(fontsize=8)
plt.show()
"""),
    md("""
## 5. What it takes to move up

A relationship climbs one stage when trust and the **joint** relationship-specific
investment (your stock K plus the account's own adaptation A, relative to the
account's effort scale) pass the stage's thresholds, the account is willing, and it
spent `min_tenure` quarters in its stage. An account has at most one strategic
partner. It drops a stage when trust falls below the admitting threshold minus a
margin.
"""),
    py("""
t = rules.stage_tables(p)
pd.DataFrame(
    {
        "trust to move up": t.trust_up,
        "K + A to move up (x effort scale)": t.joint_up,
        "falls back below trust": t.trust_down,
        "share cap": t.share_cap,
        "adaptation per quarter (x S x trust)": t.adaptation,
        "cost to serve (x quarterly wallet)": t.cost_to_serve,
    },
    index=STAGES,
)
"""),
    md("""
## 6. Exit barriers rise with the stage — from the account's own adaptation

An account leaves you when an offer gains it more than its **exit barrier**: the
stage's integration and the trust it would give up (in quarters of its spend with
you) plus its own adaptation A (processes, people, plans built around you). Your own
spending is *not* part of it: that is your sunk exposure, lost if the relationship
ends. For an account spending 100 k€ a quarter with you:
"""),
    py("""
stage = np.arange(1, 5)
spend_q = 100.0
no_adapt = rules.exit_barrier(stage, 0.0, 0.7, spend_q, p)
adapted = rules.exit_barrier(stage, np.array([0.0, 40.0, 100.0, 160.0]), 0.7, spend_q, p)
best_offer = p.price_sensitivity_max * p.offer_discount_max * spend_q * p.switch_horizon

fig, ax = plt.subplots(figsize=(7, 3.2))
w = 0.35
ax.bar(stage - w / 2, no_adapt, w, label="integration + trust 0.7", color="#4fc3f7")
ax.bar(stage + w / 2, adapted, w, label="... plus the account's adaptation", color="#1a237e")
ax.axhline(best_offer, color="#c62828", ls="--", lw=1, label="gain from the best possible offer")
ax.set_xticks(stage, STAGES)
ax.set(ylabel="k€", title="What an account gives up by leaving you")
ax.legend(fontsize=8)
plt.show()
"""),
    md("""
## 7. Following one relationship

`model.slot_trajectory()` gives your relationship's stage, trust and share of wallet
in every slot and quarter. Here the account where you climbed highest: when it turns
cooperative the cost to serve jumps at once, while the share of wallet (and revenue)
follows over several quarters.
"""),
    py("""
traj = model.slot_trajectory()
best = int(np.argmax(traj["stage"].max(axis=0)))
fig, ax1 = plt.subplots(figsize=(8, 3.2))
q = np.arange(1, model.quarter + 1)
ax1.step(q, traj["stage"][:, best], where="post", color="#1a237e", label="stage")
ax1.set(xlabel="quarter", ylabel="stage", yticks=[0, 1, 2, 3, 4], ylim=(-0.2, 4.5))
ax2 = ax1.twinx()
ax2.plot(q, traj["trust"][:, best], color="#ffb300", label="trust")
ax2.plot(q, traj["share_of_wallet"][:, best], color="#2e7d32", label="your share")
ax2.set(ylabel="trust, share", ylim=(0, 1))
ax2.legend(loc="lower right", fontsize=8)
ax1.set_title(f"Account #{best + 1}: your stage (steps), trust and share (lines)")
plt.show()
"""),
    md("""
## 8. Same market, no investment

With the same seed the accounts, offers, failure draws and shocks are the same
(common random numbers); only your policy differs. Without KAM investment, how far
do your relationships get, and who takes the business?
"""),
    py("""
lazy = KAMModel(n_accounts=20, policy="none", rivals=2, rng=57)
for _ in range(40):
    lazy.step()
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
stage_chart(model, axes[0], "stage_gated: 100 k€/quarter")
stage_chart(lazy, axes[1], "none: no KAM investment")
axes[1].legend(loc="upper left", bbox_to_anchor=(1, 1))
plt.show()
for m in (model, lazy):
    df = m.datacollector.get_model_vars_dataframe()
    print(f"{m.supplier.policy_name:12s} cumulative profit {df['profit'].sum():9,.0f} k€, "
          f"your market share at the end {df['market_share'].iloc[-1]:.1%}, "
          f"rivals' {sum(s.market_share for s in m.suppliers[1:]):.1%}")
"""),
    md("""
## 9. Exercises

1. Double your budget (`KAMModel(..., budget=200)`). Do more relationships reach the
   top stages? Does profit rise as much as the extra spend?
2. Give the rivals twice your budget (`rival_budget=200`). What happens to your
   share of wallet in the bars of section 2?
3. Set `share_willing=0.2`. Why can money not fix the stage chart?
4. Disrupt yourself at quarter 20 (`disruption_at=20`): which accounts diversify
   away from you (compare `a.shares` before and after)?
5. Try the other built-in policies: `print(list(kamsim.POLICIES))`; and
   `rival_policy=["uniform", "greedy_roi"]` for two different rivals.
"""),
    py("""
# Exercise 2, to get you started
pressed = KAMModel(n_accounts=20, policy="stage_gated", rivals=2, rng=57, rival_budget=200.0)
for _ in range(40):
    pressed.step()
df = pressed.datacollector.get_model_vars_dataframe()
print("rivals at 200 k€: your market share at the end", f"{df['market_share'].iloc[-1]:.1%}")
print("built-in policies:", list(kamsim.POLICIES))
"""),
    md("""
## 10. The interactive page

The same market with sliders, Step / Play / Reset, every account's wallet split
between the suppliers and live charts. In Jupyter, run the cell below; in a
terminal, `kamsim viz` serves it in the browser.
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

* `obs` (`kamsim.Observation`) holds what your firm can see of its own
  relationships, as read-only arrays of shape `(R, n)` — R simulated markets at
  once, n account slots: `active`, `stage` (1-4; 0 where you have no relationship),
  `tenure`, `revenue` (last quarter, k€), `share_of_wallet`, `potential` and `trust`
  (your estimates: a misjudged account stays misjudged until the relationship
  deepens), `potential_class` (0 low, 1 medium, 2 high), `stock` (your specific
  investment);
* `budget` is the KAM budget for the quarter (k€);
* return an array `(R, n)` of k€ per account; if a row adds up to more than the
  budget it is scaled down, vacant slots get nothing.

Your firm is the **focal** supplier; two **rivals** (by default `stage_gated`, the
same budget) court the same accounts. Every policy runs on **the same seeds**, so
each one faces exactly the same markets and rivals (common random numbers) and
differences are measured *paired*, with far less noise. NPV is reported with the
terminal value of the relationships in place at the horizon (`npv_terminal`).
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

2 000 replications of 20 accounts and two `stage_gated` rivals over 40 quarters,
seed 2024, batched engine.
"""),
    py("""
REPLICATIONS, N_ACCOUNTS, QUARTERS, SEED = 2000, 20, 40, 2024
candidates = {**kamsim.POLICIES, "my_policy": my_policy}

start = time.perf_counter()
parts = []
for name, policy in candidates.items():
    r = kamsim.simulate(n_accounts=N_ACCOUNTS, policy=policy, rivals=2,
                        replications=REPLICATIONS, quarters=QUARTERS, seed=SEED,
                        keep_accounts=False)
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
cmp = analysis.compare(results, baseline="uniform", metrics=["npv_terminal", "npv",
                       "mean_market_share", "final_n_strategic"])
npv_cmp = cmp[cmp["metric"] == "npv_terminal"].sort_values("diff", ascending=False)
npv_cmp[["policy", "baseline_mean", "mean", "diff", "ci_low", "ci_high",
         "variance_reduction"]]
"""),
    md("""
## 4. Return and risk

Mean NPV is not the whole story. The table adds the downside across markets: the
5 % quantile of NPV (with terminal value), the CVaR (mean of the worst 5 %), the
share of markets where the policy beats `uniform`, your mean market share and the
dependency on your largest account at the end.
"""),
    py("""
runs = results.runs
risk = metrics.downside(runs, by="policy", metric="npv_terminal")
base = runs[runs["policy"] == "uniform"].set_index("seed")["npv_terminal"]
beats = {p: float((g.set_index("seed")["npv_terminal"] > base.loc[g["seed"]].to_numpy()).mean())
         for p, g in runs.groupby("policy")}
risk["beats uniform"] = risk["policy"].map(beats)
risk["market share"] = risk["policy"].map(runs.groupby("policy")["mean_market_share"].mean())
risk["largest account share"] = risk["policy"].map(
    runs.groupby("policy")["final_largest_share"].mean())
risk.sort_values("mean", ascending=False).set_index("policy")
"""),
    md("## 5. The picture for the deck"),
    py("""
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
plots.plot_comparison(npv_cmp[npv_cmp["policy"] != "uniform"], ax=axes[0])
axes[0].set_title("NPV with terminal value vs uniform, paired (95 % CI)")
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
## 7. Your policy against different rivals

The same comparison against three kinds of rival: how much of the accounts' spend
do you keep, and what is it worth, when the rivals play `uniform`, `stage_gated` or
`greedy_roi`?
"""),
    py("""
rows = []
for rival in ["uniform", "stage_gated", "greedy_roi"]:
    for name in ["uniform", "my_policy"]:
        r = kamsim.simulate(n_accounts=N_ACCOUNTS, policy=candidates[name], rivals=2,
                            rival_policy=rival, replications=1000, quarters=QUARTERS,
                            seed=SEED, keep_accounts=False)
        rows.append({"rivals play": rival, "you play": name,
                     "NPV with TV (k€)": r.runs["npv_terminal"].mean(),
                     "your market share": r.runs["mean_market_share"].mean(),
                     "rivals' NPV (k€)": r.suppliers.query("supplier > 0")["npv_terminal"].mean()})
pd.DataFrame(rows).pivot(index="rivals play", columns="you play")
"""),
    md("""
## Things to try

* Give everything to the accounts with the highest *revenue* — then compare with
  `revenue_proportional`.
* Make `my_policy` ignore accounts whose estimated trust is below 0.3: does the
  downside improve?
* Re-run with `N_ACCOUNTS = 40` and the same budget: attention is diluted beyond the
  team's capacity (`manager_capacity`).
"""),
]

# --------------------------------------------------------------------------- 03
EXPERIMENTS: list[Cell] = [
    md("""
# Experiments: the policy tournament, and what drives the results

1. read the **policy tournament** (`experiments/policy_tournament.toml`): two
   suppliers with equal budgets court the same accounts, every built-in policy
   against every other in both positions, on common random numbers — which policy
   wins against which;
2. look at the market behind one matchup (suppliers' shares and stages);
3. run a small global sensitivity analysis (Morris elementary effects, SALib) on the
   batched engine.
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
from kamsim import tournament

pd.set_option("display.precision", 2)
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())
"""),
    md("""
## 1. Load the tournament

If `results/policy_tournament/` exists (written by `make run`) it is loaded;
otherwise a small version (30 replications per matchup) runs now into a temporary
folder.
"""),
    py("""
spec = kamsim.load_spec(ROOT / "experiments" / "policy_tournament.toml")
folder = ROOT / "results" / spec.name
tmp = tempfile.TemporaryDirectory()
start = time.perf_counter()
if (folder / "manifest.json").exists():
    results = kamsim.load_results(folder)
    source = f"loaded {folder}"
else:
    small = spec.to_dict()
    small["replications"] = 30
    results = kamsim.run_experiment(small, out=tmp.name, workers=1, quiet=True)
    source = "ran 30 replications per matchup into a temporary folder"
print(f"{spec.description}\\n{source} in {time.perf_counter() - start:.1f} s")
table = tournament.matchups(results.suppliers)
tournament.standings(table)
"""),
    md("""
## 2. Who wins against whom

Rows: the policy you play; columns: your opponent's. Left: your NPV with terminal
value; right: your share of the accounts' spend. A policy that does well against
every column is robust; one that only beats `none` is not.
"""),
    py("""
fig, axes = plt.subplots(1, 2, figsize=(15, 6))
tournament.plot_matchups(table, "npv_terminal", ax=axes[0], label="NPV with TV (k€)")
tournament.plot_matchups(table.assign(market_share=100 * table["market_share"]),
                         "market_share", ax=axes[1], fmt="{:.1f}", label="market share (%)")
fig.tight_layout()
plt.show()
"""),
    md("""
## 3. Inside one matchup: who holds the accounts

One market of the `stage_gated` vs `greedy_roi` matchup, simulated as Mesa agents:
each account's share of wallet with each supplier after ten years.
"""),
    py("""
m = kamsim.KAMModel(n_accounts=20, policy="stage_gated", rivals=1, rival_policy="greedy_roi", rng=3)
for _ in range(40):
    m.step()
shares = pd.DataFrame(
    [{"account": a.slot + 1, "stage_gated": a.shares[0], "greedy_roi": a.shares[1],
      "rest": 1 - a.shares.sum()} for a in m.accounts]
).set_index("account")
ax = shares.plot.bar(stacked=True, figsize=(11, 3.2), color=["#1e88e5", "#ffb300", "#eeeeee"])
ax.set(ylabel="share of wallet", title="Each account's wallet after ten years")
ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
plt.show()
"""),
    md("""
## 4. Sensitivity analysis (Morris)

Which parameters move the focal supplier's mean NPV (with terminal value) most?
Morris' method varies one parameter at a time along random trajectories through the
parameter box and averages the absolute elementary effects (`mu_star`); a large
`sigma` flags interactions or non-linearity. Every evaluation is a batched Monte
Carlo run of 100 markets (20 accounts, two `stage_gated` rivals) on the **same
seeds** (common random numbers). 8 trajectories x (5 + 1) points = 48 runs.
"""),
    py("""
problem = {
    "num_vars": 5,
    "names": ["trust_gain", "trust_loss", "budget", "share_willing", "offer_probability"],
    "bounds": [[0.05, 0.3], [0.1, 0.5], [25.0, 300.0], [0.2, 1.0], [0.0, 0.15]],
}
X = morris_sample.sample(problem, N=8, num_levels=4, seed=11)


def mean_npv(row):
    params = kamsim.ModelParams().evolve(**dict(zip(problem["names"], map(float, row))))
    r = kamsim.simulate(n_accounts=20, policy="stage_gated", replications=100, quarters=40,
                        seed=99, params=params, keep_accounts=False)
    return float(r.runs["npv_terminal"].mean())


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
