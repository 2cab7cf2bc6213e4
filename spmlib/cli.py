"""The ``spm`` command line. Each command is a thin shell over spmlib functions.

Data problems are printed as a list (file, column, rule, rows, what to fix) with exit code 1,
never as a traceback.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from spmlib.exceptions import DataValidationError, SpmError

__all__ = ["app"]

app = typer.Typer(
    help="Sales performance management workbench: validate CRM data, compute KPIs, "
    "render and email reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def main() -> None:
    """Sales performance management workbench: validate CRM data, compute KPIs, render and
    email reports. Run `spm COMMAND --help` for the options of a command."""


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


# Options shared by the data commands.
PathArg = Annotated[
    str, typer.Argument(help="Dataset folder (CSV/Parquet + dataset.yml) or SQLAlchemy URL.")
]
MappingOpt = Annotated[
    str | None,
    typer.Option(
        "--mapping", "-m", help="CRM mapping: a preset (salesforce, hubspot) or a YAML file."
    ),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]
StartOpt = Annotated[
    str | None, typer.Option("--start", help="First day of the range (YYYY-MM-DD).")
]
EndOpt = Annotated[
    str | None, typer.Option("--end", help="Last day of the range, inclusive (YYYY-MM-DD).")
]


def fail(message: str, code: int = 1) -> None:
    """Print an error (no traceback) and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load_or_exit(path: str, mapping: str | None = None):
    """Load a dataset; on a data problem print every problem and exit 1."""
    from spmlib.sample.resolve import load

    try:
        return load(path, mapping=mapping)
    except DataValidationError as exc:
        err_console.print(str(exc), highlight=False, markup=False)
        err_console.print("Fix the data (or the mapping) and run `spm validate` again.")
        raise typer.Exit(1) from None
    except (SpmError, FileNotFoundError) as exc:
        fail(str(exc))


def parse_date(value: str | None, option: str) -> pd.Timestamp | None:
    """Parse a --start/--end value, or exit with a message naming the option."""
    if value is None:
        return None
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        fail(f"{option} {value!r} is not a date; use YYYY-MM-DD.")


def emit(
    frame: pd.DataFrame, fmt: OutputFormat, title: str | None = None, money: tuple[str, ...] = ()
) -> None:
    """Print a tidy frame as a rich table, CSV or JSON records (dates as ISO strings); in a
    table the ``money`` columns show 2 decimals."""
    if fmt is OutputFormat.csv:
        frame.to_csv(sys.stdout, index=False)
    elif fmt is OutputFormat.json:
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        sys.stdout.write(json.dumps(records, indent=1) + "\n")
    else:
        is_money = [c in money for c in frame.columns]
        cells = [
            [
                f"{v:,.2f}" if m and pd.notna(v) else _cell(v)
                for v, m in zip(row, is_money, strict=True)
            ]
            for row in frame.itertuples(index=False)
        ]
        table = Table(title=title, show_lines=False)
        widths = []
        for i, col in enumerate(frame.columns):
            numeric = pd.api.types.is_numeric_dtype(frame[col])
            table.add_column(str(col), justify="right" if numeric else "left", no_wrap=True)
            widths.append(max([len(str(col)), *(len(r[i]) for r in cells)]) + 3)
        for row in cells:
            table.add_row(*row)
        # Wide tables are printed whole (a pipe or a narrow terminal would otherwise truncate).
        Console(width=max(console.width, sum(widths) + 1)).print(table)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return f"{value:,.0f}"
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


# --- foundation: validate, sample, kpis -------------------------------------------------------


