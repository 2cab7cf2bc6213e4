"""The one table formatter: values as people read them, in browser reports, emails and the CLI.

Each value is formatted from its column's definition (:mod:`spmlib.reports.columns`): money in
the dataset's currency (``currency`` of ``dataset.yml``), percentages, counts with thousands
separators, days, ratios, p-values; a fixed number of decimals per column; never scientific
notation; booleans as words; missing values as an em dash. Numbers, currency symbols and
separators follow a locale (default :data:`LOCALE`) through `babel <https://babel.pocoo.org>`_,
which carries the Unicode CLDR data (symbols, grouping, where the symbol goes), rather than
hand-written rules that know four currencies. In HTML every cell is escaped, so text from the
data shows as text.

The same functions serve the notebooks (:func:`table_html`), the mail renderer and the CLI
(:func:`format_frame`, :func:`format_value`).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from babel import Locale
from babel.numbers import format_compact_currency, format_compact_decimal, parse_pattern

from spmlib.reports.columns import Column, column, columns_for

__all__ = [
    "LOCALE",
    "MISSING",
    "RowFormat",
    "is_missing",
    "format_value",
    "format_number",
    "format_money",
    "format_percent",
    "format_compact",
    "format_frame",
    "table_html",
    "stacked_html",
]

#: The default locale of numbers and currencies (babel / CLDR name).
LOCALE = "en_US"
#: How a missing value reads.
MISSING = "—"
#: Colour scale of shaded cells (attainment): value at the red end, at the green end.
SHADE_RANGE = (0.5, 1.5)


@dataclass(frozen=True)
class RowFormat:
    """Formats that change by row: the cells of ``values`` in a row whose ``key`` cell is ``k``
    are formatted as ``formats[k]`` (e.g. a scorecard, one KPI per row; a flow, counts on one
    row and amounts on the next). Rows whose key is not in ``formats`` keep the column's own.
    """

    key: str
    formats: Mapping[str, Column]
    values: tuple[str, ...] = field(default_factory=tuple)


def is_missing(value: Any) -> bool:
    """None, NaN, NaT and pd.NA are missing.

    Examples
    --------
    >>> [is_missing(v) for v in (None, float("nan"), pd.NaT, pd.NA, 0, "")]
    [True, True, True, True, False, False]
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return False


@lru_cache(maxsize=64)
def _pattern(locale: str, kind: str, decimals: int):
    loc = Locale.parse(locale)
    source = {
        "money": loc.currency_formats["standard"],
        "percent": loc.percent_formats[None],
    }.get(kind, loc.decimal_formats[None])
    pattern = parse_pattern(source.pattern)
    pattern.frac_prec = (decimals, decimals)
    return pattern, loc


def _rounded(value: float, decimals: int) -> float:
    """Round first, so a value that rounds to zero never reads ``-0``."""
    value = round(float(value), decimals)
    return 0.0 if value == 0 else value


def _sign(text: str, value: float, signed: bool) -> str:
    return f"+{text}" if signed and value > 0 else text


# babel does not apply CLDR's currency spacing: "CHF188,470" should read "CHF 188,470".
_LETTER_SYMBOL = re.compile(r"^(-?)([^\W\d_]{2,})(?=\d)")


def format_number(
    value: float | None, decimals: int | None = None, locale: str = LOCALE, signed=False
) -> str:
    """A number with thousands separators and ``decimals`` digits after the point.

    Without ``decimals`` (a bare number of unknown meaning): none for whole numbers and from
    100 up, two from 1 to 100, three significant digits below 1. Never scientific notation.

    Examples
    --------
    >>> format_number(1234567.891), format_number(42.3456), format_number(0.012345)
    ('1,234,568', '42.35', '0.0123')
    >>> format_number(1.88e5, 0), format_number(None), format_number(-0.004, 2)
    ('188,000', '—', '0.00')
    >>> format_number(1234.5, 1, locale="de_DE")
    '1.234,5'
    """
    if is_missing(value):
        return MISSING
    value = float(value)
    if decimals is None:
        size = abs(value)
        if value.is_integer() or size >= 100:
            decimals = 0
        elif size >= 1:
            decimals = 2
        else:
            decimals = max(0, 2 - math.floor(math.log10(size))) if size else 0
    value = _rounded(value, decimals)
    pattern, loc = _pattern(locale, "number", decimals)
    return _sign(pattern.apply(value, loc), value, signed)


