"""`spm kpis` end to end on a small CSV dataset written by the test."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from spmlib.cli import app

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
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage" in result.output
