"""Your own portfolio (issue 21), the input layer: reading, validating, normalising.

Bad input is refused with one line per problem naming the row, the column and the
value; good files in either spreadsheet locale, with a BOM, percentages or as .xlsx
read back to the same normalised values, and the user's values are never altered.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kamsim
from kamsim import ParameterError, Portfolio, PortfolioError
from kamsim.portfolio import FRAME_COLUMNS, MAX_ACCOUNTS
from kamsim.portfolio.decimals import evidence, parse_number

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "portfolio.csv"
HEADER = "account,revenue,stage,share_of_wallet"
GOOD = HEADER + "\nNordwerk Logistics,400,tactical,35%\nAlbis Pharma,120,2,0.2\n"


def _csv(tmp_path: Path, text: str, name: str = "p.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _problems(tmp_path: Path, text: str, **kw: str) -> list[str]:
    """The lines of the PortfolioError that reading ``text`` as a file raises."""
    with pytest.raises(PortfolioError) as info:
        Portfolio.from_file(_csv(tmp_path, text, **kw))
    assert str(info.value) == "\n".join(info.value.problems)
    return list(info.value.problems)


def _one(tmp_path: Path, text: str, **kw: str) -> str:
    lines = _problems(tmp_path, text, **kw)
    assert len(lines) == 1, lines
    return lines[0]


# ------------------------------------------------------------------ bad input
def test_empty_file_is_one_line(tmp_path: Path) -> None:
    """An empty file (or one of blank lines) is one line saying what a file needs."""
    line = _one(tmp_path, "\n  \n")
    assert "p.csv: the file is empty" in line and "header row" in line


def test_header_only_is_one_line(tmp_path: Path) -> None:
    """A header without rows is one line: no accounts."""
    line = _one(tmp_path, HEADER + "\n")
    assert line.endswith("no accounts: the file has a header row but no rows below it")


def test_duplicate_accounts_name_both_rows(tmp_path: Path) -> None:
    """A repeated account name (any case) names its row, the column and the first row."""
    line = _one(tmp_path, GOOD + " nordwerk logistics ,50,1,10%\n")
    assert "row 4, column 'account': ' nordwerk logistics '" in line
    assert "appears again (first in row 2)" in line


def test_share_above_100_percent(tmp_path: Path) -> None:
    """A share of wallet above 100 % is refused, naming row, column and value."""
    line = _one(tmp_path, HEADER + "\nA,400,1,120%\n")
    assert "row 2, column 'share_of_wallet': '120%' is above 100%" in line


def test_bare_share_above_one_is_ambiguous(tmp_path: Path) -> None:
    """A bare share of 35 is ambiguous: the line suggests 35% or 0.35."""
    line = _one(tmp_path, HEADER + "\nA,400,1,35\n")
    assert "row 2, column 'share_of_wallet': '35' is ambiguous" in line
    assert "write 35% or 0.35" in line


def test_revenue_larger_than_category_spend(tmp_path: Path) -> None:
    """A category spend below the revenue is refused (the spend includes our revenue)."""
    line = _one(tmp_path, "account,revenue,stage,category_spend\nA,400,1,300\n")
    assert "row 2, column 'category_spend': '300' is less than the revenue 400" in line


def test_share_and_spend_must_agree(tmp_path: Path) -> None:
    """With both share and spend, they must agree within 1 %: one line per such row."""
    text = "account,revenue,stage,share_of_wallet,category_spend\n"
    text += "A,400,1,40%,1000\nB,400,1,35%,1000\nC,400,1,40.3%,1000\n"
    line = _one(tmp_path, text)
    assert line.startswith(f"{tmp_path / 'p.csv'}: row 3: 'share_of_wallet' 0.35 (35%)")
    assert "400 / 1000 = 40%" in line and "within 1 %" in line


def test_more_rows_than_the_limit(tmp_path: Path) -> None:
    """More than MAX_ACCOUNTS rows is one line naming the count and the limit."""
    rows = "".join(f"A{i},100,1,10%\n" for i in range(MAX_ACCOUNTS + 1))
    line = _one(tmp_path, HEADER + "\n" + rows)
    assert f"{MAX_ACCOUNTS + 1} accounts, more than the {MAX_ACCOUNTS}" in line
    fits = rows.removesuffix(f"A{MAX_ACCOUNTS},100,1,10%\n")
    assert len(Portfolio.from_file(_csv(tmp_path, HEADER + "\n" + fits))) == MAX_ACCOUNTS


def test_missing_required_column(tmp_path: Path) -> None:
    """A missing required column is one line for the header, not one per row."""
    line = _one(tmp_path, "account,revenue,share_of_wallet\nA,400,10%\nB,50,20%\n")
    assert "row 1: missing column 'stage'" in line
    line = _one(tmp_path, "account,revenue,stage\nA,400,1\n")
    assert "missing column 'share_of_wallet' or 'category_spend'" in line


def test_unknown_stage_suggests_the_closest(tmp_path: Path) -> None:
    """An unknown stage names row, column and value, the stages, and a close one."""
    lines = _problems(tmp_path, HEADER + "\nA,400,Strategc,10%\nB,400,5,10%\nC,1,2.5,1%\n")
    assert len(lines) == 3
    assert (
        "row 2, column 'stage': 'Strategc' is not a stage (did you mean 'strategic'?)"
        in (lines[0])
    )
    assert "allowed: tactical, cooperative, interdependent, strategic or 1-4" in lines[0]
    assert "row 3, column 'stage': '5' is not a stage" in lines[1]
    assert "row 4, column 'stage': '2.5' is not a stage" in lines[2]


@pytest.mark.parametrize("revenue", ["-20", "0", "0,0"])
def test_negative_or_zero_revenue(tmp_path: Path, revenue: str) -> None:
    """A revenue <= 0 is refused, naming the value and the unit."""
    line = _one(tmp_path, f'{HEADER}\nA,"{revenue}",1,10%\n')
    assert f"row 2, column 'revenue': '{revenue}' must be > 0 (k€ per year" in line


def test_empty_revenue_is_refused(tmp_path: Path) -> None:
    """The revenue is required in every row."""
    line = _one(tmp_path, f"{HEADER}\nA,,1,10%\n")
    assert "row 2, column 'revenue': '' is empty" in line


def test_file_not_found(tmp_path: Path) -> None:
    """A missing file is one line naming it."""
    with pytest.raises(PortfolioError, match=r"nope\.csv: portfolio file not found$"):
        Portfolio.from_file(tmp_path / "nope.csv")


@pytest.mark.parametrize(("name", "hint"), [("p.xls", "Excel 97-2003"), ("p.json", ".csv")])
def test_unsupported_extension(tmp_path: Path, name: str, hint: str) -> None:
    """A file type other than .csv/.xlsx is one line naming the type and the remedy."""
    line = _one(tmp_path, GOOD, name=name)
    assert f"unsupported file type '{Path(name).suffix}'" in line and hint in line


def test_unknown_column_suggests_the_closest(tmp_path: Path) -> None:
    """An unknown column gets a 'did you mean'; a '#' column is a note and ignored."""
    line = _one(tmp_path, "account,revnue,stage,share_of_wallet,# notes\nA,4,1,5%,x\n")
    assert "row 1, column 'revnue': unknown column (did you mean 'revenue'?)" in line
    ok = Portfolio.from_file(_csv(tmp_path, "Account , REVENUE,Stage,Share of wallet,#n\n"
                                  "A,4,1,5%,hello\n"))  # fmt: skip
    assert ok.names == ("A",) and ok.revenue[0] == 4


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    """A cp1252 file is refused in one line naming the byte, the row and the remedy."""
    line = _one(tmp_path, GOOD + "Grünfeld,5,1,5%\n", encoding="cp1252")
    assert "not UTF-8 (byte 0xFC in row 4)" in line and "CSV UTF-8" in line
    line = _one(tmp_path, GOOD, encoding="utf-16")
    assert "UTF-16" in line


def test_every_problem_is_collected_one_line_each(tmp_path: Path) -> None:
    """Problems in several rows and columns all come back, sorted by row."""
    text = (
        "account,revenue,stage,share_of_wallet,years_in_stage,years_as_customer,"
        "potential,potential_low,potential_high,willing_to_partner,gross_margin\n"
        "A,abc,1,10%,5,2,,,,maybe,45\n"
        "B,100,1,10%,,,500,100,200,,\n"
        "C,100,1,10%,,,,300,200,yes,30%\n"
        "D,100,1,10%,,,,300,,no,\n"
    )
    lines = _problems(tmp_path, text)
    assert [line.split(": ", 1)[1].split(":")[0] for line in lines] == [
        "row 2, column 'revenue'",
        "row 2, column 'willing_to_partner'",
        "row 2, column 'gross_margin'",
        "row 2",
        "row 3",
        "row 4",
        "row 5, column 'potential_high'",
    ]
    assert "'abc' is not a number" in lines[0]
    assert "'maybe' is not allowed" in lines[1]
    assert "'years_in_stage' 5 is more than 'years_as_customer' 2" in lines[3]
    assert "gives 'potential' and a range" in lines[4]
    assert "'potential_low' 300 is more than 'potential_high' 200" in lines[5]


def test_values_beyond_the_header(tmp_path: Path) -> None:
    """An unquoted decimal comma in a comma-separated file shows as extra values."""
    line = _one(tmp_path, f"{HEADER}\nA,400,1,0,35\n")
    assert "row 2: 5 values but the header names 4 columns" in line


def test_mixed_decimal_marks_are_refused(tmp_path: Path) -> None:
    """A semicolon file writing both marks refuses the odd cells and the ambiguous ones."""
    text = (
        "account;revenue;stage;share_of_wallet\nA;1,5;1;0,3\nB;2.5;1;0,2\nC;1.250;1;0,1\n"
    )
    lines = _problems(tmp_path, text)
    assert len(lines) == 2
    assert "row 3, column 'revenue': '2.5' writes a decimal point" in lines[0]
    assert "row 4, column 'revenue': '1.250' is ambiguous" in lines[1]


def test_error_is_a_parameter_error(tmp_path: Path) -> None:
    """PortfolioError is the project's user-error class (the CLI turns it into exit 2)."""
    assert issubclass(PortfolioError, ParameterError)
    assert kamsim.Portfolio is Portfolio


