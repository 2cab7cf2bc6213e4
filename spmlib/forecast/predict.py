"""Forecast each series of a series frame with calibrated prediction intervals
(:mod:`spmlib.forecast.calibrate`: ``method="auto"`` is the combination unless a backtest gives
strong evidence for another method)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from spmlib.core.periods import period_step
from spmlib.exceptions import ParameterError, UnknownNameError
from spmlib.forecast.calibrate import CALIBRATION_ORIGINS, predict_series
from spmlib.forecast.methods import METHODS
from spmlib.forecast.series import DEFAULT_HORIZON, SEASON, _series_freq, series_keys
from spmlib.forecast.threads import single_threaded

__all__ = ["Forecast", "forecast", "FORECAST_COLUMNS"]

log = logging.getLogger(__name__)

FORECAST_COLUMNS = [
    "period",
    "method",
    "forecast",
    "lower_80",
    "upper_80",
    "lower_95",
    "upper_95",
]


@dataclass(frozen=True)
class Forecast:
    """What :func:`forecast` returns.

    Attributes
    ----------
    table : one row per group and future period: the group columns, ``period`` (period start),
        ``method`` (the method used, after any fallback), ``forecast``, ``lower_80``,
        ``upper_80``, ``lower_95``, ``upper_95``.
    freq : the frequency code (``M``, ``Q``, ``W``).
    selection : per group, the calibration backtest of the methods scored (every candidate for
        ``"auto"``, else the method asked for; :func:`spmlib.forecast.scores.accuracy` columns,
        intervals before calibration) with the ``chosen`` method marked, and ``factor_80`` /
        ``factor_95``, the interval width factors applied to the chosen method.
    notes : each group (a tuple of its values) mapped to the reason a method fell back.
    """

    table: pd.DataFrame
    freq: str
    selection: pd.DataFrame | None = None
    notes: dict[tuple, str] = field(default_factory=dict)


def _future_periods(last: pd.Timestamp, h: int, code: str) -> pd.Series:
    return pd.Series([last + period_step(code) * (i + 1) for i in range(h)], dtype="datetime64[ns]")


def forecast(
    series: pd.DataFrame,
    horizon: int | None = None,
    method: str = "auto",
    freq: str | None = None,
    origins: int = CALIBRATION_ORIGINS,
    candidates: list[str] | tuple[str, ...] | None = None,
) -> Forecast:
    """Forecast each series of a series frame ``horizon`` periods ahead with intervals.

    Parameters
    ----------
    series : output of :func:`bookings_series` or :func:`series_from_frame`.
    horizon : periods ahead, counted from the first incomplete period (if any, it is the first
        forecast period); None = 6 months, 4 quarters or 13 weeks.
    method : a key of :data:`spmlib.forecast.methods.METHODS` or ``"auto"`` (the combination
        unless a candidate wins the backtest by the rule of :mod:`spmlib.forecast.calibrate`).
    freq : ``"M"``, ``"Q"``, ``"W"``; None = the series' own.
    origins : backtest origins that calibrate the intervals and inform ``"auto"`` (0 = the
        models' own intervals, no selection).
    candidates : methods ``"auto"`` may choose instead of the combination; None =
        :data:`spmlib.forecast.calibrate.CANDIDATES`.

    Returns
    -------
    Forecast : the forecast table, the frequency, the backtest selection of ``"auto"`` and the
    fallback notes.

    Notes
    -----
    Only complete periods are fitted; each group's forecast starts the period after its own last
    complete period. Forecasts and bounds are clipped at 0 when the history has no negative
    value. Native thread pools are limited to one thread while fitting
    (:func:`spmlib.forecast.threads.single_threaded`).

    Examples
    --------
    >>> s = pd.DataFrame({"period_start": pd.date_range("2024-01-01", periods=4, freq="MS"),
    ...                   "value": [3.0, 3.0, 3.0, 3.0], "complete": True})
    >>> forecast(s, horizon=2, method="naive").table[["method", "forecast", "lower_95"]]
      method  forecast  lower_95
    0  naive       3.0       3.0
    1  naive       3.0       3.0
    """
    code = _series_freq(series, freq)
    m = SEASON[code]
    h = int(horizon or DEFAULT_HORIZON[code])
    if method != "auto" and method not in METHODS:
        raise UnknownNameError("forecast method", method, [*METHODS, "auto"])
    keys = series_keys(series)
    rows, notes, selections = [], {}, []
    groups = series.groupby(keys, sort=False, dropna=False) if keys else [((), series)]
    if candidates is not None:
        candidates = [c for c in dict.fromkeys(candidates) if c not in ("auto", "combo")]
    with single_threaded():  # once: entering costs tens of milliseconds
        for key, part in groups:
            key = key if isinstance(key, tuple) else (key,)
            part = part.sort_values("period_start")
            hist = part[part["complete"]]
            if hist.empty:
                raise ParameterError("no complete period to fit; the series needs at least one.")
            y = hist["value"].to_numpy(float)
            pred = predict_series(y, h, m, method, origins, candidates)
            out = pred.forecast
            selections.append(
                pred.selection.assign(
                    factor_80=pred.factor_80,
                    factor_95=pred.factor_95,
                    **dict(zip(keys, key, strict=True)),
                )
            )
            future = _future_periods(hist["period_start"].iloc[-1], h, code)
            frame = pd.DataFrame(
                {
                    "period": future,
                    "method": out.method,
                    "forecast": out.mean,
                    "lower_80": out.lower_80,
                    "upper_80": out.upper_80,
                    "lower_95": out.lower_95,
                    "upper_95": out.upper_95,
                }
            )
            for k, v in zip(keys, key, strict=True):
                frame[k] = v
            rows.append(frame)
            if out.note:
                notes[key] = out.note
                log.info("forecast %s: %s", key or "series", out.note)
    result = pd.concat(rows, ignore_index=True)[[*keys, *FORECAST_COLUMNS]]
    for k in keys:
        result[k] = result[k].astype(series[k].dtype)
    result["method"] = result["method"].astype("string")
    sel = pd.concat(selections, ignore_index=True)
    selection = sel[[*keys, *[c for c in sel.columns if c not in keys]]]
    return Forecast(table=result, freq=code, selection=selection, notes=notes)
