"""The pay statement and plan comparison builders on the sample: the numbers tie out with the
run to the cent, privacy (a rep sees only their own pay, a team summary only the team),
escaping, tables written for people, and the notebooks run for real."""

from __future__ import annotations

import json
from dataclasses import replace

import papermill as pm
import pytest
from report_support import examine, leaks

import spmlib
from spmlib.comp.engine import load_inputs
from spmlib.comp.ledger import RunStore
from spmlib.comp.payrun import pay_run, store_run
from spmlib.config import NOTEBOOKS_DIR, PARAMS_DIR
from spmlib.exceptions import ParameterError
from spmlib.reports.comp_plan import build_comp_plan_report
from spmlib.reports.comp_statement import build_comp_statement_report, pay_money
from spmlib.reports.notebook import read_glued
from spmlib.reports.params import CompPlanParams, CompStatementParams
from spmlib.reports.report import Figure, Table
from spmlib.reports.scope import resolve_scope


@pytest.fixture(scope="module")
def ds():
    return spmlib.load(None)


@pytest.fixture(scope="module")
def run(ds, tmp_path_factory):
    """The draft run the statements show (FY2027-Q3 on the sample), worked out once."""
    inputs = load_inputs(ds, PARAMS_DIR / "comp")
    return pay_run(inputs, "FY2027-Q3", RunStore(tmp_path_factory.mktemp("runs")), verify=False)


def _params(tmp_path) -> CompStatementParams:
    return CompStatementParams(period="FY2027-Q3", outputs=str(tmp_path))


def _section(report, title):
    return next(s for s in report.sections if s.title == title)


def test_pay_money_is_to_the_cent():
    # 1,234,567 cents = 12,345.67 units; negative amounts keep their sign
    assert pay_money(1234567, "USD") == "$12,345.67"
    assert pay_money(-5, "EUR") == "-€0.05"


def test_a_rep_statement_shows_only_that_rep(ds, run, tmp_path):
    report = build_comp_statement_report(ds, resolve_scope(ds, rep_id="R002"), _params(tmp_path))
    text, problems = examine(report)
    assert problems == []
    assert leaks(text, ds.reps, {"R002"}) == []
    assert report.title == "Pay statement: Olivia Yilmaz"
    assert "Olivia Yilmaz" in report.headline[0]
    mine = run.statements[run.statements["rep_id"] == "R002"]
    # the total is the sum of the rep's statements in the run, to the cent
    assert report.values["payout_cents"] == int(mine["payout_cents"].sum())
    assert pay_money(int(mine["payout_cents"].sum()), "USD") in report.headline[0]
    titles = [s.title for s in report.sections]
    assert titles[:5] == [
        "Earnings by tier",
        "Your deals",
        "SPIFs and clawbacks",
        "Draws and balance",
        "Adjustments",
    ]
    assert "If your open deals close" in titles and report.values["what_if_cents"] > 0
    assert isinstance(_section(report, "Earnings by tier").blocks[0], Figure)
    # the deals listed are the rep's credits: own deals and their split shares
    deals = _section(report, "Your deals").tables[0].frame
    owned = set(ds.opportunities.loc[ds.opportunities["rep_id"] == "R002", "opp_id"])
    shared = set(ds.splits.loc[ds.splits["rep_id"] == "R002", "opp_id"])
    assert len(deals) and set(deals["deal"]) <= owned | shared
    credits = run.lines[(run.lines["rep_id"] == "R002") & (run.lines["kind"] == "credit")]
    assert round(deals["credit"].sum(), 2) == int(credits["amount_cents"].sum()) / 100
    # every period's payout column agrees with the run, to the cent
    balance = _section(report, "Draws and balance").tables[0].frame
    assert list((balance["payout"] * 100).round().astype(int)) == list(mine["payout_cents"])
    assert report.method.title == "How this is worked out"
    assert report.method.tables[0].frame["passed"].all()
    # the run's checks show passed/failed only: no company total reaches a rep
    company = int(run.statements["payout_cents"].sum())
    assert f"{company / 100:,.2f}" not in text


def test_a_team_summary_shows_only_the_team(ds, run, tmp_path):
    report = build_comp_statement_report(ds, resolve_scope(ds, team="Atlas"), _params(tmp_path))
    text, problems = examine(report)
    assert problems == []
    atlas = ds.reps[ds.reps["team"] == "Atlas"]
    assert leaks(text, ds.reps, set(atlas["rep_id"])) == []
    assert report.title == "Team pay summary: team Atlas"
    table = _section(report, "Pay by rep and period").tables[0].frame
    assert set(table["rep_name"]) == set(atlas["rep_name"]) and report.values["reps"] == 8
    team_pay = run.statements.loc[run.statements["team"] == "Atlas", "payout_cents"].sum()
    assert report.values["payout_cents"] == int(team_pay)


def test_names_from_data_are_escaped(ds, tmp_path):
    reps = ds.reps.copy()
    reps.loc[reps["rep_id"] == "R002", "rep_name"] = "<img src=x onerror=alert(1)>"
    hostile = replace(ds, reps=reps)
    report = build_comp_statement_report(
        hostile, resolve_scope(hostile, rep_id="R002"), _params(tmp_path)
    )
    assert "&lt;img src=x onerror=alert(1)&gt;" in report.headline[0]
    assert "<img" not in "".join(report.headline)


