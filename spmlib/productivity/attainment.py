"""Quota attainment per rep or group and fiscal period, its distribution, and pace.

Definitions:

- **quota of a period**: each quota row is spread evenly over the days of its own period
  (``period_start`` to ``period_end`` inclusive) and the period receives the days that fall in
  it. A row inside the period counts in full; a row straddling the period's edge counts for its
  overlapping share (a 1 Jan - 31 Mar quota of 900 gives February 28/90 of it, 280).
  :func:`spmlib.productivity.kpis.kpis` leaves straddling rows out of an arbitrary range instead;
  both
  agree whenever quota rows lie inside the periods asked for.
- **bookings**: amount of won deals whose close_date lies in the period, up to the reference
  date ``as_of``.
- **attainment** = bookings / quota (empty when quota is 0).
- **elapsed_share**: share of the period's selling days (weekdays) elapsed by the end of
  ``as_of`` (1 for past periods), from :func:`spmlib.core.periods.elapsed_share`.
- **pace_gap** = attainment - elapsed_share: above 0 means ahead of an even pace.
- **projected_attainment** = attainment / elapsed_share: the period-end attainment if bookings
  go on at the run rate so far (equal to attainment for past periods).
- Group rows (team, manager, region, all) sum quota and bookings over the reps that carry a
  quota in the period; ``reps`` counts those reps.
- **share at or above quota**: reps with attainment >= 1 over reps with a quota, with its Wilson
  95% interval.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spmlib.core.buckets import period_codes, rep_codes
from spmlib.core.grouping import GROUPINGS, group_columns
from spmlib.core.periods import elapsed_share, period_kind, period_range
from spmlib.core.ranges import resolve_range
from spmlib.core.stats import rate_table
from spmlib.exceptions import UnknownNameError
from spmlib.io.schema import Dataset

__all__ = [
    "ATTAINMENT_BANDS",
    "allocate_quota",
    "attainment",
    "attainment_distribution",
    "share_at_quota",
]

log = logging.getLogger(__name__)

#: Bands of the attainment distribution: (label, lower bound inclusive, upper bound exclusive).
ATTAINMENT_BANDS = (
    ("< 50%", -np.inf, 0.5),
    ("50-80%", 0.5, 0.8),
    ("80-100%", 0.8, 1.0),
    ("100-120%", 1.0, 1.2),
    (">= 120%", 1.2, np.inf),
)
_OUT = [
    "period",
    "period_start",
    "period_end",
    "elapsed_share",
    "reps",
    "quota",
    "bookings",
    "attainment",
    "pace_gap",
    "projected_attainment",
    "on_pace",
]


def allocate_quota(quotas: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """Spread quota rows over windows by overlapping days.

    Parameters
    ----------
    quotas : rows with ``rep_id``, ``period_start``, ``period_end``, ``quota``.
    windows : contiguous, non-overlapping windows in order, with ``period_start`` and
        ``period_end`` (inclusive), e.g. from :func:`spmlib.core.periods.period_range`.

    Returns
    -------
    DataFrame ``rep_id``, ``window`` (position in ``windows``), ``quota`` (float): one row per
    rep and window that receives quota.

    Examples
    --------
    >>> q = pd.DataFrame({"rep_id": ["a"], "quota": [900.0],
    ...     "period_start": pd.to_datetime(["2026-01-01"]),
    ...     "period_end": pd.to_datetime(["2026-03-31"])})
    >>> w = pd.DataFrame({"period_start": pd.to_datetime(["2026-02-01", "2026-03-01"]),
    ...     "period_end": pd.to_datetime(["2026-02-28", "2026-03-31"])})
    >>> allocate_quota(q, w)
      rep_id  window  quota
    0      a       0  280.0
    1      a       1  310.0
    """
    empty = pd.DataFrame(
        {
            "rep_id": pd.Series(dtype="string"),
            "window": pd.Series(dtype="int64"),
            "quota": pd.Series(dtype="float64"),
        }
    )
    if quotas.empty or windows.empty:
        return empty
    w_start = windows["period_start"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    w_end = windows["period_end"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    q_start = quotas["period_start"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    q_end = quotas["period_end"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    amount = quotas["quota"].to_numpy(dtype=float)
    days = (q_end - q_start + 1).astype(float)
    first = np.clip(np.searchsorted(w_start, q_start, side="right") - 1, 0, len(w_start) - 1)
    parts = []
    k = 0
    while True:
        idx = first + k
        live = idx < len(w_start)
        if not live.any():
            break
        idx_c = np.minimum(idx, len(w_start) - 1)
        overlap = np.minimum(q_end, w_end[idx_c]) - np.maximum(q_start, w_start[idx_c]) + 1
        take = live & (overlap > 0) & (days > 0)
        if take.any():
            parts.append(
                pd.DataFrame(
                    {
                        "rep_id": quotas["rep_id"].to_numpy()[take],
                        "window": idx_c[take],
                        "quota": amount[take] * overlap[take] / days[take],
                    }
                )
            )
        if not (live & (w_start[idx_c] <= q_end)).any():
            break
        k += 1
    if not parts:
        return empty
    out = pd.concat(parts, ignore_index=True)
    out = out.groupby(["rep_id", "window"], as_index=False, sort=True)["quota"].sum()
    out["rep_id"] = out["rep_id"].astype("string")
    out["window"] = out["window"].astype("int64")
    return out


def attainment(
    ds: Dataset,
    period: str = "quarter",
    by: str = "rep",
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Quota attainment and pace per group and fiscal period (definitions in the module docstring).

    Parameters
    ----------
    ds : the dataset (fiscal year start and ``as_of`` come from it).
    period : "month", "quarter" (fiscal) or "ytd" (fiscal year to date: the whole fiscal year's
        quota against bookings so far).
    by : "rep", "team", "manager", "region" or "all".
    start, end : the whole periods overlapping [start, end] are reported, up to the one holding
        ``as_of``; defaults as in :func:`spmlib.productivity.activity.resolve_range`.

    Returns
    -------
    DataFrame with the group columns (see :data:`spmlib.core.grouping.GROUPINGS`), then
    ``period``
    (label, ``FY2026-Q2``), ``period_start``, ``period_end``, ``elapsed_share``, ``reps``
    (reps with a quota), ``quota``, ``bookings``, ``attainment``, ``pace_gap``,
    ``projected_attainment``, ``on_pace`` (bool, attainment >= elapsed_share). One row per group
    and period; rep rows exist for every rep, with ``reps`` 0 and empty attainment without quota.

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a"], "rep_name": ["Ann"], "team": ["T"]})
    >>> opps = pd.DataFrame({"opp_id": ["1"], "rep_id": ["a"], "stage": ["Won"],
    ...     "amount": [300.0], "created_date": pd.to_datetime(["2026-01-02"]),
    ...     "close_date": pd.to_datetime(["2026-01-10"]), "status": ["won"]})
    >>> q = pd.DataFrame({"rep_id": ["a"], "quota": [1000.0],
    ...     "period_start": pd.to_datetime(["2026-01-01"]),
    ...     "period_end": pd.to_datetime(["2026-01-31"])})
    >>> cfg = DatasetConfig(("Open",), "Won", "Lost", as_of=pd.Timestamp("2026-01-10"))
    >>> ds = Dataset(cfg, reps, opps, quotas=q)
    >>> row = attainment(ds, "month").iloc[0]  # 7 of January's 22 weekdays by the 10th
    >>> [round(float(row[c]), 3) for c in ("attainment", "elapsed_share", "projected_attainment")]
    [0.3, 0.318, 0.943]
    """
    kind = period_kind(period)
    cols = group_columns(by)
    freq = kind.freq
    fy = ds.config.fiscal_year_start_month
    as_of = ds.as_of
    lo, hi = resolve_range(ds, start, end)
    periods = period_range(lo, min(hi, as_of), freq, fy)
    periods = periods[periods["period_start"] <= as_of].reset_index(drop=True)
    if kind.to_date:
        periods["period"] = periods["period"] + np.where(periods["period_end"] > as_of, " YTD", "")
    reps = ds.reps.reset_index(drop=True)
    n_r, n_p = len(reps), len(periods)
    # Bookings per rep x period (won deals closed up to as_of).
    opp = ds.opportunities
    won = opp[(opp["status"] == "won") & (opp["close_date"] <= as_of)]
    p_code = period_codes(won["close_date"], periods, freq, fy) if n_p else np.full(len(won), -1)
    r_code = rep_codes(reps, won["rep_id"])
    ok = (p_code >= 0) & (r_code >= 0)
    bookings = np.bincount(
        r_code[ok] * n_p + p_code[ok],
        weights=won["amount"].to_numpy(dtype=float)[ok],
        minlength=n_r * n_p,
    )
    # Quota per rep x period.
    alloc = allocate_quota(ds.quotas, periods)
    quota = np.zeros(n_r * n_p)
    has_quota = np.zeros(n_r * n_p, dtype=bool)
    if not alloc.empty:
        a_r = rep_codes(reps, alloc["rep_id"])
        keep = a_r >= 0
        flat = a_r[keep] * n_p + alloc["window"].to_numpy()[keep]
        np.add.at(quota, flat, alloc["quota"].to_numpy()[keep])
        has_quota[flat] = True
    has_quota &= quota > 0
    r_idx = np.repeat(np.arange(n_r), n_p)
    p_idx = np.tile(np.arange(n_p), n_r)
    grid = pd.DataFrame(
        {
            "_r": r_idx,
            "_p": p_idx,
            "quota": quota,
            "bookings": bookings,
            "reps": has_quota.astype(np.int64),
        }
    )
    if by == "rep":
        grid.loc[~has_quota, "quota"] = np.nan
        for c in cols:
            grid[c] = reps[c].to_numpy()[r_idx]
        out = grid
    else:
        grid = grid[has_quota].copy()
        keys = []
        for c in cols:
            grid[c] = reps[c].to_numpy()[grid["_r"].to_numpy()]
            keys.append(c)
        out = grid.groupby([*keys, "_p"], as_index=False, dropna=False)[
            ["quota", "bookings", "reps"]
        ].sum()
        if not cols:
            full = pd.DataFrame({"_p": np.arange(n_p)})
        else:
            groups = reps[cols].drop_duplicates()
            full = groups.merge(pd.DataFrame({"_p": np.arange(n_p)}), how="cross")
        out = full.merge(out, on=[*cols, "_p"], how="left")
        out["reps"] = out["reps"].fillna(0).astype("int64")
        out["bookings"] = out["bookings"].fillna(0.0)
    p = out["_p"].to_numpy()
    out["period"] = periods["period"].to_numpy()[p]
    out["period_start"] = periods["period_start"].to_numpy()[p]
    out["period_end"] = periods["period_end"].to_numpy()[p]
    out["elapsed_share"] = elapsed_share(periods["period_start"], periods["period_end"], as_of)[p]
    q = out["quota"].astype(float)
    out["quota"] = q
    out["bookings"] = out["bookings"].astype(float)
    out["attainment"] = out["bookings"] / q.where(q > 0)
    out["pace_gap"] = out["attainment"] - out["elapsed_share"]
    out["projected_attainment"] = out["attainment"] / out["elapsed_share"].where(
        out["elapsed_share"] > 0
    )
    out["on_pace"] = (out["attainment"] >= out["elapsed_share"]).astype(bool)
    out["reps"] = out["reps"].astype("int64")
    for c in cols:
        out[c] = out[c].astype("string")
    out["period"] = out["period"].astype("string")
    out = out.sort_values([*cols, "period_start"], kind="stable")
    return out[[*cols, *_OUT]].reset_index(drop=True)


