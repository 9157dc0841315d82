"""The Mesa face: KAMModel, its Supplier and KeyAccount agents, and its DataCollector."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from kamsim import KAMModel, ModelParams, ParameterError
from kamsim.agents.agents import KeyAccount, Supplier
from kamsim.agents.model import ACCOUNT_REPORTERS, SUPPLIER_REPORTERS
from kamsim.model.records import QUARTER_COLUMNS
from kamsim.model.state import EndCause, Stage
from kamsim.policies import Observation

#: Turbulent but valid parameters: many exits, renewals and shocks.
TURBULENT = ModelParams(
    hazard=0.08,
    offer_probability=0.3,
    replacement_delay=1,
    disruption_probability=0.1,
    downturn_probability=0.1,
    drop_after_losses=3,
)


def test_agents_are_real_mesa_agents() -> None:
    """The model holds 1 + rivals Suppliers (focal first) and one KeyAccount per slot."""
    m = KAMModel(n_accounts=7, rivals=2, rng=1)
    assert len(m.agents_by_type[Supplier]) == 3
    assert [s.index for s in m.suppliers] == [0, 1, 2]
    assert m.supplier is m.suppliers[0] and m.supplier.is_focal
    assert [s.policy_name for s in m.suppliers] == ["uniform", "stage_gated", "stage_gated"]
    assert m.supplier.budget == m.params.budget
    assert m.suppliers[1].budget == m.params.rival_budget
    accounts = m.agents_by_type[KeyAccount]
    assert len(accounts) == 7
    assert sorted(a.slot for a in accounts) == list(range(7))
    for a in m.accounts:
        assert a.stages.tolist() == [Stage.TACTICAL] * 3
        assert a.shares.tolist() == [m.params.share_initial] * 3
        lo = m.params.trust_initial - m.params.trust_initial_spread
        assert lo <= a.trust <= m.params.trust_initial + m.params.trust_initial_spread


def test_no_rivals_leaves_one_supplier() -> None:
    """rivals=0 gives the focal supplier alone against the rest of the market."""
    m = KAMModel(n_accounts=3, rivals=0, rng=1)
    m.step()
    assert len(m.suppliers) == 1
    assert all(len(a.shares) == 1 for a in m.accounts)


def test_rival_policy_forms() -> None:
    """rival_policy accepts a name, a callable and a list with one per rival."""
    m = KAMModel(n_accounts=3, rivals=2, rival_policy=["none", "greedy_roi"], rng=1)
    assert [s.policy_name for s in m.suppliers[1:]] == ["none", "greedy_roi"]
    with pytest.raises(ParameterError, match="one policy per rival"):
        KAMModel(n_accounts=3, rivals=2, rival_policy=["none"], rng=1)
    with pytest.raises(ParameterError, match="'rivals'"):
        KAMModel(n_accounts=3, rivals=-1)


@pytest.mark.parametrize("bad", [-1, "abc", 1.5, True])
def test_bad_rng_is_refused(bad: object) -> None:
    """An rng that is not a non-negative integer, a Generator or None is refused."""
    with pytest.raises(ParameterError, match="'rng'"):
        KAMModel(n_accounts=3, rng=bad)


def test_step_advances_one_quarter_and_returns_none() -> None:
    """step() advances model.time and model.quarter by one and returns nothing."""
    m = KAMModel(n_accounts=3, rng=1)
    assert m.quarter == 0
    for t in range(1, 4):
        assert m.step() is None  # type: ignore[func-returns-value]
        assert m.quarter == t
        assert m.time == pytest.approx(t)


def test_shares_never_exceed_the_wallet() -> None:
    """Every account's shares are in [0, 1] and sum to at most 1 in every quarter."""
    m = KAMModel(n_accounts=10, rivals=3, params=TURBULENT, rng=2)
    for _ in range(30):
        m.step()
        for a in m.accounts:
            assert np.all(a.shares >= 0.0) and a.shares.sum() <= 1.0 + 1e-12


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
    assert df[["exits_switched", "exits_vanished"]].to_numpy().sum() > 0
    assert df["market_share"].between(0, 1).all()


