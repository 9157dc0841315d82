"""The built-in investment policies: how a supplier splits its KAM budget across accounts.

A policy is any callable ``policy(obs, budget) -> allocation`` (:class:`Policy`):

* ``obs`` is an :class:`~kamsim.policies.observation.Observation`: what one supplier
  can see of its own relationships, as read-only arrays of shape (R, n) for R
  replications (the Mesa face passes R = 1) and n account slots; every supplier in a
  market (the focal one and each rival) calls its own policy with its own observation;
* ``budget`` is the KAM budget for the quarter (k€, a float);
* the result is an array of shape (R, n) of non-negative k€, zero for vacant slots,
  whose row sums do not exceed ``budget``.

The built-ins are registered by name in :data:`kamsim.policies.POLICIES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from kamsim.model import cache as _cache  # noqa: F401  (kamsim-wide cache stamp)
from kamsim.model.sums import _row_sum as _pairwise_row
from kamsim.policies.observation import Observation


def no_investment(obs: Observation, budget: float) -> np.ndarray:
    """Invest nothing: relationships are left to themselves (a baseline)."""
    return np.zeros(obs.active.shape)


no_investment.summary = "invest nothing (baseline: relationships left to themselves)"  # type: ignore[attr-defined]


no_investment.observes = frozenset({"active"})  # type: ignore[attr-defined]


def uniform(obs: Observation, budget: float) -> np.ndarray:
    """Split the budget equally across live relationships: ``a_i = B / n_active``."""
    n = obs.n_active
    share = np.where(n > 0, budget / np.maximum(n, 1), 0.0)
    return np.where(obs.active, share, 0.0)


uniform.summary = "split the budget equally across all live accounts"  # type: ignore[attr-defined]


uniform.observes = frozenset({"active"})  # type: ignore[attr-defined]


# --- helpers (row-wise: every reduction runs along the last axis only) ----------------


def _row_sum(x: np.ndarray) -> np.ndarray:
    return np.sum(x, axis=-1, keepdims=True)


def _split(weights: np.ndarray, amount: np.ndarray | float) -> np.ndarray:
    """Split ``amount`` (per row) in proportion to non-negative ``weights``.

    Rows whose weights sum to 0 get nothing.
    """
    total = _row_sum(weights)
    return np.where(total > 0, weights / np.where(total > 0, total, 1.0) * amount, 0.0)


def _cap(allocation: np.ndarray, budget: float) -> np.ndarray:
    """Scale rows whose total exceeds ``budget`` down proportionally."""
    total = _row_sum(allocation)
    return np.where(
        total > budget, allocation * (budget / np.maximum(total, 1e-300)), allocation
    )


def maintenance_proxy(obs: Observation, rate: float) -> np.ndarray:
    """Observable stand-in for the investment a relationship needs to avoid neglect (k€).

    The model's maintenance level (``ModelParams.maintenance`` x the account's effort
    scale) is hidden from the supplier. Policies use a fraction of last quarter's
    revenue instead, and only for interdependent and strategic relationships (the
    stages where neglect breeds complacency): ``m_i = rate * revenue_i`` if
    ``stage_i >= 3`` else 0. With the default ``rate = 0.03`` this covers the hidden
    maintenance level of a median account at both top stages (about 1.7 % and 2.5 % of
    its quarterly revenue with default parameters).
    """
    return np.where(obs.active & (obs.stage >= 3), rate * obs.revenue, 0.0)


# --- simple weighting policies ---------------------------------------------------------


def revenue_proportional(obs: Observation, budget: float) -> np.ndarray:
    """Split the budget in proportion to last quarter's revenue: ``a_i = B r_i / sum r``.

    Encodes the common trap of judging accounts by current revenue alone: large but
    low-potential accounts get most, while small accounts with high potential (and
    tactical accounts whose revenue is low *because* the relationship is young) get
    little.
    """
    return _split(np.where(obs.active, obs.revenue, 0.0), budget)


revenue_proportional.summary = "budget in proportion to current revenue (the revenue trap)"  # type: ignore[attr-defined]


revenue_proportional.observes = frozenset({"active", "revenue"})  # type: ignore[attr-defined]


def potential_weighted(obs: Observation, budget: float) -> np.ndarray:
    """Split the budget in proportion to estimated potential: ``a_i = B p_i / sum p``.

    ``p_i`` is the supplier's noisy estimate of the account's potential (the wallet
    its plans lead to, k€/yr). Invests where the future business is, whatever the
    stage.
    """
    return _split(np.where(obs.active, obs.potential, 0.0), budget)


potential_weighted.summary = "budget in proportion to estimated potential"  # type: ignore[attr-defined]


potential_weighted.observes = frozenset({"active", "potential"})  # type: ignore[attr-defined]


# --- parameterised policies (small callable classes) -------------------------------------


@dataclass(frozen=True)
class StageGated:
    """Push high-potential accounts up, maintain the rest, leave low ones tactical.

    The KAM practice rule at the cooperative stage: judge potential, then decide
    whether to invest. Each quarter:

    1. every medium-potential relationship, and every interdependent or strategic one,
       gets its maintenance proxy ``m_i = maintenance_rate * revenue_i`` (stages 3-4,
       see :func:`maintenance_proxy`); low-potential accounts get *nothing beyond*
       this maintenance (so a low-potential tactical or cooperative account gets 0);
    2. the rest of the budget goes to high-potential accounts (estimated class 2) that
       are not yet strategic, in proportion to ``sqrt(potential)`` (the effort an
       account needs grows less than proportionally with its size); if there are
       none, to strategic high-potential accounts, and failing those it stays unspent.

    The default rivals' policy, so it runs for two suppliers in every quarter: it is
    compiled (:func:`_stage_gated`), with the same bits as these steps in NumPy.

    Args:
        maintenance_rate: maintenance proxy as a fraction of quarterly revenue.
    """

    maintenance_rate: float = 0.03
    #: the fields it reads (:func:`estimates_read`): not the trust reading
    observes: ClassVar[frozenset[str]] = frozenset(
        {"active", "stage", "revenue", "potential", "potential_class"}
    )

    def __call__(self, obs: Observation, budget: float) -> np.ndarray:
        """Allocate ``budget`` (k€) across the (R, n) slots of ``obs``."""
        shape = np.shape(obs.active)
        a = _stage_gated(
            _rows(obs.active, shape),
            _rows(obs.stage, shape),
            _rows(obs.potential_class, shape),
            _rows(obs.revenue, shape),
            _rows(obs.potential, shape),
            float(budget),
            float(self.maintenance_rate),
        )
        return np.asarray(a).reshape(shape)

    summary = "push high-potential accounts up, maintain the rest, leave low ones tactical"


def _rows(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``x`` as a C-contiguous 2-d array of rows (the last axis kept), no copy if it is."""
    x = np.asarray(x)
    if x.shape != shape:
        x = np.broadcast_to(x, shape)
    return np.ascontiguousarray(x).reshape(-1, shape[-1])


