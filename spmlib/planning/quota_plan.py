"""The quota plan of a fiscal year end to end: inputs, capacity, weights, allocation per level and
period, and the fairness checks (:mod:`spmlib.planning.allocation` has the formulas)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from spmlib.core.periods import fiscal_year
from spmlib.exceptions import ParameterError
from spmlib.io.schema import Dataset
from spmlib.planning import allocation as al
from spmlib.planning import capacity as cp
from spmlib.planning import fairness as fa
from spmlib.planning import plan_inputs as pi

__all__ = ["parse_over_assign", "bookings_growth", "default_target", "plan_quotas", "check_plan"]

log = logging.getLogger(__name__)


def parse_over_assign(text: str | None) -> dict[str, float]:
    """``"team=1.05,rep=1.10"`` -> {"team": 1.05, "rep": 1.1} (missing levels: 1.0).

    Examples
    --------
    >>> parse_over_assign("rep=1.1")
    {'team': 1.0, 'rep': 1.1}
    """
    out = {"team": 1.0, "rep": 1.0}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = part.partition("=")
        try:
            factor = float(value)
        except ValueError:
            factor = -1.0
        if not sep or key.strip() not in out or factor < 1.0:
            raise ParameterError(
                f"over-assignment {part!r}: write LEVEL=FACTOR with LEVEL team or rep "
                "and FACTOR >= 1 (1.05 = 5% over-assignment)"
            )
        out[key.strip()] = factor
    return out


def bookings_growth(ds: Dataset, window: tuple[pd.Timestamp, pd.Timestamp]) -> float:
    """The company's bookings growth into the history ``window``: bookings closed in the window
    / bookings closed in the 12 months before it - 1; 0 when the data do not cover those 12
    months from their start or they hold no bookings.

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a"], "rep_name": ["A"], "team": ["T"]})
    >>> day = pd.to_datetime(["2024-06-15", "2025-06-15"])
    >>> opps = pd.DataFrame({"opp_id": ["1", "2"], "rep_id": ["a", "a"], "stage": ["W", "W"],
    ...     "amount": [100.0, 120.0], "created_date": day - pd.Timedelta(days=200),
    ...     "close_date": day, "status": ["won", "won"]})
    >>> ds = Dataset(DatasetConfig(("O",), "W", "L"), reps, opps)
    >>> round(bookings_growth(ds, (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31"))), 2)
    0.2
    """
    start, end = (pd.Timestamp(d) for d in window)
    opp = ds.opportunities
    won = opp[opp["status"] == "won"]
    before_start = start - pd.DateOffset(months=12)
    now = won.loc[won["close_date"].between(start, end), "amount"].sum()
    before = won.loc[(won["close_date"] >= before_start) & (won["close_date"] < start), "amount"]
    covered = opp["created_date"].min() <= before_start
    return float(now / before.sum() - 1) if before.sum() > 0 and covered else 0.0


def default_target(ds: Dataset, year: int | None = None) -> float:
    """A target when none is given: the bookings of the plan's history window x (1 + their
    growth, :func:`bookings_growth`), rounded to the thousand ("grow as we grew").

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a"], "rep_name": ["A"], "team": ["T"]})
    >>> day = pd.to_datetime(["2024-06-15", "2025-06-15"])
    >>> opps = pd.DataFrame({"opp_id": ["1", "2"], "rep_id": ["a", "a"], "stage": ["W", "W"],
    ...     "amount": [100_000.0, 120_000.0], "created_date": day - pd.Timedelta(days=200),
    ...     "close_date": day, "status": ["won", "won"]})
    >>> cfg = DatasetConfig(("O",), "W", "L", as_of=pd.Timestamp("2025-12-31"))
    >>> default_target(Dataset(cfg, reps, opps))  # 120,000 x 1.2
    144000.0
    """
    fy0 = ds.config.fiscal_year_start_month
    if year is None:
        year = int(fiscal_year(pd.Series([ds.as_of]), fy0).iloc[0]) + 1
    window = pi.history_window(ds, pi.plan_year_window(int(year), fy0)[0])
    opp = ds.opportunities
    won = opp[(opp["status"] == "won") & opp["close_date"].between(*window)]
    return float(round(won["amount"].sum() * (1 + bookings_growth(ds, window)), -3))


def plan_quotas(
    ds: Dataset,
    target: float,
    year: int | None = None,
    method: str = "top-down",
    weights: str = "history",
    over_assign: dict[str, float] | None = None,
    period: str = "month",
    hires: str | Path | pd.DataFrame | None = None,
    beta: float = al.BLEND_BETA,
    ramp: list[float] | None = None,
) -> al.QuotaPlan:
    """Next fiscal year's quotas for every rep (and planned hire) of ``ds``.

    Parameters
    ----------
    ds : the dataset (all teams: the company target is split over them).
    target : the company's bookings target T for the year (dataset currency).
    year : the fiscal year (named by the year it ends in); default the one after the year
        holding the reference date.
    method : ``top-down`` (weights below), ``capacity`` (bottom-up capacity shares) or
        ``blend`` (their mean).
    weights : ``history``, ``potential`` or ``blend`` (beta x history + (1 - beta) x potential).
    over_assign : {"team": factor, "rep": factor}, e.g. 1.05 and 1.10.
    period : ``month`` or ``quarter`` rows in the quotas table.
    hires : planned hires and leavers (a file for :func:`read_hires`, or its frame).
    beta : the history weight of the ``blend`` weighting.
    ramp : ramp factors for months 1, 2, ... since hire; default measured from the data.

    Returns
    -------
    QuotaPlan
        ``reps`` also carries ``productivity`` and ``capacity``; ``settings`` holds the year,
        its dates, the history window, target, method, weights, beta, over-assignment, period,
        seasonality years, the ramp source and the capacity summary (a frame).
    """
    if not target or target <= 0:
        raise ParameterError(f"the target must be a positive amount, got {target}")
    fy0 = ds.config.fiscal_year_start_month
    if year is None:
        year = int(fiscal_year(pd.Series([ds.as_of]), fy0).iloc[0]) + 1
    start, end = pi.plan_year_window(int(year), fy0)
    window = pi.history_window(ds, start)
    hire_frame = hires if isinstance(hires, pd.DataFrame) else pi.read_hires(hires, ds)
    ramp_f = pi.ramp_factors(ds, given=ramp)
    roster = pi.roster(ds, start, hire_frame, ramp_f)
    prod = cp.productivity(ds, window[1])
    caps = cp.capacity(roster, prod)
    over = over_assign or {"team": 1.0, "rep": 1.0}
    shares = al.rep_shares(
        caps, ds, window, weights, beta, caps.set_index("rep_id")["capacity"], method
    )
    team_w = shares.groupby("team")["weight"].sum()
    team_q = al.allocate(float(target), None, team_w, over.get("team", 1.0))
    # what the teams' reps carry: T x o_team x o_rep split by the team quotas, so that every
    # team's reps sum to its quota x o_rep within a cent and all reps to the company's exactly
    company = float(team_q.sum()) * over.get("rep", 1.0)
    carried = al.allocate(company, None, team_q)
    quota = pd.Series(0.0, index=shares.index)
    for team, g in shares.groupby("team"):
        quota[g.index] = al.allocate(float(carried[team]), None, g["weight"])
    shares["quota"] = quota.astype(float)
    season = al.seasonality(ds, period, window[1])
    rows = al.period_quotas(shares, start, season, period, fy0)
    teams = pd.DataFrame(
        {
            "team": team_w.index.astype("string"),
            "weight": team_w.to_numpy(),
            "quota": team_q.to_numpy(),
        }
    )
    settings = {
        "year": int(year),
        "start": start,
        "end": end,
        "history_start": window[0],
        "history_end": window[1],
        "target": float(target),
        "method": method,
        "weights": weights,
        "beta": float(beta),
        "over_assign": dict(over),
        "period": period,
        "seasonality_years": str(season["years"].iloc[0]),
        "ramp_source": ramp_f["source"].iloc[0],
        "ramp": ramp_f,
        "productivity": prod,
        "capacity": cp.capacity_summary(caps, float(target), prod, ramp_f),
    }
    reps_cols = [
        "rep_id",
        "rep_name",
        "team",
        "planned",
        "hire_date",
        "end_date",
        "history",
        "potential",
        "productivity",
        "capacity",
        "share",
        "year_share",
        "weight",
        "quota",
        "month_factors",
    ]
    return al.QuotaPlan(shares[reps_cols], teams, rows, season, settings)


def check_plan(
    plan: al.QuotaPlan,
    ds: Dataset,
    growth: float | None = None,
    n_sims: int = 2000,
    seed: int = 0,
    rep_ids=None,
) -> dict[str, pd.DataFrame]:
    """The fairness and realism checks of a plan (:mod:`spmlib.planning.fairness`).

    ``growth`` of each rep's run rate into the plan year; None = the company's bookings growth
    from the four quarters before the history window to the window (0 without that history).
    ``rep_ids`` restricts every check to those reps of the plan (e.g. one team's, planned hires
    included); None = all.

    Returns
    -------
    dict with ``simulated`` (per rep), ``distribution`` (per attainment band; the share at
    quota in ``attrs``), ``gini`` (one row: gini of quota / potential over reps with potential,
    reps), ``correlation`` (past attainment vs potential), ``ratchet`` and ``ratchet_test``.
    """
    s = plan.settings
    start, end = s["history_start"], s["history_end"]
    if growth is None:
        growth = bookings_growth(ds, (start, end))
    reps = plan.reps
    if rep_ids is not None:
        reps = reps[reps["rep_id"].isin({str(r) for r in rep_ids})]
        ds = ds.for_reps(reps["rep_id"])
    sim, dist = fa.simulate_attainment(reps, ds, (start, end), growth, n_sims, seed)
    with_pot = reps[reps["potential"].notna() & (reps["potential"] > 0) & (reps["quota"] > 0)]
    gini = pd.DataFrame(
        [
            {
                "gini_quota_per_potential": fa.gini(with_pot["quota"] / with_pot["potential"]),
                "reps": len(with_pot),
            }
        ]
    )
    q = ds.quotas
    q = q[(q["period_start"] >= start) & (q["period_end"] <= end)].groupby("rep_id")["quota"].sum()
    past = reps.assign(past_quota=reps["rep_id"].map(q))
    past = past[~past["planned"] & past["past_quota"].gt(0)]
    corr = fa.correlation(past["history"] / past["past_quota"], past["potential"])
    changes = fa.ratchet(ds)
    return {
        "simulated": sim,
        "distribution": dist,
        "gini": gini,
        "correlation": corr,
        "ratchet": changes,
        "ratchet_test": fa.ratchet_summary(changes),
    }
