"""Tests of the investment policies: budget invariants and each policy's promise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kamsim
from kamsim.model.params import ParameterError
from kamsim.policies import (
    POLICIES,
    GreedyROI,
    Observation,
    ParetoFocus,
    Quadrant,
    StageGated,
    enforce_budget,
    estimates_read,
    maintenance_proxy,
    policy_name,
    resolve_policy,
    without_unread,
)

BUILT_INS = [
    "none",
    "uniform",
    "revenue_proportional",
    "potential_weighted",
    "stage_gated",
    "quadrant",
    "pareto_focus",
    "greedy_roi",
]


def make_obs(
    stage: list[int],
    revenue: list[float],
    potential: list[float],
    *,
    active: list[bool] | None = None,
    trust: list[float] | None = None,
    tenure: list[int] | None = None,
    stock: list[float] | None = None,
    willingness: list[float] | None = None,
) -> Observation:
    n = len(stage)
    act = np.array(active if active is not None else [True] * n)[None, :]
    pot = np.array(potential, dtype=float)[None, :]
    pclass = ((pot >= 700).astype(np.int8) + (pot >= 2000).astype(np.int8)).astype(np.int8)
    return Observation(
        quarter=5,
        active=act,
        stage=np.where(act, np.array(stage)[None, :], 0),
        tenure=np.array(tenure if tenure is not None else [0] * n)[None, :],
        revenue=np.where(act, np.array(revenue, dtype=float)[None, :], 0.0),
        share_of_wallet=np.where(act, 0.2, 0.0),
        potential=np.where(act, pot, 0.0),
        potential_class=np.where(act, pclass, 0).astype(np.int8),
        trust=np.array(trust if trust is not None else [0.4] * n, dtype=float)[None, :],
        stock=np.array(stock if stock is not None else [0.0] * n, dtype=float)[None, :],
        willingness=np.where(
            act, np.array(willingness or [0.8] * n, dtype=float)[None, :], 0.0
        ),
    )


@st.composite
def observations(draw: st.DrawFn, max_n: int = 12) -> Observation:
    r = draw(st.integers(1, 4))
    n = draw(st.integers(1, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    active = rng.random((r, n)) < draw(st.floats(0.0, 1.0))
    stage = np.where(active, rng.integers(1, 5, (r, n)), 0)
    pot = np.where(active, rng.lognormal(7, 1.2, (r, n)), 0.0)
    pclass = (pot >= 700).astype(np.int8) + (pot >= 2000).astype(np.int8)
    return Observation(
        quarter=int(rng.integers(1, 40)),
        active=active,
        stage=stage,
        tenure=np.where(active, rng.integers(0, 20, (r, n)), 0),
        revenue=np.where(active, rng.lognormal(4, 1.5, (r, n)), 0.0),
        share_of_wallet=np.where(active, rng.random((r, n)), 0.0),
        potential=pot,
        potential_class=np.where(active, pclass, 0).astype(np.int8),
        trust=np.where(active, rng.random((r, n)), 0.0),
        stock=np.where(active, rng.exponential(30, (r, n)), 0.0),
        willingness=np.where(active, rng.random((r, n)), 0.0),
    )


def test_registry_lists_all_built_ins_with_summaries() -> None:
    """Every built-in policy named in issue 4 is registered and has a one-line summary."""
    assert list(POLICIES) == BUILT_INS
    for name, fn in POLICIES.items():
        summary = fn.summary  # type: ignore[attr-defined]
        assert (
            isinstance(summary, str) and 10 < len(summary) <= 90 and "\n" not in summary
        ), name


@settings(max_examples=60, deadline=None)
@given(obs=observations(), budget=st.floats(0.0, 1e4), name=st.sampled_from(BUILT_INS))
def test_allocations_are_feasible(obs: Observation, budget: float, name: str) -> None:
    """Every policy returns finite allocations >= 0, 0 for vacant slots, rows <= budget."""
    a = POLICIES[name](obs, budget)
    assert a.shape == obs.active.shape
    assert np.all(np.isfinite(a)) and np.all(a >= 0)
    assert np.all(a[~obs.active] == 0)
    assert np.all(a.sum(axis=-1) <= budget * (1 + 1e-12) + 1e-9)
    # enforce_budget leaves a feasible allocation unchanged
    np.testing.assert_allclose(
        enforce_budget(a, obs, budget, name), a, rtol=1e-12, atol=1e-9
    )


@settings(max_examples=40, deadline=None)
@given(obs=observations(), budget=st.floats(1.0, 1e3), name=st.sampled_from(BUILT_INS))
def test_rows_are_independent(obs: Observation, budget: float, name: str) -> None:
    """A row's allocation is bit-identical alone (Mesa face, R=1) or in a batch."""
    full = POLICIES[name](obs, budget)
    for i in range(obs.active.shape[0]):
        row = Observation(
            quarter=obs.quarter,
            **{
                k: getattr(obs, k)[i : i + 1]
                for k in (
                    "active",
                    "stage",
                    "tenure",
                    "revenue",
                    "share_of_wallet",
                    "potential",
                    "potential_class",
                    "trust",
                    "stock",
                    "willingness",
                )
            },
        )
        np.testing.assert_array_equal(POLICIES[name](row, budget)[0], full[i])


