"""Compiled quarter of the batched engine (Numba), bit-identical to :mod:`kamsim.rules`.

The batched engine (:mod:`kamsim.engine`) spends a quarter of R markets in three
compiled calls around the suppliers' policies, which stay plain Python callables:

1. :func:`begin_quarter` — step 0: suppliers court accounts again (relationships
   start, with their start variates), the focal ledger opens the new relationships,
   the stress test, the argument ``potential_bias * clarity[stage] * b`` of each
   estimate's persistent factor (the engine takes its ``exp`` with NumPy, see below);
2. :func:`observe_quarter` — step 1: every supplier's noisy estimates of potential
   and trust, and its observation arrays;
3. :func:`end_quarter` — steps 2-8: service, trust, adaptation, stages, wallet split,
   economics, endings, settlement, the quarter's record, the focal ledger and the
   trajectories.

Each function loops over replications, accounts and suppliers and evaluates the
equations of :func:`kamsim.rules.market_quarter` element by element, operation for
operation in the same order (``a * b * c`` is ``(a * b) * c`` as in NumPy), with IEEE
double arithmetic only: no fast-math and no fused multiply-add (Numba's default), so
every result has the same bits as the Mesa face. Sums over suppliers are taken in
supplier order (as :func:`kamsim.rules.supplier_sum`); sums over the accounts of a
record replicate NumPy's pairwise summation (:func:`pairwise_sum`), because the
reference record (:func:`kamsim.metrics.market_record`) uses ``np.sum``.

Transcendental functions (``exp``, ``pow``) are the one thing a compiler may evaluate
differently from NumPy (NumPy has its own SIMD ``exp``), so none is evaluated here:
the engine applies ``np.exp`` to the arguments this module prepares, and newcomer
accounts are transformed by :func:`kamsim.environment.make_accounts` in NumPy. The
compiled code is cached on disk (``cache=True``), so it is compiled once per machine.

Array layouts (C order): relationships (R, M, n); accounts (R, n); the state is held
in a few stacked arrays indexed by the constants below (``REL_I``, ``REL_F``,
``ACC_F``, ``ACC_I``), parameters in a float vector and an int vector
(:func:`pack_params`) and the per-stage tables in a (14, 4) matrix.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kamsim.model import rules
from kamsim.model.params import ModelParams
from kamsim.model.records import QUARTER_COLUMNS
from kamsim.model.sums import _row_sum
from kamsim.model.variates import (
    FAILURE,
    NOISE_POTENTIAL,
    NOISE_TRUST,
    OFFER,
    START_BIAS_P,
    START_BIAS_T,
    START_TRUST,
    VANISH,
    counter,
    normal,
    uniform,
)

# --- stacked state arrays -------------------------------------------------------------
# integer relationship fields, (8, R, M, n)
STAGE, TENURE, AGE, STREAK, ENDED_AT, ARRIVED, GENERATION, MAX_STAGE = range(8)
REL_I = 8
# float relationship fields, (8, R, M, n)
TRUST, STOCK, ADAPTATION, SHARE, BIAS_P, BIAS_T, LAST_REVENUE, LAST_CTS = range(8)
REL_F = 8
# float account fields, (7, R, n)
WALLET, GROWTH, SENSITIVITY, TOLERANCE, SCALE, WARINESS, POTENTIAL = range(7)
ACC_F = 7
# integer account fields, (4, R, n)
WILLING, PCLASS, PRESENT, VACATED_AT = range(4)
ACC_I = 4

# --- parameters -----------------------------------------------------------------------
_FLOAT_PARAMS = (
    "potential_noise",
    "trust_bias",
    "trust_noise",
    "manager_capacity",
    "overload_penalty",
    "stock_weight",
    "service_scale",
    "failure_base",
    "complacency_failure",
    "trust_base",
    "trust_gain",
    "trust_loss",
    "complacency_drift",
    "depreciation",
    "adaptation_depreciation",
    "wariness_decay",
    "wariness_gain",
    "trust_value",
    "offer_probability",
    "offer_discount_max",
    "switch_horizon",
    "hazard",
    "trust_floor",
    "share_floor",
    "gross_margin",
    "downturn_depth",
    "disruption_dependency",
    "share_initial",
    "acquisition_cost",
    "trust_initial",
    "trust_initial_spread",
    "service_attraction",
    "potential_low",
    "potential_high",
    "potential_bias",
)
(
    P_POT_NOISE,
    P_TRUST_BIAS,
    P_TRUST_NOISE,
    P_CAPACITY,
    P_OVERLOAD,
    P_STOCK_WEIGHT,
    P_SERVICE_SCALE,
    P_FAILURE_BASE,
    P_COMPLACENCY_FAILURE,
    P_TRUST_BASE,
    P_TRUST_GAIN,
    P_TRUST_LOSS,
    P_COMPLACENCY_DRIFT,
    P_DEPRECIATION,
    P_ADAPT_DEPRECIATION,
    P_WARINESS_DECAY,
    P_WARINESS_GAIN,
    P_TRUST_VALUE,
    P_OFFER_PROB,
    P_OFFER_MAX,
    P_SWITCH_HORIZON,
    P_HAZARD,
    P_TRUST_FLOOR,
    P_SHARE_FLOOR,
    P_MARGIN,
    P_DOWNTURN_DEPTH,
    P_DISRUPTION_DEP,
    P_SHARE_INITIAL,
    P_ACQUISITION,
    P_TRUST_INITIAL,
    P_TRUST_SPREAD,
    P_SERVICE_ATTRACTION,
    P_POTENTIAL_LOW,
    P_POTENTIAL_HIGH,
    P_POTENTIAL_BIAS,
) = range(len(_FLOAT_PARAMS))
# integer parameters (-1 stands for None)
I_MIN_TENURE, I_DROP_AFTER, I_DELAY, I_LOSE_AT, I_DISRUPT_AT = range(5)

# per-stage tables, rows of the (14, 4) matrix (same order as rules.StageTables)
(
    T_TRUST_UP,
    T_JOINT_UP,
    T_TRUST_DOWN,
    T_ATTRACTION,
    T_SHARE_CAP,
    T_ADJUSTMENT,
    T_ADAPTATION,
    T_PRICE,
    T_CTS,
    T_FIXED,
    T_MAINTENANCE,
    T_EXIT_COST,
    T_CLARITY,
    T_RETENTION,
) = range(14)

# quarter record columns (kamsim.metrics.QUARTER_COLUMNS), in that order
(
    Q_TACTICAL,
    Q_COOPERATIVE,
    Q_INTERDEPENDENT,
    Q_STRATEGIC,
    Q_ACTIVE,
    Q_SWITCHED,
    Q_VANISHED,
    Q_DROPPED,
    Q_BREACH,
    Q_FADED,
    Q_FROM_TACTICAL,
    Q_FROM_COOPERATIVE,
    Q_FROM_INTERDEPENDENT,
    Q_FROM_STRATEGIC,
    Q_NEW,
    Q_RIVAL_STRATEGIC,
    Q_REVENUE,
    Q_PROFIT,
    Q_INVESTMENT,
    Q_MEAN_TRUST,
    Q_HHI,
    Q_LARGEST,
    Q_TOP_FIFTH,
    Q_MARKET_SHARE,
    Q_MEAN_SHARE,
    Q_MEAN_DEPENDENCE,
    Q_DISRUPTION_COST,
    Q_DOWNTURN,
    Q_DISRUPTION,
) = range(29)
_RECORD = (
    "n_tactical n_cooperative n_interdependent n_strategic n_active exits_switched "
    "exits_vanished exits_dropped exits_breach exits_faded exits_from_tactical "
    "exits_from_cooperative exits_from_interdependent exits_from_strategic "
    "new_accounts rival_strategic revenue profit investment mean_trust hhi "
    "largest_share top_fifth_share market_share mean_share_of_wallet mean_dependence "
    "account_disruption_cost downturn disruption"
).split()
assert tuple(_RECORD) == QUARTER_COLUMNS, "kernel record order out of step with metrics"

# supplier record columns (kamsim.metrics.SUPPLIER_QUARTER_COLUMNS)
S_REVENUE, S_PROFIT, S_INVESTMENT, S_MARKET_SHARE, S_ACTIVE = range(5)

# focal ledger: float, int and bool columns, (k, R, n * G)
L_REVENUE, L_PROFIT, L_INVESTMENT, L_TRUST, L_POTENTIAL = range(5)
L_ARRIVED, L_ENDED, L_END_CAUSE, L_END_STAGE, L_MAX_STAGE = range(5)
L_WILLING, L_EXISTS = range(2)
# running values of the relationship in each slot, (4, R, n) float and (R, n) int
RUN_REVENUE, RUN_PROFIT, RUN_INVESTMENT, RUN_TRUST = range(4)

# trajectories (k, R, T, n) float: trust, share_of_wallet, revenue, profit,
# investment, cost_to_serve, estimated_potential (engine.TRAJECTORY_KEYS order)
TR_TRUST, TR_SHARE, TR_REVENUE, TR_PROFIT, TR_INVESTMENT, TR_CTS, TR_ESTIMATE = range(7)

# observation arrays: float (5, M, R, n), int (2, M, R, n)
O_REVENUE, O_SHARE, O_POTENTIAL, O_TRUST, O_STOCK = range(5)
O_STAGE, O_TENURE = range(2)

_SWITCHED = rules.EndCause.SWITCHED.value
_VANISHED = rules.EndCause.VANISHED.value
_DROPPED = rules.EndCause.DROPPED.value
_BREACH = rules.EndCause.BREACH.value
_FADED = rules.EndCause.FADED.value


def pack_params(p: ModelParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel's view of ``p``: float parameters, int parameters, stage tables."""
    pf = np.array([float(getattr(p, name)) for name in _FLOAT_PARAMS])

    def opt(v: int | None) -> int:
        return -1 if v is None else int(v)

    pi = np.array(
        [
            p.min_tenure,
            p.drop_after_losses,
            opt(p.replacement_delay),
            opt(p.lose_largest_at),
            opt(p.disruption_at),
        ],
        dtype=np.int64,
    )
    tables = np.ascontiguousarray(np.stack(list(rules.stage_tables(p))), dtype=np.float64)
    return pf, pi, tables


