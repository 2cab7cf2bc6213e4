"""`spm funnel` end to end on the hand-made funnel of tests/funnel_fixture.py written as CSV."""

from __future__ import annotations

import json

import pytest
import yaml
from funnel_fixture import opportunities, reps, stage_history
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.cli.funnel import FUNNEL_CLI_COLUMNS

runner = CliRunner()


@pytest.fixture
def folder(tmp_path):
    reps().to_csv(tmp_path / "reps.csv", index=False)
    opportunities().drop(columns="status").to_csv(tmp_path / "opportunities.csv", index=False)
    cfg = {"open_stages": ["A", "B", "C"], "won_stage": "Won", "lost_stage": "Lost"}
    (tmp_path / "dataset.yml").write_text(yaml.safe_dump({**cfg, "as_of": "2026-02-10"}))
    return tmp_path


def _json(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_funnel_json_columns_and_numbers(folder):
    stage_history().to_csv(folder / "stage_history.csv", index=False)
    rows = _json(runner.invoke(app, ["funnel", str(folder), "--format", "json"]))
    assert list(rows[0]) == FUNNEL_CLI_COLUMNS
    # Same figures as tests/test_funnel.py::test_all_time_funnel_known_answer.
    assert [(r["stage"], r["reached"], r["advanced"], r["lost"], r["open"]) for r in rows] == [
        ("A", 7, 5, 1, 1),
        ("B", 5, 4, 0, 1),
        ("C", 4, 2, 2, 0),
        ("Won", 2, None, None, None),
    ]
    assert rows[3]["cumulative_conversion"] == pytest.approx(0.4)


def test_funnel_by_team_with_period(folder):
    stage_history().to_csv(folder / "stage_history.csv", index=False)
    args = ["funnel", str(folder), "--by", "team", "--start", "2026-01-06", "--end", "2026-01-12"]
    rows = _json(runner.invoke(app, [*args, "--format", "json"]))
    assert list(rows[0])[:2] == ["team", "stage"]
    t1_a = next(r for r in rows if r["team"] == "T1" and r["stage"] == "A")
    # In the range T1 lost deal 5 at A and moved 2, 3, 4 to B: 3 / (3 + 1).
    assert t1_a["conversion"] == pytest.approx(0.75)
    assert {r["team"] for r in rows} == {"T1", "T2", "T3"}


def test_funnel_without_history_notes_unknown_losses(folder):
    result = runner.invoke(app, ["funnel", str(folder), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "stage-level losses are unknown" in " ".join(result.stderr.split())  # (any width)
    assert result.stdout.splitlines()[0].startswith("stage,reached,advanced,lost")


def test_funnel_bad_group_and_date_fail_cleanly(folder):
    result = runner.invoke(app, ["funnel", str(folder), "--by", "segment"])
    assert result.exit_code == 1 and "segment" in result.stderr
    result = runner.invoke(app, ["funnel", str(folder), "--start", "yesterday-ish"])
    assert result.exit_code == 1 and "--start" in result.stderr
