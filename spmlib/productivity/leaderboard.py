"""Leaderboards: reps (or teams) ranked on one KPI, with the change since the previous period.

Rules:

- The **current window** is the fiscal month, quarter or year (``period``) holding the reference
  date (``as_of``, or ``end`` when earlier), up to that date; the **previous window** is the
  period before, over the same number of days (quarter-to-date against the same days of the
  previous quarter), so that counts compare like with like. Without ``period`` the current window
  is [start, end] and the previous one the window of the same length just before it.
- KPI values follow :func:`spmlib.productivity.kpis.kpis` (bookings, won, opportunities_created,
  avg_deal_size, median_cycle_days, win_rate), :func:`spmlib.productivity.attainment.allocate_quota`
  (attainment = bookings / the quota falling in the window) and
  :func:`spmlib.productivity.activity.activity_outcomes` (activities, proposal_acceptance).
- **Rates are ranked by their shrunken values** (:func:`spmlib.core.stats.shrink_rates`, the Beta
  prior fitted over the rows of the board), so 2 wins out of 2 does not top the board;
  ``raw_value`` keeps the observed rate.
- Rank 1 is the best (highest, or lowest for median_cycle_days); ties share the smaller rank;
  rows without a value are unranked and listed last. ``rank_change`` = previous rank - rank
  (positive = moved up).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spmlib.core.grouping import group_columns
from spmlib.core.periods import period_end, period_kind, period_label, period_start
from spmlib.core.ranges import parse_day, resolve_range
from spmlib.core.stats import shrink_rates
from spmlib.exceptions import UnknownNameError
from spmlib.io.schema import Dataset
from spmlib.productivity.activity import activity_outcomes
from spmlib.productivity.attainment import allocate_quota
from spmlib.productivity.kpis import kpis

__all__ = ["Metric", "METRICS", "leaderboard_windows", "leaderboard"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Metric:
    """A rankable KPI: its label, direction and kind ("rate" ranks are shrunken)."""

    name: str
    label: str
    higher_is_better: bool = True
    kind: str = "count"


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("bookings", "Bookings", kind="amount"),
        Metric("won", "Deals won"),
        Metric("opportunities_created", "Opportunities created"),
        Metric("avg_deal_size", "Average deal size", kind="amount"),
        Metric("median_cycle_days", "Median sales cycle (days)", False, "days"),
        Metric("attainment", "Quota attainment", kind="ratio"),
        Metric("win_rate", "Win rate (shrunken)", kind="rate"),
        Metric("proposal_acceptance", "Proposal acceptance (shrunken)", kind="rate"),
        Metric("activities", "Activities"),
    ]
}
_OUT = [
    "rank",
    "value",
    "raw_value",
    "n",
    "previous_rank",
    "previous_value",
    "rank_change",
    "value_change",
    "period",
    "previous_period",
]


def leaderboard_windows(
    ds: Dataset,
    period: str | None = "quarter",
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """The current and previous windows of a leaderboard (rules in the module docstring).

    Returns
    -------
    DataFrame with rows ``current`` and ``previous`` (column ``window``) and columns
    ``period`` (label), ``start``, ``end`` (inclusive).

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a"], "rep_name": ["Ann"], "team": ["T"]})
    >>> opps = pd.DataFrame({"opp_id": ["1"], "rep_id": ["a"], "stage": ["Won"], "amount": [1.0],
    ...     "created_date": pd.to_datetime(["2026-01-02"]),
    ...     "close_date": pd.to_datetime(["2026-05-10"]), "status": ["won"]})
    >>> ds = Dataset(DatasetConfig(("Open",), "Won", "Lost"), reps, opps)
    >>> w = leaderboard_windows(ds, "quarter")
    >>> w.assign(start=w.start.dt.date.astype(str), end=w.end.dt.date.astype(str))
         window                 period       start         end
    0   current  FY2026-Q2 (to 10 May)  2026-04-01  2026-05-10
    1  previous  FY2026-Q1 (to 09 Feb)  2026-01-01  2026-02-09
    """
    if period is None:
        lo, hi = resolve_range(ds, start, end)
        days = (hi - lo).days + 1
        p_lo, p_hi = lo - pd.Timedelta(days=days), lo - pd.Timedelta(days=1)
        labels = [f"{lo.date()} to {hi.date()}", f"{p_lo.date()} to {p_hi.date()}"]
        return _windows_frame(labels, [lo, p_lo], [hi, p_hi])
    freq, fy = period_kind(period).freq, ds.config.fiscal_year_start_month
    end = parse_day(end, "end")
    ref = ds.as_of if end is None else min(end, ds.as_of)
    cur_lo = period_start(pd.Series([ref]), freq, fy).iloc[0]
    cur_end = period_end(pd.Series([cur_lo]), freq).iloc[0]
    prev_lo = period_start(pd.Series([cur_lo - pd.Timedelta(days=1)]), freq, fy).iloc[0]
    prev_end = cur_lo - pd.Timedelta(days=1)
    prev_hi = min(prev_lo + (ref - cur_lo), prev_end)
    labels = []
    for lo, hi, full_end in [(cur_lo, ref, cur_end), (prev_lo, prev_hi, prev_end)]:
        label = period_label(pd.Series([lo]), freq, fy).iloc[0]
        labels.append(label if hi >= full_end else f"{label} (to {hi:%d %b})")
    return _windows_frame(labels, [cur_lo, prev_lo], [ref, prev_hi])


def _windows_frame(labels, starts, ends) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "window": ["current", "previous"],
            "period": labels,
            "start": pd.to_datetime(starts).astype("datetime64[ns]"),
            "end": pd.to_datetime(ends).astype("datetime64[ns]"),
        }
    )


def _group_sum(
    rep_frame: pd.DataFrame, reps: pd.DataFrame, by: str, cols: list[str], sums: list[str]
):
    """Sum rep-level counts into the groups of ``by`` (every group of ``reps`` kept)."""
    if by == "rep":
        return rep_frame[[*cols, *sums]].reset_index(drop=True)
    frame = rep_frame[["rep_id", *sums]].merge(reps[["rep_id", *cols]], on="rep_id", how="left")
    if not cols:
        return frame[sums].sum().to_frame().T.astype(float)
    out = frame.groupby(cols, dropna=False, as_index=False)[sums].sum()
    groups = reps[cols].drop_duplicates().sort_values(cols)
    return (
        groups.merge(out, on=cols, how="left").fillna({s: 0 for s in sums}).reset_index(drop=True)
    )


def _values(ds: Dataset, metric: Metric, by: str, lo, hi) -> pd.DataFrame:
    """Group columns plus ``value``, ``raw_value`` and ``n`` for one window."""
    cols = group_columns(by)
    name = metric.name
    if name in ("activities", "proposal_acceptance"):
        rep = activity_outcomes(ds, lo, hi)
        if name == "activities":
            out = _group_sum(rep, ds.reps, by, cols, ["activities"])
            return out.assign(value=out["activities"].astype(float), n=out["activities"])
        out = _group_sum(rep, ds.reps, by, cols, ["proposals_accepted", "proposals_decided"])
        return _shrunk(out, "proposals_accepted", "proposals_decided", name)
    if name == "attainment":
        rep = kpis(ds, by="rep", start=lo, end=hi)
        window = pd.DataFrame({"period_start": [lo], "period_end": [hi]})
        alloc = allocate_quota(ds.quotas, window).groupby("rep_id")["quota"].sum()
        rep["quota"] = rep["rep_id"].map(alloc).astype(float).fillna(0.0)
        rep["has_quota"] = (rep["quota"] > 0).astype("int64")
        rep["bookings"] = rep["bookings"].where(rep["has_quota"] > 0, 0.0)
        out = _group_sum(rep, ds.reps, by, cols, ["bookings", "quota", "has_quota"])
        value = out["bookings"] / out["quota"].where(out["quota"] > 0)
        return out.assign(value=value, n=out["has_quota"])
    k = kpis(ds, by=by, start=lo, end=hi)
    if name == "win_rate":
        k["closed"] = k["won"] + k["lost"]
        return _shrunk(k, "won", "closed", name)
    n = k["opportunities_created"] if name == "opportunities_created" else k["won"]
    return k.assign(value=k[name].astype(float), n=n)


def _shrunk(frame: pd.DataFrame, successes: str, trials: str, name: str) -> pd.DataFrame:
    out = shrink_rates(frame, successes, trials, name)
    k, n = out[successes].astype(float), out[trials].astype(float)
    raw = k / n.where(n > 0)
    return out.assign(value=out[f"{name}_shrunk"].where(n > 0), raw_value=raw, n=out[trials])


def _rank(values: pd.Series, higher_is_better: bool) -> pd.Series:
    return values.rank(method="min", ascending=not higher_is_better).astype("Int64")


def leaderboard(
    ds: Dataset,
    metric: str = "bookings",
    by: str = "rep",
    period: str | None = "quarter",
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    top: int | None = None,
) -> pd.DataFrame:
    """Rank reps (or teams, managers, regions) on one KPI, with the change since the last window.

    Parameters
    ----------
    ds : the dataset (scope it first with ``Dataset.scoped`` for a team board).
    metric : a key of :data:`METRICS`.
    by : "rep", "team", "manager", "region" or "all".
    period : "month", "quarter" or "ytd" (fiscal, to date), or None for [start, end].
    start, end : with ``period``, ``end`` moves the reference date back; without, the range.
    top : keep the first ``top`` rows only.

    Returns
    -------
    DataFrame ordered by rank: ``rank`` (Int64; empty when there is no value), the group columns,
    ``value`` (shrunken for rates), ``raw_value`` (the observed rate for rates, else = value),
    ``n`` (what the value rests on: closed deals for win rate, decided proposals, won deals for
    bookings, deal size and cycle, reps with quota for attainment, the count itself for counts),
    ``previous_rank``, ``previous_value``, ``rank_change`` (previous - current, positive = up),
    ``value_change``, ``period``, ``previous_period`` (window labels).

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a", "b"], "rep_name": ["Ann", "Bob"], "team": ["T", "T"]})
    >>> opps = pd.DataFrame({"opp_id": ["1", "2", "3"], "rep_id": ["a", "b", "b"],
    ...     "stage": ["Won"] * 3, "amount": [100.0, 30.0, 40.0], "status": ["won"] * 3,
    ...     "created_date": pd.to_datetime(["2026-01-02"] * 3),
    ...     "close_date": pd.to_datetime(["2026-01-20", "2026-01-09", "2026-01-10"])})
    >>> ds = Dataset(DatasetConfig(("Open",), "Won", "Lost"), reps, opps)
    >>> leaderboard(ds, "bookings", period="month")[["rank", "rep_id", "value", "n"]]
       rank rep_id  value  n
    0     1      a  100.0  1
    1     2      b   70.0  2
    """
    if metric not in METRICS:
        raise UnknownNameError("leaderboard metric", metric, list(METRICS))
    m = METRICS[metric]
    cols = group_columns(by)
    windows = leaderboard_windows(ds, period, start, end)
    cur, prev = windows.iloc[0], windows.iloc[1]
    now = _values(ds, m, by, cur["start"], cur["end"])
    before = _values(ds, m, by, prev["start"], prev["end"])
    if "raw_value" not in now.columns:
        now["raw_value"] = now["value"]
    now["rank"] = _rank(now["value"], m.higher_is_better)
    before["previous_rank"] = _rank(before["value"], m.higher_is_better)
    before = before.rename(columns={"value": "previous_value"})
    key = cols or None
    if key:
        out = now.merge(before[[*cols, "previous_rank", "previous_value"]], on=cols, how="left")
    else:
        out = now.assign(
            previous_rank=before["previous_rank"].to_numpy(),
            previous_value=before["previous_value"].to_numpy(),
        )
    out["rank_change"] = (out["previous_rank"] - out["rank"]).astype("Int64")
    out["value_change"] = out["value"] - out["previous_value"]
    out["period"], out["previous_period"] = cur["period"], prev["period"]
    out["n"] = out["n"].fillna(0).astype("int64")
    for c in ("value", "raw_value", "previous_value", "value_change"):
        out[c] = out[c].astype("float64")
    for c in [*cols, "period", "previous_period"]:
        out[c] = out[c].astype("string")
    out = out.assign(_unranked=out["rank"].isna()).sort_values(
        ["_unranked", "rank", *cols], kind="stable"
    )
    out = out[["rank", *cols, *_OUT[1:]]].reset_index(drop=True)
    if not np.isfinite(out["value"]).any():
        log.info("no %s values in %s", metric, cur["period"])
    return out.head(top) if top else out
