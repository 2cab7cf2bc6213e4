"""Fairness and realism checks of proposed quotas, before they are published.

Definitions
-----------
* **Simulated attainment** (:func:`simulate_attainment`): each rep's plan-year bookings are
  simulated as a Poisson number of won deals at the rep's own rate over the history window
  (won deals per year x year share x (1 + growth)) with amounts drawn from the rep's own won
  amounts (the team's when the rep has fewer than 5), by the pipeline Monte Carlo's sampler
  (:func:`spmlib.forecast.pipeline.compound_poisson`); a rep without a full history takes the
  team's median rate. Attainment = simulated bookings / quota; the **share at quota** of a
  simulation is the share of reps at or above 100%. Practitioners aim for 60-70% of reps at
  quota (``TARGET_SHARE``).
* **Gini** of x (here quota / potential per rep): sum_i sum_j |x_i - x_j| / (2 n^2 mean(x));
  0 when every rep carries the same quota per unit of potential.
* **Attainment-potential correlation**: Pearson (with Fisher-z 95% interval) and Spearman
  correlation between reps' past attainment (history window) and their territory potential;
  near 0 is fair, clearly positive means quotas ignore how much territories differ.
* **Ratchet** (:func:`ratchet`): for consecutive fiscal years t-1, t of a rep, the quota change
  dq = log(Q_t / Q_{t-1}) against the previous year's result g = log(A_{t-1} / Q_{t-1}); the
  regression dq = a + b_up max(g, 0) + b_down min(g, 0) measures how much quotas rise after a
  beat (b_up) and fall after a miss (b_down). Ratcheting is b_up > b_down with a one-sided
  p < 0.05 (quotas follow beats more than misses).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from spmlib.core.periods import fiscal_year
from spmlib.forecast.pipeline import compound_poisson
from spmlib.io.schema import Dataset
from spmlib.productivity.attainment import ATTAINMENT_BANDS

__all__ = [
    "TARGET_SHARE",
    "gini",
    "correlation",
    "simulate_attainment",
    "ratchet",
    "ratchet_summary",
]

log = logging.getLogger(__name__)

#: The practitioners' target: 60-70% of reps at or above quota.
TARGET_SHARE = (0.60, 0.70)


def gini(values) -> float:
    """Gini coefficient of non-negative values (NaN dropped; NaN when empty or all zero).

    Examples
    --------
    >>> gini([1, 1, 1, 1]), gini([0, 0, 0, 1])
    (0.0, 0.75)
    """
    x = np.asarray(values, float)
    x = x[~np.isnan(x)]
    if x.size == 0 or x.sum() == 0:
        return float("nan")
    # sum_ij |x_i - x_j| / (2 n^2 mean) = sum_i (2i - n - 1) x_(i) / (n sum x), x sorted
    x, n = np.sort(x), x.size
    return float(((2 * np.arange(1, n + 1) - n - 1) * x).sum() / (n * x.sum()))


def correlation(x, y) -> pd.DataFrame:
    """Pearson and Spearman correlation of paired values (pairs with a NaN dropped).

    Returns one row: ``n``, ``pearson``, ``pearson_low``, ``pearson_high`` (Fisher-z 95%),
    ``pearson_p``, ``spearman``, ``spearman_p``.

    Examples
    --------
    >>> correlation([1, 2, 3, 4], [2, 4, 6, 9])[["n", "pearson", "spearman"]].round(3)
       n  pearson  spearman
    0  4    0.994       1.0
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    n = int(x.size)
    row = {
        "n": n,
        "pearson": np.nan,
        "pearson_low": np.nan,
        "pearson_high": np.nan,
        "pearson_p": np.nan,
        "spearman": np.nan,
        "spearman_p": np.nan,
    }
    if n >= 3 and x.std() > 0 and y.std() > 0:
        r, p = stats.pearsonr(x, y)
        rho, sp = stats.spearmanr(x, y)
        row.update(pearson=float(r), pearson_p=float(p), spearman=float(rho), spearman_p=float(sp))
        if n > 3:
            z, se = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1 / np.sqrt(n - 3)
            row.update(
                pearson_low=float(np.tanh(z - 1.96 * se)),
                pearson_high=float(np.tanh(z + 1.96 * se)),
            )
    return pd.DataFrame([row])


