# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (kamsim)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Policy lab: test your own KAM investment policy
#
# A **policy** is a plain function `my_policy(obs, budget) -> allocation`:
#
# * `obs` (`kamsim.Observation`) holds what your firm can see of its own
#   relationships, as read-only arrays of shape `(R, n)` — R simulated markets at
#   once, n account slots: `active`, `stage` (1-4; 0 where you have no relationship),
#   `tenure`, `revenue` (last quarter, k€), `share_of_wallet`, `potential`, `trust`
#   and `willingness` (your estimates: the wallet the account's plans lead to, its
#   trust in you, the probability that it wants partnership; a misjudged account stays
#   misjudged until the relationship deepens), `potential_class` (0 low, 1 medium,
#   2 high), `stock` (your specific investment);
# * `budget` is the KAM budget for the quarter (k€);
# * return an array `(R, n)` of k€ per account; if a row adds up to more than the
#   budget it is scaled down, vacant slots get nothing.
#
# Your firm is the **focal** supplier; two **rivals** (by default `stage_gated`, the
# same budget) court the same accounts. Every policy runs on **the same seeds**, so
# each one faces exactly the same markets and rivals (common random numbers) and
# differences are measured *paired*, with far less noise. NPV is reported with the
# terminal value of the relationships in place at the horizon (`npv_terminal`).

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import kamsim
from kamsim.analysis import metrics
from kamsim.analysis import statistics as analysis
from kamsim.reports import plots

pd.set_option("display.precision", 1)
print("built-in policies:", list(kamsim.POLICIES))


# %% [markdown]
# ## 1. Your policy
#
# An example: keep 20 % of the budget to maintain every live account, and spend the
# rest on accounts that *look* promising — medium or high estimated potential and
# estimated trust of at least 0.4 — in proportion to their estimated potential.
# Change it and re-run the notebook.

# %%
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


# %% [markdown]
# ## 2. Run it against the built-in policies
#
# 2 000 replications of 20 accounts and two `stage_gated` rivals over 40 quarters,
# seed 2024, batched engine.

# %%
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

# %% [markdown]
# ## 3. Paired comparison against `uniform`
#
# `analysis.compare` matches each replication with the `uniform` run on the same seed
# and summarises the differences: mean, 95 % confidence interval, and how much
# pairing shrank the variance (`variance_reduction`).

# %%
cmp = analysis.compare(results, baseline="uniform", metrics=["npv_terminal", "npv",
                       "mean_market_share", "final_n_strategic"])
npv_cmp = cmp[cmp["metric"] == "npv_terminal"].sort_values("diff", ascending=False)
npv_cmp[["policy", "baseline_mean", "mean", "diff", "ci_low", "ci_high",
         "variance_reduction"]]

# %% [markdown]
# ## 4. Return and risk
#
# Mean NPV is not the whole story. The table adds the downside across markets: the
# 5 % quantile of NPV (with terminal value), the CVaR (mean of the worst 5 %), the
# share of markets where the policy beats `uniform`, your mean market share and the
# dependency on your largest account at the end.

# %%
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

# %% [markdown]
# ## 5. The picture for the deck

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
plots.plot_comparison(npv_cmp[npv_cmp["policy"] != "uniform"], ax=axes[0])
axes[0].set_title("NPV with terminal value vs uniform, paired (95 % CI)")
plots.plot_risk_return(risk, ax=axes[1], label="policy")
axes[1].set_title("Return vs downside (CVaR 5 %)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 6. Stages reached
#
# Mean number of relationships in each stage over time, for the built-in `uniform`
# and your policy.

# %%
dist = metrics.stage_distribution(results.quarters, by="policy")
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), sharey=True)
for ax, name in zip(axes, ["uniform", "my_policy"]):
    plots.plot_stage_distribution(dist[dist["policy"] == name], ax=ax, title=name)
plt.show()

# %% [markdown]
# ## 7. Your policy against different rivals
#
# The same comparison against three kinds of rival: how much of the accounts' spend
# do you keep, and what is it worth, when the rivals play `uniform`, `stage_gated` or
# `greedy_roi`?

# %%
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

# %% [markdown]
# ## 8. A bigger budget
#
# The budget is a model parameter like any other: `kamsim.simulate` takes every
# parameter by name (`budget`, `rival_budget`, ...; the table is in `docs/odd.md`), as
# `KAMModel` does. Here your policy with 100 (the default) and 150 k€ a quarter, the
# rivals keeping theirs, on the same seeds.

