"""Portfolio: your own key accounts, read from a spreadsheet and validated.

:meth:`Portfolio.from_file` reads a ``.csv`` or ``.xlsx`` file (the columns and their
units: :mod:`kamsim.portfolio.columns`; how numbers may be written:
:mod:`kamsim.portfolio.decimals`; file types and encodings:
:mod:`kamsim.portfolio.sheets`); :meth:`Portfolio.from_frame` reads a DataFrame with
the same columns. Either refuses bad input before anything runs, with one
:class:`~kamsim.portfolio.errors.PortfolioError` listing every problem, one line each
(row, column, value and what is allowed).

The result is the normalised view the simulation consumes: one read-only NumPy array
per quantity, one entry per account in file order, in fixed units (k€ per year,
fractions, years).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from kamsim.portfolio.columns import STAGES, read_columns
from kamsim.portfolio.errors import PortfolioError, Problems
from kamsim.portfolio.sheets import Table, frame_table, read_table

__all__ = ["FRAME_COLUMNS", "Portfolio"]

#: The columns of :meth:`Portfolio.to_frame`, in order (the file's column names).
FRAME_COLUMNS = (
    "account",
    "revenue",
    "stage",
    "share_of_wallet",
    "category_spend",
    "years_in_stage",
    "years_as_customer",
    "potential",
    "potential_low",
    "potential_high",
    "willing_to_partner",
    "gross_margin",
    "kam_spend",
)
#: Attribute of :class:`Portfolio` holding each column of the frame.
_ATTRIBUTE = {"account": "names", "category_spend": "wallet"}


def _k(x: float) -> str:
    """k€ with a thin space between thousands: ``12 345``."""
    return f"{x:,.0f}".replace(",", "\u202f")


@dataclass(frozen=True, eq=False)
class Portfolio:
    """A supplier's key accounts, validated, in fixed units (build with ``from_*``).

    Every array has one entry per account, in the file's order, and is read-only.
    Nothing the user gave is changed (a percentage becomes its fraction, a decimal
    comma a decimal point); what the user did not give is NaN, never filled in.

    Attributes:
        names: the accounts' names or ids, unique.
        revenue: k€ per year each account buys from us (> 0).
        stage: KAM stage, int 1-4 (1 tactical, 2 cooperative, 3 interdependent,
            4 strategic; :class:`kamsim.Stage`).
        share_of_wallet: our share of the account's category spend, in (0, 1]; from
            the file, or revenue / category spend when only the spend was given.
        wallet: the account's whole spend in our category (``category_spend``), k€
            per year, >= revenue; from the file, or revenue / share of wallet when
            only the share was given.
        years_in_stage: years in the current stage (NaN if not given).
        years_as_customer: years the account has bought from us (NaN if not given).
        potential: expected category spend in three years, k€ per year (NaN if not
            given, also when a range was given instead).
        potential_low: low end of a range for the potential, k€ per year (NaN if no
            range was given).
        potential_high: high end of that range, k€ per year (NaN if none).
        willing_to_partner: 1 yes, 0 no, -1 unknown (int).
        gross_margin: our gross margin on the account's revenue, in [0, 1] (NaN if
            not given).
        kam_spend: k€ spent on managing the account last year (NaN if not given).
        source: the file the portfolio was read from, or None for a frame.
    """

    names: tuple[str, ...]
    revenue: np.ndarray
    stage: np.ndarray
    share_of_wallet: np.ndarray
    wallet: np.ndarray
    years_in_stage: np.ndarray
    years_as_customer: np.ndarray
    potential: np.ndarray
    potential_low: np.ndarray
    potential_high: np.ndarray
    willing_to_partner: np.ndarray
    gross_margin: np.ndarray
    kam_spend: np.ndarray
    source: str | None = None

    def __post_init__(self) -> None:
        n = len(self.names)
        for f in fields(self):
            if f.name in ("names", "source"):
                continue
            kind = np.int64 if f.name in ("stage", "willing_to_partner") else np.float64
            array = np.array(getattr(self, f.name), dtype=kind)  # a copy, then frozen
            if array.shape != (n,):
                raise ValueError(
                    f"{f.name!r} must have one entry per account ({n}): {array.shape}"
                )
            array.flags.writeable = False
            object.__setattr__(self, f.name, array)
        object.__setattr__(self, "names", tuple(self.names))

    @classmethod
    def _from_table(cls, table: Table | None, problems: Problems) -> Portfolio:
        columns = read_columns(table, problems) if table is not None else None
        problems.raise_if_any()
        if table is None or columns is None:  # never: no problem means both were read
            raise PortfolioError(["the portfolio could not be read"])
        kwargs = {_ATTRIBUTE.get(c, c): columns[c] for c in FRAME_COLUMNS}
        return cls(**kwargs, source=table.where)

    @classmethod
    def from_file(cls, path: str | Path) -> Portfolio:
        """Read and validate a portfolio file (``.csv`` or ``.xlsx``).

        Raises:
            PortfolioError: listing every problem of the file, one line each: a
                missing file, an unsupported type, an unreadable or empty file, a
                missing or unknown column, and every value that is not allowed.
        """
        problems = Problems(str(path))
        return cls._from_table(read_table(path, problems), problems)

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> Portfolio:
        """Read and validate a DataFrame with the columns of a portfolio file.

        Cells may be numbers or text as in a file; the frame's row ``i`` is called
        row ``i + 2`` in messages, as a spreadsheet with a header would number it.
        The frame is not modified.

        Raises:
            PortfolioError: listing every problem, one line each.
        """
        problems = Problems(None)
        return cls._from_table(frame_table(df, problems), problems)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        where = f", source={self.source!r}" if self.source else ""
        revenue = _k(self.revenue.sum())
        return f"Portfolio({len(self)} accounts, revenue {revenue} k€/yr{where})"

    def to_frame(self) -> pd.DataFrame:
        """The normalised table: one row per account, the columns of :data:`FRAME_COLUMNS`.

        Units as in the file (k€ per year, fractions, years); ``stage`` is 1-4,
        ``willing_to_partner`` 1/0/-1, and NaN marks what was not given. Reading it
        back with :meth:`from_frame` gives the same portfolio.
        """
        data = {c: getattr(self, _ATTRIBUTE.get(c, c)) for c in FRAME_COLUMNS}
        data["account"] = list(self.names)
        return pd.DataFrame(data, columns=list(FRAME_COLUMNS))

    def summary(self) -> str:
        """A few lines: accounts, revenue, share of wallet, stages, what was estimated."""
        n, total = len(self), float(self.revenue.sum())
        top = int(np.argmax(self.revenue))
        stages = ", ".join(
            f"{name} {int((self.stage == s).sum())}" for s, name in enumerate(STAGES, 1)
        )
        willing = {
            code: int((self.willing_to_partner == code).sum()) for code in (1, 0, -1)
        }
        ranged = int(np.isfinite(self.potential_low).sum())
        lines = [
            f"{n} key account{'s' if n != 1 else ''}"
            + (f" ({self.source})" if self.source else ""),
            f"  revenue: {_k(total)} k€/yr in all; largest {self.names[top]} "
            f"{_k(self.revenue[top])} k€/yr ({self.revenue[top] / total:.0%})",
            f"  share of wallet: {total / self.wallet.sum():.0%} of their category spend "
            f"of {_k(self.wallet.sum())} k€/yr",
            f"  stages: {stages}",
            f"  potential: estimated for {int(np.isfinite(self.potential).sum())}, a range "
            f"for {ranged}; willing to partner: {willing[1]} yes, {willing[0]} no, "
            f"{willing[-1]} unknown",
        ]
        return "\n".join(lines)
