"""What every ``spm`` command shares: the app, common options, loading, errors and output."""

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

from spmlib.core.grouping import GROUPINGS
from spmlib.core.periods import PERIODS
from spmlib.core.ranges import parse_day
from spmlib.engine.base import ENGINES
from spmlib.exceptions import DataValidationError, SpmError
from spmlib.io.sources import mask_secrets
from spmlib.reports.columns import columns_for
from spmlib.reports.formatter import format_frame

__all__ = [
    "app",
    "fail",
    "load_or_exit",
    "parse_date",
    "emit",
    "choices",
    "OutputFormat",
    "By",
    "Period",
    "Engine",
    "EngineOpt",
    "open_or_exit",
]

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


def choices(name: str, values) -> type[StrEnum]:
    """A typer choice type of ``values`` (the names of a registry), so the CLI offers exactly
    what the analysis accepts."""
    return StrEnum(name, {str(v): str(v) for v in values})


#: ``--by``: the named groupings of :data:`spmlib.core.grouping.GROUPINGS` (``all`` = company).
By = choices("By", [*GROUPINGS, "all"])
#: ``--engine``: the engines of :data:`spmlib.engine.base.ENGINES`.
Engine = choices("Engine", ENGINES)
#: ``--period``: the period kinds of :data:`spmlib.core.periods.PERIODS`.
Period = choices("Period", PERIODS)


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


EngineOpt = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="Where the data is aggregated: duckdb (embedded, default) or spark "
        "(a PATH of the form spark:LOCATION always uses Spark). See docs/data.md.",
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
    """Print an error (no traceback, secrets masked) and exit with ``code``."""
    err_console.print(
        f"[bold red]error:[/] {escape(mask_secrets(message))}", highlight=False, soft_wrap=True
    )
    raise typer.Exit(code)


def load_or_exit(path: str, mapping: str | None = None):
    """Load a dataset; on a data problem print every problem and exit 1."""
    from spmlib.sample.resolve import load

    try:
        ds = load(path, mapping=mapping)
    except DataValidationError as exc:
        err_console.print(str(exc), highlight=False, markup=False)
        err_console.print("Fix the data (or the mapping) and run `spm validate` again.")
        raise typer.Exit(1) from None
    except SpmError as exc:
        fail(str(exc))
    if ds.inferences:
        err_console.print(
            f"note: mapping {mapping} inferred the stages from the export "
            f"({len(ds.inferences)} decisions); `spm validate {path} --mapping {mapping}` "
            "lists them with their evidence.",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    return ds


def open_or_exit(path: str, mapping: str | None = None, engine: str = "duckdb"):
    """Open a dataset in an engine (:func:`spmlib.engine.tables.open_tables`; the sample when
    ``path`` is empty), validated once per fingerprint; on a data problem print every problem
    and exit 1."""
    from spmlib.engine.locations import open_tables
    from spmlib.sample.resolve import resolve_data

    try:
        return open_tables(resolve_data(path), mapping=mapping, engine=engine)
    except DataValidationError as exc:
        err_console.print(str(exc), highlight=False, markup=False)
        err_console.print("Fix the data (or the mapping) and run `spm validate` again.")
        raise typer.Exit(1) from None
    except SpmError as exc:
        fail(str(exc))


def parse_date(value: str | None, option: str) -> pd.Timestamp | None:
    """Parse a --start/--end value (:func:`spmlib.core.ranges.parse_day`), or exit with a
    message naming the option."""
    try:
        return parse_day(value, option)
    except SpmError as exc:
        fail(str(exc))


def _formula_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text cells escaped for spreadsheets (missing values kept)."""
    from spmlib.comp.payroll import escape_cell

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or isinstance(out[col].dtype, pd.StringDtype):
            text = out[col].notna() & out[col].map(lambda v: isinstance(v, str))
            out.loc[text, col] = out.loc[text, col].map(escape_cell)
    return out


def emit(
    frame: pd.DataFrame,
    fmt: OutputFormat,
    title: str | None = None,
    currency: str = "USD",
    columns: dict | None = None,
) -> None:
    """Print a tidy frame: as a table for people, or as machine-readable CSV or JSON.

    ``table`` goes through the report formatter (:mod:`spmlib.reports.formatter`): column
    labels for people, money in ``currency``, percentages, separators, fixed decimals
    (``columns``: definitions overriding the vocabulary). ``csv``
    and ``json`` keep the raw values and the snake_case column names (dates as ISO strings);
    in CSV a text cell that a spreadsheet would run as a formula (starting with = + - @) gets
    a leading ``'`` (:func:`spmlib.comp.payroll.escape_cell`).
    """
    if fmt is OutputFormat.csv:
        _formula_safe(frame).to_csv(sys.stdout, index=False)
    elif fmt is OutputFormat.json:
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        sys.stdout.write(json.dumps(records, indent=1) + "\n")
    else:
        shown = format_frame(frame, columns, currency=currency)
        kinds = columns_for(frame, columns)
        table = Table(title=title, show_lines=False)
        widths = []
        for name, label in zip(frame.columns, shown.columns, strict=True):
            right = kinds[str(name)].numeric
            table.add_column(escape(label), justify="right" if right else "left", no_wrap=True)
            widths.append(max([len(label), *(len(v) for v in shown[label])]) + 3)
        for row in shown.itertuples(index=False):
            table.add_row(*(escape(v) for v in row))
        # Wide tables are printed whole (a pipe or a narrow terminal would otherwise truncate).
        Console(width=max(console.width, sum(widths) + 1)).print(table)
