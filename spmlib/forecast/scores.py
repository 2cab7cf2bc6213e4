"""Accuracy scores of forecasts against actuals: the one definition used by the backtest, the
calibration and ``auto``.

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

import numpy as np
import pandas as pd

from spmlib.forecast.methods import MethodForecast

__all__ = ["BACKTEST_COLUMNS", "ERROR_COLUMNS", "scale_of", "error_rows", "accuracy"]

#: Columns of :func:`accuracy`.
BACKTEST_COLUMNS = ["method", "mase", "smape", "bias", "coverage_80", "coverage_95", "origins"]
#: Columns of a backtest's detail (one row per method, origin and step).
ERROR_COLUMNS = ["method", "origin", "train_size", "step", "actual", "forecast"]
ERROR_COLUMNS += ["lower_80", "upper_80", "lower_95", "upper_95", "scale"]


def scale_of(train: np.ndarray, m: int) -> float:
    """In-sample MAE of the seasonal naive forecast (lag m; lag 1 when ``train`` has m points or
    fewer); NaN when ``train`` is too short.

    Examples
    --------
    >>> scale_of(np.array([1.0, 5.0, 2.0, 6.0, 4.0]), 2)  # |2-1|, |6-5|, |4-2|
    1.333...
    """
    lag = m if m > 1 and len(train) > m else 1
    if len(train) <= lag:
        return np.nan
    return float(np.mean(np.abs(train[lag:] - train[:-lag])))


def error_rows(
    name: str, origin: int, train: np.ndarray, test: np.ndarray, f: MethodForecast, m: int
) -> pd.DataFrame:
    """The backtest detail of one forecast ``f`` made on ``train`` and scored on ``test``
    (columns :data:`ERROR_COLUMNS`)."""
    k = len(test)
    return pd.DataFrame(
        {
            "method": name,
            "origin": origin,
            "train_size": len(train),
            "step": np.arange(1, k + 1),
            "actual": test,
            "forecast": f.mean[:k],
            "lower_80": f.lower_80[:k],
            "upper_80": f.upper_80[:k],
            "lower_95": f.lower_95[:k],
            "upper_95": f.upper_95[:k],
            "scale": scale_of(train, m),
        }
    )


def accuracy(errors: pd.DataFrame, methods: list[str] | None = None) -> pd.DataFrame:
    """Accuracy per method from :func:`backtest_errors` (definitions in the module docstring).

    Returns
    -------
    DataFrame with ``method``, ``mase``, ``smape``, ``bias``, ``coverage_80``, ``coverage_95``
    (floats) and ``origins`` (int), one row per method in ``methods`` order (methods without
    any origin get NaN metrics and 0 origins).

    Examples
    --------
    >>> from spmlib.forecast.methods import naive
    >>> y = np.arange(1.0, 9.0)  # origins after 5 and 6 points, 2 steps each
    >>> e = pd.concat([error_rows("naive", k, y[:n], y[n : n + 2], naive(y[:n], 2, 1), 1)
    ...                for k, n in ((1, 5), (2, 6))])
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
