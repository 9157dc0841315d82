"""The random environment of one replication (common random numbers).

Everything random in a kamsim run comes from here and flows from one NumPy
``Generator`` per replication, drawn in a fixed order that does not depend on any
supplier's investment policy. Two policies run on the same replication seed therefore
face the same accounts, the same offers, the same service-failure variates and the
same shocks, so their difference is measured *paired* (common random numbers).

A market has ``M`` suppliers (the focal one and ``M - 1`` rivals) and ``n`` account
slots. Draw order for a generator ``rng`` (this order is part of the reproducibility
contract; changing it changes every result):

1. initial accounts: ``rng.standard_normal((2, n))`` (log-wallet, potential given
   the wallet), then ``rng.random((3, n))`` (willingness, price sensitivity,
   dependency tolerance);
2. initial relationships: ``rng.random((1, M, n))`` (initial trust) and
   ``rng.standard_normal((3, M, n))`` (misjudgements of potential, trust and
   willingness);
3. the replication's key: ``rng.integers(0, 2**64, dtype=np.uint64)``.

Every later variate is counter-based (:mod:`kamsim.model.variates`): the SplitMix64 output
(Steele, Lea & Flood 2014) of the key at a counter made of the quarter index, supplier,
slot and purpose. That covers the quarterly variates of every relationship (service
failure and offer uniforms, the normal noise of potential estimates and trust
readings), of every account (disappearance, growth regime and growth shock) and of the
market (the downturn chain's
uniform and one disruption uniform per supplier), and the variates of *events* — a
relationship starting (its initial trust and its misjudgements of potential, trust and
willingness) and a newcomer
account taking a slot (log-wallet, growth, willingness, sensitivity, tolerance).
Uniforms take the top 53 bits; normals use the ziggurat
(:func:`kamsim.model.variates.normal`). A variate thus depends only on the seed and on
*where and when* it is used, never on how many others were used before it: what one
supplier does never shifts another's numbers, and only what is used is computed. Both
faces (the Mesa agents and the batched engine) compute them with the same functions,
so the same seed gives the same numbers to the last bit.

References:
    Steele, G. L., Lea, D., & Flood, C. H. (2014). Fast splittable pseudorandom number
    generators. OOPSLA 2014, 453-472. https://doi.org/10.1145/2660193.2660195
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from kamsim.model import cache as _cache  # noqa: F401  (kamsim-wide cache stamp)
from kamsim.model import growth, judgement, rules
from kamsim.model import variates as vr
from kamsim.model.cache import rule
from kamsim.model.params import ModelParams
from kamsim.model.state import CompiledParams, compiled_params
from kamsim.model.variates import (
    DISRUPTION,
    DOWNTURN,
    GAMMA,
    MIX1,
    MIX2,
    NEW_GROWTH,
    NEW_SENSITIVITY,
    NEW_TOLERANCE,
    NEW_WALLET,
    NEW_WILLING,
    START_BIAS_P,
    START_BIAS_T,
    START_BIAS_W,
    START_TRUST,
)

__all__ = [
    "BLOCK",
    "Accounts",
    "QuarterBlock",
    "StackedEnvironment",
    "Starts",
    "downturn_path",
    "draw_accounts",
    "draw_block",
    "draw_key",
    "draw_many",
    "draw_starts",
    "event_accounts",
    "event_bits",
    "event_normal",
    "event_starts",
    "event_uniform",
    "make_accounts",
    "make_starts",
    "new_account",
    "shock_uniforms",
]

#: Quarters per block of the Mesa face's variates (it computes ceil(T / BLOCK) blocks).
BLOCK = 40


@dataclass(frozen=True)
class Accounts:
    """Attributes of accounts (arrays of equal shape; money in k€ per year).

    Attributes:
        wallet: annual category spend W (k€/yr), lognormal around the market's
            median at the quarter it enters (:func:`kamsim.model.growth.
            market_median`): ``W = median * exp(wallet_sigma * z)``.
        growth: its expected annual log growth, ``growth_mean + growth_speed *
            ln(P / W)``.
        willing: True if the account is willing to move beyond tactical with any
            supplier (partnership orientation).
        sensitivity: price sensitivity, uniform on [min, max].
        tolerance: dependency tolerance, the largest share of wallet the account
            gives one supplier below the strategic stage, uniform on [min, max].
        potential: the wallet its plans lead to (k€/yr), drawn given its wallet
            (:func:`kamsim.model.growth.initial_potential`) from a standard normal.
        potential_class: 0 low, 1 medium, 2 high (by the potential thresholds).
        scale: effort scale S (k€ per quarter), the investment intensity the account
            needs (:func:`kamsim.model.growth.effort_scale`).
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
    z_potential: np.ndarray,
    u_willing: np.ndarray,
    u_sensitivity: np.ndarray,
    u_tolerance: np.ndarray,
    p: ModelParams,
    quarter_index: Any = 0,
) -> Accounts:
    """Turn standard variates into account attributes (see :class:`Accounts`).

    Accounts entering at quarter index ``quarter_index`` (0 for the initial market;
    broadcast with the variates). Each account is :func:`new_account` of its five
    variates (one implementation for both faces and the engine's arrivals).
    """
    shape = np.shape(z_wallet)
    zw, zp, uw, us, ut = (
        np.ascontiguousarray(np.broadcast_to(v, shape), dtype=np.float64).reshape(-1)
        for v in (z_wallet, z_potential, u_willing, u_sensitivity, u_tolerance)
    )
    flat_i = np.ascontiguousarray(np.broadcast_to(quarter_index, shape), dtype=np.int64)
    values = _account_values(zw, zp, uw, us, ut, flat_i.reshape(-1), compiled_params(p))
    wallet, growth, potential, scale, sensitivity, tolerance = (
        v.reshape(shape) for v in values[:6]
    )
    willing, potential_class = values[6].reshape(shape), values[7].reshape(shape)
    return Accounts(
        wallet, growth, willing, sensitivity, tolerance, potential, potential_class, scale
    )


