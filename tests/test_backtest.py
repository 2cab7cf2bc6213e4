"""Rolling-origin backtest: metric definitions on hand data, and accuracy on real monthly series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spmlib.config import SHARED_DATA_DIR
from spmlib.forecast.backtest import (
    accuracy,
    backtest,
    backtest_errors,
    skill_vs_snaive,
)
from spmlib.forecast.series import series_from_frame

TSDL = SHARED_DATA_DIR / "tsdl_monthly_sales"


def test_origins_and_metrics_by_hand():
    # y = 1..8, h = 2, 2 origins: train 1..5 (forecast 5, 5 for 6, 7) and 1..6 (6, 6 for 7, 8).
    e = backtest_errors(np.arange(1.0, 9.0), 1, 2, origins=2, methods=["naive"])
    a = accuracy(e).iloc[0]
    # MASE: per-origin MAE 1.5 / in-sample naive MAE 1 = 1.5, mean over origins 1.5.
    assert a["mase"] == pytest.approx(1.5)
    # sMAPE: mean(200*1/11, 200*2/12, 200*1/13, 200*2/14) = 23.868.
    assert a["smape"] == pytest.approx(np.mean([200 / 11, 400 / 12, 200 / 13, 400 / 14]))
    # bias: 100 * (-1 - 2 - 1 - 2) / (6 + 7 + 7 + 8) = -21.43 (under-forecast).
    assert a["bias"] == pytest.approx(-600 / 28)
    # naive sigma = 1: 80% half-widths 1.28 (step 1) and 1.81 (step 2) -> errors 1 in, 2 out.
    assert a["coverage_80"] == 0.5 and a["coverage_95"] == 1.0 and a["origins"] == 2


def test_zero_series_and_too_short():
    e = backtest_errors(np.zeros(12), 4, 2, origins=3, methods=["naive", "snaive"])
    a = accuracy(e)
    # All errors 0 with a 0 scale: MASE 0, sMAPE 0, bias undefined (no actuals).
    assert a["mase"].tolist() == [0.0, 0.0] and a["smape"].tolist() == [0.0, 0.0]
    assert a["bias"].isna().all()
    short = accuracy(backtest_errors(np.ones(4), 12, 3, 3, ["naive"]), ["naive"])
    assert short["origins"].tolist() == [0] and short["mase"].isna().all()


def test_auto_beats_snaive_on_seasonal_data():
    # Seasonal series with growth and noise: quarter-end months 1.4x (like the sample data).
    rng = np.random.default_rng(1)
    t = np.arange(48)
    season = np.tile([0.8, 0.9, 1.4], 16)
    y = 100 * (1.15 ** (t / 12)) * season * rng.lognormal(0, 0.08, 48)
    s = pd.DataFrame(
        {
            "period_start": pd.date_range("2022-01-01", periods=48, freq="MS"),
            "value": y,
            "complete": True,
        }
    )
    b = backtest(s, horizon=3, origins=3, methods=["snaive", "ets", "auto"]).set_index("method")
    assert b.loc["auto", "mase"] < b.loc["snaive", "mase"]
    assert list(b.reset_index().columns) == [
        "method",
        "mase",
        "smape",
        "bias",
        "coverage_80",
        "coverage_95",
        "origins",
    ]


def test_skill_vs_snaive():
    t = pd.DataFrame({"method": ["snaive", "ets"], "mase": [1.26, 0.97]})
    # 1 - 0.97 / 1.26 = 0.2302 (the M4 monthly figures).
    assert skill_vs_snaive(t, "ets") == pytest.approx(0.2302, abs=1e-4)
    assert np.isnan(skill_vs_snaive(t, "theta"))


def _tsdl() -> dict[str, pd.DataFrame]:
    if not TSDL.exists():
        pytest.skip(f"shared data folder {TSDL} is absent")
    out = {}
    for name in [
        "monthly-car-sales.csv",
        "monthly_champagne_sales.csv",
        "monthly-shampoo-sales.csv",
    ]:
        t = pd.read_csv(TSDL / name)
        if "shampoo" in name:  # months are "Y-MM" with Y = 1..3: map onto calendar years
            t["Month"] = [f"{2000 + int(m.split('-')[0])}-{m.split('-')[1]}" for m in t["Month"]]
        out[name] = series_from_frame(t, "Month", "Sales", "M")
    return out


@pytest.mark.slow
def test_auto_beats_snaive_on_real_monthly_sales():
    # Nested backtest (auto re-selected, intervals calibrated at each origin on its own training
    # data only), h = 6, 4 origins.
    pooled = []
    for name, s in _tsdl().items():
        e = backtest_errors(s["value"].to_numpy(), 12, 6, 4, ["snaive", "auto"])
        a = accuracy(e).set_index("method")
        assert a.loc["auto", "mase"] < a.loc["snaive", "mase"], name
        pooled.append(e[e["method"] == "auto"])
    p = pd.concat(pooled)
    cover95 = ((p["actual"] >= p["lower_95"]) & (p["actual"] <= p["upper_95"])).mean()
    assert 0.85 <= cover95 <= 1.0


@pytest.mark.slow
def test_auto_beats_snaive_on_sample_bookings():
    # The sample generator builds quarter-end seasonality (ground_truth.yml:
    # seasonality.month_of_quarter) and yearly growth into company bookings. Nested backtest,
    # h = 6 months, 4 origins: auto (re-selected at each origin) must beat seasonal naive.
    from spmlib.forecast.series import bookings_series
    from spmlib.sample.resolve import load

    s = bookings_series(load(None), "M")
    y = s.loc[s["complete"], "value"].to_numpy()
    e = backtest_errors(y, 12, 6, 4, ["snaive", "auto"])
    a = accuracy(e).set_index("method")
    assert a.loc["auto", "mase"] < a.loc["snaive", "mase"]
    assert a.loc["auto", "coverage_95"] >= 0.8
