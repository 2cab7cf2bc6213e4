"""What a rep's statement adds to a run: what the rep would earn if their open deals close.

:func:`what_if_open_deals` works out, with the same engine and rules as a run, the rep's
earnings in the plan period that holds the day after the data's as-of date (the period still
open for selling) twice: with the deals won so far, and as if every open deal of the rep whose
expected close date falls in that period were won on it (credited by the same split rules).
Draws, clawbacks and adjustments are left out: this is what the deals would earn.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from spmlib.comp.engine import CompInputs, compute
from spmlib.core.periods import parse_period, period_label, period_start
from spmlib.io.validate import isin

__all__ = ["what_if_open_deals", "WHAT_IF_COLUMNS"]

WHAT_IF_COLUMNS = [
    "period",
    "quota_cents",
    "credited_now_cents",
    "attainment_now",
    "earned_now_cents",
    "open_deals",
    "open_amount_cents",
    "credited_if_cents",
    "attainment_if",
    "earned_if_cents",
]


def _deals_of(ds, rep_id: str):
    """The dataset cut to the deals that can credit ``rep_id``: owned by the rep, or with a
    split row for the rep, with every split row of those deals (so shares still add up)."""
    split = ds.splits
    shared = split.loc[split["rep_id"] == rep_id, "opp_id"]
    opp = ds.opportunities
    keep = (opp["rep_id"] == rep_id).to_numpy(dtype=bool) | isin(opp["opp_id"], shared)
    opps = opp[keep].reset_index(drop=True)
    return replace(
        ds,
        opportunities=opps,
        splits=split[isin(split["opp_id"], opps["opp_id"])].reset_index(drop=True),
        stage_history=ds.stage_history[isin(ds.stage_history["opp_id"], opps["opp_id"])],
        quotas=ds.quotas[ds.quotas["rep_id"] == rep_id],
    )


def _earned(inputs: CompInputs, start: pd.Timestamp, end: pd.Timestamp, rep_id: str):
    st = compute(inputs, start, end).statements
    st = st[(st["rep_id"] == rep_id) & (st["period_end"] == end)]
    if st.empty:
        return None
    row = st.iloc[-1]
    return row, int(row["earnings_cents"] + row["spifs_cents"])


def what_if_open_deals(
    inputs: CompInputs, rep_id: str, period: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rep's earnings now and if their open deals expected in the period close.

    Parameters
    ----------
    inputs : the run's inputs (dataset, plans, assignments).
    rep_id : the rep.
    period : a plan period label; default: the rep's plan period holding the day after as-of.

    Returns
    -------
    (summary, deals)
        ``summary``: one row with :data:`WHAT_IF_COLUMNS` (empty when the rep has no plan in the
        period); ``deals``: the open deals counted (``opp_id``, ``account``, ``stage``,
        ``close_date``, ``amount``).
    """
    ds = _deals_of(inputs.dataset, rep_id)
    fy = ds.config.fiscal_year_start_month
    mine = inputs.assignments[inputs.assignments["rep_id"] == rep_id]
    empty = pd.DataFrame(columns=WHAT_IF_COLUMNS), ds.opportunities.iloc[:0]
    if mine.empty:
        return empty
    if period is None:
        day = ds.as_of + pd.Timedelta(days=1)
        on = mine[
            (mine["valid_from"] <= day) & (mine["valid_to"].isna() | (mine["valid_to"] >= day))
        ]
        plan = inputs.plans[str((on if len(on) else mine).iloc[-1]["plan"])]
        first = period_start(pd.Series([day]), plan.period, fy)
        period = period_label(first, plan.period, fy).iloc[0]
    _freq, start, end = parse_period(period, fy)
    base = replace(inputs, dataset=ds, assignments=mine)
    now = _earned(base, start, end, rep_id)
    if now is None:
        return empty
    opp = ds.opportunities
    open_ = opp[(opp["status"] == "open") & opp["close_date"].between(start, end)]
    open_ = open_[
        (open_["rep_id"] == rep_id).to_numpy(dtype=bool)
        | isin(open_["opp_id"], ds.splits["opp_id"])
    ]
    won = opp.assign(
        status=opp["status"].mask(isin(opp["opp_id"], open_["opp_id"]), "won"),
        stage=opp["stage"].mask(isin(opp["opp_id"], open_["opp_id"]), ds.config.won_stage),
    )
    then = _earned(replace(base, dataset=replace(ds, opportunities=won)), start, end, rep_id)
    row_now, earned_now = now
    row_if, earned_if = then
    summary = pd.DataFrame(
        [
            {
                "period": period,
                "quota_cents": int(row_now["quota_cents"]),
                "credited_now_cents": int(row_now["credited_cents"]),
                "attainment_now": float(row_now["attainment"]),
                "earned_now_cents": earned_now,
                "open_deals": len(open_),
                "open_amount_cents": int(round(float(open_["amount"].sum()) * 100)),
                "credited_if_cents": int(row_if["credited_cents"]),
                "attainment_if": float(row_if["attainment"]),
                "earned_if_cents": earned_if,
            }
        ],
        columns=WHAT_IF_COLUMNS,
    )
    cols = [c for c in ("opp_id", "account", "stage", "close_date", "amount") if c in opp.columns]
    return summary, open_[cols].sort_values("close_date").reset_index(drop=True)
