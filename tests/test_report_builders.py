"""Every report builder, called directly (no kernel) for every scope of the sample data: the
company, each team and each rep. Each report agrees with spmlib's own numbers, keeps to its
scope (a rep's report names no other rep; a team's names no rep of another team), and every
table is written for people (no snake_case headers, raw floats, scientific notation or
True/False).

The notebooks are run once per kind elsewhere (tests/test_*_notebook*.py); these tests are the
every-scope check, at a fraction of the cost.
"""

from __future__ import annotations

import pytest
from report_support import examine, leaks

import spmlib
from spmlib.productivity.activity import activity_outcomes
from spmlib.productivity.kpis import kpis
from spmlib.productivity.rating import rep_ratings
from spmlib.productivity.scorecard import team_scorecards
from spmlib.reports.builders import BUILDERS, build_report
from spmlib.reports.params import REPORT_PARAMS, ForecastParams, TeamBriefParams
from spmlib.reports.report import Report
from spmlib.reports.scope import resolve_scope

#: Teams of the default sample (checked below, so a change of the default fails here).
SAMPLE_TEAMS = 6
pytestmark = pytest.mark.slow  # the full sample, 55 scopes: about a minute of CPU

FAST_FORECAST = ForecastParams(origins=2, horizon=3, methods="snaive,ets,theta", n_sims=300)
#: Parameters per kind: the defaults, but a smaller outlook without the replay for the brief.
PARAMS = {
    **{kind: cls() for kind, cls in REPORT_PARAMS.items()},
    "team_brief": TeamBriefParams(n_sims=500, measure_coverage=False),
}


@pytest.fixture(scope="module")
def ds():
    return spmlib.load(None)


def _win_rate(row) -> float:
    return row["won"] / (row["won"] + row["lost"])


def _check_report(report: Report, kind: str) -> str:
    """Check the report's frame; return the text a reader sees."""
    assert report.kind == kind and report.title and report.headline
    assert all(isinstance(s, str) and s for s in report.headline)
    assert report.method is not None and report.method.title == "How this is worked out"
    text, problems = examine(report)
    assert problems == []
    return text


def test_company_reports(ds):
    assert ds.reps["team"].nunique() == SAMPLE_TEAMS
    scope = resolve_scope(ds)
    reports = {
        kind: build_report(kind, ds, scope, PARAMS[kind])
        for kind in ("data_overview", "funnel", "productivity", "team_brief")
    }
    for kind, report in reports.items():
        _check_report(report, kind)
    funnel, prod = reports["funnel"], reports["productivity"]
    assert funnel.title == "Funnel and pipeline: company"
    assert funnel.values["win_rate"] == pytest.approx(_win_rate(kpis(ds, by="all").iloc[0]))
    assert prod.values["activities"] == int(activity_outcomes(ds)["activities"].sum())
    assert set(prod.values["attainment"]) == set(ds.reps["rep_id"])
    assert reports["data_overview"].values["rows"]["opportunities"] == len(ds.opportunities)


@pytest.mark.parametrize("index", range(SAMPLE_TEAMS))
def test_each_team_and_each_of_its_reps(ds, index):
    team = sorted(ds.reps["team"].unique())[index]
    members = ds.reps[ds.reps["team"] == team]
    by_rep = kpis(ds, by="rep").set_index("rep_id")

    # The team: funnel, overview and productivity cover its reps only.
    scope = resolve_scope(ds, team=team)
    team_row = kpis(ds, by="team").set_index("team").loc[team]
    for kind in ("data_overview", "funnel", "productivity", "team_brief"):
        report = build_report(kind, ds, scope, PARAMS[kind])
        text = _check_report(report, kind)
        assert leaks(text, ds.reps, set(members["rep_id"])) == [], kind
        if kind == "funnel":
            assert report.values["win_rate"] == pytest.approx(_win_rate(team_row))
    cards = team_scorecards(ds, team)
    ratings = rep_ratings(ds, team=team).set_index("rep_id")["rating"]

    # Each rep: funnel, overview and scorecard show that rep only, peers anonymously.
    for rep in members.itertuples(index=False):
        scope = resolve_scope(ds, rep_id=rep.rep_id)
        for kind in ("data_overview", "funnel", "rep_scorecard"):
            report = build_report(kind, ds, scope, REPORT_PARAMS[kind]())
            text = _check_report(report, kind)
            assert rep.rep_name in text, (kind, rep.rep_id)
            assert leaks(text, ds.reps, {rep.rep_id}) == [], (kind, rep.rep_id)
            if kind == "funnel":
                assert report.values["win_rate"] == pytest.approx(_win_rate(by_rep.loc[rep.rep_id]))
            if kind == "rep_scorecard":
                card = cards[cards["rep_id"] == rep.rep_id]
                assert report.values["rating"] == ratings[rep.rep_id]
                assert (
                    report.values["strengths"]
                    == card.loc[card["assessment"] == "strength", "kpi"].tolist()
                )


@pytest.mark.parametrize("which", ["company", "team", "rep"])
def test_forecast_report_each_kind_of_scope(ds, which):
    rep = ds.reps.iloc[-1]
    scope = {
        "company": resolve_scope(ds),
        "team": resolve_scope(ds, team=str(rep["team"])),
        "rep": resolve_scope(ds, rep_id=str(rep["rep_id"])),
    }[which]
    report = build_report("forecast", ds, scope, FAST_FORECAST)
    text = _check_report(report, "forecast")
    # auto keeps the combination unless a candidate wins by its rule (spmlib.forecast.calibrate).
    assert report.values["chosen_method"] in ("combo", "snaive", "ets", "theta")
    assert 0 <= report.values["p_quota"] <= 1
    assert report.values["pipeline_p10"] <= report.values["pipeline_p50"]
    keep = set(scope.data.reps["rep_id"])
    assert leaks(text, ds.reps, keep) == []


def test_scorecard_of_a_team_scope_reviews_its_first_rep(ds):
    team = str(ds.reps["team"].iloc[0])
    first = ds.reps[ds.reps["team"] == team].iloc[0]
    report = build_report("rep_scorecard", ds, resolve_scope(ds, team=team),
                          REPORT_PARAMS["rep_scorecard"]())  # fmt: skip
    assert report.scope.rep_id == first["rep_id"]
    assert report.title == f"Your quarter: {first['rep_name']}"


def test_every_kind_has_a_builder_and_parameters():
    assert set(BUILDERS) == set(REPORT_PARAMS)
