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
from spmlib.forecast.series import FORECAST_GROUPINGS, FORECAST_PERIODS, FREQS
from spmlib.reports.columns import plain_amounts

#: ``--by``: the groupings a bookings series can be split by.
ForecastBy = choices("ForecastBy", FORECAST_GROUPINGS)
#: ``--freq``: the period kinds that can be forecast, by code or name.
ForecastFreq = choices("ForecastFreq", [*FREQS, *FORECAST_PERIODS])


SeriesOpt = Annotated[
    str | None,
    typer.Option(
        "--series",
        help="PATH is a plain CSV series; name its columns as DATE,VALUE or DATE,VALUE,GROUP.",
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


def _forecast_series(path, mapping, series, by, freq):
    """The series frame for the forecast commands (a plain series file or a dataset's
    bookings), and the currency of its amounts (None for a series file)."""
    from spmlib.forecast.series import bookings_series, read_series

    code = freq.value if freq else None
    if series:
        try:
            return read_series(path, series, code), None
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
    by: ForecastByOpt = ForecastBy.company,
    freq: ForecastFreqOpt = None,
    horizon: HorizonOpt = None,
    method: Annotated[
        str, typer.Option("--method", help="auto (best backtest MASE) or a method name.")
    ] = "auto",
    origins: OriginsOpt = 6,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Bookings (or any series) forecast with 80% and 95% prediction intervals.

    Methods: naive, snaive, drift, ets, theta, arima, combo; auto picks the one with the lowest
    rolling-origin backtest MASE. Fallbacks for short histories are printed on stderr.
    """
    from spmlib.forecast.backtest import BACKTEST_COLUMNS, skill_vs_snaive
    from spmlib.forecast.predict import forecast

    frame, currency = _forecast_series(path, mapping, series, by, freq)
    try:
        result = forecast(frame, horizon, method, freq.value if freq else None, origins)
    except SpmError as exc:
        fail(str(exc))
    for key, note in result.notes.items():
        err_console.print(f"note {'/'.join(map(str, key)) or 'series'}: {note}", highlight=False)
    out, sel = result.table, result.selection
    if sel is not None:
        keys = [c for c in sel.columns if c not in (*BACKTEST_COLUMNS, "chosen")]
        parts = sel.groupby(keys, sort=False) if keys else [((), sel)]
        for key, part in parts:
            chosen = part.loc[part["chosen"], "method"].iloc[0]
            mase = part.loc[part["chosen"], "mase"].iloc[0]
            skill = skill_vs_snaive(part, chosen)
            skill_text = "no baseline"
            if skill == skill:
                skill_text = f"{skill:.0%} lower than seasonal naive"
            name = "/".join(map(str, key if isinstance(key, tuple) else (key,))) or "series"
            err_console.print(
                f"{name}: auto chose {chosen} (backtest MASE {mase:.2f}, {skill_text})",
                highlight=False,
            )
    emit(out, fmt, title="Forecast", **_units(out, currency))


@app.command("backtest")
def backtest_command(
    path: PathArg,
    mapping: MappingOpt = None,
    series: SeriesOpt = None,
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

    frame, currency = _forecast_series(path, mapping, series, by, freq)
    names = [m.strip() for m in methods.split(",")] if methods else None
    try:
        out = backtest(frame, horizon, origins, names, freq.value if freq else None)
    except SpmError as exc:
        fail(str(exc))
    emit(out, fmt, title="Backtest", **_units(out, currency))
