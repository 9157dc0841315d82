"""Batched face: R replications of a market of M suppliers x n accounts as NumPy arrays.

The engine calls the same functions as the Mesa face (:mod:`kamsim.rules` for the
mechanisms, :func:`kamsim.policies.observe` for what each supplier sees,
:func:`kamsim.metrics.market_record` for the per-quarter record) on arrays of shape
(R, M, n), and draws each replication's random environment from its own seed with
:mod:`kamsim.environment`. With the same seeds it reproduces :class:`kamsim.KAMModel`
to the last bit; ``tests/test_equivalence.py`` proves it.

The state of all R markets is one :class:`MarketState`. Each quarter t = 1..T is the
ODD's process overview, one short function per step:

0. :func:`renew` — new accounts take vacant slots; suppliers court accounts again;
   :func:`stress_test` — the scripted loss of the focal supplier's largest account;
1. :func:`allocate` — every supplier observes its relationships and its policy
   splits its budget;
2-7. :func:`live_quarter` — service, trust, adaptation, stages, wallet split,
   economics and endings (:func:`kamsim.rules.market_quarter`);
8. :func:`settle` — ended relationships and vanished accounts leave; the quarter is
   recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from kamsim import rules
from kamsim.environment import Accounts, StackedEnvironment, draw_many
from kamsim.metrics import (
    QUARTER_COLUMNS,
    SUPPLIER_QUARTER_COLUMNS,
    market_record,
)
from kamsim.params import ModelParams
from kamsim.policies import Observation, enforce_budget, observe, policy_name

__all__ = [
    "ACCOUNT_COLUMNS",
    "FINAL_FIELDS",
    "BatchOutput",
    "Ledger",
    "MarketState",
    "max_generations",
    "run_batch",
]

PolicyFn = Callable[[Observation, float], np.ndarray]

#: Per-slot trajectory arrays (R, T, n) of the focal supplier kept on request.
TRAJECTORY_KEYS = (
    "trust",
    "share_of_wallet",
    "revenue",
    "profit",
    "investment",
    "cost_to_serve",
    "estimated_potential",
)

#: Per-relationship ledger columns (the focal supplier's relationships).
ACCOUNT_COLUMNS = (
    "slot",
    "generation",
    "arrived",
    "ended",
    "end_cause",
    "end_stage",
    "willing",
    "potential",
    "potential_class",
    "max_stage",
    "trust",
    "revenue",
    "profit",
    "investment",
)


@dataclass
class BatchOutput:
    """Raw arrays from :func:`run_batch` (R replications, T quarters, n slots, M suppliers).

    Attributes:
        quarters: the focal supplier's and the market's per-quarter records, each an
            array (R, T), keyed by :data:`kamsim.metrics.QUARTER_COLUMNS`.
        suppliers: per-supplier per-quarter records, arrays (R, M, T), keyed by
            :data:`kamsim.metrics.SUPPLIER_QUARTER_COLUMNS`.
        final_stages: live relationships per supplier and stage at the horizon,
            (R, M, 4).
        terminal_value: value of each supplier's relationships in place at the
            horizon, undiscounted (k€), (R, M).
        reach: for stages 2-4, ``(sum of quarters taken, number of relationships)``
            to first reach the stage (focal supplier), each (R,).
        accounts: the focal supplier's relationship ledger, arrays (R, n * G) with
            ``exists`` marking real relationships (G per slot at most).
        final: every relationship at the horizon, arrays (R, M, n): ``stage`` (0:
            none), ``trust``, ``age`` (quarters since it started), ``share``.
        trajectories: if requested, per-slot arrays (R, T, n) of the focal
            supplier's relationships and ``shares`` (R, T, M, n).
    """

    quarters: dict[str, np.ndarray]
    suppliers: dict[str, np.ndarray]
    final_stages: np.ndarray
    terminal_value: np.ndarray
    reach: dict[int, tuple[np.ndarray, np.ndarray]]
    accounts: dict[str, np.ndarray]
    final: dict[str, np.ndarray] = field(default_factory=dict)
    trajectories: dict[str, np.ndarray] = field(default_factory=dict)


def max_generations(quarters: int, delay: int | None) -> int:
    """Upper bound on the relationships one slot can hold in ``quarters`` (ledger width).

    A relationship starts again ``delay + 1`` quarters after its predecessor ended, so
    a slot holds at most ``1 + quarters // (delay + 1) + 1``; 1 without renewal.
    """
    return 1 + (quarters // (delay + 1) + 1 if delay is not None else 0)


class Ledger:
    """The focal supplier's relationships, one column per (slot, generation).

    Arrays (R, n * G); relationship (slot, gen) is at column ``slot * G + gen``.
    Running totals of the relationship in each slot are written when it is replaced
    and at the end of the run.
    """

    def __init__(self, r_count: int, n: int, g_max: int) -> None:
        shape = (r_count, n * g_max)
        self.g_max = g_max
        self.cols: dict[str, np.ndarray] = {
            "revenue": np.zeros(shape),
            "profit": np.zeros(shape),
            "investment": np.zeros(shape),
            "trust": np.zeros(shape),
            "arrived": np.zeros(shape, dtype=np.int64),
            "ended": np.full(shape, -1, dtype=np.int64),
            "end_cause": np.zeros(shape, dtype=np.int64),
            "end_stage": np.zeros(shape, dtype=np.int64),
            "willing": np.zeros(shape, dtype=bool),
            "potential": np.zeros(shape),
            "potential_class": np.zeros(shape, dtype=np.int8),
            "max_stage": np.zeros(shape, dtype=np.int64),
            "exists": np.zeros(shape, dtype=bool),
        }
        self.rows = np.broadcast_to(np.arange(r_count)[:, None], (r_count, n))
        self.slots = np.broadcast_to(np.arange(n), (r_count, n))
        #: running values of the relationship in each slot and what they restart at
        self.reset = {"revenue": 0.0, "profit": 0.0, "investment": 0.0, "trust": 0.0}
        self.running = {k: np.zeros((r_count, n)) for k in self.reset}
        self.reset_max = 1
        self.running_max = np.ones((r_count, n), dtype=np.int64)

    def position(self, generation: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, ...]:
        """Ledger (row, column) of the relationships in ``mask`` (R, n)."""
        cols = self.slots * self.g_max + generation
        return self.rows[mask], cols[mask]

    def set_many(
        self, generation: np.ndarray, mask: np.ndarray, values: dict[str, np.ndarray]
    ) -> None:
        """Write several columns of the masked relationships (one position lookup)."""
        pos = self.position(generation, mask)
        for name, v in values.items():
            self.cols[name][pos] = v[mask]

    def add(
        self,
        live: np.ndarray,
        revenue: np.ndarray,
        profit: np.ndarray,
        investment: np.ndarray,
        stage: np.ndarray,
        trust: np.ndarray,
    ) -> None:
        """Add a quarter to the running values of the relationships in each slot."""
        run = self.running
        run["revenue"] += revenue
        run["profit"] += profit
        run["investment"] += investment
        run["trust"] = np.where(live, trust, run["trust"])
        self.running_max = np.where(
            live, np.maximum(self.running_max, stage), self.running_max
        )

    def flush(self, generation: np.ndarray, mask: np.ndarray) -> None:
        """Write and reset the running values of the relationships in ``mask``."""
        self.set_many(generation, mask, {**self.running, "max_stage": self.running_max})
        for k, v in self.running.items():
            v[mask] = self.reset[k]
        self.running_max[mask] = self.reset_max

    def columns(self, n: int) -> dict[str, np.ndarray]:
        """The ledger with its ``slot`` and ``generation`` columns."""
        out = dict(self.cols)
        shape = out["exists"].shape
        out["slot"] = np.broadcast_to(np.repeat(np.arange(n), self.g_max), shape).copy()
        out["generation"] = np.broadcast_to(np.tile(np.arange(self.g_max), n), shape).copy()
        return out


@dataclass
class MarketState:
    """State of R markets: relationships (R, M, n), accounts (R, 1, n).

    Attributes:
        rel: every supplier's relationship with every account.
        acc: the accounts' attributes and wariness.
        potential: true three-year potential of each account (k€/yr).
        potential_class: its class (0 low, 1 medium, 2 high).
        present: the slot holds an account.
        vacated_at: quarter the slot's account disappeared (-1 if present).
        ended_at: quarter each relationship last ended (-1 if it has not).
        last_revenue: each relationship's revenue last quarter (k€).
        arrived: quarter each relationship started.
        generation: number of relationships a supplier has had in the slot, minus 1.
        max_stage: highest stage each relationship reached.
    """

    rel: rules.RelationshipState
    acc: rules.AccountState
    potential: np.ndarray
    potential_class: np.ndarray
    present: np.ndarray
    vacated_at: np.ndarray
    ended_at: np.ndarray
    last_revenue: np.ndarray
    arrived: np.ndarray
    generation: np.ndarray
    max_stage: np.ndarray

    @property
    def live(self) -> np.ndarray:
        """Relationships in place, (R, M, n)."""
        return np.asarray(self.rel.stage > 0)


def _account_axis(a: np.ndarray) -> np.ndarray:
    """(R, n) account array as (R, 1, n), broadcastable against relationships."""
    return a[:, None, :]


def initial_state(env: StackedEnvironment, m: int, p: ModelParams) -> MarketState:
    """Every supplier starts a tactical relationship with every account."""
    a = env.initial
    r_count, n = a.wallet.shape
    shape = (r_count, m, n)
    zeros_i = np.zeros(shape, dtype=np.int64)
    empty = rules.RelationshipState(
        stage=zeros_i,
        tenure=zeros_i,
        age=zeros_i,
        trust=np.zeros(shape),
        stock=np.zeros(shape),
        adaptation=np.zeros(shape),
        share=np.zeros(shape),
        bias_potential=np.zeros(shape),
        bias_trust=np.zeros(shape),
        loss_streak=zeros_i,
    )
    s0 = env.initial_starts
    rel = rules.start_relationships(
        empty, True, s0.trust, s0.bias_potential, s0.bias_trust, p
    )
    acc = rules.AccountState(
        wallet=_account_axis(a.wallet),
        growth=_account_axis(a.growth),
        willing=_account_axis(a.willing),
        sensitivity=_account_axis(a.sensitivity),
        tolerance=_account_axis(a.tolerance),
        scale=_account_axis(a.scale),
        wariness=np.zeros((r_count, 1, n)),
    )
    return MarketState(
        rel=rel,
        acc=acc,
        potential=_account_axis(a.potential),
        potential_class=_account_axis(a.potential_class),
        present=np.ones((r_count, 1, n), dtype=bool),
        vacated_at=np.full((r_count, 1, n), -1, dtype=np.int64),
        ended_at=np.full(shape, -1, dtype=np.int64),
        last_revenue=np.broadcast_to(
            rules.initial_revenue(_account_axis(a.wallet), p), shape
        ).copy(),
        arrived=np.ones(shape, dtype=np.int64),
        generation=zeros_i.copy(),
        max_stage=np.ones(shape, dtype=np.int64),
    )


def _newcomers_at(env: StackedEnvironment, i: int) -> Accounts:
    """Newcomer attributes of quarter index ``i`` as (R, 1, n) arrays."""
    nc = env.newcomers_at(i)
    return Accounts(*(_account_axis(getattr(nc, f)) for f in Accounts.__dataclass_fields__))


def renew(s: MarketState, env: StackedEnvironment, t: int, p: ModelParams) -> np.ndarray:
    """Step 0: new accounts take vacant slots; suppliers court accounts again.

    A slot whose account disappeared more than ``replacement_delay`` quarters ago gets
    a new account (the newcomer drawn for that slot and quarter). A supplier whose
    relationship with a present account ended more than ``replacement_delay``
    quarters ago starts a new tactical relationship with it, unless a rival holds the
    account as its strategic partner. Returns the relationships started (R, M, n).
    """
    delay = p.replacement_delay
    if delay is None:
        return np.zeros(s.rel.stage.shape, dtype=bool)
    i = t - 1
    arriving = ~s.present & (s.vacated_at >= 0) & (t - s.vacated_at > delay)
    if np.any(arriving):
        nc = _newcomers_at(env, i)
        s.acc = rules.AccountState(
            wallet=np.where(arriving, nc.wallet, s.acc.wallet),
            growth=np.where(arriving, nc.growth, s.acc.growth),
            willing=np.where(arriving, nc.willing, s.acc.willing),
            sensitivity=np.where(arriving, nc.sensitivity, s.acc.sensitivity),
            tolerance=np.where(arriving, nc.tolerance, s.acc.tolerance),
            scale=np.where(arriving, nc.scale, s.acc.scale),
            wariness=np.where(arriving, 0.0, s.acc.wariness),
        )
        s.potential = np.where(arriving, nc.potential, s.potential)
        s.potential_class = np.where(arriving, nc.potential_class, s.potential_class)
        s.present = s.present | arriving
        s.vacated_at = np.where(arriving, -1, s.vacated_at)
    held = rules.supplier_sum(s.rel.stage == 4) > 0
    start = (
        s.present
        & ~held
        & (s.rel.stage == 0)
        & (s.ended_at >= 0)
        & (t - s.ended_at > delay)
    )
    if np.any(start):
        st = env.starts_at(i)
        s.rel = rules.start_relationships(
            s.rel, start, st.trust, st.bias_potential, st.bias_trust, p
        )
        s.ended_at = np.where(start, -1, s.ended_at)
        s.arrived = np.where(start, t, s.arrived)
        s.generation = np.where(start, s.generation + 1, s.generation)
        s.max_stage = np.where(start, 1, s.max_stage)
        s.last_revenue = np.where(
            start, rules.initial_revenue(s.acc.wallet, p), s.last_revenue
        )
    return start


class Forced(NamedTuple):
    """The stress test's forced ending of focal relationships, (R, n) arrays."""

    mask: np.ndarray  # the relationship ended by the stress test
    stage: np.ndarray  # its stage when it ended
    trust: np.ndarray  # its trust when it ended


