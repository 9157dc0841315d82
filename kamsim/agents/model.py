"""Mesa face: :class:`KAMModel`, a market of suppliers courting the same key accounts.

Use it to watch one market quarter by quarter, inspect agents, collect data with
Mesa's ``DataCollector``, drive the SolaraViz teaching page, or run
``mesa.batch_run``. For Monte Carlo studies use :func:`kamsim.simulate`, whose
batched engine gives bit-identical results for the same seeds, much faster.

Example:
    >>> from kamsim import KAMModel
    >>> model = KAMModel(n_accounts=20, policy="uniform", rivals=2, rng=42)
    >>> for _ in range(40):
    ...     model.step()
    >>> df = model.datacollector.get_model_vars_dataframe()
    >>> accounts = model.datacollector.get_agent_vars_dataframe()
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, cast

import mesa
import numpy as np

from kamsim.agents.agents import KeyAccount, Supplier
from kamsim.model import rules
from kamsim.model.environment import (
    BLOCK,
    QuarterBlock,
    draw_accounts,
    draw_block,
    draw_key,
    draw_starts,
)
from kamsim.model.params import ModelParams, ParameterError, suggest
from kamsim.model.records import QUARTER_COLUMNS, market_record
from kamsim.policies.observation import Observation
from kamsim.policies.registry import resolve_policy

__all__ = [
    "ACCOUNT_REPORTERS",
    "DEFAULT_RIVAL_POLICY",
    "MAX_ACCOUNTS",
    "MAX_RIVALS",
    "SUPPLIER_REPORTERS",
    "KAMModel",
    "check_n_accounts",
    "check_rivals",
    "resolve_rival_policies",
]

#: Largest portfolio a model accepts (5-50 is the range kamsim is built to study).
MAX_ACCOUNTS = 500
#: Largest number of rival suppliers.
MAX_RIVALS = 20
#: What a rival does unless told otherwise: a competent, targeted KAM programme.
DEFAULT_RIVAL_POLICY = "stage_gated"

PolicyArg = str | Callable[[Observation, float], np.ndarray]

#: Per-account columns recorded by the DataCollector (``get_agent_vars_dataframe``):
#: the account's relationship with the focal supplier, and its market. ``revenue``
#: and ``profit`` are the focal relationship's (prefixed with ``account_`` so that
#: they do not overwrite the model's ``revenue`` and ``profit`` in the rows of
#: ``mesa.batch_run``, which merges model and agent reporters into one dict).
ACCOUNT_REPORTERS = (
    "slot",
    "stage",
    "trust",
    "share_of_wallet",
    "account_revenue",
    "account_profit",
    "allocation",
    "stock",
    "adaptation",
    "dependence",
    "wallet",
    "potential",
)

#: Per-supplier columns (``get_agenttype_vars_dataframe(Supplier)``) and the Supplier
#: attribute each reads; prefixed so that they do not overwrite the model's columns
#: in the rows of ``mesa.batch_run``.
SUPPLIER_REPORTERS = {
    "supplier": "index",
    "supplier_policy": "policy_name",
    "supplier_revenue": "revenue",
    "supplier_profit": "profit",
    "supplier_investment": "investment",
    "supplier_market_share": "market_share",
    "supplier_relationships": "n_active",
}


def _record(model: KAMModel, *, name: str) -> Any:
    return model.record[name]


def _account_value(agent: KeyAccount, name: str) -> Any:
    if name in ("slot", "stage"):
        return getattr(agent, name)
    if name in ("trust", "share_of_wallet"):
        return getattr(agent, name)
    if name == "dependence":
        return agent.largest_share
    if name in ("wallet", "potential"):
        return float(getattr(agent, name))
    if name == "allocation":
        return float(agent.allocation[0, 0])
    if name == "stock":
        return float(agent.rel.stock[0, 0])
    if name == "adaptation":
        return float(agent.rel.adaptation[0, 0])
    if name == "account_revenue":
        return float(agent.quarter_revenue[0])
    return float(agent.quarter_profit[0])


class _AccountCollector(mesa.DataCollector):
    """A DataCollector whose agent reporters read the key accounts only.

    Mesa's agent reporters visit every agent; kamsim's suppliers have their own
    (agent-type) reporters, so the per-account table holds one row per account.
    """

    def _record_agents(self, model: Any) -> Any:
        funcs = list(self.agent_reporters.values())
        return [(model.time, a.unique_id, *(f(a) for f in funcs)) for a in model.accounts]


def check_n_accounts(n_accounts: Any) -> int:
    """Validate a portfolio size: an integer in [1, MAX_ACCOUNTS]."""
    if (
        isinstance(n_accounts, bool)
        or not isinstance(n_accounts, (int, np.integer))
        or not 1 <= n_accounts <= MAX_ACCOUNTS
    ):
        raise ParameterError(
            f"'n_accounts' must be an integer in [1, {MAX_ACCOUNTS}] "
            f"(5-50 is the studied range): {n_accounts!r}"
        )
    return int(n_accounts)


def check_rivals(rivals: Any) -> int:
    """Validate the number of rival suppliers: an integer in [0, MAX_RIVALS]."""
    if (
        isinstance(rivals, bool)
        or not isinstance(rivals, (int, np.integer))
        or not 0 <= rivals <= MAX_RIVALS
    ):
        raise ParameterError(
            f"'rivals' must be an integer in [0, {MAX_RIVALS}]: {rivals!r}"
        )
    return int(rivals)


def resolve_rival_policies(
    rivals: int, rival_policy: PolicyArg | Sequence[PolicyArg] | None
) -> list[Callable[[Observation, float], np.ndarray]]:
    """One resolved policy per rival from a name, a callable or a list of them.

    Raises:
        ParameterError: for a list whose length is not ``rivals``, or a policy that
            cannot be resolved.
    """
    spec = DEFAULT_RIVAL_POLICY if rival_policy is None else rival_policy
    if isinstance(spec, (list, tuple)):
        if len(spec) != rivals:
            raise ParameterError(
                f"'rival_policy' must name one policy per rival ({rivals}): "
                f"{len(spec)} given"
            )
        return [_rival(x) for x in spec]
    return [_rival(cast(PolicyArg, spec))] * rivals


def _rival(policy: PolicyArg) -> Callable[[Observation, float], np.ndarray]:
    """Resolve one rival's policy; errors name the ``rival_policy`` argument."""
    try:
        return resolve_policy(policy)
    except ParameterError as exc:
        raise ParameterError(str(exc).replace("'policy'", "'rival_policy'", 1)) from None


