"""``spm validate``, ``spm sample`` and ``spm kpis``: the dataset and its foundation KPIs."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape

from spmlib.cli.common import (
    By,
    EndOpt,
    Engine,
    EngineOpt,
    FormatOpt,
    MappingOpt,
    OutputFormat,
    PathArg,
    Period,
    StartOpt,
    app,
    console,
    emit,
    engine_steps,
    fail,
    open_or_exit,
    parse_date,
)
from spmlib.exceptions import SpmError
from spmlib.io.sources import mask_secrets
from spmlib.reports.formatter import format_value


@app.command("validate")
def validate_command(
    path: PathArg, mapping: MappingOpt = None, engine: EngineOpt = Engine.duckdb
) -> None:
    """Check a dataset against the data model and report every problem at once.

    Exit code 0 when it is clean (one summary line per table: rows and date range; warnings
    listed too), 1 when it has errors (each naming the file, column, rule, first offending rows
    and what to fix). A native dataset is checked in the engine, and a clean result is
    remembered for these exact files, so other commands trust them without checking again; a
    CRM export read through a mapping is loaded whole, and what its preset inferred is listed.

    On a native dataset of over 5 M deals (SPM_DUCKDB_SLICE_ROWS), a clean check also writes
    each deal's stage summary to the cache (SPM_CACHE_DIR), once for these files: every
    `spm funnel` of them then reads it in place of the stage history.
    """
    location = path
    if not path:  # the bundled sample (generated on first use)
        from spmlib.sample.resolve import resolve_data

        location = resolve_data(path)
    prepared = None
    if mapping is None:
        problems, summary, prepared = _check_in_engine(location, engine.value)
    else:
        problems, summary = _check_loaded(location, mapping)
    _print_problems(problems, console)
    if summary is None:
        n = sum(p.severity == "error" for p in problems)
        console.print(
            f"[bold red]{n} error(s)[/] in {escape(mask_secrets(path))}. Fix them (or the "
            "mapping) and run `spm validate` again.",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(
        f"[bold green]OK[/] {escape(mask_secrets(path))}", highlight=False, soft_wrap=True
    )
    for row in summary.itertuples(index=False):
        span = (
            f", {row.date_column} {format_value(row.first_date, 'first_date')} .. "
            f"{format_value(row.last_date, 'last_date')}"
            if pd.notna(row.first_date)
            else ""
        )
        console.print(
            f"  {row.table}: {row.rows:,} rows{span}", highlight=False, markup=False, soft_wrap=True
        )
    if prepared:
        size = sum(Path(f).stat().st_size for f in prepared)
        amount = f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.1f} MB"
        console.print(
            f"  each deal's stage summary, which every `spm funnel` of these files reads: in the "
            f"cache ({len(prepared)} files, {amount})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def _check_in_engine(location: str, engine: str):
    """Problems of a native dataset checked in the engine, its table summary, and the files of
    the deal stage summaries prepared for the funnel (both None when it has errors; the files
    None when the funnel needs none: data that fits in one slice)."""
    from spmlib.engine.locations import open_tables
    from spmlib.engine.validate import check_now
    from spmlib.funnel.reach import prepare_deal_summaries

    with engine_steps("spm validate") as progress:
        try:
            tables = open_tables(location, engine=engine, validate=False, progress=progress)
        except SpmError as exc:
            fail(str(exc))
        try:
            problems = check_now(tables)
            if any(p.severity == "error" for p in problems):
                return problems, None, None
            return problems, tables.summary(), prepare_deal_summaries(tables)
        except SpmError as exc:  # e.g. the engine out of memory
            fail(str(exc))
        finally:
            tables.close()


def _check_loaded(location: str, mapping: str):
    """Problems of an export loaded through a mapping (after printing what its preset
    inferred), and its table summary (None when it has errors)."""
    import logging

    from spmlib.io.load import load_result
    from spmlib.io.overview import table_summary

    data_log = logging.getLogger("spmlib.io.load")
    level = data_log.level
    data_log.setLevel(logging.ERROR)  # the warnings are printed with the problems, not logged
    try:
        result = load_result(location, mapping=mapping)
    except SpmError as exc:
        fail(str(exc))
    finally:
        data_log.setLevel(level)
    _print_inferences(result.inferences, mapping, console)
    ds = result.dataset
    return result.problems, (table_summary(ds) if ds is not None else None)


def _print_inferences(inferences, mapping: str | None, out: Console) -> None:
    """What the preset inferred from the export (stage by stage, with the evidence)."""
    if not inferences:
        return
    out.print(
        f"[bold]Inferred from the export[/] by mapping {escape(str(mapping))} "
        "(override any of it in dataset.yml, or write it all out with `spm mapping init`):",
        highlight=False,
        soft_wrap=True,
    )
    for note in inferences:
        out.print(f"  {escape(str(note))}", highlight=False, soft_wrap=True)


_TAGS = {"error": "[red]error[/]", "warning": "[yellow]warning[/]", "note": "[cyan]note[/]"}
_ORDER = {"error": 0, "warning": 1, "note": 2}


def _print_problems(problems, out: Console) -> None:
    """Every problem, grouped by file (errors, then warnings, then notes on how the file was
    read), without markup from data."""

    by_file: dict[str, list] = {}
    for p in problems:
        by_file.setdefault(p.file, []).append(p)
    for file, group in by_file.items():
        out.print(f"[bold]{escape(file)}[/]", highlight=False, soft_wrap=True)
        for p in sorted(group, key=lambda p: _ORDER.get(p.severity, 1)):
            tag = _TAGS.get(p.severity, "[yellow]warning[/]")
            where = f"{p.where_kind} '{p.column}': " if p.column else ""
            text = f"{where}{p.rule}"
            if p.rows:
                text += f" (e.g. {', '.join(p.rows)})"
            out.print(f"  {tag} {escape(text)}", highlight=False, soft_wrap=True)
            if p.hint:
                out.print(f"      -> {escape(p.hint)}", highlight=False, soft_wrap=True)


@app.command("kpis")
def kpis_command(
    path: PathArg,
    mapping: MappingOpt = None,
    by: Annotated[By, typer.Option("--by", help="Group rows by this column.")] = By.rep,
    start: StartOpt = None,
    end: EndOpt = None,
    period: Annotated[
        Period | None,
        typer.Option("--period", help="One row per group and period (fiscal quarters and years)."),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    engine: EngineOpt = Engine.duckdb,
) -> None:
    """Win rate (with Wilson 95% interval), bookings, deal size, cycle and attainment per group.

    Every rep and team appears, even with no deals. Definitions: README, section "The KPIs".
    Aggregated in the engine: only the columns the KPIs need are read.
    """
    from spmlib.productivity.kpis import kpis

    lo, hi = parse_date(start, "--start"), parse_date(end, "--end")
    with engine_steps("spm kpis") as progress:
        ds = open_or_exit(path, mapping, engine.value, progress)
        try:
            table = kpis(ds, by=by.value, start=lo, end=hi, period=period.value if period else None)
        except SpmError as exc:
            fail(str(exc))
    emit(table, fmt, title=f"KPIs by {by.value}", currency=ds.config.currency)


class SampleFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


@app.command("sample")
def sample_command(
    out: Annotated[
        str,
        typer.Argument(
            help="Folder to write the dataset to: a new or empty folder, or a sample folder "
            "written before (its files are replaced; other files are never touched)."
        ),
    ],
    teams: Annotated[int, typer.Option("--teams", min=1, help="Number of teams.")] = 6,
    reps_per_team: Annotated[
        int, typer.Option("--reps-per-team", min=1, help="Reps in each team.")
    ] = 8,
    months: Annotated[int, typer.Option("--months", min=1, help="Months of history.")] = 38,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 42,
    opportunities: Annotated[
        int | None,
        typer.Option("--opportunities", min=1, help="Force the total number of opportunities."),
    ] = None,
    fmt: Annotated[
        SampleFormat, typer.Option("--format", help="csv (readable) or parquet (large data).")
    ] = SampleFormat.csv,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into a non-empty folder that is not a sample: files named like the "
            "sample's (its tables, dataset.yml, ground_truth.yml) are replaced, others kept.",
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="Write the same world as an extract taken that day would hold it: later deals, "
            "stage moves and closes not yet happened, open deals with the expected close date "
            "they had then (default: the data's last day, 2026-12-14).",
        ),
    ] = None,
) -> None:
    """Write the synthetic sample dataset (every table, dataset.yml, ground_truth.yml).

    Deterministic for a seed; realistic reps, stages, seasonality, activities, quotas and leads.
    The data ends on Monday 2026-12-14, six weeks into fiscal quarter FY2027-Q4; with --as-of
    the same world is written as it stood on an earlier day (e.g. the week before, to compare
    two extracts with `spm changes`). In Parquet, more opportunities than fit one chunk
    (500,000) are written chunk by chunk as folders of Parquet parts (100,000,000 take minutes
    and little memory; see spmlib.sample.chunked). OUT is never deleted: a file, or a non-empty
    folder that is not a sample (without --force), is refused with nothing written.
    """
    from spmlib.io.schema import TABLES
    from spmlib.sample.chunked import CHUNK, write_chunked_sample
    from spmlib.sample.generator import write_sample

    size = {"teams": teams, "reps_per_team": reps_per_team, "months": months, "seed": seed}
    try:
        if as_of is not None:
            size["as_of"] = str(parse_date(as_of, "--as-of").date())
        if fmt is SampleFormat.parquet and opportunities is not None and opportunities > CHUNK:
            folder = write_chunked_sample(out, opportunities=opportunities, force=force, **size)
        else:
            folder = write_sample(
                out, format=fmt.value, opportunities=opportunities, force=force, **size
            )
    except SpmError as exc:
        fail(str(exc))
    counts = {name: _count_rows(folder, name, fmt.value) for name in TABLES}
    summary = ", ".join(f"{n:,} {name}" for name, n in counts.items())
    console.print(f"Wrote {folder}: {summary}", highlight=False, markup=False, soft_wrap=True)


def _count_rows(folder, name: str, fmt: str) -> int:
    """Data rows of a written table: CSV lines - 1 (generated text has no line breaks), or the
    Parquet metadata of the file or of every part of its folder."""
    path = folder / f"{name}.{fmt}"
    if not path.exists() and not (folder / name).is_dir():
        return 0
    if fmt == "parquet":
        import pyarrow.parquet as pq

        parts = [path] if path.is_file() else sorted((folder / name).glob("*.parquet"))
        return sum(pq.read_metadata(p).num_rows for p in parts)
    with open(path, "rb") as fh:
        return max(sum(1 for _ in fh) - 1, 0)
