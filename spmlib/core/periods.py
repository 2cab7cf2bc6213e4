"""Calendar and fiscal periods: which month, fiscal quarter or fiscal year a date falls in.

Fiscal years start on the first day of ``fiscal_year_start_month`` (from ``dataset.yml``) and are
named by the calendar year in which they **end** (with a February start, FY2027 runs from
2026-02-01 to 2027-01-31; with a January start, FY2026 is calendar 2026). Quarters are the
fiscal year's three-month blocks, Q1 first.

This module is the one vocabulary of periods: :data:`PERIODS` names every kind of period an
analysis, a parameter or a CLI option may ask for (``week``, ``month``, ``quarter``, ``year``,
``ytd``), and :func:`period_kind` reads a name or an alias (``W``, ``M``, ``Q``, ``Y``, any case)
or fails listing the valid names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from spmlib.exceptions import ParameterError, UnknownNameError

__all__ = [
    "PERIODS",
    "PeriodKind",
    "period_kind",
    "FREQS",
    "Freq",
    "period_step",
    "period_start",
    "period_end",
    "period_label",
    "fiscal_year",
    "period_range",
    "selling_days",
    "elapsed_share",
    "current_period",
    "PeriodFrame",
    "period_frame",
    "parse_period",
]

Freq = Literal["week", "month", "quarter", "year"]
#: The calendar units periods are cut in (a ``ytd`` period is a year cut at a date).
FREQS: tuple[str, ...] = ("week", "month", "quarter", "year")
_SPAN = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class PeriodKind:
    """One kind of period.

    Attributes
    ----------
    name : the canonical name (``month``).
    freq : the calendar unit it is cut in (one of :data:`FREQS`).
    code : the one-letter code (``M``), also accepted as a name.
    per_year : periods in a year (the seasonal period of a series at this frequency).
    to_date : True for ``ytd``: the current period stops at the reference date.
    label : how people call it (``fiscal quarter``).
    """

    name: str
    freq: str
    code: str
    per_year: int
    to_date: bool = False
    label: str = ""


#: Every period kind, by canonical name.
PERIODS: dict[str, PeriodKind] = {
    k.name: k
    for k in (
        PeriodKind("week", "week", "W", 52, label="week (Monday to Sunday)"),
        PeriodKind("month", "month", "M", 12, label="month"),
        PeriodKind("quarter", "quarter", "Q", 4, label="fiscal quarter"),
        PeriodKind("year", "year", "Y", 1, label="fiscal year"),
        PeriodKind("ytd", "year", "YTD", 1, to_date=True, label="fiscal year to date"),
    )
}
_ALIASES = {
    **{k.code.lower(): k.name for k in PERIODS.values()},
    "a": "year",
    "ms": "month",
    "qs": "quarter",
    "w-mon": "week",
}


def period_kind(name: str | PeriodKind, allowed: tuple[str, ...] | None = None) -> PeriodKind:
    """The :class:`PeriodKind` of a canonical name or an alias, in any case.

    ``allowed`` restricts the kinds a caller supports (e.g. ``("month", "quarter")``).

    Raises
    ------
    UnknownNameError : listing the canonical names (the allowed ones, when restricted).

    Examples
    --------
    >>> period_kind("Q").name, period_kind("month").code, period_kind("YTD").freq
    ('quarter', 'M', 'year')
    >>> period_kind("quarterly")
    Traceback (most recent call last):
    ...
    spmlib.exceptions.UnknownNameError: unknown period 'quarterly'; valid: month, quarter, ...
    """
    valid = list(allowed or PERIODS)
    key = name.name if isinstance(name, PeriodKind) else str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in valid:
        raise UnknownNameError("period", str(name), valid)
    return PERIODS[key]


def _check(freq: str, fiscal_year_start_month: int) -> str:
    """The calendar unit of ``freq`` (any name or alias), after checking the fiscal start."""
    if not 1 <= int(fiscal_year_start_month) <= 12:
        raise ParameterError(f"fiscal_year_start_month must be 1-12, got {fiscal_year_start_month}")
    return period_kind(freq).freq


def period_step(freq: str) -> pd.DateOffset:
    """The length of one period of ``freq`` as a date offset (a week, 1, 3 or 12 months).

    Examples
    --------
    >>> pd.Timestamp("2026-02-01") + period_step("Q")
    Timestamp('2026-05-01 00:00:00')
    """
    unit = period_kind(freq).freq
    return pd.DateOffset(weeks=1) if unit == "week" else pd.DateOffset(months=_SPAN[unit])


def _month_index(dates: pd.Series) -> np.ndarray:
    d = pd.to_datetime(dates)
    return (d.dt.year * 12 + d.dt.month - 1).to_numpy()


def _from_month_index(idx: np.ndarray, index: pd.Index) -> pd.Series:
    idx = np.asarray(idx, dtype="float64")
    ok = ~np.isnan(idx)
    years = np.where(ok, idx // 12, 2000).astype(int)
    months = np.where(ok, idx % 12 + 1, 1).astype(int)
    out = pd.to_datetime({"year": years, "month": months, "day": np.ones(len(idx), dtype=int)})
    out = out.where(ok)
    out.index = index
    return out.astype("datetime64[ns]")


def period_start(
    dates: pd.Series, freq: Freq = "month", fiscal_year_start_month: int = 1
) -> pd.Series:
    """First day of the period that contains each date (NaT stays NaT).

    Weeks start on Monday; months on the 1st; quarters and years on fiscal boundaries.

    Examples
    --------
    >>> d = pd.Series(pd.to_datetime(["2026-01-15", "2026-02-01", "2026-04-30"]))
    >>> period_start(d, "quarter", fiscal_year_start_month=2).dt.date.astype(str).tolist()
    ['2025-11-01', '2026-02-01', '2026-02-01']
    >>> period_start(d, "year", fiscal_year_start_month=2).dt.date.astype(str).tolist()
    ['2025-02-01', '2026-02-01', '2026-02-01']
    """
    freq = _check(freq, fiscal_year_start_month)
    dates = pd.to_datetime(pd.Series(dates))
    if freq == "week":
        d = dates.dt.normalize()
        return (d - pd.to_timedelta(d.dt.day_of_week, unit="D")).astype("datetime64[ns]")
    m = _month_index(dates).astype("float64")
    offset = (m - (fiscal_year_start_month - 1)) % _SPAN[freq]
    return _from_month_index(m - offset, dates.index)


def period_end(starts: pd.Series, freq: Freq = "month") -> pd.Series:
    """Last day (inclusive) of the periods that start on ``starts``.

    Examples
    --------
    >>> starts = pd.Series(pd.to_datetime(["2025-11-01"]))
    >>> period_end(starts, "quarter").dt.date.astype(str).tolist()
    ['2026-01-31']
    """
    freq = _check(freq, 1)
    starts = pd.to_datetime(pd.Series(starts))
    if freq == "week":
        return starts + pd.Timedelta(days=6)
    return (starts + pd.DateOffset(months=_SPAN[freq])) - pd.Timedelta(days=1)


def fiscal_year(dates: pd.Series, fiscal_year_start_month: int = 1) -> pd.Series:
    """The fiscal year of each date, named by the calendar year in which it ends.

    Examples
    --------
    >>> fiscal_year(pd.Series(pd.to_datetime(["2026-01-31", "2026-02-01"])), 2).tolist()
    [2026, 2027]
    """
    start = period_start(dates, "year", fiscal_year_start_month)
    end = period_end(start, "year")
    return end.dt.year


def period_label(
    starts: pd.Series, freq: Freq = "month", fiscal_year_start_month: int = 1
) -> pd.Series:
    """Readable labels: ``2026-03`` (month), ``FY2026-Q2`` (quarter), ``FY2026`` (year),
    ``2026-W10`` (ISO week).

    Examples
    --------
    >>> s = pd.Series(pd.to_datetime(["2026-02-01", "2026-05-01"]))
    >>> period_label(s, "quarter", 2).tolist()
    ['FY2027-Q1', 'FY2027-Q2']
    """
    freq = _check(freq, fiscal_year_start_month)
    starts = pd.to_datetime(pd.Series(starts))
    if freq == "month":
        return starts.dt.strftime("%Y-%m")
    if freq == "week":
        iso = starts.dt.isocalendar()
        return iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    fy = fiscal_year(starts, fiscal_year_start_month).astype(str)
    if freq == "year":
        return "FY" + fy
    q = ((starts.dt.month - fiscal_year_start_month) % 12) // 3 + 1
    return "FY" + fy + "-Q" + q.astype(str)


def period_range(
    start: pd.Timestamp, end: pd.Timestamp, freq: Freq = "month", fiscal_year_start_month: int = 1
) -> pd.DataFrame:
    """Every period overlapping [start, end]: columns ``period_start``, ``period_end``, ``period``
    (label), in order.

    Examples
    --------
    >>> lo, hi = pd.Timestamp("2026-01-15"), pd.Timestamp("2026-03-02")
    >>> period_range(lo, hi, "month")["period"].tolist()
    ['2026-01', '2026-02', '2026-03']
    """
    freq = _check(freq, fiscal_year_start_month)
    first = period_start(pd.Series([pd.Timestamp(start)]), freq, fiscal_year_start_month).iloc[0]
    step = period_step(freq)
    starts = []
    cur = first
    while cur <= pd.Timestamp(end):
        starts.append(cur)
        cur = cur + step
    s = pd.Series(pd.to_datetime(starts), dtype="datetime64[ns]")
    return pd.DataFrame(
        {
            "period_start": s,
            "period_end": period_end(s, freq),
            "period": period_label(s, freq, fiscal_year_start_month),
        }
    )


def _days(value) -> np.ndarray:
    """Dates (one, or an array or Series of them) as a datetime64[D] array."""
    return np.asarray(pd.to_datetime(value), dtype="datetime64[D]")


def selling_days(start, end):
    """Selling days in [start, end] (both inclusive): the **weekdays**, Monday to Friday.

    Selling days are the one measure of how far a period has run: a quarter's pace and
    projection compare bookings with the share of its selling days elapsed, so a weekend does
    not count as time lost. Public holidays are not known to the workbench and count as selling
    days. Works on single dates (returns an int) and on arrays or Series of dates (returns an
    int array); an empty range (end before start) has 0.

    Examples
    --------
    >>> selling_days(pd.Timestamp("2026-11-02"), pd.Timestamp("2026-11-08"))  # Mon..Sun
    5
    >>> selling_days(pd.Timestamp("2026-11-01"), pd.Timestamp("2027-01-31"))  # FY2027-Q4
    65
    >>> selling_days(pd.Timestamp("2026-11-08"), pd.Timestamp("2026-11-01"))
    0
    """
    lo, hi = _days(start), _days(end) + np.timedelta64(1, "D")
    days = np.busday_count(lo, np.maximum(hi, lo))
    return int(days) if np.ndim(days) == 0 else days.astype(np.int64)


def elapsed_share(start, end, as_of):
    """Share of the selling days (:func:`selling_days`: weekdays) of the period [start, end]
    that have passed by the end of day ``as_of``, in [0, 1].

    0 before the period starts, 1 from its last day on. A period without any selling day (a
    weekend) counts as elapsed once its last day is reached. Scalars give a float; arrays or
    Series of periods (with one ``as_of`` or one per period) give a float array.

    Examples
    --------
    >>> q = pd.Timestamp("2026-11-01"), pd.Timestamp("2027-01-31")
    >>> round(elapsed_share(*q, as_of=pd.Timestamp("2026-12-14")), 4)  # 31 of 65 weekdays
    0.4769
    >>> elapsed_share(*q, as_of=pd.Timestamp("2026-10-31")), elapsed_share(*q, q[1])
    (0.0, 1.0)
    """
    lo, hi, now = _days(start), _days(end), _days(as_of)
    total = selling_days(lo, hi)
    done = selling_days(lo, np.minimum(now, hi))
    share = np.where(np.asarray(total) > 0, done / np.maximum(total, 1), (now >= hi) * 1.0)
    share = np.clip(share, 0.0, 1.0)
    return float(share) if np.ndim(share) == 0 else share.astype(float)


def current_period(
    as_of: pd.Timestamp, freq: str = "quarter", fiscal_year_start_month: int = 1
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(first day, last day) of the period in progress at the end of day ``as_of``: the one
    that contains the day after ``as_of``.

    That is the period containing ``as_of``, except on a period's last day, when that period
    is over and the next one is the one still to play for (a forecast made on a quarter's last
    evening is about the next quarter).

    Examples
    --------
    >>> [d.date().isoformat() for d in current_period(pd.Timestamp("2026-12-14"), "Q", 2)]
    ['2026-11-01', '2027-01-31']
    >>> [d.date().isoformat() for d in current_period(pd.Timestamp("2026-03-31"), "Q")]
    ['2026-04-01', '2026-06-30']
    """
    unit = _check(freq, fiscal_year_start_month)
    nxt = pd.Series([pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)])
    start = period_start(nxt, unit, fiscal_year_start_month).iloc[0]
    return start, period_end(pd.Series([start]), unit).iloc[0]