def check_rng(rng: Any) -> Any:
    """Validate a seed: None, a non-negative integer or a ``numpy.random.Generator``."""
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise ParameterError(
            f"'rng' must be an integer >= 0, a numpy Generator or None: {rng!r}"
        )
    return int(rng)


class KAMModel(mesa.Model):
    """A market of suppliers courting the same key accounts through the four KAM stages.

    Args:
        n_accounts: number of key accounts (slots), 1-500.
        policy: the focal supplier's investment policy: a built-in name (see
            ``kamsim policies``), a ``"module:function"`` string or a callable
            ``policy(obs, budget)``.
        rivals: number of rival suppliers courting the same accounts (0-20; 0 leaves
            the focal supplier alone against the rest of the market).
        rival_policy: the rivals' policy: a name, a callable, or a list with one per
            rival; default ``"stage_gated"``. Each rival's budget is
            ``params.rival_budget``.
        params: a :class:`kamsim.ModelParams`; defaults to ``ModelParams()``.
        rng: the seed (int) or ``numpy.random.Generator``; everything random in the
            run is drawn from ``self.rng``.
        scenario: accepted for Mesa's SolaraViz and ignored.
        **param_overrides: any :class:`ModelParams` field, e.g. ``budget=200.0``,
            applied on top of ``params`` (handy for ``mesa.batch_run`` and sliders).

    Attributes:
        suppliers: the :class:`Supplier` agents, focal first; ``supplier`` the focal.
        accounts: the live :class:`KeyAccount` agents in slot order.
        quarter: the last completed quarter (0 before the first step).
        record: the last quarter's figures (see ``QUARTER_COLUMNS``).
        datacollector: one model row per quarter (focal supplier and market), one
            agent row per account per quarter, and supplier rows by agent type.
    """

    def __init__(
        self,
        *,
        n_accounts: int = 20,
        policy: PolicyArg = "uniform",
        rivals: int = 2,
        rival_policy: PolicyArg | Sequence[PolicyArg] | None = None,
        params: ModelParams | None = None,
        rng: Any = None,
        scenario: Any = None,
        **param_overrides: Any,
    ) -> None:
        # Mesa's SolaraViz passes its default ``scenario`` on Reset; kamsim keeps its
        # parameters in ModelParams and its seed in ``rng``, so it is accepted and unused.
        del scenario
        super().__init__(rng=check_rng(rng))
        self.n_accounts = check_n_accounts(n_accounts)
        self.rivals = check_rivals(rivals)
        self.n_suppliers = 1 + self.rivals
        self.params = self._params(params, param_overrides)
        focal_policy = resolve_policy(policy)
        rival_fns = resolve_rival_policies(self.rivals, rival_policy)
        self.quarter = 0
        m, n, p = self.n_suppliers, self.n_accounts, self.params
        self.suppliers = [
            Supplier(self, index=0, policy=focal_policy, budget=p.budget),
            *(
                Supplier(self, index=k + 1, policy=f, budget=p.rival_budget)
                for k, f in enumerate(rival_fns)
            ),
        ]
        initial = draw_accounts(self.rng, n, p)
        starts = draw_starts(self.rng, m, n, p)
        self._event_key = draw_key(self.rng)
        self._blocks: list[QuarterBlock] = [draw_block(self._event_key, m, n, p)]
        self.slots: list[KeyAccount | None] = []
        for j in range(n):
            acc = KeyAccount(self, slot=j, accounts=initial, index=j)
            acc.start(np.ones((m, 1), dtype=bool), starts, -1)
            self.slots.append(acc)
        self._init_bookkeeping()
        self.record: dict[str, Any] = self._initial_record()
        self.datacollector = _AccountCollector(
            model_reporters={
                c: functools.partial(_record, name=c) for c in QUARTER_COLUMNS
            },
            agent_reporters={
                c: functools.partial(_account_value, name=c) for c in ACCOUNT_REPORTERS
            },
            agenttype_reporters={Supplier: dict(SUPPLIER_REPORTERS)},
        )
        self.running = True
        self.datacollector.collect(self)

    @staticmethod
    def _params(params: ModelParams | None, overrides: dict[str, Any]) -> ModelParams:
        base = params if params is not None else ModelParams()
        if not isinstance(base, ModelParams):
            raise ParameterError(f"'params' must be a ModelParams: {base!r}")
        allowed = ["n_accounts", "policy", "rivals", "rival_policy", "params", "rng"]
        for key in overrides:
            if key not in ModelParams.names():
                raise ParameterError(
                    f"unknown KAMModel argument '{key}'"
                    f"{suggest(key, [*allowed, *ModelParams.names()])}"
                )
        return base.evolve(**overrides) if overrides else base

    def _init_bookkeeping(self) -> None:
        """Slot-level bookkeeping (M, n), kept when an account leaves its slot."""
        m, n = self.n_suppliers, self.n_accounts
        self.ended_at = np.full((m, n), -1, dtype=np.int64)
        self.vacated_at = np.full(n, -1, dtype=np.int64)
        self.arrived = np.ones((m, n), dtype=np.int64)
        self.generation = np.zeros((m, n), dtype=np.int64)
        self.max_stage = np.ones((m, n), dtype=np.int64)
        wallet = np.array([[a.wallet for a in self.accounts]])
        self.last_revenue = np.repeat(rules.initial_revenue(wallet, self.params), m, axis=0)
        self.reach: dict[int, list[float]] = {2: [0.0, 0.0], 3: [0.0, 0.0], 4: [0.0, 0.0]}
        self.efficiency: Any = np.ones((m, 1))
        self.disrupted = np.zeros((m, 1), dtype=bool)
        self.relationships: list[dict[str, Any]] = []
        self.current: list[dict[str, Any]] = [self._open(j, 1) for j in range(n)]
        self.last_cts = np.zeros((1, m, n))
        self.estimated_potential = np.zeros(n)
        self.history: dict[str, list[np.ndarray]] = {
            "cost_to_serve": [],
            "shares": [],
            "estimated_potential": [],
        }

    # ------------------------------------------------------------------ helpers
    @property
    def supplier(self) -> Supplier:
        """The focal supplier."""
        return self.suppliers[0]

    @property
    def accounts(self) -> list[KeyAccount]:
        """Accounts present in the market, in slot order."""
        return [a for a in self.slots if a is not None]

    def block_position(self) -> tuple[int, QuarterBlock]:
        """Index within its block and the block of variates of the current quarter."""
        q = max(self.quarter, 1) - 1
        return q % BLOCK, self._blocks[q // BLOCK]

    def _stack(self, name: str, dtype: Any = np.float64) -> np.ndarray:
        """Relationship field ``name`` of every slot as an array (1, M, n); 0 if vacant."""
        out = np.zeros((1, self.n_suppliers, self.n_accounts), dtype=dtype)
        for a in self.accounts:
            out[0, :, a.slot] = np.asarray(getattr(a.rel, name))[:, 0]
        return out

    def stacked(self, name: str) -> np.ndarray:
        """Relationship field ``name`` of every supplier and slot (1, M, n); 0 if vacant."""
        dtype = (
            np.int64 if name in ("stage", "tenure", "age", "loss_streak") else np.float64
        )
        return self._stack(name, dtype)

    def _account_row(self, name: str, dtype: Any = np.float64) -> np.ndarray:
        """Account attribute ``name`` as an array (1, 1, n); 0 for vacant slots."""
        out = np.zeros((1, 1, self.n_accounts), dtype=dtype)
        for a in self.accounts:
            out[0, 0, a.slot] = np.asarray(getattr(a, name)).reshape(-1)[0]
        return out

    def _open(self, slot: int, quarter: int) -> dict[str, Any]:
        """A new ledger record for the focal relationship in ``slot``."""
        acc = self.slots[slot]
        assert acc is not None
        return {
            "slot": slot,
            "generation": int(self.generation[0, slot]),
            "arrived": quarter,
            "ended": -1,
            "end_cause": 0,
            "end_stage": 0,
            "willing": bool(acc.willing),
            "potential": acc.potential,
            "potential_class": acc.potential_class,
            "max_stage": 1,
            "trust": 0.0,
            "revenue": 0.0,
            "profit": 0.0,
            "investment": 0.0,
        }

    def _initial_record(self) -> dict[str, Any]:
        rec: dict[str, Any] = dict.fromkeys(QUARTER_COLUMNS, 0)
        rec.update(n_tactical=self.n_accounts, n_active=self.n_accounts)
        rec.update(mean_trust=float(np.mean([a.trust for a in self.accounts])))
        rec.update(hhi=np.nan, largest_share=np.nan, top_fifth_share=np.nan)
        rec.update(market_share=self.params.share_initial)
        rec.update(mean_share_of_wallet=self.params.share_initial)
        rec.update(mean_dependence=self.params.share_initial)
        rec.update(downturn=0.0, disruption=False)
        return rec

    # --------------------------------------------------------------------- step
    def step(self) -> None:
        """Advance one quarter: renew, allocate, live the quarter, settle and record."""
        self.quarter = round(self.time)
        t = self.quarter
        m, n, p = self.n_suppliers, self.n_accounts, self.params
        while (t - 1) // BLOCK >= len(self._blocks):
            last = bool(self._blocks[-1].downturn[-1])
            self._blocks.append(
                draw_block(
                    self._event_key,
                    m,
                    n,
                    p,
                    previous_downturn=last,
                    first_quarter=len(self._blocks) * BLOCK,
                )
            )
        started = self._renew(t)
        forced = self._stress_test(t)
        self._allocate(t)
        k, blk = self.block_position()
        self.disrupted = blk.disruption[k][:, None].copy()
        if p.disruption_at is not None and t == p.disruption_at:
            self.disrupted[0, 0] = True
        n_live = np.sum(self._stack("stage", np.int64) > 0, axis=-1, keepdims=True)[0]
        self.efficiency = rules.manager_efficiency(
            n_live, p.manager_capacity, p.overload_penalty
        )
        ran = self._stack("stage", np.int64) > 0
        for acc in self.accounts:
            acc.step()
        self._settle(t, ran, started, forced)

    def _renew(self, t: int) -> np.ndarray:
        """New accounts take vacant slots; suppliers court accounts again (step 0)."""
        m, n, p = self.n_suppliers, self.n_accounts, self.params
        started = np.zeros((1, m, n), dtype=bool)
        for a in self.accounts:
            a.started = np.zeros((m, 1), dtype=bool)
        delay = p.replacement_delay
        if delay is None:
            return started
        k, blk = self.block_position()
        for j in range(n):
            if (
                self.slots[j] is None
                and self.vacated_at[j] >= 0
                and t - self.vacated_at[j] > delay
            ):
                self.slots[j] = KeyAccount(
                    self, slot=j, accounts=blk.newcomers, index=(k, j)
                )
                self.vacated_at[j] = -1
        for acc in self.accounts:
            j = acc.slot
            stage = np.asarray(acc.rel.stage)
            held = bool(np.any(stage == 4))
            ended = self.ended_at[:, j : j + 1]
            start = (stage == 0) & (ended >= 0) & (t - ended > delay) & (not held)
            if not np.any(start):
                continue
            acc.start(start, blk.starts, k)
            s = start[:, 0]
            started[0, :, j] = s
            self.ended_at[s, j] = -1
            self.arrived[s, j] = t
            self.generation[s, j] += 1
            self.max_stage[s, j] = 1
            self.last_revenue[s, j] = rules.initial_revenue(acc.wallet, p)
            if s[0]:
                self.relationships.append(self.current[j])
                self.current[j] = self._open(j, t)
        return started

    def _stress_test(self, t: int) -> tuple[int, int, float]:
        """The focal supplier's largest relationship ends now (``lose_largest_at``).

        Returns (slot, stage, trust) of the forced ending, slot -1 if none.
        """
        p = self.params
        if p.lose_largest_at is None or t != p.lose_largest_at:
            return -1, 0, 0.0
        live = self._stack("stage", np.int64)[:, 0] > 0
        j = int(rules.largest_relationship(self.last_revenue[None, 0], live)[0])
        if j < 0:
            return -1, 0, 0.0
        acc = self.slots[j]
        assert acc is not None
        stage, trust = acc.stage, acc.trust
        ended = np.zeros((self.n_suppliers, 1), dtype=bool)
        ended[0, 0] = True
        acc.close(ended)
        return j, stage, trust

    def _allocate(self, t: int) -> None:
        """Every supplier observes its relationships and allocates its budget (step 1)."""
        p = self.params
        k, blk = self.block_position()
        stage = self._stack("stage", np.int64)
        view = {
            "stage": stage,
            "tenure": self._stack("tenure", np.int64),
            "last_revenue": self.last_revenue[None],
            "share": self._stack("share"),
            "stock": self._stack("stock"),
            "potential": rules.estimate_potential(
                self._account_row("potential"),
                self._stack("bias_potential"),
                blk.z_potential[k][None],
                stage,
                p,
            ),
            "trust": rules.read_trust(
                self._stack("trust"),
                self._stack("bias_trust"),
                blk.z_trust[k][None],
                stage,
                p,
            ),
        }
        self.estimated_potential = np.where(stage[0, 0] > 0, view["potential"][0, 0], 0.0)
        for sup in self.suppliers:
            alloc = sup.allocate(t, view)
            for acc in self.accounts:
                acc.allocation[sup.index, 0] = alloc[0, acc.slot]

    def _settle(
        self, t: int, ran: np.ndarray, started: np.ndarray, forced: tuple[int, int, float]
    ) -> None:
        """Record the quarter, end relationships, remove vanished accounts (step 8)."""
        p = self.params
        m, n = self.n_suppliers, self.n_accounts
        shape = (1, m, n)
        fields = {k: np.zeros(shape) for k in ("revenue", "profit", "cost_to_serve")}
        cause = np.zeros(shape, dtype=np.int64)
        alloc = np.zeros(shape)
        demand = np.zeros((1, 1, n))
        lost = np.zeros((1, 1, n))
        present = np.zeros((1, 1, n), dtype=bool)
        vanished = np.zeros(n, dtype=bool)
        for a in self.accounts:
            out = a.out
            assert out is not None
            j = a.slot
            for name in fields:
                fields[name][0, :, j] = np.asarray(getattr(out, name))[:, 0]
            cause[0, :, j] = np.asarray(out.end_cause)[:, 0]
            alloc[0, :, j] = a.allocation[:, 0]
            demand[0, 0, j] = out.demand
            lost[0, 0, j] = np.asarray(out.disruption_cost).reshape(-1)[0]
            present[0, 0, j] = True
            vanished[j] = bool(out.vanished)
        acq = np.where(started, p.acquisition_cost, 0.0)
        revenue = np.where(ran, fields["revenue"], 0.0)
        profit = np.where(ran, fields["profit"], 0.0) - acq
        invest = np.where(ran, alloc, 0.0)
        cause = np.where(ran, cause, 0)
        fslot, fstage, ftrust = forced
        stage_end = self._stack("stage", np.int64)
        trust = self._stack("trust")
        if fslot >= 0:
            cause[0, 0, fslot] = rules.EndCause.SWITCHED.value
            stage_end[0, 0, fslot] = fstage
            trust[0, 0, fslot] = ftrust
        rec, per_supplier = market_record(
            stage=stage_end,
            live_end=(stage_end > 0) & (cause == 0),
            trust=trust,
            share=self._stack("share"),
            revenue=revenue,
            profit=profit,
            investment=invest,
            end_cause=cause,
            demand=demand,
            present=present,
            new_relationships=np.array([int(np.sum(started[0, 0])) if t > 1 else 0]),
            disruption_cost=lost,
            downturn=np.array([self._blocks[(t - 1) // BLOCK].downturn[(t - 1) % BLOCK]]),
            disrupted=self.disrupted[:, 0][None],
        )
        self.record = {c: v[0].item() for c, v in rec.items()}
        for sup in self.suppliers:
            for c, v in per_supplier.items():
                setattr(sup, c, v[0, sup.index].item())
        self.last_cts = np.where(cause == 0, fields["cost_to_serve"], 0.0)
        self._ledger(t, revenue, profit, invest, cause, stage_end, trust)
        live0 = ran[0, 0]
        self.history["cost_to_serve"].append(
            np.where(live0, fields["cost_to_serve"][0, 0], 0.0)
        )
        self.history["shares"].append(
            np.where(stage_end[0] > 0, self._stack("share")[0], 0.0)
        )
        self.history["estimated_potential"].append(self.estimated_potential)
        for a in self.accounts:
            a.quarter_revenue = revenue[0, :, a.slot].copy()
            a.quarter_profit = profit[0, :, a.slot].copy()
        self.datacollector.collect(self)
        ended = cause > 0
        self.last_revenue = revenue[0]
        self.max_stage = np.where(
            ran[0],
            np.maximum(self.max_stage, self._stack("stage", np.int64)[0]),
            self.max_stage,
        )
        self.ended_at = np.where(ended[0], t, self.ended_at)
        for a in self.accounts:
            a.close(ended[0, :, a.slot : a.slot + 1])
        for gone in np.nonzero(vanished)[0].tolist():
            acc = self.slots[gone]
            assert acc is not None
            self.slots[gone] = None
            self.vacated_at[gone] = t
            acc.remove()

    def _ledger(
        self,
        t: int,
        revenue: np.ndarray,
        profit: np.ndarray,
        invest: np.ndarray,
        cause: np.ndarray,
        stage_end: np.ndarray,
        trust: np.ndarray,
    ) -> None:
        """Update the focal supplier's relationship records with quarter t."""
        for j, r in enumerate(self.current):
            r["revenue"] += revenue[0, 0, j]
            r["profit"] += profit[0, 0, j]
            r["investment"] += invest[0, 0, j]
            st = int(stage_end[0, 0, j])
            if st <= 0:
                continue
            if st > self.max_stage[0, j]:
                took = float(t - self.arrived[0, j] + 1)
                self.reach[st][0] += took
                self.reach[st][1] += 1
            r["max_stage"] = max(int(self.max_stage[0, j]), st)
            r["trust"] = trust[0, 0, j]
            if cause[0, 0, j] > 0:
                r["ended"] = t
                r["end_cause"] = int(cause[0, 0, j])
                r["end_stage"] = st

    @property
    def terminal_values(self) -> np.ndarray:
        """Value of each supplier's relationships in place if the run ended now (k€)."""
        stage = self._stack("stage", np.int64)
        tv = rules.terminal_value(
            stage,
            self.last_revenue[None],
            self.last_cts,
            self._account_row("scale"),
            self.params,
        )
        return np.sum(tv, axis=-1)[0]

    def ledger(self) -> list[dict[str, Any]]:
        """Every focal relationship so far (ended and current), one dict each."""
        return [*self.relationships, *self.current]

    def trajectory(self, name: str) -> np.ndarray:
        """Quarterly history of one recorded quantity.

        ``cost_to_serve`` or ``estimated_potential`` (T, n) of the focal
        relationships, or ``shares`` (T, M, n) of every supplier.
        """
        return np.array(self.history[name])

    def slot_trajectory(self) -> dict[str, np.ndarray]:
        """Per-slot arrays (T, n) of the focal relationships from the DataCollector.

        Keys: stage, trust, share_of_wallet, revenue, profit and investment (the
        allocation); 0 where no focal relationship lived through the quarter.
        """
        df = self.datacollector.get_agent_vars_dataframe().reset_index()
        df = df[df["Step"] > 0]
        t_max = self.quarter
        out: dict[str, np.ndarray] = {}
        for name, col in (
            ("stage", "stage"),
            ("trust", "trust"),
            ("share_of_wallet", "share_of_wallet"),
            ("revenue", "account_revenue"),
            ("profit", "account_profit"),
            ("investment", "allocation"),
        ):
            dtype = np.int64 if name == "stage" else np.float64
            a = np.zeros((t_max, self.n_accounts), dtype=dtype)
            steps = df["Step"].to_numpy(dtype=np.int64) - 1
            slots = df["slot"].to_numpy(dtype=np.int64)
            a[steps, slots] = df[col].to_numpy(dtype=dtype)
            out[name] = a
        return out
