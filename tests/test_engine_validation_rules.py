"""Every rule of the pandas loader, checked in the engine with the same result.

Each case breaks exactly one rule of :func:`spmlib.io.load.load_checked` in a small dataset (the
mini dataset plus an accounts and a splits table, tests/data/mini) and asserts that the engine's
validation (:func:`spmlib.engine.validate.engine_problems`) reports the very same problems: rule,
file, column, rows and examples. Each case runs on the CSV files and on the same tables written
as typed Parquet (read in place by the engine, the path of large datasets).

:func:`test_every_rule_of_the_loader_has_a_case` keeps the list complete: every ``Problem(...)``
the pandas validation code can build about data (not about dataset.yml) and every pandera check
must be produced by some case, so a rule added to the loader fails here until the engine is
shown to check it too.
"""

from __future__ import annotations

import ast
import inspect
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from spmlib.engine.locations import open_tables
from spmlib.engine.validate import engine_problems
from spmlib.io import validate as v
from spmlib.io import validate_stages as vs
from spmlib.io.coerce import coerce_table
from spmlib.io.load import load_checked
from spmlib.io.schema import TABLES, DatasetConfig

MINI = Path(__file__).parent / "data" / "mini"

ACCOUNTS = """account_id,account_name,rep_id,potential,workload,latitude,longitude,locked
Acme,Acme Corp,R1,10000,20,48.85,2.35,false
Globex,Globex Inc,R1,5000,10,51.5,-0.12,true
Initech,Initech LLC,R2,8000,,40.7,-74.0,
Umbrella,Umbrella plc,R2,0,5,,,
Hooli,Hooli,R3,20000,40,37.4,-122.1,false
"""
SPLITS = """opp_id,rep_id,share,type
O1,R1,0.6,revenue
O1,R2,0.4,revenue
O3,R2,1,revenue
O3,R1,0.2,overlay
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """A cache folder per test, so typed copies and validation records never leak."""
    import spmlib.engine.prepare as prepare

    monkeypatch.setattr(prepare, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr("spmlib.config.CACHE_DIR", tmp_path / "cache")


# --- edits of the base dataset ---------------------------------------------------------------


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def _write(folder: Path, table: str, frame: pd.DataFrame) -> None:
    frame.to_csv(folder / f"{table}.csv", index=False)


def edit(table: str, row: int, col: str, value: str):
    """Set ``col`` of the 1-based data ``row`` of ``table``."""

    def apply(folder: Path) -> None:
        frame = _read(folder, table)
        frame.loc[row - 1, col] = value
        _write(folder, table, frame)

    return apply


def column(table: str, col: str, values: list[str] | None = None):
    """Drop ``col`` of ``table`` (``values`` None), or set it to ``values``."""

    def apply(folder: Path) -> None:
        frame = _read(folder, table)
        if values is None:
            frame = frame.drop(columns=col)
        else:
            frame[col] = values
        _write(folder, table, frame)

    return apply


def append(table: str, **row: str):
    """Add a row to ``table``."""

    def apply(folder: Path) -> None:
        frame = _read(folder, table)
        _write(folder, table, pd.concat([frame, pd.DataFrame([row])], ignore_index=True))

    return apply


def remove(table: str):
    def apply(folder: Path) -> None:
        (folder / f"{table}.csv").unlink()

    return apply


def settings(**changes):
    """Change dataset.yml (a value None removes the key)."""

    def apply(folder: Path) -> None:
        raw = yaml.safe_load((folder / "dataset.yml").read_text())
        raw.update(changes)
        raw = {k: x for k, x in raw.items() if x is not None}
        (folder / "dataset.yml").write_text(yaml.safe_dump(raw))

    return apply


#: The mini dataset's open stages in one pipeline ("New"), every deal in it.
PIPELINES = [
    settings(open_stages=None, pipelines={"New": ["Prospecting", "Proposal", "Negotiation"]}),
    column("opportunities", "pipeline", ["New"] * 6),
]

#: case -> (edits of the base dataset, (file, words of the rule) the loader must report)
CASES = {
    # per table: columns and parsing
    "missing table": ([remove("opportunities")], ("opportunities.csv", "is missing")),
    "missing column": ([column("reps", "team")], ("reps.csv", "required column 'team'")),
    "empty required": ([edit("opportunities", 1, "rep_id", "")], ("opportunities.csv", "without")),
    "unparseable date": (
        [edit("opportunities", 2, "created_date", "2024-13-45")],
        ("opportunities.csv", "cannot be read as a date"),
    ),
    "unparseable number": (
        [edit("opportunities", 3, "amount", "12,5 EUR")],
        ("opportunities.csv", "cannot be read as a number"),
    ),
    "unparseable flag": (
        [edit("accounts", 1, "locked", "maybe")],
        ("accounts.csv", "true/false flag"),
    ),
    "date out of range": (
        [edit("opportunities", 4, "close_date", "9999-12-31")],
        ("opportunities.csv", "outside the dates"),
    ),
    "optional date out of range (warning)": (
        [edit("reps", 2, "hire_date", "9999-12-31")],
        ("reps.csv", "read as no date"),
    ),
    "not a finite number": (
        [edit("opportunities", 2, "amount", "inf")],
        ("opportunities.csv", "not a finite number"),
    ),
    # per table: domain rules
    "duplicate rep": ([edit("reps", 2, "rep_id", "R1")], ("reps.csv", "duplicated id")),
    "duplicate deal": ([edit("opportunities", 2, "opp_id", "O1")], ("opportunities.csv", "dupl")),
    "duplicate activity": ([edit("activities", 3, "activity_id", "A1")], ("activities.csv", "dup")),
    "duplicate lead": ([edit("leads", 3, "lead_id", "L1")], ("leads.csv", "duplicated id")),
    "duplicate account": ([edit("accounts", 2, "account_id", "Acme")], ("accounts.csv", "dup")),
    "negative amount": ([edit("opportunities", 2, "amount", "-5")], ("opportunities.csv", ">= 0")),
    "unknown stage": ([edit("opportunities", 1, "stage", "Maybe")], ("opportunities.csv", "stage")),
    "unknown stage beside a close reason": (
        [
            settings(lost_reasons=["Lost - Price"]),
            edit("opportunities", 2, "stage", "Lost - Price"),
            edit("opportunities", 4, "stage", "Maybe"),
        ],
        ("opportunities.csv", "(or a close reason: Lost - Price)"),
    ),
    "unknown history stage": (
        [edit("stage_history", 2, "stage", "Maybe")],
        ("stage_history.csv", "stage must be"),
    ),
    "unknown status": (
        [column("opportunities", "status", ["won", "lost", "won", "open", "won", "maybe"])],
        ("opportunities.csv", "status must be"),
    ),
    "status disagrees": (
        [column("opportunities", "status", ["open", "lost", "won", "open", "won", "open"])],
        ("opportunities.csv", "disagrees"),
    ),
    "negative duration": (
        [edit("activities", 1, "duration_minutes", "-1")],
        ("activities.csv", "duration_minutes must be"),
    ),
    "quota zero": ([edit("quotas", 1, "quota", "0")], ("quotas.csv", "quota must be > 0")),
    "negative potential": ([edit("accounts", 2, "potential", "-1")], ("accounts.csv", "potential")),
    "negative workload": ([edit("accounts", 2, "workload", "-1")], ("accounts.csv", "workload")),
    "latitude": ([edit("accounts", 1, "latitude", "95")], ("accounts.csv", "latitude must")),
    "longitude": ([edit("accounts", 1, "longitude", "-190")], ("accounts.csv", "longitude must")),
    "share above 1": (
        [edit("splits", 3, "share", "1.5")],
        ("splits.csv", "share must be in (0, 1]"),
    ),
    "share zero": ([edit("splits", 4, "share", "0")], ("splits.csv", "share must be in (0, 1]")),
    "unknown split type": ([edit("splits", 4, "type", "bonus")], ("splits.csv", "type must be")),
    "probability": (
        [column("opportunities", "probability", ["", "", "", "1.5", "", "0.2"])],
        ("opportunities.csv", "probability outside 0-1"),
    ),
    "unknown pipeline": (
        [*PIPELINES, edit("opportunities", 4, "pipeline", "Old")],
        ("opportunities.csv", "pipeline that dataset.yml does not list"),
    ),
    "empty pipeline": (
        [*PIPELINES, edit("opportunities", 4, "pipeline", "")],
        ("opportunities.csv", "pipeline that dataset.yml does not list"),
    ),
    "stage outside its pipeline": (
        [
            settings(open_stages=None, pipelines={"New": ["Prospecting"], "Big": ["Proposal"]}),
            column("opportunities", "pipeline", ["New"] * 6),
        ],
        ("opportunities.csv", "not one of its pipeline's stages"),
    ),
    "no pipeline column": (
        [settings(open_stages=None, pipelines={"New": ["Prospecting", "Proposal", "Negotiation"]})],
        ("opportunities.csv", "no pipeline column"),
    ),
    # across tables
    "unknown rep of a deal": ([edit("opportunities", 5, "rep_id", "R9")], ("opportunities", "rep")),
    "unknown rep of an activity": ([edit("activities", 1, "rep_id", "R999")], ("activities", "")),
    "unknown rep of a quota": ([edit("quotas", 2, "rep_id", "R9")], ("quotas.csv", "rep_id")),
    "unknown rep of a lead": ([edit("leads", 2, "rep_id", "R9")], ("leads.csv", "not in reps")),
    "unknown rep of an account": ([edit("accounts", 2, "rep_id", "R9")], ("accounts.csv", "reps")),
    "unknown rep of a split": ([edit("splits", 1, "rep_id", "R9")], ("splits.csv", "not in reps")),
    "unknown account": (
        [edit("opportunities", 4, "account", "Wayne")],
        ("opportunities.csv", "account that is not an account_id"),
    ),
    "unknown account and rep": (
        [edit("opportunities", 4, "account", "Wayne"), edit("opportunities", 2, "rep_id", "R9")],
        ("opportunities.csv", "account that is not an account_id"),
    ),
    "history of unknown deal": (
        [edit("stage_history", 1, "opp_id", "O999")],
        ("stage_history.csv", "not in opportunities"),
    ),
    "history stage outside its deal's pipeline": (
        [
            settings(open_stages=None, pipelines={"New": ["Prospecting"], "Big": ["Proposal"]}),
            column("opportunities", "pipeline", ["New", "New", "New", "Big", "New", "New"]),
            column(
                "opportunities",
                "stage",
                [
                    "Closed Won",
                    "Closed Lost",
                    "Closed Won",
                    "Proposal",
                    "Closed Won",
                    "Prospecting",
                ],
            ),  # fmt: skip
        ],
        ("stage_history.csv", "stage changes in a stage that is not one of its pipeline's"),
    ),
    "split of unknown deal": (
        [edit("splits", 1, "opp_id", "O999"), edit("splits", 2, "share", "1")],
        ("splits.csv", "split of 1 opportunity not in opportunities"),
    ),
    "revenue shares not summing to 1": (
        [edit("splits", 2, "share", "0.3")],
        ("splits.csv", "revenue shares do not sum to 1"),
    ),
    "revenue shares of an unknown deal": (
        [append("splits", opp_id="O999", rep_id="R1", share="0.5", type="revenue")],
        ("splits.csv", "revenue shares do not sum to 1"),
    ),
    "a rep twice on a deal": (
        [append("splits", opp_id="O3", rep_id="R1", share="0.1", type="overlay")],
        ("splits.csv", "repeating a rep"),
    ),
    "closed before created": (
        [edit("opportunities", 1, "close_date", "2020-01-01")],
        ("opportunities.csv", "closed before it was created"),
    ),
    "lead converted before created": (
        [edit("leads", 1, "converted_date", "2023-12-01")],
        ("leads.csv", "converted before it was created"),
    ),
    "quota period reversed": (
        [edit("quotas", 1, "period_end", "2023-12-31")],
        ("quotas.csv", "period_end is before"),
    ),
    "quota periods overlapping": (
        [edit("quotas", 2, "period_start", "2024-03-01")],
        ("quotas.csv", "overlapping"),
    ),
    # warnings (reported when there is no error)
    "stale open deal (warning)": (
        [edit("opportunities", 4, "close_date", "2023-01-01")],
        ("opportunities.csv", "open deal"),
    ),
    "rep without deals (warning)": (
        [append("reps", rep_id="R4", rep_name="Barbara Liskov", team="South")],
        ("reps.csv", "with no deals"),
    ),
    "activity of unknown deal (warning)": (
        [edit("activities", 1, "opp_id", "O999")],
        ("activities.csv", "pointing at an opportunity"),
    ),
    "lead of unknown deal (warning)": (
        [edit("leads", 3, "opp_id", "O999")],
        ("leads.csv", "pointing at an opportunity"),
    ),
}


def base(folder: Path) -> Path:
    """The base dataset (mini, accounts, splits) in ``folder``."""
    shutil.copytree(MINI, folder)
    (folder / "accounts.csv").write_text(ACCOUNTS)
    (folder / "splits.csv").write_text(SPLITS)
    return folder


def broken(folder: Path, case: str) -> Path:
    """The base dataset in ``folder``, with the edits of ``case``."""
    base(folder)
    for change in CASES[case][0]:
        change(folder)
    return folder


def as_parquet(folder: Path, out: Path) -> Path:
    """The CSV tables of ``folder`` typed as the loader types them, written as Parquet."""
    out.mkdir()
    shutil.copy(folder / "dataset.yml", out / "dataset.yml")
    for path in folder.glob("*.csv"):
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        coerce_table(path.stem, raw).to_parquet(out / f"{path.stem}.parquet", index=False)
    return out


def test_the_base_dataset_is_clean(tmp_path):
    folder = base(tmp_path / "ds")
    assert load_checked(folder)[1] == []
    assert engine_problems(open_tables(folder, validate=False)) == []
    for parquet in (as_parquet(folder, tmp_path / "p"),):
        assert engine_problems(open_tables(parquet, validate=False)) == []


def test_the_probe_in_slices_finds_nothing_on_clean_data(tmp_path, monkeypatch):
    # the probe's counts only decide which rows to fetch: a slice joined against the wrong
    # deals would count false hits and fetch for nothing, which the comparisons of problems
    # cannot see
    from spmlib.engine.validate import _probe

    folder = base(tmp_path / "ds")
    tables = _sliced(as_parquet(folder, tmp_path / "p"), monkeypatch)
    assert {name: _probe(tables, name) for name in tables.info} == {n: set() for n in tables.info}


@pytest.mark.parametrize("case", list(CASES))
def test_the_engine_reports_what_the_loader_reports(tmp_path, case):
    folder = broken(tmp_path / "ds", case)
    file, words = CASES[case][1]
    _ds, expected = load_checked(folder)
    assert any(p.file.startswith(file) and words in p.rule for p in expected), expected
    assert engine_problems(open_tables(folder, validate=False)) == expected


@pytest.mark.parametrize("case", list(CASES))
def test_the_engine_reports_what_the_loader_reports_on_parquet(tmp_path, case):
    folder = as_parquet(broken(tmp_path / "ds", case), tmp_path / "p")
    _ds, expected = load_checked(folder)  # (a value the Parquet types cannot hold is missing)
    assert engine_problems(open_tables(folder, validate=False)) == expected


@pytest.mark.parametrize("case", [c for c in CASES if c != "missing table"])
def test_the_engine_reports_the_same_in_slices(tmp_path, case, monkeypatch):
    # a table of 100 M deals is checked in slices of keys (its duplicate ids) and of deals
    # (the lookups of the rows referring to deals); here slices of one key, so every table is
    # split and every case crosses slices
    folder = as_parquet(broken(tmp_path / "ds", case), tmp_path / "p")
    _ds, expected = load_checked(folder)
    tables = _sliced(folder, monkeypatch)
    assert engine_problems(tables) == expected


def _sliced(folder: Path, monkeypatch):
    """``folder`` opened in DuckDB with slices of one key."""
    import spmlib.engine.embedded as embedded
    import spmlib.engine.validate as engine_validate

    monkeypatch.setattr(embedded, "SLICE_ROWS", 1)
    monkeypatch.setattr(engine_validate, "DISTINCT_SCALE", 1)
    tables = open_tables(folder, validate=False)
    if tables.has("activities", "activity_id"):
        assert len(tables.engine.key_slices("activities", "activity_id")) > 2
    return tables


# --- the list of cases is complete ---------------------------------------------------------------

#: Functions of the loader's validation whose problems are about dataset.yml, not the data.
CONFIG_RULES = {"check_config", "_unknown_keys", "check_stage_settings", "_names"}


def _sites() -> set[tuple[str, int]]:
    """(file, line) of every ``Problem(`` call in the loader's validation modules, outside
    :data:`CONFIG_RULES` (so a function added there later is covered too)."""
    out = set()
    for module in (v, vs):
        file = inspect.getsourcefile(module)
        tree = ast.parse(Path(file).read_text())
        for func in tree.body:
            if not isinstance(func, ast.FunctionDef) or func.name in CONFIG_RULES:
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Problem":
                    out.add((file, node.lineno))
    return out


def test_every_rule_of_the_loader_has_a_case(tmp_path, monkeypatch):
    built: set[tuple[str, int]] = set()
    rules: list[str] = []
    for module in (v, vs):
        original = module.Problem

        def record(*args, _original=original, **kwargs):
            caller = sys._getframe(1)
            built.add((caller.f_code.co_filename, caller.f_lineno))
            problem = _original(*args, **kwargs)
            rules.append(problem.rule)
            return problem

        monkeypatch.setattr(module, "Problem", record)
    for i, case in enumerate(CASES):
        load_checked(broken(tmp_path / f"ds{i}", case))
    missing = _sites() - built
    assert not missing, f"rules of the loader without a case here (file, line): {sorted(missing)}"
    config = DatasetConfig.from_dict({"open_stages": ["A"]})
    for name in TABLES:
        for col in v._schema(name, config).columns.values():
            for check in col.checks:
                assert any(r.startswith(check.error) for r in rules), (name, check.error)
