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
# # The four stages of key account management — in a market of suppliers
#
# Several suppliers court the same **key accounts**. Each supplier's relationship with
# each account moves through four stages (McDonald & Woodburn; Millman & Wilson):
#
# | stage | what it looks like |
# |---|---|
# | 1 **tactical** | one of several suppliers, price decides, easy to leave |
# | 2 **cooperative** | several contacts, costs rise before benefits show |
# | 3 **interdependent** | sole or main supplier, joint planning, leaving is costly |
# | 4 **strategic** | joint long-term strategy, leaving is "traumatic" for both |
#
# Relationships go **up** with investment and trust, **down** when trust erodes, and
# **end** from any stage: an outside offer beats the account's exit barrier, trust
# breaks, rivals take the business, or the account disappears. This notebook follows
# one market quarter by quarter with `kamsim.KAMModel` (a Mesa model): **you** are the
# focal supplier, two rivals compete for the same accounts.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import kamsim
from kamsim import KAMModel, ModelParams
from kamsim.model import rules
from kamsim.model.state import compiled_params

STAGES = ["tactical", "cooperative", "interdependent", "strategic"]
COLORS = ["#b0bec5", "#4fc3f7", "#1e88e5", "#1a237e"]
pd.set_option("display.precision", 2)

# %% [markdown]
# ## 1. One market, one quarter at a time
#
# Twenty key accounts. You spend a KAM budget of 100 k€ per quarter with the
# `stage_gated` policy (push high-potential accounts up, maintain the rest); two rivals
# with the same budget and policy court the same accounts. Seed 57: the same seed
# always gives the same market.

# %%
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

# %% [markdown]
# Ten years later (40 quarters):

# %%
for _ in range(39):
    model.step()
print("quarter", model.quarter)
account_table(model).sort_values("your share", ascending=False).head(8)


# %% [markdown]
# ## 2. Who holds each account's wallet
#
# One bar per account: your share (coloured by the stage of your relationship), the two
# rivals' shares, and the rest of the market. At the tactical stage you are "one of
# several"; where you reached the top stages you are the sole or largest supplier.

# %%
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


# %% [markdown]
# ## 3. Your relationships per stage over time
#
# `model.datacollector.get_model_vars_dataframe()` holds one row per quarter;
# `get_agent_vars_dataframe()` one row per account per quarter.

# %%
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

# %% [markdown]
# ## 4. Trust: slow to build, quick to lose — and not simply age
#
# Without a failure, trust closes part of the gap to what the service warrants
# (`trust += trust_gain * (warranted - trust)`); a failure cuts it by `trust_loss`.
# Relationships start at a drawn level, so a young relationship can trust more than an
# old one. Below: service of quality 0.6 every quarter from two starting levels, with
# failures in quarters 12 and 14.
#
# The model's equations are compiled functions in `kamsim.model.rules`; they read the
# parameters from one compiled record, `compiled_params(p)`, and can be called from
# Python like any function.

# %%
p = ModelParams()
cp = compiled_params(p)  # the parameters as the compiled rules read them
failures = {12, 14}
fig, ax = plt.subplots(figsize=(8, 3))
for start in (0.2, 0.8):
    trust = [start]
    for q in range(1, 31):
        trust.append(rules.update_trust(trust[-1], 0.6, q in failures, False, cp))
    ax.plot(range(31), trust, marker=".", label=f"starts at {start}")
for q in failures:
    ax.axvline(q, color="#c62828", ls=":", lw=1)
ax.axhline(rules.warranted_trust(0.6, cp), color="grey", lw=0.8)
ax.set(xlabel="quarter", ylabel="trust", ylim=(0, 1),
       title="Trust converges to what the service warrants; failures cost a lot")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 5. What it takes to move up
#
# A relationship climbs one stage when trust and the **joint** relationship-specific
# investment (your stock K plus the account's own adaptation A, relative to the
# account's effort scale) pass the stage's thresholds, the account is willing, and it
# spent `min_tenure` quarters in its stage. An account has at most one strategic
# partner. It drops a stage when trust falls below the admitting threshold minus a
# margin.

# %%
t = rules.stage_tables(p)  # the per-stage arrays of compiled_params(p), by name
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

# %% [markdown]
# ## 6. Exit barriers rise with the stage — from the account's own adaptation
#
# An account leaves you when an offer gains it more than its **exit barrier**: the
# stage's integration and the trust it would give up (in quarters of its spend with
# you) plus its own adaptation A (processes, people, plans built around you). Your own
# spending is *not* part of it: that is your sunk exposure, lost if the relationship
# ends. For an account spending 100 k€ a quarter with you:

# %%
stage = np.arange(1, 5)
spend_q = 100.0
exit_cost = cp["exit_cost"]  # per stage, indexed by stage - 1
adaptation = [0.0, 40.0, 100.0, 160.0]  # k€, typical of each stage
no_adapt = [rules.exit_barrier(exit_cost[s - 1], 0.0, 0.7, spend_q, cp) for s in stage]
adapted = [rules.exit_barrier(exit_cost[s - 1], a, 0.7, spend_q, cp)
           for s, a in zip(stage, adaptation)]
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

# %% [markdown]
# ## 7. Following one relationship
#
# `model.slot_trajectory()` gives your relationship's stage, trust and share of wallet
# in every slot and quarter. Here the account where you climbed highest: when it turns
# cooperative the cost to serve jumps at once, while the share of wallet (and revenue)
# follows over several quarters.

# %%
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

# %% [markdown]
# ## 8. Same market, no investment
#
# With the same seed the accounts, offers, failure draws and shocks are the same
# (common random numbers); only your policy differs. Without KAM investment, how far
# do your relationships get, and who takes the business?

# %%
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

# %% [markdown]
# ## 9. Exercises
#
# 1. Double your budget (`KAMModel(..., budget=200)`). Do more relationships reach the
#    top stages? Does profit rise as much as the extra spend?
# 2. Give the rivals twice your budget (`rival_budget=200`). What happens to your
#    share of wallet in the bars of section 2?
# 3. Set `share_willing=0.2`. Why can money not fix the stage chart?
# 4. Disrupt yourself at quarter 20 (`disruption_at=20`): which accounts diversify
#    away from you (compare `a.shares` before and after)?
# 5. Try the other built-in policies: `print(list(kamsim.POLICIES))`; and
#    `rival_policy=["uniform", "greedy_roi"]` for two different rivals.

# %%
# Exercise 2, to get you started
pressed = KAMModel(n_accounts=20, policy="stage_gated", rivals=2, rng=57, rival_budget=200.0)
for _ in range(40):
    pressed.step()
df = pressed.datacollector.get_model_vars_dataframe()
print("rivals at 200 k€: your market share at the end", f"{df['market_share'].iloc[-1]:.1%}")
print("built-in policies:", list(kamsim.POLICIES))

# %% [markdown]
# ## 10. The interactive page
#
# The same market with sliders, Step / Play / Reset, every account's wallet split
# between the suppliers and live charts. In Jupyter, run the cell below; in a
# terminal, `kamsim viz` serves it in the browser.

# %%
from kamsim.viz import page

page