def attainment_distribution(att: pd.DataFrame, bands=ATTAINMENT_BANDS) -> pd.DataFrame:
    """How many reps fall in each attainment band, per period.

    Parameters
    ----------
    att : rep rows of :func:`attainment` (``by="rep"``); rows without quota are left out.
    bands : (label, low inclusive, high exclusive) triples, in order.

    Returns
    -------
    DataFrame ``period``, ``period_start``, ``band`` (ordered categorical), ``reps``, ``share``
    (reps in the band / reps with a quota that period); every band appears for every period.

    Examples
    --------
    >>> att = pd.DataFrame({"period": ["Q1"] * 4,
    ...     "period_start": pd.to_datetime(["2026-01-01"] * 4),
    ...     "attainment": [0.3, 0.9, 1.0, None]})
    >>> attainment_distribution(att)[["band", "reps", "share"]].round(3)
           band  reps  share
    0     < 50%     1  0.333
    1    50-80%     0  0.000
    2   80-100%     1  0.333
    3  100-120%     1  0.333
    4   >= 120%     0  0.000
    """
    labels = [b[0] for b in bands]
    edges = [bands[0][1], *[b[2] for b in bands]]
    rows = att[att["attainment"].notna()]
    band = pd.cut(rows["attainment"], bins=edges, labels=labels, right=False)
    frame = pd.DataFrame(
        {"period": rows["period"], "period_start": rows["period_start"], "band": band}
    )
    periods = att[["period", "period_start"]].drop_duplicates().sort_values("period_start")
    grid = periods.merge(
        pd.DataFrame({"band": pd.Categorical(labels, categories=labels, ordered=True)}), how="cross"
    )
    counts = frame.groupby(["period", "band"], observed=True).size().rename("reps").reset_index()
    counts["band"] = counts["band"].astype(grid["band"].dtype)
    out = grid.merge(counts, on=["period", "band"], how="left")
    out["reps"] = out["reps"].fillna(0).astype("int64")
    total = out.groupby("period")["reps"].transform("sum")
    out["share"] = (out["reps"] / total.where(total > 0)).astype("float64")
    return out[["period", "period_start", "band", "reps", "share"]].reset_index(drop=True)


