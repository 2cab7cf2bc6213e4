"""Bottom-up sales capacity of the plan year, the gap to the target and the hires that close it.

Formulas
--------
* **productivity** of a team = the median, over its *ramped* reps (more than the ramp horizon
  of months since hire at the start of the last 12 complete months, or no hire date), of
  their monthly bookings over those 12 months (bookings / 12). A team with fewer than
  ``MIN_RAMPED`` ramped reps takes the company's median.
* **capacity** = sum over reps and the plan year's months of productivity(team) x r(tenure) x
  active = sum over reps of productivity x 12 x year share (:mod:`spmlib.planning.plan_inputs`),
  planned hires from their start date and leavers up to their end date.
* **gap** = target - capacity. **hires needed** = ceil(gap / capacity of one hire), a hire
  starting on the plan year's first day (12 months of its ramp curve) at the company's
  productivity; **productivity gain needed** = target / capacity - 1.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from spmlib.io.schema import Dataset

__all__ = ["MIN_RAMPED", "productivity", "capacity", "capacity_summary"]

#: Fewest ramped reps for a team's own productivity (else the company's is used).
MIN_RAMPED = 3


def productivity(ds: Dataset, end: pd.Timestamp, horizon: int = 12) -> pd.DataFrame:
    """Monthly productivity per team over the 12 complete months ending ``end``.

    Returns
    -------
    DataFrame ``team``, ``ramped_reps``, ``productivity`` (monthly bookings of the median
    ramped rep; the company's when the team has fewer than ``MIN_RAMPED``), ``source`` (team |
    company), one row per team, then a row ``team`` = NA for the company.
    """
    end = pd.Timestamp(end)
    start = (end + pd.Timedelta(days=1)) - pd.DateOffset(months=12)
    reps = ds.reps
    hire = reps["hire_date"] if "hire_date" in reps else pd.Series(pd.NaT, index=reps.index)
    ramped = hire.isna() | (hire <= start - pd.DateOffset(months=horizon))
    opp = ds.opportunities
    won = opp[(opp["status"] == "won") & (opp["close_date"] >= start) & (opp["close_date"] <= end)]
    monthly = reps["rep_id"].map(won.groupby("rep_id")["amount"].sum()).fillna(0.0) / 12.0
    frame = pd.DataFrame({"team": reps["team"], "monthly": monthly})[ramped.to_numpy()]
    company = float(frame["monthly"].median()) if len(frame) else 0.0
    rows = []
    for team in sorted(reps["team"].dropna().unique()):
        g = frame[frame["team"] == team]
        own = len(g) >= MIN_RAMPED
        rows.append(
            {
                "team": team,
                "ramped_reps": len(g),
                "productivity": float(g["monthly"].median()) if own else company,
                "source": "team" if own else "company",
            }
        )
    rows.append(
        {"team": pd.NA, "ramped_reps": len(frame), "productivity": company, "source": "company"}
    )
    out = pd.DataFrame(rows)
    out["team"] = out["team"].astype("string")
    out["ramped_reps"] = out["ramped_reps"].astype(int)
    return out


def capacity(roster: pd.DataFrame, prod: pd.DataFrame) -> pd.DataFrame:
    """Each rep's capacity for the plan year: productivity of the team x 12 x year share.

    Examples
    --------
    >>> roster = pd.DataFrame({"rep_id": ["a", "b"], "team": ["T", "T"],
    ...                        "year_share": [1.0, 0.5], "planned": [False, True]})
    >>> prod = pd.DataFrame({"team": ["T", None], "productivity": [10.0, 8.0]})
    >>> capacity(roster, prod)[["rep_id", "productivity", "capacity"]]
      rep_id  productivity  capacity
    0      a          10.0     120.0
    1      b          10.0      60.0
    """
    by_team = prod.dropna(subset=["team"]).set_index("team")["productivity"]
    company = (
        float(prod.loc[prod["team"].isna(), "productivity"].iloc[0])
        if prod["team"].isna().any()
        else float(by_team.median())
    )
    out = roster.copy()
    out["productivity"] = out["team"].map(by_team).fillna(company).astype(float)
    out["capacity"] = out["productivity"] * 12.0 * out["year_share"]
    return out


def capacity_summary(
    caps: pd.DataFrame, target: float, prod: pd.DataFrame, ramp: pd.DataFrame
) -> pd.DataFrame:
    """Capacity against the target for the company: one row with ``reps`` (headcount, planned
    hires included), ``planned_hires``, ``capacity``, ``target``, ``gap`` (target - capacity),
    ``hire_capacity`` (what one hire starting on day one adds), ``hires_needed`` (0 when no
    gap), ``productivity_gain_needed`` (target / capacity - 1; negative: room to spare).

    Examples
    --------
    >>> caps = pd.DataFrame({"capacity": [120.0, 60.0], "planned": [False, True]})
    >>> prod = pd.DataFrame({"team": [None], "productivity": [10.0]})
    >>> ramp = pd.DataFrame({"month_since_hire": [1, 2], "factor": [0.0, 0.5]})
    >>> s = capacity_summary(caps, 300.0, prod, ramp)
    >>> s[["capacity", "gap", "hire_capacity", "hires_needed"]]
       capacity    gap  hire_capacity  hires_needed
    0     180.0  120.0          105.0             2

    (a hire adds 10 x (0 + 0.5 + 10 x 1) = 105; 120 / 105 -> 2 hires.)
    """
    company = float(prod.loc[prod["team"].isna(), "productivity"].iloc[0])
    factors = ramp.set_index("month_since_hire")["factor"]
    first_year = sum(float(factors.get(m, 1.0)) for m in range(1, 13))
    hire_cap = company * first_year
    total = float(caps["capacity"].sum())
    gap = float(target) - total
    hires = math.ceil(gap / hire_cap - 1e-9) if gap > 0 and hire_cap > 0 else 0
    return pd.DataFrame(
        [
            {
                "reps": len(caps),
                "planned_hires": int(caps["planned"].sum()),
                "capacity": total,
                "target": float(target),
                "gap": gap,
                "hire_capacity": hire_cap,
                "hires_needed": int(hires),
                "productivity_gain_needed": float(target) / total - 1 if total else np.nan,
            }
        ]
    )
