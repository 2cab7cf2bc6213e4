"""Time: days in each stage, sales-cycle length, days in pipeline and stale deals.

Definitions
-----------
- A **stay** is the time an opportunity spends in an open stage, from its ``entered_date`` in the
  stage history to the next stage-history entry of the same opportunity (any stage), or to its
  close_date when it closed without a further entry. A stay still running (open deal, last
  entry) is *censored*: it has lasted until the reference date ``as_of`` so far.
- **Days in stage** of an opportunity = the sum of its stays in that stage (a deal that comes
  back to a stage adds the new stay). It is *completed* when the deal is no longer in the stage.
- **Time in stage** statistics (median, p75, p90) use completed days in stage only, so that
  deals still sitting in a stage do not pull the figures down.
- **Sales cycle** = close_date - created_date in days, over won deals and over won + lost deals.
- **Days in pipeline** of an open deal = as_of - created_date.
- A **stale deal** is an open deal whose current stay (as_of - the date it entered its current
  stage) exceeds the p90 of completed days in that stage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from spmlib.core.codes import NEVER, codes_of, labels, positions, require_columns, to_ns
from spmlib.core.grouping import group_codes, group_list, rep_groups, with_rep_columns
from spmlib.core.pipelines import per_pipeline
from spmlib.funnel.progress import infer_as_of
from spmlib.io.schema import DatasetConfig

__all__ = [
    "stage_stays",
    "time_in_stage",
    "sales_cycle",
    "days_in_pipeline",
    "current_stays",
    "stale_deals",
]

log = logging.getLogger(__name__)
_DAY = 86_400 * 10**9
_QUANTILES = {"median_days": 0.5, "p75_days": 0.75, "p90_days": 0.9}


def _stays(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame,
    config: DatasetConfig,
    as_of: pd.Timestamp,
    history_positions: np.ndarray | None = None,
) -> pd.DataFrame:
    """Days in stage per (opportunity position, open stage rank), vectorised.

    Columns: pos (row of ``opportunities``), rank, days, completed, entered (ns of the first
    entry), exit (ns of the end of the last stay; NEVER while running), current_entered (ns of
    the entry of the running stay; NEVER when completed).
    """
    cols = ["pos", "rank", "days", "completed", "entered", "exit", "current_entered"]
    if stage_history is None or stage_history.empty:
        kinds = {"days": "float64", "completed": bool}
        return pd.DataFrame({c: pd.Series(dtype=kinds.get(c, "int64")) for c in cols})
    n_open = len(config.open_stages)
    pos = history_positions
    if pos is None:
        pos = positions(stage_history["opp_id"], opportunities["opp_id"])
    rank = codes_of(stage_history["stage"], config.stages).astype("float64")  # open, won, lost
    rank[rank < 0] = np.nan
    when = to_ns(stage_history["entered_date"])
    keep = (pos >= 0) & ~np.isnan(rank) & (when != NEVER)
    pos, rank, when = pos[keep], rank[keep].astype(np.int64), when[keep]
    order = np.lexsort((rank, when, pos))
    pos, rank, when = pos[order], rank[order], when[order]
    same_next = np.zeros(len(pos), dtype=bool)
    same_next[:-1] = pos[1:] == pos[:-1]
    next_when = np.empty_like(when)
    next_when[:-1] = when[1:]
    status = labels(opportunities["status"])
    close = to_ns(opportunities["close_date"])
    closed_end = np.where(status[pos] != "open", close[pos], NEVER)
    end = np.where(same_next, next_when, closed_end)
    is_open_stage = rank < n_open
    pos, rank, when, end = (
        pos[is_open_stage],
        rank[is_open_stage],
        when[is_open_stage],
        end[is_open_stage],
    )
    running = end == NEVER
    as_of_ns = pd.Timestamp(as_of).value
    days = (np.where(running, as_of_ns, end) - when) / _DAY
    frame = pd.DataFrame(
        {
            "pos": pos,
            "rank": rank,
            "days": np.maximum(days, 0.0),
            "running": running,
            "entered": when,
            "exit": end,
            "current_entered": np.where(running, when, NEVER),
        }
    )
    out = frame.groupby(["pos", "rank"], sort=True).agg(
        days=("days", "sum"),
        running=("running", "any"),
        entered=("entered", "min"),
        exit=("exit", "max"),
        current_entered=("current_entered", "min"),
    )
    out = out.reset_index()
    out["completed"] = ~out.pop("running")
    return out[cols]


@per_pipeline
def stage_stays(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame,
    *,
    config: DatasetConfig,
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Days in each open stage per opportunity (definitions in the module docstring).

    Returns
    -------
    DataFrame with columns ``opp_id``, ``stage``, ``days`` (float, summed over stays; a running
    stay counts up to ``as_of``), ``completed`` (bool), ``entered_date`` (first entry),
    ``exit_date`` (end of the last stay; NaT while still in the stage).

    Examples
    --------
    >>> cfg = DatasetConfig(("A", "B"), "Won", "Lost")
    >>> opps = pd.DataFrame({"opp_id": ["1"], "stage": ["B"], "status": ["open"],
    ...     "created_date": pd.to_datetime(["2026-01-01"]),
    ...     "close_date": pd.to_datetime(["2026-03-01"])})
    >>> hist = pd.DataFrame({"opp_id": ["1", "1"], "stage": ["A", "B"],
    ...     "entered_date": pd.to_datetime(["2026-01-01", "2026-01-11"])})
    >>> stage_stays(opps, hist, config=cfg, as_of="2026-01-15")[["stage", "days", "completed"]]
      stage  days  completed
    0     A  10.0       True
    1     B   4.0      False
    """
    require_columns(opportunities, ["opp_id", "status", "close_date"], "opportunities")
    as_of = (
        pd.Timestamp(as_of)
        if as_of is not None
        else infer_as_of(opportunities, stage_history, config)
    )
    s = _stays(opportunities, stage_history, config, as_of)
    stages = np.array(config.stages, dtype=object)
    exit_date = pd.to_datetime(np.where(s["exit"] == NEVER, np.iinfo(np.int64).min, s["exit"]))
    return pd.DataFrame(
        {
            "opp_id": opportunities["opp_id"].to_numpy()[s["pos"].to_numpy()],
            "stage": stages[s["rank"].to_numpy()],
            "days": s["days"].astype("float64"),
            "completed": s["completed"].astype(bool),
            "entered_date": pd.to_datetime(s["entered"]),
            "exit_date": exit_date,
        }
    ).astype({"opp_id": "string", "stage": "string"})


