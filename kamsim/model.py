"""Mesa face: :class:`KAMModel`, one supplier and its key accounts as Mesa agents.

Use it to watch one market quarter by quarter, inspect agents, collect data with
Mesa's ``DataCollector``, drive the SolaraViz teaching page, or run
``mesa.batch_run``. For Monte Carlo studies use :func:`kamsim.simulate`, whose
batched engine gives bit-identical results for the same seeds, much faster.

Example:
    >>> from kamsim import KAMModel
    >>> model = KAMModel(n_accounts=20, policy="uniform", rng=42)
    >>> for _ in range(40):
    ...     model.step()
    >>> df = model.datacollector.get_model_vars_dataframe()
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import mesa
import numpy as np

from kamsim import rules
from kamsim.agents import KeyAccount, Supplier
from kamsim.environment import BLOCK, QuarterBlock, draw_accounts, draw_block
from kamsim.metrics import QUARTER_COLUMNS, quarter_metrics
from kamsim.params import ModelParams, ParameterError, suggest
from kamsim.policies import Observation, resolve_policy

__all__ = ["ACCOUNT_REPORTERS", "MAX_ACCOUNTS", "KAMModel"]

#: Largest portfolio a model accepts (5-50 is the range kamsim is built to study).
MAX_ACCOUNTS = 500

#: Per-account columns recorded by the DataCollector. Each is the KeyAccount attribute
#: of the same name, except ``account_revenue`` and ``account_profit`` (attributes
#: ``revenue`` and ``profit``): prefixed so that they do not overwrite the portfolio
#: ``revenue`` and ``profit`` of the model reporters in the rows of ``mesa.batch_run``,
#: which merges model and agent reporters into one dict.
ACCOUNT_REPORTERS = (
    "slot",
    "stage",
    "trust",
    "share_of_wallet",
    "account_revenue",
    "account_profit",
    "allocation",
    "stock",
    "active",
    "end_cause",
)
_ACCOUNT_ATTRIBUTE = {"account_revenue": "revenue", "account_profit": "profit"}


def _record(model: KAMModel, *, name: str) -> Any:
    return model.record[name]


def _account_attr(agent: KeyAccount, *, name: str) -> Any:
    value = getattr(agent, _ACCOUNT_ATTRIBUTE.get(name, name))
    return int(value) if name == "end_cause" else value


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


class KAMModel(mesa.Model):
    """A supplier's portfolio of key accounts moving through the four KAM stages.

    Args:
        n_accounts: number of key accounts (portfolio slots), 1-500.
        policy: investment policy, a built-in name (see ``kamsim policies``), a
            ``"module:function"`` string or a callable ``policy(obs, budget)``.
        params: a :class:`kamsim.ModelParams`; defaults to ``ModelParams()``.
        rng: the seed (int) or ``numpy.random.Generator``; everything random in the
            run is drawn from ``self.rng``.
        scenario: accepted for Mesa's SolaraViz and ignored.
        **param_overrides: any :class:`ModelParams` field, e.g. ``budget=200.0``,
            applied on top of ``params`` (handy for ``mesa.batch_run`` and sliders).

    Attributes:
        supplier: the :class:`Supplier` agent.
        quarter: the last completed quarter (0 before the first step).
        record: the last quarter's portfolio figures (see ``QUARTER_COLUMNS``).
        datacollector: Mesa ``DataCollector`` with one model row per quarter and one
            agent row per live account per quarter.
    """

    def __init__(
        self,
        *,
        n_accounts: int = 20,
        policy: str | Callable[[Observation, float], np.ndarray] = "uniform",
        params: ModelParams | None = None,
        rng: Any = None,
        scenario: Any = None,
        **param_overrides: Any,
    ) -> None:
        # Mesa's SolaraViz passes its default ``scenario`` on Reset; kamsim keeps its
        # parameters in ModelParams and its seed in ``rng``, so it is accepted and unused.
        del scenario
        super().__init__(rng=rng)
        self.n_accounts = check_n_accounts(n_accounts)
        base = params if params is not None else ModelParams()
        if not isinstance(base, ModelParams):
            raise ParameterError(f"'params' must be a ModelParams: {base!r}")
        for key in param_overrides:
            if key not in ModelParams.names():
                allowed = ["n_accounts", "policy", "params", "rng", *ModelParams.names()]
                raise ParameterError(
                    f"unknown KAMModel argument '{key}'{suggest(key, allowed)}"
                )
        self.params = base.evolve(**param_overrides) if param_overrides else base
        self.policy = resolve_policy(policy)
        self.quarter = 0
        self.efficiency: Any = 1.0
        self.reach: dict[int, list[float]] = {2: [0.0, 0.0], 3: [0.0, 0.0], 4: [0.0, 0.0]}
        self.ended_accounts: list[KeyAccount] = []

        initial = draw_accounts(self.rng, self.n_accounts, self.params)
        self._blocks: list[QuarterBlock] = [
            draw_block(self.rng, self.n_accounts, self.params)
        ]
        self.supplier = Supplier(self, policy=self.policy)
        for j in range(self.n_accounts):
            self.supplier.slots.append(
                KeyAccount(self, slot=j, generation=0, arrived=1, accounts=initial, index=j)
            )
        self.record: dict[str, Any] = self._initial_record()
        self.datacollector = mesa.DataCollector(
            model_reporters={
                c: functools.partial(_record, name=c) for c in QUARTER_COLUMNS
            },
            agenttype_reporters={
                KeyAccount: {
                    c: functools.partial(_account_attr, name=c) for c in ACCOUNT_REPORTERS
                }
            },
        )
        self.running = True
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ helpers
    def block_position(self) -> tuple[int, QuarterBlock]:
        """Index within its block and the block of variates of the current quarter."""
        q = max(self.quarter, 1) - 1
        return q % BLOCK, self._blocks[q // BLOCK]

    def record_reach(self, stage: int, quarters: int) -> None:
        """Note that an account first reached ``stage`` after ``quarters`` quarters."""
        self.reach[stage][0] += quarters
        self.reach[stage][1] += 1

    @property
    def accounts(self) -> list[KeyAccount]:
        """Live key accounts in slot order."""
        return self.supplier.portfolio

    def _initial_record(self) -> dict[str, Any]:
        rec: dict[str, Any] = dict.fromkeys(QUARTER_COLUMNS, 0)
        rec.update(n_tactical=self.n_accounts, n_active=self.n_accounts)
        rec.update(mean_trust=self.params.trust_initial, hhi=np.nan, largest_share=np.nan)
        rec.update(top_fifth_share=np.nan, downturn=0.0, disruption=False)
        return rec

    # --------------------------------------------------------------------- step
    def step(self) -> None:
        """Advance one quarter: renew, allocate, live the quarter, record."""
        self.quarter = round(self.time)
        t = self.quarter
        while (t - 1) // BLOCK >= len(self._blocks):
            last = bool(self._blocks[-1].downturn[-1])
            self._blocks.append(
                draw_block(self.rng, self.n_accounts, self.params, previous_downturn=last)
            )
        k, blk = self.block_position()
        sup = self.supplier
        new_count = sup.renew(t)
        forced: KeyAccount | None = None
        if self.params.lose_largest_at is not None and t == self.params.lose_largest_at:
            forced = sup.lose_largest(t)
            if forced is not None:
                self.ended_accounts.append(forced)
                sup.former.append(forced)
                forced.remove()
        sup.allocate(t)
        live = sup.portfolio
        self.efficiency = rules.manager_efficiency(
            len(live), self.params.manager_capacity, self.params.overload_penalty
        )
        for acc in live:
            acc.step()
        self.record = self._quarter_record(live, forced, new_count, blk, k)
        self.datacollector.collect(self)
        for acc in live:
            if not acc.active:
                self.ended_accounts.append(acc)
                sup.former.append(acc)
                acc.remove()

    def _quarter_record(
        self,
        live: list[KeyAccount],
        forced: KeyAccount | None,
        new_count: int,
        blk: QuarterBlock,
        k: int,
    ) -> dict[str, Any]:
        n = self.n_accounts
        ran = np.zeros((1, n), dtype=bool)
        for a in live:
            ran[0, a.slot] = True
        sup = self.supplier
        cause = np.array([[int(a.end_cause) if ran[0, a.slot] else 0 for a in sup.slots]])
        if forced is not None:
            cause[0, forced.slot] = rules.EndCause.SWITCHED.value

        def arr(name: str, dtype: Any = np.float64) -> np.ndarray:
            return np.array(
                [[getattr(a, name) if ran[0, a.slot] else 0 for a in sup.slots]],
                dtype=dtype,
            )

        rec = quarter_metrics(
            stage=arr("stage", np.int64),
            active_end=sup.active_mask(),
            trust=sup.slot_array("trust"),
            revenue=arr("revenue"),
            profit=arr("profit"),
            investment=arr("allocation"),
            end_cause=cause,
            new_accounts=np.array([new_count]),
            account_disruption_cost=arr("disruption_cost"),
            downturn=blk.downturn[k : k + 1],
            disruption=blk.disruption[k : k + 1],
        )
        return {c: v[0].item() for c, v in rec.items()}

    def slot_trajectory(self) -> dict[str, np.ndarray]:
        """Per-slot arrays (T, n) of the DataCollector's account records.

        Keys: stage, trust, share_of_wallet, revenue, profit and investment (the
        allocation); 0 for vacant slots.
        """
        df = self.datacollector.get_agenttype_vars_dataframe(KeyAccount).reset_index()
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