@njit(cache=True, error_model="numpy", inline="always")
def _idx(stage: int) -> int:  # pragma: no cover - compiled
    """Table index of a stage (stage 0 reads the tactical entry)."""
    return max(stage, 1) - 1


@njit(cache=True, error_model="numpy", inline="always")
def _clip01(x: float) -> float:  # pragma: no cover - compiled
    """``np.minimum(1.0, np.maximum(0.0, x))``."""
    return min(1.0, max(0.0, x))


# --- step 0 and the stress test -------------------------------------------------------


@njit(cache=True, error_model="numpy")
def begin_quarter(  # pragma: no cover - compiled
    t: int,
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    ai: np.ndarray,
    keys: np.ndarray,
    pf: np.ndarray,
    pi: np.ndarray,
    tab: np.ndarray,
    started: np.ndarray,
    forced: np.ndarray,
    forced_stage: np.ndarray,
    forced_trust: np.ndarray,
    new_focal: np.ndarray,
    lf: np.ndarray,
    li: np.ndarray,
    lb: np.ndarray,
    lpc: np.ndarray,
    run_f: np.ndarray,
    run_max: np.ndarray,
    g_max: int,
    arg: np.ndarray,
) -> None:
    """Step 0: relationships start again, the focal ledger opens them, the stress test.

    A supplier whose relationship with a present account ended more than
    ``replacement_delay`` quarters ago starts a new one, unless a rival holds the
    account as its strategic partner (step 0 of the ODD, `docs/odd.md`). A new
    relationship is tactical with initial trust ``clip(trust_initial -
    trust_initial_spread + 2 * trust_initial_spread * u, 0, 1)`` and standard normal
    biases, its start variates (:mod:`kamsim.variates`, as
    :func:`kamsim.environment.event_starts`). Writes ``started`` (R, M, n), the
    forced ending (``forced``, ``forced_stage``, ``forced_trust``, (R, n)), the focal
    supplier's new relationships ``new_focal`` (R,) and ``arg`` (R, M, n), the
    argument ``potential_bias * clarity[stage] * b`` of each estimate's persistent
    factor.
    """
    r_count, m, n = ri.shape[1], ri.shape[2], ri.shape[3]
    delay = pi[I_DELAY]
    i = t - 1
    share0 = pf[P_SHARE_INITIAL]
    price0 = tab[T_PRICE, 0]
    spread = pf[P_TRUST_SPREAD]
    lo = pf[P_TRUST_INITIAL] - spread
    width = 2.0 * spread
    for r in range(r_count):
        key = keys[r]
        count = 0
        for k in range(m):
            for j in range(n):
                started[r, k, j] = False
        if delay >= 0:
            for j in range(n):
                if ai[PRESENT, r, j] == 0:
                    continue
                held = False
                for k in range(m):
                    if ri[STAGE, r, k, j] == 4:
                        held = True
                if held:
                    continue
                for k in range(m):
                    ended = ri[ENDED_AT, r, k, j]
                    if ri[STAGE, r, k, j] != 0 or ended < 0 or t - ended <= delay:
                        continue
                    started[r, k, j] = True
                    u = uniform(key, counter(i, k, j, START_TRUST))
                    ri[STAGE, r, k, j] = 1
                    ri[TENURE, r, k, j] = 0
                    ri[AGE, r, k, j] = 0
                    rf[TRUST, r, k, j] = _clip01(lo + width * u)
                    rf[STOCK, r, k, j] = 0.0
                    rf[ADAPTATION, r, k, j] = 0.0
                    rf[SHARE, r, k, j] = share0
                    rf[BIAS_P, r, k, j] = normal(key, counter(i, k, j, START_BIAS_P))
                    rf[BIAS_T, r, k, j] = normal(key, counter(i, k, j, START_BIAS_T))
                    ri[STREAK, r, k, j] = 0
                    ri[ENDED_AT, r, k, j] = -1
                    ri[ARRIVED, r, k, j] = t
                    ri[GENERATION, r, k, j] += 1
                    ri[MAX_STAGE, r, k, j] = 1
                    rf[LAST_REVENUE, r, k, j] = share0 * (af[WALLET, r, j] / 4.0) * price0
                    if k == 0:
                        count += 1
                        if g_max > 0:  # the focal ledger is kept
                            _open_entry(
                                r, j, t, ri, af, ai, lf, li, lb, lpc, run_f, run_max, g_max
                            )
        new_focal[r] = count
        _stress_test(r, t, ri, rf, pi, forced, forced_stage, forced_trust)
        bias = pf[P_POTENTIAL_BIAS]
        for k in range(m):
            for j in range(n):
                c = tab[T_CLARITY, _idx(ri[STAGE, r, k, j])]
                arg[r, k, j] = bias * c * rf[BIAS_P, r, k, j]


