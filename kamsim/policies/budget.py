"""A policy's allocation checked and kept within the budget (:func:`enforce_budget`).

The compiled :func:`keep_within_budget` does the work for both faces; the NumPy
reference :func:`_budget_reference` does the same operation for operation and also
handles rows whose total overflows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numba import njit

from kamsim.model import cache as _cache  # noqa: F401  (kamsim-wide cache stamp)
from kamsim.model.params import ParameterError
from kamsim.model.sums import _row_sum as _pairwise_row
from kamsim.policies.observation import Observation


def _returned(value: object, arr: np.ndarray | None) -> str:
    """Describe what a policy returned, for an error message (``None``, ``a dict``)."""
    if value is None:
        return "None"
    kind = "array" if isinstance(value, np.ndarray) else type(value).__name__
    article = "an" if kind[0] in "aeiou" else "a"
    if isinstance(value, str | bytes):
        text = repr(value)
        return f"{article} {kind} ({text[:40]}{'...' if len(text) > 40 else ''})"
    if arr is not None and arr.ndim > 0:
        return f"{article} {kind} of {arr.dtype}"
    return f"{article} {kind}"


def _as_allocation(allocation: object, name: str) -> np.ndarray:
    """The allocation as a float array, or a ParameterError saying what came back.

    Accepts arrays, lists and scalars of booleans, integers or real numbers; refuses
    None, strings, mappings, objects and complex numbers (which NumPy would
    otherwise turn into NaN, an exception or a silently dropped imaginary part).
    """
    bad = allocation is None or isinstance(allocation, str | bytes | Mapping)
    arr: np.ndarray | None = None
    if not bad:
        try:
            arr = np.asarray(allocation)
        except (TypeError, ValueError):
            bad = True
    if bad or arr is None or arr.dtype.kind not in "biuf":
        raise ParameterError(
            f"policy '{name}' returned {_returned(allocation, arr)}; a policy must return "
            "an array of real numbers (k€ >= 0) of shape (replications, accounts)"
        )
    return arr.astype(np.float64, copy=False)


#: Rounds of taking a rounding excess from the largest entry (one almost always does).
EXCESS_ROUNDS = 8


@njit(cache=True, error_model="numpy")
def keep_within_budget(  # pragma: no cover - compiled
    a: np.ndarray, active: np.ndarray, budget: float
) -> int:
    """:func:`kamsim.policies.enforce_budget` in place on ``a`` (R, n); returns a code.

    0: done — vacant slots set to 0; a row whose total (NumPy's pairwise sum)
    exceeds ``budget`` scaled by ``budget / total``, and any rounding excess left
    then taken from its first largest entry (``max(top - excess, 0)``, repeated while
    the re-summed total still rounds above the budget), as the NumPy reference does.
    1: some entry is negative or not finite (nothing changed).
    2: some row's total overflows (the caller takes the NumPy path).
    """
    r_count, n = a.shape
    for r in range(r_count):
        for j in range(n):
            x = a[r, j]
            if not np.isfinite(x) or x < 0.0:
                return 1
    for r in range(r_count):
        row = a[r]
        for j in range(n):
            if not active[r, j]:
                row[j] = 0.0
        total = _pairwise_row(a, r, n)
        if not np.isfinite(total):
            return 2
        if not total > budget:
            continue
        factor = budget / total
        for j in range(n):
            row[j] = row[j] * factor
        for _ in range(EXCESS_ROUNDS):
            excess = max(_pairwise_row(a, r, n) - budget, 0.0)
            if not excess > 0.0:
                break
            top = 0
            for j in range(1, n):
                if row[j] > row[top]:
                    top = j
            row[top] = max(row[top] - excess, 0.0)
    return 0


def enforce_budget(
    allocation: np.ndarray, obs: Observation, budget: float, name: str
) -> np.ndarray:
    """Check a policy's allocation and keep it within the budget.

    Vacant slots get nothing. If a row's total exceeds the budget it is scaled down
    proportionally (``a * budget / total``), and any rounding excess is taken from
    the largest entry (again while the total still rounds above the budget), so the
    total never exceeds the budget. A row whose total
    overflows (entries near the largest float) is scaled through its largest entry,
    ``(a / max a) * budget / sum(a / max a)``, so it keeps its proportions instead of
    collapsing to zero.

    The allocation must have exactly the shape of the observation's arrays,
    (replications, accounts); a nested list of that shape is taken as the array it
    spells. Nothing is broadcast: a scalar, an (accounts,) vector or an (R, 1) column
    is refused, because the same policy would otherwise be accepted or refused
    depending on how many replications a batch steps together (the Mesa face
    steps one, the batched engine up to 250).

    Raises:
        ParameterError: (a ``ValueError``) if the policy returned something other
            than real numbers (None, a string, a dict, complex numbers), an array of
            another shape, or negative or non-finite values; the message names the
            policy and says what it returned.
    """
    a = _as_allocation(allocation, name)
    if a.shape != obs.active.shape:
        raise ParameterError(
            f"policy '{name}' returned shape {a.shape}, expected "
            f"{obs.active.shape} (replications, accounts): one row per replication, "
            "as its observation's arrays; a scalar, an (accounts,) vector or any "
            "other shape is not broadcast"
        )
    out = np.array(a, dtype=np.float64, order="C")  # a copy: the policy's is untouched
    code = keep_within_budget(out, np.ascontiguousarray(obs.active), float(budget))
    if code == 0:
        return out
    if code == 1:
        bad = a[~np.isfinite(a) | (a < 0)]
        raise ParameterError(
            f"policy '{name}' returned a negative or non-finite allocation "
            f"({bad.size} value(s), e.g. {bad.flat[0]!r}); allocations must be >= 0 k€"
        )
    return _budget_reference(a, obs.active, budget)


def _budget_reference(a: np.ndarray, active: np.ndarray, budget: float) -> np.ndarray:
    """:func:`enforce_budget`'s arithmetic in NumPy (after the checks).

    The compiled :func:`keep_within_budget` does the same operation
    for operation; this reference also handles rows whose total overflows, by
    scaling through their largest entry.
    """
    a = np.where(active, a, 0.0)
    with np.errstate(over="ignore"):
        total = np.sum(a, axis=-1, keepdims=True)
    over = total > budget
    if np.any(over):
        huge = ~np.isfinite(total)
        if np.any(huge):  # the row sum overflowed: scale through the largest entry
            top = np.max(a, axis=-1, keepdims=True)
            unit = a / np.where(huge, top, 1.0)
            size = np.where(huge, np.sum(unit, axis=-1, keepdims=True), 1.0)
            a = np.where(huge, unit * np.where(huge, budget / size, 1.0), a)
            over = over & ~huge
        a = np.where(over, a * (budget / np.where(over, total, 1.0)), a)
        for _ in range(EXCESS_ROUNDS):
            excess = np.maximum(np.sum(a, axis=-1, keepdims=True) - budget, 0.0)
            if not np.any(excess > 0):
                break
            j = np.argmax(a, axis=-1)[..., None]
            top = np.take_along_axis(a, j, axis=-1)
            np.put_along_axis(
                a, j, np.where(excess > 0, np.maximum(top - excess, 0.0), top), axis=-1
            )
    return a
