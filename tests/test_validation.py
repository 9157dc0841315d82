"""Validation against the stylized facts of KAM practice (docs/validation.md).

Run ``python tests/test_validation.py`` to print the figures quoted in
``docs/validation.md``; the tests check them with the stated tolerances.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

import kamsim
from kamsim import metrics

REPS = 400
SEED = 2026


@cache
def run(n: int, policy: str = "uniform", **overrides: Any) -> kamsim.Results:
    params = kamsim.ModelParams().evolve(**overrides) if overrides else None
    return kamsim.simulate(
        n_accounts=n, policy=policy, replications=REPS, seed=SEED, params=params
    )


def figures() -> dict[str, float]:
    """The validation figures (defaults, 40 quarters, 400 replications, seed 2026)."""
    out: dict[str, float] = {}
    for pol in ("uniform", "greedy_roi"):
        pc = metrics.profit_concentration(run(20, pol).accounts)
        out[f"whale_top_fifth_{pol}"] = float(pc["top_fifth_profit_share"].mean())
        out[f"whale_peak_{pol}"] = float(pc["whale_peak"].mean())
        out[f"share_unprofitable_{pol}"] = float(pc["share_unprofitable"].mean())
    t = metrics.stage_times(run(20).runs).set_index("stage")
    for s in ("cooperative", "interdependent", "strategic"):
        out[f"years_to_{s}"] = float(t.loc[s, "years"])
    rich = run(10, budget=100000.0).accounts
    out["tactical_share_huge_budget"] = float((rich["max_stage"] == 1).mean())
    out["unwilling_max_stage_huge_budget"] = float(
        rich.loc[~rich["willing"], "max_stage"].max()
    )
    for n in (5, 20, 50):
        d = metrics.downside(run(n).runs).iloc[0]
        r = run(n).runs
        out[f"p_loss_{n}"] = float(d["p_loss"])
        out[f"cvar_over_mean_{n}"] = float(d["cvar05"] / d["mean"])
        out[f"largest_share_{n}"] = float(r["final_largest_share"].mean())
        top = (r["final_n_interdependent"] + r["final_n_strategic"]) / n
        out[f"top_stage_share_{n}"] = float(top.mean())
    for n in (5, 20, 50):
        gain = (
            run(n, "stage_gated").runs["npv"].to_numpy()
            - run(n, "none").runs["npv"].to_numpy()
        )
        out[f"kam_gain_{n}"] = float(gain.mean())
        out[f"kam_gain_se_{n}"] = float(gain.std(ddof=1) / np.sqrt(len(gain)))
    return out


def test_whale_curve_heavy_tail_and_unprofitable_accounts() -> None:
    """Profit is concentrated (top fifth >= 60 %) and >= 5 % of accounts lose money."""
    f = figures()
    assert f["whale_top_fifth_uniform"] >= 0.60
    assert f["share_unprofitable_uniform"] >= 0.05
    assert f["whale_peak_uniform"] >= 1.0  # the curve rises above 100 % somewhere


def test_most_profitable_fifth_earns_over_all_profit() -> None:
    """Under uniform investment the top fifth of accounts earn > 100 % of profit."""
    f = figures()
    assert f["whale_top_fifth_uniform"] > 1.0
    assert f["whale_peak_uniform"] > 1.2


def test_top_stages_take_years() -> None:
    """Reaching interdependent takes >= 2 years and strategic >= 3 years on average."""
    f = figures()
    assert f["years_to_cooperative"] >= 1.0
    assert f["years_to_interdependent"] >= 2.0
    assert f["years_to_strategic"] >= 3.0


def test_some_accounts_stay_tactical_whatever_is_invested() -> None:
    """With a huge budget unwilling accounts stay tactical (share >= 40 % - 5 pp)."""
    f = figures()
    assert f["unwilling_max_stage_huge_budget"] == 1
    share_unwilling = 1 - kamsim.ModelParams().share_willing
    assert f["tactical_share_huge_budget"] >= share_unwilling - 0.05


def test_concentration_raises_downside_of_small_portfolios() -> None:
    """Five accounts: higher P(loss), worse CVaR/mean, larger top account than 20."""
    f = figures()
    assert f["p_loss_5"] > f["p_loss_20"] + 0.05
    assert f["cvar_over_mean_5"] < f["cvar_over_mean_20"] - 0.2
    assert f["largest_share_5"] > 1.5 * f["largest_share_20"]


def test_large_portfolios_dilute_investment() -> None:
    """Under one budget, 50 accounts reach the top stages at under half the rate of 20."""
    f = figures()
    assert f["top_stage_share_50"] < 0.5 * f["top_stage_share_20"]


def test_value_of_kam_peaks_at_a_mid_sized_portfolio() -> None:
    """The gain of stage_gated over no investment peaks at 20 accounts (vs 5 and 50)."""
    f = figures()
    for n in (5, 50):
        se = np.hypot(f["kam_gain_se_20"], f[f"kam_gain_se_{n}"])
        assert f["kam_gain_20"] - f[f"kam_gain_{n}"] > 3 * se


if __name__ == "__main__":
    for k, v in figures().items():
        print(f"{k:36s} {v:10.4f}")
    print(
        "mean NPV none vs uniform vs greedy_roi at 20 accounts:",
        [
            round(float(run(20, p).runs["npv"].mean()))
            for p in ("none", "uniform", "greedy_roi")
        ],
    )
