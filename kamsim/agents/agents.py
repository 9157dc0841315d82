"""Mesa agents of the KAM market: :class:`Supplier` s and :class:`KeyAccount` s.

Agents hold state; the mechanisms they apply are the pure functions of
:mod:`kamsim.rules`, shared with the batched engine. A key account holds its
relationship with every supplier as arrays of shape (M, 1) (supplier 0, the focal
supplier, first), so the same equations run on one account here and on R x n accounts
in the engine. Agents reach randomness only through their model's random environment,
drawn from ``model.rng``.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from kamsim.model import rules
from kamsim.model.environment import Accounts, Starts
from kamsim.policies.budget import enforce_budget
from kamsim.policies.observation import Observation, observe, without_unread
from kamsim.policies.registry import estimates_read, policy_name

__all__ = ["KeyAccount", "Supplier"]


class KeyAccount(mesa.Agent):
    """One key account and its relationship with every supplier in the market.

    Attributes:
        slot: position in the market (0..n-1); a new account takes the slot of one
            that disappeared.
        wallet: annual category spend W (k€/yr); ``growth`` its annual growth rate.
        scale: effort scale S (k€/quarter): the investment intensity it needs.
        willing: whether the account accepts a partnership beyond tactical.
        sensitivity: price sensitivity when judging an outside offer.
        tolerance: dependency tolerance (largest share below strategic).
        wariness: how much recent supplier disruptions tighten its caps.
        potential: true three-year potential (k€/yr); ``potential_class`` 0/1/2.
        rel: :class:`kamsim.rules.RelationshipState` with one row per supplier.
        allocation: k€ each supplier allocated to it this quarter, (M, 1).
        revenue, profit, cost_to_serve: this quarter's economics per supplier (k€).
        end_cause: why each relationship ended this quarter (0 if it continues).
    """

    def __init__(
        self,
        model: mesa.Model,
        *,
        slot: int,
        accounts: Accounts,
        index: Any,
    ) -> None:
        super().__init__(model)
        m = model.n_suppliers
        self.slot = slot
        self.wallet = accounts.wallet[index]
        self.growth = accounts.growth[index]
        self.willing = accounts.willing[index]
        self.sensitivity = accounts.sensitivity[index]
        self.tolerance = accounts.tolerance[index]
        self.scale = accounts.scale[index]
        self.potential = accounts.potential[index]
        self.potential_class = int(accounts.potential_class[index])
        self.wariness: Any = 0.0
        zeros_i = np.zeros((m, 1), dtype=np.int64)
        self.rel = rules.RelationshipState(
            stage=zeros_i,
            tenure=zeros_i,
            age=zeros_i,
            trust=np.zeros((m, 1)),
            stock=np.zeros((m, 1)),
            adaptation=np.zeros((m, 1)),
            share=np.zeros((m, 1)),
            bias_potential=np.zeros((m, 1)),
            bias_trust=np.zeros((m, 1)),
            loss_streak=zeros_i,
        )
        self.allocation = np.zeros((m, 1))
        self.started = np.zeros((m, 1), dtype=bool)
        self.out: rules.QuarterOutcome | None = None
        self.quarter_revenue = np.zeros(m)
        self.quarter_profit = np.zeros(m)

    # --- what the focal supplier's relationship looks like (DataCollector, teaching)
    @property
    def shares(self) -> np.ndarray:
        """Share of wallet with each supplier, focal first.

        The rest of the market holds the remainder.
        """
        return np.asarray(self.rel.share)[:, 0].copy()

    @property
    def stages(self) -> np.ndarray:
        """Stage of the relationship with each supplier (0: none), focal first."""
        return np.asarray(self.rel.stage)[:, 0].copy()

    @property
    def stage(self) -> int:
        """Stage of the relationship with the focal supplier (0: none)."""
        return int(self.rel.stage[0, 0])

    @property
    def stage_name(self) -> str:
        """Name of the focal relationship's stage, e.g. ``'cooperative'``."""
        return "none" if self.stage == 0 else rules.Stage(self.stage).name.lower()

    @property
    def trust(self) -> float:
        """The account's trust in the focal supplier."""
        return float(self.rel.trust[0, 0])

    @property
    def share_of_wallet(self) -> float:
        """The focal supplier's share of the account's wallet."""
        return float(self.rel.share[0, 0])

    @property
    def largest_share(self) -> float:
        """The largest share the account gives any supplier (its own dependence)."""
        return float(np.max(self.rel.share))

    def start(self, mask: np.ndarray, starts: Starts, k: int) -> None:
        """Start tactical relationships with the suppliers in ``mask`` (M, 1).

        ``starts`` are the model's starting values for quarter index ``k`` (or the
        initial ones when ``k`` is -1), read at this account's slot.
        """
        j = self.slot
        pick = (lambda a: a[:, j : j + 1]) if k < 0 else (lambda a: a[k][:, j : j + 1])
        self.rel = rules.start_relationships(
            self.rel,
            mask,
            pick(starts.trust),
            pick(starts.bias_potential),
            pick(starts.bias_trust),
            self.model.params,
        )
        self.started = np.asarray(mask, dtype=bool) & np.ones((len(mask), 1), dtype=bool)

    def step(self) -> None:
        """Live through one quarter with :func:`kamsim.rules.market_quarter`."""
        m = self.model
        k, blk = m.block_position()
        j = self.slot
        acc = rules.AccountState(
            self.wallet,
            self.growth,
            self.willing,
            self.sensitivity,
            self.tolerance,
            self.scale,
            self.wariness,
        )
        self.out = rules.market_quarter(
            self.rel,
            acc,
            self.allocation,
            m.efficiency,
            blk.downturn[k],
            m.disrupted,
            blk.u_failure[k][:, j : j + 1],
            blk.u_offer[k][:, j : j + 1],
            blk.u_vanish[k, j],
            m.params,
        )
        self.rel = self.out.relationships
        self.wallet = self.out.accounts.wallet
        self.wariness = self.out.accounts.wariness

    def close(self, ended: np.ndarray) -> None:
        """End the relationships in ``ended`` (M, 1)."""
        self.rel = rules.close_relationships(self.rel, ended)


