"""What every ``spm`` command shares: the app, common options, loading, errors and output."""

from __future__ import annotations

import atexit
import gc
import json
import logging
import os
import re
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from functools import cache
from typing import Annotated

import pandas as pd
import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from spmlib.cli.lazy import app
from spmlib.core.grouping import GROUPINGS
from spmlib.core.periods import PERIODS
from spmlib.core.ranges import parse_day
from spmlib.engine.base import ENGINES
from spmlib.exceptions import DataValidationError, SpmError
from spmlib.io.files import csv_text
from spmlib.io.sources import mask_secrets
from spmlib.reports.columns import columns_for
from spmlib.reports.formatter import format_count, format_frame
from spmlib.reports.report import by_name

__all__ = [
    "app",
    "fail",
    "load_or_exit",
    "parse_date",
    "emit",
    "fit_columns",
    "choices",
    "OutputFormat",
    "By",
    "Period",
    "Engine",
    "EngineOpt",
    "open_or_exit",
    "engine_steps",
    "format_duration",
]


class _MaskedStream:
    """``sys.stdout`` or ``sys.stderr`` (looked up at every write, since tests swap them) with
    every URL password masked (:func:`spmlib.io.sources.mask_secrets`): the last guard for any
    text a command prints, beside the masking of each message where it is built."""

    def __init__(self, name: str):
        self._name = name

    @property
    def _stream(self):
        return getattr(sys, self._name)

    def write(self, text: str) -> int:
        return self._stream.write(mask_secrets(text))

    def __getattr__(self, name: str):  # flush, isatty, fileno, encoding ...
        return getattr(self._stream, name)


console = Console(file=_MaskedStream("stdout"))


err_console = Console(file=_MaskedStream("stderr"))


class _MaskedLogHandler(logging.Handler):
    """Log records of spmlib on stderr (warnings and above, as Python's last-resort handler
    shows them), their text masked."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(mask_secrets(self.format(record)) + "\n")
        except Exception:  # pragma: no cover - logging must never break a command
            self.handleError(record)


def _log_masked() -> None:
    """Send spmlib's log records through :class:`_MaskedLogHandler` (once per process)."""
    logger = logging.getLogger("spmlib")
    if not any(isinstance(h, _MaskedLogHandler) for h in logger.handlers):
        handler = _MaskedLogHandler(logging.WARNING)
        logger.addHandler(handler)


@cache
def _spare_the_collector() -> None:
    """Keep the garbage collector off the objects that live as long as the process (the
    modules: pandas, numpy, pyarrow...), which it would otherwise walk at every full
    collection and once more at exit, to free memory that the system frees with the process
    (0.1 s of the 0.8 s of ``spm kpis`` on a million deals). The objects alive when the
    command starts are frozen (:func:`gc.freeze`); at exit, the command's garbage is collected
    (finalizers run as usual), then what is left frozen too, so the interpreter's teardown
    does not walk them. Once per process."""
    gc.freeze()
    atexit.register(gc.freeze)
    atexit.register(gc.collect)  # exit handlers run last registered first: collect, then freeze


@app.callback()
def main() -> None:
    """Sales performance management workbench: validate CRM data, compute KPIs, render and
    email reports. Run `spm COMMAND --help` for the options of a command."""
    _log_masked()
    _spare_the_collector()


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


@contextmanager
def _data_problems_exit() -> Iterator[None]:
    """Print every problem of unusable data (or any other SpmError) and exit 1."""
    try:
        yield
    except DataValidationError as exc:
        err_console.print(str(exc), highlight=False, markup=False)
        err_console.print("Fix the data (or the mapping) and run `spm validate` again.")
        raise typer.Exit(1) from None
    except SpmError as exc:
        fail(str(exc))


