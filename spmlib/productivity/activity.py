"""What reps did and what it produced: activity volume and mix, activity-to-outcome ratios, ramp.

Definitions (every range [start, end] is inclusive; None = the dataset's range, from the first
creation or quota start up to the reference date ``Dataset.as_of``):

- **activities**: rows of the ``activities`` table dated in the period, counted by ``type``
  (lower-cased; a plural such as ``calls`` is read as ``call``).
- **share of logged time**: the minutes (``duration_minutes``) of a type over all the rep's
  logged minutes in the range; activities without a duration are left out.
- **months_active**: calendar months of the range during which the rep was employed (from
  ``hire_date``, when known), partial months counted by their share of days: a rep hired on
  15 February of a 28-day February and followed to 31 March is active 0.5 + 1 = 1.5 months.
- **calls_per_meeting** = calls / meetings; **meetings_per_opportunity** = meetings /
  opportunities created; **activities_per_won_deal** = activities / deals won (closed in the
  range); **opportunities_per_month** = opportunities created / months_active. Each is empty
  when its denominator is 0. These are ratios of counts, not proportions, so they carry no
  interval.
- **proposal_acceptance** = proposals whose ``outcome`` is ``accepted`` / proposals whose
  outcome is ``accepted`` or ``rejected`` (proposals still pending are left out), with its Wilson
  95% interval.
- **referrals_given**: activities of type ``referral`` logged by the rep whose outcome is not
  ``received``; **referrals_received**: the rep's ``referral`` activities whose outcome is
  ``received``; when no activity of the dataset is marked ``received``, the leads assigned to
  the rep whose ``source`` is ``referral`` (or the opportunities' ``lead_source`` when the
  dataset has no leads table).
- **revenue per rep** = bookings / full-time reps, where full-time reps = the group's
  months_active / the months of the range (a rep hired half-way counts one half).

:func:`activity_volume` and :func:`activity_outcomes` also take a dataset opened in an engine
(:class:`~spmlib.engine.tables.Tables`): the engine counts the activities by raw rep, type,
outcome and period in one ``GROUP BY`` (:func:`_engine_counts`), and these definitions run on
those counts, the same code as for a loaded dataset. The ramp of new hires lives in
:mod:`spmlib.productivity.ramp`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from spmlib.core.buckets import (
    count_codes,
    in_range,
    months_active,
    period_codes,
    rep_codes,
    safe_ratio,
    type_codes,
    word_mask,
)
from spmlib.core.grouping import group_columns
from spmlib.core.periods import period_range
from spmlib.core.ranges import day_range, resolve_range
from spmlib.core.stats import rate_table
from spmlib.io.schema import Dataset
from spmlib.productivity.kpis import kpis

if TYPE_CHECKING:
    from spmlib.engine.tables import Tables

__all__ = [
    "REP_COLUMNS",
    "activity_volume",
    "team_activity_volume",
    "activity_time_share",
    "activity_mix",
    "activity_outcomes",
    "revenue_per_rep",
]

log = logging.getLogger(__name__)

#: The columns that identify a rep in every per-rep table.
REP_COLUMNS = ["rep_id", "rep_name", "team"]


def activity_volume(
    ds: Dataset | Tables,
    freq: str = "month",
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Activities per rep, period and type, zeros included.

    Parameters
    ----------
    ds : the dataset: a loaded :class:`~spmlib.io.schema.Dataset` (scope it first with
        ``Dataset.scoped``; counted in pandas), or :class:`~spmlib.engine.tables.Tables` opened
        in an engine (counted where the data is by one ``GROUP BY``, same results).
    freq : "week" (Monday start), "month", "quarter" (fiscal) or "year" (fiscal).
    start, end : inclusive range; see :func:`resolve_range`.

    Returns
    -------
    DataFrame with one row per rep x period x type (every rep of ``reps``, every period
    overlapping the range, every type found in the range; when referral activities carry the
    outcome ``received``, type ``referral`` splits into ``referral given`` and
    ``referral received``): ``rep_id``, ``rep_name``, ``team``,
    ``period``, ``period_start``, ``type``, ``activities`` (int64), ``active`` (bool: the rep was
    hired on or before the period's last day, or has no hire date; use it to leave pre-hire
    periods out of medians).

    Notes
    -----
    In an engine, the activities are grouped by their raw ``rep_id``, ``type``, period (through
    a calendar table, day -> period) and, for the types that read as ``referral``, ``outcome``:
    a few thousand rows, whatever the size of the table. The rules (types lower-cased and
    singular, the referral split, reps matched, zeros filled) then run on those counts in
    pandas, the same code as for a loaded dataset (:func:`_volume`). Activities outside the
    range are read only for the referral types, since one ``received`` referral anywhere in
    the data splits the type.

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a", "b"], "rep_name": ["Ann", "Bob"], "team": ["T", "T"]})
    >>> opps = pd.DataFrame({"opp_id": ["1"], "rep_id": ["a"], "stage": ["Won"], "amount": [1.0],
    ...     "created_date": pd.to_datetime(["2026-01-02"]),
    ...     "close_date": pd.to_datetime(["2026-01-09"]), "status": ["won"]})
    >>> acts = pd.DataFrame({"activity_id": ["x", "y", "z"], "rep_id": ["a", "a", "a"],
    ...     "type": ["call", "Calls", "email"],
    ...     "date": pd.to_datetime(["2026-01-02", "2026-01-05", "2026-01-09"])})
    >>> ds = Dataset(DatasetConfig(("Open",), "Won", "Lost"), reps, opps, activities=acts)
    >>> activity_volume(ds)[["rep_id", "period", "type", "activities"]]
      rep_id   period   type  activities
    0      a  2026-01   call           2
    1      a  2026-01  email           1
    2      b  2026-01   call           0
    3      b  2026-01  email           0
    """
    lo, hi = _resolve(ds, start, end)
    fy = ds.config.fiscal_year_start_month
    periods = period_range(lo, hi, freq, fy)
    reps = ds.reps.reset_index(drop=True)
    if not isinstance(ds, Dataset):
        days = pd.Series(pd.date_range(lo, hi, freq="D"))
        calendar = pd.DataFrame({"day": days, "period": period_codes(days, periods, freq, fy)})
        counts = _engine_counts(ds, calendar, ("referral",))
        return _volume(
            reps,
            periods,
            counts[["rep_id", "type", "outcome"]],
            counts["period"].to_numpy(dtype=np.int64),
            counts["activities"].to_numpy(dtype=np.int64),
        )
    acts = ds.activities
    inside = in_range(acts["date"], lo, hi)
    p_code = np.where(inside, period_codes(acts["date"], periods, freq, fy), -1)
    return _volume(reps, periods, acts, p_code)


