"""The random environment of one replication (common random numbers).

Everything random in a kamsim run is drawn here, from one NumPy ``Generator`` per
replication, in a fixed order that does not depend on the investment policy. Two
policies run on the same replication seed therefore face the same accounts, the same
competitor offers, the same service-failure variates and the same shocks, so their
difference is measured *paired* (common random numbers).

Draw order for a generator ``rng`` (this order is part of the reproducibility
contract; changing it changes every result):

1. initial accounts: ``rng.standard_normal((2, n))`` (log-wallet, growth) then
   ``rng.random((2, n))`` (willingness, price sensitivity);
2. quarters in blocks of :data:`BLOCK` quarters, each block
   ``rng.random((BLOCK, 5, n))`` (failure, offer, disappearance, newcomer
   willingness, newcomer sensitivity), ``rng.standard_normal((BLOCK, 4, n))``
   (potential-estimate noise, trust-reading noise, newcomer log-wallet, newcomer
   growth) and ``rng.random((BLOCK, 2))`` (downturn, disruption).

Both faces of the model (the Mesa agents and the batched engine) call the functions
below per replication, so the same seed gives the same numbers to the last bit.
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
    "downturn_path",
    "draw_accounts",
    "draw_block",
    "draw_many",
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
            ``g = max(-1, growth_mean + growth_sd * z)``. The truncation keeps wallets
            and potentials non-negative; with the default spread it never binds.
        willing: True if the account is willing to move beyond tactical.
        sensitivity: price sensitivity, uniform on [min, max].
        potential: three-year potential ``W * (1 + g)^3`` (k€/yr).
        potential_class: 0 low, 1 medium, 2 high (by the potential thresholds).
        scale: effort scale S (k€ per quarter), the investment intensity the account
            needs: ``S = (median / 4) * (W / median)^effort_elasticity``.
    """

    wallet: np.ndarray
    growth: np.ndarray
    willing: np.ndarray
    sensitivity: np.ndarray
    potential: np.ndarray
    potential_class: np.ndarray
    scale: np.ndarray


def _make_accounts(
    z_wallet: np.ndarray,
    z_growth: np.ndarray,
    u_willing: np.ndarray,
    u_sensitivity: np.ndarray,
    p: ModelParams,
) -> Accounts:
    wallet = p.wallet_median * np.exp(p.wallet_sigma * z_wallet)
    growth = np.maximum(-1.0, p.growth_mean + p.growth_sd * z_growth)
    willing = u_willing < p.share_willing
    sensitivity = (
        p.price_sensitivity_min
        + (p.price_sensitivity_max - p.price_sensitivity_min) * u_sensitivity
    )
    potential = wallet * (1.0 + growth) ** 3
    potential_class = (potential >= p.potential_low).astype(np.int8) + (
        potential >= p.potential_high
    ).astype(np.int8)
    scale = (p.wallet_median / 4.0) * (wallet / p.wallet_median) ** p.effort_elasticity
    return Accounts(wallet, growth, willing, sensitivity, potential, potential_class, scale)


def draw_accounts(rng: np.random.Generator, n: int, p: ModelParams) -> Accounts:
    """Draw the ``n`` initial accounts of one replication (step 1 of the draw order)."""
    z = rng.standard_normal((2, n))
    u = rng.random((2, n))
    return _make_accounts(z[0], z[1], u[0], u[1], p)


