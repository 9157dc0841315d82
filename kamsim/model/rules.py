"""The model's equations, written once and compiled, for both faces of kamsim.

Each mechanism of the ODD's process overview (``docs/odd.md``) is one function here:
of **one relationship** (scalars) or of the **accounts in slots** ``j0 <= j < j1``
with their M suppliers (indexed ``[field, r, k, j]`` in the arrays of
:mod:`kamsim.model.state`; supplier by supplier over the contiguous slots, every sum
over suppliers still in supplier order). Compiled with Numba,
they are called by the batched engine's loops over replications x accounts
(:mod:`kamsim.engine.kernel`) and by each Mesa :class:`kamsim.KeyAccount`
(:func:`account_quarter`), so the two faces agree by construction. IEEE double
arithmetic only (no fast-math, no fused multiply-add), sums over suppliers in
supplier order, and the one transcendental function (``exp``, in
:func:`persistent_misjudgement`) is the C library's. Parameters are one record ``p``
(:func:`kamsim.model.state.compiled_params`): ``p.trust_gain``, ``p.clarity[s - 1]``.

Units: money in k€, ``W`` (wallet) is annual spend (k€/yr), ``W / 4`` quarterly spend,
time in quarters, trust and shares in [0, 1]. Stages are 1 tactical, 2 cooperative,
3 interdependent, 4 strategic; 0 marks no relationship (ended, or not yet renewed).
"""

from __future__ import annotations

import numpy as np

from kamsim.model.cache import rule as _rule
from kamsim.model.endings import end_cause, exit_barrier, offer, takes_offer
from kamsim.model.growth import effort_scale, grow_wallet, market_growth, new_plans
from kamsim.model.judgement import (
    estimate_potential,
    estimate_willingness,
    persistent_misjudgement,
    potential_class,
    read_trust,
)
from kamsim.model.state import (
    ADAPTATION,
    AGE,
    ARRIVED,
    BIAS_P,
    BIAS_T,
    BIAS_W,
    ENDED_AT,
    LAST_REVENUE,
    MAX_STAGE,
    MISJUDGED,
    POTENTIAL,
    SCALE,
    SENSITIVITY,
    SHARE,
    STAGE,
    STOCK,
    STREAK,
    TENURE,
    TOLERANCE,
    TRUST,
    WALLET,
    WARINESS,
    CompiledParams,
    EndCause,
    Stage,
    compiled_params,
    stage_tables,
)
from kamsim.model.variates import (
    FAILURE,
    GROWTH_REGIME,
    GROWTH_SHOCK,
    NEW_PLANS,
    NOISE_POTENTIAL,
    NOISE_TRUST,
    OFFER,
    START_BIAS_P,
    START_BIAS_T,
    START_BIAS_W,
    START_TRUST,
    VANISH,
    counter,
    normal,
    uniform,
)

__all__ = [
    "OUT_F",
    "OUT_I",
    "EndCause",
    "Stage",
    "account_quarter",
    "adjust_share",
    "attraction",
    "close_relationship",
    "compiled_params",
    "economics_and_endings",
    "effort_scale",
    "end_cause",
    "estimate_potential",
    "estimate_willingness",
    "exit_barrier",
    "failure_probability",
    "grow_accounts",
    "grow_wallet",
    "initial_revenue",
    "initial_trust",
    "is_disrupted",
    "largest_relationship",
    "manager_efficiency",
    "may_restart",
    "move_stages",
    "neglected",
    "observe_account",
    "offer",
    "persistent_misjudgement",
    "potential_class",
    "read_trust",
    "renew_relationships",
    "serve",
    "service_quality",
    "share_limit",
    "split_wallet",
    "stage_tables",
    "start_relationship",
    "supplier_efficiency",
    "takes_offer",
    "terminal_value",
    "update_adaptation",
    "update_stock",
    "update_trust",
    "warranted_trust",
]

# What one account's quarter produces besides its new state: per supplier, floats
# (OUT_F rows) and integers (OUT_I rows); per account, the floats ACCOUNT_OUT.
X_INVEST, X_QUALITY, X_REVENUE, X_CTS, X_PROFIT, X_ATTRACTION, X_MOVED = range(7)
OUT_F = 7
Y_LIVE, Y_CAUSE, Y_FAILED, Y_NEGLECTED, Y_TENURE = range(5)
OUT_I = 5
A_DEMAND, A_WALLET_Q, A_DISRUPTION_COST, A_VANISHED, A_TOTAL = range(5)
# and per account, the running values of the steps' loops over suppliers
A_TAKEN, A_BEST, A_WINNER, A_HIT, A_TOTAL_A = range(5, 10)
ACCOUNT_OUT = 10
# What a supplier observes of one relationship: floats and integers
O_REVENUE, O_SHARE, O_POTENTIAL, O_TRUST, O_STOCK, O_WILLING = range(6)
OBS_F = 6
O_ACTIVE, O_STAGE, O_TENURE, O_CLASS = range(4)
OBS_I = 4


