"""Counter-based random variates: the quarterly random numbers of every relationship.

Every quarter each relationship needs a service-failure uniform, an offer uniform and
two standard normals (the transient noise of its supplier's estimates of potential and
of trust), and each account a disappearance uniform and two uniforms of its wallet's
growth (a change of plans, a transient shock; a normal for the new potential when the
plans change). Rather than drawing them in bulk
from a sequential generator, each is a pure function of the replication's *key* (drawn
once from its seeded NumPy generator) and a *counter* naming the variate:

    counter = i * 2**36 + k * 2**28 + j * 2**5 + purpose   (+ attempt * 2**56)

with quarter index ``i`` (< 2**20), supplier ``k`` (< 256), slot ``j`` (< 2**23) and a
``purpose`` code (< 32, the constants below). The 64 random bits at a counter are the
SplitMix64 output at that position of the key's sequence (Steele, Lea & Flood 2014):
``z = key + (counter + 1) * gamma`` followed by SplitMix64's finalizer. Uniforms on
[0, 1) take the top 53 bits times 2**-53. Standard normals use the ziggurat method of
Marsaglia & Tsang (2000) with 256 layers: one 64-bit word gives the layer (8 bits), the
sign (1 bit) and a 52-bit abscissa, accepted at once in about 99 % of cases; the rare
wedge and tail cases take further words at ``attempt`` = 1, 2, ... (the tail by
Marsaglia's 1964 method).

The same primitives give the variates of *events* (a relationship starting, a newcomer
account; :func:`uniforms_at`, :func:`normals_at`), computed only where they happen.

Why counter-based: a variate depends only on the seed and on *which* relationship,
quarter and purpose it serves, never on how many numbers were used before it. Both
faces compute them with the same compiled functions below, inside the compiled rules
(:mod:`kamsim.model.rules`) that both call, only for the relationships and accounts
that exist — so they agree to the last bit, and common random numbers hold by
construction: what one supplier does never shifts another's numbers. The integer
arithmetic is exact modulo 2**64 on every machine; the ziggurat's rare wedge and tail
cases (about 1 % of normals) call the C library's ``exp`` and ``log1p``.

References:
    Steele, G. L., Lea, D., & Flood, C. H. (2014). Fast splittable pseudorandom number
    generators. OOPSLA 2014, 453-472. https://doi.org/10.1145/2660193.2660195
    Marsaglia, G., & Tsang, W. W. (2000). The ziggurat method for generating random
    variables. Journal of Statistical Software, 5(8), 1-7.
    https://doi.org/10.18637/jss.v005.i08
    Marsaglia, G. (1964). Generating a variable from the tail of the normal
    distribution. Technometrics, 6(1), 101-102.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from kamsim.model import cache as _cache  # noqa: F401  (kamsim-wide cache stamp)

__all__ = [
    "PURPOSES",
    "counter",
    "fill_block",
    "normal",
    "normals_at",
    "random_bits",
    "uniform",
    "uniforms_at",
]

# --- purposes: the low four bits of a counter -----------------------------------------
#: events (computed in NumPy by :mod:`kamsim.model.environment`, only where they happen)
START_TRUST, START_BIAS_P, START_BIAS_T = 0, 1, 2
NEW_WALLET, NEW_GROWTH, NEW_WILLING, NEW_SENSITIVITY, NEW_TOLERANCE = 3, 4, 5, 6, 7
#: every quarter: per relationship (supplier k, slot j), per account (slot j), per
#: supplier (k) and per market
FAILURE, OFFER, NOISE_POTENTIAL, NOISE_TRUST, VANISH, DOWNTURN, DISRUPTION = range(8, 15)
#: model 3: a relationship's misjudgement of willingness (event), an account's change
#: of plans and transient growth shock (every quarter), its new potential (event)
START_BIAS_W, GROWTH_REGIME, GROWTH_SHOCK, NEW_PLANS = 15, 16, 17, 18
#: a portfolio's priors (events at quarter index 0, supplier 0, per slot;
#: :mod:`kamsim.portfolio.start`): the focal relationship's trust, joint investment
#: and tenure, the account's true potential and willingness
PRIOR_TRUST, PRIOR_JOINT, PRIOR_TENURE, PRIOR_POTENTIAL, PRIOR_WILLING = range(19, 24)
PURPOSES = {
    "start_trust": START_TRUST,
    "start_bias_potential": START_BIAS_P,
    "start_bias_trust": START_BIAS_T,
    "new_wallet": NEW_WALLET,
    "new_growth": NEW_GROWTH,
    "new_willing": NEW_WILLING,
    "new_sensitivity": NEW_SENSITIVITY,
    "new_tolerance": NEW_TOLERANCE,
    "failure": FAILURE,
    "offer": OFFER,
    "noise_potential": NOISE_POTENTIAL,
    "noise_trust": NOISE_TRUST,
    "vanish": VANISH,
    "downturn": DOWNTURN,
    "disruption": DISRUPTION,
    "start_bias_willingness": START_BIAS_W,
    "growth_regime": GROWTH_REGIME,
    "growth_shock": GROWTH_SHOCK,
    "new_plans": NEW_PLANS,
    "prior_trust": PRIOR_TRUST,
    "prior_joint": PRIOR_JOINT,
    "prior_tenure": PRIOR_TENURE,
    "prior_potential": PRIOR_POTENTIAL,
    "prior_willing": PRIOR_WILLING,
}

GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment (golden ratio)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
_ONE = np.uint64(1)
_S5, _S28, _S36, _S56 = np.uint64(5), np.uint64(28), np.uint64(36), np.uint64(56)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_S8, _S12, _MASK8 = np.uint64(8), np.uint64(12), np.uint64(0xFF)
_TWO_M53 = 2.0**-53


# --- the ziggurat's tables (Marsaglia & Tsang 2000, 256 layers) ------------------------


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Layer edges of the 256-layer ziggurat of the standard normal density.

    With ``f(x) = exp(-x^2 / 2)``, ``r = 3.6541528853610088`` (the base layer's
    right edge) and ``v = 0.00492867323399`` (every layer's area, Marsaglia & Tsang
    2000): ``x_0 = v / f(r)``, ``x_1 = r``, ``x_{i+1} = sqrt(-2 ln(v / x_i + f(x_i)))``,
    ``x_256 = 0``. Layer i spans ``[0, x_i] x [f(x_i), f(x_{i+1})]`` (layer 0:
    ``[0, x_0] x [0, f(r)]``, its part beyond r standing for the tail). Returns
    ``k_i = floor(2**52 x_{i+1} / x_i)`` (accept at once below it), ``w_i = x_i /
    2**52``, ``f_i = f(x_i)`` (with ``f_256 = 1``) and r. Computed with Python's
    ``math`` functions at import.
    """
    n, r, v = 256, 3.6541528853610088, 0.00492867323399
    x = [0.0] * (n + 1)
    x[0] = v / math.exp(-0.5 * r * r)
    x[1] = r
    for i in range(1, n - 1):
        x[i + 1] = math.sqrt(-2.0 * math.log(v / x[i] + math.exp(-0.5 * x[i] * x[i])))
    x[n] = 0.0
    k = np.array([math.floor(2.0**52 * x[i + 1] / x[i]) for i in range(n)], dtype=np.uint64)
    w = np.array([x[i] / 2.0**52 for i in range(n)])
    f = np.array([math.exp(-0.5 * x[i] * x[i]) for i in range(n + 1)])
    return k, w, f, r


