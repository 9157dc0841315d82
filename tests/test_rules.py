"""Behaviour of the model's mechanisms (kamsim.rules), alone and composed.

Each test sets up a controlled case, either by calling one rule directly or by
stepping a one-account KAMModel with parameters that switch off unrelated
randomness, and checks the stylised behaviour of DESIGN.md section 3.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from kamsim import KAMModel, ModelParams, rules
from kamsim.rules import AccountState, EndCause, Stage

P = ModelParams()
T = rules.stage_tables(P)
#: A quiet world: no competitor offers, no disappearance, no shocks.
QUIET: dict[str, Any] = {"offer_probability": 0.0, "hazard": 0.0}


def _state(**kw: object) -> AccountState:
    base: dict[str, object] = {
        "stage": 1,
        "tenure": 0,
        "trust": P.trust_initial,
        "stock": 0.0,
        "wallet": 1000.0,
        "growth": 0.0,
        "willing": True,
        "sensitivity": 1.0,
        "scale": 250.0,
        "loss_streak": 0,
    }
    base.update(kw)
    return AccountState(**base)  # type: ignore[arg-type]


def _run_one(quarters: int, seed: int, policy: str = "uniform", **params: Any) -> list[int]:
    """Stage of the single account after each quarter of a one-account model."""
    m = KAMModel(n_accounts=1, policy=policy, rng=seed, **params)
    stages = []
    for _ in range(quarters):
        m.step()
        stages.append(int(m.supplier.slots[0].stage))
    return stages


# --- composed behaviour (Mesa face, one account) ---------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_willing_account_climbs_to_strategic(seed: int) -> None:
    """A willing, well-served account reaches strategic in 12-40 quarters, stage by stage.

    It never climbs faster than min_tenure allows.
    """
    stages = _run_one(
        60, seed, budget=2000.0, failure_base=0.02, share_willing=1.0, **QUIET
    )
    assert Stage.STRATEGIC in stages
    first = stages.index(Stage.STRATEGIC) + 1
    assert 12 <= first <= 40
    # no jumps of more than one stage per quarter
    steps = np.diff([1, *stages])
    assert np.all(np.abs(steps) <= 1)
    # min_tenure: each stage held for at least min_tenure quarters before moving up
    ups = [i for i, d in enumerate(steps) if d == 1]
    assert ups[0] + 1 >= P.min_tenure
    assert all(b - a >= P.min_tenure for a, b in itertools.pairwise(ups))


def test_climb_is_paced_by_min_tenure() -> None:
    """With min_tenure k the climb to strategic takes at least 3k quarters.

    Exactly 3k when tenure, not trust, is the binding constraint.
    """
    for k in (2, 6, 8):
        stages = _run_one(
            80, 0, budget=5000.0, failure_base=0.0, share_willing=1.0, min_tenure=k, **QUIET
        )
        first = stages.index(Stage.STRATEGIC) + 1
        assert first >= 3 * k
        if k >= 6:  # trust has time to pass each threshold within k quarters
            assert first == 3 * k


@pytest.mark.parametrize("seed", range(5))
def test_no_investment_never_passes_cooperative(seed: int) -> None:
    """Without investment a willing relationship never gets past cooperative."""
    stages = _run_one(120, seed, policy="none", share_willing=1.0, **QUIET)
    assert max(stages) <= Stage.COOPERATIVE


@pytest.mark.parametrize("seed", range(3))
def test_unwilling_accounts_stay_tactical(seed: int) -> None:
    """An account unwilling to partner stays tactical whatever is invested."""
    stages = _run_one(60, seed, budget=5000.0, failure_base=0.0, share_willing=0.0, **QUIET)
    assert set(stages) == {Stage.TACTICAL}


def test_failures_move_relationship_down() -> None:
    """A run of service failures drops a strategic relationship at least one stage."""
    s = _state(stage=4, tenure=10, trust=0.85, stock=500.0)
    stages = [4]
    for _ in range(6):
        out = rules.account_quarter(s, 100.0, 1.0, 0.0, False, 0.0, 0.9, 0.9, P)
        assert out.failed
        s = out.state
        stages.append(int(s.stage))
    assert stages[-1] <= Stage.COOPERATIVE
    assert np.all(np.diff(stages) >= -1)  # one stage per quarter at most


def test_complacency_erodes_neglected_top_stage() -> None:
    """A neglected strategic relationship loses trust without failures; a kept one gains."""
    scale = 250.0
    s = _state(stage=4, trust=0.9, stock=0.0, scale=scale)
    neglected = rules.account_quarter(s, 0.0, 1.0, 0.0, False, 0.99, 0.9, 0.9, P)
    maintained = rules.account_quarter(s, 0.05 * scale, 1.0, 0.0, False, 0.99, 0.9, 0.9, P)
    assert neglected.neglected and not maintained.neglected
    assert neglected.state.trust == pytest.approx(0.9 - P.complacency_drift, abs=1e-12)
    assert maintained.state.trust > 0.9
    # neglect also raises the failure probability by complacency_failure
    assert rules.failure_probability(0.5, True, P) - rules.failure_probability(
        0.5, False, P
    ) == pytest.approx(P.complacency_failure)


def test_neglect_only_in_top_stages_by_default() -> None:
    """With default maintenance levels only interdependent/strategic can be neglected."""
    stage = np.array([1, 2, 3, 4])
    assert rules.neglected(stage, 0.0, 100.0, T).tolist() == [False, False, True, True]


# --- single rules -----------------------------------------------------------------


def test_trust_is_asymmetric() -> None:
    """Above the first advance threshold a failure costs over twice a good quarter's gain.

    The good quarter is at top quality (q = 0.99).
    """
    for trust in np.linspace(P.trust_to_advance[0], 0.95, 12):
        up = rules.update_trust(trust, 0.99, False, False, P) - trust
        down = trust - rules.update_trust(trust, 0.99, True, False, P)
        assert down > 2.0 * up > 0


def test_trust_asymmetry_crossover() -> None:
    """Loss exceeds gain exactly above trust* = gain q / (gain q + loss) (docs/odd.md)."""
    q = 0.99
    star = P.trust_gain * q / (P.trust_gain * q + P.trust_loss)
    for trust, loss_bigger in ((star - 0.01, False), (star + 0.01, True)):
        up = rules.update_trust(trust, q, False, False, P) - trust
        down = trust - rules.update_trust(trust, q, True, False, P)
        assert bool(down > up) == loss_bigger


def test_trust_update_equations() -> None:
    """Trust becomes t + gain*q*(1 - t) after good service, t*(1 - loss) after failure."""
    assert rules.update_trust(0.5, 0.8, False, False, P) == pytest.approx(
        0.5 + P.trust_gain * 0.8 * 0.5
    )
    assert rules.update_trust(0.5, 0.8, True, False, P) == pytest.approx(
        0.5 * (1 - P.trust_loss)
    )
    assert rules.update_trust(0.01, 0.0, True, True, P) == 0.0  # clipped at 0


def test_service_quality_rises_with_investment() -> None:
    """Quality is 0 without investment, 0.5 at service_scale*S, increasing, below 1."""
    scale = 200.0
    e = np.linspace(0.0, 1000.0, 50)
    q = rules.service_quality(e, 0.0, scale, P)
    assert q[0] == 0.0
    assert np.all(np.diff(q) > 0)
    assert np.all(q < 1.0)
    assert rules.service_quality(P.service_scale * scale, 0.0, scale, P) == pytest.approx(
        0.5
    )
    # the stock keeps serving: same quality from e or from stock e / stock_weight
    assert rules.service_quality(0.0, 10.0 / P.stock_weight, scale, P) == pytest.approx(
        rules.service_quality(10.0, 0.0, scale, P)
    )


def test_failure_probability_falls_with_quality() -> None:
    """Failures are less likely with higher quality and capped at 1."""
    q = np.linspace(0.0, 1.0, 11)
    pf = rules.failure_probability(q, False, P)
    assert pf[0] == pytest.approx(P.failure_base)
    assert np.all(np.diff(pf) < 0)
    hi = P.evolve(failure_base=1.0, complacency_failure=1.0)
    assert rules.failure_probability(0.0, True, hi) == 1.0


def test_stock_depreciates() -> None:
    """The stock follows K' = (1 - d) K + e and decays geometrically without investment."""
    assert rules.update_stock(100.0, 10.0, 0.08) == pytest.approx(102.0)
    k = 100.0
    for _ in range(10):
        k = rules.update_stock(k, 0.0, 0.08)
    assert k == pytest.approx(100.0 * 0.92**10)


