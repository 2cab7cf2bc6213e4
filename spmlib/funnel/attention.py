"""Open deals that need a manager's attention this week, and why.

An open deal needs attention for any of these reasons (a deal can have several):

- **stale**: it has sat in its current stage longer than the 90th percentile of the completed
  stays in that stage (:func:`spmlib.funnel.velocity.stale_deals`; the percentiles come from
  the peers given, e.g. the whole company, so that a team's own slowness does not hide it);
  unknown without a stage history.
- **past close date**: its expected close date is before the reference date ``as_of``: the
  date in the CRM is wrong or the deal has slipped without anyone saying so.
- **slipped**: its expected close date moved out of the current quarter since the previous
  extract (from :mod:`spmlib.funnel.changes`); known only when a previous extract is compared.
- **large, late stage**: it is in one of the last ``late_stages`` open stages of the funnel,
  its amount is at or above ``large_amount`` (by default the 90th percentile of the open deals'
  amounts) and it is expected to close by the end of the current quarter: the deals the
  quarter depends on. The current quarter is the one in progress at the end of ``as_of``
  (:func:`spmlib.core.periods.current_period`).

Deals are listed most reasons first, then largest amount first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from spmlib.core.codes import require_columns
from spmlib.core.periods import current_period
from spmlib.core.pipelines import per_pipeline
from spmlib.funnel.velocity import current_stays, time_in_stage
from spmlib.io.schema import DatasetConfig

__all__ = ["REASONS", "large_deal_amount", "deals_needing_attention"]

log = logging.getLogger(__name__)

#: Each reason's flag column and the words shown for it, in the order they are listed.
REASONS = {
    "past_close": "past close date",
    "slipped": "slipped",
    "stale": "stale",
    "large_late": "large and late-stage",
}
_COLUMNS = [
    "opp_id",
    "rep_id",
    "account",
    "stage",
    "amount",
    "close_date",
    "days_in_stage",
    *REASONS,
    "reasons",
]


def large_deal_amount(opportunities: pd.DataFrame, quantile: float = 0.9) -> float:
    """The amount from which an open deal counts as large: the ``quantile`` of the open deals'
    amounts (NaN when there is no open deal).

    Examples
    --------
    >>> opps = pd.DataFrame({"status": ["open"] * 5 + ["won"],
    ...     "amount": [10.0, 20.0, 30.0, 40.0, 50.0, 999.0]})
    >>> large_deal_amount(opps, 0.75)
    40.0
    """
    amounts = opportunities.loc[opportunities["status"] == "open", "amount"].astype(float)
    return float(amounts.quantile(quantile)) if len(amounts) else float("nan")


@per_pipeline
def deals_needing_attention(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame,
    *,
    config: DatasetConfig,
    as_of: pd.Timestamp | str,
    thresholds: pd.DataFrame | None = None,
    quarter_end: pd.Timestamp | str | None = None,
    large_amount: float | None = None,
    late_stages: int = 2,
    slipped: Iterable[str] = (),
) -> pd.DataFrame:
    """The open deals that need attention, with their reasons (rules in the module docstring).

    Parameters
    ----------
    opportunities, stage_history, config : the deals to look at (e.g. one team's) and the
        dataset's stage settings.
    as_of : the reference date.
    thresholds : :func:`spmlib.funnel.velocity.time_in_stage` of the peers (``stage``,
        ``p90_days``); None = computed from the deals given.
    quarter_end : last day of the current quarter; None = that of the quarter in progress
        (:func:`spmlib.core.periods.current_period`).
    large_amount : amount from which a deal is large; None = :func:`large_deal_amount` of the
        deals given.
    late_stages : how many of the last open stages count as late.
    slipped : ids of the deals whose close date slipped out of the quarter since the previous
        extract.

    Returns
    -------
    DataFrame ``opp_id``, ``rep_id``, ``account`` (empty when the data has none), ``stage``,
    ``amount``, ``close_date``, ``days_in_stage`` (empty without stage history), one boolean
    column per reason of :data:`REASONS` (``past_close``, ``slipped``, ``stale``,
    ``large_late``), ``reasons`` (the reasons in words, comma-separated): one row per open deal
    with at least one reason, most reasons first, then the largest amount.

    Examples
    --------
    Deal 1 sat 30 days in A (p90 10): stale. Deal 2 is large (>= 100), in the late stage B and
    closes this quarter. Deal 3 was due on 2026-01-20, before as_of: past its close date.

    >>> cfg = DatasetConfig(("A", "B"), "Won", "Lost")
    >>> opps = pd.DataFrame({"opp_id": ["1", "2", "3"], "rep_id": ["r"] * 3,
    ...     "stage": ["A", "B", "A"], "status": ["open"] * 3, "amount": [10.0, 500.0, 20.0],
    ...     "created_date": pd.to_datetime(["2026-01-01", "2026-01-20", "2026-01-25"]),
    ...     "close_date": pd.to_datetime(["2026-03-01", "2026-03-15", "2026-01-20"])})
    >>> hist = pd.DataFrame({"opp_id": ["1", "2", "3"], "stage": ["A", "B", "A"],
    ...     "entered_date": pd.to_datetime(["2026-01-01", "2026-01-20", "2026-01-25"])})
    >>> p90 = pd.DataFrame({"stage": ["A", "B"], "p90_days": [10.0, 40.0]})
    >>> deals_needing_attention(opps, hist, config=cfg, as_of="2026-01-31", thresholds=p90,
    ...     large_amount=100.0, late_stages=1)[["opp_id", "days_in_stage", "reasons"]]
      opp_id  days_in_stage               reasons
    0      2           11.0  large and late-stage
    1      3            6.0       past close date
    2      1           30.0                 stale
    """
    require_columns(
        opportunities, ["opp_id", "rep_id", "stage", "status", "amount", "close_date"],
        "opportunities",
    )  # fmt: skip
    as_of = pd.Timestamp(as_of)
    if quarter_end is None:
        quarter_end = current_period(as_of, "quarter", config.fiscal_year_start_month)[1]
    quarter_end = pd.Timestamp(quarter_end)
    open_ = opportunities[opportunities["status"] == "open"]
    if large_amount is None:
        large_amount = large_deal_amount(open_)
    if thresholds is None:
        thresholds = time_in_stage(opportunities, stage_history, config=config, as_of=as_of)
    stays = current_stays(open_, stage_history, config=config, as_of=as_of)
    days = pd.Series(stays["days_in_stage"].to_numpy(), index=stays["opp_id"].astype(str))
    p90 = thresholds.set_index("stage")["p90_days"]
    ids = open_["opp_id"].astype(str)
    in_stage = ids.map(days).to_numpy(dtype="float64")
    limit = open_["stage"].astype(object).map(p90).to_numpy(dtype="float64")
    late = list(config.open_stages)[-max(int(late_stages), 1) :]
    amount = open_["amount"].to_numpy(dtype="float64")
    close = open_["close_date"]
    out = pd.DataFrame(
        {
            "opp_id": ids.to_numpy(),
            "rep_id": open_["rep_id"].astype(str).to_numpy(),
            "account": (
                open_["account"].to_numpy(dtype=object)
                if "account" in open_.columns
                else np.full(len(open_), pd.NA, dtype=object)
            ),
            "stage": open_["stage"].astype(str).to_numpy(),
            "amount": amount,
            "close_date": close.to_numpy(),
            "days_in_stage": in_stage,
            "past_close": (close < as_of.normalize()).fillna(False).to_numpy(dtype=bool),
            "slipped": ids.isin({str(s) for s in slipped}).to_numpy(dtype=bool),
            "stale": np.nan_to_num(in_stage - limit, nan=0.0) > 0,
            "large_late": (
                open_["stage"].isin(late).to_numpy(dtype=bool)
                & (amount >= large_amount)
                & (close <= quarter_end).fillna(False).to_numpy(dtype=bool)
            ),
        }
    )
    flags = out[list(REASONS)].to_numpy(dtype=bool)
    out["reasons"] = [
        ", ".join(word for word, on in zip(REASONS.values(), row, strict=True) if on)
        for row in flags
    ]
    out["_n"] = flags.sum(axis=1)
    out = out[out["_n"] > 0].sort_values(
        ["_n", "amount", "opp_id"], ascending=[False, False, True], kind="stable"
    )
    out = out.astype(
        {"opp_id": "string", "rep_id": "string", "account": "string", "stage": "string",
         "reasons": "string"}
    )  # fmt: skip
    out["close_date"] = pd.to_datetime(out["close_date"])
    return out[_COLUMNS].reset_index(drop=True)