def test_a_rep_with_no_pay_gets_a_statement_saying_so(ds, tmp_path):
    # R002 is not on any plan in this folder's assignments: nobody is
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "ae.yml").write_text((PARAMS_DIR / "comp" / "ae.yml").read_text())
    (plans / "assignments.csv").write_text(
        "rep_id,plan,valid_from,valid_to,target_incentive\nR001,AE FY2027,2026-02-01,,\n"
    )
    params = CompStatementParams(period="FY2027-Q3", plans=str(plans), outputs=str(tmp_path))
    report = build_comp_statement_report(ds, resolve_scope(ds, rep_id="R002"), params)
    assert report.headline[0] == "No pay for Olivia Yilmaz in this run."
    assert report.values["payout_cents"] == 0 and report.sections == []


def test_plan_report_compares_every_plan(ds):
    report = build_comp_plan_report(ds, resolve_scope(ds), CompPlanParams(n_sims=300))
    _text, problems = examine(report)
    assert problems == []
    history = {r["plan"]: r for r in report.values["history"]}
    assert set(history) == {"AE FY2027", "AE FY2027 retroactive", "AE FY2027 flat"}
    # same tiers paid retroactively cost more than graduated on the same results
    assert history["AE FY2027 retroactive"]["cost_cents"] > history["AE FY2027"]["cost_cents"]
    ahead = report.values["forecast"]
    assert all(r["cost_p10"] <= r["cost_p50"] <= r["cost_p90"] for r in ahead)
    assert all(0 < r["share_p50"] < 0.5 for r in ahead)
    cost = _section(report, "Cost in FY2026").tables[0].frame
    assert list((cost["cost"] * 100).round().astype(int)) == [
        history[p]["cost_cents"] for p in cost["plan"]
    ]
    with pytest.raises(ParameterError, match="leave rep_id empty"):
        build_comp_plan_report(ds, resolve_scope(ds, rep_id="R002"), CompPlanParams(n_sims=10))


@pytest.mark.slow  # every rep's statement and every team's summary: about 90 s
def test_every_statement_of_the_sample_keeps_to_its_scope(ds, run, tmp_path):
    # one stored run read by every report (as a batch after `spm comp run` would)
    store = RunStore(tmp_path)
    store_run(run, store)
    params = CompStatementParams(run=run.run_id, outputs=str(tmp_path))
    for team in sorted(ds.reps["team"].unique()):
        scope = resolve_scope(ds, team=team)
        text, problems = examine(build_comp_statement_report(ds, scope, params))
        assert problems == [] and leaks(text, ds.reps, set(scope.data.reps["rep_id"])) == []
    lines = run.lines
    for rep in ds.reps.itertuples(index=False):
        report = build_comp_statement_report(ds, resolve_scope(ds, rep_id=rep.rep_id), params)
        text, problems = examine(report)
        assert problems == [] and f"Run {run.run_id}" in report.headline[-1], rep.rep_id
        # a manual adjustment's reason is written about the rep's own pay and may name
        # someone (a referral bonus names the hire); nothing else may name another rep
        reasons = " ".join(lines.loc[lines["rep_id"] == rep.rep_id, "reason"].dropna())
        named = [n for n in leaks(text, ds.reps, {rep.rep_id}) if n not in reasons]
        assert named == [], rep.rep_id
        mine = run.statements.loc[run.statements["rep_id"] == rep.rep_id, "payout_cents"]
        assert report.values["payout_cents"] == int(mine.sum()), rep.rep_id


def _run_notebook(name: str, out, parameters: dict) -> dict:
    pm.execute_notebook(
        str(NOTEBOOKS_DIR / name),
        str(out),
        parameters=parameters,
        kernel_name="spm",
        progress_bar=False,
    )
    return read_glued(out)


@pytest.mark.slow
@pytest.mark.parametrize("scope", [{"rep_id": "R008"}, {"team": "Borealis"}])
def test_statement_notebook_runs(tmp_path, scope):
    glued = _run_notebook(
        "comp_statement.ipynb",
        tmp_path / "out.ipynb",
        {**scope, "outputs": str(tmp_path / "runs")},
    )
    assert glued["title"] == (
        "Pay statement: Xenia Silva" if "rep_id" in scope else "Team pay summary: team Borealis"
    )
    assert glued["payout_cents"] > 0 and glued["headline"]


@pytest.mark.slow
def test_plan_notebook_runs(tmp_path):
    glued = _run_notebook("comp_plan.ipynb", tmp_path / "out.ipynb", {"n_sims": 200})
    assert glued["title"] == "Compensation plans compared"
    assert len(json.loads(json.dumps(glued["history"]))) == 3


def test_tables_hold_raw_values(ds, tmp_path):
    """Tables carry numbers (formatted only when shown), money in currency units."""
    report = build_comp_statement_report(ds, resolve_scope(ds, rep_id="R002"), _params(tmp_path))
    table = next(iter(report.tables()))
    assert isinstance(table, Table) and table.frame["pay"].dtype == "float64"