def stress_test(s: MarketState, t: int, p: ModelParams) -> Forced:
    """The focal supplier's largest relationship ends now, if ``lose_largest_at == t``.

    It ends before the quarter's allocation (as a switch), so it does not live through
    the quarter and its share of wallet is free for the others at once.
    """
    r_count, _, n = s.rel.stage.shape
    mask = np.zeros((r_count, n), dtype=bool)
    if p.lose_largest_at is not None and t == p.lose_largest_at:
        j = rules.largest_relationship(s.last_revenue[:, 0], s.live[:, 0])
        mask = (np.arange(n) == j[:, None]) & (j[:, None] >= 0)
    forced = Forced(mask, np.where(mask, s.rel.stage[:, 0], 0), s.rel.trust[:, 0].copy())
    if np.any(mask):
        full = np.zeros(s.rel.stage.shape, dtype=bool)
        full[:, 0] = mask
        s.rel = rules.close_relationships(s.rel, full)
    return forced


def allocate(
    s: MarketState,
    env: StackedEnvironment,
    t: int,
    policies: Sequence[PolicyFn],
    budgets: Sequence[float],
    names: Sequence[str],
    p: ModelParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Step 1: each supplier observes its relationships and its policy allocates.

    Returns the allocations (R, M, n) in k€, each supplier's within its budget, and
    the focal supplier's estimates of potential (R, n).
    """
    i = t - 1
    est_p = rules.estimate_potential(
        s.potential, s.rel.bias_potential, env.z_potential[:, i], s.rel.stage, p
    )
    est_t = rules.read_trust(
        s.rel.trust, s.rel.bias_trust, env.z_trust[:, i], s.rel.stage, p
    )
    alloc = np.zeros(s.rel.stage.shape)
    for k, (policy, budget, name) in enumerate(zip(policies, budgets, names, strict=True)):
        obs = observe(
            quarter=t,
            stage=s.rel.stage[:, k],
            tenure=s.rel.tenure[:, k],
            last_revenue=s.last_revenue[:, k],
            share=s.rel.share[:, k],
            potential=est_p[:, k],
            trust=est_t[:, k],
            stock=s.rel.stock[:, k],
            p=p,
        )
        alloc[:, k] = enforce_budget(policy(obs, budget), obs, budget, name)
    return alloc, np.where(s.live[:, 0], est_p[:, 0], 0.0)


def live_quarter(
    s: MarketState,
    env: StackedEnvironment,
    t: int,
    alloc: np.ndarray,
    disrupted: np.ndarray,
    p: ModelParams,
) -> rules.QuarterOutcome:
    """Steps 2-7: every relationship of every market lives through the quarter."""
    i = t - 1
    n_live = np.sum(s.live, axis=-1, keepdims=True)
    eff = rules.manager_efficiency(n_live, p.manager_capacity, p.overload_penalty)
    return rules.market_quarter(
        s.rel,
        s.acc,
        alloc,
        eff,
        env.downturn[:, i, None, None],
        disrupted,
        env.u_failure[:, i],
        env.u_offer[:, i],
        _account_axis(env.u_vanish[:, i]),
        p,
    )


def disruptions(env: StackedEnvironment, t: int, p: ModelParams) -> np.ndarray:
    """Suppliers disrupted in quarter t, (R, M, 1): random, plus the scripted one."""
    d = env.disruption[:, t - 1].copy()
    if p.disruption_at is not None and t == p.disruption_at:
        d[:, 0] = True
    return d[:, :, None]


def run_batch(
    seeds: Sequence[int],
    *,
    n_accounts: int,
    quarters: int,
    policy: PolicyFn,
    params: ModelParams,
    rival_policies: Sequence[PolicyFn] = (),
    keep_trajectories: bool = False,
) -> BatchOutput:
    """Simulate one market per seed, all at once.

    Args:
        seeds: one integer seed per replication (its random environment).
        n_accounts: account slots per market.
        quarters: horizon T in quarters.
        policy: the focal supplier's resolved policy ``policy(obs, budget)``.
        params: model parameters.
        rival_policies: one resolved policy per rival (their number is the number
            of rivals; each has budget ``params.rival_budget``).
        keep_trajectories: also return per-slot arrays (R, T, n).

    Returns:
        A :class:`BatchOutput`.
    """
    p = params
    policies = [policy, *rival_policies]
    m = len(policies)
    budgets = [p.budget] + [p.rival_budget] * (m - 1)
    names = [policy_name(f) for f in policies]
    r_count, n, big_t = len(seeds), n_accounts, quarters
    env = draw_many(list(seeds), m, n, big_t, p)
    s = initial_state(env, m, p)
    rec = Recorder(r_count, m, n, big_t, p, keep_trajectories)
    rec.open(s, np.ones((r_count, n), dtype=bool), 1)
    for t in range(1, big_t + 1):
        started = renew(s, env, t, p)
        rec.open(s, started[:, 0], t)
        forced = stress_test(s, t, p)
        alloc, seen = allocate(s, env, t, policies, budgets, names, p)
        disrupted = disruptions(env, t, p)
        out = live_quarter(s, env, t, alloc, disrupted, p)
        settle(s, out, alloc, started, forced, disrupted, t, rec, env, p)
        rec.seen(seen, t)
    return rec.output(s, p)


def settle(
    s: MarketState,
    out: rules.QuarterOutcome,
    alloc: np.ndarray,
    started: np.ndarray,
    forced: Forced,
    disrupted: np.ndarray,
    t: int,
    rec: Recorder,
    env: StackedEnvironment,
    p: ModelParams,
) -> None:
    """Step 8: apply the quarter, record it, end relationships, remove vanished accounts.

    The stress test's forced ending is recorded as a switch of the focal supplier's
    relationship in the stage it was in.
    """
    ran = s.live
    revenue = np.where(ran, out.revenue, 0.0)
    profit = np.where(ran, out.profit, 0.0) - np.where(started, p.acquisition_cost, 0.0)
    invest = np.where(ran, alloc, 0.0)
    cause = np.where(ran, out.end_cause, 0)
    cause[:, 0] = np.where(forced.mask, rules.EndCause.SWITCHED.value, cause[:, 0])
    s.rel = out.relationships
    s.acc = out.accounts
    stage_end = np.asarray(s.rel.stage).copy()
    stage_end[:, 0] = np.where(forced.mask, forced.stage, stage_end[:, 0])
    rec.quarter(
        s, t, revenue, profit, invest, cause, stage_end, disrupted, out, forced, env
    )
    ended = cause > 0
    s.last_revenue = revenue
    s.max_stage = np.where(ran, np.maximum(s.max_stage, s.rel.stage), s.max_stage)
    s.rel = rules.close_relationships(s.rel, ended)
    s.ended_at = np.where(ended, t, s.ended_at)
    vanished = np.asarray(out.vanished) & s.present
    s.present = s.present & ~vanished
    s.vacated_at = np.where(vanished, t, s.vacated_at)


class Recorder:
    """Per-quarter records, the focal ledger and trajectories of a batch run."""

    def __init__(
        self, r_count: int, m: int, n: int, big_t: int, p: ModelParams, keep: bool
    ) -> None:
        self.p = p
        self.n = n
        self.quarters = {c: np.empty((r_count, big_t)) for c in QUARTER_COLUMNS}
        self.suppliers = {
            c: np.empty((r_count, m, big_t)) for c in SUPPLIER_QUARTER_COLUMNS
        }
        self.reach = {k: (np.zeros(r_count), np.zeros(r_count)) for k in (2, 3, 4)}
        self.ledger = Ledger(r_count, n, max_generations(big_t, p.replacement_delay))
        self.new_focal = np.zeros(r_count, dtype=np.int64)
        self.last_cts = np.zeros((r_count, m, n))
        self.traj: dict[str, np.ndarray] = {}
        if keep:
            for k in TRAJECTORY_KEYS:
                self.traj[k] = np.zeros((r_count, big_t, n))
            self.traj["stage"] = np.zeros((r_count, big_t, n), dtype=np.int64)
            self.traj["shares"] = np.zeros((r_count, big_t, m, n))

    def open(self, s: MarketState, mask: np.ndarray, t: int) -> None:
        """Open ledger entries for the focal relationships started in ``mask`` (R, n)."""
        self.new_focal = np.sum(mask, axis=-1) if t > 1 else np.zeros(len(mask), np.int64)
        if not np.any(mask):
            return
        gen = s.generation[:, 0]
        led = self.ledger
        if t > 1:
            led.flush(gen - 1, mask)
        led.set_many(
            gen,
            mask,
            {
                "exists": np.ones(mask.shape, dtype=bool),
                "arrived": np.full(mask.shape, t),
                "willing": np.broadcast_to(s.acc.willing[:, 0], mask.shape),
                "potential": s.potential[:, 0],
                "potential_class": s.potential_class[:, 0],
            },
        )

    def quarter(
        self,
        s: MarketState,
        t: int,
        revenue: np.ndarray,
        profit: np.ndarray,
        invest: np.ndarray,
        cause: np.ndarray,
        stage_end: np.ndarray,
        disrupted: np.ndarray,
        out: rules.QuarterOutcome,
        forced: Forced,
        env: StackedEnvironment,
    ) -> None:
        """Record quarter t (before endings take effect)."""
        i = t - 1
        trust = np.asarray(s.rel.trust).copy()
        trust[:, 0] = np.where(forced.mask, forced.trust, trust[:, 0])
        r, per_supplier = market_record(
            stage=stage_end,
            live_end=(stage_end > 0) & (cause == 0),
            trust=trust,
            share=s.rel.share,
            revenue=revenue,
            profit=profit,
            investment=invest,
            end_cause=cause,
            demand=out.demand,
            present=s.present,
            new_relationships=self.new_focal,
            disruption_cost=out.disruption_cost,
            downturn=env.downturn[:, i],
            disrupted=disrupted[:, :, 0],
        )
        for c in QUARTER_COLUMNS:
            self.quarters[c][:, i] = r[c]
        for c in SUPPLIER_QUARTER_COLUMNS:
            self.suppliers[c][:, :, i] = per_supplier[c]
        self.last_cts = np.where(cause == 0, out.cost_to_serve, 0.0)
        self._focal(s, t, revenue, profit, invest, cause, stage_end, trust)
        if self.traj:
            tr = self.traj
            ran = np.asarray(s.rel.stage[:, 0] > 0)
            tr["stage"][:, i] = np.where(ran, s.rel.stage[:, 0], 0)
            tr["trust"][:, i] = np.where(ran, trust[:, 0], 0.0)
            tr["share_of_wallet"][:, i] = np.where(ran, s.rel.share[:, 0], 0.0)
            tr["revenue"][:, i] = revenue[:, 0]
            tr["profit"][:, i] = profit[:, 0]
            tr["investment"][:, i] = invest[:, 0]
            tr["cost_to_serve"][:, i] = np.where(ran, out.cost_to_serve[:, 0], 0.0)
            tr["shares"][:, i] = np.where(stage_end > 0, s.rel.share, 0.0)

    def seen(self, estimate: np.ndarray, t: int) -> None:
        """Keep the focal supplier's estimate of potential in quarter t (trajectories)."""
        if self.traj:
            self.traj["estimated_potential"][:, t - 1] = estimate

    def _focal(
        self,
        s: MarketState,
        t: int,
        revenue: np.ndarray,
        profit: np.ndarray,
        invest: np.ndarray,
        cause: np.ndarray,
        stage_end: np.ndarray,
        trust: np.ndarray,
    ) -> None:
        led = self.ledger
        gen = s.generation[:, 0]
        stage0 = stage_end[:, 0]
        ran0 = stage0 > 0
        led.add(ran0, revenue[:, 0], profit[:, 0], invest[:, 0], stage0, trust[:, 0])
        first = ran0 & (stage0 > s.max_stage[:, 0])
        if np.any(first):
            took = (t - s.arrived[:, 0] + 1).astype(np.float64)
            for k in (2, 3, 4):
                hit = first & (stage0 == k)
                tot, cnt = self.reach[k]
                tot += np.sum(np.where(hit, took, 0.0), axis=-1)
                cnt += np.sum(hit, axis=-1)
        ended = cause[:, 0] > 0
        if np.any(ended):
            led.set_many(
                gen,
                ended,
                {
                    "ended": np.full(ended.shape, t),
                    "end_cause": cause[:, 0],
                    "end_stage": stage0,
                },
            )

    def output(self, s: MarketState, p: ModelParams) -> BatchOutput:
        """Close the ledger and gather the run's arrays."""
        gen = s.generation[:, 0]
        self.ledger.flush(gen, np.ones(gen.shape, dtype=bool))
        final = np.stack([np.sum(s.rel.stage == k, axis=-1) for k in (1, 2, 3, 4)], axis=-1)
        tv = rules.terminal_value(
            s.rel.stage, s.last_revenue, self.last_cts, s.acc.scale, p
        )
        return BatchOutput(
            quarters=self.quarters,
            suppliers=self.suppliers,
            final_stages=final,
            terminal_value=np.sum(tv, axis=-1),
            reach=self.reach,
            accounts=self.ledger.columns(self.n),
            final=final_relationships(s.rel),
            trajectories=self.traj,
        )


#: Relationship fields reported at the horizon (:attr:`BatchOutput.final`).
FINAL_FIELDS = ("stage", "trust", "age", "share")


def final_relationships(rel: rules.RelationshipState) -> dict[str, np.ndarray]:
    """Every relationship's stage, trust, age and share at the horizon (copies)."""
    return {f: np.array(getattr(rel, f), copy=True) for f in FINAL_FIELDS}
