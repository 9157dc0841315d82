"""Your own portfolio: key accounts read from a spreadsheet (issue 21).

* :class:`Portfolio` — ``Portfolio.from_file("accounts.csv")`` or
  ``Portfolio.from_frame(df)``: validated accounts in fixed units
  (:mod:`kamsim.portfolio.portfolio`);
* the columns, their units and what is allowed: :mod:`kamsim.portfolio.columns`;
* how numbers may be written (decimal comma, thousands, ``%``):
  :mod:`kamsim.portfolio.decimals`; file types and encodings:
  :mod:`kamsim.portfolio.sheets`;
* :class:`PortfolioError` — every problem of a file, one line each.
"""

from kamsim.portfolio.columns import COLUMNS, MAX_ACCOUNTS
from kamsim.portfolio.errors import PortfolioError
from kamsim.portfolio.portfolio import FRAME_COLUMNS, Portfolio

__all__ = ["COLUMNS", "FRAME_COLUMNS", "MAX_ACCOUNTS", "Portfolio", "PortfolioError"]