@dataclass(frozen=True)
class QuarterBlock:
    """Variates for :data:`BLOCK` quarters of one replication (first axis: quarter).

    Attributes:
        u_failure: uniform, service failure when ``u < p_failure``. Shape (B, n).
        u_offer: uniform, a competitor offer arrives when ``u < offer_probability``;
            its discount is ``offer_discount_max * u / offer_probability``.
        u_vanish: uniform, the account disappears when ``u < hazard``.
        z_potential: standard normal noise of the supplier's potential estimate.
        z_trust: standard normal noise of the supplier's reading of trust.
        newcomers: the account that would take each slot if it is refilled in
            that quarter (attributes of shape (B, n)).
        downturn: 1.0 in quarters with a correlated demand downturn, else 0.0 (see
            :func:`downturn_path`). (B,)
        disruption: True in quarters with a supplier disruption. (B,)
    """

    u_failure: np.ndarray
    u_offer: np.ndarray
    u_vanish: np.ndarray
    z_potential: np.ndarray
    z_trust: np.ndarray
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
    rng: np.random.Generator, n: int, p: ModelParams, previous_downturn: bool = False
) -> QuarterBlock:
    """Draw the next :data:`BLOCK` quarters of variates (step 2 of the draw order).

    ``previous_downturn`` is whether the quarter before the block was in a downturn.
    """
    u = rng.random((BLOCK, 5, n))
    z = rng.standard_normal((BLOCK, 4, n))
    c = rng.random((BLOCK, 2))
    newcomers = _make_accounts(z[:, 2], z[:, 3], u[:, 3], u[:, 4], p)
    return QuarterBlock(
        u_failure=np.ascontiguousarray(u[:, 0]),
        u_offer=np.ascontiguousarray(u[:, 1]),
        u_vanish=np.ascontiguousarray(u[:, 2]),
        z_potential=np.ascontiguousarray(z[:, 0]),
        z_trust=np.ascontiguousarray(z[:, 1]),
        newcomers=newcomers,
        downturn=downturn_path(c[:, 0], previous_downturn, p),
        disruption=c[:, 1] < p.disruption_probability,
    )


@dataclass(frozen=True)
class StackedEnvironment:
    """The environments of R replications stacked for the batched engine.

    Quarter arrays have shape (R, T, n) (``downturn``/``disruption``: (R, T)) and are
    indexed ``[:, t]``; ``initial`` and ``newcomers`` hold account attributes of shape
    (R, n) and (R, T, n).
    """

    initial: Accounts
    newcomers: Accounts
    u_failure: np.ndarray
    u_offer: np.ndarray
    u_vanish: np.ndarray
    z_potential: np.ndarray
    z_trust: np.ndarray
    downturn: np.ndarray
    disruption: np.ndarray


def draw_many(
    seeds: list[int], n: int, quarters: int, p: ModelParams
) -> StackedEnvironment:
    """Draw the environments of several replications at once, one generator each.

    Each replication's generator ``numpy.random.default_rng(seed)`` produces exactly
    the stream of :func:`draw_accounts` followed by ``ceil(T / BLOCK)`` calls of
    :func:`draw_block` (the raw variates are written straight into stacked arrays
    with ``out=``), so replication r sees the same numbers as a
    :class:`kamsim.KAMModel` with ``rng=seeds[r]``. The transforms into account
    attributes are then applied to all replications at once.
    """
    r_count = len(seeds)
    n_blocks = -(-quarters // BLOCK)
    z0 = np.empty((r_count, 2, n))
    u0 = np.empty((r_count, 2, n))
    u = np.empty((r_count, n_blocks, BLOCK, 5, n))
    z = np.empty((r_count, n_blocks, BLOCK, 4, n))
    c = np.empty((r_count, n_blocks, BLOCK, 2))
    for r, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        rng.standard_normal(out=z0[r])
        rng.random(out=u0[r])
        for b in range(n_blocks):
            rng.random(out=u[r, b])
            rng.standard_normal(out=z[r, b])
            rng.random(out=c[r, b])
    t_all = n_blocks * BLOCK
    uq = u.reshape(r_count, t_all, 5, n)
    zq = z.reshape(r_count, t_all, 4, n)
    cq = c.reshape(r_count, t_all, 2)

    def part(a: np.ndarray, k: int) -> np.ndarray:
        return np.ascontiguousarray(a[:, :, k])

    initial = _make_accounts(
        np.ascontiguousarray(z0[:, 0]),
        np.ascontiguousarray(z0[:, 1]),
        np.ascontiguousarray(u0[:, 0]),
        np.ascontiguousarray(u0[:, 1]),
        p,
    )
    newcomers = _make_accounts(part(zq, 2), part(zq, 3), part(uq, 3), part(uq, 4), p)
    return StackedEnvironment(
        initial=initial,
        newcomers=newcomers,
        u_failure=part(uq, 0),
        u_offer=part(uq, 1),
        u_vanish=part(uq, 2),
        z_potential=part(zq, 0),
        z_trust=part(zq, 1),
        downturn=downturn_path(cq[:, :, 0], False, p),
        disruption=cq[:, :, 1] < p.disruption_probability,
    )
