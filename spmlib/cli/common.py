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
from spmlib.exceptions import DataValidationError, SpmError

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
    except SpmError as exc:
        fail(str(exc))


def parse_date(value: str | None, option: str) -> pd.Timestamp | None:
    """Parse a --start/--end value (:func:`spmlib.core.ranges.parse_day`), or exit with a
    message naming the option."""
    try:
        return parse_day(value, option)
    except SpmError as exc:
        fail(str(exc))


def emit(frame: pd.DataFrame, fmt: OutputFormat, title: str | None = None) -> None:
    """Print a tidy frame as a rich table, CSV or JSON records (dates as ISO strings)."""
    if fmt is OutputFormat.csv:
        frame.to_csv(sys.stdout, index=False)
    elif fmt is OutputFormat.json:
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        sys.stdout.write(json.dumps(records, indent=1) + "\n")
    else:
        cells = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
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
