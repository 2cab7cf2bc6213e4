"""Leads -> opportunities -> won, by lead source or by rep, with the time from lead to deal.

Definitions (per group):

- ``leads``: leads created (in [start, end] when given).
- ``converted``: those leads that became an opportunity: their ``opp_id`` is an opportunity of
  the data, or they carry a ``converted_date``.
- ``conversion_rate`` = converted / leads, with its Wilson 95% interval.
- ``won`` / ``lost`` / ``open``: status of the opportunities the converted leads became.
- ``win_rate`` = won / (won + lost) over those opportunities (Wilson interval).
- ``lead_to_win`` = won / leads (Wilson interval); recent leads have had less time to win.
- ``median_days_to_opportunity``: median of converted_date - created_date of the lead (the
  opportunity's created_date stands in when converted_date is missing).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from spmlib.core.codes import labels, positions, require_columns
from spmlib.core.grouping import group_codes, group_list, with_rep_columns
from spmlib.core.ranges import day_range
from spmlib.core.stats import rate_table

__all__ = ["lead_funnel"]

log = logging.getLogger(__name__)


def lead_funnel(
    leads: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = "source",
    reps: pd.DataFrame | None = None,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Lead conversion and win rates per lead source, rep or any lead/rep column.

    Parameters
    ----------
    leads : lead_id, rep_id, created_date, source; optional converted_date, opp_id.
    opportunities : opp_id, status, created_date.
    by : "source", "rep", "team", ... (rep columns are joined from ``reps``); None = all leads.
    start, end : keep leads created in this inclusive range.

    Returns
    -------
    DataFrame with the group columns, ``leads``, ``converted``, ``conversion_rate``,
    ``conversion_rate_low``, ``conversion_rate_high``, ``won``, ``lost``, ``open``,
    ``win_rate``, ``win_rate_low``, ``win_rate_high``, ``lead_to_win``, ``lead_to_win_low``,
    ``lead_to_win_high``, ``median_days_to_opportunity`` (definitions in the module docstring).

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["1", "2", "3"], "rep_id": ["a"] * 3,
    ...     "source": ["Web", "Web", "Event"],
    ...     "created_date": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]),
    ...     "converted_date": pd.to_datetime(["2026-01-05", None, None]),
    ...     "opp_id": ["o1", None, None]})
    >>> opps = pd.DataFrame({"opp_id": ["o1"], "status": ["won"],
    ...     "created_date": pd.to_datetime(["2026-01-05"])})
    >>> lead_funnel(leads, opps)[["source", "leads", "converted", "won"]]
      source  leads  converted  won
    0  Event      1          0    0
    1    Web      2          1    1
    """
    require_columns(leads, ["lead_id", "rep_id", "created_date", "source"], "leads")
    cols = group_list(by)
    data = with_rep_columns(leads, reps, cols)
    start, end = day_range(start, end)
    if start is not None:
        data = data[data["created_date"] >= start]
    if end is not None:
        data = data[data["created_date"] <= end]
    data = data.reset_index(drop=True)
    extra = None
    if reps is not None and cols and all(c in reps.columns for c in cols):
        extra = reps[cols].drop_duplicates()
    codes, groups = group_codes(data, cols, extra)
    n = len(groups)
    opp_ids = data["opp_id"] if "opp_id" in data.columns else pd.Series(pd.NA, index=data.index)
    pos = positions(opp_ids.astype("string"), opportunities["opp_id"])
    linked = pos >= 0
    conv_date = (
        data["converted_date"]
        if "converted_date" in data.columns
        else pd.Series(pd.NaT, index=data.index, dtype="datetime64[ns]")
    )
    converted = linked | conv_date.notna().to_numpy()
    status = np.full(len(data), "", dtype=object)
    opp_created = pd.Series(pd.NaT, index=data.index, dtype="datetime64[ns]")
    if linked.any():  # (nothing is linked when there is no opportunity at all)
        take = pos[linked]
        status[linked] = labels(opportunities["status"])[take]
        opp_created[linked] = opportunities["created_date"].to_numpy()[take]
    when = conv_date.where(conv_date.notna(), opp_created)
    days = (when - data["created_date"]).dt.days.astype("float64")

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask], minlength=n).astype("int64")

    out = pd.DataFrame(
        {
            "leads": count(np.ones(len(data), dtype=bool)),
            "converted": count(converted),
            "won": count(status == "won"),
            "lost": count(status == "lost"),
            "open": count(status == "open"),
        }
    )
    out["closed"] = out["won"] + out["lost"]
    out = rate_table(out, "converted", "leads", "conversion_rate")
    out = rate_table(out, "won", "closed", "win_rate")
    out = rate_table(out, "won", "leads", "lead_to_win")
    med = days[converted].groupby(codes[converted]).median()
    out["median_days_to_opportunity"] = med.reindex(range(n)).to_numpy(dtype="float64")
    for i, c in enumerate(cols):
        out.insert(i, c, groups[c].to_numpy())
    rates = ["conversion_rate", "conversion_rate_low", "conversion_rate_high"]
    wins = ["won", "lost", "open", "win_rate", "win_rate_low", "win_rate_high"]
    l2w = ["lead_to_win", "lead_to_win_low", "lead_to_win_high"]
    return out[[*cols, "leads", "converted", *rates, *wins, *l2w, "median_days_to_opportunity"]]
