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
from kamsim.model import entries, market, rules
from kamsim.model import state as st
from kamsim.model.environment import (
    BLOCK,
    Accounts,
    QuarterBlock,
    Starts,
    draw_accounts,
    draw_block,
    draw_key,
    draw_starts,
)
from kamsim.model.params import ModelParams, ParameterError, suggest
from kamsim.model.records import COUNT_COLUMNS, QUARTER_COLUMNS, SUPPLIER_QUARTER_COLUMNS
from kamsim.policies import Observation, resolve_policy
from kamsim.portfolio import Portfolio
from kamsim.portfolio.start import check_portfolio_size, start_portfolio

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
    if name == "dependence":
        return agent.largest_share
    if name == "allocation":
        return float(agent.allocation[0, 0])
    if name == "account_revenue":
        return float(agent.quarter_revenue[0])
    if name == "account_profit":
        return float(agent.quarter_profit[0])
    return getattr(agent, name)


class _AccountCollector(mesa.DataCollector):
    """A DataCollector whose agent reporters read the key accounts only.

    Mesa's agent reporters visit every agent; kamsim's suppliers have their own
    (agent-type) reporters, so the per-account table holds one row per account. The
    columns are read from the model's arrays at once (:meth:`KAMModel.account_rows`),
    the same values the reporters give one account at a time.
    """

    def _record_agents(self, model: Any) -> Any:
        if list(self.agent_reporters) != list(ACCOUNT_REPORTERS):  # customised: Mesa's way
            funcs = list(self.agent_reporters.values())
            return [
                (model.time, a.unique_id, *(f(a) for f in funcs)) for a in model.accounts
            ]
        return model.account_rows()


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


class _Compiled:
    """A compiled function called many times with arguments of the same types.

    The first call goes through Numba's dispatcher (which compiles or loads the
    function and types the arguments); later calls go straight to the compiled entry
    point of that signature, skipping the per-call typing (a few microseconds per
    call, which the Mesa face pays once per account and quarter).
    """

    def __init__(self, dispatcher: Any) -> None:
        self.dispatcher = dispatcher
        self.entry: Any = None

    def __call__(self, *args: Any) -> Any:
        if self.entry is not None:
            return self.entry(*args)
        out = self.dispatcher(*args)
        sig = tuple(self.dispatcher.typeof_pyval(a) for a in args)
        self.entry = self.dispatcher.overloads[sig].entry_point
        return out


def check_rng(rng: Any) -> Any:
    """Validate a seed: None, a non-negative integer or a ``numpy.random.Generator``."""
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise ParameterError(
            f"'rng' must be an integer >= 0, a numpy Generator or None: {rng!r}"
        )
    return int(rng)


#: The trajectories the Mesa face keeps beside the slot trajectories
#: (:meth:`KAMModel.trajectory`).
HISTORY_KEYS = (
    "cost_to_serve",
    "shares",
    "estimated_potential",
    "estimated_willingness",
    "wallet",
    "potential",
    "willing",
)


