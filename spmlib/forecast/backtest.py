"""Rolling-origin backtests: how accurate each forecasting method has been on this very series.

For ``origins`` = K and horizon h on a series of n points, the k-th origin (k = 1..K) fits on the
first n - h - K + k points and forecasts the next h (fewer at the end of the series: every
origin is scored on the h points after it, so the last origin ends exactly at the last point).
Origins whose training part is shorter than :data:`MIN_TRAIN` points are skipped.

Metrics (per method, over all origins):

- ``mase``: mean absolute scaled error. At each origin, MAE of the h forecasts divided by the
  in-sample MAE of the seasonal naive forecast on that origin's training part (lag m; lag 1 when
  the training part is shorter than m + 1 points), then averaged over origins (as in M4). An origin
  whose scale is 0 (a flat training part) counts as 0 when its errors are 0, and is skipped
  otherwise. Below 1 the method beat the in-sample seasonal naive.
- ``smape``: symmetric MAPE in percent (0-200): mean of 200 |y - f| / (|y| + |f|), 0 when both
  are 0.
- ``bias``: mean percentage error, defined as 100 * sum(f - y) / sum(|y|), so zero actuals need
  no special case; positive means over-forecasting. NaN when every actual is 0.
- ``coverage_80`` / ``coverage_95``: share of actuals inside the 80% / 95% intervals.
- ``origins``: number of origins scored.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spmlib.forecast.methods import METHODS, fit_method, get_method
from spmlib.forecast.series import DEFAULT_HORIZON, SEASON, _series_freq, series_keys

__all__ = [
    "MIN_TRAIN",
    "AUTO_INNER_ORIGINS",
    "BACKTEST_COLUMNS",
    "backtest_errors",
    "accuracy",
    "backtest",
    "select_method",
    "skill_vs_snaive",
]

log = logging.getLogger(__name__)

#: Fewest training points for a backtest origin.
MIN_TRAIN = 4
#: Inner origins of the nested backtest that scores ``"auto"``.
AUTO_INNER_ORIGINS = 4
BACKTEST_COLUMNS = ["method", "mase", "smape", "bias", "coverage_80", "coverage_95", "origins"]


def _scale(train: np.ndarray, m: int) -> float:
    lag = m if m > 1 and len(train) > m else 1
    if len(train) <= lag:
        return np.nan
    return float(np.mean(np.abs(train[lag:] - train[:-lag])))


def backtest_errors(
    y: np.ndarray | pd.Series,
    m: int,
    h: int,
    origins: int = 6,
    methods: list[str] | tuple[str, ...] | None = None,
    hints: dict | None = None,
) -> pd.DataFrame:
    """Forecasts and actuals of every method at every rolling origin (the backtest detail).

    Parameters
    ----------
    y : the series, oldest first.
    m : seasonal period.
    h : horizon.
    origins : number of origins K (the last K possible ones).
    methods : names from :data:`~spmlib.forecast.methods.METHODS`, or ``"auto"``; None = all
        (without auto). ``"auto"`` is scored honestly (nested): at each origin the method is
        selected by an inner backtest on that origin's training part only (the other listed
        methods are the candidates, :data:`AUTO_INNER_ORIGINS` inner origins), then forecast.

    hints : fitted details shared between origins (filled in place): the SARIMA order searched
        at the first origin is reused at the later ones.

    Returns
    -------
    DataFrame with ``method``, ``origin`` (1..K, oldest first), ``train_size``, ``step``
    (1..h), ``actual``, ``forecast``, ``lower_80``, ``upper_80``, ``lower_95``, ``upper_95``,
    ``scale`` (the origin's in-sample seasonal naive MAE). Empty when the series is too short
    for any origin.

    Examples
    --------
    >>> e = backtest_errors(np.arange(1.0, 9.0), 1, 2, origins=2, methods=["naive"])
    >>> e[["origin", "train_size", "step", "actual", "forecast"]]
       origin  train_size  step  actual  forecast
    0       1           5     1     6.0       5.0
    1       1           5     2     7.0       5.0
    2       2           6     1     7.0       6.0
    3       2           6     2     8.0       6.0
    """
    y = np.asarray(y, dtype=float)
    names = list(methods) if methods else list(METHODS)
    for name in names:
        if name != "auto":
            get_method(name)
    n = len(y)
    sizes = [n - h - origins + k for k in range(1, origins + 1)]
    sizes = [s for s in sizes if s >= MIN_TRAIN]
    hints = {} if hints is None else hints
    rows = []
    for k, size in enumerate(sizes, start=1):
        train, test = y[:size], y[size : size + h]
        scale = _scale(train, m)
        cache: dict = {}
        for name in names:
            if name == "auto":
                inner = min(origins, AUTO_INNER_ORIGINS)
                others = [x for x in names if x != "auto"]
                _, chosen = select_method(train, m, h, inner, others, hints=hints)
                f = fit_method(chosen, train, h, m, cache=cache, hints=hints)
            else:
                f = fit_method(name, train, h, m, cache=cache, hints=hints)
            if "arima" in cache and "arima_order" not in hints:
                hints["arima_order"] = cache["arima"].state.get("order")
            steps = len(test)
            rows.append(
                pd.DataFrame(
                    {
                        "method": name,
                        "origin": k,
                        "train_size": size,
                        "step": np.arange(1, steps + 1),
                        "actual": test,
                        "forecast": f.mean[:steps],
                        "lower_80": f.lower_80[:steps],
                        "upper_80": f.upper_80[:steps],
                        "lower_95": f.lower_95[:steps],
                        "upper_95": f.upper_95[:steps],
                        "scale": scale,
                    }
                )
            )
    if not rows:
        cols = ["method", "origin", "train_size", "step", "actual", "forecast"]
        cols += ["lower_80", "upper_80", "lower_95", "upper_95", "scale"]
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    out = pd.concat(rows, ignore_index=True)
    out["method"] = out["method"].astype("string")
    return out


def accuracy(errors: pd.DataFrame, methods: list[str] | None = None) -> pd.DataFrame:
    """Accuracy per method from :func:`backtest_errors` (definitions in the module docstring).

    Returns
    -------
    DataFrame with ``method``, ``mase``, ``smape``, ``bias``, ``coverage_80``, ``coverage_95``
    (floats) and ``origins`` (int), one row per method in ``methods`` order (methods without
    any origin get NaN metrics and 0 origins).

    Examples
    --------
    >>> e = backtest_errors(np.arange(1.0, 9.0), 1, 2, origins=2, methods=["naive"])
    >>> accuracy(e).round(3)
      method  mase   smape    bias  coverage_80  coverage_95  origins
    0  naive   1.5  23.868 -21.429          0.5          1.0        2
    """
    names = list(methods) if methods else list(pd.unique(errors["method"]))
    rows = []
    for name in names:
        e = errors[errors["method"] == name]
        if e.empty:
            rows.append({"method": name, "origins": 0})
            continue
        y, f = e["actual"].to_numpy(float), e["forecast"].to_numpy(float)
        absdiff = np.abs(y - f)
        per_origin = []
        for _, g in e.groupby("origin"):
            mae = float(np.mean(np.abs(g["actual"] - g["forecast"])))
            scale = float(g["scale"].iloc[0])
            if scale > 0:
                per_origin.append(mae / scale)
            elif mae == 0:
                per_origin.append(0.0)
        denom = np.abs(y) + np.abs(f)
        smape = np.where(denom > 0, 200 * absdiff / np.where(denom > 0, denom, 1), 0.0)
        total = np.abs(y).sum()
        rows.append(
            {
                "method": name,
                "mase": float(np.mean(per_origin)) if per_origin else np.nan,
                "smape": float(np.mean(smape)),
                "bias": float(100 * (f - y).sum() / total) if total > 0 else np.nan,
                "coverage_80": float(np.mean((y >= e["lower_80"]) & (y <= e["upper_80"]))),
                "coverage_95": float(np.mean((y >= e["lower_95"]) & (y <= e["upper_95"]))),
                "origins": int(e["origin"].nunique()),
            }
        )
    out = pd.DataFrame(rows).reindex(columns=BACKTEST_COLUMNS)
    out["method"] = out["method"].astype("string")
    for c in BACKTEST_COLUMNS[1:-1]:
        out[c] = out[c].astype(float)
    out["origins"] = out["origins"].fillna(0).astype(int)
    return out


def select_method(
    y: np.ndarray | pd.Series,
    m: int,
    h: int,
    origins: int = 6,
    candidates: list[str] | tuple[str, ...] | None = None,
    hints: dict | None = None,
) -> tuple[pd.DataFrame, str]:
    """Pick the method with the lowest backtest MASE (``method="auto"``).

    Seasonal naive is always backtested too, as the baseline. Ties go to the method listed
    first (the simpler ones come first in the registry). When no origin can be scored (too
    short a series) the choice is seasonal naive (which itself falls back to naive).

    Returns
    -------
    (table, chosen): the :func:`accuracy` table with an extra bool column ``chosen``, and
    the chosen method's name.

    Examples
    --------
    >>> y = np.tile([1.0, 5.0, 2.0, 8.0], 5) + np.repeat(np.arange(5.0), 4)  # +1 per season
    >>> table, chosen = select_method(y, 4, 4, origins=3, candidates=["naive", "snaive"])
    >>> chosen, table["mase"].round(2).tolist()
    ('snaive', [2.92, 1.0])
    """
    names = list(candidates) if candidates else list(METHODS)
    if "snaive" not in names:
        names.append("snaive")
    errors = backtest_errors(y, m, h, origins, names, hints=hints)
    table = accuracy(errors, names)
    scored = table["mase"].fillna(np.inf).to_numpy()
    chosen = names[int(np.argmin(scored))] if np.isfinite(scored).any() else "snaive"
    table["chosen"] = table["method"] == chosen
    return table, chosen


def skill_vs_snaive(table: pd.DataFrame, method: str) -> float:
    """Relative MASE improvement of ``method`` over seasonal naive: 1 - MASE / MASE_snaive.

    0.18 means the method's errors were 18% smaller than seasonal naive's; NaN when either is
    missing or seasonal naive's MASE is 0.

    Examples
    --------
    >>> t = pd.DataFrame({"method": ["snaive", "ets"], "mase": [1.25, 1.0]})
    >>> round(skill_vs_snaive(t, "ets"), 2)
    0.2
    """
    by = table.set_index("method")["mase"]
    if method not in by.index or "snaive" not in by.index:
        return np.nan
    base, value = float(by["snaive"]), float(by[method])
    if not np.isfinite(base) or not np.isfinite(value) or base == 0:
        return np.nan
    return 1 - value / base


def backtest(
    series: pd.DataFrame,
    horizon: int | None = None,
    origins: int = 6,
    methods: list[str] | tuple[str, ...] | None = None,
    freq: str | None = None,
) -> pd.DataFrame:
    """Rolling-origin backtest of each method on each series of a series frame.

    Parameters
    ----------
    series : output of :func:`spmlib.forecast.series.bookings_series` or
        :func:`spmlib.forecast.series.series_from_frame`; only complete periods are used.
    horizon : periods ahead; None = the frequency's default (6 months, 4 quarters, 13 weeks).
    origins : number of rolling origins.
    methods : method names (``"auto"`` allowed, scored by a nested backtest); None = all.
    freq : ``"M"``, ``"Q"``, ``"W"``; None = the series' own.

    Returns
    -------
    DataFrame with the group columns, then ``method``, ``mase``, ``smape``, ``bias``,
    ``coverage_80``, ``coverage_95``, ``origins``.
    """
    code = _series_freq(series, freq)
    h = int(horizon or DEFAULT_HORIZON[code])
    names = list(methods) if methods else list(METHODS)
    keys = series_keys(series)
    parts = series.groupby(keys, sort=False, dropna=False) if keys else [((), series)]
    out = []
    for key, part in parts:
        key = key if isinstance(key, tuple) else (key,)
        y = part.sort_values("period_start").loc[lambda d: d["complete"], "value"]
        table = accuracy(backtest_errors(y.to_numpy(float), SEASON[code], h, origins, names), names)
        for k, v in zip(keys, key, strict=True):
            table[k] = v
        out.append(table)
    result = pd.concat(out, ignore_index=True)[[*keys, *BACKTEST_COLUMNS]]
    for k in keys:
        result[k] = result[k].astype(series[k].dtype)
    return result