# ------------------------------------------------------------------ good input
def _frame(p: Portfolio) -> pd.DataFrame:
    return p.to_frame()


def test_comma_file_with_thousands_and_percent(tmp_path: Path) -> None:
    """A comma-separated file: decimal point, quoted thousands, percentages."""
    text = (
        "account,revenue,stage,share_of_wallet,gross_margin,willing_to_partner\n"
        'Nordwerk,"1,250.5",Tactical,35%,0.31,Y\nAlbis,"2,400",STRATEGIC,0.5,28.5 %,no\n'
    )
    p = Portfolio.from_file(_csv(tmp_path, text))
    assert p.revenue.tolist() == [1250.5, 2400.0]
    assert p.stage.tolist() == [1, 4]
    assert p.share_of_wallet.tolist() == [0.35, 0.5]
    assert p.gross_margin.tolist() == [0.31, 0.285]
    assert p.willing_to_partner.tolist() == [1, 0]
    assert p.wallet.tolist() == [1250.5 / 0.35, 4800.0]


@pytest.mark.parametrize("bom", ["", "\ufeff"])
@pytest.mark.parametrize("thousands", [".", " ", "\u00a0"])
def test_semicolon_decimal_comma_file(tmp_path: Path, bom: str, thousands: str) -> None:
    """A semicolon file with decimal commas (and a BOM) reads like the comma file."""
    text = (
        f"{bom}account;revenue;stage;share_of_wallet;gross_margin;willing_to_partner\n"
        f"Nordwerk;1{thousands}250,5;Tactical;35%;0,31;Y\n"
        f"Albis;2{thousands}400;STRATEGIC;0,5;28,5 %;no\n"
    )
    p = Portfolio.from_file(_csv(tmp_path, text))
    comma = (
        "account,revenue,stage,share_of_wallet,gross_margin,willing_to_partner\n"
        'Nordwerk,"1,250.5",Tactical,35%,0.31,Y\nAlbis,2400,STRATEGIC,0.5,28.5 %,no\n'
    )
    q = Portfolio.from_file(_csv(tmp_path, comma, name="q.csv"))
    pd.testing.assert_frame_equal(p.to_frame(), q.to_frame())