@rule
def new_account(
    z_wallet: float,
    z_potential: float,
    u_willing: float,
    u_sensitivity: float,
    u_tolerance: float,
    i: int,
    p: CompiledParams,
) -> tuple[float, float, float, bool, float, float]:
    """An account entering the market at quarter index i, from its five variates.

    Returns (wallet, potential, effort scale, willing, sensitivity, tolerance):
    ``W = market_median(i) exp(wallet_sigma z_wallet)`` (k€/yr), the potential given
    the wallet (:func:`kamsim.model.growth.initial_potential` of ``z_potential``),
    ``S`` (:func:`kamsim.model.growth.effort_scale`), willing when ``u_willing <
    share_willing``, price sensitivity and dependency tolerance uniform on their
    [min, max] (see :class:`Accounts`).
    """
    wallet = growth.market_median(i, p) * math.exp(p.wallet_sigma * z_wallet)
    potential = growth.initial_potential(wallet, z_potential, i, p)
    spread = p.price_sensitivity_max - p.price_sensitivity_min
    sensitivity = p.price_sensitivity_min + spread * u_sensitivity
    tolerance = p.tolerance_min + (p.tolerance_max - p.tolerance_min) * u_tolerance
    willing = u_willing < p.share_willing
    scale = growth.effort_scale(wallet, p)
    return wallet, potential, scale, willing, sensitivity, tolerance