def _resolve(ds: Dataset | Tables, start, end) -> tuple[pd.Timestamp, pd.Timestamp]:
    """:func:`resolve_range` of a loaded dataset or of one opened in an engine."""
    if isinstance(ds, Dataset):
        return resolve_range(ds, start, end)
    return day_range(start, end, ds.data_range()[0], ds.as_of)


def _volume(
    reps: pd.DataFrame,
    periods: pd.DataFrame,
    acts: pd.DataFrame,
    p_code: np.ndarray,
    weight: np.ndarray | None = None,
) -> pd.DataFrame:
    """The table of :func:`activity_volume` from activities, or counts of them.

    ``acts`` holds ``rep_id``, ``type`` and (optionally) ``outcome``, one row per activity or
    per group of ``weight`` identical activities (None: 1 each); ``p_code`` is each row's
    position in ``periods`` (-1: outside the range). Rows of every period, even outside the
    range, decide whether ``referral`` splits.
    """
    type_code, types = type_codes(acts["type"])
    if "referral" in types and "outcome" in acts.columns:
        ref = types.index("referral")
        received = word_mask(acts["outcome"], len(acts))("received") & (type_code == ref)
        if received.any():
            types = [*types[:ref], "referral given", *types[ref + 1 :], "referral received"]
            type_code = np.where(received, len(types) - 1, type_code)
    rep_code = rep_codes(reps, acts["rep_id"])
    ok = (rep_code >= 0) & (p_code >= 0) & (type_code >= 0)
    seen = np.unique(type_code[ok])
    types = [types[i] for i in seen]
    type_code = np.searchsorted(seen, type_code)
    n_r, n_p, n_t = len(reps), len(periods), len(types)
    flat = (rep_code * n_p + p_code) * n_t + type_code
    counts = count_codes(flat, n_r * n_p * n_t, ok, weight)
    r_idx = np.repeat(np.arange(n_r), n_p * n_t)
    p_idx = np.tile(np.repeat(np.arange(n_p), n_t), n_r)
    t_idx = np.tile(np.arange(n_t), n_r * n_p)

    def take(values, idx) -> pd.Series:
        return pd.Series(pd.array(list(values) if len(values) else [], dtype="string").take(idx))

    out = pd.DataFrame(
        {
            "rep_id": take(reps["rep_id"], r_idx),
            "rep_name": take(reps["rep_name"], r_idx),
            "team": take(reps["team"], r_idx),
            "period": take(periods["period"], p_idx),
            "period_start": periods["period_start"].to_numpy()[p_idx],
            "type": take(types, t_idx),
            "activities": counts,
        }
    )
    if "hire_date" in reps.columns:
        hired = reps["hire_date"].to_numpy()[r_idx]
        p_end = periods["period_end"].to_numpy()[p_idx]
        out["active"] = pd.isna(hired) | (hired <= p_end)
    else:
        out["active"] = True
    out["active"] = out["active"].astype(bool)
    return out