@njit(cache=True, error_model="numpy")
def _open_entry(  # pragma: no cover - compiled
    r: int,
    j: int,
    t: int,
    ri: np.ndarray,
    af: np.ndarray,
    ai: np.ndarray,
    lf: np.ndarray,
    li: np.ndarray,
    lb: np.ndarray,
    lpc: np.ndarray,
    run_f: np.ndarray,
    run_max: np.ndarray,
    g_max: int,
) -> None:
    """Close the slot's previous focal relationship in the ledger and open the new one."""
    gen = ri[GENERATION, r, 0, j]
    _flush(r, j, j * g_max + gen - 1, lf, li, run_f, run_max)
    col = j * g_max + gen
    lb[L_EXISTS, r, col] = True
    li[L_ARRIVED, r, col] = t
    lb[L_WILLING, r, col] = ai[WILLING, r, j] != 0
    lf[L_POTENTIAL, r, col] = af[POTENTIAL, r, j]
    lpc[r, col] = ai[PCLASS, r, j]


@njit(cache=True, error_model="numpy")
def _flush(  # pragma: no cover - compiled
    r: int,
    j: int,
    col: int,
    lf: np.ndarray,
    li: np.ndarray,
    run_f: np.ndarray,
    run_max: np.ndarray,
) -> None:
    """Write the running values of slot j to ledger column ``col`` and reset them."""
    lf[L_REVENUE, r, col] = run_f[RUN_REVENUE, r, j]
    lf[L_PROFIT, r, col] = run_f[RUN_PROFIT, r, j]
    lf[L_INVESTMENT, r, col] = run_f[RUN_INVESTMENT, r, j]
    lf[L_TRUST, r, col] = run_f[RUN_TRUST, r, j]
    li[L_MAX_STAGE, r, col] = run_max[r, j]
    for f in range(4):
        run_f[f, r, j] = 0.0
    run_max[r, j] = 1


@njit(cache=True, error_model="numpy")
def close_ledger(  # pragma: no cover - compiled
    ri: np.ndarray,
    lf: np.ndarray,
    li: np.ndarray,
    run_f: np.ndarray,
    run_max: np.ndarray,
    g_max: int,
) -> None:
    """Write the running values of every slot's current focal relationship (horizon).

    Nothing to write when the ledger is not kept (``g_max == 0``).
    """
    if g_max == 0:
        return
    for r in range(ri.shape[1]):
        for j in range(ri.shape[3]):
            _flush(r, j, j * g_max + ri[GENERATION, r, 0, j], lf, li, run_f, run_max)


@njit(cache=True, error_model="numpy")
def _stress_test(  # pragma: no cover - compiled
    r: int,
    t: int,
    ri: np.ndarray,
    rf: np.ndarray,
    pi: np.ndarray,
    forced: np.ndarray,
    forced_stage: np.ndarray,
    forced_trust: np.ndarray,
) -> None:
    """The focal supplier's largest relationship ends now if ``lose_largest_at == t``.

    ``forced_stage`` and ``forced_trust`` are written (and read) only where
    ``forced`` is True: the stage and trust the relationship had when it ended.
    """
    n = ri.shape[3]
    for j in range(n):
        forced[r, j] = False
    if pi[I_LOSE_AT] != t:
        return
    best = -np.inf
    jmax = -1
    for j in range(n):
        if ri[STAGE, r, 0, j] > 0:
            v = rf[LAST_REVENUE, r, 0, j]
            if jmax < 0 or v > best:
                best = v
                jmax = j
    if jmax < 0:
        return
    forced[r, jmax] = True
    forced_stage[r, jmax] = ri[STAGE, r, 0, jmax]
    forced_trust[r, jmax] = rf[TRUST, r, 0, jmax]
    _close(r, 0, jmax, ri, rf)


@njit(cache=True, error_model="numpy", inline="always")
def _close(
    r: int, k: int, j: int, ri: np.ndarray, rf: np.ndarray
) -> None:  # pragma: no cover
    """End one relationship (:func:`kamsim.rules.close_relationships`)."""
    ri[STAGE, r, k, j] = 0
    ri[TENURE, r, k, j] = 0
    ri[AGE, r, k, j] = 0
    rf[TRUST, r, k, j] = 0.0
    rf[STOCK, r, k, j] = 0.0
    rf[ADAPTATION, r, k, j] = 0.0
    rf[SHARE, r, k, j] = 0.0
    ri[STREAK, r, k, j] = 0


