"""The columns of a portfolio file: names, units, what is allowed, and their reading.

One row per key account; the header (row 1) names the columns. Column names are
case-insensitive, surrounding spaces are ignored and inner spaces or hyphens count
as underscores (``Share of wallet`` is ``share_of_wallet``). Money is in k€
(thousands of euro).

Required:

* ``account`` — the account's name or id, unique (case-insensitive).
* ``revenue`` — k€ per year the account buys from us, > 0.
* ``stage`` — ``tactical``, ``cooperative``, ``interdependent`` or ``strategic``
  (any case), or 1–4 in that order.
* ``share_of_wallet`` — our part of the account's spend in our category: a fraction
  in (0, 1] (``0.35``) or a percentage written with ``%`` (``35%``). A bare number
  above 1 (``35``) is ambiguous and refused. *Or*
* ``category_spend`` — the account's whole spend in our category (its *wallet*),
  k€ per year, at least the revenue. With both, revenue / category_spend must agree
  with the share within 1 % of the share; each row needs one of the two.

Optional (an empty cell is "not given"):

* ``years_in_stage`` — years the relationship has been in its stage, >= 0 and at
  most ``years_as_customer`` when both are given.
* ``years_as_customer`` — years the account has bought from us, >= 0.
* ``potential`` — the category spend expected in three years, k€ per year, > 0; or
  ``potential_low`` and ``potential_high`` — a range of it (both, 0 < low <= high),
  not in the same row as ``potential``.
* ``willing_to_partner`` — will the account work with us as a partner? ``yes``/``y``/
  ``true``/``1``, ``no``/``n``/``false``/``0``, ``unknown`` or empty.
* ``gross_margin`` — our gross margin on the account's revenue, a fraction in [0, 1]
  or a percentage with ``%``.
* ``kam_spend`` — k€ spent on managing the account last year (key account manager,
  team, programmes), >= 0.

A column whose name starts with ``#`` is a note and ignored; any other column is
refused (with the closest valid name). At most :data:`MAX_ACCOUNTS` rows.

Numbers are read as the file writes them (:mod:`kamsim.portfolio.decimals`); a
percentage becomes its fraction and a decimal comma a decimal point. No value the
user gave is changed, clipped or filled in: what is not given stays NaN, and a value
outside what is allowed is refused, never corrected. Only two values are derived:
the share of wallet from revenue / category spend when only the spend is given, and
the category spend from revenue / share when only the share is given.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from difflib import get_close_matches
from typing import Any

import numpy as np

from kamsim.model.params import suggest
from kamsim.portfolio.decimals import CONVENTION, decide_mark, parse_number, split_percent
from kamsim.portfolio.errors import Problems, show
from kamsim.portfolio.sheets import PercentCell, Table

__all__ = ["COLUMNS", "MAX_ACCOUNTS", "REQUIRED", "STAGES", "read_columns"]

#: Most accounts (rows) a portfolio file may hold.
MAX_ACCOUNTS = 500

#: Every column: name -> what it holds, with its unit.
COLUMNS: dict[str, str] = {
    "account": "the account's name or id, unique",
    "revenue": "k€ per year the account buys from us",
    "stage": "tactical, cooperative, interdependent, strategic, or 1-4",
    "share_of_wallet": "our part of the account's category spend, 0-1 or a percentage",
    "category_spend": "k€ per year the account spends in our category, us included",
    "years_in_stage": "years in the current stage",
    "years_as_customer": "years the account has bought from us",
    "potential": "k€ per year the account is expected to spend in our category in 3 years",
    "potential_low": "low end of the potential, k€ per year",
    "potential_high": "high end of the potential, k€ per year",
    "willing_to_partner": "yes, no or unknown",
    "gross_margin": "our gross margin on the account's revenue, 0-1 or a percentage",
    "kam_spend": "k€ spent on managing the account last year",
}
#: Columns every file needs (and one of share_of_wallet, category_spend).
REQUIRED = ("account", "revenue", "stage")
#: Stage names, tactical first (stage 1).
STAGES = ("tactical", "cooperative", "interdependent", "strategic")

_NUMBERS = (
    "revenue",
    "share_of_wallet",
    "category_spend",
    "years_in_stage",
    "years_as_customer",
    "potential",
    "potential_low",
    "potential_high",
    "gross_margin",
    "kam_spend",
)
_FRACTIONS = ("share_of_wallet", "gross_margin")
#: Lower bound of each number column: (bound, strict, what the value is).
_BOUNDS: dict[str, tuple[float, bool, str]] = {
    "revenue": (0.0, True, "k€ per year the account buys from us"),
    "category_spend": (0.0, True, "k€ per year the account spends in our category"),
    "years_in_stage": (0.0, False, "years"),
    "years_as_customer": (0.0, False, "years"),
    "potential": (0.0, True, "k€ per year expected in our category in three years"),
    "potential_low": (0.0, True, "k€ per year"),
    "potential_high": (0.0, True, "k€ per year"),
    "kam_spend": (0.0, False, "k€ spent on the account last year"),
}
_YES = ("yes", "y", "true", "1")
_NO = ("no", "n", "false", "0")
_UNKNOWN = ("unknown", "-1", "")
_WILLING_ALLOWED = "yes, no or unknown (also y/n, true/false, 1/0, or empty for unknown)"


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _columns(table: Table, problems: Problems) -> dict[str, int]:
    """Column name -> position; unknown, unnamed and repeated columns are problems."""
    found: dict[str, int] = {}
    suggested: set[str] = set()
    for i, name in enumerate(table.header):
        key = _key(name)
        if key.startswith("#"):
            continue
        if not key:
            if any(row[i] is not None for row in table.rows):
                problems.file(f"row 1: column {i + 1} has values but no name")
            continue
        if key not in COLUMNS:
            close = get_close_matches(key, list(COLUMNS), n=1, cutoff=0.6)
            suggested.update(close)
            problems.column(
                name,
                f"unknown column{suggest(key, list(COLUMNS))}; the columns are "
                f"{', '.join(COLUMNS)} (start a name with '#' to keep a column of notes)",
            )
        elif key in found:
            problems.column(name, f"appears twice (columns {found[key] + 1} and {i + 1})")
        else:
            found[key] = i
    for name in REQUIRED:
        if name not in found and name not in suggested:  # else said as 'did you mean'
            problems.file(f"row 1: missing column {name!r} ({COLUMNS[name]})")
    either = ("share_of_wallet", "category_spend")
    if not any(c in found or c in suggested for c in either):
        problems.file(
            "row 1: missing column 'share_of_wallet' or 'category_spend' (one of them "
            "is required: our share of the account's category spend, or that spend in "
            "k€ per year)"
        )
    for a, b in (("potential_low", "potential_high"), ("potential_high", "potential_low")):
        if a in found and b not in found:
            problems.column(a, f"needs the column {b!r} too (a range has both ends)")
    problems.positions = {name: i for name, i in found.items()}
    return found


class _Reader:
    """Reads the cells of one table into numbers, collecting problems."""

    def __init__(self, table: Table, found: dict[str, int], problems: Problems) -> None:
        self.table, self.found, self.problems = table, found, problems
        texts = [
            (n, name, cell.strip())
            for name in _NUMBERS
            if name in found
            for n, row in zip(table.numbers, table.rows, strict=True)
            if isinstance(cell := row[found[name]], str)
        ]
        self.mark, clashes = decide_mark(texts, table.default_mark)
        self.bad: set[tuple[int, str]] = set()
        for n, name, text, msg in clashes:
            problems.cell(n, name, text, msg)
            self.bad.add((n, name))

    def cells(self, name: str) -> list[tuple[int, Any]]:
        """``(row number, cell)`` of a column; all empty if the file lacks it."""
        i = self.found.get(name)
        rows = zip(self.table.numbers, self.table.rows, strict=True)
        return [(n, None if i is None else r[i]) for n, r in rows]

    def number(self, name: str, n: int, cell: Any) -> float:
        """One number cell as a float (a fraction for percentages); NaN if empty or bad."""
        if cell is None and name == "revenue" and name in self.found:
            self.problems.cell(n, name, "", f"is empty; every account needs its {name}")
        if cell is None or (n, name) in self.bad:
            return np.nan
        percent = isinstance(cell, PercentCell)
        value: Decimal | float | None
        if isinstance(cell, bool) or isinstance(cell, dt.date | dt.time | dt.timedelta):
            what = "a date" if not isinstance(cell, bool) else "true/false"
            self.problems.cell(n, name, cell, f"is {what}, not a number")
            return np.nan
        if isinstance(cell, int | float):
            value = float(cell)
            if not np.isfinite(value):
                self.problems.cell(n, name, cell, "is not a finite number")
                return np.nan
        else:
            text, percent = split_percent(str(cell))
            value = parse_number(text, self.mark)
            if value is None:
                self.problems.cell(
                    n,
                    name,
                    cell,
                    f"is not a number as this file writes them ({CONVENTION[self.mark]})",
                )
                return np.nan
            if percent:
                value = value / 100
        if percent and name not in _FRACTIONS:
            self.problems.cell(
                n, name, cell, f"is a percentage; {name!r} is {COLUMNS[name]}"
            )
            return np.nan
        return self._check(name, n, cell, float(value), percent)

    def _check(self, name: str, n: int, cell: Any, value: float, percent: bool) -> float:
        """A number within its column's bounds, else a problem and NaN."""
        if name in _FRACTIONS:
            what = COLUMNS[name].split(",")[0]
            if not percent and value > 1:
                fraction = f"{value / 100:g}".replace(".", self.mark)
                written = cell.strip() if isinstance(cell, str) else show(cell)
                self.problems.cell(
                    n, name, cell,
                    f"is ambiguous: {name!r} ({what}) is a fraction from 0 to 1 or a "
                    f"percentage written with %; write {written}% or "
                    f"{fraction}",
                )  # fmt: skip
                return np.nan
            if value > 1:
                self.problems.cell(
                    n, name, cell, f"is above 100%; {name!r} ({what}) is at most 100%"
                )
                return np.nan
            low_ok = value > 0 if name == "share_of_wallet" else value >= 0
            if not low_ok:
                least = (
                    "> 0 (the account buys from us)"
                    if name == "share_of_wallet"
                    else ">= 0"
                )
                self.problems.cell(n, name, cell, f"must be {least}: {what}")
                return np.nan
            return value
        bound, strict, unit = _BOUNDS[name]
        if value < bound or (strict and value == bound):
            self.problems.cell(
                n, name, cell, f"must be {'>' if strict else '>='} {bound:g} ({unit})"
            )
            return np.nan
        return value

    def column(self, name: str) -> np.ndarray:
        """A number column as floats (NaN where empty or refused)."""
        return np.array([self.number(name, n, c) for n, c in self.cells(name)], dtype=float)

    def coded(self, name: str, read: Callable[[int, Any], int | None]) -> np.ndarray:
        """A coded column (stage, willingness) as integers, 0 where refused.

        A missing column reads as ``read(n, None)`` only if it is optional (a missing
        required column is one problem of the header, not one per row).
        """
        if name in REQUIRED and name not in self.found:
            return np.zeros(len(self.table.rows), dtype=np.int64)
        return np.array([read(n, c) or 0 for n, c in self.cells(name)], dtype=np.int64)


