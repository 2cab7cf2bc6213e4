"""How well calibrated the quarter outlook (the pipeline Monte Carlo) has been.

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

from spmlib.core.periods import period_end, period_start
from spmlib.core.stats import wilson_interval
from spmlib.forecast.pipeline import pipeline_forecast
from spmlib.forecast.series import FREQS, normalize_freq
from spmlib.io.schema import Dataset

__all__ = ["REPLAY_DAYS", "REPLAY_COLUMNS", "outlook_replay", "outlook_calibration"]

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