# --- step 0: relationships start -----------------------------------------------------


@_rule
def initial_trust(u: float, p: CompiledParams) -> float:
    """Trust a new relationship starts with: uniform on ``trust_initial +- spread``.

    ``clip(trust_initial - spread + 2 spread u, 0, 1)`` for a uniform ``u``: trust is
    drawn at the start, not built from zero, so that across relationships trust and
    age are only weakly correlated (Vanneste, Puranam & Kretschmer 2014).
    """
    lo = p.trust_initial - p.trust_initial_spread
    return min(1.0, max(0.0, lo + 2.0 * p.trust_initial_spread * u))


@_rule
def initial_revenue(wallet: float, p: CompiledParams) -> float:
    """Revenue a new relationship is taken to have had before its first quarter (k€).

    ``share_initial * W/4 * price[tactical]``: what the supplier sees as "last
    revenue" when it plans the relationship's first quarter.
    """
    return p.share_initial * (wallet / 4.0) * p.price_level[0]


@_rule
def start_relationship(
    ri: np.ndarray,
    rf: np.ndarray,
    r: int,
    k: int,
    j: int,
    q: int,
    trust: float,
    bias_p: float,
    bias_t: float,
    bias_w: float,
    wallet: float,
    p: CompiledParams,
) -> None:
    """Supplier k starts a tactical relationship with the account in quarter ``q``.

    A new relationship is tactical, with the trust drawn at its start, no specific
    investment or adaptation, ``share_initial`` of the wallet and fresh persistent
    misjudgements of potential, trust and willingness (standard normals ``bias_p``,
    ``bias_t``, ``bias_w``; :mod:`kamsim.model.judgement`).
    The relationship is ``[:, r, k, j]`` of ``ri``/``rf`` (:mod:`kamsim.model.state`).
    """
    ri[STAGE, r, k, j] = 1
    ri[TENURE, r, k, j] = 0
    ri[AGE, r, k, j] = 0
    ri[STREAK, r, k, j] = 0
    ri[ENDED_AT, r, k, j] = -1
    ri[ARRIVED, r, k, j] = q
    ri[MAX_STAGE, r, k, j] = 1
    rf[TRUST, r, k, j] = trust
    rf[STOCK, r, k, j] = 0.0
    rf[ADAPTATION, r, k, j] = 0.0
    rf[SHARE, r, k, j] = p.share_initial
    rf[BIAS_P, r, k, j] = bias_p
    rf[MISJUDGED, r, k, j] = persistent_misjudgement(bias_p, p.clarity[0], k, p)
    rf[BIAS_T, r, k, j] = bias_t
    rf[BIAS_W, r, k, j] = bias_w
    rf[LAST_REVENUE, r, k, j] = initial_revenue(wallet, p)


@_rule
def close_relationship(ri: np.ndarray, rf: np.ndarray, r: int, k: int, j: int) -> None:
    """Supplier k's relationship ends: stage 0, its share returns to the market.

    The supplier's specific investment is written off and the account's adaptation is
    lost; the persistent misjudgements stay (a restart draws new ones).
    """
    ri[STAGE, r, k, j] = 0
    ri[TENURE, r, k, j] = 0
    ri[AGE, r, k, j] = 0
    ri[STREAK, r, k, j] = 0
    rf[TRUST, r, k, j] = 0.0
    rf[STOCK, r, k, j] = 0.0
    rf[ADAPTATION, r, k, j] = 0.0
    rf[SHARE, r, k, j] = 0.0


@_rule
def may_restart(stage: int, ended: int, q: int, p: CompiledParams) -> bool:
    """Whether a supplier may start again, in quarter ``q``, with an account it lost.

    It has no relationship with it now (stage 0), the last one ended in quarter
    ``ended`` (-1: never) and more than ``replacement_delay`` quarters have passed.
    """
    return (stage == 0) & (ended >= 0) & (q - ended > p.replacement_delay)


