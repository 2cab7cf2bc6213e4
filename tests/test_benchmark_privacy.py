"""Benchmarks never reveal a colleague: on a three-rep team (team North of ``brief_fixture``:
Ann, Bo and Cy), a rep's scorecard and funnel show no team figure at all and say why; on the
sample's eight-rep teams they show the other reps' median (two significant figures) and a band,
never quartiles, percentiles, a rank or the pooled rest of the team."""

from __future__ import annotations

import pytest
from brief_fixture import dataset
from report_support import examine

from spmlib.reports.builders import build_report
from spmlib.reports.params import FunnelParams, ScorecardParams
from spmlib.reports.scope import resolve_scope

WHY = "No team benchmark:"
NEVER = ("p25", "p75", "team_p25", "team_p75", "percentile", "rest_rate", "rest_value", "rank")


def _columns(report) -> set[str]:
    return {c for t in report.tables() for c in t.frame.columns}


@pytest.mark.parametrize("kind", ["rep_scorecard", "funnel"])
def test_three_rep_team_shows_no_benchmark_and_says_why(kind):
    ds = dataset()
    params = ScorecardParams() if kind == "rep_scorecard" else FunnelParams()
    report = build_report(kind, ds, resolve_scope(ds, rep_id="n1"), params)
    text, problems = examine(report)
    assert problems == []
    assert WHY in text and "never reveals a colleague" in text
    assert not set(NEVER) & _columns(report)
    for table in report.tables():
        if "team_median" in table.frame.columns:
            assert table.frame["team_median"].isna().all()
        if "band" in table.frame.columns:
            assert table.frame["band"].isna().all()
    # no sentence compares the rep with the others either
    assert "rest of the team (" not in text and "significantly" not in text


def test_scorecard_of_a_three_rep_team_explains_that_nothing_is_compared():
    ds = dataset()
    report = build_report("rep_scorecard", ds, resolve_scope(ds, rep_id="n2"), ScorecardParams())
    text, _ = examine(report)
    assert "Strengths and areas to improve are not worked out" in text
    assert report.values["strengths"] == [] and report.values["areas_to_improve"] == []


@pytest.mark.slow
def test_eight_rep_team_shows_the_median_of_the_others_and_a_band():
    import spmlib
    from spmlib.funnel.conversion import stage_funnel

    ds = spmlib.load(None)
    rep = ds.reps.iloc[0]
    scope = resolve_scope(ds, rep_id=str(rep["rep_id"]))
    report = build_report("funnel", ds, scope, FunnelParams())
    assert not set(NEVER) & _columns(report)
    win = next(t for t in report.tables() if t.title == "**Win rate:**").frame
    # the other seven reps' win rates (cumulative conversion at the won stage), their median
    # rounded to two significant figures
    team = ds.scoped(team=str(rep["team"]))
    funnel = stage_funnel(team.opportunities, team.stage_history, config=ds.config,
                          by=["rep_id"], reps=team.reps, as_of=ds.as_of)  # fmt: skip
    won = funnel[(funnel["stage"] == ds.config.won_stage) & (funnel["rep_id"] != rep["rep_id"])]
    others = won["cumulative_conversion"].dropna()
    assert len(others) == 7
    assert win["team_median"].iloc[0] == float(f"{others.median():.2g}")
    assert win["band"].iloc[0] in ("top quarter", "middle half", "bottom quarter")