def _quantile_table(values: pd.Series, keys: list, names: list[str]) -> pd.DataFrame:
    grouped = values.groupby(keys, sort=True)
    out = grouped.size().rename("deals").to_frame()
    for name, q in _QUANTILES.items():
        out[name] = grouped.quantile(q)
    out.index = out.index.set_names(names)
    return out


@per_pipeline
def time_in_stage(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame,
    *,
    config: DatasetConfig,
    by: str | Sequence[str] | None = None,
    reps: pd.DataFrame | None = None,
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Distribution of completed days in each open stage, per group.

    Returns
    -------
    DataFrame with the group columns, then ``stage`` (open stages in funnel order), ``deals``
    (opportunities with completed days in the stage), ``median_days``, ``p75_days``,
    ``p90_days`` (quantiles of completed days in stage, linear interpolation), ``in_stage_now``
    (open deals currently in the stage). Every open stage appears for every group; the
    quantiles are empty where no deal completed the stage.

    Examples
    --------
    >>> cfg = DatasetConfig(("A", "B"), "Won", "Lost")
    >>> opps = pd.DataFrame({"opp_id": ["1", "2"], "stage": ["Won", "B"],
    ...     "status": ["won", "open"],
    ...     "created_date": pd.to_datetime(["2026-01-01", "2026-01-01"]),
    ...     "close_date": pd.to_datetime(["2026-01-31", "2026-03-01"])})
    >>> hist = pd.DataFrame({"opp_id": ["1", "1", "2", "2"], "stage": ["A", "B", "A", "B"],
    ...     "entered_date": pd.to_datetime(["2026-01-01", "2026-01-11", "2026-01-01",
    ...                                     "2026-01-05"])})
    >>> time_in_stage(opps, hist, config=cfg, as_of="2026-02-01")[
    ...     ["stage", "deals", "median_days", "in_stage_now"]]
      stage  deals  median_days  in_stage_now
    0     A      2          7.0             0
    1     B      1         20.0             1
    """
    cols = group_list(by)
    opps = with_rep_columns(opportunities, reps, cols)
    as_of = pd.Timestamp(as_of) if as_of is not None else infer_as_of(opps, stage_history, config)
    codes, groups = group_codes(opps, cols, rep_groups(reps, cols))
    s = _stays(opps, stage_history, config, as_of)
    s["code"] = codes[s["pos"].to_numpy()]
    done = s[s["completed"]]
    stats = _quantile_table(done["days"], [done["code"], done["rank"]], ["code", "rank"])
    now = s[~s["completed"]].groupby(["code", "rank"]).size().rename("in_stage_now")
    grid = pd.MultiIndex.from_product(
        [range(len(groups)), range(len(config.open_stages))], names=["code", "rank"]
    )
    out = stats.reindex(grid).join(now.reindex(grid)).reset_index()
    out["deals"] = out["deals"].fillna(0).astype("int64")
    out["in_stage_now"] = out["in_stage_now"].fillna(0).astype("int64")
    out["stage"] = pd.array(np.array(config.open_stages, dtype=object)[out["rank"]], dtype="string")
    for c in cols:
        out[c] = groups[c].to_numpy()[out["code"]]
    return out[[*cols, "stage", "deals", *_QUANTILES, "in_stage_now"]]


def sales_cycle(
    opportunities: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    reps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Sales-cycle length (close_date - created_date, days) of closed deals, per group.

    Returns
    -------
    DataFrame with the group columns, then ``outcome`` ("won", then "won_or_lost"), ``deals``,
    ``mean_days``, ``median_days``, ``p75_days``, ``p90_days``.

    Examples
    --------
    >>> opps = pd.DataFrame({"opp_id": ["1", "2", "3"], "status": ["won", "lost", "won"],
    ...     "created_date": pd.to_datetime(["2026-01-01"] * 3),
    ...     "close_date": pd.to_datetime(["2026-01-11", "2026-01-04", "2026-01-31"])})
    >>> sales_cycle(opps)[["outcome", "deals", "mean_days", "median_days"]]
           outcome  deals  mean_days  median_days
    0          won      2  20.000000         20.0
    1  won_or_lost      3  14.333333         10.0
    """
    cols = group_list(by)
    require_columns(opportunities, ["status", "created_date", "close_date"], "opportunities")
    opps = with_rep_columns(opportunities, reps, cols)
    closed = opps[opps["status"].isin(["won", "lost"]) & opps["close_date"].notna()]
    days = (closed["close_date"] - closed["created_date"]).dt.days.astype("float64")
    frames = []
    for outcome, mask in [
        ("won", closed["status"] == "won"),
        ("won_or_lost", closed["status"].notna()),
    ]:
        sub, d = closed[mask], days[mask]
        keys = [sub[c] for c in cols] if cols else [np.zeros(len(sub), dtype=int)]
        g = d.groupby(keys, dropna=False, sort=True)
        part = pd.DataFrame({"deals": g.size(), "mean_days": g.mean()})
        for name, q in _QUANTILES.items():
            part[name] = g.quantile(q)
        part = part.reset_index(drop=not cols)
        if not cols:
            part = part.reset_index(drop=True)
        part.insert(len(cols), "outcome", outcome)
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values([*cols, "outcome"], kind="stable").reset_index(drop=True)
    out["deals"] = out["deals"].astype("int64")
    return out[[*cols, "outcome", "deals", "mean_days", *_QUANTILES]]


def days_in_pipeline(
    opportunities: pd.DataFrame,
    *,
    as_of: pd.Timestamp | str | None = None,
    by: str | Sequence[str] | None = None,
    reps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Age of the open deals (as_of - created_date, days), per group.

    Returns
    -------
    DataFrame with the group columns, then ``open_deals``, ``median_days``, ``p75_days``,
    ``p90_days``, ``max_days``.

    Examples
    --------
    >>> opps = pd.DataFrame({"opp_id": ["1", "2"], "status": ["open", "open"],
    ...     "created_date": pd.to_datetime(["2026-01-01", "2026-01-21"]),
    ...     "close_date": pd.to_datetime(["2026-03-01", "2026-03-01"])})
    >>> days_in_pipeline(opps, as_of="2026-01-31")[["open_deals", "median_days", "max_days"]]
       open_deals  median_days  max_days
    0           2         20.0      30.0
    """
    cols = group_list(by)
    opps = with_rep_columns(opportunities, reps, cols)
    as_of = pd.Timestamp(as_of) if as_of is not None else infer_as_of(opps)
    open_ = opps[opps["status"] == "open"]
    days = (as_of - open_["created_date"]).dt.days.astype("float64")
    keys = [open_[c] for c in cols] if cols else [np.zeros(len(open_), dtype=int)]
    g = days.groupby(keys, dropna=False, sort=True)
    out = pd.DataFrame({"open_deals": g.size()})
    for name, q in _QUANTILES.items():
        out[name] = g.quantile(q)
    out["max_days"] = g.max()
    out = (
        out.reset_index(drop=not cols).reset_index(drop=True)
        if cols
        else out.reset_index(drop=True)
    )
    out["open_deals"] = out["open_deals"].astype("int64")
    return out[[*cols, "open_deals", *_QUANTILES, "max_days"]]


def _current(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame,
    config: DatasetConfig,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """The running stay of every open deal that has one (see :func:`current_stays`)."""
    s = _stays(opportunities, stage_history, config, as_of)
    now = s[~s["completed"]].sort_values("current_entered").drop_duplicates("pos", keep="last")
    pos = np.sort(now["pos"].to_numpy())
    now = now.set_index("pos").loc[pos]
    entered = pd.to_datetime(now["current_entered"].to_numpy())
    return pd.DataFrame(
        {
            "opp_id": opportunities["opp_id"].to_numpy()[pos],
            "rep_id": opportunities["rep_id"].to_numpy()[pos],
            "stage": np.array(config.stages, dtype=object)[now["rank"].to_numpy()],
            "amount": opportunities["amount"].to_numpy(dtype="float64")[pos],
            "entered_date": entered,
            "days_in_stage": ((as_of - entered) / pd.Timedelta(days=1)).to_numpy(dtype="float64"),
        }
    )


@per_pipeline
def current_stays(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame,
    *,
    config: DatasetConfig,
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """How long each open deal has been in its current stage.

    The current stay starts at the deal's last entry into the stage it is in (a deal that came
    back to a stage starts a new stay). Open deals without a stage history entry are left out:
    their time in stage is unknown.

    Returns
    -------
    DataFrame ``opp_id``, ``rep_id``, ``stage``, ``amount``, ``entered_date`` (start of the
    current stay), ``days_in_stage`` (as_of - entered_date, float), in the order of the
    opportunities.

    Examples
    --------
    >>> cfg = DatasetConfig(("A", "B"), "Won", "Lost")
    >>> opps = pd.DataFrame({"opp_id": ["1", "2"], "rep_id": ["r", "r"], "stage": ["B", "A"],
    ...     "status": ["open", "open"], "amount": [10.0, 20.0],
    ...     "created_date": pd.to_datetime(["2026-01-01", "2026-01-25"]),
    ...     "close_date": pd.to_datetime(["2026-03-01", "2026-03-01"])})
    >>> hist = pd.DataFrame({"opp_id": ["1", "1", "2"], "stage": ["A", "B", "A"],
    ...     "entered_date": pd.to_datetime(["2026-01-01", "2026-01-11", "2026-01-25"])})
    >>> current_stays(opps, hist, config=cfg, as_of="2026-01-31")[
    ...     ["opp_id", "stage", "days_in_stage"]]
      opp_id stage  days_in_stage
    0      1     B           20.0
    1      2     A            6.0
    """
    require_columns(opportunities, ["opp_id", "rep_id", "amount", "status"], "opportunities")
    as_of = (
        pd.Timestamp(as_of)
        if as_of is not None
        else infer_as_of(opportunities, stage_history, config)
    )
    out = _current(opportunities, stage_history, config, as_of)
    return out.astype({"opp_id": "string", "rep_id": "string", "stage": "string"}).reset_index(
        drop=True
    )


@per_pipeline
def stale_deals(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame,
    *,
    config: DatasetConfig,
    as_of: pd.Timestamp | str | None = None,
    thresholds: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Open deals sitting in their current stage longer than that stage's p90.

    Parameters
    ----------
    opportunities, stage_history, config : the data.
    as_of : reference date; None = inferred from the data.
    thresholds : output of :func:`time_in_stage` without grouping (``stage``, ``p90_days``) to
        use as the benchmark, e.g. the company's when listing one team's deals; None = computed
        from the data given.

    Returns
    -------
    DataFrame with columns ``opp_id``, ``rep_id``, ``stage``, ``amount``, ``entered_date``
    (start of the current stay), ``days_in_stage`` (as_of - entered_date), ``stage_p90_days``,
    ``days_over`` (days_in_stage - stage_p90_days), sorted by days_over, longest first.

    Examples
    --------
    >>> cfg = DatasetConfig(("A",), "Won", "Lost")
    >>> opps = pd.DataFrame({"opp_id": ["1", "2"], "rep_id": ["r", "r"], "stage": ["A", "A"],
    ...     "status": ["open", "open"], "amount": [10.0, 20.0],
    ...     "created_date": pd.to_datetime(["2026-01-01", "2026-01-25"]),
    ...     "close_date": pd.to_datetime(["2026-03-01", "2026-03-01"])})
    >>> hist = pd.DataFrame({"opp_id": ["1", "2"], "stage": ["A", "A"],
    ...     "entered_date": pd.to_datetime(["2026-01-01", "2026-01-25"])})
    >>> p90 = pd.DataFrame({"stage": ["A"], "p90_days": [10.0]})
    >>> stale_deals(opps, hist, config=cfg, as_of="2026-01-31", thresholds=p90)[
    ...     ["opp_id", "days_in_stage", "days_over"]]
      opp_id  days_in_stage  days_over
    0      1           30.0       20.0
    """
    require_columns(opportunities, ["opp_id", "rep_id", "amount", "status"], "opportunities")
    as_of = (
        pd.Timestamp(as_of)
        if as_of is not None
        else infer_as_of(opportunities, stage_history, config)
    )
    if thresholds is None:
        thresholds = time_in_stage(opportunities, stage_history, config=config, as_of=as_of)
    p90 = thresholds.set_index("stage")["p90_days"]
    out = _current(opportunities, stage_history, config, as_of)
    out["stage_p90_days"] = out["stage"].astype(object).map(p90).to_numpy(dtype="float64")
    out["days_over"] = out["days_in_stage"] - out["stage_p90_days"]
    out = out[out["days_over"] > 0]
    out = out.sort_values(["days_over", "opp_id"], ascending=[False, True], kind="stable")
    return out.astype({"opp_id": "string", "rep_id": "string", "stage": "string"}).reset_index(
        drop=True
    )