@_rule
def renew_relationships(
    ri: np.ndarray,
    rf: np.ndarray,
    r: int,
    j: int,
    wallet: float,
    key: np.uint64,
    q: int,
    p: CompiledParams,
    started: np.ndarray,
) -> None:
    """Step 0: suppliers court the account in slot j again in quarter ``q``.

    A supplier whose relationship with the account ended more than
    ``replacement_delay`` quarters ago starts a new one (:func:`start_relationship`,
    with the start variates of quarter index ``q - 1``: a uniform for the initial
    trust, three standard normals for the misjudgements), unless a supplier holds the
    account as its strategic partner. Sets ``started[k]`` for the suppliers that do.
    """
    m = ri.shape[2]
    i = q - 1
    for k in range(m):
        if ri[STAGE, r, k, j] == 4:
            return
    for k in range(m):
        if not may_restart(ri[STAGE, r, k, j], ri[ENDED_AT, r, k, j], q, p):
            continue
        started[r, k, j] = True
        trust = initial_trust(uniform(key, counter(i, k, j, START_TRUST)), p)
        bias_p = normal(key, counter(i, k, j, START_BIAS_P))
        bias_t = normal(key, counter(i, k, j, START_BIAS_T))
        bias_w = normal(key, counter(i, k, j, START_BIAS_W))
        start_relationship(ri, rf, r, k, j, q, trust, bias_p, bias_t, bias_w, wallet, p)


@_rule
def largest_relationship(stage: np.ndarray, last_revenue: np.ndarray) -> int:
    """Slot of the live relationship with the largest last revenue (-1 if none).

    Over one supplier's relationships (vectors over the slots); ties go to the
    lowest slot. The stress test ends this one (``lose_largest_at``).
    """
    best = -np.inf
    jmax = -1
    for j in range(stage.shape[0]):
        if stage[j] > 0 and (jmax < 0 or last_revenue[j] > best):
            best = last_revenue[j]
            jmax = j
    return jmax


@_rule
def is_disrupted(drawn: bool, k: int, q: int, p: CompiledParams) -> bool:
    """Supplier k suffers a disruption in quarter q: drawn at random, or scripted.

    The scripted disruption (``disruption_at``) hits the focal supplier (k = 0).
    """
    return drawn or (p.disruption_at == q and k == 0)


# --- step 1: what a supplier sees -----------------------------------------------------


@_rule
def manager_efficiency(n_live: int, p: CompiledParams) -> float:
    """Share of each k€ of a supplier's budget that becomes effective investment.

    ``efficiency = 1 / (1 + overload_penalty * max(0, n - capacity) / capacity)`` for
    ``n`` live relationships: the same budget spread over a portfolio larger than the
    KAM team's capacity buys less per account (manager attention is limited).
    """
    over = max(0.0, float(n_live) - p.manager_capacity)
    return 1.0 / (1.0 + p.overload_penalty * over / p.manager_capacity)


@_rule
def supplier_efficiency(ri: np.ndarray, r: int, k: int, p: CompiledParams) -> float:
    """:func:`manager_efficiency` of supplier k over its live relationships in market r."""
    live = 0
    for j in range(ri.shape[3]):
        live += 1 if ri[STAGE, r, k, j] > 0 else 0
    return manager_efficiency(live, p)


@_rule
def observe_account(
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    r: int,
    k: int,
    j: int,
    willing: bool,
    key: np.uint64,
    i: int,
    p: CompiledParams,
    reads: np.ndarray,
    obs_f: np.ndarray,
    obs_i: np.ndarray,
) -> None:
    """What supplier k observes of its relationship with the account in slot j.

    ``obs_i[:, k, r, j]`` = (active, stage, tenure, potential class), ``obs_f[:, k, r,
    j]`` = (last revenue, share of wallet, estimated potential (:func:`estimate_potential`),
    trust reading (:func:`read_trust`), own stock K, estimated probability that the
    account is willing (:func:`estimate_willingness`)), all 0 without a relationship.
    The estimates use the relationship's normals of quarter index i, computed only if
    the supplier's policy reads them (``reads[0, k]`` potential, ``reads[1, k]``
    trust, ``reads[2, k]`` willingness).
    """
    stage = ri[STAGE, r, k, j]
    live = stage > 0
    est_p = 0.0
    est_t = 0.0
    est_w = 0.0
    if live:
        c = p.clarity[stage - 1]
        if reads[0, k]:
            z = normal(key, counter(i, k, j, NOISE_POTENTIAL))
            est_p = estimate_potential(
                af[POTENTIAL, r, j], rf[MISJUDGED, r, k, j], z, c, k, p
            )
        if reads[1, k]:
            z = normal(key, counter(i, k, j, NOISE_TRUST))
            est_t = read_trust(rf[TRUST, r, k, j], rf[BIAS_T, r, k, j], z, c, p)
        if reads[2, k]:
            age = ri[AGE, r, k, j]
            est_w = estimate_willingness(willing, rf[BIAS_W, r, k, j], c, age, p)
    obs_i[O_ACTIVE, k, r, j] = 1 if live else 0
    obs_i[O_STAGE, k, r, j] = stage
    obs_i[O_TENURE, k, r, j] = ri[TENURE, r, k, j] if live else 0
    obs_i[O_CLASS, k, r, j] = potential_class(est_p, p) if live else 0
    obs_f[O_REVENUE, k, r, j] = rf[LAST_REVENUE, r, k, j] if live else 0.0
    obs_f[O_SHARE, k, r, j] = rf[SHARE, r, k, j] if live else 0.0
    obs_f[O_POTENTIAL, k, r, j] = est_p
    obs_f[O_TRUST, k, r, j] = est_t
    obs_f[O_STOCK, k, r, j] = rf[STOCK, r, k, j] if live else 0.0
    obs_f[O_WILLING, k, r, j] = est_w