def test_exit_cost_rises_with_stage_and_stock() -> None:
    """The account's exit cost rises with stage (at equal spend) and with the stock."""
    stages = np.array([1, 2, 3, 4])
    c = rules.exit_cost(stages, 0.0, 100.0, P)
    assert np.all(np.diff(c) > 0)
    assert rules.exit_cost(2, 200.0, 100.0, P) - rules.exit_cost(2, 0.0, 100.0, P) == (
        pytest.approx(P.lock_in * 200.0)
    )
    b = rules.exit_barrier(stages, 50.0, 0.5, 100.0, P)
    assert np.all(np.diff(b) > 0)
    assert rules.exit_barrier(2, 0.0, 0.8, 100.0, P) > rules.exit_barrier(
        2, 0.0, 0.2, 100.0, P
    )


def test_switch_when_gain_beats_barrier() -> None:
    """An account switches when the offer's gain beats its exit barrier, else it stays."""
    spend = 100.0
    barrier = rules.exit_barrier(2, 0.0, 0.5, spend, P)
    # gain = sensitivity * discount * spend * horizon
    needed = barrier / (spend * P.switch_horizon)
    assert rules.switches(True, needed * 1.01, 1.0, spend, barrier, P)
    assert not rules.switches(True, needed * 0.99, 1.0, spend, barrier, P)
    assert not rules.switches(False, needed * 10, 1.0, spend, barrier, P)
    # a more price-sensitive account leaves for the same offer
    assert rules.switches(True, needed * 0.99, 1.1, spend, barrier, P)


