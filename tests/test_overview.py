"""The data overview: summary tables on hand-made data, and the notebook run for real."""

from __future__ import annotations

import pandas as pd
import papermill as pm
import pytest
import yaml

import spmlib
from spmlib.config import KERNEL_NAME, NOTEBOOKS_DIR
from spmlib.io.overview import monthly_volumes, overview_narrative, table_summary
from spmlib.reports.notebook import read_glued


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "reps.csv").write_text("rep_id,rep_name,team\na,Ann,North\nb,Bob,South\n")
    (tmp_path / "opportunities.csv").write_text(
        "opp_id,rep_id,created_date,close_date,stage,amount\n"
        "1,a,2026-01-01,2026-01-11,Won,100\n"
        "2,a,2026-01-05,2026-02-20,Lost,50\n"
        "3,b,2026-02-10,2026-03-01,Open,300\n"
    )
    (tmp_path / "activities.csv").write_text(
        "activity_id,rep_id,type,date\nx1,a,call,2026-01-02\nx2,a,call,2026-01-03\nx3,b,email,2026-02-11\n"
    )
    (tmp_path / "dataset.yml").write_text(
        yaml.safe_dump({"open_stages": ["Open"], "won_stage": "Won", "lost_stage": "Lost"})
    )
    return tmp_path


def test_table_summary_counts_rows_and_dates(folder):
    summary = table_summary(spmlib.load(folder)).set_index("table")
    assert summary.loc["opportunities", "rows"] == 3
    assert summary.loc["opportunities", "first_date"] == pd.Timestamp("2026-01-01")
    assert summary.loc["activities", "last_date"] == pd.Timestamp("2026-02-11")
    assert summary.loc["leads", "rows"] == 0


def test_monthly_volumes_by_table(folder):
    vol = monthly_volumes(spmlib.load(folder)).set_index(["table", "month"])["rows"]
    # created: Jan 2 (opps 1, 2), Feb 1 (opp 3); won by close date: Jan 1; lost: Feb 1; calls: Jan 2.
    assert vol[("opportunities", pd.Timestamp("2026-01-01"))] == 2
    assert vol[("won", pd.Timestamp("2026-01-01"))] == 1
    assert vol[("lost", pd.Timestamp("2026-02-01"))] == 1
    assert vol[("activities", pd.Timestamp("2026-01-01"))] == 2


def test_narrative_states_counts(folder):
    text = overview_narrative(spmlib.load(folder))
    assert (
        "**2 reps**" in text and "**3 opportunities**" in text and "1 won, 1 lost, 1 open" in text
    )


@pytest.mark.slow
def test_overview_notebook_runs_for_a_team(folder, tmp_path):
    out = tmp_path / "overview.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS_DIR / "data_overview.ipynb"),
        str(out),
        parameters={"data": str(folder), "team": "North"},
        kernel_name=KERNEL_NAME,
        progress_bar=False,
    )
    glued = read_glued(out)
    # Team North is rep a only: opps 1 and 2, two calls.
    assert glued["rows"]["opportunities"] == 2 and glued["rows"]["activities"] == 2
    assert glued["title"] == "Data overview: team North"
    assert "Bob" not in out.read_text()
