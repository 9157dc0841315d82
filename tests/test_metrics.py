"""Tests of the distribution-level metrics added for issue 4."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamsim.analysis import metrics as m


def accounts_frame(profits: dict[int, list[float]]) -> pd.DataFrame:
    rows = [{"replication": r, "profit": p} for r, ps in profits.items() for p in ps]
    return pd.DataFrame(rows)


def test_cvar_and_quantile_known_sample() -> None:
    """CVaR 5 % of 1..100 is the mean of the 5 smallest; the quantile interpolates."""
    x = np.arange(1, 101, dtype=float)
    assert m.cvar(x, 0.05) == pytest.approx(3.0)
    assert m.quantile_lower(x, 0.05) == pytest.approx(np.quantile(x, 0.05))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=300))
def test_cvar_below_quantile_and_mean(values: list[float]) -> None:
    """CVaR never exceeds the mean, and is at most the 5 % quantile up to interpolation."""
    x = np.array(values)
    assert m.cvar(x) <= np.mean(x) + 1e-6 * (1 + abs(np.mean(x)))
    assert m.cvar(x) <= np.sort(x)[int(np.ceil(0.05 * x.size)) - 1] + 1e-9


def test_whale_curve_hand_example() -> None:
    """The whale curve rises above 100 % with unprofitable accounts and ends at 100 %."""
    acc = accounts_frame({0: [60, 50, 10, -5, -15]})  # total 100
    w = m.whale_curve(acc, points=6)
    np.testing.assert_allclose(w["cum_profit_share"], [0, 0.6, 1.1, 1.2, 1.15, 1.0])
    pc = m.profit_concentration(acc)
    assert pc.loc[0, "top_fifth_profit_share"] == pytest.approx(0.6)
    assert pc.loc[0, "whale_peak"] == pytest.approx(1.2)
    assert pc.loc[0, "share_unprofitable"] == pytest.approx(0.4)


def test_whale_curve_averages_over_replications_and_skips_losses() -> None:
    """Replications are normalised separately; those with total profit <= 0 left out."""
    acc = accounts_frame({0: [100.0, 0.0], 1: [50.0, 50.0], 2: [-10.0, 5.0]})
    w = m.whale_curve(acc, points=3)
    assert list(w["n"]) == [2, 2, 2]
    np.testing.assert_allclose(w["cum_profit_share"], [0, 0.75, 1.0])


def test_downside_table() -> None:
    """Downside gives mean, 5 % quantile, CVaR and loss probability per group."""
    runs = pd.DataFrame(
        {"g": ["a"] * 100 + ["b"] * 100, "npv": np.r_[np.arange(100.0), -np.ones(100)]}
    )
    d = m.downside(runs, by="g")
    a = d[d.g == "a"].iloc[0]
    assert a["mean"] == pytest.approx(49.5) and a["cvar05"] == pytest.approx(2.0)
    assert a["p_loss"] == 0 and d[d.g == "b"].iloc[0]["p_loss"] == 1.0


def test_exits_by_cause_shares() -> None:
    """Exits by cause averages counts per replication and their shares sum to one."""
    runs = pd.DataFrame(
        {
            "exits_switched": [2, 4],
            "exits_vanished": [1, 1],
            "exits_dropped": [0, 0],
            "exits_breach": [1, 0],
            "exits_faded": [0, 3],
        }
    )
    e = m.exits_by_cause(runs)
    assert dict(zip(e["cause"], e["mean"], strict=True)) == {
        "switched": 3.0,
        "vanished": 1.0,
        "dropped": 0.0,
        "breach": 0.5,
        "faded": 1.5,
    }
    assert e["share"].sum() == pytest.approx(1.0)


def test_stage_times_in_years() -> None:
    """Time to a stage is averaged over replications that reached it, also in years."""
    runs = pd.DataFrame(
        {
            "time_to_cooperative": [4.0, 8.0],
            "reached_cooperative": [1, 2],
            "time_to_interdependent": [12.0, np.nan],
            "reached_interdependent": [1, 0],
            "time_to_strategic": [np.nan, np.nan],
            "reached_strategic": [0, 0],
        }
    )
    t = m.stage_times(runs).set_index("stage")
    assert t.loc["cooperative", "years"] == pytest.approx(1.5)
    assert t.loc["interdependent", "share_of_runs"] == 0.5
    assert np.isnan(t.loc["strategic", "quarters"])


def test_revenue_drop_and_major_customer() -> None:
    """Revenue drop compares mean revenue after vs before; major share uses 10 %."""
    q = pd.DataFrame(
        {
            "replication": 0,
            "seed": 1,
            "quarter": [1, 2, 3, 4],
            "revenue": [100, 100, 60, 60],
        }
    )
    d = m.revenue_drop(q, at=3, window=2)
    assert d["revenue_drop"].iloc[0] == pytest.approx(0.4)
    runs = pd.DataFrame({"final_largest_share": [0.05, 0.2, 0.3, 0.09]})
    r = m.major_customer_risk(runs)
    assert r["p_major"].iloc[0] == 0.5 and r["mean_drop"].iloc[0] == pytest.approx(0.16)


def test_account_dependency_averages_measured_shares() -> None:
    """Account dependency averages measured shares and counts the top stages."""
    q = pd.DataFrame(
        {
            "replication": [0, 1],
            "quarter": [1, 1],
            "n_tactical": [2, 1],
            "n_cooperative": [0, 1],
            "n_interdependent": [1, 0],
            "n_strategic": [1, 0],
            "n_active": [4, 2],
            "mean_share_of_wallet": [0.2, 0.4],
            "mean_dependence": [0.5, 0.7],
            "account_disruption_cost": [3.0, 1.0],
        }
    )
    d = m.account_dependency(q)
    assert d["mean_share_of_wallet"].iloc[0] == pytest.approx(0.3)
    assert d["mean_dependence"].iloc[0] == pytest.approx(0.6)
    assert d["share_top_stages"].iloc[0] == pytest.approx(0.25)
    assert d["account_disruption_cost"].iloc[0] == pytest.approx(2.0)


def test_stage_distribution_means() -> None:
    """Stage distribution averages end-of-quarter stage counts over replications."""
    q = pd.DataFrame(
        {
            "replication": [0, 1],
            "quarter": [1, 1],
            "n_tactical": [2, 4],
            "n_cooperative": [1, 1],
            "n_interdependent": [0, 2],
            "n_strategic": [0, 0],
            "n_active": [3, 7],
        }
    )
    d = m.stage_distribution(q)
    assert d["tactical"].iloc[0] == 3.0 and d["interdependent"].iloc[0] == 1.0