class Supplier(mesa.Agent):
    """A supplier: a KAM budget and an investment policy, courting every account.

    Attributes:
        index: 0 for the focal supplier (the user's firm), 1.. for rivals.
        budget: KAM budget per quarter (k€).
        policy: the investment policy callable; ``policy_name`` its name.
        revenue, profit, investment, market_share, n_active: the last quarter's
            figures (k€; market share of the accounts' combined demand).
    """

    def __init__(
        self, model: mesa.Model, *, index: int, policy: Any, budget: float
    ) -> None:
        super().__init__(model)
        self.index = index
        self.budget = budget
        self.policy = policy
        self.policy_name = policy_name(policy)
        self.reads = estimates_read(policy)  # the estimates its policy reads
        self.revenue = 0.0
        self.profit = 0.0
        self.investment = 0.0
        self.market_share = float("nan")
        self.n_active = 0

    @property
    def is_focal(self) -> bool:
        """True for the focal supplier."""
        return self.index == 0

    @property
    def role(self) -> str:
        """``'focal'`` or ``'rival'``."""
        return "focal" if self.is_focal else "rival"

    def allocate(self, quarter: int, view: dict[str, np.ndarray]) -> np.ndarray:
        """Observe its own relationships and split its budget with its policy.

        ``view`` holds the market's relationship arrays (1, M, n) as the suppliers see
        them this quarter (estimates of potential and trust included); this supplier
        reads its own row. Returns the allocation (1, n) in k€.
        """
        i = self.index
        obs: Observation = observe(
            quarter=quarter,
            stage=view["stage"][:, i],
            tenure=view["tenure"][:, i],
            last_revenue=view["last_revenue"][:, i],
            share=view["share"][:, i],
            potential=view["potential"][:, i],
            trust=view["trust"][:, i],
            stock=view["stock"][:, i],
            p=self.model.params,
        )
        obs = without_unread(obs, self.reads)  # as the batched engine
        return enforce_budget(
            self.policy(obs, self.budget), obs, self.budget, self.policy_name
        )
