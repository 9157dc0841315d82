"""The market's bookkeeping each quarter, compiled, shared by both faces.

New accounts take vacated slots at the start of a quarter (:func:`arrive`). After
each account has lived through its quarter (:func:`rules.account_quarter`),
the quarter is settled (:func:`settle_market`: acquisition costs, the stress test's
forced ending, what the record sees), recorded (:func:`record_quarter`, the columns
of ``QUARTER_COLUMNS`` and each supplier's ``SUPPLIER_QUARTER_COLUMNS``) and the
relationships that ended close (:func:`end_relationships`). The batched engine calls
these for each of its R markets, the Mesa face for its one market (R = 1), so the
records agree by construction. Sums over the accounts follow NumPy's pairwise order
(:func:`pairwise_sum`), so a record's sums equal ``np.sum`` of the same summands.

Arrays: the state of :mod:`kamsim.model.state` ((field, R, M, n) and (field, R, n)); a
market's quarter outcome is held in ``qf`` (float rows below, (6, M, n)), ``qi``
(integer rows, (5, M, n)) and ``qa`` (account rows, (4, n)).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kamsim.model import cache as _cache  # noqa: F401  (kamsim-wide cache stamp)
from kamsim.model import rules
from kamsim.model.environment import new_account
from kamsim.model.records import QUARTER_COLUMNS
from kamsim.model.state import (
    ENDED_AT,
    LAST_CTS,
    LAST_REVENUE,
    MAX_STAGE,
    POTENTIAL,
    PRESENT,
    SCALE,
    SENSITIVITY,
    SHARE,
    STAGE,
    TOLERANCE,
    TRUST,
    VACATED_AT,
    WALLET,
    WARINESS,
    WILLING,
    CompiledParams,
    EndCause,
)
from kamsim.model.sums import _row_sum, pairwise_sum
from kamsim.model.variates import (
    NEW_GROWTH,
    NEW_SENSITIVITY,
    NEW_TOLERANCE,
    NEW_WALLET,
    NEW_WILLING,
    counter,
    normal,
    uniform,
)
from kamsim.model.views import borrowed

__all__ = [
    "arrive",
    "end_relationships",
    "observe_market",
    "pairwise_sum",
    "record_quarter",
    "settle_market",
    "start_market",
    "terminal_values",
]

_SWITCHED = EndCause.SWITCHED.value

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
assert tuple(_RECORD) == QUARTER_COLUMNS, "record order out of step with metrics"

# supplier record columns (kamsim.metrics.SUPPLIER_QUARTER_COLUMNS)
S_REVENUE, S_PROFIT, S_INVESTMENT, S_MARKET_SHARE, S_ACTIVE = range(5)

# the quarter's outcome of one market, per relationship (M, n): floats, integers; and
# per account (n,)
F_REVENUE, F_PROFIT, F_INVEST, F_CTS, F_SHARE, F_TRUST = range(6)
QF_ROWS = 6
I_LIVE, I_STAGE, I_STAGE_END, I_LIVE_END, I_CAUSE = range(5)
QI_ROWS = 5
A_DEMAND, A_DCOST, A_VANISHED, A_PRESENT = range(4)
QA_ROWS = 4


@njit(cache=True, error_model="numpy")
def arrive(  # pragma: no cover - compiled
    t: int, af: np.ndarray, ai: np.ndarray, keys: np.ndarray, p: CompiledParams
) -> None:
    """Step 0a: new accounts take the slots vacated long enough ago.

    A slot whose account disappeared more than ``replacement_delay`` quarters ago
    (none without renewal) gets a new account:
    :func:`kamsim.model.environment.new_account` of the slot's newcomer variates of
    quarter index ``t - 1`` (counter purposes ``NEW_*``, supplier 0), present, not
    wary. Both faces call it: the engine for its R markets, the Mesa face for its one
    (which then gives each new account its agent).
    """
    if p.replacement_delay < 0:
        return
    i = t - 1
    for r in range(ai.shape[1]):
        key = keys[r]
        for j in range(ai.shape[2]):
            vacated = ai[VACATED_AT, r, j]
            if ai[PRESENT, r, j] != 0 or vacated < 0 or t - vacated <= p.replacement_delay:
                continue
            w, pot, scale, willing, sens, tol = new_account(
                normal(key, counter(i, 0, j, NEW_WALLET)),
                normal(key, counter(i, 0, j, NEW_GROWTH)),
                uniform(key, counter(i, 0, j, NEW_WILLING)),
                uniform(key, counter(i, 0, j, NEW_SENSITIVITY)),
                uniform(key, counter(i, 0, j, NEW_TOLERANCE)),
                i,
                p,
            )
            af[WALLET, r, j], af[POTENTIAL, r, j], af[SCALE, r, j] = w, pot, scale
            af[SENSITIVITY, r, j], af[TOLERANCE, r, j] = sens, tol
            af[WARINESS, r, j] = 0.0
            ai[WILLING, r, j] = 1 if willing else 0
            ai[PRESENT, r, j] = 1
            ai[VACATED_AT, r, j] = -1


@njit(cache=True, error_model="numpy")
def settle_market(  # pragma: no cover - compiled
    r: int,
    ri: np.ndarray,
    rf: np.ndarray,
    ai: np.ndarray,
    alloc: np.ndarray,
    p: CompiledParams,
    starts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    out_f: np.ndarray,
    out_i: np.ndarray,
    acc_out: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    qa: np.ndarray,
) -> None:
    """Step 8, settlement of market r: what the quarter's record and ledger see.

    From the accounts' quarter (``out_f`` (OUT_F, M, n), ``out_i`` (OUT_I, M, n),
    ``acc_out`` (ACCOUNT_OUT, n), as :func:`kamsim.model.rules.account_quarter` writes
    them): a new relationship pays the acquisition cost; the stress test's forced
    ending counts as a switch at the stage and trust it had; the quarter's cost to
    serve is kept for the terminal value of the relationships that continue.
    """
    started, forced, forced_stage, forced_trust = starts[0], starts[1], starts[2], starts[3]
    m, n = ri.shape[2], ri.shape[3]
    for j in range(n):
        qa[A_DEMAND, j] = acc_out[rules.A_DEMAND, j]
        qa[A_DCOST, j] = acc_out[rules.A_DISRUPTION_COST, j]
        qa[A_VANISHED, j] = acc_out[rules.A_VANISHED, j]
        qa[A_PRESENT, j] = 1.0 if ai[PRESENT, r, j] != 0 else 0.0
    for k in range(m):
        for j in range(n):
            live = out_i[rules.Y_LIVE, k, j] != 0
            f = (k == 0) & forced[r, j]
            acquired = p.acquisition_cost if started[r, k, j] else 0.0
            cause = _SWITCHED if f else (out_i[rules.Y_CAUSE, k, j] if live else 0)
            stage_end = forced_stage[r, j] if f else ri[STAGE, r, k, j]
            qf[F_REVENUE, k, j] = out_f[rules.X_REVENUE, k, j]
            qf[F_PROFIT, k, j] = (out_f[rules.X_PROFIT, k, j] if live else 0.0) - acquired
            qf[F_INVEST, k, j] = alloc[r, k, j] if live else 0.0
            qf[F_CTS, k, j] = out_f[rules.X_CTS, k, j]
            qf[F_SHARE, k, j] = rf[SHARE, r, k, j]
            qf[F_TRUST, k, j] = forced_trust[r, j] if f else rf[TRUST, r, k, j]
            qi[I_LIVE, k, j] = 1 if live else 0
            qi[I_STAGE, k, j] = ri[STAGE, r, k, j]
            qi[I_STAGE_END, k, j] = stage_end
            qi[I_LIVE_END, k, j] = 1 if ((stage_end > 0) & (cause == 0)) else 0
            qi[I_CAUSE, k, j] = cause
            rf[LAST_CTS, r, k, j] = out_f[rules.X_CTS, k, j] if cause == 0 else 0.0


@njit(cache=True, error_model="numpy")
def start_market(  # pragma: no cover - compiled
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    trust: np.ndarray,
    bias_p: np.ndarray,
    bias_t: np.ndarray,
    bias_w: np.ndarray,
    p: CompiledParams,
) -> None:
    """Quarter 1: every supplier starts a tactical relationship with every account.

    With the initial trust and misjudgements drawn by the environment, (R, M, n)
    (:func:`kamsim.model.rules.start_relationship`).
    """
    r_count, m, n = ri.shape[1], ri.shape[2], ri.shape[3]
    ri, rf = borrowed(ri), borrowed(rf)
    for r in range(r_count):
        for j in range(n):
            for k in range(m):
                rules.start_relationship(
                    ri, rf, r, k, j, 1, trust[r, k, j], bias_p[r, k, j], bias_t[r, k, j],
                    bias_w[r, k, j], af[WALLET, r, j], p,
                )  # fmt: skip


@njit(cache=True, error_model="numpy")
def observe_market(  # pragma: no cover - compiled
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    ai: np.ndarray,
    r: int,
    key: np.uint64,
    i: int,
    p: CompiledParams,
    reads: np.ndarray,
    obs_f: np.ndarray,
    obs_i: np.ndarray,
) -> None:
    """Step 1 of market r: each account shows each supplier its relationship.

    :func:`kamsim.model.rules.observe_account` for every supplier and slot (a vacant
    slot's relationships have stage 0 and show zeros), with the normals of quarter
    index i from the replication's ``key``; ``reads`` (3, M) says which estimates
    each supplier's policy reads. Supplier by supplier, over its row of slots.
    """
    ri, rf, af, ai = borrowed(ri), borrowed(rf), borrowed(af), borrowed(ai)
    reads, obs_f, obs_i = borrowed(reads), borrowed(obs_f), borrowed(obs_i)
    for k in range(ri.shape[2]):
        for j in range(ri.shape[3]):
            willing = ai[WILLING, r, j] != 0
            rules.observe_account(
                ri, rf, af, r, k, j, willing, key, i, p, reads, obs_f, obs_i
            )


# rows of the record's summands (scratch (S_ROWS + M, n)): each is summed over the
# accounts by NumPy's pairwise order; rows S_ROWS.. hold each supplier's wallet share
S_DEMAND, S_TRUST, S_SHARE, S_DEPENDENCE, S_DCOST, S_SQUARES, S_SHARES = range(7)
S_ROWS = 7


@njit(cache=True, error_model="numpy")
def record_quarter(  # pragma: no cover - compiled
    r: int,
    i: int,
    m: int,
    n: int,
    qf: np.ndarray,
    qi: np.ndarray,
    qa: np.ndarray,
    new_focal: np.ndarray,
    downturn: np.ndarray,
    disrupted: np.ndarray,
    record: np.ndarray,
    sup_record: np.ndarray,
    scratch: np.ndarray,
    counts: np.ndarray,
) -> None:
    """The quarter's record of market r, quarter index i (``QUARTER_COLUMNS``).

    Counts by stage and by ending, the focal supplier's revenue, profit and
    investment, means over live relationships and present accounts, concentration
    (:func:`_concentration`), and each supplier's record. One pass over the accounts
    counts and writes every summand to a row of ``scratch``; each row is then summed
    in NumPy's pairwise order.
    """
    stage_end, live_end, cause = qi[I_STAGE_END], qi[I_LIVE_END], qi[I_CAUSE]
    share, trust_rec = qf[F_SHARE], qf[F_TRUST]
    revenue = qf[F_REVENUE]
    demand, dcost = qa[A_DEMAND], qa[A_DCOST]
    counts[:] = 0
    n_present = 0
    rival_strategic = 0
    for j in range(n):
        live0 = live_end[0, j] != 0
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
        here = qa[A_PRESENT, j] > 0.0
        dep = 0.0
        rs = False
        for k in range(m):
            lv = live_end[k, j] != 0
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
    _supplier_record(r, i, m, n, qf, qi, scratch, sup_record)
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
def _supplier_record(  # pragma: no cover - compiled
    r: int,
    i: int,
    m: int,
    n: int,
    qf: np.ndarray,
    qi: np.ndarray,
    scratch: np.ndarray,
    sup_record: np.ndarray,
) -> None:
    """Each supplier's quarter: market share of the accounts' demand, sums, active.

    ``scratch`` holds the accounts' demand (row ``S_DEMAND``) and each supplier's
    wallet share (rows ``S_ROWS + k``), summed in NumPy's pairwise order.
    """
    total_demand = _row_sum(scratch, S_DEMAND, n)
    for k in range(m):
        wallet_share = _row_sum(scratch, S_ROWS + k, n)
        ms = wallet_share / total_demand if total_demand > 0 else np.nan
        sup_record[r, k, i, S_MARKET_SHARE] = ms
        sup_record[r, k, i, S_REVENUE] = _row_sum(qf[F_REVENUE], k, n)
        sup_record[r, k, i, S_PROFIT] = _row_sum(qf[F_PROFIT], k, n)
        sup_record[r, k, i, S_INVESTMENT] = _row_sum(qf[F_INVEST], k, n)
        active = 0
        for j in range(n):
            if qi[I_LIVE_END, k, j] != 0:
                active += 1
        sup_record[r, k, i, S_ACTIVE] = active


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
def end_relationships(  # pragma: no cover - compiled
    r: int,
    t: int,
    ri: np.ndarray,
    rf: np.ndarray,
    ai: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    qa: np.ndarray,
) -> None:
    """Step 8: ended relationships close, vanished accounts leave their slots."""
    m, n = qi.shape[1], qi.shape[2]
    ri, rf = borrowed(ri), borrowed(rf)
    for k in range(m):
        for j in range(n):
            rf[LAST_REVENUE, r, k, j] = qf[F_REVENUE, k, j]
            if qi[I_LIVE, k, j] != 0:
                ri[MAX_STAGE, r, k, j] = max(ri[MAX_STAGE, r, k, j], qi[I_STAGE, k, j])
            if qi[I_CAUSE, k, j] > 0:
                rules.close_relationship(ri, rf, r, k, j)
                ri[ENDED_AT, r, k, j] = t
    for j in range(n):
        if qa[A_VANISHED, j] > 0.0 and ai[PRESENT, r, j] != 0:
            ai[PRESENT, r, j] = 0
            ai[VACATED_AT, r, j] = t


@njit(cache=True, error_model="numpy")
def terminal_values(  # pragma: no cover - compiled
    ri: np.ndarray, rf: np.ndarray, af: np.ndarray, p: CompiledParams
) -> np.ndarray:
    """:func:`kamsim.model.rules.terminal_value` of every relationship (R, M, n), k€."""
    r_count, m, n = ri.shape[1], ri.shape[2], ri.shape[3]
    out = np.empty((r_count, m, n))
    for r in range(r_count):
        for k in range(m):
            for j in range(n):
                out[r, k, j] = rules.terminal_value(
                    ri[STAGE, r, k, j], rf[LAST_REVENUE, r, k, j], rf[LAST_CTS, r, k, j],
                    af[SCALE, r, j], p,
                )  # fmt: skip
    return out
