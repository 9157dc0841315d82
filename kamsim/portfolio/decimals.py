"""Numbers as spreadsheets write them: decimal point or comma, thousands, percentages.

A file writes its numbers one way, its *decimal mark*:

* **decimal point** (``.``): thousands separated by ``,``, a space or an apostrophe in
  groups of three, e.g. ``1,250.5``, ``1 250.5``, ``0.35``;
* **decimal comma** (``,``): thousands separated by ``.``, a space or an apostrophe in
  groups of three, e.g. ``1.250,5``, ``1 250,5``, ``0,35``.

Spaces include the no-break spaces spreadsheets write (U+00A0, U+202F). A leading
``+``/``-`` (or the minus sign U+2212) is allowed; a trailing ``%`` (with or without a
space before it) marks a percentage, read as a fraction (``35%`` is 0.35). Numbers are
read exactly (:class:`decimal.Decimal`) and rounded once to a float, so ``0.35``,
``0,35`` and ``35%`` are the same float.

:func:`evidence` tells which mark one cell proves: ``12.5``, ``0.250`` and
``1,250.5`` prove a decimal point; ``1.250.000`` proves a decimal comma (the dots are
thousands); ``1.250`` proves nothing (1250 or 1.25?), nor does ``1250``.
:func:`decide_mark` picks the file's mark from all its cells (see its docstring).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from functools import cache

__all__ = ["CONVENTION", "decide_mark", "evidence", "parse_number", "split_percent"]

_SPACES = " \u00a0\u202f\u2009'\u2019"
_MINUS = "\u2212"

#: How each decimal mark writes a number, for messages.
CONVENTION = {
    ".": "decimal point, thousands ',' or space, e.g. 1,250.5",
    ",": "decimal comma, thousands '.' or space, e.g. 1.250,5",
}


@cache
def _pattern(mark: str) -> re.Pattern[str]:
    thousands = re.escape(("," if mark == "." else ".") + _SPACES)
    grouped = rf"\d{{1,3}}(?P<g>[{thousands}])\d{{3}}(?:(?P=g)\d{{3}})*"
    return re.compile(
        rf"(?P<sign>[+\-{_MINUS}]?)(?P<int>{grouped}|\d+)?(?:{re.escape(mark)}(?P<frac>\d+))?"
    )


def split_percent(text: str) -> tuple[str, bool]:
    """The text without a trailing ``%`` (and spaces), and whether it had one."""
    body = text.strip()
    if body.endswith("%"):
        return body[:-1].rstrip(_SPACES), True
    return body, False


def parse_number(text: str, mark: str) -> Decimal | None:
    """The number ``text`` writes with decimal mark ``mark``, or None if it is none.

    ``text`` has no ``%`` (see :func:`split_percent`) and no surrounding spaces.
    """
    m = _pattern(mark).fullmatch(text)
    if m is None or (m["int"] is None and m["frac"] is None):
        return None
    digits = re.sub(r"\D", "", m["int"] or "0")
    value = Decimal(f"{digits}.{m['frac'] or '0'}")
    return -value if m["sign"] in ("-", _MINUS) else value


def evidence(text: str) -> str | None:
    """The decimal mark one number's text proves (``"."``/``","``), or None.

    A text with both marks proves the later one (``1.250,5``: comma); one mark
    written twice or more proves the other (``1.250.000``: comma); one mark written
    once proves itself unless it can be a thousands separator, i.e. it follows one to
    three digits (not a lone 0) and precedes exactly three (``1.250`` proves nothing).
    """
    body = split_percent(text)[0].lstrip("+-" + _MINUS)
    body = "".join(c for c in body if c not in _SPACES)
    if not body or any(c not in "0123456789.," for c in body):
        return None
    dot, comma = body.rfind("."), body.rfind(",")
    if dot >= 0 and comma >= 0:
        return "." if dot > comma else ","
    if dot < 0 and comma < 0:
        return None
    mark = "." if dot >= 0 else ","
    if body.count(mark) > 1:
        return "," if mark == "." else "."
    left, right = body.split(mark)
    if len(right) == 3 and 1 <= len(left) <= 3 and left != "0":
        return None
    return mark


def decide_mark(
    cells: Iterable[tuple[int, str, str]], default: str
) -> tuple[str, list[tuple[int, str, str, str]]]:
    """The file's decimal mark from its number cells, and the cells that contradict it.

    Args:
        cells: ``(row, column, text)`` of every non-empty text cell of a number column.
        default: the mark when the cells prove none or both (from the separator: a
            comma-separated file writes a decimal point, a semicolon-separated one a
            decimal comma).

    Returns:
        ``(mark, problems)``: the mark is the one every cell that proves a mark
        proves, else ``default``. When cells prove both marks, ``problems`` lists
        ``(row, column, text, message)`` for every cell proving the other mark and
        every cell that can be read either way, so nothing is guessed.
    """
    cells = list(cells)
    proved = {cell: evidence(cell[2]) for cell in cells}
    marks = {m for m in proved.values() if m is not None}
    if len(marks) < 2:
        return (marks.pop() if marks else default), []
    example = next(c for c, m in proved.items() if m == default)
    where = f"as in row {example[0]}, column {example[1]!r}: {example[2]!r}"
    name = "a decimal point" if default == "." else "a decimal comma"
    other = "a decimal comma" if default == "." else "a decimal point"
    problems = []
    for (row, column, text), m in proved.items():
        if m is not None and m != default:
            msg = (
                f"writes {other}, but this file writes {name} ({where}); write all "
                f"numbers of a file one way ({CONVENTION[default]})"
            )
        elif m is None and parse_number(split_percent(text)[0], ".") != parse_number(
            split_percent(text)[0], ","
        ):
            msg = (
                f"is ambiguous in a file that writes both decimal marks (thousands or "
                f"decimals?); write all numbers of a file one way ({CONVENTION[default]})"
            )
        else:
            continue
        problems.append((row, column, text, msg))
    return default, problems
