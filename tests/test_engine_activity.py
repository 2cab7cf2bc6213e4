"""Activity counts in the engine (:func:`spmlib.productivity.activity.activity_volume` on
:class:`~spmlib.engine.tables.Tables`) against the pandas reference, and ``spm activity``.

The engine groups the activities by raw rep, type, outcome (referral types only) and period;
pandas finishes with the same code as for a loaded dataset, so the tables must be identical,
dtypes included: on a hand-made dataset whose counts are worked out below, on the mini dataset
and on the bundled sample (which logs received referrals), from CSV and from Parquet, on DuckDB
and on Spark.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from test_engine import write
from test_engine_memory import MARGIN_MB, _peak_mb, pair  # noqa: F401 (pair: a fixture)
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.engine.locations import open_tables
from spmlib.io.load import load
from spmlib.io.schema import Dataset, DatasetConfig
from spmlib.productivity.activity import (
    activity_outcomes,
    activity_volume,
    team_activity_volume,
)
from spmlib.sample.resolve import resolve_data

MINI = Path(__file__).parent / "data" / "mini"
D = pd.to_datetime
FREQS = ("week", "month", "quarter", "year")
runner = CliRunner()


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """A cache folder per test, so typed copies and validation records never leak."""
    import spmlib.engine.prepare as prepare

    monkeypatch.setattr(prepare, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr("spmlib.config.CACHE_DIR", tmp_path / "cache")


def known() -> Dataset:
    """Three reps over January to March 2026 (fiscal years start in February): a is busy and
    logs a referral received in March; b is hired on 15 February; c only logged an email on
    31 December 2025, before the range (the first deal is created on 1 January)."""
    reps = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c"],
            "rep_name": ["Ann", "Bob", "Cy"],
            "team": ["North", "North", "South"],
            "hire_date": D([None, "2026-02-15", "2020-01-01"]),
        }
    )
    rows = [
        # rep, type, date, outcome
        ("a", "call", "2026-01-05", None),
        ("a", "Calls", "2026-01-06", None),
        ("a", "call", "2026-02-02", None),
        ("a", "meeting", "2026-01-07", None),
        ("a", "referral", "2026-01-10", "given"),
        ("a", "Referral", "2026-03-10", "Received"),
        ("b", "call", "2026-02-20", None),
        ("b", "referrals", "2026-03-02", None),
        ("c", "email", "2025-12-31", None),
    ]
    acts = pd.DataFrame(rows, columns=["rep_id", "type", "date", "outcome"])
    acts.insert(0, "activity_id", [f"x{i}" for i in range(len(acts))])
    acts["date"] = D(acts["date"])
    opps = pd.DataFrame(
        {
            "opp_id": ["o1"],
            "rep_id": ["a"],
            "created_date": D(["2026-01-01"]),
            "close_date": D(["2026-01-20"]),
            "stage": ["Won"],
            "amount": [100.0],
            "status": ["won"],
        }
    )
    config = DatasetConfig(
        ("Open",), "Won", "Lost", fiscal_year_start_month=2, as_of=pd.Timestamp("2026-03-31")
    )
    return Dataset(config, reps, opps, activities=acts)


def counts(frame: pd.DataFrame) -> dict[tuple[str, str], list[int]]:
    """rep, period -> the activities of each type (in the table's order of types)."""
    return {
        key: group["activities"].tolist()
        for key, group in frame.groupby(["rep_id", "period"], sort=False)
    }


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_known_answers_in_the_engine(tmp_path, fmt):
    folder = write(known(), tmp_path / "k", fmt)
    tables = open_tables(folder)
    out = activity_volume(tables)
    # Range 2026-01-01 .. 2026-03-31 (first deal .. as_of): c's email is outside, so no type
    # email. Types lower-cased and singular (Calls -> call, referrals -> referral); a logs a
    # referral received (outcome "Received", any case), so referral splits: a's January
    # referral and b's (no outcome) are given, a's March one received, last of the types.
    assert list(dict.fromkeys(out["type"])) == [
        "call",
        "meeting",
        "referral given",
        "referral received",
    ]
    assert counts(out) == {
        ("a", "2026-01"): [2, 1, 1, 0],
        ("a", "2026-02"): [1, 0, 0, 0],
        ("a", "2026-03"): [0, 0, 0, 1],
        ("b", "2026-01"): [0, 0, 0, 0],
        ("b", "2026-02"): [1, 0, 0, 0],
        ("b", "2026-03"): [0, 0, 1, 0],
        ("c", "2026-01"): [0, 0, 0, 0],
        ("c", "2026-02"): [0, 0, 0, 0],
        ("c", "2026-03"): [0, 0, 0, 0],
    }
    # b is hired on 15 February: not active in January (the month ends before)
    active = out.groupby(["rep_id", "period"])["active"].first()
    assert not active[("b", "2026-01")]
    assert active[("b", "2026-02")] and active[("c", "2026-01")]
    # fiscal years start in February: January is FY2026-Q4, February and March FY2027-Q1
    quarter = activity_volume(tables, "quarter")
    assert counts(quarter)[("a", "FY2026-Q4")] == [2, 1, 1, 0]
    assert counts(quarter)[("a", "FY2027-Q1")] == [1, 0, 0, 1]
    # a received referral outside the range still splits the type (as in pandas): January
    # and February hold only given referrals, and received is not among the types seen
    early = activity_volume(tables, "month", end="2026-02-28")
    assert list(dict.fromkeys(early["type"])) == ["call", "meeting", "referral given"]
    assert counts(early)[("a", "2026-01")] == [2, 1, 1]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_known_dataset_identical_to_pandas(tmp_path, fmt):
    folder = write(known(), tmp_path / "k", fmt)
    ds, tables = load(folder), open_tables(folder)
    for freq in FREQS:
        for start, end in ((None, None), ("2026-01-06", "2026-02-20"), ("2025-12-01", None)):
            expected = activity_volume(ds, freq, start, end)
            assert_frame_equal(activity_volume(tables, freq, start, end), expected)


def test_no_activities_table_gives_an_empty_table(tmp_path):
    ds = known()
    folder = write(Dataset(ds.config, ds.reps, ds.opportunities), tmp_path / "k")
    tables = open_tables(folder)
    assert not tables.has("activities")
    assert_frame_equal(activity_volume(tables), activity_volume(load(folder)))
    assert activity_volume(tables).empty


def _ranges(ds: Dataset) -> list[tuple]:
    """The whole data, a range of a few months inside it, and everything up to its middle."""
    lo = ds.opportunities["created_date"].min()
    middle = lo + (ds.as_of - lo) / 2
    inside = (
        str((middle - pd.Timedelta(days=40)).date()),
        str((middle + pd.Timedelta(days=75)).date()),
    )
    return [(None, None), inside, (None, str(middle.date()))]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("location", [MINI, None], ids=["mini", "sample"])
def test_identical_to_pandas_on_whole_datasets(tmp_path, location, fmt):
    path = resolve_data(location)
    ds = load(path)
    if fmt == "parquet":
        path = write(ds, tmp_path / "p")
    tables = open_tables(path)
    for freq in FREQS:
        for start, end in _ranges(ds):
            expected = activity_volume(ds, freq, start, end)
            assert_frame_equal(activity_volume(tables, freq, start, end), expected)
    if location is None:  # the sample logs referrals received: the split is compared too
        assert {"referral given", "referral received"} <= set(expected["type"])


@pytest.mark.slow
def test_identical_on_spark(tmp_path, spark):
    folder = write(known(), tmp_path / "k")
    for path in (folder, MINI):
        duck = open_tables(path, validate=False)
        on_spark = open_tables(f"spark:{path}", validate=False)
        for freq in ("week", "quarter"):
            for end in (None, "2026-02-28" if path == folder else "2024-03-31"):
                assert_frame_equal(
                    activity_volume(on_spark, freq, end=end), activity_volume(duck, freq, end=end)
                )
            assert_frame_equal(
                activity_outcomes(on_spark, end=end), activity_outcomes(duck, end=end)
            )


def test_outcomes_known_answers_in_the_engine(tmp_path):
    tables = open_tables(write(known(), tmp_path / "k"))
    out = activity_outcomes(tables).set_index("rep_id")
    # a: 6 activities in the range (3 calls, 1 meeting, 2 referrals: given in January,
    # received in March); b: 2 (1 call, 1 referral without outcome: given); c: none in range
    assert out["activities"].tolist() == [6, 2, 0]
    assert out["calls"].tolist() == [3, 1, 0]
    assert out["referrals_given"].tolist() == [1, 1, 0]
    assert out["referrals_received"].tolist() == [1, 0, 0]
    assert out.loc["a", "won"] == 1 and out.loc["a", "calls_per_meeting"] == 3.0


def without_received(ds: Dataset) -> Dataset:
    """``ds`` with no activity marked received, and leads: b's referral lead in March, a's
    web lead, and a referral lead of a from before the range."""
    acts = ds.activities.assign(outcome=ds.activities["outcome"].replace("Received", "given"))
    leads = pd.DataFrame(
        {
            "lead_id": ["l1", "l2", "l3"],
            "rep_id": ["b", "a", "a"],
            "created_date": D(["2026-03-01", "2026-01-02", "2025-12-01"]),
            "source": [" Referral partner", "web", "referral"],
        }
    )
    return replace(ds, activities=acts, leads=leads)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_outcomes_identical_to_pandas(tmp_path, fmt):
    base = known()
    opps = base.opportunities.assign(lead_source=["Referral"])
    cases = {
        "received logged": base,
        "from leads": without_received(base),
        "from the deals' lead source": replace(without_received(base), leads=base.leads,
                                               opportunities=opps),
    }  # fmt: skip
    for i, (case, ds) in enumerate(cases.items()):
        folder = write(ds, tmp_path / f"k{i}", fmt)
        loaded, tables = load(folder), open_tables(folder)
        for start, end in ((None, None), ("2026-02-01", "2026-03-15")):
            expected = activity_outcomes(loaded, start, end)
            assert_frame_equal(activity_outcomes(tables, start, end), expected, obj=case)
    # from leads: b's referral lead is in the range (its source stripped, lower-cased), a's
    # referral lead before it; from the deals: a's deal, created on 1 January, came by
    # referral (so none from February, the last range compared above)
    assert expected["referrals_received"].tolist() == [0, 0, 0]
    leads = activity_outcomes(open_tables(tmp_path / "k1")).set_index("rep_id")
    assert leads["referrals_received"].tolist() == [0, 1, 0]
    deals = activity_outcomes(open_tables(tmp_path / "k2")).set_index("rep_id")
    assert deals["referrals_received"].tolist() == [1, 0, 0]


@pytest.mark.parametrize("location", [MINI, None], ids=["mini", "sample"])
def test_outcomes_identical_to_pandas_on_whole_datasets(tmp_path, location):
    path = resolve_data(location)
    ds, tables = load(path), open_tables(path)
    for start, end in _ranges(ds):
        assert_frame_equal(activity_outcomes(tables, start, end), activity_outcomes(ds, start, end))


def test_team_sums_its_reps(tmp_path):
    vol = activity_volume(load(write(known(), tmp_path / "k")))
    team = team_activity_volume(vol).set_index(["team", "period", "type"])
    # North = a + b: February calls 1 + 1; in January only a is employed (b from 15 Feb)
    assert team.loc[("North", "2026-02", "call"), "activities"] == 2
    assert team.loc[("North", "2026-01", "call"), "active_reps"] == 1
    assert team.loc[("North", "2026-02", "call"), "active_reps"] == 2
    assert team["activities"].sum() == vol["activities"].sum() == 8
    assert team.reset_index().dtypes[["activities", "active_reps"]].tolist() == ["int64"] * 2


def test_cli_activity_csv_json_and_table(tmp_path):
    folder = str(write(known(), tmp_path / "k", "csv"))
    result = runner.invoke(app, ["activity", folder, "--format", "csv"])
    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.strip().splitlines()
    assert header == "rep_id,rep_name,team,period,period_start,type,activities,active"
    assert len(lines) == 3 * 3 * 4  # reps x months x types
    assert "a,Ann,North,2026-03,2026-03-01,referral received,1,True" in lines

    result = runner.invoke(
        app, ["activity", folder, "--by", "team", "--freq", "quarter", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = {(r["team"], r["period"], r["type"]): r for r in json.loads(result.stdout)}
    # North in FY2027-Q1 (Feb-Mar): calls a 1 + b 1; both reps employed by 30 April
    assert rows[("North", "FY2027-Q1", "call")]["activities"] == 2
    assert rows[("North", "FY2027-Q1", "call")]["active_reps"] == 2

    # (wide enough for every column: a narrower terminal leaves some out, with a note)
    result = runner.invoke(
        app, ["activity", folder, "--start", "2026-02-01"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    for label in ("Calls", "Referrals given", "Referrals received", "All activities", "Ann"):
        assert label in result.stdout
    assert "2026-01" not in result.stdout
    # from February the types are call, referral given and received (the meeting was in
    # January); Bob's row for March: 1 in all, no call, 1 referral given, none received
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.stdout.splitlines()]
    assert ["Bob", "North", "2026-03", "1", "0", "1", "0"] in rows


def test_cli_activity_help_defines_the_count():
    result = runner.invoke(app, ["activity", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "dated in the period" in text and "engine" in text and "--by team" in text


def test_cli_activity_bad_date_is_a_message(tmp_path):
    folder = str(write(known(), tmp_path / "k", "csv"))
    result = runner.invoke(app, ["activity", folder, "--end", "someday"])
    assert result.exit_code == 1 and "--end" in result.output


@pytest.mark.slow
def test_peak_does_not_grow_with_the_activities_counted(pair):  # noqa: F811
    # the pair of tests/test_engine_memory.py: the same dataset with a handful of activities
    # or 1,000,000 more (over 100 MB in pandas); spm activity counts them all in the engine,
    # so its peak must not grow with them
    small, big, env = pair
    peaks = [_peak_mb(["activity", str(folder), "--format", "csv"], env) for folder in (small, big)]
    assert peaks[1] - peaks[0] < MARGIN_MB, f"peak {peaks[0]:.0f} MB -> {peaks[1]:.0f} MB"