@settings(max_examples=60, deadline=None)
@given(obs=observations(), budget=st.floats(0.0, 1e4), name=st.sampled_from(BUILT_INS))
def test_built_ins_read_only_what_they_declare(
    obs: Observation, budget: float, name: str
) -> None:
    """A built-in allocates the same without the estimates its ``observes`` leaves out.

    Those are ``None`` (reading one raises), so a declaration that left out a field the
    policy reads fails here.
    """
    policy = POLICIES[name]
    np.testing.assert_array_equal(
        policy(without_unread(obs, estimates_read(policy)), budget), policy(obs, budget)
    )


def test_the_default_policies_skip_estimates_they_do_not_read() -> None:
    """The uniform split reads no estimate, stage_gated no trust; others read all."""
    assert estimates_read(POLICIES["uniform"]) == (False, False, False)
    assert estimates_read(POLICIES["stage_gated"]) == (True, False, False)
    assert estimates_read(POLICIES["pareto_focus"]) == (False, False, False)
    assert estimates_read(POLICIES["potential_weighted"]) == (True, False, False)
    assert estimates_read(POLICIES["quadrant"]) == (True, True, True)
    assert estimates_read(lambda obs, budget: obs.active * 0.0) == (True, True, True)


def _declared(observes: object) -> object:
    def policy(obs: Observation, budget: float) -> np.ndarray:
        return np.where(obs.active, 1.0, 0.0)

    policy.observes = observes  # type: ignore[attr-defined]
    return policy


@pytest.mark.parametrize(
    ("observes", "says"),
    [
        ({"active", "trust_reading"}, "unknown field(s) ['trust_reading']"),
        ("trust", "must be a set of observation field names"),
        ({"active", 3}, "must be a set of observation field names"),
    ],
)
def test_a_wrong_observes_is_one_clear_error(observes: object, says: str) -> None:
    """A malformed ``observes`` is a ParameterError naming the policy and the field."""
    with pytest.raises(ParameterError, match=r"policy '.*policy'") as err:
        kamsim.simulate(policy=_declared(observes), replications=2, quarters=2)
    assert says in str(err.value)


