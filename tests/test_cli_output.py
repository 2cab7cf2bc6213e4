"""What the CLI prints for people: whole help texts, tables that fit the terminal with rates as
percentages, and a batch's progress when nobody watches a terminal."""

from __future__ import annotations

import io
import re
import time

import click
import pandas as pd
import pytest
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.cli.batch import ProgressLines, _batch_progress
from spmlib.cli.common import OutputFormat, _add_rows, emit, fit_columns
from spmlib.config import PROJ_ROOT

MINI = PROJ_ROOT / "tests" / "data" / "mini"


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def _words(text: str) -> list[str]:
    """The words of a help text as people read them (markdown marks and bullets dropped)."""
    text = re.sub(r"[`*]", "", text)
    return [w for w in text.split() if w not in ("-", "•")]


@pytest.mark.parametrize("width", ["80", "120"])
def test_every_help_text_is_whole(width):
    root = typer.main.get_command(app)
    runner = CliRunner()
    cut = {}
    for path, command in _commands(root):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": width})
        assert result.exit_code == 0, (path, result.output)
        # a word longer than its column folds onto the next line: compare without the spaces,
        # line breaks and panel borders between the pieces
        shown = re.sub(r"[\s│╭╮╰╯─]+", "", result.output)
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        lost = [w for t in texts for w in _words(t) if w not in shown]
        if lost or "…" in result.output:
            cut[" ".join(path)] = lost[:8]
    assert cut == {}


def test_spm_run_help_names_its_parameter_options():
    out = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "80"}).output
    assert "-p, --parameter KEY VALUE" in out
    assert "-f, --parameters-file" in out and "PARAMS.yml" in out


WIDE = pd.DataFrame(
    {
        "rep_name": ["Ada Lovelace", "Alan Turing"],
        "won": [12, 3],
        "lost": [4, 9],
        "win_rate": [0.75, 0.25],
        "win_rate_low": [0.5, 0.09],
        "win_rate_high": [0.9, 0.53],
        "bookings": [188470.4, 1234567.0],
        "avg_deal_size": [15705.9, 411522.3],
        "median_cycle_days": [41.0, 63.5],
        "quota": [200000.0, 1500000.0],
        "attainment": [0.94235, 0.823],
    }
)