@njit(cache=True, error_model="numpy")
def _account_values(
    z_wallet: np.ndarray,
    z_potential: np.ndarray,
    u_willing: np.ndarray,
    u_sensitivity: np.ndarray,
    u_tolerance: np.ndarray,
    i: np.ndarray,
    p: CompiledParams,
) -> tuple[np.ndarray, ...]:  # pragma: no cover
    """:func:`new_account` of each account (1-d arrays of its variates).

    Returns wallet, expected growth, potential, effort scale, sensitivity, tolerance,
    willing and potential class.
    """
    n = z_wallet.shape[0]
    out = np.empty((6, n))
    willing = np.empty(n, dtype=np.bool_)
    pclass = np.empty(n, dtype=np.int8)
    for x in range(n):
        w, pot, scale, will, sens, tol = new_account(
            z_wallet[x], z_potential[x], u_willing[x], u_sensitivity[x],
            u_tolerance[x], i[x], p,
        )  # fmt: skip
        out[0, x], out[2, x], out[3, x], out[4, x], out[5, x] = w, pot, scale, sens, tol
        out[1, x] = growth.expected_growth(w, pot, p)
        willing[x] = will
        pclass[x] = judgement.potential_class(pot, p)
    return out[0], out[1], out[2], out[3], out[4], out[5], willing, pclass


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
        bias_willingness: standard normal of the supplier's persistent misjudgement
            of the account's willingness to partner.
    """

    trust: np.ndarray
    bias_potential: np.ndarray
    bias_trust: np.ndarray
    bias_willingness: np.ndarray

    def as_tuple(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(trust, bias_potential, bias_trust, bias_willingness)."""
        return self.trust, self.bias_potential, self.bias_trust, self.bias_willingness


def make_starts(
    u_trust: np.ndarray,
    z_potential: np.ndarray,
    z_trust: np.ndarray,
    z_willingness: np.ndarray,
    p: ModelParams,
) -> Starts:
    """Turn standard variates into the starting values of relationships.

    The initial trust is :func:`kamsim.model.rules.initial_trust` of each uniform.
    """
    u = np.asarray(u_trust, dtype=np.float64)
    trust = _initial_trusts(u.reshape(-1), compiled_params(p)).reshape(u.shape)
    return Starts(trust, z_potential, z_trust, z_willingness)


@njit(cache=True, error_model="numpy")
def _initial_trusts(u: np.ndarray, p: CompiledParams) -> np.ndarray:  # pragma: no cover
    """:func:`kamsim.model.rules.initial_trust` of every uniform of ``u`` (1-d)."""
    out = np.empty(u.shape[0])
    for x in range(u.shape[0]):
        out[x] = rules.initial_trust(u[x], p)
    return out


def draw_accounts(rng: np.random.Generator, n: int, p: ModelParams) -> Accounts:
    """Draw the ``n`` initial accounts of one replication (step 1 of the draw order)."""
    z = rng.standard_normal((2, n))
    u = rng.random((3, n))
    return make_accounts(z[0], z[1], u[0], u[1], u[2], p)


def draw_starts(rng: np.random.Generator, m: int, n: int, p: ModelParams) -> Starts:
    """Draw the initial relationships of one replication (step 2 of the draw order)."""
    u = rng.random((1, m, n))
    z = rng.standard_normal((3, m, n))
    return make_starts(u[0], z[0], z[1], z[2], p)


@dataclass(frozen=True)
class QuarterBlock:
    """The market's shocks for :data:`BLOCK` quarters of one replication (the Mesa face).

    Everything else random in a quarter (service failures, offers, estimates' noise,
    disappearances, starts, newcomers, the wallets' growth) is computed by the
    compiled rules from the replication's key where it is used, on both faces.

    Attributes:
        downturn: 1.0 in quarters with a correlated demand downturn, else 0.0 (see
            :func:`downturn_path`). (B,)
        disruption: True where a supplier suffers a disruption. (B, M)
    """

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


def draw_key(rng: np.random.Generator) -> np.uint64:
    """Draw a replication's event key (step 3 of the draw order)."""
    return np.uint64(rng.integers(0, 2**64, dtype=np.uint64))