@pytest.mark.parametrize("engine", ["batched", "mesa"])
def test_declaring_observes_changes_no_number(engine: str) -> None:
    """A policy declaring it reads no estimate cannot read them, and gets the same numbers.

    On both faces; every frame equals the undeclared policy's (counter-based noise).
    """
    seen: list[tuple[bool, ...]] = []

    def spread(obs: Observation, budget: float) -> np.ndarray:
        return budget * obs.active / np.maximum(obs.active.sum(-1, keepdims=True), 1)

    def unreadable(obs: Observation, field: str) -> bool:
        try:
            getattr(obs, field)
        except kamsim.ParameterError as exc:
            return f"read obs.{field}" in str(exc)
        return False

    def declared(obs: Observation, budget: float) -> np.ndarray:
        seen.append(
            tuple(unreadable(obs, f) for f in ("potential", "potential_class", "trust"))
        )
        return spread(obs, budget)

    declared.observes = frozenset({"active"})  # type: ignore[attr-defined]
    runs = {}
    for name, policy in (("plain", spread), ("declared", declared)):
        res = kamsim.simulate(
            n_accounts=6, policy=policy, rival_policy="quadrant", replications=3,
            quarters=6, seed=2, engine=engine,
        )  # fmt: skip
        runs[name] = res
    assert seen and all(x == (True, True, True) for x in seen)
    for frame in ("runs", "quarters", "suppliers", "accounts"):
        a, b = getattr(runs["plain"], frame), getattr(runs["declared"], frame)
        cols = [c for c in a.columns if c not in ("policy", "supplier_policy")]
        pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=True)


def test_kept_trajectories_compute_an_estimate_the_policy_still_does_not_see() -> None:
    """Kept trajectories get the focal estimate of potential; the policy cannot read it.

    The estimate is the one an undeclared policy's run records.
    """
    from kamsim.engine import run_batch

    seen: list[object] = []

    def declared(obs: Observation, budget: float) -> np.ndarray:
        try:
            seen.append(obs.potential)
        except kamsim.ParameterError as exc:
            seen.append(None if "read obs.potential" in str(exc) else exc)
        return POLICIES["uniform"](obs, budget)

    declared.observes = frozenset({"active"})  # type: ignore[attr-defined]

    def plain(obs: Observation, budget: float) -> np.ndarray:
        return POLICIES["uniform"](obs, budget)

    out = {}
    for name, policy in (("declared", declared), ("plain", plain)):
        out[name] = run_batch(
            [3, 4], n_accounts=5, quarters=4, policy=policy, params=kamsim.ModelParams(),
            keep_trajectories=True,
        )  # fmt: skip
    assert seen and all(x is None for x in seen)
    estimate = {k: v.trajectories["estimated_potential"] for k, v in out.items()}
    assert np.any(estimate["plain"] > 0)
    np.testing.assert_array_equal(estimate["declared"], estimate["plain"])


def test_revenue_proportional_follows_revenue() -> None:
    """revenue_proportional splits the budget exactly in proportion to current revenue."""
    obs = make_obs([1, 2, 3], [10.0, 30.0, 60.0], [500.0, 5000.0, 900.0])
    np.testing.assert_allclose(
        POLICIES["revenue_proportional"](obs, 100.0)[0], [10, 30, 60]
    )


def test_potential_weighted_follows_potential() -> None:
    """potential_weighted splits the budget in proportion to estimated potential."""
    obs = make_obs([1, 1, 1], [10.0, 30.0, 60.0], [1000.0, 3000.0, 0.0])
    np.testing.assert_allclose(POLICIES["potential_weighted"](obs, 100.0)[0], [25, 75, 0])


def test_stage_gated_maintains_low_and_pushes_high() -> None:
    """Stage-gating gives low-potential accounts only maintenance, the rest to high ones."""
    # low/tactical, low/strategic, medium/coop, medium/interdep, high/tactical, high/coop
    obs = make_obs(
        [1, 4, 2, 3, 1, 2],
        [50.0, 200.0, 80.0, 150.0, 60.0, 90.0],
        [300.0, 600.0, 1000.0, 1500.0, 2500.0, 10000.0],
    )
    pol = StageGated(maintenance_rate=0.03)
    a = pol(obs, 100.0)[0]
    maint = maintenance_proxy(obs, 0.03)[0]
    assert a[0] == 0.0  # low-potential tactical: nothing
    assert a[1] == pytest.approx(maint[1]) and maint[1] == pytest.approx(6.0)
    assert a[2] == 0.0  # medium cooperative: no maintenance due
    assert a[3] == pytest.approx(0.03 * 150.0)
    left = 100.0 - 6.0 - 4.5
    np.testing.assert_allclose(
        a[4:], left * np.sqrt([2500.0, 10000.0]) / np.sqrt([2500.0, 10000.0]).sum()
    )
    assert a.sum() == pytest.approx(100.0)