# --- step 2: service and trust -----------------------------------------------------------


@_rule
def service_quality(
    investment: float, stock: float, scale: float, p: CompiledParams
) -> float:
    """Service quality q in [0, 1) from investment intensity.

    ``z = (e + stock_weight * K) / (service_scale * S)``, ``q = z / (1 + z)``,
    with e this quarter's effective investment (k€), K the supplier's specific
    investment stock (k€) and S the account's effort scale (k€/quarter).
    """
    z = (investment + p.stock_weight * stock) / (p.service_scale * scale)
    return z / (1.0 + z)


@_rule
def neglected(investment: float, maintenance: float, scale: float) -> bool:
    """True when investment is below the stage's maintenance level (complacency).

    ``neglected = e < maintenance[stage] * S``; maintenance is 0 in the lower stages,
    so only interdependent and strategic relationships can be neglected by default.
    """
    return investment < maintenance * scale


@_rule
def failure_probability(quality: float, is_neglected: bool, p: CompiledParams) -> float:
    """Probability of a service failure this quarter.

    ``p_fail = min(1, failure_base * (1 - q) + complacency_failure * neglected)``.
    """
    ng = 1.0 if is_neglected else 0.0
    return min(1.0, p.failure_base * (1.0 - quality) + p.complacency_failure * ng)


@_rule
def warranted_trust(quality: float, p: CompiledParams) -> float:
    """Trust the relationship's service warrants: ``trust_base + (1 - trust_base) q``."""
    return p.trust_base + (1.0 - p.trust_base) * quality


@_rule
def update_trust(
    trust: float, quality: float, failed: bool, is_neglected: bool, p: CompiledParams
) -> float:
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
    ng = 1.0 if is_neglected else 0.0
    bad = trust * (1.0 - p.trust_loss)
    good = trust + p.trust_gain * (warranted_trust(quality, p) - trust)
    return min(1.0, max(0.0, (bad if failed else good) - p.complacency_drift * ng))


# --- step 3: investment and adaptation ----------------------------------------------


@_rule
def update_stock(stock: float, investment: float, p: CompiledParams) -> float:
    """Supplier's specific investment: ``K' = (1 - depreciation) * K + e`` (k€)."""
    return (1.0 - p.depreciation) * stock + investment


@_rule
def update_adaptation(
    adaptation: float, rate: float, trust: float, scale: float, p: CompiledParams
) -> float:
    """The account's own adaptation to the supplier (k€), its source of switching cost.

    ``A' = (1 - adaptation_depreciation) * A + adaptation[stage] * trust * S``: from
    cooperative upwards the account builds processes, people and plans around the
    supplier, faster the closer and more trusting the relationship. It never comes
    from the supplier's spending.

    References:
        Burnham, T. A., Frels, J. K., & Mahajan, V. (2003). Consumer switching costs.
        J. Academy of Marketing Science 31(2), 109-126.
    """
    return (1.0 - p.adaptation_depreciation) * adaptation + rate * trust * scale


