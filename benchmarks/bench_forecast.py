"""Forecast benchmark: backtest MASE per method on real series, and the time to auto-forecast
100 rep series with backtest.

Run: ``.venv/bin/python benchmarks/bench_forecast.py [--stores N] [--reps N] [--origins K]``.

1. MASE per method (and auto, scored by a nested backtest) on the three TSDL monthly sales
   series (h = 6, 12 origins) and on Walmart weekly store sales (h = 13, 6 origins), with
   the ratio to seasonal naive's MASE (the 1.0 baseline measured in the same run).
2. Time for ``forecast(..., method="auto")`` (backtest of every method + final fit) on N rep
   series of the sample data (48 reps, cycled with noise up to N), against the time to fit
   one method (ETS) on the same series.
Series are read from ``spmlib.config.SHARED_DATA_DIR``; absent folders are skipped.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import pandas as pd

from spmlib.config import SHARED_DATA_DIR
from spmlib.forecast.backtest import accuracy, backtest_errors
from spmlib.forecast.methods import METHODS, warning_counts
from spmlib.forecast.predict import forecast
from spmlib.forecast.series import bookings_series, series_from_frame

log = logging.getLogger("bench_forecast")
ALL = [*METHODS, "auto"]


def _tsdl() -> dict[str, np.ndarray]:
    folder = SHARED_DATA_DIR / "tsdl_monthly_sales"
    if not folder.exists():
        print(f"skip: {folder} absent")
        return {}
    out = {}
    for name in [
        "monthly-car-sales.csv",
        "monthly_champagne_sales.csv",
        "monthly-shampoo-sales.csv",
    ]:
        t = pd.read_csv(folder / name)
        if "shampoo" in name:
            t["Month"] = [f"{2000 + int(m.split('-')[0])}-{m.split('-')[1]}" for m in t["Month"]]
        out[name.removesuffix(".csv")] = series_from_frame(t, "Month", "Sales", "M")[
            "value"
        ].to_numpy()
    return out


def _walmart(stores: int) -> dict[str, np.ndarray]:
    path = SHARED_DATA_DIR / "walmart_store_sales_weekly" / "Walmart_Store_sales.csv"
    if not path.exists():
        print(f"skip: {path} absent")
        return {}
    t = pd.read_csv(path)
    t["Date"] = pd.to_datetime(t["Date"], format="%d-%m-%Y")
    s = series_from_frame(t[t["Store"] <= stores], "Date", "Weekly_Sales", "W", by="Store")
    return {f"walmart store {k}": g["value"].to_numpy() for k, g in s.groupby("Store")}


def _mase_table(series: dict[str, np.ndarray], m: int, h: int, origins: int) -> pd.DataFrame:
    rows = []
    for name, y in series.items():
        t0 = time.perf_counter()
        a = accuracy(backtest_errors(y, m, h, origins, ALL), ALL).set_index("method")
        row = {"series": name, "n": len(y)}
        row.update({k: a.loc[k, "mase"] for k in ALL})
        row["auto_cov95"] = a.loc["auto", "coverage_95"]
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
    return pd.DataFrame(rows)


def _rep_series(n: int) -> pd.DataFrame:
    from spmlib.sample.resolve import load

    s = bookings_series(load(None), "M", by="rep")
    ids = sorted(s["rep_id"].unique())
    rng = np.random.default_rng(0)
    parts = []
    for i in range(n):
        base = s[s["rep_id"] == ids[i % len(ids)]].copy()
        if i >= len(ids):  # a noisy copy of a real rep series
            base["value"] = base["value"] * rng.lognormal(0, 0.2, len(base))
        base["rep_id"] = f"B{i:03d}"
        parts.append(base)
    out = pd.concat(parts, ignore_index=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=10, help="Walmart stores (max 45)")
    parser.add_argument("--reps", type=int, default=100, help="rep series to auto-forecast")
    parser.add_argument("--origins", type=int, default=6, help="backtest origins for the reps")
    parser.add_argument("--skip-mase", action="store_true", help="only time the rep series")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)

    tables = []
    if args.skip_mase:
        monthly, weekly = {}, {}
    else:
        print("== MASE per method (lower is better; ratio = MASE / snaive MASE) ==")
        monthly = _tsdl()
        weekly = _walmart(args.stores)
    if monthly:
        tables.append(_mase_table(monthly, 12, 6, 12))
    if weekly:
        tables.append(_mase_table(weekly, 52, 13, 6))
    if tables:
        table = pd.concat(tables, ignore_index=True)
        print(table.round(3).to_string(index=False))
        geo = {k: float(np.exp(np.log(table[k] / table["snaive"]).mean())) for k in ALL}
        print("geometric mean ratio to snaive:", {k: round(v, 3) for k, v in geo.items()})

    print(f"\n== time to auto-forecast {args.reps} rep series (h=6, {args.origins} origins) ==")
    reps = _rep_series(args.reps)
    t0 = time.perf_counter()
    forecast(reps, 6, "ets")
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = forecast(reps, 6, "auto", origins=args.origins).table
    auto = time.perf_counter() - t0
    chosen = out.groupby("rep_id")["method"].first().value_counts().to_dict()
    print(f"one method (ets) on all series: {one:.1f} s (baseline 1.0)")
    print(f"auto with backtest:             {auto:.1f} s ({auto / one:.1f}x the baseline)")
    print(f"methods chosen: {chosen}")
    print(f"statsmodels warnings silenced: {warning_counts()}")


if __name__ == "__main__":
    main()