def test_get_agent_vars_dataframe_has_one_row_per_account() -> None:
    """The call every Mesa tutorial uses returns the per-account rows, without warning."""
    m = KAMModel(n_accounts=6, rng=3)
    for _ in range(5):
        m.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = m.datacollector.get_agent_vars_dataframe()
    assert list(df.columns) == list(ACCOUNT_REPORTERS)
    per_step = df.reset_index().groupby("Step").size()
    assert per_step.tolist() == [6] * 6
    # account columns do not shadow the model's columns (mesa.batch_run merges them)
    assert not set(ACCOUNT_REPORTERS) & set(QUARTER_COLUMNS)
    last = df.xs(5, level="Step").set_index("slot")
    for a in m.accounts:
        assert last.loc[a.slot, "stage"] == a.stage
        assert last.loc[a.slot, "trust"] == a.trust
        assert last.loc[a.slot, "share_of_wallet"] == a.share_of_wallet
        assert last.loc[a.slot, "account_revenue"] == a.quarter_revenue[0]
    alloc = last["allocation"]  # uniform: the budget split over the live relationships
    live = alloc > 0
    assert live.sum() >= 4
    assert np.allclose(alloc[live], m.params.budget / live.sum())


def test_supplier_frame() -> None:
    """Each supplier has a row per quarter with its revenue, profit and market share."""
    m = KAMModel(n_accounts=6, rivals=2, rng=3)
    for _ in range(4):
        m.step()
    df = m.datacollector.get_agenttype_vars_dataframe(Supplier)
    assert set(SUPPLIER_REPORTERS) <= set(df.columns)
    last = df.xs(4, level="Step")
    assert sorted(last["supplier"]) == [0, 1, 2]
    assert last["supplier_market_share"].sum() < 1.0
    assert not set(SUPPLIER_REPORTERS) & set(QUARTER_COLUMNS)


def test_record_matches_agents() -> None:
    """The quarter record sums the focal relationships' revenue, profit and allocation."""
    m = KAMModel(n_accounts=8, rng=4, hazard=0.0, offer_probability=0.0)
    for _ in range(6):
        m.step()
        live = m.accounts
        assert m.record["revenue"] == pytest.approx(sum(a.quarter_revenue[0] for a in live))
        assert m.record["profit"] == pytest.approx(sum(a.quarter_profit[0] for a in live))
        assert m.record["investment"] == pytest.approx(
            sum(a.allocation[0, 0] for a in live)
        )
        assert m.record["mean_trust"] == pytest.approx(np.mean([a.trust for a in live]))
        assert m.supplier.revenue == pytest.approx(m.record["revenue"])


def test_vanished_account_is_removed_and_replaced() -> None:
    """A vanished account leaves; a new one takes its slot after the delay."""
    m = KAMModel(n_accounts=5, params=TURBULENT.evolve(replacement_delay=2), rng=5)
    for _ in range(30):
        before = {a.slot: a for a in m.accounts}
        m.step()
        gone = [j for j in before if m.slots[j] is None]
        if gone:
            break
    assert gone, "turbulent parameters should make an account disappear"
    j, old, t_gone = gone[0], before[gone[0]], m.quarter
    assert old not in m.agents
    assert m.record["exits_vanished"] >= (old.stage > 0)
    while m.quarter < t_gone + 3:
        m.step()
        if m.slots[j] is not None:
            break
    new = m.slots[j]
    assert new is not None and new is not old
    assert m.quarter == t_gone + 3
    assert new.wallet != old.wallet
    assert int(m.generation[0, j]) >= 1


