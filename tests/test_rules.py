"""Behaviour of the model's mechanisms (kamsim.model.rules), alone and composed.

Each test sets up a controlled case, either by calling one rule directly or by
stepping a small KAMModel with parameters that switch off unrelated randomness, and
checks the behaviour that DESIGN.md section 3 (model 2) asks of the mechanism,
including the sign theory predicts.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from kamsim import KAMModel, ModelParams
from kamsim.model import rules
from kamsim.model.rules import AccountState, EndCause, RelationshipState, Stage

P = ModelParams()
T = rules.stage_tables(P)
#: A quiet world: no outside offers, no disappearance, no shocks.
QUIET: dict[str, Any] = {"offer_probability": 0.0, "hazard": 0.0}


def _rel(m: int = 1, **kw: Any) -> RelationshipState:
    """Relationships of one account with ``m`` suppliers, as (m, 1) arrays."""
    base: dict[str, Any] = {
        "stage": 1,
        "tenure": 0,
        "age": 0,
        "trust": 0.5,
        "stock": 0.0,
        "adaptation": 0.0,
        "share": 0.1,
        "bias_potential": 0.0,
        "bias_trust": 0.0,
        "loss_streak": 0,
    }
    base.update(kw)
    return RelationshipState(
        *(
            np.broadcast_to(np.asarray(base[f]), (m, 1)).copy()
            for f in RelationshipState._fields
        )
    )


def _acc(**kw: Any) -> AccountState:
    base: dict[str, Any] = {
        "wallet": 1000.0,
        "growth": 0.0,
        "willing": True,
        "sensitivity": 1.0,
        "tolerance": 0.6,
        "scale": 250.0,
        "wariness": 0.0,
    }
    base.update(kw)
    return AccountState(**base)


def _quarter(
    rel: RelationshipState,
    acc: AccountState,
    alloc: Any,
    p: ModelParams = P,
    *,
    u_fail: float = 0.99,
    u_offer: float = 0.99,
    u_vanish: float = 0.99,
    disrupted: Any = False,
    downturn: float = 0.0,
) -> rules.QuarterOutcome:
    m = rel.stage.shape[0]
    return rules.market_quarter(
        rel,
        acc,
        np.broadcast_to(np.asarray(alloc, dtype=float), (m, 1)),
        np.ones((m, 1)),
        downturn,
        np.broadcast_to(np.asarray(disrupted), (m, 1)),
        np.full((m, 1), u_fail),
        np.full((m, 1), u_offer),
        u_vanish,
        p,
    )


def _focal_stages(quarters: int, seed: int, **kw: Any) -> list[int]:
    """Focal stage of slot 0 after each quarter of a one-account, no-rival model."""
    m = KAMModel(n_accounts=1, rivals=0, rng=seed, **kw)
    out = []
    for _ in range(quarters):
        m.step()
        out.append(int(m.slots[0].stage) if m.slots[0] is not None else 0)
    return out


# --- composed behaviour (Mesa face) ------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_willing_account_climbs_to_strategic(seed: int) -> None:
    """A willing, well-served account reaches strategic stage by stage, paced by tenure."""
    stages = _focal_stages(
        60, seed, budget=2000.0, failure_base=0.02, share_willing=1.0, **QUIET
    )
    assert Stage.STRATEGIC in stages
    first = stages.index(Stage.STRATEGIC) + 1
    assert 3 * P.min_tenure <= first <= 40
    steps = np.diff([1, *stages])
    assert np.all(np.abs(steps) <= 1)
    ups = [i for i, d in enumerate(steps) if d == 1]
    assert ups[0] + 1 >= P.min_tenure
    assert all(b - a >= P.min_tenure for a, b in itertools.pairwise(ups))


@pytest.mark.parametrize("seed", range(3))
def test_no_investment_stays_tactical(seed: int) -> None:
    """Without investment no joint investment builds up: relationships stay tactical."""
    stages = _focal_stages(40, seed, policy="none", share_willing=1.0, **QUIET)
    assert set(stages) <= {0, 1}


@pytest.mark.parametrize("seed", range(3))
def test_unwilling_accounts_stay_tactical(seed: int) -> None:
    """Accounts that do not want partnership stay tactical whatever is invested."""
    stages = _focal_stages(40, seed, budget=5000.0, share_willing=0.0, **QUIET)
    assert set(stages) <= {0, 1}


# --- service and trust ------------------------------------------------------------------


def test_service_quality_rises_with_investment_and_falls_with_size() -> None:
    """Quality rises with investment (diminishing returns) and falls with effort scale."""
    e = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
    q = rules.service_quality(e, 0.0, 250.0, P)
    assert q[0] == 0.0 and np.all(np.diff(q) > 0) and np.all(np.diff(q, 2) < 0)
    assert rules.service_quality(10.0, 0.0, 500.0, P) < rules.service_quality(
        10.0, 0.0, 250.0, P
    )


def test_trust_converges_to_warranted_level_from_either_side() -> None:
    """Without failures, trust moves towards trust_base + (1 - trust_base) q, up or down."""
    q = 0.5
    w = rules.warranted_trust(q, P)
    assert w == pytest.approx(P.trust_base + (1 - P.trust_base) * q)
    for start in (0.1, 0.95):
        tr = start
        for _ in range(150):
            tr = rules.update_trust(tr, q, False, False, P)
        assert tr == pytest.approx(w, abs=1e-6)
    assert rules.update_trust(0.2, q, False, False, P) > 0.2
    assert rules.update_trust(0.95, q, False, False, P) < 0.95


def test_trust_is_asymmetric() -> None:
    """A failure costs over twice a good quarter's trust gain (Slovic 1993), at q 0.6."""
    for tr in (0.4, 0.6, 0.8):
        gain = rules.update_trust(tr, 0.6, False, False, P) - tr
        loss = tr - rules.update_trust(tr, 0.6, True, False, P)
        assert loss > 2 * max(gain, 0.0)


