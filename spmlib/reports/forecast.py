"""The forecast report: how much will be booked, how accurate each method has been, and what
the open pipeline says about the current period.

:func:`build_forecast_report` runs the time-series forecast with its backtest, the pipeline
forecast with its replay on past periods, and words the headline (:func:`forecast_sentences`);
``notebooks/forecast.ipynb`` only shows the result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spmlib.core.periods import period_kind
from spmlib.forecast.backtest import backtest, skill_vs_snaive
from spmlib.forecast.outlook import outlook_calibration, outlook_replay
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
from spmlib.reports.outlook import outlook_method, outlook_sentence, scope_outlook
from spmlib.reports.params import ForecastParams
from spmlib.reports.report import Figure, Report, Section, Table, Text, bullets, escape
from spmlib.reports.scope import Scope, scope_as_of

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
    pipeline_row : the scope's row of :func:`spmlib.reports.outlook.scope_outlook` (this
        quarter's outlook, worded by :func:`spmlib.reports.outlook.outlook_sentence`).
    selection : the backtest table with per-method ``mase`` and ``origins`` (snaive included).
    chosen : the method used for the time-series forecast.
    next_forecast : the first row of :func:`spmlib.forecast.predict.forecast` (next period).
    currency : ISO code of amounts (None: plain numbers, e.g. for a series file).
    replay_summary : the row of :func:`spmlib.forecast.pipeline.replay_accuracy`.

    Examples
    --------
    >>> row = pd.Series({"period": "FY2027-Q1", "booked": 4.0e5, "quota": 1.1e6, "p10": 1.0e6,
    ...     "p50": 1.2e6, "p90": 1.4e6, "p_quota": 0.64, "attainment": 0.36, "pace": 0.9,
    ...     "elapsed": 0.4, "coverage": 2.5, "coverage_target": 3.0})
    >>> sel = pd.DataFrame({"method": ["snaive", "ets"], "mase": [1.0, 0.82], "origins": [12, 12]})
    >>> forecast_sentences("Team Atlas", row, sel, "ets", currency="USD")
    ... # doctest: +NORMALIZE_WHITESPACE
    ['Team Atlas has booked **$400K** of its **$1.1M** FY2027-Q1 quota (36%, pace 90% with 40% of
      selling days gone) and will most likely end at **$1.2M** (80%: $1M–$1.4M), with **64%**
      chance of reaching quota; the open pipeline due covers 2.5× what is left (target 3×).',
     'The chosen forecasting method (ets) beat seasonal naive by 18% in 12 backtests.']
    """

    def money(x):
        return format_compact(x, currency)

    out = []
    if pipeline_row is not None:
        out.append(outlook_sentence(pipeline_row, scope, currency or "USD"))
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
            f"Replayed on {int(replay_summary['periods'])} past occasions, the pipeline forecast's "
            f"80% range held the actual {format_percent(replay_summary['coverage_80'])} of the "
            f"time (median error {format_percent(replay_summary['mape'] / 100)})."
        )
    return out


def _replay_summary(replay: pd.DataFrame) -> pd.Series:
    """:func:`spmlib.forecast.pipeline.replay_accuracy` of a replay table (outlook replays
    carry no ``error_pct``: it is worked out here)."""
    if "error_pct" not in replay.columns:
        actual = replay["actual"].where(replay["actual"] != 0)
        replay = replay.assign(error_pct=100 * (replay["p50"] - actual) / actual)
    return replay_accuracy(replay).iloc[0]


def _nothing_to_forecast(ds: Dataset, scope: Scope, data: Dataset, freq: str) -> Report:
    """The report of a scope without a complete period of history (no deals, or deals only in
    the current period): it says so rather than fitting nothing."""
    why = (
        "has no deals in the data"
        if data.opportunities.empty
        else f"has no complete {period_kind(freq).label} of deals yet"
    )
    return Report(
        kind="forecast",
        title=f"Bookings forecast: {scope.name}",
        scope=scope,
        headline=[f"{escape(scope.subject)} {why}, so there is nothing to forecast."],
        sections=[],
        values={"forecast": None},
        currency=ds.config.currency,
        as_of=data.as_of,
    )


