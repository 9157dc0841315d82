"""The random environment of one replication (common random numbers).

Everything random in a kamsim run is drawn here, from one NumPy ``Generator`` per
replication, in a fixed order that does not depend on any supplier's investment
policy. Two policies run on the same replication seed therefore face the same
accounts, the same offers, the same service-failure variates and the same shocks, so
their difference is measured *paired* (common random numbers).

A market has ``M`` suppliers (the focal one and ``M - 1`` rivals) and ``n`` account
slots. Draw order for a generator ``rng`` (this order is part of the reproducibility
contract; changing it changes every result):

1. initial accounts: ``rng.standard_normal((2, n))`` (log-wallet, growth), then
   ``rng.random((3, n))`` (willingness, price sensitivity, dependency tolerance);
2. initial relationships: ``rng.random((1, M, n))`` (initial trust) and
   ``rng.standard_normal((2, M, n))`` (potential bias, trust bias);
3. quarters in blocks of :data:`BLOCK`, each block, in this order:
   ``rng.random((BLOCK, 3, M, n))`` (service failure, offer, initial trust of a
   relationship starting that quarter), ``rng.standard_normal((BLOCK, 4, M, n))``
   (potential-estimate noise, trust-reading noise, potential bias and trust bias of a
   relationship starting that quarter), ``rng.random((BLOCK, 4, n))`` (account
   disappearance, newcomer willingness, sensitivity, tolerance),
   ``rng.standard_normal((BLOCK, 2, n))`` (newcomer log-wallet and growth) and
   ``rng.random((BLOCK, 1 + M))`` (downturn, one disruption variate per supplier).

Every variate is drawn whether or not it is used (a newcomer's attributes for every
slot and quarter, say), so what one supplier does never shifts another's numbers.
Both faces (the Mesa agents and the batched engine) draw through this module, so the
same seed gives the same numbers to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kamsim.params import ModelParams

__all__ = [
    "BLOCK",
    "Accounts",
    "QuarterBlock",
    "StackedEnvironment",
    "Starts",
    "downturn_path",
    "draw_accounts",
    "draw_block",
    "draw_many",
    "draw_starts",
    "make_accounts",
    "make_starts",
]

#: Quarters drawn per block; a run of T quarters draws ceil(T / BLOCK) blocks.
BLOCK = 40


@dataclass(frozen=True)
class Accounts:
    """Attributes of accounts (arrays of equal shape; money in k€ per year).

    Attributes:
        wallet: annual category spend W (k€/yr), lognormal:
            ``W = wallet_median * exp(wallet_sigma * z)``.
        growth: annual wallet growth rate g (per year), normal and truncated at -1
            (an account cannot lose more than its whole spend in a year):
            ``g = max(-1, growth_mean + growth_sd * z)``.
        willing: True if the account is willing to move beyond tactical with any
            supplier (partnership orientation).
        sensitivity: price sensitivity, uniform on [min, max].
        tolerance: dependency tolerance, the largest share of wallet the account
            gives one supplier below the strategic stage, uniform on [min, max].
        potential: three-year potential ``W * (1 + g)^3`` (k€/yr).
        potential_class: 0 low, 1 medium, 2 high (by the potential thresholds).
        scale: effort scale S (k€ per quarter), the investment intensity the account
            needs: ``S = (median / 4) * (W / median)^effort_elasticity``.
    """

    wallet: np.ndarray
    growth: np.ndarray
    willing: np.ndarray
    sensitivity: np.ndarray
    tolerance: np.ndarray
    potential: np.ndarray
    potential_class: np.ndarray
    scale: np.ndarray


def make_accounts(
    z_wallet: np.ndarray,
    z_growth: np.ndarray,
    u_willing: np.ndarray,
    u_sensitivity: np.ndarray,
    u_tolerance: np.ndarray,
    p: ModelParams,
) -> Accounts:
    """Turn standard variates into account attributes (see :class:`Accounts`)."""
    wallet = p.wallet_median * np.exp(p.wallet_sigma * z_wallet)
    growth = np.maximum(-1.0, p.growth_mean + p.growth_sd * z_growth)
    willing = u_willing < p.share_willing
    sensitivity = (
        p.price_sensitivity_min
        + (p.price_sensitivity_max - p.price_sensitivity_min) * u_sensitivity
    )
    tolerance = p.tolerance_min + (p.tolerance_max - p.tolerance_min) * u_tolerance
    potential = wallet * (1.0 + growth) ** 3
    potential_class = (potential >= p.potential_low).astype(np.int8) + (
        potential >= p.potential_high
    ).astype(np.int8)
    scale = (p.wallet_median / 4.0) * (wallet / p.wallet_median) ** p.effort_elasticity
    return Accounts(
        wallet, growth, willing, sensitivity, tolerance, potential, potential_class, scale
    )


@dataclass(frozen=True)
class Starts:
    """What a relationship starts with, for every supplier x slot (arrays (..., M, n)).

    Attributes:
        trust: initial trust, uniform on ``trust_initial +- trust_initial_spread``
            clipped to [0, 1].
        bias_potential: standard normal b of the supplier's persistent misjudgement
            of the account's potential (scaled by ``potential_bias`` and the stage's
            clarity when observed).
        bias_trust: standard normal of the supplier's persistent misreading of trust.
    """

    trust: np.ndarray
    bias_potential: np.ndarray
    bias_trust: np.ndarray


def make_starts(
    u_trust: np.ndarray, z_potential: np.ndarray, z_trust: np.ndarray, p: ModelParams
) -> Starts:
    """Turn standard variates into the starting values of relationships."""
    lo = p.trust_initial - p.trust_initial_spread
    trust = np.minimum(1.0, np.maximum(0.0, lo + 2.0 * p.trust_initial_spread * u_trust))
    return Starts(trust, z_potential, z_trust)


def draw_accounts(rng: np.random.Generator, n: int, p: ModelParams) -> Accounts:
    """Draw the ``n`` initial accounts of one replication (step 1 of the draw order)."""
    z = rng.standard_normal((2, n))
    u = rng.random((3, n))
    return make_accounts(z[0], z[1], u[0], u[1], u[2], p)


def draw_starts(rng: np.random.Generator, m: int, n: int, p: ModelParams) -> Starts:
    """Draw the initial relationships of one replication (step 2 of the draw order)."""
    u = rng.random((1, m, n))
    z = rng.standard_normal((2, m, n))
    return make_starts(u[0], z[0], z[1], p)


@dataclass(frozen=True)
class QuarterBlock:
    """Variates for :data:`BLOCK` quarters of one replication (first axis: quarter).

    Attributes:
        u_failure: uniform, service failure when ``u < p_failure``. Shape (B, M, n).
        u_offer: uniform, the rest of the market makes an offer for a relationship's
            business when ``u < offer_probability``; its discount is
            ``offer_discount_max * u / offer_probability``. Shape (B, M, n).
        z_potential: standard normal transient noise of potential estimates (B, M, n).
        z_trust: standard normal transient noise of trust readings (B, M, n).
        starts: starting values of a relationship that starts in that quarter
            (B, M, n).
        u_vanish: uniform, the account disappears when ``u < hazard``. (B, n)
        newcomers: the account that would take each slot if it is refilled in that
            quarter (attributes of shape (B, n)).
        downturn: 1.0 in quarters with a correlated demand downturn, else 0.0 (see
            :func:`downturn_path`). (B,)
        disruption: True where a supplier suffers a disruption. (B, M)
    """

    u_failure: np.ndarray
    u_offer: np.ndarray
    z_potential: np.ndarray
    z_trust: np.ndarray
    starts: Starts
    u_vanish: np.ndarray
    newcomers: Accounts
    downturn: np.ndarray
    disruption: np.ndarray


def downturn_path(u: np.ndarray, previous: np.ndarray | bool, p: ModelParams) -> np.ndarray:
    """Downturn indicator (1.0 / 0.0) along the last axis of uniforms ``u``.

    A two-state Markov chain: outside a downturn one begins when
    ``u_t < downturn_probability``; inside, it continues when
    ``u_t < downturn_persistence``. ``previous`` is the state before the first
    quarter (False at the start of a run). Only comparisons are involved, so the path
    is identical whatever the array shape.
    """
    out = np.empty(u.shape)
    state = np.asarray(previous, dtype=bool)
    for k in range(u.shape[-1]):
        threshold = np.where(state, p.downturn_persistence, p.downturn_probability)
        state = u[..., k] < threshold
        out[..., k] = state
    return out


def draw_block(
    rng: np.random.Generator,
    m: int,
    n: int,
    p: ModelParams,
    previous_downturn: bool = False,
) -> QuarterBlock:
    """Draw the next :data:`BLOCK` quarters of variates (step 3 of the draw order).

    ``previous_downturn`` is whether the quarter before the block was in a downturn.
    """
    ur = rng.random((BLOCK, 3, m, n))
    zr = rng.standard_normal((BLOCK, 4, m, n))
    ua = rng.random((BLOCK, 4, n))
    za = rng.standard_normal((BLOCK, 2, n))
    c = rng.random((BLOCK, 1 + m))
    return QuarterBlock(
        u_failure=np.ascontiguousarray(ur[:, 0]),
        u_offer=np.ascontiguousarray(ur[:, 1]),
        z_potential=np.ascontiguousarray(zr[:, 0]),
        z_trust=np.ascontiguousarray(zr[:, 1]),
        starts=make_starts(ur[:, 2], zr[:, 2], zr[:, 3], p),
        u_vanish=np.ascontiguousarray(ua[:, 0]),
        newcomers=make_accounts(za[:, 0], za[:, 1], ua[:, 1], ua[:, 2], ua[:, 3], p),
        downturn=downturn_path(c[:, 0], previous_downturn, p),
        disruption=c[:, 1:] < p.disruption_probability,
    )


@dataclass(frozen=True)
class StackedEnvironment:
    """The environments of R replications stacked for the batched engine.

    The raw variates of all replications and quarters, in the arrays the generators
    wrote them to (quarter axis second, the draw order's axes after it):

    - ``uniform_rel`` (R, T, 3, M, n): service failure, offer, initial trust of a
      relationship starting that quarter;
    - ``normal_rel`` (R, T, 4, M, n): potential-estimate noise, trust-reading noise,
      potential bias and trust bias of a relationship starting that quarter;
    - ``uniform_acc`` (R, T, 4, n): account disappearance, newcomer willingness,
      sensitivity, tolerance;
    - ``normal_acc`` (R, T, 2, n): newcomer log-wallet and growth;

    and the quarter's shocks, ``downturn`` (R, T) and ``disruption`` (R, T, M).
    ``initial`` (accounts, (R, n)) and ``initial_starts`` (relationships, (R, M, n))
    describe the market before the first quarter. Newcomer attributes are computed
    only for the slots that are refilled (:meth:`newcomers`), by the same elementwise
    transforms as :func:`draw_block`, so the values are identical.
    """

    initial: Accounts
    initial_starts: Starts
    uniform_rel: np.ndarray
    normal_rel: np.ndarray
    uniform_acc: np.ndarray
    normal_acc: np.ndarray
    downturn: np.ndarray
    disruption: np.ndarray
    p: ModelParams

    def newcomers(self, rows: np.ndarray, slots: np.ndarray, i: int) -> Accounts:
        """The accounts that take refilled slots in quarter index ``i``.

        ``rows`` and ``slots`` name the replication and slot of each (1-d arrays).
        """
        u = self.uniform_acc[rows, i, :, slots]
        z = self.normal_acc[rows, i, :, slots]
        return make_accounts(z[:, 0], z[:, 1], u[:, 1], u[:, 2], u[:, 3], self.p)


def draw_many(
    seeds: list[int], m: int, n: int, quarters: int, p: ModelParams
) -> StackedEnvironment:
    """Draw the environments of several replications at once, one generator each.

    Each replication's generator ``numpy.random.default_rng(seed)`` produces exactly
    the stream of :func:`draw_accounts`, :func:`draw_starts` and ``ceil(T / BLOCK)``
    calls of :func:`draw_block` (the raw variates are written straight into stacked
    arrays with ``out=``), so replication r sees the same numbers as a
    :class:`kamsim.KAMModel` with ``rng=seeds[r]``. The transforms of the initial
    market and the downturn path are applied to all replications at once.
    """
    r_count = len(seeds)
    n_blocks = -(-quarters // BLOCK)
    za0 = np.empty((r_count, 2, n))
    ua0 = np.empty((r_count, 3, n))
    ur0 = np.empty((r_count, 1, m, n))
    zr0 = np.empty((r_count, 2, m, n))
    ur = np.empty((r_count, n_blocks, BLOCK, 3, m, n))
    zr = np.empty((r_count, n_blocks, BLOCK, 4, m, n))
    ua = np.empty((r_count, n_blocks, BLOCK, 4, n))
    za = np.empty((r_count, n_blocks, BLOCK, 2, n))
    c = np.empty((r_count, n_blocks, BLOCK, 1 + m))
    for r, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        rng.standard_normal(out=za0[r])
        rng.random(out=ua0[r])
        rng.random(out=ur0[r])
        rng.standard_normal(out=zr0[r])
        for b in range(n_blocks):
            rng.random(out=ur[r, b])
            rng.standard_normal(out=zr[r, b])
            rng.random(out=ua[r, b])
            rng.standard_normal(out=za[r, b])
            rng.random(out=c[r, b])
    t_all = n_blocks * BLOCK
    cq = c.reshape(r_count, t_all, 1 + m)
    return StackedEnvironment(
        initial=make_accounts(za0[:, 0], za0[:, 1], ua0[:, 0], ua0[:, 1], ua0[:, 2], p),
        initial_starts=make_starts(ur0[:, 0], zr0[:, 0], zr0[:, 1], p),
        uniform_rel=ur.reshape(r_count, t_all, 3, m, n),
        normal_rel=zr.reshape(r_count, t_all, 4, m, n),
        uniform_acc=ua.reshape(r_count, t_all, 4, n),
        normal_acc=za.reshape(r_count, t_all, 2, n),
        downturn=downturn_path(cq[:, :, 0], False, p),
        disruption=cq[:, :, 1:] < p.disruption_probability,
        p=p,
    )
