"""The model's equations, written once for both faces of kamsim.

A market has ``M`` suppliers (index 0 is the focal supplier, 1..M-1 its rivals) and
``n`` key-account slots. Every supplier has a relationship with every account; its
state lives in arrays whose last two axes are (supplier, account): shape (..., M, n).
Account attributes have shape (..., 1, n) (or are scalars), supplier attributes
(..., M, 1). The batched engine passes (R, M, n) arrays for R replications; the Mesa
face passes one account's relationships as (M, 1) arrays and its attributes as
scalars. Only IEEE arithmetic (+, -, *, /, comparisons, min/max) is used in the
quarterly step, and sums over suppliers are taken in a fixed order
(:func:`supplier_sum`), so both faces give bit-identical trajectories.

Units: money in k€, ``wallet`` is annual spend (k€/yr), ``wallet / 4`` quarterly spend,
time in quarters, trust and shares in [0, 1]. Stages are 1 tactical, 2 cooperative,
3 interdependent, 4 strategic; 0 marks no relationship (ended, or not yet renewed).
"""

from __future__ import annotations

import functools
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np

from kamsim.model.params import ModelParams

__all__ = [
    "AccountState",
    "EndCause",
    "QuarterOutcome",
    "RelationshipState",
    "Stage",
    "StageTables",
    "adjust_shares",
    "attraction",
    "close_relationships",
    "disappears",
    "end_causes",
    "estimate_potential",
    "exit_barrier",
    "failure_probability",
    "initial_revenue",
    "largest_relationship",
    "manager_efficiency",
    "market_quarter",
    "move_stages",
    "neglected",
    "offer",
    "potential_class",
    "read_trust",
    "service_quality",
    "stage_tables",
    "start_relationships",
    "supplier_sum",
    "switches",
    "target_shares",
    "terminal_value",
    "update_adaptation",
    "update_stock",
    "update_trust",
    "update_wariness",
    "warranted_trust",
]


class Stage(IntEnum):
    """The four stages of a key-account relationship (McDonald & Woodburn 2007)."""

    TACTICAL = 1
    COOPERATIVE = 2
    INTERDEPENDENT = 3
    STRATEGIC = 4


class EndCause(IntEnum):
    """Why a relationship ended (a relationship that has not ended has ``NONE``)."""

    NONE = 0
    SWITCHED = 1  # the account took an outside offer (gain beat its exit barrier)
    VANISHED = 2  # the account itself disappeared (bankruptcy, merger)
    DROPPED = 3  # the supplier ended it (consecutive losses)
    BREACH = 4  # trust fell below the dissolution floor
    FADED = 5  # share of wallet fell below the floor (rivals took the business)


class StageTables(NamedTuple):
    """Per-stage parameters as arrays indexed by ``stage - 1`` (length 4)."""

    trust_up: np.ndarray  # trust needed to leave the stage upwards (inf at 4)
    joint_up: np.ndarray  # (K + A) / S needed to move up (inf at 4)
    trust_down: np.ndarray  # below this the stage drops by one (-inf at 1)
    attraction: np.ndarray
    share_cap: np.ndarray
    adjustment: np.ndarray
    adaptation: np.ndarray
    price_level: np.ndarray
    cost_to_serve: np.ndarray
    fixed_cost: np.ndarray
    maintenance: np.ndarray
    exit_cost: np.ndarray
    clarity: np.ndarray
    retention: np.ndarray


@functools.lru_cache(maxsize=64)
def stage_tables(p: ModelParams) -> StageTables:
    """Build the per-stage lookup arrays of ``p`` (cached; params are frozen)."""
    inf = float("inf")
    up = p.trust_to_advance
    return StageTables(
        trust_up=np.array([*up, inf]),
        joint_up=np.array([*p.joint_to_advance, inf]),
        trust_down=np.array([-inf, *(t - p.hysteresis for t in up)]),
        attraction=np.array(p.stage_attraction),
        share_cap=np.array(p.share_cap),
        adjustment=np.array(p.share_adjustment),
        adaptation=np.array(p.adaptation),
        price_level=np.array(p.price_level),
        cost_to_serve=np.array(p.cost_to_serve),
        fixed_cost=np.array(p.fixed_cost_to_serve),
        maintenance=np.array(p.maintenance),
        exit_cost=np.array(p.exit_cost),
        clarity=np.array(p.clarity),
        retention=np.array(p.terminal_retention),
    )