def _stage(reader: _Reader, n: int, cell: Any) -> int | None:
    allowed = f"allowed: {', '.join(STAGES)} or 1-4"
    if cell is None:
        reader.problems.cell(
            n, "stage", "", f"is empty; every account needs a stage ({allowed})"
        )
        return None
    if isinstance(cell, str):
        key = cell.strip().lower()
        if key in STAGES:
            return STAGES.index(key) + 1
        number = parse_number(key, ".")
    elif isinstance(cell, int | float) and not isinstance(cell, bool):
        number = Decimal(cell) if np.isfinite(cell) else None
    else:
        number = None
    if number is not None and number == number.to_integral_value() and 1 <= number <= 4:
        return int(number)
    hint = suggest(cell.strip().lower(), STAGES) if isinstance(cell, str) else ""
    reader.problems.cell(n, "stage", cell, f"is not a stage{hint}; {allowed}")
    return None


def _willing(reader: _Reader, n: int, cell: Any) -> int:
    if cell is None:
        return -1
    if isinstance(cell, bool):
        return int(cell)
    if isinstance(cell, int | float):
        key = {1.0: "1", 0.0: "0", -1.0: "-1"}.get(float(cell), "?")
    else:
        key = str(cell).strip().lower()
    for code, words in ((1, _YES), (0, _NO), (-1, _UNKNOWN)):
        if key in words:
            return code
    reader.problems.cell(
        n, "willing_to_partner", cell, f"is not allowed; write {_WILLING_ALLOWED}"
    )
    return -2