def _engine_counts(
    tables: Tables, calendar: pd.DataFrame, types: tuple[str, ...], received: bool = False
) -> pd.DataFrame:
    """The activities of ``tables`` counted in its engine, by raw ``rep_id``, ``type``,
    ``outcome`` and ``period``: columns ``rep_id``, ``type``, ``outcome``, ``period``,
    ``activities``. Reads only these columns (and ``date``) of the activities.

    ``calendar`` maps each ``day`` of the range to its ``period`` code; days outside it get -1.
    The outcome is kept where the raw type may read as one of ``types`` (it contains the name
    in any case: a superset, :func:`type_codes` decides) and, with ``received``, wherever it
    may read as ``received`` (it contains the word in any case: a superset, :func:`word_mask`
    decides), else it is missing: one scan, no look at the distinct types first. Rows outside
    the range are read only where the outcome is kept (the rules decide on the whole data
    whether referrals split), so a short range reads few row groups.
    """
    cols = ["rep_id", "type", "outcome", "period", "activities"]
    if not tables.has("activities"):
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c in cols[3:] else object) for c in cols}
        )
    eng, q = tables.engine, tables.engine.quote
    days = calendar.assign(day=pd.to_datetime(calendar["day"]).dt.date)
    eng.register("spm_activity_calendar", days)
    lo, hi = calendar["day"].min(), calendar["day"].max()
    where = f"a.{q('date')} BETWEEN {eng.day(lo)} AND {eng.day(hi)}"
    keep = []
    if tables.has("activities", "outcome"):
        keep += [f"lower(a.{q('type')}) LIKE {eng.literal(f'%{t}%')}" for t in types]
        keep += [f"lower(a.{q('outcome')}) LIKE '%received%'"] if received else []
    outcome = f"CAST(NULL AS {eng.string_type})"
    if keep:
        outcome = f"CASE WHEN {' OR '.join(keep)} THEN a.{q('outcome')} END"
        where = " OR ".join([where, *keep])
    tables.report("counting activities")
    rows = (
        f"SELECT a.{q('rep_id')} AS rep_id, a.{q('type')} AS {q('type')}, {outcome} AS outcome, "
        f"coalesce(c.period, -1) AS period FROM activities a "
        f"LEFT JOIN spm_activity_calendar c ON a.{q('date')} = c.day WHERE {where}"
    )
    return eng.sql(
        f"SELECT rep_id, {q('type')}, outcome, period, count(*) AS activities FROM ({rows}) t "
        f"GROUP BY rep_id, {q('type')}, outcome, period"
    )


def team_activity_volume(volume: pd.DataFrame) -> pd.DataFrame:
    """Activities per team, period and type: the sum over each team's reps.

    Parameters
    ----------
    volume : output of :func:`activity_volume` (a rep counts in the team the reps table gives
        it, for every period).

    Returns
    -------
    DataFrame, one row per team x period x type, teams sorted, periods and types in the order
    of ``volume``: ``team``, ``period``, ``period_start``, ``type``, ``activities`` (int64: the
    team's reps' activities), ``active_reps`` (int64: the team's reps hired on or before the
    period's last day, or with no hire date).

    Examples
    --------
    >>> vol = pd.DataFrame({"rep_id": ["a", "b"], "rep_name": ["Ann", "Bob"], "team": ["T", "T"],
    ...     "period": ["2026-01"] * 2, "period_start": pd.to_datetime(["2026-01-01"] * 2),
    ...     "type": ["call", "call"], "activities": [2, 3], "active": [True, False]})
    >>> team_activity_volume(vol)[["team", "period", "type", "activities", "active_reps"]]
      team   period  type  activities  active_reps
    0    T  2026-01  call           5            1
    """
    keys = ["team", "period", "period_start", "type"]
    out = volume.groupby(keys, sort=False, dropna=False, as_index=False).agg(
        activities=("activities", "sum"), active_reps=("active", "sum")
    )
    out = out.astype({"activities": "int64", "active_reps": "int64"})
    return out.sort_values(["team", "period_start"], kind="stable").reset_index(drop=True)


