"""A rep's KPIs over the last fiscal periods beside the team median (for the scorecard report).

KPIs follow :func:`spmlib.productivity.kpis.kpis` per period (bookings, win rate, average deal size,
median
cycle of won deals) plus activities per month of the period.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spmlib.core.periods import period_kind, period_start, period_step
from spmlib.core.ranges import parse_day
from spmlib.exceptions import SpmError
from spmlib.io.schema import Dataset
from spmlib.productivity.kpis import kpis
from spmlib.productivity.scorecard import MIN_TEAM_SIZE, SCORECARD_KPIS

__all__ = ["scorecard_trend"]

log = logging.getLogger(__name__)


def scorecard_trend(
    ds: Dataset,
    rep_id: str,
    period: str = "quarter",
    periods: int = 4,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """The rep's KPIs over the last ``periods`` fiscal periods, beside the team median.

    Returns
    -------
    Long DataFrame ``period``, ``period_start``, ``kpi``, ``label``, ``value`` (the rep's),
    ``team_median`` (median over the team's reps with a value that period; empty for teams
    smaller than :data:`MIN_TEAM_SIZE`). KPIs: bookings, win_rate, avg_deal_size,
    cycle_days (median, won deals), activity_volume (activities per month of the period).
    """
    match = ds.reps[ds.reps["rep_id"].astype(str) == str(rep_id)]
    if match.empty:
        raise SpmError(f"rep_id {rep_id!r} is not in the dataset.")
    scoped = ds.scoped(team=match["team"].iloc[0])
    hi = parse_day(end, "end") or scoped.as_of
    freq = period_kind(period).freq
    first = period_start(pd.Series([hi]), freq, ds.config.fiscal_year_start_month).iloc[0]
    lo = first - period_step(freq) * (periods - 1)
    k = kpis(scoped, by="rep", start=lo, end=hi, period=period)
    starts = sorted(k["period_start"].unique())[-periods:]
    k = k[k["period_start"].isin(starts)].copy()
    months = (k["period_end"] - k["period_start"]).dt.days.add(1) / (365.25 / 12)
    acts = scoped.activities
    per = []
    for s, e in k[["period_start", "period_end"]].drop_duplicates().itertuples(index=False):
        a = acts[(acts["date"] >= s) & (acts["date"] <= e)]
        c = a.groupby(a["rep_id"].astype(str)).size()
        per.append(pd.DataFrame({"rep_id": c.index, "period_start": s, "_acts": c.to_numpy()}))
    ac = (
        pd.concat(per, ignore_index=True)
        if per
        else pd.DataFrame(columns=["rep_id", "period_start", "_acts"])
    )
    k["rep_id"] = k["rep_id"].astype(str)
    k = k.merge(ac, on=["rep_id", "period_start"], how="left")
    k["activity_volume"] = k["_acts"].fillna(0).to_numpy() / months.to_numpy()
    k["cycle_days"] = k["median_cycle_days"]
    names = ["bookings", "win_rate", "avg_deal_size", "cycle_days", "activity_volume"]
    long = k.melt(id_vars=["rep_id", "period", "period_start"], value_vars=names, var_name="kpi")
    med = long.groupby(["period_start", "kpi"])["value"].median().rename("team_median")
    out = long[long["rep_id"] == str(rep_id)].merge(med, on=["period_start", "kpi"], how="left")
    if len(scoped.reps) < MIN_TEAM_SIZE:
        out["team_median"] = np.nan
    out["label"] = out["kpi"].map({n: SCORECARD_KPIS[n].label for n in names})
    out["kpi"] = pd.Categorical(out["kpi"], categories=names, ordered=True)
    out = out.sort_values(["kpi", "period_start"]).reset_index(drop=True)
    out["kpi"] = out["kpi"].astype(str).astype("string")
    for c in ("period", "label"):
        out[c] = out[c].astype("string")
    out["value"] = out["value"].astype("float64")
    out["team_median"] = out["team_median"].astype("float64")
    return out[["period", "period_start", "kpi", "label", "value", "team_median"]]