def load_or_exit(path: str, mapping: str | None = None):
    """Load a dataset; on a data problem print every problem and exit 1."""
    from spmlib.sample.resolve import load

    with _data_problems_exit():
        ds = load(path, mapping=mapping)
    if ds.inferences:
        err_console.print(
            f"note: mapping {mapping} inferred the stages from the export "
            f"({len(ds.inferences)} decisions); `spm validate {mask_secrets(path)} --mapping "
            f"{mapping}` "
            "lists them with their evidence.",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    return ds


def format_duration(seconds: float) -> str:
    """``75`` → ``1m15s``; ``3700`` → ``1h01m``; ``4.2`` → ``4s``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@contextmanager
def engine_steps(command: str) -> Iterator[Callable[[str], None] | None]:
    """While a command works in an engine, a line on stderr saying which step runs and for
    how long (a terminal only: the first check of 100 M deals takes minutes). Yields the
    callback to give as ``progress`` (:attr:`spmlib.engine.tables.Tables.progress`), or None
    when stderr is not a terminal."""
    if not err_console.is_terminal:
        yield None
        return
    started = time.monotonic()
    with err_console.status(f"{command}: opening the data") as status:

        def show(step: str) -> None:
            took = format_duration(time.monotonic() - started)
            status.update(escape(f"{command}: {step} ({took} so far)"))

        yield show


def open_or_exit(path: str, mapping: str | None = None, engine: str = "duckdb", progress=None):
    """Open a dataset in an engine (:func:`spmlib.engine.tables.open_tables`; the sample when
    ``path`` is empty), validated once per fingerprint, and, when validated now, ready for the
    funnel (:func:`spmlib.funnel.reach.prepare_deal_summaries`: on large data, once per
    fingerprint too, as ``spm validate`` does); print how files were read where it matters
    (notes); on a data problem print every problem and exit 1. ``progress``: as
    :func:`~spmlib.engine.locations.open_tables` (from :func:`engine_steps`)."""
    from spmlib.engine.locations import open_tables

    if not path:  # the bundled sample (generated on first use)
        from spmlib.sample.resolve import resolve_data

        path = resolve_data(path)
    with _data_problems_exit():
        tables = open_tables(path, mapping=mapping, engine=engine, progress=progress)
        if tables.checked_now:  # (imported here: trusted files spare kpis the funnel's imports)
            from spmlib.funnel.reach import prepare_deal_summaries

            prepare_deal_summaries(tables)
    for note in tables.notes:  # e.g. the encoding a file was read in
        err_console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
    return tables


def parse_date(value: str | None, option: str) -> pd.Timestamp | None:
    """Parse a --start/--end value (:func:`spmlib.core.ranges.parse_day`), or exit with a
    message naming the option."""
    try:
        return parse_day(value, option)
    except SpmError as exc:
        fail(str(exc))


#: Interval bounds (``win_rate_low``, ``p10``, ``p90``): the first columns left out when a
#: table does not fit, so the estimate itself (``p50``) stays.
_BOUND = re.compile(r"(_low|_high|(^|_)p(10|25|75|90))$")


def fit_columns(widths: list[int], width: int | None, drop_first: Sequence[int] = ()) -> list[int]:
    """The columns (indices, in order) that fit ``width`` characters, given each column's
    narrowest width (a rich table adds 3 characters per column and 1 for the edge). Columns
    are left out in the order of ``drop_first``, then from the right; the first one always
    stays. None: all of them.

    Examples
    --------
    >>> fit_columns([10, 8, 8, 12], 40), fit_columns([10, 8, 8, 12], 80)
    ([0, 1, 2], [0, 1, 2, 3])
    >>> fit_columns([10, 8, 8, 12], 40, drop_first=[1]), fit_columns([50, 5], 20)
    ([0, 2, 3], [0])
    """
    kept = list(range(len(widths)))
    if width is None:
        return kept
    order = [i for i in drop_first if i] + [i for i in reversed(kept) if i and i not in drop_first]
    for i in order:
        if sum(widths[k] + 3 for k in kept) + 1 <= width:
            break
        kept.remove(i)
    return kept


def _narrowest(label: str, cells: list[str], numeric: bool) -> int:
    """A column's narrowest width: numbers never wrap, their header does; text (names,
    stages) wraps only past 24 characters.

    Examples
    --------
    >>> _narrowest("Win rate, 95% low", ["25%"], True), _narrowest("Rep", ["Ada Lovelace"], False)
    (5, 12)
    """
    header = max([1, *(len(w) for w in label.split())])
    if numeric:
        return max([header, *(len(c) for c in cells)])
    longest = max([len(label), *(len(c) for c in cells)])
    words = max([header, *(len(w) for c in cells for w in c.split())])
    return max(words, min(longest, 24))


def _terminal_width() -> int | None:
    """The width to fit: $COLUMNS, else the terminal's; None when writing to a pipe or file."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    return console.width if console.is_terminal else None


#: Text that rich prints on one line as it is: no control characters, tabs or line breaks.
_ONE_LINE = re.compile(r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]*")


