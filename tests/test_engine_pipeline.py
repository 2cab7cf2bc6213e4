"""The open pipeline and the pipeline flow summed in the engine (spmlib.funnel.pipeline_sums)
against the pandas functions (open_pipeline, pipeline_flow): known answers worked out by hand,
the same tables on the mini dataset and the sample (CSV and Parquet), in slices of deals, on
Spark, and through ``spm pipeline`` / ``spm flow``.

The hand-made deals (stages A -> B, then Won / Lost; fiscal years start in February)::

    deal rep team  created     close       stage  amount  history (date: stage)
    1    a   T1    2026-01-05  2026-02-10  A      100.25  01-05 A
    2    a   T1    2026-01-10  2026-03-31  B      200     01-10 A, 01-12 B
    3    b   T2    2025-12-01  2026-02-01  B      50.5    12-01 B
    4    b   T2    2025-11-15  2026-01-20  Won    1000    11-15 A, 01-18 Won (before close)
    5    a   T1    2026-01-02  2026-01-25  Lost   300     01-02 A, 01-22 Lost (before close)
    6    b   T2    2026-01-03  2026-02-05  Won    400     01-03 A (no Won entry: close date)
    7    a   T1    2026-01-20  2026-01-25  Lost   70      01-10 Lost (before its creation)
    8    b   T2    2025-12-05  2026-01-20  Lost   80      12-05 A, 02-02 Lost (after close)
    9    a   T1    2025-12-15  2026-01-20  Won    600     12-15 A, 01-10 Won
    rep c (team T3) has no deals.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from test_engine import own_cache, same, write  # noqa: F401 (own_cache: an autouse fixture)
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.engine.locations import open_tables
from spmlib.exceptions import SpmError, UnknownNameError
from spmlib.funnel.flow import pipeline_flow
from spmlib.funnel.pipeline import open_pipeline
from spmlib.funnel.pipeline_sums import engine_open_pipeline, engine_pipeline_flow
from spmlib.io.load import load
from spmlib.io.schema import Dataset, DatasetConfig
from spmlib.sample.resolve import resolve_data

MINI = Path(__file__).parent / "data" / "mini"
CONFIG = DatasetConfig(("A", "B"), "Won", "Lost", fiscal_year_start_month=2)
D = pd.to_datetime
runner = CliRunner()

#: opp_id: (rep, created, close, stage, amount)
_DEALS = {
    "1": ("a", "2026-01-05", "2026-02-10", "A", 100.25),
    "2": ("a", "2026-01-10", "2026-03-31", "B", 200.0),
    "3": ("b", "2025-12-01", "2026-02-01", "B", 50.5),
    "4": ("b", "2025-11-15", "2026-01-20", "Won", 1000.0),
    "5": ("a", "2026-01-02", "2026-01-25", "Lost", 300.0),
    "6": ("b", "2026-01-03", "2026-02-05", "Won", 400.0),
    "7": ("a", "2026-01-20", "2026-01-25", "Lost", 70.0),
    "8": ("b", "2025-12-05", "2026-01-20", "Lost", 80.0),
    "9": ("a", "2025-12-15", "2026-01-20", "Won", 600.0),
}
_HISTORY = [
    ("1", "A", "2026-01-05"),
    ("2", "A", "2026-01-10"),
    ("2", "B", "2026-01-12"),
    ("3", "B", "2025-12-01"),
    ("4", "A", "2025-11-15"),
    ("4", "Won", "2026-01-18"),
    ("5", "A", "2026-01-02"),
    ("5", "Lost", "2026-01-22"),
    ("6", "A", "2026-01-03"),
    ("7", "Lost", "2026-01-10"),
    ("8", "A", "2025-12-05"),
    ("8", "Lost", "2026-02-02"),
    ("9", "A", "2025-12-15"),
    ("9", "Won", "2026-01-10"),
]


def deals(config: DatasetConfig = CONFIG, history: bool = True) -> Dataset:
    """The hand-made deals of the module docstring."""
    reps = pd.DataFrame(
        {"rep_id": ["a", "b", "c"], "rep_name": ["Ann", "Bob", "Cy"], "team": ["T1", "T2", "T3"]}
    )
    rep, created, close, stage, amount = zip(*_DEALS.values(), strict=True)
    opps = pd.DataFrame(
        {
            "opp_id": list(_DEALS),
            "rep_id": rep,
            "created_date": D(created),
            "close_date": D(close),
            "stage": stage,
            "amount": amount,
        }
    )
    hist = pd.DataFrame(_HISTORY, columns=["opp_id", "stage", "entered_date"])
    hist["entered_date"] = D(hist["entered_date"])
    return Dataset(config, reps, opps, hist) if history else Dataset(config, reps, opps)


def _flow(frame: pd.DataFrame, measure: str) -> list[list[float]]:
    rows = frame[frame["measure"] == measure]
    return rows[["open_start", "created", "won", "lost", "open_end"]].to_numpy().tolist()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_known_answers_in_the_engine(tmp_path, fmt):
    tables = open_tables(write(deals(), tmp_path / "d", fmt))
    out = engine_open_pipeline(tables)
    # open deals 1 (A, Feb), 3 (B, Feb), 2 (B, Mar): stages in order, then periods
    assert out[["stage", "close_period", "deals", "amount"]].to_numpy().tolist() == [
        ["A", "2026-02", 1, 100.25],
        ["B", "2026-02", 1, 50.5],
        ["B", "2026-03", 1, 200.0],
    ]
    # fiscal years from February, named by the year they end in: Feb-Apr 2026 is FY2027-Q1
    out = engine_open_pipeline(tables, by="team", freq="quarter")
    assert out[["team", "stage", "close_period", "deals", "amount"]].to_numpy().tolist() == [
        ["T1", "A", "FY2027-Q1", 1, 100.25],
        ["T1", "B", "FY2027-Q1", 1, 200.0],
        ["T2", "B", "FY2027-Q1", 1, 50.5],
    ]
    out = engine_pipeline_flow(tables, "2026-01-15", "2026-01-31")
    # open at start: 1, 2, 3, 4 (won 01-18), 5 (lost 01-22 by its history), 6 (won on its
    # close date 02-05), 8 (lost 02-02 by its history, not on its close date 01-20); not 9,
    # won 01-10 by its history. Created: 7, lost on its creation 01-20 (its Lost entry is
    # earlier). Won: 4. Lost: 5, 7. Open at end: 1, 2, 3, 6, 8. 7 + 1 - 1 - 2 = 5.
    assert _flow(out, "count") == [[7.0, 1.0, 1.0, 2.0, 5.0]]
    assert _flow(out, "amount") == [[2130.75, 70.0, 1000.0, 370.0, 830.75]]
    out = engine_pipeline_flow(tables, "2026-01-15", "2026-01-31", by="team")
    assert out["team"].tolist() == ["T1", "T1", "T2", "T2", "T3", "T3"]  # T3: no deals
    assert _flow(out, "count") == [[3, 1, 0, 2, 2], [4, 0, 1, 0, 3], [0, 0, 0, 0, 0]]
    assert _flow(out, "amount")[:2] == [[600.25, 70, 0, 370, 300.25], [1530.5, 0, 1000, 0, 530.5]]


def _same_as_pandas(ds: Dataset, tables, flows) -> None:
    """Every open pipeline and flow of ``tables`` (by None, team, rep; ``flows``: ranges) is
    the pandas function's on the loaded ``ds``."""
    for by in (None, "team", "rep"):
        for freq in ("month", "quarter"):
            ref = open_pipeline(ds.opportunities, config=ds.config, by=by, reps=ds.reps, freq=freq)
            same(ref, engine_open_pipeline(tables, by=by, freq=freq))
        for start, end in flows:
            ref = pipeline_flow(
                ds.opportunities,
                ds.stage_history,
                config=ds.config,
                start=start,
                end=end,
                by=by,
                reps=ds.reps,
            )
            same(ref, engine_pipeline_flow(tables, start, end, by=by))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_hand_made_deals_as_pandas(tmp_path, fmt):
    for history in (True, False):
        folder = write(deals(history=history), tmp_path / f"d{history}", fmt)
        flows = (("2026-01-15", "2026-01-31"), ("2025-01-01", "2026-12-31"))
        _same_as_pandas(load(folder), open_tables(folder), flows)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("location", [MINI, None], ids=["mini", "sample"])