def format_money(
    value: float | None,
    currency: str = "USD",
    decimals: int = 0,
    locale: str = LOCALE,
    signed: bool = False,
) -> str:
    """An amount in ``currency`` (ISO code), placed and spelled as the locale does.

    Examples
    --------
    >>> format_money(188470.4, "EUR"), format_money(-20000, "USD"), format_money(99.5, "CHF", 2)
    ('€188,470', '-$20,000', 'CHF\\xa099.50')
    >>> format_money(188470.4, "EUR", locale="de_DE")
    '188.470\\xa0€'
    """
    if is_missing(value):
        return MISSING
    value = _rounded(value, decimals)
    pattern, loc = _pattern(locale, "money", decimals)
    text = pattern.apply(value, loc, currency=currency.upper(), currency_digits=False)
    return _sign(_LETTER_SYMBOL.sub("\\1\\2\u00a0", text), value, signed)


def format_percent(
    value: float | None, decimals: int = 0, locale: str = LOCALE, signed: bool = False
) -> str:
    """A share (0 to 1) as a percentage.

    Examples
    --------
    >>> format_percent(0.3125), format_percent(0.3125, 1), format_percent(None)
    ('31%', '31.2%', '—')
    >>> format_percent(0.052, 1, signed=True), format_percent(-0.0004)
    ('+5.2%', '0%')
    """
    if is_missing(value):
        return MISSING
    value = _rounded(value, decimals + 2)
    pattern, loc = _pattern(locale, "percent", decimals)
    return _sign(pattern.apply(value, loc), value, signed)


