"""The engine-backed analyses against the pandas reference: the same tables, to the cent.

Each comparison runs the pandas analysis on a loaded Dataset and the engine analysis on the same
files opened in DuckDB (:func:`spmlib.engine.locations.open_tables`): the known-answer fixtures
(tests/funnel_fixture.py, the KPI fixture of tests/test_kpis.py rebuilt here), the mini dataset
and the default sample. Validation against the loader, rule by rule, is in
tests/test_engine_validation_rules.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from funnel_fixture import CONFIG, opportunities, reps, stage_history
from kpi_fixture import kpi_dataset
from pandas.testing import assert_frame_equal

from spmlib.engine.locations import open_tables
from spmlib.engine.validate import engine_problems
from spmlib.exceptions import DataValidationError
from spmlib.funnel.conversion import stage_funnel
from spmlib.funnel.reach import engine_stage_funnel
from spmlib.io.load import load, load_checked
from spmlib.io.schema import Dataset
from spmlib.productivity.kpis import kpis
from spmlib.sample.resolve import resolve_data

MINI = Path(__file__).parent / "data" / "mini"
D = pd.to_datetime


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """A cache folder per test, so typed copies and validation records never leak."""
    import spmlib.engine.prepare as prepare

    monkeypatch.setattr(prepare, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr("spmlib.config.CACHE_DIR", tmp_path / "cache")


def write(ds: Dataset, folder: Path, fmt: str = "parquet") -> Path:
    """``ds`` as a dataset folder (non-empty tables only)."""
    folder.mkdir(parents=True)
    for name, frame in ds.tables().items():
        if len(frame) or name in ("reps", "opportunities"):
            if fmt == "parquet":
                frame.to_parquet(folder / f"{name}.parquet", index=False)
            else:
                frame.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%d")
    (folder / "dataset.yml").write_text(yaml.safe_dump(ds.config.to_dict()))
    return folder


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal frames: counts and medians exactly, money and rates to 12 significant digits
    (the engine sums money as exact decimals, pandas as floats)."""
    assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    for col in ("bookings", "quota", "avg_deal_size"):
        if col in a.columns:
            assert (a[col].round(2).fillna(-1) == b[col].round(2).fillna(-1)).all(), col


def test_kpis_known_answers_in_the_engine(tmp_path):
    folder = write(kpi_dataset(), tmp_path / "k")
    ds, tables = load(folder), open_tables(folder)
    out = kpis(tables, by="rep")
    # as in tests/test_kpis.py: a won 2 (100 + 60), lost 1, median cycle (10 + 5) / 2 = 7.5,
    # quota 400 -> attainment 0.4; b bookings 500, median 20, quota 800; c no deals.
    assert out["won"].tolist() == [2, 2, 0]
    assert out["bookings"].tolist() == [160.0, 500.0, 0.0]
    assert out["median_cycle_days"].tolist()[:2] == [7.5, 20.0]
    assert out["attainment"].tolist()[:2] == [0.4, 0.625]
    for by in ("rep", "team", "all"):
        for period in (None, "month", "quarter", "ytd"):
            for start, end in ((None, None), ("2026-01-15", "2026-02-20")):
                args = {"by": by, "period": period, "start": start, "end": end}
                same(kpis(ds, **args), kpis(tables, **args))


def funnel_fixture_dataset() -> Dataset:
    return Dataset(CONFIG, reps(), opportunities(), stage_history())


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_funnel_known_answers_in_the_engine(tmp_path, fmt):
    folder = write(funnel_fixture_dataset(), tmp_path / "f", fmt)
    ds, tables = load(folder), open_tables(folder)
    out = engine_stage_funnel(tables)
    # tests/funnel_fixture.py: all 7 deals reach A; B: 1, 2 (skipped), 3, 4, 6; C: 1, 2, 3 and
    # 6 (it jumped from B to Won, so passed C); Won: 1 and 6.
    assert out["reached"].tolist() == [7, 5, 4, 2]
    for by in (None, "rep", "team", ["team", "rep_id"]):
        for start, end in ((None, None), ("2026-01-05", "2026-01-20"), (None, "2026-01-12")):
            ref = stage_funnel(
                ds.opportunities,
                ds.stage_history,
                config=ds.config,
                by=by,
                reps=ds.reps,
                start=start,
                end=end,
                as_of=ds.as_of,
            )
            same(ref, engine_stage_funnel(tables, by=by, start=start, end=end))


