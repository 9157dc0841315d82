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
# # Plan your own portfolio
#
# A strategy team's question: with next year's KAM budget, where should the money go,
# what is each key account likely to become, and what could go wrong?
#
# 1. **load** the team's file of key accounts (`examples/portfolio.csv`, 25 synthetic
#    accounts) and look at it;
# 2. **plan**: every built-in rule runs on the same replications of a market that
#    starts where the file says; the best is chosen on one set of replications and
#    measured on another;
# 3. **change the budget** and see what it buys;
# 4. **compare rules** account by account.
#
# The command line does the same in one line:
# `kamsim plan examples/portfolio.csv --budget 600 --out results/plan`.
# Here a few hundred replications keep it fast; the command's default is 1,000.

# %%
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

import kamsim
from kamsim.plan import plan, write_plan_report

pd.set_option("display.precision", 2)
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())
REPLICATIONS = 300

# %% [markdown]
# ## 1. Load the file
#
# One row per key account: what it buys from us (`revenue`, k€/yr), the `stage` of the
# relationship, our `share_of_wallet` (or its `category_spend`), and what the team
# knows besides (years in the stage, potential or a range, willingness to partner).
# A bad file is refused with one line per problem before anything runs.

# %%
portfolio = kamsim.Portfolio.from_file(ROOT / "examples" / "portfolio.csv")
print(portfolio.summary())
portfolio.to_frame().head(8)

# %%
frame = portfolio.to_frame().sort_values("revenue")
colors = {1: "#cfd8e3", 2: "#8fb3d9", 3: "#4a7fb5", 4: "#f4a259"}
fig, ax = plt.subplots(figsize=(8, 7), layout="constrained")
ax.barh(frame["account"], frame["revenue"], color=[colors[s] for s in frame["stage"]])
names = ("tactical", "cooperative", "interdependent", "strategic")
handles = [Patch(color=colors[s], label=name) for s, name in zip((1, 2, 3, 4), names, strict=True)]
ax.set_xlabel("revenue (k€ per year)")
ax.legend(handles=handles, title="stage", loc="lower right")
ax.set_title("The portfolio: revenue by account and stage")
plt.show()

# %% [markdown]
# ## 2. Plan with a budget of 600 k€ per year
#
# The model's budget is per quarter (150 k€); `plan` takes it per year. What the file
# does not say — trust, the investment already in each relationship, the true
# potential behind the team's estimate, willingness — is drawn in every replication
# from the priors of `docs/odd.md` §3.2.

# %%
start = time.perf_counter()
result = plan(portfolio, 600, replications=REPLICATIONS, seed=1)
print(f"{time.perf_counter() - start:.1f} s; recommended: {result.recommended}")
result.candidates[["policy", "mean", "ci_low", "ci_high", "gain", "gain_low", "gain_high"]]

# %% [markdown]
# The gain columns are the recommended rule minus each alternative, paired on the same
# held-out replications, with 95 % confidence intervals. Per account:

# %%
cols = ["account", "stage", "revenue", "invest_next_year", "p_up_2y", "p_lost_2y",
        "p_lost_5y", "npv_contribution", "team_potential", "model_potential"]  # fmt: skip
result.accounts[cols].sort_values("invest_next_year", ascending=False).head(12)

# %%
order = list(result.candidates["policy"])[::-1]
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
ax.boxplot([result.npv[p] for p in order], orientation="horizontal", whis=(5, 95),
           showfliers=False)  # fmt: skip
ax.set_yticks(range(1, len(order) + 1), order)
ax.set_xlabel("portfolio NPV with terminal value (k€), held-out replications")
ax.set_title("NPV per rule (whiskers 5-95 %)")
plt.show()

# %% [markdown]
# Portfolio risks: how much rests on the largest accounts, and which accounts are most
# likely to be lost within five years.

# %%
r = result.risks
print(f"three largest accounts: {', '.join(r['top3'])} = {r['top3_share']:.0%} of revenue")
print(f"P(losing at least one of them within 5 years) = {r['p_lose_top3_5y']:.0%}")
r["at_risk"]

# %% [markdown]
# ## 3. Change the budget
#
# The recommended rule and `uniform` (the same to every account) at three budgets.

# %%
rows = []
for budget in (300, 600, 900):
    res = plan(portfolio, budget, replications=150, seed=1,
               policies=[result.recommended, "uniform"])  # fmt: skip
    for row in res.candidates.itertuples():
        rows.append({"budget": budget, "policy": row.policy, "npv": row.mean})
by_budget = pd.DataFrame(rows).pivot(index="budget", columns="policy", values="npv")
by_budget

# %%
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for policy in by_budget.columns:
    ax.plot(by_budget.index, by_budget[policy], marker="o", label=policy)
ax.set_xlabel("KAM budget (k€ per year)")
ax.set_ylabel("mean portfolio NPV (k€)")
ax.legend(title="rule")
plt.show()

# %% [markdown]
# ## 4. Compare two rules account by account
#
# Where does each rule put next year's money? (`plan` with one candidate follows that
# rule's accounts.)

# %%
other = "greedy_roi" if result.recommended != "greedy_roi" else "stage_gated"
alt = plan(portfolio, 600, replications=150, seed=1, policies=[other])
both = pd.DataFrame(
    {
        result.recommended: result.accounts.set_index("account")["invest_next_year"],
        other: alt.accounts.set_index("account")["invest_next_year"],
    }
).sort_values(result.recommended)
fig, ax = plt.subplots(figsize=(8, 7), layout="constrained")
y = np.arange(len(both))
ax.barh(y - 0.2, both[result.recommended], height=0.4, label=result.recommended)
ax.barh(y + 0.2, both[other], height=0.4, label=other)
ax.set_yticks(y, both.index)
ax.set_xlabel("investment next year (k€)")
ax.legend(title="rule", loc="lower right")
plt.show()

# %% [markdown]
# ## The report
#
# The same plan as a report (HTML and Markdown) and `plan.csv` for spreadsheets:

# %%
out = Path(tempfile.mkdtemp()) / "plan"
print(write_plan_report(result, out))
pd.read_csv(out / "plan.csv").head(3)
