"""``spm funnel``, ``spm pipeline`` and ``spm flow``: the stage funnel, the open pipeline and
the pipeline flow per group, aggregated in the engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from spmlib.cli.common import (
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
    err_console,
    fail,
    load_or_exit,
    open_or_exit,
    parse_date,
)
from spmlib.exceptions import SpmError
from spmlib.funnel.conversion import FUNNEL_COLUMNS
from spmlib.funnel.flow import FLOW_MEASURES
from spmlib.funnel.pipeline_sums import CLOSE_PERIODS

#: Columns printed by `spm funnel` after the group columns: those of
#: :data:`spmlib.funnel.conversion.FUNNEL_COLUMNS` but the cumulative interval and the flag.
FUNNEL_CLI_COLUMNS = [
    c
    for c in FUNNEL_COLUMNS
    if c not in ("cumulative_conversion_low", "cumulative_conversion_high", "losses_known")
]

#: ``--freq`` of ``spm pipeline``: the close periods the open pipeline accepts.
Freq = choices("Freq", CLOSE_PERIODS)

ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Group by a column (team, manager, region, rep_id, lead_source, product, ...) "
        "or 'rep' (rep_id + rep_name); default: one group for all the data.",
    ),
]


def _table(command: str, path, mapping, engine: str, in_engine: Callable, loaded: Callable):
    """The table of ``command`` and the data's currency: ``in_engine(tables)`` on the data
    opened in the engine, or, for a CRM export (``mapping``) or data with several pipelines,
    ``loaded(ds)`` on the data loaded whole (pandas, one result per pipeline)."""
    if mapping is None:
        with engine_steps(command) as progress:
            tables = open_or_exit(path, None, engine, progress)
            try:
                if len(tables.config.pipelines) <= 1:
                    return in_engine(tables), tables.config.currency
            except SpmError as exc:
                fail(str(exc))
            finally:
                tables.close()
    ds = load_or_exit(path, mapping)
    try:
        return loaded(ds), ds.config.currency
    except SpmError as exc:
        fail(str(exc))


@app.command("funnel")
def funnel_command(
    path: PathArg,
    mapping: MappingOpt = None,
    by: ByOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    engine: EngineOpt = Engine.duckdb,
) -> None:
    """Stage funnel: reached, advanced, lost and open per stage, conversion with Wilson 95%
    interval, cumulative conversion and median days in stage.

    With --start/--end only the transitions dated in the range count (period view). Stages in
    funnel order, won stage last. Definitions: docs/funnel.md.
    Aggregated in the engine: only the opportunities and the stage history are read. Above
    5 M deals, each deal's stage summary is written to the cache (SPM_CACHE_DIR) when the files
    are validated (`spm validate`, or the first command on them) and every funnel reads it:
    see docs/data.md.
    """
    from spmlib.funnel.conversion import stage_funnel
    from spmlib.funnel.reach import engine_stage_funnel

    lo, hi = parse_date(start, "--start"), parse_date(end, "--end")
    table, currency = _table(
        "spm funnel",
        path,
        mapping,
        engine.value,
        lambda tables: engine_stage_funnel(tables, by=by, start=lo, end=hi),
        lambda ds: stage_funnel(
            ds.opportunities,
            ds.stage_history,
            config=ds.config,
            by=by,
            reps=ds.reps,
            start=lo,
            end=hi,
            as_of=ds.as_of,
        ),
    )
    group_cols = [c for c in table.columns if c not in FUNNEL_COLUMNS]
    if not table["losses_known"].all():
        err_console.print(
            "note: the dataset has no stage history, so stage-level losses are unknown; "
            "lost deals count only in the win rate (cumulative_conversion of the won stage).",
            highlight=False,
        )
    emit(
        table[[*group_cols, *FUNNEL_CLI_COLUMNS]],
        fmt,
        title="Stage funnel",
        currency=currency,
    )


@app.command("pipeline")
def pipeline_command(
    path: PathArg,
    mapping: MappingOpt = None,
    by: ByOpt = None,
    freq: Annotated[
        Freq,
        typer.Option("--freq", help="Close periods: calendar months or fiscal quarters."),
    ] = Freq.month,
    fmt: FormatOpt = OutputFormat.table,
    engine: EngineOpt = Engine.duckdb,
) -> None:
    """Open pipeline: the open deals (a count) and their amount (in the currency of
    dataset.yml) by current stage and expected close period (the month, or the fiscal quarter
    of fiscal_year_start_month, holding the deal's close_date).

    Open stages in funnel order; only the combinations with open deals appear; a deal without
    a close date has an empty close period. Aggregated in the engine: one GROUP BY over the
    open deals, only the opportunities read (docs/data.md). Data with several pipelines is
    loaded whole instead, one open pipeline per pipeline. Definitions: docs/funnel.md.
    """
    from spmlib.funnel.pipeline import open_pipeline
    from spmlib.funnel.pipeline_sums import engine_open_pipeline

    table, currency = _table(
        "spm pipeline",
        path,
        mapping,
        engine.value,
        lambda tables: engine_open_pipeline(tables, by=by, freq=freq.value),
        lambda ds: open_pipeline(
            ds.opportunities, config=ds.config, by=by, reps=ds.reps, freq=freq.value
        ),
    )
    if fmt is OutputFormat.table:  # the period's label says it; its first day is for files
        # the amount before the count: the column a narrow terminal keeps
        keys = [c for c in table.columns if c not in ("close_period_start", "deals", "amount")]
        table = table[[*keys, "amount", "deals"]]
    emit(table, fmt, title="Open pipeline", currency=currency)


@app.command("flow")
def flow_command(
    path: PathArg,
    start: Annotated[str, typer.Option("--start", help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--end", help="Last day, inclusive (YYYY-MM-DD).")],
    mapping: MappingOpt = None,
    by: ByOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    engine: EngineOpt = Engine.duckdb,
) -> None:
    """Pipeline flow from --start to --end: open at start + created - won - lost = open at
    end, exactly, in deals (a count) and in amount (the currency of dataset.yml).

    Open at start: open at the end of the day before --start. A deal closes on the day it
    entered the won or lost stage in the stage history, else on its close_date (never before
    its created_date). As a table: one table of deals, one of amounts; csv and json: two rows
    per group (measure = count, amount). Aggregated in the engine: the stage history's won
    and lost entries per deal, joined to the opportunities and summed per group, in slices of
    deals on large data (docs/data.md). Data with several pipelines is loaded whole instead,
    one balance per pipeline. Definitions: docs/funnel.md.
    """
    from spmlib.funnel.flow import pipeline_flow
    from spmlib.funnel.pipeline_sums import engine_pipeline_flow

    lo, hi = parse_date(start, "--start"), parse_date(end, "--end")
    table, currency = _table(
        "spm flow",
        path,
        mapping,
        engine.value,
        lambda tables: engine_pipeline_flow(tables, lo, hi, by=by),
        lambda ds: pipeline_flow(
            ds.opportunities,
            ds.stage_history,
            config=ds.config,
            start=lo,
            end=hi,
            by=by,
            reps=ds.reps,
        ),
    )
    if fmt is not OutputFormat.table:
        emit(table, fmt, currency=currency)
        return
    for measure, kind, title in (("count", "count", "deals"), ("amount", "money", "amount")):
        rows = table[table["measure"] == measure].drop(columns="measure")
        emit(
            rows.reset_index(drop=True),
            fmt,
            title=f"Pipeline flow {lo.date()} to {hi.date()}: {title}",
            currency=currency,
            columns=_flow_columns(kind),
        )


def _flow_columns(kind: str) -> dict:
    """The flow's measures shown as ``kind`` (count or money), under their usual labels."""
    from spmlib.reports.columns import column

    return {m: column(m).relabel(column(m).label, kind=kind) for m in FLOW_MEASURES}
