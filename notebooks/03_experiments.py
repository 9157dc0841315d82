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
# # Experiments: the policy tournament, and what drives the results
#
# 1. read the **policy tournament** (`experiments/policy_tournament.toml`): two
#    suppliers with equal budgets court the same accounts, every built-in policy
#    against every other in both positions, on common random numbers — which policy
#    wins against which;
# 2. look at the market behind one matchup (suppliers' shares and stages);
# 3. run a small global sensitivity analysis (Morris elementary effects, SALib) on the
#    batched engine.

# %%
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.sample import morris as morris_sample

import kamsim
from kamsim.analysis import tournament

pd.set_option("display.precision", 2)
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())

# %% [markdown]
# ## 1. Load the tournament
#
# If `results/policy_tournament/` exists (written by `make run`) it is loaded;
# otherwise a small version (30 replications per matchup) runs now into a temporary
# folder.

# %%
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
print(f"{spec.description}\n{source} in {time.perf_counter() - start:.1f} s")
table = tournament.matchups(results.suppliers)
tournament.standings(table)

# %% [markdown]
# ## 2. Who wins against whom
#
# Rows: the policy you play; columns: your opponent's. Left: your NPV with terminal
# value; right: your share of the accounts' spend. A policy that does well against
# every column is robust; one that only beats `none` is not.

# %%
fig, axes = plt.subplots(1, 2, figsize=(15, 6))
tournament.plot_matchups(table, "npv_terminal", ax=axes[0], label="NPV with TV (k€)")
tournament.plot_matchups(table.assign(market_share=100 * table["market_share"]),
                         "market_share", ax=axes[1], fmt="{:.1f}", label="market share (%)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Inside one matchup: who holds the accounts
#
# One market of the `stage_gated` vs `greedy_roi` matchup, simulated as Mesa agents:
# each account's share of wallet with each supplier after ten years.

# %%
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

# %% [markdown]
# ## 4. Sensitivity analysis (Morris)
#
# Which parameters move the focal supplier's mean NPV (with terminal value) most?
# Morris' method varies one parameter at a time along random trajectories through the
# parameter box and averages the absolute elementary effects (`mu_star`); a large
# `sigma` flags interactions or non-linearity. Every evaluation is a batched Monte
# Carlo run of 100 markets (20 accounts, two `stage_gated` rivals) on the **same
# seeds** (common random numbers). 8 trajectories x (5 + 1) points = 48 runs.

# %%
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

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.barh(sens.index[::-1], sens["mu_star"][::-1], xerr=sens["mu_star_conf"][::-1],
        color="#1e88e5")
ax.set(xlabel="mu* of mean NPV (k€ per unit move across the range)",
       title="Morris screening: what drives NPV")
plt.show()
tmp.cleanup()