@dataclass(frozen=True)
class PeriodFrame:
    """The period that contains a reference date: "this quarter" of every report.

    Attributes
    ----------
    period : its label (``FY2027-Q4``).
    start, end : its first and last day.
    as_of : the reference date (the end of that day).
    selling_days : weekdays in the period (:func:`selling_days`).
    selling_days_elapsed : weekdays from ``start`` to ``as_of``, both included.
    elapsed : ``selling_days_elapsed / selling_days`` (:func:`elapsed_share`).
    """

    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    as_of: pd.Timestamp
    selling_days: int
    selling_days_elapsed: int
    elapsed: float

    @property
    def selling_days_left(self) -> int:
        """Weekdays after ``as_of`` up to the period's end."""
        return self.selling_days - self.selling_days_elapsed


def period_frame(
    as_of: pd.Timestamp | str, freq: str = "quarter", fiscal_year_start_month: int = 1
) -> PeriodFrame:
    """The :class:`PeriodFrame` of the period that contains ``as_of``: "this quarter".

    On a period's last day that period is complete (``elapsed`` 1). (A forecast made that
    evening is about the next period: :func:`current_period`.)

    Examples
    --------
    >>> f = period_frame("2026-12-14", "quarter", fiscal_year_start_month=2)
    >>> f.period, f.selling_days, f.selling_days_elapsed, round(f.elapsed, 3)
    ('FY2027-Q4', 65, 31, 0.477)
    >>> period_frame("2027-01-31", "Q", 2).elapsed
    1.0
    """
    as_of = pd.Timestamp(as_of).normalize()
    unit = _check(freq, fiscal_year_start_month)
    start = period_start(pd.Series([as_of]), unit, fiscal_year_start_month).iloc[0]
    end = period_end(pd.Series([start]), unit).iloc[0]
    label = period_label(pd.Series([start]), unit, fiscal_year_start_month).iloc[0]
    total = selling_days(start, end)
    done = selling_days(start, min(as_of, end))
    return PeriodFrame(str(label), start, end, as_of, total, done, elapsed_share(start, end, as_of))