class KAMModel(mesa.Model):
    """A market of suppliers courting the same key accounts through the four KAM stages.

    Args:
        n_accounts: number of key accounts (slots), 1-500; default 20, or the
            portfolio's number of accounts (any other number is refused with one).
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
        portfolio: a :class:`kamsim.Portfolio` of the team's key accounts: the focal
            supplier's relationships start where the file says they are, what it does
            not say is drawn from documented priors
            (:mod:`kamsim.portfolio.start`).
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
        n_accounts: int | None = None,
        policy: PolicyArg = "uniform",
        rivals: int = 2,
        rival_policy: PolicyArg | Sequence[PolicyArg] | None = None,
        params: ModelParams | None = None,
        rng: Any = None,
        portfolio: Portfolio | None = None,
        scenario: Any = None,
        **param_overrides: Any,
    ) -> None:
        # Mesa's SolaraViz passes its default ``scenario`` on Reset; kamsim keeps its
        # parameters in ModelParams and its seed in ``rng``, so it is accepted and unused.
        del scenario
        super().__init__(rng=check_rng(rng))
        sized = check_portfolio_size(portfolio, n_accounts)
        default = 20 if n_accounts is None else n_accounts
        self.n_accounts = check_n_accounts(default if sized is None else sized)
        self.portfolio = portfolio
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
        self.compiled = rules.compiled_params(p)
        self.params_array = st.params_array(p)
        initial = draw_accounts(self.rng, n, p)
        starts = draw_starts(self.rng, m, n, p)
        self.key = draw_key(self.rng)
        self._blocks: list[QuarterBlock] = [draw_block(self.key, m, p)]
        self._init_state(initial, starts)
        self.slots: list[KeyAccount | None] = [KeyAccount(self, slot=j) for j in range(n)]
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
        allowed.append("portfolio")
        for key in overrides:
            if key not in ModelParams.names():
                raise ParameterError(
                    f"unknown KAMModel argument '{key}'"
                    f"{suggest(key, [*allowed, *ModelParams.names()])}"
                )
        return base.evolve(**overrides) if overrides else base

    def _init_state(self, initial: Accounts, starts: Starts) -> None:
        """The market's state arrays (one market of :mod:`kamsim.model.state`) at quarter 1.

        Every supplier starts a tactical relationship with every account
        (:func:`kamsim.model.market.start_market`).
        """
        m, n = self.n_suppliers, self.n_accounts
        self.rel_int = np.zeros((st.REL_I, 1, m, n), dtype=np.int64)
        self.rel_float = np.zeros((st.REL_F, 1, m, n))
        self.acc_float = np.zeros((st.ACC_F, 1, n))
        self.acc_int = np.zeros((st.ACC_I, 1, n), dtype=np.int64)
        st.place_accounts(self.acc_float, self.acc_int, initial, (0, slice(None)))
        trust, bias_p, bias_t, bias_w = (
            np.ascontiguousarray(x[None]) for x in starts.as_tuple()
        )
        market.start_market(
            self.rel_int,
            self.rel_float,
            self.acc_float,
            trust,
            bias_p,
            bias_t,
            bias_w,
            self.compiled,
        )
        if self.portfolio is not None:
            ri, rf, af, ai = self.rel_int, self.rel_float, self.acc_float, self.acc_int
            keys = np.array([self.key], dtype=np.uint64)
            start_portfolio(ri, rf, af, ai, keys, self.portfolio, self.params)
        # the quarter's allocations, what it starts, ends and produces (scratch)
        self.alloc = np.zeros((1, m, n))
        self.started = np.zeros((1, m, n), dtype=bool)
        self.forced = np.zeros((1, n), dtype=bool)
        self.forced_stage = np.zeros((1, n), dtype=np.int64)
        self.forced_trust = np.zeros((1, n))
        self.new_focal = np.zeros(1, dtype=np.int64)
        self.out_f = np.zeros((rules.OUT_F, m, n))
        self.out_i = np.zeros((rules.OUT_I, m, n), dtype=np.int64)
        self.acc_out = np.zeros((rules.ACCOUNT_OUT, n))
        self.qf = np.zeros((market.QF_ROWS, m, n))
        self.qi = np.zeros((market.QI_ROWS, m, n), dtype=np.int64)
        self.qa = np.zeros((market.QA_ROWS, n))
        self.obs_f = np.zeros((rules.OBS_F, m, 1, n))
        self.obs_i = np.zeros((rules.OBS_I, m, 1, n), dtype=np.int64)
        self.efficiency = np.ones(m)
        self.disrupted = np.zeros(m, dtype=bool)
        self.downturn = 0.0
        # what each supplier's policy reads; the focal estimate of potential is
        # always computed (it is kept in the trajectory)
        self.reads = np.array([s.reads for s in self.suppliers], dtype=bool).T.copy()
        self.computed = self.reads.copy()
        self.computed[0, 0] = True
        self.computed[2, 0] = True
        # the rules called once per account or supplier and quarter go through their
        # entry points (which take the parameters as ``self.params_array``); the
        # market's once a quarter take the record itself
        self.account_quarter = _Compiled(entries.account_quarter)
        self.arrive = _Compiled(market.arrive)
        self.keys = np.array([self.key], dtype=np.uint64)
        self.observe_market = _Compiled(market.observe_market)
        self.renew_relationships = _Compiled(entries.renew_relationships)
        self.settle_market = _Compiled(market.settle_market)
        self.record_quarter = _Compiled(market.record_quarter)
        self.end_relationships = _Compiled(market.end_relationships)
        self.is_disrupted = _Compiled(entries.is_disrupted)
        self.supplier_efficiency = _Compiled(entries.supplier_efficiency)

    def _init_bookkeeping(self) -> None:
        """The focal ledger, reach times and trajectories."""
        n = self.n_accounts
        self.reach: dict[int, list[float]] = {2: [0.0, 0.0], 3: [0.0, 0.0], 4: [0.0, 0.0]}
        self.relationships: list[dict[str, Any]] = []
        self.current: list[dict[str, Any]] = [self._open(j, 1) for j in range(n)]
        self.ledger_sums = np.zeros((3, n))  # revenue, profit, investment so far
        self.ledger_trust = np.zeros(n)
        self.ledger_max = self.rel_int[st.MAX_STAGE, 0, 0].copy()
        self.estimated_potential = np.zeros(n)
        self.estimated_willingness = np.zeros(n)
        self.history: dict[str, list[np.ndarray]] = {key: [] for key in HISTORY_KEYS}

    # ------------------------------------------------------------------ helpers
    @property
    def supplier(self) -> Supplier:
        """The focal supplier."""
        return self.suppliers[0]

    @property
    def accounts(self) -> list[KeyAccount]:
        """Accounts present in the market, in slot order."""
        return [a for a in self.slots if a is not None]

    @property
    def last_revenue(self) -> np.ndarray:
        """Each supplier's last-quarter revenue from each slot (M, n), k€."""
        return self.rel_float[st.LAST_REVENUE, 0]

    @property
    def generation(self) -> np.ndarray:
        """How many times each supplier's relationship in each slot restarted (M, n)."""
        return self.rel_int[st.GENERATION, 0]

    @property
    def ended_at(self) -> np.ndarray:
        """Quarter each relationship ended (M, n); -1 while it lives."""
        return self.rel_int[st.ENDED_AT, 0]

    @property
    def arrived(self) -> np.ndarray:
        """Quarter each relationship started (M, n)."""
        return self.rel_int[st.ARRIVED, 0]

    @property
    def max_stage(self) -> np.ndarray:
        """Highest stage each relationship reached (M, n)."""
        return self.rel_int[st.MAX_STAGE, 0]

    @property
    def vacated_at(self) -> np.ndarray:
        """Quarter each slot's account disappeared (n,); -1 while it is present."""
        return self.acc_int[st.VACATED_AT, 0]

    def block_position(self) -> tuple[int, QuarterBlock]:
        """Index within its block and the block of variates of the current quarter."""
        q = max(self.quarter, 1) - 1
        return q % BLOCK, self._blocks[q // BLOCK]

    def stacked(self, name: str) -> np.ndarray:
        """Relationship field ``name`` of every supplier and slot (1, M, n); 0 if vacant.

        ``name`` is ``stage``, ``tenure``, ``age``, ``trust``, ``share``, ``stock`` or
        ``adaptation``.
        """
        ints = {"stage": st.STAGE, "tenure": st.TENURE, "age": st.AGE}
        floats = {
            "trust": st.TRUST,
            "share": st.SHARE,
            "stock": st.STOCK,
            "adaptation": st.ADAPTATION,
        }
        if name in ints:
            return self.rel_int[ints[name]].copy()
        return self.rel_float[floats[name]].copy()

    def quarter_outcome(self, name: str) -> np.ndarray:
        """This quarter's ``revenue`` or ``profit`` of every relationship (M, n), k€."""
        row = {"revenue": market.F_REVENUE, "profit": market.F_PROFIT}[name]
        return self.qf[row]

    def _open(self, slot: int, quarter: int) -> dict[str, Any]:
        """A new ledger record for the focal relationship in ``slot``."""
        acc = self.slots[slot]
        assert acc is not None
        return {
            "slot": slot,
            "generation": int(self.rel_int[st.GENERATION, 0, 0, slot]),
            "arrived": quarter,
            "ended": -1,
            "end_cause": 0,
            "end_stage": 0,
            "willing": acc.willing,
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
        if self.portfolio is not None:  # the file's stages and shares
            stage, share = self.rel_int[st.STAGE, 0, 0], self.rel_float[st.SHARE, 0, 0]
            for s, name in enumerate(QUARTER_COLUMNS[:4], 1):
                rec[name] = int(np.sum(stage == s))
            revenue = self.portfolio.revenue
            rec.update(market_share=float(revenue.sum() / self.portfolio.wallet.sum()))
            rec.update(mean_share_of_wallet=float(share.mean()))
            rec.update(mean_dependence=float(share.mean()))
        return rec

    # --------------------------------------------------------------------- step
    def step(self) -> None:
        """Advance one quarter: renew, allocate, live the quarter, settle and record."""
        self.quarter = round(self.time)
        t = self.quarter
        self._extend_blocks(t)
        self._renew(t)
        self._stress_test(t)
        self._allocate(t)
        self._shocks(t)
        for acc in self.accounts:
            acc.step()
        self._settle(t)

    def _extend_blocks(self, t: int) -> None:
        """Draw the next block of the market's shocks when needed."""
        m, p = self.n_suppliers, self.params
        while (t - 1) // BLOCK >= len(self._blocks):
            last = bool(self._blocks[-1].downturn[-1])
            first = len(self._blocks) * BLOCK
            self._blocks.append(
                draw_block(self.key, m, p, previous_downturn=last, first_quarter=first)
            )

    def _renew(self, t: int) -> None:
        """New accounts take vacant slots; suppliers court accounts again (step 0)."""
        p = self.params
        self.started[:] = False
        self.new_focal[0] = 0
        delay = p.replacement_delay
        if delay is None:
            return
        ai = self.acc_int
        self.arrive(t, self.acc_float, ai, self.keys, self.compiled)
        for j in range(self.n_accounts):
            if self.slots[j] is None and ai[st.PRESENT, 0, j] != 0:  # a newcomer
                self.slots[j] = KeyAccount(self, slot=j)
        # only accounts with a relationship that ended more than the delay ago can
        # see one restart (renew_relationships decides)
        ended = self.rel_int[st.ENDED_AT, 0]
        due = np.any((ended >= 0) & (t - ended > delay), axis=0)
        for acc in self.accounts:
            if not due[acc.slot]:
                continue
            started = acc.renew(t)
            j = acc.slot
            self.rel_int[st.GENERATION, 0, started, j] += 1
            if started[0]:
                self.new_focal[0] += 1
                self.relationships.append(self._written(j))
                self.current[j] = self._open(j, t)
                self.ledger_sums[:, j] = 0.0
                self.ledger_trust[j] = 0.0
                self.ledger_max[j] = 1

    def _stress_test(self, t: int) -> None:
        """The focal supplier's largest relationship ends now (``lose_largest_at``)."""
        self.forced[:] = False
        if self.params.lose_largest_at is None or t != self.params.lose_largest_at:
            return
        ri, rf = self.rel_int, self.rel_float
        j = rules.largest_relationship(ri[st.STAGE, 0, 0], rf[st.LAST_REVENUE, 0, 0])
        if j < 0:
            return
        self.forced[0, j] = True
        self.forced_stage[0, j] = ri[st.STAGE, 0, 0, j]
        self.forced_trust[0, j] = rf[st.TRUST, 0, 0, j]
        rules.close_relationship(ri, rf, 0, 0, j)

    def _allocate(self, t: int) -> None:
        """Every supplier observes its relationships and allocates its budget (step 1).

        Each account shows each supplier its relationship
        (:func:`kamsim.model.rules.observe_account`, for the market's slots by
        :func:`kamsim.model.market.observe_market`); vacant slots show nothing.
        """
        self.observe_market(
            self.rel_int, self.rel_float, self.acc_float, self.acc_int, 0, self.key, t - 1,
            self.compiled, self.computed, self.obs_f, self.obs_i,
        )  # fmt: skip
        self.estimated_potential = self.obs_f[rules.O_POTENTIAL, 0, 0].copy()
        self.estimated_willingness = self.obs_f[rules.O_WILLING, 0, 0].copy()
        for sup in self.suppliers:
            self.alloc[0, sup.index] = sup.allocate(t, self.obs_f, self.obs_i)[0]

    def _shocks(self, t: int) -> None:
        """This quarter's downturn, disruptions and each supplier's efficiency."""
        k, blk = self.block_position()
        self.downturn = float(blk.downturn[k])
        for s in range(self.n_suppliers):
            drawn = bool(blk.disruption[k][s])
            self.disrupted[s] = self.is_disrupted(drawn, s, t, self.params_array)
            params = self.params_array
            self.efficiency[s] = self.supplier_efficiency(self.rel_int, 0, s, params)

    def _settle(self, t: int) -> None:
        """Settle, record, end relationships, remove vanished accounts (step 8)."""
        for j in range(self.n_accounts):
            if self.slots[j] is None:  # nobody lived through the quarter here
                self.out_f[:, :, j] = 0.0
                self.out_i[:, :, j] = 0
                self.acc_out[:, j] = 0.0
        starts = (self.started, self.forced, self.forced_stage, self.forced_trust)
        self.settle_market(
            0, self.rel_int, self.rel_float, self.acc_int, self.alloc, self.compiled,
            (*starts, self.new_focal), self.out_f, self.out_i, self.acc_out,
            self.qf, self.qi, self.qa,
        )  # fmt: skip
        self._record(t)
        self._ledger(t)
        self._keep_history()
        self.datacollector.collect(self)
        self.end_relationships(
            0, t, self.rel_int, self.rel_float, self.acc_int, self.qf, self.qi, self.qa
        )
        for j in range(self.n_accounts):
            acc = self.slots[j]
            if acc is not None and self.acc_int[st.PRESENT, 0, j] == 0:
                acc.leave()
                self.slots[j] = None
                acc.remove()

    def _record(self, t: int) -> None:
        """The quarter's record (:func:`kamsim.model.market.record_quarter`)."""
        m, n = self.n_suppliers, self.n_accounts
        record = np.zeros((1, 1, len(QUARTER_COLUMNS)))
        sup_record = np.zeros((1, m, 1, len(SUPPLIER_QUARTER_COLUMNS)))
        self.record_quarter(
            0, 0, m, n, self.qf, self.qi, self.qa, self.new_focal,
            np.array([[self.downturn]]), self.disrupted, record, sup_record,
            np.empty((market.S_ROWS + m, n)), np.empty(16, dtype=np.int64),
        )  # fmt: skip
        values = record[0, 0].tolist()
        self.record = {
            c: int(v) if c in COUNT_COLUMNS else bool(v) if c == "disruption" else v
            for c, v in zip(QUARTER_COLUMNS, values, strict=True)
        }
        for sup in self.suppliers:
            row = sup_record[0, sup.index, 0].tolist()
            for c, v in zip(SUPPLIER_QUARTER_COLUMNS, row, strict=True):
                setattr(sup, c, int(v) if c == "n_active" else v)

    def _ledger(self, t: int) -> None:
        """Update the focal supplier's relationship records with quarter t.

        The running revenue, profit and investment of every slot's current
        relationship accumulate in arrays (written into its record when it is
        replaced or read, :meth:`ledger`); stage reach times and endings are recorded
        where they happen.
        """
        qf, qi, ri = self.qf, self.qi, self.rel_int
        self.ledger_sums += qf[[market.F_REVENUE, market.F_PROFIT, market.F_INVEST], 0]
        stage = qi[market.I_STAGE_END, 0]
        live = stage > 0
        max_stage = ri[st.MAX_STAGE, 0, 0]
        for j in np.nonzero(live & (stage > max_stage))[0].tolist():
            took = float(t - ri[st.ARRIVED, 0, 0, j] + 1)
            self.reach[int(stage[j])][0] += took
            self.reach[int(stage[j])][1] += 1
        self.ledger_max = np.where(live, np.maximum(max_stage, stage), self.ledger_max)
        self.ledger_trust = np.where(live, qf[market.F_TRUST, 0], self.ledger_trust)
        for j in np.nonzero(live & (qi[market.I_CAUSE, 0] > 0))[0].tolist():
            r = self.current[j]
            r["ended"] = t
            r["end_cause"] = int(qi[market.I_CAUSE, 0, j])
            r["end_stage"] = int(stage[j])

    def _written(self, j: int) -> dict[str, Any]:
        """Slot j's current relationship record with its running values."""
        return {
            **self.current[j],
            "revenue": self.ledger_sums[0, j],
            "profit": self.ledger_sums[1, j],
            "investment": self.ledger_sums[2, j],
            "trust": self.ledger_trust[j],
            "max_stage": int(self.ledger_max[j]),
        }

    def _keep_history(self) -> None:
        """Keep this quarter's trajectories (:data:`HISTORY_KEYS`).

        The focal supplier's cost to serve, every share, the focal estimates, and
        each slot's wallet, potential and willingness (0 in a vacant slot).
        """
        qf, qi = self.qf, self.qi
        ran = qi[market.I_LIVE, 0] != 0
        self.history["cost_to_serve"].append(np.where(ran, qf[market.F_CTS, 0], 0.0))
        ends = qi[market.I_STAGE_END] > 0
        self.history["shares"].append(np.where(ends, qf[market.F_SHARE], 0.0))
        self.history["estimated_potential"].append(self.estimated_potential)
        self.history["estimated_willingness"].append(self.estimated_willingness)
        here = self.acc_int[st.PRESENT, 0] != 0
        af = self.acc_float[:, 0]
        self.history["wallet"].append(np.where(here, af[st.WALLET], 0.0))
        self.history["potential"].append(np.where(here, af[st.POTENTIAL], 0.0))
        willing = here & (self.acc_int[st.WILLING, 0] != 0)
        self.history["willing"].append(willing.astype(np.float64))

    def account_rows(self) -> list[tuple[Any, ...]]:
        """One DataCollector row per present account: (time, id, *ACCOUNT_REPORTERS)."""
        accounts = self.accounts
        slots = np.array([a.slot for a in accounts], dtype=np.int64)
        ri, rf, af = self.rel_int[:, 0], self.rel_float[:, 0], self.acc_float[:, 0]
        columns = {
            "slot": slots.tolist(),
            "stage": ri[st.STAGE, 0, slots].tolist(),
            "trust": rf[st.TRUST, 0, slots].tolist(),
            "share_of_wallet": rf[st.SHARE, 0, slots].tolist(),
            "account_revenue": self.qf[market.F_REVENUE, 0, slots].tolist(),
            "account_profit": self.qf[market.F_PROFIT, 0, slots].tolist(),
            "allocation": self.alloc[0, 0, slots].tolist(),
            "stock": rf[st.STOCK, 0, slots].tolist(),
            "adaptation": rf[st.ADAPTATION, 0, slots].tolist(),
            "dependence": np.max(rf[st.SHARE][:, slots], axis=0).tolist(),
            "wallet": af[st.WALLET, slots].tolist(),
            "potential": af[st.POTENTIAL, slots].tolist(),
        }
        ids = [a.unique_id for a in accounts]
        times = [self.time] * len(ids)
        return list(zip(times, ids, *(columns[c] for c in ACCOUNT_REPORTERS), strict=True))

    @property
    def terminal_values(self) -> np.ndarray:
        """Value of each supplier's relationships in place if the run ended now (k€)."""
        tv = market.terminal_values(
            self.rel_int, self.rel_float, self.acc_float, self.compiled
        )
        return np.sum(tv, axis=-1)[0]

    def ledger(self) -> list[dict[str, Any]]:
        """Every focal relationship so far (ended and current), one dict each."""
        return [*self.relationships, *(self._written(j) for j in range(self.n_accounts))]

    def trajectory(self, name: str) -> np.ndarray:
        """Quarterly history of one recorded quantity.

        ``cost_to_serve``, ``estimated_potential`` or ``estimated_willingness`` (T, n)
        of the focal relationships, ``wallet``, ``potential`` or ``willing`` (T, n) of
        the accounts in the slots, or ``shares`` (T, M, n) of every supplier
        (:data:`HISTORY_KEYS`).
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