@njit(cache=True, error_model="numpy", inline="always")
def _maximum(a: float, b: float) -> float:  # pragma: no cover - compiled
    """``np.maximum(a, b)`` of two floats (NaN propagates from ``a``)."""
    return a if (a >= b or a != a) else b


@njit(cache=True, error_model="numpy")
def _stage_gated(  # pragma: no cover - compiled
    active: np.ndarray,
    stage: np.ndarray,
    pclass: np.ndarray,
    revenue: np.ndarray,
    potential: np.ndarray,
    budget: float,
    rate: float,
) -> np.ndarray:
    """:class:`StageGated` row by row (arrays (R, n)), returns the allocations (k€).

    Compiled because it is the default rivals' policy and runs for every supplier
    in every quarter; element by element it evaluates the NumPy expressions of the
    steps in :class:`StageGated` in their order (row sums in NumPy's pairwise order,
    :func:`kamsim.model.sums.pairwise_sum`), so its results have the same bits (a
    hypothesis test in ``tests/test_policies.py`` compares it with the NumPy
    expressions).
    """
    r_count, n = active.shape
    out = np.zeros((r_count, n))
    base, climbing, topped = 0, 1, 2
    rows = np.empty((3, n))  # base, climbing, topped of the current row
    for r in range(r_count):
        for j in range(n):
            high = active[r, j] and pclass[r, j] == 2
            due = active[r, j] and stage[r, j] >= 3
            maint = rate * revenue[r, j] if due else 0.0  # maintenance_proxy
            rows[base, j] = 0.0 if high else maint
            w = np.sqrt(_maximum(potential[r, j], 0.0)) if high else 0.0
            rows[climbing, j] = w if (high and stage[r, j] < 4) else 0.0
            rows[topped, j] = w if (high and stage[r, j] == 4) else 0.0
        # 1. maintenance, scaled down to the budget if it exceeds it (_cap)
        total = _pairwise_row(rows, base, n)
        if total > budget:
            factor = budget / _maximum(total, 1e-300)
            for j in range(n):
                rows[base, j] = rows[base, j] * factor
        left = _maximum(budget - _pairwise_row(rows, base, n), 0.0)
        # 2. the rest to high-potential accounts climbing, else to topped ones (_split)
        weights = climbing if _pairwise_row(rows, climbing, n) > 0 else topped
        weight_total = _pairwise_row(rows, weights, n)
        for j in range(n):
            push = rows[weights, j] / weight_total * left if weight_total > 0 else 0.0
            low = active[r, j] and pclass[r, j] == 0
            a = rows[base, j] if low else rows[base, j] + push
            out[r, j] = a if active[r, j] else 0.0
    return out


