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
# # Experiments: load, reproduce, and probe the sensitivity
#
# 1. load a shipped experiment's results (or run a small version of it);
# 2. read what it found, in words computed from the data;
# 3. reproduce its figures from the tidy results;
# 4. run a small global sensitivity analysis (Morris elementary effects, SALib) with
#    `kamsim.sensitivity`, the function behind `kamsim sensitivity SPEC.toml`.

# %%
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import kamsim
from kamsim import analysis, metrics, plots
from kamsim.design import Design
from kamsim.findings import find

pd.set_option("display.precision", 2)
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())

# %% [markdown]
# ## 1. Load a shipped experiment
#
# The first of these specs under `experiments/` is used. If its results are in
# `results/<name>/` (written by `make run` / `kamsim run`) they are loaded; otherwise a
# small version (fewer replications) runs now into a temporary folder.

# %%
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
print(f"{name}: {spec.description}\n{source} in {time.perf_counter() - start:.1f} s")
factors = analysis.factor_columns(results)
print("factors:", factors, "| runs:", len(results.runs))

# %% [markdown]
# ## 2. What it found
#
# The Findings of the experiment's report (`kamsim report`), computed from the runs:
# every number below comes from the results, none is typed.

# %%
design = Design.from_runs(results.runs, spec.to_dict())
for finding in find(results.runs, design):
    print("*", finding.text.replace("**", ""))

# %% [markdown]
# ## 3. Headline numbers per cell (mean with 95 % CI)

# %%
summary = analysis.summarize(results, metrics=["npv", "final_n_strategic",
                                               "final_largest_share"])
summary.pivot_table(index=factors, columns="metric", values="mean")

# %% [markdown]
# ## 4. Reproduce the figures
#
# NPV by cell with confidence intervals, return against downside, the stage
# distribution over time and the customer-profitability ("whale") curve.

# %%
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

# %%
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

# %% [markdown]
# ## 5. Sensitivity analysis (Morris)
#
# Which parameters move mean NPV most? Morris' method varies one parameter at a time
# along random trajectories through the parameter box and averages the absolute
# elementary effects (`mu_star`); a large `sigma` flags interactions or
# non-linearity. `kamsim.sensitivity` takes the same spec as
# `kamsim sensitivity SPEC.toml` (here as a dict): the parameters and their ranges,
# the method, the sample size, replications per point (the **same seeds** at every
# point, so the effects are not drowned in noise), the outputs and the fixed settings.
# 8 trajectories x (5 + 1) points x 100 replications.

# %%
study = {
    "name": "notebook_morris",
    "method": "morris",
    "samples": 8,
    "replications": 100,
    "quarters": 40,
    "seed": 11,
    "parameters": ["trust_gain", "trust_loss", "budget", "share_willing",
                   "offer_probability"],
    "ranges": {"budget": [25.0, 300.0], "offer_probability": [0.0, 0.15]},
    "outputs": ["value", "final_n_strategic"],
    "fixed": {"n_accounts": 20, "policy": "uniform"},
}
start = time.perf_counter()
gsa = kamsim.sensitivity(study, workers=1, quiet=True)
print(f"{len(gsa.points)} points in {time.perf_counter() - start:.1f} s")
gsa.indices

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
for ax, output in zip(axes, study["outputs"]):
    d = gsa.indices[gsa.indices["output"] == output].sort_values("rank")
    plots.plot_indices(d, ax=ax, first=None, total="mu_star", xlabel="mu*")
    ax.set_title(f"Morris screening: {output}")
fig.tight_layout()
plt.show()
tmp.cleanup()

# %% [markdown]
# For variance-based indices (first- and total-order Sobol' indices with confidence
# intervals) and a check of how robust the best policy and the best portfolio size are
# across the parameter space, run the shipped study (a couple of minutes on two cores):
#
# ```bash
# kamsim sensitivity experiments/sensitivity.toml --out results
# ```