def activity_time_share(
    ds: Dataset,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Share of each rep's logged time by activity type.

    Returns
    -------
    DataFrame ``rep_id``, ``rep_name``, ``team``, ``type``, ``minutes`` (float, sum of
    ``duration_minutes``), ``share`` (minutes / the rep's total logged minutes). Only reps and
    types with logged minutes appear; empty when no activity carries a duration.

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a"], "rep_name": ["Ann"], "team": ["T"]})
    >>> opps = pd.DataFrame({"opp_id": ["1"], "rep_id": ["a"], "stage": ["Won"], "amount": [1.0],
    ...     "created_date": pd.to_datetime(["2026-01-02"]),
    ...     "close_date": pd.to_datetime(["2026-01-09"]), "status": ["won"]})
    >>> acts = pd.DataFrame({"activity_id": ["x", "y", "z"], "rep_id": ["a", "a", "a"],
    ...     "type": ["call", "call", "meeting"], "duration_minutes": [10.0, 20.0, 90.0],
    ...     "date": pd.to_datetime(["2026-01-02", "2026-01-05", "2026-01-09"])})
    >>> ds = Dataset(DatasetConfig(("Open",), "Won", "Lost"), reps, opps, activities=acts)
    >>> activity_time_share(ds)[["type", "minutes", "share"]]
          type  minutes  share
    0     call     30.0   0.25
    1  meeting     90.0   0.75
    """
    lo, hi = resolve_range(ds, start, end)
    cols = [*REP_COLUMNS, "type", "minutes", "share"]
    acts = ds.activities
    if "duration_minutes" not in acts.columns:
        return _empty(cols)
    acts = acts[(acts["date"] >= lo) & (acts["date"] <= hi) & acts["duration_minutes"].notna()]
    if acts.empty:
        return _empty(cols)
    type_code, types = type_codes(acts["type"])
    frame = pd.DataFrame(
        {
            "rep_id": acts["rep_id"].astype("string").to_numpy(),
            "type": pd.Categorical.from_codes(type_code, categories=types),
            "minutes": acts["duration_minutes"].to_numpy(dtype=float),
        }
    )
    out = frame.groupby(["rep_id", "type"], observed=True, sort=True)["minutes"].sum().reset_index()
    out = out[out["minutes"] > 0]
    out["share"] = out["minutes"] / out.groupby("rep_id")["minutes"].transform("sum")
    out["type"] = out["type"].astype(str).astype("string")
    out = out.merge(ds.reps[REP_COLUMNS], on="rep_id", how="inner")
    return out[cols].sort_values(["rep_id", "type"]).reset_index(drop=True)


def activity_mix(volume: pd.DataFrame, by: str | list[str] = "rep_id") -> pd.DataFrame:
    """Activity counts and shares by type, per rep (or other columns of ``volume``).

    Parameters
    ----------
    volume : output of :func:`activity_volume`.
    by : column(s) to group by, e.g. ``"rep_id"`` (with its name and team) or ``"team"``.

    Returns
    -------
    DataFrame with the ``by`` columns (plus ``rep_name`` and ``team`` when by is rep_id),
    ``type``, ``activities`` and ``share`` (of the group's activities; empty when the group
    logged none).

    Examples
    --------
    >>> vol = pd.DataFrame({"rep_id": ["a", "a", "a"], "rep_name": ["Ann"] * 3, "team": ["T"] * 3,
    ...     "type": ["call", "call", "email"], "activities": [2, 1, 1]})
    >>> activity_mix(vol)[["type", "activities", "share"]]
        type  activities  share
    0   call           3   0.75
    1  email           1   0.25
    """
    keys = [by] if isinstance(by, str) else list(by)
    if keys == ["rep_id"]:
        keys = REP_COLUMNS
    out = volume.groupby([*keys, "type"], as_index=False, sort=False)["activities"].sum()
    total = out.groupby(keys)["activities"].transform("sum")
    out["activities"] = out["activities"].astype("int64")
    out["share"] = (out["activities"] / total.where(total > 0)).astype("float64")
    return out.reset_index(drop=True)


def _empty(cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="float64" if c in ("minutes", "share") else "string") for c in cols}
    )


def activity_outcomes(
    ds: Dataset | Tables,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Activity-to-outcome ratios per rep over the range (definitions in the module docstring).

    Parameters
    ----------
    ds : a loaded :class:`~spmlib.io.schema.Dataset` (counted in pandas), or
        :class:`~spmlib.engine.tables.Tables` opened in an engine (activities counted there by
        one ``GROUP BY``, as in :func:`activity_volume`; leads by rep and source; deals
        through :func:`~spmlib.productivity.kpis.kpis`; same results).
    start, end : inclusive range; see :func:`resolve_range`.

    Returns
    -------
    DataFrame, one row per rep of ``reps`` (a rep with no activity gets zero counts and empty
    ratios): ``rep_id``, ``rep_name``, ``team``, ``months_active``, ``activities``, ``calls``,
    ``meetings``, ``proposals``, ``proposals_decided``, ``proposals_accepted``,
    ``proposal_acceptance``, ``proposal_acceptance_low``, ``proposal_acceptance_high``,
    ``referrals_given``, ``referrals_received``, ``opportunities_created``, ``won``,
    ``calls_per_meeting``, ``meetings_per_opportunity``, ``activities_per_won_deal``,
    ``opportunities_per_month``, ``activities_per_month``.
    """
    lo, hi = _resolve(ds, start, end)
    reps = ds.reps.reset_index(drop=True)
    if isinstance(ds, Dataset):
        acts = ds.activities
        inside = in_range(acts["date"], lo, hi)
        out, logged = _outcome_counts(reps, acts, inside)
    else:
        calendar = pd.DataFrame({"day": pd.date_range(lo, hi, freq="D"), "period": 0})
        rows = _engine_counts(ds, calendar, ("proposal", "referral"), received=True)
        weight = rows["activities"].to_numpy(dtype=np.int64)
        out, logged = _outcome_counts(reps, rows, rows["period"].to_numpy() == 0, weight)
    out.insert(3, "months_active", months_active(reps, lo, hi).to_numpy())
    if not logged:
        out["referrals_received"] = _referrals_received(ds, reps, lo, hi)
    deals = kpis(ds, by="rep", start=lo, end=hi).set_index("rep_id")
    for col in ("opportunities_created", "won"):
        out[col] = deals[col].reindex(reps["rep_id"]).fillna(0).to_numpy(dtype=np.int64)
    out["calls_per_meeting"] = safe_ratio(out["calls"], out["meetings"])
    out["meetings_per_opportunity"] = safe_ratio(out["meetings"], out["opportunities_created"])
    out["activities_per_won_deal"] = safe_ratio(out["activities"], out["won"])
    out["opportunities_per_month"] = safe_ratio(out["opportunities_created"], out["months_active"])
    out["activities_per_month"] = safe_ratio(out["activities"], out["months_active"])
    return out.reset_index(drop=True)


def _outcome_counts(
    reps: pd.DataFrame, acts: pd.DataFrame, inside: np.ndarray, weight: np.ndarray | None = None
) -> tuple[pd.DataFrame, bool]:
    """The activity counts of :func:`activity_outcomes` per rep (``REP_COLUMNS``, then
    ``activities`` .. ``referrals_received``), from activities (``rep_id``, ``type``,
    optionally ``outcome``) or counts of them (``weight`` identical rows each); ``inside``:
    the rows in the range. And whether any row, in the range or not, has the outcome
    ``received`` (referrals received are then counted from the activities, else from the
    leads: :func:`_referrals_received`)."""
    type_code, types = type_codes(acts["type"])
    outcome = word_mask(acts["outcome"] if "outcome" in acts.columns else None, len(acts))
    accepted, received = outcome("accepted"), outcome("received")

    def is_type(name: str) -> np.ndarray:
        return type_code == (types.index(name) if name in types else -2)

    rep = np.where(inside, rep_codes(reps, acts["rep_id"]), -1)

    def count(mask: np.ndarray | bool = True) -> np.ndarray:
        return count_codes(rep, len(reps), mask, weight)

    is_prop, is_ref = is_type("proposal"), is_type("referral")
    out = reps[REP_COLUMNS].copy()
    out["activities"] = count()
    out["calls"] = count(is_type("call"))
    out["meetings"] = count(is_type("meeting"))
    out["proposals"] = count(is_prop)
    out["proposals_decided"] = count(is_prop & (accepted | outcome("rejected")))
    out["proposals_accepted"] = count(is_prop & accepted)
    out = rate_table(out, "proposals_accepted", "proposals_decided", "proposal_acceptance")
    out["referrals_given"] = count(is_ref & ~received)
    out["referrals_received"] = count(is_ref & received)
    return out, bool(received.any())


def _referrals_received(ds: Dataset | Tables, reps: pd.DataFrame, lo, hi) -> np.ndarray:
    """Per rep, the leads created in the range whose ``source`` reads as a referral (lower-cased,
    stripped, starting with ``referral``); without leads, the opportunities' ``lead_source``."""
    if isinstance(ds, Dataset):
        if not ds.leads.empty:
            frame, col = ds.leads, "source"
        elif "lead_source" in ds.opportunities.columns:
            frame, col = ds.opportunities, "lead_source"
        else:
            return np.zeros(len(reps), dtype=np.int64)
        inside = in_range(frame["created_date"], lo, hi)
        return _count_referrals(reps, frame["rep_id"], frame[col], inside)
    if ds.count("leads") > 0:
        table, col = "leads", "source"
    elif ds.has("opportunities", "lead_source"):
        table, col = "opportunities", "lead_source"
    else:
        return np.zeros(len(reps), dtype=np.int64)
    eng, q = ds.engine, ds.engine.quote
    rows = eng.sql(
        f"SELECT rep_id, {q(col)} AS source, count(*) AS n FROM {table} "
        f"WHERE created_date BETWEEN {eng.day(lo)} AND {eng.day(hi)} GROUP BY rep_id, {q(col)}"
    )
    inside = np.ones(len(rows), dtype=bool)
    weight = rows["n"].to_numpy(dtype=np.int64)
    return _count_referrals(reps, rows["rep_id"], rows["source"], inside, weight)


def _count_referrals(
    reps: pd.DataFrame, rep_ids: pd.Series, sources: pd.Series, inside, weight=None
) -> np.ndarray:
    """Per rep, the rows (``weight`` each) in the range whose source reads as a referral."""
    src = sources.astype("string").str.strip().str.lower()
    mask = src.str.startswith("referral").fillna(False).to_numpy(dtype=bool) & inside
    codes = rep_codes(reps, rep_ids)
    return count_codes(codes, len(reps), mask, weight)


def revenue_per_rep(
    ds: Dataset,
    by: str = "team",
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Bookings per full-time rep of each group over the range (bookings as in
    :func:`spmlib.productivity.kpis.kpis`).

    Returns
    -------
    DataFrame with the group columns of ``by`` (see :data:`spmlib.core.grouping.GROUPINGS`),
    then
    ``reps`` (int), ``fte`` (full-time reps: months active / months of the range), ``bookings``
    and ``revenue_per_rep`` = bookings / fte (empty when fte is 0).

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a", "b"], "rep_name": ["Ann", "Bob"], "team": ["T", "T"],
    ...     "hire_date": pd.to_datetime([None, "2026-02-01"])})
    >>> opps = pd.DataFrame({"opp_id": ["1"], "rep_id": ["b"], "stage": ["Won"],
    ...     "amount": [300.0], "created_date": pd.to_datetime(["2026-02-02"]),
    ...     "close_date": pd.to_datetime(["2026-02-20"]), "status": ["won"]})
    >>> ds = Dataset(DatasetConfig(("Open",), "Won", "Lost"), reps, opps)
    >>> revenue_per_rep(ds, start="2026-01-01", end="2026-02-28")
      team  reps  fte  bookings  revenue_per_rep
    0    T     2  1.5     300.0            200.0
    """
    cols = group_columns(by)
    lo, hi = resolve_range(ds, start, end)
    k = kpis(ds, by="rep", start=lo, end=hi)
    reps = ds.reps.reset_index(drop=True)
    span = float(months_active(reps.drop(columns=["hire_date"], errors="ignore"), lo, hi).iloc[0])
    frame = reps[["rep_id", *[c for c in cols if c != "rep_id"]]].copy()
    frame["fte"] = months_active(reps, lo, hi).to_numpy() / span if span > 0 else 0.0
    frame["reps"] = 1
    frame = frame.merge(k[["rep_id", "bookings"]], on="rep_id", how="left")
    keys = cols or ["_all"]
    if not cols:
        frame["_all"] = 0
    out = frame.groupby(keys, as_index=False, dropna=False)[["reps", "fte", "bookings"]].sum()
    out["reps"] = out["reps"].astype("int64")
    out["revenue_per_rep"] = safe_ratio(out["bookings"], out["fte"])
    return out[[*cols, "reps", "fte", "bookings", "revenue_per_rep"]].reset_index(drop=True)
