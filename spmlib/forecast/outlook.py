"""The quarter outlook ("this quarter", for every report and ``spm outlook``), and how well
calibrated it has been.

:func:`quarter_outlook` is the one figure for this quarter: for the company, each team or each
rep, what is booked so far against quota and pace, the range of quarter-end bookings from the
pipeline Monte Carlo (:func:`spmlib.forecast.pipeline.simulate_bookings`), the chance of
reaching quota, the open pipeline due against what is left to book, and how often the
outlook's 80% range held the actual in past quarters. :data:`OUTLOOK_METHOD` says how it is
made; the brief, the forecast report and ``spm outlook`` quote it.

:func:`outlook_replay` re-runs :func:`spmlib.forecast.pipeline.pipeline_forecast` on day 30 and
day 60 (by default) of every past period the data allows, with only what was known that day,
for the company and every team at once, and sets each range against the period's actual
bookings. :func:`outlook_calibration` summarizes it per scope:

- ``coverage_50`` / ``coverage_80``: share of replays whose actual fell inside P25-P75 / P10-P90
  (a calibrated outlook holds about 50% / 80%; the 80% range is acceptable within 75-85%);
- ``brier``: mean of (p_quota - reached)^2 over replays with a quota, ``reached`` = 1 when the
  actual bookings reached the quota (0 = perfect, lower is better);
- ``brier_base``: the same score for a constant forecast equal to the base rate (the share of
  those replays that reached quota), the reference a useful chance of quota must beat;
- ``brier_skill``: 1 - brier / brier_base (above 0: better than the base rate).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spmlib.core.grouping import group_columns, grouping_name
from spmlib.core.periods import period_end, period_frame, period_start
from spmlib.core.stats import wilson_interval
from spmlib.exceptions import ParameterError, UnknownNameError
from spmlib.forecast.pipeline import _quota, pipeline_forecast, simulate_bookings
from spmlib.forecast.series import FREQS, normalize_freq
from spmlib.io.as_of import dataset_as_of
from spmlib.io.schema import Dataset

__all__ = [
    "REPLAY_DAYS",
    "REPLAY_COLUMNS",
    "OUTLOOK_BY",
    "COVERAGE_TARGET",
    "OUTLOOK_METHOD",
    "OUTLOOK_COLUMNS",
    "outlook_replay",
    "outlook_calibration",
    "quarter_outlook",
]

log = logging.getLogger(__name__)

#: Days into the period at which the outlook is replayed.
REPLAY_DAYS = (30, 60)
REPLAY_COLUMNS = [
    "level",
    "team",
    "period",
    "day",
    "as_of",
    "actual",
    "p10",
    "p25",
    "p50",
    "p75",
    "p90",
    "quota",
    "p_quota",
    "reached",
    "inside_50",
    "inside_80",
]


def outlook_replay(
    ds: Dataset,
    freq: str = "Q",
    days: tuple[int, ...] = REPLAY_DAYS,
    n_sims: int = 2000,
    seed: int = 0,
    min_history: int = 2,
) -> pd.DataFrame:
    """Replay the outlook for the company and each team on each ``day`` of each past period.

    Parameters
    ----------
    ds : the dataset (scope it first to replay one team only).
    freq : ``"Q"`` (fiscal quarters) or ``"M"``.
    days : days into the period (day 1 = its first day) at which the outlook is made.
    n_sims, seed : of :func:`pipeline_forecast`.
    min_history : complete periods of history (counted from the period of the first closed
        deal: before it there is no outcome to learn from) needed before a period is replayed.

    Returns
    -------
    DataFrame with :data:`REPLAY_COLUMNS`: ``level`` (company, team), ``team`` (NA for the
    company), ``period`` (label), ``day``, ``as_of``, ``actual`` (won amount closed in the
    period), the outlook's ``p10`` .. ``p90``, ``quota`` and ``p_quota`` (NaN without quota),
    ``reached`` (actual >= quota; NA without quota), ``inside_50`` (P25 <= actual <= P75),
    ``inside_80`` (P10 <= actual <= P90). One row per scope, period and day.
    """
    code = normalize_freq(freq)
    fy = ds.config.fiscal_year_start_month
    opp = ds.opportunities
    closed = opp.loc[opp["status"] != "open", "close_date"]
    first = closed.min() if closed.notna().any() else ds.as_of  # no outcome before it to learn from
    months = pd.Series(pd.date_range(first.replace(day=1), ds.as_of, freq="MS"))
    starts = period_start(months, FREQS[code], fy).drop_duplicates().reset_index(drop=True)
    won = opp[opp["status"] == "won"].merge(ds.reps[["rep_id", "team"]], on="rep_id", how="left")
    rows = []
    for i, start in enumerate(starts):
        end = period_end(pd.Series([start]), FREQS[code]).iloc[0]
        if i < min_history or end > ds.as_of:
            continue
        inside = won[(won["close_date"] >= start) & (won["close_date"] <= end)]
        actual_team = inside.groupby("team")["amount"].sum()
        for day in days:
            when = start + pd.Timedelta(days=day - 1)
            if when >= end:
                continue
            f = pipeline_forecast(ds, when, code, n_sims, seed)
            f = f[f["level"].isin(["company", "team"])]
            for _, r in f.iterrows():
                team = r["team"]
                actual = (
                    float(inside["amount"].sum())
                    if r["level"] == "company"
                    else float(actual_team.get(team, 0.0))
                )
                rows.append(
                    {
                        "level": r["level"],
                        "team": team,
                        "period": r["period"],
                        "day": day,
                        "as_of": when,
                        "actual": actual,
                        **{p: r[p] for p in ("p10", "p25", "p50", "p75", "p90")},
                        "quota": r["quota"],
                        "p_quota": r["p_quota"],
                    }
                )
    out = pd.DataFrame(rows, columns=REPLAY_COLUMNS[:13])
    has_quota = out["quota"].notna() & (out["quota"] > 0)
    out["reached"] = pd.array(
        np.where(has_quota, out["actual"] >= out["quota"], pd.NA), dtype="boolean"
    )
    out["inside_50"] = (out["p25"] <= out["actual"]) & (out["actual"] <= out["p75"])
    out["inside_80"] = (out["p10"] <= out["actual"]) & (out["actual"] <= out["p90"])
    for c in ("level", "team", "period"):
        out[c] = out[c].astype("string")
    out["day"] = out["day"].astype(int)
    return out[REPLAY_COLUMNS]


def outlook_calibration(
    replay_or_ds: pd.DataFrame | Dataset,
    freq: str = "Q",
    days: tuple[int, ...] = REPLAY_DAYS,
    n_sims: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Coverage of the outlook's ranges and calibration of its chance of quota, per scope.

    Parameters
    ----------
    replay_or_ds : an :func:`outlook_replay` table, or a dataset to replay first (with
        ``freq``, ``days``, ``n_sims``, ``seed``).

    Returns
    -------
    DataFrame with ``level`` (company, team, or ``all`` for every replay together), ``team``,
    ``replays``, ``coverage_50``, ``coverage_80`` (module docstring), ``coverage_80_low`` /
    ``coverage_80_high`` (Wilson 95% interval of ``coverage_80``; replays of one scope on
    day 30 and day 60 of one period are not independent, so it is optimistic),
    ``quota_replays`` (replays with a quota), ``base_rate`` (share that reached it), ``brier``,
    ``brier_base`` and ``brier_skill``. The ``all`` row comes first, then the company, then the
    teams.

    Examples
    --------
    >>> r = pd.DataFrame({"level": ["team"] * 4, "team": ["A"] * 4,
    ...     "inside_50": [True, False, True, False], "inside_80": [True, True, True, False],
    ...     "p_quota": [0.9, 0.2, 0.6, float("nan")],
    ...     "reached": pd.array([True, False, False, pd.NA], dtype="boolean")})
    >>> c = outlook_calibration(r)
    >>> c.loc[1, ["replays", "coverage_50", "coverage_80", "base_rate", "brier", "brier_base"]]
    ...     # brier = (0.01 + 0.04 + 0.36) / 3; base rate 1/3: (4/9 + 1/9 + 1/9) / 3 = 2/9
    replays           4
    coverage_50     0.5
    coverage_80    0.75
    base_rate  0.333333
    brier      0.136667
    brier_base 0.222222
    Name: 1, dtype: object
    """
    if isinstance(replay_or_ds, Dataset):
        replay = outlook_replay(replay_or_ds, freq, days, n_sims, seed)
    else:
        replay = replay_or_ds
    parts = [("all", pd.NA, replay)]
    for (level, team), g in replay.groupby(["level", "team"], sort=False, dropna=False):
        parts.append((level, team, g))
    order = {"all": 0, "company": 1, "team": 2}
    parts.sort(key=lambda p: (order.get(p[0], 3), "" if pd.isna(p[1]) else str(p[1])))
    rows = []
    for level, team, g in parts:
        n = len(g)
        q = g[g["reached"].notna()] if n else g
        reached = q["reached"].astype(float).to_numpy()
        p = q["p_quota"].to_numpy(float)
        base = float(reached.mean()) if len(q) else np.nan
        brier = float(np.mean((p - reached) ** 2)) if len(q) else np.nan
        brier_base = float(np.mean((base - reached) ** 2)) if len(q) else np.nan
        inside = int(g["inside_80"].sum())
        low, high = wilson_interval(np.array([inside]), np.array([n]))
        rows.append(
            {
                "level": level,
                "team": team,
                "replays": n,
                "coverage_50": float(g["inside_50"].mean()) if n else np.nan,
                "coverage_80": inside / n if n else np.nan,
                "coverage_80_low": float(low[0]) if n else np.nan,
                "coverage_80_high": float(high[0]) if n else np.nan,
                "quota_replays": len(q),
                "base_rate": base,
                "brier": brier,
                "brier_base": brier_base,
                "brier_skill": 1 - brier / brier_base if brier_base and brier_base > 0 else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    out["level"] = out["level"].astype("string")
    out["team"] = out["team"].astype("string")
    return out


#: The groupings the outlook is given for.
OUTLOOK_BY = ("company", "team", "manager", "region", "rep")
#: The stated coverage target: open pipeline due this quarter over the quota still to book.
COVERAGE_TARGET = 3.0
#: How the outlook is made, in words (quoted by every report that shows it).
OUTLOOK_METHOD = (
    "This quarter is the fiscal quarter containing the reference date. Selling days are "
    "weekdays; pace is attainment divided by the share of selling days elapsed (100% = on "
    "track). P10/P50/P90 of quarter-end bookings and the chance of reaching quota come from "
    "a Monte Carlo of {n_sims:,} simulated quarters: what is booked so far, plus each open deal "
    "won with the rate at which past deals in the same stage and age in stage were won by "
    "their quarter's end, plus new deals at each rep's past run rate, with one shock per "
    "simulated quarter shared by all deals, and per team a lasting win factor and a shock of "
    "its own that move bookings between teams (all measured on past quarters). The measured 80% "
    "coverage is the share of past quarters in which the same outlook, replayed on day 30 and "
    "day 60 with only what was known then, held the actual bookings between P10 and P90. "
    "Coverage is the open pipeline expected to close in the quarter (including deals already "
    "past their close date in it) over the quota still to book, against a target of "
    "{target:g}×."
)
#: The columns of :func:`quarter_outlook` after the group columns.
OUTLOOK_COLUMNS = [
    "period",
    "period_start",
    "period_end",
    "as_of",
    "selling_days",
    "selling_days_elapsed",
    "elapsed",
    "booked",
    "quota",
    "attainment",
    "pace",
    "p10",
    "p50",
    "p90",
    "projected_attainment",
    "p_quota",
    "open_pipeline",
    "open_deals",
    "remaining_quota",
    "coverage",
    "coverage_target",
    "replay_coverage_80",
    "replays",
]


def _calibration_by_group(calibration: pd.DataFrame | None, by: str, groups: pd.DataFrame):
    """The measured 80% coverage and replay count of each group (company and teams only)."""
    nan = np.full(len(groups), np.nan), np.zeros(len(groups), dtype=int)
    if calibration is None or by not in ("company", "team"):
        return nan
    rows = calibration[calibration["level"] == by]
    if by == "company":
        if rows.empty:
            return nan
        return (np.full(len(groups), float(rows["coverage_80"].iloc[0])),
                np.full(len(groups), int(rows["replays"].iloc[0])))  # fmt: skip
    table = rows.set_index(rows["team"].astype(str))
    keys = groups["team"].astype(str)
    return (keys.map(table["coverage_80"]).to_numpy(float),
            keys.map(table["replays"]).fillna(0).to_numpy(int))  # fmt: skip


def quarter_outlook(
    ds: Dataset,
    by: str = "company",
    as_of: pd.Timestamp | str | None = None,
    n_sims: int = 5000,
    seed: int = 0,
    coverage_target: float = COVERAGE_TARGET,
    calibration: pd.DataFrame | bool | None = None,
) -> pd.DataFrame:
    """This quarter's outlook per group: bookings to date, quota, pace, the range of
    quarter-end bookings and the chance of reaching quota.

    Every group's figures come from one simulation of the whole dataset given (the groups sum
    the same simulated quarters), so the company, its teams and its reps agree with each other,
    whichever grouping is asked for: pass the whole dataset and pick a team's or a rep's row,
    rather than a scoped one, to get the same figure as everyone else.

    Parameters
    ----------
    ds : the dataset.
    by : ``company``, ``team``, ``manager``, ``region`` or ``rep`` (:data:`OUTLOOK_BY`).
    as_of : the reference date; None = ``ds.as_of``. An earlier day reads the data as it stood
        then (:func:`spmlib.io.as_of.dataset_as_of`).
    n_sims, seed : simulated quarters and the generator's seed (same seed, same numbers).
    coverage_target : the stated coverage target (:data:`COVERAGE_TARGET`).
    calibration : an :func:`outlook_calibration` table for the measured 80% coverage, True to
        replay it now (about 20 outlooks: tens of seconds on the sample), None or False for
        none (``replay_coverage_80`` empty).

    Returns
    -------
    DataFrame with the group columns of ``by`` (:func:`spmlib.core.grouping.group_columns`),
    then :data:`OUTLOOK_COLUMNS`:

    - ``period``, ``period_start``, ``period_end``: the fiscal quarter containing ``as_of``
      (:func:`spmlib.core.periods.period_frame`);
    - ``as_of``; ``selling_days`` (weekdays in the quarter), ``selling_days_elapsed`` (up to
      ``as_of``), ``elapsed`` (their ratio);
    - ``booked``: won amounts closed from the quarter's start to ``as_of``;
    - ``quota``: the quota rows inside the quarter (NaN without any); ``attainment`` = booked /
      quota; ``pace`` = attainment / elapsed (1 = on track; NaN before the first selling day);
    - ``p10``, ``p50``, ``p90``: percentiles of simulated quarter-end bookings;
      ``projected_attainment`` = p50 / quota; ``p_quota``: share of simulations reaching quota;
    - ``open_pipeline``, ``open_deals``: amount and count of open deals whose expected close
      date falls in the quarter (overdue ones of this quarter included; those overdue since an
      earlier quarter are not counted), as :func:`spmlib.funnel.pipeline.coverage` counts them;
    - ``remaining_quota`` = max(quota - booked, 0); ``coverage`` = open_pipeline /
      remaining_quota (NaN when nothing remains); ``coverage_target``;
    - ``replay_coverage_80``, ``replays``: share of past replays whose actual fell in P10-P90,
      and their number (company and team rows; NaN for others or without ``calibration``).

    On the quarter's last day nothing is left to simulate: P10 = P50 = P90 = booked.

    Notes
    -----
    How it is made: :data:`OUTLOOK_METHOD`. The simulation is
    :func:`spmlib.forecast.pipeline.simulate_bookings` (the pipeline forecast of the quarter:
    the same numbers as :func:`spmlib.forecast.pipeline.pipeline_forecast`'s rows).
    """
    name = grouping_name(by)
    if name not in OUTLOOK_BY:
        raise UnknownNameError("outlook grouping", str(by), list(OUTLOOK_BY))
    if as_of is not None:
        ds = dataset_as_of(ds, as_of)
    day = ds.as_of.normalize()
    frame = period_frame(day, "quarter", ds.config.fiscal_year_start_month)
    reps = ds.reps.reset_index(drop=True)
    cols = group_columns(name)
    missing = [c for c in cols if c not in reps.columns]
    if missing:
        raise ParameterError(
            f"the outlook by {name} needs the {missing[0]} column of the reps table, which this "
            "data does not have; use company, team or rep"
        )
    ids = reps["rep_id"].astype(str)
    opp = ds.opportunities
    won = opp[(opp["status"] == "won") & opp["close_date"].between(frame.start, day)]
    due = opp[(opp["status"] == "open") & opp["close_date"].between(frame.start, frame.end)]
    booked = ids.map(won.groupby(won["rep_id"].astype(str))["amount"].sum()).fillna(0.0)
    pipeline = ids.map(due.groupby(due["rep_id"].astype(str))["amount"].sum()).fillna(0.0)
    count = ids.map(due.groupby(due["rep_id"].astype(str)).size()).fillna(0)
    quota_by_rep = _quota(ds, frame.start, frame.end)
    quota = ids.map(quota_by_rep.set_axis(quota_by_rep.index.astype(str)))
    if day < frame.end and len(reps):
        _, _, sims = simulate_bookings(ds, day, "Q", n_sims, seed)
        sims = sims.set_axis(sims.columns.astype(str), axis=1)[ids.tolist()].to_numpy(float)
    else:
        sims = np.tile(booked.to_numpy(float), (n_sims, 1))
    groups = (
        reps[cols].drop_duplicates().reset_index(drop=True) if cols else pd.DataFrame(index=[0])
    )
    rows = []
    for i in range(len(groups)):
        member = np.ones(len(reps), dtype=bool)
        for c in cols:
            member &= (reps[c].astype("string") == groups.loc[i, c]).fillna(False).to_numpy()
        q = quota[member]
        q_total = float(q.sum()) if q.notna().any() else np.nan
        total = sims[:, member].sum(axis=1)
        b = float(booked[member].sum())
        rows.append(
            {
                "booked": b,
                "quota": q_total,
                "p10": float(np.quantile(total, 0.1)),
                "p50": float(np.quantile(total, 0.5)),
                "p90": float(np.quantile(total, 0.9)),
                "p_quota": float(np.mean(total >= q_total)) if q_total > 0 else np.nan,
                "open_pipeline": float(pipeline[member].sum()),
                "open_deals": int(count[member].sum()),
            }
        )
    out = pd.concat([groups[cols].reset_index(drop=True), pd.DataFrame(rows)], axis=1)
    out["period"] = frame.period
    out["period_start"], out["period_end"], out["as_of"] = frame.start, frame.end, day
    out["selling_days"] = frame.selling_days
    out["selling_days_elapsed"] = frame.selling_days_elapsed
    out["elapsed"] = frame.elapsed
    q = out["quota"].where(out["quota"] > 0)
    out["attainment"] = out["booked"] / q
    out["pace"] = out["attainment"] / frame.elapsed if frame.elapsed > 0 else np.nan
    out["projected_attainment"] = out["p50"] / q
    out["remaining_quota"] = (out["quota"] - out["booked"]).clip(lower=0)
    left = out["remaining_quota"].where(out["remaining_quota"] > 0)
    out["coverage"] = out["open_pipeline"] / left
    out["coverage_target"] = float(coverage_target)
    if calibration is True:
        calibration = outlook_calibration(ds, n_sims=min(n_sims, 1000), seed=seed)
    elif calibration is False:
        calibration = None
    out["replay_coverage_80"], out["replays"] = _calibration_by_group(calibration, name, groups)
    for c in cols:
        out[c] = out[c].astype("string")
    out["period"] = out["period"].astype("string")
    sort = [c for c in ("team", "rep_name", "rep_id", "manager", "region") if c in cols]
    out = out.sort_values(sort, kind="stable") if sort else out
    return out[[*cols, *OUTLOOK_COLUMNS]].reset_index(drop=True)
