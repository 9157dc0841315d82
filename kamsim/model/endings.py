"""What ends a relationship at the end of a quarter (steps 6-7 of the ODD).

The account's exit barrier, the outside offers it receives and whether it takes one,
and the priority of the causes of an ending, for one relationship (scalars):
:func:`kamsim.model.rules.economics_and_endings` applies them to each relationship.
Compiled and inlined like every rule (:func:`kamsim.model.cache.rule`).
"""

from __future__ import annotations

from kamsim.model.cache import rule
from kamsim.model.state import CompiledParams, EndCause

__all__ = ["end_cause", "exit_barrier", "offer", "takes_offer"]

_SWITCHED = EndCause.SWITCHED.value
_VANISHED = EndCause.VANISHED.value
_DROPPED = EndCause.DROPPED.value
_BREACH = EndCause.BREACH.value
_FADED = EndCause.FADED.value


@rule
def exit_barrier(
    exit_cost: float, adaptation: float, trust: float, spend_q: float, p: CompiledParams
) -> float:
    """What the account loses by leaving the supplier (k€).

    ``X = (exit_cost[stage] + trust_value * trust) * spend_q + A``: the stage's
    integration and the trust it would give up, in quarters of its spend with the
    supplier, plus its own adaptation A. The supplier's specific investment is not
    part of it (that is the supplier's exposure, not the account's).

    References:
        Morgan, R. M., & Hunt, S. D. (1994). The commitment-trust theory of
        relationship marketing. Journal of Marketing 58(3), 20-38.
    """
    return (exit_cost + p.trust_value * trust) * spend_q + adaptation


@rule
def offer(u: float, p: CompiledParams) -> float:
    """An outside offer's discount from one uniform variate (0: no offer).

    An offer arrives when ``u < offer_probability``; given arrival ``u / prob`` is
    uniform on [0, 1), so the discount ``offer_discount_max * u / prob`` is uniform
    on [0, max).
    """
    arrived = u < p.offer_probability
    return p.offer_discount_max * u / p.offer_probability if arrived else 0.0


@rule
def takes_offer(
    u: float, sensitivity: float, spend_q: float, barrier: float, p: CompiledParams
) -> bool:
    """The account takes an outside offer when its gain beats the exit barrier.

    ``gain = sensitivity * discount * spend_q * switch_horizon`` (k€).
    """
    gain = sensitivity * offer(u, p) * spend_q * p.switch_horizon
    return (u < p.offer_probability) & (gain > barrier)


@rule
def end_cause(
    vanished: bool, switched: bool, breach: bool, faded: bool, dropped: bool
) -> int:
    """The :class:`EndCause` of a relationship, in priority order (0: it continues).

    vanished > switched > breach > faded > dropped.
    """
    cause = _DROPPED if dropped else 0
    cause = _FADED if faded else cause
    cause = _BREACH if breach else cause
    cause = _SWITCHED if switched else cause
    return _VANISHED if vanished else cause