def _index(stage: Any) -> Any:
    """Table index of a stage; relationships with stage 0 read the tactical entry."""
    return np.maximum(stage, 1) - 1


def supplier_sum(x: Any) -> Any:
    """Sum over the supplier axis (-2), in supplier order, keeping the axis.

    ``x[..., 0, :] + x[..., 1, :] + ...``: a fixed order of additions, so the sum is
    bit-identical for an (M, 1) array of one account and an (R, M, n) array of many.
    """
    arr = np.asarray(x)
    total = arr[..., 0:1, :]
    for i in range(1, arr.shape[-2]):
        total = total + arr[..., i : i + 1, :]
    return total


# --- step 1: what a supplier sees --------------------------------------------------


def estimate_potential(
    potential: Any, bias: Any, z: Any, stage: Any, p: ModelParams
) -> Any:
    """The supplier's estimate of an account's three-year potential (k€/yr).

    ``est = P * exp(potential_bias * c * b) * max(0, 1 + potential_noise * c * z)``
    with b the relationship's persistent bias (drawn when it started), z this
    quarter's noise and ``c = clarity[stage]`` the share of misjudgement left in the
    stage: a misjudged account stays misjudged until the relationship deepens.
    """
    c = stage_tables(p).clarity[_index(stage)]
    persistent = np.exp(p.potential_bias * c * bias)
    return potential * persistent * np.maximum(0.0, 1.0 + p.potential_noise * c * z)


def read_trust(trust: Any, bias: Any, z: Any, stage: Any, p: ModelParams) -> Any:
    """The supplier's reading of the account's trust, clipped to [0, 1].

    ``clip(trust + c * (trust_bias * b + trust_noise * z), 0, 1)``, c the stage's
    clarity, b the persistent bias, z this quarter's noise.
    """
    c = stage_tables(p).clarity[_index(stage)]
    return np.minimum(
        1.0, np.maximum(0.0, trust + c * (p.trust_bias * bias + p.trust_noise * z))
    )


def potential_class(potential: Any, p: ModelParams) -> Any:
    """Potential class of (estimated) potentials: 0 low, 1 medium, 2 high."""
    return (np.asarray(potential) >= p.potential_low).astype(np.int8) + (
        np.asarray(potential) >= p.potential_high
    ).astype(np.int8)


def manager_efficiency(n_live: Any, capacity: float, penalty: float) -> Any:
    """Share of each k€ of a supplier's budget that becomes effective investment.

    ``efficiency = 1 / (1 + penalty * max(0, n - capacity) / capacity)`` for ``n``
    live relationships: the same budget spread over a portfolio larger than the KAM
    team's capacity buys less per account (manager attention is limited).
    """
    over = np.maximum(0.0, np.asarray(n_live, dtype=np.float64) - capacity)
    return 1.0 / (1.0 + penalty * over / capacity)


# --- step 2: service and trust --------------------------------------------------------


def service_quality(investment: Any, stock: Any, scale: Any, p: ModelParams) -> Any:
    """Service quality q in [0, 1) from investment intensity.

    ``z = (e + stock_weight * K) / (service_scale * S)``, ``q = z / (1 + z)``,
    with e this quarter's effective investment (k€), K the supplier's specific
    investment stock (k€) and S the account's effort scale (k€/quarter).
    """
    z = (investment + p.stock_weight * stock) / (p.service_scale * scale)
    return z / (1.0 + z)


def neglected(stage: Any, investment: Any, scale: Any, t: StageTables) -> Any:
    """True when investment is below the stage's maintenance level (complacency).

    ``neglected = e < maintenance[stage] * S``; maintenance is 0 in the lower stages,
    so only interdependent and strategic relationships can be neglected by default.
    """
    return (stage > 0) & (investment < t.maintenance[_index(stage)] * scale)