_ZK, _ZW, _ZF, _ZR = _ziggurat_tables()


# --- compiled primitives --------------------------------------------------------------


@njit(cache=True, inline="always")
def counter(i: int, k: int, j: int, purpose: int) -> np.uint64:  # pragma: no cover
    """The counter of a variate: quarter index i, supplier k, slot j, purpose."""
    return (
        (np.uint64(i) << _S36)
        | (np.uint64(k) << _S28)
        | (np.uint64(j) << _S5)
        | np.uint64(purpose)
    )


@njit(cache=True, inline="always")
def random_bits(key: np.uint64, c: np.uint64) -> np.uint64:  # pragma: no cover
    """SplitMix64's 64-bit output at position ``c`` of the sequence of ``key``."""
    z = key + (c + _ONE) * GAMMA
    z = (z ^ (z >> _S30)) * MIX1
    z = (z ^ (z >> _S27)) * MIX2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def uniform(key: np.uint64, c: np.uint64) -> float:  # pragma: no cover
    """Uniform on [0, 1): the top 53 bits of :func:`random_bits` times 2**-53."""
    return float(random_bits(key, c) >> _S11) * _TWO_M53


@njit(cache=True)
def _normal_slow(
    key: np.uint64, c: np.uint64, layer: int, x: float, negative: bool
) -> float:  # pragma: no cover - compiled
    """The ziggurat's rare cases: the wedge of a layer, or the tail beyond r."""
    attempt = np.uint64(1)
    while True:
        if layer == 0:  # tail: Marsaglia (1964)
            while True:
                u1 = uniform(key, c | (attempt << _S56))
                u2 = uniform(key, c | ((attempt + _ONE) << _S56))
                attempt += np.uint64(2)
                xx = -math.log1p(-u1) / _ZR
                yy = -math.log1p(-u2)
                if yy + yy > xx * xx:
                    return -(_ZR + xx) if negative else _ZR + xx
        u = uniform(key, c | (attempt << _S56))
        attempt += _ONE
        top, bottom = _ZF[layer + 1], _ZF[layer]
        if bottom + u * (top - bottom) < math.exp(-0.5 * x * x):
            return -x if negative else x
        # rejected: a fresh word, as the fast path
        bits = random_bits(key, c | (attempt << _S56))
        attempt += _ONE
        layer = int(bits & _MASK8)
        negative = ((bits >> _S8) & _ONE) != 0
        mantissa = bits >> _S12
        x = float(mantissa) * _ZW[layer]
        if mantissa < _ZK[layer]:
            return -x if negative else x


