"""An experiment's design as seen in its results: factors, levels, value metric, layout.

Reports and findings are driven by what the results contain, not by a list of the
current model's cells: :class:`Design` reads the varying factors and their levels from
the ``runs`` frame (and the spec), picks the value metric (``npv_terminal``, NPV with
a terminal value, when the model provides it, else ``npv``) and the baseline policy;
:class:`Layout` decides how a multi-factor experiment is drawn as small multiples
(which factor on the x axis, which as colours, which as panels) so that every cell
is shown.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kamsim.model.params import ParameterError

__all__ = ["MAX_PANELS", "VALUE_COLUMNS", "Design", "Layout", "fmt_level", "value_column"]

#: Value metrics in order of preference, with their labels.
VALUE_COLUMNS = {"npv_terminal": "NPV with terminal value", "npv": "NPV"}
#: Largest number of panels in one figure; more panels go to further figures.
MAX_PANELS = 12


def value_column(runs: pd.DataFrame) -> str:
    """The value metric of the results: ``npv_terminal`` if present, else ``npv``.

    Raises:
        ParameterError: if neither column exists.
    """
    for c in VALUE_COLUMNS:
        if c in runs.columns:
            return c
    raise ParameterError(
        f"'runs' must have one of the value columns {list(VALUE_COLUMNS)}: "
        f"{list(runs.columns)[:8]}..."
    )


def fmt_level(v: Any) -> str:
    """A factor level as text: ``0.02``, ``20``, ``off``, ``uniform``."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _sorted_levels(col: pd.Series, spec_levels: Sequence[Any] | None) -> list[Any]:
    present = list(pd.unique(col.dropna()))
    if spec_levels is not None:
        order = [v for v in spec_levels if v in present]
        if len(order) == len(present):
            return order
    if pd.api.types.is_numeric_dtype(col):
        return sorted(present)
    return present


@dataclass(frozen=True)
class Design:
    """The design of an experiment, read from its results.

    Attributes:
        factors: the factors that vary, in spec order (``n_accounts`` and ``policy``
            included when they vary).
        levels: factor -> its levels (numbers ascending, others in spec order).
        fixed: factors that have one level -> that level.
        value: the value metric column (``npv_terminal`` or ``npv``).
        value_label: its name in words.
        baseline: the policy the others are compared with (None if policy does not
            vary).
        n_reps: the smallest number of replications in a cell.
    """

    factors: tuple[str, ...]
    levels: dict[str, list[Any]]
    fixed: dict[str, Any]
    value: str
    value_label: str
    baseline: Any
    n_reps: int

    @classmethod
    def from_runs(cls, runs: pd.DataFrame, spec: Mapping[str, Any] | None = None) -> Design:
        """Read the design from a ``runs`` frame and (optionally) the spec dict.

        Factors are the spec's factors, plus ``n_accounts`` and ``policy``, that are
        columns of ``runs``; those with more than one level vary.

        Raises:
            ParameterError: if ``runs`` is empty or has no value column.
        """
        if runs is None or runs.empty:
            raise ParameterError(
                "'results' has no runs to report on (the runs frame is empty)"
            )
        spec = dict(spec or {})
        spec_factors = dict(spec.get("factors") or {})
        names = [f for f in spec_factors if f in runs.columns]
        for f in ("n_accounts", "policy"):
            if f in runs.columns and f not in names:
                names.append(f)
        levels = {
            f: _sorted_levels(runs[f], _spec_levels(spec_factors.get(f))) for f in names
        }
        varying = tuple(f for f in names if len(levels[f]) > 1)
        fixed = {f: levels[f][0] for f in names if len(levels[f]) == 1}
        value = value_column(runs)
        baseline = None
        if "policy" in varying:
            pols = levels["policy"]
            wanted = (spec.get("report") or {}).get("baseline")
            baseline = (
                wanted if wanted in pols else ("uniform" if "uniform" in pols else pols[0])
            )
        n_reps = (
            int(runs.groupby(list(varying), observed=True).size().min())
            if varying
            else len(runs)
        )
        return cls(
            factors=varying,
            levels={f: levels[f] for f in varying},
            fixed=fixed,
            value=value,
            value_label=VALUE_COLUMNS[value],
            baseline=baseline,
            n_reps=n_reps,
        )

    @property
    def n_cells(self) -> int:
        """Number of cells (combinations of the varying factors' levels)."""
        n = 1
        for f in self.factors:
            n *= len(self.levels[f])
        return n

    def combinations(self, factors: Sequence[str]) -> list[dict[str, Any]]:
        """Every combination of ``factors``' levels, in level order (``[{}]`` if none)."""
        combos = itertools.product(*(self.levels[f] for f in factors))
        return [dict(zip(factors, c, strict=True)) for c in combos] or [{}]

    def cells(self) -> list[dict[str, Any]]:
        """Every cell as a dict factor -> level, in level order."""
        return self.combinations(self.factors)

    def is_numeric(self, factor: str) -> bool:
        """True if the factor is a quantity drawn as a line: three or more numbers.

        A factor of two levels (``rivals = [0, 2]``, ``budget = [50.0, 150.0]``) is
        drawn as two categories: a line through two points, on an axis running from
        one to the other, would show values that were never simulated.
        """
        levels = self.levels[factor]
        return len(levels) >= 3 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in levels
        )

    def layout(self) -> Layout:
        """The small-multiples layout of this design."""
        return Layout.choose(self)