def failure_probability(quality: Any, is_neglected: Any, p: ModelParams) -> Any:
    """Probability of a service failure this quarter.

    ``p_fail = min(1, failure_base * (1 - q) + complacency_failure * neglected)``.
    """
    return np.minimum(
        1.0, p.failure_base * (1.0 - quality) + p.complacency_failure * is_neglected
    )


def warranted_trust(quality: Any, p: ModelParams) -> Any:
    """Trust the relationship's service warrants: ``trust_base + (1 - trust_base) q``."""
    return p.trust_base + (1.0 - p.trust_base) * quality


def update_trust(
    trust: Any, quality: Any, failed: Any, is_neglected: Any, p: ModelParams
) -> Any:
    """Asymmetric trust update towards the warranted level, clipped to [0, 1].

    Quarter without failure: ``trust + trust_gain * (warranted(q) - trust)`` (trust
    converges, up or down, to what the service warrants, from the level drawn when the
    relationship started); failure: ``trust * (1 - trust_loss)``; a neglected
    top-stage relationship also loses ``complacency_drift``. A failure costs several
    quarters of gains.

    References:
        Slovic, P. (1993). Perceived risk, trust, and democracy. Risk Analysis 13(6),
        675-682. https://doi.org/10.1111/j.1539-6924.1993.tb01329.x
        Vanneste, B. S., Puranam, P., & Kretschmer, T. (2014). Trust over time in
        exchange relationships: Meta-analysis and theory. Strategic Management
        Journal 35(12), 1891-1902. https://doi.org/10.1002/smj.2198
    """
    good = trust + p.trust_gain * (warranted_trust(quality, p) - trust)
    bad = trust * (1.0 - p.trust_loss)
    new = np.where(failed, bad, good) - p.complacency_drift * is_neglected
    return np.minimum(1.0, np.maximum(0.0, new))


# --- step 3: investment and adaptation --------------------------------------------------


def update_stock(stock: Any, investment: Any, depreciation: float) -> Any:
    """Supplier's specific investment: ``K' = (1 - depreciation) * K + e`` (k€)."""
    return (1.0 - depreciation) * stock + investment


def update_adaptation(
    adaptation: Any, stage: Any, trust: Any, scale: Any, p: ModelParams
) -> Any:
    """The account's own adaptation to the supplier (k€), its source of switching cost.

    ``A' = (1 - adaptation_depreciation) * A + adaptation[stage] * trust * S``: from
    cooperative upwards the account builds processes, people and plans around the
    supplier, faster the closer and more trusting the relationship. It never comes
    from the supplier's spending.

    References:
        Burnham, T. A., Frels, J. K., & Mahajan, V. (2003). Consumer switching costs.
        J. Academy of Marketing Science 31(2), 109-126.
    """
    rate = stage_tables(p).adaptation[_index(stage)]
    grown = (1.0 - p.adaptation_depreciation) * adaptation + rate * trust * scale
    return np.where(stage > 0, grown, 0.0)


# --- step 4: stages ---------------------------------------------------------------------


def move_stages(
    stage: Any,
    tenure: Any,
    trust: Any,
    joint: Any,
    scale: Any,
    willing: Any,
    t: StageTables,
    min_tenure: int,
) -> tuple[Any, Any]:
    """Move every relationship at most one stage, with minimum tenure and hysteresis.

    Up when ``tenure + 1 >= min_tenure``, ``trust >= trust_up[s]``,
    ``K + A >= joint_up[s] * S`` and the account is willing (unwilling accounts stay
    tactical with everyone). An account has at most one strategic partner: a move to
    strategic needs that no supplier stays strategic with the account, and of several
    candidates in one quarter the most trusted wins (the lowest index on a tie). Down
    when ``trust < trust_up[s - 1] - hysteresis``. Returns the new stage and tenure
    (quarters completed in the stage; 0 after a move). Stage 0 stays 0.
    """
    live = stage > 0
    i = _index(stage)
    tenure1 = tenure + 1
    up = (
        live
        & (tenure1 >= min_tenure)
        & (trust >= t.trust_up[i])
        & (joint >= t.joint_up[i] * scale)
        & willing
    )
    down = live & (trust < t.trust_down[i])
    candidate = up & (stage == 3)
    taken = supplier_sum(live & (stage == 4) & ~down) > 0
    cand = np.asarray(candidate)
    tr = np.asarray(trust) * np.ones(cand.shape)
    best = np.full(taken.shape, -np.inf)
    winner = np.full(taken.shape, -1)
    for k in range(cand.shape[-2]):
        better = cand[..., k : k + 1, :] & ~taken & (tr[..., k : k + 1, :] > best)
        best = np.where(better, tr[..., k : k + 1, :], best)
        winner = np.where(better, k, winner)
    supplier = np.arange(cand.shape[-2]).reshape(-1, 1)
    up = up & ((stage < 3) | (supplier == winner))
    new_stage = stage + up - down
    return new_stage, np.where(up | down, 0, tenure1)