def simulate_attainment(
    plan: pd.DataFrame,
    ds: Dataset,
    window: tuple[pd.Timestamp, pd.Timestamp],
    growth: float = 0.0,
    n_sims: int = 2000,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated plan-year attainment of every rep of ``plan`` (rep_id, team, quota, planned,
    hire_date, year_share) and its distribution (module docstring).

    Returns
    -------
    (reps, summary). ``reps``: ``rep_id``, ``rate`` (won deals a year), ``mean_bookings``,
    ``p_at_quota``, ``attainment_p10``, ``attainment_p50``, ``attainment_p90``.
    ``summary``: one row per attainment band (:data:`ATTAINMENT_BANDS`) with ``band``,
    ``at_quota`` (the band is at or above 100%) and ``expected_share`` (mean share of reps in
    it), then the attributes ``share_at_quota``
    (mean), ``share_at_quota_p10`` / ``_p90`` and ``target`` in ``summary.attrs``.
    """
    start, end = window
    opp = ds.opportunities
    won = opp[(opp["status"] == "won") & (opp["close_date"] >= start) & (opp["close_date"] <= end)]
    years = ((end - start).days + 1) / 365.25
    counts = won.groupby("rep_id").size() / years
    pools = {r: g.to_numpy(float) for r, g in won.groupby("rep_id")["amount"]}
    team_pool = {
        t: won.loc[won["rep_id"].isin(g["rep_id"]), "amount"].to_numpy(float)
        for t, g in plan.groupby("team")
    }
    full = ~plan["planned"] & (plan["hire_date"].isna() | (plan["hire_date"] <= start))
    rate = plan["rep_id"].map(counts).fillna(0.0).where(full)
    rate = rate.fillna(rate.groupby(plan["team"]).transform("median")).fillna(0.0)
    rng = np.random.default_rng(seed)
    sims = np.zeros((len(plan), n_sims))
    for i, (rep, team, lam, share) in enumerate(
        zip(plan["rep_id"], plan["team"], rate, plan["year_share"], strict=True)
    ):
        pool = pools.get(rep, np.array([]))
        pool = pool if len(pool) >= 5 else team_pool.get(team, np.array([]))
        sims[i] = compound_poisson(rng, float(lam) * share * (1 + growth), pool, n_sims)
    quota = plan["quota"].to_numpy(float)[:, None]
    att = np.divide(sims, quota, out=np.full_like(sims, np.nan), where=quota > 0)
    reps = pd.DataFrame(
        {
            "rep_id": plan["rep_id"].astype("string").to_numpy(),
            "rate": rate.to_numpy(float),
            "mean_bookings": sims.mean(axis=1),
            "p_at_quota": np.nanmean(att >= 1, axis=1),
            "attainment_p10": np.nanquantile(att, 0.1, axis=1),
            "attainment_p50": np.nanquantile(att, 0.5, axis=1),
            "attainment_p90": np.nanquantile(att, 0.9, axis=1),
        }
    )
    has_q = quota[:, 0] > 0
    at_quota = (att[has_q] >= 1).mean(axis=0)
    rows = []
    for label, lo, hi in ATTAINMENT_BANDS:
        inside = (att[has_q] >= lo) & (att[has_q] < hi)
        rows.append(
            {
                "band": label,
                "at_quota": lo >= 1,
                "expected_share": float(inside.mean(axis=0).mean()),
            }
        )
    summary = pd.DataFrame(rows)
    summary.attrs.update(
        share_at_quota=float(at_quota.mean()),
        share_at_quota_p10=float(np.quantile(at_quota, 0.1)),
        share_at_quota_p90=float(np.quantile(at_quota, 0.9)),
        target=TARGET_SHARE,
        growth=float(growth),
    )
    return reps, summary


def _months(quotas: pd.DataFrame) -> pd.Series:
    """Calendar months each quota row covers, days counted in their own month's length (a
    calendar month is 1 whatever its days, so leap years do not change the level).

    Examples
    --------
    >>> q = pd.DataFrame({"period_start": pd.to_datetime(["2024-01-01", "2024-02-01"]),
    ...                   "period_end": pd.to_datetime(["2024-12-31", "2024-02-15"])})
    >>> _months(q).round(3).tolist()
    [12.0, 0.517]
    """
    ps, pe = quotas["period_start"], quotas["period_end"]
    whole = (pe.dt.year - ps.dt.year) * 12 + pe.dt.month - ps.dt.month
    return whole + pe.dt.day / pe.dt.days_in_month - (ps.dt.day - 1) / ps.dt.days_in_month


def ratchet(ds: Dataset) -> pd.DataFrame:
    """Year-to-year quota changes after beats and misses, per rep (module docstring).

    Uses fiscal years with quota rows; the quota level of a year is its mean monthly quota
    (quota / calendar months covered, :func:`_months`, so partial and leap years compare),
    attainment is bookings / quota over the year's quota rows (complete years only).

    Returns
    -------
    DataFrame ``rep_id``, ``year`` (t), ``attainment_before`` (A/Q of t-1), ``quota_change``
    (Q_t / Q_{t-1} - 1), ``beat`` (attainment_before >= 1), ``g``, ``dq`` (logs).
    """
    q = ds.quotas
    cols = ["rep_id", "year", "attainment_before", "quota_change", "beat", "g", "dq"]
    if q.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    fy0 = ds.config.fiscal_year_start_month
    q = q.assign(year=fiscal_year(q["period_start"], fy0).to_numpy(), months=_months(q))
    years = (
        q.groupby(["rep_id", "year"], observed=True)
        .agg(
            quota=("quota", "sum"),
            months=("months", "sum"),
            first=("period_start", "min"),
            last=("period_end", "max"),
        )
        .reset_index()
    )
    opp = ds.opportunities
    won = opp.loc[
        (opp["status"] == "won") & (opp["close_date"] <= ds.as_of),
        ["rep_id", "close_date", "amount"],
    ]
    pairs = won.merge(years[["rep_id", "year", "first", "last"]], on="rep_id")
    pairs = pairs[(pairs["close_date"] >= pairs["first"]) & (pairs["close_date"] <= pairs["last"])]
    booked = pairs.groupby(["rep_id", "year"], observed=True)["amount"].sum().rename("booked")
    years = years.merge(booked.reset_index(), on=["rep_id", "year"], how="left")
    years["level"] = years["quota"] / years["months"]
    complete = years["last"] <= ds.as_of
    years["attainment"] = (years["booked"].fillna(0.0) / years["quota"]).where(complete)
    years = years.sort_values(["rep_id", "year"])
    prev = years.groupby("rep_id").shift()
    pairs = years.assign(
        level_before=prev["level"], attainment_before=prev["attainment"], year_before=prev["year"]
    )
    pairs = pairs[(pairs["year_before"] == pairs["year"] - 1) & pairs["attainment_before"].gt(0)]
    out = pd.DataFrame(
        {
            "rep_id": pairs["rep_id"].astype("string"),
            "year": pairs["year"].astype(int),
            "attainment_before": pairs["attainment_before"].astype(float),
            "quota_change": (pairs["level"] / pairs["level_before"] - 1).astype(float),
        }
    )
    out["beat"] = out["attainment_before"] >= 1
    out["g"] = np.log(out["attainment_before"])
    out["dq"] = np.log1p(out["quota_change"])
    return out[cols].reset_index(drop=True)


def ratchet_summary(changes: pd.DataFrame) -> pd.DataFrame:
    """The ratchet test on :func:`ratchet`'s rows: one row with ``transitions``, ``beats``,
    ``misses``, ``mean_change_after_beat``, ``mean_change_after_miss``, ``b_up``, ``b_down``
    (slopes of dq on the positive and negative parts of g), ``asymmetry`` = b_up - b_down, its
    one-sided ``p_value``, and ``ratchet`` (asymmetry > 0 with p < 0.05).

    Examples
    --------
    >>> g = np.log([1.2, 1.1, 1.3, 0.8, 0.9, 0.7])
    >>> dq = np.where(g > 0, 0.5 * g, 0.0) + [0.01, -0.01, 0, 0, 0.01, -0.01]
    >>> ch = pd.DataFrame({"g": g, "dq": dq, "beat": g >= 0, "quota_change": 0.0})
    >>> ratchet_summary(ch)[["b_up", "b_down", "ratchet"]].round(2)
       b_up  b_down  ratchet
    0  0.48    0.03     True
    """
    n = len(changes)
    row = {
        "transitions": n,
        "beats": int(changes["beat"].sum()) if n else 0,
        "misses": int((~changes["beat"]).sum()) if n else 0,
        "mean_change_after_beat": float(changes.loc[changes["beat"], "quota_change"].mean())
        if n
        else np.nan,
        "mean_change_after_miss": float(changes.loc[~changes["beat"], "quota_change"].mean())
        if n
        else np.nan,
        "b_up": np.nan,
        "b_down": np.nan,
        "asymmetry": np.nan,
        "p_value": np.nan,
        "ratchet": False,
    }
    g = changes["g"].to_numpy(float) if n else np.array([])
    if n >= 4 and (g > 0).any() and (g < 0).any():
        x = np.column_stack([np.ones(n), np.maximum(g, 0), np.minimum(g, 0)])
        y = changes["dq"].to_numpy(float)
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        b_up, b_down = float(coef[1]), float(coef[2])
        df = n - 3
        # t of c'b with c = (0, 1, -1): se^2 = s^2 c'(X'X)^-1 c, s^2 = RSS / (n - 3)
        c = np.array([0.0, 1.0, -1.0])
        s2 = float(((y - x @ coef) ** 2).sum()) / df if df > 0 else np.nan
        se = np.sqrt(s2 * float(c @ np.linalg.pinv(x.T @ x) @ c))
        t = (b_up - b_down) / se if se > 0 else np.nan
        p = float(stats.t.sf(t, df)) if df > 0 and np.isfinite(t) else np.nan
        row.update(
            b_up=b_up,
            b_down=b_down,
            asymmetry=b_up - b_down,
            p_value=p,
            ratchet=bool(b_up > b_down and p < 0.05),
        )
    return pd.DataFrame([row])
