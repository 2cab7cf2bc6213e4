"""Known-answer tests of the optional accounts table: loading, types and every validation rule.

Each test writes accounts.csv into a copy of the clean tests/data/mini (3 reps R1, R2 North and
R3 South; its deals name the accounts Acme, Globex, Initech, Umbrella, Hooli), breaks one rule
and checks the problem that names it (file, column, rule, offending rows or ids).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import spmlib
from spmlib.io.load import validate

MINI = Path(__file__).parent / "data" / "mini"

ACCOUNTS = """account_id,account_name,rep_id,potential,workload,latitude,longitude,locked
Acme,Acme Corp,R1,100000,120,48.85,2.35,true
Globex,Globex Ltd,R1,50000,60,,,no
Initech,Initech Inc,R2,0,10,51.5,-0.12,
Umbrella,Umbrella plc,R2,75000.5,80,40.7,-74.0,FALSE
Hooli,Hooli,R3,20000,,,,1
"""


@pytest.fixture
def ds_dir(tmp_path) -> Path:
    target = tmp_path / "ds"
    shutil.copytree(MINI, target)
    (target / "accounts.csv").write_text(ACCOUNTS)
    return target


def _edit(folder: Path, row: int, col: str, value: str) -> None:
    """Set data row ``row`` (1-based) of ``col`` in accounts.csv (as text)."""
    path = folder / "accounts.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row - 1, col] = value
    frame.to_csv(path, index=False)


def _only(problems, text: str):
    hits = [p for p in problems if text in p.rule and p.severity == "error"]
    assert len(hits) == 1, [str(p) for p in problems]
    return hits[0]


def test_clean_accounts_load_with_types(ds_dir):
    assert validate(ds_dir) == []
    ds = spmlib.load(ds_dir)
    acc = ds.accounts
    assert acc["account_id"].tolist() == ["Acme", "Globex", "Initech", "Umbrella", "Hooli"]
    assert acc["potential"].tolist() == [100000.0, 50000.0, 0.0, 75000.5, 20000.0]
    # true / no / (empty) / FALSE / 1 -> True, False, NA, False, True
    assert acc["locked"].dtype == "boolean"
    assert acc["locked"].tolist() == [True, False, pd.NA, False, True]
    assert acc["latitude"].isna().tolist() == [False, True, False, False, True]


def test_scoped_keeps_the_accounts_of_the_team(ds_dir):
    ds = spmlib.load(ds_dir).scoped(team="North")
    assert ds.accounts["account_id"].tolist() == ["Acme", "Globex", "Initech", "Umbrella"]


def test_duplicated_account_id(ds_dir):
    _edit(ds_dir, 2, "account_id", "Acme")  # rows 1 and 2 now both Acme
    p = _only(validate(ds_dir), "duplicated id")
    assert (p.file, p.column) == ("accounts.csv", "account_id")
    assert p.rows == ("'Acme' (rows 1, 2)",)


def test_owner_not_in_reps(ds_dir):
    _edit(ds_dir, 5, "rep_id", "R9")
    p = _only(validate(ds_dir), "rep_id that is not in reps")
    assert (p.file, p.column, p.rows) == ("accounts.csv", "rep_id", ("'R9'",))


def test_negative_potential(ds_dir):
    _edit(ds_dir, 3, "potential", "-1")
    p = _only(validate(ds_dir), "potential must be >= 0")
    assert p.file == "accounts.csv" and p.rows == ("row 3: -1.0",)


def test_potential_is_required(ds_dir):
    _edit(ds_dir, 4, "potential", "")
    p = _only(validate(ds_dir), "without a value in required column 'potential'")
    assert p.rows == ("row 4",)


def test_unreadable_locked_flag(ds_dir):
    _edit(ds_dir, 2, "locked", "maybe")
    p = _only(validate(ds_dir), "cannot be read as a true/false flag")
    assert (p.column, p.rows) == ("locked", ("row 2: 'maybe'",))


def test_latitude_out_of_range(ds_dir):
    _edit(ds_dir, 1, "latitude", "123")
    p = _only(validate(ds_dir), "latitude must be between -90 and 90")
    assert p.rows == ("row 1: 123.0",)


def test_negative_workload(ds_dir):
    _edit(ds_dir, 1, "workload", "-5")
    _only(validate(ds_dir), "workload must be >= 0")


def test_unknown_account_of_a_deal_is_reported_like_an_unknown_rep(ds_dir):
    path = ds_dir / "opportunities.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[5, "account"] = "Wayne"  # O6 (row 6) names an account that is not in accounts
    frame.to_csv(path, index=False)
    p = _only(validate(ds_dir), "account that is not an account_id of accounts")
    assert (p.file, p.column, p.rows) == ("opportunities.csv", "account", ("'Wayne'",))
    assert p.rule.startswith("1 row with")


def test_without_accounts_table_deal_accounts_are_free_text():
    assert validate(MINI) == []  # mini's deals name accounts, and there is no accounts table
