"""The model's equations, written once for both faces of kamsim.

Every function here is pure and vectorised: it accepts Python/NumPy scalars (the Mesa
face, one account at a time) or NumPy arrays of any broadcastable shape (the batched
engine, replications x accounts at once) and returns the same kind. The per-quarter
rules use only IEEE arithmetic (+, -, *, /, comparisons, min/max), whose results do not
depend on array shape, so both faces give bit-identical trajectories.

Units: money in k€, ``wallet`` is annual spend (k€/yr), ``wallet / 4`` is quarterly
spend, time in quarters, trust in [0, 1]. Stages are 1 tactical, 2 cooperative,
3 interdependent, 4 strategic; 0 marks a vacant slot (ended relationship).
"""

from __future__ import annotations

import functools
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np

from kamsim.params import ModelParams

__all__ = [
    "AccountState",
    "EndCause",
    "QuarterOutcome",
    "Stage",
    "StageTables",
    "account_quarter",
    "disappears",
    "exit_barrier",
    "exit_cost",
    "failure_probability",
    "largest_account",
    "manager_efficiency",
    "move_stage",
    "neglected",
    "offer",
    "revenue",
    "service_quality",
    "stage_tables",
    "switches",
    "update_stock",
    "update_trust",
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
    SWITCHED = 1  # the account left for a competitor
    VANISHED = 2  # the account itself disappeared (bankruptcy, merger)
    DROPPED = 3  # the supplier ended it


class StageTables(NamedTuple):
    """Per-stage parameters as arrays indexed by ``stage - 1`` (length 4)."""

    trust_up: np.ndarray  # trust needed to leave the stage upwards (inf at 4)
    stock_up: np.ndarray  # stock / quarterly wallet needed to move up (inf at 4)
    trust_down: np.ndarray  # below this the stage drops by one (-inf at 1)
    share_of_wallet: np.ndarray
    price_level: np.ndarray
    cost_to_serve: np.ndarray
    fixed_cost: np.ndarray
    maintenance: np.ndarray
    exit_cost: np.ndarray


@functools.lru_cache(maxsize=64)
def stage_tables(p: ModelParams) -> StageTables:
    """Build the per-stage lookup arrays of ``p`` (cached; params are frozen)."""
    inf = float("inf")
    up = p.trust_to_advance
    return StageTables(
        trust_up=np.array([*up, inf]),
        stock_up=np.array([*p.stock_to_advance, inf]),
        trust_down=np.array([-inf, *(t - p.hysteresis for t in up)]),
        share_of_wallet=np.array(p.share_of_wallet),
        price_level=np.array(p.price_level),
        cost_to_serve=np.array(p.cost_to_serve),
        fixed_cost=np.array(p.fixed_cost_to_serve),
        maintenance=np.array(p.maintenance),
        exit_cost=np.array(p.exit_cost),
    )


def manager_efficiency(n_active: Any, capacity: float, penalty: float) -> Any:
    """Share of each k€ of budget that becomes effective investment.

    ``efficiency = 1 / (1 + penalty * max(0, n - capacity) / capacity)`` for ``n``
    active accounts: the same budget spread over a portfolio larger than the KAM
    team's capacity buys less per account (manager attention is limited).
    """
    over = np.maximum(0.0, np.asarray(n_active, dtype=np.float64) - capacity)
    return 1.0 / (1.0 + penalty * over / capacity)


def service_quality(investment: Any, stock: Any, scale: Any, p: ModelParams) -> Any:
    """Service quality q in [0, 1) from investment intensity.

    ``z = (e + stock_weight * K) / (service_scale * S)``, ``q = z / (1 + z)``,
    with e this quarter's effective investment (k€), K the specific-investment stock
    (k€) and S the account's effort scale (k€/quarter, grows less than
    proportionally with its wallet). Quality rises with investment relative to the
    account's size, with diminishing returns.
    """
    z = (investment + p.stock_weight * stock) / (p.service_scale * scale)
    return z / (1.0 + z)


def neglected(stage: Any, investment: Any, scale: Any, t: StageTables) -> Any:
    """True when investment is below the stage's maintenance level (complacency).

    ``neglected = e < maintenance[stage] * S``; maintenance is 0 in the lower stages,
    so only interdependent and strategic relationships can be neglected by default.
    """
    return investment < t.maintenance[stage - 1] * scale


def failure_probability(quality: Any, is_neglected: Any, p: ModelParams) -> Any:
    """Probability of a service failure this quarter.

    ``p_fail = min(1, failure_base * (1 - q) + complacency_failure * neglected)``.
    """
    return np.minimum(
        1.0, p.failure_base * (1.0 - quality) + p.complacency_failure * is_neglected
    )


def update_trust(
    trust: Any, quality: Any, failed: Any, is_neglected: Any, p: ModelParams
) -> Any:
    """Asymmetric trust update, clipped to [0, 1].

    Good quarter: ``trust + trust_gain * q * (1 - trust)``; failure:
    ``trust * (1 - trust_loss)``; a neglected top-stage relationship also loses
    ``complacency_drift``. Loss per failure is several times the gain per good quarter.

    References:
        Slovic, P. (1993). Perceived risk, trust, and democracy. Risk Analysis 13(6),
        675-682. https://doi.org/10.1111/j.1539-6924.1993.tb01329.x
    """
    good = trust + p.trust_gain * quality * (1.0 - trust)
    bad = trust * (1.0 - p.trust_loss)
    new = np.where(failed, bad, good) - p.complacency_drift * is_neglected
    return np.minimum(1.0, np.maximum(0.0, new))


def update_stock(stock: Any, investment: Any, depreciation: float) -> Any:
    """Relationship-specific investment stock: ``K' = (1 - depreciation) * K + e`` (k€)."""
    return (1.0 - depreciation) * stock + investment


def move_stage(
    stage: Any,
    tenure: Any,
    trust: Any,
    stock: Any,
    scale: Any,
    willing: Any,
    t: StageTables,
    min_tenure: int,
) -> tuple[Any, Any]:
    """Move a relationship at most one stage, with minimum tenure and hysteresis.

    Up when ``tenure + 1 >= min_tenure``, ``trust >= trust_up[s]``,
    ``K >= stock_up[s] * S`` (S the effort scale) and the account is willing
    (unwilling accounts stay tactical). Down when
    ``trust < trust_up[s - 1] - hysteresis``. Returns the new stage and tenure
    (quarters completed in the stage; 0 after a move).
    """
    i = stage - 1
    tenure1 = tenure + 1
    up = (
        (tenure1 >= min_tenure)
        & (trust >= t.trust_up[i])
        & (stock >= t.stock_up[i] * scale)
        & willing
    )
    down = trust < t.trust_down[i]
    new_stage = stage + up - down
    moved = up | down
    return new_stage, np.where(moved, 0, tenure1)


def revenue(demand_q: Any, stage: Any, t: StageTables) -> Any:
    """Quarterly revenue (k€): ``demand_q * share_of_wallet[stage] * price[stage]``."""
    return demand_q * t.share_of_wallet[stage - 1] * t.price_level[stage - 1]


def exit_cost(stage: Any, stock: Any, spend_q: Any, p: ModelParams) -> Any:
    """Account's cost of leaving (k€), rising with stage and specific investment.

    ``C = exit_cost[stage] * spend_q + lock_in * K``, with spend_q the account's
    quarterly spend with the supplier and K the specific-investment stock.

    References:
        Burnham, T. A., Frels, J. K., & Mahajan, V. (2003). Consumer switching costs.
        J. Academy of Marketing Science 31(2), 109-126.
    """
    t = stage_tables(p)
    return t.exit_cost[stage - 1] * spend_q + p.lock_in * stock


def exit_barrier(stage: Any, stock: Any, trust: Any, spend_q: Any, p: ModelParams) -> Any:
    """Exit barrier: exit cost plus the value the account places on trust.

    ``X = C + trust_value * trust * spend_q`` (k€).

    References:
        Morgan, R. M., & Hunt, S. D. (1994). The commitment-trust theory of
        relationship marketing. Journal of Marketing 58(3), 20-38.
    """
    return exit_cost(stage, stock, spend_q, p) + p.trust_value * trust * spend_q


def offer(u_offer: Any, p: ModelParams) -> tuple[Any, Any]:
    """Competitor offer from one uniform variate: ``(arrived, discount)``.

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
    """The account leaves when the offer's gain beats its exit barrier.

    ``gain = sensitivity * discount * spend_q * switch_horizon`` (k€); the account
    switches when an offer arrived and ``gain > barrier``.
    """
    gain = sensitivity * discount * spend_q * p.switch_horizon
    return arrived & (gain > barrier)


def disappears(u_vanish: Any, hazard: float) -> Any:
    """Exogenous disappearance (bankruptcy, merger): ``u < hazard``."""
    return u_vanish < hazard


def largest_account(last_revenue: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Index (last axis) of the active account with the largest last-quarter revenue.

    Ties go to the lowest index. Accepts arrays of shape (..., n); where no account is
    active the result is -1.
    """
    masked = np.where(active, last_revenue, -np.inf)
    idx = np.argmax(masked, axis=-1)
    return np.where(np.any(active, axis=-1), idx, -1)


class AccountState(NamedTuple):
    """State of relationships (scalars or equally shaped arrays)."""

    stage: Any  # 1..4
    tenure: Any  # quarters completed in the stage
    trust: Any  # [0, 1]
    stock: Any  # specific-investment stock K, k€
    wallet: Any  # annual wallet W, k€/yr
    growth: Any  # annual growth rate g
    willing: Any  # bool
    sensitivity: Any  # price sensitivity
    scale: Any  # effort scale S, k€ per quarter
    loss_streak: Any  # consecutive loss-making quarters


class QuarterOutcome(NamedTuple):
    """What happened to relationships in one quarter (scalars or arrays)."""

    state: AccountState  # state at the end of the quarter
    investment: Any  # effective investment e, k€
    quality: Any  # service quality q
    failed: Any  # bool, service failure
    neglected: Any  # bool, complacency
    share_of_wallet: Any  # share of wallet in the quarter's stage
    revenue: Any  # k€
    cost_to_serve: Any  # k€
    profit: Any  # k€ (gross margin - cost to serve - allocation)
    end_cause: Any  # EndCause value (0 if the relationship continues)
    account_disruption_cost: Any  # k€ the account lost to a supplier disruption


def account_quarter(
    s: AccountState,
    allocation: Any,
    efficiency: Any,
    downturn: Any,
    disruption: Any,
    u_failure: Any,
    u_offer: Any,
    u_vanish: Any,
    p: ModelParams,
) -> QuarterOutcome:
    """Advance relationships by one quarter (steps 2-7 of the process overview).

    1. Wallet grows: ``W' = W * (1 + g / 4)``; demand
       ``D_q = W'/4 * (1 - depth * downturn)``.
    2. Effective investment ``e = allocation * efficiency``; quality, neglect and
       service failure (``u_failure < p_fail``, or a supplier disruption).
    3. Trust updates asymmetrically; the specific-investment stock depreciates and
       grows by ``e``.
    4. Economics in the quarter's stage: revenue, cost-to-serve and
       ``profit = gross_margin * revenue - cost_to_serve - allocation``.
    5. The stage moves up or down at most one step.
    6. Exit: the account disappears (``u_vanish < hazard``), switches to a
       competitor (gain beats exit barrier at the new stage), or is dropped by the
       supplier after ``drop_after_losses`` loss-making quarters, in that priority.
    """
    t = stage_tables(p)
    stage = s.stage
    wallet = s.wallet * (1.0 + s.growth / 4.0)
    wallet_q = wallet / 4.0
    demand_q = wallet_q * (1.0 - p.downturn_depth * downturn)

    invest = allocation * efficiency
    quality = service_quality(invest, s.stock, s.scale, p)
    neg = neglected(stage, invest, s.scale, t)
    failed = (u_failure < failure_probability(quality, neg, p)) | disruption
    trust = update_trust(s.trust, quality, failed, neg, p)
    stock = update_stock(s.stock, invest, p.depreciation)

    sow = t.share_of_wallet[stage - 1]
    rev = revenue(demand_q, stage, t)
    cts = t.cost_to_serve[stage - 1] * wallet_q + t.fixed_cost[stage - 1]
    profit = p.gross_margin * rev - cts - allocation
    disruption_cost = disruption * p.disruption_dependency * sow * demand_q

    new_stage, tenure = move_stage(
        stage, s.tenure, trust, stock, s.scale, s.willing, t, p.min_tenure
    )

    spend_q = demand_q * t.share_of_wallet[new_stage - 1]
    barrier = exit_barrier(new_stage, stock, trust, spend_q, p)
    arrived, discount = offer(u_offer, p)
    switch = switches(arrived, discount, s.sensitivity, spend_q, barrier, p)
    vanish = disappears(u_vanish, p.hazard)
    streak = np.where(profit < 0.0, s.loss_streak + 1, 0)
    dropped = (streak >= p.drop_after_losses) & (p.drop_after_losses > 0)
    cause = np.where(
        vanish,
        EndCause.VANISHED.value,
        np.where(
            switch,
            EndCause.SWITCHED.value,
            np.where(dropped, EndCause.DROPPED.value, EndCause.NONE.value),
        ),
    )
    new_state = AccountState(
        stage=new_stage,
        tenure=tenure,
        trust=trust,
        stock=stock,
        wallet=wallet,
        growth=s.growth,
        willing=s.willing,
        sensitivity=s.sensitivity,
        scale=s.scale,
        loss_streak=streak,
    )
    return QuarterOutcome(
        state=new_state,
        investment=invest,
        quality=quality,
        failed=failed,
        neglected=neg,
        share_of_wallet=sow,
        revenue=rev,
        cost_to_serve=cts,
        profit=profit,
        end_cause=cause,
        account_disruption_cost=disruption_cost,
    )