def test_complacency_erodes_neglected_top_stage() -> None:
    """A neglected strategic relationship loses trust and fails more often."""
    assert rules.neglected(4, 0.0, 250.0, T) and not rules.neglected(1, 0.0, 250.0, T)
    assert rules.failure_probability(0.5, True, P) > rules.failure_probability(
        0.5, False, P
    )
    assert rules.update_trust(0.8, 0.5, False, True, P) < rules.update_trust(
        0.8, 0.5, False, False, P
    )


# --- adaptation and exit barrier (D2: lock-in the right way round) --------------------


def test_adaptation_grows_with_stage_and_trust_and_not_at_tactical() -> None:
    """The account's adaptation grows from cooperative upwards, faster with trust."""
    assert rules.update_adaptation(0.0, 1, 0.9, 250.0, P) == 0.0
    a2 = rules.update_adaptation(0.0, 2, 0.6, 250.0, P)
    a4 = rules.update_adaptation(0.0, 4, 0.6, 250.0, P)
    assert 0 < a2 < a4
    assert rules.update_adaptation(0.0, 3, 0.9, 250.0, P) > rules.update_adaptation(
        0.0, 3, 0.3, 250.0, P
    )
    assert rules.update_adaptation(100.0, 0, 0.9, 250.0, P) == 0.0


def test_supplier_spending_does_not_raise_the_accounts_barrier() -> None:
    """D2: the supplier's sunk investment does not change when the account switches.

    With the same service an account facing the same offers switches just as often
    whatever the supplier has sunk (K is the supplier's exposure, not the account's
    switching cost).
    """
    p = P.evolve(stock_weight=0.0, failure_base=0.0)
    outcomes = {}
    for stock in (0.0, 5000.0):
        rel = _rel(stage=2, tenure=1, stock=stock, trust=0.6, share=0.4, adaptation=20.0)
        outcomes[stock] = [
            int(_quarter(rel, _acc(), 10.0, p, u_offer=u).end_cause[0, 0])
            for u in np.linspace(0.0, p.offer_probability, 41)[:-1]
        ]
    assert outcomes[0.0] == outcomes[5000.0]
    assert EndCause.SWITCHED in outcomes[0.0] and EndCause.NONE in outcomes[0.0]


