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
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def load_or_exit(path: str, mapping: str | None = None):
    """Load a dataset; on a data problem print every problem and exit 1."""
    from spmlib.data import load

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


def emit(frame: pd.DataFrame, fmt: OutputFormat, title: str | None = None) -> None:
    """Print a tidy frame as a rich table, CSV or JSON records (dates as ISO strings)."""
    if fmt is OutputFormat.csv:
        frame.to_csv(sys.stdout, index=False)
    elif fmt is OutputFormat.json:
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        sys.stdout.write(json.dumps(records, indent=1) + "\n")
    else:
        table = Table(title=title, show_lines=False)
        for col in frame.columns:
            table.add_column(
                str(col), justify="right" if pd.api.types.is_numeric_dtype(frame[col]) else "left"
            )
        for row in frame.itertuples(index=False):
            table.add_row(*(_cell(v) for v in row))
        console.print(table)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
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

    from rich.markup import escape

    from spmlib.data import load_checked
    from spmlib.overview import table_summary

    logging.getLogger("spmlib.data").setLevel(logging.ERROR)  # the warnings are printed below
    try:
        ds, problems = load_checked(path, mapping=mapping)
    except (SpmError, FileNotFoundError) as exc:
        fail(str(exc))
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
    from rich.markup import escape

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
    from spmlib.kpis import kpis

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
    from spmlib.sample import write_sample

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
    counts = {
        name: _count_rows(folder / f"{name}.{fmt.value}")
        for name in ("reps", "opportunities", "stage_history", "activities", "quotas", "leads")
    }
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
    from spmlib.leaderboard import leaderboard

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

# --- batch (issue 6) ---------------------------------------------------------------------------

# --- email (issue 7) ---------------------------------------------------------------------------


if __name__ == "__main__":  # pragma: no cover
    app()
