"""Known-answer tests of every validation rule, each on a variant of the hand-made tests/data/mini.

tests/data/mini is clean: 3 reps (R1, R2 North; R3 South), 6 deals (O1-O6: 3 won, 1 lost, 2 open),
5 stage changes, 4 activities, 4 quotas, 3 leads, as_of 2024-06-30. Each test breaks one rule by
editing one file, then checks the problem that names it (file, column, rule, offending rows).
Row numbers are 1-based data rows (the header is not counted).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import spmlib
from spmlib.cli import app
from spmlib.exceptions import DataValidationError, Problem
from spmlib.io.load import validate
from spmlib.io.schema import TABLES
from spmlib.io.validate import check_config, errors_of, warnings_of

MINI = Path(__file__).parent / "data" / "mini"


@pytest.fixture
def ds_dir(tmp_path) -> Path:
    """A fresh copy of the clean mini dataset."""
    target = tmp_path / "ds"
    shutil.copytree(MINI, target)
    return target


def edit(folder: Path, table: str, change) -> None:
    """Rewrite ``table``.csv after ``change(frame)`` (frame read as text, so nothing is coerced)."""
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = change(frame)
    frame.to_csv(path, index=False)


def set_cell(table: str, row: int, col: str, value: str):
    """A change setting data row ``row`` (1-based) of ``col`` to ``value``."""

    def change(frame):
        frame.loc[row - 1, col] = value
        return frame

    return change


def only(problems: list[Problem], text: str, severity: str = "error") -> Problem:
    """The single problem whose rule contains ``text``."""
    hits = [p for p in problems if text in p.rule and p.severity == severity]
    assert len(hits) == 1, (
        f"expected one {severity} with {text!r}, got {[str(p) for p in problems]}"
    )
    return hits[0]


def test_clean_mini_has_no_problem():
    assert validate(MINI) == []


# --- missing tables and columns -------------------------------------------------------------------


def test_missing_required_table(ds_dir):
    (ds_dir / "reps.csv").unlink()
    p = only(validate(ds_dir), "required table 'reps' is missing")
    assert p.file == "reps.csv" and p.column is None and "reps.csv" in p.hint


def test_missing_required_column(ds_dir):
    edit(ds_dir, "opportunities", lambda f: f.drop(columns=["amount"]))
    p = only(validate(ds_dir), "required column 'amount' is missing")
    assert (p.file, p.column) == ("opportunities.csv", "amount")


def test_missing_optional_table_is_fine(ds_dir):
    (ds_dir / "leads.csv").unlink()
    (ds_dir / "stage_history.csv").unlink()
    assert validate(ds_dir) == []


def test_missing_dataset_yml(ds_dir):
    (ds_dir / "dataset.yml").unlink()
    p = only(validate(ds_dir), "configuration is missing")
    assert p.file == "dataset.yml"


def test_bad_dataset_yml():
    _, problems = check_config(
        {"open_stages": ["A", "Won"], "won_stage": "Won", "fiscal_year_start_month": 13}
    )
    rules = sorted(p.rule for p in problems)
    assert rules == [
        "a closed stage (won or lost) is listed among open_stages",
        "fiscal_year_start_month must be 1-12, got 13",
    ]


# --- parsing --------------------------------------------------------------------------------------


def test_unparseable_date_names_row_and_value(ds_dir):
    edit(ds_dir, "opportunities", set_cell("opportunities", 4, "created_date", "2024-13-10"))
    p = only(validate(ds_dir), "cannot be read as a date")
    assert (p.file, p.column) == ("opportunities.csv", "created_date")
    assert p.rows == ("row 4: '2024-13-10'",)


def test_unparseable_number_is_not_silently_nan(ds_dir):
    edit(ds_dir, "opportunities", set_cell("opportunities", 2, "amount", "1,200"))
    edit(ds_dir, "activities", set_cell("activities", 3, "duration_minutes", "an hour"))
    problems = validate(ds_dir)
    amount = [p for p in problems if p.column == "amount"]
    assert len(amount) == 1 and amount[0].rows == ("row 2: '1,200'",)
    dur = [p for p in problems if p.column == "duration_minutes"]
    assert dur[0].file == "activities.csv" and dur[0].rows == ("row 3: 'an hour'",)


def test_empty_required_value(ds_dir):
    edit(ds_dir, "opportunities", set_cell("opportunities", 4, "close_date", ""))
    edit(ds_dir, "reps", set_cell("reps", 2, "team", "   "))  # blank text counts as empty
    problems = validate(ds_dir)
    p = only(problems, "without a value in required column 'close_date'")
    assert p.rows == ("row 4",) and "expected close date" in p.hint
    p = only(problems, "without a value in required column 'team'")
    assert (p.file, p.rows) == ("reps.csv", ("row 2",))


def test_empty_optional_value_is_fine(ds_dir):
    edit(ds_dir, "reps", set_cell("reps", 1, "hire_date", ""))
    assert validate(ds_dir) == []


# --- per-table domain rules -----------------------------------------------------------------------


def test_negative_amount(ds_dir):
    edit(ds_dir, "opportunities", set_cell("opportunities", 3, "amount", "-10"))
    p = only(validate(ds_dir), "amount must be >= 0")
    assert (p.file, p.column, p.rows) == ("opportunities.csv", "amount", ("row 3: -10.0",))


def test_zero_amount_is_fine(ds_dir):
    edit(ds_dir, "opportunities", set_cell("opportunities", 3, "amount", "0"))
    assert validate(ds_dir) == []


def test_duplicate_ids(ds_dir):
    # rows 5 and 6 both become O1 (row 1 is O1): one duplicated id, three rows
    edit(ds_dir, "opportunities", set_cell("opportunities", 5, "opp_id", "O1"))
    edit(ds_dir, "opportunities", set_cell("opportunities", 6, "opp_id", "O1"))
    edit(ds_dir, "reps", set_cell("reps", 3, "rep_id", "R2"))
    problems = validate(ds_dir)
    p = only(problems, "duplicated id in 'opp_id'")
    assert p.rule == "1 duplicated id in 'opp_id'" and p.rows == ("'O1' (rows 1, 5, 6)",)
    p = only(problems, "duplicated id in 'rep_id'")
    assert (p.file, p.rows) == ("reps.csv", ("'R2' (rows 2, 3)",))


def test_stage_not_in_dataset_yml(ds_dir):
    edit(ds_dir, "opportunities", set_cell("opportunities", 2, "stage", "Won"))
    edit(ds_dir, "stage_history", set_cell("stage_history", 1, "stage", "Discovery"))
    problems = validate(ds_dir)
    opp = [p for p in problems if p.file == "opportunities.csv" and p.column == "stage"]
    assert len(opp) == 1 and opp[0].rows == ("'Won'",) and "allowed: Prospecting" in opp[0].rule
    sh = [p for p in problems if p.file == "stage_history.csv" and p.column == "stage"]
    assert len(sh) == 1 and sh[0].rows == ("'Discovery'",)


def test_quota_must_be_positive(ds_dir):
    edit(ds_dir, "quotas", set_cell("quotas", 2, "quota", "0"))
    p = only(validate(ds_dir), "quota must be > 0")
    assert (p.file, p.rows) == ("quotas.csv", ("row 2: 0.0",))


def test_status_must_agree_with_stage(ds_dir):
    # O1 is Closed Won: status "lost" disagrees; O4 is Proposal: "open" agrees; others derived
    def change(frame):
        frame["status"] = ["lost", "", "", "open", "", ""]
        return frame

    edit(ds_dir, "opportunities", change)
    p = only(validate(ds_dir), "status disagrees with the stage")
    assert p.rows == ("row 1: 'Closed Won' / 'lost'",)


def test_status_values(ds_dir):
    def change(frame):
        frame["status"] = ["won", "lost", "won", "pending", "won", "open"]
        return frame

    edit(ds_dir, "opportunities", change)
    p = only(validate(ds_dir), "status must be open, won or lost")
    assert p.rows == ("row 4: 'pending'",)


# --- across tables --------------------------------------------------------------------------------


def test_rep_id_not_in_reps(ds_dir):
    edit(ds_dir, "opportunities", set_cell("opportunities", 2, "rep_id", "R9"))
    edit(ds_dir, "opportunities", set_cell("opportunities", 3, "rep_id", "R9"))
    edit(ds_dir, "activities", set_cell("activities", 1, "rep_id", "R8"))
    edit(ds_dir, "quotas", set_cell("quotas", 1, "rep_id", "R7"))
    edit(ds_dir, "leads", set_cell("leads", 1, "rep_id", "R6"))
    problems = [p for p in validate(ds_dir) if "rep_id that is not in reps" in p.rule]
    found = {p.file: (p.rule, p.rows) for p in problems}
    assert found == {
        "opportunities.csv": ("2 rows with a rep_id that is not in reps (1 unknown id)", ("'R9'",)),
        "activities.csv": ("1 row with a rep_id that is not in reps (1 unknown id)", ("'R8'",)),
        "quotas.csv": ("1 row with a rep_id that is not in reps (1 unknown id)", ("'R7'",)),
        "leads.csv": ("1 row with a rep_id that is not in reps (1 unknown id)", ("'R6'",)),
    }


def test_closed_before_created(ds_dir):
    # O2 (lost) closes 2024-01-10, before its creation 2024-01-20; O6 (open) has an expected
    # close before creation too, which is legal (only closed deals are checked)
    edit(ds_dir, "opportunities", set_cell("opportunities", 2, "close_date", "2024-01-10"))
    edit(ds_dir, "opportunities", set_cell("opportunities", 6, "close_date", "2024-05-01"))
    p = only(validate(ds_dir), "closed before it was created")
    assert p.rule.startswith("1 closed deal")
    assert p.rows == ("row 2 (O2): created_date 2024-01-20, close_date 2024-01-10",)


def test_quota_period_reversed(ds_dir):
    edit(ds_dir, "quotas", set_cell("quotas", 3, "period_end", "2023-12-31"))
    p = only(validate(ds_dir), "period_end is before its period_start")
    assert (p.file, p.column, p.rows) == ("quotas.csv", "period_end", ("row 3",))


def test_overlapping_quota_periods(ds_dir):
    # R1 has Q1 (rows 1) and Q2 (row 2); row 5 adds 2024-03-01..2024-04-30, overlapping both.
    # R3 gets a second period starting the day after its first ends: adjacent, not overlapping.
    def change(frame):
        extra = pd.DataFrame(
            {
                "rep_id": ["R1", "R3"],
                "period_start": ["2024-03-01", "2024-07-01"],
                "period_end": ["2024-04-30", "2024-12-31"],
                "quota": ["100", "100"],
            }
        )
        return pd.concat([frame, extra], ignore_index=True)

    edit(ds_dir, "quotas", change)
    p = only(validate(ds_dir), "overlapping an earlier period")
    # sorted by start: row 1 (01-01..03-31), row 5 (03-01..04-30) overlaps it, row 2 (04-01..)
    # overlaps row 5: two overlapping periods, one rep
    assert p.rule == "2 quota periods overlapping an earlier period of the same rep (1 rep)"
    assert p.rows == ("row 5: rep 'R1' from 2024-03-01", "row 2: rep 'R1' from 2024-04-01")


def test_stage_history_of_unknown_opportunity(ds_dir):
    edit(ds_dir, "stage_history", set_cell("stage_history", 4, "opp_id", "O99"))
    edit(ds_dir, "stage_history", set_cell("stage_history", 5, "opp_id", "O99"))
    p = only(validate(ds_dir), "not in opportunities")
    assert p.rule == "2 stage changes of 1 opportunity not in opportunities"
    assert (p.file, p.rows) == ("stage_history.csv", ("'O99'",))


def test_lead_converted_before_created(ds_dir):
    edit(ds_dir, "leads", set_cell("leads", 3, "converted_date", "2024-03-01"))
    p = only(validate(ds_dir), "converted before it was created")
    assert p.rows == ("row 3 (L3): created_date 2024-03-28, converted_date 2024-03-01",)


# --- warnings -------------------------------------------------------------------------------------


def test_suspicious_data_gives_warnings_not_errors(ds_dir):
    # as_of is 2024-06-30; O4 (open) expected to close 2024-03-01 is 121 days late (> 90): stale.
    # O6 (open) expected 2024-04-15 is 76 days late: not stale. A 4th rep R4 has no deals.
    # Activity A4 points at an unknown opportunity.
    edit(ds_dir, "opportunities", set_cell("opportunities", 4, "close_date", "2024-03-01"))
    edit(ds_dir, "opportunities", set_cell("opportunities", 6, "close_date", "2024-06-01"))
    edit(ds_dir, "activities", set_cell("activities", 4, "opp_id", "O77"))
    edit(
        ds_dir,
        "reps",
        lambda f: pd.concat(
            [f, pd.DataFrame({"rep_id": ["R4"], "rep_name": ["New Hire"], "team": ["South"]})]
        ).fillna(""),
    )
    problems = validate(ds_dir)
    assert errors_of(problems) == []
    stale = only(problems, "expected close date more than 90 days", "warning")
    assert stale.rows == ("'O4'",) and "2024-06-30" in stale.rule
    idle = only(problems, "with no deals", "warning")
    assert idle.rows == ("'R4'",)
    orphan = only(problems, "pointing at an opportunity", "warning")
    assert orphan.rows == ("'O77'",)
    ds = spmlib.load(ds_dir)  # loads, with the same warnings attached
    assert list(ds.warnings) == warnings_of(problems)


# --- every problem at once ------------------------------------------------------------------------


def test_load_raises_every_problem_at_once(ds_dir):
    edit(ds_dir, "opportunities", set_cell("opportunities", 1, "amount", "-1"))
    edit(ds_dir, "opportunities", set_cell("opportunities", 2, "rep_id", "R9"))
    edit(ds_dir, "quotas", set_cell("quotas", 1, "period_end", "2023-01-01"))
    edit(ds_dir, "stage_history", set_cell("stage_history", 1, "entered_date", "yesterday"))
    with pytest.raises(DataValidationError) as info:
        spmlib.load(ds_dir)
    exc = info.value
    assert exc.source == str(ds_dir)
    rules = [p.rule for p in errors_of(exc.problems)]
    assert len(rules) == 4, rules
    text = str(exc)
    assert text.startswith(f"4 problem(s) in {ds_dir}:")
    for fragment in ["amount must be >= 0", "'R9'", "period_end is before", "'yesterday'"]:
        assert fragment in text


# --- the CLI --------------------------------------------------------------------------------------


runner = CliRunner()


def test_cli_validate_clean():
    result = runner.invoke(app, ["validate", str(MINI)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"OK {MINI}"
    assert "  opportunities: 6 rows, created_date 2024-01-05 .. 2024-05-02" in lines
    assert "  quotas: 4 rows, period_start 2024-01-01 .. 2024-04-01" in lines
    assert "  accounts: 0 rows" in lines
    assert "  splits: 0 rows" in lines  # absent optional table, no time column
    assert len(lines) == 1 + len(TABLES)  # OK line + one per table


def test_cli_validate_errors_exit_1_without_traceback(ds_dir):
    edit(ds_dir, "opportunities", set_cell("opportunities", 3, "amount", "-10"))
    edit(ds_dir, "quotas", set_cell("quotas", 2, "period_end", "2020-01-01"))
    result = runner.invoke(app, ["validate", str(ds_dir)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    out = result.output
    assert "opportunities.csv" in out and "quotas.csv" in out
    assert "amount must be >= 0" in out and "row 3: -10.0" in out
    assert "2 error(s)" in out


def test_cli_validate_missing_folder_and_unknown_mapping(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "does not exist" in " ".join(result.output.split())
    result = runner.invoke(app, ["validate", str(MINI), "--mapping", "oracle"])
    out = " ".join(result.output.split())
    assert result.exit_code == 1 and "unknown mapping 'oracle'" in out
    assert "salesforce" in out and "Traceback" not in out


def test_cli_validate_prints_warnings_and_exits_0(ds_dir):
    edit(ds_dir, "opportunities", set_cell("opportunities", 4, "close_date", "2024-03-01"))
    result = runner.invoke(app, ["validate", str(ds_dir)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "warning column 'close_date': 1 open deal with an expected close date" in out
    assert "(e.g. 'O4')" in out and f"OK {ds_dir}" in out


def test_cli_validate_with_a_mapping():
    folder = MINI.parent / "salesforce"
    result = runner.invoke(app, ["validate", str(folder), "--mapping", "salesforce"])
    assert result.exit_code == 0, result.output
    assert "  opportunities: 5 rows, created_date 2024-01-05 .. 2024-04-02" in result.output
    assert "empty amount values filled with '0'" in result.output
