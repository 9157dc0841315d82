"""The built-in policies by name (:data:`POLICIES`), and names to callables and back.

:func:`resolve_policy` accepts a name, a ``"module:function"`` string or a callable;
:func:`policy_name` gives a policy's readable name and :func:`estimates_read` the
estimates it declares it reads.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kamsim.model.params import ParameterError, suggest
from kamsim.policies.budget import enforce_budget
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


def estimates_read(policy: Callable[..., np.ndarray]) -> tuple[bool, bool, bool]:
    """Whether a policy reads the estimates of potential, trust and willingness.

    A policy may declare the :class:`Observation` fields it reads in an ``observes``
    attribute (a set of field names, e.g. ``{"active", "stage", "trust"}``). The
    estimates are the only fields that cost random numbers, so both faces compute the
    noise of the potential estimate only if it reads ``potential`` or
    ``potential_class``, the noise of the trust reading only if it reads ``trust``, and
    the estimate of willingness only if it reads ``willingness``; reading one that is
    not computed raises a ParameterError naming the policy and the field
    (:func:`without_unread`). Without the attribute a policy sees every field. Skipping
    noise shifts no other number (the variates are counter-based,
    :mod:`kamsim.variates`), so the fields it reads, and every result, are the same
    either way.

    Returns:
        ``(reads_potential, reads_trust, reads_willingness)``.

    Raises:
        ParameterError: if ``observes`` is not a set of observation field names.
    """
    fields = getattr(policy, "observes", None)
    if fields is None:
        return True, True, True
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
    potential = bool({"potential", "potential_class"} & set(fields))
    return potential, "trust" in fields, "willingness" in fields


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
    own = getattr(policy, "__policy_name__", None)  # e.g. a saved rule: its path
    if isinstance(own, str):
        return own
    if dataclasses.is_dataclass(policy) and not isinstance(policy, type):
        for name, fn in POLICIES.items():
            if type(fn) is type(policy) and fn == policy:
                return name
        return repr(policy)
    qual = getattr(policy, "__qualname__", None) or type(policy).__qualname__
    mod = getattr(policy, "__module__", None) or type(policy).__module__
    return f"{mod}:{qual}"


def _module_folder(module: str, folders: Sequence[str | Path]) -> Path | None:
    """The first of ``folders``, then the current folder, holding ``module``'s file.

    ``module`` is a dotted path; its top-level name is looked up as ``name.py`` or
    a package ``name/``.
    """
    top = module.split(".")[0]
    for folder in (*folders, os.getcwd()):
        here = Path(folder).resolve()
        if (here / f"{top}.py").is_file() or (here / top / "__init__.py").is_file():
            return here
    return None


def _import(module: str, folders: Sequence[str | Path]) -> Any:
    """Import ``module`` as a ``module:function`` policy is (see :func:`resolve_policy`).

    The folder it is found in is put first on ``sys.path`` (and stays there, so
    that worker processes, which are spawned with the same path, import it too).
    """
    folder = _module_folder(module, folders)
    if folder is not None and module.split(".")[0] not in sys.modules:
        path = str(folder)
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
        importlib.invalidate_caches()
    return importlib.import_module(module)


def resolve_policy(
    policy: str | Callable[[Observation, float], np.ndarray],
    folders: Sequence[str | Path] = (),
) -> Callable[[Observation, float], np.ndarray]:
    """Return the callable for a policy name, ``"module:function"``, rule file or callable.

    A string ending in ``.toml`` or ``.json`` is the path of a saved rule
    (:func:`kamsim.policies.family.load_rule`); the rule is named by that path in results.

    A ``module:function`` is imported from the first folder holding the module's
    file (``module.py`` or a package ``module/``): first ``folders`` (an experiment
    spec passes its own folder), then the current folder, then the Python path
    (installed packages, ``PYTHONPATH``). So a spec's ``"mypol:fn"`` is the
    ``mypol.py`` beside the spec even when another one is in the current folder,
    as Python does for a script's own folder.

    Args:
        policy: a built-in name, ``"module:function"`` or a callable.
        folders: folders searched for the module before the current folder.

    Raises:
        ParameterError: for an unknown name (naming the closest built-in), a
            ``module:function`` that cannot be imported, or a saved rule that is
            missing or invalid.
    """
    if callable(policy):
        return policy
    if not isinstance(policy, str):
        raise ParameterError(
            f"'policy' must be a built-in name, 'module:function', a saved rule file "
            f"(.toml/.json) or a callable: {policy!r}"
        )
    if policy in POLICIES:
        return POLICIES[policy]
    from kamsim.policies.family import is_rule_path, load_rule

    if is_rule_path(policy):
        return load_rule(policy)
    if ":" in policy:
        if not _IMPORT_PATH.fullmatch(policy):
            raise ParameterError(
                "'policy' must be a built-in name or 'module:function' (dotted module "
                f"path, a colon, a function name, e.g. 'mypolicies:greedy'): {policy!r}"
            )
        mod_name, _, attr = policy.partition(":")
        try:
            fn = getattr(_import(mod_name, folders), attr)
        except Exception as exc:  # the user's module may raise anything on import
            first = (str(exc).splitlines() or [""])[0]
            raise ParameterError(
                f"'policy' {policy!r} could not be loaded: {type(exc).__name__}: {first}"
            ) from None
        if not callable(fn):
            raise ParameterError(f"'policy' {policy!r} is not callable")
        return fn  # type: ignore[no-any-return]
    raise ParameterError(
        f"'policy' must be one of {sorted(POLICIES)}, 'module:function' or a saved rule "
        f"file (.toml/.json): {policy!r}{suggest(policy, list(POLICIES))}"
    )


class PolicyError(ParameterError):
    """A policy raised, or returned something unusable, while a run was stepping.

    The message is one line naming the policy, the quarter and the exception; the
    original exception is chained (``__cause__``) for a traceback.
    """


def _trusted(fn: Callable[..., np.ndarray]) -> bool:
    """Whether a policy is kamsim's own (a built-in or a rule of its family)."""
    obj = fn if callable(fn) and hasattr(fn, "__code__") else type(fn)
    return str(getattr(obj, "__module__", "")).split(".")[0] == "kamsim"


