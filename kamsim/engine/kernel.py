"""The batched engine's compiled loops over replications x accounts (Numba).

The batched engine (:mod:`kamsim.engine`) spends a quarter of R markets in three
compiled calls around the suppliers' policies, which stay plain Python callables:

1. :func:`begin_quarter` — step 0: suppliers court accounts again
   (:func:`kamsim.model.rules.renew_relationships`), the focal ledger opens the new
   relationships, the stress test (:func:`kamsim.model.rules.largest_relationship`);
2. :func:`observe_quarter` — step 1: every supplier's estimates of potential and
   trust (:func:`rules.estimate_potential`, :func:`rules.read_trust`)
   and its observation arrays;
3. :func:`end_quarter` — steps 2-8: the accounts' quarter
   (:func:`kamsim.model.rules.account_quarter`, all of a market's accounts in one call),
   then the settlement, the quarter's record, the focal ledger, the trajectories and the
   endings.

No equation of the model is written here: this module loops, settles and records;
the mechanisms are the compiled functions of :mod:`kamsim.model.rules`, which the Mesa
agents call too. Sums over the accounts of a record replicate NumPy's pairwise
summation (:func:`pairwise_sum`), so that a record does not depend on the face that
computed it. The compiled code is cached on disk (``cache=True``), so it is compiled
once per machine. The rules are inlined into these loops; they receive borrowed views
of the arrays (:func:`kamsim.model.views.borrowed`), so the loops count no references
per account.

The entry points called from Python (:func:`arrive`, :func:`begin_quarter`,
:func:`observe_quarter`, :func:`end_quarter`) take the parameters as the one-element
array of :func:`kamsim.model.state.params_array` (Numba takes about 8 µs to receive
a record from Python, a fraction of a microsecond for an array) and hand the rules a
copy of the record on the stack (:func:`kamsim.model.views.on_stack`).

Array layouts (C order): relationships (field, R, M, n), accounts (field, R, n), as
named in :mod:`kamsim.model.state`; one account's relationships are the view
``[:, r, :, j]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kamsim.model import cache as _cache  # noqa: F401  (kamsim-wide cache stamp)
from kamsim.model import market, rules
from kamsim.model.judgement import potential_class
from kamsim.model.market import (
    F_CTS,
    F_INVEST,
    F_PROFIT,
    F_REVENUE,
    F_SHARE,
    F_TRUST,
    I_CAUSE,
    I_STAGE,
    I_STAGE_END,
    S_ROWS,
)
from kamsim.model.state import (
    ARRIVED,
    ENDED_AT,
    GENERATION,
    LAST_REVENUE,
    MAX_STAGE,
    POTENTIAL,
    PRESENT,
    STAGE,
    TRUST,
    WALLET,
    WILLING,
    CompiledParams,
)
from kamsim.model.views import borrowed, on_stack

# focal ledger: float, int and bool columns, (k, R, n * G)
L_REVENUE, L_PROFIT, L_INVESTMENT, L_TRUST, L_POTENTIAL = range(5)
L_ARRIVED, L_ENDED, L_END_CAUSE, L_END_STAGE, L_MAX_STAGE = range(5)
L_WILLING, L_EXISTS = range(2)
# running values of the relationship in each slot, (4, R, n) float and (R, n) int
RUN_REVENUE, RUN_PROFIT, RUN_INVESTMENT, RUN_TRUST = range(4)

# trajectories (k, R, T, n) float: trust, share_of_wallet, revenue, profit,
# investment, cost_to_serve, estimated_potential (engine.TRAJECTORY_KEYS order)
TR_TRUST, TR_SHARE, TR_REVENUE, TR_PROFIT, TR_INVESTMENT, TR_CTS, TR_ESTIMATE = range(7)
# the focal estimate of willingness, and the account's wallet, true potential (k€/yr,
# 0 in a vacant slot) and willingness (1/0)
TR_WILLING_EST, TR_WALLET, TR_POTENTIAL, TR_WILLING = range(7, 11)


# --- step 0: arrivals, renewals and the stress test ------------------------------------


@njit(cache=True, error_model="numpy")
def arrive(  # pragma: no cover - compiled
    t: int, af: np.ndarray, ai: np.ndarray, keys: np.ndarray, params: np.ndarray
) -> None:
    """Step 0a for every market: :func:`kamsim.model.market.arrive`."""
    market.arrive(t, af, ai, keys, on_stack(params[0]))


@njit(cache=True, error_model="numpy")
def begin_quarter(  # pragma: no cover - compiled
    t: int,
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    ai: np.ndarray,
    keys: np.ndarray,
    params: np.ndarray,
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
) -> None:
    """Step 0: relationships start again, the focal ledger opens them, the stress test.

    Each present account with a relationship that ended more than
    ``replacement_delay`` quarters ago (the others have nothing to renew, as in the
    Mesa face) has its relationships start again by
    :func:`kamsim.model.rules.renew_relationships` (with the start variates of quarter
    index ``t - 1``); a restarted relationship counts a new generation of its slot.
    Writes ``started`` (R, M, n), the focal supplier's new relationships ``new_focal``
    (R,) and the stress test's forced ending (``forced``, ``forced_stage``,
    ``forced_trust``, (R, n)).
    """
    r_count, m, n = ri.shape[1], ri.shape[2], ri.shape[3]
    p = on_stack(params[0])
    ri, rf, started = borrowed(ri), borrowed(rf), borrowed(started)
    due = np.empty(n, dtype=np.bool_)  # a relationship of the account may restart
    for r in range(r_count):
        count = 0
        for j in range(n):
            due[j] = False
        for k in range(m):
            for j in range(n):
                started[r, k, j] = False
                ended = ri[ENDED_AT, r, k, j]
                due[j] |= rules.may_restart(ri[STAGE, r, k, j], ended, t, p)
        if p.replacement_delay >= 0:
            for j in range(n):
                if ai[PRESENT, r, j] == 0 or not due[j]:  # nothing to renew
                    continue
                wallet = af[WALLET, r, j]
                rules.renew_relationships(ri, rf, r, j, wallet, keys[r], t, p, started)
                for k in range(m):
                    if not started[r, k, j]:
                        continue
                    ri[GENERATION, r, k, j] += 1
                    if k == 0:
                        count += 1
                        if g_max > 0:  # the focal ledger is kept
                            _open_entry(
                                r,
                                j,
                                t,
                                ri,
                                af,
                                ai,
                                p,
                                lf,
                                li,
                                lb,
                                lpc,
                                run_f,
                                run_max,
                                g_max,
                            )
        new_focal[r] = count
        _stress_test(r, t, ri, rf, p, forced, forced_stage, forced_trust)


@njit(cache=True, error_model="numpy")
def _stress_test(  # pragma: no cover - compiled
    r: int,
    t: int,
    ri: np.ndarray,
    rf: np.ndarray,
    p: CompiledParams,
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
    if p.lose_largest_at != t:
        return
    jmax = rules.largest_relationship(ri[STAGE, r, 0], rf[LAST_REVENUE, r, 0])
    if jmax < 0:
        return
    forced[r, jmax] = True
    forced_stage[r, jmax] = ri[STAGE, r, 0, jmax]
    forced_trust[r, jmax] = rf[TRUST, r, 0, jmax]
    rules.close_relationship(ri, rf, r, 0, jmax)


@njit(cache=True, error_model="numpy")
def _open_entry(  # pragma: no cover - compiled
    r: int,
    j: int,
    t: int,
    ri: np.ndarray,
    af: np.ndarray,
    ai: np.ndarray,
    p: CompiledParams,
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
    lpc[r, col] = potential_class(af[POTENTIAL, r, j], p)


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


# --- step 1: observations -------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def observe_quarter(  # pragma: no cover - compiled
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    ai: np.ndarray,
    keys: np.ndarray,
    i: int,
    params: np.ndarray,
    reads: np.ndarray,
    obs_f: np.ndarray,
    obs_i: np.ndarray,
    seen: np.ndarray,
) -> None:
    """Every supplier's observation of quarter index i (:func:`rules.observe_account`).

    ``obs_f`` (OBS_F, M, R, n) and ``obs_i`` (OBS_I, M, R, n) receive, for each
    account, what each supplier sees of its relationship; ``reads`` (3, M) says which
    estimates each supplier's policy reads (:func:`kamsim.policies.estimates_read`).
    ``seen`` (2, R, n) is the focal supplier's estimate of potential and of
    willingness (0 where it has no relationship or does not compute them).
    """
    r_count, n = ri.shape[1], ri.shape[3]
    p = on_stack(params[0])
    for r in range(r_count):
        market.observe_market(ri, rf, af, ai, r, keys[r], i, p, reads, obs_f, obs_i)
        for j in range(n):
            seen[0, r, j] = obs_f[rules.O_POTENTIAL, 0, r, j]
            seen[1, r, j] = obs_f[rules.O_WILLING, 0, r, j]


# --- steps 2-8 -------------------------------------------------------------------------


def end_quarter_work(m: int, n: int) -> tuple[np.ndarray, ...]:
    """Scratch arrays of :func:`end_quarter` for M suppliers and n slots.

    Efficiency and disruption per supplier; the settled quarter (``qf``, ``qi``,
    ``qa`` of :mod:`kamsim.model.market`); the record's summands and counts; the
    accounts' quarter (``out_f``, ``out_i``, ``acc_out`` of :mod:`kamsim.model.rules`).
    """
    return (
        np.empty(m),
        np.empty(m, dtype=np.bool_),
        np.empty((market.QF_ROWS, m, n)),
        np.empty((market.QI_ROWS, m, n), dtype=np.int64),
        np.empty((market.QA_ROWS, n)),
        np.empty((S_ROWS + m, n)),
        np.empty(16, dtype=np.int64),
        np.empty((rules.OUT_F, m, n)),
        np.empty((rules.OUT_I, m, n), dtype=np.int64),
        np.empty((rules.ACCOUNT_OUT, n)),
    )


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
    params: np.ndarray,
    starts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    records: tuple[np.ndarray, np.ndarray, np.ndarray],
    ledger: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    g_max: int,
    trajectories: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    work: tuple[np.ndarray, ...],
) -> None:
    """Steps 2-8 of quarter t for every market.

    For each market, :func:`kamsim.model.rules.account_quarter` of all its accounts;
    then the settlement (:func:`kamsim.model.market.settle_market`), the quarter's
    record (:func:`kamsim.model.market.record_quarter`), the focal ledger, the
    trajectories and the endings (:func:`kamsim.model.market.end_relationships`).

    ``alloc`` (R, M, n) are the allocations (k€) after the budget check; the shocks
    are the environment's whole arrays (``downturn`` (R, T), ``disruption`` (R, T,
    M)), read at quarter t, so their layout never changes between runs (one compile).
    ``starts`` are the step-0 arrays (started, forced, forced_stage, forced_trust,
    new_focal); ``records`` (record (R, T, C), sup_record (R, M, T, 5), reach);
    ``ledger`` (lf, li, run_f, run_max); ``trajectories`` (traj, traj_stage,
    traj_shares, seen), with no replications when they are not kept; ``work`` the
    scratch arrays of :func:`end_quarter_work`, allocated once per run (the rules
    receive borrowed views of them, :func:`kamsim.model.views.borrowed`).
    """
    r_count, m, n = ri.shape[1], ri.shape[2], ri.shape[3]
    i = t - 1
    eff, disrupted = borrowed(work[0]), borrowed(work[1])
    qf, qi, qa, scratch, counts = work[2], work[3], work[4], work[5], work[6]
    out_f, out_i, acc_out = borrowed(work[7]), borrowed(work[8]), borrowed(work[9])
    ri, rf, af, alloc = borrowed(ri), borrowed(rf), borrowed(af), borrowed(alloc)
    p = params[0]
    pl = on_stack(p)  # the rules' parameters, which no store of theirs can reach
    traj = trajectories[0]
    for r in range(r_count):
        for k in range(m):
            eff[k] = rules.supplier_efficiency(ri, r, k, p)
            disrupted[k] = rules.is_disrupted(disruption[r, i, k], k, t, p)
        rules.account_quarter(
            ri, rf, af, r, 0, n, ai[WILLING, r], alloc, eff, disrupted,
            float(downturn[r, i]), keys[r], i, pl, out_f, out_i, acc_out,
        )  # fmt: skip
        market.settle_market(
            r, ri, rf, ai, alloc, p, starts, out_f, out_i, acc_out, qf, qi, qa
        )
        market.record_quarter(
            r, i, m, n, qf, qi, qa, starts[4], downturn, disrupted, records[0],
            records[1], scratch, counts,
        )  # fmt: skip
        _focal_ledger(r, t, ri, qf, qi, records[2], ledger, g_max)
        if traj.shape[1] > 0:
            _trajectory(r, i, qf, qi, af, ai, trajectories)
        market.end_relationships(r, t, ri, rf, ai, qf, qi, qa)


@njit(cache=True, error_model="numpy")
def _focal_ledger(  # pragma: no cover - compiled
    r: int,
    t: int,
    ri: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    reach: np.ndarray,
    ledger: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    g_max: int,
) -> None:
    """Stage reach times of the focal relationships, and their ledger.

    The ledger's running values and endings only if it is kept (``g_max > 0``).
    """
    _, li, run_f, run_max = ledger
    stage_end, cause = qi[I_STAGE_END], qi[I_CAUSE]
    revenue, profit, invest_rec, trust_rec = (
        qf[F_REVENUE],
        qf[F_PROFIT],
        qf[F_INVEST],
        qf[F_TRUST],
    )
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
    qf: np.ndarray,
    qi: np.ndarray,
    af: np.ndarray,
    ai: np.ndarray,
    trajectories: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """The focal supplier's per-slot trajectories, the accounts' and every share."""
    traj, traj_stage, traj_shares, seen = trajectories
    m, n = qi.shape[1], qi.shape[2]
    for j in range(n):
        ran = qi[I_STAGE, 0, j] > 0
        traj_stage[r, i, j] = qi[I_STAGE, 0, j] if ran else 0
        traj[TR_TRUST, r, i, j] = qf[F_TRUST, 0, j] if ran else 0.0
        traj[TR_SHARE, r, i, j] = qf[F_SHARE, 0, j] if ran else 0.0
        traj[TR_REVENUE, r, i, j] = qf[F_REVENUE, 0, j]
        traj[TR_PROFIT, r, i, j] = qf[F_PROFIT, 0, j]
        traj[TR_INVESTMENT, r, i, j] = qf[F_INVEST, 0, j]
        traj[TR_CTS, r, i, j] = qf[F_CTS, 0, j] if ran else 0.0
        traj[TR_ESTIMATE, r, i, j] = seen[0, r, j]
        traj[TR_WILLING_EST, r, i, j] = seen[1, r, j]
        here = ai[PRESENT, r, j] != 0
        traj[TR_WALLET, r, i, j] = af[WALLET, r, j] if here else 0.0
        traj[TR_POTENTIAL, r, i, j] = af[POTENTIAL, r, j] if here else 0.0
        traj[TR_WILLING, r, i, j] = 1.0 if (here & (ai[WILLING, r, j] != 0)) else 0.0
        for k in range(m):
            share = qf[F_SHARE, k, j]
            traj_shares[r, i, k, j] = share if qi[I_STAGE_END, k, j] > 0 else 0.0


__all__ = [
    "arrive",
    "begin_quarter",
    "close_ledger",
    "end_quarter",
    "observe_quarter",
]