def test_strategic_accounts_resist_offers_tactical_do_not() -> None:
    """The largest offer tempts a new tactical account, not a locked-in strategic one."""
    spend = 100.0
    d = P.offer_discount_max
    tac = rules.exit_barrier(1, 0.0, 0.3, spend, P)
    strat = rules.exit_barrier(4, 300.0, 0.8, spend, P)
    assert rules.switches(True, d, 1.5, spend, tac, P)
    assert not rules.switches(True, d, 1.5, spend, strat, P)


def test_offer_arrival_and_discount() -> None:
    """Offers arrive with offer_probability and discounts are uniform on [0, max)."""
    u = np.random.default_rng(3).random(200_000)
    arrived, discount = rules.offer(u, P)
    # binomial sd of the rate is sqrt(p(1-p)/n) ~ 4.4e-4; allow 5 sd
    assert arrived.mean() == pytest.approx(P.offer_probability, abs=2.2e-3)
    d = discount[arrived] / P.offer_discount_max
    assert d.min() >= 0.0 and d.max() < 1.0
    assert d.mean() == pytest.approx(0.5, abs=0.02)  # sd of mean ~ 0.0073
    assert np.all(discount[~arrived] == 0.0)
    off = P.evolve(offer_probability=0.0)
    a0, d0 = rules.offer(u, off)
    assert not a0.any() and np.all(d0 == 0.0)


def test_disappears_at_hazard_rate() -> None:
    """Accounts vanish with probability hazard per quarter."""
    u = np.random.default_rng(4).random(100_000)
    assert rules.disappears(u, 0.1).mean() == pytest.approx(0.1, abs=0.005)  # 5 sd


def test_move_stage_thresholds_and_tenure() -> None:
    """A stage moves up only when trust, stock, tenure and willingness all allow it."""
    scale = 100.0
    stock_ok = T.stock_up[0] * scale
    trust_ok = T.trust_up[0]
    ok = {"stage": 1, "tenure": P.min_tenure - 1, "trust": trust_ok, "stock": stock_ok}

    def up(**kw: object) -> int:
        a = {**ok, **kw}
        s, _ = rules.move_stage(
            a["stage"], a["tenure"], a["trust"], a["stock"], scale,
            a.get("willing", True), T, P.min_tenure,
        )  # fmt: skip
        return int(s)

    assert up() == 2
    assert up(tenure=P.min_tenure - 2) == 1
    assert up(trust=trust_ok - 1e-9) == 1
    assert up(stock=stock_ok * 0.999) == 1
    assert up(willing=False) == 1
    # stage 4 never goes up
    assert up(stage=4, trust=1.0, stock=1e9) == 4


def test_hysteresis() -> None:
    """A stage drops only below the admitting threshold minus the hysteresis margin."""
    admit = P.trust_to_advance[1]  # threshold into stage 3
    keep, tenure = rules.move_stage(3, 5, admit - 0.5 * P.hysteresis, 0.0, 1.0, True, T, 4)
    assert keep == 3 and tenure == 6
    drop, tenure = rules.move_stage(3, 5, admit - 1.5 * P.hysteresis, 0.0, 1.0, True, T, 4)
    assert drop == 2 and tenure == 0
    # tactical never drops below 1
    assert rules.move_stage(1, 0, 0.0, 0.0, 1.0, True, T, 4)[0] == 1


def test_manager_efficiency_dilution() -> None:
    """Efficiency is 1 up to capacity and falls as 1/(1 + k (n - c)/c) beyond it."""
    n = np.arange(1, 61)
    eff = rules.manager_efficiency(n, 15.0, 0.5)
    assert np.all(eff[:15] == 1.0)
    assert np.all(np.diff(eff[14:]) < 0)
    assert eff[29] == pytest.approx(1.0 / (1.0 + 0.5 * 15 / 15))


