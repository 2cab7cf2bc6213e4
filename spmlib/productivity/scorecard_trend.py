"""A rep's KPIs over the last fiscal periods beside the team median (for the scorecard report).

KPIs follow :func:`spmlib.productivity.kpis.kpis` per period (bookings, win rate, average deal
size, median cycle of won deals) plus activities per month of the period. Periods that ended
before the rep's hire date are absent, not zeros; the team median follows the benchmark rule
of :mod:`spmlib.core.benchmark` (the other reps' median, two significant figures, only over at
least five of them).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spmlib.core.benchmark import team_benchmark
from spmlib.core.buckets import months_active
from spmlib.core.periods import period_kind, period_start, period_step
from spmlib.core.ranges import parse_day
from spmlib.exceptions import SpmError
from spmlib.io.schema import Dataset
from spmlib.productivity.kpis import kpis
from spmlib.productivity.scorecard import SCORECARD_KPIS

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
    ``team_median`` (median of the other reps with a value that period, two significant
    figures; empty unless at least five have one). KPIs: bookings, win_rate, avg_deal_size,
    cycle_days (median, won deals), activity_volume (activities per month employed in the
    period; empty when the data has no activities). Periods that ended before the rep's hire
    date are left out, and so are other reps' periods before theirs.
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
    acts = scoped.activities
    reps = scoped.reps.reset_index(drop=True)
    per = []
    for s, e in k[["period_start", "period_end"]].drop_duplicates().itertuples(index=False):
        a = acts[(acts["date"] >= s) & (acts["date"] <= e)]
        c = a.groupby(a["rep_id"].astype(str)).size()
        per.append(
            pd.DataFrame(
                {
                    "rep_id": reps["rep_id"].astype(str).to_numpy(),
                    "period_start": s,
                    "_acts": c.reindex(reps["rep_id"].astype(str)).fillna(0).to_numpy(),
                    "_months": months_active(reps, s, e).to_numpy(),
                }
            )
        )
    k["rep_id"] = k["rep_id"].astype(str)
    k = k.merge(pd.concat(per, ignore_index=True), on=["rep_id", "period_start"], how="left")
    # activities per month employed in the period (a hire's first quarter counts its months)
    k["activity_volume"] = k["_acts"] / k["_months"].where(k["_months"] > 0)
    if acts.empty:
        k["activity_volume"] = np.nan
    k["cycle_days"] = k["median_cycle_days"]
    if "hire_date" in reps.columns:  # periods before a hire are absent, not zeros
        hire = reps.set_index(reps["rep_id"].astype(str))["hire_date"]
        hired = pd.to_datetime(k["rep_id"].map(hire))
        k = k[~(pd.to_datetime(k["period_end"]) < hired).to_numpy(dtype=bool)]
    names = ["bookings", "win_rate", "avg_deal_size", "cycle_days", "activity_volume"]
    long = k.melt(id_vars=["rep_id", "period", "period_start"], value_vars=names, var_name="kpi")
    mine = long["rep_id"] == str(rep_id)
    out = long[mine].copy()
    others = long[~mine].groupby(["period_start", "kpi"])["value"].agg(list)
    out["team_median"] = [
        team_benchmark(v, others.get((p, kpi), [])).median
        for v, p, kpi in zip(out["value"], out["period_start"], out["kpi"], strict=True)
    ]
    out["team_median"] = pd.to_numeric(out["team_median"], errors="coerce")
    out["label"] = out["kpi"].map({n: SCORECARD_KPIS[n].label for n in names})
    out["kpi"] = pd.Categorical(out["kpi"], categories=names, ordered=True)
    out = out.sort_values(["kpi", "period_start"]).reset_index(drop=True)
    out["kpi"] = out["kpi"].astype(str).astype("string")
    for c in ("period", "label"):
        out[c] = out[c].astype("string")
    out["value"] = out["value"].astype("float64")
    out["team_median"] = out["team_median"].astype("float64")
    return out[["period", "period_start", "kpi", "label", "value", "team_median"]]
