"""Rates with honest uncertainty: Wilson intervals, group-vs-rest tests, empirical-Bayes shrinkage.

Every rate the workbench shows goes through these three functions, so that funnel, productivity
and scorecard numbers agree and a rep with 2 wins out of 2 never tops a ranking.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "wilson_interval",
    "normal_quantile",
    "rate_table",
    "compare_to_rest",
    "adjust_p_values",
    "fit_beta_prior",
    "shrink_rates",
]

log = logging.getLogger(__name__)


def wilson_interval(
    successes: Sequence[float] | np.ndarray | pd.Series,
    trials: Sequence[float] | np.ndarray | pd.Series,
    alpha: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``successes / trials``, elementwise.

    Parameters
    ----------
    successes, trials : counts of the same length; trials of 0 give NaN bounds.
    alpha : 1 - confidence level (0.05 for a 95% interval).

    Returns
    -------
    (low, high) : two float arrays.

    Notes
    -----
    Wilson (1927): centre (p + z²/2n) / (1 + z²/n), half-width
    z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n). Unlike the normal (Wald) interval it stays inside
    [0, 1] and is honest for small n and for p near 0 or 1. Computed as statsmodels'
    ``proportion_confint(method="wilson")`` computes it, operation for operation, so the bounds
    are the same to the last bit (a test checks it); z is :func:`normal_quantile`.

    Examples
    --------
    >>> low, high = wilson_interval([2, 0], [2, 0])
    >>> round(float(low[0]), 3), round(float(high[0]), 3), bool(np.isnan(low[1]))
    (0.342, 1.0, True)
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    ok = n > 0
    if ok.any():
        k, n = k[ok], n[ok]
        q = k / n
        crit = normal_quantile(alpha / 2.0)
        crit2 = crit**2
        denom = 1 + crit2 / n
        center = (q + crit2 / (2 * n)) / denom
        dist = crit * np.sqrt(q * (1.0 - q) / n + crit2 / (4.0 * n**2))
        dist /= denom
        low[ok], high[ok] = np.clip(center - dist, 0, 1), np.clip(center + dist, 0, 1)
    return low, high


#: Upper-tail standard normal quantiles of the usual levels, as ``scipy.stats.norm.isf`` gives
#: them (a test checks they are equal): importing scipy.stats costs more than a whole
#: ``spm kpis`` on a million deals, for one number.
_NORMAL_ISF = {0.025: 1.9599639845400545, 0.05: 1.6448536269514729, 0.1: 1.2815515655446004}


def normal_quantile(tail: float) -> float:
    """z such that P(Z > z) = ``tail`` for a standard normal Z (``scipy.stats.norm.isf``).

    Examples
    --------
    >>> round(normal_quantile(0.025), 6)
    1.959964
    """
    if tail in _NORMAL_ISF:
        return _NORMAL_ISF[tail]
    from scipy import stats

    return float(stats.norm.isf(tail))


def rate_table(
    data: pd.DataFrame, successes: str, trials: str, name: str = "rate", alpha: float = 0.05
) -> pd.DataFrame:
    """Copy of ``data`` with ``name``, ``name_low`` and ``name_high`` appended.

    ``name`` = successes / trials (NaN when trials is 0); the bounds are the Wilson interval.

    Examples
    --------
    >>> df = pd.DataFrame({"won": [3, 0], "closed": [4, 0]})
    >>> rate_table(df, "won", "closed", "win_rate").round(3)
       won  closed  win_rate  win_rate_low  win_rate_high
    0    3       4      0.75         0.301          0.954
    1    0       0       NaN           NaN            NaN
    """
    out = data.copy()
    k = out[successes].to_numpy(dtype=float)
    n = out[trials].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[name] = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
    out[f"{name}_low"], out[f"{name}_high"] = wilson_interval(k, n, alpha)
    return out


def compare_to_rest(
    data: pd.DataFrame,
    successes: str,
    trials: str,
    parent: str | Sequence[str] | None = None,
    method: str = "holm",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Test each row's rate against the pooled rate of the other rows of its parent group.

    Parameters
    ----------
    data : one row per group (e.g. per rep) with success and trial counts.
    successes, trials : count columns.
    parent : column(s) defining the parent (e.g. ``"team"`` for rep vs rest of team);
        None compares every row with all the others.
    method : multiple-testing correction of :func:`statsmodels.stats.multitest.multipletests`,
        applied within each parent group ("holm" by default; "fdr_bh" for many groups).
    alpha : significance level after correction.

    Returns
    -------
    Copy of ``data`` with columns ``rest_rate``, ``p_value``, ``p_adjusted``, ``significant``
    (bool) and ``direction`` ("above", "below" or "" when not significant).

    Notes
    -----
    Two-proportion z-test (statsmodels ``proportions_ztest``) of k/n against
    (K-k)/(N-n), where K and N are the parent's totals. When an expected cell count is below 5 the
    z-test is unreliable, so Fisher's exact test (scipy) is used for that row instead. Rows with no
    trials, or whose rest has none, get p = NaN and are never significant.

    Examples
    --------
    >>> df = pd.DataFrame({"rep": ["a", "b", "c"], "won": [45, 20, 32], "closed": [60, 60, 60]})
    >>> compare_to_rest(df, "won", "closed")[["rep", "direction"]]
      rep direction
    0   a     above
    1   b     below
    2   c
    """
    out = data.copy()
    keys = [parent] if isinstance(parent, str) else list(parent or [])
    by = keys[0] if len(keys) == 1 else keys
    groups = out.groupby(by, sort=False, dropna=False).groups if keys else {None: out.index}
    out["rest_rate"] = np.nan
    out["p_value"] = np.nan
    out["p_adjusted"] = np.nan
    for idx in groups.values():
        k = out.loc[idx, successes].to_numpy(dtype=float)
        n = out.loc[idx, trials].to_numpy(dtype=float)
        rk, rn = k.sum() - k, n.sum() - n
        p = np.full(len(k), np.nan)
        for i in range(len(k)):
            if n[i] <= 0 or rn[i] <= 0:
                continue
            p[i] = _two_proportion_p(k[i], n[i], rk[i], rn[i])
        with np.errstate(invalid="ignore", divide="ignore"):
            out.loc[idx, "rest_rate"] = np.where(rn > 0, rk / np.where(rn > 0, rn, 1), np.nan)
        out.loc[idx, "p_value"] = p
        valid = ~np.isnan(p)
        if valid.any():
            adj = np.full(len(p), np.nan)
            adj[valid] = adjust_p_values(p[valid], method=method, alpha=alpha)
            out.loc[idx, "p_adjusted"] = adj
    sig = out["p_adjusted"].lt(alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        own = out[successes].astype(float) / out[trials].astype(float).where(out[trials] > 0)
    out["significant"] = sig.astype(bool)
    out["direction"] = np.where(sig & (own > out["rest_rate"]), "above", "")
    out["direction"] = np.where(sig & (own < out["rest_rate"]), "below", out["direction"])
    return out


def adjust_p_values(p_values: np.ndarray, method: str = "holm", alpha: float = 0.05) -> np.ndarray:
    """Multiple-testing adjusted p-values, as statsmodels ``multipletests(...)[1]`` gives them.

    Holm's step-down adjustment is computed here in NumPy: statsmodels' own runs a full
    ``gc.collect()`` on every call, which costs 0.1-0.3 s and dominates group comparisons.
    Every other method is passed to statsmodels.

    Examples
    --------
    >>> adjust_p_values(np.array([0.01, 0.04, 0.03])).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    if method != "holm":
        from statsmodels.stats.multitest import multipletests

        return multipletests(p, alpha=alpha, method=method)[1]
    order = np.argsort(p)
    stepped = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    out = np.empty_like(p)
    out[order] = np.minimum(stepped, 1.0)
    return out


def _two_proportion_p(k1: float, n1: float, k2: float, n2: float) -> float:
    from scipy import stats
    from statsmodels.stats.proportion import proportions_ztest

    pooled = (k1 + k2) / (n1 + n2)
    expected = np.array([n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled)])
    if pooled in (0.0, 1.0):
        return 1.0
    if (expected < 5).any():
        table = [[int(k1), int(n1 - k1)], [int(k2), int(n2 - k2)]]
        return float(stats.fisher_exact(table).pvalue)
    return float(proportions_ztest([k1, k2], [n1, n2])[1])


def fit_beta_prior(successes: np.ndarray, trials: np.ndarray) -> tuple[float, float]:
    """Fit the Beta(a, b) prior of a beta-binomial model to group counts by maximum likelihood.

    Returns ``(a, b)``. With fewer than two groups with trials, or when the groups show no
    more spread than binomial noise, the prior is very strong (all groups shrink to the pooled
    rate); a warning-free fallback to the method of moments is used when the optimiser fails.

    Examples
    --------
    >>> a, b = fit_beta_prior(np.array([10, 20, 30]), np.array([100, 100, 100]))
    >>> round(a / (a + b), 2)
    0.2
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    keep = n > 0
    k, n = k[keep], n[keep]
    pooled = k.sum() / n.sum() if n.sum() > 0 else 0.5
    pooled = min(max(pooled, 1e-6), 1 - 1e-6)
    if len(k) < 2:
        return pooled * 1e6, (1 - pooled) * 1e6
    from scipy import optimize, stats

    def nll(theta: np.ndarray) -> float:
        a, b = np.exp(theta)
        return -float(stats.betabinom.logpmf(k, n, a, b).sum())

    start = np.log([pooled * 10, (1 - pooled) * 10])
    res = optimize.minimize(nll, start, method="Nelder-Mead", options={"maxiter": 2000})
    a, b = (float(v) for v in np.exp(res.x))
    if not res.success or not np.isfinite([a, b]).all():
        log.debug("beta prior ML fit failed (%s); using the method of moments", res.message)
        rates = k / n
        var = max(rates.var(ddof=1) - np.mean(pooled * (1 - pooled) / n), 1e-9)
        strength = max(pooled * (1 - pooled) / var - 1, 1e-3)
        a, b = pooled * strength, (1 - pooled) * strength
    # a + b is capped: beyond this the prior means "no detectable spread between groups".
    mean, total = a / (a + b), min(a + b, 1e6)
    return float(mean * total), float((1 - mean) * total)


def shrink_rates(
    data: pd.DataFrame,
    successes: str,
    trials: str,
    name: str = "rate",
    prior: tuple[float, float] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Empirical-Bayes (beta-binomial) shrunken rates, for ranking groups of unequal size.

    Parameters
    ----------
    data : one row per group with success and trial counts.
    successes, trials : count columns.
    name : base name of the output columns.
    prior : (a, b) of the Beta prior; fitted over the rows of ``data`` by
        :func:`fit_beta_prior` when None.
    alpha : 1 - level of the posterior (credible) interval.

    Returns
    -------
    Copy of ``data`` with ``{name}_shrunk`` = (k + a) / (n + a + b), the posterior mean, and
    ``{name}_shrunk_low`` / ``{name}_shrunk_high``, the equal-tailed posterior interval of
    Beta(a + k, b + n - k).

    Notes
    -----
    A group with few trials is pulled strongly toward the prior mean a / (a + b); a large group
    keeps nearly its raw rate. So 2 wins out of 2 ranks below 60 out of 80.

    Examples
    --------
    >>> df = pd.DataFrame({"rep": ["a", "b", "c"], "won": [2, 60, 30], "closed": [2, 80, 100]})
    >>> out = shrink_rates(df, "won", "closed", "win_rate", prior=(5.0, 5.0))
    >>> out["win_rate_shrunk"].round(3).tolist()
    [0.583, 0.722, 0.318]
    """
    from scipy import stats

    out = data.copy()
    k = out[successes].to_numpy(dtype=float)
    n = out[trials].to_numpy(dtype=float)
    a, b = prior if prior is not None else fit_beta_prior(k, n)
    out[f"{name}_shrunk"] = (k + a) / (n + a + b)
    out[f"{name}_shrunk_low"] = stats.beta.ppf(alpha / 2, a + k, b + n - k)
    out[f"{name}_shrunk_high"] = stats.beta.ppf(1 - alpha / 2, a + k, b + n - k)
    return out
