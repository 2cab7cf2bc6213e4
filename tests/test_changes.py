"""What changed between two extracts: every kind of change on hand-made extracts (expected rows
worked out by hand from the deal list below), the summary, and ``spm changes``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.funnel.changes import CHANGE_COLUMNS, CHANGES, changes_summary, extract_changes
from spmlib.funnel.velocity import time_in_stage
from spmlib.io.schema import Dataset, DatasetConfig
from spmlib.io.snapshot import snapshot_dataset

D = pd.Timestamp
BEFORE, NOW = D("2026-02-06"), D("2026-02-13")  # a Friday and the Friday after
# Calendar fiscal year: this quarter (of NOW) is 2026-01-01 .. 2026-03-31.
CFG = DatasetConfig(("Lead", "Meet", "Offer"), "Won", "Lost")

# opp_id: (rep, account, (stage, status, close date, amount) before, the same now); None =
# absent from that extract.
DEALS = {
    "N1": ("a", "A1", None, ("Lead", "open", "2026-03-20", 50.0)),  # new
    "N2": ("a", "A1", None, ("Won", "won", "2026-02-12", 80.0)),  # new, arrived won
    "W1": ("a", "A2", ("Offer", "open", "2026-02-20", 100.0), ("Won", "won", "2026-02-10", 100.0)),
    "L1": ("b", "A3", ("Lead", "open", "2026-03-01", 70.0), ("Lost", "lost", "2026-02-12", 70.0)),
    "A1": ("b", "A3", ("Lead", "open", "2026-03-10", 60.0), ("Offer", "open", "2026-03-10", 60.0)),
    "B1": ("a", "A2", ("Offer", "open", "2026-03-05", 90.0), ("Lead", "open", "2026-03-05", 90.0)),
    "R1": ("b", "A3", ("Won", "won", "2026-02-01", 40.0), ("Offer", "open", "2026-03-15", 40.0)),
    # slipped: due this quarter, now after it; S2 was overdue
    "S1": ("a", "A1", ("Lead", "open", "2026-03-20", 30.0), ("Lead", "open", "2026-04-10", 30.0)),
    "S2": ("b", "A3", ("Lead", "open", "2026-01-30", 35.0), ("Lead", "open", "2026-04-15", 35.0)),
    "P1": ("a", "A1", ("Lead", "open", "2026-04-20", 25.0), ("Lead", "open", "2026-03-25", 25.0)),
    "C1": ("b", "A3", ("Lead", "open", "2026-03-12", 200.0), ("Lead", "open", "2026-03-12", 250.0)),
    "X1": ("a", "A2", ("Meet", "open", "2026-03-30", 45.0), ("Meet", "open", "2026-03-30", 45.0)),
    "Y1": ("b", "A3", ("Meet", "open", "2026-03-30", 55.0), ("Meet", "open", "2026-03-30", 55.0)),
    "D1": ("a", "A1", ("Offer", "open", "2026-03-02", 10.0), ("Offer", "open", "2026-03-02", 10.0)),
    "D2": ("a", "A1", ("Offer", "open", "2026-03-03", 11.0), ("Offer", "open", "2026-03-03", 11.0)),
    "Q1": ("b", "A3", ("Lead", "open", "2026-03-10", 15.0), ("Lead", "open", "2026-03-17", 15.0)),
    "M1": ("a", "A2", ("Lead", "open", "2026-03-10", 65.0), None),  # removed
}
# Stage history of the current extract (the previous one holds the rows up to BEFORE, and
# the removed M1's). Completed stays in Meet: W1, D1, D2 10 days each, so Meet's p90 is 10 days:
# X1 (in Meet since 30 Jan) sat 7 days by BEFORE and 14 by NOW: newly stale; Y1 (since 8 Jan)
# was stale already. Every other open deal sits in Lead or Offer shorter than those stages' p90.
HISTORY = {
    "N1": [("Lead", "2026-02-11")],
    "N2": [("Lead", "2026-02-07"), ("Won", "2026-02-12")],
    "W1": [("Lead", "2026-01-02"), ("Meet", "2026-01-05"), ("Offer", "2026-01-15"),
           ("Won", "2026-02-10")],
    "L1": [("Lead", "2026-02-02"), ("Lost", "2026-02-12")],
    "A1": [("Lead", "2026-01-20"), ("Offer", "2026-02-10")],
    "B1": [("Lead", "2026-01-05"), ("Offer", "2026-01-26"), ("Lead", "2026-02-09")],
    "R1": [("Lead", "2026-01-03"), ("Offer", "2026-01-10"), ("Won", "2026-02-01"),
           ("Offer", "2026-02-12")],
    "S1": [("Lead", "2026-02-02")],
    "S2": [("Lead", "2026-02-02")],
    "P1": [("Lead", "2026-02-02")],
    "C1": [("Lead", "2026-02-02")],
    "X1": [("Lead", "2026-01-28"), ("Meet", "2026-01-30")],
    "Y1": [("Lead", "2026-01-05"), ("Meet", "2026-01-08")],
    "D1": [("Lead", "2026-01-20"), ("Meet", "2026-01-22"), ("Offer", "2026-02-01")],
    "D2": [("Lead", "2026-01-21"), ("Meet", "2026-01-24"), ("Offer", "2026-02-03")],
    "Q1": [("Lead", "2026-02-02")],
    "M1": [("Lead", "2026-02-02")],
}  # fmt: skip
REPS = pd.DataFrame({"rep_id": ["a", "b"], "rep_name": ["Ann", "Bo"], "team": ["North", "South"]})
ACCOUNTS = pd.DataFrame(
    {
        "account_id": ["A1", "A2", "A3"],
        "account_name": ["Acme", "=Evil()", "Cobalt"],
        "rep_id": ["a", "a", "b"],
        "potential": [1.0, 1.0, 1.0],
    }
)


def _extract(side: int, as_of: pd.Timestamp) -> Dataset:
    rows = []
    for opp_id, (rep, account, *states) in DEALS.items():
        state = states[side]
        if state is None:
            continue
        stage, status, close, amount = state
        created = D(HISTORY[opp_id][0][1])
        rows.append((opp_id, rep, account, created, D(close), stage, amount, status))
    opps = pd.DataFrame(
        rows,
        columns=["opp_id", "rep_id", "account", "created_date", "close_date", "stage", "amount",
                 "status"],
    )  # fmt: skip
    kept = set(opps["opp_id"])
    hist = pd.DataFrame(
        [(o, s, D(d)) for o, steps in HISTORY.items() for s, d in steps if o in kept],
        columns=["opp_id", "stage", "entered_date"],
    )
    hist = hist[hist["entered_date"] <= as_of].reset_index(drop=True)
    cfg = DatasetConfig(CFG.open_stages, "Won", "Lost", as_of=as_of)
    return Dataset(cfg, REPS, opps, hist, accounts=ACCOUNTS)


@pytest.fixture(scope="module")
def extracts() -> tuple[Dataset, Dataset]:
    return _extract(0, BEFORE), _extract(1, NOW)


def test_the_fixture_is_what_the_comments_say(extracts):
    _, now = extracts
    p90 = time_in_stage(now.opportunities, now.stage_history, config=now.config, as_of=NOW)
    assert p90.set_index("stage").loc["Meet", "p90_days"] == 10.0


def test_every_kind_of_change(extracts):
    before, now = extracts
    changes = extract_changes(before, now)
    assert list(changes.columns) == CHANGE_COLUMNS
    listed = list(zip(changes["change"], changes["opp_id"], strict=True))
    # in CHANGES order, the larger amount first within a kind
    assert listed == [
        ("new", "N2"),  # 80
        ("new", "N1"),  # 50
        ("won", "W1"),  # 100
        ("won", "N2"),  # 80: arrived won
        ("lost", "L1"),
        ("advanced", "A1"),  # Lead -> Offer
        ("moved back", "B1"),  # Offer -> Lead (90)
        ("moved back", "R1"),  # won, then open again (40)
        ("slipped", "S2"),  # overdue 30 Jan -> 15 Apr (35)
        ("slipped", "S1"),  # 20 Mar -> 10 Apr (30)
        ("pulled in", "P1"),  # 20 Apr -> 25 Mar
        ("amount changed", "C1"),  # 200 -> 250
        ("newly stale", "X1"),
        ("removed", "M1"),
    ]
    # every kind is covered; unchanged deals (X1 apart, Y1, D1, D2, Q1 moved within the
    # quarter) are not listed
    assert set(changes["change"]) == set(CHANGES)
    assert not set(changes["opp_id"]) & {"Y1", "D1", "D2", "Q1"}
    row = changes.set_index(["change", "opp_id"]).loc[("slipped", "S2")]
    assert row["rep_name"] == "Bo" and row["team"] == "South" and row["account"] == "Cobalt"
    assert (row["stage_before"], row["stage_after"]) == ("Lead", "Lead")
    assert (row["close_date_before"], row["close_date_after"]) == (D("2026-01-30"),
                                                                  D("2026-04-15"))  # fmt: skip
    new = changes.set_index(["change", "opp_id"]).loc[("new", "N1")]
    assert pd.isna(new["stage_before"]) and pd.isna(new["amount_before"])
    assert new["amount_after"] == 50.0
    gone = changes.set_index(["change", "opp_id"]).loc[("removed", "M1")]
    assert gone["rep_name"] == "Ann" and gone["account"] == "=Evil()"
    assert pd.isna(gone["stage_after"]) and gone["amount_before"] == 65.0


def test_same_extract_twice_has_no_changes(extracts):
    _, now = extracts
    assert extract_changes(now, now).empty


def test_without_stage_history_nothing_is_newly_stale(extracts):
    before, now = extracts
    bare = [Dataset(d.config, d.reps, d.opportunities, accounts=d.accounts) for d in extracts]
    changes = extract_changes(*bare)
    assert "newly stale" not in set(changes["change"])
    assert len(changes) == len(extract_changes(before, now)) - 1


def test_changes_summary_counts_and_amounts(extracts):
    summary = changes_summary(extract_changes(*extracts))
    totals = summary[summary["level"] == "all"].set_index("change")
    assert list(totals.index) == list(CHANGES)
    # won: W1 100 + N2 80; removed counts its amount before (M1 65) and subtracts it
    assert totals.loc["won", ["deals", "amount"]].tolist() == [2, 180.0]
    assert totals.loc["removed", ["deals", "amount", "amount_change"]].tolist() == [1, 65.0, -65.0]
    # new deals add their amount; C1 was re-quoted 200 -> 250
    assert totals.loc["new", "amount_change"] == 130.0
    assert totals.loc["amount changed", "amount_change"] == 50.0
    ann = summary[(summary["level"] == "rep") & (summary["rep_name"] == "Ann")]
    # Ann: N1, N2 new; W1, N2 won; B1 moved back; S1 slipped; P1 pulled in; X1; M1 removed
    assert dict(zip(ann["change"], ann["deals"], strict=True)) == {
        "new": 2, "won": 2, "moved back": 1, "slipped": 1, "pulled in": 1, "newly stale": 1,
        "removed": 1}  # fmt: skip
    assert summary["deals"].dtype == np.int64


def test_spm_changes(tmp_path, extracts):
    before, now = extracts
    prev, cur = snapshot_dataset(before, tmp_path / "prev"), snapshot_dataset(now, tmp_path / "cur")
    runner = CliRunner()
    result = runner.invoke(app, ["changes", str(prev), str(cur), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 14 and rows[0]["change"] == "new" and rows[0]["opp_id"] == "N2"
    south = runner.invoke(app, ["changes", str(prev), str(cur), "--team", "South", "--format",
                                "csv"])  # fmt: skip
    lines = south.stdout.strip().splitlines()
    assert lines[0] == ",".join(CHANGE_COLUMNS)
    assert {line.split(",")[1] for line in lines[1:]} == {"L1", "A1", "R1", "S2", "C1"}
    ann = runner.invoke(app, ["changes", str(prev), str(cur), "--rep", "a", "--format", "csv"])
    # a formula in the data is escaped for spreadsheets
    assert "'=Evil()" in ann.stdout and ",=Evil()" not in ann.stdout
    # to a pipe (no $COLUMNS): the table is printed whole
    table = runner.invoke(app, ["changes", str(prev), str(cur)], env={"COLUMNS": None})
    assert table.exit_code == 0 and "Per change" in table.stdout and "Newly" not in table.stdout
    assert "newly stale" in table.stdout and "Amount now" in table.stdout
    bad = runner.invoke(app, ["changes", str(cur), str(prev)])
    assert bad.exit_code == 1 and "give the earlier extract first" in bad.stderr
    nobody = runner.invoke(app, ["changes", str(prev), str(cur), "--team", "West"])
    assert nobody.exit_code == 1 and "teams: North, South" in nobody.stderr
    assert runner.invoke(app, ["changes", "--help"]).exit_code == 0