def test_a_table_fits_the_terminal_and_names_what_it_leaves_out(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    emit(WIDE, OutputFormat.table, title="KPIs")
    out, err = capsys.readouterr()
    assert max(len(line) for line in out.splitlines()) <= 60
    # numbers are never cut; rates read as percentages
    assert "$188,470" in out and "75%" in out and "…" not in out
    # interval bounds go first, then columns from the right; the note names them
    assert "not shown for lack of width" in err
    assert "Win rate, 95% low" in err and "Attainment" in err
    assert "Ada Lovelace" in out


def test_percentile_bounds_go_before_the_most_likely_value(capsys, monkeypatch):
    # a quarter outlook: P10 and P90 are bounds, left out before P50 and the chance of quota
    outlook = pd.DataFrame(
        {
            "team": ["Atlas", "Borealis"],
            "booked": [573840.0, 749260.0],
            "quota": [948000.0, 1488000.0],
            "p10": [1082093.0, 1428460.0],
            "p50": [1192920.0, 1607085.0],
            "p90": [1311000.0, 1790000.0],
            "p_quota": [0.999, 0.80],
        }
    )
    monkeypatch.setenv("COLUMNS", "72")
    emit(outlook, OutputFormat.table)
    out, err = capsys.readouterr()
    assert "$1,192,920" in out and ">99%" in out and "80%" in out
    assert "$1,082,093" not in out and "$1,311,000" not in out
    assert "P10" in err and "P90" in err


def test_a_wide_terminal_or_a_pipe_gets_every_column(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    emit(WIDE, OutputFormat.table)
    out, err = capsys.readouterr()
    assert "Attainment" in out and "94%" in out and err == ""
    monkeypatch.delenv("COLUMNS")
    emit(WIDE, OutputFormat.table)  # captured: not a terminal, so printed whole
    out, err = capsys.readouterr()
    assert "Attainment" in out and err == ""


CELLS = pd.DataFrame(
    {
        "Rep": ["Ada [b]Lovelace[/b]", "Zoë :smile: Ng", "李小龍", "", "Al\\[x]"],
        "Team": ["Atlas", "Borealis North", "Cygnus", "—", "A"],
        "Bookings": ["$188,470", "CHF\u00a01,234", "—", "$0", "-$20,000"],
    }
)


def _printed(cells: pd.DataFrame, widths: list[int], width: int, whole_columns: bool) -> str:
    table = Table(title="T")
    for (label, _), w in zip(cells.items(), widths, strict=True):
        numeric = label == "Bookings"
        table.add_column(label, justify="right" if numeric else "left", no_wrap=numeric,
                         min_width=w, max_width=w)  # fmt: skip
    if whole_columns:
        _add_rows(table, cells, widths, width)
    else:  # the reference: one row per record
        for row in cells.itertuples(index=False):
            table.add_row(*(escape(v) for v in row))
    out = io.StringIO()
    Console(file=out, width=width).print(table)
    return out.getvalue()


@pytest.mark.parametrize(
    "cells, widths",
    [
        (CELLS, [19, 14, 10]),  # every cell fits: one row of whole columns
        (CELLS, [8, 9, 10]),  # names wrap: a row per record
        (CELLS.iloc[:0], [3, 4, 8]),  # no rows
        (CELLS.assign(Rep=["Ada\nLovelace", "Bo", "Cy", "Di", "Ed"]), [19, 14, 10]),  # a line break
        (CELLS.assign(Team=["A\tB", "B", "C", "D", "E"]), [19, 14, 10]),  # a tab
    ],
)
@pytest.mark.parametrize("width", [80, 30])
def test_a_table_prints_the_same_as_with_a_row_per_record(cells, widths, width):
    # emit adds whole columns as one row when nothing wraps (much faster to render); the lines
    # printed must be those of a row per record, at any width, whatever the cells hold
    assert _printed(cells, widths, width, True) == _printed(cells, widths, width, False)


def test_fit_columns_keeps_the_first_and_drops_in_the_order_given():
    # widths 10, 8, 8, 12 need 10+8+8+12 + 4*3 + 1 = 51 characters
    assert fit_columns([10, 8, 8, 12], 51) == [0, 1, 2, 3]
    assert fit_columns([10, 8, 8, 12], 50) == [0, 1, 2]
    assert fit_columns([10, 8, 8, 12], 50, drop_first=[1]) == [0, 2, 3]
    assert fit_columns([10, 8, 8, 12], 5) == [0]


def test_cli_tables_show_rates_as_percentages():
    result = CliRunner().invoke(app, ["kpis", str(MINI), "--by", "rep"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Win rate" in result.output and "win_rate" not in result.output
    row = next(line for line in result.output.splitlines() if "Ada Lovelace" in line)
    assert re.search(r"\b\d{1,3}%", row)
    assert not re.search(r"\b0\.\d{2,}\b", row)


def test_batch_progress_lines_come_at_least_every_ten_seconds():
    stream = io.StringIO()
    with ProgressLines(stream, every=0.05) as progress:
        progress.callback("begin", None, 3)
        progress.callback("start", None, 3)
        time.sleep(0.3)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("reports: 0 of 3 done, 0 running")
    assert len(lines) >= 4 and "1 running" in lines[-1]
    assert ProgressLines(io.StringIO()).every <= 10


def test_without_a_terminal_the_batch_reports_progress_as_lines():
    progress, callback = _batch_progress()  # pytest's stderr is not a terminal
    assert isinstance(progress, ProgressLines) and callback == progress.callback


def test_engine_steps_show_on_a_terminal_only(monkeypatch):
    import spmlib.cli.common as common

    with common.engine_steps("spm funnel") as progress:  # pytest's stderr is not a terminal
        assert progress is None
    stream = io.StringIO()
    terminal = Console(file=stream, force_terminal=True, width=100)
    monkeypatch.setattr(common, "err_console", terminal)
    with common.engine_steps("spm funnel") as progress:
        progress("funnel of the deals, slice 3 of 10 [bold]")
        time.sleep(0.2)  # the status line refreshes several times a second
    shown = stream.getvalue()
    assert "spm funnel: funnel of the deals, slice 3 of 10 [bold] (0s so far)" in shown


def test_durations_read_as_minutes_and_hours():
    from spmlib.cli.common import format_duration

    assert [format_duration(s) for s in (4.2, 75, 3700)] == ["4s", "1m15s", "1h01m"]