_METHOD = [
    "**MASE**: mean absolute error of the forecasts divided by the in-sample mean absolute "
    "error of the seasonal naive forecast (same period last year), averaged over backtest "
    "origins; below 1 beats seasonal naive.",
    "**sMAPE**: mean of 200·|actual − forecast| / (|actual| + |forecast|), in percent.",
    "**Bias**: Σ(forecast − actual) / Σ|actual|; positive means over-forecasting.",
    "**combo**: the mean of the ETS, Theta and ARIMA forecasts; its range adds the models' "
    "disagreement to their own ranges (wider when they disagree).",
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
    ds, scope = scope_as_of(ds, scope, params.as_of)
    p = params
    start, end = p.range
    if p.series_file:
        data, currency, subject, name = None, None, "The series", "the series"
        series = read_series(p.series_file, p.series_columns, p.freq)
    else:
        data, currency, subject, name = scope.data, ds.config.currency, scope.subject, scope.name
        series = bookings_series(data, p.freq, start=start, end=end)
        if not series["complete"].any():
            return _nothing_to_forecast(ds, scope, data, p.freq)
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
    outlook_text = ""
    if data is not None and len(data.opportunities):
        sims = min(p.n_sims, 1000)
        if scope.kind in ("company", "team"):
            # the outlook's own replays of the company and every team (the measured coverage
            # every report and `spm outlook` quote)
            replay = outlook_replay(ds, n_sims=sims)
            calibration = outlook_calibration(replay)
            mine = replay["level"] == scope.kind
            if scope.kind == "team":
                mine &= replay["team"] == scope.team
            replay = replay[mine].reset_index(drop=True)
            replay_table = replay.drop(columns=["p25", "p75", "inside_50"])
        else:
            # a rep's or a manager's own deals only
            calibration = None
            replay = pipeline_replay(data, "Q", p.replay_day, n_sims=sims)
            replay_table = replay
        pipe = scope_outlook(ds, scope, n_sims=p.n_sims, calibration=calibration)
        pipe_row = pipe.iloc[0]
        outlook_text = outlook_method(p.n_sims)
        categories = forecast_category_rollup(data, end, p.pipeline_freq)
        replay_summary = _replay_summary(replay)
        shown = ["level", "team", "manager", "rep_name", "period", "booked", "quota",
                 "attainment", "pace", "p10", "p50", "p90", "p_quota", "open_pipeline",
                 "coverage", "replay_coverage_80"]  # fmt: skip
        shown = [c for c in shown if pipe[c].notna().any()]
        pipe_blocks = (
            Figure(plotting.plot_pipeline, pipe, alt="Outlook of this quarter"),
            Table(pipe[shown]),
        )
        if p.pipeline_freq != "Q":
            month = pipeline_forecast(data, end, p.pipeline_freq, n_sims=p.n_sims)
            month = month[month["level"] == "company"]
            pipe_blocks += (
                Text(f"The current {period_kind(p.pipeline_freq).label} of {scope.name}:"),
                Table(month[["period", "booked", "p10", "p50", "p90", "quota", "p_quota"]]),
            )
        if len(categories):
            category_blocks = (Table(categories),)
        if len(replay):
            replay_blocks = (
                Figure(plotting.plot_replay, replay, alt="Pipeline forecast against actuals"),
                Table(replay_table),
            )
        values |= {
            "pipeline_p10": float(pipe_row["p10"]),
            "pipeline_p50": float(pipe_row["p50"]),
            "pipeline_p90": float(pipe_row["p90"]),
            "p_quota": float(pipe_row["p_quota"]),
            "replay_coverage_80": float(replay_summary["coverage_80"]),
            "outlook": pipe,
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
            "This quarter's outlook",
            "Booked so far, plus every open deal weighted by how often deals in the same stage "
            "and age in stage were won by the quarter's end, plus new deals at the historical "
            "run rate, simulated many times: P10, P50 and P90 of the quarter's bookings and the "
            "chance of reaching quota. The same figures as the team brief and `spm outlook`.",
            pipe_blocks,
        ),
        Section(
            "Forecast categories",
            "Open pipeline by CRM forecast category, cumulative on top of what is already booked.",
            category_blocks,
        ),
        Section(
            "How accurate has the pipeline forecast been?",
            "The same forecast, replayed in each past quarter using only what was known that "
            "day (the company and teams on days 30 and 60, a rep or a manager's reps on the "
            "replay day), against what actually closed.",
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
        method=Section(
            "How this is worked out",
            bullets(
                _METHOD + ([f"**This quarter's outlook**: {outlook_text}"] if outlook_text else [])
            ),
        ),  # fmt: skip
        values=values,
        currency=currency or "USD",
        as_of=None if data is None else data.as_of,
    )