# --- step 5: wallet split -------------------------------------------------------------


def attraction(stage: Any, trust: Any, quality: Any, p: ModelParams) -> Any:
    """How strongly a relationship attracts the account's spend (0 without one).

    ``a = stage_attraction[stage] * trust * (1 + service_attraction * q)``: a
    multiplicative competitive-interaction (attraction) model with unit elasticities;
    the rest of the market has attraction 1.

    References:
        Cooper, L. G., & Nakanishi, M. (1988). Market-Share Analysis. Kluwer.
    """
    t = stage_tables(p)
    a = t.attraction[_index(stage)] * trust * (1.0 + p.service_attraction * quality)
    return np.where(stage > 0, a, 0.0)


def target_shares(
    stage: Any,
    trust: Any,
    quality: Any,
    tolerance: Any,
    wariness: Any,
    p: ModelParams,
) -> Any:
    """Share of wallet each relationship would settle at (its target).

    ``target = min(a / (1 + sum_k a_k), cap)`` with a the attractions of the
    account's live relationships. The cap is the stage's ``share_cap``, below
    strategic also the account's dependency tolerance, minus the account's wariness
    after a supplier disruption: ``cap = max(0, min(share_cap[s], tol if s < 4 else 1)
    - wariness)``. The share the caps withhold stays with the rest of the market.
    """
    t = stage_tables(p)
    a = attraction(stage, trust, quality, p)
    share = a / (1.0 + supplier_sum(a))
    limit = np.where(stage < 4, np.minimum(t.share_cap[_index(stage)], tolerance), 1.0)
    cap = np.maximum(0.0, limit - wariness)
    return np.where(stage > 0, np.minimum(share, cap), 0.0)


def adjust_shares(share: Any, target: Any, stage: Any, p: ModelParams) -> Any:
    """Move actual shares part of the way to their targets (stickier at higher stages).

    ``s' = s + share_adjustment[stage] * (target - s)``; if an account's shares then
    sum above 1 they are scaled down to sum to 1. A new stage's cost starts at once,
    its revenue arrives over several quarters.
    """
    t = stage_tables(p)
    moved = share + t.adjustment[_index(stage)] * (target - share)
    moved = np.where(stage > 0, moved, 0.0)
    total = supplier_sum(moved)
    return np.where(total > 1.0, moved / np.maximum(total, 1.0), moved)


def update_wariness(wariness: Any, share: Any, disrupted: Any, p: ModelParams) -> Any:
    """An account's wariness after supplier disruptions (tightens every supplier's cap).

    ``w' = wariness_decay * w + wariness_gain * sum_i disrupted_i * share_i``: the more
    of its wallet the account had with a disrupted supplier, the more it diversifies.
    """
    hit = supplier_sum(np.where(disrupted, share, 0.0))
    return p.wariness_decay * wariness + p.wariness_gain * hit


# --- step 6: switching and endings ----------------------------------------------------


def exit_barrier(
    stage: Any, adaptation: Any, trust: Any, spend_q: Any, p: ModelParams
) -> Any:
    """What the account loses by leaving the supplier (k€).

    ``X = (exit_cost[stage] + trust_value * trust) * spend_q + A``: the stage's
    integration and the trust it would give up, in quarters of its spend with the
    supplier, plus its own adaptation A. The supplier's specific investment is not
    part of it (that is the supplier's exposure, not the account's).

    References:
        Morgan, R. M., & Hunt, S. D. (1994). The commitment-trust theory of
        relationship marketing. Journal of Marketing 58(3), 20-38.
    """
    integration = stage_tables(p).exit_cost[_index(stage)]
    return (integration + p.trust_value * trust) * spend_q + adaptation


