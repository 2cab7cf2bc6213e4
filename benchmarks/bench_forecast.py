"""Forecast benchmark on the M3 monthly series: accuracy, interval coverage and time per method,
against statsforecast's models measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_forecast.py [--limit N] [--methods a,b] [--no-statsforecast]``.

Data: ``SHARED_DATA_DIR/m3_monthly_dev/m3_monthly_dev.csv`` (620 M3 monthly series, MACRO,
FINANCE, DEMOGRAPHIC, OTHER; its SOURCE.md). Every method is fitted on the ``train`` part of each
series and forecasts the official 18-month ``test`` part. Per method, over the series:

- ``mase``: mean over series of MAE(test) / in-sample seasonal naive MAE (m = 12), as in M4;
- ``ratio``: ``mase`` / seasonal naive's ``mase`` (the baseline, measured in the same run);
- ``smape``: mean of 200 |y - f| / (|y| + |f|), in %;
- ``cov80``, ``cov95``: share of test points inside the 80% / 95% intervals (target bands
  0.75-0.85 and 0.92-0.98);
- ``s_per_series``: wall seconds per series, one native thread.

This project's methods run through :func:`spmlib.forecast.calibrate.predict_series` (fit, then
intervals calibrated on a 3-origin backtest of the train part). When statsforecast is
importable, its ``AutoETS``, ``Theta``, ``AutoARIMA`` and ``SeasonalNaive`` (their own intervals)
and the mean of the first three (``sf_mean3``: point forecasts and bounds averaged, time = sum of
the three) are scored on the same series.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np
import pandas as pd

from spmlib.config import SHARED_DATA_DIR
from spmlib.forecast.calibrate import predict_series
from spmlib.forecast.methods import METHODS, warning_counts
from spmlib.forecast.threads import single_threaded

log = logging.getLogger("bench_forecast")
H, M = 18, 12
OURS = [*METHODS, "auto"]


def load_m3(limit: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Series id -> (train, test) from the M3 monthly development set (empty if absent)."""
    path = SHARED_DATA_DIR / "m3_monthly_dev" / "m3_monthly_dev.csv"
    if not path.exists():
        print(f"skip: {path} absent")
        return {}
    t = pd.read_csv(path)
    out = {}
    for key, g in t.groupby("series", sort=False):
        out[key] = (
            g.loc[g["split"] == "train", "value"].to_numpy(float),
            g.loc[g["split"] == "test", "value"].to_numpy(float),
        )
    keys = list(out)
    if limit and limit < len(keys):  # an even spread over the categories, not the first N
        keys = keys[:: len(keys) // limit][:limit]
    return {k: out[k] for k in keys}


def score(train, test, mean, lo80, hi80, lo95, hi95) -> dict:
    """MASE (m = 12), sMAPE and the coverage of one series' forecast."""
    scale = np.mean(np.abs(train[M:] - train[:-M]))
    denom = np.abs(test) + np.abs(mean)
    smape = np.where(denom > 0, 200 * np.abs(test - mean) / np.where(denom > 0, denom, 1), 0)
    return {
        "mase": float(np.mean(np.abs(test - mean)) / scale),
        "smape": float(np.mean(smape)),
        "cov80": float(np.mean((test >= lo80) & (test <= hi80))),
        "cov95": float(np.mean((test >= lo95) & (test <= hi95))),
    }


def _ours(series, methods) -> tuple[list[dict], pd.DataFrame]:
    rows, chosen = [], []
    for name in methods:
        t0 = time.perf_counter()
        for key, (train, test) in series.items():
            p = predict_series(train, H, M, name)
            f = p.forecast
            rows.append(
                {"method": name, "series": key}
                | score(train, test, f.mean, f.lower_80, f.upper_80, f.lower_95, f.upper_95)
            )
            if name == "auto":
                chosen.append(f.method)
        seconds = (time.perf_counter() - t0) / len(series)
        for r in rows[-len(series) :]:
            r["seconds"] = seconds
    return rows, pd.Series(chosen, dtype="string").value_counts()


def _statsforecast(series) -> list[dict]:
    try:
        from statsforecast.models import AutoARIMA, AutoETS, SeasonalNaive, Theta
    except ImportError:
        print("statsforecast not importable: its models are not measured")
        return []
    makers = {
        "sf_AutoETS": lambda: AutoETS(season_length=M),
        "sf_Theta": lambda: Theta(season_length=M),
        "sf_AutoARIMA": lambda: AutoARIMA(season_length=M),
        "sf_SeasonalNaive": lambda: SeasonalNaive(season_length=M),
    }
    keys = ("mean", "lo-80", "hi-80", "lo-95", "hi-95")
    rows, seconds, fits = [], dict.fromkeys(makers, 0.0), {}
    for name, make in makers.items():
        for key, (train, _) in series.items():
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = make().forecast(y=train, h=H, level=[80, 95])
            seconds[name] += time.perf_counter() - t0
            fits[name, key] = [np.asarray(out[k], float) for k in keys]
    three = ("sf_AutoETS", "sf_Theta", "sf_AutoARIMA")
    for key, (train, test) in series.items():
        for name in makers:
            rows.append({"method": name, "series": key} | score(train, test, *fits[name, key]))
        mean3 = [np.mean([fits[n, key][i] for n in three], axis=0) for i in range(5)]
        rows.append({"method": "sf_mean3", "series": key} | score(train, test, *mean3))
    seconds["sf_mean3"] = sum(seconds[n] for n in three)
    for r in rows:
        r["seconds"] = seconds[r["method"]] / len(series)
    return rows


def summary(rows: list[dict]) -> pd.DataFrame:
    """Mean of each score per method, and the MASE ratio to seasonal naive."""
    t = pd.DataFrame(rows)
    out = t.groupby("method", sort=False)[["mase", "smape", "cov80", "cov95", "seconds"]].mean()
    out.insert(1, "ratio", out["mase"] / out.loc["snaive", "mase"])
    return out.rename(columns={"seconds": "s_per_series"}).reset_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="series used (default all 620)")
    parser.add_argument("--methods", default=",".join(OURS), help="this project's methods")
    parser.add_argument("--no-statsforecast", action="store_true", help="skip statsforecast")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    series = load_m3(args.limit)
    if not series:
        return
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if "snaive" not in methods:
        methods.insert(0, "snaive")
    with single_threaded():
        rows, chosen = _ours(series, methods)
        if not args.no_statsforecast:
            rows += _statsforecast(series)
    table = summary(rows)
    pd.set_option("display.width", 200)
    print(f"== M3 monthly ({len(series)} series), h = {H}, train part only ==")
    print(table.round(3).to_string(index=False))
    if len(chosen):
        print("auto chose:", chosen.to_dict())
    print("library warnings silenced in our fits:", warning_counts())
    by = table.set_index("method")
    if "sf_mean3" in by.index and "auto" in by.index:
        a, s = by.loc["auto"], by.loc["sf_mean3"]
        print(
            f"auto / sf_mean3: MASE {a['mase'] / s['mase']:.3f}, "
            f"time {a['s_per_series'] / s['s_per_series']:.2f}"
        )


if __name__ == "__main__":
    main()
