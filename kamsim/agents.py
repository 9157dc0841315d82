"""Mesa agents of the KAM model: the :class:`Supplier` and its :class:`KeyAccount` s.

Agents hold state; the mechanisms they apply are the pure functions of
:mod:`kamsim.rules`, shared with the batched engine. Agents reach randomness only
through their model's random environment, drawn from ``model.rng``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from kamsim import rules
from kamsim.environment import Accounts
from kamsim.policies import enforce_budget, observe, policy_name

if TYPE_CHECKING:
    from kamsim.model import KAMModel

__all__ = ["KeyAccount", "Supplier"]


class KeyAccount(mesa.Agent):
    """One key account and the state of its relationship with the supplier.

    Attributes:
        slot: position in the supplier's portfolio (0..n-1); a replacement account
            takes the slot of the one it replaces.
        generation: 0 for an initial account, k for the k-th replacement in its slot.
        stage: :class:`kamsim.Stage` value, 1 tactical .. 4 strategic.
        tenure: quarters completed in the current stage.
        trust: the account's trust in the supplier, in [0, 1].
        stock: relationship-specific investment stock K (k€).
        wallet: annual category spend W (k€/yr); ``growth`` its annual growth rate.
        scale: effort scale S (k€/quarter): the investment intensity it needs.
        willing: whether the account accepts a partnership beyond tactical.
        sensitivity: price sensitivity when judging a competitor's offer.
        potential: true three-year potential (k€/yr); ``potential_class`` 0/1/2.
        active: False once the relationship has ended; ``end_cause`` says why.
        allocation: k€ the supplier allocated this quarter.
        revenue, profit, share_of_wallet: this quarter's economics (k€, fraction).
    """

    def __init__(
        self,
        model: KAMModel,
        *,
        slot: int,
        generation: int,
        arrived: int,
        accounts: Accounts,
        index: Any,
    ) -> None:
        super().__init__(model)
        p = model.params
        self.slot = slot
        self.generation = generation
        self.arrived = arrived
        self.wallet = accounts.wallet[index]
        self.growth = accounts.growth[index]
        self.willing = accounts.willing[index]
        self.sensitivity = accounts.sensitivity[index]
        self.scale = accounts.scale[index]
        self.potential = accounts.potential[index]
        self.potential_class = int(accounts.potential_class[index])
        self.stage: Any = rules.Stage.TACTICAL.value
        self.max_stage = self.stage
        self.tenure: Any = 0
        self.trust: Any = p.trust_initial
        self.stock: Any = 0.0
        self.loss_streak: Any = 0
        self.active = True
        self.end_cause = rules.EndCause.NONE
        self.ended: int | None = None
        self.acquisition_due = p.acquisition_cost if generation > 0 else 0.0
        # supplier's view of last quarter's revenue before the first quarter
        self.last_revenue: Any = rules.revenue(self.wallet / 4.0, 1, rules.stage_tables(p))
        self.allocation: Any = 0.0
        self.revenue: Any = 0.0
        self.profit: Any = 0.0
        self.share_of_wallet: Any = 0.0
        self.failed: Any = False
        self.disruption_cost: Any = 0.0
        self.total_revenue = 0.0
        self.total_profit = 0.0
        self.total_investment = 0.0

    @property
    def stage_name(self) -> str:
        """Name of the current stage, e.g. ``'cooperative'``."""
        return rules.Stage(int(self.stage)).name.lower()

    def step(self) -> None:
        """Live through one quarter with :func:`kamsim.rules.account_quarter`."""
        m = self.model
        k, blk = m.block_position()
        j = self.slot
        state = rules.AccountState(
            self.stage,
            self.tenure,
            self.trust,
            self.stock,
            self.wallet,
            self.growth,
            self.willing,
            self.sensitivity,
            self.scale,
            self.loss_streak,
        )
        out = rules.account_quarter(
            state,
            self.allocation,
            m.efficiency,
            blk.downturn[k],
            blk.disruption[k],
            blk.u_failure[k, j],
            blk.u_offer[k, j],
            blk.u_vanish[k, j],
            m.params,
        )
        ns = out.state
        self.stage = int(ns.stage)
        self.tenure = int(ns.tenure)
        self.trust = float(ns.trust)
        self.stock = float(ns.stock)
        self.wallet = float(ns.wallet)
        self.loss_streak = int(ns.loss_streak)
        self.revenue = float(out.revenue)
        self.profit = float(out.profit - self.acquisition_due)
        self.acquisition_due = 0.0
        self.share_of_wallet = float(out.share_of_wallet)
        self.failed = bool(out.failed)
        self.disruption_cost = float(out.account_disruption_cost)
        self.last_revenue = self.revenue
        self.total_revenue += self.revenue
        self.total_profit += self.profit
        self.total_investment += float(self.allocation)
        if self.stage > self.max_stage:
            self.max_stage = self.stage
            m.record_reach(self.stage, m.quarter - self.arrived + 1)
        cause = int(out.end_cause)
        if cause:
            self.end(rules.EndCause(cause), m.quarter)

    def end(self, cause: rules.EndCause, quarter: int) -> None:
        """Mark the relationship ended.

        It never comes back; a new account may take the slot later.
        """
        self.active = False
        self.end_cause = cause
        self.ended = quarter


class Supplier(mesa.Agent):
    """The supplier: a KAM budget, an investment policy and a portfolio of slots.

    Attributes:
        budget: KAM budget per quarter (k€).
        policy: the investment policy callable; ``policy_name`` its name.
        slots: the account currently (or last) in each portfolio slot.
        former: relationships that have ended, in order of ending.
    """

    def __init__(self, model: KAMModel, *, policy: Any) -> None:
        super().__init__(model)
        self.budget = model.params.budget
        self.policy = policy
        self.policy_name = policy_name(policy)
        self.slots: list[KeyAccount] = []
        self.former: list[KeyAccount] = []
        self.ended_at: list[int] = []

    @property
    def portfolio(self) -> list[KeyAccount]:
        """Live relationships, in slot order."""
        return [a for a in self.slots if a.active]

    def slot_array(self, name: str, *, dtype: Any = np.float64) -> np.ndarray:
        """Attribute ``name`` of the account in each slot, as an array (1, n)."""
        return np.array([[getattr(a, name) for a in self.slots]], dtype=dtype)

    def active_mask(self) -> np.ndarray:
        """Live slots as a boolean array (1, n)."""
        return np.array([[a.active for a in self.slots]], dtype=bool)

    def renew(self, quarter: int) -> int:
        """Fill vacant slots whose replacement delay has passed; return how many."""
        delay = self.model.params.replacement_delay
        if delay is None:
            return 0
        k, blk = self.model.block_position()
        count = 0
        for j, acc in enumerate(self.slots):
            if not acc.active and acc.ended is not None and quarter - acc.ended > delay:
                new = KeyAccount(
                    self.model,
                    slot=j,
                    generation=acc.generation + 1,
                    arrived=quarter,
                    accounts=blk.newcomers,
                    index=(k, j),
                )
                self.slots[j] = new
                count += 1
        return count

    def lose_largest(self, quarter: int) -> KeyAccount | None:
        """Stress test: the largest live account (by last revenue) leaves now."""
        revenue = self.slot_array("last_revenue")
        j = int(rules.largest_account(revenue, self.active_mask())[0])
        if j < 0:
            return None
        acc = self.slots[j]
        acc.end(rules.EndCause.SWITCHED, quarter)
        acc.revenue = 0.0
        acc.profit = 0.0
        acc.allocation = 0.0
        return acc

    def allocate(self, quarter: int) -> np.ndarray:
        """Observe the portfolio, apply the policy and hand each account its k€."""
        p = self.model.params
        k, blk = self.model.block_position()
        obs = observe(
            quarter=quarter,
            active=self.active_mask(),
            stage=self.slot_array("stage", dtype=np.int64),
            tenure=self.slot_array("tenure", dtype=np.int64),
            last_revenue=self.slot_array("last_revenue"),
            potential=self.slot_array("potential"),
            trust=self.slot_array("trust"),
            stock=self.slot_array("stock"),
            z_potential=blk.z_potential[k][None, :],
            z_trust=blk.z_trust[k][None, :],
            potential_noise=p.potential_noise,
            trust_noise=p.trust_noise,
            potential_low=p.potential_low,
            potential_high=p.potential_high,
        )
        alloc = enforce_budget(
            self.policy(obs, self.budget), obs, self.budget, self.policy_name
        )
        for j, acc in enumerate(self.slots):
            acc.allocation = alloc[0, j] if acc.active else 0.0
        return alloc
