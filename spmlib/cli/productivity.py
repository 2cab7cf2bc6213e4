"""``spm leaderboard``: reps, teams, managers or regions ranked on one KPI; ``spm scorecards``:
every rep's rating, strengths and areas; ``spm activity``: activities per rep or team, period
and type, counted in the engine."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from spmlib.cli.common import (
    By,
    EndOpt,
    Engine,
    EngineOpt,
    FormatOpt,
    MappingOpt,
    OutputFormat,
    PathArg,
    StartOpt,
    app,
    choices,
    emit,
    engine_steps,
    fail,
    load_or_exit,
    open_or_exit,
    parse_date,
)
from spmlib.core.buckets import ACTIVITY_TYPES
from spmlib.core.periods import FREQS, PERIODS
from spmlib.exceptions import SpmError
from spmlib.productivity.leaderboard import METRICS
from spmlib.reports.columns import Column

#: ``--metric``: the KPIs a leaderboard ranks (:data:`spmlib.productivity.leaderboard.METRICS`).
Metric = choices("Metric", METRICS)
#: ``--period``: a period kind, or ``range`` for --start..--end.
BoardPeriod = choices("BoardPeriod", [*PERIODS, "range"])
#: ``--freq`` of ``spm activity``: the calendar units of :data:`spmlib.core.periods.FREQS`.
Freq = choices("Freq", FREQS)
#: ``--by`` of ``spm activity``: a row per rep, or per team (its reps summed).
ActivityBy = choices("ActivityBy", ["rep", "team"])


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
    Definitions: docs/productivity.md.
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


@app.command("activity")
def activity_command(
    path: PathArg,
    mapping: MappingOpt = None,
    freq: Annotated[
        Freq,
        typer.Option(
            "--freq",
            help="Count per week (Monday to Sunday), month, fiscal quarter or fiscal year.",
        ),
    ] = Freq.month,
    start: StartOpt = None,
    end: EndOpt = None,
    by: Annotated[
        ActivityBy,
        typer.Option("--by", help="A row per rep, or per team (the sum of its reps)."),
    ] = ActivityBy.rep,
    fmt: FormatOpt = OutputFormat.table,
    engine: EngineOpt = Engine.duckdb,
) -> None:
    """Activities logged per rep (or team), period and type.

    An activity is a row of the activities table dated in the period (within --start..--end;
    default: the data's first deal or quota to its reference date), counted under its type
    lower-cased, a plural read as singular (Calls is call). When referral activities carry the
    outcome received, referrals split into given and received. Activities with no date or
    type, or of a rep not in the reps table, are not counted.

    Counted in the engine: one GROUP BY reads only the rep, type, date and outcome of the
    activities (a billion rows in bounded memory); the small table of counts is finished in
    pandas, with the same rules as the reports.

    --by team sums the activities of the team's reps (each rep in the team the reps table
    gives, for every period); 'Reps employed' counts the team's reps hired by the period's end.

    As a table: a row per rep (or team) and period, the total, then a column per type; periods
    before a rep was hired are left out, unless they have activities. As csv or json: a row
    per rep (or team), period and type, with `active` (the rep was hired by the period's end)
    or `active_reps`.
    """
    from spmlib.productivity.activity import activity_volume, team_activity_volume

    lo, hi = parse_date(start, "--start"), parse_date(end, "--end")
    with engine_steps("spm activity") as progress:
        ds = open_or_exit(path, mapping, engine.value, progress)
        try:
            table = activity_volume(ds, freq=freq.value, start=lo, end=hi)
        except SpmError as exc:
            fail(str(exc))
    if by is ActivityBy.team:
        table = team_activity_volume(table)
    title = f"Activities by {by.value} and {freq.value}"
    if fmt is not OutputFormat.table:
        emit(table, fmt, title=title)
        return
    wide, columns = _by_type(table, by is ActivityBy.team)
    emit(wide, fmt, title=title, columns=columns)


def _type_label(kind: str) -> str:
    """A column header for an activity type: ``call`` -> ``Calls``, ``referral given`` ->
    ``Referrals given``; other types as written, capitalised."""
    first, _, rest = kind.partition(" ")
    if first in ACTIVITY_TYPES:
        first += "s"
    return " ".join(filter(None, [first, rest])).capitalize()


def _by_type(table: pd.DataFrame, teams: bool) -> tuple[pd.DataFrame, dict[str, Column]]:
    """The counts of ``spm activity`` with their total, then a column per type (in the table's
    order), a row per rep (or team) and period (pre-hire periods without activities left out);
    and the definitions of the type columns."""
    keys = ["team", "period", "active_reps"] if teams else ["rep_id", "rep_name", "team", "period"]
    types = list(dict.fromkeys(table["type"]))
    if not teams:
        table = table[
            table["active"] | (table.groupby(keys, sort=False)["activities"].transform("sum") > 0)
        ]
    wide = table.set_index([*keys, "type"])["activities"].unstack("type", sort=False)
    wide = wide.reindex(columns=types).fillna(0).astype("int64")
    names = {t: f"type_{i}" for i, t in enumerate(types)}
    wide = wide.rename(columns=names).reset_index()
    wide.columns.name = None
    # the total first, after the keys: the column a narrow terminal keeps
    wide.insert(len(keys), "activities", wide[list(names.values())].sum(axis=1).astype("int64"))
    columns = {n: Column(_type_label(t), "count") for t, n in names.items()}
    columns["activities"] = Column("All activities", "count")
    if teams:
        columns["active_reps"] = Column("Reps employed", "count")
    return wide, columns
