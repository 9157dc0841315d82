"""Behaviour of the model's mechanisms (kamsim.model.rules), alone and composed.

Each test sets up a controlled case, either by calling one compiled rule directly,
by stepping one account's state arrays (M suppliers, R = 1, n = 1) through
:func:`kamsim.model.rules.account_quarter` or one of its steps, or by stepping a
small KAMModel, with parameters that switch off unrelated randomness (the quarter's
variates come from the replication's key and cannot be injected), and checks the
behaviour that DESIGN.md section 3 (model 2) asks of the mechanism, including the
sign theory predicts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from kamsim import KAMModel, ModelParams
from kamsim.model import rules
from kamsim.model import state as st
from kamsim.model.rules import EndCause, Stage
from kamsim.model.state import compiled_params

P = ModelParams()
CP = compiled_params(P)
#: A quiet world: no outside offers, no disappearance, no shocks; wallets stay where
#: they are (at their potential, no drift or growth shocks, plans that last a century).
QUIET: dict[str, Any] = {
    "offer_probability": 0.0,
    "hazard": 0.0,
    "growth_mean": 0.0,
    "growth_shock_sd": 0.0,
    "growth_regime_years": 100.0,
}
#: A quiet world without random service failures (a disrupted supplier still fails).
CALM = P.evolve(**QUIET, failure_base=0.0, complacency_failure=0.0)
#: The replication key of the stepped accounts (its variates matter only where a
#: test's parameters leave room for chance).
KEY = np.uint64(20240917)

#: Relationship fields by name: (integer?, row).
REL_FIELDS: dict[str, tuple[bool, int]] = {
    "stage": (True, st.STAGE),
    "tenure": (True, st.TENURE),
    "age": (True, st.AGE),
    "streak": (True, st.STREAK),
    "ended_at": (True, st.ENDED_AT),
    "arrived": (True, st.ARRIVED),
    "generation": (True, st.GENERATION),
    "max_stage": (True, st.MAX_STAGE),
    "trust": (False, st.TRUST),
    "stock": (False, st.STOCK),
    "adaptation": (False, st.ADAPTATION),
    "share": (False, st.SHARE),
    "bias_p": (False, st.BIAS_P),
    "bias_t": (False, st.BIAS_T),
    "last_revenue": (False, st.LAST_REVENUE),
    "last_cts": (False, st.LAST_CTS),
}
REL_DEFAULTS: dict[str, Any] = {
    "stage": 1,
    "tenure": 0,
    "age": 0,
    "streak": 0,
    "ended_at": -1,
    "arrived": 1,
    "generation": 0,
    "max_stage": 1,
    "trust": 0.5,
    "stock": 0.0,
    "adaptation": 0.0,
    "share": 0.1,
    "bias_p": 0.0,
    "bias_t": 0.0,
    "last_revenue": 0.0,
    "last_cts": 0.0,
}
ACC_FIELDS = {
    "wallet": st.WALLET,
    "sensitivity": st.SENSITIVITY,
    "tolerance": st.TOLERANCE,
    "scale": st.SCALE,
    "wariness": st.WARINESS,
    "potential": st.POTENTIAL,
}
ACC_DEFAULTS: dict[str, float] = {
    "wallet": 1000.0,
    "sensitivity": 1.0,
    "tolerance": 0.6,
    "scale": 250.0,
    "wariness": 0.0,
    "potential": 1000.0,
}

Rel = tuple[np.ndarray, np.ndarray]


def _rel(m: int = 1, **kw: Any) -> Rel:
    """One account's relationships with ``m`` suppliers: (REL_I, 1, m, 1), (REL_F, 1, m, 1).

    Each keyword (a :data:`REL_FIELDS` name) is a scalar for every supplier or a
    sequence of ``m`` values, one per supplier.
    """
    ri = np.zeros((st.REL_I, 1, m, 1), dtype=np.int64)
    rf = np.zeros((st.REL_F, 1, m, 1))
    for name, value in {**REL_DEFAULTS, **kw}.items():
        integer, row = REL_FIELDS[name]
        (ri if integer else rf)[row, 0, :, 0] = np.broadcast_to(np.asarray(value), (m,))
    return ri, rf


def _acc(**kw: float) -> np.ndarray:
    """One account's float attributes, (ACC_F, 1, 1) (:data:`ACC_FIELDS` keywords)."""
    af = np.zeros((st.ACC_F, 1, 1))
    for name, value in {**ACC_DEFAULTS, **kw}.items():
        af[ACC_FIELDS[name], 0, 0] = value
    return af