@_rule
def serve(
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    r: int,
    j0: int,
    j1: int,
    alloc: np.ndarray,
    efficiency: np.ndarray,
    disrupted: np.ndarray,
    key: np.uint64,
    i: int,
    p: CompiledParams,
    out_f: np.ndarray,
    out_i: np.ndarray,
) -> None:
    """Steps 2-3 for the relationships of accounts ``j0 <= j < j1``: service, trust, K, A.

    ``e = allocation * efficiency``; quality; neglect; a failure when the quarter's
    failure uniform falls below ``p_fail`` or the supplier suffers a disruption;
    trust moves towards the warranted level, or falls after a failure; the supplier's
    stock K and the account's adaptation A update (in place, in ``rf``). A
    relationship that does not exist (stage 0) keeps its trust, has no quality and
    no adaptation. Supplier by supplier over the accounts' contiguous row.
    """
    for k in range(ri.shape[2]):
        eff, hit = efficiency[k], disrupted[k]
        for j in range(j0, j1):
            scale = af[SCALE, r, j]
            s0 = ri[STAGE, r, k, j]
            live = s0 > 0
            x = max(s0, 1) - 1
            e = alloc[r, k, j] * eff
            stock = rf[STOCK, r, k, j]
            q = service_quality(e, stock, scale, p) if live else 0.0
            ng = live & neglected(e, p.maintenance[x], scale)
            u = uniform(key, counter(i, k, j, FAILURE))
            failed = live & ((u < failure_probability(q, ng, p)) | hit)
            old = rf[TRUST, r, k, j]
            trust = update_trust(old, q, failed, ng, p) if live else old
            a = rf[ADAPTATION, r, k, j]
            grown = update_adaptation(a, p.adaptation[x], trust, scale, p)
            rf[TRUST, r, k, j] = trust
            rf[STOCK, r, k, j] = update_stock(stock, e, p)
            rf[ADAPTATION, r, k, j] = grown if live else 0.0
            out_f[X_INVEST, k, j] = e
            out_f[X_QUALITY, k, j] = q
            out_i[Y_LIVE, k, j] = live
            out_i[Y_FAILED, k, j] = failed
            out_i[Y_NEGLECTED, k, j] = ng


# --- step 4: stages -----------------------------------------------------------------


@_rule
def move_stages(
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    r: int,
    j0: int,
    j1: int,
    willing: np.ndarray,
    p: CompiledParams,
    out_i: np.ndarray,
    acc_out: np.ndarray,
) -> None:
    """Move each relationship of the accounts ``j0 <= j < j1`` at most one stage (step 4).

    Up when ``tenure + 1 >= min_tenure``, ``trust >= trust_up[s]``,
    ``K + A >= joint_up[s] * S`` and the account is willing (unwilling accounts stay
    tactical with everyone). An account has at most one strategic partner: a move to
    strategic needs that no supplier stays strategic with the account, and of several
    candidates in one quarter the most trusted wins (the lowest index on a tie). Down
    when ``trust < trust_up[s - 1] - hysteresis``. The stage (in ``ri``) and the
    tenure (quarters completed in the stage, 0 after a move; ``out_i[Y_TENURE]``)
    change; stage 0 stays 0. ``willing`` (n,) is per slot; each account's
    candidates are found in rows ``A_TAKEN``, ``A_BEST``, ``A_WINNER`` of ``acc_out``.

    References:
        Dwyer, F. R., Schurr, P. H., & Oh, S. (1987). Developing buyer-seller
        relationships. Journal of Marketing 51(2), 11-27.
        McDonald, M., & Woodburn, D. (2007). Key Account Management. Elsevier.
    """
    m = ri.shape[2]
    for j in range(j0, j1):
        acc_out[A_TAKEN, j] = 0.0  # 1: a supplier stays strategic with the account
        acc_out[A_BEST, j] = -np.inf  # the trust of the most trusted candidate so far
        acc_out[A_WINNER, j] = -1.0
    for k in range(m):  # the wishes: bit 1 up, bit 2 down
        for j in range(j0, j1):
            s0 = ri[STAGE, r, k, j]
            live = s0 > 0
            x = max(s0, 1) - 1
            trust = rf[TRUST, r, k, j]
            joint = rf[STOCK, r, k, j] + rf[ADAPTATION, r, k, j]
            up = (
                live
                & (ri[TENURE, r, k, j] + 1 >= p.min_tenure)
                & (trust >= p.trust_up[x])
                & (joint >= p.joint_up[x] * af[SCALE, r, j])
                & (willing[j] != 0)
            )
            down = live & (trust < p.trust_down[x])
            out_i[Y_TENURE, k, j] = (1 if up else 0) + (2 if down else 0)
            stays = live & (s0 == 4) & ~down
            acc_out[A_TAKEN, j] = 1.0 if stays else acc_out[A_TAKEN, j]
    for k in range(m):
        for j in range(j0, j1):
            trust = rf[TRUST, r, k, j]
            wants = ((out_i[Y_TENURE, k, j] & 1) != 0) & (ri[STAGE, r, k, j] == 3)
            free = acc_out[A_TAKEN, j] == 0.0
            better = wants & free & (trust > acc_out[A_BEST, j])
            acc_out[A_BEST, j] = trust if better else acc_out[A_BEST, j]
            acc_out[A_WINNER, j] = float(k) if better else acc_out[A_WINNER, j]
    for k in range(m):
        for j in range(j0, j1):
            s0 = ri[STAGE, r, k, j]
            wish = out_i[Y_TENURE, k, j]
            up = ((wish & 1) != 0) & ((s0 < 3) | (acc_out[A_WINNER, j] == float(k)))
            down = (wish & 2) != 0
            s1 = s0 + (1 if up else 0) - (1 if down else 0)
            ri[STAGE, r, k, j] = s1
            out_i[Y_TENURE, k, j] = 0 if (up | down) else ri[TENURE, r, k, j] + 1
            if up | down:  # the misjudgement left in the new stage
                bias = rf[BIAS_P, r, k, j]
                c = p.clarity[s1 - 1]
                rf[MISJUDGED, r, k, j] = persistent_misjudgement(bias, c, k, p)


