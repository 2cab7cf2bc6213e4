"""Forecast each series of a series frame with prediction intervals (``method="auto"`` picks the
method by a rolling-origin backtest, :mod:`spmlib.forecast.backtest`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from spmlib.core.periods import period_step
from spmlib.exceptions import ParameterError, UnknownNameError
from spmlib.forecast.backtest import select_method
from spmlib.forecast.methods import METHODS, fit_method
from spmlib.forecast.series import DEFAULT_HORIZON, SEASON, _series_freq, series_keys

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
    selection : the backtest table of ``method="auto"`` per group (None otherwise), with the
        ``chosen`` method marked.
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
    origins: int = 6,
    candidates: list[str] | tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Forecast each series of a series frame ``horizon`` periods ahead with intervals.

    Parameters
    ----------
    series : output of :func:`bookings_series` or :func:`series_from_frame`.
    horizon : periods ahead, counted from the first incomplete period (if any, it is the first
        forecast period); None = 6 months, 4 quarters or 13 weeks.
    method : a key of :data:`spmlib.forecast.methods.METHODS` or ``"auto"`` (the lowest
        backtest MASE among ``candidates``, see :func:`spmlib.forecast.backtest.select_method`).
    freq : ``"M"``, ``"Q"``, ``"W"``; None = the series' own.
    origins : backtest origins used by ``"auto"``.
    candidates : methods compared by ``"auto"``; None = all.

    Returns
    -------
    Forecast : the forecast table, the frequency, the backtest selection of ``"auto"`` and the
    fallback notes.

    Notes
    -----
    Only complete periods are fitted. Forecasts and bounds are clipped at 0 when the history
    has no negative value.

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
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        part = part.sort_values("period_start")
        hist = part[part["complete"]]
        if hist.empty:
            raise ParameterError("no complete period to fit; the series needs at least one.")
        y = hist["value"].to_numpy(float)
        chosen = method
        if method == "auto":
            table, chosen = select_method(y, m, h=h, origins=origins, candidates=candidates)
            selections.append(table.assign(**dict(zip(keys, key, strict=True))))
        out = fit_method(chosen, y, h, m)
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
    selection = None
    if selections:
        sel = pd.concat(selections, ignore_index=True)
        selection = sel[[*keys, *[c for c in sel.columns if c not in keys]]]
    return Forecast(table=result, freq=code, selection=selection, notes=notes)