def offer(u_offer: Any, p: ModelParams) -> tuple[Any, Any]:
    """Outside offer from one uniform variate: ``(arrived, discount)``.

    An offer arrives when ``u < offer_probability``; given arrival ``u / prob`` is
    uniform on [0, 1), so the discount ``offer_discount_max * u / prob`` is uniform on
    [0, max). Without an offer the discount is 0.
    """
    prob = p.offer_probability
    arrived = u_offer < prob
    if prob <= 0.0:
        return arrived, np.zeros_like(u_offer)
    return arrived, np.where(arrived, p.offer_discount_max * u_offer / prob, 0.0)


def switches(
    arrived: Any,
    discount: Any,
    sensitivity: Any,
    spend_q: Any,
    barrier: Any,
    p: ModelParams,
) -> Any:
    """The account takes an offer when its gain beats the exit barrier.

    ``gain = sensitivity * discount * spend_q * switch_horizon`` (k€).
    """
    gain = sensitivity * discount * spend_q * p.switch_horizon
    return arrived & (gain > barrier)


def disappears(u_vanish: Any, hazard: float) -> Any:
    """Exogenous disappearance of an account (bankruptcy, merger): ``u < hazard``."""
    return u_vanish < hazard


def end_causes(
    live: Any,
    vanished: Any,
    switched: Any,
    breach: Any,
    faded: Any,
    dropped: Any,
) -> Any:
    """One :class:`EndCause` per relationship, in priority order (0 if it continues).

    vanished > switched > breach > faded > dropped.
    """
    cause = np.where(dropped, EndCause.DROPPED.value, EndCause.NONE.value)
    cause = np.where(faded, EndCause.FADED.value, cause)
    cause = np.where(breach, EndCause.BREACH.value, cause)
    cause = np.where(switched, EndCause.SWITCHED.value, cause)
    cause = np.where(vanished, EndCause.VANISHED.value, cause)
    return np.where(live, cause, EndCause.NONE.value)


# --- step 7: economics ----------------------------------------------------------------


def terminal_value(
    stage: Any, revenue: Any, cost_to_serve: Any, scale: Any, p: ModelParams
) -> Any:
    """Value at the horizon of the relationships in place (k€, undiscounted).

    ``TV = max(0, m * revenue - cost_to_serve - maintenance[s] * S) * rho / (1 + d -
    rho)`` per relationship: its last quarter's contribution after the investment
    that keeps it from neglect, as a perpetuity that survives each quarter with
    probability ``rho = terminal_retention[s]`` and is discounted at the quarterly
    rate ``d = (1 + discount_rate)^(1/4) - 1``. A relationship worth less than
    nothing would be dropped, hence the ``max(0, .)``.
    """
    t = stage_tables(p)
    i = _index(stage)
    contribution = p.gross_margin * revenue - cost_to_serve - t.maintenance[i] * scale
    rho = t.retention[i]
    d = (1.0 + p.discount_rate) ** 0.25 - 1.0
    value = np.maximum(0.0, contribution) * rho / (1.0 + d - rho)
    return np.where(stage > 0, value, 0.0)


def largest_relationship(last_revenue: np.ndarray, live: np.ndarray) -> np.ndarray:
    """Index (last axis) of the live relationship with the largest last revenue.

    Ties go to the lowest index. Accepts arrays of shape (..., n); where nothing is
    live the result is -1.
    """
    masked = np.where(live, last_revenue, -np.inf)
    idx = np.argmax(masked, axis=-1)
    return np.where(np.any(live, axis=-1), idx, -1)


# --- state and the quarter ------------------------------------------------------------