# --- step 5: wallet split ----------------------------------------------------------------


@_rule
def attraction(stage: int, trust: float, quality: float, p: CompiledParams) -> float:
    """How strongly a relationship attracts the account's spend (0 without one).

    ``a = stage_attraction[stage] * trust * (1 + service_attraction * q)``: a
    multiplicative competitive-interaction (attraction) model with unit elasticities;
    the rest of the market has attraction 1.

    References:
        Cooper, L. G., & Nakanishi, M. (1988). Market-Share Analysis. Kluwer.
    """
    a = p.attraction[max(stage, 1) - 1] * trust * (1.0 + p.service_attraction * quality)
    return a if stage > 0 else 0.0


@_rule
def share_limit(stage: int, tolerance: float, wariness: float, p: CompiledParams) -> float:
    """The largest share the account gives a supplier at ``stage``.

    ``max(0, min(share_cap[s], tolerance if s < 4 else 1) - wariness)``: the stage's
    cap, below strategic also the account's dependency tolerance, tightened by its
    wariness after supplier disruptions.
    """
    x = max(stage, 1) - 1
    limit = min(p.share_cap[x], tolerance) if stage < 4 else 1.0
    return max(0.0, limit - wariness)


@_rule
def adjust_share(share: float, target: float, stage: int, p: CompiledParams) -> float:
    """Move the actual share part of the way to its target (stickier at higher stages).

    ``s' = s + share_adjustment[stage] * (target - s)``: a new stage's cost starts at
    once, its revenue arrives over several quarters.
    """
    return share + p.adjustment[max(stage, 1) - 1] * (target - share)


@_rule
def grow_accounts(
    af: np.ndarray,
    r: int,
    j0: int,
    j1: int,
    downturn: float,
    key: np.uint64,
    i: int,
    p: CompiledParams,
    acc_out: np.ndarray,
) -> None:
    """Step 5a for the accounts ``j0 <= j < j1``: their wallets grow, some disappear.

    The wallet grows towards the account's potential, which may change
    (:func:`kamsim.model.growth.grow_wallet`, with new plans when
    :func:`kamsim.model.growth.new_plans`), and the effort scale follows it
    (:func:`kamsim.model.growth.effort_scale`); demand ``D = W'/4 (1 - downturn_depth
    * downturn)`` (``acc_out[A_DEMAND]``, the quarter's spend ``W'/4`` in
    ``acc_out[A_WALLET_Q]``). The account disappears when its uniform falls below
    ``hazard`` (``acc_out[A_VANISHED]``).
    """
    carried = market_growth(p)
    for j in range(j0, j1):
        plans = new_plans(uniform(key, counter(i, 0, j, GROWTH_REGIME)), p)
        z_plans = normal(key, counter(i, 0, j, NEW_PLANS)) if plans else 0.0
        u_shock = uniform(key, counter(i, 0, j, GROWTH_SHOCK))
        w, pot = af[WALLET, r, j], af[POTENTIAL, r, j]
        grown, pot = grow_wallet(w, pot, plans, z_plans, u_shock, i, carried, p)
        af[WALLET, r, j] = grown
        af[POTENTIAL, r, j] = pot
        af[SCALE, r, j] = effort_scale(grown, p)
        wallet_q = grown / 4.0
        acc_out[A_WALLET_Q, j] = wallet_q
        acc_out[A_DEMAND, j] = wallet_q * (1.0 - p.downturn_depth * downturn)
        vanished = uniform(key, counter(i, 0, j, VANISH)) < p.hazard
        acc_out[A_VANISHED, j] = 1.0 if vanished else 0.0