@dataclass(frozen=True)
class _Guarded:
    """A user's policy, whose failures stop the run in one line (:func:`guard_policy`)."""

    fn: Callable[..., np.ndarray]
    name: str

    @property
    def observes(self) -> object:
        """The wrapped policy's declaration (:func:`estimates_read`)."""
        return getattr(self.fn, "observes", None)

    @property
    def __policy_name__(self) -> str:
        return self.name

    def __call__(self, obs: Observation, budget: float) -> np.ndarray:
        """Call the policy; an exception or unusable result becomes a PolicyError."""
        try:
            value = self.fn(obs, budget)
        except ParameterError:  # kamsim's own contract errors already name the policy
            raise
        except Exception as exc:
            first = (str(exc).splitlines() or [""])[0]
            raise PolicyError(
                f"policy '{self.name}' raised in quarter {obs.quarter}: "
                f"{type(exc).__name__}: {first}"
            ) from exc
        try:
            enforce_budget(value, obs, budget, self.name)
        except ParameterError as exc:
            raise PolicyError(f"{exc} (in quarter {obs.quarter})") from exc
        return value


def guard_policy(
    fn: Callable[[Observation, float], np.ndarray], name: str | None = None
) -> Callable[[Observation, float], np.ndarray]:
    """Wrap a user's policy so that a failure is one line naming it and the quarter.

    The wrapped policy raises :class:`PolicyError` ("policy 'os:system' raised in
    quarter 1: TypeError: ...") when the policy raises or returns something unusable
    (checked as :func:`enforce_budget` would); what it returns is passed on untouched,
    so every number is the same. kamsim's own policies are returned as they are.
    """
    if _trusted(fn) or isinstance(fn, _Guarded):
        return fn
    return _Guarded(fn, name if name is not None else policy_name(fn))
