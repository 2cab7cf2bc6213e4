"""``spm funnel``: the stage funnel per group."""

from __future__ import annotations

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

#: Columns printed by `spm funnel` after the group columns: those of
#: :data:`spmlib.funnel.conversion.FUNNEL_COLUMNS` but the cumulative interval and the flag.
FUNNEL_CLI_COLUMNS = [
    c
    for c in FUNNEL_COLUMNS
    if c not in ("cumulative_conversion_low", "cumulative_conversion_high", "losses_known")
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
    engine: EngineOpt = Engine.duckdb,
) -> None:
    """Stage funnel: reached, advanced, lost and open per stage, conversion with Wilson 95%
    interval, cumulative conversion and median days in stage.

    With --start/--end only the transitions dated in the range count (period view). Stages in
    funnel order, won stage last. Definitions: README, section "Funnel and pipeline".
    Aggregated in the engine: only the opportunities and the stage history are read. Above
    5 M deals, each deal's stage summary is written to the cache (SPM_CACHE_DIR) when the files
    are validated (`spm validate`, or the first command on them) and every funnel reads it:
    see docs/data.md.
    """
    lo, hi = parse_date(start, "--start"), parse_date(end, "--end")
    if mapping is None:
        table, currency = _engine_funnel(path, engine.value, by, lo, hi)
    else:  # a CRM export: loaded whole, one funnel per pipeline
        table, currency = _loaded_funnel(path, mapping, by, lo, hi)
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


def _engine_funnel(path, engine, by, lo, hi):
    """The funnel aggregated in the engine (only opportunities and stage history are read)."""
    from spmlib.funnel.reach import engine_stage_funnel

    with engine_steps("spm funnel") as progress:
        tables = open_or_exit(path, None, engine, progress)
        try:
            if len(tables.config.pipelines) <= 1:
                return engine_stage_funnel(tables, by=by, start=lo, end=hi), tables.config.currency
        except SpmError as exc:
            fail(str(exc))
        finally:
            tables.close()
    return _loaded_funnel(path, None, by, lo, hi)


def _loaded_funnel(path, mapping, by, lo, hi):
    """The funnel of a loaded dataset (per pipeline when it has several)."""
    from spmlib.funnel.conversion import stage_funnel

    ds = load_or_exit(path, mapping)
    try:
        table = stage_funnel(
            ds.opportunities,
            ds.stage_history,
            config=ds.config,
            by=by,
            reps=ds.reps,
            start=lo,
            end=hi,
            as_of=ds.as_of,
        )
    except SpmError as exc:
        fail(str(exc))
    return table, ds.config.currency