def test_revenue_rises_with_stage() -> None:
    """Revenue = demand * share of wallet * price and rises with stage by default."""
    r = rules.revenue(250.0, np.array([1, 2, 3, 4]), T)
    assert np.all(np.diff(r) > 0)
    assert r[0] == pytest.approx(250.0 * P.share_of_wallet[0] * P.price_level[0])


def test_profit_identity() -> None:
    """Quarter profit = gross margin * revenue - cost to serve - allocation."""
    s = _state(stage=3, trust=0.7, stock=100.0)
    out = rules.account_quarter(s, 40.0, 0.8, 0.0, False, 0.5, 0.9, 0.9, P)
    assert out.investment == pytest.approx(32.0)
    assert out.profit == pytest.approx(
        P.gross_margin * out.revenue - out.cost_to_serve - 40.0
    )
    assert out.end_cause == EndCause.NONE


def test_end_cause_priority() -> None:
    """Disappearance wins over switching, which wins over being dropped."""
    p = P.evolve(drop_after_losses=1, offer_probability=1.0)
    s = _state(stage=1, trust=0.0)
    # allocation 20 k€ makes the quarter loss-making (margin on revenue ~ 10 k€)
    both = rules.account_quarter(s, 20.0, 1.0, 0.0, False, 0.5, 0.999, 0.0, p)
    assert both.profit < 0
    assert both.end_cause == EndCause.VANISHED
    switch = rules.account_quarter(s, 20.0, 1.0, 0.0, False, 0.5, 0.999, 0.9, p)
    assert switch.end_cause == EndCause.SWITCHED
    dropped = rules.account_quarter(s, 20.0, 1.0, 0.0, False, 0.5, 0.0, 0.9, p)
    assert dropped.end_cause == EndCause.DROPPED


def test_disruption_forces_failure_and_costs_dependent_accounts_more() -> None:
    """A supplier disruption is a failure for everyone, costing dependent accounts most."""
    stages = np.array([1, 2, 3, 4])
    s = _state(stage=stages, trust=np.full(4, 0.8), stock=np.zeros(4))
    out = rules.account_quarter(s, 1000.0, 1.0, 0.0, True, 0.99, 0.9, 0.9, P)
    assert np.all(out.failed)
    assert np.all(np.diff(out.account_disruption_cost) > 0)


def test_downturn_cuts_revenue() -> None:
    """A downturn quarter cuts revenue by downturn_depth."""
    s = _state(stage=2)
    calm = rules.account_quarter(s, 0.0, 1.0, 0.0, False, 0.5, 0.9, 0.9, P)
    bust = rules.account_quarter(s, 0.0, 1.0, 1.0, False, 0.5, 0.9, 0.9, P)
    assert bust.revenue == pytest.approx(calm.revenue * (1 - P.downturn_depth))


def test_largest_account() -> None:
    """largest_account picks the live slot with most revenue, -1 when none is live."""
    rev = np.array([[5.0, 9.0, 9.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
    act = np.array([[True, True, True, True], [False, False, False, False]])
    assert rules.largest_account(rev, act).tolist() == [1, -1]


def test_scalar_and_array_agree() -> None:
    """account_quarter gives bit-identical results for scalars and for arrays."""
    rng = np.random.default_rng(7)
    n = 16
    s = _state(
        stage=rng.integers(1, 5, n),
        tenure=rng.integers(0, 6, n),
        trust=rng.random(n),
        stock=rng.random(n) * 300,
        wallet=rng.random(n) * 3000 + 10,
        growth=rng.normal(0.03, 0.05, n),
        willing=rng.random(n) < 0.6,
        sensitivity=rng.random(n) + 0.5,
        scale=rng.random(n) * 400 + 10,
        loss_streak=rng.integers(0, 3, n),
    )
    alloc, u1, u2, u3 = rng.random(n) * 50, rng.random(n), rng.random(n), rng.random(n)
    p = P.evolve(drop_after_losses=2)
    arr = rules.account_quarter(s, alloc, 0.9, 0.0, False, u1, u2, u3, p)
    for i in range(n):
        si = AccountState(*(np.asarray(v)[i].item() for v in s))
        one = rules.account_quarter(si, alloc[i], 0.9, 0.0, False, u1[i], u2[i], u3[i], p)
        assert one.state.trust == arr.state.trust[i]
        assert one.state.stage == arr.state.stage[i]
        assert one.profit == arr.profit[i]
        assert one.end_cause == arr.end_cause[i]