def test_excel_sep_line_and_tabs(tmp_path: Path) -> None:
    """Excel's 'sep=' first line and tab-separated files are read; rows keep numbers."""
    p = Portfolio.from_file(_csv(tmp_path, "sep=;\n" + GOOD.replace(",", ";")))
    assert p.names == ("Nordwerk Logistics", "Albis Pharma")
    t = Portfolio.from_file(_csv(tmp_path, GOOD.replace(",", "\t"), name="t.tsv"))
    assert t.share_of_wallet.tolist() == [0.35, 0.2]
    lines = _problems(tmp_path, "sep=;\n" + HEADER.replace(",", ";") + "\nA;-1;1;5%\n")
    assert "row 2, column 'revenue'" in lines[0]  # Excel hides the sep= line


def test_xlsx_round_trip(tmp_path: Path) -> None:
    """An .xlsx written with openpyxl reads back: numbers, % cells, text, booleans."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Account", "revenue", "stage", "share_of_wallet", "willing_to_partner",
               "gross_margin", "potential_low", "potential_high"])  # fmt: skip
    ws.append(["Nordwerk", 1250.5, "tactical", 0.35, True, "31%", 2000, 3000])
    ws.append([1042, 2400, 4, "50%", None, 0.285, None, None])
    ws["D2"].number_format = "0%"
    ws.append([None] * 8)  # an empty row is skipped
    path = tmp_path / "p.xlsx"
    wb.save(path)
    p = Portfolio.from_file(path)
    assert p.names == ("Nordwerk", "1042")
    assert p.revenue.tolist() == [1250.5, 2400.0]
    assert p.share_of_wallet.tolist() == [0.35, 0.5]
    assert p.willing_to_partner.tolist() == [1, -1]
    assert p.gross_margin.tolist() == [0.31, 0.285]
    assert p.potential_low[0] == 2000 and np.isnan(p.potential_low[1])


def test_xlsx_bad_values_name_the_cell(tmp_path: Path) -> None:
    """In .xlsx, a percent cell above 100 % and an unsaved formula are refused."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["account", "revenue", "stage", "share_of_wallet"])
    ws.append(["A", 100, 1, 1.2])
    ws["D2"].number_format = "0%"
    ws.append(["B", "=2*50", 1, 0.5])
    wb.save(tmp_path / "p.xlsx")
    with pytest.raises(PortfolioError) as info:
        Portfolio.from_file(tmp_path / "p.xlsx")
    lines = info.value.problems
    assert "row 3: the formula '=2*50' has no saved result" in lines[0]
    assert "row 2, column 'share_of_wallet': 120% is above 100%" in lines[1]
    assert "row 3, column 'revenue'" in lines[2]  # then empty
    (tmp_path / "junk.xlsx").write_text("not a workbook")
    with pytest.raises(PortfolioError, match="cannot read the file as an Excel workbook"):
        Portfolio.from_file(tmp_path / "junk.xlsx")


