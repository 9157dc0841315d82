"""What a supplier can observe of its own relationships, and who reads which estimate.

A policy sees an :class:`Observation`: stage, revenue, tenure, share of wallet, its own
investment stock and *noisy* estimates of potential and trust, never the hidden truth
(willingness, true trust, price sensitivity). A policy may declare the fields it reads
in an ``observes`` attribute (:func:`kamsim.policies.registry.estimates_read`); the
estimates it does not read are then not computed (``None`` in its observation,
:func:`without_unread`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np

from kamsim.model.params import ModelParams
from kamsim.model.rules import potential_class

__all__ = [
    "NOT_READ",
    "OBSERVATION_FIELDS",
    "Observation",
    "Policy",
    "observe",
    "without_unread",
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
        share_of_wallet: the supplier's share of the account's spend last quarter.
        potential: noisy estimate of the account's three-year potential (k€/yr);
            ``None`` for a policy that declares it does not read it
            (:func:`estimates_read`), as ``potential_class`` and ``trust``.
        potential_class: estimated potential class: 0 low, 1 medium, 2 high.
        trust: noisy reading of trust in [0, 1].
        stock: the supplier's relationship-specific investment stock (k€).
    """

    quarter: int
    active: np.ndarray
    stage: np.ndarray
    tenure: np.ndarray
    revenue: np.ndarray
    share_of_wallet: np.ndarray
    potential: np.ndarray
    potential_class: np.ndarray
    trust: np.ndarray
    stock: np.ndarray

    @property
    def n_active(self) -> np.ndarray:
        """Number of live relationships per replication, shape (R, 1)."""
        return np.sum(self.active, axis=-1, keepdims=True)


#: The fields of an :class:`Observation` (the names an ``observes`` set may hold).
OBSERVATION_FIELDS = frozenset(f.name for f in dataclasses.fields(Observation))


#: What an observation holds for an estimate its policy does not read: ``None``, typed
#: as the array it replaces (a policy that declares ``observes`` never reads it).
NOT_READ = cast(np.ndarray, None)


def without_unread(obs: Observation, reads: tuple[bool, bool]) -> Observation:
    """``obs`` with ``None`` for the estimates its policy does not read (both faces).

    ``reads`` is the policy's :func:`estimates_read`.
    """
    reads_potential, reads_trust = reads
    if reads_potential and reads_trust:
        return obs
    return dataclasses.replace(
        obs,
        potential=obs.potential if reads_potential else NOT_READ,
        potential_class=obs.potential_class if reads_potential else NOT_READ,
        trust=obs.trust if reads_trust else NOT_READ,
    )


class Policy(Protocol):
    """Signature of an investment policy."""

    def __call__(self, obs: Observation, budget: float) -> np.ndarray:  # noqa: D102
        ...


def _frozen(a: np.ndarray) -> np.ndarray:
    """``a`` made read-only: a policy cannot write to what it observes.

    Every array :func:`observe` passes here is freshly computed (``np.where`` and
    comparisons make new arrays), never a view of the model's state, so no copy is
    needed; a policy's write raises ``ValueError: assignment destination is
    read-only`` in both faces.
    """
    a.setflags(write=False)
    return a


def observe(
    *,
    quarter: int,
    stage: np.ndarray,
    tenure: np.ndarray,
    last_revenue: np.ndarray,
    share: np.ndarray,
    potential: np.ndarray,
    trust: np.ndarray,
    stock: np.ndarray,
    p: ModelParams,
) -> Observation:
    """Build one supplier's :class:`Observation` (arrays (R, n), read-only copies).

    ``potential`` and ``trust`` are the supplier's *estimates* (see
    :func:`kamsim.model.rules.estimate_potential` and
    :func:`kamsim.model.rules.read_trust`);
    stage, tenure, revenue, share of wallet and its own investment stock it sees
    exactly. Slots without a live relationship show zeros. Every array is a fresh
    read-only copy, so a policy cannot change the model's state (in either face).
    """
    active = stage > 0
    pclass = potential_class(potential, p)
    return Observation(
        quarter=quarter,
        active=_frozen(active),
        stage=_frozen(np.where(active, stage, 0)),
        tenure=_frozen(np.where(active, tenure, 0)),
        revenue=_frozen(np.where(active, last_revenue, 0.0)),
        share_of_wallet=_frozen(np.where(active, share, 0.0)),
        potential=_frozen(np.where(active, potential, 0.0)),
        potential_class=_frozen(np.where(active, pclass, 0).astype(np.int8)),
        trust=_frozen(np.where(active, trust, 0.0)),
        stock=_frozen(np.where(active, stock, 0.0)),
    )
