"""Batched face: R replications of a market of M suppliers x n accounts at once.

The engine steps the same model as the Mesa face (:mod:`kamsim.model.rules`, one account
at a time) for R markets at once: the state of all markets lives in stacked arrays
(:class:`MarketState`, relationships (R, M, n), accounts (R, n)), and each quarter's
arithmetic runs in compiled loops (:mod:`kamsim.engine.kernel`, Numba) that evaluate the
rules operation for operation. Each replication's random environment is drawn from
its own seed by :mod:`kamsim.environment`. With the same seeds it reproduces
:class:`kamsim.KAMModel` to the last bit; ``tests/test_equivalence.py`` proves it.

Each quarter t = 1..T is the ODD's process overview:

0. :func:`arrive` — new accounts take vacant slots (their attributes transformed in
   NumPy); then :func:`kamsim.engine.kernel.begin_quarter` — suppliers court accounts again,
   the focal ledger opens the new relationships, and the stress test (the scripted
   loss of the focal supplier's largest account);
1. :func:`allocate` — every supplier observes its relationships
   (:func:`kamsim.engine.kernel.observe_quarter`, only the estimates its policy reads,
   :func:`kamsim.policies.estimates_read`) and its policy, a plain Python callable,
   splits its budget (:func:`kamsim.policies.enforce_budget`);
2-8. :func:`kamsim.engine.kernel.end_quarter` — service, trust, adaptation, stages, wallet
   split, economics and endings; ended relationships and vanished accounts leave;
   the quarter is recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kamsim.engine import kernel as kn
from kamsim.model import market, rules
from kamsim.model import state as st
from kamsim.model.environment import Accounts, StackedEnvironment, draw_many
from kamsim.model.judgement import potential_classes
from kamsim.model.params import ModelParams
from kamsim.model.records import QUARTER_COLUMNS, SUPPLIER_QUARTER_COLUMNS
from kamsim.policies import (
    Observation,
    enforce_budget,
    estimates_read,
    observation_from_arrays,
    policy_name,
    without_unread,
)
from kamsim.portfolio import Portfolio
from kamsim.portfolio.start import start_portfolio

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

#: Per-slot trajectory arrays (R, T, n) of the focal supplier kept on request (in the
#: order of the kernel's trajectory rows).
TRAJECTORY_KEYS = (
    "trust",
    "share_of_wallet",
    "revenue",
    "profit",
    "investment",
    "cost_to_serve",
    "estimated_potential",
    "estimated_willingness",
    "wallet",
    "potential",
    "willing",
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


def index_columns(n: int, g_max: int, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The ``slot`` and ``generation`` of every ledger column ``slot * G + gen``."""
    return {
        "slot": np.broadcast_to(np.repeat(np.arange(n), g_max), shape).copy(),
        "generation": np.broadcast_to(np.tile(np.arange(g_max), n), shape).copy(),
    }