def test_exit_barrier_rises_with_stage_and_adaptation() -> None:
    """Integration and adaptation raise the barrier (Burnham et al. 2003)."""
    x = [rules.exit_barrier(s, 0.0, 0.7, 100.0, P) for s in (1, 2, 3, 4)]
    assert np.all(np.diff(x) > 0)
    assert rules.exit_barrier(2, 50.0, 0.7, 100.0, P) == pytest.approx(x[1] + 50.0)


def test_exit_is_possible_from_every_stage_and_rarer_at_the_top() -> None:
    """D1: some offer beats the barrier at every stage, fewer the higher the stage."""
    rng = np.random.default_rng(1)
    k = 200_000
    d = rng.random(k) * P.offer_discount_max
    sens = P.price_sensitivity_min + rng.random(k) * (
        P.price_sensitivity_max - P.price_sensitivity_min
    )
    spend = 200.0
    # typical trust and adaptation of each stage (adaptation in k€, S = 250)
    typical = {1: (0.45, 0.0), 2: (0.6, 50.0), 3: (0.7, 100.0), 4: (0.8, 150.0)}
    rates = []
    for s, (tr, a) in typical.items():
        barrier = rules.exit_barrier(s, a, tr, spend, P)
        rates.append(np.mean(rules.switches(True, d, sens, spend, barrier, P)))
    assert all(r > 0 for r in rates)
    assert np.all(np.diff(rates) < 0)


def test_offer_arrival_and_discount() -> None:
    """Offers arrive with offer_probability; discounts are uniform on [0, max)."""
    u = np.random.default_rng(3).random(400_000)
    arrived, disc = rules.offer(u, P)
    assert arrived.mean() == pytest.approx(P.offer_probability, rel=0.05)
    assert disc[arrived].mean() == pytest.approx(P.offer_discount_max / 2, rel=0.02)
    assert np.all(disc[~arrived] == 0.0)


# --- stages ---------------------------------------------------------------------------


def test_move_stage_needs_trust_joint_investment_willingness_and_tenure() -> None:
    """Up needs every condition; removing any one blocks the move."""
    ok = dict(
        stage=np.array([[2]]),
        tenure=np.array([[9]]),
        trust=np.array([[0.9]]),
        joint=np.array([[1000.0]]),
        scale=250.0,
        willing=True,
    )

    def up(**kw: Any) -> bool:
        a = {**ok, **kw}
        s, _ = rules.move_stages(
            a["stage"],
            a["tenure"],
            a["trust"],
            a["joint"],
            a["scale"],
            a["willing"],
            T,
            P.min_tenure,
        )
        return bool(s[0, 0] == 3)

    assert up()
    assert not up(trust=np.array([[0.3]]))
    assert not up(joint=np.array([[1.0]]))
    assert not up(willing=False)
    assert not up(tenure=np.array([[0]]))


def test_hysteresis() -> None:
    """A relationship drops only below its admitting threshold minus the margin."""
    thr = P.trust_to_advance[1]
    args = (np.array([[9]]), None, np.array([[0.0]]), 250.0, True, T, P.min_tenure)
    keep, _ = rules.move_stages(
        np.array([[3]]), args[0], np.array([[thr - P.hysteresis + 0.01]]), *args[2:]
    )
    drop, _ = rules.move_stages(
        np.array([[3]]), args[0], np.array([[thr - P.hysteresis - 0.01]]), *args[2:]
    )
    assert keep[0, 0] == 3 and drop[0, 0] == 2


def test_at_most_one_strategic_partner() -> None:
    """Only the more trusted of two candidates becomes strategic, none while one is."""
    stage = np.array([[3], [3]])
    trust = np.array([[0.9], [0.95]])
    s, _ = rules.move_stages(
        stage,
        np.array([[9], [9]]),
        trust,
        np.full((2, 1), 1e6),
        250.0,
        True,
        T,
        P.min_tenure,
    )
    assert s[:, 0].tolist() == [3, 4]
    held = np.array([[3], [4]])
    s2, _ = rules.move_stages(
        held,
        np.array([[9], [9]]),
        trust,
        np.full((2, 1), 1e6),
        250.0,
        True,
        T,
        P.min_tenure,
    )
    assert s2[:, 0].tolist() == [3, 4]


# --- wallet split ---------------------------------------------------------------------