_LABEL = re.compile(r"^(?:(?P<month>\d{4}-(?:0[1-9]|1[0-2]))|FY(?P<fy>\d{4})(?:-Q(?P<q>[1-4]))?)$")


def parse_period(
    label: str, fiscal_year_start_month: int = 1
) -> tuple[str, pd.Timestamp, pd.Timestamp]:
    """(frequency, first day, last day) of a period label as :func:`period_label` writes it:
    ``2026-08`` (month), ``FY2027-Q3`` (fiscal quarter), ``FY2027`` (fiscal year).

    Raises
    ------
    ValueError
        When ``label`` is none of these, with examples for this fiscal calendar.

    Examples
    --------
    >>> freq, start, end = parse_period("FY2027-Q3", fiscal_year_start_month=2)
    >>> freq, start.date().isoformat(), end.date().isoformat()
    ('quarter', '2026-08-01', '2026-10-31')
    >>> parse_period("FY2026", 1)[1].date().isoformat()
    '2026-01-01'
    """
    _check("month", fiscal_year_start_month)
    m = _LABEL.match(str(label).strip())
    if m is None:
        today = pd.Series([pd.Timestamp("2026-08-15")])
        q = period_label(
            period_start(today, "quarter", fiscal_year_start_month),
            "quarter",
            fiscal_year_start_month,
        ).iloc[0]
        raise ValueError(
            f"period {label!r} is not a period label; write a month (2026-08), a fiscal "
            f"quarter ({q}: fiscal years are named by the calendar year they end in) or a "
            f"fiscal year ({q[:6]})"
        )
    if m["month"]:
        start = pd.Timestamp(f"{m['month']}-01")
        return "month", start, period_end(pd.Series([start]), "month").iloc[0]
    fy = int(m["fy"])
    first = pd.Timestamp(
        year=fy - (fiscal_year_start_month > 1), month=fiscal_year_start_month, day=1
    )
    if m["q"] is None:
        return "year", first, period_end(pd.Series([first]), "year").iloc[0]
    start = first + pd.DateOffset(months=3 * (int(m["q"]) - 1))
    return "quarter", start, period_end(pd.Series([start]), "quarter").iloc[0]