# --- step 1: observations -------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def observe_quarter(  # pragma: no cover - compiled
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    persistent: np.ndarray,
    keys: np.ndarray,
    i: int,
    pf: np.ndarray,
    tab: np.ndarray,
    reads: np.ndarray,
    obs_f: np.ndarray,
    obs_i: np.ndarray,
    obs_active: np.ndarray,
    obs_class: np.ndarray,
    seen: np.ndarray,
) -> None:
    """Every supplier's observation: :func:`kamsim.policies.observe` of the estimates.

    ``est_p = P * persistent * max(0, 1 + potential_noise * c * z)`` and
    ``est_t = clip(trust + c * (trust_bias * b + trust_noise * z), 0, 1)`` with c the
    stage's clarity (:func:`kamsim.rules.estimate_potential`,
    :func:`kamsim.rules.read_trust`) and the z the relationship's normals of quarter
    index i (:mod:`kamsim.variates`, computed only for live relationships); vacant
    slots show zeros. ``seen`` (R, n) is the focal supplier's estimate of potential
    (0 where it has no relationship). Supplier k's estimate of potential and its
    class are computed only if ``reads[0, k]``, its reading of trust only if
    ``reads[1, k]`` (:func:`kamsim.policies.estimates_read`; zeros otherwise).
    """
    r_count, m, n = ri.shape[1], ri.shape[2], ri.shape[3]
    noise = pf[P_POT_NOISE]
    tnoise = pf[P_TRUST_NOISE]
    low = pf[P_POTENTIAL_LOW]
    high = pf[P_POTENTIAL_HIGH]
    tbias = pf[P_TRUST_BIAS]
    for r in range(r_count):
        key = keys[r]
        for k in range(m):
            reads_p, reads_t = reads[0, k], reads[1, k]
            for j in range(n):
                stage = ri[STAGE, r, k, j]
                if stage <= 0:
                    obs_active[k, r, j] = False
                    obs_i[O_STAGE, k, r, j] = 0
                    obs_i[O_TENURE, k, r, j] = 0
                    for f in range(5):
                        obs_f[f, k, r, j] = 0.0
                    obs_class[k, r, j] = 0
                    if k == 0:
                        seen[r, j] = 0.0
                    continue
                c = tab[T_CLARITY, stage - 1]
                est_p = 0.0
                if reads_p:
                    z_p = normal(key, counter(i, k, j, NOISE_POTENTIAL))
                    factor = max(0.0, 1.0 + noise * c * z_p)
                    est_p = af[POTENTIAL, r, j] * persistent[r, k, j] * factor
                est_t = 0.0
                if reads_t:
                    z_t = normal(key, counter(i, k, j, NOISE_TRUST))
                    bias = tbias * rf[BIAS_T, r, k, j]
                    est_t = _clip01(rf[TRUST, r, k, j] + c * (bias + tnoise * z_t))
                obs_active[k, r, j] = True
                obs_i[O_STAGE, k, r, j] = stage
                obs_i[O_TENURE, k, r, j] = ri[TENURE, r, k, j]
                obs_f[O_REVENUE, k, r, j] = rf[LAST_REVENUE, r, k, j]
                obs_f[O_SHARE, k, r, j] = rf[SHARE, r, k, j]
                obs_f[O_POTENTIAL, k, r, j] = est_p
                obs_f[O_TRUST, k, r, j] = est_t
                obs_f[O_STOCK, k, r, j] = rf[STOCK, r, k, j]
                pclass = (1 if est_p >= low else 0) + (1 if est_p >= high else 0)
                obs_class[k, r, j] = pclass
                if k == 0:
                    seen[r, j] = est_p


@njit(cache=True, error_model="numpy")
def end_quarter(  # pragma: no cover - compiled
    t: int,
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    ai: np.ndarray,
    alloc: np.ndarray,
    keys: np.ndarray,
    downturn: np.ndarray,
    disruption: np.ndarray,
    pf: np.ndarray,
    pi: np.ndarray,
    tab: np.ndarray,
    started: np.ndarray,
    forced: np.ndarray,
    forced_stage: np.ndarray,
    forced_trust: np.ndarray,
    new_focal: np.ndarray,
    record: np.ndarray,
    sup_record: np.ndarray,
    reach: np.ndarray,
    lf: np.ndarray,
    li: np.ndarray,
    run_f: np.ndarray,
    run_max: np.ndarray,
    g_max: int,
    traj: np.ndarray,
    traj_stage: np.ndarray,
    traj_shares: np.ndarray,
    seen: np.ndarray,
) -> None:
    """Steps 2-8 of quarter t for every market.

    :func:`kamsim.rules.market_quarter`, then the settlement and the quarter's
    record (:func:`kamsim.metrics.market_record`).

    ``alloc`` (R, M, n) are the allocations (k€) after the budget check; the
    uniforms of failures, offers and disappearances are computed from the
    replications' ``keys`` (R,) (:mod:`kamsim.variates`); the shocks are the
    environment's whole arrays (``downturn`` (R, T), ``disruption`` (R, T, M)), read
    at quarter t, so their layout never changes between runs (one compile).
    ``record`` (R, T, C) and ``sup_record`` (R, M, T, 5) receive the quarter's
    record at quarter index ``t - 1`` (one market's record is contiguous); ``traj``
    has no replications (axis 1 of length 0) when trajectories are not kept.
    """
    r_count, m, n = ri.shape[1], ri.shape[2], ri.shape[3]
    i = t - 1
    eff = np.empty(m)
    disrupted = np.empty(m, dtype=np.bool_)
    # per-market scratch, (M, n) relationships and (n,) accounts
    live = np.empty((m, n), dtype=np.bool_)
    invest = np.empty((m, n))
    quality = np.empty((m, n))
    trust = np.empty((m, n))
    stock = np.empty((m, n))
    adaptation = np.empty((m, n))
    stage = np.empty((m, n), dtype=np.int64)
    tenure = np.empty((m, n), dtype=np.int64)
    share = np.empty((m, n))
    revenue = np.empty((m, n))
    profit = np.empty((m, n))
    invest_rec = np.empty((m, n))
    cts = np.empty((m, n))
    cause = np.empty((m, n), dtype=np.int64)
    stage_end = np.empty((m, n), dtype=np.int64)
    live_end = np.empty((m, n), dtype=np.bool_)
    trust_rec = np.empty((m, n))
    demand = np.empty(n)
    dcost = np.empty(n)
    present_rec = np.empty(n, dtype=np.bool_)
    vanished = np.empty(n, dtype=np.bool_)
    scratch = np.empty((S_ROWS + m, n))
    counts = np.empty(16, dtype=np.int64)
    acc_tmp = np.empty((4, n))
    for r in range(r_count):
        _efficiency(r, ri, pf, eff)
        for k in range(m):
            disrupted[k] = disruption[r, i, k] or (pi[I_DISRUPT_AT] == t and k == 0)
        _service_quarter(
            r, ri, rf, af, alloc, eff, disrupted, i, keys[r], pf, tab, live,
            invest, quality, trust, stock, adaptation,
        )  # fmt: skip
        _move_stages(
            r, ri, af, ai, pi, tab, live, trust, stock, adaptation, stage, tenure, acc_tmp
        )
        _wallet_quarter(
            r, ri, rf, af, i, keys[r], downturn, pf, tab, disrupted, live, quality,
            trust, stage, share, revenue, demand, vanished, acc_tmp,
        )  # fmt: skip
        _economics_and_settle(
            r, i, keys[r], ri, rf, af, ai, alloc, disrupted, pf, pi, tab, started,
            forced, forced_stage, forced_trust, live, trust, stock, adaptation, stage,
            tenure, share, revenue, profit, invest_rec, cts, cause, stage_end,
            live_end, trust_rec, present_rec, demand, dcost, vanished, acc_tmp,
        )  # fmt: skip
        _record_quarter(
            r, i, m, n, stage_end, live_end, trust_rec, share, revenue, profit,
            invest_rec, cause, demand, present_rec, new_focal, dcost, downturn,
            disrupted, record, sup_record, scratch, counts,
        )  # fmt: skip
        _focal_ledger(
            r, t, ri, stage_end, cause, revenue, profit, invest_rec, trust_rec,
            reach, li, run_f, run_max, g_max,
        )  # fmt: skip
        if traj.shape[1] > 0:
            _trajectory(
                r, i, stage, stage_end, trust_rec, share, revenue, profit, invest_rec,
                cts, seen, traj, traj_stage, traj_shares,
            )  # fmt: skip
        _end_relationships(r, t, ri, rf, ai, live, stage, revenue, cause, vanished)


