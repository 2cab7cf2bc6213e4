"""Known-answer tests of loading: typing, CSV vs Parquet vs SQLite, time zones, status.

The fixture tests/data/mini holds 3 reps, 6 deals (O1 won 1000, O2 lost 500, O3 won 2500.50,
O4 open 800, O5 won 1200, O6 open 300), 5 stage changes, 4 activities, 4 quotas and 3 leads.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy

import spmlib
from spmlib.exceptions import DataValidationError, SpmError
from spmlib.io.coerce import coerce_table, derive_status
from spmlib.io.load import load_checked, read_tables
from spmlib.io.schema import TABLES, DatasetConfig

MINI = Path(__file__).parent / "data" / "mini"


@pytest.fixture(scope="module")
def mini():
    return spmlib.load(MINI)


def test_mini_known_counts_and_values(mini):
    opp = mini.opportunities
    assert len(mini.reps) == 3 and len(opp) == 6
    # statuses from stages: Closed Won x3 (O1, O3, O5), Closed Lost x1 (O2), open x2 (O4, O6)
    assert opp["status"].value_counts().to_dict() == {"won": 3, "open": 2, "lost": 1}
    # 1000 + 500 + 2500.50 + 800 + 1200 + 300 = 6300.50
    assert opp["amount"].sum() == pytest.approx(6300.50)
    o3 = opp.set_index("opp_id").loc["O3"]
    assert (o3["created_date"], o3["close_date"]) == (
        pd.Timestamp("2024-02-01"),
        pd.Timestamp("2024-04-15"),
    )
    assert mini.config.currency == "EUR" and mini.config.open_stages == (
        "Prospecting",
        "Proposal",
        "Negotiation",
    )
    assert mini.as_of == pd.Timestamp("2024-06-30")
    assert mini.warnings == ()


def test_mini_dtypes(mini):
    for name, frame in mini.tables().items():
        for col, kind in TABLES[name].columns.items():
            if col not in frame.columns:
                continue
            dtype = frame[col].dtype
            if kind == "date":
                assert dtype == "datetime64[ns]", (name, col, dtype)
                assert (frame[col].dropna() == frame[col].dropna().dt.normalize()).all()
            elif kind == "float":
                assert dtype == "float64", (name, col, dtype)
            elif kind == "bool":
                assert dtype == "boolean", (name, col, dtype)
            else:
                assert isinstance(dtype, pd.StringDtype), (name, col, dtype)
    assert list(mini.opportunities.columns[:6]) == list(TABLES["opportunities"].required)
    assert isinstance(mini.opportunities.index, pd.RangeIndex)


def test_absent_optional_tables_are_empty_with_columns(tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    for name in ("activities", "quotas", "leads", "stage_history"):
        (folder / f"{name}.csv").unlink()
    ds = spmlib.load(folder)
    assert ds.activities.empty and list(ds.activities.columns) == list(TABLES["activities"].columns)
    assert not ds.has_stage_history and ds.quotas["quota"].dtype == "float64"


def test_parquet_gives_the_same_dataset(tmp_path, mini):
    folder = tmp_path / "pq"
    folder.mkdir()
    shutil.copy(MINI / "dataset.yml", folder)
    for name, frame in mini.tables().items():
        frame.to_parquet(folder / f"{name}.parquet")
    ds = spmlib.load(folder)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(ds, name), getattr(mini, name))


def test_parquet_wins_over_csv(tmp_path, mini):
    folder = tmp_path / "both"
    shutil.copytree(MINI, folder)
    mini.reps.head(2).to_parquet(folder / "reps.parquet")
    tables, config, files = read_tables(folder)
    assert len(tables["reps"]) == 2 and files["reps"] == "reps.parquet"
    assert config["currency"] == "EUR"


def _sqlite_from_mini(path: Path, config_rows: list[tuple[str, str]]) -> str:
    url = f"sqlite:///{path}"
    engine = sqlalchemy.create_engine(url)
    tables, _config, _files = read_tables(MINI)
    with engine.begin() as conn:
        for name, frame in tables.items():
            frame.to_sql(name, conn, index=False)  # text columns, as a CRM database might hold
        pd.DataFrame(config_rows, columns=["key", "value"]).to_sql(
            "dataset_config", conn, index=False
        )
    engine.dispose()
    return url


def test_sqlite_url_gives_the_same_dataset(tmp_path, mini):
    url = _sqlite_from_mini(
        tmp_path / "crm.db",
        [
            ("open_stages", "Prospecting, Proposal, Negotiation"),
            ("won_stage", "Closed Won"),
            ("lost_stage", "Closed Lost"),
            ("currency", "EUR"),
            ("fiscal_year_start_month", "1"),
            ("as_of", "2024-06-30"),
        ],
    )
    ds = spmlib.load(url)
    assert ds.config == mini.config and ds.source == url
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(ds, name), getattr(mini, name))


def test_sqlite_problems_name_the_table(tmp_path):
    url = _sqlite_from_mini(
        tmp_path / "crm.db", [("open_stages", "[Prospecting, Proposal]")]
    )  # Negotiation missing: no deal uses it, so still valid; amounts fine
    ds = spmlib.load(url)
    assert ds.config.open_stages == ("Prospecting", "Proposal")
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("UPDATE opportunities SET rep_id = 'R9' WHERE opp_id = 'O2'"))
    engine.dispose()
    with pytest.raises(DataValidationError) as info:
        spmlib.load(url)
    (problem,) = info.value.problems
    assert (problem.file, problem.column, problem.rows) == ("opportunities", "rep_id", ("'R9'",))


def test_sqlite_without_config_is_an_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        pd.DataFrame({"rep_id": ["R1"], "rep_name": ["A"], "team": ["T"]}).to_sql("reps", conn)
    engine.dispose()
    _ds, problems = load_checked(url)
    rules = {(p.file, p.rule) for p in problems}
    assert ("dataset_config", "the dataset configuration is missing") in rules
    assert ("opportunities.csv", "required table 'opportunities' is missing") in rules


def test_missing_folder():
    with pytest.raises(FileNotFoundError, match="does not exist"):
        spmlib.load("/no/such/folder")


# --- typing ---------------------------------------------------------------------------------------


def _opp(created: list[str]) -> pd.DataFrame:
    n = len(created)
    return pd.DataFrame(
        {
            "opp_id": [f"O{i}" for i in range(n)],
            "rep_id": ["R1"] * n,
            "created_date": created,
            "close_date": ["2024-03-01"] * n,
            "stage": ["Won"] * n,
            "amount": [" 12.5 "] * n,
        }
    )


def test_timestamps_reduced_to_dates_in_the_time_zone():
    created = [
        "2024-01-31T23:30:00Z",  # UTC: Jan 31; Paris (UTC+1): Feb 1 00:30; New York: Jan 31
        "2024-01-31T23:30:00-05:00",  # = Feb 1 04:30 UTC: Feb 1 in UTC and Paris, Jan 31 in NY
        "2024-01-31 23:30",  # no offset: its own date everywhere
        "2024-02-01",
    ]
    expected = {
        "UTC": ["2024-01-31", "2024-02-01", "2024-01-31", "2024-02-01"],
        "Europe/Paris": ["2024-02-01", "2024-02-01", "2024-01-31", "2024-02-01"],
        "America/New_York": ["2024-01-31", "2024-01-31", "2024-01-31", "2024-02-01"],
    }
    for tz, dates in expected.items():
        typed = coerce_table("opportunities", _opp(created), timezone=tz)
        assert typed["created_date"].dtype == "datetime64[ns]"
        assert typed["created_date"].dt.strftime("%Y-%m-%d").tolist() == dates, tz


def test_uniform_offsets_and_date_format():
    typed = coerce_table("opportunities", _opp(["2024-01-31T23:30:00Z", "2024-02-01T00:10:00Z"]))
    assert typed["created_date"].dt.day.tolist() == [31, 1]
    typed = coerce_table(
        "opportunities",
        _opp(["03/01/2024", "12/31/2023"]),
        date_formats={"created_date": "%m/%d/%Y"},
    )
    assert typed["created_date"].tolist() == [
        pd.Timestamp("2024-03-01"),
        pd.Timestamp("2023-12-31"),
    ]


def test_coerce_does_not_mutate_and_strips():
    raw = _opp(["2024-01-05"])
    before = raw.copy()
    typed = coerce_table("opportunities", raw)
    pd.testing.assert_frame_equal(raw, before)
    assert typed["amount"].tolist() == [12.5]


def test_derive_status_keeps_given_status_and_fills_empty():
    cfg = DatasetConfig(open_stages=("Lead",), won_stage="Won", lost_stage="Lost")
    opp = pd.DataFrame(
        {"stage": ["Lead", "Won", "Lost", "Won"], "status": ["OPEN", None, "", "won"]}
    )
    before = opp.copy()
    out = derive_status(opp, cfg)
    assert out["status"].tolist() == ["open", "won", "lost", "won"]
    pd.testing.assert_frame_equal(opp, before)  # caller's frame untouched


def test_malformed_csv_is_a_data_error(tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    with open(folder / "opportunities.csv", "a") as fh:
        fh.write("O7,R1,2024-01-01,2024-02-01,Closed Won,5,x,y,z,w\n")  # 10 fields, header has 8
    with pytest.raises(DataValidationError) as info:
        spmlib.load(folder)
    (problem,) = info.value.problems
    assert problem.file == "opportunities.csv" and "cannot be read as CSV" in problem.rule
    assert "Expected 8 columns, got 10" in problem.rule


def test_utf8_bom_and_crlf_are_read(tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    text = (MINI / "reps.csv").read_text()
    (folder / "reps.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    ds = spmlib.load(folder)
    assert list(ds.reps.columns[:3]) == ["rep_id", "rep_name", "team"]
    assert ds.reps["hire_date"].iloc[2] == pd.Timestamp("2021-07-15")


def test_invalid_dataset_yml_is_a_data_error(tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    (folder / "dataset.yml").write_text("open_stages: [Prospecting, Proposal\n")
    with pytest.raises(DataValidationError, match="dataset.yml is not valid YAML"):
        spmlib.load(folder)


def test_unusable_database_url_is_a_clear_error_without_password():
    with pytest.raises(SpmError) as info:
        spmlib.load("nosuchdialect://ann:s3cret@host/crm")
    assert "s3cret" not in str(info.value) and "ann:***@host" in str(info.value)


def test_dataset_yml_time_zone(tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    opp = (folder / "opportunities.csv").read_text()
    # O1 created 2024-01-05T23:30:00Z: Jan 5 in UTC, Jan 6 in Tokyo (UTC+9)
    (folder / "opportunities.csv").write_text(
        opp.replace("O1,R1,2024-01-05,", "O1,R1,2024-01-05T23:30:00Z,")
    )
    assert spmlib.load(folder).opportunities["created_date"][0] == pd.Timestamp("2024-01-05")
    with open(folder / "dataset.yml", "a") as fh:
        fh.write("timezone: Asia/Tokyo\n")
    assert spmlib.load(folder).opportunities["created_date"][0] == pd.Timestamp("2024-01-06")
    (folder / "dataset.yml").write_text(
        (folder / "dataset.yml").read_text().replace("Asia/Tokyo", "Mars/Base")
    )
    with pytest.raises(DataValidationError, match="unknown time zone 'Mars/Base'"):
        spmlib.load(folder)