def test_frame_round_trip_and_frame_untouched() -> None:
    """from_frame(to_frame()) is the same portfolio, and the input frame is unchanged."""
    p = Portfolio.from_file(EXAMPLE)
    df = p.to_frame()
    before = df.copy()
    q = Portfolio.from_frame(df)
    pd.testing.assert_frame_equal(df, before)
    pd.testing.assert_frame_equal(q.to_frame(), df)
    assert list(df.columns) == list(FRAME_COLUMNS)
    assert df["stage"].dtype == np.int64 and df["willing_to_partner"].dtype == np.int64


def test_frame_rows_are_numbered_as_a_spreadsheet() -> None:
    """A frame's i-th row is called row i + 2 in messages."""
    df = pd.DataFrame({"account": ["A", "B"], "revenue": [1.0, -1.0], "stage": [1, 1],
                       "share_of_wallet": [0.1, 0.1]})  # fmt: skip
    with pytest.raises(PortfolioError, match=r"^row 3, column 'revenue': -1 must be > 0"):
        Portfolio.from_frame(df)


def test_user_values_are_not_altered(tmp_path: Path) -> None:
    """Given values come back exactly; nothing is clipped, filled in or rounded."""
    text = (
        "account,revenue,stage,share_of_wallet,category_spend,years_in_stage,"
        "years_as_customer,gross_margin,kam_spend,potential\n"
        "  Nordwerk  Logistics GmbH ,1234.567,3,0.333,3705.3,0,0,100%,0,0.001\n"
        "B,0.001,1,1,0.001,,,0%,,\n"
        "C,50,1,,50,,,,,\n"
    )
    p = Portfolio.from_file(_csv(tmp_path, text))
    assert p.names == ("Nordwerk  Logistics GmbH", "B", "C")  # only the padding goes
    assert p.revenue.tolist() == [1234.567, 0.001, 50.0]
    assert p.share_of_wallet.tolist() == [0.333, 1.0, 1.0]  # not revenue / spend
    assert p.wallet.tolist() == [3705.3, 0.001, 50.0]
    assert p.gross_margin[0] == 1.0 and p.gross_margin[1] == 0.0
    assert p.potential[0] == 0.001 and p.kam_spend[0] == 0.0
    assert np.isnan(p.years_in_stage[1]) and np.isnan(p.kam_spend[1])
    assert p.years_in_stage[0] == 0.0
    with pytest.raises(ValueError, match="read-only"):
        p.revenue[0] = 1.0


def test_summary_and_len() -> None:
    """The summary names the count, total revenue and the stage counts."""
    p = Portfolio.from_file(EXAMPLE)
    text = p.summary()
    assert text.startswith(f"{len(p)} key accounts")
    assert f"{p.revenue.sum():,.0f}".replace(",", "\u202f") in text
    counts = [int((p.stage == s).sum()) for s in (1, 2, 3, 4)]
    assert f"tactical {counts[0]}, cooperative {counts[1]}" in text
    assert f"interdependent {counts[2]}, strategic {counts[3]}" in text
    assert repr(p).startswith(f"Portfolio({len(p)} accounts")


