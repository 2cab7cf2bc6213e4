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
- **ramp**: a rep's monthly value of a metric by month since hire (the hire month is month 1)
  against the median of the tenured reps (more than ``horizon`` months since hire, or no known
  hire date) in the same calendar month.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spmlib.exceptions import UnknownNameError
from spmlib.kpis import data_range, kpis
from spmlib.periods import period_range, period_start
from spmlib.schema import Dataset
from spmlib.stats import rate_table

__all__ = [
    "ACTIVITY_TYPES",
    "REP_COLUMNS",
    "RAMP_METRICS",
    "resolve_range",
    "months_active",
    "period_codes",
    "rep_codes",
    "activity_volume",
    "activity_time_share",
    "activity_mix",
    "activity_outcomes",
    "ramp",
    "ramp_curve",
]

log = logging.getLogger(__name__)

#: The activity types of the data model; other words are kept as they are.
ACTIVITY_TYPES = ("call", "email", "meeting", "demo", "proposal", "referral", "event")
#: The columns that identify a rep in every per-rep table.
REP_COLUMNS = ["rep_id", "rep_name", "team"]
#: Monthly metrics the ramp can follow.
RAMP_METRICS = ("bookings", "won", "opportunities_created", "activities")
_DAYS_PER_MONTH = 365.25 / 12


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
    """Position of each date's period in ``periods`` (from :func:`spmlib.periods.period_range`),
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


def _normal_types(types: pd.Series) -> tuple[np.ndarray, list[str]]:
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


def activity_volume(
    ds: Dataset,
    freq: str = "month",
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Activities per rep, period and type, zeros included.

    Parameters
    ----------
    ds : the dataset (scope it first with ``Dataset.scoped``).
    freq : "week" (Monday start), "month", "quarter" (fiscal) or "year" (fiscal).
    start, end : inclusive range; see :func:`resolve_range`.

    Returns
    -------
    DataFrame with one row per rep x period x type (every rep of ``reps``, every period
    overlapping the range, every type found in the range): ``rep_id``, ``rep_name``, ``team``,
    ``period``, ``period_start``, ``type``, ``activities`` (int64), ``active`` (bool: the rep was
    hired on or before the period's last day, or has no hire date; use it to leave pre-hire
    periods out of medians).

    Examples
    --------
    >>> from spmlib.schema import DatasetConfig
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
    lo, hi = resolve_range(ds, start, end)
    fy = ds.config.fiscal_year_start_month
    periods = period_range(lo, hi, freq, fy)
    reps = ds.reps.reset_index(drop=True)
    acts = ds.activities
    inside = _in_range(acts["date"], lo, hi)
    type_code, types = _normal_types(acts["type"])
    rep_code = rep_codes(reps, acts["rep_id"])
    p_code = period_codes(acts["date"], periods, freq, fy)
    ok = inside & (rep_code >= 0) & (p_code >= 0) & (type_code >= 0)
    seen = np.unique(type_code[ok])
    types = [types[i] for i in seen]
    type_code = np.searchsorted(seen, type_code)
    n_r, n_p, n_t = len(reps), len(periods), len(types)
    flat = (rep_code[ok] * n_p + p_code[ok]) * n_t + type_code[ok]
    counts = np.bincount(flat, minlength=n_r * n_p * n_t).astype(np.int64)
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
    >>> from spmlib.schema import DatasetConfig
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
    type_code, types = _normal_types(acts["type"])
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


def _in_range(dates: pd.Series, lo: pd.Timestamp, hi: pd.Timestamp) -> np.ndarray:
    """Boolean mask of the dates in [lo, hi], without copying the frame they belong to."""
    d = dates.to_numpy(dtype="datetime64[ns]")
    return (d >= lo.to_datetime64()) & (d <= hi.to_datetime64())


def _bincount(codes: np.ndarray, n: int, mask: np.ndarray | None = None) -> np.ndarray:
    keep = codes >= 0 if mask is None else (codes >= 0) & np.asarray(mask, dtype=bool)
    return np.bincount(codes[keep], minlength=n).astype(np.int64)


def _normal_words(values: pd.Series | None, length: int):
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


def _count_by_rep(
    reps: pd.DataFrame, rep_ids: pd.Series, mask: np.ndarray | None = None
) -> np.ndarray:
    codes = rep_codes(reps, rep_ids)
    if mask is not None:
        codes = codes[np.asarray(mask, dtype=bool)]
    codes = codes[codes >= 0]
    return np.bincount(codes, minlength=len(reps)).astype(np.int64)


def activity_outcomes(
    ds: Dataset,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Activity-to-outcome ratios per rep over the range (definitions in the module docstring).

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
    lo, hi = resolve_range(ds, start, end)
    reps = ds.reps.reset_index(drop=True)
    acts = ds.activities
    type_code, types = _normal_types(acts["type"])
    outcome = _normal_words(acts["outcome"] if "outcome" in acts.columns else None, len(acts))
    accepted, received = outcome("accepted"), outcome("received")

    def is_type(name: str) -> np.ndarray:
        return type_code == (types.index(name) if name in types else -2)

    rep = np.where(_in_range(acts["date"], lo, hi), rep_codes(reps, acts["rep_id"]), -1)
    is_prop, is_ref = is_type("proposal"), is_type("referral")
    out = reps[REP_COLUMNS].copy()
    out["months_active"] = months_active(reps, lo, hi).to_numpy()
    out["activities"] = _bincount(rep, len(reps))
    out["calls"] = _bincount(rep, len(reps), is_type("call"))
    out["meetings"] = _bincount(rep, len(reps), is_type("meeting"))
    out["proposals"] = _bincount(rep, len(reps), is_prop)
    out["proposals_decided"] = _bincount(rep, len(reps), is_prop & (accepted | outcome("rejected")))
    out["proposals_accepted"] = _bincount(rep, len(reps), is_prop & accepted)
    out = rate_table(out, "proposals_accepted", "proposals_decided", "proposal_acceptance")
    out["referrals_given"] = _bincount(rep, len(reps), is_ref & ~received)
    if (is_ref & received).any() or _logs_received_referrals(ds):
        out["referrals_received"] = _bincount(rep, len(reps), is_ref & received)
    else:
        out["referrals_received"] = _referrals_received(ds, reps, lo, hi)
    opp = ds.opportunities
    created = (opp["created_date"] >= lo) & (opp["created_date"] <= hi)
    won = (opp["status"] == "won") & (opp["close_date"] >= lo) & (opp["close_date"] <= hi)
    out["opportunities_created"] = _count_by_rep(reps, opp["rep_id"], created.to_numpy())
    out["won"] = _count_by_rep(reps, opp["rep_id"], won.to_numpy())
    out["calls_per_meeting"] = _ratio(out["calls"], out["meetings"])
    out["meetings_per_opportunity"] = _ratio(out["meetings"], out["opportunities_created"])
    out["activities_per_won_deal"] = _ratio(out["activities"], out["won"])
    out["opportunities_per_month"] = _ratio(out["opportunities_created"], out["months_active"])
    out["activities_per_month"] = _ratio(out["activities"], out["months_active"])
    return out.reset_index(drop=True)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    num, den = num.astype(float), den.astype(float)
    return (num / den.where(den > 0)).astype("float64")


def _logs_received_referrals(ds: Dataset) -> bool:
    acts = ds.activities
    if "outcome" not in acts.columns or acts.empty:
        return False
    return bool(acts["outcome"].astype("string").str.strip().str.lower().eq("received").any())


def _referrals_received(ds: Dataset, reps: pd.DataFrame, lo, hi) -> np.ndarray:
    if not ds.leads.empty:
        leads = ds.leads
        src = leads["source"].astype("string").str.strip().str.lower()
        mask = (
            src.str.startswith("referral").fillna(False).to_numpy()
            & ((leads["created_date"] >= lo) & (leads["created_date"] <= hi)).to_numpy()
        )
        return _count_by_rep(reps, leads["rep_id"], mask)
    opp = ds.opportunities
    if "lead_source" not in opp.columns:
        return np.zeros(len(reps), dtype=np.int64)
    src = opp["lead_source"].astype("string").str.strip().str.lower()
    mask = (
        src.str.startswith("referral").fillna(False).to_numpy()
        & ((opp["created_date"] >= lo) & (opp["created_date"] <= hi)).to_numpy()
    )
    return _count_by_rep(reps, opp["rep_id"], mask)


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
        raise ValueError(f"horizon must be at least 1 month, got {horizon}.")
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
    ramping["share_of_tenured"] = _ratio(ramping["value"], ramping["tenured_median"])
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