@njit(cache=True, inline="always")
def normal(key: np.uint64, c: np.uint64) -> float:  # pragma: no cover - compiled
    """Standard normal at counter ``c`` by the 256-layer ziggurat (see the module)."""
    bits = random_bits(key, c)
    layer = int(bits & _MASK8)
    negative = ((bits >> _S8) & _ONE) != 0
    mantissa = bits >> _S12
    x = float(mantissa) * _ZW[layer]
    if mantissa < _ZK[layer]:
        return -x if negative else x
    return _normal_slow(key, c, layer, x, negative)


@njit(cache=True)
def fill_block(  # pragma: no cover - compiled
    key: np.uint64,
    first: int,
    u_failure: np.ndarray,
    u_offer: np.ndarray,
    z_potential: np.ndarray,
    z_trust: np.ndarray,
    u_vanish: np.ndarray,
) -> None:
    """The quarterly variates of quarters ``first, first + 1, ...`` of one replication.

    ``u_failure``, ``u_offer``, ``z_potential``, ``z_trust`` (B, M, n) and
    ``u_vanish`` (B, n) are filled for B quarters: every quarterly variate the rules
    can use, all at once (the benchmark's RNG floor and the tests; both faces compute
    the same values inside the rules, where they are used).
    """
    b_count, m, n = u_failure.shape
    for b in range(b_count):
        i = first + b
        for k in range(m):
            for j in range(n):
                u_failure[b, k, j] = uniform(key, counter(i, k, j, FAILURE))
                u_offer[b, k, j] = uniform(key, counter(i, k, j, OFFER))
                z_potential[b, k, j] = normal(key, counter(i, k, j, NOISE_POTENTIAL))
                z_trust[b, k, j] = normal(key, counter(i, k, j, NOISE_TRUST))
        for j in range(n):
            u_vanish[b, j] = uniform(key, counter(i, 0, j, VANISH))


@njit(cache=True)
def uniforms_at(  # pragma: no cover - compiled
    keys: np.ndarray, i: np.ndarray, k: np.ndarray, j: np.ndarray, purpose: int
) -> np.ndarray:
    """:func:`uniform` of ``keys[x]`` at ``counter(i[x], k[x], j[x], purpose)`` (1-d)."""
    out = np.empty(keys.shape[0])
    for x in range(keys.shape[0]):
        out[x] = uniform(keys[x], counter(i[x], k[x], j[x], purpose))
    return out


@njit(cache=True)
def normals_at(  # pragma: no cover - compiled
    keys: np.ndarray, i: np.ndarray, k: np.ndarray, j: np.ndarray, purpose: int
) -> np.ndarray:
    """:func:`normal` of ``keys[x]`` at ``counter(i[x], k[x], j[x], purpose)`` (1-d)."""
    out = np.empty(keys.shape[0])
    for x in range(keys.shape[0]):
        out[x] = normal(keys[x], counter(i[x], k[x], j[x], purpose))
    return out
