"""The Mesa face: KAMModel, its Supplier and KeyAccount agents, and its DataCollector."""

from __future__ import annotations

import numpy as np
import pytest

from kamsim import KAMModel, ModelParams
from kamsim.agents import KeyAccount, Supplier
from kamsim.metrics import QUARTER_COLUMNS
from kamsim.model import ACCOUNT_REPORTERS
from kamsim.policies import Observation
from kamsim.rules import EndCause, Stage

#: Turbulent but valid parameters: many exits, replacements and shocks.
TURBULENT = ModelParams(
    hazard=0.08,
    offer_probability=0.3,
    replacement_delay=1,
    disruption_probability=0.1,
    downturn_probability=0.1,
    drop_after_losses=3,
)


def test_agents_are_real_mesa_agents() -> None:
    """The model holds one Supplier and one KeyAccount per slot, all registered agents."""
    m = KAMModel(n_accounts=7, rng=1)
    assert len(m.agents_by_type[Supplier]) == 1
    accounts = m.agents_by_type[KeyAccount]
    assert len(accounts) == 7
    assert sorted(a.slot for a in accounts) == list(range(7))
    assert all(a.stage == Stage.TACTICAL for a in accounts)
    assert all(a.trust == m.params.trust_initial for a in accounts)
    assert m.supplier.portfolio == m.accounts
    assert m.supplier.budget == m.params.budget


def test_step_advances_one_quarter_and_returns_none() -> None:
    """step() advances model.time and model.quarter by one and returns nothing."""
    m = KAMModel(n_accounts=3, rng=1)
    assert m.quarter == 0
    for t in range(1, 4):
        assert m.step() is None  # type: ignore[func-returns-value]
        assert m.quarter == t
        assert m.time == pytest.approx(t)


def test_datacollector_model_frame() -> None:
    """The model frame has a row per quarter with every reporter; stage counts add up."""
    m = KAMModel(n_accounts=10, params=TURBULENT, rng=2)
    for _ in range(15):
        m.step()
    df = m.datacollector.get_model_vars_dataframe()
    assert list(df.columns) == list(QUARTER_COLUMNS)
    assert len(df) == 16
    stages = df[["n_tactical", "n_cooperative", "n_interdependent", "n_strategic"]]
    assert (stages.sum(axis=1) == df["n_active"]).all()
    assert df["n_active"].iloc[0] == 10
    assert (df["investment"].iloc[1:] <= TURBULENT.budget + 1e-9).all()
    assert df[["exits_switched", "exits_vanished"]].to_numpy().sum() > 0  # turbulent


def test_datacollector_agent_frame() -> None:
    """The KeyAccount frame records stage, trust, share, revenue, profit and allocation.

    One row per live account and quarter, equal to the agents' attributes.
    """
    m = KAMModel(n_accounts=6, rng=3)
    for _ in range(5):
        m.step()
    df = m.datacollector.get_agenttype_vars_dataframe(KeyAccount)
    assert set(ACCOUNT_REPORTERS) <= set(df.columns)
    for col in (
        "stage", "trust", "share_of_wallet", "account_revenue", "account_profit",
        "allocation",
    ):  # fmt: skip
        assert col in df.columns
    # account columns do not shadow the model's portfolio columns (mesa.batch_run)
    assert not set(ACCOUNT_REPORTERS) & set(QUARTER_COLUMNS)
    per_step = df.reset_index().groupby("Step").size()
    assert per_step.loc[5] == 6
    last = df.xs(5, level="Step")
    assert np.allclose(last["allocation"], m.params.budget / 6)
    by_slot = last.set_index("slot")
    for a in m.supplier.slots:
        assert by_slot.loc[a.slot, "account_revenue"] == a.revenue
        assert by_slot.loc[a.slot, "account_profit"] == a.profit
        assert by_slot.loc[a.slot, "stage"] == a.stage


def test_record_matches_agents() -> None:
    """The quarter record sums the agents' revenue, profit and allocation."""
    m = KAMModel(n_accounts=8, rng=4, hazard=0.0, offer_probability=0.0)
    for _ in range(6):
        m.step()
        live = m.accounts
        assert m.record["revenue"] == pytest.approx(sum(a.revenue for a in live))
        assert m.record["profit"] == pytest.approx(sum(a.profit for a in live))
        assert m.record["investment"] == pytest.approx(sum(a.allocation for a in live))
        assert m.record["mean_trust"] == pytest.approx(np.mean([a.trust for a in live]))


