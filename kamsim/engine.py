"""Batched face: R replications x n accounts stepped at once as NumPy arrays.

The engine calls the same functions as the Mesa face (:mod:`kamsim.rules` for the
account mechanisms, :func:`kamsim.policies.observe` for what the supplier sees,
:mod:`kamsim.metrics` for the per-quarter record) on arrays of shape (R, n), and draws
each replication's random environment from its own seed with
:mod:`kamsim.environment`. With the same seeds it reproduces :class:`kamsim.KAMModel`
to the last bit; ``tests/test_equivalence.py`` proves it.

Each quarter t = 1..T, in order (synchronous update: every account reacts to the state
at the start of the quarter and this quarter's allocation):

1. vacant slots whose replacement delay has passed receive a new tactical account;
2. the stress test (``lose_largest_at``) ends the largest relationship;
3. the supplier observes the portfolio and its policy allocates the budget;
4. every live relationship advances one quarter (:func:`kamsim.rules.account_quarter`);
5. ended relationships leave their slot; the quarter's record is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kamsim import rules
from kamsim.environment import draw_many
from kamsim.metrics import QUARTER_COLUMNS, quarter_metrics
from kamsim.params import ModelParams
from kamsim.policies import Observation, enforce_budget, observe, policy_name

__all__ = ["ACCOUNT_COLUMNS", "BatchOutput", "run_batch"]

#: Per-account ledger columns kept by :func:`run_batch`.
ACCOUNT_COLUMNS = (
    "slot",
    "generation",
    "arrived",
    "ended",
    "end_cause",
    "willing",
    "potential",
    "potential_class",
    "max_stage",
    "revenue",
    "profit",
    "investment",
)


@dataclass
class BatchOutput:
    """Raw arrays from :func:`run_batch` (R replications, T quarters, n slots).

    Attributes:
        quarters: per-quarter records, each an array (R, T), keyed by
            :data:`kamsim.metrics.QUARTER_COLUMNS`.
        reach: for stages 2-4, ``(sum of quarters taken, number of accounts)`` to
            first reach the stage, each (R,).
        accounts: per-account ledger, arrays (R, n * G) with ``exists`` marking real
            accounts (G generations per slot).
        trajectories: if requested, per-slot arrays (R, T, n): stage (0 vacant),
            trust, share_of_wallet, revenue, profit, investment.
    """

    quarters: dict[str, np.ndarray]
    reach: dict[int, tuple[np.ndarray, np.ndarray]]
    accounts: dict[str, np.ndarray]
    trajectories: dict[str, np.ndarray] = field(default_factory=dict)


def max_generations(quarters: int, delay: int | None) -> int:
    """Upper bound on the accounts one slot can hold in ``quarters`` (ledger width).

    A replacement arrives ``delay + 1`` quarters after its predecessor ended, so a slot
    holds at most ``1 + quarters // (delay + 1) + 1`` accounts; 1 without replacement.
    """
    return 1 + (quarters // (delay + 1) + 1 if delay is not None else 0)


def new_ledger(r_count: int, n: int, g_max: int) -> dict[str, np.ndarray]:
    """Empty per-account ledger, arrays (R, n * G); account (slot, gen) at slot*G+gen."""
    shape = (r_count, n * g_max)
    return {
        "revenue": np.zeros(shape),
        "profit": np.zeros(shape),
        "investment": np.zeros(shape),
        "arrived": np.zeros(shape, dtype=np.int64),
        "ended": np.full(shape, -1, dtype=np.int64),
        "end_cause": np.zeros(shape, dtype=np.int64),
        "willing": np.zeros(shape, dtype=bool),
        "potential": np.zeros(shape),
        "potential_class": np.zeros(shape, dtype=np.int8),
        "max_stage": np.zeros(shape, dtype=np.int64),
        "exists": np.zeros(shape, dtype=bool),
    }


def initial_revenue(wallet: np.ndarray, p: ModelParams) -> np.ndarray:
    """Revenue the supplier saw in the quarter before the run: tactical share of W/4."""
    t = rules.stage_tables(p)
    return rules.revenue(wallet / 4.0, 1, t)


def run_batch(
    seeds: Sequence[int],
    *,
    n_accounts: int,
    quarters: int,
    policy: Callable[[Observation, float], np.ndarray],
    params: ModelParams,
    keep_trajectories: bool = False,
) -> BatchOutput:
    """Simulate one market per seed, all at once.

    Args:
        seeds: one integer seed per replication (its random environment).
        n_accounts: account slots per market.
        quarters: horizon T in quarters.
        policy: a resolved policy callable ``policy(obs, budget) -> allocation``.
        params: model parameters.
        keep_trajectories: also return per-slot arrays (R, T, n).

    Returns:
        A :class:`BatchOutput` with per-quarter records and the account ledger.
    """
    p = params
    r_count, n, big_t = len(seeds), n_accounts, quarters
    name = policy_name(policy)
    env = draw_many(list(seeds), n, big_t, p)

    # --- state (R, n) ---------------------------------------------------------
    wallet = env.initial.wallet.copy()
    growth = env.initial.growth.copy()
    willing = env.initial.willing.copy()
    sensitivity = env.initial.sensitivity.copy()
    potential = env.initial.potential.copy()
    potential_class = env.initial.potential_class.copy()
    scale = env.initial.scale.copy()
    stage = np.ones((r_count, n), dtype=np.int64)
    tenure = np.zeros((r_count, n), dtype=np.int64)
    trust = np.full((r_count, n), p.trust_initial)
    stock = np.zeros((r_count, n))
    loss_streak = np.zeros((r_count, n), dtype=np.int64)
    active = np.ones((r_count, n), dtype=bool)
    ended_at = np.full((r_count, n), -1, dtype=np.int64)
    last_revenue = initial_revenue(wallet, p)
    arrived = np.ones((r_count, n), dtype=np.int64)
    max_stage = np.ones((r_count, n), dtype=np.int64)
    generation = np.zeros((r_count, n), dtype=np.int64)

    delay = p.replacement_delay
    g_max = max_generations(big_t, delay)
    led = new_ledger(r_count, n, g_max)
    slot_idx = np.broadcast_to(np.arange(n), (r_count, n))
    row_idx = np.broadcast_to(np.arange(r_count)[:, None], (r_count, n))

    def ledger_pos() -> tuple[np.ndarray, np.ndarray]:
        return row_idx, slot_idx * g_max + generation

    def ledger_open(mask: np.ndarray, quarter: int) -> None:
        rr, cc = ledger_pos()
        rr, cc = rr[mask], cc[mask]
        led["exists"][rr, cc] = True
        led["arrived"][rr, cc] = quarter
        led["willing"][rr, cc] = willing[mask]
        led["potential"][rr, cc] = potential[mask]
        led["potential_class"][rr, cc] = potential_class[mask]
        led["max_stage"][rr, cc] = 1

    ledger_open(active, 1)
    # running totals of the account currently in each slot, written to the ledger
    # when the slot is refilled and at the end of the run
    cur_revenue = np.zeros((r_count, n))
    cur_profit = np.zeros((r_count, n))
    cur_investment = np.zeros((r_count, n))

    def ledger_flush(mask: np.ndarray | None) -> None:
        rr, cc = ledger_pos()
        if mask is not None:
            rr, cc = rr[mask], cc[mask]
        sel = mask if mask is not None else slice(None)
        led["revenue"][rr, cc] = cur_revenue[sel]
        led["profit"][rr, cc] = cur_profit[sel]
        led["investment"][rr, cc] = cur_investment[sel]
        led["max_stage"][rr, cc] = max_stage[sel]

    rec = {c: np.empty((r_count, big_t)) for c in QUARTER_COLUMNS}
    reach = {s: (np.zeros(r_count), np.zeros(r_count)) for s in (2, 3, 4)}
    traj: dict[str, np.ndarray] = {}
    if keep_trajectories:
        for k in ("trust", "share_of_wallet", "revenue", "profit", "investment"):
            traj[k] = np.zeros((r_count, big_t, n))
        traj["stage"] = np.zeros((r_count, big_t, n), dtype=np.int64)

    for t in range(1, big_t + 1):
        i = t - 1
        # 1. renewal of vacant slots
        new = np.zeros((r_count, n), dtype=bool)
        acq = np.zeros((r_count, n))
        if delay is not None:
            new = ~active & (ended_at >= 0) & (t - ended_at > delay)
            if np.any(new):
                ledger_flush(new)
                cur_revenue[new] = 0.0
                cur_profit[new] = 0.0
                cur_investment[new] = 0.0
                generation = np.where(new, generation + 1, generation)
                for a, arr in (
                    ("wallet", wallet),
                    ("growth", growth),
                    ("willing", willing),
                    ("sensitivity", sensitivity),
                    ("potential", potential),
                    ("potential_class", potential_class),
                    ("scale", scale),
                ):
                    np.copyto(arr, getattr(env.newcomers, a)[:, i], where=new)
                stage = np.where(new, 1, stage)
                tenure = np.where(new, 0, tenure)
                trust = np.where(new, p.trust_initial, trust)
                stock = np.where(new, 0.0, stock)
                loss_streak = np.where(new, 0, loss_streak)
                last_revenue = np.where(new, initial_revenue(wallet, p), last_revenue)
                arrived = np.where(new, t, arrived)
                max_stage = np.where(new, 1, max_stage)
                ended_at = np.where(new, -1, ended_at)
                active = active | new
                acq = np.where(new, p.acquisition_cost, 0.0)
                ledger_open(new, t)
        # 2. stress test: the largest account leaves
        forced = np.zeros((r_count, n), dtype=bool)
        if p.lose_largest_at is not None and t == p.lose_largest_at:
            j = rules.largest_account(last_revenue, active)
            forced = (slot_idx == j[:, None]) & (j[:, None] >= 0)
            active = active & ~forced
            ended_at = np.where(forced, t, ended_at)
            rr, cc = ledger_pos()
            led["ended"][rr[forced], cc[forced]] = t
            led["end_cause"][rr[forced], cc[forced]] = rules.EndCause.SWITCHED.value
        # 3. observation and allocation
        obs = observe(
            quarter=t,
            active=active,
            stage=stage,
            tenure=tenure,
            last_revenue=last_revenue,
            potential=potential,
            trust=trust,
            stock=stock,
            z_potential=env.z_potential[:, i],
            z_trust=env.z_trust[:, i],
            potential_noise=p.potential_noise,
            trust_noise=p.trust_noise,
            potential_low=p.potential_low,
            potential_high=p.potential_high,
        )
        alloc = enforce_budget(policy(obs, p.budget), obs, p.budget, name)
        eff = rules.manager_efficiency(
            np.sum(active, axis=-1, keepdims=True), p.manager_capacity, p.overload_penalty
        )
        # 4. every relationship advances one quarter
        state = rules.AccountState(
            stage,
            tenure,
            trust,
            stock,
            wallet,
            growth,
            willing,
            sensitivity,
            scale,
            loss_streak,
        )
        out = rules.account_quarter(
            state,
            alloc,
            eff,
            env.downturn[:, i, None],
            env.disruption[:, i, None],
            env.u_failure[:, i],
            env.u_offer[:, i],
            env.u_vanish[:, i],
            p,
        )
        ran = active
        ns = out.state
        # Vacant slots evolve too (their values are never observed or reported:
        # every output below is masked by `ran`), which saves masking the state.
        stage, tenure, trust, stock = ns.stage, ns.tenure, ns.trust, ns.stock
        wallet, loss_streak = ns.wallet, ns.loss_streak
        revenue_q = np.where(ran, out.revenue, 0.0)
        profit_q = np.where(ran, out.profit - acq, 0.0)
        cause_q = np.where(ran, out.end_cause, 0) + np.where(
            forced, rules.EndCause.SWITCHED.value, 0
        )
        ended_now = ran & (out.end_cause > 0)
        last_revenue = revenue_q
        # first arrival in a higher stage
        up_first = ran & (stage > max_stage)
        if np.any(up_first):
            took = (t - arrived + 1).astype(np.float64)
            for s_ in (2, 3, 4):
                m = up_first & (stage == s_)
                tot, cnt = reach[s_]
                tot += np.sum(np.where(m, took, 0.0), axis=-1)
                cnt += np.sum(m, axis=-1)
            max_stage = np.where(up_first, stage, max_stage)
        # ledger
        cur_revenue += revenue_q
        cur_profit += profit_q
        cur_investment += alloc
        if np.any(ended_now):
            rr, cc = ledger_pos()
            led["ended"][rr[ended_now], cc[ended_now]] = t
            led["end_cause"][rr[ended_now], cc[ended_now]] = out.end_cause[ended_now]
        active = active & ~ended_now
        ended_at = np.where(ended_now, t, ended_at)
        # 5. record
        stage_q = np.where(ran, stage, 0)
        q = quarter_metrics(
            stage=stage,
            active_end=active,
            trust=trust,
            revenue=revenue_q,
            profit=profit_q,
            investment=alloc,
            end_cause=cause_q,
            new_accounts=np.sum(new, axis=-1),
            account_disruption_cost=np.where(ran, out.account_disruption_cost, 0.0),
            downturn=env.downturn[:, i],
            disruption=env.disruption[:, i],
        )
        for c in QUARTER_COLUMNS:
            rec[c][:, i] = q[c]
        if keep_trajectories:
            traj["stage"][:, i] = stage_q
            traj["trust"][:, i] = np.where(ran, trust, 0.0)
            traj["share_of_wallet"][:, i] = np.where(ran, out.share_of_wallet, 0.0)
            traj["revenue"][:, i] = revenue_q
            traj["profit"][:, i] = profit_q
            traj["investment"][:, i] = alloc

    ledger_flush(None)
    accounts = {k: v for k, v in led.items()}
    ledger_shape = (r_count, n * g_max)
    accounts["slot"] = np.broadcast_to(np.repeat(np.arange(n), g_max), ledger_shape).copy()
    accounts["generation"] = np.broadcast_to(
        np.tile(np.arange(g_max), n), ledger_shape
    ).copy()
    return BatchOutput(quarters=rec, reach=reach, accounts=accounts, trajectories=traj)
