"""What a parameter of :class:`kamsim.ModelParams` is: its metadata and its checks.

Each field of ``ModelParams`` is declared with :func:`_p` (default, unit, meaning,
source, allowed range, integer / optional / per-stage); the checks here turn a value
into a plain Python value or one :class:`ParameterError` naming the field, the value
and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import numbers
from collections.abc import Mapping
from dataclasses import field
from typing import Any

__all__ = ["ParameterError", "suggest"]


class ParameterError(ValueError):
    """A user-supplied value is out of range, of the wrong type, or unknown."""


def suggest(name: str, allowed: list[str] | tuple[str, ...]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest allowed name, or ``""``."""
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _p(
    default: Any,
    *,
    unit: str,
    doc: str,
    source: str = "assumption",
    lo: float | None = None,
    hi: float | None = None,
    integer: bool = False,
    optional: bool = False,
    per_stage: bool = False,
    increasing: bool = False,
) -> Any:
    meta = {
        "unit": unit,
        "doc": doc,
        "source": source,
        "lo": lo,
        "hi": hi,
        "integer": integer,
        "optional": optional,
        "per_stage": per_stage,
        "increasing": increasing,
    }
    return field(default=default, metadata=meta)


def _range_text(meta: Mapping[str, Any]) -> str:
    lo, hi = meta["lo"], meta["hi"]
    kind = "an integer" if meta["integer"] else "a number"
    if lo is not None and hi is not None:
        return f"{kind} in [{lo}, {hi}]"
    if lo is not None:
        return f"{kind} >= {lo}"
    if hi is not None:
        return f"{kind} <= {hi}"
    return kind


def _check_number(name: str, value: Any, meta: Mapping[str, Any]) -> float:
    allowed = _range_text(meta)
    # numbers.Real admits NumPy scalars (np.int64, np.float32) but not np.bool_
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"'{name}' must be {allowed}: {value!r}")
    if meta["integer"] and not (
        isinstance(value, numbers.Integral) or float(value).is_integer()
    ):
        raise ParameterError(f"'{name}' must be {allowed}: {value!r}")
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        raise ParameterError(f"'{name}' must be {allowed}: {value!r}")
    lo, hi = meta["lo"], meta["hi"]
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ParameterError(f"'{name}' must be {allowed}: {value!r}")
    return v


def _normalise(f: dataclasses.Field[Any], value: Any) -> Any:
    """Store a validated value as a plain Python type.

    Per-stage values become a tuple of floats (TOML/JSON give lists), integer fields
    an ``int`` (``4.0`` or ``np.int64(4)`` -> ``4``, so they can size arrays), and
    NumPy scalars of real fields a ``float``; Python ints of real fields are kept.
    """
    if value is None:
        return None
    if f.metadata["per_stage"]:
        return tuple(float(v) for v in value)
    if f.metadata["integer"]:
        return int(value)
    if isinstance(value, (int, float)):
        return value
    return float(value)


def _check_field(f: dataclasses.Field[Any], value: Any) -> None:
    meta = f.metadata
    if value is None:
        if meta["optional"]:
            return
        raise ParameterError(f"'{f.name}' must be {_range_text(meta)}: None")
    if meta["per_stage"]:
        expected = len(f.default) if isinstance(f.default, tuple) else 0
        if not isinstance(value, (tuple, list)) or len(value) != expected:
            raise ParameterError(
                f"'{f.name}' must be a list of {expected} numbers (one per stage): "
                f"{value!r}"
            )
        vals = [_check_number(f.name, v, meta) for v in value]
        if meta["increasing"] and any(b < a for a, b in itertools.pairwise(vals)):
            raise ParameterError(
                f"'{f.name}' must be in non-decreasing stage order: {list(value)!r}"
            )
        return
    _check_number(f.name, value, meta)
