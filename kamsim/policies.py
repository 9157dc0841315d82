"""Investment policies: how the supplier splits its KAM budget across accounts.

A policy is any callable ``policy(obs, budget) -> allocation``:

* ``obs`` is an :class:`Observation`: what the supplier can see, as arrays of shape
  (R, n) for R replications (the Mesa face passes R = 1) and n account slots;
* ``budget`` is the KAM budget for the quarter (k€, a float);
* the result is an array of shape (R, n) of non-negative k€, zero for vacant slots,
  whose row sums do not exceed ``budget``.

Policies see only observable quantities (stage, revenue, tenure, the supplier's own
investment stock and *noisy* estimates of potential and trust), never the hidden truth
(willingness, true trust, price sensitivity). Built-in policies are registered by name
in :data:`POLICIES`; :func:`resolve_policy` accepts a name, a ``"module:function"``
string or a callable.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kamsim.params import ParameterError, suggest

__all__ = [
    "POLICIES",
    "Observation",
    "Policy",
    "enforce_budget",
    "no_investment",
    "policy_name",
    "resolve_policy",
    "uniform",
]


@dataclass(frozen=True)
class Observation:
    """What the supplier observes at the start of a quarter (arrays of shape (R, n)).

    Attributes:
        quarter: the quarter being planned (1, 2, ...).
        active: True where the slot holds a live relationship.
        stage: 1-4 for live relationships, 0 for vacant slots.
        tenure: quarters the relationship has spent in its stage.
        revenue: last quarter's revenue from the account (k€).
        potential: noisy estimate of the account's three-year potential (k€/yr).
        potential_class: estimated potential class: 0 low, 1 medium, 2 high.
        trust: noisy reading of trust in [0, 1].
        stock: the supplier's relationship-specific investment stock (k€).
    """

    quarter: int
    active: np.ndarray
    stage: np.ndarray
    tenure: np.ndarray
    revenue: np.ndarray
    potential: np.ndarray
    potential_class: np.ndarray
    trust: np.ndarray
    stock: np.ndarray

    @property
    def n_active(self) -> np.ndarray:
        """Number of live relationships per replication, shape (R, 1)."""
        return np.sum(self.active, axis=-1, keepdims=True)


class Policy(Protocol):
    """Signature of an investment policy."""

    def __call__(self, obs: Observation, budget: float) -> np.ndarray: ...


def no_investment(obs: Observation, budget: float) -> np.ndarray:
    """Invest nothing: relationships are left to themselves (a baseline)."""
    return np.zeros(obs.active.shape)


no_investment.summary = "invest nothing (baseline: relationships left to themselves)"  # type: ignore[attr-defined]


def uniform(obs: Observation, budget: float) -> np.ndarray:
    """Split the budget equally across live relationships: ``a_i = B / n_active``."""
    n = obs.n_active
    share = np.where(n > 0, budget / np.maximum(n, 1), 0.0)
    return np.where(obs.active, share, 0.0)


uniform.summary = "split the budget equally across all live accounts"  # type: ignore[attr-defined]


#: Built-in policies by name.
POLICIES: dict[str, Callable[[Observation, float], np.ndarray]] = {
    "none": no_investment,
    "uniform": uniform,
}


def policy_name(policy: Callable[..., np.ndarray] | str) -> str:
    """Readable name of a policy: its registry name, or ``module:qualname``."""
    if isinstance(policy, str):
        return policy
    for name, fn in POLICIES.items():
        if fn is policy:
            return name
    qual = getattr(policy, "__qualname__", None) or type(policy).__qualname__
    mod = getattr(policy, "__module__", None) or type(policy).__module__
    return f"{mod}:{qual}"


def resolve_policy(
    policy: str | Callable[[Observation, float], np.ndarray],
) -> Callable[[Observation, float], np.ndarray]:
    """Return the callable for a policy name, a ``"module:function"`` string or a callable.

    Raises:
        ParameterError: for an unknown name (naming the closest built-in) or a
            ``module:function`` that cannot be imported.
    """
    if callable(policy):
        return policy
    if not isinstance(policy, str):
        raise ParameterError(
            f"'policy' must be a built-in name, 'module:function' or a callable: "
            f"{policy!r}"
        )
    if policy in POLICIES:
        return POLICIES[policy]
    if ":" in policy:
        mod_name, _, attr = policy.partition(":")
        try:
            fn = getattr(importlib.import_module(mod_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ParameterError(
                f"'policy' {policy!r} could not be loaded: {exc}"
            ) from None
        if not callable(fn):
            raise ParameterError(f"'policy' {policy!r} is not callable")
        return fn  # type: ignore[no-any-return]
    raise ParameterError(
        f"'policy' must be one of {sorted(POLICIES)} or 'module:function': "
        f"{policy!r}{suggest(policy, list(POLICIES))}"
    )


def enforce_budget(
    allocation: np.ndarray, obs: Observation, budget: float, name: str
) -> np.ndarray:
    """Check a policy's allocation and keep it within the budget.

    Vacant slots get nothing. If a row's total exceeds the budget it is scaled down
    proportionally (``a * budget / total``), and any rounding excess is taken from
    the largest entry, so the total never exceeds the budget.

    Raises:
        ValueError: if the allocation has the wrong shape or contains negative or
            non-finite values (a bug in the policy, named in the message).
    """
    a = np.asarray(allocation, dtype=np.float64)
    if a.shape != obs.active.shape:
        try:
            a = np.broadcast_to(a, obs.active.shape).copy()
        except ValueError:
            raise ValueError(
                f"policy '{name}' returned shape {a.shape}, expected "
                f"{obs.active.shape} (replications, accounts)"
            ) from None
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(
            f"policy '{name}' returned a negative or non-finite allocation; "
            "allocations must be >= 0 k€"
        )
    a = np.where(obs.active, a, 0.0)
    total = np.sum(a, axis=-1, keepdims=True)
    over = total > budget
    if np.any(over):
        a = np.where(over, a * (budget / np.where(over, total, 1.0)), a)
        total = np.sum(a, axis=-1, keepdims=True)
        excess = np.maximum(total - budget, 0.0)
        if np.any(excess > 0):
            j = np.argmax(a, axis=-1)[..., None]
            top = np.take_along_axis(a, j, axis=-1)
            np.put_along_axis(a, j, np.maximum(top - excess, 0.0), axis=-1)
    return a


def observe(
    *,
    quarter: int,
    active: np.ndarray,
    stage: np.ndarray,
    tenure: np.ndarray,
    last_revenue: np.ndarray,
    potential: np.ndarray,
    trust: np.ndarray,
    stock: np.ndarray,
    z_potential: np.ndarray,
    z_trust: np.ndarray,
    potential_noise: float,
    trust_noise: float,
    potential_low: float,
    potential_high: float,
) -> Observation:
    """Build the supplier's :class:`Observation` from the true state (arrays (R, n)).

    The supplier sees stage, tenure, revenue and its own investment stock exactly, but
    potential and trust only through noise:
    ``potential_est = potential * max(0, 1 + potential_noise * z)`` and
    ``trust_est = clip(trust + trust_noise * z', 0, 1)`` with z, z' standard normal.
    Vacant slots show zeros.
    """
    pot = potential * np.maximum(0.0, 1.0 + potential_noise * z_potential)
    tr = np.minimum(1.0, np.maximum(0.0, trust + trust_noise * z_trust))
    pclass = (pot >= potential_low).astype(np.int8) + (pot >= potential_high).astype(
        np.int8
    )
    return Observation(
        quarter=quarter,
        active=active,
        stage=np.where(active, stage, 0),
        tenure=np.where(active, tenure, 0),
        revenue=np.where(active, last_revenue, 0.0),
        potential=np.where(active, pot, 0.0),
        potential_class=np.where(active, pclass, 0).astype(np.int8),
        trust=np.where(active, tr, 0.0),
        stock=np.where(active, stock, 0.0),
    )