def test_engine_matches_pandas_on_whole_datasets(tmp_path, location, fmt):
    folder = write(load(resolve_data(location)), tmp_path / "ds", fmt)
    flows = (
        ("2024-01-01", "2024-06-30"),
        ("2023-03-15", "2025-12-31"),
        ("2024-05-10", "2024-05-10"),
        ("2026-01-01", "2026-12-31"),
    )
    _same_as_pandas(load(folder), open_tables(folder), flows)


def test_no_open_deals_gives_the_empty_table_of_pandas(tmp_path):
    ds = deals()
    closed = Dataset(
        ds.config, ds.reps, ds.opportunities[~ds.opportunities["stage"].isin(["A", "B"])]
    )
    folder = write(closed, tmp_path / "d")
    ds = load(folder)
    for by in (None, "team"):
        ref = open_pipeline(ds.opportunities, config=ds.config, by=by, reps=ds.reps)
        same(ref, engine_open_pipeline(open_tables(folder), by=by))


@pytest.mark.parametrize("by", [None, "team", "rep"])
def test_flow_in_slices_of_deals_is_the_same(monkeypatch, by):
    # DuckDB splits the deals into slices of SLICE_ROWS (5M by default): four slices of the
    # sample's deals, each reading the history of its own deals, add up to the flow of one
    from spmlib.engine import embedded

    path = resolve_data(None)
    whole = open_tables(path)
    monkeypatch.setattr(embedded, "SLICE_ROWS", whole.count("opportunities") // 4 + 1)
    sliced = open_tables(path)
    assert len(sliced.engine.key_slices("opportunities", "opp_id")) == 4
    for start, end in (("2024-01-01", "2024-06-30"), ("2023-03-15", "2025-12-31")):
        same(
            engine_pipeline_flow(whole, start, end, by=by),
            engine_pipeline_flow(sliced, start, end, by=by),
        )
    same(engine_open_pipeline(whole, by=by), engine_open_pipeline(sliced, by=by))


def test_unknown_group_and_several_pipelines_raise(tmp_path):
    tables = open_tables(write(deals(), tmp_path / "d"))
    with pytest.raises(UnknownNameError, match="segment"):
        engine_open_pipeline(tables, by="segment")
    with pytest.raises(UnknownNameError, match="segment"):
        engine_pipeline_flow(tables, "2026-01-01", "2026-01-31", by="segment")
    tables = open_tables(_two_pipelines(tmp_path / "p"))
    with pytest.raises(SpmError, match="pipeline"):
        engine_open_pipeline(tables)
    with pytest.raises(SpmError, match="pipeline"):
        engine_pipeline_flow(tables, "2026-01-01", "2026-01-31")


def _two_pipelines(folder: Path) -> Path:
    """The hand-made deals in two pipelines: New (A, B) holds deals 1-6, Renewal (R) 7-9."""
    config = DatasetConfig.from_dict(
        {"pipelines": {"New": ["A", "B"], "Renewal": ["R"]}, "won_stage": "Won",
         "lost_stage": "Lost"}
    )  # fmt: skip
    ds = deals(config)
    ds.opportunities["pipeline"] = ["New"] * 6 + ["Renewal"] * 3
    renewals = ds.stage_history["opp_id"].isin(["7", "8", "9"])
    ds.stage_history.loc[renewals & (ds.stage_history["stage"] == "A"), "stage"] = "R"
    return write(ds, folder, "csv")


@pytest.mark.slow
def test_identical_on_spark(tmp_path, spark):
    folder = write(load(MINI), tmp_path / "ds")
    duck, on_spark = (
        open_tables(folder, validate=False),
        open_tables(f"spark:{folder}", validate=False),
    )
    for by, freq in ((None, "month"), ("team", "quarter"), ("rep", "month")):
        pd.testing.assert_frame_equal(
            engine_open_pipeline(on_spark, by=by, freq=freq),
            engine_open_pipeline(duck, by=by, freq=freq),
            check_exact=True,  # money summed as exact decimals on both
        )
    for by in (None, "rep"):
        pd.testing.assert_frame_equal(
            engine_pipeline_flow(on_spark, "2024-01-01", "2024-06-30", by=by),
            engine_pipeline_flow(duck, "2024-01-01", "2024-06-30", by=by),
            check_exact=True,
        )


# --- the command line ------------------------------------------------------------------------


def _json(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_spm_pipeline_json_by_team_per_quarter(tmp_path):
    folder = write(deals(), tmp_path / "d", "csv")
    args = ["pipeline", str(folder), "--by", "team", "--freq", "quarter", "--format", "json"]
    rows = _json(runner.invoke(app, args))
    assert list(rows[0]) == [
        "team",
        "stage",
        "close_period",
        "close_period_start",
        "deals",
        "amount",
    ]
    assert [(r["team"], r["stage"], r["deals"], r["amount"]) for r in rows] == [
        ("T1", "A", 1, 100.25),
        ("T1", "B", 1, 200.0),
        ("T2", "B", 1, 50.5),
    ]


def test_spm_pipeline_table_for_people(tmp_path):
    folder = write(deals(), tmp_path / "d", "csv")
    args = ["pipeline", str(folder), "--by", "team", "--freq", "quarter"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Expected close" in result.stdout and "FY2027-Q1" in result.stdout
    assert "$100" in result.stdout  # (T1, stage A: $100.25)
    assert "2026-02-01" not in result.stdout  # the quarter's first day: in csv and json only
    narrow = runner.invoke(app, args, env={"COLUMNS": "45"})  # the amount stays, the count goes
    assert "Amount" in narrow.stdout and "$200" in narrow.stdout and "Deals" not in narrow.stdout


def test_spm_flow_csv_and_table(tmp_path):
    folder = write(deals(), tmp_path / "d", "csv")
    args = ["flow", str(folder), "--start", "2026-01-15", "--end", "2026-01-31"]
    result = runner.invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    # the balance of test_known_answers_in_the_engine
    assert result.stdout.splitlines() == [
        "measure,open_start,created,won,lost,open_end",
        "count,7.0,1.0,1.0,2.0,5.0",
        "amount,2130.75,70.0,1000.0,370.0,830.75",
    ]
    result = runner.invoke(app, [*args, "--by", "team"])
    assert result.exit_code == 0, result.output
    assert "Pipeline flow 2026-01-15 to 2026-01-31: deals" in result.stdout
    assert "Pipeline flow 2026-01-15 to 2026-01-31: amount" in result.stdout
    assert "$600" in result.stdout and "$1,000" in result.stdout  # T1 open at start, T2 won


def test_spm_flow_needs_both_days_and_known_groups(tmp_path):
    folder = write(deals(), tmp_path / "d", "csv")
    result = runner.invoke(app, ["flow", str(folder), "--start", "2026-01-01"])
    assert result.exit_code == 2 and "--end" in result.output
    args = ["flow", str(folder), "--start", "2026-02-01", "--end", "2026-01-01"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "before start" in result.stderr
    result = runner.invoke(app, ["pipeline", str(folder), "--by", "segment"])
    assert result.exit_code == 1 and "segment" in result.stderr


def test_several_pipelines_fall_back_to_the_loaded_data(tmp_path):
    folder = _two_pipelines(tmp_path / "p")
    rows = _json(runner.invoke(app, ["pipeline", str(folder), "--format", "json"]))
    assert [(r["pipeline"], r["stage"], r["deals"]) for r in rows] == [
        ("New", "A", 1),
        ("New", "B", 1),
        ("New", "B", 1),
    ]
    args = ["flow", str(folder), "--start", "2026-01-15", "--end", "2026-01-31", "--format", "json"]
    rows = _json(runner.invoke(app, args))
    # New: deals 1-6 (open at start 1-6, won 4, lost 5); Renewal: 7-9 (8 open, 7 created, lost)
    assert [(r["pipeline"], r["measure"], r["open_start"], r["lost"]) for r in rows] == [
        ("New", "count", 6.0, 1.0),
        ("New", "amount", 2050.75, 300.0),
        ("Renewal", "count", 1.0, 1.0),
        ("Renewal", "amount", 80.0, 70.0),
    ]
