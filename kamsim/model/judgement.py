"""What a supplier believes about an account (step 1 of the process overview).

Its estimates of the account's potential, trust and willingness to partner.

Every estimate is the truth seen through a **persistent misjudgement** drawn when the
relationship starts (a standard normal per relationship) that shrinks as the
relationship deepens — ``clarity[stage]`` is the share of it left in the stage
(Ford 1980: distance and uncertainty fall as a relationship develops; the seeds'
"forecast horizon" grows with the stage) — plus, for potential and trust, transient
noise redrawn each quarter. A misjudged account stays misjudged until the
relationship deepens.

The focal supplier's judgement of potential may differ from its rivals'
(``focal_potential_bias``, ``focal_potential_noise``; the market's values when
``None``), so the value of *its own* account analysis can be measured with the
rivals' judgement unchanged.

Partnership orientation (whether the account is willing to move beyond tactical) is
learned from evidence ``x = ±1 + willingness_bias · c · b`` (+1 willing, −1 not; b
the relationship's misjudgement; ``c = clarity[stage] / sqrt(1 + years /
willingness_learning_years)``, so it sharpens with the stage and with the years the
relationship has lasted, as the average of repeated observations does). The estimate
is the posterior probability that the account is willing given x and the base rate
``share_willing`` (Bayes' rule with Gaussian evidence):

    logit(est) = logit(share_willing) + 2 x / (willingness_bias c)^2

References:
    Ford, D. (1980). The development of buyer-seller relationships in industrial
    markets. European Journal of Marketing 14(5/6), 339-353.
    Millman, T., & Wilson, K. (1995). From key account selling to key account
    management. Journal of Marketing Practice 1(1), 9-21.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from kamsim.model.cache import rule
from kamsim.model.state import CompiledParams

__all__ = [
    "estimate_potential",
    "estimate_willingness",
    "persistent_misjudgement",
    "potential_bias_of",
    "potential_class",
    "potential_classes",
    "potential_noise_of",
    "read_trust",
    "willingness_spread",
]


@rule
def potential_bias_of(k: int, p: CompiledParams) -> float:
    """The sd of supplier k's persistent misjudgement of potential (focal: k = 0)."""
    return p.focal_potential_bias if k == 0 else p.potential_bias


@rule
def potential_noise_of(k: int, p: CompiledParams) -> float:
    """The sd of supplier k's transient noise of potential estimates (focal: k = 0)."""
    return p.focal_potential_noise if k == 0 else p.potential_noise


@rule
def persistent_misjudgement(
    bias: float, clarity: float, k: int, p: CompiledParams
) -> float:
    """The factor supplier k's persistent misjudgement puts on its estimate of potential.

    ``exp(sd_k * c * b)`` with b the relationship's misjudgement (a standard normal
    drawn when it started), ``sd_k`` the supplier's :func:`potential_bias_of` and
    ``c = clarity[stage]`` the share of misjudgement left in the stage. It changes
    only when the relationship starts or changes stage, so it is kept in the state
    (``MISJUDGED``) and renewed then.
    """
    return math.exp(potential_bias_of(k, p) * clarity * bias)


@rule
def estimate_potential(
    potential: float,
    persistent: float,
    z: float,
    clarity: float,
    k: int,
    p: CompiledParams,
) -> float:
    """Supplier k's estimate of an account's potential (k€/yr).

    ``est = P * exp(sd_k * c * b) * max(0, 1 + noise_k * c * z)`` with
    ``persistent = exp(sd_k * c * b)`` (:func:`persistent_misjudgement`), z this
    quarter's noise, ``noise_k`` the supplier's :func:`potential_noise_of` and ``c =
    clarity[stage]``.
    """
    noise = potential_noise_of(k, p)
    return potential * persistent * max(0.0, 1.0 + noise * clarity * z)


@rule
def read_trust(
    trust: float, bias: float, z: float, clarity: float, p: CompiledParams
) -> float:
    """The supplier's reading of the account's trust, clipped to [0, 1].

    ``clip(trust + c * (trust_bias * b + trust_noise * z), 0, 1)``, c the stage's
    clarity, b the persistent misreading, z this quarter's noise.
    """
    return min(1.0, max(0.0, trust + clarity * (p.trust_bias * bias + p.trust_noise * z)))


@rule
def willingness_spread(clarity: float, age: float, p: CompiledParams) -> float:
    """The sd of the evidence on willingness after ``age`` quarters (signal units).

    ``willingness_bias * clarity / sqrt(1 + age / (4 willingness_learning_years))``:
    it falls like the average of repeated observations.
    """
    return (
        p.willingness_bias
        * clarity
        / math.sqrt(1.0 + age / (4.0 * p.willingness_learning_years))
    )


@rule
def estimate_willingness(
    willing: bool, bias: float, clarity: float, age: int, p: CompiledParams
) -> float:
    """The supplier's probability that the account is willing to partner, in [0, 1].

    Evidence ``x = (1 if willing else -1) + sigma * b`` with ``sigma`` the
    :func:`willingness_spread` after ``age`` quarters (b the relationship's
    misjudgement of willingness); the estimate
    is ``1 / (1 + exp(-(logit(share_willing) + 2 x / sigma^2)))``. With sigma = 0 it
    is the truth (1 or 0); with a base rate of 0 or 1, the base rate.
    """
    rate = p.share_willing
    if rate <= 0.0 or rate >= 1.0:
        return rate
    sigma = willingness_spread(clarity, age, p)
    truth = 1.0 if willing else -1.0
    if sigma <= 0.0:
        return 1.0 if willing else 0.0
    x = truth + sigma * bias
    logit = math.log(rate / (1.0 - rate)) + 2.0 * x / (sigma * sigma)
    return 1.0 / (1.0 + math.exp(-logit))


@rule
def potential_class(potential: float, p: CompiledParams) -> int:
    """Potential class of an (estimated) potential: 0 low, 1 medium, 2 high."""
    return (1 if potential >= p.potential_low else 0) + (
        1 if potential >= p.potential_high else 0
    )


@njit(cache=True, error_model="numpy")
def potential_classes(
    potential: np.ndarray, p: CompiledParams
) -> np.ndarray:  # pragma: no cover
    """:func:`potential_class` of every entry of ``potential`` (any shape), as int8."""
    flat = potential.reshape(-1)
    out = np.empty(flat.shape[0], dtype=np.int8)
    for x in range(flat.shape[0]):
        out[x] = potential_class(flat[x], p)
    return out.reshape(potential.shape)