def share_at_quota(att: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Share of reps at or above quota per period (and group), with the Wilson 95% interval.

    Parameters
    ----------
    att : rep rows of :func:`attainment`; rows without quota are left out.
    by : extra grouping column(s) of ``att`` (e.g. ``"team"``); None = all reps together.

    Returns
    -------
    DataFrame with the ``by`` columns, ``period``, ``period_start``, ``reps_with_quota``,
    ``at_or_above``, ``share_at_quota``, ``share_at_quota_low``, ``share_at_quota_high``.

    Examples
    --------
    >>> att = pd.DataFrame({"period": ["Q1"] * 4,
    ...     "period_start": pd.to_datetime(["2026-01-01"] * 4),
    ...     "attainment": [0.3, 0.9, 1.0, None]})
    >>> share_at_quota(att)[["reps_with_quota", "at_or_above", "share_at_quota"]].round(3)
       reps_with_quota  at_or_above  share_at_quota
    0                3            1           0.333
    """
    keys = [by] if isinstance(by, str) else list(by or [])
    for k in keys:
        if k not in att.columns or k not in {c for cols in GROUPINGS.values() for c in cols}:
            raise UnknownNameError(
                "grouping column", k, [c for c in att.columns if c in GROUPINGS["rep"]]
            )
    rows = att[att["attainment"].notna()].copy()
    rows["_hit"] = (rows["attainment"] >= 1.0).astype("int64")
    out = rows.groupby([*keys, "period", "period_start"], as_index=False, sort=False).agg(
        reps_with_quota=("_hit", "size"), at_or_above=("_hit", "sum")
    )
    out["reps_with_quota"] = out["reps_with_quota"].astype("int64")
    out["at_or_above"] = out["at_or_above"].astype("int64")
    out = rate_table(out, "at_or_above", "reps_with_quota", "share_at_quota")
    return out.sort_values([*keys, "period_start"]).reset_index(drop=True)
