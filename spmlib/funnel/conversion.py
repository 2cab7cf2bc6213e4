"""Stage funnel, cohort and period views, group comparisons and shrunken rankings.

Definitions (per group and funnel stage; the funnel stages are the open stages of
``dataset.yml`` in order, then the won stage; how far each deal went is decided by
:mod:`spmlib.core.codes`: skipped stages count as passed, a move backwards does not un-reach a
stage, so each deal is counted at its **furthest** stage):

- ``reached``: opportunities that reached the stage (entered it or any later stage).
  For the won row, reached = won deals.
- ``advanced``: opportunities that left the stage for a later stage (or won), i.e. reached the
  next stage.
- ``lost``: lost opportunities whose furthest stage is this stage (lost at it).
- ``open``: opportunities still open whose furthest stage is this stage. So for every open
  stage, reached = advanced + lost + open.
- ``conversion`` = advanced / (advanced + lost): the next-step conversion over the deals that
  left the stage (open deals, whose outcome is unknown, are left out), with its Wilson 95%
  interval ``conversion_low`` / ``conversion_high``. Empty for the won row.
- ``cumulative_conversion`` = closed deals that reached the stage / closed deals (every closed
  deal reached the first stage): the share of *matured* (won or lost) deals that got this far.
  On the won row it is the win rate won / (won + lost). Wilson interval in
  ``cumulative_conversion_low`` / ``_high``.
- ``median_days_in_stage``: median completed days in the stage (:mod:`spmlib.funnel.velocity`).
- ``losses_known``: False when there is no stage history: then only the current stage of open
  deals and the won stage are known, lost deals count in the win rate only (the won row's
  cumulative conversion), and lost, conversion and cumulative conversion of the open stages are
  empty because stage-level losses are unknown.

**Period view** (``start`` and/or ``end`` given): only transitions dated in [start, end] count:
reached = deals that reached the stage in the range, advanced = deals that reached the next
stage in the range, lost = deals lost at the stage with close_date in the range, open = deals
open at the end of the range whose furthest stage by then is this stage, closed deals =
won or lost in the range. Without dates, everything up to the reference date counts (the
all-time view). **Cohort view**: the all-time view per created month or quarter, with the share
of each cohort still open so that immature recent cohorts are visible.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spmlib.core.benchmark import MIN_OTHER_REPS, team_benchmark
from spmlib.core.codes import NEVER, positions, require_columns
from spmlib.core.grouping import group_codes, group_list, rep_groups, with_rep_columns
from spmlib.core.periods import period_kind, period_label, period_start
from spmlib.core.pipelines import per_pipeline
from spmlib.core.ranges import day_range, parse_day
from spmlib.core.stats import compare_to_rest, rate_table, shrink_rates
from spmlib.funnel.progress import deal_progress, infer_as_of
from spmlib.funnel.velocity import _stays
from spmlib.io.schema import DatasetConfig

__all__ = [
    "FUNNEL_COLUMNS",
    "FunnelCounts",
    "funnel_table",
    "stage_funnel",
    "cohort_funnel",
    "compare_stages",
    "win_rates",
    "peer_benchmark",
]

log = logging.getLogger(__name__)

#: The measure columns of :func:`stage_funnel`, after the group columns.
FUNNEL_COLUMNS = [
    "stage",
    "reached",
    "advanced",
    "lost",
    "open",
    "conversion",
    "conversion_low",
    "conversion_high",
    "cumulative_conversion",
    "cumulative_conversion_low",
    "cumulative_conversion_high",
    "median_days_in_stage",
    "losses_known",
]


def _funnel_core(
    opps: pd.DataFrame,
    stage_history: pd.DataFrame | None,
    config: DatasetConfig,
    cols: list[str],
    extra: pd.DataFrame | None,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    hist_pos = None
    if stage_history is not None and not stage_history.empty:
        hist_pos = positions(stage_history["opp_id"], opps["opp_id"])
    prog = deal_progress(opps, stage_history, config=config, history_positions=hist_pos)
    codes, groups = group_codes(opps, cols, extra)
    n_groups, n_stages = len(groups), len(prog.stages)
    won = n_stages - 1
    f, reach = prog.furthest, prog.reach
    is_open, is_lost = prog.status == "open", prog.status == "lost"
    if start is None and end is None:
        reached = [f >= k for k in range(n_stages)]
        lost_in = is_lost
        open_at, f_at = is_open & (f >= 0), f
    else:
        lo = start.value if start is not None else np.iinfo(np.int64).min
        hi = end.value if end is not None else NEVER - 1

        def inside(x: np.ndarray) -> np.ndarray:
            return (x >= lo) & (x <= hi) & (x != NEVER)

        reached = [inside(reach[:, k]) for k in range(n_stages)]
        lost_in = is_lost & inside(prog.close)
        if end is None:
            open_at, f_at = is_open & (f >= 0), f
        else:
            f_at = (reach <= hi).sum(axis=1) - 1
            closed_by = (reach[:, won] <= hi) | (is_lost & (prog.close <= hi))
            open_at = (prog.created <= hi) & ~closed_by & (f_at >= 0)
    closed = reached[won] | lost_in

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask], minlength=n_groups).astype("int64")

    counts = FunnelCounts(
        stages=prog.stages,
        reached=np.column_stack([count(reached[k]) for k in range(n_stages)]),
        lost=np.column_stack([count(lost_in & (f == k)) for k in range(won)]),
        open=np.column_stack([count(open_at & (f_at == k)) for k in range(won)]),
        closed_reached=np.column_stack(
            [count(closed & (f >= k)) for k in range(won)] + [count(reached[won])]
        ),
        closed=count(closed),
        median_days=_median_days(
            opps, stage_history, config, codes, n_groups, start, end, as_of, hist_pos
        ),
        losses_known=prog.losses_known,
    )
    return funnel_table(groups, cols, counts)


@dataclass(frozen=True)
class FunnelCounts:
    """The counts behind a funnel, per group (rows) and funnel stage (columns): what an engine
    aggregates (:mod:`spmlib.funnel.reach`) and :func:`funnel_table` turns into rates.

    Attributes
    ----------
    stages : the funnel stages (open stages in order, then the won stage).
    reached : (groups, stages) deals that reached each stage (in the period, for a period view).
    lost, open : (groups, open stages) deals lost at / still open at each open stage.
    closed_reached : (groups, stages) closed deals that reached each stage.
    closed : (groups,) closed deals.
    median_days : (groups, open stages) median completed days in stage (NaN when none).
    losses_known : False without stage history.
    """

    stages: tuple[str, ...]
    reached: np.ndarray
    lost: np.ndarray
    open: np.ndarray
    closed_reached: np.ndarray
    closed: np.ndarray
    median_days: np.ndarray
    losses_known: bool


def funnel_table(groups: pd.DataFrame, cols: list[str], counts: FunnelCounts) -> pd.DataFrame:
    """The funnel table of :func:`stage_funnel` from its counts: group row ``i`` of ``groups``
    is row ``i`` of every count array."""
    n_groups, n_stages = len(groups), len(counts.stages)
    won = n_stages - 1
    frames = []
    for k, stage in enumerate(counts.stages):
        part = pd.DataFrame({"stage": stage, "reached": counts.reached[:, k]})
        if k < won:
            part["advanced"] = counts.reached[:, k + 1]
            part["lost"] = counts.lost[:, k]
            part["open"] = counts.open[:, k]
        else:
            part["advanced"] = part["lost"] = part["open"] = 0
        part["closed_reached"] = counts.closed_reached[:, k]
        part["closed"] = counts.closed
        part["median_days_in_stage"] = counts.median_days[:, k] if k < won else np.nan
        part["_code"] = np.arange(n_groups)
        part["_rank"] = k
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    out["exits"] = out["advanced"] + out["lost"]
    out = rate_table(out, "advanced", "exits", "conversion")
    out = rate_table(out, "closed_reached", "closed", "cumulative_conversion")
    not_won = out["_rank"] < won
    if not counts.losses_known:
        for c in ("lost", "conversion", "conversion_low", "conversion_high"):
            out.loc[not_won, c] = np.nan
        for c in (
            "cumulative_conversion",
            "cumulative_conversion_low",
            "cumulative_conversion_high",
        ):
            out.loc[not_won, c] = np.nan
    for c in ("advanced", "lost", "open"):
        out[c] = out[c].astype("Int64")
        out.loc[~not_won, c] = pd.NA
    for c in ("conversion", "conversion_low", "conversion_high"):
        out.loc[~not_won, c] = np.nan
    if not counts.losses_known:
        out.loc[not_won, "lost"] = pd.NA
    out["reached"] = out["reached"].astype("Int64")
    out["losses_known"] = counts.losses_known
    out["stage"] = out["stage"].astype("string")
    out = out.sort_values(["_code", "_rank"], kind="stable").reset_index(drop=True)
    for c in cols:
        out.insert(cols.index(c), c, groups[c].to_numpy()[out["_code"].to_numpy()])
    return out[[*cols, *FUNNEL_COLUMNS]]


def _median_days(
    opps, stage_history, config, codes, n_groups, start, end, as_of, hist_pos=None
) -> np.ndarray:
    n_open = len(config.open_stages)
    result = np.full((n_groups, n_open), np.nan)
    if stage_history is None or stage_history.empty:
        return result
    s = _stays(opps, stage_history, config, as_of, hist_pos)
    s = s[s["completed"]]
    if start is not None:
        s = s[s["exit"] >= start.value]
    if end is not None:
        s = s[s["exit"] <= end.value]
    if s.empty:
        return result
    med = s["days"].groupby([codes[s["pos"].to_numpy()], s["rank"].to_numpy()]).median()
    gi, ri = (np.asarray(v) for v in zip(*med.index, strict=True))
    result[gi, ri] = med.to_numpy()
    return result


@per_pipeline
def stage_funnel(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None = None,
    *,
    config: DatasetConfig,
    by: str | Sequence[str] | None = None,
    reps: pd.DataFrame | None = None,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """The stage funnel per group: all-time, or the transitions of a period.

    Parameters
    ----------
    opportunities : opp_id, rep_id, stage, status, created_date, close_date (+ group columns).
    stage_history : opp_id, stage, entered_date; None or empty = no stage history.
    config : stage names and order (``Dataset.config``).
    by : group column(s) or alias ("rep" = rep_id, rep_name; "all"/None = one group). Columns
        of ``reps`` (team, manager, region) are joined on rep_id.
    reps : the reps table; needed for rep columns. When every group column is a reps column,
        every group of ``reps`` appears, with zero counts if it has no deals.
    start, end : inclusive date range of the period view; both None = all-time view.
    as_of : reference date for running stays; None = ``config.as_of`` or the latest date.

    Returns
    -------
    DataFrame with the group columns, then ``stage``, ``reached``, ``advanced``, ``lost``,
    ``open`` (nullable Int64; empty on the won row), ``conversion``, ``conversion_low``,
    ``conversion_high``, ``cumulative_conversion``, ``cumulative_conversion_low``,
    ``cumulative_conversion_high``, ``median_days_in_stage`` (floats) and ``losses_known``
    (bool); one row per group and funnel stage, stages in funnel order, won last. Definitions:
    the module docstring.

    Examples
    --------
    Three deals through stages A -> B: one won, one lost at B, one open in A.

    >>> cfg = DatasetConfig(("A", "B"), "Won", "Lost")
    >>> day = pd.Timestamp("2026-01-01")
    >>> opps = pd.DataFrame({"opp_id": ["1", "2", "3"], "rep_id": ["r"] * 3,
    ...     "stage": ["Won", "Lost", "A"], "status": ["won", "lost", "open"],
    ...     "created_date": [day] * 3, "close_date": [day + pd.Timedelta(days=20)] * 3})
    >>> hist = pd.DataFrame({"opp_id": ["1", "1", "2", "2", "3"],
    ...     "stage": ["A", "B", "A", "B", "A"],
    ...     "entered_date": [day, day + pd.Timedelta(days=4), day, day + pd.Timedelta(days=6),
    ...                      day]})
    >>> f = stage_funnel(opps, hist, config=cfg)
    >>> f[["stage", "reached", "advanced", "lost", "open", "conversion", "cumulative_conversion"]]
      stage  reached  advanced  lost  open  conversion  cumulative_conversion
    0     A        3         2     0     1         1.0                    1.0
    1     B        2         1     1     0         0.5                    1.0
    2   Won        1     <NA>  <NA>  <NA>         NaN                    0.5
    """
    cols = group_list(by)
    require_columns(
        opportunities, ["opp_id", "stage", "status", "created_date", "close_date"], "opportunities"
    )
    start, end = day_range(start, end)
    opps = with_rep_columns(opportunities, reps, cols)
    as_of = parse_day(as_of) or infer_as_of(opps, stage_history, config)
    return _funnel_core(
        opps, stage_history, config, cols, rep_groups(reps, cols), start, end, as_of
    )


@per_pipeline
def cohort_funnel(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None = None,
    *,
    config: DatasetConfig,
    by: str | Sequence[str] | None = None,
    reps: pd.DataFrame | None = None,
    freq: str = "month",
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """The all-time funnel per cohort of opportunities created in the same month or quarter.

    Parameters
    ----------
    freq : "month" (calendar) or "quarter" (fiscal, from ``config.fiscal_year_start_month``).
    Others as :func:`stage_funnel`.

    Returns
    -------
    DataFrame with the group columns, then ``cohort`` (label such as 2026-03 or FY2026-Q2),
    ``cohort_start`` (first day), ``deals`` (opportunities created in the cohort),
    ``share_open`` (share of them still open: high for recent, immature cohorts), then the
    columns of :func:`stage_funnel` from ``stage`` on. Cohorts in time order.

    Examples
    --------
    >>> cfg = DatasetConfig(("A",), "Won", "Lost")
    >>> opps = pd.DataFrame({"opp_id": ["1", "2", "3"], "rep_id": ["r"] * 3,
    ...     "stage": ["Won", "Lost", "A"], "status": ["won", "lost", "open"],
    ...     "created_date": pd.to_datetime(["2026-01-05", "2026-01-20", "2026-02-03"]),
    ...     "close_date": pd.to_datetime(["2026-02-01", "2026-02-01", "2026-04-01"])})
    >>> out = cohort_funnel(opps, config=cfg)
    >>> out[out["stage"] == "Won"][["cohort", "deals", "share_open", "cumulative_conversion"]]
        cohort  deals  share_open  cumulative_conversion
    1  2026-01      2         0.0                    0.5
    3  2026-02      1         1.0                    NaN
    """
    freq = period_kind(freq, ("month", "quarter")).name
    cols = group_list(by)
    require_columns(
        opportunities, ["opp_id", "stage", "status", "created_date", "close_date"], "opportunities"
    )
    opps = with_rep_columns(opportunities, reps, cols)
    opps = opps[opps["created_date"].notna()].reset_index(drop=True)
    opps["cohort_start"] = period_start(
        opps["created_date"], freq, config.fiscal_year_start_month
    ).to_numpy()
    as_of = parse_day(as_of) or infer_as_of(opps, stage_history, config)
    keys = [*cols, "cohort_start"]
    out = _funnel_core(opps, stage_history, config, keys, None, None, None, as_of)
    counts = opps[keys].copy()
    counts["deals"] = 1
    counts["_open"] = (opps["status"] == "open").to_numpy(dtype="int64")
    sizes = counts.groupby(keys, dropna=False)[["deals", "_open"]].sum()
    sizes["share_open"] = sizes.pop("_open").astype("float64") / sizes["deals"]
    out = out.merge(sizes.reset_index(), on=keys, how="left")
    out["deals"] = out["deals"].astype("int64")
    out["cohort"] = period_label(out["cohort_start"], freq, config.fiscal_year_start_month).astype(
        "string"
    )
    return out[[*cols, "cohort", "cohort_start", "deals", "share_open", *FUNNEL_COLUMNS]]


def _compare(
    counts: pd.DataFrame,
    successes: str,
    trials: str,
    rate: str,
    within: list[str],
    parent: list[str],
    method: str,
) -> pd.DataFrame:
    """Wilson interval, test against the rest of the parent, shrinkage and rank, per ``within``."""
    frames = []
    grouped = counts.groupby(within, sort=False) if within else [(None, counts)]
    for _, part in grouped:
        part = rate_table(part, successes, trials, rate)
        by_parent = parent[0] if len(parent) == 1 else (list(parent) or None)
        part = compare_to_rest(part, successes, trials, parent=by_parent, method=method)
        part = shrink_rates(part, successes, trials, rate)
        part["rank"] = (
            part[f"{rate}_shrunk"].where(part[trials] > 0).rank(ascending=False, method="min")
        ).astype("Int64")
        frames.append(part)
    if not frames:  # nothing to compare: same columns, no rows
        out = counts.copy()
        floats = [rate, f"{rate}_low", f"{rate}_high", "rest_rate", "p_value", "p_adjusted"]
        floats += [f"{rate}_shrunk", f"{rate}_shrunk_low", f"{rate}_shrunk_high"]
        for col in floats:
            out[col] = pd.Series(dtype="float64")
        out["significant"] = pd.Series(dtype=bool)
        out["direction"] = pd.Series(dtype="object")
        out["rank"] = pd.Series(dtype="Int64")
        return out
    return pd.concat(frames, ignore_index=True)


def compare_stages(
    funnel: pd.DataFrame, parent: str | Sequence[str] | None = None, method: str = "holm"
) -> pd.DataFrame:
    """Each group's next-step conversion against the rest of its parent, with shrinkage.

    Parameters
    ----------
    funnel : output of :func:`stage_funnel` grouped by the parent columns and the group columns
        (e.g. ``by=["team", "rep"]`` to compare reps within their team).
    parent : the parent column(s) (e.g. "team"); None compares each group with all others.
    method : multiple-testing correction (statsmodels ``multipletests``), applied over the
        groups of each parent and stage.

    Returns
    -------
    DataFrame, one row per group and open stage (stages where losses are known), with the group
    columns, ``stage``, ``advanced``, ``exits`` (advanced + lost), ``conversion``,
    ``conversion_low``, ``conversion_high`` (Wilson 95%), ``rest_rate`` (pooled conversion of
    the other groups of the parent), ``p_value`` (two-proportion z-test, Fisher's exact test for
    small counts), ``p_adjusted``, ``significant``, ``direction`` ("above", "below" or ""),
    ``conversion_shrunk``, ``conversion_shrunk_low``, ``conversion_shrunk_high`` (empirical-Bayes
    beta-binomial posterior mean and 95% interval, prior fitted over the groups of each stage)
    and ``rank`` (1 = highest shrunken conversion within the stage; rankings always use the
    shrunken rate, so 2 out of 2 never tops a ranking).
    """
    parent_cols = group_list(parent)
    group_cols = [c for c in funnel.columns if c not in FUNNEL_COLUMNS]
    data = funnel[funnel["conversion"].notna() | funnel["lost"].notna()].copy()
    data = data[data["advanced"].notna()]
    data["advanced"] = data["advanced"].astype("int64")
    data["exits"] = data["advanced"] + data["lost"].astype("int64")
    data = data[[*group_cols, "stage", "advanced", "exits"]]
    out = _compare(data, "advanced", "exits", "conversion", ["stage"], parent_cols, method)
    cols = [*group_cols, "stage", "advanced", "exits", "conversion", "conversion_low"]
    cols += ["conversion_high", "rest_rate", "p_value", "p_adjusted", "significant", "direction"]
    cols += ["conversion_shrunk", "conversion_shrunk_low", "conversion_shrunk_high", "rank"]
    return out[cols]


def win_rates(
    opportunities: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = "rep",
    reps: pd.DataFrame | None = None,
    parent: str | Sequence[str] | None = None,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    method: str = "holm",
) -> pd.DataFrame:
    """Win rate per group with interval, test against the rest of the parent, and shrinkage.

    ``won`` / ``lost`` count deals closed (close_date) in [start, end] (all when None);
    ``win_rate`` = won / (won + lost).

    Returns
    -------
    DataFrame with the parent columns, the group columns, ``won``, ``lost``, ``closed``,
    ``win_rate``, ``win_rate_low``, ``win_rate_high`` (Wilson 95%), ``rest_rate``, ``p_value``,
    ``p_adjusted``, ``significant``, ``direction``, ``win_rate_shrunk``, ``win_rate_shrunk_low``,
    ``win_rate_shrunk_high`` (empirical-Bayes, prior fitted over all groups) and ``rank``
    (1 = highest shrunken win rate). Groups of ``reps`` with no closed deal appear with zeros.

    Examples
    --------
    >>> opps = pd.DataFrame({"rep_id": ["a", "a", "b", "b", "b"],
    ...     "status": ["won", "won", "won", "lost", "won"],
    ...     "close_date": pd.to_datetime(["2026-01-01"] * 5)})
    >>> win_rates(opps, by="rep_id")[["rep_id", "won", "lost", "win_rate"]].round(3)
      rep_id  won  lost  win_rate
    0      a    2     0     1.000
    1      b    2     1     0.667
    """
    parent_cols = group_list(parent)
    cols = [c for c in group_list(by) if c not in parent_cols]
    keys = [*parent_cols, *cols]
    require_columns(opportunities, ["rep_id", "status", "close_date"], "opportunities")
    opps = with_rep_columns(opportunities, reps, keys)
    lo, hi = parse_day(start), parse_day(end)
    closed = opps["status"].isin(["won", "lost"]) & opps["close_date"].notna()
    if lo is not None:
        closed &= opps["close_date"] >= lo
    if hi is not None:
        closed &= opps["close_date"] <= hi
    opps = opps[closed]
    codes, groups = group_codes(opps, keys, rep_groups(reps, keys))
    won = np.bincount(codes[(opps["status"] == "won").to_numpy()], minlength=len(groups))
    lost = np.bincount(codes[(opps["status"] == "lost").to_numpy()], minlength=len(groups))
    counts = groups.reset_index(drop=True).copy()
    counts["won"], counts["lost"] = won.astype("int64"), lost.astype("int64")
    counts["closed"] = counts["won"] + counts["lost"]
    out = _compare(counts, "won", "closed", "win_rate", [], parent_cols, method)
    rest = ["rest_rate", "p_value", "p_adjusted", "significant", "direction"]
    shr = ["win_rate_shrunk", "win_rate_shrunk_low", "win_rate_shrunk_high", "rank"]
    base = ["won", "lost", "closed", "win_rate", "win_rate_low", "win_rate_high"]
    return out[[*keys, *base, *rest, *shr]]


def peer_benchmark(
    funnel: pd.DataFrame,
    rep_id: str,
    value: str = "conversion",
    min_trials: int = 1,
    minimum: int = MIN_OTHER_REPS,
) -> pd.DataFrame:
    """A rep's funnel rate per stage beside the other reps of the team, by the rule that never
    reveals a colleague (:mod:`spmlib.core.benchmark`): the other reps' median rounded to two
    significant figures and the rep's band, only over at least ``minimum`` other reps.

    Parameters
    ----------
    funnel : output of :func:`stage_funnel` by rep (a ``rep_id`` column) over the rep's team.
    rep_id : the rep.
    value : "conversion" (open stages) or "cumulative_conversion" (every stage; the won row
        is the win rate).
    min_trials : leave out reps with fewer deals behind the rate (exits for conversion,
        reached for cumulative conversion), whose rate is mostly noise.
    minimum : fewest other reps with a rate for a benchmark to be shown.

    Returns
    -------
    DataFrame ``stage``, ``others`` (other reps with a rate), ``team_median`` and ``band``
    (empty when fewer than ``minimum``), ``benchmark_note`` (why there is none, else empty): no
    other rep's name or exact figure.

    Examples
    --------
    >>> f = pd.DataFrame({"rep_id": list("abcdef"), "stage": ["A"] * 6,
    ...     "advanced": [1, 3, 5, 2, 2, 4], "lost": [1, 1, 0, 2, 1, 1],
    ...     "conversion": [0.5, 0.75, 1.0, 0.5, 0.667, 0.8]})
    >>> peer_benchmark(f, "c")[["stage", "others", "team_median", "band"]]
      stage  others  team_median         band
    0     A       5         0.67  top quarter
    >>> peer_benchmark(f.head(3), "c")["benchmark_note"].str[:30].tolist()
    ['No team benchmark: only 2 othe']
    """
    if value == "conversion":
        trials = funnel["advanced"].astype("Float64") + funnel["lost"].astype("Float64")
    else:
        trials = funnel["reached"].astype("Float64")
    usable = (trials.fillna(0) >= min_trials).to_numpy() & funnel[value].notna().to_numpy()
    mine = (funnel["rep_id"].astype(str) == str(rep_id)).to_numpy()
    rows = []
    for stage in dict.fromkeys(funnel["stage"]):
        at = (funnel["stage"] == stage).to_numpy()
        own = funnel.loc[at & mine, value]
        own_value = float(own.iloc[0]) if len(own) and pd.notna(own.iloc[0]) else float("nan")
        others = funnel.loc[at & ~mine & usable, value].astype(float).tolist()
        mark = team_benchmark(own_value, others, minimum=minimum)
        rows.append(
            {
                "stage": stage,
                "others": mark.others,
                "team_median": np.nan if mark.median is None else mark.median,
                "band": mark.band,
                "benchmark_note": mark.reason,
            }
        )
    out = pd.DataFrame(rows, columns=["stage", "others", "team_median", "band", "benchmark_note"])
    out["others"] = out["others"].astype("int64")
    out["team_median"] = out["team_median"].astype("float64")
    for c in ("stage", "band", "benchmark_note"):
        out[c] = out[c].astype("string")
    return out
