"""Top-down quota allocation: the company target split over teams, reps and periods.

Formulas
--------
* Each rep i gets a company-level **share** s_i by the weighting chosen:

  - ``history``: the rep's bookings in the history window (the four complete fiscal quarters
    before the plan year) over everyone's;
  - ``potential``: the potential of the accounts the rep owns over all accounts' potential;
  - ``blend``: beta x history share + (1 - beta) x potential share (beta = ``BLEND_BETA``
    unless given);
  - ``capacity`` (method capacity): the rep's bottom-up capacity over the total
    (:mod:`spmlib.planning.capacity`); method ``blend`` averages it with the weighting chosen.

  A rep without a full history window (hired during it, or a planned hire), or without
  accounts for potential, takes the median share of the team's other reps. Every share is
  then multiplied by the rep's year share (ramp x active months, :func:`roster`).
* Per level, ``Q_j = Q_parent x (1 + o) x w_j / sum_k w_k``: teams split the company target T
  with the team over-assignment o_team (team weight = the sum of its reps' shares), reps split
  their team's quota with o_rep.
* The year is split into months or fiscal quarters by the **seasonality** measured in the data
  (:func:`seasonality`).
* Amounts are whole cents, split by the largest-remainder method (:func:`split_cents`), so the
  quotas of a level always sum to that level's quota to the cent. The reps' level is split
  from the company's T x (1 + o_team) x (1 + o_rep) over the teams first (in proportion to the
  team quotas), so each team's reps carry its quota x (1 + o_rep) within a cent and all reps
  together carry the company's amount exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spmlib.core.periods import fiscal_year, period_kind, period_range, period_start
from spmlib.exceptions import ParameterError, UnknownNameError
from spmlib.io.schema import Dataset

__all__ = [
    "WEIGHTS",
    "METHODS",
    "QUOTA_PERIODS",
    "BLEND_BETA",
    "QuotaPlan",
    "split_cents",
    "allocate",
    "rep_shares",
    "seasonality",
    "period_quotas",
]

log = logging.getLogger(__name__)

WEIGHTS = ("history", "potential", "blend")
METHODS = ("top-down", "capacity", "blend")
#: The period kinds (:data:`spmlib.core.periods.PERIODS`) a quota plan is cut in.
QUOTA_PERIODS = ("month", "quarter")
#: Weight of history in the ``blend`` weighting (1 - beta on potential).
BLEND_BETA = 0.5


@dataclass(frozen=True)
class QuotaPlan:
    """A quota plan: ``reps`` (one row per rep: rep_id, rep_name, team, planned, history,
    potential, capacity, share, year_share, weight, quota), ``teams`` (team, weight, quota),
    ``quotas`` (rows of the quotas table: rep_id, period_start, period_end, quota),
    ``seasonality``, and ``settings`` (the choices made, for the report)."""

    reps: pd.DataFrame
    teams: pd.DataFrame
    quotas: pd.DataFrame
    seasonality: pd.DataFrame
    settings: dict


def split_cents(total, weights) -> np.ndarray:
    """``total`` split in proportion to ``weights`` in whole cents, summing to ``total`` exactly
    (largest remainder: floor every part, then one more cent to the largest remainders; ties to
    the first). With a 1-D array of totals and a 2-D array of weights, each row is split alone.
    Weights that sum to 0 split evenly.

    Examples
    --------
    >>> split_cents(100.0, [1, 1, 1]).tolist()
    [33.34, 33.33, 33.33]
    >>> float(split_cents(1000.01, [2, 1]).sum())
    1000.01
    >>> split_cents([1.0, 0.05], [[1, 1], [1, 3]]).tolist()
    [[0.5, 0.5], [0.01, 0.04]]
    """
    w = np.asarray(weights, float)
    rows = np.atleast_2d(w)
    cents = np.rint(np.atleast_1d(np.asarray(total, float)) * 100).astype(np.int64)
    sums = rows.sum(axis=1)
    rows = np.where(sums[:, None] > 0, rows, 1.0)
    exact = cents[:, None] * rows / rows.sum(axis=1)[:, None]
    base = np.floor(exact).astype(np.int64)
    extra = cents - base.sum(axis=1)
    order = np.argsort(-(exact - base), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(rows.shape[1])[None, :], axis=1)
    base += rank < extra[:, None]
    out = base / 100.0
    return out if w.ndim == 2 else out[0]


def allocate(total: float, groups: pd.Series, weights: pd.Series, over: float = 1.0):
    """One level of ``Q_j = total x over x w_j / sum w`` in cents (Series by the weights' index).

    Examples
    --------
    >>> allocate(1000.0, None, pd.Series([3.0, 1.0], index=["a", "b"]), over=1.1).tolist()
    [825.0, 275.0]
    """
    return pd.Series(split_cents(total * over, weights.to_numpy(float)), index=weights.index)


def _history(ds: Dataset, start, end) -> pd.Series:
    opp = ds.opportunities
    won = opp[(opp["status"] == "won") & (opp["close_date"] >= start) & (opp["close_date"] <= end)]
    return won.groupby("rep_id")["amount"].sum()


def rep_shares(
    roster: pd.DataFrame,
    ds: Dataset,
    window: tuple[pd.Timestamp, pd.Timestamp],
    weights: str = "history",
    beta: float = BLEND_BETA,
    capacity: pd.Series | None = None,
    method: str = "top-down",
) -> pd.DataFrame:
    """Each rep's company-level share and weight (module docstring).

    Returns ``roster`` plus ``history``, ``potential``, ``capacity``, ``share`` (before the
    year share), ``weight`` (share x year share).
    """
    if weights not in WEIGHTS:
        raise UnknownNameError("quota weighting", weights, WEIGHTS)
    if method not in METHODS:
        raise UnknownNameError("quota method", method, METHODS)
    if not 0.0 <= beta <= 1.0:
        raise ParameterError(f"beta must be between 0 and 1, got {beta}")
    out = roster.copy()
    start, end = window
    hist = _history(ds, start, end)
    out["history"] = out["rep_id"].map(hist).fillna(0.0).astype(float)
    full = ~out["planned"] & (out["hire_date"].isna() | (out["hire_date"] <= start))
    pot = ds.accounts.groupby("rep_id")["potential"].sum()
    out["potential"] = out["rep_id"].map(pot).astype(float)
    has_pot = out["potential"].notna() & (out["potential"] > 0)
    if weights in ("potential", "blend") and not has_pot.any():
        raise ParameterError(
            "potential weights need an accounts table with the potential of each rep's accounts; "
            "add accounts.csv or use --weights history"
        )
    out["capacity"] = out["rep_id"].map(capacity).astype(float) if capacity is not None else np.nan

    def shares(values: pd.Series, known: pd.Series) -> pd.Series:
        s = values.where(known) / values[known].sum() if known.any() else values * np.nan
        med = s.groupby(out["team"]).transform("median")
        return s.fillna(med).fillna(s.median()).fillna(0.0)

    h = shares(out["history"], full)
    p = shares(out["potential"].fillna(0.0), has_pot) if has_pot.any() else h * np.nan
    base = {"history": h, "potential": p, "blend": beta * h + (1 - beta) * p}[weights]
    if method != "top-down":
        if capacity is None:
            raise ParameterError("the capacity and blend methods need the capacity of each rep")
        cap = out["capacity"].fillna(0.0)
        cap_share = cap / cap.sum() if cap.sum() > 0 else cap
        base = cap_share if method == "capacity" else 0.5 * base + 0.5 * cap_share
    out["share"] = base.astype(float)
    out["weight"] = (out["share"] * out["year_share"]).astype(float)
    return out


def seasonality(
    ds: Dataset, period: str = "month", end: pd.Timestamp | None = None, years: int = 3
) -> pd.DataFrame:
    """Share of a fiscal year's bookings that falls in each month (or fiscal quarter) of it.

    Measured on the last ``years`` complete fiscal years ending on or before ``end`` (default
    the reference date), pooled: share_j = bookings in position j / bookings of those years.
    Growth inside a year tilts the later positions up, as it will in the plan year. With no
    complete fiscal year, the last 12 complete months are used; with no bookings, an even split.

    Returns
    -------
    DataFrame ``position`` (1..12 or 1..4), ``share`` (sums to 1), ``years`` (fiscal years
    measured).
    """
    period = period_kind(period, QUOTA_PERIODS).name
    fy0 = ds.config.fiscal_year_start_month
    end = pd.Timestamp(end if end is not None else ds.as_of)
    n = 12 if period == "month" else 4
    opp = ds.opportunities
    won = opp[(opp["status"] == "won") & (opp["close_date"] <= end)]
    fy = fiscal_year(won["close_date"], fy0)
    year_end = fiscal_year(pd.Series([end + pd.Timedelta(days=1)]), fy0).iloc[0] - 1
    keep = (
        (fy <= year_end)
        & (fy > year_end - years)
        & (
            pd.to_datetime({"year": fy - (1 if fy0 > 1 else 0), "month": fy0, "day": 1})
            >= period_start(pd.Series([opp["created_date"].min()]), "month").iloc[0]
        )  # the data cover the year from its first month
    )
    measured = sorted(set(fy[keep]))
    sel = won[keep]
    if sel.empty:  # fall back to the last 12 complete months
        last = period_start(pd.Series([end + pd.Timedelta(days=1)]), "month").iloc[0]
        sel = won[(won["close_date"] >= last - pd.DateOffset(months=12))]
        measured = []
    months = sel["close_date"].dt.month
    pos = ((months - fy0) % 12) if period == "month" else ((months - fy0) % 12) // 3
    sums = sel["amount"].groupby(pos.to_numpy()).sum().reindex(range(n), fill_value=0.0)
    share = sums / sums.sum() if sums.sum() > 0 else pd.Series(1.0 / n, index=range(n))
    return pd.DataFrame(
        {
            "position": np.arange(1, n + 1),
            "share": share.to_numpy(float),
            "years": ", ".join(f"FY{y}" for y in measured) or "last 12 months",
        }
    )


def period_quotas(
    plan: pd.DataFrame,
    plan_start: pd.Timestamp,
    season: pd.DataFrame,
    period: str,
    fiscal_year_start_month: int,
) -> pd.DataFrame:
    """Rows of the quotas table: each rep's yearly ``quota`` (column of ``plan``, with
    ``rep_id`` and ``month_factors``) split over the plan year's months or quarters in
    proportion to seasonality share x the rep's ramp-and-active factor there, in cents.
    Periods where a rep is not employed get no row.

    Examples
    --------
    >>> plan = pd.DataFrame({"rep_id": ["a"], "quota": [1200.0],
    ...                      "month_factors": [(0.0, 0.0, 0.0) + (1.0,) * 9]})
    >>> season = pd.DataFrame({"share": [0.25] * 4})
    >>> period_quotas(plan, pd.Timestamp("2026-01-01"), season, "quarter", 1)["quota"].tolist()
    [400.0, 400.0, 400.0]
    """
    period = period_kind(period, QUOTA_PERIODS).name
    end = plan_start + pd.DateOffset(years=1) - pd.Timedelta(days=1)
    periods = period_range(plan_start, end, period, fiscal_year_start_month)
    span = 1 if period == "month" else 3
    shares = season["share"].to_numpy(float)
    factors = np.asarray([tuple(f) for f in plan["month_factors"]], float).reshape(len(plan), -1)
    weights = shares[None, :] * factors.reshape(len(plan), -1, span).mean(axis=2)
    quota = plan["quota"].to_numpy(float)
    quota = np.where((quota > 0) & (weights.sum(axis=1) > 0), quota, 0.0)
    parts = split_cents(quota, weights) if len(plan) else np.zeros((0, len(periods)))
    n = len(periods)
    out = pd.DataFrame(
        {
            "rep_id": pd.array(np.repeat(plan["rep_id"].to_numpy(object), n), dtype="string"),
            "period_start": np.tile(periods["period_start"].to_numpy(), len(plan)),
            "period_end": np.tile(periods["period_end"].to_numpy(), len(plan)),
            "quota": parts.ravel(),
        }
    )
    return out[out["quota"] > 0].reset_index(drop=True)