@njit(cache=True, error_model="numpy")
def _efficiency(
    r: int, ri: np.ndarray, pf: np.ndarray, eff: np.ndarray
) -> None:  # pragma: no cover
    """:func:`kamsim.rules.manager_efficiency` of each supplier's live relationships."""
    capacity = pf[P_CAPACITY]
    penalty = pf[P_OVERLOAD]
    for k in range(ri.shape[2]):
        count = 0
        for j in range(ri.shape[3]):
            if ri[STAGE, r, k, j] > 0:
                count += 1
        over = max(0.0, float(count) - capacity)
        eff[k] = 1.0 / (1.0 + penalty * over / capacity)


@njit(cache=True, error_model="numpy")
def _service_quarter(  # pragma: no cover - compiled
    r: int,
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    alloc: np.ndarray,
    eff: np.ndarray,
    disrupted: np.ndarray,
    i: int,
    key: np.uint64,
    pf: np.ndarray,
    tab: np.ndarray,
    live: np.ndarray,
    invest: np.ndarray,
    quality: np.ndarray,
    trust: np.ndarray,
    stock: np.ndarray,
    adaptation: np.ndarray,
) -> None:
    """Steps 2-3 of :func:`kamsim.rules.market_quarter` for every account of market r.

    Service, trust, the supplier's stock and the account's adaptation.
    """
    m, n = ri.shape[2], ri.shape[3]
    stock_weight = pf[P_STOCK_WEIGHT]
    service_scale = pf[P_SERVICE_SCALE]
    failure_base = pf[P_FAILURE_BASE]
    complacency_failure = pf[P_COMPLACENCY_FAILURE]
    keep_on_failure = 1.0 - pf[P_TRUST_LOSS]
    base = pf[P_TRUST_BASE]
    gain = pf[P_TRUST_GAIN]
    drift = pf[P_COMPLACENCY_DRIFT]
    keep_stock = 1.0 - pf[P_DEPRECIATION]
    keep_adaptation = 1.0 - pf[P_ADAPT_DEPRECIATION]
    scale = af[SCALE, r]
    # supplier by supplier over contiguous account rows, without branches, so the
    # compiler can vectorise; every value is the same expression as in the rules
    for k in range(m):
        stage0 = ri[STAGE, r, k]
        stock0 = rf[STOCK, r, k]
        trust0 = rf[TRUST, r, k]
        adaptation0 = rf[ADAPTATION, r, k]
        alloc_k = alloc[r, k]
        eff_k = eff[k]
        hit = disrupted[k]
        for j in range(n):
            s0 = stage0[j]
            lv = s0 > 0
            x = _idx(s0)
            e = alloc_k[j] * eff_k
            st = stock0[j]
            z = (e + stock_weight * st) / (service_scale * scale[j])
            q = z / (1.0 + z) if lv else 0.0
            ng = lv & (e < tab[T_MAINTENANCE, x] * scale[j])
            ngf = 1.0 if ng else 0.0
            p_fail = min(1.0, failure_base * (1.0 - q) + complacency_failure * ngf)
            failed = (uniform(key, counter(i, k, j, FAILURE)) < p_fail) | hit
            old = trust0[j]
            bad = old * keep_on_failure
            good = old + gain * ((base + (1.0 - base) * q) - old)
            tr = _clip01((bad if failed else good) - drift * ngf) if lv else old
            live[k, j] = lv
            invest[k, j] = e
            quality[k, j] = q
            trust[k, j] = tr
            stock[k, j] = keep_stock * st + e
            grown = keep_adaptation * adaptation0[j] + tab[T_ADAPTATION, x] * tr * scale[j]
            adaptation[k, j] = grown if lv else 0.0


@njit(cache=True, error_model="numpy")
def _move_stages(  # pragma: no cover - compiled
    r: int,
    ri: np.ndarray,
    af: np.ndarray,
    ai: np.ndarray,
    pi: np.ndarray,
    tab: np.ndarray,
    live: np.ndarray,
    trust: np.ndarray,
    stock: np.ndarray,
    adaptation: np.ndarray,
    stage: np.ndarray,
    tenure: np.ndarray,
    acc_tmp: np.ndarray,
) -> None:
    """:func:`kamsim.rules.move_stages` for every account of market r.

    ``stage`` first holds each relationship's wish (1 up, 2 down, 3 both), then its
    new stage.
    """
    m, n = ri.shape[2], ri.shape[3]
    scale = af[SCALE, r]
    willing = ai[WILLING, r]
    min_tenure = pi[I_MIN_TENURE]
    best, taken, winner = acc_tmp[0], acc_tmp[1], acc_tmp[2]
    for j in range(n):
        best[j] = -np.inf
        taken[j] = 0.0
        winner[j] = -1.0
    for k in range(m):
        stage0 = ri[STAGE, r, k]
        tenure0 = ri[TENURE, r, k]
        for j in range(n):
            s0 = stage0[j]
            x = _idx(s0)
            tenure1 = tenure0[j] + 1
            lv = live[k, j]
            tr = trust[k, j]
            up = (
                lv
                & (tenure1 >= min_tenure)
                & (tr >= tab[T_TRUST_UP, x])
                & (stock[k, j] + adaptation[k, j] >= tab[T_JOINT_UP, x] * scale[j])
                & (willing[j] != 0)
            )
            down = lv & (tr < tab[T_TRUST_DOWN, x])
            stage[k, j] = (1 if up else 0) + (2 if down else 0)
            tenure[k, j] = tenure1
            taken[j] = 1.0 if (lv & (s0 == 4) & ~down) else taken[j]
    # of several candidates for strategic the most trusted wins (lowest index on a tie)
    for k in range(m):
        stage0 = ri[STAGE, r, k]
        for j in range(n):
            better = (
                ((stage[k, j] & 1) != 0)
                & (stage0[j] == 3)
                & (taken[j] == 0.0)
                & (trust[k, j] > best[j])
            )
            best[j] = trust[k, j] if better else best[j]
            winner[j] = float(k) if better else winner[j]
    for k in range(m):
        stage0 = ri[STAGE, r, k]
        for j in range(n):
            s0 = stage0[j]
            up = ((stage[k, j] & 1) != 0) & ((s0 < 3) | (winner[j] == float(k)))
            down = (stage[k, j] & 2) != 0
            stage[k, j] = s0 + (1 if up else 0) - (1 if down else 0)
            tenure[k, j] = 0 if (up | down) else tenure[k, j]