def test_target_shares_rise_with_stage_and_respect_caps() -> None:
    """Higher stages attract more; caps hold; shares never sum above 1."""
    for s in (1, 2, 3):
        lone = rules.target_shares(np.array([[s]]), 0.9, 1.0, 0.6, 0.0, P)[0, 0]
        assert lone <= min(P.share_cap[s - 1], 0.6) + 1e-12
    ladder = [
        rules.target_shares(np.array([[s], [1]]), 0.7, 0.5, 1.0, 0.0, P)[0, 0]
        for s in (1, 2, 3, 4)
    ]
    assert np.all(np.diff(ladder) > 0)
    many = rules.target_shares(np.array([[4], [3], [2], [1]]), 1.0, 1.0, 1.0, 0.0, P)
    assert many.sum() < 1.0


def test_share_adjusts_gradually_and_cost_rises_at_once() -> None:
    """D4: turning cooperative, cost to serve jumps at once while share lags behind."""
    p = P.evolve(failure_base=0.0, min_tenure=1)
    rel = _rel(stage=1, tenure=5, trust=0.9, stock=2000.0, share=0.1)
    out = _quarter(rel, _acc(tolerance=0.8), 100.0, p)
    assert out.relationships.stage[0, 0] == 2
    target = rules.target_shares(
        np.array([[2]]), out.relationships.trust, out.quality, 0.8, 0.0, p
    )[0, 0]
    share = out.relationships.share[0, 0]
    assert 0.1 < share < target
    assert out.cost_to_serve[0, 0] == pytest.approx(
        T.cost_to_serve[1] * 250.0 + T.fixed_cost[1]
    )


def test_shares_scaled_down_when_they_would_exceed_one() -> None:
    """After partial adjustment an account's shares never sum above 1."""
    share = np.array([[0.9], [0.1]])
    target = np.array([[0.1], [0.9]])
    out = rules.adjust_shares(share, target, np.array([[4], [1]]), P)
    assert out.sum() <= 1.0 + 1e-12


def test_rival_attraction_lowers_focal_target() -> None:
    """A rival in a higher stage takes share from the focal supplier."""
    alone = rules.target_shares(np.array([[2], [1]]), 0.7, 0.5, 1.0, 0.0, P)[0, 0]
    rival_up = rules.target_shares(np.array([[2], [4]]), 0.7, 0.5, 1.0, 0.0, P)[0, 0]
    assert rival_up < alone


def test_disruption_makes_dependent_accounts_wary() -> None:
    """Wariness rises with the share held by the disrupted supplier and lowers caps."""
    low = rules.update_wariness(
        0.0, np.array([[0.2], [0.1]]), np.array([[True], [False]]), P
    )
    high = rules.update_wariness(
        0.0, np.array([[0.7], [0.1]]), np.array([[True], [False]]), P
    )
    assert high > low > 0
    t_calm = rules.target_shares(np.array([[4]]), 0.9, 0.9, 0.6, 0.0, P)
    t_wary = rules.target_shares(np.array([[4]]), 0.9, 0.9, 0.6, high, P)
    assert t_wary < t_calm


# --- endings, economics, observation --------------------------------------------------


def test_end_cause_priority() -> None:
    """Vanished > switched > breach > faded > dropped; nothing for dead relationships."""
    t, f = True, False
    c = rules.end_causes(
        np.array([t, t, t, t, t, f]),
        np.array([t, f, f, f, f, t]),
        np.array([t, t, f, f, f, t]),
        np.array([t, t, t, f, f, f]),
        np.array([t, t, t, t, f, f]),
        np.array([t, t, t, t, t, f]),
    )
    assert c.tolist() == [
        EndCause.VANISHED,
        EndCause.SWITCHED,
        EndCause.BREACH,
        EndCause.FADED,
        EndCause.DROPPED,
        EndCause.NONE,
    ]


def test_trust_breach_ends_relationship_at_any_stage() -> None:
    """A relationship whose trust falls below the floor ends, even at strategic."""
    rel = _rel(stage=4, trust=P.trust_floor * 1.1, share=0.8, adaptation=500.0)
    out = _quarter(rel, _acc(), 50.0, u_fail=0.0)
    assert out.end_cause[0, 0] == EndCause.BREACH


