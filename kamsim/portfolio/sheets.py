"""A portfolio file's cells as the spreadsheet holds them: CSV, Excel or a DataFrame.

:func:`read_table` reads a file into a :class:`Table` (its header, its rows of raw
cells and the spreadsheet's row numbers) without interpreting any value; the columns
are checked and read by :mod:`kamsim.portfolio.columns`.

* ``.csv`` (and ``.tsv``, ``.txt``): UTF-8, with or without a byte-order mark. The
  separator is the one the header row uses: ``;`` if the header contains one, else a
  tab if it contains one, else ``,`` (Excel's ``sep=;`` first line is honoured too).
  The *default* decimal mark follows from the separator: a comma-separated file
  writes a decimal point (``1,250.5``), a semicolon- or tab-separated one a decimal
  comma (``1.250,5``), as spreadsheets do; the file's numbers decide in the end
  (:func:`kamsim.portfolio.decimals.decide_mark`). A file that is not UTF-8 (an old
  "CSV (MS-DOS)" or "Windows" export, or UTF-16 "Unicode text") is refused with one
  line saying how to save it as UTF-8: its encoding cannot be told reliably, and
  guessing would garble account names.
* ``.xlsx`` (and ``.xlsm``) through openpyxl: the sheet named ``portfolio`` (any case)
  if there is one, else the first sheet; the header in row 1. Numbers are the
  numbers the cells hold (a cell formatted as a percentage holds its fraction);
  formulas give their saved results (a formula never computed, as in a file
  written by a program, is refused: open and save it in a spreadsheet).

Completely empty rows (anywhere) and empty columns without a name are skipped; they
keep their numbers, so row numbers in messages are the spreadsheet's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kamsim.portfolio.errors import Problems

__all__ = ["MAX_BYTES", "SUFFIXES", "PercentCell", "Table", "frame_table", "read_table"]

#: File types read, by suffix.
SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
#: Largest file read (a portfolio of 500 accounts needs well under 1 MB).
MAX_BYTES = 20_000_000
_UNSUPPORTED_HINTS = {
    ".xls": "an Excel 97-2003 workbook; save it as .xlsx",
    ".ods": "an OpenDocument spreadsheet; save it as .xlsx or .csv",
    ".numbers": "a Numbers document; export it as .xlsx or .csv",
}


class PercentCell(float):
    """A spreadsheet number shown as a percentage; its value is the fraction (0.35)."""

    def __repr__(self) -> str:
        return f"{float(self) * 100:g}%"


@dataclass
class Table:
    """A file's cells before any is interpreted.

    Attributes:
        where: the file's path (or None for a DataFrame), the prefix of messages.
        header: the header cells (row 1), as text.
        rows: one list of cells per non-empty row, as long as the header: ``str``,
            ``int``, ``float`` (:class:`PercentCell` for percentages), ``bool``, a
            date, or ``None`` for an empty cell.
        numbers: the spreadsheet's number of each row (the header is row 1).
        default_mark: the decimal mark of the file's text numbers when they prove
            none (``"."`` or ``","``).
        extra: ``(row, count)`` of rows with values beyond the named columns.
    """

    where: str | None
    header: list[str]
    rows: list[list[Any]]
    numbers: list[int]
    default_mark: str
    extra: list[tuple[int, int]]


def _blank(cell: Any) -> bool:
    if cell is None:
        return True
    if isinstance(cell, str):
        return not cell.strip()
    return isinstance(cell, float) and math.isnan(cell)


def _assemble(
    where: str | None, records: list[tuple[int, list[Any]]], mark: str, problems: Problems
) -> Table | None:
    """The Table of ``records`` (row number, cells), header first; None if empty."""
    records = [(n, cells) for n, cells in records if not all(map(_blank, cells))]
    if not records:
        problems.file(
            "the file is empty; it needs a header row (account, revenue, stage, "
            "share_of_wallet or category_spend) and one row per account"
        )
        return None
    (first, header), body = records[0], records[1:]
    if first != 1:
        problems.file(f"row 1 is empty; the header must be in row 1 (it is in row {first})")
        return None
    named = [str(h).strip() if h is not None else "" for h in header]
    # Unnamed trailing columns are kept only when a row has a value in them.
    width = max((i + 1 for i, h in enumerate(named) if h), default=0)
    rows, numbers, extra = [], [], []
    for n, cells in body:
        beyond = [c for c in cells[width:] if not _blank(c)]
        if beyond:
            extra.append((n, width + len(beyond)))
        cells = [None if _blank(c) else c for c in cells[:width]]
        rows.append(cells + [None] * (width - len(cells)))
        numbers.append(n)
    return Table(where, named[:width], rows, numbers, mark, extra)


def _decode(data: bytes, problems: Problems) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.file(
            "the file is UTF-16 (Excel's 'Unicode text'); save it as 'CSV UTF-8 "
            "(comma delimited)' or as .xlsx"
        )
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        problems.file(
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02X} in row {row}); save it "
            "as 'CSV UTF-8 (comma delimited)' or as .xlsx"
        )
        return None


def _separator(line: str) -> str:
    """The separator of a header line: ``;``, else tab, else ``,`` (outside quotes)."""
    bare = "".join(line.split('"')[::2])
    return next((s for s in (";", "\t") if s in bare), ",")


def _read_csv(path: Path, problems: Problems) -> Table | None:
    text = _decode(path.read_bytes(), problems)
    if text is None:
        return None
    lines = text.splitlines()
    first = lines[0].strip().lower() if lines else ""
    skip = 0
    if first.startswith("sep=") and len(first) == 5:
        sep, skip = lines[0].strip()[4], 1
    else:
        sep = _separator(lines[0] if lines else "")
    body = io.StringIO(text.split("\n", skip)[-1] if skip else text, newline="")
    records = [(i + 1, list(r)) for i, r in enumerate(csv.reader(body, delimiter=sep))]
    return _assemble(str(path), records, "." if sep == "," else ",", problems)


def _xlsx_value(cell: Any, formula: Any, row: int, problems: Problems) -> Any:
    value = cell.value
    if value is None and isinstance(formula, str) and formula.startswith("="):
        problems.file(
            f"row {row}: the formula {formula!r} has no saved result (the file was "
            "written by a program); open the file in a spreadsheet and save it"
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "%" in (getattr(cell, "number_format", None) or ""):
            return PercentCell(value)
    return value


def _read_xlsx(path: Path, problems: Problems) -> Table | None:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        books = [openpyxl.load_workbook(path, read_only=True, data_only=d) for d in (1, 0)]
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        problems.file(f"cannot read the file as an Excel workbook (.xlsx): {exc}")
        return None
    try:
        sheets = []
        for book in books:
            names = [s.lower().strip() for s in book.sheetnames]
            ws = book.worksheets[names.index("portfolio") if "portfolio" in names else 0]
            ws.reset_dimensions()  # files from some programs state wrong dimensions
            sheets.append(list(ws.iter_rows()))
        records = []
        for i, (cells, formulas) in enumerate(zip(*sheets, strict=True)):
            values = [
                _xlsx_value(c, f.value, i + 1, problems)
                for c, f in zip(cells, formulas, strict=True)
            ]
            records.append((i + 1, values))
    finally:
        for book in books:
            book.close()
    return _assemble(str(path), records, ".", problems)


def read_table(path: str | Path, problems: Problems) -> Table | None:
    """The cells of a portfolio file, or None after adding its problems to ``problems``.

    A missing file, a folder, an unsupported type, an unreadable or non-UTF-8 file
    and an empty one are each one problem.
    """
    path = Path(path)
    if not path.exists():
        problems.file("portfolio file not found")
        return None
    if path.is_dir():
        problems.file("is a folder, not a portfolio file (.csv or .xlsx)")
        return None
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        hint = _UNSUPPORTED_HINTS.get(suffix, "save it as .csv or .xlsx")
        problems.file(
            f"unsupported file type {path.suffix or '(no extension)'!r}: {hint} "
            f"(supported: {', '.join(SUFFIXES)})"
        )
        return None
    size = path.stat().st_size
    if size > MAX_BYTES:
        problems.file(
            f"the file has {size:_} bytes, more than a portfolio needs ({MAX_BYTES:_})"
        )
        return None
    try:
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path, problems)
        return _read_csv(path, problems)
    except OSError as exc:
        problems.file(f"cannot read the file: {exc}")
    except csv.Error as exc:
        problems.file(f"malformed CSV: {exc}")
    return None


def _python(value: Any) -> Any:
    """A DataFrame cell as a plain Python value (None for NaN, NA and NaT)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str | dt.datetime):
        value = value.item()  # NumPy scalars
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def frame_table(df: pd.DataFrame, problems: Problems) -> Table | None:
    """The cells of a DataFrame, one row per account (row ``i`` is numbered ``i + 2``).

    Text numbers in the frame are read as in a comma-separated file (decimal point
    unless they all prove a decimal comma).
    """
    if not isinstance(df, pd.DataFrame):
        problems.file(f"a portfolio frame must be a pandas DataFrame: {type(df).__name__}")
        return None
    header = [str(c) for c in df.columns]
    records = [(1, list(header))]
    records += [
        (i + 2, [_python(v) for v in row]) for i, row in enumerate(df.itertuples(False))
    ]
    if len(records) == 1 or not header:
        problems.file(
            "the frame is empty; it needs the columns account, revenue, stage, "
            "share_of_wallet or category_spend and one row per account"
        )
        return None
    return _assemble(None, records, ".", problems)
