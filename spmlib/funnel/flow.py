"""Pipeline flow between two dates: what was open, what came in, what closed, what is open now.

Definition
----------
**Pipeline flow** between two dates: open at start + created - won - lost = open at end, in
count and amount. A deal is open at the end of day d if it was created on or before d and
not closed by d. A deal closes on the date it entered the won or lost stage in the stage
history, else on its close_date (never before its created_date). Open at start means open at
the end of the day before ``start``. The identity holds exactly, deal by deal.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from spmlib.core.codes import NEVER, positions, require_columns, to_ns
from spmlib.core.grouping import group_codes, group_list, rep_groups, with_rep_columns
from spmlib.core.pipelines import per_pipeline
from spmlib.core.ranges import day_range
from spmlib.funnel.progress import deal_progress
from spmlib.io.schema import DatasetConfig

__all__ = ["FLOW_MEASURES", "flow_table", "pipeline_flow"]

log = logging.getLogger(__name__)

#: The measures of the flow, in order: open_start + created - won - lost = open_end.
FLOW_MEASURES = ("open_start", "created", "won", "lost", "open_end")


@per_pipeline
def pipeline_flow(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None = None,
    *,
    config: DatasetConfig,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    by: str | Sequence[str] | None = None,
    reps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """How the open pipeline moved from ``start`` to ``end``: it balances exactly.

    Returns
    -------
    DataFrame, two rows per group (``measure`` = "count" then "amount"), with the group columns,
    ``measure``, ``open_start``, ``created``, ``won``, ``lost``, ``open_end`` (floats), where
    open_start + created - won - lost = open_end (definitions in the module docstring).

    Examples
    --------
    >>> cfg = DatasetConfig(("A",), "Won", "Lost")
    >>> opps = pd.DataFrame({"opp_id": ["1", "2", "3"], "stage": ["Won", "A", "Lost"],
    ...     "status": ["won", "open", "lost"], "amount": [10.0, 20.0, 30.0],
    ...     "created_date": pd.to_datetime(["2025-12-01", "2026-01-10", "2026-01-05"]),
    ...     "close_date": pd.to_datetime(["2026-01-15", "2026-03-01", "2026-02-15"])})
    >>> pipeline_flow(opps, config=cfg, start="2026-01-01", end="2026-01-31")
      measure  open_start  created   won  lost  open_end
    0   count         1.0      2.0   1.0   0.0       2.0
    1  amount        10.0     50.0  10.0   0.0      50.0
    """
    cols = group_list(by)
    require_columns(
        opportunities,
        ["opp_id", "stage", "status", "amount", "created_date", "close_date"],
        "opportunities",
    )
    lo, hi = day_range(start, end)
    opps = with_rep_columns(opportunities, reps, cols)
    codes, groups = group_codes(opps, cols, rep_groups(reps, cols))
    prog = deal_progress(opps, stage_history, config=config)
    created = prog.created
    closed_on = np.full(len(opps), NEVER, dtype=np.int64)
    is_won, is_lost = prog.status == "won", prog.status == "lost"
    closed_on[is_won] = prog.reach[is_won, -1]
    closed_on[is_lost] = prog.close[is_lost]
    if stage_history is not None and not stage_history.empty:
        lost_rows = stage_history[stage_history["stage"] == config.lost_stage]
        first = lost_rows.groupby("opp_id")["entered_date"].min()
        pos = positions(first.index.to_series(), opps["opp_id"])
        ok = pos >= 0
        when = to_ns(first)[ok]
        pos = pos[ok]
        closed_on[pos] = np.where(is_lost[pos] & (when != NEVER), when, closed_on[pos])
    has_created = created != NEVER
    closed_on = np.where(closed_on != NEVER, np.maximum(closed_on, created), NEVER)
    lo_ns, hi_ns = lo.value, hi.value
    day = pd.Timedelta(days=1).value

    def open_at(t: int) -> np.ndarray:
        return has_created & (created <= t) & (closed_on > t)

    masks = {
        "open_start": open_at(lo_ns - day),
        "created": has_created & (created >= lo_ns) & (created <= hi_ns),
        "won": is_won & (closed_on >= lo_ns) & (closed_on <= hi_ns) & has_created,
        "lost": is_lost & (closed_on >= lo_ns) & (closed_on <= hi_ns) & has_created,
        "open_end": open_at(hi_ns),
    }
    amount = opps["amount"].fillna(0.0).to_numpy(dtype="float64")
    n = len(groups)
    count, money = (
        pd.DataFrame(
            {
                name: np.bincount(
                    codes[m], weights=None if weights is None else weights[m], minlength=n
                ).astype("float64")
                for name, m in masks.items()
            }
        )
        for weights in (None, amount)
    )
    return flow_table(groups, cols, count, money)


def flow_table(
    groups: pd.DataFrame, cols: list[str], count: pd.DataFrame, amount: pd.DataFrame
) -> pd.DataFrame:
    """The table of :func:`pipeline_flow` from the measures (columns :data:`FLOW_MEASURES`, a
    row per group of ``groups``, in its order) in deals (``count``) and in money (``amount``):
    for each group a count row, then an amount row."""
    frames = []
    for measure, part in (("count", count), ("amount", amount)):
        part = part[list(FLOW_MEASURES)].copy()
        part.insert(0, "measure", measure)
        part["_code"] = np.arange(len(groups))
        frames.append(part)
    out = pd.concat(frames, ignore_index=True).sort_values(["_code"], kind="stable")
    out = out.reset_index(drop=True)
    for i, c in enumerate(cols):
        out.insert(i, c, groups[c].to_numpy()[out["_code"].to_numpy()])
    return out[[*cols, "measure", *FLOW_MEASURES]]
