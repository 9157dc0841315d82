"""The shared number formats: money, signed differences, percentages, columns."""

from __future__ import annotations

import math

from kamsim.reports.formatting import (
    MISSING,
    column_digits,
    fmt_ci,
    fmt_money,
    fmt_number,
    fmt_pct,
    fmt_signed,
)


def test_money_and_signed_differences() -> None:
    """Money has no decimals and thousands separators; differences carry a sign."""
    assert fmt_money(3574.4) == "3,574"
    assert fmt_signed(3574.4) == "+3,574"
    assert fmt_signed(-419.2) == "-419"
    assert fmt_signed(0.0) == "0"
    assert fmt_number(-0.2) == "0"  # no "-0"
    assert fmt_ci(-12.0, 40.0, signed=True) == "[-12, +40]"


def test_percentages_keep_small_values_visible() -> None:
    """Shares print as % with decimals only where the value needs them."""
    assert fmt_pct(0.46) == "46 %"
    assert fmt_pct(0.0025) == "0.25 %"
    assert fmt_pct(0.034) == "3.4 %"
    assert fmt_pct(0.0) == "0 %"
    assert fmt_pct(0.5, digits=1) == "50.0 %"


def test_missing_values() -> None:
    """None and NaN print as the missing marker."""
    assert fmt_number(None) == MISSING
    assert fmt_pct(math.nan) == MISSING
    assert fmt_signed(float("nan")) == MISSING


def test_column_digits_follow_the_largest_magnitude() -> None:
    """One number of decimals per column, chosen from its largest value."""
    assert column_digits([4836.2, 9.5]) == 0
    assert column_digits([12.5, 3.25]) == 1
    assert column_digits([0.15, 0.003]) == 3
    assert column_digits([1.0, 2.0, 3.0]) == 0  # counts
    assert column_digits([math.nan]) == 0
