"""Known-answer tests of the interval formulas, the calibration, the ``auto`` rule, model selection
(ETS by AICc, ARIMA orders), thread limits and series of different lengths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spmlib.exceptions import DataValidationError
from spmlib.forecast.calibrate import (
    FACTOR_MAX,
    SELECT_MARGIN,
    SELECT_MIN_ORIGINS,
    apply_factors,
    choose,
    interval_factor,
    predict_series,
)
from spmlib.forecast.methods import Z80, Z95, MethodForecast, combo, fit_method, theta
from spmlib.forecast.predict import forecast
from spmlib.forecast.series import series_from_frame
from spmlib.forecast.threads import single_threaded


def test_theta_by_hand_against_the_ses_closed_form():
    # x = 10, 12, 11, 13, 12 (no season: m = 1), alpha fixed at 0.5.
    # SES from l0 = 10: errors 2, 0, 2, 0; levels 11, 11, 12, 12 -> l_n = 12, sigma^2 = 8/4 = 2.
    # Drift b = half the OLS slope: slope = sum((t-2)(x-11.6)) / sum((t-2)^2) = 5 / 10 -> b 0.25.
    # Forecast l_n + b ((h-1) + 1/alpha - (1-alpha)^n / alpha) = 12 + 0.25 (h - 1 + 2 - 0.0625).
    # Interval: +- z sigma sqrt(1 + (h-1) alpha^2) = z sqrt(2) sqrt(1, 1.25, 1.5) for h = 1, 2, 3.
    f = theta(np.array([10.0, 12.0, 11.0, 13.0, 12.0]), 3, 1, alpha=0.5)
    np.testing.assert_allclose(f.mean, 12 + 0.25 * (np.arange(3) + 2 - 0.0625))
    sd = np.sqrt(2) * np.sqrt([1.0, 1.25, 1.5])
    np.testing.assert_allclose(f.upper_80 - f.mean, Z80 * sd)
    np.testing.assert_allclose(f.mean - f.lower_95, Z95 * sd)
    # The SES factor grows linearly in h with slope alpha^2; statsmodels' factor
    # 1 + (h-1)(1 + (alpha-1)^2) would give sqrt(1, 2.25, 3.5): about 1.5x wider at h = 3.
    assert (f.upper_95[2] - f.mean[2]) / (Z95 * np.sqrt(2)) == pytest.approx(np.sqrt(1.5))


def test_theta_seasonal_adjustment_multiplies_forecast_and_bounds():
    # A positive monthly series with a strong season: the test finds seasonality, and every bound
    # is the adjusted bound times the same seasonal index, so bound / forecast is that of the
    # adjusted series: (x^ + z sd) / x^, the same ratio at equal sd whatever the month.
    rng = np.random.default_rng(0)
    season = np.tile([1.0, 1.5, 0.7, 1.2, 0.9, 1.1, 1.3, 0.8, 1.0, 0.6, 1.4, 0.5], 6)
    y = 100 * season * rng.lognormal(0, 0.02, 72)
    f = theta(y, 12, 12)
    assert f.state["seasonal"]
    x_hat = f.mean / season[:12]  # the deseasonalized forecast up to the fitted indices
    assert np.ptp(f.mean) > 50  # the season is put back
    assert np.ptp(x_hat) < np.ptp(f.mean) / 5
    # White noise has no season.
    assert not theta(50 + rng.normal(0, 1, 72), 12, 12).state["seasonal"]


def test_combination_interval_rule_by_hand():
    # Members (h = 1): forecasts 10, 12, 14 (mean 12, variance over the three (4 + 0 + 4) / 3 =
    # 8/3); upper 80% bounds 12, 15, 15 (distances 2, 3, 1: mean square 14/3); lower 80% bounds
    # 9, 10, 13 (distances 1, 2, 1: mean square 2); the 95% bounds one further out (upper
    # distances 3, 4, 2: 29/3; lower 2, 3, 2: 17/3). Each distance is sqrt(mean square + z^2 8/3).
    def member(mean, lo, hi):
        a = np.array
        return MethodForecast("x", a([mean]), a([lo]), a([hi]), a([lo - 1]), a([hi + 1]))

    members = {"ets": member(10, 9, 12), "theta": member(12, 10, 15), "arima": member(14, 13, 15)}
    f = combo(np.ones(5), 1, 1, members=members)
    assert f.mean[0] == 12
    assert f.upper_80[0] == pytest.approx(12 + np.sqrt(14 / 3 + Z80**2 * 8 / 3))  # 15.01
    assert f.lower_80[0] == pytest.approx(12 - np.sqrt(2 + Z80**2 * 8 / 3))  # 9.47
    assert f.upper_95[0] == pytest.approx(12 + np.sqrt(29 / 3 + Z95**2 * 8 / 3))  # 16.46
    assert f.lower_95[0] == pytest.approx(12 - np.sqrt(17 / 3 + Z95**2 * 8 / 3))  # 8.01
    # Members that agree (forecasts all 10, upper 80% distances 1, 2, 2): no between-model term,
    # the distance is the root mean square sqrt((1 + 4 + 4) / 3) = 1.732, not the mean 1.667.
    agree = {"ets": member(10, 9, 11), "theta": member(10, 8, 12), "arima": member(10, 8, 12)}
    assert combo(np.ones(5), 1, 1, members=agree).upper_80[0] == pytest.approx(10 + np.sqrt(3))


def test_interval_factor_and_apply():
    # sd 1 (half-width z): |errors| 0.5, 1, 2, 3, 4 -> 80% quantile (linear) 3.2 -> 3.2 / 1.2816.
    e = np.array([0.5, -1, 2, -3, 4])
    assert interval_factor(e, np.full(5, Z80), Z80) == pytest.approx(3.2 / Z80)
    # Errors well inside the interval: the factor never goes below 1 (only widens).
    assert interval_factor(e / 100, np.full(5, Z80), Z80) == 1.0
    # A zero-width interval with an error cannot be scaled: the point is dropped; huge errors cap.
    assert interval_factor(np.array([5.0, 0.0]), np.array([0.0, 1.0]), Z80) == 1.0
    assert interval_factor(np.full(3, 1e6), np.ones(3), Z95) == FACTOR_MAX
    one = np.array([10.0])
    g = apply_factors(MethodForecast("x", one, one - 1, one + 2, one - 3, one + 3), 2.0, 1.5)
    assert [g.lower_80[0], g.upper_80[0], g.lower_95[0], g.upper_95[0]] == [8.0, 14.0, 5.5, 14.5]


def test_calibration_widens_intervals_that_were_too_narrow():
    # A random walk forecast by the mean of its first values ("naive" intervals from its one-step
    # errors are fine); drift on a series whose slope changes under-covers, and its calibrated
    # interval is wider than the model's own by the factor reported.
    rng = np.random.default_rng(3)
    y = np.r_[np.arange(40.0), 40 - np.arange(40.0)] * 2 + rng.normal(0, 1, 80)
    raw = fit_method("drift", y, 6, 1)
    p = predict_series(y, 6, 1, "drift")
    assert p.factor_80 > 1
    np.testing.assert_allclose(
        p.forecast.upper_80 - p.forecast.mean, p.factor_80 * (raw.upper_80 - raw.mean)
    )
    np.testing.assert_allclose(p.forecast.mean, raw.mean)
    assert p.factor_95 >= p.factor_80


@pytest.mark.parametrize("seed", range(40))
def test_auto_never_leaves_the_combination_without_the_rule(seed):
    # Random per-origin MASE tables: whenever choose() returns another method, that method was
    # lower than the combination at every origin, with at least 5 origins, and its mean at least
    # 30% lower; otherwise the combination is kept.
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 8))
    combo_mase = rng.uniform(0.5, 1.5, k)
    t = pd.DataFrame({"combo": combo_mase})
    for name in ("naive", "snaive", "ets"):
        t[name] = combo_mase * rng.uniform(0.3, 1.2, k)
    chosen = choose(t)
    if chosen != "combo":
        v = t[chosen].to_numpy()
        assert k >= SELECT_MIN_ORIGINS
        assert np.all(v < combo_mase)
        assert v.mean() <= (1 - SELECT_MARGIN) * combo_mase.mean()
    else:
        for name in ("naive", "snaive", "ets"):
            v = t[name].to_numpy()
            assert not (
                k >= SELECT_MIN_ORIGINS
                and np.all(v < combo_mase)
                and v.mean() <= (1 - SELECT_MARGIN) * combo_mase.mean()
            )


def test_auto_on_a_series_the_models_cannot_fit_keeps_or_leaves_by_the_rule():
    # A quarterly pattern repeated exactly except for level shifts: the table auto returns lists
    # every candidate with its backtest MASE, and the chosen one satisfies the rule.
    rng = np.random.default_rng(5)
    y = np.tile([5.0, 1.0, 1.0, 9.0], 12) + rng.normal(0, 0.2, 48)
    p = predict_series(y, 4, 4, "auto")
    sel = p.selection.set_index("method")
    assert sel["chosen"].sum() == 1 and sel.index[0] == "combo"
    assert int(sel["origins"].iloc[0]) == 5
    chosen = sel.index[sel["chosen"]][0]
    if chosen != "combo":
        assert sel.loc[chosen, "mase"] <= (1 - SELECT_MARGIN) * sel.loc["combo", "mase"]


def test_ets_form_is_the_lowest_aicc():
    # A trending multiplicative-seasonal series: AutoETS's chosen form has the lowest AICc among
    # the forms refitted one by one (statsforecast's AutoETS with a fixed model).
    from statsforecast.models import AutoETS

    rng = np.random.default_rng(1)
    t = np.arange(72)
    y = (50 + 2 * t) * np.tile([1.0, 1.3, 0.8, 1.1, 0.9, 1.2] * 2, 6) * rng.lognormal(0, 0.03, 72)
    f = fit_method("ets", y, 6, 12)
    form = f.state["ets_form"]
    assert form[2] in "AM" and form[1] == "A"  # seasonal, trending
    chosen = AutoETS(season_length=12, model=form[:3], damped=form[3] == "D").fit(y).model_["aicc"]
    for other in ("ANN", "AAN", "ANA", "AAA", "MAM", "MNM"):
        for damped in (False, True) if other[1] == "A" else (False,):
            aicc = AutoETS(season_length=12, model=other, damped=damped).fit(y).model_["aicc"]
            assert chosen <= aicc + 1e-6, (other, damped)
    # Refitting with the form as a hint gives the same forecast without a search.
    again = fit_method("ets", y, 6, 12, hints={"ets_form": form})
    np.testing.assert_allclose(again.mean, f.mean, rtol=1e-6)


def test_arima_differences_by_unit_root_tests_and_no_constant_after_two():
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 1, 120)
    # White noise around 5: stationary (d = 0) with a mean.
    spec = fit_method("arima", 5 + noise, 6, 1).state["arima_spec"]
    assert spec["order"][1] == 0 and spec["include_mean"]
    # A random walk with drift: one difference (KPSS), and a drift.
    spec = fit_method("arima", np.cumsum(0.5 + noise), 6, 1).state["arima_spec"]
    assert spec["order"][1] == 1
    # A twice-integrated series: d = 2, and no constant (it would be a quadratic trend).
    f = fit_method("arima", np.cumsum(np.cumsum(noise)), 6, 1)
    spec = f.state["arima_spec"]
    assert spec["order"][1] == 2 and not spec["include_mean"] and not spec["include_drift"]
    assert f.state["model"].startswith("ARIMA(")


def test_short_noisy_seasonal_series_does_not_collapse_to_zero():
    # 30 months of noisy positive bookings: the old SARIMA with a seasonal difference and a
    # constant drove such series to 0; auto-ARIMA keeps the forecast near the level.
    rng = np.random.default_rng(4)
    y = 100 + rng.normal(0, 30, 30)
    f = fit_method("arima", y, 12, 12)
    assert f.mean.min() > 50


def test_single_threaded_limits_the_pools():
    from threadpoolctl import threadpool_info

    with single_threaded():
        assert all(p["num_threads"] == 1 for p in threadpool_info())


def _two_lengths() -> pd.DataFrame:
    # Store "long": Jan 2020 - Dec 2022 (36 months); store "short": Mar 2021 - Feb 2022 (12).
    long = pd.DataFrame(
        {
            "store": "long",
            "month": pd.date_range("2020-01-01", periods=36, freq="MS"),
            "sales": np.arange(36.0) + 10,
        }
    )
    short = pd.DataFrame(
        {
            "store": "short",
            "month": pd.date_range("2021-03-01", periods=12, freq="MS"),
            "sales": np.full(12, 7.0),
        }
    )
    return pd.concat([long, short], ignore_index=True)


def test_groups_keep_their_own_calendar():
    s = series_from_frame(_two_lengths(), "month", "sales", by="store")
    # No zeros before or after a store's own dates.
    assert s.groupby("store")["period_start"].agg(["min", "max", "size"]).astype(
        str
    ).values.tolist() == [
        ["2020-01-01", "2022-12-01", "36"],
        ["2021-03-01", "2022-02-01", "12"],
    ]
    out = forecast(s, horizon=2, method="naive").table.set_index("store")
    # Each forecast starts the month after its own last month; naive repeats its own last value.
    assert out.loc["short", "period"].dt.strftime("%Y-%m").tolist() == ["2022-03", "2022-04"]
    assert out.loc["short", "forecast"].tolist() == [7.0, 7.0]
    assert out.loc["long", "period"].dt.strftime("%Y-%m").tolist() == ["2023-01", "2023-02"]
    # The short store's forecast does not depend on the long one sharing the file.
    alone = series_from_frame(
        _two_lengths().query("store == 'short'"), "month", "sales", by="store"
    )
    assert forecast(alone, 2, "naive").table["forecast"].tolist() == [7.0, 7.0]


def test_gaps_are_reported_and_filled_only_by_the_chosen_rule():
    t = _two_lengths().drop(index=[5, 6, 40])  # long: Jun, Jul 2020; short: Jul 2021 (row 36 + 4)
    with pytest.raises(
        DataValidationError, match=r"3 period\(s\) missing.*long 2020-06.*short 2021-07"
    ) as e:
        series_from_frame(t, "month", "sales", by="store")
    assert "zero" in str(e.value) and "interpolate" in str(e.value)
    zero = series_from_frame(t, "month", "sales", by="store", fill="zero").set_index(
        ["store", "period_start"]
    )
    prev = series_from_frame(t, "month", "sales", by="store", fill="previous").set_index(
        ["store", "period_start"]
    )
    line = series_from_frame(t, "month", "sales", by="store", fill="interpolate").set_index(
        ["store", "period_start"]
    )
    june = ("long", pd.Timestamp("2020-06-01"))
    # Long store: May 2020 = 14, Aug 2020 = 17 -> zero 0, previous 14, interpolate 15 (then 16).
    assert (zero.loc[june, "value"], prev.loc[june, "value"], line.loc[june, "value"]) == (
        0.0,
        14.0,
        15.0,
    )
    assert int(zero["filled"].sum()) == 3


def test_cli_series_of_different_lengths_with_gaps(tmp_path):
    from typer.testing import CliRunner

    from spmlib.cli import app

    path = tmp_path / "stores.csv"
    _two_lengths().drop(index=[5]).to_csv(path, index=False)  # long store: June 2020 missing
    runner = CliRunner()
    args = ["forecast", str(path), "--series", "month,sales,store", "--method", "naive"]
    args += ["--horizon", "1", "--origins", "0", "--format", "csv"]
    bad = runner.invoke(app, args)
    assert bad.exit_code == 1 and "missing inside the series: long 2020-06" in bad.output
    ok = runner.invoke(app, [*args, "--fill", "previous"])
    assert ok.exit_code == 0, ok.output
    assert "note long: 1 missing period(s) filled (first 2020-06-01)" in ok.output
    # Each store's forecast starts after its own last month: long 2023-01, short 2022-03.
    assert "long,2023-01-01,naive,45.0" in ok.output and "short,2022-03-01,naive,7.0" in ok.output
