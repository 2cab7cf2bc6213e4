"""The rep rating: led by attainment over the last two complete quarters and the current pace.

The rule (:data:`RATING_RULE`, written the same way in the scorecard and ``docs/productivity.md``):

- **window**: the two fiscal quarters before "this quarter", the one holding the reference
  date (:func:`review_window`). A rep hired during the window is measured from the
  hire date: the days before it are left out of both bookings and quota (absent, not zeros).
- **attainment** over the window = bookings (won deals closed in the rep's part of the window)
  / quota (quota rows spread evenly over their days, the days in the rep's part of the window
  counted, as in :func:`spmlib.productivity.attainment.allocate_quota`). Quotas are the plan:
  where it ramps a new hire's quota (as the sample's does), attainment is against that ramped
  quota.
- **pace** this quarter = attainment so far / the share of the quarter's selling days gone
  (:func:`spmlib.core.periods.period_frame`): the attainment the quarter ends at if the run
  rate holds. It counts once at least a third of the quarter has passed (:data:`PACE_FROM`).
- **rating** (:func:`rate`):

  - *Exceeds expectations*: attainment of 110% or more, or 100% or more with a pace of 110%
    or more;
  - *Needs improvement*: attainment under 70%, or under 85% with a pace under 70%;
  - *Meets expectations*: everything between;
  - *Ramping*: fewer than ``ramp_months`` months between the hire date and the end of the
    window: not rated yet (attainment is shown against the rep's own, possibly ramped, quota);
  - *Not rated*: no quota in the window.

Because attainment leads, a rep at or above 100% is at least *Meets expectations* and a rep
under 70% at most *Needs improvement*: a rep at or above 100% is never rated below a rep under
50% of the same window. Strengths and areas to improve (:mod:`spmlib.productivity.scorecard`)
are for coaching and do not enter the rating.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from spmlib.core.periods import period_frame, period_label, period_start
from spmlib.exceptions import ParameterError
from spmlib.io.schema import Dataset

__all__ = [
    "RATINGS",
    "RATING_ORDER",
    "RATING_RULE",
    "PACE_FROM",
    "review_window",
    "rate",
    "rep_ratings",
]

log = logging.getLogger(__name__)

#: The ratings, best first, then the two states that are not ratings.
RATINGS = (
    "Exceeds expectations",
    "Meets expectations",
    "Needs improvement",
    "Ramping",
    "Not rated",
)
#: The order of the three real ratings (higher is better); Ramping and Not rated have none.
RATING_ORDER = {"Exceeds expectations": 2, "Meets expectations": 1, "Needs improvement": 0}
#: Share of the quarter's selling days that must have passed for the pace to count.
PACE_FROM = 1 / 3
RATING_RULE = (
    "Your rating rests on your **attainment over the last two complete quarters** (bookings / "
    "quota; if you joined during them, from your hire date: earlier days count neither way) "
    "and your **pace this quarter** (attainment so far / share of the quarter's selling days "
    "gone, counted once a third of the quarter has passed). **Exceeds expectations**: 110% or "
    "more, or 100% or more with a pace of 110% or more. **Needs improvement**: under 70%, or "
    "under 85% with a pace under 70%. **Meets expectations**: everything between. "
    "**Ramping**: hired less than {ramp_months} months before the end of those quarters, not "
    "rated yet. **Not rated**: no quota in those quarters. Strengths and areas to improve are "
    "for coaching and do not change the rating."
)
_COLUMNS = [
    "rep_id",
    "rep_name",
    "team",
    "window",
    "window_start",
    "window_end",
    "measured_from",
    "months_in_role",
    "quota",
    "bookings",
    "attainment",
    "quarter",
    "elapsed_share",
    "quarter_quota",
    "quarter_bookings",
    "quarter_attainment",
    "pace",
    "pace_counts",
    "ramping",
    "rating",
]


def review_window(
    as_of: pd.Timestamp, fiscal_year_start_month: int = 1, quarters: int = 2
) -> tuple[pd.Timestamp, pd.Timestamp, str]:
    """First day, last day and label of the ``quarters`` complete fiscal quarters before "this
    quarter", the one holding ``as_of`` (:func:`spmlib.core.periods.period_frame`).

    Examples
    --------
    >>> lo, hi, label = review_window(pd.Timestamp("2026-12-14"), 2)
    >>> lo.date().isoformat(), hi.date().isoformat(), label
    ('2026-05-01', '2026-10-31', 'FY2027-Q2 to FY2027-Q3')
    >>> review_window(pd.Timestamp("2026-10-31"), 2)[2]   # in FY2027-Q3, on its last day
    'FY2027-Q1 to FY2027-Q2'
    """
    if quarters < 1:
        raise ParameterError(f"the review window needs at least one quarter, got {quarters}.")
    fy = fiscal_year_start_month
    this = period_frame(pd.Timestamp(as_of), "quarter", fy).start
    end = this - pd.Timedelta(days=1)
    start = this - pd.DateOffset(months=3 * quarters)
    labels = period_label(
        period_start(pd.Series([start, end]), "quarter", fy), "quarter", fy
    ).tolist()
    label = labels[0] if quarters == 1 else f"{labels[0]} to {labels[1]}"
    return pd.Timestamp(start), pd.Timestamp(end), label


def rate(
    attainment: float,
    pace: float = float("nan"),
    pace_counts: bool = False,
    ramping: bool = False,
) -> str:
    """The rating of one rep by :data:`RATING_RULE`.

    Examples
    --------
    >>> rate(1.12), rate(1.02), rate(1.02, pace=1.3, pace_counts=True), rate(0.75)
    ('Exceeds expectations', 'Meets expectations', 'Exceeds expectations', 'Meets expectations')
    >>> rate(0.75, pace=0.5, pace_counts=True), rate(0.75, pace=0.5), rate(0.49)
    ('Needs improvement', 'Meets expectations', 'Needs improvement')
    >>> rate(1.5, ramping=True), rate(float("nan"))
    ('Ramping', 'Not rated')
    """
    if ramping:
        return "Ramping"
    if attainment is None or math.isnan(attainment):
        return "Not rated"
    p = pace if pace_counts and pace is not None and not math.isnan(pace) else float("nan")
    if attainment >= 1.10 or (attainment >= 1.0 and p >= 1.10):
        return "Exceeds expectations"
    if attainment < 0.70 or (attainment < 0.85 and p < 0.70):
        return "Needs improvement"
    return "Meets expectations"


def _days(values) -> np.ndarray:
    return np.asarray(pd.to_datetime(values), dtype="datetime64[D]").astype(np.int64)


def _quota_between(quotas: pd.DataFrame, starts: pd.Series, end: pd.Timestamp) -> pd.Series:
    """Per rep: quota falling in [its start, end], quota rows spread evenly over their days."""
    quotas = quotas[quotas["rep_id"].astype(str).isin(starts.index)]
    if quotas.empty:
        return pd.Series(dtype="float64")
    rep = quotas["rep_id"].astype(str)
    lo = np.maximum(_days(quotas["period_start"]), _days(rep.map(starts)))
    hi = np.minimum(_days(quotas["period_end"]), _days(pd.Series([end] * len(quotas))))
    days = _days(quotas["period_end"]) - _days(quotas["period_start"]) + 1
    share = np.clip(hi - lo + 1, 0, None) / np.maximum(days, 1)
    return pd.Series(quotas["quota"].to_numpy(dtype=float) * share).groupby(rep.to_numpy()).sum()


def _bookings_between(opps: pd.DataFrame, starts: pd.Series, end: pd.Timestamp) -> pd.Series:
    won = opps[(opps["status"] == "won") & (opps["close_date"] <= end)]
    rep = won["rep_id"].astype(str)
    won = won[(won["close_date"] >= rep.map(starts)).to_numpy(dtype=bool)]
    return won["amount"].astype(float).groupby(won["rep_id"].astype(str)).sum()


def rep_ratings(
    ds: Dataset, team: str | None = None, ramp_months: int = 6, quarters: int = 2
) -> pd.DataFrame:
    """Every rep's rating (rule in the module docstring), on the dataset's reference date.

    Parameters
    ----------
    ds : the dataset (``as_of`` and the fiscal calendar come from it).
    team : only this team's reps; None = everyone.
    ramp_months : months in role before a rep is rated.
    quarters : complete quarters in the review window.

    Returns
    -------
    DataFrame, one row per rep: ``rep_id``, ``rep_name``, ``team``, ``window`` (label),
    ``window_start``, ``window_end``, ``measured_from`` (the later of the window's start and the
    hire date), ``months_in_role`` (whole months from hire to the window's end; empty without a
    hire date), ``quota``, ``bookings``, ``attainment`` (over the rep's part of the window;
    empty without quota), ``quarter`` (label of the quarter holding ``as_of``),
    ``elapsed_share`` (its selling days gone), ``quarter_quota``, ``quarter_bookings``,
    ``quarter_attainment`` (so far), ``pace`` (quarter attainment / elapsed share),
    ``pace_counts`` (bool: a third of the quarter has passed), ``ramping`` (bool), ``rating``
    (one of :data:`RATINGS`).
    """
    cfg, as_of = ds.config, ds.as_of
    fy = cfg.fiscal_year_start_month
    reps = ds.reps if team is None else ds.reps[ds.reps["team"] == team]
    if reps.empty:
        raise ParameterError(f"team {team!r} has no reps in the data.")
    ids = reps["rep_id"].astype(str)
    lo, hi, label = review_window(as_of, fy, quarters)
    hired = (
        pd.to_datetime(reps["hire_date"]).to_numpy()
        if "hire_date" in reps.columns
        else np.full(len(reps), np.datetime64("NaT"), dtype="datetime64[ns]")
    )
    hired = pd.Series(hired, index=ids.to_numpy())
    start = hired.where(hired > lo, lo).fillna(lo)
    after = hi + pd.Timedelta(days=1)  # whole months from the hire to the end of the window
    months = (after.year - hired.dt.year) * 12 + (after.month - hired.dt.month)
    months = months - (hired.dt.day > after.day).astype(int)
    frame = period_frame(as_of, "quarter", fy)
    q_start = pd.Series(frame.start, index=ids.to_numpy())
    opps = ds.opportunities
    out = pd.DataFrame(
        {
            "rep_id": ids.to_numpy(),
            "rep_name": reps["rep_name"].astype(str).to_numpy(),
            "team": reps["team"].astype(str).to_numpy(),
            "window": label,
            "window_start": lo,
            "window_end": hi,
            "measured_from": start.to_numpy(),
            "months_in_role": months.to_numpy(dtype="float64"),
            "quota": _quota_between(ds.quotas, start, hi).reindex(ids).to_numpy(dtype=float),
            "bookings": _bookings_between(opps, start, hi).reindex(ids).fillna(0.0).to_numpy(),
            "quarter": frame.period,
            "elapsed_share": frame.elapsed,
            "quarter_quota": _quota_between(ds.quotas, q_start, frame.end)
            .reindex(ids)
            .to_numpy(dtype=float),
            "quarter_bookings": _bookings_between(opps, q_start, as_of)
            .reindex(ids)
            .fillna(0.0)
            .to_numpy(),
        }
    )
    out.loc[~(out["quota"] > 0), "quota"] = np.nan
    out.loc[~(out["quarter_quota"] > 0), "quarter_quota"] = np.nan
    out["attainment"] = out["bookings"] / out["quota"]
    out["quarter_attainment"] = out["quarter_bookings"] / out["quarter_quota"]
    out["pace"] = out["quarter_attainment"] / frame.elapsed if frame.elapsed > 0 else np.nan
    out["pace_counts"] = bool(frame.elapsed >= PACE_FROM) & out["pace"].notna()
    out["ramping"] = (out["months_in_role"] < ramp_months).fillna(False).astype(bool)
    out["rating"] = [
        rate(a, p, c, r)
        for a, p, c, r in zip(
            out["attainment"], out["pace"], out["pace_counts"], out["ramping"], strict=True
        )
    ]
    for c in ("rep_id", "rep_name", "team", "window", "quarter", "rating"):
        out[c] = out[c].astype("string")
    return out[_COLUMNS].reset_index(drop=True)