def test_funnel_without_history_in_the_engine(tmp_path):
    folder = write(Dataset(CONFIG, reps(), opportunities()), tmp_path / "f")
    ds, tables = load(folder), open_tables(folder)
    ref = stage_funnel(ds.opportunities, None, config=CONFIG, by="team", reps=ds.reps)
    same(ref, engine_stage_funnel(tables, by="team"))


@pytest.mark.parametrize("location", [MINI, None], ids=["mini", "sample"])
def test_engine_matches_pandas_on_whole_datasets(location):
    path = resolve_data(location)
    ds, tables = load(path), open_tables(path)
    for by, period in (("rep", None), ("team", "quarter"), ("all", "month")):
        same(kpis(ds, by=by, period=period), kpis(tables, by=by, period=period))
    for by, start, end in ((None, None, None), ("team", "2024-02-01", "2024-05-15")):
        ref = stage_funnel(
            ds.opportunities,
            ds.stage_history,
            config=ds.config,
            by=by,
            reps=ds.reps,
            start=start,
            end=end,
            as_of=ds.as_of,
        )
        same(ref, engine_stage_funnel(tables, by=by, start=start, end=end))
    assert tables.as_of == ds.as_of
    from spmlib.core.ranges import data_range

    assert tables.data_range() == data_range(ds)


def _edit(folder: Path, table: str, row: int, col: str, value: str) -> None:
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row - 1, col] = value
    frame.to_csv(path, index=False)


def test_validation_in_the_engine_on_parquet(tmp_path):
    ds = load(MINI)
    opps = ds.opportunities.copy()
    opps.loc[1, "amount"] = -3.0
    opps.loc[2, "opp_id"] = opps.loc[0, "opp_id"]
    from dataclasses import replace

    folder = write(replace(ds, opportunities=opps), tmp_path / "p")
    _ds, expected = load_checked(folder)
    assert any("duplicated" in p.rule for p in expected)
    assert engine_problems(open_tables(folder, validate=False)) == expected


def test_a_duplicate_id_beside_a_missing_one_is_found_on_parquet(tmp_path):
    # the engine first counts distinct key hashes; a missing key has a hash too, so it must
    # not hide the repeated one (keys a, a, missing: 2 keys, 2 hashes with the missing one)
    ds = load(MINI)
    acts = ds.activities.copy()
    acts.loc[2, "activity_id"] = acts.loc[0, "activity_id"]
    acts.loc[3, "activity_id"] = None
    from dataclasses import replace

    folder = write(replace(ds, activities=acts), tmp_path / "p")
    _ds, expected = load_checked(folder)
    assert any("duplicated" in p.rule for p in expected)
    assert any(p.column == "activity_id" and "without a value" in p.rule for p in expected)
    assert engine_problems(open_tables(folder, validate=False)) == expected


def test_validation_without_opportunities_lists_the_missing_table(tmp_path):
    # the probe looks up activities' and leads' opp_id in opportunities only when it exists
    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    (folder / "opportunities.csv").unlink()
    _ds, expected = load_checked(folder)
    assert any("opportunities" in p.rule for p in expected)
    assert engine_problems(open_tables(folder, validate=False)) == expected