def _outputs(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty output arrays of one account's quarter: out_f, out_i, acc_out."""
    return (
        np.zeros((rules.OUT_F, m, 1)),
        np.zeros((rules.OUT_I, m, 1), dtype=np.int64),
        np.zeros((rules.ACCOUNT_OUT, 1)),
    )


def _per_supplier(value: Any, m: int, dtype: Any) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=dtype), (m,)))


@dataclass
class Quarter:
    """One account's state after its quarter (vectors over the suppliers) and outcome."""

    ri: np.ndarray
    rf: np.ndarray
    af: np.ndarray
    out_f: np.ndarray
    out_i: np.ndarray
    acc_out: np.ndarray

    def rel(self, name: str) -> np.ndarray:
        """Relationship field ``name`` after the quarter, one entry per supplier."""
        integer, row = REL_FIELDS[name]
        return (self.ri if integer else self.rf)[row, 0, :, 0]

    def acc(self, name: str) -> float:
        """Account attribute ``name`` after the quarter."""
        return float(self.af[ACC_FIELDS[name], 0, 0])

    def x(self, row: int) -> np.ndarray:
        """Float outcome row ``row`` (``rules.X_*``), one entry per supplier."""
        return self.out_f[row, :, 0]

    def y(self, row: int) -> np.ndarray:
        """Integer outcome row ``row`` (``rules.Y_*``), one entry per supplier."""
        return self.out_i[row, :, 0]

    def a(self, row: int) -> float:
        """Account outcome row ``row`` (``rules.A_*``)."""
        return float(self.acc_out[row, 0])


def _quarter(
    rel: Rel,
    af: np.ndarray,
    alloc: Any,
    p: ModelParams = CALM,
    *,
    willing: bool = True,
    efficiency: Any = 1.0,
    disrupted: Any = False,
    downturn: float = 0.0,
    key: np.uint64 = KEY,
    i: int = 0,
) -> Quarter:
    """One quarter of one account (:func:`rules.account_quarter`) on copies of its state.

    ``alloc``, ``efficiency`` and ``disrupted`` are scalars for every supplier or one
    value per supplier; ``i`` is the quarter index of the variates.
    """
    ri, rf = rel[0].copy(), rel[1].copy()
    af = af.copy()
    m = ri.shape[2]
    out_f, out_i, acc_out = _outputs(m)
    rules.account_quarter(
        ri,
        rf,
        af,
        0,
        0,
        1,
        np.array([willing]),
        _per_supplier(alloc, m, np.float64).reshape(1, m, 1),
        _per_supplier(efficiency, m, np.float64),
        _per_supplier(disrupted, m, np.bool_),
        float(downturn),
        key,
        i,
        compiled_params(p),
        out_f,
        out_i,
        acc_out,
    )
    return Quarter(ri, rf, af, out_f, out_i, acc_out)


def _move(rel: Rel, af: np.ndarray, willing: bool = True, p: ModelParams = P) -> Quarter:
    """Step 4 alone (:func:`rules.move_stages`) on copies of one account's state."""
    ri, rf = rel[0].copy(), rel[1].copy()
    m = ri.shape[2]
    out_f, out_i, acc_out = _outputs(m)
    cp = compiled_params(p)
    rules.move_stages(ri, rf, af, 0, 0, 1, np.array([willing]), cp, out_i, acc_out)
    return Quarter(ri, rf, af, out_f, out_i, acc_out)


