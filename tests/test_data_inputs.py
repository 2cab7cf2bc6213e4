"""Hostile data through the CLI (issue #11, reading data): every input a real CRM user produces
either loads with what was done said, or stops with a clear error naming the file, column or
key. Each case runs ``spm validate`` and ``spm kpis`` and checks the exit status, that no
traceback escapes, what is named, and that the dataset folder is left exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from spmlib.cli import app

DATA = Path(__file__).parent / "data"
MINI = DATA / "mini"
runner = CliRunner()
#: spm kpis on the mini dataset: bookings by rep (won deals: O1 1000; O3 2500.50; O5 1200).
MINI_BOOKINGS = {"R1": 1000.0, "R2": 2500.5, "R3": 1200.0}


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with a hash of its bytes (folders too)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def spm(*args: str, folder: Path | None = None, code: int | None = None):
    """Run ``spm args``; check no traceback, the exit code, and that ``folder`` is untouched.
    Returns the output (stdout and stderr) with whitespace runs collapsed."""
    before = snapshot(folder) if folder is not None else None
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception,
        result.output,
    )
    assert "Traceback" not in result.output
    if code is not None:
        assert result.exit_code == code, result.output
    if folder is not None:
        assert snapshot(folder) == before, "the dataset folder was changed"
    return " ".join(result.output.split())


def kpis(folder: Path, *extra: str) -> dict[str, dict]:
    result = runner.invoke(app, ["kpis", str(folder), "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    return {r["rep_id"]: r for r in json.loads(result.stdout)}


@pytest.fixture
def ds(tmp_path) -> Path:
    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    return folder


def rewrite(path: Path, encoding: str = "utf-8", delimiter: str = ",", change=None) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if change is not None:
        frame = change(frame)
    path.write_bytes(frame.to_csv(index=False, sep=delimiter).encode(encoding))


# --- encodings ------------------------------------------------------------------------------------


def test_windows_1252_file_is_read_and_said(ds):
    def accents(f):
        return f.assign(rep_name=f["rep_name"].replace("Ada Lovelace", "Adà Lovelace-Müller"))

    rewrite(ds / "reps.csv", "cp1252", change=accents)
    out = spm("validate", str(ds), folder=ds, code=0)
    assert "reps.csv" in out and "read as cp1252 (Windows Western European), not UTF-8" in out
    assert kpis(ds)["R1"]["rep_name"] == "Adà Lovelace-Müller"
    result = runner.invoke(app, ["kpis", str(ds), "--format", "csv"])
    assert "note: reps.csv: read as cp1252" in result.stderr  # said, outside the data
    assert "note" not in result.stdout


def test_encoding_set_in_dataset_yml_and_a_wrong_one_named(ds):
    rewrite(ds / "reps.csv", "latin-1", change=lambda f: f.replace("Ada Lovelace", "Zoë"))
    with open(ds / "dataset.yml", "a") as fh:
        fh.write("encoding: latin-1\n")
    out = spm("validate", str(ds), folder=ds, code=0)
    assert "read as latin-1" in out and "(as set)" in out
    assert kpis(ds)["R1"]["rep_name"] == "Zoë"
    (ds / "dataset.yml").write_text((ds / "dataset.yml").read_text().replace("latin-1", "latin9x"))
    out = spm("validate", str(ds), folder=ds, code=1)
    assert "dataset.yml" in out and "key 'encoding'" in out and "unknown encoding 'latin9x'" in out


def test_excel_unicode_text_utf16_tab_delimited(ds):
    rewrite(ds / "opportunities.csv", "utf-16", "\t")
    out = spm("validate", str(ds), folder=ds, code=0)
    assert "opportunities.csv" in out and "read as tab-delimited (detected)" in out
    assert {k: v["bookings"] for k, v in kpis(ds).items()} == MINI_BOOKINGS


def test_dataset_yml_in_windows_1252(ds):
    text = (ds / "dataset.yml").read_text().replace("Prospecting", "Qualifié")
    (ds / "dataset.yml").write_bytes(text.encode("cp1252"))
    rewrite(ds / "opportunities.csv", change=lambda f: f.replace("Prospecting", "Qualifié"))
    rewrite(ds / "stage_history.csv", change=lambda f: f.replace("Prospecting", "Qualifié"))
    out = spm("validate", str(ds), folder=ds, code=0)
    assert "dataset.yml" in out and "read as cp1252" in out


# --- delimiters, decimal commas, Excel ----------------------------------------------------------


def test_semicolons_and_decimal_commas_are_detected(ds):
    def european(f):
        return f.assign(amount=f["amount"].str.replace(".", ",", regex=False))

    rewrite(ds / "opportunities.csv", delimiter=";", change=european)
    assert "2500,50" in (ds / "opportunities.csv").read_text()
    out = spm("validate", str(ds), folder=ds, code=0)
    assert "read as semicolon-delimited (detected)" in out
    assert "numbers read with a decimal comma" in out
    # 2500,50 is 2500.5, not 250050 nor an error
    assert {k: v["bookings"] for k, v in kpis(ds).items()} == MINI_BOOKINGS


def test_thousands_points_with_decimal_comma(ds):
    def grouped(f):
        return f.assign(amount=f["amount"].replace({"2500.50": "2.500,50", "1200": "1.200"}))

    rewrite(ds / "opportunities.csv", delimiter=";", change=grouped)
    assert {k: v["bookings"] for k, v in kpis(ds).items()} == MINI_BOOKINGS


def test_delimiter_and_decimal_set_in_a_mapping(tmp_path):
    (tmp_path / "people.csv").write_text("who|team\nkim|A\n")
    (tmp_path / "deals.csv").write_text(
        "id|who|state|value|opened|closed\n1|kim|won|1,5|2024-01-05|2024-02-20\n"
    )
    mapping = tmp_path / "m.yml"
    mapping.write_text(
        "delimiter: pipe\ndecimal: ','\n"
        "dataset: {open_stages: [open], won_stage: won, lost_stage: lost}\n"
        "tables:\n  reps: {file: people.csv, columns: {rep_id: who, rep_name: who, team: team}}\n"
        "  opportunities: {file: deals.csv, columns: {opp_id: id, rep_id: who, stage: state,"
        " amount: value, created_date: opened, close_date: closed}}\n"
    )
    out = spm("validate", str(tmp_path), "--mapping", str(mapping), code=0)
    assert "pipe-delimited (as set)" in out
    assert kpis(tmp_path, "--mapping", str(mapping))["kim"]["bookings"] == 1.5


def test_excel_workbooks_are_read_where_csv_is(ds):
    opp = pd.read_csv(ds / "opportunities.csv", dtype=str)
    opp["amount"] = opp["amount"].astype(float)  # numbers and dates as Excel stores them
    opp["created_date"] = pd.to_datetime(opp["created_date"])
    opp.to_excel(ds / "opportunities.xlsx", index=False)
    (ds / "opportunities.csv").unlink()
    reps = pd.read_csv(ds / "reps.csv", dtype=str)
    with pd.ExcelWriter(ds / "reps.xlsx") as xl:
        reps.to_excel(xl, sheet_name="Reps", index=False)
        reps.head(1).to_excel(xl, sheet_name="Old", index=False)
    (ds / "reps.csv").unlink()
    out = spm("validate", str(ds), folder=ds, code=0)
    assert "read the first sheet, 'Reps', of 2 sheets" in out
    assert {k: v["bookings"] for k, v in kpis(ds).items()} == MINI_BOOKINGS


def test_hubspot_export_saved_as_xlsx(tmp_path):
    deals = pd.read_csv(DATA / "hubspot" / "deals.csv", dtype=str)
    deals.to_excel(tmp_path / "deals.xlsx", index=False)
    out = spm("validate", str(tmp_path), "--mapping", "hubspot", folder=tmp_path, code=0)
    assert "OK" in out and "opportunities: 6 rows" in out


def test_unknown_sheet_is_named(ds):
    pd.read_csv(ds / "reps.csv", dtype=str).to_excel(ds / "reps.xlsx", index=False)
    (ds / "reps.csv").unlink()
    with open(ds / "dataset.yml", "a") as fh:
        fh.write("sheet: People\n")
    out = spm("validate", str(ds), folder=ds, code=1)
    assert "reps.xlsx" in out and "no sheet 'People'" in out and "Sheet1" in out


# --- headers ------------------------------------------------------------------------------------


def test_headers_differing_by_case_or_spaces_are_matched(ds):
    rewrite(ds / "reps.csv", change=lambda f: f.rename(columns={"rep_name": " Rep Name "}))
    rewrite(ds / "opportunities.csv", change=lambda f: f.rename(columns={"amount": "AMOUNT"}))
    out = spm("validate", str(ds), folder=ds, code=0)
    assert "column 'Rep Name' read as 'rep_name'" in out
    assert "column 'AMOUNT' read as 'amount'" in out
    assert {k: v["bookings"] for k, v in kpis(ds).items()} == MINI_BOOKINGS


def test_a_near_miss_header_is_named(ds):
    rewrite(ds / "reps.csv", change=lambda f: f.rename(columns={"rep_name": "rep_nme"}))
    out = spm("validate", str(ds), folder=ds, code=1)
    assert "required column 'rep_name' is missing from table reps (the file has 'rep_nme')" in out


def test_duplicate_column_names(ds):
    text = (ds / "opportunities.csv").read_text().replace("lead_source", "amount", 1)
    (ds / "opportunities.csv").write_text(text)
    for command in ("validate", "kpis"):
        out = spm(command, str(ds), folder=ds, code=1)
        assert (
            "opportunities.csv" in out and "column 'amount' appears 2 times (columns 6, 8)" in out
        )


# --- odd values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e309", "-inf"])
def test_non_finite_amounts_are_errors(ds, value):
    rewrite(
        ds / "opportunities.csv",
        change=lambda f: f.assign(amount=f["amount"].replace("800", value)),
    )
    for command in ("validate", "kpis"):
        out = spm(command, str(ds), folder=ds, code=1)
        assert "opportunities.csv" in out and "column 'amount'" in out
        assert "not a finite number" in out and "(e.g. row 4: '" in out


def test_nan_amount_is_not_a_number(ds):
    rewrite(
        ds / "opportunities.csv",
        change=lambda f: f.assign(amount=f["amount"].replace("800", "NaN")),
    )
    out = spm("validate", str(ds), folder=ds, code=1)
    assert "column 'amount': 1 value cannot be read as a number (e.g. row 4: 'NaN')" in out


def test_infinite_amounts_in_parquet_are_errors_too(ds):
    opp = pd.read_csv(ds / "opportunities.csv", dtype={"amount": float})
    opp.loc[3, "amount"] = float("inf")
    opp.to_parquet(ds / "opportunities.parquet", index=False)
    (ds / "opportunities.csv").unlink()
    out = spm("validate", str(ds), folder=ds, code=1)
    assert "opportunities.parquet" in out and "not a finite number" in out and "row 4" in out


def test_far_future_dates(ds):
    """9999-12-31 for "no end": an error in a required date, no date (warning) in an optional
    one."""
    rewrite(ds / "quotas.csv", change=lambda f: f.replace("2024-03-31", "9999-12-31"))
    out = spm("validate", str(ds), folder=ds, code=1)
    assert "quotas.csv" in out and "column 'period_end'" in out
    assert "1 date outside the dates this tool handles (1677-09-22 to 2262-04-11)" in out
    assert "row 1: '9999-12-31'" in out
    spm("kpis", str(ds), folder=ds, code=1)
    shutil.copy(MINI / "quotas.csv", ds / "quotas.csv")
    rewrite(ds / "leads.csv", change=lambda f: f.replace("2024-04-01", "9999-12-31"))
    out = spm("validate", str(ds), folder=ds, code=0)
    assert "warning column 'converted_date': 1 date outside" in out and "read as no date" in out


def test_far_future_dates_in_parquet(ds):
    leads = pd.read_csv(ds / "leads.csv", dtype=str)
    leads["converted_date"] = pd.Series([pd.Timestamp("2024-01-05").date(), None, None])
    leads.loc[2, "converted_date"] = pd.Timestamp("2024-04-01").date().replace(year=9999)
    leads.to_parquet(ds / "leads.parquet", index=False)
    (ds / "leads.csv").unlink()
    out = spm("validate", str(ds), folder=ds, code=0)
    assert "leads.parquet" in out and "read as no date" in out
    kpis(ds)


def test_integer_ids_with_a_null_stay_integers_in_parquet(ds):
    """pandas writes an integer column with a missing value as floats (1.0); ids are read as
    the source's own values, so 1.0 is the id "1", and no spurious "not in reps" appears."""
    reps = pd.read_csv(ds / "reps.csv", dtype=str)
    reps["rep_id"] = [1.0, 2.0, 3.0]
    reps.to_parquet(ds / "reps.parquet", index=False)
    opp = pd.read_csv(ds / "opportunities.csv", dtype=str)
    opp["rep_id"] = pd.array([1, 1, 2, 2, 3, None], dtype="Int64")
    opp.to_parquet(ds / "opportunities.parquet", index=False)
    for name in ("reps", "opportunities", "activities", "quotas", "leads"):
        (ds / f"{name}.csv").unlink()
    out = spm("validate", str(ds), folder=ds, code=1)
    assert "1 row without a value in required column 'rep_id' (e.g. row 6)" in out
    assert "not in reps" not in out and "1.0" not in out


