"""Fast bucketing of rows: the analysis range, months active, and rows to rep / period / type codes.

Each helper works on the distinct values of a column (a few thousand days, reps or types) and
maps them back with integer codes, so tables of ten million rows are counted with
``numpy.bincount`` in a few passes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spmlib.core.periods import period_start

__all__ = [
    "ACTIVITY_TYPES",
    "months_active",
    "period_codes",
    "rep_codes",
    "type_codes",
    "word_mask",
    "in_range",
    "count_codes",
    "safe_ratio",
]

#: The activity types of the data model; other words are kept as they are.
ACTIVITY_TYPES = ("call", "email", "meeting", "demo", "proposal", "referral", "event")


def _month_position(dates: pd.Series) -> np.ndarray:
    """Months since year 0 as a float: the month index plus the elapsed share of the month."""
    d = pd.to_datetime(dates)
    return (d.dt.year * 12 + d.dt.month - 1).to_numpy(dtype=float) + (
        d.dt.day.to_numpy(dtype=float) - 1
    ) / d.dt.days_in_month.to_numpy(dtype=float)


def months_active(reps: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Calendar months of [start, end] each rep was employed, partial months by share of days.

    Employment starts at ``hire_date`` when the column exists and is filled; a rep hired after
    ``end`` is active 0 months.

    Examples
    --------
    >>> reps = pd.DataFrame({"rep_id": ["a", "b"],
    ...     "hire_date": pd.to_datetime([None, "2026-02-15"])})
    >>> months_active(reps, pd.Timestamp("2026-01-01"), pd.Timestamp("2026-03-31")).tolist()
    [3.0, 1.5]
    """
    begin = pd.Series(pd.Timestamp(start), index=reps.index)
    if "hire_date" in reps.columns:
        hired = pd.to_datetime(reps["hire_date"])
        begin = hired.where(hired > begin, begin).fillna(begin)
    stop = pd.Series(pd.Timestamp(end) + pd.Timedelta(days=1), index=reps.index)
    months = _month_position(stop) - _month_position(begin)
    return pd.Series(np.clip(months, 0.0, None), index=reps.index, name="months_active")


def period_codes(
    dates: pd.Series, periods: pd.DataFrame, freq: str, fiscal_year_start_month: int
) -> np.ndarray:
    """Position of each date's period in ``periods`` (from
    :func:`spmlib.core.periods.period_range`),
    -1 when the date is missing or outside them.

    Dates are bucketed once per distinct day, so ten million rows cost little more than the
    few thousand days they span.
    """
    codes, uniques = pd.factorize(pd.to_datetime(dates), sort=False)
    if len(uniques) == 0:
        return np.full(len(codes), -1, dtype=np.int64)
    starts = period_start(pd.Series(uniques), freq, fiscal_year_start_month).to_numpy()
    pos = np.searchsorted(periods["period_start"].to_numpy(), starts)
    known = periods["period_start"].to_numpy()
    ok = (pos < len(known)) & (known[np.minimum(pos, len(known) - 1)] == starts)
    per_unique = np.where(ok, pos, -1)
    return np.where(codes >= 0, per_unique[np.maximum(codes, 0)], -1).astype(np.int64)


def type_codes(types: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Factorize activity types, lower-cased and singular (``Calls`` -> ``call``)."""
    codes, uniques = pd.factorize(types, sort=False)
    names = []
    for u in uniques:
        t = str(u).strip().lower()
        if t not in ACTIVITY_TYPES and t.endswith("s") and t[:-1] in ACTIVITY_TYPES:
            t = t[:-1]
        names.append(t)
    final = sorted(
        set(names), key=lambda t: (ACTIVITY_TYPES.index(t) if t in ACTIVITY_TYPES else 99, t)
    )
    remap = np.array([final.index(t) for t in names] or [0], dtype=np.int64)
    return np.where(codes >= 0, remap[np.maximum(codes, 0)], -1), final


def rep_codes(reps: pd.DataFrame, rep_ids: pd.Series) -> np.ndarray:
    """Position of each ``rep_ids`` value in ``reps`` (-1 when unknown or missing).

    The ids are factorized first, so only the distinct ids are compared as text: fast on
    millions of rows whatever their dtype.

    Examples
    --------
    >>> reps = pd.DataFrame({"rep_id": ["a", "b"]})
    >>> rep_codes(reps, pd.Series(["b", "x", None, "a", "b"])).tolist()
    [1, -1, -1, 0, 1]
    """
    codes, uniques = pd.factorize(rep_ids, sort=False)
    if len(uniques) == 0:
        return np.full(len(codes), -1, dtype=np.int64)
    known = pd.Index(reps["rep_id"].astype(str)).get_indexer(pd.Index(uniques).astype(str))
    return np.where(codes >= 0, known[np.maximum(codes, 0)], -1).astype(np.int64)


def in_range(dates: pd.Series, lo: pd.Timestamp, hi: pd.Timestamp) -> np.ndarray:
    """Boolean mask of the dates in [lo, hi], without copying the frame they belong to."""
    d = dates.to_numpy(dtype="datetime64[ns]")
    return (d >= lo.to_datetime64()) & (d <= hi.to_datetime64())


def count_codes(
    codes: np.ndarray,
    n: int,
    mask: np.ndarray | None = None,
    weight: np.ndarray | None = None,
) -> np.ndarray:
    """How many rows carry each code 0..n-1 (codes < 0 and rows outside ``mask`` ignored), a
    row counting ``weight`` (None: 1; e.g. an engine's count of identical rows).

    Examples
    --------
    >>> count_codes(np.array([0, 2, 2, -1]), 3)
    array([1, 0, 2])
    >>> keep, weight = np.array([True, True, False]), np.array([4, 5, 6])
    >>> count_codes(np.array([0, 2, 2]), 3, keep, weight)
    array([4, 0, 5])
    """
    keep = codes >= 0 if mask is None else (codes >= 0) & np.asarray(mask, dtype=bool)
    w = None if weight is None else weight[keep]
    return np.bincount(codes[keep], weights=w, minlength=n).astype(np.int64)


def word_mask(values: pd.Series | None, length: int):
    """A function ``word -> bool mask`` over lower-cased, stripped text (missing = ""),
    normalised once per distinct value."""
    if values is None:
        codes, words = np.full(length, -1, dtype=np.int64), []
    else:
        codes, uniques = pd.factorize(values, sort=False)
        words = [str(u).strip().lower() for u in uniques]

    def mask(word: str) -> np.ndarray:
        hits = np.array([w == word for w in words] + [word == ""], dtype=bool)
        return hits[np.where(codes >= 0, codes, len(words))]

    return mask


def safe_ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den as float64, empty where den is 0 or missing."""
    num, den = num.astype(float), den.astype(float)
    return (num / den.where(den > 0)).astype("float64")