@dataclass(frozen=True)
class Quadrant:
    """KAM directional policy matrix: attractiveness x relationship strength.

    An account is *attractive* when its estimated potential class is high (2) and the
    supplier thinks it more likely than not (``willing_threshold``) willing to partner
    (attractiveness includes the customer's partnership orientation, Woodburn & McDonald
    2011), and the relationship is *strong* when it is interdependent or strategic
    (stage >= 3) or the supplier reads its trust at or above ``strong_trust``. The four
    quadrants get their own treatment (McDonald & Woodburn 2007; Woodburn & McDonald
    2011):

    * **strategic** (attractive, strong): invest and ensure profit — maintenance plus
      a share of the investment pool with weight ``strategic_weight``;
    * **star** (attractive, weak): invest time and money — the largest share of the
      pool, weight ``star_weight``;
    * **status** (unattractive, strong): maintain — maintenance proxy only;
    * **streamline** (unattractive, weak): manage for profit — nothing.

    The pool (budget minus maintenance) is split in proportion to
    ``weight_q * sqrt(potential_i)``.

    Args:
        star_weight: relative investment weight of stars.
        strategic_weight: relative investment weight of strategic accounts.
        strong_trust: trust reading from which a lower-stage relationship counts as
            strong.
        maintenance_rate: maintenance proxy as a fraction of quarterly revenue.
        willing_threshold: estimated probability of willingness from which an
            account with high potential counts as attractive.
    """

    star_weight: float = 2.0
    strategic_weight: float = 1.0
    strong_trust: float = 0.6
    maintenance_rate: float = 0.03
    willing_threshold: float = 0.5

    def quadrants(self, obs: Observation) -> np.ndarray:
        """Quadrant of each slot: 0 streamline, 1 status, 2 star, 3 strategic, -1 vacant."""
        attractive = (obs.potential_class == 2) & (
            obs.willingness >= self.willing_threshold
        )
        strong = (obs.stage >= 3) | (obs.trust >= self.strong_trust)
        q = np.where(attractive, np.where(strong, 3, 2), np.where(strong, 1, 0))
        return np.where(obs.active, q, -1)

    def __call__(self, obs: Observation, budget: float) -> np.ndarray:
        """Allocate ``budget`` (k€) across the (R, n) slots of ``obs``."""
        q = self.quadrants(obs)
        maint = maintenance_proxy(obs, self.maintenance_rate)
        base = _cap(np.where((q == 1) | (q == 3), maint, 0.0), budget)
        left = np.maximum(budget - _row_sum(base), 0.0)
        w = np.sqrt(np.maximum(obs.potential, 0.0))
        weights = np.where(
            q == 2, self.star_weight * w, np.where(q == 3, self.strategic_weight * w, 0.0)
        )
        return np.where(obs.active, base + _split(weights, left), 0.0)

    summary = "directional policy matrix: invest in stars, maintain status, streamline rest"


@dataclass(frozen=True)
class ParetoFocus:
    """Most of the budget to the top fifth of accounts by current revenue.

    The ``k = max(1, ceil(fraction * n_active))`` accounts with the largest revenue
    share ``top_share`` of the budget equally; the other live accounts share the rest
    equally (if every account is in the top group it gets the whole budget).

    Args:
        top_share: share of the budget for the top group, in [0, 1].
        fraction: fraction of live accounts in the top group (0.2 = top fifth).
    """

    top_share: float = 0.8
    fraction: float = 0.2
    #: the fields it reads (:func:`estimates_read`): no estimate
    observes: ClassVar[frozenset[str]] = frozenset({"active", "revenue"})

    def top(self, obs: Observation) -> np.ndarray:
        """Boolean mask of the top group by revenue (ties broken by slot order)."""
        n = obs.n_active
        k = np.maximum(1, np.ceil(self.fraction * n - 1e-9)).astype(np.int64)
        key = np.where(obs.active, obs.revenue, -np.inf)
        order = np.argsort(-key, axis=-1, kind="stable")
        rank = np.argsort(order, axis=-1, kind="stable")
        return obs.active & (rank < k)

    def __call__(self, obs: Observation, budget: float) -> np.ndarray:
        """Allocate ``budget`` (k€) across the (R, n) slots of ``obs``."""
        top = self.top(obs)
        rest = obs.active & ~top
        has_rest = _row_sum(rest) > 0
        top_amount = np.where(has_rest, self.top_share * budget, budget)
        return _split(top.astype(np.float64), top_amount) + _split(
            rest.astype(np.float64), budget - top_amount
        )

    summary = "most of the budget (80 %) to the top fifth of accounts by revenue"