def event_bits(key: object, i: object, k: object, j: object, purpose: int) -> np.ndarray:
    """64 random bits at a counter, in NumPy: :func:`kamsim.model.variates.random_bits`.

    ``counter = i * 2**36 + k * 2**28 + j * 2**5 + purpose`` (quarter index ``i``,
    supplier ``k`` < 256, slot ``j`` < 2**23, ``purpose`` < 32) is the position in
    the key's SplitMix64 sequence: ``z = key + (counter + 1) * gamma`` then the
    SplitMix64 finalizer. Integer arithmetic modulo 2**64 only, so the bits are the
    same on every machine, for any array shape (arguments broadcast) and as the
    compiled function's.
    """
    with np.errstate(over="ignore"):
        counter = (
            (np.asarray(i, dtype=np.uint64) << np.uint64(36))
            | (np.asarray(k, dtype=np.uint64) << np.uint64(28))
            | (np.asarray(j, dtype=np.uint64) << np.uint64(5))
            | np.uint64(purpose)
        )
        z = np.asarray(key, dtype=np.uint64) + (counter + np.uint64(1)) * GAMMA
        z = (z ^ (z >> np.uint64(30))) * MIX1
        z = (z ^ (z >> np.uint64(27))) * MIX2
        return np.asarray(z ^ (z >> np.uint64(31)))


def _flat(
    key: object, i: object, k: object, j: object
) -> tuple[tuple[np.ndarray, ...], tuple[int, ...]]:
    """The arguments broadcast together, as fresh 1-d arrays, and their shape."""
    args = (
        np.asarray(key, dtype=np.uint64),
        np.asarray(i, dtype=np.int64),
        np.asarray(k, dtype=np.int64),
        np.asarray(j, dtype=np.int64),
    )
    shape = np.broadcast_shapes(*(a.shape for a in args))
    flat = tuple(  # fresh and writeable (one compiled signature)
        np.array(a).ravel() if a.shape == shape else np.broadcast_to(a, shape).ravel()
        for a in args
    )
    return flat, shape


def _apply(
    compiled: Any, flat: tuple[np.ndarray, ...], shape: tuple[int, ...], purpose: int
) -> np.ndarray:
    """A compiled variate function of :func:`_flat`'s arrays, in their shape."""
    return np.asarray(compiled(*flat, purpose)).reshape(shape)


def _at(
    compiled: Any, key: object, i: object, k: object, j: object, purpose: int
) -> np.ndarray:
    """Apply a compiled variate function to broadcast arguments, in their shape."""
    return _apply(compiled, *_flat(key, i, k, j), purpose)


def event_uniform(key: object, i: object, k: object, j: object, purpose: int) -> np.ndarray:
    """Uniform on [0, 1) at a counter: the top 53 bits of :func:`event_bits` x 2**-53.

    Computed by :func:`kamsim.model.variates.uniforms_at` (the same bits).
    """
    return _at(vr.uniforms_at, key, i, k, j, purpose)


def event_normal(key: object, i: object, k: object, j: object, purpose: int) -> np.ndarray:
    """Standard normal at a counter: :func:`kamsim.model.variates.normal` (the ziggurat)."""
    return _at(vr.normals_at, key, i, k, j, purpose)


def event_starts(key: object, i: object, k: object, j: object, p: ModelParams) -> Starts:
    """Starting values of relationships that start in quarter index ``i``.

    Suppliers ``k`` with slots ``j``; the arguments broadcast.
    """
    return make_starts(
        event_uniform(key, i, k, j, START_TRUST),
        event_normal(key, i, k, j, START_BIAS_P),
        event_normal(key, i, k, j, START_BIAS_T),
        event_normal(key, i, k, j, START_BIAS_W),
        p,
    )


def event_accounts(key: object, i: object, j: object, p: ModelParams) -> Accounts:
    """The newcomer accounts that take slots ``j`` in quarter index ``i``.

    Their variates are :func:`event_normal` and :func:`event_uniform` of the five
    purposes below (the arguments broadcast once for all five).
    """
    args = _flat(key, i, 0, j)
    return make_accounts(
        _apply(vr.normals_at, *args, NEW_WALLET),
        _apply(vr.normals_at, *args, NEW_GROWTH),
        _apply(vr.uniforms_at, *args, NEW_WILLING),
        _apply(vr.uniforms_at, *args, NEW_SENSITIVITY),
        _apply(vr.uniforms_at, *args, NEW_TOLERANCE),
        p,
        quarter_index=args[0][1].reshape(args[1]),
    )


