"""The open pipeline: by stage and close month, weighted, coverage, velocity and flow.

Definitions
-----------
- **Open pipeline**: open opportunities (status open), their count and amount, by current stage
  and by the month (or fiscal quarter) of their expected close_date.
- **Win probability from a stage** = won / closed among closed deals that reached the stage
  (entered it or a later one, see :mod:`spmlib.core.codes`), with its Wilson 95% interval. Without
  stage history the stage of lost deals is unknown, so every stage gets the overall win rate.
- **Weighted pipeline** = sum over open deals of amount x the win probability from the deal's
  *current* stage (computed over all the deals given, not per group, so small groups get a
  stable weight). Beside it, the **CRM-weighted pipeline** = sum over open deals of amount x the
  probability the CRM gives the deal (its ``probability`` column: Salesforce's Probability, else
  the stage's DefaultProbability from the stage metadata; HubSpot's Deal probability), so the
  history and the CRM's own weights can be compared.
- **Coverage** of a period [start, end] = open pipeline expected to close in it (open deals whose
  close_date is in the period) / the quota still to be met (quota of the quota rows lying
  wholly in the period - bookings already won in it, floored at 0). Empty when no quota is
  left (met or unknown).
- **Pipeline velocity** (money per day) = open opportunities x win rate x average deal size /
  average sales cycle in days, where the win rate, the average won amount and the mean cycle
  (close_date - created_date) are taken over deals closed in [start, end].
- **Pipeline flow**: see :mod:`spmlib.funnel.flow`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from spmlib.core.codes import require_columns
from spmlib.core.grouping import group_codes, group_list, rep_groups, with_rep_columns
from spmlib.core.periods import period_kind, period_label, period_start
from spmlib.core.pipelines import per_pipeline
from spmlib.core.ranges import day_range, parse_day
from spmlib.core.stats import rate_table
from spmlib.funnel.progress import deal_progress, infer_as_of
from spmlib.io.schema import DatasetConfig

__all__ = [
    "open_pipeline",
    "open_pipeline_table",
    "stage_win_probability",
    "weighted_pipeline",
    "coverage",
    "pipeline_velocity",
]

log = logging.getLogger(__name__)


def _attach(frame: pd.DataFrame, groups: pd.DataFrame, codes: np.ndarray, cols: list[str]):
    for i, c in enumerate(cols):
        frame.insert(i, c, groups[c].to_numpy()[codes])
    return frame


@per_pipeline
def open_pipeline(
    opportunities: pd.DataFrame,
    *,
    config: DatasetConfig,
    by: str | Sequence[str] | None = None,
    reps: pd.DataFrame | None = None,
    freq: str = "month",
) -> pd.DataFrame:
    """Open deals by group, current stage and expected close period.

    Parameters
    ----------
    freq : "month" (calendar months) or "quarter" (fiscal quarters).

    Returns
    -------
    DataFrame with the group columns, ``stage`` (open stages in funnel order), ``close_period``
    (label, e.g. 2026-11 or FY2027-Q4), ``close_period_start``, ``deals``, ``amount``; only
    combinations with open deals appear.

    Examples
    --------
    >>> cfg = DatasetConfig(("A", "B"), "Won", "Lost")
    >>> opps = pd.DataFrame({"opp_id": ["1", "2", "3"], "stage": ["B", "A", "B"],
    ...     "status": ["open", "open", "open"], "amount": [10.0, 20.0, 30.0],
    ...     "close_date": pd.to_datetime(["2026-03-05", "2026-03-20", "2026-04-01"])})
    >>> open_pipeline(opps, config=cfg)[["stage", "close_period", "deals", "amount"]]
      stage close_period  deals  amount
    0     A      2026-03      1    20.0
    1     B      2026-03      1    10.0
    2     B      2026-04      1    30.0
    """
    freq = period_kind(freq, ("month", "quarter")).name
    cols = group_list(by)
    require_columns(opportunities, ["stage", "status", "amount", "close_date"], "opportunities")
    opps = with_rep_columns(opportunities, reps, cols)
    opps = opps[opps["status"] == "open"].copy()
    opps["close_period_start"] = period_start(
        opps["close_date"], freq, config.fiscal_year_start_month
    ).to_numpy()
    return open_pipeline_table(opps.assign(deals=1), cols, freq, config)


def open_pipeline_table(
    rows: pd.DataFrame, cols: list[str], freq: str, config: DatasetConfig
) -> pd.DataFrame:
    """The table of :func:`open_pipeline` from ``rows`` of the group columns ``cols``,
    ``stage``, ``close_period_start``, ``deals`` and ``amount``: one per open deal (``deals``
    1), or per combination already summed (by an engine: :mod:`spmlib.funnel.pipeline_sums`).
    The combinations are summed, open stages in funnel order."""
    rows = rows.assign(_rank=rows["stage"].map({s: i for i, s in enumerate(config.open_stages)}))
    keys = [*cols, "_rank", "stage", "close_period_start"]
    out = (
        rows.groupby(keys, dropna=False, sort=True)
        .agg(deals=("deals", "sum"), amount=("amount", "sum"))
        .reset_index()
    )
    out["close_period"] = period_label(
        out["close_period_start"], freq, config.fiscal_year_start_month
    ).astype("string")
    out["deals"] = out["deals"].astype("int64")
    out["amount"] = out["amount"].astype("float64")
    return out[[*cols, "stage", "close_period", "close_period_start", "deals", "amount"]]


@per_pipeline
def stage_win_probability(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None = None,
    *,
    config: DatasetConfig,
    by: str | Sequence[str] | None = None,
    reps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Historical probability of winning from each open stage.

    Returns
    -------
    DataFrame with the group columns, ``stage`` (open stages in order), ``closed`` (closed deals
    that reached the stage), ``won``, ``win_probability`` = won / closed, and its Wilson 95%
    interval ``win_probability_low`` / ``win_probability_high``.

    Examples
    --------
    >>> cfg = DatasetConfig(("A", "B"), "Won", "Lost")
    >>> opps = pd.DataFrame({"opp_id": ["1", "2", "3"], "stage": ["Won", "Lost", "Lost"],
    ...     "status": ["won", "lost", "lost"],
    ...     "created_date": pd.to_datetime(["2026-01-01"] * 3),
    ...     "close_date": pd.to_datetime(["2026-02-01"] * 3)})
    >>> hist = pd.DataFrame({"opp_id": ["1", "1", "2", "2", "3"],
    ...     "stage": ["A", "B", "A", "B", "A"], "entered_date": pd.to_datetime(["2026-01-01"] * 5)})
    >>> stage_win_probability(opps, hist, config=cfg)[["stage", "closed", "won", "win_probability"]]
      stage  closed  won  win_probability
    0     A       3    1         0.333333
    1     B       2    1         0.500000
    """
    cols = group_list(by)
    opps = with_rep_columns(opportunities, reps, cols)
    prog = deal_progress(opps, stage_history, config=config)
    codes, groups = group_codes(opps, cols, rep_groups(reps, cols))
    is_won, is_lost = prog.status == "won", prog.status == "lost"
    closed_mask = is_won | is_lost
    frames = []
    for k, stage in enumerate(config.open_stages):
        if prog.losses_known:
            reached = closed_mask & (prog.furthest >= k)
        else:
            reached = closed_mask
        part = pd.DataFrame(
            {
                "stage": stage,
                "closed": np.bincount(codes[reached], minlength=len(groups)),
                "won": np.bincount(codes[reached & is_won], minlength=len(groups)),
                "_code": np.arange(len(groups)),
                "_rank": k,
            }
        )
        frames.append(part)
    out = pd.concat(frames, ignore_index=True).sort_values(["_code", "_rank"], kind="stable")
    out = rate_table(out, "won", "closed", "win_probability").reset_index(drop=True)
    out[["closed", "won"]] = out[["closed", "won"]].astype("int64")
    out["stage"] = out["stage"].astype("string")
    out = _attach(out, groups, out["_code"].to_numpy(), cols)
    rates = ["win_probability", "win_probability_low", "win_probability_high"]
    return out[[*cols, "stage", "closed", "won", *rates]]