@_rule
def split_wallet(
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    r: int,
    j0: int,
    j1: int,
    disrupted: np.ndarray,
    downturn: float,
    key: np.uint64,
    i: int,
    p: CompiledParams,
    out_f: np.ndarray,
    out_i: np.ndarray,
    acc_out: np.ndarray,
) -> None:
    """Step 5 for the accounts ``j0 <= j < j1``: demand, wariness and the wallet split.

    Demand and disappearance (:func:`grow_accounts`). Wariness after
    disruptions: ``w' = wariness_decay * w + wariness_gain * sum_i disrupted_i s_i``
    (the more of its wallet the account had with a disrupted supplier, the more it
    diversifies). Target shares by attraction, ``min(a_i / (1 + sum_k a_k),
    share_limit)`` (what the caps withhold stays with the rest of the market); actual
    shares move part of the way (:func:`adjust_share`) and are scaled down to sum to
    1 if they sum above it. Shares are the relationships' at the start of the quarter
    (``rf``), the new ones go to ``out_f[X_MOVED]``; the sums over suppliers (in
    supplier order) are kept per account in rows of ``acc_out``.
    """
    m = ri.shape[2]
    grow_accounts(af, r, j0, j1, downturn, key, i, p, acc_out)
    for k in range(m):
        for j in range(j0, j1):
            hit = disrupted[k] & (out_i[Y_LIVE, k, j] != 0)
            x = rf[SHARE, r, k, j] if hit else 0.0
            acc_out[A_HIT, j] = x if k == 0 else acc_out[A_HIT, j] + x
            q = out_f[X_QUALITY, k, j]
            a = attraction(ri[STAGE, r, k, j], rf[TRUST, r, k, j], q, p)
            out_f[X_ATTRACTION, k, j] = a
            acc_out[A_TOTAL_A, j] = a if k == 0 else acc_out[A_TOTAL_A, j] + a
    for j in range(j0, j1):
        wariness = (
            p.wariness_decay * af[WARINESS, r, j] + p.wariness_gain * acc_out[A_HIT, j]
        )
        af[WARINESS, r, j] = wariness
    for k in range(m):
        for j in range(j0, j1):
            s1 = ri[STAGE, r, k, j]
            raw = out_f[X_ATTRACTION, k, j] / (1.0 + acc_out[A_TOTAL_A, j])
            limit = share_limit(s1, af[TOLERANCE, r, j], af[WARINESS, r, j], p)
            target = min(raw, limit)
            moved = adjust_share(rf[SHARE, r, k, j], target, s1, p) if s1 > 0 else 0.0
            out_f[X_MOVED, k, j] = moved
            acc_out[A_TOTAL, j] = moved if k == 0 else acc_out[A_TOTAL, j] + moved
    for k in range(m):
        for j in range(j0, j1):
            moved = out_f[X_MOVED, k, j]
            total = acc_out[A_TOTAL, j]
            out_f[X_MOVED, k, j] = moved / max(total, 1.0) if total > 1.0 else moved


# --- steps 6-7: economics, switching and endings -----------------------------------------


