"""Invariants of the model over random parameters and seeds (property-based).

Parameters are drawn from each field's own metadata range (``lo``/``hi`` in
:class:`kamsim.ModelParams`), for a random subset of fields, so the properties hold
across the whole documented parameter space, not only at the defaults. The batched
engine is checked on more examples than the (slower) Mesa face.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kamsim import KAMModel, ModelParams
from kamsim.agents import KeyAccount
from kamsim.engine import run_batch
from kamsim.model import rules, state
from kamsim.model.params import ParameterError
from kamsim.model.records import STAGE_LABELS
from kamsim.model.state import compiled_params
from kamsim.policies import (
    POLICIES,
    Observation,
    enforce_budget,
    observation_from_arrays,
    resolve_policy,
)

FIELDS = {f.name: f for f in dataclasses.fields(ModelParams)}
#: Caps for fields whose documented range is open or astronomically wide, so that
#: one example stays fast (these are ranges of the test, not of the model).
CAPS = {"lose_largest_at": 40, "min_tenure": 12, "replacement_delay": 10}
DEFAULT_HI = 100.0
#: Tolerance of budget checks (k€), relative to the budget: rounding of a sum.
BUDGET_RTOL = 1e-12


def _field_strategy(name: str) -> st.SearchStrategy[Any]:
    """Valid values of one field, drawn from its metadata range.

    Subnormal floats (below 2.2e-308) are left out: the policies' proportional split
    overflows on them (reported to the owner of kamsim/policies/builtin.py).
    """
    meta = FIELDS[name].metadata
    lo = meta["lo"] if meta["lo"] is not None else 0.0
    hi = meta["hi"] if meta["hi"] is not None else lo + DEFAULT_HI
    if name in CAPS:
        hi = min(hi, CAPS[name])
    if meta["integer"]:
        base: st.SearchStrategy[Any] = st.integers(int(lo), int(hi))
    elif meta["per_stage"]:
        n = len(getattr(ModelParams(), name))
        elem = st.floats(lo, hi, allow_nan=False, allow_subnormal=False)
        lists = st.lists(elem, min_size=n, max_size=n)
        base = lists.map(sorted) if meta["increasing"] else lists
    else:
        base = st.floats(
            lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False
        )
    return st.one_of(st.none(), base) if meta["optional"] else base


@st.composite
def model_params(draw: st.DrawFn) -> ModelParams:
    """A ModelParams with a random subset of fields set to random valid values."""
    names = draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=12, unique=True))
    kw = {n: draw(_field_strategy(n)) for n in names}
    try:
        return ModelParams(**kw)
    except ParameterError:  # cross-field orders (potential, sensitivity bounds)
        assume(False)
        raise


seeds = st.integers(0, 2**32 - 1)
policies = st.sampled_from(sorted(POLICIES))


def _check_batch(
    p: ModelParams, seed_list: list[int], n: int, quarters: int, pol: str, rivals: int = 2
) -> None:
    out = run_batch(
        seed_list,
        n_accounts=n,
        quarters=quarters,
        policy=resolve_policy(pol),
        params=p,
        rival_policies=[resolve_policy("stage_gated")] * rivals,
        keep_trajectories=True,
    )
    tr, q, led = out.trajectories, out.quarters, out.accounts
    stage = tr["stage"]
    live = stage > 0
    # stages stay in 1..4 for live relationships (0: none)
    assert np.all((stage >= 0) & (stage <= 4))
    assert np.all((tr["trust"] >= 0.0) & (tr["trust"] <= 1.0))
    # shares of wallet in [0, 1] and never more than the whole wallet
    shares = tr["shares"]
    assert np.all(shares >= 0.0)
    assert np.all(np.sum(shares, axis=2) <= 1.0 + 1e-12)
    # allocations non-negative, never above the budget
    inv = tr["investment"]
    assert np.all(inv >= 0.0)
    assert np.all(np.sum(inv, axis=-1) <= p.budget * (1 + BUDGET_RTOL))
    assert np.all(out.suppliers["investment"][:, 1:] <= p.rival_budget * (1 + BUDGET_RTOL))
    # stage counts add up to the live relationships, never more than the slots
    counts = q["n_tactical"] + q["n_cooperative"] + q["n_interdependent"] + q["n_strategic"]
    assert np.array_equal(counts, q["n_active"])
    assert np.all(q["n_active"] <= n)
    # no relationship lost or duplicated: created = initial + new; every created
    # relationship is either still live or ended exactly once
    exists = led["exists"]
    created = n + np.sum(q["new_accounts"], axis=-1)
    assert np.array_equal(np.sum(exists, axis=-1), created)
    still = exists & (led["ended"] < 0)
    assert np.array_equal(np.sum(still, axis=-1), q["n_active"][:, -1])
    causes = ("switched", "vanished", "dropped", "breach", "faded")
    exits = sum(q[f"exits_{c}"] for c in causes)
    by_stage = sum(q[f"exits_from_{s}"] for s in STAGE_LABELS)
    assert np.array_equal(exits, by_stage)
    ended = exists & (led["ended"] >= 0)
    assert np.array_equal(np.sum(ended, axis=-1), np.sum(exits, axis=-1))
    assert np.all(led["end_cause"][ended] > 0)
    assert np.all((led["end_stage"][ended] >= 1) & (led["end_stage"][ended] <= 4))
    assert np.all(led["end_cause"][still] == 0)
    # at most one relationship per slot at a time
    slot_live = np.zeros((len(seed_list), n), dtype=int)
    for r in range(len(seed_list)):
        np.add.at(slot_live[r], led["slot"][r][still[r]], 1)
    assert np.all(slot_live <= 1)
    # an ended relationship never comes back: a slot that has none gets a new one
    # (generation + 1) in the ledger
    for r in range(len(seed_list)):
        arrivals = {
            (int(s), int(a))
            for s, a, e in zip(led["slot"][r], led["arrived"][r], exists[r], strict=True)
            if e
        }
        for j in range(n):
            for t in range(1, quarters):
                if not live[r, t - 1, j] and live[r, t, j]:
                    assert (j, t + 1) in arrivals


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    p=model_params(),
    seed_list=st.lists(seeds, min_size=1, max_size=3),
    n=st.integers(1, 25),
    quarters=st.integers(1, 45),
    pol=policies,
    rivals=st.integers(0, 3),
)
def test_batched_invariants(
    p: ModelParams, seed_list: list[int], n: int, quarters: int, pol: str, rivals: int
) -> None:
    """Batched engine: every invariant holds over random parameters, seeds and policies.

    Stages in 1-4, trust in [0, 1], shares within the wallet, allocations within
    budget, no relationship lost or duplicated, ended relationships never revived.
    """
    _check_batch(p, seed_list, n, quarters, pol, rivals)


def test_batched_invariants_turbulent() -> None:
    """The invariants hold in a turbulent world for every built-in policy.

    Many exits and renewals, shocks and a forced loss of the largest account.
    """
    p = ModelParams(
        hazard=0.1,
        offer_probability=0.5,
        replacement_delay=0,
        drop_after_losses=2,
        disruption_probability=0.2,
        downturn_probability=0.2,
        lose_largest_at=5,
        disruption_at=7,
    )
    for pol in sorted(POLICIES):
        _check_batch(p, [1, 2, 3], 12, 50, pol)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    p=model_params(),
    seed=seeds,
    n=st.integers(1, 10),
    quarters=st.integers(1, 25),
    pol=policies,
    rivals=st.integers(0, 3),
)
def test_mesa_invariants(
    p: ModelParams, seed: int, n: int, quarters: int, pol: str, rivals: int
) -> None:
    """Mesa face: every invariant holds each quarter over random parameters and seeds.

    One account agent per occupied slot, vanished accounts removed, shares within
    the wallet, at most one strategic partner per account, allocations within budget.
    """
    m = KAMModel(n_accounts=n, policy=pol, rivals=rivals, params=p, rng=seed)
    assert len(m.suppliers) == 1 + rivals
    for _ in range(quarters):
        m.step()
        accounts = m.accounts
        in_model = (
            list(m.agents_by_type[KeyAccount]) if KeyAccount in m.agents_by_type else []
        )
        assert {a.unique_id for a in in_model} == {a.unique_id for a in accounts}
        assert len({a.slot for a in accounts}) == len(accounts) <= n
        focal_live = 0
        for a in accounts:
            stages, shares = a.stages, a.shares
            assert np.all((stages >= 0) & (stages <= 4))
            assert np.sum(stages == 4) <= 1
            assert np.all(shares >= 0.0) and shares.sum() <= 1.0 + 1e-12
            assert np.all(shares[stages == 0] == 0.0)
            assert 0.0 <= a.trust <= 1.0
            focal_live += stages[0] > 0
        assert focal_live == m.record["n_active"]
        for sup in m.suppliers:
            spent = sum(a.allocation[sup.index, 0] for a in accounts)
            assert spent <= sup.budget * (1 + BUDGET_RTOL) + 1e-12


@settings(max_examples=60, deadline=None)
@given(
    alloc=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(1, 8)),
        elements=st.one_of(
            st.just(0.0),
            st.floats(1e-9, 1e6),
            st.sampled_from([1e-300, 1e300]),  # extremes of the float range
        ),
    ),
    budget=st.one_of(st.just(0.0), st.floats(1e-6, 1e7)),
    data=st.data(),
)
def test_enforce_budget_properties(
    alloc: np.ndarray, budget: float, data: st.DataObject
) -> None:
    """Budget enforcement keeps allocations admissible and cuts over-budget rows pro rata.

    Non-negative, zero for vacant slots, rows within the budget, rows already
    within it unchanged.
    """
    active = data.draw(hnp.arrays(np.bool_, alloc.shape))
    zeros = np.zeros(alloc.shape)
    obs = Observation(
        1, active, zeros.astype(int), zeros, zeros, zeros, zeros, zeros, zeros, zeros, zeros
    )
    out = enforce_budget(alloc, obs, budget, "test")
    assert out.shape == alloc.shape
    assert np.all(out >= 0.0)
    assert np.all(out[~active] == 0.0)
    assert np.all(np.sum(out, axis=-1) <= budget)
    masked = np.where(active, alloc, 0.0)
    within = np.sum(masked, axis=-1) <= budget
    assert np.array_equal(out[within], masked[within])
    for r in np.flatnonzero(~within):
        # proportional: the scaled row is c * original for one c in [0, 1]
        row, orig = out[r], masked[r]
        big = orig > 0
        ratio = row[big] / orig[big]
        ok = ratio <= 1.0 + 1e-12
        assert np.all(ok)
        # (entries near the ends of the float range lose precision when scaled)
        normal = (orig[big] >= 1e-9) & (orig[big] < 1e300)
        if np.count_nonzero(normal) > 1 and np.sum(orig) < 1e300:
            r_ = ratio[normal]
            assert np.allclose(r_, np.median(r_), rtol=1e-9, atol=0.0)


def test_enforce_budget_rejects_bad_shapes_and_values() -> None:
    """Wrong shapes and negative or NaN allocations are reported as policy bugs."""
    active = np.ones((1, 3), dtype=bool)
    z = np.zeros((1, 3))
    obs = Observation(1, active, z.astype(int), z, z, z, z, z, z, z, z)
    for bad, msg in (
        (np.ones((2, 2)), "returned shape"),
        (np.array([[1.0, -1.0, 0.0]]), "negative or non-finite"),
        (np.array([[1.0, np.nan, 0.0]]), "negative or non-finite"),
    ):
        try:
            enforce_budget(bad, obs, 10.0, "mine")
        except ValueError as exc:
            assert msg in str(exc) and "'mine'" in str(exc)
        else:  # pragma: no cover - the test fails here
            raise AssertionError(f"no error for {bad!r}")


@settings(max_examples=40, deadline=None)
@given(
    trust=hnp.arrays(np.float64, (2, 6), elements=st.floats(0.0, 1.0)),
    bias=hnp.arrays(np.float64, (2, 6), elements=st.floats(-8.0, 8.0)),
    stage=hnp.arrays(np.int64, (2, 6), elements=st.integers(0, 4)),
    noise=st.floats(0.0, 1.0),
    keys=st.lists(st.integers(0, 2**64 - 1), min_size=2, max_size=2),
    i=st.integers(0, 200),
)
def test_observed_trust_stays_in_unit_interval(
    trust: np.ndarray,
    bias: np.ndarray,
    stage: np.ndarray,
    noise: float,
    keys: list[int],
    i: int,
) -> None:
    """Trust readings and willingness in [0, 1], estimates >= 0, empty slots read zero.

    The observation a supplier's policy gets (:func:`observation_from_arrays`) from
    what :func:`rules.observe_account` computes for two markets of six accounts, with
    persistent misjudgements up to 8 standard deviations and the quarter's noise
    drawn from the markets' keys.
    """
    p = ModelParams(trust_noise=noise, trust_bias=noise, potential_noise=noise)
    cp = compiled_params(p)
    r_count, n = stage.shape
    ri = np.zeros((state.REL_I, r_count, 1, n), dtype=np.int64)
    rf = np.zeros((state.REL_F, r_count, 1, n))
    af = np.zeros((state.ACC_F, r_count, n))
    ri[state.STAGE, :, 0] = stage
    ri[state.TENURE, :, 0] = 1
    rf[state.TRUST, :, 0] = trust
    rf[state.BIAS_P, :, 0] = bias
    rf[state.BIAS_T, :, 0] = -bias
    rf[state.BIAS_W, :, 0] = bias
    rf[state.SHARE, :, 0] = 0.1
    rf[state.STOCK, :, 0] = 1.0
    rf[state.LAST_REVENUE, :, 0] = 1.0
    af[state.POTENTIAL] = 1000.0
    reads = np.ones((3, 1), dtype=np.bool_)
    obs_f = np.full((rules.OBS_F, 1, r_count, n), np.nan)
    obs_i = np.full((rules.OBS_I, 1, r_count, n), -1, dtype=np.int64)
    for r in range(r_count):
        for j in range(n):
            rules.observe_account(
                ri, rf, af, r, 0, j, j % 2 == 0, np.uint64(keys[r]), i, cp, reads,
                obs_f, obs_i,
            )  # fmt: skip
    obs = observation_from_arrays(1, obs_f[:, 0], obs_i[:, 0])
    active = stage > 0
    assert np.array_equal(obs.active, active)
    assert np.all((obs.trust >= 0) & (obs.trust <= 1))
    assert np.all(obs.potential >= 0)
    assert np.all((obs.willingness >= 0) & (obs.willingness <= 1))
    assert np.all(obs.willingness[~active] == 0)
    assert np.all(obs.trust[~active] == 0) and np.all(obs.stage[~active] == 0)
    assert np.all(obs.potential[~active] == 0) and np.all(obs.revenue[~active] == 0)
    assert np.all(obs.potential_class[~active] == 0)
    assert np.array_equal(obs.stage[active], stage[active])


@settings(max_examples=30, deadline=None)
@given(
    seed=seeds,
    growth_mean=st.floats(-0.5, 0.5),
    speed=st.floats(0.01, 4.0),
    shock=st.floats(0.0, 0.6),
    regime=st.floats(0.25, 100.0),
    sigma=st.floats(0.0, 3.0),
)
def test_wallets_and_potentials_never_negative(
    seed: int, growth_mean: float, speed: float, shock: float, regime: float, sigma: float
) -> None:
    """Wallets and potentials stay positive and finite for any allowed growth law.

    Regression (model 2): growth below -100 %/yr made the potential negative and the
    potential-weighted policy return negative allocations. In model 3 wallets and
    potentials are exponentials of finite logs, for every allowed parameter.
    """
    from kamsim.model.environment import draw_accounts, draw_key, event_accounts

    p = ModelParams(
        growth_mean=growth_mean,
        growth_speed=speed,
        growth_shock_sd=shock,
        growth_regime_years=regime,
        wallet_sigma=sigma,
    )
    rng = np.random.default_rng(seed)
    initial = draw_accounts(rng, 50, p)
    newcomers = event_accounts(draw_key(rng), np.arange(40)[:, None], np.arange(50), p)
    for acc in (initial, newcomers):
        assert np.all(np.isfinite(acc.growth))
        assert np.all((acc.potential > 0.0) & np.isfinite(acc.potential))
        assert np.all((acc.wallet > 0.0) & np.isfinite(acc.wallet))
    res = run_batch(
        [seed],
        n_accounts=10,
        quarters=12,
        policy=resolve_policy("potential_weighted"),
        params=p,
        keep_trajectories=True,
    )
    assert np.all(res.quarters["investment"] >= 0.0)
    here = res.trajectories["wallet"] > 0
    assert np.all(np.isfinite(res.trajectories["wallet"]))
    assert np.all(res.trajectories["potential"][here] > 0.0)
