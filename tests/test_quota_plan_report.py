"""The quota plan report: its parameters, its builder on the sample for the company and a team
(numbers tie out with the plan to the cent, a team's report names only its own reps), and the
notebook run for real with papermill."""

from __future__ import annotations

import nbformat
import pandas as pd
import papermill as pm
import pytest

from spmlib.config import KERNEL_NAME, NOTEBOOKS_DIR
from spmlib.exceptions import ParameterError
from spmlib.reports.notebook import read_glued
from spmlib.reports.params import QuotaPlanParams
from spmlib.reports.quota_plan import PlanTable, build_quota_plan_report
from spmlib.reports.scope import resolve_scope


def test_params_check_every_value():
    p = QuotaPlanParams(over_assign="team=1.05,rep=1.10", period="Q")
    assert p.over_assignment == {"team": 1.05, "rep": 1.10}
    with pytest.raises(ParameterError) as err:
        QuotaPlanParams.from_values(
            {"method": "top-dwn", "over_assign": "rep=0.9", "band": -1, "target": 0},
            {"method": "params/defaults.yml"},
        )
    text = str(err.value)
    assert "params/defaults.yml: unknown method 'top-dwn'" in text
    assert "over-assignment 'rep=0.9'" in text and "band must be" in text
    assert "target must be" in text


@pytest.fixture(scope="module")
def sample():
    import spmlib

    return spmlib.load(None)


def _tables(report) -> list[pd.DataFrame]:
    return [b.frame for s in report.sections for b in s.blocks if isinstance(b, PlanTable)]


@pytest.mark.slow  # the sample and a territory solve per team
def test_company_report_ties_out_to_the_cent(sample):
    params = QuotaPlanParams(target=30_000_000.0, over_assign="team=1.05,rep=1.10", time_limit=1)
    report = build_quota_plan_report(sample, resolve_scope(sample), params)
    plan = report.plan
    # 30M x 1.05 (teams) x 1.10 (reps) = 34,650,000.00 over every rep, and per period
    assert report.values["company_quota"] == pytest.approx(34_650_000.00, abs=0.005)
    assert round(plan.quotas["quota"].sum(), 2) == 34_650_000.00
    teams = next(t for t in _tables(report) if "share_of_quota" in t.columns)
    assert round(teams["quota"].sum(), 2) == 34_650_000.00
    # each team's reps sum to the team's quota x 1.10, to the cent
    per_team = plan.reps.groupby("team")["quota"].sum().round(2)
    expected = (plan.teams.set_index("team")["quota"] * 1.10).round(2)
    assert (per_team - expected).abs().max() <= 0.01
    assert "(over-assignment)" in report.headline[0]
    assert set(report.territories) == set(sample.reps["team"])


@pytest.mark.slow
def test_team_report_shows_the_team_only(sample):
    params = QuotaPlanParams(hires="params/plan/hires.yml", time_limit=1)
    report = build_quota_plan_report(sample, resolve_scope(sample, team="Atlas"), params)
    plan = report.plan
    atlas = plan.reps[plan.reps["team"] == "Atlas"]
    assert "H001" in set(atlas["rep_id"])  # the planned hire of params/plan/hires.yml
    assert report.values["scope_quota"] == pytest.approx(
        float(plan.teams.set_index("team").loc["Atlas", "quota"]), abs=0.005
    )
    others = set(plan.reps.loc[plan.reps["team"] != "Atlas", "rep_name"])
    for frame in _tables(report):
        text = frame.astype(str).to_string()
        assert not [name for name in others if name in text], frame.columns.tolist()
    months = next(t for t in _tables(report) if "period_end" in t.columns)
    assert round(months["quota"].sum(), 2) == round(atlas["quota"].sum(), 2)
    assert len(months) == 12  # the plan year, month by month
    assert report.tradeoff is not None and report.tradeoff["band"].is_monotonic_decreasing
    assert any("Balancing the territories of team Atlas" in line for line in report.headline)


@pytest.mark.slow
def test_scope_and_end_are_checked(sample):
    rep = str(sample.reps["rep_id"].iloc[0])
    with pytest.raises(ParameterError, match="company or one team"):
        build_quota_plan_report(sample, resolve_scope(sample, rep_id=rep), QuotaPlanParams())
    with pytest.raises(ParameterError, match="whole fiscal year FY2028"):
        build_quota_plan_report(
            sample, resolve_scope(sample, team="Atlas"), QuotaPlanParams(end="2027-12-31")
        )


@pytest.mark.slow
def test_notebook_runs_for_a_team(tmp_path):
    out = tmp_path / "quota_plan.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS_DIR / "quota_plan.ipynb"),
        str(out),
        parameters={"team": "Borealis", "time_limit": 1, "over_assign": "rep=1.1"},
        kernel_name=KERNEL_NAME,
        progress_bar=False,
    )
    glued = read_glued(out)
    assert glued["title"] == "Quota plan FY2028: team Borealis"
    assert glued["reps"] == 8 and 0 <= glued["share_at_quota"] <= 1
    nb = nbformat.read(str(out), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 4  # quota vs potential, attainment, balance, trade-off
    assert not [o for o in outputs if o.get("output_type") == "error"]
