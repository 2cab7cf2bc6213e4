"""The date range an analysis covers: the dataset's own range, and ``start``/``end`` parsed once.

Every analysis that takes ``start`` and ``end`` resolves them here, so a date is parsed, checked
and defaulted the same way everywhere.
"""

from __future__ import annotations

import pandas as pd

from spmlib.io.schema import Dataset

__all__ = ["data_range", "resolve_range"]


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
    lo_all, _ = data_range(ds)
    lo = pd.Timestamp(start).normalize() if start is not None else lo_all
    hi = pd.Timestamp(end).normalize() if end is not None else ds.as_of
    if hi < lo:
        raise ValueError(f"end {hi.date()} is before start {lo.date()}; swap them.")
    return lo, hi