@dataclass(frozen=True)
class GreedyROI:
    """Budget in small steps, each to the highest estimated marginal return.

    The supplier's model of an account i, built only from what it observes:

    * quality from investment ``e``: ``q(e) = z / (1 + z)`` with
      ``z = (e + stock_weight * K_i) / (effort * sqrt(p_i))``, K_i the supplier's
      specific-investment stock and p_i the estimated potential (k€/yr);
    * value at stake per quarter: the revenue gained by moving up one stage plus the
      revenue kept by keeping the account,
      ``v_i = p_i / 4 * margin * ((sow[s+1] - sow[s]) * horizon + sow[s] * retention)``
      where ``sow`` is the supplier's belief about its share of wallet by stage;
      tactical accounts whose trust reading is still below ``min_trust`` after
      ``patience`` quarters are treated as unwilling (no upgrade value).

    The budget is handed out in ``steps`` equal increments; each goes to the account
    with the largest ``v_i * (q(e_i + delta) - q(e_i))``, and an increment is kept
    only while its estimated return exceeds its cost (``delta``).

    Args:
        steps: number of budget increments per quarter.
        effort: supplier's rule of thumb for the investment giving quality 0.5, per
            square root of potential (k€ per quarter / sqrt(k€/yr)).
        stock_weight: how much of the stock the supplier believes keeps serving.
        margin: gross margin the supplier earns on revenue.
        share_of_wallet: supplier's belief of its share of wallet in stages 1-4.
        horizon: quarters of extra revenue credited to an upgrade.
        retention: weight of the revenue at risk of being lost.
        patience: quarters after which a tactical account with low trust is judged
            unwilling.
        min_trust: trust reading below which such an account is judged unwilling.
    """

    steps: int = 20
    effort: float = 0.4
    stock_weight: float = 0.05
    margin: float = 0.3
    share_of_wallet: tuple[float, float, float, float] = (0.15, 0.35, 0.6, 0.85)
    horizon: float = 8.0
    retention: float = 2.0
    patience: int = 8
    min_trust: float = 0.45

    def value(self, obs: Observation) -> np.ndarray:
        """Estimated value at stake of each relationship (k€), ``v_i`` above."""
        sow = np.array((*self.share_of_wallet, self.share_of_wallet[-1]))
        s = np.clip(obs.stage, 1, 4) - 1
        step_up = sow[s + 1] - sow[s]
        stuck = (
            (obs.stage == 1) & (obs.tenure >= self.patience) & (obs.trust < self.min_trust)
        )
        step_up = np.where(stuck, 0.0, step_up)
        v = (
            obs.potential
            / 4.0
            * self.margin
            * (step_up * self.horizon + sow[s] * self.retention)
        )
        return np.where(obs.active, v, 0.0)

    def _quality(self, e: np.ndarray, obs: Observation) -> np.ndarray:
        scale = self.effort * np.sqrt(np.maximum(obs.potential, 1e-9))
        z = (e + self.stock_weight * obs.stock) / scale
        return z / (1.0 + z)

    def __call__(self, obs: Observation, budget: float) -> np.ndarray:
        """Allocate ``budget`` (k€) across the (R, n) slots of ``obs``."""
        a = np.zeros(obs.active.shape)
        if budget <= 0 or self.steps <= 0:
            return a
        delta = budget / self.steps
        v = self.value(obs)
        for _ in range(self.steps):
            gain = v * (self._quality(a + delta, obs) - self._quality(a, obs))
            gain = np.where(obs.active, gain, -np.inf)
            j = np.argmax(gain, axis=-1)[..., None]
            best = np.take_along_axis(gain, j, axis=-1)
            add = np.where(best > delta, delta, 0.0)
            cur = np.take_along_axis(a, j, axis=-1)
            np.put_along_axis(a, j, cur + add, axis=-1)
        return a

    summary = "budget in steps to the highest estimated marginal return"