@app.command("validate")
def validate_command(path: PathArg, mapping: MappingOpt = None) -> None:
    """Check a dataset against the data model and report every problem at once.

    Exit code 0 when it is clean (one summary line per table: rows and date range; warnings
    listed too), 1 when it has errors (each naming the file, column, rule, first offending rows
    and what to fix).
    """
    import logging

    from spmlib.io.load import load_checked
    from spmlib.io.overview import table_summary
    from spmlib.sample.resolve import resolve_data

    data_log = logging.getLogger("spmlib.io.load")
    level = data_log.level
    data_log.setLevel(logging.ERROR)  # the warnings are printed below, not logged
    try:
        ds, problems = load_checked(resolve_data(path), mapping=mapping)
    except (SpmError, FileNotFoundError) as exc:
        fail(str(exc))
    finally:
        data_log.setLevel(level)
    _print_problems(problems, console)
    if ds is None:
        n = sum(p.severity == "error" for p in problems)
        console.print(
            f"[bold red]{n} error(s)[/] in {escape(path)}. Fix them (or the mapping) and run "
            "`spm validate` again.",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(f"[bold green]OK[/] {escape(path)}", highlight=False, soft_wrap=True)
    for row in table_summary(ds).itertuples(index=False):
        span = (
            f", {row.date_column} {_cell(row.first_date)} .. {_cell(row.last_date)}"
            if pd.notna(row.first_date)
            else ""
        )
        console.print(
            f"  {row.table}: {row.rows:,} rows{span}", highlight=False, markup=False, soft_wrap=True
        )


def _print_problems(problems, out: Console) -> None:
    """Every problem, grouped by file (errors first in each group), without markup from data."""

    by_file: dict[str, list] = {}
    for p in problems:
        by_file.setdefault(p.file, []).append(p)
    for file, group in by_file.items():
        out.print(f"[bold]{escape(file)}[/]", highlight=False, soft_wrap=True)
        for p in sorted(group, key=lambda p: p.severity != "error"):
            tag = "[red]error[/]" if p.severity == "error" else "[yellow]warning[/]"
            where = f"column '{p.column}': " if p.column else ""
            text = f"{where}{p.rule}"
            if p.rows:
                text += f" (e.g. {', '.join(p.rows)})"
            out.print(f"  {tag} {escape(text)}", highlight=False, soft_wrap=True)
            if p.hint:
                out.print(f"      -> {escape(p.hint)}", highlight=False, soft_wrap=True)


class By(StrEnum):
    rep = "rep"
    team = "team"
    manager = "manager"
    region = "region"
    all = "all"


class Period(StrEnum):
    month = "month"
    quarter = "quarter"
    ytd = "ytd"


@app.command("kpis")
def kpis_command(
    path: PathArg,
    mapping: MappingOpt = None,
    by: Annotated[By, typer.Option("--by", help="Group rows by this column.")] = By.rep,
    start: StartOpt = None,
    end: EndOpt = None,
    period: Annotated[
        Period | None,
        typer.Option("--period", help="One row per group and month, fiscal quarter or fiscal YTD."),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Win rate (with Wilson 95% interval), bookings, deal size, cycle and attainment per group.

    Every rep and team appears, even with no deals. Definitions: README, section "The KPIs".
    """
    from spmlib.productivity.kpis import kpis

    ds = load_or_exit(path, mapping)
    try:
        table = kpis(
            ds,
            by=by.value,
            start=parse_date(start, "--start"),
            end=parse_date(end, "--end"),
            period=period.value if period else None,
        )
    except (SpmError, ValueError) as exc:
        fail(str(exc))
    emit(table, fmt, title=f"KPIs by {by.value}")


class SampleFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


@app.command("sample")
def sample_command(
    out: Annotated[str, typer.Argument(help="Folder to write the dataset to (replaced).")],
    teams: Annotated[int, typer.Option("--teams", min=1, help="Number of teams.")] = 6,
    reps_per_team: Annotated[
        int, typer.Option("--reps-per-team", min=1, help="Reps in each team.")
    ] = 8,
    months: Annotated[int, typer.Option("--months", min=1, help="Months of history.")] = 36,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 42,
    opportunities: Annotated[
        int | None,
        typer.Option("--opportunities", min=1, help="Force the total number of opportunities."),
    ] = None,
    fmt: Annotated[
        SampleFormat, typer.Option("--format", help="csv (readable) or parquet (large data).")
    ] = SampleFormat.csv,
) -> None:
    """Write the synthetic sample dataset (every table, dataset.yml, ground_truth.yml).

    Deterministic for a seed; realistic reps, stages, seasonality, activities, quotas and leads.
    """
    from spmlib.io.schema import TABLES
    from spmlib.sample.generator import write_sample

    try:
        folder = write_sample(
            out,
            format=fmt.value,
            teams=teams,
            reps_per_team=reps_per_team,
            months=months,
            seed=seed,
            opportunities=opportunities,
        )
    except SpmError as exc:
        fail(str(exc))
    counts = {name: _count_rows(folder / f"{name}.{fmt.value}") for name in TABLES}
    summary = ", ".join(f"{n:,} {name}" for name, n in counts.items())
    console.print(f"Wrote {folder}: {summary}", highlight=False, markup=False, soft_wrap=True)


def _count_rows(path) -> int:
    """Data rows of a written CSV (lines - 1; generated text has no line breaks) or Parquet."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_metadata(path).num_rows
    with open(path, "rb") as fh:
        return max(sum(1 for _ in fh) - 1, 0)


# --- funnel (issue 3) --------------------------------------------------------------------------

#: Columns printed by `spm funnel` after the group columns (spmlib.funnel.conversion.stage_funnel
#: has more).
FUNNEL_CLI_COLUMNS = [
    "stage",
    "reached",
    "advanced",
    "lost",
    "open",
    "conversion",
    "conversion_low",
    "conversion_high",
    "cumulative_conversion",
    "median_days_in_stage",
]


@app.command("funnel")
def funnel_command(
    path: PathArg,
    mapping: MappingOpt = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Group by a column (team, manager, region, rep_id, lead_source, product, ...) "
            "or 'rep' (rep_id + rep_name); default: one group for all the data.",
        ),
    ] = None,
    start: StartOpt = None,
    end: EndOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Stage funnel: reached, advanced, lost and open per stage, conversion with Wilson 95%
    interval, cumulative conversion and median days in stage.

    With --start/--end only the transitions dated in the range count (period view). Stages in
    funnel order, won stage last. Definitions: README, section "Funnel and pipeline".
    """
    from spmlib.funnel.conversion import FUNNEL_COLUMNS, stage_funnel

    ds = load_or_exit(path, mapping)
    try:
        table = stage_funnel(
            ds.opportunities,
            ds.stage_history,
            config=ds.config,
            by=by,
            reps=ds.reps,
            start=parse_date(start, "--start"),
            end=parse_date(end, "--end"),
            as_of=ds.as_of,
        )
    except (SpmError, ValueError) as exc:
        fail(str(exc))
    group_cols = [c for c in table.columns if c not in FUNNEL_COLUMNS]
    if not table["losses_known"].all():
        err_console.print(
            "note: the dataset has no stage history, so stage-level losses are unknown; "
            "lost deals count only in the win rate (cumulative_conversion of the won stage).",
            highlight=False,
        )
    emit(table[[*group_cols, *FUNNEL_CLI_COLUMNS]], fmt, title="Stage funnel")


# --- productivity (issue 4) --------------------------------------------------------------------

Metric = StrEnum(
    "Metric",
    {
        name: name
        for name in (
            "bookings",
            "won",
            "opportunities_created",
            "avg_deal_size",
            "median_cycle_days",
            "attainment",
            "win_rate",
            "proposal_acceptance",
            "activities",
        )
    },
)


class BoardPeriod(StrEnum):
    month = "month"
    quarter = "quarter"
    ytd = "ytd"
    range = "range"


@app.command("leaderboard")
def leaderboard_command(
    path: PathArg,
    metric: Annotated[
        Metric, typer.Option("--metric", help="KPI to rank on (rates rank by shrunken value).")
    ] = Metric.bookings,
    mapping: MappingOpt = None,
    by: Annotated[By, typer.Option("--by", help="Rank reps, teams, managers or regions.")] = By.rep,
    period: Annotated[
        BoardPeriod,
        typer.Option(
            "--period",
            help="Fiscal month, quarter or year to date (vs the same days of the one before), "
            "or 'range' for --start..--end (vs the same length before).",
        ),
    ] = BoardPeriod.quarter,
    team: Annotated[str | None, typer.Option("--team", help="Rank within one team.")] = None,
    start: StartOpt = None,
    end: EndOpt = None,
    top: Annotated[int | None, typer.Option("--top", help="Show the first N rows.")] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Rank reps (or teams) on one KPI, with the change since the previous period.

    The current period is the one holding the data's reference date (or --end), to date.
    Definitions: README, section "Productivity".
    """
    from spmlib.productivity.leaderboard import leaderboard

    ds = load_or_exit(path, mapping)
    if team is not None:
        if team not in set(ds.reps["team"].dropna()):
            fail(f"team {team!r} is not in the dataset; list teams with `spm kpis PATH --by team`.")
        ds = ds.scoped(team=team)
    try:
        table = leaderboard(
            ds,
            metric=metric.value,
            by=by.value,
            period=None if period is BoardPeriod.range else period.value,
            start=parse_date(start, "--start"),
            end=parse_date(end, "--end"),
            top=top,
        )
    except (SpmError, ValueError) as exc:
        fail(str(exc))
    title = f"{metric.value} by {by.value}"
    if len(table):
        title += f": {table['period'].iloc[0]} (previous: {table['previous_period'].iloc[0]})"
    if fmt is OutputFormat.table:
        table = table.drop(columns=["period", "previous_period"])
    emit(table, fmt, title=title)


# --- forecast (issue 5) ------------------------------------------------------------------------


class ForecastBy(StrEnum):
    company = "company"
    team = "team"
    rep = "rep"
    product = "product"


class ForecastFreq(StrEnum):
    M = "M"
    Q = "Q"
    W = "W"


SeriesOpt = Annotated[
    str | None,
    typer.Option(
        "--series",
        help="PATH is a plain CSV series: DATE_COLUMN,VALUE_COLUMN[,GROUP_COLUMN].",
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
    """The series frame for the forecast commands: a plain series file or a dataset's bookings."""
    from spmlib.forecast.series import bookings_series, read_series

    code = freq.value if freq else None
    if series:
        try:
            return read_series(path, series, code)
        except DataValidationError as exc:
            err_console.print(str(exc), highlight=False, markup=False)
            raise typer.Exit(1) from None
        except (SpmError, ValueError, FileNotFoundError) as exc:
            fail(str(exc))
    ds = load_or_exit(path, mapping)
    try:
        return bookings_series(ds, code or "M", by=None if by is ForecastBy.company else by.value)
    except (SpmError, ValueError) as exc:
        fail(str(exc))


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

    frame = _forecast_series(path, mapping, series, by, freq)
    try:
        out = forecast(frame, horizon, method, freq.value if freq else None, origins)
    except (SpmError, ValueError) as exc:
        fail(str(exc))
    for key, note in out.attrs.get("notes", {}).items():
        err_console.print(f"note {'/'.join(map(str, key)) or 'series'}: {note}", highlight=False)
    sel = out.attrs.get("selection")
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
    emit(out, fmt, title="Forecast")


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

    frame = _forecast_series(path, mapping, series, by, freq)
    names = [m.strip() for m in methods.split(",")] if methods else None
    try:
        out = backtest(frame, horizon, origins, names, freq.value if freq else None)
    except (SpmError, ValueError) as exc:
        fail(str(exc))
    emit(out, fmt, title="Backtest")


# --- batch (issue 6) ---------------------------------------------------------------------------


@app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run_command(
    ctx: typer.Context,
    notebook: Annotated[
        str, typer.Argument(help="Report notebook: a path, or a name in notebooks/ (funnel).")
    ],
    files: Annotated[
        list[str] | None,
        typer.Option("-f", "--parameters-file", help="YAML parameters file (repeatable)."),
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", help="Output folder (default outputs/single).")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds for the whole report.")
    ] = 600,
) -> None:
    """Run one report: NOTEBOOK [-p KEY VALUE]... [-f PARAMS.yml]... [--out DIR].

    -p KEY VALUE sets one parameter (repeatable; None, true/false and numbers are typed, the
    rest is text). Files are applied in order, then -p values; later wins. Every key is checked
    against the notebook's parameters cell first. Writes DIR/<report>.ipynb and .html; a failed
    report's partial notebook goes to DIR/failed/ and the command exits 1.
    """
    from pathlib import Path

    from spmlib.config import OUTPUTS_DIR
    from spmlib.run.batch import run_report
    from spmlib.run.params import Layer, ParameterError, parse_cli_value, read_layer

    layers = []
    try:
        kind = notebook.rsplit("/", 1)[-1].removesuffix(".ipynb")
        for path in files or []:
            layer = read_layer(path, kind)
            if layer is None:
                fail(f"parameters file {path!r} does not exist")
            layers.append(layer)
        cli_values = {}
        args = list(ctx.args)
        while args:
            token = args.pop(0)
            if token not in ("-p", "--parameter") or len(args) < 2:
                fail(f"unexpected argument {token!r}; set parameters with -p KEY VALUE")
            key, value = args.pop(0), args.pop(0)
            cli_values[key] = parse_cli_value(value)
        layers.append(Layer("-p", cli_values))
        result = run_report(notebook, layers, out or OUTPUTS_DIR / "single", timeout=timeout)
    except (ParameterError, FileNotFoundError) as exc:
        fail(str(exc))
    folder = Path(out or OUTPUTS_DIR / "single").resolve()
    if result["status"] != "ok":
        err = result.get("error") or {}
        cell = f" in cell {err.get('cell')}" if err.get("cell") is not None else ""
        partial = folder / result["outputs"].get("partial", "")
        fail(
            f"{result['id']} {result['status']}{cell}: {err.get('ename')}: {err.get('evalue')} "
            f"(partial notebook: {partial})"
        )
    for path in result["outputs"].values():
        console.print(str(folder / path), highlight=False)


def _batch_progress():
    """A rich progress bar on stderr (counts, failures, elapsed and remaining time) and the
    callback that drives it; no bar when stderr is not a terminal."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("[bold]reports"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    )
    task = progress.add_task("reports", total=None, failed=0)
    failed = 0

    def callback(event: str, manifest: dict, report: dict) -> None:
        nonlocal failed
        if event == "begin":
            progress.reset(task, total=report["total"], failed=0)
        elif event == "done":
            failed += report["status"] != "ok"
            progress.update(task, advance=1, failed=failed)

    return progress, callback


@app.command("batch")
def batch_command(
    spec: Annotated[
        str | None, typer.Argument(help="Batch spec YAML (default params/batch.yml).")
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", help="Dataset folder or URL (default: the sample data)."),
    ] = None,
    mapping: MappingOpt = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", min=1, help="Worker processes (default: CPU cores)."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Run only matching reports: KEY=VALUE, KEY one of notebook, id, "
            "team, rep_id, manager (repeatable).",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1, help="Seconds per report (default: spec, else 600)."),
    ] = None,
    retry_failed: Annotated[
        str | None,
        typer.Option("--retry-failed", metavar="RUN-ID", help="Rerun the failed reports of a run."),
    ] = None,
    outputs: Annotated[
        str | None, typer.Option("--outputs", help="Folder of run folders (default outputs/).")
    ] = None,
    kernel_reuse: Annotated[
        int, typer.Option("--kernel-reuse", min=1, help="Reports per warm kernel.")
    ] = 20,
    warm_imports: Annotated[
        str | None,
        typer.Option(
            "--warm-imports",
            help="Comma-separated modules each kernel imports before its first report "
            "(default: pandas, statsmodels, seaborn, spmlib and its analysis modules).",
        ),
    ] = None,
) -> None:
    """Render every report of a batch spec into outputs/<run-id>/ with manifest.json and
    index.html; outputs/latest points at the last complete run.

    Exits 1 when a report failed (a summary lists them), 130 when interrupted.
    """
    import time as _time
    from pathlib import Path

    from spmlib.config import OUTPUTS_DIR
    from spmlib.run import batch

    options = batch.BatchOptions(
        workers=workers, timeout=timeout, scheduler=scheduler, kernel_reuse=kernel_reuse
    )
    if warm_imports:
        options.warm_imports = tuple(m.strip() for m in warm_imports.split(",") if m.strip())
    outputs_dir = Path(outputs) if outputs else OUTPUTS_DIR
    started = _time.monotonic()
    bar, callback = _batch_progress()
    try:
        with bar:
            if retry_failed:
                result = batch.retry_failed(retry_failed, options, outputs_dir, callback)
            else:
                result = batch.run_batch(
                    spec, data, mapping, only or (), options, outputs_dir, callback
                )
    except (SpmError, FileNotFoundError) as exc:
        fail(str(exc))
    reports = result.manifest["reports"]
    ok = sum(r["status"] == "ok" for r in reports)
    err_console.print(
        f"{len(reports)} reports: {ok} ok, {len(reports) - ok} not ok, "
        f"in {_time.monotonic() - started:.1f} s; run {result.manifest['run_id']} "
        f"({result.status}): {result.run_dir / 'index.html'}",
        highlight=False,
    )
    failures = batch.summarize_failures(result.manifest)
    if failures:
        err_console.print("[bold red]Reports not ok:[/]")
        for line in failures:
            err_console.print(f"  {line}", highlight=False, markup=False)
        err_console.print(
            f"Rerun them with: spm batch --retry-failed {result.manifest['run_id']}",
            highlight=False,
        )
    if result.status == "interrupted":
        raise typer.Exit(130)
    if result.status != "complete":
        raise typer.Exit(1)


# --- email (issue 7) ---------------------------------------------------------------------------


@app.command("email")
def email_command(
    run_dir: Annotated[str, typer.Argument(help="Batch run folder, e.g. outputs/latest.")],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Write one .eml per message and preview.html under RUN-DIR/mail."
        ),
    ] = False,
    smtp_host: Annotated[
        str | None, typer.Option("--smtp-host", help="SMTP server to send through.")
    ] = None,
    smtp_port: Annotated[
        int | None,
        typer.Option("--smtp-port", help="SMTP port (default 25, or 465 with --ssl)."),
    ] = None,
    starttls: Annotated[
        bool, typer.Option("--starttls", help="Upgrade the connection with STARTTLS.")
    ] = False,
    use_ssl: Annotated[bool, typer.Option("--ssl", help="Connect with implicit TLS.")] = False,
    user: Annotated[
        str | None,
        typer.Option("--user", help="SMTP login; the password is read from SPM_SMTP_PASSWORD."),
    ] = None,
    cafile: Annotated[
        str | None,
        typer.Option(
            "--cafile",
            envvar="SPM_SMTP_CAFILE",
            help="PEM file of the CA certificates to trust for --starttls/--ssl instead of the "
            "system's (a private CA or a self-signed server).",
        ),
    ] = None,
    settings_file: Annotated[
        str | None,
        typer.Option("--settings", help="Email settings YAML (default params/email.yml)."),
    ] = None,
    retries: Annotated[
        int, typer.Option("--retries", help="Retries of a transient SMTP failure.")
    ] = 4,
    backoff: Annotated[
        float, typer.Option("--backoff", help="First retry delay in seconds (doubles each time).")
    ] = 2.0,
) -> None:
    """Email the reports of a batch run: each rep their own scorecard, managers their team's.

    Recipients come from the run's data (reps.email, reps.manager_email) and params/email.yml.
    A send ledger (RUN-DIR/mail/ledger.jsonl) makes reruns send only what the server has not
    accepted yet. Exit code 1 if a recipient was refused or a message could not be delivered.
    """
    from pathlib import Path

    from spmlib.mail.message import (
        CANNOT_EMAIL,
        Ledger,
        SmtpConfig,
        prepare_run,
        send_all,
        write_outbox,
    )
    from spmlib.mail.recipients import deliveries_table, load_settings

    if dry_run == (smtp_host is not None):
        fail("say either --dry-run (write .eml files) or --smtp-host HOST (send), not both.")
    if starttls and use_ssl:
        fail("--starttls and --ssl exclude each other; pick one.")
    run = Path(run_dir).resolve()
    try:
        config = (
            SmtpConfig.from_env(
                smtp_host,
                smtp_port,
                "ssl" if use_ssl else "starttls" if starttls else "none",
                user,
                cafile,
            )
            if smtp_host
            else None
        )
        outgoing, skipped = prepare_run(run, load_settings(settings_file))
    except SpmError as exc:
        fail(str(exc))
    for s in skipped:
        err_console.print(
            f"not sent: {s['report_id']} ({s['reason']})", highlight=False, markup=False
        )
    unrenderable = [s["report_id"] for s in skipped if s["reason"].startswith(CANNOT_EMAIL)]
    if config is None:
        paths = write_outbox(outgoing, run / "mail")
        emit(deliveries_table([o.delivery for o in outgoing]), OutputFormat.table, "Messages")
        console.print(
            f"Wrote {len(paths)} .eml file(s) to {run / 'mail' / 'outbox'} and the preview page "
            f"{run / 'mail' / 'preview.html'}",
            highlight=False,
        )
        if unrenderable:
            fail(f"{len(unrenderable)} report(s) cannot be emailed: {', '.join(unrenderable)}.")
        return
    try:
        results = send_all(
            outgoing,
            config,
            Ledger(run / "mail" / "ledger.jsonl"),
            retries=retries,
            backoff=backoff,
        )
    except SpmError as exc:
        fail(str(exc))
    emit(results.drop(columns=["message_id"]), OutputFormat.table, "Delivery")
    bad = results[results["status"].isin(["refused", "deferred"])]
    counts = results["status"].value_counts().to_dict()
    console.print(", ".join(f"{v} {k}" for k, v in counts.items()) or "nothing to send")
    if len(bad):
        fail(
            f"{len(bad)} recipient(s) did not get their message (refused: permanent, deferred: "
            "retried by the next run); see the table above and RUN-DIR/mail/ledger.jsonl."
        )
    if unrenderable:
        fail(f"{len(unrenderable)} report(s) cannot be emailed: {', '.join(unrenderable)}.")


# --- compensation (issue 14) -------------------------------------------------------------------

comp_app = typer.Typer(
    help="Incentive compensation: pay runs from plan files, diffs, payroll files, payout curves. "
    "Rules and formulas: docs/compensation.md.",
    no_args_is_help=True,
)
app.add_typer(comp_app, name="comp")

PlansOpt = Annotated[
    str | None,
    typer.Option(
        "--plans",
        help="Folder of plan files (*.yml), assignments.csv and adjustments.csv "
        "(default params/comp).",
    ),
]
OutputsOpt = Annotated[
    str | None,
    typer.Option(
        "--outputs", help="Folder of stored runs and the paid ledger (default outputs/comp)."
    ),
]


_MONEY_COLUMNS = (
    "credited", "quota", "earnings", "spifs", "draw_paid", "draw_recovered", "draw_balance",
    "clawbacks", "adjustments", "payout", "payout_a", "payout_b", "change", "credited_a",
    "credited_b", "amount_a", "amount_b",
)  # fmt: skip


def _store(outputs: str | None):
    from spmlib.comp.ledger import RunStore

    return RunStore(outputs)


def _print_checks(checks: pd.DataFrame) -> None:
    for row in checks.itertuples(index=False):
        tag = "[green]ok[/]" if row.ok else "[bold red]FAILED[/]"
        err_console.print(
            f"  {tag} {escape(row.check)}: {escape(row.detail)}", highlight=False, soft_wrap=True
        )


@comp_app.command("run")
def comp_run_command(
    path: PathArg,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="Target period: FY2027-Q3 (fiscal quarter), 2026-08 (month) or FY2027 (fiscal "
            "year); default: the fiscal quarter holding the data's as-of date.",
        ),
    ] = None,
    plans: PlansOpt = None,
    mapping: MappingOpt = None,
    outputs: OutputsOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Work it out and print it; store nothing.")
    ] = False,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Work out pay for the open periods up to --period, check it and store the run.

    One row per rep and period. The year's periods not paid yet are paid too; periods already
    paid (`spm comp payroll`) are recomputed and their changes paid as prior-period
    adjustments. The run is stored immutably in outputs/comp/<run-id>/ (manifest with the plan
    hash and data fingerprint, statements and lines as Parquet). Exit 1 if a check fails.
    """
    from spmlib.comp.engine import load_inputs
    from spmlib.comp.payrun import describe, pay_run, run_table, store_run
    from spmlib.config import PARAMS_DIR
    from spmlib.core.periods import period_label, period_start

    ds = load_or_exit(path, mapping)
    fy = ds.config.fiscal_year_start_month
    if period is None:
        start = period_start(pd.Series([ds.as_of]), "quarter", fy)
        period = period_label(start, "quarter", fy).iloc[0]
    store = _store(outputs)
    try:
        inputs = load_inputs(ds, plans or PARAMS_DIR / "comp")
        run = pay_run(inputs, period, store)
        folder = None if dry_run or not run.ok else store_run(run, store)
    except (SpmError, FileNotFoundError) as exc:
        fail(str(exc))
    table = run_table(run.statements)
    emit(table, fmt, f"Pay run {period} ({inputs.currency})", money=_MONEY_COLUMNS)
    err_console.print(escape(describe(run)), highlight=False, soft_wrap=True)
    _print_checks(run.checks)
    if not run.ok:
        fail("the run does not reconcile, so it was not stored; see the failed checks above.")
    if folder is not None:
        err_console.print(f"stored in {folder}", highlight=False, markup=False)


@comp_app.command("runs")
def comp_runs_command(outputs: OutputsOpt = None, fmt: FormatOpt = OutputFormat.table) -> None:
    """List the stored runs: id, target, periods, reps, total payout, and the run that paid."""
    store = _store(outputs)
    paid = {r["run_id"]: r["paid_at"] for r in store.paid()}
    rows = []
    for run_id in store.run_ids():
        m = store.load(run_id).manifest
        rows.append(
            {
                "run_id": run_id,
                "target": m["target"],
                "periods": ", ".join(m["periods"]),
                "reps": m["reps"],
                "payout": m["total_payout_cents"] / 100,
                "currency": m["currency"],
                "paid_at": paid.get(run_id, ""),
            }
        )
    cols = ["run_id", "target", "periods", "reps", "payout", "currency", "paid_at"]
    emit(pd.DataFrame(rows, columns=cols), fmt, f"Runs in {store.root}", money=_MONEY_COLUMNS)


@comp_app.command("diff")
def comp_diff_command(
    run_a: Annotated[str, typer.Argument(help="The earlier run: id, unique prefix or 'latest'.")],
    run_b: Annotated[str, typer.Argument(help="The later run.")],
    lines: Annotated[
        bool, typer.Option("--lines", help="Show every changed line instead of one row per rep.")
    ] = False,
    outputs: OutputsOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """What changed between two runs and why: per rep and period, the payouts and the changed
    credits, quotas, SPIFs, clawbacks, draws and adjustments; the inputs that differ first."""
    from spmlib.comp.diff import diff_lines, diff_runs, input_changes

    store = _store(outputs)
    try:
        a, b = store.load(run_a), store.load(run_b)
    except SpmError as exc:
        fail(str(exc))
    changes = input_changes(a, b)
    err_console.print(
        f"{a.run_id} -> {b.run_id}: " + ("; ".join(changes) if changes else "same inputs"),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if lines:
        table = diff_lines(a, b)
        for col in ("amount_a", "amount_b", "change"):
            table[col] = table.pop(f"{col}_cents") / 100
        emit(table.drop(columns=["line_key"]), fmt, "Changed lines", money=_MONEY_COLUMNS)
        return
    table = diff_runs(a, b)
    for col in ("payout_a", "payout_b", "change", "credited_a", "credited_b"):
        table[col] = table.pop(f"{col}_cents") / 100
    cols = [
        "rep_id",
        "rep_name",
        "period",
        "payout_a",
        "payout_b",
        "change",
        "credited_a",
        "credited_b",
        "why",
    ]
    emit(table[cols], fmt, "Changes by rep and period", money=_MONEY_COLUMNS)


@comp_app.command("payroll")
def comp_payroll_command(
    run: Annotated[str, typer.Argument(help="Run id (or unique prefix, or 'latest').")],
    out: Annotated[str, typer.Option("--out", help="The payroll file: NAME.csv or NAME.xlsx.")],
    outputs: OutputsOpt = None,
) -> None:
    """Write the payroll file of a run (rep_id, rep_name, period, payout, currency), check it
    against the statements and lines to the cent, and record the run's periods as paid.

    A paid period is never paid again: later runs settle its changes as prior-period
    adjustments. Exporting the same run again rewrites the file and records nothing new.
    """
    from spmlib.comp.checks import check_lines_match
    from spmlib.comp.payroll import check_payroll, write_payroll

    store = _store(outputs)
    try:
        stored = store.load(run)
        path = write_payroll(stored.statements, out)
        checks = pd.DataFrame(
            [
                check_lines_match(stored.statements, stored.lines),
                check_payroll(stored.statements, path),
            ]
        )
        _print_checks(checks)
        if not checks["ok"].all():
            fail(
                f"{path} does not reconcile with run {stored.run_id}; it was not recorded as paid."
            )
        record = store.mark_paid(stored, str(path), int(stored.statements["payout_cents"].sum()))
    except SpmError as exc:
        fail(str(exc))
    console.print(
        f"Wrote {path}: {len(stored.statements)} statement(s), "
        f"{', '.join(record['periods'])} paid by run {stored.run_id}",
        highlight=False,
        markup=False,
    )


@comp_app.command("curve")
def comp_curve_command(
    plan_file: Annotated[str, typer.Argument(help="A plan file (YAML).")],
    step: Annotated[float, typer.Option("--step", min=0.01, help="Attainment step.")] = 0.1,
    upto: Annotated[float, typer.Option("--upto", min=0.1, help="Highest attainment.")] = 2.5,
    plot: Annotated[
        str | None, typer.Option("--plot", help="Also draw the curve into this PNG file.")
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """The payout curve of a plan from 0 to 250% attainment, with its cliffs flagged.

    A cliff is an attainment where pay jumps: the threshold, and with a retroactive rate table
    every tier edge (a deal pushed across 100% re-rates the whole period).
    """
    from spmlib.comp.curve import curve_table, payout_curve
    from spmlib.comp.plan import load_plan
    from spmlib.comp.rates import cliffs

    try:
        plan = load_plan(plan_file)
    except (SpmError, FileNotFoundError) as exc:
        fail(str(exc))
    emit(
        curve_table(plan, step, upto),
        fmt,
        title=f"{plan.name}: earnings at TI "
        f"{plan.target_incentive:,} {plan.currency} per {plan.period}",
    )
    found = cliffs(plan.rate_table)
    if found.empty:
        err_console.print("no cliff: pay rises continuously with attainment", highlight=False)
    for c in found.itertuples(index=False):
        jump = c.jump * float(plan.target_incentive)
        err_console.print(
            f"[yellow]cliff[/] at {c.attainment:.0%} ({c.kind}): pay jumps from "
            f"{c.multiple_below:g} to {c.multiple_at:g} x TI ({jump:,.2f} {plan.currency})",
            highlight=False,
        )
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        from spmlib.reports.plotting.comp import plot_payout_curve

        ax = plot_payout_curve(payout_curve(plan, upto))
        ax.figure.savefig(plot, dpi=120, bbox_inches="tight")
        err_console.print(f"wrote {plot}", highlight=False, markup=False)


if __name__ == "__main__":  # pragma: no cover
    app()