def test_profit_identity_and_downturn() -> None:
    """Profit = margin * revenue - cost to serve - allocation; a downturn cuts revenue."""
    rel = _rel(stage=2, trust=0.6, share=0.3)
    calm = _quarter(rel, _acc(), 20.0)
    down = _quarter(rel, _acc(), 20.0, downturn=1.0)
    assert calm.profit[0, 0] == pytest.approx(
        P.gross_margin * calm.revenue[0, 0] - calm.cost_to_serve[0, 0] - 20.0
    )
    assert down.revenue[0, 0] < calm.revenue[0, 0]


def test_terminal_value_positive_for_profitable_relationships_only() -> None:
    """Terminal value: positive if profitable, higher at the top, else zero."""
    tv = rules.terminal_value(
        np.array([1, 4, 4, 0]),
        np.array([300.0, 300.0, 10.0, 300.0]),
        np.array([10.0, 10.0, 50.0, 10.0]),
        250.0,
        P,
    )
    assert tv[0] > 0 and tv[1] > tv[0] and tv[2] == 0 and tv[3] == 0


def test_misjudgement_persists_and_shrinks_with_stage() -> None:
    """The potential estimate keeps its bias, which shrinks at higher stages."""
    est1 = rules.estimate_potential(1000.0, 1.0, 0.0, 1, P)
    est4 = rules.estimate_potential(1000.0, 1.0, 0.0, 4, P)
    assert est1 > est4 > 1000.0
    assert rules.estimate_potential(1000.0, 1.0, 0.0, 1, P) == est1


def test_scalar_account_and_batch_agree() -> None:
    """market_quarter is bit-identical on one account's (M, 1) arrays and a batch."""
    rng = np.random.default_rng(7)
    r_, m, n = 3, 3, 5
    shape = (r_, m, n)
    rel = RelationshipState(
        stage=rng.integers(0, 5, shape),
        tenure=rng.integers(0, 6, shape),
        age=rng.integers(0, 9, shape),
        trust=rng.random(shape),
        stock=rng.random(shape) * 300,
        adaptation=rng.random(shape) * 100,
        share=rng.random(shape) * 0.3,
        bias_potential=rng.standard_normal(shape),
        bias_trust=rng.standard_normal(shape),
        loss_streak=rng.integers(0, 3, shape),
    )
    acc = AccountState(
        wallet=rng.random((r_, 1, n)) * 3000 + 10,
        growth=rng.normal(0.03, 0.05, (r_, 1, n)),
        willing=rng.random((r_, 1, n)) < 0.6,
        sensitivity=rng.random((r_, 1, n)) + 0.5,
        tolerance=rng.random((r_, 1, n)) * 0.4 + 0.4,
        scale=rng.random((r_, 1, n)) * 400 + 10,
        wariness=rng.random((r_, 1, n)) * 0.1,
    )
    alloc = rng.random(shape) * 50
    eff = rng.random((r_, m, 1))
    dis = rng.random((r_, m, 1)) < 0.3
    uf, uo, uv = rng.random(shape), rng.random(shape), rng.random((r_, 1, n))
    p = P.evolve(drop_after_losses=2)
    batch = rules.market_quarter(rel, acc, alloc, eff, 1.0, dis, uf, uo, uv, p)
    for r in range(r_):
        for j in range(n):
            one_rel = RelationshipState(*(np.asarray(v)[r, :, j : j + 1] for v in rel))
            one_acc = AccountState(*(np.asarray(v)[r, 0, j].item() for v in acc))
            one = rules.market_quarter(
                one_rel,
                one_acc,
                alloc[r, :, j : j + 1],
                eff[r],
                1.0,
                dis[r],
                uf[r, :, j : j + 1],
                uo[r, :, j : j + 1],
                uv[r, 0, j],
                p,
            )
            for name in ("trust", "share", "stage", "adaptation"):
                np.testing.assert_array_equal(
                    getattr(one.relationships, name)[:, 0],
                    getattr(batch.relationships, name)[r, :, j],
                )
            np.testing.assert_array_equal(one.profit[:, 0], batch.profit[r, :, j])
            np.testing.assert_array_equal(one.end_cause[:, 0], batch.end_cause[r, :, j])