def _spec_levels(levels: Any) -> list[Any] | None:
    if not isinstance(levels, list | tuple):
        return None
    out: list[Any] = []
    for v in levels:
        if isinstance(v, list | tuple):
            out.append(", ".join(str(x) for x in v))
        elif v is None:
            out.append("off")
        else:
            out.append(v)
    kinds = {type(v) for v in out}
    if kinds <= {int, float} and kinds != {int}:
        out = [float(v) for v in out]
    elif len(kinds) > 1:
        out = [str(v) for v in out]
    return out


@dataclass(frozen=True)
class Layout:
    """How a design is drawn: x axis, colours (hue) and panels (facets).

    Attributes:
        x: factor on the horizontal axis (None for a single cell).
        hue: factor shown as colours/series (None if none).
        facets: factors that make panels (every combination one panel).
        panels: the panel keys (dicts facet -> level), in order.
    """

    x: str | None
    hue: str | None
    facets: tuple[str, ...]
    panels: tuple[dict[str, Any], ...]

    @classmethod
    def choose(cls, design: Design) -> Layout:
        """Pick x, hue and facets for a design.

        x is ``n_accounts`` when it varies, else the numeric factor (three or more
        levels, :meth:`Design.is_numeric`) with the most levels, else ``policy``,
        else the factor with the most levels; hue is
        ``policy`` when it varies and is not x, else the remaining factor with the
        fewest levels; the other factors make panels.
        """
        fs = list(design.factors)
        if not fs:
            return cls(x=None, hue=None, facets=(), panels=({},))
        numeric = [f for f in fs if design.is_numeric(f)]
        if "n_accounts" in fs:
            x = "n_accounts"
        elif numeric:
            x = max(numeric, key=lambda f: len(design.levels[f]))
        elif "policy" in fs:
            x = "policy"
        else:
            x = max(fs, key=lambda f: len(design.levels[f]))
        rest = [f for f in fs if f != x]
        hue = None
        if "policy" in rest:
            hue = "policy"
        elif rest:
            hue = min(rest, key=lambda f: len(design.levels[f]))
        facets = tuple(f for f in rest if f != hue)
        return cls(x=x, hue=hue, facets=facets, panels=tuple(design.combinations(facets)))

    @staticmethod
    def select(df: pd.DataFrame, key: Mapping[str, Any]) -> pd.DataFrame:
        """Rows of ``df`` in the panel ``key``."""
        mask = pd.Series(True, index=df.index)
        for k, v in key.items():
            mask &= df[k] == v
        return df[mask]

    @staticmethod
    def title(key: Mapping[str, Any]) -> str:
        """A panel title naming its factors, one per line."""
        return "\n".join(f"{k} = {fmt_level(v)}" for k, v in key.items())