class RelationshipState(NamedTuple):
    """State of every supplier's relationship with every account (..., M, n)."""

    stage: Any  # 0 none, 1..4
    tenure: Any  # quarters completed in the stage
    age: Any  # quarters since the relationship started
    trust: Any  # the account's trust in the supplier, [0, 1]
    stock: Any  # supplier's specific investment K, k€ (sunk)
    adaptation: Any  # account's adaptation A, k€
    share: Any  # share of wallet
    bias_potential: Any  # persistent misjudgement of potential (standard normal)
    bias_trust: Any  # persistent misreading of trust (standard normal)
    loss_streak: Any  # consecutive loss-making quarters


class AccountState(NamedTuple):
    """State of accounts (..., 1, n) or scalars for one account."""

    wallet: Any  # annual wallet W, k€/yr
    growth: Any  # annual growth rate g
    willing: Any  # bool: willing to partner
    sensitivity: Any  # price sensitivity
    tolerance: Any  # dependency tolerance (largest share below strategic)
    scale: Any  # effort scale S, k€ per quarter
    wariness: Any  # tightening of tolerance after disruptions


class QuarterOutcome(NamedTuple):
    """What happened in one quarter (relationship arrays unless noted)."""

    relationships: RelationshipState  # at the end of the quarter (before endings)
    accounts: AccountState  # at the end of the quarter
    investment: Any  # effective investment e, k€
    quality: Any  # service quality q
    failed: Any  # bool, service failure
    neglected: Any  # bool, complacency
    revenue: Any  # k€
    cost_to_serve: Any  # k€
    profit: Any  # k€ (gross margin - cost to serve - allocation)
    end_cause: Any  # EndCause value (0 if the relationship continues)
    vanished: Any  # bool per account
    demand: Any  # the account's demand this quarter, k€ (per account)
    disruption_cost: Any  # k€ the account lost to supplier disruptions (per account)


def initial_revenue(wallet: Any, p: ModelParams) -> Any:
    """Revenue a new relationship is taken to have had before its first quarter (k€).

    ``share_initial * W/4 * price[tactical]``: what the supplier sees as "last
    revenue" when it plans the relationship's first quarter.
    """
    return p.share_initial * (wallet / 4.0) * stage_tables(p).price_level[0]


def start_relationships(
    rel: RelationshipState, start: Any, trust: Any, bias_p: Any, bias_t: Any, p: ModelParams
) -> RelationshipState:
    """Start new tactical relationships where ``start`` is True.

    A new relationship has tactical stage, trust drawn at its start, no specific
    investment or adaptation, ``share_initial`` of the wallet and fresh biases.
    """
    return RelationshipState(
        stage=np.where(start, 1, rel.stage),
        tenure=np.where(start, 0, rel.tenure),
        age=np.where(start, 0, rel.age),
        trust=np.where(start, trust, rel.trust),
        stock=np.where(start, 0.0, rel.stock),
        adaptation=np.where(start, 0.0, rel.adaptation),
        share=np.where(start, p.share_initial, rel.share),
        bias_potential=np.where(start, bias_p, rel.bias_potential),
        bias_trust=np.where(start, bias_t, rel.bias_trust),
        loss_streak=np.where(start, 0, rel.loss_streak),
    )


def close_relationships(rel: RelationshipState, ended: Any) -> RelationshipState:
    """End relationships where ``ended`` is True.

    The stage becomes 0, the share of wallet returns to the market, the supplier's
    specific investment is written off and the account's adaptation is lost.
    """
    return RelationshipState(
        stage=np.where(ended, 0, rel.stage),
        tenure=np.where(ended, 0, rel.tenure),
        age=np.where(ended, 0, rel.age),
        trust=np.where(ended, 0.0, rel.trust),
        stock=np.where(ended, 0.0, rel.stock),
        adaptation=np.where(ended, 0.0, rel.adaptation),
        share=np.where(ended, 0.0, rel.share),
        bias_potential=rel.bias_potential,
        bias_trust=rel.bias_trust,
        loss_streak=np.where(ended, 0, rel.loss_streak),
    )


