"""Investment policies: how a supplier splits its KAM budget across accounts.

A policy is any callable ``policy(obs, budget) -> allocation``; see
:mod:`kamsim.policies.builtin` for the contract. The modules, lowest first:

* :mod:`~kamsim.policies.observation` — what a supplier observes (:class:`Observation`);
* :mod:`~kamsim.policies.budget` — an allocation checked and kept within the budget;
* :mod:`~kamsim.policies.builtin` — the eight built-in policies;
* :mod:`~kamsim.policies.registry` — :data:`POLICIES` by name, :func:`resolve_policy`.
"""

from kamsim.policies.budget import enforce_budget
from kamsim.policies.builtin import (
    GreedyROI,
    ParetoFocus,
    Quadrant,
    StageGated,
    maintenance_proxy,
    no_investment,
    potential_weighted,
    revenue_proportional,
    uniform,
)
from kamsim.policies.observation import (
    Observation,
    PartialObservation,
    Policy,
    observation_from_arrays,
    without_unread,
)
from kamsim.policies.registry import (
    POLICIES,
    PolicyError,
    estimates_read,
    guard_policy,
    policy_name,
    resolve_policy,
)

__all__ = [
    "POLICIES",
    "GreedyROI",
    "Observation",
    "ParetoFocus",
    "PartialObservation",
    "Policy",
    "PolicyError",
    "Quadrant",
    "StageGated",
    "enforce_budget",
    "estimates_read",
    "guard_policy",
    "maintenance_proxy",
    "no_investment",
    "observation_from_arrays",
    "policy_name",
    "potential_weighted",
    "resolve_policy",
    "revenue_proportional",
    "uniform",
    "without_unread",
]