@njit(cache=True, error_model="numpy")
def _wallet_quarter(  # pragma: no cover - compiled
    r: int,
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    i: int,
    key: np.uint64,
    downturn: np.ndarray,
    pf: np.ndarray,
    tab: np.ndarray,
    disrupted: np.ndarray,
    live: np.ndarray,
    quality: np.ndarray,
    trust: np.ndarray,
    stage: np.ndarray,
    share: np.ndarray,
    revenue: np.ndarray,
    demand: np.ndarray,
    vanished: np.ndarray,
    acc_tmp: np.ndarray,
) -> None:
    """Steps 1 and 5 of :func:`kamsim.rules.market_quarter` for every account of r.

    Demand, disappearance, wariness and the wallet split; leaves the quarter's
    wallet in ``acc_tmp[0]`` for :func:`_economics_and_settle`.
    """
    m, n = ri.shape[2], ri.shape[3]
    wallet = af[WALLET, r]
    growth = af[GROWTH, r]
    wariness = af[WARINESS, r]
    tolerance = af[TOLERANCE, r]
    depth = pf[P_DOWNTURN_DEPTH] * downturn[r, i]
    decay = pf[P_WARINESS_DECAY]
    wary_gain = pf[P_WARINESS_GAIN]
    sa = pf[P_SERVICE_ATTRACTION]
    hazard = pf[P_HAZARD]
    # per-account running sums over suppliers (supplier order, as supplier_sum)
    wallet_q, hit, total_a, total_moved = acc_tmp[0], acc_tmp[1], acc_tmp[2], acc_tmp[3]
    for j in range(n):
        grown = wallet[j] * (1.0 + growth[j] / 4.0)
        wallet[j] = grown
        wallet_q[j] = grown / 4.0
        demand[j] = wallet_q[j] * (1.0 - depth)
        vanished[j] = uniform(key, counter(i, 0, j, VANISH)) < hazard
    # 5. wallet split: wariness, attraction, targets, partial adjustment
    for k in range(m):
        share0 = rf[SHARE, r, k]
        hit_k = disrupted[k]
        for j in range(n):
            x = share0[j] if (hit_k & live[k, j]) else 0.0
            hit[j] = x if k == 0 else hit[j] + x
    for j in range(n):
        wariness[j] = decay * wariness[j] + wary_gain * hit[j]
    for k in range(m):
        for j in range(n):
            s1 = stage[k, j]
            a = tab[T_ATTRACTION, _idx(s1)] * trust[k, j] * (1.0 + sa * quality[k, j])
            a = a if s1 > 0 else 0.0
            revenue[k, j] = a  # attraction, kept in the revenue scratch until step 6
            total_a[j] = a if k == 0 else total_a[j] + a
    for k in range(m):
        share0 = rf[SHARE, r, k]
        for j in range(n):
            s1 = stage[k, j]
            x = _idx(s1)
            raw = revenue[k, j] / (1.0 + total_a[j])
            limit = min(tab[T_SHARE_CAP, x], tolerance[j]) if s1 < 4 else 1.0
            target = min(raw, max(0.0, limit - wariness[j])) if s1 > 0 else 0.0
            old = share0[j]
            moved = old + tab[T_ADJUSTMENT, x] * (target - old)
            moved = moved if s1 > 0 else 0.0
            share[k, j] = moved
            total_moved[j] = moved if k == 0 else total_moved[j] + moved
    for k in range(m):
        for j in range(n):
            if total_moved[j] > 1.0:
                share[k, j] = share[k, j] / max(total_moved[j], 1.0)


@njit(cache=True, error_model="numpy")
def _economics_and_settle(  # pragma: no cover - compiled
    r: int,
    i: int,
    key: np.uint64,
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    ai: np.ndarray,
    alloc: np.ndarray,
    disrupted: np.ndarray,
    pf: np.ndarray,
    pi: np.ndarray,
    tab: np.ndarray,
    started: np.ndarray,
    forced: np.ndarray,
    forced_stage: np.ndarray,
    forced_trust: np.ndarray,
    live: np.ndarray,
    trust: np.ndarray,
    stock: np.ndarray,
    adaptation: np.ndarray,
    stage: np.ndarray,
    tenure: np.ndarray,
    share: np.ndarray,
    revenue: np.ndarray,
    profit: np.ndarray,
    invest_rec: np.ndarray,
    cts: np.ndarray,
    cause: np.ndarray,
    stage_end: np.ndarray,
    live_end: np.ndarray,
    trust_rec: np.ndarray,
    present_rec: np.ndarray,
    demand: np.ndarray,
    dcost: np.ndarray,
    vanished: np.ndarray,
    acc_tmp: np.ndarray,
) -> None:
    """Steps 6-7 and the settlement of step 8 for every relationship of market r.

    Economics (revenue, cost to serve, profit), the endings (offers, loss streaks,
    floors, disappearance), then the quarter's outcome becomes the state: one pass.
    """
    m, n = ri.shape[2], ri.shape[3]
    wallet_q = acc_tmp[0]  # the quarter's wallet, from _wallet_quarter
    sensitivity = af[SENSITIVITY, r]
    margin = pf[P_MARGIN]
    prob = pf[P_OFFER_PROB]
    offer_max = pf[P_OFFER_MAX]
    horizon = pf[P_SWITCH_HORIZON]
    trust_value = pf[P_TRUST_VALUE]
    dependency = pf[P_DISRUPTION_DEP]
    trust_floor = pf[P_TRUST_FLOOR]
    share_floor = pf[P_SHARE_FLOOR]
    drop_after = pi[I_DROP_AFTER]
    acquisition = pf[P_ACQUISITION]
    for j in range(n):
        present_rec[j] = ai[PRESENT, r, j] != 0
    for k in range(m):
        alloc_k = alloc[r, k]
        streak0 = ri[STREAK, r, k]
        hit_k = disrupted[k]
        focal = k == 0
        for j in range(n):
            lv = live[k, j]
            s1 = stage[k, j]
            x = _idx(s1)
            sh = share[k, j]
            dq = demand[j]
            # 6. economics
            rev = dq * sh * tab[T_PRICE, x] if lv else 0.0
            cost = tab[T_CTS, x] * wallet_q[j] + tab[T_FIXED, x] if lv else 0.0
            prof = margin * rev - cost - alloc_k[j]
            revenue[k, j] = rev
            cts[k, j] = cost
            lost = dependency * sh * dq if (hit_k & lv) else 0.0
            dcost[j] = lost if k == 0 else dcost[j] + lost
            # 7. endings
            spend_q = sh * dq
            tr = trust[k, j]
            barrier = (tab[T_EXIT_COST, x] + trust_value * tr) * spend_q + adaptation[k, j]
            u = uniform(key, counter(i, k, j, OFFER))
            arrived = u < prob
            discount = offer_max * u / prob if arrived else 0.0
            gain = sensitivity[j] * discount * spend_q * horizon
            switched = arrived & (gain > barrier)
            streak = streak0[j] + 1 if (lv & (prof < 0.0)) else 0
            dropped = (streak >= drop_after) & (drop_after > 0)
            c = _DROPPED if dropped else 0
            c = _FADED if sh < share_floor else c
            c = _BREACH if tr < trust_floor else c
            c = _SWITCHED if switched else c
            c = _VANISHED if vanished[j] else c
            streak0[j] = streak
            # 8. settlement: the quarter's outcome (the stress test's forced ending
            # counts as a switch at the stage and trust it had) becomes the state
            f = focal & forced[r, j]
            acquired = acquisition if started[r, k, j] else 0.0
            profit[k, j] = (prof if lv else 0.0) - acquired
            invest_rec[k, j] = alloc_k[j] if lv else 0.0
            c = _SWITCHED if f else (c if lv else 0)
            se = forced_stage[r, j] if f else s1
            cause[k, j] = c
            stage_end[k, j] = se
            live_end[k, j] = (se > 0) & (c == 0)
            trust_rec[k, j] = forced_trust[r, j] if f else tr
            ri[STAGE, r, k, j] = s1
            if lv:
                ri[TENURE, r, k, j] = tenure[k, j]
                ri[AGE, r, k, j] += 1
            rf[TRUST, r, k, j] = tr
            rf[STOCK, r, k, j] = stock[k, j]
            rf[ADAPTATION, r, k, j] = adaptation[k, j]
            rf[SHARE, r, k, j] = sh
            rf[LAST_CTS, r, k, j] = cost if c == 0 else 0.0


