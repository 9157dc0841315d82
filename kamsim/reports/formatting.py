"""Number formats shared by reports, findings and the console.

One set of rules so that the same quantity reads the same everywhere:

* money (k€) without decimals and with thousands separators: ``3,574``;
* signed differences with an explicit sign: ``+3,574``, ``-419``;
* shares as percentages with as many decimals as the value needs: ``46 %``,
  ``0.25 %``;
* a column of a table gets one number of decimals, chosen from its largest
  magnitude (:func:`column_digits`), so the figures line up;
* missing values print as ``–``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "MISSING",
    "column_digits",
    "digits_for",
    "fmt_ci",
    "fmt_money",
    "fmt_number",
    "fmt_pct",
    "fmt_signed",
    "is_missing",
]

#: How a missing value (None, NaN) is shown.
MISSING = "–"


def is_missing(x: Any) -> bool:
    """True for None and NaN (float or NumPy)."""
    if x is None:
        return True
    try:
        return bool(np.isnan(x))
    except (TypeError, ValueError):
        return False


def fmt_number(x: Any, digits: int = 0) -> str:
    """``x`` with ``digits`` decimals and thousands separators (``–`` if missing)."""
    if is_missing(x):
        return MISSING
    v = float(x)
    text = f"{v:,.{digits}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def fmt_money(x: Any) -> str:
    """Money in k€ without decimals: ``3,574``."""
    return fmt_number(x, 0)


def fmt_signed(x: Any, digits: int = 0) -> str:
    """A difference with its sign: ``+3,574``, ``-419``, ``0``."""
    if is_missing(x):
        return MISSING
    text = fmt_number(x, digits)
    return text if text.startswith("-") or float(x) == 0 else "+" + text


def fmt_pct(x: Any, digits: int | None = None) -> str:
    """A share (0.46) as a percentage (``46 %``).

    With ``digits`` None the decimals follow the value: none from 10 %, one from 1 %,
    two below (``0.25 %``), so small probabilities do not print as ``0 %``.
    """
    if is_missing(x):
        return MISSING
    p = 100.0 * float(x)
    if digits is None:
        a = abs(p)
        digits = 0 if a >= 10 or a == 0 else 1 if a >= 1 else 2
    return f"{fmt_number(p, digits)} %"


def fmt_ci(lo: Any, hi: Any, digits: int = 0, signed: bool = False) -> str:
    """A confidence interval ``[lo, hi]`` in the same format as its estimate."""
    f = fmt_signed if signed else fmt_number
    return f"[{f(lo, digits)}, {f(hi, digits)}]"


def digits_for(magnitude: float) -> int:
    """Decimals for a figure of this magnitude: 0 (>= 100), 1 (>= 10), 2 (>= 1), else 3."""
    a = abs(magnitude)
    if math.isnan(a) or a >= 100:
        return 0
    return 1 if a >= 10 else 2 if a >= 1 else 3


def column_digits(values: Iterable[Any]) -> int:
    """One number of decimals for a whole column, from its largest finite magnitude."""
    arr = np.asarray([v for v in values if not is_missing(v)], dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0 or np.max(np.abs(arr)) == 0:
        return 0
    if np.all(arr == np.round(arr)) and np.max(np.abs(arr)) >= 1:
        return 0  # counts and whole numbers
    return digits_for(float(np.max(np.abs(arr))))


def human_title(name: str) -> str:
    """A report title from an experiment's name: ``portfolio_size`` -> ``Portfolio size``.

    Underscores and hyphens become spaces and the first letter is capitalised; the
    rest is kept (``MyStudy_v2`` -> ``MyStudy v2``).
    """
    text = " ".join(name.replace("_", " ").replace("-", " ").split())
    return text[:1].upper() + text[1:] if text else name
