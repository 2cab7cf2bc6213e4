"""Plan files, assignments, adjustments and the splits table: bad input gives errors that name
the file, the key (or row and column) and what to do."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml
from comp_fixture import PLAN, plan

import spmlib
from spmlib.comp.expressions import parse_condition
from spmlib.comp.inputs import read_adjustments, read_assignments
from spmlib.comp.plan import load_plan, load_plans, parse_plan
from spmlib.config import PARAMS_DIR
from spmlib.exceptions import DataValidationError, ExpressionError, PlanError

MINI = spmlib.config.PROJ_ROOT / "tests" / "data" / "mini"


def problems(raw) -> dict[str, str]:
    with pytest.raises(PlanError) as info:
        parse_plan(raw, "p.yml")
    return dict(info.value.problems)


def test_the_sample_plan_loads():
    plans = load_plans(PARAMS_DIR / "comp")
    assert list(plans) == ["AE FY2027"]
    p = plans["AE FY2027"]
    assert (
        p.period == "quarter" and p.rate_table.type == "graduated" and p.draw.type == "recoverable"
    )
    assert [t.label() for t in p.rate_table.tiers] == [
        "[0%, 100%) x1",
        "[100%, 150%) x2",
        "150% and above x3",
    ]


def test_every_schema_problem_is_reported_with_its_key():
    raw = plan(period="week", target_incentive="lots", extra=1)
    raw["rate_table"]["tiers"][1]["from"] = 1.2
    raw["rate_table"]["tiers"][2]["to"] = 3
    raw["rate_table"]["cap"] = -1
    raw["spifs"] = [{"name": "S", "when": "amount >", "amount": 5, "rate": 0.1}]
    raw["draw"] = {"type": "sometimes", "amount": 100}
    raw["clawback"] = {"window_days": -3}
    got = problems(raw)
    assert got["extra"].startswith("unknown key; valid: clawback, credit")
    assert got["period"] == "must be one of month, quarter, year, got 'week'"
    assert got["target_incentive"] == "must be a number, got 'lots'"
    assert got["rate_table.tiers[1].from"] == "must equal the previous tier's `to`: 1.0, got 1.2"
    assert got["rate_table.tiers[2].to"].startswith("the last tier has no `to`")
    assert got["rate_table.cap"] == "must be > 0, got -1"
    assert got["spifs[0]"].startswith("give exactly one of `amount`")
    assert "expected a column" in got["spifs[0].when"]
    assert got["draw.type"].startswith("must be one of none, recoverable, non_recoverable")
    assert got["clawback.window_days"] == "must be a whole number of days >= 0, got -3"


def test_missing_keys_and_first_tier():
    raw = {k: v for k, v in PLAN.items() if k != "target_incentive"}
    raw = yaml.safe_load(yaml.safe_dump(raw))
    raw["rate_table"]["tiers"][0]["from"] = 0.1
    got = problems(raw)
    assert got["target_incentive"] == "is required"
    assert (
        got["rate_table.tiers[0].from"] == "must equal 0 (the first tier starts at 0): 0, got 0.1"
    )


def test_spif_condition_names_unknown_columns():
    raw = plan(spifs=[{"name": "S", "when": "segment == 'SMB'", "amount": 5}])
    msg = problems(raw)["spifs[0].when"]
    assert "unknown column 'segment'; valid: account, amount" in msg


def test_yaml_errors_name_the_line(tmp_path):
    f = tmp_path / "bad.yml"
    f.write_text("plan: X\nrate_table: [unclosed\n")
    with pytest.raises(PlanError, match="line 3"):
        load_plan(f)


def test_condition_language_is_not_python():
    cols = {"amount": "float", "lead_source": "str"}
    for text in ("__import__('os')", "amount.real > 1", "amount > 1; x", "lambda: 1"):
        with pytest.raises(ExpressionError):
            parse_condition(text, cols)
    deals = pd.DataFrame({"amount": [10.0, None], "lead_source": pd.array(["A", None], "string")})
    assert parse_condition("lead_source != 'B'", cols).evaluate(deals).tolist() == [True, False]
    assert parse_condition("not amount > 5", cols).evaluate(deals).tolist() == [False, True]


def test_assignments_problems(tmp_path):
    f = tmp_path / "assignments.csv"
    f.write_text(
        "rep_id,plan,valid_from,valid_to,target_incentive\n"
        "R1,P,2026-01-01,,\n"
        "R1,P,2026-03-01,,\n"  # overlaps row 1 (open-ended)
        "R9,Q,2026-13-01,,-5\n"  # unknown rep and plan, bad date, negative TI
        "R2,P,2026-05-01,2026-04-01,\n"
    )
    with pytest.raises(PlanError) as info:
        read_assignments(f, ["P"], ["R1", "R2"])
    got = dict(info.value.problems)
    assert got["row 3, column rep_id"] == "'R9' is not a rep of the dataset"
    assert got["row 3, column plan"] == "unknown plan 'Q'; plans: P"
    assert got["row 3, column valid_from"] == "'2026-13-01' is not a date; write YYYY-MM-DD"
    assert got["row 3, column target_incentive"] == "must be a number > 0, got '-5'"
    assert got["row 4, column valid_to"] == "2026-04-01 is before valid_from"
    assert got["row 2, column valid_from"].startswith("overlaps an earlier assignment of rep 'R1'")


def test_adjustments_need_a_reason(tmp_path):
    f = tmp_path / "adjustments.csv"
    f.write_text("id,rep_id,period,amount,reason\nA1,R1,FY2026-Q1,10.005,\nA1,R1,2026-Q1,5,x\n")
    with pytest.raises(PlanError) as info:
        read_adjustments(f, 1, ["R1"])
    got = dict(info.value.problems)
    assert got["row 1, column reason"] == "is empty; every adjustment needs a reason"
    assert got["row 1, column amount"] == "'10.005' has more than 2 decimals (cents)"
    assert got["row 2, column period"].startswith("period '2026-Q1' is not a period label")
    assert got["row 2, column id"] == "repeats an earlier id"
    assert read_adjustments(tmp_path / "none.csv").empty


def test_splits_table_is_validated(tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    opp = pd.read_csv(folder / "opportunities.csv", dtype=str)
    first, second = opp["opp_id"].iloc[0], opp["opp_id"].iloc[1]
    reps = pd.read_csv(folder / "reps.csv", dtype=str)["rep_id"].tolist()
    pd.DataFrame(
        {
            "opp_id": [first, first, second, second, "NOPE"],
            "rep_id": [reps[0], reps[1], reps[0], reps[0], reps[0]],
            "share": ["0.6", "0.3", "0.5", "1.5", "1"],
            "type": ["revenue", "revenue", "overlay", "overlay", "bonus"],
        }
    ).to_csv(folder / "splits.csv", index=False)
    with pytest.raises(DataValidationError) as info:
        spmlib.load(folder)
    text = str(info.value)
    assert "column 'share': 1 deal whose revenue shares do not sum to 1" in text
    assert f"'{first}': 0.9" in text
    assert "share must be in (0, 1] (1 row)" in text
    assert "type must be revenue or overlay (1 row)" in text
    assert "1 split of 1 opportunity not in opportunities" in text
    assert "2 splits repeating a rep with the same type on one deal" in text