def format_count(n: int, singular: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: ``1 deal``, ``9 deals``, ``1,204 deals``.

    Examples
    --------
    >>> format_count(1, "deal"), format_count(9, "deal"), format_count(2, "rep period")
    ('1 deal', '9 deals', '2 rep periods')
    >>> format_count(0, "statement"), format_count(1204, "activity", "activities")
    ('0 statements', '1,204 activities')
    """
    word = singular if n == 1 else (plural or singular + "s")
    return f"{format_number(n, 0)} {word}"


def format_chance(value: float | None, locale: str = LOCALE, words: bool = False) -> str:
    """A probability as a percentage that never rounds to certainty (a simulation is not sure);
    ``words`` for sentences ("over 99%").

    Examples
    --------
    >>> format_chance(0.998), format_chance(0.004), format_chance(0.35), format_chance(1.0)
    ('>99%', '<1%', '35%', '100%')
    >>> format_chance(0.998, words=True), format_chance(0.004, words=True)
    ('over 99%', 'under 1%')
    """
    if is_missing(value):
        return MISSING
    if 0.99 < value < 1:
        return ("over " if words else ">") + format_percent(0.99, 0, locale)
    if 0 < value < 0.01:
        return ("under " if words else "<") + format_percent(0.01, 0, locale)
    return format_percent(value, 0, locale)


def format_compact(value: float | None, currency: str | None = None, locale: str = LOCALE) -> str:
    """A short amount for sentences: ``$1.2M``, ``€850K``, ``420`` (one decimal for millions).

    Examples
    --------
    >>> format_compact(1234567.0, "USD"), format_compact(850400.0, "EUR"), format_compact(420.0)
    ('$1.2M', '€850K', '420')
    """
    if is_missing(value):
        return MISSING
    digits = 1 if abs(value) >= 1e6 else 0
    if currency:
        text = format_compact_currency(value, currency, locale=locale, fraction_digits=digits)
        return _LETTER_SYMBOL.sub("\\1\\2\u00a0", text)
    return format_compact_decimal(value, locale=locale, fraction_digits=digits)


def format_value(value: Any, col: Column | str, currency: str = "USD", locale: str = LOCALE) -> str:
    """One value as its column shows it (``col``: a :class:`Column` or a vocabulary name).

    Examples
    --------
    >>> from spmlib.reports.columns import Column
    >>> format_value(0.251, "win_rate"), format_value(188470.4, "bookings", "EUR")
    ('25%', '€188,470')
    >>> format_value(12400, "deals"), format_value(2.345, "coverage"), format_value(3.5, "days")
    ('12,400', '2.3×', '3.5')
    >>> format_value(0.00004, "p_value"), format_value(True, "on_pace"), format_value(None, "won")
    ('< 0.001', 'on pace', '—')
    >>> format_value(pd.Timestamp("2026-10-31 13:00"), "close_date")
    '2026-10-31'
    """
    c = col if isinstance(col, Column) else column(col)
    if is_missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return c.words[0] if value else c.words[1]
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if not c.numeric or not isinstance(value, int | float | np.number):
        return str(value)
    d = c.digits
    if c.kind == "money":
        return format_money(value, currency, d, locale, c.signed)
    if c.kind == "percent":
        return format_percent(value, d, locale, c.signed)
    if c.kind == "chance":
        return format_chance(value, locale)
    if c.kind == "p_value":
        floor = 10.0**-d
        if 0 < value < floor:
            return f"< {format_number(floor, d, locale)}"
        return format_number(value, d, locale)
    text = format_number(value, d, locale, c.signed)
    return f"{text}×" if c.kind == "ratio" else text


def _cell_columns(
    frame: pd.DataFrame, overrides: Mapping[str, Column] | None, rows: RowFormat | None
) -> list[list[Column]]:
    """The definition of each cell, column by column."""
    defs = columns_for(frame, overrides)
    out = []
    for name in frame.columns:
        own = defs[str(name)]
        if rows is not None and name in rows.values:
            keys = frame[rows.key].astype("string").fillna("")
            out.append([rows.formats.get(k, own) for k in keys])
        else:
            out.append([own] * len(frame))
    return out


def format_frame(
    frame: pd.DataFrame,
    columns: Mapping[str, Column] | None = None,
    currency: str = "USD",
    locale: str = LOCALE,
    rows: RowFormat | None = None,
) -> pd.DataFrame:
    """The frame as people read it: every cell a string, columns labelled for people.

    Parameters
    ----------
    frame : a tidy frame of spmlib (snake_case columns, raw values); not modified.
    columns : definitions that override the vocabulary for this frame.
    currency : ISO code of money columns (``dataset.yml``'s ``currency``).
    locale : babel locale of numbers and currency symbols.
    rows : formats that change by row (:class:`RowFormat`).

    Examples
    --------
    >>> frame = pd.DataFrame({"rep_name": ["Ann", "Bo"], "bookings": [188470.4, None],
    ...                       "win_rate": [0.25, 0.4], "on_pace": [True, False]})
    >>> format_frame(frame, currency="EUR")
       Rep Bookings Win rate  On pace
    0  Ann €188,470      25%  on pace
    1   Bo        —      40%   behind
    """
    defs = columns_for(frame, columns)
    cells = _cell_columns(frame, columns, rows)
    out = {}
    for (name, values), formats in zip(frame.items(), cells, strict=True):
        out[defs[str(name)].header] = [
            format_value(v, c, currency, locale) for v, c in zip(values, formats, strict=True)
        ]
    return pd.DataFrame(out, index=range(len(frame)), columns=list(out))


@lru_cache(maxsize=1)
def _shades():
    """The colour scale of shaded cells: vermillion, white, bluish green (Okabe and Ito's
    colours, told apart with the common colour-vision deficiencies)."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("spm_shade", ["#D55E00", "#f7f7f7", "#009E73"])


def _shade(value: Any) -> str:
    """Background and text colour of a shaded cell (vermillion below quota, bluish green
    above; never for a missing value)."""
    from matplotlib.colors import to_hex

    lo, hi = SHADE_RANGE
    share = min(max((float(value) - lo) / (hi - lo), 0.0), 1.0)
    r, g, b, _ = _shades()(share)
    light = 0.2126 * r + 0.7152 * g + 0.0722 * b
    text = "#ffffff" if light < 0.408 else "#000000"
    return f"background-color:{to_hex((r, g, b))};color:{text}"


def _bar(value: Any, top: float) -> str:
    share = 0.0 if top <= 0 else max(float(value), 0.0) / top * 100
    return f"background:linear-gradient(90deg, #a8dadc {share:.0f}%, transparent {share:.0f}%)"


def table_html(
    frame: pd.DataFrame,
    columns: Mapping[str, Column] | None = None,
    currency: str = "USD",
    locale: str = LOCALE,
    rows: RowFormat | None = None,
    shade: Sequence[str] = (),
    bars: Sequence[str] = (),
    highlight: pd.Series | None = None,
) -> str:
    """An HTML table of the frame, formatted by :func:`format_frame`, every cell escaped.

    Numbers are right-aligned and never wrap; ``shade`` columns (shares, e.g. attainment) are
    coloured from vermillion (50% and below) through white (100%) to bluish green (150% and
    above), missing values never;
    ``bars`` columns get a bar in proportion to the column's largest value; rows where
    ``highlight`` is True get a light background.

    Examples
    --------
    >>> html = table_html(pd.DataFrame({"rep_name": ["<b>Bo</b>"], "win_rate": [0.5]}))
    >>> "&lt;b&gt;Bo&lt;/b&gt;" in html and ">50%</td>" in html and "Win rate" in html
    True
    """
    defs = columns_for(frame, columns)
    text = format_frame(frame, columns, currency, locale, rows)
    cells = _cell_columns(frame, columns, rows)
    numeric = [
        defs[str(c)].numeric or any(x.numeric for x in f)
        for c, f in zip(frame.columns, cells, strict=True)
    ]
    head = "".join(
        f'<th style="text-align:{"right" if num else "left"}">{html.escape(label)}</th>'
        for label, num in zip(text.columns, numeric, strict=True)
    )
    tops = {c: pd.to_numeric(frame[c], errors="coerce").max() for c in bars}
    marked = list(highlight.fillna(False).astype(bool)) if highlight is not None else None
    body = []
    for i in range(len(frame)):
        tds = []
        for j, name in enumerate(frame.columns):
            raw = frame.iloc[i, j]
            style = "text-align:right;white-space:nowrap" if numeric[j] else "text-align:left"
            if name in shade and not is_missing(raw):
                style += ";" + _shade(raw)
            elif name in bars and not is_missing(raw):
                style += ";" + _bar(raw, tops[name])
            elif marked is not None and marked[i]:
                style += ";background-color:#fde9c8"
            align = ' align="right"' if numeric[j] else ""
            tds.append(f'<td{align} style="{style}">{html.escape(text.iloc[i, j])}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (
        '<div class="spm-table" style="overflow-x:auto"><table class="spm-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _key_columns(frame: pd.DataFrame, defs: Mapping[str, Column]) -> list[str]:
    """The leading text or date columns (at most two) that name a row."""
    keys = []
    for name in frame.columns:
        if defs[str(name)].numeric or len(keys) == 2:
            break
        keys.append(name)
    return keys


def stacked_html(
    frame: pd.DataFrame,
    columns: Mapping[str, Column] | None = None,
    currency: str = "USD",
    locale: str = LOCALE,
    rows: RowFormat | None = None,
    shade: Sequence[str] = (),
    highlight: pd.Series | None = None,
    max_records: int = 12,
) -> str:
    """A wide table for a narrow screen: one block per row, its name (the leading text
    columns) as a heading, then one "label, value" line per other column (values on the
    right). Formatted and
    escaped as :func:`table_html`; at most ``max_records`` rows, then a line saying how many
    more the full report has.

    Examples
    --------
    >>> frame = pd.DataFrame({"rep_name": ["Ann", "Cy"], "team": ["A", "A"], "won": [3, 1],
    ...     "lost": [1, 2], "win_rate": [0.75, 0.33], "bookings": [1e5, 2e4]})
    >>> html = stacked_html(frame, max_records=1)
    >>> "Ann · A" in html and ">Win rate</td>" in html and ">75%</td>" in html
    True
    >>> "Cy" in html, "1 more row in the full report" in html
    (False, True)
    """
    defs = columns_for(frame, columns)
    text = format_frame(frame, columns, currency, locale, rows)
    keys = _key_columns(frame, defs)
    marked = list(highlight.fillna(False).astype(bool)) if highlight is not None else None
    position = {c: j for j, c in enumerate(frame.columns)}
    parts = []
    for i in range(min(len(frame), max_records)):
        name = " · ".join(text.iloc[i, position[k]] for k in keys) or f"Row {i + 1}"
        back = "#fde9c8" if marked is not None and marked[i] else "#f3f4f6"
        lines = [
            f'<tr><th colspan="2" style="text-align:left;background-color:{back}">'
            f"{html.escape(name)}</th></tr>"
        ]
        for c in frame.columns:
            if c in keys:
                continue
            j = position[c]
            style = "text-align:right"
            raw = frame.iloc[i, j]
            if c in shade and not is_missing(raw):
                style += ";" + _shade(raw)
            lines.append(
                '<tr><td align="left" style="text-align:left;color:#4b5563">'
                f"{html.escape(text.columns[j])}</td>"
                f'<td align="right" style="{style}">{html.escape(text.iloc[i, j])}</td></tr>'
            )
        parts.append(f"<tbody>{''.join(lines)}</tbody>")
    more = len(frame) - max_records
    if more > 0:
        plural = "s" if more > 1 else ""
        parts.append(
            '<tbody><tr><td colspan="2" align="left" style="color:#6b7280;font-style:italic">'
            f"… {more:,} more row{plural} in the full report</td></tr></tbody>"
        )
    return f'<table class="spm-stacked">{"".join(parts)}</table>'
