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
# # The four stages of key account management
#
# A supplier looks after a portfolio of **key accounts**. Each relationship moves
# through four stages (McDonald & Woodburn; Millman & Wilson):
#
# | stage | what it looks like |
# |---|---|
# | 1 **tactical** | one of several suppliers, price decides, easy to leave |
# | 2 **cooperative** | several contacts, costs rise before benefits show |
# | 3 **interdependent** | sole or main supplier, joint planning, leaving is costly |
# | 4 **strategic** | joint long-term strategy, leaving is "traumatic" for both |
#
# Relationships go **up** with investment and trust, **down** when trust erodes, and
# **end** when a competitor's offer beats the account's exit costs. This notebook
# follows one market quarter by quarter with `kamsim.KAMModel` (a Mesa model), then
# opens up the mechanisms one by one.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import kamsim
from kamsim import KAMModel, ModelParams, rules

STAGES = ["tactical", "cooperative", "interdependent", "strategic"]
COLORS = ["#b0bec5", "#4fc3f7", "#1e88e5", "#1a237e"]
pd.set_option("display.precision", 2)

# %% [markdown]
# ## 1. One market, one quarter at a time
#
# Twenty key accounts, a KAM budget of 100 k€ per quarter split equally (`uniform`),
# seed 42 (the same seed always gives the same market).

# %%
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

# %% [markdown]
# Ten years later (40 quarters):

# %%
for _ in range(39):
    model.step()
print("quarter", model.quarter)
account_table(model).sort_values("trust", ascending=False).head(8)


# %% [markdown]
# ## 2. Stage counts over time
#
# `model.datacollector` holds one row per quarter. The stacked chart shows how many
# relationships are in each stage.

# %%
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

# %% [markdown]
# ## 3. Trust: slow to build, quick to lose
#
# Each quarter trust rises a little after good service
# (`trust += trust_gain * quality * (1 - trust)`) and falls a lot after a service
# failure (`trust -= trust_loss * trust`) — negative events weigh more than positive
# ones (Slovic 1993). Below: service of quality 0.6 every quarter, with failures in
# quarters 12 and 14.

# %%
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

# %% [markdown]
# ## 4. What it takes to move up, and when a relationship falls back
#
# A relationship climbs one stage when trust and the supplier's specific investment
# stock pass the stage's thresholds, the account is willing, and it has spent at least
# `min_tenure` quarters in its stage. It drops a stage when trust falls below the
# threshold that admitted it minus a margin (hysteresis), so it does not flicker.

# %%
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

# %% [markdown]
# ## 5. Exit costs rise with the stage
#
# An account leaves when a competitor's offer gains it more than its **exit barrier**:
# the exit cost (`exit_cost[stage] * spend + lock_in * stock`) plus the value it puts
# on trust. For an account spending 100 k€ a quarter with the supplier:

# %%
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

# %% [markdown]
# ## 6. Following one relationship
#
# `model.slot_trajectory()` gives every slot's stage, trust and share of wallet per
# quarter. Here the account that climbed highest:

# %%
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

# %% [markdown]
# ## 7. Same market, no investment
#
# With the same seed the accounts, competitor offers and service draws are the same
# (common random numbers); only the policy differs. Without KAM investment, how far do
# relationships get?

# %%
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

# %% [markdown]
# ## 8. Exercises
#
# 1. Double the budget (`KAMModel(..., budget=200)`). Do more relationships reach the
#    top stages? Does cumulative profit rise as much as the extra spend?
# 2. Set `share_willing=0.2`. What happens to the stage chart, and why can money not
#    fix it?
# 3. Make trust symmetric (`trust_loss=0.1`, the same as `trust_gain`). How does the
#    trust path of section 3 change? Why might real relationships not work like that?
# 4. Raise competitor pressure (`offer_probability=0.15`). In which stages do
#    accounts now leave? Use `model.ended_accounts` and their `stage` and `end_cause`.
# 5. Try the other built-in policies: `print(list(kamsim.POLICIES))`. Which one builds
#    the most strategic relationships for the same budget? Is it the most profitable?

# %%
# Exercise 1, to get you started
rich = KAMModel(n_accounts=20, policy="uniform", rng=42, budget=200.0)
for _ in range(40):
    rich.step()
df = rich.datacollector.get_model_vars_dataframe()
print("budget 200: cumulative profit", round(df["profit"].sum()), "k€")
print("built-in policies:", list(kamsim.POLICIES))

# %% [markdown]
# ## 9. The interactive page
#
# The same model with sliders, Step / Play / Reset and live charts. In Jupyter, run
# the cell below (the controls open from the menu button); in a terminal,
# `kamsim viz` serves it in the browser.

# %%
from kamsim.viz import page

page