# rows of the record's summands (scratch (S_ROWS + M, n)): each is summed over the
# accounts by NumPy's pairwise order; rows S_ROWS.. hold each supplier's wallet share
S_DEMAND, S_TRUST, S_SHARE, S_DEPENDENCE, S_DCOST, S_SQUARES, S_SHARES = range(7)
S_ROWS = 7


@njit(cache=True, error_model="numpy")
def _record_quarter(  # pragma: no cover - compiled
    r: int,
    i: int,
    m: int,
    n: int,
    stage_end: np.ndarray,
    live_end: np.ndarray,
    trust_rec: np.ndarray,
    share: np.ndarray,
    revenue: np.ndarray,
    profit: np.ndarray,
    invest_rec: np.ndarray,
    cause: np.ndarray,
    demand: np.ndarray,
    present: np.ndarray,
    new_focal: np.ndarray,
    dcost: np.ndarray,
    downturn: np.ndarray,
    disrupted: np.ndarray,
    record: np.ndarray,
    sup_record: np.ndarray,
    scratch: np.ndarray,
    counts: np.ndarray,
) -> None:
    """:func:`kamsim.metrics.market_record` of market r, quarter index i.

    One pass over the accounts counts and writes every summand to a row of
    ``scratch``; each row is then summed in NumPy's pairwise order.
    """
    counts[:] = 0
    n_present = 0
    rival_strategic = 0
    for j in range(n):
        live0 = live_end[0, j]
        st = stage_end[0, j] if live0 else 0
        if st > 0:
            counts[st - 1] += 1
            counts[4] += 1
        c = cause[0, j]
        if c > 0:
            counts[4 + c] += 1
            se = stage_end[0, j]
            if se > 0:
                counts[9 + se] += 1
        here = present[j]
        dep = 0.0
        rs = False
        for k in range(m):
            lv = live_end[k, j]
            v = share[k, j] if lv else 0.0
            dep = v if k == 0 else max(dep, v)
            if k > 0 and lv and stage_end[k, j] == 4:
                rs = True
            scratch[S_ROWS + k, j] = share[k, j] * demand[j]
        if here:
            n_present += 1
            if rs:
                rival_strategic += 1
        scratch[S_DEMAND, j] = demand[j] if here else 0.0
        scratch[S_TRUST, j] = trust_rec[0, j] if live0 else 0.0
        scratch[S_SHARE, j] = share[0, j] if here else 0.0
        scratch[S_DEPENDENCE, j] = dep if here else 0.0
        scratch[S_DCOST, j] = dcost[j] if here else 0.0
    for c in range(14):
        record[r, i, c] = counts[c]
    record[r, i, Q_NEW] = new_focal[r]
    record[r, i, Q_RIVAL_STRATEGIC] = rival_strategic
    # market shares and sums of every supplier
    total_demand = _row_sum(scratch, S_DEMAND, n)
    for k in range(m):
        wallet_share = _row_sum(scratch, S_ROWS + k, n)
        ms = wallet_share / total_demand if total_demand > 0 else np.nan
        sup_record[r, k, i, S_MARKET_SHARE] = ms
        sup_record[r, k, i, S_REVENUE] = _row_sum(revenue, k, n)
        sup_record[r, k, i, S_PROFIT] = _row_sum(profit, k, n)
        sup_record[r, k, i, S_INVESTMENT] = _row_sum(invest_rec, k, n)
        active = 0
        for j in range(n):
            if live_end[k, j]:
                active += 1
        sup_record[r, k, i, S_ACTIVE] = active
    record[r, i, Q_REVENUE] = sup_record[r, 0, i, S_REVENUE]
    record[r, i, Q_PROFIT] = sup_record[r, 0, i, S_PROFIT]
    record[r, i, Q_INVESTMENT] = sup_record[r, 0, i, S_INVESTMENT]
    record[r, i, Q_MARKET_SHARE] = sup_record[r, 0, i, S_MARKET_SHARE]
    # means over live relationships / present accounts
    record[r, i, Q_MEAN_TRUST] = _mean(_row_sum(scratch, S_TRUST, n), counts[4])
    record[r, i, Q_MEAN_SHARE] = _mean(_row_sum(scratch, S_SHARE, n), n_present)
    dependence = _row_sum(scratch, S_DEPENDENCE, n)
    record[r, i, Q_MEAN_DEPENDENCE] = _mean(dependence, n_present)
    record[r, i, Q_DISRUPTION_COST] = _row_sum(scratch, S_DCOST, n)
    _concentration(r, i, n, revenue, sup_record[r, 0, i, S_REVENUE], record, scratch)
    record[r, i, Q_DOWNTURN] = downturn[r, i]
    record[r, i, Q_DISRUPTION] = 1.0 if disrupted[0] else 0.0


