"""How much each team's quarters depart from the company-wide pipeline model (pure arithmetic
on small frames, so each estimator has a known-answer test).

The pipeline Monte Carlo gives each open deal the company-wide rate at which deals in its stage
and age were won by their period's end. A team whose reps win more (or close faster) than the
company is then under-forecast quarter after quarter, and a team's quarter swings more than its
deals do independently. Both are measured on past snapshot periods, from one row per period p
and team t with E_tp (what the model expected: the sum of probability x amount), A_tp (what
those deals brought) and V_tp (the variance independent deals would give):

- :func:`team_factors`: each team's lasting ratio of actual to expected, beyond what moved every
  team alike that period, shrunk toward 1 by a random-effects (method of moments) rule;
- :func:`team_shock_sd`: the sd of a shock common to one team's period, beyond the company's
  swing, the team's factor and its deals' independent noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MIN_PERIODS", "team_factors", "team_shock_sd"]

#: Fewest past periods with an expectation before a team gets a factor other than 1 (and
#: before a team shock is measured): with fewer, a team's scatter from quarter to quarter, and
#: so the factor's standard error, rests on 3 degrees of freedom or less.
MIN_PERIODS = 5


def _others_ratio(per: pd.DataFrame) -> pd.Series:
    """Per row (period p, team t): k_p without t = sum over the other teams of A / E that period
    (1 when the other teams expected nothing)."""
    tot = per.groupby("period")[["expected", "actual"]].transform("sum")
    e, a = tot["expected"] - per["expected"], tot["actual"] - per["actual"]
    return (a / e.where(e > 0)).fillna(1.0)


def team_factors(per: pd.DataFrame, min_periods: int = MIN_PERIODS) -> pd.DataFrame:
    """Each team's lasting factor on its deals' win probabilities.

    For team t in period p, e_tp = k_p E_tp is what the model expected once the period's swing
    is known, k_p = (sum of A / sum of E over the *other* teams that period): a strong quarter
    for everyone is the company's shock, not the team's. Over the P periods with E_tp > 0:

    - raw factor F_t = sum_p A_tp / sum_p e_tp;
    - its squared standard error se_t^2 = P / (P - 1) sum_p (A_tp - F_t e_tp)^2 / (sum_p e_tp)^2
      (the ratio estimator's, from the team's own quarter-to-quarter scatter);
    - the true factors' spread around 1, tau^2 = max(0, mean_t (F_t - 1)^2 - mean_t se_t^2)
      (method of moments over the teams);
    - ``factor`` = 1 + w_t (F_t - 1), with w_t = tau^2 / (tau^2 + se_t^2).

    A team with fewer than ``min_periods`` such periods, or a dataset with one team, keeps 1.
    The factors are relative to the other teams; the simulation rescales them so that they move
    expected bookings between teams, not the company's total
    (:func:`spmlib.forecast.pipeline.pipeline_forecast`).

    Parameters
    ----------
    per : one row per period and team with ``period``, ``team``, ``expected``, ``actual``.
    min_periods : :data:`MIN_PERIODS` unless told.

    Returns
    -------
    DataFrame with ``team``, ``periods``, ``raw`` (F, NaN when not measured), ``se``,
    ``weight`` (w) and ``factor``, one row per team, sorted by team.

    Examples
    --------
    Two teams over three periods, each expected 100 a period. Team a brought 120, 140, 130 and
    team b 80, 100, 90, so k_p (the other team's ratio) is 0.8, 1.0, 0.9 for a and 1.2, 1.4, 1.3
    for b: F_a = 390 / 270 = 1.444 and F_b = 270 / 390 = 0.692. se_a^2 = 1.5 x (4.44^2 + 4.44^2
    + 0) / 270^2 = 8.1e-4, se_b^2 = 1.5 x (3.08^2 + 3.08^2 + 0) / 390^2 = 1.9e-4;
    tau^2 = (0.1975 + 0.0947) / 2 - 5.0e-4 = 0.1456, so w is 0.9944 and 0.9987.

    >>> per = pd.DataFrame({"period": [1, 1, 2, 2, 3, 3], "team": ["a", "b"] * 3,
    ...     "expected": [100.0] * 6, "actual": [120.0, 80, 140, 100, 130, 90]})
    >>> t = team_factors(per, min_periods=3)
    >>> t["raw"].round(4).tolist(), t["weight"].round(4).tolist(), t["factor"].round(4).tolist()
    ([1.4444, 0.6923], [0.9944, 0.9987], [1.442, 0.6927])
    """
    per = per[per["expected"] > 0]
    codes, teams = pd.factorize(per["team"], sort=True)
    k = len(teams)
    n = np.bincount(codes, minlength=k)
    raw, se, weight, factor = np.full(k, np.nan), np.full(k, np.nan), np.zeros(k), np.ones(k)
    if k >= 2:
        e = (per["expected"] * _others_ratio(per)).to_numpy(float)
        actual = per["actual"].to_numpy(float)
        e_sum = np.bincount(codes, e, minlength=k)
        ok = (n >= min_periods) & (e_sum > 0)
        raw[ok] = np.bincount(codes, actual, minlength=k)[ok] / e_sum[ok]
        resid2 = np.bincount(codes, (actual - raw[codes] * e) ** 2, minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            se[ok] = np.sqrt(n[ok] / (n[ok] - 1) * resid2[ok] / e_sum[ok] ** 2)
        if ok.sum() >= 2:
            tau2 = max(0.0, float(np.mean((raw[ok] - 1) ** 2) - np.mean(se[ok] ** 2)))
            if tau2 > 0:
                weight[ok] = tau2 / (tau2 + se[ok] ** 2)
                factor[ok] = 1 + weight[ok] * (raw[ok] - 1)
    return pd.DataFrame(
        {"team": teams, "periods": n, "raw": raw, "se": se, "weight": weight, "factor": factor}
    )


def team_shock_sd(per: pd.DataFrame, min_periods: int = MIN_PERIODS) -> float:
    """The sd of a shock common to one team's period, beyond the company's swing.

    For each period p and team t, the team's factor f_t is measured by :func:`team_factors` on
    the *other* periods (so the factor's own error counts, as a forecast meets it), and
    x_tp = f_t k_p E_tp is the expectation once the other teams' swing k_p is known. What the
    team brought beyond it, less its deals' independent variance, is the team's shock:

        team_shock_sd^2 = max(0, sum_tp [(A_tp - x_tp)^2 - V_tp] / sum_tp x_tp^2)

    (method of moments, team-periods weighted by their size). 0 with one team or fewer than
    ``min_periods`` periods; the factors left out one period need ``min_periods - 1``.

    Parameters
    ----------
    per : one row per period and team with ``period``, ``team``, ``expected``, ``variance``,
        ``actual``.
    min_periods : :data:`MIN_PERIODS` unless told.

    Examples
    --------
    Two teams over three periods, each expected 100 with no independent variance. Team a
    brought 110, 90, 100 and b 90, 110, 100. Leaving period 1 out, a's raw factor is
    190 / (1.1 x 100 + 1.0 x 100) = 0.905 with se^2 = 0.0082 and b's 210 / 190 = 1.105 with
    se^2 = 0.0123: tau^2 = (0.0091 + 0.0111) / 2 - 0.0103 < 0, so both factors are 1 (likewise
    leaving out period 2 or 3). k_p is the other team's ratio, so x_a = 90, 110, 100 and
    x_b = 110, 90, 100: residuals 20, -20, 0 and -20, 20, 0, so
    sd^2 = 1600 / (2 x (90^2 + 110^2 + 100^2)) = 1600 / 60400 (sd 0.1628).

    >>> per = pd.DataFrame({"period": [1, 1, 2, 2, 3, 3], "team": ["a", "b"] * 3,
    ...     "expected": [100.0] * 6, "variance": [0.0] * 6,
    ...     "actual": [110.0, 90, 90, 110, 100, 100]})
    >>> round(team_shock_sd(per, min_periods=3), 4)
    0.1628
    >>> team_shock_sd(per)  # fewer than MIN_PERIODS periods: not measured
    0.0
    """
    per = per[per["expected"] > 0]
    if per["team"].nunique() < 2 or per["period"].nunique() < min_periods:
        return 0.0
    x = per["expected"] * _others_ratio(per)
    factor = pd.Series(1.0, index=per.index)
    for p in per["period"].unique():
        rows = per["period"] == p
        f = team_factors(per[~rows], min_periods - 1).set_index("team")["factor"]
        factor[rows] = per.loc[rows, "team"].map(f).fillna(1.0).to_numpy()
    x = x * factor
    x2 = float((x**2).sum())
    if x2 <= 0:
        return 0.0
    excess = float(((per["actual"] - x) ** 2 - per["variance"]).sum())
    return float(np.sqrt(max(0.0, excess / x2)))
