"""``spm forecast`` and ``spm backtest``: bookings forecasts and their accuracy."""

from __future__ import annotations

from typing import Annotated

import typer

from spmlib.cli.common import (
    FormatOpt,
    MappingOpt,
    OutputFormat,
    PathArg,
    app,
    choices,
    emit,
    err_console,
    fail,
    load_or_exit,
)
from spmlib.exceptions import DataValidationError, SpmError
from spmlib.forecast.calibrate import CALIBRATION_ORIGINS
from spmlib.forecast.series import FILL_RULES, FORECAST_GROUPINGS, FORECAST_PERIODS, FREQS
from spmlib.reports.columns import plain_amounts

#: ``--by``: the groupings a bookings series can be split by.
ForecastBy = choices("ForecastBy", FORECAST_GROUPINGS)
#: ``--freq``: the period kinds that can be forecast, by code or name.
ForecastFreq = choices("ForecastFreq", [*FREQS, *FORECAST_PERIODS])
#: ``--fill``: how periods missing inside a series file are filled.
FillRule = choices("FillRule", FILL_RULES)


SeriesOpt = Annotated[
    str | None,
    typer.Option(
        "--series",
        help="PATH is a plain series file (CSV, Excel or Parquet); name its columns as "
        "DATE,VALUE or DATE,VALUE,GROUP. Each group spans its own first to last date.",
    ),
]


FillOpt = Annotated[
    FillRule | None,
    typer.Option(
        "--fill",
        help="Periods missing inside a --series: zero (values sum events, e.g. bookings), "
        "previous (carry the last value) or interpolate. Default: stop and list them.",
    ),
]


ForecastByOpt = Annotated[
    ForecastBy, typer.Option("--by", help="Scope of the bookings series (datasets only).")
]


ForecastFreqOpt = Annotated[
    ForecastFreq | None,
    typer.Option("--freq", help="M (months), Q (fiscal quarters), W (weeks); default M."),
]


HorizonOpt = Annotated[
    int | None, typer.Option("--horizon", min=1, help="Periods ahead (default 6 M, 4 Q, 13 W).")
]


OriginsOpt = Annotated[int, typer.Option("--origins", min=1, help="Rolling backtest origins.")]


def _forecast_series(path, mapping, series, by, freq, fill=None):
    """The series frame for the forecast commands (a plain series file or a dataset's
    bookings), and the currency of its amounts (None for a series file). Periods filled by
    ``fill`` are reported on stderr, per group."""
    from spmlib.forecast.series import bookings_series, read_series

    code = freq.value if freq else None
    if series:
        try:
            frame = read_series(path, series, code, fill.value if fill else None)
            _report_filled(frame)
            return frame, None
        except DataValidationError as exc:
            err_console.print(str(exc), highlight=False, markup=False)
            raise typer.Exit(1) from None
        except SpmError as exc:
            fail(str(exc))
    ds = load_or_exit(path, mapping)
    try:
        frame = bookings_series(ds, code or "M", by=None if by is ForecastBy.company else by.value)
        return frame, ds.config.currency
    except SpmError as exc:
        fail(str(exc))


def _report_filled(frame) -> None:
    filled = frame[frame["filled"]]
    if filled.empty:
        return
    keys = list(frame.columns[: list(frame.columns).index("period_start")])
    parts = filled.groupby(keys, sort=False) if keys else [((), filled)]
    for key, part in parts:
        name = "/".join(map(str, key if isinstance(key, tuple) else (key,))) or "series"
        first = part["period_start"].min().date().isoformat()
        err_console.print(
            f"note {name}: {len(part)} missing period(s) filled (first {first})", highlight=False
        )


def _units(table, currency: str | None) -> dict:
    """How the amounts of a table read: in the dataset's currency, or plain numbers."""
    if currency is None:
        return {"columns": plain_amounts(table.columns)}
    return {"currency": currency}


@app.command("forecast")
def forecast_command(
    path: PathArg,
    mapping: MappingOpt = None,
    series: SeriesOpt = None,
    fill: FillOpt = None,
    by: ForecastByOpt = ForecastBy.company,
    freq: ForecastFreqOpt = None,
    horizon: HorizonOpt = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="auto (the combination unless a backtest shows strong evidence for another "
            "method) or a method name.",
        ),
    ] = "auto",
    origins: Annotated[
        int,
        typer.Option("--origins", min=0, help="Backtest origins calibrating the intervals."),
    ] = CALIBRATION_ORIGINS,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Bookings (or any series) forecast with 80% and 95% prediction intervals.

    Methods: naive, snaive, drift, ets, theta, arima, combo; auto is the combination unless a
    backtest shows strong evidence for another (docs/forecast.md). Intervals are calibrated on a
    backtest of the history. Fallbacks for short histories are printed on stderr.
    """
    from spmlib.forecast.backtest import BACKTEST_COLUMNS, skill_vs_snaive
    from spmlib.forecast.predict import forecast

    frame, currency = _forecast_series(path, mapping, series, by, freq, fill)
    try:
        result = forecast(frame, horizon, method, freq.value if freq else None, origins)
    except SpmError as exc:
        fail(str(exc))
    for key, note in result.notes.items():
        err_console.print(f"note {'/'.join(map(str, key)) or 'series'}: {note}", highlight=False)
    out, sel = result.table, result.selection
    extra = ("chosen", "factor_80", "factor_95")
    keys = [c for c in sel.columns if c not in (*BACKTEST_COLUMNS, *extra)]
    parts = sel.groupby(keys, sort=False) if keys else [((), sel)]
    for key, part in parts:
        row = part.loc[part["chosen"]].iloc[0]
        skill = skill_vs_snaive(part, row["method"])
        skill_text = "no baseline"
        if skill == skill:
            skill_text = f"{skill:.0%} lower than seasonal naive"
        name = "/".join(map(str, key if isinstance(key, tuple) else (key,))) or "series"
        verb = "auto chose" if method == "auto" else "method"
        evidence = "no backtest: intervals as fitted"
        if row["origins"] > 0:
            evidence = (
                f"backtest MASE {row['mase']:.2f}, {skill_text}; interval widths "
                f"x{row['factor_80']:.2f} (80%), x{row['factor_95']:.2f} (95%)"
            )
        err_console.print(f"{name}: {verb} {row['method']} ({evidence})", highlight=False)
    emit(out, fmt, title="Forecast", **_units(out, currency))


@app.command("backtest")
def backtest_command(
    path: PathArg,
    mapping: MappingOpt = None,
    series: SeriesOpt = None,
    fill: FillOpt = None,
    by: ForecastByOpt = ForecastBy.company,
    freq: ForecastFreqOpt = None,
    horizon: HorizonOpt = None,
    origins: OriginsOpt = 6,
    methods: Annotated[
        str | None,
        typer.Option("--methods", help="Comma-separated methods (default all; 'auto' allowed)."),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Rolling-origin backtest per method: MASE, sMAPE, bias (%), 80%/95% interval coverage.

    MASE below 1 beats the in-sample seasonal naive; compare each method with the snaive row.
    """
    from spmlib.forecast.backtest import backtest

    frame, currency = _forecast_series(path, mapping, series, by, freq, fill)
    names = [m.strip() for m in methods.split(",")] if methods else None
    try:
        out = backtest(frame, horizon, origins, names, freq.value if freq else None)
    except SpmError as exc:
        fail(str(exc))
    emit(out, fmt, title="Backtest", **_units(out, currency))