def test_stage_gated_leaves_budget_unspent_without_high_potential() -> None:
    """Without high-potential accounts, stage-gating spends only the maintenance."""
    obs = make_obs([3, 1], [100.0, 100.0], [900.0, 300.0])
    a = POLICIES["stage_gated"](obs, 100.0)[0]
    np.testing.assert_allclose(a, [3.0, 0.0])


def stage_gated_in_numpy(obs: Observation, budget: float, rate: float) -> np.ndarray:
    """StageGated's steps as NumPy expressions (its docstring, step by step)."""
    maint = maintenance_proxy(obs, rate)
    high = obs.active & (obs.potential_class == 2)
    low = obs.active & (obs.potential_class == 0)
    base = np.where(high, 0.0, maint)
    total = np.sum(base, axis=-1, keepdims=True)
    base = np.where(total > budget, base * (budget / np.maximum(total, 1e-300)), base)
    left = np.maximum(budget - np.sum(base, axis=-1, keepdims=True), 0.0)
    w = np.sqrt(np.maximum(obs.potential, 0.0))
    climbing = np.where(high & (obs.stage < 4), w, 0.0)
    topped = np.where(high & (obs.stage == 4), w, 0.0)
    weights = np.where(np.sum(climbing, axis=-1, keepdims=True) > 0, climbing, topped)
    wt = np.sum(weights, axis=-1, keepdims=True)
    push = np.where(wt > 0, weights / np.where(wt > 0, wt, 1.0) * left, 0.0)
    return np.where(obs.active, np.where(low, base, base + push), 0.0)


@settings(max_examples=80, deadline=None)
@given(
    obs=observations(max_n=300),
    budget=st.floats(0.0, 1e4) | st.sampled_from([0.0, 0.5, 5.0]),
    rate=st.sampled_from([0.0, 0.03, 0.5]),
)
def test_compiled_stage_gated_has_the_bits_of_numpy(
    obs: Observation, budget: float, rate: float
) -> None:
    """The compiled StageGated returns exactly the NumPy expressions' allocations.

    Rows of up to 300 slots exercise NumPy's pairwise row sums above 128 elements;
    small budgets and a high maintenance rate exercise the cap on maintenance.
    """
    got = StageGated(maintenance_rate=rate)(obs, budget)
    want = stage_gated_in_numpy(obs, budget, rate)
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))


def test_quadrant_treatments() -> None:
    """Quadrant invests most in stars, less in strategic, maintains status, streamlines."""
    pol = Quadrant(star_weight=2.0, strategic_weight=1.0, strong_trust=0.6)
    obs = make_obs(
        [1, 3, 4, 1],
        [50.0, 300.0, 200.0, 40.0],
        [4000.0, 4000.0, 500.0, 500.0],
        trust=[0.3, 0.7, 0.8, 0.2],
    )
    q = pol.quadrants(obs)[0]
    assert list(q) == [2, 3, 1, 0]  # star, strategic, status, streamline
    a = pol(obs, 100.0)[0]
    status_maint = 0.03 * 200.0
    strat_maint = 0.03 * 300.0
    assert a[3] == 0.0
    assert a[2] == pytest.approx(status_maint)
    pool = 100.0 - status_maint - strat_maint
    assert a[0] == pytest.approx(pool * 2 / 3)
    assert a[1] == pytest.approx(strat_maint + pool / 3)