@per_pipeline
def weighted_pipeline(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None = None,
    *,
    config: DatasetConfig,
    by: str | Sequence[str] | None = None,
    reps: pd.DataFrame | None = None,
    probabilities: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Open pipeline weighted by the historical probability of winning from the current stage.

    Parameters
    ----------
    probabilities : ``stage`` and ``win_probability`` to use (e.g. the company's when looking at
        one team); None = :func:`stage_win_probability` over all the deals given.

    Returns
    -------
    DataFrame with the group columns, ``stage`` (open stages in order), ``deals``, ``amount``,
    ``win_probability``, ``weighted_amount`` = amount x win_probability, ``crm_probability``
    (the amount-weighted mean CRM probability of the stage's open deals: each deal's own
    ``probability``, else its stage's default from ``config.stage_probabilities``; for a stage
    without open deals, that default) and ``crm_weighted_amount`` = the sum of amount x CRM
    probability over the stage's open deals (deals with no CRM probability at all count 0);
    both empty when the data has no CRM probabilities.
    Every stage appears for every group (zeros when empty).

    Examples
    --------
    >>> cfg = DatasetConfig(("A", "B"), "Won", "Lost")
    >>> opps = pd.DataFrame({"opp_id": ["1", "2", "3"], "stage": ["A", "B", "B"],
    ...     "status": ["open", "open", "open"], "amount": [100.0, 200.0, 600.0],
    ...     "probability": [0.1, 0.6, 0.2]})
    >>> p = pd.DataFrame({"stage": ["A", "B"], "win_probability": [0.2, 0.5]})
    >>> weighted_pipeline(opps, config=cfg, probabilities=p)[
    ...     ["stage", "amount", "weighted_amount", "crm_probability", "crm_weighted_amount"]]
      stage  amount  weighted_amount  crm_probability  crm_weighted_amount
    0     A   100.0             20.0              0.1                 10.0
    1     B   800.0            400.0              0.3                240.0
    """
    cols = group_list(by)
    require_columns(opportunities, ["stage", "status", "amount"], "opportunities")
    if probabilities is None:
        probabilities = stage_win_probability(opportunities, stage_history, config=config)
    prob = probabilities.set_index("stage")["win_probability"]
    opps = with_rep_columns(opportunities, reps, cols)
    codes, groups = group_codes(opps, cols, rep_groups(reps, cols))
    rank = opps["stage"].map({s: i for i, s in enumerate(config.open_stages)})
    keep = (opps["status"] == "open").to_numpy() & rank.notna().to_numpy()
    n_stages = len(config.open_stages)
    key = codes[keep] * n_stages + rank.to_numpy()[keep].astype(np.int64)
    size = len(groups) * n_stages
    deals = np.bincount(key, minlength=size)
    amount = np.bincount(
        key, weights=opps["amount"].to_numpy(dtype="float64")[keep], minlength=size
    )
    code, k = np.divmod(np.arange(size), n_stages)
    stages = np.array(config.open_stages, dtype=object)[k]
    out = pd.DataFrame(
        {
            "stage": pd.array(stages, dtype="string"),
            "deals": deals.astype("int64"),
            "amount": amount.astype("float64"),
            "win_probability": pd.Series(stages).map(prob).to_numpy(dtype="float64"),
        }
    )
    out["weighted_amount"] = out["amount"] * out["win_probability"]
    out["crm_probability"], out["crm_weighted_amount"] = _crm_weights(
        opps, keep, key, size, stages, config
    )
    return _attach(out, groups, code, cols)


def _crm_weights(opps, keep, key, size, stages, config) -> tuple[np.ndarray, np.ndarray]:
    """(crm_probability, crm_weighted_amount) per group and stage (see weighted_pipeline)."""
    default = pd.Series(stages).map(config.stage_probabilities).to_numpy(dtype="float64")
    p = opps["stage"].map(config.stage_probabilities).to_numpy(dtype="float64", na_value=np.nan)
    if "probability" in opps.columns:
        own = opps["probability"].to_numpy(dtype="float64", na_value=np.nan)
        p = np.where(np.isnan(own), p, own)
    p = p[keep]
    if np.isnan(p).all() and np.isnan(default).all():
        return default, default.copy()
    a = opps["amount"].to_numpy(dtype="float64")[keep]
    has = ~np.isnan(p)
    weighted = np.bincount(key[has], weights=a[has] * p[has], minlength=size)
    carried = np.bincount(key[has], weights=a[has], minlength=size)
    counted = np.bincount(key[has], minlength=size)
    plain = np.bincount(key[has], weights=p[has], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(carried > 0, weighted / carried, plain / counted)  # amount 0: plain mean
    return np.where(counted > 0, mean, default), weighted


def coverage(
    opportunities: pd.DataFrame,
    quotas: pd.DataFrame,
    *,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    as_of: pd.Timestamp | str | None = None,
    by: str | Sequence[str] | None = "rep",
    reps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Pipeline coverage of the quota still to be met in [start, end].

    Returns
    -------
    DataFrame with the group columns, ``period_start``, ``period_end``, ``quota`` (sum of quota
    rows lying wholly in the period), ``booked`` (amount won with close_date in the period, up to
    ``as_of``), ``remaining_quota`` = max(quota - booked, 0), ``open_pipeline`` (amount of open
    deals expected to close in the period), ``open_deals``, ``coverage`` = open_pipeline /
    remaining_quota (empty when nothing remains).

    Examples
    --------
    >>> opps = pd.DataFrame({"rep_id": ["a", "a", "a"], "status": ["won", "open", "open"],
    ...     "amount": [40.0, 90.0, 500.0],
    ...     "close_date": pd.to_datetime(["2026-03-02", "2026-03-25", "2026-05-01"])})
    >>> q = pd.DataFrame({"rep_id": ["a"], "quota": [100.0],
    ...     "period_start": pd.to_datetime(["2026-03-01"]),
    ...     "period_end": pd.to_datetime(["2026-03-31"])})
    >>> coverage(opps, q, start="2026-03-01", end="2026-03-31", as_of="2026-03-10",
    ...     by="rep_id")[["rep_id", "remaining_quota", "open_pipeline", "coverage"]]
      rep_id  remaining_quota  open_pipeline  coverage
    0      a             60.0           90.0       1.5
    """
    cols = group_list(by)
    require_columns(opportunities, ["rep_id", "status", "amount", "close_date"], "opportunities")
    lo, hi = day_range(start, end)
    if as_of is not None:
        as_of = parse_day(as_of)
    elif "created_date" in opportunities.columns:
        as_of = infer_as_of(opportunities)
    else:
        as_of = hi
    opps = with_rep_columns(opportunities, reps, cols)
    q = with_rep_columns(quotas, reps, cols)
    q = q[(q["period_start"] >= lo) & (q["period_end"] <= hi)]
    in_period = (opps["close_date"] >= lo) & (opps["close_date"] <= hi)
    won = opps[in_period & (opps["status"] == "won") & (opps["close_date"] <= as_of)]
    open_ = opps[in_period & (opps["status"] == "open")]
    if cols:
        seen = [f[cols] for f in (q, won, open_)]
        extra = rep_groups(reps, cols)
        if extra is not None:
            seen.append(extra)
        _, groups = group_codes(pd.concat(seen, ignore_index=True), cols)
    else:
        groups = pd.DataFrame(index=[0])

    def total(frame: pd.DataFrame, value: str | None) -> np.ndarray:
        codes = _codes_in(frame, groups, cols)
        w = frame[value].to_numpy(dtype="float64") if value else None
        return np.bincount(codes, weights=w, minlength=len(groups))

    out = pd.DataFrame(
        {
            "period_start": lo,
            "period_end": hi,
            "quota": total(q, "quota"),
            "booked": total(won, "amount"),
        },
        index=range(len(groups)),
    )
    out["remaining_quota"] = (out["quota"] - out["booked"]).clip(lower=0.0)
    out["open_pipeline"] = total(open_, "amount")
    out["open_deals"] = total(open_, None).astype("int64")
    rem = out["remaining_quota"]
    out["coverage"] = (out["open_pipeline"] / rem.where(rem > 0)).astype("float64")
    out[["period_start", "period_end"]] = out[["period_start", "period_end"]].astype(
        "datetime64[ns]"
    )
    return _attach(out, groups, np.arange(len(groups)), cols)


def _codes_in(frame: pd.DataFrame, groups: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """Row codes of ``frame`` in an existing groups frame (the row number of its group)."""
    if not cols:
        return np.zeros(len(frame), dtype=np.int64)
    index = pd.MultiIndex.from_frame(groups[cols].astype(object))
    keys = pd.MultiIndex.from_frame(frame[cols].astype(object))
    return index.get_indexer(keys).astype(np.int64)


def pipeline_velocity(
    opportunities: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    reps: pd.DataFrame | None = None,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Pipeline velocity: expected money through the pipeline per day.

    Returns
    -------
    DataFrame with the group columns, ``open_deals`` (open now), ``won``, ``lost`` (closed in
    [start, end]; all when None), ``win_rate``, ``avg_deal_size`` (mean amount of the won
    deals), ``avg_cycle_days`` (mean close_date - created_date of the won deals),
    ``velocity_per_day`` = open_deals x win_rate x avg_deal_size / avg_cycle_days and
    ``velocity_per_month`` = velocity_per_day x 30.

    Examples
    --------
    >>> opps = pd.DataFrame({"status": ["won", "lost", "open", "open"],
    ...     "amount": [1000.0, 500.0, 800.0, 900.0],
    ...     "created_date": pd.to_datetime(["2026-01-01"] * 4),
    ...     "close_date": pd.to_datetime(["2026-01-21", "2026-01-05", "2026-03-01", "2026-03-01"])})
    >>> pipeline_velocity(opps)[["open_deals", "win_rate", "avg_cycle_days", "velocity_per_day"]]
       open_deals  win_rate  avg_cycle_days  velocity_per_day
    0           2       0.5            20.0              50.0
    """
    cols = group_list(by)
    require_columns(
        opportunities, ["status", "amount", "created_date", "close_date"], "opportunities"
    )
    opps = with_rep_columns(opportunities, reps, cols)
    codes, groups = group_codes(opps, cols, rep_groups(reps, cols))
    lo, hi = parse_day(start), parse_day(end)
    closed_in = opps["close_date"].notna()
    if lo is not None:
        closed_in &= opps["close_date"] >= lo
    if hi is not None:
        closed_in &= opps["close_date"] <= hi
    status = opps["status"].to_numpy()
    won = closed_in.to_numpy() & (status == "won")
    lost = closed_in.to_numpy() & (status == "lost")
    n = len(groups)
    cycle = (opps["close_date"] - opps["created_date"]).dt.days.to_numpy(dtype="float64")
    out = pd.DataFrame(
        {
            "open_deals": np.bincount(codes[status == "open"], minlength=n),
            "won": np.bincount(codes[won], minlength=n),
            "lost": np.bincount(codes[lost], minlength=n),
        }
    ).astype("int64")
    out["closed"] = out["won"] + out["lost"]
    out = rate_table(out, "won", "closed", "win_rate")
    with np.errstate(invalid="ignore", divide="ignore"):
        amount = np.bincount(
            codes[won], weights=opps["amount"].to_numpy("float64")[won], minlength=n
        )
        days = np.bincount(codes[won], weights=np.nan_to_num(cycle[won]), minlength=n)
        out["avg_deal_size"] = np.where(out["won"] > 0, amount / out["won"], np.nan)
        out["avg_cycle_days"] = np.where(out["won"] > 0, days / out["won"], np.nan)
        cyc = out["avg_cycle_days"].where(out["avg_cycle_days"] > 0)
        out["velocity_per_day"] = out["open_deals"] * out["win_rate"] * out["avg_deal_size"] / cyc
    out["velocity_per_month"] = out["velocity_per_day"] * 30
    out = _attach(out, groups, np.arange(n), cols)
    measures = ["open_deals", "won", "lost", "win_rate", "avg_deal_size", "avg_cycle_days"]
    return out[[*cols, *measures, "velocity_per_day", "velocity_per_month"]]