@_rule
def economics_and_endings(
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    r: int,
    j0: int,
    j1: int,
    alloc: np.ndarray,
    disrupted: np.ndarray,
    key: np.uint64,
    i: int,
    p: CompiledParams,
    out_f: np.ndarray,
    out_i: np.ndarray,
    acc_out: np.ndarray,
) -> None:
    """Steps 6-7 for each relationship of the accounts ``j0 <= j < j1``, in its new stage.

    Revenue ``= D * s * price[stage]``; cost to serve ``= cost_to_serve[stage] * W/4
    + fixed_cost[stage]``; profit ``= gross_margin * revenue - cost to serve -
    allocation``; a disrupted supplier costs the account ``disruption_dependency * s
    * D``. Endings: the account disappears, takes an outside offer
    (:func:`takes_offer` against :func:`exit_barrier`), trust falls below
    ``trust_floor`` (breach), the share below ``share_floor`` (faded), or the
    supplier drops it after ``drop_after_losses`` loss-making quarters in a row.
    """
    for k in range(ri.shape[2]):
        for j in range(j0, j1):
            demand = acc_out[A_DEMAND, j]
            live = out_i[Y_LIVE, k, j] != 0
            x = max(ri[STAGE, r, k, j], 1) - 1
            share = out_f[X_MOVED, k, j]
            revenue = demand * share * p.price_level[x] if live else 0.0
            wallet_q = acc_out[A_WALLET_Q, j]
            cts = p.cost_to_serve[x] * wallet_q + p.fixed_cost[x] if live else 0.0
            profit = p.gross_margin * revenue - cts - alloc[r, k, j]
            hit = disrupted[k] & live
            lost = p.disruption_dependency * share * demand if hit else 0.0
            total = acc_out[A_DISRUPTION_COST, j]
            acc_out[A_DISRUPTION_COST, j] = lost if k == 0 else total + lost
            spend_q = share * demand
            trust = rf[TRUST, r, k, j]
            adaptation = rf[ADAPTATION, r, k, j]
            barrier = exit_barrier(p.exit_cost[x], adaptation, trust, spend_q, p)
            u = uniform(key, counter(i, k, j, OFFER))
            sensitivity = af[SENSITIVITY, r, j]
            switched = takes_offer(u, sensitivity, spend_q, barrier, p)
            streak = ri[STREAK, r, k, j] + 1 if (live & (profit < 0.0)) else 0
            dropped = (streak >= p.drop_after_losses) & (p.drop_after_losses > 0)
            breach = trust < p.trust_floor
            vanished = acc_out[A_VANISHED, j] > 0.0
            cause = end_cause(vanished, switched, breach, share < p.share_floor, dropped)
            ri[STREAK, r, k, j] = streak
            out_f[X_REVENUE, k, j] = revenue
            out_f[X_CTS, k, j] = cts
            out_f[X_PROFIT, k, j] = profit
            out_i[Y_CAUSE, k, j] = cause if live else 0


@_rule
def account_quarter(
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    r: int,
    j0: int,
    j1: int,
    willing: np.ndarray,
    alloc: np.ndarray,
    efficiency: np.ndarray,
    disrupted: np.ndarray,
    downturn: float,
    key: np.uint64,
    i: int,
    p: CompiledParams,
    out_f: np.ndarray,
    out_i: np.ndarray,
    acc_out: np.ndarray,
) -> None:
    """The accounts in slots ``j0 <= j < j1`` and their relationships live a quarter.

    Steps 2-7 of the ODD, synchronous, each for every account of the range in turn:
    :func:`serve`, :func:`move_stages`, :func:`split_wallet`,
    :func:`economics_and_endings`; an account's steps touch only its column, so it
    lives the same quarter alone (Mesa face, ``j1 = j0 + 1``) as in a market (engine).
    The state changes in place; the caller ends relationships once the quarter is
    recorded. ``willing`` (n,) is per slot, ``efficiency`` and ``disrupted`` per supplier.
    """
    serve(ri, rf, af, r, j0, j1, alloc, efficiency, disrupted, key, i, p, out_f, out_i)
    move_stages(ri, rf, af, r, j0, j1, willing, p, out_i, acc_out)
    split_wallet(
        ri, rf, af, r, j0, j1, disrupted, downturn, key, i, p, out_f, out_i, acc_out
    )
    economics_and_endings(
        ri, rf, af, r, j0, j1, alloc, disrupted, key, i, p, out_f, out_i, acc_out
    )
    for k in range(ri.shape[2]):
        for j in range(j0, j1):
            live = out_i[Y_LIVE, k, j] != 0
            rf[SHARE, r, k, j] = out_f[X_MOVED, k, j]
            ri[TENURE, r, k, j] = out_i[Y_TENURE, k, j] if live else ri[TENURE, r, k, j]
            ri[AGE, r, k, j] += 1 if live else 0


# --- the horizon ---------------------------------------------------------------------


@_rule
def terminal_value(
    stage: int, revenue: float, cost_to_serve: float, scale: float, p: CompiledParams
) -> float:
    """Value at the horizon of a relationship in place (k€, undiscounted).

    ``TV = max(0, m * revenue - cost_to_serve - maintenance[s] * S) * rho / (1 + d -
    rho)``: its last quarter's contribution after the investment that keeps it from
    neglect, as a perpetuity that survives each quarter with probability ``rho =
    terminal_retention[s]`` and is discounted at the quarterly rate ``d = (1 +
    discount_rate)^(1/4) - 1``. A relationship worth less than nothing would be
    dropped, hence the ``max(0, .)``; 0 without a relationship.
    """
    if stage <= 0:
        return 0.0
    x = stage - 1
    contribution = p.gross_margin * revenue - cost_to_serve - p.maintenance[x] * scale
    rho = p.retention[x]
    return max(0.0, contribution) * rho / (1.0 + p.quarterly_discount - rho)
