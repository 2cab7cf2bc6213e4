"""The ramp of new hires: productivity by month since hire against the tenured reps.

Definitions: a rep's monthly value of a metric (bookings, won, opportunities created or
activities, as in :func:`spmlib.productivity.kpis.kpis` and
:func:`spmlib.productivity.activity.activity_volume`) by
month since hire (the hire month is month 1), against the median of the tenured reps (more than
``horizon`` months since hire, or no known hire date) in the same calendar month, so that
seasonality and growth cancel out.
"""

from __future__ import annotations

import logging

import pandas as pd

from spmlib.core.buckets import safe_ratio
from spmlib.core.periods import period_start
from spmlib.core.ranges import resolve_range
from spmlib.exceptions import ParameterError, UnknownNameError
from spmlib.io.schema import Dataset
from spmlib.productivity.activity import REP_COLUMNS, activity_volume
from spmlib.productivity.kpis import kpis

__all__ = ["RAMP_METRICS", "ramp", "ramp_curve"]

log = logging.getLogger(__name__)

#: Monthly metrics the ramp can follow.
RAMP_METRICS = ("bookings", "won", "opportunities_created", "activities")


def _monthly(ds: Dataset, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
    """Per rep and month: the kpis counts plus activities (``rep_id``, ``period_start`` ...)."""
    monthly = kpis(ds, by="rep", start=lo, end=hi, period="month")
    vol = activity_volume(ds, "month", lo, hi)
    acts = vol.groupby(["rep_id", "period_start"], as_index=False)["activities"].sum()
    monthly["period_start"] = pd.to_datetime(monthly["period_start"])
    monthly["period_start"] = period_start(monthly["period_start"], "month")
    out = monthly.merge(acts, on=["rep_id", "period_start"], how="left")
    out["activities"] = out["activities"].fillna(0).astype("int64")
    return out


def ramp(
    ds: Dataset,
    metric: str = "bookings",
    horizon: int = 12,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Monthly productivity of reps in their first ``horizon`` months against tenured reps.

    Parameters
    ----------
    ds : the dataset; reps need a ``hire_date`` to be followed.
    metric : one of :data:`RAMP_METRICS` (bookings, won, opportunities_created, activities).
    horizon : months since hire that count as ramping (hire month = 1).
    start, end : inclusive range; see :func:`resolve_range`.

    Returns
    -------
    DataFrame, one row per ramping rep-month in the range: ``rep_id``, ``rep_name``, ``team``,
    ``month_since_hire`` (int, 1 = the hire month), ``period_start`` (the calendar month),
    ``value`` (the rep's metric that month), ``tenured_median`` (median of the tenured reps in
    the same calendar month; empty when there is none), ``share_of_tenured`` = value /
    tenured_median (empty when the median is 0 or missing).
    """
    if metric not in RAMP_METRICS:
        raise UnknownNameError("ramp metric", metric, RAMP_METRICS)
    if horizon < 1:
        raise ParameterError(f"horizon must be at least 1 month, got {horizon}.")
    lo, hi = resolve_range(ds, start, end)
    cols = [
        *REP_COLUMNS,
        "month_since_hire",
        "period_start",
        "value",
        "tenured_median",
        "share_of_tenured",
    ]
    monthly = _monthly(ds, lo, hi)
    hire = ds.reps.set_index("rep_id")["hire_date"] if "hire_date" in ds.reps.columns else None
    if hire is None:
        hired = pd.Series(pd.NaT, index=monthly.index, dtype="datetime64[ns]")
    else:
        hired = monthly["rep_id"].map(hire).astype("datetime64[ns]")
    hire_month = period_start(hired, "month")
    since = (
        (monthly["period_start"].dt.year - hire_month.dt.year) * 12
        + (monthly["period_start"].dt.month - hire_month.dt.month)
        + 1
    )
    monthly["month_since_hire"] = since
    monthly["value"] = monthly[metric].astype(float)
    tenured = monthly[since.isna() | (since > horizon)]
    med = tenured.groupby("period_start")["value"].median().rename("tenured_median")
    ramping = monthly[since.notna() & (since >= 1) & (since <= horizon)].copy()
    ramping = ramping.merge(med, left_on="period_start", right_index=True, how="left")
    ramping["month_since_hire"] = ramping["month_since_hire"].astype("int64")
    ramping["tenured_median"] = ramping["tenured_median"].astype("float64")
    ramping["share_of_tenured"] = safe_ratio(ramping["value"], ramping["tenured_median"])
    if ramping.empty:
        out = pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
        for c in REP_COLUMNS:
            out[c] = out[c].astype("string")
        out["month_since_hire"] = out["month_since_hire"].astype("int64")
        out["period_start"] = out["period_start"].astype("datetime64[ns]")
        return out
    return ramping[cols].sort_values(["rep_id", "month_since_hire"]).reset_index(drop=True)


def ramp_curve(ramp_rows: pd.DataFrame) -> pd.DataFrame:
    """The typical ramp: per month since hire, over the ramping reps of :func:`ramp`.

    Returns
    -------
    DataFrame ``month_since_hire``, ``reps`` (ramping reps observed that month),
    ``median_value``, ``tenured_median`` (median over those rows of the calendar-matched tenured
    median), ``median_share_of_tenured`` (median of the reps' value / tenured median).

    Examples
    --------
    >>> rows = pd.DataFrame({"month_since_hire": [1, 1, 2], "value": [0.0, 2.0, 5.0],
    ...     "tenured_median": [10.0, 10.0, 10.0], "share_of_tenured": [0.0, 0.2, 0.5]})
    >>> ramp_curve(rows)[["month_since_hire", "reps", "median_value", "median_share_of_tenured"]]
       month_since_hire  reps  median_value  median_share_of_tenured
    0                 1     2           1.0                      0.1
    1                 2     1           5.0                      0.5
    """
    g = ramp_rows.groupby("month_since_hire")
    out = pd.DataFrame(
        {
            "reps": g.size().astype("int64"),
            "median_value": g["value"].median(),
            "tenured_median": g["tenured_median"].median(),
            "median_share_of_tenured": g["share_of_tenured"].median(),
        }
    ).reset_index()
    out["month_since_hire"] = out["month_since_hire"].astype("int64")
    return out