def test_quadrant_needs_a_likely_willing_partner_to_call_an_account_attractive() -> None:
    """High potential alone is not attractiveness (quadrant reads willingness).

    An account thought unwilling is not a star (or strategic) but streamline (or
    status), and gets no share of the investment pool.
    """
    pol = Quadrant()
    both = {"stage": [1, 3], "revenue": [50.0, 300.0], "potential": [4000.0, 4000.0]}
    trust = [0.3, 0.7]
    willing = make_obs(*both.values(), trust=trust, willingness=[0.9, 0.9])
    unwilling = make_obs(*both.values(), trust=trust, willingness=[0.2, 0.2])
    assert list(pol.quadrants(willing)[0]) == [2, 3]
    assert list(pol.quadrants(unwilling)[0]) == [0, 1]
    assert pol(unwilling, 100.0)[0][0] == 0.0 < pol(willing, 100.0)[0][0]


def test_pareto_focus_gives_most_to_top_fifth() -> None:
    """pareto_focus gives 80 % of the budget to the top fifth of accounts by revenue."""
    revenue = [float(v) for v in range(1, 11)]  # top fifth: slots 8, 9
    obs = make_obs([1] * 10, revenue, [1000.0] * 10)
    a = ParetoFocus()(obs, 100.0)[0]
    np.testing.assert_allclose(a[8:], [40.0, 40.0])
    np.testing.assert_allclose(a[:8], [2.5] * 8)
    one = make_obs([1], [5.0], [1000.0])
    assert ParetoFocus()(one, 100.0)[0, 0] == pytest.approx(100.0)


def test_greedy_roi_picks_highest_marginal_return() -> None:
    """greedy_roi funds the account with the highest estimated marginal return first."""
    pol = GreedyROI(steps=1)
    # same stage and stock; the larger potential has more value at stake
    obs = make_obs([2, 2, 2], [50.0, 50.0, 50.0], [1000.0, 8000.0, 2000.0])
    a = pol(obs, 10.0)[0]
    assert list(a) == [0.0, 10.0, 0.0]
    # a large existing stock lowers the marginal quality gain of the same account
    obs2 = make_obs([2, 2], [50.0, 50.0], [4000.0, 4000.0], stock=[5000.0, 0.0])
    assert list(pol(obs2, 10.0)[0]) == [0.0, 10.0]
    # a tactical account judged unwilling (low trust after patience) gets no upgrade value
    v = GreedyROI().value(
        make_obs([1, 1], [50, 50], [4000, 4000], tenure=[20, 0], trust=[0.2, 0.2])
    )
    assert v[0, 0] < v[0, 1]


def test_greedy_roi_stops_when_return_below_cost() -> None:
    """greedy_roi keeps budget when no increment's estimated return exceeds its cost."""
    obs = make_obs([1], [1.0], [1.0])
    assert GreedyROI()(obs, 1000.0).sum() == 0.0


def test_policy_names_and_resolution() -> None:
    """Registered instances keep names; variants get a readable repr; typos explained."""
    assert policy_name(POLICIES["stage_gated"]) == "stage_gated"
    assert policy_name(StageGated()) == "stage_gated"
    assert (
        policy_name(StageGated(maintenance_rate=0.05))
        == "StageGated(maintenance_rate=0.05)"
    )
    assert resolve_policy("greedy_roi") is POLICIES["greedy_roi"]
    with pytest.raises(ParameterError, match="did you mean 'pareto_focus'"):
        resolve_policy("pareto_focs")


def test_targeted_policies_beat_none_at_20_accounts() -> None:
    """At 20 accounts greedy_roi beats no investment on mean NPV (paired, 3 SE margin)."""
    runs = {
        p: kamsim.simulate(
            n_accounts=20, policy=p, replications=200, seed=11, keep_accounts=False
        ).runs
        for p in ("none", "greedy_roi")
    }
    d = runs["greedy_roi"]["npv"].to_numpy() - runs["none"]["npv"].to_numpy()
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert d.mean() - 3 * se > 0
