"""What a supplier can observe of its own relationships, and who reads which estimate.

A policy sees an :class:`Observation`: stage, revenue, tenure, share of wallet, its own
investment stock and *noisy* estimates of potential, trust and willingness to partner,
never the hidden truth (true potential, willingness, trust, price sensitivity). A policy
may declare the fields it reads in an ``observes`` attribute
(:func:`kamsim.policies.registry.estimates_read`); the estimates it does not read are
then not computed (``None`` in its observation, :func:`without_unread`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np

from kamsim.model import rules
from kamsim.model.params import ParameterError


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
        potential: noisy estimate of the account's potential, the wallet its plans
            lead to (k€/yr); for a policy that declares it does not read it
            (:func:`estimates_read`) it is not computed and reading it raises a
            ParameterError naming the policy and the field, as for
            ``potential_class``, ``trust`` and ``willingness``.
        potential_class: estimated potential class: 0 low, 1 medium, 2 high.
        trust: noisy reading of trust in [0, 1].
        stock: the supplier's relationship-specific investment stock (k€).
        willingness: estimated probability in [0, 1] that the account is willing to
            partner beyond tactical (:func:`kamsim.model.judgement.
            estimate_willingness`): poor at tactical, sharper with stage and years.
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
    willingness: np.ndarray

    @property
    def n_active(self) -> np.ndarray:
        """Number of live relationships per replication, shape (R, 1)."""
        return np.sum(self.active, axis=-1, keepdims=True)


#: The fields of an :class:`Observation` (the names an ``observes`` set may hold).
OBSERVATION_FIELDS = frozenset(f.name for f in dataclasses.fields(Observation))


#: What an observation holds for an estimate its policy does not read: ``None``, typed
#: as the array it replaces (a policy that declares ``observes`` never reads it).
NOT_READ = cast(np.ndarray, None)


#: The estimates: the fields an ``observes`` declaration can leave uncomputed.
ESTIMATES = frozenset({"potential", "potential_class", "trust", "willingness"})


def observation_from_arrays(
    quarter: int, obs_f: np.ndarray, obs_i: np.ndarray
) -> Observation:
    """A supplier's :class:`Observation` from the compiled observation arrays.

    ``obs_f`` (OBS_F, ...) and ``obs_i`` (OBS_I, ...) as
    :func:`kamsim.model.rules.observe_account` writes them for one supplier (arrays of
    shape (R, n) after the field axis); the result's arrays are read-only.
    """
    fields = {
        "active": obs_i[rules.O_ACTIVE] != 0,
        "stage": obs_i[rules.O_STAGE],
        "tenure": obs_i[rules.O_TENURE],
        "revenue": obs_f[rules.O_REVENUE],
        "share_of_wallet": obs_f[rules.O_SHARE],
        "potential": obs_f[rules.O_POTENTIAL],
        "potential_class": obs_i[rules.O_CLASS].astype(np.int8),
        "trust": obs_f[rules.O_TRUST],
        "stock": obs_f[rules.O_STOCK],
        "willingness": obs_f[rules.O_WILLING],
    }
    for a in fields.values():
        a.setflags(write=False)
    return Observation(quarter=quarter, **fields)


class PartialObservation(Observation):
    """An :class:`Observation` without the estimates its policy does not read.

    Reading such a field (``obs.trust`` for a policy declaring
    ``observes = {"active"}``) raises a ParameterError naming the policy and the
    field, instead of handing the policy a ``None`` that fails later in its
    arithmetic with an error that names neither. Built by :func:`without_unread`.
    """

    _unread: frozenset[str]
    _policy: str

    def __getattribute__(self, name: str) -> Any:
        """The field ``name``; an estimate the policy does not read raises."""
        if name in ESTIMATES and name in object.__getattribute__(self, "_unread"):
            policy = object.__getattribute__(self, "_policy")
            raise ParameterError(
                f"policy '{policy}' read obs.{name}, which its 'observes' attribute "
                f"does not declare, so it is not computed: add '{name}' to observes "
                "(or remove observes to see every field)"
            )
        return object.__getattribute__(self, name)

    def __repr__(self) -> str:
        """The observation's fields, ``<not read>`` for the estimates left out."""
        unread = object.__getattribute__(self, "_unread")
        parts = [
            f"{f.name}=<not read>"
            if f.name in unread
            else f"{f.name}={object.__getattribute__(self, f.name)!r}"
            for f in dataclasses.fields(Observation)
        ]
        return f"Observation({', '.join(parts)})"


def without_unread(
    obs: Observation, reads: tuple[bool, ...], name: str = "?"
) -> Observation:
    """``obs`` without the estimates its policy does not read (both faces).

    ``reads`` is the policy's :func:`estimates_read` and ``name`` its
    :func:`policy_name`. If it reads every estimate, ``obs`` itself; otherwise a
    :class:`PartialObservation` in which reading an estimate left out raises a
    ParameterError naming the policy and the field.
    """
    reads_potential, reads_trust, reads_willingness = reads
    if reads_potential and reads_trust and reads_willingness:
        return obs
    unread = set() if reads_potential else {"potential", "potential_class"}
    if not reads_trust:
        unread.add("trust")
    if not reads_willingness:
        unread.add("willingness")
    values: dict[str, Any] = {
        f.name: NOT_READ if f.name in unread else object.__getattribute__(obs, f.name)
        for f in dataclasses.fields(Observation)
    }
    out = PartialObservation(**values)
    object.__setattr__(out, "_unread", frozenset(unread))
    object.__setattr__(out, "_policy", name)
    return out


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