def test_ended_account_is_removed_and_replaced() -> None:
    """An ended relationship leaves the model and is replaced after the delay."""
    m = KAMModel(n_accounts=5, params=TURBULENT.evolve(replacement_delay=2), rng=5)
    for _ in range(30):
        m.step()
        if m.ended_accounts:
            break
    assert m.ended_accounts, "turbulent parameters should end a relationship"
    gone = m.ended_accounts[0]
    assert gone not in m.agents
    assert not gone.active and gone.end_cause != EndCause.NONE
    assert gone.ended == m.quarter
    ended_at, slot = gone.ended, gone.slot
    while m.quarter < ended_at + 3:
        m.step()
    successor = m.supplier.slots[slot]
    assert successor is not gone
    assert successor.generation == gone.generation + 1
    assert successor.arrived == ended_at + 3
    assert successor in m.agents or not successor.active


def test_no_replacement_shrinks_portfolio() -> None:
    """With replacement_delay None the number of live accounts never rises."""
    m = KAMModel(n_accounts=10, params=TURBULENT.evolve(replacement_delay=None), rng=6)
    counts = [10]
    for _ in range(30):
        m.step()
        counts.append(m.record["n_active"])
        assert m.record["new_accounts"] == 0
    assert np.all(np.diff(counts) <= 0)
    assert counts[-1] < 10


def test_lose_largest_account() -> None:
    """The stress test ends the account with the largest last-quarter revenue."""
    p = ModelParams(lose_largest_at=4, hazard=0.0, offer_probability=0.0)
    m = KAMModel(n_accounts=6, params=p, rng=7)
    for _ in range(3):
        m.step()
    largest = max(m.accounts, key=lambda a: a.last_revenue)
    m.step()
    assert not largest.active
    assert largest.end_cause == EndCause.SWITCHED
    assert largest.ended == 4
    assert m.record["exits_switched"] == 1
    assert m.record["n_active"] == 5


def test_callable_policy() -> None:
    """A user callable policy receives an Observation and its allocation is applied."""
    seen: list[Observation] = []

    def first_only(obs: Observation, budget: float) -> np.ndarray:
        seen.append(obs)
        a = np.zeros(obs.active.shape)
        a[:, 0] = budget
        return a

    m = KAMModel(n_accounts=4, policy=first_only, rng=8, hazard=0.0, offer_probability=0.0)
    m.step()
    assert seen[0].active.shape == (1, 4)
    assert seen[0].quarter == 1
    assert [a.allocation for a in m.supplier.slots] == [m.params.budget, 0.0, 0.0, 0.0]


def test_over_budget_policy_is_scaled() -> None:
    """A policy asking for more than the budget is scaled down to the budget."""

    def greedy(obs: Observation, budget: float) -> np.ndarray:
        return np.where(obs.active, budget, 0.0)

    m = KAMModel(n_accounts=5, policy=greedy, rng=9)
    m.step()
    total = sum(a.allocation for a in m.supplier.slots)
    assert total <= m.params.budget
    assert total == pytest.approx(m.params.budget)


def test_negative_allocation_is_an_error() -> None:
    """A policy returning a negative allocation raises a ValueError naming the policy."""

    def bad(obs: Observation, budget: float) -> np.ndarray:
        return -np.ones(obs.active.shape)

    m = KAMModel(n_accounts=3, policy=bad, rng=0)
    with pytest.raises(ValueError, match="negative or non-finite"):
        m.step()


def test_rng_generator_accepted() -> None:
    """A numpy Generator is accepted as rng and the model draws from it."""
    m = KAMModel(n_accounts=3, rng=np.random.default_rng(11))
    m.step()
    assert m.quarter == 1


def test_slot_trajectory_matches_agents() -> None:
    """slot_trajectory returns (T, n) arrays equal to the agents' recorded values."""
    m = KAMModel(n_accounts=4, rng=12, hazard=0.0, offer_probability=0.0)
    stages = []
    for _ in range(8):
        m.step()
        stages.append([a.stage for a in m.supplier.slots])
    tr = m.slot_trajectory()
    assert tr["stage"].shape == (8, 4)
    assert tr["stage"].tolist() == stages
    assert np.allclose(tr["investment"][-1], [a.allocation for a in m.supplier.slots])


def test_stage_name() -> None:
    """KeyAccount.stage_name gives the readable stage."""
    m = KAMModel(n_accounts=1, rng=0)
    assert m.accounts[0].stage_name == "tactical"