def market_quarter(
    rel: RelationshipState,
    acc: AccountState,
    allocation: Any,
    efficiency: Any,
    downturn: Any,
    disrupted: Any,
    u_failure: Any,
    u_offer: Any,
    u_vanish: Any,
    p: ModelParams,
) -> QuarterOutcome:
    """Advance every relationship of the market by one quarter (steps 2-8 of the ODD).

    Synchronous: each relationship reacts to the state at the start of the quarter
    and this quarter's allocations. ``allocation`` (k€) and the variates have the
    relationships' shape, ``efficiency`` and ``disrupted`` the suppliers', and
    ``downturn`` and ``u_vanish`` the accounts'.

    1. Demand: ``W' = W (1 + g/4)``; ``D = W'/4 (1 - downturn_depth * downturn)``.
    2. Service and trust: ``e = allocation * efficiency``; quality; neglect; failure
       (``u_failure < p_fail``, or the supplier's disruption); trust moves towards
       the warranted level, or falls after a failure.
    3. Investment and adaptation: ``K`` and ``A`` update.
    4. Stages move at most one step (at most one strategic partner per account).
    5. Wallet split: wariness after disruptions, target shares by attraction and
       caps, partial adjustment.
    6. Economics in the quarter's (new) stage: revenue, cost to serve, profit.
    7. Endings: the account disappears, takes an offer, trust breaks, the share
       fades, or the supplier drops it (consecutive losses).
    """
    t = stage_tables(p)
    live = rel.stage > 0
    wallet = acc.wallet * (1.0 + acc.growth / 4.0)
    wallet_q = wallet / 4.0
    demand_q = wallet_q * (1.0 - p.downturn_depth * downturn)

    invest = allocation * efficiency
    quality = np.where(live, service_quality(invest, rel.stock, acc.scale, p), 0.0)
    neg = neglected(rel.stage, invest, acc.scale, t)
    failed = live & ((u_failure < failure_probability(quality, neg, p)) | disrupted)
    trust = np.where(live, update_trust(rel.trust, quality, failed, neg, p), rel.trust)

    stock = update_stock(rel.stock, invest, p.depreciation)
    adaptation = update_adaptation(rel.adaptation, rel.stage, trust, acc.scale, p)

    stage, tenure = move_stages(
        rel.stage,
        rel.tenure,
        trust,
        stock + adaptation,
        acc.scale,
        acc.willing,
        t,
        p.min_tenure,
    )

    wariness = update_wariness(acc.wariness, rel.share, disrupted & live, p)
    target = target_shares(stage, trust, quality, acc.tolerance, wariness, p)
    share = adjust_shares(rel.share, target, stage, p)

    i = _index(stage)
    revenue = np.where(live, demand_q * share * t.price_level[i], 0.0)
    cts = np.where(live, t.cost_to_serve[i] * wallet_q + t.fixed_cost[i], 0.0)
    profit = p.gross_margin * revenue - cts - allocation
    lost = np.where(disrupted & live, p.disruption_dependency * share * demand_q, 0.0)

    spend_q = share * demand_q
    barrier = exit_barrier(stage, adaptation, trust, spend_q, p)
    arrived, discount = offer(u_offer, p)
    switched = switches(arrived, discount, acc.sensitivity, spend_q, barrier, p)
    vanished = disappears(u_vanish, p.hazard)
    streak = np.where(live & (profit < 0.0), rel.loss_streak + 1, 0)
    dropped = (streak >= p.drop_after_losses) & (p.drop_after_losses > 0)
    cause = end_causes(
        live, vanished, switched, trust < p.trust_floor, share < p.share_floor, dropped
    )
    new_rel = RelationshipState(
        stage=stage,
        tenure=np.where(live, tenure, rel.tenure),
        age=np.where(live, rel.age + 1, rel.age),
        trust=trust,
        stock=stock,
        adaptation=adaptation,
        share=share,
        bias_potential=rel.bias_potential,
        bias_trust=rel.bias_trust,
        loss_streak=streak,
    )
    new_acc = acc._replace(wallet=wallet, wariness=wariness)
    return QuarterOutcome(
        relationships=new_rel,
        accounts=new_acc,
        investment=invest,
        quality=quality,
        failed=failed,
        neglected=neg,
        revenue=revenue,
        cost_to_serve=cts,
        profit=profit,
        end_cause=cause,
        vanished=vanished,
        demand=demand_q,
        disruption_cost=supplier_sum(lost),
    )
