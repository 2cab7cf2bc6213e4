"""Segments: a rep on a plan during (part of) one plan period, with prorated quota and TI.

A segment is the overlap of one assignment (``valid_from``..``valid_to``) with one period of its
plan (fiscal month, quarter or year). Its **active days** are the days of that overlap; a rep who
joins or leaves mid-period has fewer active days than the period has days. Then:

- ``quota`` = the rep's quota rows spread evenly over their own days (as
  :func:`spmlib.productivity.attainment.allocate_quota` does), summed over the active days only;
  a rep with no quota row in the active days cannot be paid and is reported;
- ``ti`` (target incentive) = the assignment's ``target_incentive`` (else the plan's) x active
  days / period days;
- ``draw`` = the plan's draw amount x active days / period days.

These are exact fractions (``fractions.Fraction``); they are shown rounded to the cent, and
only payout lines are ever rounded (:mod:`spmlib.comp.lines`).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import numpy as np
import pandas as pd

from spmlib.comp.money import cents_from_amounts
from spmlib.comp.plan import Plan
from spmlib.core.periods import period_range
from spmlib.exceptions import SpmError
from spmlib.io.validate import isin

__all__ = ["build_segments", "SEGMENT_COLUMNS"]

SEGMENT_COLUMNS = [
    "rep_id",
    "plan",
    "period",
    "period_start",
    "period_end",
    "active_start",
    "active_end",
    "active_days",
    "period_days",
    "ti_full",
    "ti",
    "quota",
    "draw",
]


def build_segments(
    assignments: pd.DataFrame,
    plans: Mapping[str, Plan],
    quotas: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    fiscal_year_start_month: int = 1,
) -> pd.DataFrame:
    """Every segment of a plan period ending in [start, end] (see the module docstring).

    Parameters
    ----------
    assignments : from :func:`spmlib.comp.inputs.read_assignments`.
    plans : plans by name.
    quotas : the dataset's quotas (``rep_id``, ``period_start``, ``period_end``, ``quota``).
    start, end : the plan periods whose last day lies in this range are built.
    fiscal_year_start_month : the dataset's fiscal calendar.

    Returns
    -------
    DataFrame with :data:`SEGMENT_COLUMNS`, sorted by rep_id, period_end, active_start.
    ``ti_full``, ``ti``, ``quota`` and ``draw`` hold exact ``Fraction`` values.

    Raises
    ------
    SpmError
        When a segment has no quota (naming the reps and periods).

    Examples
    --------
    >>> from spmlib.comp.plan import parse_plan
    >>> plan = parse_plan({"plan": "AE", "currency": "USD", "period": "month",
    ...     "credit": "bookings", "target_incentive": 3000,
    ...     "rate_table": {"type": "graduated", "tiers": [{"from": 0, "multiplier": 1}]}})
    >>> assignments = pd.DataFrame({"rep_id": ["a"], "plan": ["AE"], "target_incentive": [None],
    ...     "valid_from": pd.to_datetime(["2026-04-21"]), "valid_to": pd.to_datetime([None])})
    >>> quotas = pd.DataFrame({"rep_id": ["a", "a"], "quota": [30000.0, 30000.0],
    ...     "period_start": pd.to_datetime(["2026-04-01", "2026-05-01"]),
    ...     "period_end": pd.to_datetime(["2026-04-30", "2026-05-31"])})
    >>> seg = build_segments(assignments, {"AE": plan}, quotas, pd.Timestamp("2026-04-01"),
    ...     pd.Timestamp("2026-04-30"))
    >>> seg[["period", "active_days", "period_days"]].to_dict("records")
    [{'period': '2026-04', 'active_days': 10, 'period_days': 30}]
    >>> str(seg.loc[0, "ti"]), str(seg.loc[0, "quota"])
    ('1000', '10000')
    """
    rows = []
    for plan_name, group in assignments.groupby("plan", sort=True):
        plan = plans[str(plan_name)]
        periods = period_range(start, end, plan.period, fiscal_year_start_month)
        periods = periods[(periods["period_end"] >= start) & (periods["period_end"] <= end)]
        if periods.empty:
            continue
        pairs = group.merge(periods, how="cross")
        a_start = pairs[["valid_from", "period_start"]].max(axis=1)
        a_end = pairs["valid_to"].fillna(pd.Timestamp.max.normalize())
        a_end = pd.concat([a_end, pairs["period_end"]], axis=1).min(axis=1)
        pairs["active_start"], pairs["active_end"] = a_start, a_end
        pairs = pairs[pairs["active_end"] >= pairs["active_start"]]
        if pairs.empty:
            continue
        pairs = pairs.assign(plan=str(plan_name))
        pairs["active_days"] = (pairs["active_end"] - pairs["active_start"]).dt.days + 1
        pairs["period_days"] = (pairs["period_end"] - pairs["period_start"]).dt.days + 1
        days = zip(pairs["active_days"], pairs["period_days"], strict=True)
        share = [Fraction(int(a), int(p)) for a, p in days]
        ti_full = [
            Fraction(plan.target_incentive if t is None or t != t else t)
            for t in pairs["target_incentive"]
        ]
        pairs["ti_full"] = ti_full
        pairs["ti"] = [t * s for t, s in zip(ti_full, share, strict=True)]
        pairs["draw"] = [Fraction(plan.draw.amount) * s for s in share]
        rows.append(pairs)
    if not rows:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in SEGMENT_COLUMNS})
        out["quota"] = pd.Series(dtype=object)
        return out
    seg = pd.concat(rows, ignore_index=True)
    seg["quota"] = _active_quota(seg, quotas)
    missing = seg[[q == 0 for q in seg["quota"]]]
    if len(missing):
        pairs = zip(missing["rep_id"][:5], missing["period"][:5], strict=True)
        examples = ", ".join(f"{r} {p}" for r, p in pairs)
        raise SpmError(
            f"{len(missing)} rep period(s) on a plan have no quota, so attainment and pay cannot "
            f"be worked out (e.g. {examples}). Add quota rows for those days, or end the "
            "assignment (valid_to) in params/comp/assignments.csv."
        )
    seg["rep_id"] = seg["rep_id"].astype("string")
    seg["plan"] = seg["plan"].astype("string")
    seg["period"] = seg["period"].astype("string")
    seg = seg.sort_values(["rep_id", "period_end", "active_start"], kind="stable")
    return seg[SEGMENT_COLUMNS].reset_index(drop=True)


def _active_quota(seg: pd.DataFrame, quotas: pd.DataFrame) -> list[Fraction]:
    """Quota of each segment's active days: each quota row spread evenly over its own days."""
    q = quotas[["rep_id", "period_start", "period_end", "quota"]].rename(
        columns={"period_start": "q_start", "period_end": "q_end"}
    )
    q = q[isin(q["rep_id"], seg["rep_id"])]
    pos = seg[["rep_id", "active_start", "active_end"]].assign(seg=np.arange(len(seg)))
    m = pos.merge(q, on="rep_id")
    lo = np.maximum(m["active_start"].to_numpy(), m["q_start"].to_numpy())
    hi = np.minimum(m["active_end"].to_numpy(), m["q_end"].to_numpy())
    overlap = (hi - lo).astype("timedelta64[D]").astype("int64") + 1
    days = (m["q_end"] - m["q_start"]).dt.days.to_numpy() + 1
    m = m.assign(cents=cents_from_amounts(m["quota"]), overlap=overlap, days=days)
    m = m[m["overlap"] > 0]
    full = m[m["overlap"] >= m["days"]].groupby("seg")["cents"].sum()
    totals = [Fraction(int(full.get(i, 0))) for i in range(len(seg))]
    partial = m.loc[m["overlap"] < m["days"], ["seg", "cents", "overlap", "days"]]
    for i, cents, o, d in partial.itertuples(index=False):
        totals[i] += Fraction(int(cents) * int(o), int(d))
    return [t / 100 for t in totals]