class Ledger:
    """The focal supplier's relationships, one column per (slot, generation).

    Arrays (R, n * G); relationship (slot, gen) is at column ``slot * G + gen``. The
    Mesa face fills it from each model's ledger (``run_mesa_batch``); the engine
    keeps the same columns in its :class:`Recorder`.
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

    def columns(self, n: int) -> dict[str, np.ndarray]:
        """The ledger with its ``slot`` and ``generation`` columns."""
        return {**self.cols, **index_columns(n, self.g_max, self.cols["exists"].shape)}


@dataclass
class MarketState:
    """State of R markets in stacked arrays (see :mod:`kamsim.engine.kernel` for the rows).

    Attributes:
        rel_int: integer relationship fields (8, R, M, n): stage (0 none), tenure,
            age, loss streak, quarter it last ended (-1), quarter it started,
            generation (relationships the supplier has had in the slot, minus 1),
            highest stage reached.
        rel_float: float relationship fields (8, R, M, n): trust, the supplier's
            stock K (k€), the account's adaptation A (k€), share of wallet, the two
            persistent biases, last quarter's revenue (k€) and cost to serve (k€).
        acc_float: account fields (6, R, n): wallet (k€/yr), sensitivity,
            tolerance, effort scale (k€/quarter), wariness, potential (the wallet its
            plans lead to, k€/yr).
        acc_int: account fields (3, R, n): willing, present, quarter the slot's
            account disappeared (-1 if present).
    """

    rel_int: np.ndarray
    rel_float: np.ndarray
    acc_float: np.ndarray
    acc_int: np.ndarray

    @classmethod
    def initial(
        cls,
        env: StackedEnvironment,
        m: int,
        p: ModelParams,
        portfolio: Portfolio | None = None,
    ) -> MarketState:
        """Every supplier starts a tactical relationship with every account.

        With a ``portfolio`` the focal relationships then start where the file says
        they are (:func:`kamsim.portfolio.start.start_portfolio`).
        """
        a, s0 = env.initial, env.initial_starts
        r_count, n = a.wallet.shape
        ri = np.zeros((st.REL_I, r_count, m, n), dtype=np.int64)
        rf = np.zeros((st.REL_F, r_count, m, n))
        af = np.zeros((st.ACC_F, r_count, n))
        ai = np.zeros((st.ACC_I, r_count, n), dtype=np.int64)
        s = cls(ri, rf, af, ai)
        s.place_accounts(a, np.s_[:, :])
        shape = (r_count, m, n)
        trust, bias_p, bias_t, bias_w = (
            np.ascontiguousarray(np.broadcast_to(x, shape)) for x in s0.as_tuple()
        )
        compiled = rules.compiled_params(p)
        market.start_market(ri, rf, af, trust, bias_p, bias_t, bias_w, compiled)
        if portfolio is not None:
            start_portfolio(ri, rf, af, ai, env.keys, portfolio, p)
        return s

    def place_accounts(self, a: Accounts, where: tuple[Any, ...]) -> None:
        """Put accounts ``a`` into the slots ``where`` (an index of (R, n) arrays)."""
        st.place_accounts(self.acc_float, self.acc_int, a, where)

    @property
    def stage(self) -> np.ndarray:
        """Stage of every relationship (R, M, n), 0 where there is none."""
        return self.rel_int[st.STAGE]


def arrive(s: MarketState, env: StackedEnvironment, t: int, p: np.ndarray) -> None:
    """Step 0a: new accounts take the slots vacated long enough ago.

    A slot whose account disappeared more than ``replacement_delay`` quarters ago
    gets a new account (the newcomer drawn for that slot and quarter); one compiled
    call (:func:`kamsim.engine.kernel.arrive`).
    """
    kn.arrive(t, s.acc_float, s.acc_int, env.keys, p)


class Quarter:
    """Scratch arrays of one quarter shared by the kernel's four calls.

    ``reads`` (3, M) says whether each supplier's policy reads its estimate of
    potential (row 0), its reading of trust (row 1) and its estimate of willingness
    (row 2) (:func:`kamsim.policies.estimates_read`); ``computed`` is where the kernel
    computes them: those, and the focal supplier's estimates of potential and
    willingness when trajectories are kept (``seen``, (2, R, n)).
    """

    def __init__(
        self, r_count: int, m: int, n: int, reads: np.ndarray, keep_seen: bool
    ) -> None:
        self.reads = reads
        self.computed = reads.copy()
        self.computed[0, 0] |= keep_seen
        self.computed[2, 0] |= keep_seen
        self.started = np.zeros((r_count, m, n), dtype=bool)
        self.forced = np.zeros((r_count, n), dtype=bool)
        self.forced_stage = np.zeros((r_count, n), dtype=np.int64)
        self.forced_trust = np.zeros((r_count, n))
        self.new_focal = np.zeros(r_count, dtype=np.int64)
        self.seen = np.zeros((2, r_count, n))
        self.alloc = np.zeros((r_count, m, n))
        self.work = kn.end_quarter_work(m, n)


def allocate(
    s: MarketState,
    env: StackedEnvironment,
    q: Quarter,
    t: int,
    policies: Sequence[PolicyFn],
    budgets: Sequence[float],
    names: Sequence[str],
    compiled: np.ndarray,
) -> None:
    """Step 1: each supplier observes its relationships and its policy allocates.

    The observation is compiled (:func:`kamsim.engine.kernel.observe_quarter`); each
    supplier's policy, a plain Python callable, then splits its budget. Writes the
    allocations (k€, each supplier's within its budget) to ``q.alloc``.
    """
    m, r_count, n = len(policies), *s.acc_float.shape[1:]
    reads = q.reads
    obs_f = np.empty((rules.OBS_F, m, r_count, n))
    obs_i = np.empty((rules.OBS_I, m, r_count, n), dtype=np.int64)
    kn.observe_quarter(
        s.rel_int, s.rel_float, s.acc_float, s.acc_int, env.keys, t - 1, compiled,
        q.computed,
        obs_f, obs_i, q.seen,
    )  # fmt: skip
    for k, (policy, budget, name) in enumerate(zip(policies, budgets, names, strict=True)):
        obs = observation_from_arrays(t, obs_f[:, k], obs_i[:, k])
        obs = without_unread(obs, tuple(bool(x) for x in reads[:, k]), name)
        q.alloc[:, k] = enforce_budget(policy(obs, budget), obs, budget, name)


def run_batch(
    seeds: Sequence[int],
    *,
    n_accounts: int,
    quarters: int,
    policy: PolicyFn,
    params: ModelParams,
    rival_policies: Sequence[PolicyFn] = (),
    keep_trajectories: bool = False,
    keep_accounts: bool = True,
    portfolio: Portfolio | None = None,
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
        keep_accounts: keep the focal ledger (``BatchOutput.accounts``); without it
            the ledger's columns are empty and its work is skipped.
        portfolio: start the focal relationships from this portfolio (its length
            must be ``n_accounts``).

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
    s = MarketState.initial(env, m, p, portfolio)
    rec = Recorder(r_count, m, n, big_t, p, keep_trajectories, keep_accounts)
    rec.open_initial(s)
    reads = np.array([estimates_read(f) for f in policies], dtype=bool).T.copy()
    q = Quarter(r_count, m, n, reads, keep_seen=keep_trajectories)
    compiled = st.params_array(p)  # the parameter record, as compiled code takes it
    for t in range(1, big_t + 1):
        arrive(s, env, t, compiled)
        begin_quarter(s, env, q, t, rec, compiled)
        allocate(s, env, q, t, policies, budgets, names, compiled)
        end_quarter(s, env, q, t, rec, compiled)
    return rec.output(s, p)


def begin_quarter(
    s: MarketState,
    env: StackedEnvironment,
    q: Quarter,
    t: int,
    rec: Recorder,
    compiled: np.ndarray,
) -> None:
    """Step 0b: relationships start again, the ledger opens them, the stress test.

    One compiled call (:func:`kamsim.engine.kernel.begin_quarter`); the starts' variates
    (initial trust and biases) are computed there for exactly those relationships.
    """
    kn.begin_quarter(
        t, s.rel_int, s.rel_float, s.acc_float, s.acc_int, env.keys, compiled,
        q.started, q.forced, q.forced_stage, q.forced_trust, q.new_focal,
        rec.lf, rec.li, rec.lb, rec.lpc, rec.run_f, rec.run_max, rec.g_max,
    )  # fmt: skip


def end_quarter(
    s: MarketState,
    env: StackedEnvironment,
    q: Quarter,
    t: int,
    rec: Recorder,
    compiled: np.ndarray,
) -> None:
    """Steps 2-8: the quarter lives, settles and is recorded."""
    kn.end_quarter(
        t, s.rel_int, s.rel_float, s.acc_float, s.acc_int, q.alloc,
        env.keys, env.downturn, env.disruption, compiled,
        (q.started, q.forced, q.forced_stage, q.forced_trust, q.new_focal),
        (rec.record, rec.sup_record, rec.reach),
        (rec.lf, rec.li, rec.run_f, rec.run_max),
        rec.g_max,
        (rec.traj, rec.traj_stage, rec.traj_shares, q.seen),
        q.work,
    )  # fmt: skip


class Recorder:
    """Per-quarter records, the focal ledger and trajectories of a batch run."""

    def __init__(
        self,
        r_count: int,
        m: int,
        n: int,
        big_t: int,
        p: ModelParams,
        keep: bool,
        keep_ledger: bool = True,
    ) -> None:
        self.n = n
        self.compiled = rules.compiled_params(p)
        # one market's quarter is contiguous (the kernel writes it market by market)
        self.record = np.zeros((r_count, big_t, len(QUARTER_COLUMNS)))
        self.sup_record = np.zeros((r_count, m, big_t, len(SUPPLIER_QUARTER_COLUMNS)))
        self.reach = np.zeros((3, 2, r_count))
        # the ledger's generations per slot; 0 when it is not kept (no columns, and
        # the kernel skips its work)
        g_max = max_generations(big_t, p.replacement_delay) if keep_ledger else 0
        self.g_max = g_max
        width = n * g_max
        self.lf = np.zeros((5, r_count, width))
        self.li = np.zeros((5, r_count, width), dtype=np.int64)
        self.li[kn.L_ENDED] = -1
        self.lb = np.zeros((2, r_count, width), dtype=bool)
        self.lpc = np.zeros((r_count, width), dtype=np.int8)
        self.run_f = np.zeros((4, r_count, n))
        self.run_max = np.ones((r_count, n), dtype=np.int64)
        size = (r_count, big_t, n) if keep else (0, 0, 0)
        self.traj = np.zeros((len(TRAJECTORY_KEYS), *size))
        self.traj_stage = np.zeros(size, dtype=np.int64)
        self.traj_shares = np.zeros((size[0], size[1], m if keep else 0, size[2]))
        self.keep = keep

    def open_initial(self, s: MarketState) -> None:
        """Open the ledger entries of the focal relationships of the first quarter."""
        if self.g_max == 0:
            return
        self.run_max[:] = s.rel_int[st.MAX_STAGE][:, 0]
        cols = np.arange(self.n) * self.g_max
        self.lb[kn.L_EXISTS][:, cols] = True
        self.li[kn.L_ARRIVED][:, cols] = 1
        self.lb[kn.L_WILLING][:, cols] = s.acc_int[st.WILLING] != 0
        self.lf[kn.L_POTENTIAL][:, cols] = s.acc_float[st.POTENTIAL]
        self.lpc[:, cols] = potential_classes(
            np.ascontiguousarray(s.acc_float[st.POTENTIAL]), self.compiled
        )

    def ledger_columns(self) -> dict[str, np.ndarray]:
        """The ledger as named columns (R, n * G), with ``slot`` and ``generation``."""
        lf, li, lb = self.lf, self.li, self.lb
        return {
            "revenue": lf[kn.L_REVENUE],
            "profit": lf[kn.L_PROFIT],
            "investment": lf[kn.L_INVESTMENT],
            "trust": lf[kn.L_TRUST],
            "potential": lf[kn.L_POTENTIAL],
            "arrived": li[kn.L_ARRIVED],
            "ended": li[kn.L_ENDED],
            "end_cause": li[kn.L_END_CAUSE],
            "end_stage": li[kn.L_END_STAGE],
            "max_stage": li[kn.L_MAX_STAGE],
            "willing": lb[kn.L_WILLING],
            "exists": lb[kn.L_EXISTS],
            "potential_class": self.lpc,
            **index_columns(self.n, self.g_max, self.lpc.shape),
        }

    def output(self, s: MarketState, p: ModelParams) -> BatchOutput:
        """Close the ledger and gather the run's arrays."""
        kn.close_ledger(s.rel_int, self.lf, self.li, self.run_f, self.run_max, self.g_max)
        stage = s.stage
        final = np.stack([np.sum(stage == k, axis=-1) for k in (1, 2, 3, 4)], axis=-1)
        rf = s.rel_float
        tv = market.terminal_values(s.rel_int, rf, s.acc_float, rules.compiled_params(p))
        traj: dict[str, np.ndarray] = {}
        if self.keep:
            traj = dict(zip(TRAJECTORY_KEYS, self.traj, strict=True))
            traj["stage"] = self.traj_stage
            traj["shares"] = self.traj_shares
        return BatchOutput(
            quarters={c: self.record[..., k] for k, c in enumerate(QUARTER_COLUMNS)},
            suppliers={
                c: self.sup_record[..., k] for k, c in enumerate(SUPPLIER_QUARTER_COLUMNS)
            },
            final_stages=final,
            terminal_value=np.sum(tv, axis=-1),
            reach={k: (self.reach[k - 2, 0], self.reach[k - 2, 1]) for k in (2, 3, 4)},
            accounts=self.ledger_columns(),
            final={
                "stage": stage.copy(),
                "trust": rf[st.TRUST].copy(),
                "age": s.rel_int[st.AGE].copy(),
                "share": rf[st.SHARE].copy(),
            },
            trajectories=traj,
        )


#: Relationship fields reported at the horizon (:attr:`BatchOutput.final`).
FINAL_FIELDS = ("stage", "trust", "age", "share")


#: What the CLI says when the engine is being compiled (a first run on a machine).
COMPILING = "compiling kamsim's engine (once per machine, about 15 s)..."


def ensure_compiled(
    notify: Callable[[str], None] | None = None, after: float = 1.0
) -> None:
    """Compile or load the kernel now; call ``notify(COMPILING)`` if it takes a while.

    Loading the cached kernel takes a fraction of a second, so ``notify`` is only
    called when compiling takes longer than ``after`` seconds (the first run on a
    machine). Before starting worker processes, this compiles once in the parent so
    that the workers load the cache instead of each compiling.
    """
    import threading

    timer = threading.Timer(after, notify, args=(COMPILING,)) if notify else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        warm_up()
    finally:
        if timer is not None:
            timer.cancel()


def warm_up() -> float:
    """Compile the kernel (or load it from Numba's on-disk cache); returns seconds.

    The first run on a machine compiles :mod:`kamsim.engine.kernel`, the default rivals'
    policy :class:`kamsim.policies.StageGated` and the Mesa face's entry points
    (:mod:`kamsim.model.entries`; about 20-40 s in all) and
    caches the machine code beside the module; later runs load it in a fraction of
    a second. ``make`` calls this once after installing, so neither the test suite
    nor the first ``kamsim simulate`` waits for the compiler.
    """
    import time

    from kamsim.policies import resolve_policy

    started = time.perf_counter()
    run_batch(
        [0],
        n_accounts=2,
        quarters=2,
        policy=resolve_policy("uniform"),
        params=ModelParams(),
        rival_policies=[resolve_policy("stage_gated")],  # the default rivals' (compiled)
    )
    from kamsim.agents.model import KAMModel  # the Mesa face (which needs the engine's)

    model = KAMModel(n_accounts=2, rng=0)
    for _ in range(2):
        model.step()
    return time.perf_counter() - started