# %%
by_budget = {b: kamsim.simulate(n_accounts=N_ACCOUNTS, policy=my_policy, rivals=2,
                                budget=b, replications=1000, quarters=QUARTERS,
                                seed=SEED, keep_accounts=False)
             for b in (100.0, 150.0)}
pd.DataFrame({f"budget {b:.0f} k€": {"NPV with TV (k€)": r.runs["npv_terminal"].mean(),
                                     "final strategic": r.runs["final_n_strategic"].mean(),
                                     "market share": r.runs["mean_market_share"].mean()}
              for b, r in by_budget.items()})

# %% [markdown]
# ## 9. Search for a better rule
#
# Instead of writing a rule by hand, let Optuna search the documented family of rules in
# `kamsim/policies/family.py` (a score over stage, potential class, trust, headroom, tenure
# and stock; a threshold; a proportional or softmax split). Every trial is scored on
# the same *training* markets; the chosen rule is then compared with the built-ins on
# fresh, *held-out* markets. The budget here is tiny so that it runs in seconds; the
# shipped search is `kamsim optimize experiments/optimize.toml` (`make optimize`).

# %%
search = kamsim.optimize({
    "name": "notebook_search", "seed": SEED, "quarters": QUARTERS,
    "market": {"n_accounts": N_ACCOUNTS, "rivals": 2, "rival_policy": "stage_gated"},
    "search": {"trials": 12, "replications": 60, "batch": 4},
    "evaluation": {"replications": 300, "policies": ["uniform", "stage_gated", "greedy_roi"]},
    "robustness": {"replications": 60, "rival_policies": ["uniform"], "points": 0},
}, workers=1, quiet=True)
for line in kamsim.policies.family.describe_rule(search.rule):
    print(line)
search.heldout.groupby("policy")["npv_terminal"].agg(["mean", "std"]).sort_values("mean")

# %% [markdown]
# The rule is a plain policy: save it and use it anywhere a policy name goes
# (`kamsim simulate --policy my_rule.toml`, an experiment spec, the tournament).

# %%
import tempfile
from pathlib import Path

from kamsim.policies.family import save_rule

path = save_rule(search.rule, Path(tempfile.mkdtemp()) / "my_rule.toml")  # or a folder of yours
kamsim.simulate(policy=str(path), replications=200, seed=SEED + 1,
                keep_accounts=False).runs["npv_terminal"].mean()

# %% [markdown]
# ## 10. What is better account analysis worth?
#
# Your estimates of potential are judgements (`potential_bias`: a persistent
# misjudgement that shrinks as a relationship deepens). Give *your* firm perfect
# information (`focal_potential_bias = focal_potential_noise = 0`) while the rivals keep
# theirs, and compare with giving it to *every* supplier: then the rivals court the
# same accounts (herding). Paired on the same markets:

# %%
def npv(**params):
    res = kamsim.simulate(policy="greedy_roi", n_accounts=N_ACCOUNTS, replications=1000,
                          quarters=QUARTERS, seed=SEED, params=kamsim.ModelParams(**params),
                          keep_accounts=False)
    return res.runs["npv_terminal"].to_numpy()


base = npv()
judgement = {"our own perfect information": npv(focal_potential_bias=0.0, focal_potential_noise=0.0),
             "everyone's perfect information": npv(potential_bias=0.0, potential_noise=0.0)}
pd.DataFrame({name: {"Δ NPV with TV (k€)": (x - base).mean(),
                     "95 % CI ±": 1.96 * (x - base).std(ddof=1) / np.sqrt(len(x))}
              for name, x in judgement.items()}).T

# %% [markdown]
# ## Things to try
#
# * Give everything to the accounts with the highest *revenue* — then compare with
#   `revenue_proportional`.
# * Make `my_policy` ignore accounts whose estimated trust is below 0.3: does the
#   downside improve?
# * Re-run with `N_ACCOUNTS = 40` and the same budget: attention is diluted beyond the
#   team's capacity (`manager_capacity`).
# * Give the rivals a bigger budget than yours (`rival_budget=150.0` in
#   `kamsim.simulate`): which policy holds its share best?
