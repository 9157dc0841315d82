"""The built-in policies by name (:data:`POLICIES`), and names to callables and back.

:func:`resolve_policy` accepts a name, a ``"module:function"`` string or a callable;
:func:`policy_name` gives a policy's readable name and :func:`estimates_read` the
estimates it declares it reads.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable

import numpy as np

from kamsim.model.params import ParameterError, suggest
from kamsim.policies.builtin import (
    GreedyROI,
    ParetoFocus,
    Quadrant,
    StageGated,
    no_investment,
    potential_weighted,
    revenue_proportional,
    uniform,
)
from kamsim.policies.observation import OBSERVATION_FIELDS, Observation

__all__ = ["POLICIES", "estimates_read", "policy_name", "resolve_policy"]


#: Built-in policies by name.
POLICIES: dict[str, Callable[[Observation, float], np.ndarray]] = {
    "none": no_investment,
    "uniform": uniform,
    "revenue_proportional": revenue_proportional,
    "potential_weighted": potential_weighted,
    "stage_gated": StageGated(),
    "quadrant": Quadrant(),
    "pareto_focus": ParetoFocus(),
    "greedy_roi": GreedyROI(),
}


#: ``module:function`` as accepted by :func:`resolve_policy` (a dotted module path).
_IMPORT_PATH = re.compile(r"[^\W\d]\w*(\.[^\W\d]\w*)*:[^\W\d]\w*")


def policy_name(policy: Callable[..., np.ndarray] | str) -> str:
    """Readable name of a policy: its registry name, or ``module:qualname``."""
    if isinstance(policy, str):
        return policy
    for name, fn in POLICIES.items():
        if fn is policy:
            return name
    if dataclasses.is_dataclass(policy) and not isinstance(policy, type):
        for name, fn in POLICIES.items():
            if type(fn) is type(policy) and fn == policy:
                return name
        return repr(policy)
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
            f"'policy' must be a built-in name, 'module:function' or a callable: {policy!r}"
        )
    if policy in POLICIES:
        return POLICIES[policy]
    if ":" in policy:
        if not _IMPORT_PATH.fullmatch(policy):
            raise ParameterError(
                "'policy' must be a built-in name or 'module:function' (dotted module "
                f"path, a colon, a function name, e.g. 'mypolicies:greedy'): {policy!r}"
            )
        mod_name, _, attr = policy.partition(":")
        try:
            fn = getattr(importlib.import_module(mod_name), attr)
        except Exception as exc:  # the user's module may raise anything on import
            first = (str(exc).splitlines() or [""])[0]
            raise ParameterError(
                f"'policy' {policy!r} could not be loaded: {type(exc).__name__}: {first}"
            ) from None
        if not callable(fn):
            raise ParameterError(f"'policy' {policy!r} is not callable")
        return fn  # type: ignore[no-any-return]
    raise ParameterError(
        f"'policy' must be one of {sorted(POLICIES)} or 'module:function': "
        f"{policy!r}{suggest(policy, list(POLICIES))}"
    )


def estimates_read(policy: Callable[..., np.ndarray]) -> tuple[bool, bool]:
    """Whether a policy reads the estimate of potential and the reading of trust.

    A policy may declare the :class:`Observation` fields it reads in an ``observes``
    attribute (a set of field names, e.g. ``{"active", "stage", "trust"}``). The
    estimates are the only fields that cost random numbers, so both faces compute
    the noise of the potential estimate only if it reads ``potential`` or
    ``potential_class`` and the noise of the trust reading only if it reads
    ``trust``, and pass ``None`` for what is not computed. Without the attribute a
    policy sees every field. Skipping noise shifts no other number (the variates are
    counter-based, :mod:`kamsim.model.variates`), so the fields it reads, and every result,
    are the same either way.

    Returns:
        ``(reads_potential, reads_trust)``.

    Raises:
        ParameterError: if ``observes`` is not a set of observation field names.
    """
    fields = getattr(policy, "observes", None)
    if fields is None:
        return True, True
    if isinstance(fields, str) or not all(isinstance(f, str) for f in fields):
        raise ParameterError(
            f"policy '{policy_name(policy)}' has observes={fields!r}; it must be a set "
            f"of observation field names, from {sorted(OBSERVATION_FIELDS)}"
        )
    unknown = sorted(set(fields) - OBSERVATION_FIELDS)
    if unknown:
        raise ParameterError(
            f"policy '{policy_name(policy)}' observes unknown field(s) {unknown}; "
            f"an observation has {sorted(OBSERVATION_FIELDS)}"
        )
    return bool({"potential", "potential_class"} & set(fields)), "trust" in fields
