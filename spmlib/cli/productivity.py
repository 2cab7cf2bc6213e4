"""``spm leaderboard``: reps, teams, managers or regions ranked on one KPI; ``spm scorecards``:
every rep's rating, strengths and areas."""

from __future__ import annotations

from typing import Annotated

import typer

from spmlib.cli.common import (
    By,
    EndOpt,
    FormatOpt,
    MappingOpt,
    OutputFormat,
    PathArg,
    StartOpt,
    app,
    choices,
    emit,
    fail,
    load_or_exit,
    parse_date,
)
from spmlib.core.periods import PERIODS
from spmlib.exceptions import SpmError
from spmlib.productivity.leaderboard import METRICS
from spmlib.reports.columns import Column

#: ``--metric``: the KPIs a leaderboard ranks (:data:`spmlib.productivity.leaderboard.METRICS`).
Metric = choices("Metric", METRICS)
#: ``--period``: a period kind, or ``range`` for --start..--end.
BoardPeriod = choices("BoardPeriod", [*PERIODS, "range"])


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
    from spmlib.productivity.leaderboard import METRICS, leaderboard
    from spmlib.reports.productivity import leaderboard_columns

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
    except SpmError as exc:
        fail(str(exc))
    title = f"{METRICS[metric.value].label} by {by.value}"
    if len(table):
        title += f": {table['period'].iloc[0]} (previous: {table['previous_period'].iloc[0]})"
    if fmt is OutputFormat.table:
        table = table.drop(columns=["period", "previous_period"])
    columns = leaderboard_columns(METRICS[metric.value])
    emit(table, fmt, title=title, currency=ds.config.currency, columns=columns)


@app.command("scorecards")
def scorecards_command(
    path: PathArg,
    mapping: MappingOpt = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's reps.")] = None,
    ramp_months: Annotated[
        int, typer.Option("--ramp-months", min=1, help="Months in role before a rep is rated.")
    ] = 6,
    start: StartOpt = None,
    end: EndOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """List every rep with their rating, attainment over the rating's window, this quarter's
    pace, and the strengths and areas to improve found.

    The rating is led by attainment over the last two complete quarters and this quarter's
    pace (docs/productivity.md, "The rating"); strengths and areas compare each rep with the
    rest of the team over --start..--end (default: the last four complete quarters), in teams
    with at least five other reps.
    """
    from spmlib.productivity.scorecard import scorecards_overview

    ds = load_or_exit(path, mapping)
    if team is not None and team not in set(ds.reps["team"].dropna()):
        fail(f"team {team!r} is not in the dataset; list teams with `spm kpis PATH --by team`.")
    try:
        table = scorecards_overview(
            ds, team, ramp_months, parse_date(start, "--start"), parse_date(end, "--end")
        )
    except SpmError as exc:
        fail(str(exc))
    window = str(table["window"].iloc[0]) if len(table) else ""
    if fmt is OutputFormat.table:
        table = table.drop(columns=["rep_id", "window"])
    columns = {
        "attainment": Column(f"Attainment {window}".strip(), "percent"),
        "pace": Column("Pace this quarter", "percent"),
        "strengths": Column("Strengths", "text"),
        "areas_to_improve": Column("Areas to improve", "text"),
        "rating": Column("Rating", "text"),
    }
    emit(table, fmt, title=f"Ratings and scorecards, {window}", currency=ds.config.currency,
         columns=columns)  # fmt: skip
