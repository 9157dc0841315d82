"""The one error of a portfolio file, and how its lines are written.

Every problem of a file is one line naming the row (as the spreadsheet numbers it:
the header is row 1), the column, the value as written and what is allowed, e.g.::

    portfolio.csv: row 4, column 'revenue': '-20' must be > 0 (k€ per year the account
    buys from us)

All problems of a file are collected and raised together as one
:class:`PortfolioError` whose message is the list of lines: problems of the whole
file first, then by row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kamsim.model.params import ParameterError

__all__ = ["PortfolioError", "Problems", "show"]

#: Most problem lines one error lists (a badly shifted file can have thousands).
MAX_LINES = 100


class PortfolioError(ParameterError):
    """A portfolio file or frame cannot be read or holds invalid values.

    ``str(error)`` is one line per problem; :attr:`problems` holds the same lines.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        lines = list(self.problems[:MAX_LINES])
        if len(self.problems) > MAX_LINES:
            lines.append(f"... and {len(self.problems) - MAX_LINES} more problems")
        super().__init__("\n".join(lines))


def show(value: Any) -> str:
    """A cell's value as the user wrote it, quoted (``'35%'``, ``'1.250,5'``, ``12.5``)."""
    if isinstance(value, str):
        return repr(value)
    if type(value) is float and value.is_integer():  # a percentage cell shows its %
        return str(int(value))
    return str(value)


class Problems:
    """The problems found so far in one file, each one line.

    Args:
        where: the file's path (or ``None`` for a frame), the prefix of every line.
    """

    def __init__(self, where: str | None) -> None:
        self.where = where
        #: Column name -> position, to list a row's problems left to right.
        self.positions: dict[str, int] = {}
        self._found: list[tuple[int, int, str]] = []  # (row, position, line)

    @property
    def lines(self) -> list[str]:
        """Every problem's line: the whole file's first, then by row, left to right."""
        return [line for *_, line in sorted(self._found, key=lambda p: p[:2])]

    def _prefix(self) -> str:
        return f"{self.where}: " if self.where else ""

    def file(self, text: str) -> None:
        """A problem of the whole file (no row, no column)."""
        self._found.append((0, 0, self._prefix() + text))

    def column(self, column: str, text: str) -> None:
        """A problem of a column as a whole (its header, row 1)."""
        line = f"{self._prefix()}row 1, column {column!r}: {text}"
        self._found.append((1, 0, line))

    def cell(self, row: int, column: str, value: Any, text: str) -> None:
        """A problem of one cell: ``row R, column 'c': 'value' <text>``."""
        line = f"{self._prefix()}row {row}, column {column!r}: {show(value)} {text}"
        self._found.append((row, self.positions.get(column, 0), line))

    def row(self, row: int, text: str) -> None:
        """A problem of a row as a whole (values of several columns disagree)."""
        self._found.append((row, 10**6, f"{self._prefix()}row {row}: {text}"))

    def raise_if_any(self) -> None:
        """Raise one :class:`PortfolioError` listing every problem, if there is one."""
        if self._found:
            raise PortfolioError(self.lines)
