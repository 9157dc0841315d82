"""Mesa agents of the KAM market: :class:`Supplier` s and :class:`KeyAccount` s.

The market's state lives in its model's arrays, laid out as the batched engine's for
one market (:mod:`kamsim.model.state`: relationships ``(field, 1, M, n)``, accounts
``(field, 1, n)``); a :class:`KeyAccount` is the agent of one slot ``j`` and owns
the column ``[..., j]``: its own attributes and its relationship with every supplier
(supplier 0, the focal supplier, first). It lives through a quarter by calling the
model's compiled account-level equation, :func:`kamsim.model.rules.account_quarter`, on its
column, the same function the batched engine calls for each of its accounts; a
:class:`Supplier` observes its relationships and splits its budget with its policy.
Agents reach randomness only through their model's random environment, drawn from
``model.rng``.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from kamsim.model import state as st
from kamsim.model.entries import expected_growth, potential_class
from kamsim.policies import (
    Observation,
    enforce_budget,
    estimates_read,
    observation_from_arrays,
    policy_name,
    without_unread,
)

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
        potential: true potential, the wallet its plans lead to (k€/yr);
            ``potential_class`` 0/1/2.
        allocation: k€ each supplier allocated to it this quarter, (M, 1).
        quarter_revenue, quarter_profit: this quarter's revenue and profit of each
            supplier with it (k€, (M,)).
    """

    def __init__(self, model: mesa.Model, *, slot: int) -> None:
        super().__init__(model)
        self.slot = slot
        self._snapshot: dict[str, np.ndarray] | None = None

    _ARRAYS = ("acc_float", "acc_int", "rel_int", "rel_float")

    def _column(self, arrays: str) -> np.ndarray:
        """This account's column of the model's ``arrays`` (its own copy once it left)."""
        if self._snapshot is not None:
            return self._snapshot[arrays]
        a = getattr(self.model, arrays)
        return a[:, 0, self.slot] if arrays.startswith("acc") else a[:, 0, :, self.slot]  # type: ignore[no-any-return]

    def leave(self) -> None:
        """The account leaves the market: it keeps its last state, the slot is freed."""
        self._snapshot = {name: self._column(name).copy() for name in self._ARRAYS}

    # --- the account's own attributes (its column of the model's account arrays)
    def _acc(self, field: int) -> float:
        return float(self._column("acc_float")[field])

    @property
    def wallet(self) -> float:
        """Annual category spend W (k€/yr)."""
        return self._acc(st.WALLET)

    @property
    def growth(self) -> float:
        """Expected annual log growth of its wallet (:func:`growth.expected_growth`)."""
        params = self.model.params_array  # type: ignore[attr-defined]
        return float(expected_growth(self.wallet, self.potential, params))

    @property
    def scale(self) -> float:
        """Effort scale S (k€ per quarter)."""
        return self._acc(st.SCALE)

    @property
    def sensitivity(self) -> float:
        """Price sensitivity when judging an outside offer."""
        return self._acc(st.SENSITIVITY)

    @property
    def tolerance(self) -> float:
        """Dependency tolerance: the largest share it gives one supplier below strategic."""
        return self._acc(st.TOLERANCE)

    @property
    def wariness(self) -> float:
        """How much recent supplier disruptions tighten its caps."""
        return self._acc(st.WARINESS)

    @property
    def potential(self) -> float:
        """True potential: the wallet the account's plans lead to (k€/yr)."""
        return self._acc(st.POTENTIAL)

    @property
    def potential_class(self) -> int:
        """Potential class: 0 low, 1 medium, 2 high."""
        params = self.model.params_array  # type: ignore[attr-defined]
        return int(potential_class(self.potential, params))

    @property
    def willing(self) -> bool:
        """Whether the account accepts a partnership beyond tactical."""
        return bool(self._column("acc_int")[st.WILLING])

    # --- its relationships (its column of the model's relationship arrays)
    def _rel(self, arrays: str, field: int) -> np.ndarray:
        return self._column(arrays)[field]

    @property
    def shares(self) -> np.ndarray:
        """Share of wallet with each supplier, focal first.

        The rest of the market holds the remainder.
        """
        return self._rel("rel_float", st.SHARE).copy()

    @property
    def stages(self) -> np.ndarray:
        """Stage of the relationship with each supplier (0: none), focal first."""
        return self._rel("rel_int", st.STAGE).copy()

    @property
    def stage(self) -> int:
        """Stage of the relationship with the focal supplier (0: none)."""
        return int(self._rel("rel_int", st.STAGE)[0])

    @property
    def stage_name(self) -> str:
        """Name of the focal relationship's stage, e.g. ``'cooperative'``."""
        return "none" if self.stage == 0 else st.Stage(self.stage).name.lower()

    @property
    def trust(self) -> float:
        """The account's trust in the focal supplier."""
        return float(self._rel("rel_float", st.TRUST)[0])

    @property
    def share_of_wallet(self) -> float:
        """The focal supplier's share of the account's wallet."""
        return float(self._rel("rel_float", st.SHARE)[0])

    @property
    def stock(self) -> float:
        """The focal supplier's specific investment in the account (k€)."""
        return float(self._rel("rel_float", st.STOCK)[0])

    @property
    def adaptation(self) -> float:
        """The account's adaptation to the focal supplier (k€)."""
        return float(self._rel("rel_float", st.ADAPTATION)[0])

    @property
    def largest_share(self) -> float:
        """The largest share the account gives any supplier (its own dependence)."""
        return float(np.max(self._rel("rel_float", st.SHARE)))

    @property
    def allocation(self) -> np.ndarray:
        """k€ each supplier allocated to it this quarter, (M, 1)."""
        j = self.slot
        return self.model.alloc[0, :, j : j + 1]  # type: ignore[attr-defined, no-any-return]

    @property
    def quarter_revenue(self) -> np.ndarray:
        """This quarter's revenue of each supplier with it (k€)."""
        return self.model.quarter_outcome("revenue")[:, self.slot]  # type: ignore[attr-defined, no-any-return]

    @property
    def quarter_profit(self) -> np.ndarray:
        """This quarter's profit of each supplier with it (k€)."""
        return self.model.quarter_outcome("profit")[:, self.slot]  # type: ignore[attr-defined, no-any-return]

    # --- behaviour
    def renew(self, quarter: int) -> np.ndarray:
        """Suppliers court the account again (:func:`rules.renew_relationships`).

        Returns which suppliers started a relationship with it, (M,).
        """
        m = self.model
        j = self.slot
        started = m.started  # type: ignore[attr-defined]
        started[0, :, j] = False
        m.renew_relationships(  # type: ignore[attr-defined]
            m.rel_int, m.rel_float, 0, j, self.wallet, m.key, quarter,  # type: ignore[attr-defined]
            m.params_array, started,  # type: ignore[attr-defined]
        )  # fmt: skip
        return started[0, :, j]  # type: ignore[no-any-return]

    def step(self) -> None:
        """Live through one quarter (:func:`kamsim.model.rules.account_quarter`).

        Steps 2-7 for the account and its M relationships, on its column of the
        model's arrays, with this quarter's allocations, shocks and variates; the
        model then settles and records the quarter.
        """
        m = self.model
        j = self.slot
        willing = m.acc_int[st.WILLING, 0]  # type: ignore[attr-defined]
        m.account_quarter(  # type: ignore[attr-defined]
            m.rel_int, m.rel_float, m.acc_float, 0, j, j + 1, willing, m.alloc,  # type: ignore[attr-defined]
            m.efficiency, m.disrupted, m.downturn, m.key, m.quarter - 1, m.params_array,  # type: ignore[attr-defined]
            m.out_f, m.out_i, m.acc_out,  # type: ignore[attr-defined]
        )  # fmt: skip


class Supplier(mesa.Agent):
    """A supplier: a KAM budget and an investment policy, courting every account.

    Attributes:
        index: 0 for the focal supplier (the user's firm), 1.. for rivals.
        budget: KAM budget per quarter (k€).
        policy: the investment policy callable; ``policy_name`` its name.
        reads: whether its policy reads its estimates of potential and of trust.
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

    def allocate(self, quarter: int, obs_f: np.ndarray, obs_i: np.ndarray) -> np.ndarray:
        """Observe its own relationships and split its budget with its policy.

        ``obs_f`` (OBS_F, M, 1, n) and ``obs_i`` (OBS_I, M, 1, n) are what every
        supplier observes this quarter (:func:`kamsim.model.rules.observe_account`); this
        supplier reads its own row. Returns the allocation (1, n) in k€.
        """
        i = self.index
        obs: Observation = observation_from_arrays(quarter, obs_f[:, i], obs_i[:, i])
        obs = without_unread(obs, self.reads, self.policy_name)  # as the engine
        return enforce_budget(
            self.policy(obs, self.budget), obs, self.budget, self.policy_name
        )
