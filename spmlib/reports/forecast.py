"""The forecast report: how much will be booked, how accurate each method has been, and what
the open pipeline says about the current period.

:func:`build_forecast_report` runs the time-series forecast with its backtest, the pipeline
forecast with its replay on past periods, and words the headline (:func:`forecast_sentences`);
``notebooks/forecast.ipynb`` only shows the result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spmlib.forecast.backtest import backtest, skill_vs_snaive
from spmlib.forecast.pipeline import (
    forecast_category_rollup,
    pipeline_forecast,
    pipeline_replay,
    replay_accuracy,
)
from spmlib.forecast.predict import forecast
from spmlib.forecast.series import bookings_series, read_series
from spmlib.io.schema import Dataset
from spmlib.reports import plotting
from spmlib.reports.columns import plain_amounts
from spmlib.reports.formatter import format_compact, format_percent
from spmlib.reports.params import ForecastParams
from spmlib.reports.report import Figure, Report, Section, Table, Text, bullets, escape
from spmlib.reports.scope import Scope

__all__ = ["build_forecast_report", "forecast_sentences"]


def forecast_sentences(
    scope: str,
    pipeline_row: pd.Series | None,
    selection: pd.DataFrame | None,
    chosen: str,
    next_forecast: pd.Series | None = None,
    currency: str | None = None,
    replay_summary: pd.Series | None = None,
) -> list[str]:
    """Headline sentences of the forecast report.

    Parameters
    ----------
    scope : who the report is about, as the subject of a sentence ("Team Atlas").
    pipeline_row : the scope's row of :func:`spmlib.forecast.pipeline.pipeline_forecast`.
    selection : the backtest table with per-method ``mase`` and ``origins`` (snaive included).
    chosen : the method used for the time-series forecast.
    next_forecast : the first row of :func:`spmlib.forecast.predict.forecast` (next period).
    currency : ISO code of amounts (None: plain numbers, e.g. for a series file).
    replay_summary : the row of :func:`spmlib.forecast.pipeline.replay_accuracy`.

    Examples
    --------
    >>> row = pd.Series({"period": "FY2027-Q1", "p10": 1.0e6, "p50": 1.2e6, "p90": 1.4e6,
    ...                  "p_quota": 0.64})
    >>> sel = pd.DataFrame({"method": ["snaive", "ets"], "mase": [1.0, 0.82], "origins": [12, 12]})
    >>> forecast_sentences("Team Atlas", row, sel, "ets", currency="USD")
    ... # doctest: +NORMALIZE_WHITESPACE
    ['Team Atlas will most likely book $1.2M in FY2027-Q1 (80%: $1M–$1.4M), a 64% chance of
      reaching quota.', 'The chosen forecasting method (ets) beat seasonal naive by 18% in 12
      backtests.']
    """

    def money(x):
        return format_compact(x, currency)

    out = []
    if pipeline_row is not None:
        text = (
            f"{escape(scope)} will most likely book {money(pipeline_row['p50'])} in "
            f"{pipeline_row['period']} (80%: {money(pipeline_row['p10'])}–"
            f"{money(pipeline_row['p90'])})"
        )
        pq = pipeline_row.get("p_quota", np.nan)
        if pq is not None and np.isfinite(pq):
            text += f", a {format_percent(pq)} chance of reaching quota."
        else:
            text += "; no quota is set for that period."
        out.append(text)
    if selection is not None and not selection.empty:
        skill = skill_vs_snaive(selection, chosen)
        n = int(selection.loc[selection["method"] == chosen, "origins"].max())
        if chosen == "snaive" and n > 0:
            out.append(
                f"Seasonal naive (the same period a year earlier) was the most accurate method "
                f"in {n} backtests."
            )
        elif np.isfinite(skill) and skill > 0:
            out.append(
                f"The chosen forecasting method ({chosen}) beat seasonal naive by "
                f"{format_percent(skill)} in {n} backtests."
            )
        elif np.isfinite(skill):
            out.append(
                f"The chosen forecasting method ({chosen}) did not beat seasonal naive in {n} "
                f"backtests (MASE {format_percent(-skill)} higher)."
            )
        else:
            out.append(f"Forecast method: {chosen} (too little history to backtest it).")
    if next_forecast is not None:
        out.append(
            f"Time-series forecast for the next period: {money(next_forecast['forecast'])} "
            f"(95%: {money(next_forecast['lower_95'])}–{money(next_forecast['upper_95'])})."
        )
    if replay_summary is not None and replay_summary["periods"] > 0:
        out.append(
            f"Replayed on {int(replay_summary['periods'])} past periods, the pipeline forecast's "
            f"80% range held the actual {format_percent(replay_summary['coverage_80'])} of the "
            f"time (median error {format_percent(replay_summary['mape'] / 100)})."
        )
    return out


def _pipeline_rows(pipe: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """The pipeline forecast rows of the scope: the rep; a team's (or manager's) team and reps;
    the company and its teams. Reps are named."""
    if scope.is_rep:
        pipe = pipe[pipe["level"] == "rep"]
    elif scope.kind == "company":
        pipe = pipe[pipe["level"] != "rep"]
    else:
        pipe = pipe[pipe["level"] != "company"]
    names = scope.data.reps[["rep_id", "rep_name"]].astype({"rep_id": "string"})
    pipe = pipe.astype({"rep_id": "string"}).merge(names, on="rep_id", how="left")
    return pipe.reset_index(drop=True)


_METHOD = [
    "**MASE**: mean absolute error of the forecasts divided by the in-sample mean absolute "
    "error of the seasonal naive forecast (same period last year), averaged over backtest "
    "origins; below 1 beats seasonal naive.",
    "**sMAPE**: mean of 200·|actual − forecast| / (|actual| + |forecast|), in percent.",
    "**Bias**: Σ(forecast − actual) / Σ|actual|; positive means over-forecasting.",
    "**combo**: the mean of the ETS, Theta and ARIMA forecasts (bounds: the mean of their bounds).",
    "**Pipeline P10/P50/P90**: 10th, 50th and 90th percentiles of simulated period bookings: "
    "booked so far, plus every open deal weighted by how often deals in the same stage and age "
    "in stage were won by period end, plus new deals at the historical run rate.",
]


def build_forecast_report(ds: Dataset, scope: Scope, params: ForecastParams) -> Report:
    """The forecast report of a scope, or of a plain series file (``params.series_file``).

    Parameters
    ----------
    ds : the loaded dataset (not used for a series file).
    scope : from :func:`spmlib.reports.scope.resolve_scope`.
    params : frequency, horizon, method and backtest candidates, pipeline settings; ``start``
        is the first day of history used, ``end`` the forecast date.

    Returns
    -------
    Report
        ``values``: ``chosen_method``, ``chosen_mase``, ``snaive_mase``, ``skill_vs_snaive``,
        ``forecast`` and ``backtest`` (tables); with a dataset also ``pipeline_p10``,
        ``pipeline_p50``, ``pipeline_p90``, ``p_quota`` and ``replay_coverage_80``.
    """
    p = params
    start, end = p.range
    if p.series_file:
        data, currency, subject, name = None, None, "The series", "the series"
        series = read_series(p.series_file, p.series_columns, p.freq)
    else:
        data, currency, subject, name = scope.data, ds.config.currency, scope.subject, scope.name
        series = bookings_series(data, p.freq, start=start, end=end)
    result = forecast(series, p.horizon, p.method, p.freq, p.origins, p.candidates)
    fc = result.table
    if p.method == "auto":
        selection = result.selection
    else:
        selection = backtest(series, p.horizon, p.origins, sorted({p.method, "snaive"}), p.freq)
        selection["chosen"] = selection["method"] == p.method
    chosen_row = selection.loc[selection["chosen"]].iloc[0]
    chosen = str(chosen_row["method"])
    values = {
        "chosen_method": chosen,
        "chosen_mase": float(chosen_row["mase"]),
        "snaive_mase": float(selection.loc[selection["method"] == "snaive", "mase"].iloc[0]),
        "skill_vs_snaive": float(skill_vs_snaive(selection, chosen)),
        "forecast": fc,
        "backtest": selection,
    }
    pipe_blocks: tuple = (Text("A plain series has no pipeline."),)
    category_blocks: tuple = (Text("The data carries no forecast category."),)
    replay_blocks: tuple = (Text("Not enough history to replay the pipeline forecast."),)
    pipe_row = replay_summary = None
    if data is not None and len(data.opportunities):
        pipe = _pipeline_rows(pipeline_forecast(data, end, p.pipeline_freq, n_sims=p.n_sims),
                              scope)  # fmt: skip
        pipe_row = pipe.iloc[0]
        categories = forecast_category_rollup(data, end, p.pipeline_freq)
        replay = pipeline_replay(data, p.pipeline_freq, p.replay_day, n_sims=min(p.n_sims, 1000))
        replay_summary = replay_accuracy(replay).iloc[0]
        shown = ["level", "team", "rep_name", "period", "booked", "open_expected",
                 "new_expected", "p10", "p50", "p90", "quota", "p_quota"]  # fmt: skip
        pipe_blocks = (
            Figure(plotting.plot_pipeline, pipe, alt="Pipeline forecast of the current period"),
            Table(pipe[shown]),
        )
        if len(categories):
            category_blocks = (Table(categories),)
        if len(replay):
            replay_blocks = (
                Figure(plotting.plot_replay, replay, alt="Pipeline forecast against actuals"),
                Table(replay),
            )
        values |= {
            "pipeline_p10": float(pipe_row["p10"]),
            "pipeline_p50": float(pipe_row["p50"]),
            "pipeline_p90": float(pipe_row["p90"]),
            "p_quota": float(pipe_row["p_quota"]),
            "replay_coverage_80": float(replay_summary["coverage_80"]),
        }
    keys = [c for c in series.columns if c not in ("period_start", "value", "complete")]
    one = series if not keys else series[series[keys[0]] == series[keys[0]].iloc[0]]
    one_fc = fc if not keys else fc[fc[keys[0]] == one[keys[0]].iloc[0]]
    sections = [
        Section(
            "History and forecast",
            "The line is the history; the shaded bands are the 80% and 95% prediction "
            "intervals. A hollow marker is the current period so far (not used for fitting).",
            (
                Figure(
                    plotting.plot_forecast_fan,
                    one,
                    {"forecast": one_fc, "currency": currency},
                    alt="History and forecast with prediction intervals",
                ),
                Table(fc, columns=plain_amounts(fc.columns) if currency is None else {}),
            ),  # fmt: skip
        ),
        Section(
            "Backtest",
            "Each method was refitted at rolling origins and scored on the periods that "
            "followed. MASE below 1 beats the seasonal naive forecast; coverage is the share of "
            "actuals inside the 80% and 95% intervals (ideally close to 80% and 95%). The chosen "
            "method is highlighted.",
            (
                Figure(plotting.plot_backtest, selection, alt="Backtest accuracy by method"),
                Table(
                    selection[
                        [
                            "method",
                            "mase",
                            "smape",
                            "bias",
                            "coverage_80",
                            "coverage_95",
                            "origins",
                            "chosen",
                        ]
                    ],
                    highlight="chosen",
                ),
            ),  # fmt: skip
        ),
        Section(
            "Pipeline forecast for the current period",
            "Booked so far, plus every open deal weighted by how often deals in the same stage "
            "and age in stage were won by period end, plus new deals at the historical run "
            "rate, simulated many times: P10, P50 and P90 of the period's bookings and the "
            "chance of reaching quota.",
            pipe_blocks,
        ),
        Section(
            "Forecast categories",
            "Open pipeline by CRM forecast category, cumulative on top of what is already booked.",
            category_blocks,
        ),
        Section(
            "How accurate has the pipeline forecast been?",
            "The same forecast, replayed on the same day of each past period using only what "
            "was known that day, against what actually closed.",
            replay_blocks,
        ),
    ]
    return Report(
        kind="forecast",
        title=f"Bookings forecast: {name}",
        scope=None if p.series_file else scope,
        headline=forecast_sentences(
            subject, pipe_row, selection, chosen, fc.iloc[0], currency, replay_summary
        ),  # fmt: skip
        sections=sections,
        method=Section("How this is worked out", bullets(_METHOD)),
        values=values,
        currency=currency or "USD",
        as_of=None if data is None else data.as_of,
    )