def _add_rows(table: Table, cells: pd.DataFrame, widths: list[int], width: int) -> None:
    """The rows of a table of text ``cells`` (columns of ``widths`` characters, to print in
    ``width``). When every cell fits its column on one line, the table gets one row of whole
    columns (each cell the column's values, one a line): rich prints the same lines as with a
    row per record (no lines between rows, nothing wraps) about four times faster, as it renders
    one cell a column instead of one a value (13 instead of 624 for 48 reps' KPIs)."""
    fits = sum(widths) + 3 * len(widths) + 1 <= width and all(
        _ONE_LINE.fullmatch(v) and cell_len(v) <= w
        for (_, values), w in zip(cells.items(), widths, strict=True)
        for v in values
    )
    if fits and len(cells):
        table.add_row(*("\n".join(escape(v) for v in values) for _, values in cells.items()))
    else:
        for row in cells.itertuples(index=False):
            table.add_row(*(escape(v) for v in row))


def emit(
    frame: pd.DataFrame,
    fmt: OutputFormat,
    title: str | None = None,
    currency: str = "USD",
    columns: dict | None = None,
) -> None:
    """Print a tidy frame: as a table for people, or as machine-readable CSV or JSON.

    ``table`` goes through the report formatter (:mod:`spmlib.reports.formatter`): reps by
    name (``rep_id`` left out beside ``rep_name``), column labels for people, money in
    ``currency``, rates as percentages, separators, fixed decimals (``columns``: definitions
    overriding the vocabulary). On a terminal the table fits its
    width: headers and text wrap, numbers never; columns that still do not fit are left out
    (interval bounds first, then from the right) with a note naming them. To a pipe or a file
    it is printed whole. ``csv`` and ``json`` keep the raw values and the snake_case column
    names (dates as ISO strings); in ``csv`` a text cell starting with ``= + - @`` (or a tab or
    carriage return) gets a leading ``'`` so no spreadsheet runs it as a formula
    (:func:`spmlib.io.files.csv_text`); numbers stay numbers.
    """
    if fmt is OutputFormat.csv:
        sys.stdout.write(csv_text(frame))
    elif fmt is OutputFormat.json:
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        sys.stdout.write(json.dumps(records, indent=1) + "\n")
    else:
        frame = by_name(frame)  # people by name: the id is for machines (csv, json)
        shown = format_frame(frame, columns, currency=currency)
        kinds = columns_for(frame, columns)
        numeric = [kinds[str(name)].numeric for name in frame.columns]
        cells = [max([0, *(len(v) for v in shown[c])]) for c in shown.columns]
        natural = [max(len(c), w) for c, w in zip(shown.columns, cells, strict=True)]
        width = _terminal_width()
        widths, kept = list(natural), list(range(len(natural)))
        if width is not None and sum(natural) + 3 * len(natural) + 1 > width:
            # headers wrap (widest first; numbers never), then columns go, bounds first
            narrow = [
                _narrowest(label, list(shown[label]), num)
                for label, num in zip(shown.columns, numeric, strict=True)
            ]
            for j in sorted(kept, key=lambda j: narrow[j] - natural[j]):
                if sum(widths) + 3 * len(widths) + 1 <= width:
                    break
                widths[j] = narrow[j]
            bounds = [j for j, c in enumerate(frame.columns) if _BOUND.search(str(c))]
            kept = fit_columns(widths, width, bounds[::-1])
        table = Table(title=title, show_lines=False)
        for j in kept:
            label = shown.columns[j]
            if numeric[j] and widths[j] < len(label):  # the header wraps, the numbers never
                label = textwrap.fill(label, widths[j])
            table.add_column(
                escape(label), justify="right" if numeric[j] else "left", no_wrap=numeric[j],
                min_width=widths[j], max_width=widths[j],
            )  # fmt: skip
        out_width = width or sum(widths) + 3 * len(widths) + 1
        _add_rows(table, shown.iloc[:, kept], [widths[j] for j in kept], out_width)
        Console(file=console.file, width=out_width).print(table)
        dropped = [c for j, c in enumerate(shown.columns) if j not in kept]
        if dropped:
            err_console.print(
                f"{format_count(len(dropped), 'column')} not shown for lack of width: "
                f"{'; '.join(dropped)}. "
                "Widen the terminal, or use --format csv or json for every column.",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
