"""`spm kpis` end to end on a small CSV dataset written by the test."""

from __future__ import annotations

import ast
import atexit
import gc
import json
import os
import subprocess
import sys

import pytest
import typer
import yaml
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.cli.common import _spare_the_collector
from spmlib.cli.lazy import COMMANDS

runner = CliRunner()


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "reps.csv").write_text(
        "rep_id,rep_name,team\na,Ann,North\nb,Bob,North\nc,Cy,South\n"
    )
    (tmp_path / "opportunities.csv").write_text(
        "opp_id,rep_id,created_date,close_date,stage,amount\n"
        "1,a,2026-01-01,2026-01-11,Won,100\n"
        "2,a,2026-01-05,2026-01-20,Lost,50\n"
        "3,b,2026-01-10,2026-02-01,Won,300\n"
    )
    (tmp_path / "dataset.yml").write_text(
        yaml.safe_dump({"open_stages": ["Open"], "won_stage": "Won", "lost_stage": "Lost"})
    )
    return tmp_path


def test_kpis_json_by_team(folder):
    result = runner.invoke(app, ["kpis", str(folder), "--by", "team", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["team"]: r for r in json.loads(result.stdout)}
    # North: won 1 (100) + 3 (300), lost 2 -> 2/3, bookings 400; South: nothing at all.
    assert rows["North"]["won"] == 2 and rows["North"]["lost"] == 1
    assert rows["North"]["bookings"] == 400.0
    assert rows["South"]["opportunities_created"] == 0 and rows["South"]["win_rate"] is None


def test_kpis_csv_per_month(folder):
    result = runner.invoke(app, ["kpis", str(folder), "--period", "month", "--format", "csv"])
    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.strip().splitlines()
    assert header.startswith(
        "rep_id,rep_name,team,period,period_start,period_end,opportunities_created"
    )
    assert len(lines) == 3 * 2  # 3 reps x (Jan, Feb)


def test_kpis_bad_date_is_a_message_not_a_traceback(folder):
    result = runner.invoke(app, ["kpis", str(folder), "--start", "last tuesday"])
    assert result.exit_code == 1
    assert "--start" in result.output and "Traceback" not in result.output


def test_every_command_has_help():
    names = list(typer.main.get_command(app).commands)  # imports every command module
    assert names == list(COMMANDS)
    registered = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert set(registered) | {g.name for g in app.registered_groups} == set(COMMANDS)
    for name in names:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage" in result.output


def test_a_command_imports_only_its_own_module(folder, tmp_path):
    # spm kpis must not pay for the imports of the funnel, forecast, comp or mail commands
    # (scipy and statsmodels alone take longer than the command's work on a million deals);
    # the first run on new files, which validates them, also readies them for the funnel
    # (spmlib.funnel.reach, with neither scipy nor statsmodels), the next ones do not
    code = (
        "import sys\nfrom spmlib.cli import app\n"
        f"try:\n    app(['kpis', {str(folder)!r}])\nexcept SystemExit as e:\n    assert not e.code\n"
        "print(sorted(m for m in sys.modules if m.startswith(('spmlib.cli.', 'scipy', "
        "'statsmodels', 'spmlib.funnel', 'spmlib.forecast'))))"
    )
    env = {**os.environ, "SPM_CACHE_DIR": str(tmp_path / "cache")}
    own = ["spmlib.cli.common", "spmlib.cli.data", "spmlib.cli.lazy"]
    runs = []
    for _ in range(2):  # new files, then trusted ones
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        runs.append(ast.literal_eval(done.stdout.strip().splitlines()[-1]))
    assert "spmlib.funnel.reach" in runs[0]
    assert [m for m in runs[0] if not m.startswith("spmlib.funnel")] == own
    assert runs[1] == own


def test_the_collector_is_spared_the_modules_objects(folder, tmp_path, monkeypatch):
    # the objects alive when a command starts are frozen; at exit the garbage is collected, then
    # the rest frozen, so the interpreter's teardown does not walk every object of pandas again;
    # once per process however many commands run in it
    registered, frozen = [], []

    def freeze():
        frozen.append(True)

    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.setattr(gc, "freeze", freeze)
    _spare_the_collector.cache_clear()
    for _ in range(3):
        assert runner.invoke(app, ["kpis", str(folder), "--format", "csv"]).exit_code == 0
    ours = [f for f in registered if f in (freeze, gc.collect)]  # (modules imported by the
    # commands may register exit handlers of their own meanwhile)
    assert frozen == [True] and ours == [freeze, gc.collect]  # run last first
    # a whole process still writes all of its output
    expected = runner.invoke(app, ["kpis", str(folder), "--format", "csv"]).output
    env = {**os.environ, "SPM_CACHE_DIR": str(tmp_path / "cache")}
    spm = [sys.executable, "-m", "spmlib.cli", "kpis", str(folder), "--format", "csv"]
    done = subprocess.run(spm, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


@pytest.mark.parametrize("command", ["kpis", "funnel", "validate"])
def test_the_engine_out_of_memory_is_a_message_not_a_traceback(folder, command, monkeypatch):
    # DuckDB's cap so small that nothing fits: the commands say which settings to change
    import spmlib.engine.embedded as embedded

    monkeypatch.setattr(embedded, "MEMORY_LIMIT", "1KB")
    result = runner.invoke(app, [command, str(folder)])
    assert result.exit_code == 1, result.output
    assert "ran out of its memory cap" in result.output and "SPM_DUCKDB_MEMORY" in result.output
    assert "Traceback" not in result.output