def test_ended_relationship_is_courted_again() -> None:
    """After an ending the supplier courts the same account again (a win-back)."""
    p = ModelParams(offer_probability=0.5, hazard=0.0, replacement_delay=1)
    m = KAMModel(n_accounts=4, rivals=1, params=p, rng=6)
    for _ in range(20):
        m.step()
        ended = [a for a in m.accounts if a.stage == 0]
        if ended:
            break
    assert ended
    acc, t_end = ended[0], m.quarter
    generation = int(m.generation[0, acc.slot])
    m.step()
    assert acc.stage == 0 and int(m.generation[0, acc.slot]) == generation
    m.step()
    assert int(m.generation[0, acc.slot]) == generation + 1
    newest = [r for r in m.ledger() if r["slot"] == acc.slot][-1]
    assert newest["arrived"] == t_end + p.replacement_delay + 1
    assert newest["generation"] == generation + 1


def test_no_replacement_shrinks_portfolio() -> None:
    """With replacement_delay None the number of live relationships never rises."""
    m = KAMModel(n_accounts=10, params=TURBULENT.evolve(replacement_delay=None), rng=6)
    counts = [10]
    for _ in range(30):
        m.step()
        counts.append(m.record["n_active"])
        assert m.record["new_accounts"] == 0
    assert np.all(np.diff(counts) <= 0)
    assert counts[-1] < 10


def test_lose_largest_account() -> None:
    """The stress test ends the focal relationship with the largest last revenue."""
    p = ModelParams(lose_largest_at=4, hazard=0.0, offer_probability=0.0)
    m = KAMModel(n_accounts=6, params=p, rng=7)
    for _ in range(3):
        m.step()
    largest = int(np.argmax(m.last_revenue[0]))
    m.step()
    assert m.slots[largest] is not None and m.slots[largest].stage == 0
    assert m.record["exits_switched"] == 1
    assert m.record["n_active"] == 5
    assert m.ledger()[largest]["end_cause"] == EndCause.SWITCHED


def test_callable_policy_sees_read_only_observation() -> None:
    """A user policy receives read-only arrays (1, n); writing to them raises."""
    seen: list[Observation] = []

    def first_only(obs: Observation, budget: float) -> np.ndarray:
        seen.append(obs)
        with pytest.raises(ValueError, match="read-only"):
            obs.active[:, 0] = False
        a = np.zeros(obs.active.shape)
        a[:, 0] = budget
        return a

    m = KAMModel(
        n_accounts=4, rivals=0, policy=first_only, rng=8, hazard=0.0, offer_probability=0.0
    )
    m.step()
    assert seen[0].active.shape == (1, 4)
    assert seen[0].quarter == 1
    assert [a.allocation[0, 0] for a in m.accounts] == [m.params.budget, 0.0, 0.0, 0.0]


def test_over_budget_policy_is_scaled() -> None:
    """A policy asking for more than the budget is scaled down to the budget."""

    def greedy(obs: Observation, budget: float) -> np.ndarray:
        return np.where(obs.active, budget, 0.0)

    m = KAMModel(n_accounts=5, policy=greedy, rng=9)
    m.step()
    total = sum(a.allocation[0, 0] for a in m.accounts)
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


def test_unknown_argument_suggests_the_closest() -> None:
    """A misspelt argument is refused with the closest valid name."""
    with pytest.raises(ParameterError, match="did you mean 'budget'"):
        KAMModel(n_accounts=3, budgt=5.0)


def test_slot_trajectory_matches_agents() -> None:
    """slot_trajectory returns (T, n) arrays equal to the agents' recorded values."""
    m = KAMModel(n_accounts=4, rng=12, hazard=0.0, offer_probability=0.0)
    stages = []
    for _ in range(8):
        m.step()
        stages.append([a.stage for a in m.accounts])
    tr = m.slot_trajectory()
    assert tr["stage"].shape == (8, 4)
    assert tr["stage"].tolist() == stages
    assert np.allclose(tr["investment"][-1], [a.allocation[0, 0] for a in m.accounts])


def test_stage_name() -> None:
    """KeyAccount.stage_name gives the readable stage of the focal relationship."""
    m = KAMModel(n_accounts=1, rng=0)
    assert m.accounts[0].stage_name == "tactical"
