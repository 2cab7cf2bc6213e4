"""The pay statement and plan comparison builders on the sample: privacy (a rep sees only their
own pay, a team summary only the team), escaping, and the notebooks run for real."""

from __future__ import annotations

import json
from dataclasses import replace

import papermill as pm
import pytest

import spmlib
from spmlib.config import NOTEBOOKS_DIR
from spmlib.reports.comp import build_comp_plan_report, build_comp_statement_report
from spmlib.reports.notebook import read_glued
from spmlib.reports.params import CompPlanParams, CompStatementParams
from spmlib.reports.scope import resolve_scope


@pytest.fixture(scope="module")
def ds():
    return spmlib.load(None)


def _text(report) -> str:
    parts = [report.title, *report.headline]
    for s in report.sections:
        parts.append(s.text)
        if s.table is not None:
            parts.append(s.table.to_csv())
    return "\n".join(parts)


def test_a_rep_statement_shows_only_that_rep(ds, tmp_path):
    params = CompStatementParams(period="FY2027-Q3", outputs=str(tmp_path))
    report = build_comp_statement_report(ds, resolve_scope(ds, rep_id="R002"), params)
    text = _text(report)
    others = ds.reps.loc[ds.reps["rep_id"] != "R002", "rep_name"]
    assert not [n for n in others if n in text]
    assert "Olivia Yilmaz" in report.headline[0]
    titles = [s.title for s in report.sections]
    assert titles[:5] == [
        "Earnings by tier",
        "Your deals",
        "SPIFs and clawbacks",
        "Draws and balance",
        "Adjustments",
    ]
    assert "If your open deals close" in titles and report.values["what_if_cents"] > 0
    assert report.sections[0].figure is not None
    # the deals listed are the rep's credits: own deals and their split shares
    deals = set(report.sections[1].table["deal"])
    mine = set(ds.opportunities.loc[ds.opportunities["rep_id"] == "R002", "opp_id"])
    shared = set(ds.splits.loc[ds.splits["rep_id"] == "R002", "opp_id"])
    assert deals and deals <= mine | shared


def test_a_team_summary_shows_only_the_team(ds, tmp_path):
    params = CompStatementParams(period="FY2027-Q3", outputs=str(tmp_path))
    report = build_comp_statement_report(ds, resolve_scope(ds, team="Atlas"), params)
    table = report.sections[0].table
    atlas = set(ds.reps.loc[ds.reps["team"] == "Atlas", "rep_name"])
    assert set(table["rep"]) == atlas and report.values["reps"] == 8


def test_names_from_data_are_escaped(ds, tmp_path):
    reps = ds.reps.copy()
    reps.loc[reps["rep_id"] == "R002", "rep_name"] = "<img src=x onerror=alert(1)>"
    hostile = replace(ds, reps=reps)
    params = CompStatementParams(period="FY2027-Q3", outputs=str(tmp_path))
    report = build_comp_statement_report(hostile, resolve_scope(hostile, rep_id="R002"), params)
    assert "&lt;img src=x onerror=alert(1)&gt;" in report.headline[0]
    assert "<img" not in "".join(report.headline)


def test_plan_report_compares_every_plan(ds):
    report = build_comp_plan_report(ds, resolve_scope(ds), CompPlanParams(n_sims=300))
    history = {r["plan"]: r for r in report.values["history"]}
    assert set(history) == {"AE FY2027", "AE FY2027 retroactive", "AE FY2027 flat"}
    # same tiers paid retroactively cost more than graduated on the same results
    assert history["AE FY2027 retroactive"]["cost_cents"] > history["AE FY2027"]["cost_cents"]
    ahead = report.values["forecast"]
    assert all(r["cost_p10"] <= r["cost_p50"] <= r["cost_p90"] for r in ahead)
    assert all(0 < r["share_p50"] < 0.5 for r in ahead)


@pytest.mark.slow
@pytest.mark.parametrize("scope", [{"rep_id": "R008"}, {"team": "Borealis"}])
def test_statement_notebook_runs(tmp_path, scope):
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS_DIR / "comp_statement.ipynb"),
        str(out),
        parameters={**scope, "outputs": str(tmp_path / "runs")},
        kernel_name="spm",
        progress_bar=False,
    )
    glued = read_glued(out)
    assert glued["title"].startswith(
        "Pay statement: Xenia Silva" if "rep_id" in scope else "Team pay summary: team Borealis"
    )
    assert glued["values"]["payout_cents"] > 0


@pytest.mark.slow
def test_plan_notebook_runs(tmp_path):
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS_DIR / "comp_plan.ipynb"),
        str(out),
        parameters={"n_sims": 200},
        kernel_name="spm",
        progress_bar=False,
    )
    glued = read_glued(out)
    assert glued["title"] == "Compensation plans compared"
    assert len(json.loads(json.dumps(glued["values"]))["history"]) == 3
