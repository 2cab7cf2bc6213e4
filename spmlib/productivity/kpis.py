"""The foundation KPIs per rep, team, manager or region, over a date range or per period.

Definitions (the range [start, end] is inclusive and defaults to all the data):

- ``opportunities_created``: opportunities whose created_date is in the range.
- ``won`` / ``lost``: closed deals (status won / lost) whose close_date is in the range.
- ``win_rate`` = won / (won + lost), empty when nothing closed; ``win_rate_low`` /
  ``win_rate_high``: the Wilson 95% interval.
- ``bookings``: sum of amount over won deals closed in the range; ``avg_deal_size`` =
  bookings / won.
- ``median_cycle_days``: median of (close_date - created_date) in days over won deals closed in
  the range.
- ``quota``: sum of the quota rows whose whole period lies in the range (a row straddling a range
  boundary is left out); ``attainment`` = bookings / quota, empty when quota is 0 or unknown.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd

from spmlib.core.grouping import group_columns
from spmlib.core.periods import period_kind, period_range
from spmlib.core.ranges import data_range, day_range
from spmlib.core.stats import rate_table
from spmlib.engine.base import MONEY
from spmlib.exceptions import UnknownNameError
from spmlib.io.schema import Dataset

__all__ = ["KPI_COLUMNS", "kpis"]

log = logging.getLogger(__name__)

KPI_COLUMNS = [
    "opportunities_created",
    "won",
    "lost",
    "win_rate",
    "win_rate_low",
    "win_rate_high",
    "bookings",
    "avg_deal_size",
    "median_cycle_days",
    "quota",
    "attainment",
]


def _groups(ds: Dataset, cols: list[str]) -> pd.DataFrame:
    """One row per group, from reps, so groups without deals still appear."""
    missing = [c for c in cols if c not in ds.reps.columns]
    if missing:
        raise UnknownNameError("reps column for grouping", missing[0], list(ds.reps.columns))
    if not cols:
        return pd.DataFrame(index=[0])
    return ds.reps[cols].drop_duplicates().sort_values(cols).reset_index(drop=True)


def _with_groups(frame: pd.DataFrame, reps: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    extra = [c for c in cols if c != "rep_id"]
    if not extra:
        return frame
    return frame.merge(reps[["rep_id", *extra]], on="rep_id", how="left")


def _count_in(frame, date_col, lo, hi):
    return frame[(frame[date_col] >= lo) & (frame[date_col] <= hi)]


def _range_parts(opps: pd.DataFrame, quotas: pd.DataFrame, cols: list[str], lo, hi) -> pd.DataFrame:
    """The additive and median aggregates of one range per group, in pandas (the reference of
    :func:`_engine_parts`): opportunities_created, won, lost, bookings, median_cycle_days,
    quota, indexed by the group columns (``_all`` when there are none)."""
    key = cols or ["_all"]
    created = _count_in(opps, "created_date", lo, hi)
    closed = _count_in(opps[opps["status"] != "open"], "close_date", lo, hi)
    won = closed[closed["status"] == "won"]
    in_q = quotas[(quotas["period_start"] >= lo) & (quotas["period_end"] <= hi)]
    if not cols:
        created, closed, won, in_q = (f.assign(_all=0) for f in (created, closed, won, in_q))
    cycle = (won["close_date"] - won["created_date"]).dt.days
    parts = {
        "opportunities_created": created.groupby(key).size(),
        "won": won.groupby(key).size(),
        "lost": closed[closed["status"] == "lost"].groupby(key).size(),
        "bookings": won.groupby(key)["amount"].sum(),
        "median_cycle_days": cycle.groupby([won[k] for k in key]).median(),
        "quota": in_q.groupby(key)["quota"].sum(),
    }
    return pd.concat(parts, axis=1)


def _finish(groups: pd.DataFrame, cols: list[str], parts: pd.DataFrame, has_quotas: bool):
    """The KPI rows of one range: every group, its aggregates (``parts``), rates and ratios."""
    key = cols or ["_all"]
    out = groups.copy()
    if not cols:
        out["_all"] = 0
    out = out.merge(parts, left_on=key, right_index=True, how="left")
    for c in ("opportunities_created", "won", "lost"):
        out[c] = out[c].fillna(0).astype("int64")
    out["bookings"] = out["bookings"].fillna(0.0).astype("float64")
    out["quota"] = out["quota"].astype("float64")
    out["median_cycle_days"] = out["median_cycle_days"].astype("float64")
    if has_quotas:
        out["quota"] = out["quota"].fillna(0.0)
    out["closed"] = out["won"] + out["lost"]
    out = rate_table(out, "won", "closed", "win_rate")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["avg_deal_size"] = np.where(out["won"] > 0, out["bookings"] / out["won"], np.nan)
        out["attainment"] = np.where(out["quota"] > 0, out["bookings"] / out["quota"], np.nan)
    return out.drop(columns=[c for c in ("closed", "_all") if c in out.columns])


def _engine_parts(tables, cols: list[str], ranges: list[tuple]) -> list[pd.DataFrame]:
    """The aggregates of :func:`_range_parts` for each of ``ranges`` (disjoint), computed by
    the engine where the data is: one row per group and range, read through a calendar table
    that maps each day of a range to it (an equality join, cheap at any size). Money is summed
    as an exact decimal, so every engine gives the same figures."""
    eng, q = tables.engine, tables.engine.quote
    days = [
        pd.DataFrame({"day": pd.date_range(lo, hi, freq="D"), "period": i})
        for i, (lo, hi) in enumerate(ranges)
    ]
    calendar = pd.concat(days, ignore_index=True)
    calendar["day"] = calendar["day"].dt.date
    eng.register("spm_calendar", calendar)
    # rows are grouped by a group number (one per distinct value of the group columns among
    # the reps), and the group columns put back on the aggregates: grouping a million deals by
    # the rep's id, name and team text takes longer than the rest of the query
    gnum, gsel, gk, join = "", "", "", ""
    if cols:
        ck = ", ".join(q(c) for c in cols)
        rk = ", ".join(q(c) for c in dict.fromkeys(["rep_id", *cols]))
        notnull = " AND ".join(f"{q(c)} IS NOT NULL" for c in cols)
        gnum = f"(SELECT {rk}, dense_rank() OVER (ORDER BY {ck}) AS _g FROM reps WHERE {notnull})"
        gsel, gk, join = "g._g, ", "_g, ", f"JOIN {gnum} g ON t.rep_id = g.rep_id"

    def named(query: str, measures: str) -> pd.DataFrame:
        """The aggregates of ``query`` (by group number and period), with the group columns."""
        if not cols:
            return eng.sql(query)
        return eng.sql(
            f"SELECT {', '.join(f'n.{q(c)}' for c in cols)}, a.period, {measures} "
            f"FROM ({query}) a JOIN (SELECT DISTINCT _g, {ck} FROM {gnum} d) n ON a._g = n._g"
        )

    money = f"CAST(amount AS {MONEY})"
    won = "o.status = 'won'"
    cycle = eng.median(f"CASE WHEN {won} THEN {eng.days_between('created_date', 'close_date')} END")
    opps = (
        f"(SELECT {gsel}t.created_date, t.close_date, t.status, t.amount "
        f"FROM opportunities t {join})"
    )
    created = named(
        f"SELECT {gk}c.period, count(*) AS opportunities_created FROM {opps} o "
        f"JOIN spm_calendar c ON o.created_date = c.day GROUP BY {gk}c.period",
        "a.opportunities_created",
    )
    closed = named(
        f"SELECT {gk}c.period, sum(CASE WHEN {won} THEN 1 ELSE 0 END) AS won, "
        f"sum(CASE WHEN o.status = 'lost' THEN 1 ELSE 0 END) AS lost, "
        f"CAST(sum(CASE WHEN {won} THEN {money} END) AS {eng.string_type}) AS bookings, "
        f"{cycle} AS median_cycle_days FROM {opps} o JOIN spm_calendar c ON o.close_date = c.day "
        f"WHERE o.status <> 'open' GROUP BY {gk}c.period",
        "a.won, a.lost, a.bookings, a.median_cycle_days",
    )
    parts = [created, closed]
    if tables.has("quotas"):
        quotas = f"(SELECT {gsel}t.period_start, t.period_end, t.quota FROM quotas t {join})"
        parts.append(
            named(
                f"SELECT {gk}s.period, CAST(sum(CAST(o.quota AS {MONEY})) AS {eng.string_type}) "
                f"AS quota FROM {quotas} o JOIN spm_calendar s ON o.period_start = s.day "
                f"JOIN spm_calendar e ON o.period_end = e.day WHERE s.period = e.period "
                f"GROUP BY {gk}s.period",
                "a.quota",
            )
        )
    key = [*cols, "period"]
    dtypes = tables.reps.dtypes
    frames = []
    for part in parts:
        for c in cols:
            part[c] = part[c].astype(dtypes[c])
        for c in ("bookings", "quota"):
            if c in part.columns:
                part[c] = pd.to_numeric(part[c]).astype("float64")
        frames.append(part.set_index(key))
    allparts = pd.concat(frames, axis=1) if frames else pd.DataFrame()
    for c in ("opportunities_created", "won", "lost", "bookings", "median_cycle_days", "quota"):
        if c not in allparts.columns:
            allparts[c] = np.nan
    out = []
    for i in range(len(ranges)):
        rows = allparts[allparts.index.get_level_values("period") == i]
        if cols:
            rows = rows.droplevel("period")
        else:
            rows.index = pd.Index([0] * len(rows), name="_all")
        out.append(rows)
    return out


def kpis(
    ds,
    by: str = "rep",
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    period: Literal["month", "quarter", "ytd"] | None = None,
) -> pd.DataFrame:
    """Foundation KPIs per group, over the range or per period (see the module docstring).

    Parameters
    ----------
    ds : the dataset: a loaded :class:`~spmlib.io.schema.Dataset` (aggregated in pandas), or
        :class:`~spmlib.engine.tables.Tables` opened in an engine (aggregated where the data is,
        same results: counts and medians identical, money to the cent).
    by : "rep" (rep_id, rep_name, team), "team", "manager", "region" or "all" (no group column).
    start, end : inclusive range; None = the dataset's full range (:func:`data_range`).
    period : None for one row per group over the whole range; "month" or "quarter" (fiscal) for
        one row per group and period overlapping the range, each period clipped to the range;
        "ytd" for one row per group and fiscal year, from the fiscal year's start to its end or
        the range's end, whichever is first (the current year is year-to-date).

    Returns
    -------
    DataFrame with the group columns, then (with ``period``) ``period``, ``period_start``,
    ``period_end`` (the clipped range actually counted), then ``opportunities_created``, ``won``,
    ``lost``, ``win_rate``, ``win_rate_low``, ``win_rate_high``, ``bookings``, ``avg_deal_size``,
    ``median_cycle_days``, ``quota``, ``attainment``. Every rep/team of ``reps`` appears, with
    zero counts and empty rates when it has no deals.

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a", "b"], "rep_name": ["Ann", "Bob"], "team": ["T", "T"]})
    >>> opps = pd.DataFrame({
    ...     "opp_id": ["1", "2", "3"], "rep_id": ["a", "a", "a"],
    ...     "created_date": pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-10"]),
    ...     "close_date": pd.to_datetime(["2026-01-11", "2026-01-20", "2026-03-01"]),
    ...     "stage": ["Won", "Lost", "Open"], "amount": [100.0, 50.0, 70.0],
    ...     "status": ["won", "lost", "open"]})
    >>> ds = Dataset(DatasetConfig(("Open",), "Won", "Lost"), reps, opps)
    >>> kpis(ds)[["rep_id", "won", "lost", "win_rate", "bookings", "median_cycle_days"]]
      rep_id  won  lost  win_rate  bookings  median_cycle_days
    0      a    1     1       0.5     100.0               10.0
    1      b    0     0       NaN       0.0                NaN
    """
    cols = group_columns(by)
    engine = not isinstance(ds, Dataset)
    lo_all, hi_all = ds.data_range() if engine else data_range(ds)
    lo, hi = day_range(start, end, lo_all, hi_all)
    groups = _groups(ds, cols)
    if period is None:
        ranges, labels = [(lo, hi)], [None]
    else:
        kind = period_kind(period)
        fy = ds.config.fiscal_year_start_month
        ranges, labels = [], []
        for p in period_range(lo, hi, kind.freq, fy).itertuples(index=False):
            ranges.append((max(p.period_start, lo), min(p.period_end, hi)))
            labels.append(p.period + (" YTD" if kind.to_date and p.period_end > hi else ""))
    if engine:
        parts = _engine_parts(ds, cols, ranges)
        has_quotas = ds.count("quotas") > 0
    else:
        opps = _with_groups(ds.opportunities, ds.reps, cols)
        quotas = _with_groups(ds.quotas, ds.reps, cols)
        parts = [_range_parts(opps, quotas, cols, p_lo, p_hi) for p_lo, p_hi in ranges]
        has_quotas = not quotas.empty
    if period is None:
        out = _finish(groups, cols, parts[0], has_quotas)
        return out[[*cols, *KPI_COLUMNS]].reset_index(drop=True)
    frames = []
    for (p_lo, p_hi), label, part in zip(ranges, labels, parts, strict=True):
        part = _finish(groups, cols, part, has_quotas)
        part.insert(0, "period_end", p_hi)
        part.insert(0, "period_start", p_lo)
        part.insert(0, "period", label)
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    out = out[[*cols, "period", "period_start", "period_end", *KPI_COLUMNS]]
    return out.sort_values([*cols, "period_start"], kind="stable").reset_index(drop=True)
