"""The one table formatter: known answers for every kind of column, worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spmlib.exceptions import UnknownNameError
from spmlib.reports.columns import COLUMNS, Column, column, plain_amounts
from spmlib.reports.formatter import (
    RowFormat,
    format_compact,
    format_frame,
    format_money,
    format_number,
    format_percent,
    format_value,
    table_html,
)


def test_currency_from_the_dataset_and_the_locale():
    # 188,470.4 rounds to 188,470; the symbol goes where the locale puts it.
    assert format_money(188470.4, "EUR") == "€188,470"
    assert format_money(188470.4, "USD") == "$188,470"
    assert format_money(188470.4, "GBP") == "£188,470"
    assert format_money(188470.4, "CHF") == "CHF\u00a0188,470"  # letters: a no-break space
    assert format_money(188470.4, "EUR", locale="de_DE") == "188.470\u00a0€"
    assert format_money(-20000, "USD") == "-$20,000"
    assert format_money(99.5, "USD", decimals=2) == "$99.50"
    # 188,470 is never rounded to 188,000 (the old mail rounding).
    assert format_value(188470.0, "bookings", "USD") == "$188,470"


def test_percentages():
    assert format_percent(0.3125) == "31%"
    assert format_percent(0.3125, 1) == "31.2%"  # 31.25 rounds half to even
    assert format_percent(0.0004) == "0%" and format_percent(-0.0004) == "0%"  # never -0%
    assert format_percent(0.052, 1, signed=True) == "+5.2%"
    # lead_to_win is a rate with one decimal: 0.0049 shows as 0.5%, not 0.
    assert format_value(0.0049, "lead_to_win") == "0.5%"


def test_separators_and_fixed_decimals():
    assert format_value(12400, "deals") == "12,400"
    assert format_value(1234567.891, Column("x", "number", 2)) == "1,234,567.89"
    # Every cell of a column has the column's decimals.
    frame = pd.DataFrame({"median_days": [7.0, 10.25, 120.0]})
    assert format_frame(frame)["Median days"].tolist() == ["7.0", "10.2", "120.0"]
    assert format_value(2.345, "coverage") == "2.3×"
    assert format_value(3.0, "days_in_stage") == "3"
    assert format_value(5, "rank_change") == "+5" and format_value(-2, "rank_change") == "-2"


def test_never_scientific_notation():
    assert format_value(1.23e20, Column("x", "money")) == "$123,000,000,000,000,000,000"
    assert format_number(1.88e5, 0) == "188,000"
    assert format_number(0.000012345) == "0.0000123"  # three significant digits, no e-05
    assert format_value(4e-7, "p_value") == "< 0.001"
    assert format_value(0.00752, "p_adjusted") == "0.008"
    assert format_compact(1_234_567.0, "USD") == "$1.2M"
    assert format_compact(850_400.0, "EUR") == "€850K"


def test_booleans_as_words_and_missing_as_a_dash():
    assert format_value(True, "significant") == "yes"
    assert format_value(np.bool_(False), "significant") == "no"
    assert format_value(False, "on_pace") == "behind"
    for missing in (None, np.nan, pd.NA, pd.NaT, float("nan")):
        assert format_value(missing, "win_rate") == "—"
    assert format_value(pd.Timestamp("2026-10-31 17:00"), "close_date") == "2026-10-31"


def test_labels_for_people_from_the_vocabulary_or_the_name():
    frame = pd.DataFrame(
        {"rep_name": ["Ann"], "win_rate_low": [0.2], "calls_per_day": [1.25], "n_deals": [3]}
    )
    assert list(format_frame(frame).columns) == [
        "Rep",
        "Win rate, 95% low",
        "Calls per day",
        "N deals",
    ]
    assert format_frame(frame).iloc[0].tolist() == ["Ann", "20%", "1.25", "3"]
    # days columns say their unit
    assert column("avg_cycle_days").header == "Average cycle (days)"
    assert COLUMNS["max_days"].header == "Longest (days)"
    with pytest.raises(UnknownNameError, match="column kind"):
        Column("x", "speed")


def test_formats_that_change_by_row():
    flow = pd.DataFrame({"measure": ["count", "amount"], "open_end": [718.0, 13326890.0]})
    rows = RowFormat("measure", {"count": Column("", "count"), "amount": Column("", "money")},
                     ("open_end",))  # fmt: skip
    assert format_frame(flow, rows=rows, currency="EUR")["Open at end"].tolist() == [
        "718",
        "€13,326,890",
    ]
    # A series file has no currency: its amounts read as plain numbers.
    plain = plain_amounts(["forecast", "method"])
    assert format_frame(pd.DataFrame({"forecast": [1234.5]}), plain).iloc[0, 0] == "1,234"


def test_html_escapes_text_from_data_and_aligns_numbers():
    frame = pd.DataFrame(
        {"rep_name": ["<script>x</script>", "O'Neil & Co"], "attainment": [1.2, np.nan]}
    )
    html = table_html(frame, shade=("attainment",))
    assert "<script>" not in html and "&lt;script&gt;" in html and "O&#x27;Neil &amp; Co" in html
    assert '<td align="right"' in html and ">120%</td>" in html
    # the missing attainment is a dash and is not coloured
    missing_cell = html.split("O&#x27;Neil &amp; Co</td>")[1].split("</td>")[0]
    assert missing_cell.endswith(">—") and "background" not in missing_cell