def _split(
    rel: Rel,
    af: np.ndarray,
    quality: Any,
    p: ModelParams = CALM,
    *,
    disrupted: Any = False,
) -> Quarter:
    """Step 5 alone (:func:`rules.split_wallet`) after a quarter of service ``quality``.

    The relationships' stages and trust are taken as already moved (steps 2-4); the
    new shares are ``x(X_MOVED)``.
    """
    ri, rf = rel[0].copy(), rel[1].copy()
    af = af.copy()
    m = ri.shape[2]
    out_f, out_i, acc_out = _outputs(m)
    out_f[rules.X_QUALITY, :, 0] = quality
    out_i[rules.Y_LIVE, :, 0] = ri[st.STAGE, 0, :, 0] > 0
    rules.split_wallet(
        ri,
        rf,
        af,
        0,
        0,
        1,
        _per_supplier(disrupted, m, np.bool_),
        0.0,
        KEY,
        0,
        compiled_params(p),
        out_f,
        out_i,
        acc_out,
    )
    return Quarter(ri, rf, af, out_f, out_i, acc_out)


#: Shares move all the way to their targets in one quarter (targets become visible).
FULL = CALM.evolve(share_adjustment=(1.0, 1.0, 1.0, 1.0))


def _targets(
    stages: Any, trust: Any, quality: Any, tolerance: float, wariness: float
) -> np.ndarray:
    """Target shares of one account's suppliers (shares that adjust fully at once)."""
    m = len(np.atleast_1d(stages))
    rel = _rel(m, stage=stages, trust=trust, share=0.0)
    return _split(rel, _acc(tolerance=tolerance, wariness=wariness), quality, FULL).x(
        rules.X_MOVED
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
    q = np.array(
        [rules.service_quality(e, 0.0, 250.0, CP) for e in (0.0, 10.0, 20.0, 30.0, 40.0)]
    )
    assert q[0] == 0.0 and np.all(np.diff(q) > 0) and np.all(np.diff(q, 2) < 0)
    assert rules.service_quality(10.0, 0.0, 500.0, CP) < rules.service_quality(
        10.0, 0.0, 250.0, CP
    )
    # the account-level step serves with the same equation, investment x efficiency
    out = _quarter(_rel(2), _acc(), [20.0, 40.0], efficiency=[1.0, 0.5])
    assert (
        out.x(rules.X_QUALITY).tolist() == [rules.service_quality(20.0, 0.0, 250.0, CP)] * 2
    )


def test_trust_converges_to_warranted_level_from_either_side() -> None:
    """Without failures, trust moves towards trust_base + (1 - trust_base) q, up or down."""
    q = 0.5
    w = rules.warranted_trust(q, CP)
    assert w == pytest.approx(P.trust_base + (1 - P.trust_base) * q)
    for start in (0.1, 0.95):
        tr = start
        for _ in range(150):
            tr = rules.update_trust(tr, q, False, False, CP)
        assert tr == pytest.approx(w, abs=1e-6)
    assert rules.update_trust(0.2, q, False, False, CP) > 0.2
    assert rules.update_trust(0.95, q, False, False, CP) < 0.95


def test_trust_is_asymmetric() -> None:
    """A failure costs over twice a good quarter's trust gain (Slovic 1993), at q 0.6."""
    for tr in (0.4, 0.6, 0.8):
        gain = rules.update_trust(tr, 0.6, False, False, CP) - tr
        loss = tr - rules.update_trust(tr, 0.6, True, False, CP)
        assert loss > 2 * max(gain, 0.0)


def test_complacency_erodes_neglected_top_stage() -> None:
    """A neglected strategic relationship loses trust and fails more often."""
    assert rules.neglected(0.0, CP["maintenance"][3], 250.0)
    assert not rules.neglected(0.0, CP["maintenance"][0], 250.0)
    assert rules.failure_probability(0.5, True, CP) > rules.failure_probability(
        0.5, False, CP
    )
    assert rules.update_trust(0.8, 0.5, False, True, CP) < rules.update_trust(
        0.8, 0.5, False, False, CP
    )
    # in the account's quarter: without investment the strategic relationship is
    # neglected and loses trust, the tactical one is not
    p = CALM.evolve(trust_gain=0.0)
    out = _quarter(_rel(2, stage=[4, 1], trust=0.8, share=0.2), _acc(), 0.0, p)
    assert out.y(rules.Y_NEGLECTED).tolist() == [1, 0]
    assert out.rel("trust")[0] == pytest.approx(0.8 - P.complacency_drift)
    assert out.rel("trust")[1] == 0.8


# --- adaptation and exit barrier (D2: lock-in the right way round) --------------------


def test_adaptation_grows_with_stage_and_trust_and_not_at_tactical() -> None:
    """The account's adaptation grows from cooperative upwards, faster with trust."""
    rate = CP["adaptation"]
    assert rules.update_adaptation(0.0, rate[0], 0.9, 250.0, CP) == 0.0
    a2 = rules.update_adaptation(0.0, rate[1], 0.6, 250.0, CP)
    a4 = rules.update_adaptation(0.0, rate[3], 0.6, 250.0, CP)
    assert 0 < a2 < a4
    assert rules.update_adaptation(0.0, rate[2], 0.9, 250.0, CP) > rules.update_adaptation(
        0.0, rate[2], 0.3, 250.0, CP
    )
    # in the account's quarter: none at tactical, more at strategic than at
    # cooperative, and none without a relationship (stage 0)
    out = _quarter(
        _rel(4, stage=[1, 2, 4, 0], trust=0.6, adaptation=[0, 0, 0, 100]), _acc(), 10.0
    )
    adapted = out.rel("adaptation")
    assert adapted[0] == 0.0 and 0 < adapted[1] < adapted[2] and adapted[3] == 0.0


def test_supplier_spending_does_not_raise_the_accounts_barrier() -> None:
    """D2: the supplier's sunk investment does not change when the account switches.

    With the same service an account facing the same offers switches just as often
    whatever the supplier has sunk (K is the supplier's exposure, not the account's
    switching cost). An offer arrives every quarter (its discount drawn from the
    quarter's variate); the quarters differ only in their variates.
    """
    p = CALM.evolve(stock_weight=0.0, offer_probability=1.0)
    outcomes = {}
    for stock in (0.0, 5000.0):
        rel = _rel(stage=2, tenure=1, stock=stock, trust=0.6, share=0.4, adaptation=20.0)
        outcomes[stock] = [
            int(_quarter(rel, _acc(), 10.0, p, i=i).y(rules.Y_CAUSE)[0]) for i in range(40)
        ]
    assert outcomes[0.0] == outcomes[5000.0]
    assert EndCause.SWITCHED in outcomes[0.0] and EndCause.NONE in outcomes[0.0]
    assert set(outcomes[0.0]) == {EndCause.SWITCHED, EndCause.NONE}


def test_exit_barrier_rises_with_stage_and_adaptation() -> None:
    """Integration and adaptation raise the barrier (Burnham et al. 2003)."""
    x = [
        rules.exit_barrier(CP["exit_cost"][s - 1], 0.0, 0.7, 100.0, CP)
        for s in (1, 2, 3, 4)
    ]
    assert np.all(np.diff(x) > 0)
    assert rules.exit_barrier(CP["exit_cost"][1], 50.0, 0.7, 100.0, CP) == pytest.approx(
        x[1] + 50.0
    )
    # the supplier's stock is not an argument: only the account's own adaptation


def test_exit_is_possible_from_every_stage_and_rarer_at_the_top() -> None:
    """D1: some offer beats the barrier at every stage, fewer the higher the stage."""
    rng = np.random.default_rng(1)
    k = 50_000
    # uniforms of offers that arrived: their discounts are uniform on [0, max)
    u = rng.random(k) * P.offer_probability
    sens = P.price_sensitivity_min + rng.random(k) * (
        P.price_sensitivity_max - P.price_sensitivity_min
    )
    spend = 200.0
    # typical trust and adaptation of each stage (adaptation in k€, S = 250)
    typical = {1: (0.45, 0.0), 2: (0.6, 50.0), 3: (0.7, 100.0), 4: (0.8, 150.0)}
    rates = []
    for s, (tr, a) in typical.items():
        barrier = rules.exit_barrier(CP["exit_cost"][s - 1], a, tr, spend, CP)
        taken = [
            rules.takes_offer(ui, si, spend, barrier, CP)
            for ui, si in zip(u, sens, strict=True)
        ]
        rates.append(np.mean(taken))
    assert all(r > 0 for r in rates)
    assert np.all(np.diff(rates) < 0)


def test_offer_arrival_and_discount() -> None:
    """Offers arrive with offer_probability; discounts are uniform on [0, max)."""
    u = np.random.default_rng(3).random(200_000)
    disc = np.array([rules.offer(x, CP) for x in u])
    arrived = u < P.offer_probability
    assert arrived.mean() == pytest.approx(P.offer_probability, rel=0.05)
    assert disc[arrived].mean() == pytest.approx(P.offer_discount_max / 2, rel=0.03)
    assert np.all((disc[arrived] >= 0.0) & (disc[arrived] < P.offer_discount_max))
    assert np.all(disc[~arrived] == 0.0)
    # without an offer nothing is taken, however small the barrier
    assert not any(rules.takes_offer(x, 10.0, 100.0, 0.0, CP) for x in u[~arrived][:1000])
    assert all(
        rules.takes_offer(x, 10.0, 100.0, 0.0, CP) for x in u[arrived & (u > 1e-3)][:1000]
    )


# --- stages ---------------------------------------------------------------------------


def test_move_stage_needs_trust_joint_investment_willingness_and_tenure() -> None:
    """Up needs every condition; removing any one blocks the move."""
    ok: dict[str, Any] = {"stage": 2, "tenure": 9, "trust": 0.9, "stock": 1000.0}

    def up(willing: bool = True, **kw: Any) -> bool:
        out = _move(_rel(**{**ok, **kw}), _acc(scale=250.0), willing)
        return bool(out.rel("stage")[0] == 3)

    assert up()
    assert up(stock=0.0, adaptation=1000.0)  # joint: the account's adaptation counts
    assert not up(trust=0.3)
    assert not up(stock=1.0)
    assert not up(willing=False)
    assert not up(tenure=0)
    # a move restarts the tenure; staying counts one more quarter in the stage
    assert _move(_rel(**ok), _acc()).y(rules.Y_TENURE)[0] == 0
    assert _move(_rel(**{**ok, "trust": 0.55}), _acc()).y(rules.Y_TENURE)[0] == 10


def test_hysteresis() -> None:
    """A relationship drops only below its admitting threshold minus the margin."""
    thr = P.trust_to_advance[1]
    base: dict[str, Any] = {"stage": 3, "tenure": 9, "stock": 0.0}
    keep = _move(_rel(**base, trust=thr - P.hysteresis + 0.01), _acc())
    drop = _move(_rel(**base, trust=thr - P.hysteresis - 0.01), _acc())
    assert keep.rel("stage")[0] == 3 and drop.rel("stage")[0] == 2


def test_at_most_one_strategic_partner() -> None:
    """Only the more trusted of two candidates becomes strategic, none while one is."""
    common: dict[str, Any] = {"tenure": 9, "trust": [0.9, 0.95], "stock": 1e6}
    s = _move(_rel(2, stage=[3, 3], **common), _acc()).rel("stage")
    assert s.tolist() == [3, 4]
    s2 = _move(_rel(2, stage=[3, 4], **common), _acc()).rel("stage")
    assert s2.tolist() == [3, 4]
    s3 = _move(_rel(2, stage=[4, 3], **common), _acc()).rel("stage")
    assert s3.tolist() == [4, 3]


# --- wallet split ---------------------------------------------------------------------


def test_target_shares_rise_with_stage_and_respect_caps() -> None:
    """Higher stages attract more; caps hold; shares never sum above 1."""
    for s in (1, 2, 3):
        lone = _targets([s], 0.9, 1.0, 0.6, 0.0)[0]
        assert lone <= min(P.share_cap[s - 1], 0.6) + 1e-12
    assert _targets([1], 0.9, 1.0, 0.2, 0.0)[0] == pytest.approx(0.2)  # tolerance binds
    ladder = [_targets([s, 1], 0.7, 0.5, 1.0, 0.0)[0] for s in (1, 2, 3, 4)]
    assert np.all(np.diff(ladder) > 0)
    many = _targets([4, 3, 2, 1], 1.0, 1.0, 1.0, 0.0)
    assert many.sum() < 1.0


def test_share_adjusts_gradually_and_cost_rises_at_once() -> None:
    """D4: turning cooperative, cost to serve jumps at once while share lags behind."""
    p = CALM.evolve(min_tenure=1)
    rel = _rel(stage=1, tenure=5, trust=0.9, stock=2000.0, share=0.1)
    out = _quarter(rel, _acc(tolerance=0.8), 100.0, p)
    assert out.rel("stage")[0] == 2
    a = out.x(rules.X_ATTRACTION)[0]
    limit = rules.share_limit(2, 0.8, 0.0, compiled_params(p))
    target = min(a / (1.0 + a), limit)
    share = out.rel("share")[0]
    assert 0.1 < share < target
    assert share == pytest.approx(0.1 + P.share_adjustment[1] * (target - 0.1))
    assert out.x(rules.X_CTS)[0] == pytest.approx(
        P.cost_to_serve[1] * 250.0 + P.fixed_cost_to_serve[1]
    )


def test_shares_scaled_down_when_they_would_exceed_one() -> None:
    """After partial adjustment an account's shares never sum above 1.

    The sticky strategic supplier keeps most of its share while the rival gains
    quickly, so the adjusted shares would sum above 1: they are scaled down
    proportionally.
    """
    p = CALM.evolve(share_adjustment=(1.0, 1.0, 1.0, 0.05))
    rel = _rel(2, stage=[4, 3], trust=[0.2, 1.0], share=[0.9, 0.1])
    out = _split(rel, _acc(tolerance=1.0), 1.0, p)
    moved = out.x(rules.X_MOVED)
    assert out.a(rules.A_TOTAL) > 1.0  # the unscaled shares
    assert moved.sum() <= 1.0 + 1e-12
    assert moved.sum() == pytest.approx(1.0)
    target1 = _targets([4, 3], [0.2, 1.0], 1.0, 1.0, 0.0)[1]
    raw0 = 0.9 + 0.05 * (_targets([4, 3], [0.2, 1.0], 1.0, 1.0, 0.0)[0] - 0.9)
    assert moved[0] / moved[1] == pytest.approx(raw0 / target1)


def test_rival_attraction_lowers_focal_target() -> None:
    """A rival in a higher stage takes share from the focal supplier."""
    alone = _targets([2, 1], 0.7, 0.5, 1.0, 0.0)[0]
    rival_up = _targets([2, 4], 0.7, 0.5, 1.0, 0.0)[0]
    assert rival_up < alone


def test_disruption_makes_dependent_accounts_wary() -> None:
    """Wariness rises with the share held by the disrupted supplier and lowers caps."""
    wariness = []
    for focal in (0.2, 0.7):
        rel = _rel(2, stage=[4, 1], trust=0.9, share=[focal, 0.1])
        out = _split(rel, _acc(), 0.9, disrupted=[True, False])
        wariness.append(out.acc("wariness"))
    low, high = wariness
    assert high > low > 0
    assert _split(_rel(2, share=[0.7, 0.1]), _acc(), 0.9).acc("wariness") == 0.0
    t_calm = _targets([4], 0.9, 0.9, 0.6, 0.0)[0]
    t_wary = _targets([4], 0.9, 0.9, 0.6, high)[0]
    assert t_wary < t_calm


# --- endings, economics, observation --------------------------------------------------


def test_end_cause_priority() -> None:
    """Vanished > switched > breach > faded > dropped; nothing for dead relationships."""
    t, f = True, False
    cases = [(t, t, t, t, t), (f, t, t, t, t), (f, f, t, t, t), (f, f, f, t, t)]
    cases += [(f, f, f, f, t), (f, f, f, f, f)]
    assert [rules.end_cause(*c) for c in cases] == [
        EndCause.VANISHED,
        EndCause.SWITCHED,
        EndCause.BREACH,
        EndCause.FADED,
        EndCause.DROPPED,
        EndCause.NONE,
    ]
    # a relationship that does not exist (stage 0, no trust, no share) does not end
    out = _quarter(_rel(2, stage=[0, 1], trust=[0.0, 0.5], share=[0.0, 0.1]), _acc(), 0.0)
    assert out.y(rules.Y_CAUSE).tolist() == [EndCause.NONE, EndCause.NONE]
    assert out.y(rules.Y_LIVE).tolist() == [0, 1]


def test_trust_breach_ends_relationship_at_any_stage() -> None:
    """A relationship whose trust falls below the floor ends, even at strategic."""
    rel = _rel(stage=4, trust=P.trust_floor * 1.1, share=0.8, adaptation=500.0)
    out = _quarter(rel, _acc(), 50.0, disrupted=True)  # a disrupted supplier fails
    assert out.y(rules.Y_FAILED)[0] == 1
    assert out.y(rules.Y_CAUSE)[0] == EndCause.BREACH
    calm = _quarter(rel, _acc(), 50.0)  # no failure: trust recovers, no ending
    assert calm.y(rules.Y_CAUSE)[0] == EndCause.NONE


def test_profit_identity_and_downturn() -> None:
    """Profit = margin * revenue - cost to serve - allocation; a downturn cuts revenue."""
    rel = _rel(stage=2, trust=0.6, share=0.3)
    calm = _quarter(rel, _acc(), 20.0)
    down = _quarter(rel, _acc(), 20.0, downturn=1.0)
    for out in (calm, down):
        assert out.x(rules.X_PROFIT)[0] == pytest.approx(
            P.gross_margin * out.x(rules.X_REVENUE)[0] - out.x(rules.X_CTS)[0] - 20.0
        )
    assert down.x(rules.X_REVENUE)[0] < calm.x(rules.X_REVENUE)[0]


def test_terminal_value_positive_for_profitable_relationships_only() -> None:
    """Terminal value: positive if profitable, higher at the top, else zero."""
    cases = ((1, 300.0, 10.0), (4, 300.0, 10.0), (4, 10.0, 50.0), (0, 300.0, 10.0))
    tv = [rules.terminal_value(s, rev, cts, 250.0, CP) for s, rev, cts in cases]
    assert tv[0] > 0 and tv[1] > tv[0] and tv[2] == 0 and tv[3] == 0


def test_misjudgement_persists_and_shrinks_with_stage() -> None:
    """The potential estimate keeps its bias, which shrinks at higher stages."""
    clarity = CP["clarity"]
    f1 = rules.persistent_misjudgement(1.0, clarity[0], 1, CP)
    f4 = rules.persistent_misjudgement(1.0, clarity[3], 1, CP)
    est1 = rules.estimate_potential(1000.0, f1, 0.0, clarity[0], 1, CP)
    est4 = rules.estimate_potential(1000.0, f4, 0.0, clarity[3], 1, CP)
    assert est1 > est4 > 1000.0
    assert rules.estimate_potential(1000.0, f1, 0.0, clarity[0], 1, CP) == est1


def test_scalar_account_and_batch_agree() -> None:
    """account_quarter gives one account the same quarter alone as inside a market.

    A market of R = 3 replications x n = 5 accounts with M = 3 suppliers is stepped
    account by account, as the batched engine does (shared output arrays, supplier
    efficiency and disruption from the market); each account stepped alone, in
    arrays whose other accounts are poisoned (NaN, nonsense integers), gets
    bit-identical state and outcome: an account's quarter reads nothing of the
    others.
    """
    rng = np.random.default_rng(7)
    r_, m, n = 3, 3, 5
    shape = (r_, m, n)
    p = CALM.evolve(
        drop_after_losses=2, offer_probability=0.3, hazard=0.05, failure_base=0.3
    )
    cp = compiled_params(p)
    ri = np.zeros((st.REL_I, *shape), dtype=np.int64)
    rf = np.zeros((st.REL_F, *shape))
    ri[st.STAGE] = rng.integers(0, 5, shape)
    ri[st.TENURE] = rng.integers(0, 6, shape)
    ri[st.AGE] = rng.integers(0, 9, shape)
    ri[st.STREAK] = rng.integers(0, 3, shape)
    rf[st.TRUST] = rng.random(shape)
    rf[st.STOCK] = rng.random(shape) * 300
    rf[st.ADAPTATION] = rng.random(shape) * 100
    rf[st.SHARE] = rng.random(shape) * 0.3
    rf[st.BIAS_P] = rng.standard_normal(shape)
    rf[st.BIAS_T] = rng.standard_normal(shape)
    af = np.zeros((st.ACC_F, r_, n))
    af[st.WALLET] = rng.random((r_, n)) * 3000 + 10
    af[st.SENSITIVITY] = rng.random((r_, n)) + 0.5
    af[st.TOLERANCE] = rng.random((r_, n)) * 0.4 + 0.4
    af[st.SCALE] = rng.random((r_, n)) * 400 + 10
    af[st.WARINESS] = rng.random((r_, n)) * 0.1
    willing = rng.random((r_, n)) < 0.6
    alloc = rng.random(shape) * 50
    drawn = rng.random((r_, m)) < 0.3
    keys = rng.integers(0, 2**63, r_, dtype=np.uint64)
    i = 6
    start = (ri.copy(), rf.copy(), af.copy())
    # the market: every account in turn, as the batched engine steps them
    out_f = np.zeros((rules.OUT_F, m, n))
    out_i = np.zeros((rules.OUT_I, m, n), dtype=np.int64)
    acc_out = np.zeros((rules.ACCOUNT_OUT, n))
    market: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}
    for r in range(r_):
        eff = np.array([rules.supplier_efficiency(ri, r, k, cp) for k in range(m)])
        dis = np.array([rules.is_disrupted(drawn[r, k], k, i + 1, cp) for k in range(m)])
        for j in range(n):
            rules.account_quarter(
                ri, rf, af, r, j, j + 1, willing[r], alloc, eff, dis, 1.0, keys[r], i,
                cp, out_f, out_i, acc_out,
            )  # fmt: skip
        for j in range(n):
            market[r, j] = (
                out_f[..., j].copy(),
                out_i[..., j].copy(),
                acc_out[:, j].copy(),
            )
    assert not np.array_equal(ri, start[0]) and not np.array_equal(rf, start[1])
    causes = np.array([market[key][1][rules.Y_CAUSE] for key in market])
    assert np.any(causes > 0) and np.any(causes == 0)  # endings happened, and not all
    # each account alone, in arrays holding nothing else
    for r in range(r_):
        eff = np.array([rules.supplier_efficiency(start[0], r, k, cp) for k in range(m)])
        dis = np.array([rules.is_disrupted(drawn[r, k], k, i + 1, cp) for k in range(m)])
        for j in range(n):
            one_ri = np.full((st.REL_I, 1, m, n), -(2**40), dtype=np.int64)
            one_rf = np.full((st.REL_F, 1, m, n), np.nan)
            one_af = np.full((st.ACC_F, 1, n), np.nan)
            one_ri[:, 0, :, j] = start[0][:, r, :, j]
            one_rf[:, 0, :, j] = start[1][:, r, :, j]
            one_af[:, 0, j] = start[2][:, r, j]
            one_alloc = np.full((1, m, n), np.nan)
            one_alloc[0, :, j] = alloc[r, :, j]
            o_f = np.full((rules.OUT_F, m, n), np.nan)
            o_i = np.full((rules.OUT_I, m, n), -(2**40), dtype=np.int64)
            o_a = np.full((rules.ACCOUNT_OUT, n), np.nan)
            rules.account_quarter(
                one_ri, one_rf, one_af, 0, j, j + 1, willing[r], one_alloc, eff, dis,
                1.0, keys[r], i, cp, o_f, o_i, o_a,
            )  # fmt: skip
            np.testing.assert_array_equal(one_ri[:, 0, :, j], ri[:, r, :, j])
            np.testing.assert_array_equal(one_rf[:, 0, :, j], rf[:, r, :, j])
            np.testing.assert_array_equal(one_af[:, 0, j], af[:, r, j])
            np.testing.assert_array_equal(o_f[..., j], market[r, j][0])
            np.testing.assert_array_equal(o_i[..., j], market[r, j][1])
            np.testing.assert_array_equal(o_a[:, j], market[r, j][2])
