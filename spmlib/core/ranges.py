"""Dates given by people, and the date range an analysis covers.

Every ``start``, ``end`` and ``as_of`` an analysis, a parameter or a CLI option takes is read by
:func:`parse_day` (a ``YYYY-MM-DD`` text, a date or a timestamp, reduced to the day; a bad value
is a :class:`~spmlib.exceptions.ParameterError` naming it) and ordered by :func:`day_range`, so a
date is parsed, checked and defaulted the same way everywhere.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from spmlib.exceptions import ParameterError
from spmlib.io.schema import Dataset

__all__ = ["parse_day", "day_range", "data_range", "resolve_range"]


def parse_day(
    value: str | dt.date | pd.Timestamp | None, name: str = "date"
) -> pd.Timestamp | None:
    """``value`` as a day (a Timestamp at midnight), None when None or empty.

    Raises
    ------
    ParameterError : naming ``name`` when the value is not a date pandas can represent.

    Examples
    --------
    >>> parse_day("2026-03-05T17:30"), parse_day(None)
    (Timestamp('2026-03-05 00:00:00'), None)
    >>> parse_day("2026-13-01", "start")
    Traceback (most recent call last):
    ...
    spmlib.exceptions.ParameterError: start '2026-13-01' is not a date; write it as YYYY-MM-DD.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        day = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        day = pd.NaT
    if pd.isna(day):
        raise ParameterError(f"{name} {str(value)!r} is not a date; write it as YYYY-MM-DD.")
    if day.tzinfo is not None:
        day = day.tz_localize(None)
    return day.normalize()


def day_range(
    start, end, default_start: pd.Timestamp | None = None, default_end: pd.Timestamp | None = None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``(start, end)`` parsed by :func:`parse_day`, defaulted, and checked to be in order.

    Examples
    --------
    >>> day_range(None, "2026-01-31", pd.Timestamp("2026-01-01"))
    (Timestamp('2026-01-01 00:00:00'), Timestamp('2026-01-31 00:00:00'))
    >>> day_range("2026-02-01", "2026-01-01")
    Traceback (most recent call last):
    ...
    spmlib.exceptions.ParameterError: end 2026-01-01 is before start 2026-02-01; swap them.
    """
    lo = parse_day(start, "start")
    hi = parse_day(end, "end")
    lo = default_start if lo is None else lo
    hi = default_end if hi is None else hi
    if lo is not None and hi is not None and hi < lo:
        raise ParameterError(f"end {hi.date()} is before start {lo.date()}; swap them.")
    return lo, hi


def data_range(ds: Dataset) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The dataset's full date range: from the earliest creation or quota start to the reference
    date (``Dataset.as_of``), or to the end of the last quota period already under way then.

    Quotas planned for periods that start after the reference date are not data yet, so they
    do not stretch the range (and would otherwise dilute attainment with months not played).
    """
    opp = ds.opportunities
    lows = [opp["created_date"].min()]
    highs = [ds.as_of]
    if not ds.quotas.empty:
        lows.append(ds.quotas["period_start"].min())
        started = ds.quotas.loc[ds.quotas["period_start"] <= ds.as_of, "period_end"]
        if not started.empty:
            highs.append(started.max())
    lows = [x for x in lows if pd.notna(x)]
    return min(lows) if lows else ds.as_of, max(highs)


def resolve_range(
    ds: Dataset, start: pd.Timestamp | str | None = None, end: pd.Timestamp | str | None = None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The inclusive range to analyse: ``start``/``end``, defaulting to the dataset's first
    creation or quota start and its reference date ``as_of`` (future quota periods are not
    part of what happened)."""
    return day_range(start, end, data_range(ds)[0], ds.as_of)