def _names(reader: _Reader) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    if "account" not in reader.found:
        return [""] * len(reader.table.rows)
    for n, cell in reader.cells("account"):
        name = cell.strip() if isinstance(cell, str) else "" if cell is None else show(cell)
        if not name:
            reader.problems.cell(
                n, "account", "", "is empty; every account needs a name or id"
            )
        elif (key := name.casefold()) in seen:
            reader.problems.cell(
                n, "account", cell,
                f"appears again (first in row {seen[key]}); account names must be unique",
            )  # fmt: skip
        else:
            seen[key] = n
        names.append(name)
    return names


def _cross_checks(reader: _Reader, v: dict[str, np.ndarray]) -> None:
    """Checks between columns of a row, each only where both values were read."""
    p = reader.problems
    for i, n in enumerate(reader.table.numbers):
        rev, share, spend = v["revenue"][i], v["share_of_wallet"][i], v["category_spend"][i]
        cells = reader.table.rows[i]
        given = {k: cells[j] is not None for k, j in reader.found.items()}
        ranged = "potential_low" in given and "potential_high" in given
        either = "share_of_wallet" in given or "category_spend" in given
        if either and not given.get("share_of_wallet") and not given.get("category_spend"):
            p.row(n, "needs 'share_of_wallet' or 'category_spend' (both are empty)")
        if rev > spend:
            p.cell(
                n, "category_spend", cells[reader.found["category_spend"]],
                f"is less than the revenue {rev:g}; the category spend is the account's "
                "whole spend in our category, what it buys from us included",
            )  # fmt: skip
        elif abs(rev / spend - share) > 0.01 * share:
            p.row(
                n,
                f"'share_of_wallet' {share:.4g} ({share * 100:.3g}%) and revenue / "
                f"'category_spend' = {rev:g} / {spend:g} = {rev / spend * 100:.3g}% must "
                "agree within 1 %; correct one of them or give only one",
            )
        yis, yac = v["years_in_stage"][i], v["years_as_customer"][i]
        if yis > yac:
            p.row(
                n,
                f"'years_in_stage' {yis:g} is more than 'years_as_customer' {yac:g}; "
                "the stage cannot be older than the relationship",
            )
        low, high = v["potential_low"][i], v["potential_high"][i]
        if given.get("potential") and (
            given.get("potential_low") or given.get("potential_high")
        ):
            p.row(
                n,
                "gives 'potential' and a range ('potential_low', 'potential_high'); "
                "give one",
            )
        elif ranged and given["potential_low"] != given["potential_high"]:
            missing = "potential_high" if given.get("potential_low") else "potential_low"
            p.cell(
                n,
                missing,
                "",
                "is empty; a range needs both 'potential_low' and 'potential_high'",
            )
        elif low > high:
            p.row(n, f"'potential_low' {low:g} is more than 'potential_high' {high:g}")