@njit(cache=True, error_model="numpy", inline="always")
def _mean(total: float, count: int) -> float:  # pragma: no cover - compiled
    """``metrics._mean_over``: total / count, NaN for an empty mask."""
    return total / max(count, 1) if count > 0 else np.nan


@njit(cache=True, error_model="numpy", inline="always")
def _concentration(  # pragma: no cover - compiled
    r: int,
    i: int,
    n: int,
    revenue: np.ndarray,
    total: float,
    record: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """HHI, largest share and top-fifth share of the focal revenue (kamsim.metrics).

    ``total`` is the focal revenue's pairwise sum; the shares go to row
    ``S_SHARES`` of ``scratch``, their squares to row ``S_SQUARES``.
    """
    if not total > 0:
        record[r, i, Q_HHI] = np.nan
        record[r, i, Q_LARGEST] = np.nan
        record[r, i, Q_TOP_FIFTH] = np.nan
        return
    positive = 0
    largest = 0.0
    for j in range(n):
        s = revenue[0, j] / total
        scratch[S_SHARES, j] = s
        scratch[S_SQUARES, j] = s * s
        largest = s if j == 0 else max(largest, s)
        if revenue[0, j] > 0:
            positive += 1
    record[r, i, Q_HHI] = _row_sum(scratch, S_SQUARES, n)
    record[r, i, Q_LARGEST] = largest
    # the k largest shares in descending order (an insertion buffer, row S_SQUARES
    # reused: most shares are below the k-th and cost one comparison), summed from
    # the largest as NumPy's cumsum of the descending sort does
    k = min(max(1, -(-positive // 5)), n)
    count = 0
    for j in range(n):
        v = scratch[S_SHARES, j]
        if count == k and not v > scratch[S_SQUARES, k - 1]:
            continue
        pos = count if count < k else k - 1
        while pos > 0 and scratch[S_SQUARES, pos - 1] < v:
            scratch[S_SQUARES, pos] = scratch[S_SQUARES, pos - 1]
            pos -= 1
        scratch[S_SQUARES, pos] = v
        if count < k:
            count += 1
    acc = scratch[S_SQUARES, 0]
    for q in range(1, k):
        acc = acc + scratch[S_SQUARES, q]
    record[r, i, Q_TOP_FIFTH] = acc


@njit(cache=True, error_model="numpy")
def _focal_ledger(  # pragma: no cover - compiled
    r: int,
    t: int,
    ri: np.ndarray,
    stage_end: np.ndarray,
    cause: np.ndarray,
    revenue: np.ndarray,
    profit: np.ndarray,
    invest_rec: np.ndarray,
    trust_rec: np.ndarray,
    reach: np.ndarray,
    li: np.ndarray,
    run_f: np.ndarray,
    run_max: np.ndarray,
    g_max: int,
) -> None:
    """Stage reach times of the focal relationships, and their ledger.

    The ledger's running values and endings only if it is kept (``g_max > 0``).
    """
    for j in range(ri.shape[3]):
        s = stage_end[0, j]
        if s > ri[MAX_STAGE, r, 0, j] and s >= 2:
            reach[s - 2, 0, r] += float(t - ri[ARRIVED, r, 0, j] + 1)
            reach[s - 2, 1, r] += 1.0
        if g_max == 0:
            continue
        run_f[RUN_REVENUE, r, j] += revenue[0, j]
        run_f[RUN_PROFIT, r, j] += profit[0, j]
        run_f[RUN_INVESTMENT, r, j] += invest_rec[0, j]
        if s > 0:
            run_f[RUN_TRUST, r, j] = trust_rec[0, j]
            run_max[r, j] = max(run_max[r, j], s)
        if cause[0, j] > 0:
            col = j * g_max + ri[GENERATION, r, 0, j]
            li[L_ENDED, r, col] = t
            li[L_END_CAUSE, r, col] = cause[0, j]
            li[L_END_STAGE, r, col] = s


@njit(cache=True, error_model="numpy")
def _trajectory(  # pragma: no cover - compiled
    r: int,
    i: int,
    stage: np.ndarray,
    stage_end: np.ndarray,
    trust_rec: np.ndarray,
    share: np.ndarray,
    revenue: np.ndarray,
    profit: np.ndarray,
    invest_rec: np.ndarray,
    cts: np.ndarray,
    seen: np.ndarray,
    traj: np.ndarray,
    traj_stage: np.ndarray,
    traj_shares: np.ndarray,
) -> None:
    """The focal supplier's per-slot trajectories and every supplier's share."""
    m, n = stage.shape
    for j in range(n):
        ran = stage[0, j] > 0
        traj_stage[r, i, j] = stage[0, j] if ran else 0
        traj[TR_TRUST, r, i, j] = trust_rec[0, j] if ran else 0.0
        traj[TR_SHARE, r, i, j] = share[0, j] if ran else 0.0
        traj[TR_REVENUE, r, i, j] = revenue[0, j]
        traj[TR_PROFIT, r, i, j] = profit[0, j]
        traj[TR_INVESTMENT, r, i, j] = invest_rec[0, j]
        traj[TR_CTS, r, i, j] = cts[0, j] if ran else 0.0
        traj[TR_ESTIMATE, r, i, j] = seen[r, j]
        for k in range(m):
            traj_shares[r, i, k, j] = share[k, j] if stage_end[k, j] > 0 else 0.0


@njit(cache=True, error_model="numpy")
def _end_relationships(  # pragma: no cover - compiled
    r: int,
    t: int,
    ri: np.ndarray,
    rf: np.ndarray,
    ai: np.ndarray,
    live: np.ndarray,
    stage: np.ndarray,
    revenue: np.ndarray,
    cause: np.ndarray,
    vanished: np.ndarray,
) -> None:
    """Step 8: ended relationships close, vanished accounts leave their slots."""
    m, n = stage.shape
    for k in range(m):
        for j in range(n):
            rf[LAST_REVENUE, r, k, j] = revenue[k, j]
            if live[k, j]:
                ri[MAX_STAGE, r, k, j] = max(ri[MAX_STAGE, r, k, j], stage[k, j])
            if cause[k, j] > 0:
                _close(r, k, j, ri, rf)
                ri[ENDED_AT, r, k, j] = t
    for j in range(n):
        if vanished[j] and ai[PRESENT, r, j] != 0:
            ai[PRESENT, r, j] = 0
            ai[VACATED_AT, r, j] = t


__all__ = [
    "begin_quarter",
    "close_ledger",
    "end_quarter",
    "observe_quarter",
    "pack_params",
]
