"""Rolling-origin backtests: how accurate each forecasting method has been on this very series.

For ``origins`` = K and horizon h on a series of n points, the k-th origin (k = 1..K) fits on the
first n - h - K + k points and forecasts the next h (fewer at the end of the series: every
origin is scored on the h points after it, so the last origin ends exactly at the last point).
Origins whose training part is shorter than :data:`MIN_TRAIN` points are skipped.

Every origin's forecast is made as :func:`spmlib.forecast.predict.forecast` makes it: fitted on
the origin's training part, intervals calibrated on a backtest inside that part, ``auto``
selected there (:mod:`spmlib.forecast.calibrate`); so the scores are those of the forecasts a
user would have got. Scores are defined in :mod:`spmlib.forecast.scores`.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spmlib.forecast.calibrate import CALIBRATION_ORIGINS, predict_series
from spmlib.forecast.methods import METHODS, get_method
from spmlib.forecast.scores import BACKTEST_COLUMNS, ERROR_COLUMNS, accuracy, error_rows
from spmlib.forecast.series import DEFAULT_HORIZON, SEASON, _series_freq, series_keys
from spmlib.forecast.threads import single_threaded

__all__ = [
    "MIN_TRAIN",
    "BACKTEST_COLUMNS",
    "backtest_errors",
    "accuracy",
    "backtest",
    "skill_vs_snaive",
]

log = logging.getLogger(__name__)

#: Fewest training points for a backtest origin.
MIN_TRAIN = 4


def backtest_errors(
    y: np.ndarray | pd.Series,
    m: int,
    h: int,
    origins: int = 6,
    methods: list[str] | tuple[str, ...] | None = None,
    calibration: int = CALIBRATION_ORIGINS,
) -> pd.DataFrame:
    """Forecasts and actuals of every method at every rolling origin (the backtest detail).

    Parameters
    ----------
    y : the series, oldest first.
    m : seasonal period.
    h : horizon.
    origins : number of origins K (the last K possible ones).
    methods : names from :data:`~spmlib.forecast.methods.METHODS`, or ``"auto"``; None = all
        (without auto). ``"auto"`` is scored honestly (nested): at each origin it applies its
        selection rule to that origin's training part only.
    calibration : the inner origins that calibrate each forecast's intervals (0 = intervals as
        the model gives them), as in :func:`spmlib.forecast.calibrate.predict_series`.

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
    candidates = [x for x in names if x not in ("auto", "combo")] or None
    n = len(y)
    sizes = [n - h - origins + k for k in range(1, origins + 1)]
    sizes = [s for s in sizes if s >= MIN_TRAIN]
    rows = []
    for k, size in enumerate(sizes, start=1):
        train, test = y[:size], y[size : size + h]
        for name in names:
            f = predict_series(train, h, m, name, calibration, candidates).forecast
            rows.append(error_rows(name, k, train, test, f, m))
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in ERROR_COLUMNS})
    out = pd.concat(rows, ignore_index=True)
    out["method"] = out["method"].astype("string")
    return out


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
    with single_threaded():
        for key, part in parts:
            key = key if isinstance(key, tuple) else (key,)
            y = part.sort_values("period_start").loc[lambda d: d["complete"], "value"]
            errors = backtest_errors(y.to_numpy(float), SEASON[code], h, origins, names)
            table = accuracy(errors, names)
            for k, v in zip(keys, key, strict=True):
                table[k] = v
            out.append(table)
    result = pd.concat(out, ignore_index=True)[[*keys, *BACKTEST_COLUMNS]]
    for k in keys:
        result[k] = result[k].astype(series[k].dtype)
    return result