# --- dataset.yml --------------------------------------------------------------------------------


def test_invalid_dates_and_unknown_keys_in_dataset_yml(ds):
    text = (ds / "dataset.yml").read_text().replace("as_of: 2024-06-30", "as_of: 2024-13-45")
    (ds / "dataset.yml").write_text(text + "curency: EUR\n")
    for command in ("validate", "kpis"):
        out = spm(command, str(ds), folder=ds, code=1)
        assert "dataset.yml" in out and "as_of '2024-13-45' is not a date" in out
        assert "unknown setting 'curency' (did you mean 'currency'?)" in out


def test_dataset_yml_that_is_not_yaml_is_reported_with_the_rest(ds):
    (ds / "dataset.yml").write_text("open_stages: [Prospecting\n")
    rewrite(ds / "reps.csv", change=lambda f: f.assign(hire_date="last year"))
    out = spm("validate", str(ds), folder=ds, code=1)
    assert "dataset.yml is not valid YAML" in out
    assert "reps.csv" in out and "cannot be read as a date" in out


# --- unreadable files ---------------------------------------------------------------------------


def test_corrupt_and_truncated_parquet_are_reported_with_the_rest(ds):
    pd.read_csv(ds / "leads.csv", dtype=str).to_parquet(ds / "leads.parquet", index=False)
    data = (ds / "leads.parquet").read_bytes()
    (ds / "leads.parquet").write_bytes(data[: len(data) // 2])  # truncated by a failed copy
    (ds / "activities.parquet").write_bytes(b"not parquet at all")
    rewrite(ds / "reps.csv", change=lambda f: f.assign(hire_date="soon"))
    for command in ("validate", "kpis"):
        out = spm(command, str(ds), folder=ds, code=1)
        assert "leads.parquet" in out and "activities.parquet" in out
        assert "cannot be read as Parquet" in out
        assert "reps.csv" in out and "cannot be read as a date" in out  # not hidden


def test_a_folder_named_like_a_table_file(ds):
    (ds / "leads.csv").unlink()
    (ds / "leads.csv").mkdir()
    (ds / "leads.csv" / "keep.txt").write_text("mine")
    for command in ("validate", "kpis"):
        out = spm(command, str(ds), folder=ds, code=1)
        assert "leads.csv is a folder, not a file" in out
    assert (ds / "leads.csv" / "keep.txt").read_text() == "mine"


def test_an_empty_file_and_a_ragged_line(ds):
    (ds / "leads.csv").write_text("")
    with open(ds / "activities.csv", "a") as fh:
        fh.write("A9,R1,call,2024-01-01,,,,extra\n")
    out = spm("validate", str(ds), folder=ds, code=1)
    assert "leads.csv" in out and "the file is empty" in out
    assert "activities.csv" in out and "Expected 7 columns, got 8" in out


# --- databases ----------------------------------------------------------------------------------


def test_a_wrong_sqlite_path_is_missing_and_not_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in ("validate", "kpis"):
        out = spm(command, "sqlite:///crm_typo.db", code=1)
        assert "SQLite database file 'crm_typo.db' does not exist" in out
    assert not (tmp_path / "crm_typo.db").exists()


def test_sqlite_integer_ids_with_a_null_are_text(tmp_path):
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE reps (rep_id INTEGER, rep_name TEXT, team TEXT)")
        con.executemany("INSERT INTO reps VALUES (?, ?, ?)", [(1, "A", "N"), (2, "B", "N")])
        con.execute(
            "CREATE TABLE opportunities (opp_id INTEGER, rep_id INTEGER, created_date TEXT, "
            "close_date TEXT, stage TEXT, amount REAL)"
        )
        con.executemany(
            "INSERT INTO opportunities VALUES (?, ?, ?, ?, ?, ?)",
            [(10, 1, "2024-01-01", "2024-02-01", "Won", 5.0),
             (11, None, "2024-01-02", "2024-02-01", "Lost", 2.0)],
        )  # fmt: skip
        con.execute("CREATE TABLE dataset_config (key TEXT, value TEXT)")
        con.executemany(
            "INSERT INTO dataset_config VALUES (?, ?)",
            [("open_stages", "[Lead]"), ("won_stage", "Won"), ("lost_stage", "Lost")],
        )
    before = db.read_bytes()
    out = spm("validate", f"sqlite:///{db}", code=1)
    assert "1 row without a value in required column 'rep_id' (e.g. row 2)" in out
    assert "not in reps" not in out and "1.0" not in out
    assert db.read_bytes() == before  # opened read-only


# --- mappings -----------------------------------------------------------------------------------


def _hubspot(tmp_path: Path, owners: list[str]) -> Path:
    deals = pd.read_csv(DATA / "hubspot" / "deals.csv", dtype=str, keep_default_na=False)
    deals.loc[: len(owners) - 1, "Deal owner"] = owners
    folder = tmp_path / "export"
    folder.mkdir()
    deals.to_csv(folder / "deals.csv", index=False)
    return folder


def test_owner_names_differing_by_accents_case_or_spaces_stay_apart(tmp_path):
    folder = _hubspot(tmp_path, ["Ana López", "Ana Lopez", "ANA  LOPEZ", "Иван Петров"])
    out = spm("validate", str(folder), "--mapping", "hubspot", folder=folder, code=0)
    assert "1 id made from names would be shared by different names" in out
    assert "'Ana López' -> ana-lopez-" in out and "'ANA LOPEZ' -> ana-lopez-" in out  # 2 spaces
    rows = kpis(folder, "--mapping", "hubspot")
    names = {r["rep_name"]: k for k, r in rows.items()}
    assert {"Ana López", "Ana Lopez", "ANA  LOPEZ", "Иван Петров"} <= set(names)
    assert len({names[n] for n in ("Ana López", "Ana Lopez", "ANA  LOPEZ")}) == 3
    assert names["Иван Петров"] == "иван-петров"  # not "empty"
    # every deal is kept: the three Ana rows are deals 101-103, one each
    assert sum(r["opportunities_created"] for r in rows.values()) == 6


def test_owner_names_in_other_scripts_load(tmp_path):
    folder = _hubspot(tmp_path, ["山田 太郎", "山田 太郎", "Ελένη Παπαδοπούλου"])
    spm("validate", str(folder), "--mapping", "hubspot", folder=folder, code=0)
    ids = set(kpis(folder, "--mapping", "hubspot"))
    assert {"山田-太郎", "ελενη-παπαδοπουλου"} <= ids


CUSTOM = """
name: custom
dataset: {open_stages: [open], won_stage: won, lost_stage: lost}
tables:
  reps:
    file: people.csv
    columns: {rep_id: who, rep_name: who, team: team}
    distinct: [rep_id]
  opportunities:
    file: deals.csv
    columns: {opp_id: id, rep_id: who, stage: state, amount: value,
              created_date: opened, close_date: closed}
"""


@pytest.fixture
def export(tmp_path) -> Path:
    (tmp_path / "people.csv").write_text("who,team,active\nkim,A,yes\nlee,B,yes\nkim,B,no\n")
    (tmp_path / "deals.csv").write_text(
        "id,who,state,value,opened,closed\n1,kim,won,100,2024-01-05,2024-02-20\n"
    )
    (tmp_path / "m.yml").write_text(CUSTOM)
    return tmp_path


def test_distinct_reports_the_rows_it_drops(export):
    out = spm("validate", str(export), "--mapping", str(export / "m.yml"), code=0)
    assert "people.csv" in out and "1 row dropped as repeats of an earlier row with the same" in out
    assert "row 3 (team 'B', kept 'A'; row 1 kept)" in out


def test_keep_on_a_misspelled_column_is_an_error(export):
    text = CUSTOM.replace("    distinct: [rep_id]", "    keep: {activ: [yes]}")
    (export / "m.yml").write_text(text)
    out = spm("validate", str(export), "--mapping", str(export / "m.yml"), code=1)
    assert "people.csv" in out and "column 'activ'" in out
    assert "the mapping's `keep` rule names column 'activ', which is not there" in out
    assert "(did you mean 'active'?)" in out


@pytest.mark.parametrize(
    "rule, named",
    [
        ("fill: {amount: 0}", "`fill` of 'amount' has the wrong shape: 0"),
        ("order_by: [opened]", "`order_by` has the wrong shape: ['opened']"),
        ("flags: {closed: done}", "`flags` has the wrong shape"),
        ("lookups: {rep_id: users.csv}", "`lookups` of 'rep_id' has the wrong shape"),
        ("date_format: 5", "`date_format` has the wrong shape: 5"),
        ("columns: {rep_id: [a, b]}", "`columns` of 'rep_id' has the wrong shape"),
        ("values: {stage: [a]}", "`values` of 'stage' has the wrong shape"),
        ("optional: maybe", "`optional` has the wrong shape: 'maybe'"),
        ("distinct: opp_id", "`distinct` has the wrong shape: 'opp_id'"),
        ("scale: {amount: ten}", "`scale` of 'amount' has the wrong shape: 'ten'"),
        ("decimal: ';'", "decimal ';' must be '.' or ','"),
        ("colums: {}", "unknown key(s) 'colums' (did you mean 'columns'?)"),
    ],
)
def test_wrongly_shaped_mapping_rules_name_table_and_rule(export, rule, named):
    (export / "m.yml").write_text(CUSTOM + f"    {rule}\n")
    for command in ("validate", "kpis"):
        out = spm(command, str(export), "--mapping", str(export / "m.yml"), code=1)
        assert "table opportunities" in out and named in out


def test_a_folder_named_like_a_preset_does_not_hide_it(tmp_path, monkeypatch):
    export = _hubspot(tmp_path, ["Ada Lovelace"])
    (tmp_path / "hubspot").mkdir()  # e.g. the export folder itself
    monkeypatch.chdir(tmp_path)
    out = spm("validate", str(export), "--mapping", "hubspot", code=0)
    assert "mapping 'hubspot' is the preset" in out and "is a folder, not a mapping file" in out
    kpis(export, "--mapping", "hubspot")
    (tmp_path / "hubspot.yml").mkdir()
    out = spm("validate", str(export), "--mapping", "hubspot.yml", code=1)
    assert "mapping file 'hubspot.yml' is a folder, not a mapping file" in out


def test_a_mapped_file_that_cannot_be_read_is_reported_with_the_rest(tmp_path):
    export = _hubspot(tmp_path, ["Ada Lovelace"])
    (export / "deals.csv").write_bytes(b"Record ID,Deal Name\n1,x,surplus\n")
    out = spm("validate", str(export), "--mapping", "hubspot", folder=export, code=1)
    assert "deals.csv" in out and "cannot be read as CSV" in out
    assert "is missing" not in out  # unreadable, not absent


def test_series_files_in_excel_or_windows_csv_give_the_same_forecast(tmp_path):
    """`spm forecast --series` reads what the dataset loader reads."""
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    frame = pd.DataFrame({"Month": months.strftime("%Y-%m-%d"), "Bookings": range(100, 124)})
    frame.to_csv(tmp_path / "plain.csv", index=False)
    frame.assign(Région="Zürich").to_csv(tmp_path / "euro.csv", index=False, sep=";",
                                          encoding="cp1252")  # fmt: skip
    frame.to_excel(tmp_path / "book.xlsx", index=False)
    outputs = []
    for name in ("plain.csv", "euro.csv", "book.xlsx"):
        args = ["forecast", str(tmp_path / name), "--series", "Month,Bookings", "--method", "naive"]
        args += ["--format", "csv"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]


def test_distinct_known_answer_with_missing_keys():
    """Four rows, key (rep_id, team): row 2 repeats row 1's key with another rep_name (a
    conflict: warning), row 4 repeats row 1 exactly (a note); a missing team is a key value."""
    from spmlib.io.mapping_apply import _distinct
    from spmlib.io.mappings import TableMapping

    out = pd.DataFrame(
        {
            "rep_id": pd.array(["a", "a", "b", "a"], dtype="string"),
            "team": pd.array([None, None, "N", None], dtype="string"),
            "rep_name": pd.array(["A", "Z", "B", "A"], dtype="string"),
        }
    )
    problems: list = []
    kept = _distinct(
        TableMapping(file="x.csv", distinct=("rep_id", "team")), out, "x.csv", problems
    )
    assert kept.index.tolist() == [0, 2]
    warning, note = problems
    assert (warning.severity, note.severity) == ("warning", "note")
    assert warning.rows == ("row 2 (rep_name 'Z', kept 'A'; row 1 kept)",)
    assert note.rule.startswith("1 row merged into the first row with the same rep_id, team")