def test_open_tables_raises_every_error(tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    _edit(folder, "opportunities", 2, "amount", "-5")
    with pytest.raises(DataValidationError, match="amount must be >= 0"):
        open_tables(folder)


def test_csv_is_converted_once_and_again_when_it_changes(tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    first = open_tables(folder).info["opportunities"].paths[0]
    again = open_tables(folder).info["opportunities"].paths[0]
    assert first == again and Path(first).is_file()
    stamp = Path(first).stat().st_mtime_ns
    assert Path(again).stat().st_mtime_ns == stamp  # not rewritten
    _edit(folder, "opportunities", 1, "amount", "123")
    changed = open_tables(folder).info["opportunities"].paths[0]
    assert changed != first


def test_validated_once_per_fingerprint_then_trusted(tmp_path, monkeypatch):
    import spmlib.engine.validate as ev

    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    open_tables(folder)  # validates and records

    def boom(tables):
        raise AssertionError("validated twice")

    monkeypatch.setattr(ev, "engine_problems", boom)
    open_tables(folder)  # trusted
    _edit(folder, "opportunities", 1, "amount", "7")  # new fingerprint: checked again
    with pytest.raises(AssertionError, match="validated twice"):
        open_tables(folder)


def test_parquet_folder_of_parts(tmp_path):
    ds = load(MINI)
    folder = write(ds, tmp_path / "parts")
    opps = ds.opportunities
    (folder / "opportunities.parquet").unlink()
    (folder / "opportunities").mkdir()
    half = len(opps) // 2
    opps.iloc[:half].to_parquet(folder / "opportunities" / "part-0.parquet", index=False)
    opps.iloc[half:].to_parquet(folder / "opportunities" / "part-1.parquet", index=False)
    tables = open_tables(folder)
    assert tables.info["opportunities"].file == "opportunities/"
    same(kpis(ds, by="team"), kpis(tables, by="team"))


def test_chunked_sample_is_valid_and_agrees(tmp_path):
    from spmlib.sample.chunked import write_chunked_sample

    folder = write_chunked_sample(
        tmp_path / "big", opportunities=2_500, chunk=1_000, workers=1, teams=1, reps_per_team=3,
        months=6,
    )  # fmt: skip
    assert sorted(p.name for p in (folder / "opportunities").iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    tables = open_tables(folder)  # validates: unique ids across chunks, known reps
    assert tables.count("opportunities") == 2_500
    ds = load(folder)
    same(kpis(ds, by="rep"), kpis(tables, by="rep"))


@pytest.mark.parametrize("by", [None, "team", "rep"])
def test_funnel_in_slices_of_deals_is_the_same(monkeypatch, by):
    # DuckDB splits the deals into slices of SLICE_ROWS (5M by default, for bounded memory
    # at 100M); eight slices of the sample's deals must give exactly the funnel of one slice,
    # with and without a date range (the counts and the counts of days behind the medians add
    # up over the slices)
    from spmlib.engine import embedded

    path = resolve_data(None)
    whole = open_tables(path)
    n = whole.count("opportunities")
    monkeypatch.setattr(embedded, "SLICE_ROWS", n // 8 + 1)
    sliced = open_tables(path)
    assert len(sliced.engine.key_slices("opportunities", "opp_id")) == 8
    for start, end in ((None, None), ("2024-02-01", "2024-05-15")):
        same(
            engine_stage_funnel(whole, by=by, start=start, end=end),
            engine_stage_funnel(sliced, by=by, start=start, end=end),
        )


PERIODS = ((None, None), ("2024-02-01", "2024-05-15"))


def _summaries(tmp_path) -> list[Path]:
    """The files of the deal summaries in the test's cache."""
    return sorted((tmp_path / "cache" / "derived").glob("*/part-*.parquet"))


def _pandas_funnel(path, by=None) -> pd.DataFrame:
    ds = load(path)
    return stage_funnel(
        ds.opportunities, ds.stage_history, config=ds.config, by=by, reps=ds.reps, as_of=ds.as_of
    )


def test_a_spark_location_always_runs_on_spark(monkeypatch):
    # `spm kpis spark:PATH` passes the CLI's default engine, duckdb: the prefix decides
    from typer.testing import CliRunner

    from spmlib.cli import app
    from spmlib.engine import locations

    asked = []

    def engine_class(name):
        asked.append(name)
        raise RuntimeError("no session needed here")

    monkeypatch.setattr(locations, "engine_class", engine_class)
    result = CliRunner().invoke(app, ["kpis", "spark:/data/crm"])
    assert isinstance(result.exception, RuntimeError)
    with pytest.raises(RuntimeError):
        open_tables("spark:/data/crm", engine="duckdb")
    assert asked == ["spark", "spark"]


def test_deal_summaries_are_written_once_and_read_after(tmp_path, monkeypatch):
    # in slices, the per-deal summary of the stage history is written to the cache on the
    # first run (a file a slice) and read by the next ones: the same funnel either way, for
    # both views; a changed history file makes a new summary, read by the next run, which
    # removes the old one once it is an hour old
    import os
    import time

    from spmlib.engine import embedded

    folder = tmp_path / "ds"
    shutil.copytree(resolve_data(None), folder)
    whole = open_tables(folder)
    expected = [engine_stage_funnel(whole, by="team", start=s, end=e) for s, e in PERIODS]
    monkeypatch.setattr(embedded, "SLICE_ROWS", whole.count("opportunities") // 4 + 1)
    steps: list[str] = []
    for _ in range(2):  # the first run writes the summaries, the second reads them
        tables = open_tables(folder, progress=steps.append)
        for (s, e), funnel in zip(PERIODS, expected, strict=True):
            same(funnel, engine_stage_funnel(tables, by="team", start=s, end=e))
        assert len(_summaries(tmp_path)) == 4
    written = [s for s in steps if s.startswith("deal stage summaries")]
    assert written == [f"deal stage summaries, slice {i} of 4" for i in range(1, 5)]
    # other slices later (SPM_DUCKDB_SLICE_ROWS changed) read the same summaries
    monkeypatch.setattr(embedded, "SLICE_ROWS", whole.count("opportunities") // 3 + 1)
    same(expected[0], engine_stage_funnel(open_tables(folder), by="team"))
    assert len(_summaries(tmp_path)) == 4
    old = _summaries(tmp_path)[0].parent
    hours_ago = time.time() - 7200
    os.utime(old / "owner.txt", (hours_ago, hours_ago))
    history = pd.read_csv(folder / "stage_history.csv", dtype=str)
    history = history.iloc[len(history) // 2 :]  # the deals of the first half lose entries
    history.to_csv(folder / "stage_history.csv", index=False)
    changed = open_tables(folder)
    now = engine_stage_funnel(changed, by="team")
    same(now, _pandas_funnel(folder, by="team"))
    assert not now.equals(expected[0])
    assert len(_summaries(tmp_path)) == 3 and not old.exists()  # the new one, in 3 slices


def test_spm_validate_writes_the_summaries_every_funnel_reads(tmp_path, monkeypatch):
    # a clean `spm validate` of data in slices writes each deal's stage summary, once for
    # these files: the funnels after it read them (none writes), and are right; data in one
    # slice gets none
    from typer.testing import CliRunner

    from spmlib.cli import app
    from spmlib.engine import embedded

    folder = tmp_path / "ds"
    shutil.copytree(resolve_data(None), folder)
    small = CliRunner().invoke(app, ["validate", str(folder)])
    assert small.exit_code == 0, small.output
    assert "stage summary" not in small.output and _summaries(tmp_path) == []
    whole = open_tables(folder)
    expected = [engine_stage_funnel(whole, by="team", start=s, end=e) for s, e in PERIODS]
    monkeypatch.setattr(embedded, "SLICE_ROWS", open_tables(folder).count("opportunities") // 4 + 1)
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "each deal's stage summary, which every `spm funnel` of these files reads" in (
        " ".join(result.output.split())
    )
    assert "(4 files, " in result.output and len(_summaries(tmp_path)) == 4
    steps: list[str] = []
    tables = open_tables(folder, progress=steps.append)
    for (s, e), funnel in zip(PERIODS, expected, strict=True):
        same(funnel, engine_stage_funnel(tables, by="team", start=s, end=e))
    assert not [s for s in steps if s.startswith("deal stage summaries")]
    assert len(_summaries(tmp_path)) == 4


def test_the_first_command_on_new_files_readies_them_for_the_funnel(tmp_path, monkeypatch):
    # `spm kpis` first on new data in slices validates it and writes the deal summaries, once
    # per fingerprint: a later command trusts the files and writes nothing again
    from typer.testing import CliRunner

    from spmlib.cli import app
    from spmlib.engine import embedded

    path = resolve_data(None)
    deals = open_tables(path, validate=False).count("opportunities")  # (new to this cache)
    monkeypatch.setattr(embedded, "SLICE_ROWS", deals // 4 + 1)
    first = CliRunner().invoke(app, ["kpis", str(path), "--by", "team"])
    assert first.exit_code == 0, first.output
    assert len(_summaries(tmp_path)) == 4
    shutil.rmtree(tmp_path / "cache" / "derived")
    again = CliRunner().invoke(app, ["kpis", str(path), "--by", "team"])
    assert again.exit_code == 0, again.output
    assert _summaries(tmp_path) == []


def test_a_summary_written_part_way_is_never_read(tmp_path, monkeypatch, caplog):
    # the disk fills up while the summaries are written, at the third slice: the funnel is
    # still right (worked out without them), a warning says what to do, nothing is left in
    # the cache, and the next run writes them all
    import duckdb

    from spmlib.engine import embedded

    path = resolve_data(None)
    monkeypatch.setattr(embedded, "SLICE_ROWS", open_tables(path).count("opportunities") // 4 + 1)
    tables = open_tables(path)
    run = embedded.DuckDBEngine._run
    copies = []

    def disk_full(self, text):
        if text.startswith("COPY"):
            copies.append(text)
            if len(copies) == 3:
                raise duckdb.IOException("IO Error: Could not write file: No space left on device")
        return run(self, text)

    monkeypatch.setattr(embedded.DuckDBEngine, "_run", disk_full)
    expected = _pandas_funnel(path)
    same(engine_stage_funnel(tables), expected)
    assert "No space left on device" in caplog.text and "SPM_CACHE_DIR" in caplog.text
    assert list((tmp_path / "cache" / "derived").iterdir()) == []
    monkeypatch.setattr(embedded.DuckDBEngine, "_run", run)
    same(engine_stage_funnel(tables), expected)
    assert len(_summaries(tmp_path)) == 4


def _per_deal(tables, window: bool) -> pd.DataFrame:
    """The funnel's per-deal rows of the stage history (every deal, exits included), through
    the window over every deal's entries (``window``) or as the funnel computes them."""
    from spmlib.funnel import reach

    eng, config = tables.engine, tables.config
    reach._register_ranks(tables)
    n, n_open = len(config.funnel_stages), len(config.open_stages)
    if window:
        sql = reach._window_per_deal_sql(eng, n, n_open, exits=True)
    else:
        sql = reach._per_deal_sql(eng, n, n_open, len(config.stages), exits=True)
    out = eng.sql(sql.replace("{h_slice}", "TRUE")).sort_values("opp_id", ignore_index=True)
    return out.astype({c: "float64" for c in out.columns if c[0] == "d" or c == "lr"})


def test_stays_without_a_window_are_those_of_the_window(tmp_path):
    # a deal that entered no stage twice has its stays worked out from its first entries,
    # without a window; they must be those of the window, on hand-made edge cases (stages
    # A, B, C, Won, Lost) and on the sample (where 1.5% of deals enter a stage twice)
    history = {
        "t": [("01-01", "A"), ("01-01", "B"), ("01-05", "C")],  # same day: A ends at B, 0 days
        "u": [("01-03", "B"), ("01-03", "A"), ("01-08", "Won")],  # same day, listed backwards
        "v": [("01-01", "A"), ("01-04", "A"), ("01-06", "B")],  # A twice: the window's
        "w": [("01-02", "A"), ("01-09", "Lost")],  # lost ends A's stay: 7 days
        "x": [("01-01", "A"), (None, "B"), ("01-02", "C"), ("01-02", "C")],  # C twice, a day
        "y": [("01-05", "A"), ("01-02", "B"), ("01-09", "C")],  # out of stage order: B ends at A
    }
    rows = [
        {"opp_id": k, "stage": s, "entered_date": D(f"2026-{d}") if d else pd.NaT}
        for k, entries in history.items()
        for d, s in entries
    ]
    ds = Dataset(CONFIG, reps(), opportunities(), pd.DataFrame(rows).astype({"opp_id": "string"}))
    tables = open_tables(write(ds, tmp_path / "h"), validate=False)
    fast = _per_deal(tables, window=False)
    assert_frame_equal(fast, _per_deal(tables, window=True))
    assert fast.set_index("opp_id").loc[["t", "u", "w", "y"], "d0"].tolist() == [0, 0, 7, 4]
    assert fast.set_index("opp_id").loc["y", "d1"] == 3
    sample = open_tables(resolve_data(None))
    assert_frame_equal(_per_deal(sample, window=False), _per_deal(sample, window=True))


def test_long_steps_are_reported(monkeypatch):
    # on 100 M deals the first check takes minutes: each table, and each slice of ids or of
    # deals, is announced to the progress callback as it starts (the CLI shows it)
    import spmlib.engine.validate as engine_validate
    from spmlib.engine import embedded

    monkeypatch.setattr(embedded, "SLICE_ROWS", 2_000)
    monkeypatch.setattr(engine_validate, "DISTINCT_SCALE", 1)
    steps: list[str] = []
    tables = open_tables(resolve_data(None), progress=steps.append)
    n = len(tables.info)
    assert f"checking opportunities (table 2 of {n})" in steps
    assert any(s.startswith("checking the ids of activities, slice 1 of ") for s in steps)
    assert any(s.startswith("checking stage_history against their deals, slice ") for s in steps)
    slices = len(tables.engine.key_slices("opportunities", "opp_id"))
    del steps[:]
    engine_stage_funnel(tables)
    each = range(1, slices + 1)
    assert steps == [f"deal stage summaries, slice {i} of {slices}" for i in each] + [
        f"funnel of the deals, slice {i} of {slices}" for i in each
    ]


def test_close_reasons_are_folded_in_the_engine(tmp_path):
    # dataset.yml names CRM stages that mean won or lost (won_reasons, lost_reasons): the engine
    # reads them as the won / lost stage, like the loader, and keeps the CRM stage in
    # close_reason; O1 'Won - Renewal' (also in its history), O2 'Lost - Price'
    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    raw = yaml.safe_load((folder / "dataset.yml").read_text())
    raw.update(won_reasons=["Won - Renewal"], lost_reasons=["Lost - Price"])
    (folder / "dataset.yml").write_text(yaml.safe_dump(raw))
    _edit(folder, "opportunities", 1, "stage", "Won - Renewal")
    _edit(folder, "opportunities", 2, "stage", "Lost - Price")
    _edit(folder, "stage_history", 3, "stage", "Won - Renewal")
    ds, tables = load(folder), open_tables(folder)
    got = tables.frame("opportunities").reset_index(drop=True)
    assert got["stage"].tolist()[:2] == ["Closed Won", "Closed Lost"]
    assert got["status"].tolist()[:2] == ["won", "lost"]
    assert got["close_reason"].tolist()[:3] == ["Won - Renewal", "Lost - Price", "Closed Won"]
    assert got["close_reason"].tolist() == ds.opportunities["close_reason"].tolist()
    assert tables.frame("stage_history")["stage"].tolist()[2] == "Closed Won"
    for by, period in (("rep", None), ("team", "quarter")):
        same(kpis(ds, by=by, period=period), kpis(tables, by=by, period=period))
    ref = stage_funnel(
        ds.opportunities, ds.stage_history, config=ds.config, reps=ds.reps, as_of=ds.as_of
    )
    same(ref, engine_stage_funnel(tables))