def read_columns(table: Table, problems: Problems) -> dict[str, Any] | None:
    """The normalised columns of a table, or None after adding its problems.

    Returns:
        ``account`` (list of names) and, as NumPy arrays in row order,
        ``revenue``, ``stage`` (int 1-4), ``share_of_wallet``, ``category_spend``,
        the optional number columns (NaN where not given) and
        ``willing_to_partner`` (1 yes, 0 no, -1 unknown). None if there were
        problems (every problem of the table is in ``problems``).
    """
    found = _columns(table, problems)
    if not table.rows:
        problems.file("no accounts: the file has a header row but no rows below it")
        return None
    if len(table.rows) > MAX_ACCOUNTS:
        problems.file(
            f"{len(table.rows)} accounts, more than the {MAX_ACCOUNTS} a portfolio file "
            "may hold; simulate the largest accounts or a segment at a time"
        )
        return None
    for n, count in table.extra:
        problems.row(
            n,
            f"{count} values but the header names {len(table.header)} columns (a "
            "separator inside a value? put the value in quotes)",
        )
    if table.extra:  # the values of those rows are shifted: not read one by one
        shifted = {n for n, _ in table.extra}
        kept = [i for i, n in enumerate(table.numbers) if n not in shifted]
        table = replace(
            table,
            rows=[table.rows[i] for i in kept],
            numbers=[table.numbers[i] for i in kept],
        )
    reader = _Reader(table, found, problems)
    out: dict[str, Any] = {"account": _names(reader)}
    out |= {name: reader.column(name) for name in _NUMBERS}
    out["stage"] = reader.coded("stage", lambda n, c: _stage(reader, n, c))
    out["willing_to_partner"] = reader.coded(
        "willing_to_partner", lambda n, c: _willing(reader, n, c)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        _cross_checks(reader, out)
    if problems.lines:  # the caller raises them
        return None
    only_spend = np.isnan(out["share_of_wallet"])
    out["share_of_wallet"] = np.where(
        only_spend, out["revenue"] / out["category_spend"], out["share_of_wallet"]
    )
    out["category_spend"] = np.where(
        np.isnan(out["category_spend"]),
        out["revenue"] / out["share_of_wallet"],
        out["category_spend"],
    )
    return out