def shock_uniforms(key: object, i: object, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The market's uniforms of quarters ``i``: downturn (...), disruption (..., M).

    ``key`` and ``i`` broadcast (e.g. keys (R, 1) and quarters (T,) give (R, T)).
    """
    k = np.arange(m)
    u_down = event_uniform(key, i, 0, 0, DOWNTURN)
    u_disrupt = event_uniform(
        np.asarray(key)[..., None], np.asarray(i)[..., None], k, 0, DISRUPTION
    )
    return u_down, u_disrupt


def draw_block(
    key: np.uint64,
    m: int,
    p: ModelParams,
    previous_downturn: bool = False,
    first_quarter: int = 0,
) -> QuarterBlock:
    """The market's shocks of the :data:`BLOCK` quarters from index ``first_quarter`` on.

    Computed from the replication's ``key`` (:func:`shock_uniforms`);
    ``previous_downturn`` is whether the quarter before the block was in a downturn;
    ``m`` suppliers.
    """
    i = first_quarter + np.arange(BLOCK)
    u_down, u_disrupt = shock_uniforms(key, i, m)
    return QuarterBlock(
        downturn=downturn_path(u_down, previous_downturn, p),
        disruption=u_disrupt < p.disruption_probability,
    )


@dataclass(frozen=True)
class StackedEnvironment:
    """The environments of R replications stacked for the batched engine.

    ``initial`` (accounts, (R, n)) and ``initial_starts`` (relationships, (R, M, n))
    describe the market before the first quarter; ``keys`` (R,) are the replications'
    keys, from which the compiled rules compute the quarterly variates of every
    relationship and account and those of the starts and newcomers that happen
    (:mod:`kamsim.model.variates`); ``downturn`` (R, T) and ``disruption`` (R, T, M)
    are the market's shocks.
    """

    initial: Accounts
    initial_starts: Starts
    downturn: np.ndarray
    disruption: np.ndarray
    keys: np.ndarray
    p: ModelParams


def draw_many(
    seeds: list[int], m: int, n: int, quarters: int, p: ModelParams
) -> StackedEnvironment:
    """Draw the environments of several replications at once, one generator each.

    Each replication's generator ``numpy.random.default_rng(seed)`` produces exactly
    the stream of :func:`draw_accounts`, :func:`draw_starts` and :func:`draw_key`
    (written straight into stacked arrays with ``out=``), so replication r sees the
    same numbers as a :class:`kamsim.KAMModel` with ``rng=seeds[r]``. The transforms
    of the initial market and the shocks of every quarter are computed for all
    replications at once.
    """
    r_count = len(seeds)
    za0 = np.empty((r_count, 2, n))
    ua0 = np.empty((r_count, 3, n))
    ur0 = np.empty((r_count, 1, m, n))
    zr0 = np.empty((r_count, 3, m, n))
    keys = np.empty(r_count, dtype=np.uint64)
    for r, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        rng.standard_normal(out=za0[r])
        rng.random(out=ua0[r])
        rng.random(out=ur0[r])
        rng.standard_normal(out=zr0[r])
        keys[r] = draw_key(rng)
    u_down, u_disrupt = shock_uniforms(keys[:, None], np.arange(quarters), m)
    return StackedEnvironment(
        initial=make_accounts(za0[:, 0], za0[:, 1], ua0[:, 0], ua0[:, 1], ua0[:, 2], p),
        initial_starts=make_starts(ur0[:, 0], zr0[:, 0], zr0[:, 1], zr0[:, 2], p),
        downturn=downturn_path(u_down, False, p),
        disruption=u_disrupt < p.disruption_probability,
        keys=keys,
        p=p,
    )
