"""Known-answer tests of the forecasting methods and the series builders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spmlib.exceptions import UnknownNameError
from spmlib.forecast.methods import METHODS, Z80, Z95, fit_method
from spmlib.forecast.predict import forecast
from spmlib.forecast.series import bookings_series, normalize_freq, series_from_frame
from spmlib.io.schema import Dataset, DatasetConfig

ALL = list(METHODS)


def _monthly(values) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period_start": pd.date_range("2022-01-01", periods=len(values), freq="MS"),
            "value": np.asarray(values, dtype=float),
            "complete": True,
        }
    )


@pytest.mark.parametrize("name", ALL)
def test_constant_series_forecasts_the_constant_with_zero_width(name):
    # A constant history: every method must forecast the constant; the one-step errors are all 0,
    # so every interval collapses onto it.
    f = fit_method(name, np.full(30, 7.0), 4, 12)
    np.testing.assert_allclose(f.mean, 7.0)
    np.testing.assert_allclose(f.lower_95, 7.0)
    np.testing.assert_allclose(f.upper_95, 7.0)


@pytest.mark.parametrize("name", ALL)
def test_series_of_zeros_gives_zeros(name):
    f = fit_method(name, np.zeros(26), 3, 12)
    np.testing.assert_allclose([f.mean, f.lower_80, f.upper_95], 0.0)


def test_pure_trend_drift_is_exact_and_models_follow_it():
    # y = 10 + 2t: drift extends the line exactly (10 + 2*30 = 70, 72, 74), with zero-width intervals.
    y = 10 + 2 * np.arange(30.0)
    f = fit_method("drift", y, 3, 1)
    np.testing.assert_allclose(f.mean, [70, 72, 74])
    np.testing.assert_allclose(f.upper_95, f.mean)
    # Naive repeats the last value 68.
    np.testing.assert_allclose(fit_method("naive", y, 3, 1).mean, 68)
    # ETS and ARIMA on a noiseless trend: within 1% of the line.
    for name in ("ets", "arima"):
        np.testing.assert_allclose(fit_method(name, y, 3, 1).mean, [70, 72, 74], rtol=0.01)
    # Theta extrapolates half the slope (the theta=2 line; Hyndman & Billah 2003):
    # last value 68 + (2 / 2) * h = 69, 70, 71; alpha stops at 0.99, so the SES level lags the
    # line by 2 (1 - alpha) / alpha = 0.02 and the drift term adds 1/alpha - 1 = 0.01: -0.01.
    np.testing.assert_allclose(fit_method("theta", y, 3, 1).mean, [69, 70, 71], atol=0.02)


def test_pure_seasonal_series_snaive_is_exact_and_models_close():
    # Period-4 pattern 10, 20, 30, 40 repeated 5 times: next values are 10, 20, 30, 40.
    y = np.tile([10.0, 20.0, 30.0, 40.0], 5)
    f = fit_method("snaive", y, 4, 4)
    np.testing.assert_allclose(f.mean, [10, 20, 30, 40])
    np.testing.assert_allclose(f.lower_95, f.mean)
    for name in ("ets", "theta", "arima", "combo"):
        np.testing.assert_allclose(fit_method(name, y, 4, 4).mean, [10, 20, 30, 40], atol=1e-6)
    # With noise (sd 1) the models stay close to the pattern.
    noisy = y + np.random.default_rng(0).normal(0, 1, len(y))
    for name in ("ets", "theta", "arima"):
        np.testing.assert_allclose(fit_method(name, noisy, 4, 4).mean, [10, 20, 30, 40], atol=3)


def test_naive_interval_by_hand():
    # y = 1, 3, 2: one-step changes +2, -1 -> sigma = sqrt((4 + 1) / 2) = 1.5811;
    # h=2: sd = sigma*sqrt(2) = 2.2361; 95% half-width 1.96 * 2.2361 = 4.3827.
    f = fit_method("naive", [1.0, 3.0, 2.0], 2, 1, nonnegative=False)
    sigma = np.sqrt(2.5)
    np.testing.assert_allclose(f.upper_95 - f.mean, Z95 * sigma * np.sqrt([1, 2]))
    np.testing.assert_allclose(f.mean - f.lower_80, Z80 * sigma * np.sqrt([1, 2]))
    assert round(float(f.upper_95[1] - f.mean[1]), 4) == 4.3826


def test_snaive_interval_grows_per_season():
    # m = 2, y = 1, 5, 2, 6, 3, 7: seasonal errors 1, 1, 1, 1 -> sigma 1;
    # steps 1-2 use sd 1, steps 3-4 sd sqrt(2).
    f = fit_method("snaive", [1.0, 5.0, 2.0, 6.0, 3.0, 7.0], 4, 2)
    np.testing.assert_allclose(f.mean, [3, 7, 3, 7])
    np.testing.assert_allclose(f.upper_80 - f.mean, Z80 * np.array([1, 1, np.sqrt(2), np.sqrt(2)]))


def test_short_series_falls_back_with_reason():
    # 10 months < two seasons (24): no seasonal terms; 5 points < 8: ETS falls back to naive.
    y = np.array([5.0, 8, 6, 9, 7, 10, 8, 11, 9, 12])
    f = fit_method("ets", y, 3, 12)
    assert f.method == "ets" and "no seasonality" in f.note
    g = fit_method("ets", y[:5], 3, 12)
    assert g.method == "naive" and "5 points < 8" in g.note
    s = fit_method("snaive", y, 3, 12)
    assert s.method == "naive" and "one season" in s.note
    one = fit_method("combo", [4.0], 2, 12)
    np.testing.assert_allclose(one.mean, 4.0)


def test_nonnegative_clipping():
    f = fit_method("drift", [10.0, 5.0, 1.0], 3, 1)
    assert (f.mean >= 0).all() and (f.lower_95 >= 0).all()


def test_unknown_method_lists_valid_names():
    with pytest.raises(UnknownNameError, match="valid: arima, combo, drift"):
        fit_method("prophet", [1.0, 2.0], 1, 1)
    with pytest.raises(UnknownNameError):
        forecast(_monthly([1, 2, 3]), 1, method="prophet")
    assert normalize_freq("week") == "W"
    with pytest.raises(UnknownNameError):
        normalize_freq("D")


def test_forecast_frame_columns_and_periods():
    out = forecast(_monthly([3, 4, 5, 6, 7]), horizon=2, method="drift").table
    assert list(out.columns) == [
        "period",
        "method",
        "forecast",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
    ]
    # drift: last 7 + mean change 1 per month, starting the month after the last one (June).
    assert out["period"].dt.strftime("%Y-%m").tolist() == ["2022-06", "2022-07"]
    np.testing.assert_allclose(out["forecast"], [8, 9])


def test_forecast_auto_keeps_the_combination_without_strong_evidence():
    # A seasonal pattern with a small trend: snaive is good but the combination (whose members fit
    # the pattern) is as good, so auto keeps the combination; the selection table says so.
    y = np.tile([10.0, 20.0, 30.0, 40.0], 6) + np.repeat(np.arange(6.0), 4) * 0.1
    out = forecast(_monthly(y), horizon=4, method="auto", freq="Q", candidates=["naive", "snaive"])
    sel = out.selection
    assert sel["method"].tolist() == ["combo", "naive", "snaive"]
    assert sel.loc[sel["chosen"], "method"].item() == "combo"
    assert out.table["method"].unique().tolist() == ["combo"]
    assert {"factor_80", "factor_95"} <= set(sel.columns)


def _tiny_dataset(as_of="2026-03-15") -> Dataset:
    # r1 (team A) wins 10 in Jan and 5 on 2 Mar; r2 (team B) wins 4 in Feb; one loss; one open deal.
    opp = pd.DataFrame(
        {
            "opp_id": ["a", "b", "c", "d", "e"],
            "rep_id": ["r1", "r1", "r1", "r2", "r2"],
            "created_date": pd.to_datetime(["2026-01-05"] * 5),
            "close_date": pd.to_datetime(
                ["2026-01-20", "2026-03-02", "2026-03-10", "2026-02-11", "2026-04-30"]
            ),
            "stage": ["Won", "Won", "Lost", "Won", "Open"],
            "amount": [10.0, 5.0, 7.0, 4.0, 100.0],
            "status": ["won", "won", "lost", "won", "open"],
        }
    )
    reps = pd.DataFrame(
        {"rep_id": ["r1", "r2", "r3"], "rep_name": ["A", "B", "C"], "team": ["A", "B", "B"]}
    )
    cfg = DatasetConfig(("Open",), "Won", "Lost", as_of=pd.Timestamp(as_of))
    return Dataset(cfg, reps, opp)


def test_bookings_series_by_rep_and_team():
    ds = _tiny_dataset()
    reps = bookings_series(ds, "M", by="rep")
    # 3 reps x 3 months (Jan-Mar); r3 has no win and still gets a zero series.
    assert len(reps) == 9
    got = reps.pivot(index="rep_id", columns="period_start", values="value").to_numpy()
    np.testing.assert_allclose(got, [[10, 0, 5], [0, 4, 0], [0, 0, 0]])
    teams = bookings_series(ds, "M", by="team")
    assert teams.groupby("team")["value"].sum().to_dict() == {"A": 15.0, "B": 4.0}
    # March holds 2026-03-15 (not its last day): incomplete.
    assert reps.groupby("period_start")["complete"].first().tolist() == [True, True, False]
    q = bookings_series(ds, "Q")
    assert q["value"].tolist() == [19.0] and q["complete"].tolist() == [False]
    # At 2026-03-31 the quarter is complete.
    assert bookings_series(_tiny_dataset("2026-03-31"), "Q")["complete"].tolist() == [True]


def test_incomplete_period_is_not_fitted():
    ds = _tiny_dataset()
    out = forecast(bookings_series(ds, "M"), horizon=2, method="naive").table
    # Fitted on Jan, Feb (10, 4): the first forecast period is the incomplete March; naive = 4.
    assert out["period"].dt.strftime("%Y-%m").tolist() == ["2026-03", "2026-04"]
    np.testing.assert_allclose(out["forecast"], [4, 4])


def test_series_from_frame_weekly_groups_and_errors():
    t = pd.DataFrame(
        {
            "store": [1, 1, 2, 1],
            "date": ["2024-01-05", "2024-01-19", "2024-01-05", "2024-01-19"],
            "sales": [1.0, 2.0, 3.0, 4.0],
        }
    )
    s = series_from_frame(t, "date", "sales", freq="W", by="store", fill="zero")
    # Dates 7 days apart are inferred as weekly; 30 days apart as monthly.
    weekly = series_from_frame(t.assign(date=["2024-01-05", "2024-01-12"] * 2), "date", "sales")
    monthly = series_from_frame(t.assign(date=["2024-01-05", "2024-02-05"] * 2), "date", "sales")
    assert weekly["period_start"].drop_duplicates().diff().dt.days.dropna().tolist() == [7]
    assert monthly["period_start"].drop_duplicates().dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-01",
        "2024-02-01",
    ]
    # Store 1: weeks of 5 and 19 Jan with the week of 12 Jan filled by 0 (the rule chosen);
    # store 2 has one week: its series is that week only (no zeros after its last date).
    assert s[s["store"] == 1]["value"].tolist() == [1.0, 0.0, 6.0]
    assert s[s["store"] == 1]["filled"].tolist() == [False, True, False]
    assert s[s["store"] == 2]["value"].tolist() == [3.0]
    from spmlib.exceptions import DataValidationError

    with pytest.raises(DataValidationError, match="column not found"):
        series_from_frame(t, "Date", "sales")
    with pytest.raises(DataValidationError, match="numeric value"):
        series_from_frame(t.assign(sales=["x", 1, 2, 3]), "date", "sales")


def test_hierarchy_adds_up_and_ols_by_hand():
    from spmlib.forecast.hierarchy import hierarchical_forecast, reconcile

    # OLS projection for company = a + b with base (12, 4, 5): S'S = [[2,1],[1,2]],
    # S'y = (16, 17) -> bottom = (5, 6), company 11 (by hand).
    S = np.array([[1, 1], [1, 0], [0, 1]])
    np.testing.assert_allclose(reconcile(np.array([[12.0], [4.0], [5.0]]), S).ravel(), [11, 5, 6])
    np.testing.assert_allclose(
        reconcile(np.array([[12.0], [4.0], [5.0]]), S, "bottom_up").ravel(), [9, 4, 5]
    )
    h = hierarchical_forecast(_tiny_dataset(), "M", 2, "drift")
    for _period, g in h.groupby("period"):
        reps = g[g["level"] == "rep"]
        teams = g[g["level"] == "team"]
        company = g.loc[g["level"] == "company", "forecast"].item()
        assert reps["forecast"].sum() == pytest.approx(company)
        assert teams["forecast"].sum() == pytest.approx(company)
        by_team = reps.groupby("team")["forecast"].sum()
        np.testing.assert_allclose(
            teams.set_index("team")["forecast"].reindex(by_team.index), by_team
        )
    assert set(h["method"]) <= {"drift", "naive"} and set(h["reconciliation"]) == {"ols"}


def test_plots_return_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spmlib.forecast.calibrate import predict_series
    from spmlib.reports.plotting import plot_backtest, plot_forecast_fan, plot_pipeline, plot_replay

    s = _monthly([3, 4, 5, 6, 7, 8])
    f = forecast(s, horizon=2, method="drift").table
    assert plot_forecast_fan(s, f) is not None
    table = predict_series(np.arange(1.0, 20.0), 2, 4, "auto", 2, ["naive", "snaive"]).selection
    assert plot_backtest(table) is not None
    pipe = pd.DataFrame(
        {
            "level": ["company"],
            "team": [pd.NA],
            "rep_id": [pd.NA],
            "booked": [1.0],
            "p10": [2.0],
            "p50": [3.0],
            "p90": [4.0],
            "quota": [3.5],
        }
    )
    assert plot_pipeline(pipe) is not None
    rep = pd.DataFrame(
        {
            "period": ["Q1", "Q2"],
            "p10": [1.0, 2.0],
            "p50": [2.0, 3.0],
            "p90": [3.0, 4.0],
            "actual": [2.5, 2.0],
        }
    )
    assert plot_replay(rep) is not None
    plt.close("all")


def test_cli_forecast_and_backtest_on_a_series_file(tmp_path):
    import json

    from typer.testing import CliRunner

    from spmlib.cli import app

    path = tmp_path / "s.csv"
    pd.DataFrame(
        {"Month": [f"2024-{m:02d}" for m in range(1, 13)], "Sales": np.arange(1.0, 13.0)}
    ).to_csv(path, index=False)
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "forecast",
            str(path),
            "--series",
            "Month,Sales",
            "--method",
            "drift",
            "--horizon",
            "2",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout[res.stdout.index("[") :])
    # drift on 1..12: 13, 14.
    assert [r["forecast"] for r in rows] == [13.0, 14.0]
    assert list(rows[0]) == [
        "period",
        "method",
        "forecast",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
    ]
    res = runner.invoke(
        app,
        [
            "backtest",
            str(path),
            "--series",
            "Month,Sales",
            "--methods",
            "naive,drift",
            "--horizon",
            "2",
            "--origins",
            "2",
            "--format",
            "csv",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "method,mase,smape,bias,coverage_80,coverage_95,origins" in res.stdout
    bad = runner.invoke(app, ["forecast", str(path), "--series", "Month,Sales", "--method", "nope"])
    assert bad.exit_code == 1