# ------------------------------------------------------------------ the example
def _script() -> ModuleType:
    path = ROOT / "scripts" / "make_example_portfolio.py"
    spec = importlib.util.spec_from_file_location("make_example_portfolio", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_shipped_example_loads() -> None:
    """examples/portfolio.csv validates: 25 accounts, mostly early stages, heavy tail."""
    p = Portfolio.from_file(EXAMPLE)
    assert 20 <= len(p) <= 30
    assert (p.stage <= 2).sum() > len(p) / 2 and 1 <= (p.stage == 4).sum() <= 2
    assert 35 <= p.revenue.min() and p.revenue.max() <= 2600
    assert np.median(p.revenue) < p.revenue.mean()  # right-skewed
    assert ((p.gross_margin >= 0.2) & (p.gross_margin <= 0.4)).all()
    assert (p.willing_to_partner == -1).any()
    assert np.isfinite(p.potential).any() and np.isfinite(p.potential_low).any()


def test_shipped_example_is_what_the_script_writes() -> None:
    """The seeded script reproduces the shipped file byte for byte."""
    assert _script().render() == EXAMPLE.read_text(encoding="utf-8")


# ------------------------------------------------------------------ properties
def _write_number(x: float, locale: str, grouping: str) -> str:
    text = f"{x:,.3f}".rstrip("0").rstrip(".")
    if locale == "en":
        return text if grouping == "," else text.replace(",", "")
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", grouping)


_account = st.fixed_dictionaries(
    {
        "revenue": st.integers(1, 10**8).map(lambda k: k / 100),
        "stage": st.integers(1, 4),
        "share": st.integers(1, 100),
        "as_percent": st.booleans(),
        "margin": st.none() | st.integers(0, 1000).map(lambda k: k / 1000),
        "willing": st.sampled_from(["yes", "no", "", "Unknown", "TRUE", "n"]),
    }
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    accounts=st.lists(_account, min_size=1, max_size=12),
    locale=st.sampled_from(["en", "de"]),
    grouping=st.sampled_from([",", ".", " ", ""]),
)
def test_valid_frame_reads_back_in_either_locale(
    tmp_path: Path, accounts: list[dict], locale: str, grouping: str
) -> None:
    """A valid portfolio written as CSV in either locale reads back to the same values."""
    if locale == "en":
        grouping = "," if grouping in (",", ".") else ""
    elif grouping == ",":
        grouping = "."
    sep = "," if locale == "en" else ";"
    lines = [sep.join(["account", "revenue", "stage", "share_of_wallet", "gross_margin",
                       "willing_to_partner"])]  # fmt: skip
    for i, a in enumerate(accounts):
        share = (
            f"{a['share']}%"
            if a["as_percent"]
            else _write_number(a["share"] / 100, locale, "")
        )
        margin = "" if a["margin"] is None else _write_number(a["margin"], locale, "")
        cells = [f"Account {i}", _write_number(a["revenue"], locale, grouping),
                 str(a["stage"]), share, margin, a["willing"]]  # fmt: skip
        lines.append(sep.join(f'"{c}"' if sep in c else c for c in cells))
    path = tmp_path / f"prop_{locale}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    p = Portfolio.from_file(path)
    assert p.revenue.tolist() == [a["revenue"] for a in accounts]
    assert p.stage.tolist() == [a["stage"] for a in accounts]
    assert p.share_of_wallet.tolist() == [a["share"] / 100 for a in accounts]
    margins = [math.nan if a["margin"] is None else a["margin"] for a in accounts]
    np.testing.assert_array_equal(p.gross_margin, margins)
    codes = {"yes": 1, "true": 1, "no": 0, "n": 0, "": -1, "unknown": -1}
    assert p.willing_to_partner.tolist() == [codes[a["willing"].lower()] for a in accounts]


@given(st.integers(0, 10**9), st.integers(0, 99), st.sampled_from([".", ","]))
def test_number_text_round_trip(whole: int, cents: int, mark: str) -> None:
    """Any number written with thousands and a decimal mark parses back exactly."""
    text = f"{whole:,}.{cents:02d}"
    if mark == ",":
        text = text.replace(",", " ").replace(".", ",")
    value = parse_number(text, mark)
    assert value is not None and float(value) == (whole * 100 + cents) / 100
    assert evidence(text) in (mark, None)
