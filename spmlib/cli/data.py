"""``spm validate``, ``spm sample`` and ``spm kpis``: the dataset and its foundation KPIs."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape

from spmlib.cli.common import (
    By,
    EndOpt,
    FormatOpt,
    MappingOpt,
    OutputFormat,
    PathArg,
    Period,
    StartOpt,
    app,
    console,
    emit,
    fail,
    load_or_exit,
    parse_date,
)
from spmlib.exceptions import SpmError
from spmlib.reports.formatter import format_value


@app.command("validate")
def validate_command(path: PathArg, mapping: MappingOpt = None) -> None:
    """Check a dataset against the data model and report every problem at once.

    Exit code 0 when it is clean (one summary line per table: rows and date range; warnings
    listed too), 1 when it has errors (each naming the file, column, rule, first offending rows
    and what to fix).
    """
    import logging

    from spmlib.io.load import load_result
    from spmlib.io.overview import table_summary
    from spmlib.sample.resolve import resolve_data

    data_log = logging.getLogger("spmlib.io.load")
    level = data_log.level
    data_log.setLevel(logging.ERROR)  # the warnings are printed below, not logged
    try:
        result = load_result(resolve_data(path), mapping=mapping)
    except SpmError as exc:
        fail(str(exc))
    finally:
        data_log.setLevel(level)
    ds, problems = result.dataset, result.problems
    _print_inferences(result.inferences, mapping, console)
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
            f", {row.date_column} {format_value(row.first_date, 'first_date')} .. "
            f"{format_value(row.last_date, 'last_date')}"
            if pd.notna(row.first_date)
            else ""
        )
        console.print(
            f"  {row.table}: {row.rows:,} rows{span}", highlight=False, markup=False, soft_wrap=True
        )


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
    except SpmError as exc:
        fail(str(exc))
    emit(table, fmt, title=f"KPIs by {by.value}", currency=ds.config.currency)


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
    months: Annotated[int, typer.Option("--months", min=1, help="Months of history.")] = 38,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 42,
    opportunities: Annotated[
        int | None,
        typer.Option("--opportunities", min=1, help="Force the total number of opportunities."),
    ] = None,
    fmt: Annotated[
        SampleFormat, typer.Option("--format", help="csv (readable) or parquet (large data).")
    ] = SampleFormat.csv,
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
    two extracts with `spm changes`).
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
            as_of=None if as_of is None else str(parse_date(as_of, "--as-of").date()),
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
