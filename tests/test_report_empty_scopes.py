"""Every report builder on the scopes real data produce, the empty ones included (issue #11).

The team funnel report used to fail ("'DataFrame' object has no attribute 'tolist'") for a team
with reps but no deals and for a team whose deals were all open. Here every builder runs, no
kernel, on a small sample changed into the awkward cases: a team with reps but no deals, a team
whose deals are all open, a team whose deals are all lost, a rep with no deals, a manager, the
company with no deals at all, with no deal closed, and with nothing but reps and deals (no
quotas, activities, leads, stage history, accounts or splits). Each report builds, every figure
draws, every table formats for people, and it says what it cannot show; a report that does not
cover a kind of scope (a rep's quota plan, say) refuses it with a ParameterError saying what it
covers. The pay reports read a plans folder written for this small dataset's reps.
"""

from __future__ import annotations

import dataclasses
import shutil

import matplotlib
import pandas as pd
import pytest
from report_support import examine

import spmlib
from spmlib.comp.inputs import ASSIGNMENTS_FILE
from spmlib.comp.plan import load_plans
from spmlib.config import PARAMS_DIR
from spmlib.exceptions import ParameterError
from spmlib.io.schema import Dataset
from spmlib.reports.builders import BUILDERS
from spmlib.reports.comp_plan import build_comp_plan_report
from spmlib.reports.params import REPORT_PARAMS, ForecastParams, QuotaPlanParams
from spmlib.reports.quota_plan import build_quota_plan_report
from spmlib.reports.report import Figure, Report, Table, Text
from spmlib.reports.scope import resolve_scope
from spmlib.sample.generator import write_sample

matplotlib.use("Agg")

# the quota plan is given a target: without bookings it asks for one (tested below)
FAST = {
    "forecast": ForecastParams(origins=2, horizon=3, methods="snaive,ets", n_sims=100),
    "quota_plan": QuotaPlanParams(target=1_000_000, time_limit=1),
}
# the scope kinds a report does not cover, and refuses with a ParameterError
REFUSED = {"quota_plan": {"rep", "manager"}, "comp_plan": {"rep"}, "team_brief": {"rep"}}


def _params(kind: str, plans):
    """Fast parameters of ``kind``; the pay reports read ``plans`` (the sample's comp plans
    with assignments for this dataset's reps), the plan comparison its designs too."""
    if kind == "comp_statement":
        return REPORT_PARAMS[kind](plans=str(plans))
    if kind == "comp_plan":
        return REPORT_PARAMS[kind](plans=f"{plans},{PARAMS_DIR / 'comp' / 'designs'}", n_sims=100)
    return FAST.get(kind) or REPORT_PARAMS[kind]()


def _without_deals(ds: Dataset, rep_ids: set[str]) -> Dataset:
    """``ds`` with every deal of ``rep_ids`` removed (and what points at those deals)."""
    gone = set(ds.opportunities.loc[ds.opportunities["rep_id"].isin(rep_ids), "opp_id"])

    def keep(frame):
        return frame[~frame["opp_id"].isin(gone)] if "opp_id" in frame.columns else frame

    return dataclasses.replace(
        ds,
        opportunities=keep(ds.opportunities),
        stage_history=keep(ds.stage_history),
        activities=keep(ds.activities),
        leads=keep(ds.leads),
        splits=keep(ds.splits),
    )


def _closed_as(ds: Dataset, rep_ids: set[str] | None, status: str) -> Dataset:
    """``ds`` with the deals of ``rep_ids`` (every deal when None) all ``status`` (open or
    lost), their stage history cut to match."""
    opp = ds.opportunities.copy()
    chosen = opp["rep_id"].isin(rep_ids) if rep_ids is not None else opp["rep_id"].notna()
    stage = ds.config.open_stages[0] if status == "open" else ds.config.lost_stage
    opp.loc[chosen, "status"] = status
    opp.loc[chosen, "stage"] = stage
    ids = set(opp.loc[chosen, "opp_id"])
    sh = ds.stage_history
    closing = sh["stage"].isin([ds.config.won_stage, ds.config.lost_stage])
    return dataclasses.replace(
        ds, opportunities=opp, stage_history=sh[~(sh["opp_id"].isin(ids) & closing)]
    )


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """name -> (dataset, scope values) of every awkward case."""
    folder = write_sample(
        tmp_path_factory.mktemp("empty") / "s", teams=4, reps_per_team=2, months=14, seed=1
    )
    ds = spmlib.load(str(folder))
    reps = ds.reps
    teams = sorted(reps["team"].unique())
    members = {t: set(reps.loc[reps["team"] == t, "rep_id"]) for t in teams}
    empty, open_, lost = teams[:3]  # the fourth team keeps its deals
    varied = _closed_as(_closed_as(_without_deals(ds, members[empty]), members[open_], "open"),
                        members[lost], "lost")  # fmt: skip
    no_deals = _without_deals(ds, set(reps["rep_id"]))
    bare = dataclasses.replace(
        ds, **{name: getattr(ds, name).iloc[:0] for name in
               ("quotas", "activities", "leads", "stage_history", "accounts", "splits")},
    )  # fmt: skip
    manager = sorted(reps["manager"].dropna().unique())[0]
    return {
        "team with reps but no deals": (varied, {"team": empty}),
        "team whose deals are all open": (varied, {"team": open_}),
        "team whose deals are all lost": (varied, {"team": lost}),
        "rep with no deals": (varied, {"rep_id": sorted(members[empty])[0]}),
        "rep whose deals are all open": (varied, {"rep_id": sorted(members[open_])[0]}),
        "manager": (varied, {"manager": manager}),
        "company with no deals": (no_deals, {}),
        "company with no deal closed": (_closed_as(ds, None, "open"), {}),
        "company with only reps and deals": (bare, {}),
    }


CASES = [
    "team with reps but no deals",
    "team whose deals are all open",
    "team whose deals are all lost",
    "rep with no deals",
    "rep whose deals are all open",
    "manager",
    "company with no deals",
    "company with no deal closed",
    "company with only reps and deals",
]


def _shown(report: Report) -> str:
    """Draw every figure and render every table as the notebook would; return the text a reader
    sees (checked to be written for people)."""
    for section in report.all_sections:
        for block in section.blocks:
            if isinstance(block, Figure):
                matplotlib.pyplot.close(block.draw())
            elif isinstance(block, Table):
                block.to_html(report.currency)
    text, problems = examine(report)
    assert problems == []
    return text


@pytest.fixture(scope="module")
def plans(cases, tmp_path_factory):
    """A plans folder for the small dataset: the sample's plan files, and every rep of the data
    on the sample plan from the plan year's start (or their hire date, or first quota day)."""
    folder = tmp_path_factory.mktemp("plans")
    for path in (PARAMS_DIR / "comp").glob("*.yml"):
        shutil.copy(path, folder)
    (name,) = load_plans(folder)
    ds, _ = cases["manager"]
    reps = ds.reps.set_index("rep_id")
    first_quota = ds.quotas.groupby("rep_id")["period_start"].min()
    starts = pd.concat([reps["hire_date"], first_quota], axis=1).max(axis=1)
    pd.DataFrame(
        {
            "rep_id": reps.index,
            "plan": name,
            "valid_from": starts.clip(lower=pd.Timestamp("2026-02-01")).dt.date,  # FY2027
            "valid_to": "",
            "target_incentive": "",
        }
    ).to_csv(folder / ASSIGNMENTS_FILE, index=False)
    return folder


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_every_builder_runs_on_every_scope(cases, plans, case, kind):
    ds, values = cases[case]
    scope = resolve_scope(ds, **values)
    if scope.kind in REFUSED.get(kind, ()):
        with pytest.raises(ParameterError, match="covers"):
            BUILDERS[kind](ds, scope, _params(kind, plans))
        return
    report = BUILDERS[kind](ds, scope, _params(kind, plans))
    assert report.title and report.headline and all(report.headline)
    _shown(report)


def test_the_team_funnel_says_what_it_cannot_show(cases):
    for case in ("team with reps but no deals", "team whose deals are all open"):
        ds, values = cases[case]
        report = BUILDERS["funnel"](ds, resolve_scope(ds, **values), _params("funnel", None))
        peers = next(s for s in report.all_sections if s.title == "Compared with peers")
        notes = [b.markdown for b in peers.blocks if isinstance(b, Text)]
        assert any("No group has a closed deal yet" in n for n in notes), case
        assert "win rate of closed deals is **n/a**" in report.headline[0]


@pytest.mark.parametrize(
    "case", ["team with reps but no deals", "company with only reps and deals"]
)
def test_the_quota_plan_runs_on_empty_scopes(cases, case):
    ds, values = cases[case]
    report = build_quota_plan_report(ds, resolve_scope(ds, **values), QuotaPlanParams())
    assert report.headline and "quota plan" in report.headline[0]


def test_the_quota_plan_without_bookings_asks_for_a_target(cases):
    ds, _ = cases["company with no deals"]
    with pytest.raises(ParameterError, match="give the company's target as the parameter target"):
        build_quota_plan_report(ds, resolve_scope(ds), QuotaPlanParams())
    report = build_quota_plan_report(ds, resolve_scope(ds), QuotaPlanParams(target=900_000))
    assert "**$900K**" in report.headline[0]


def test_the_comp_plan_report_of_a_team_without_deals():
    """On the default sample (the comp plans in params/comp/ are written for it)."""
    ds = spmlib.load(None)
    team = sorted(ds.reps["team"].unique())[0]
    scoped = _without_deals(ds, set(ds.reps.loc[ds.reps["team"] == team, "rep_id"]))
    params = REPORT_PARAMS["comp_plan"](n_sims=100)
    report = build_comp_plan_report(scoped, resolve_scope(scoped, team=team), params)
    assert "no bookings in that year, so no cost as a share of bookings" in report.headline[0]
    assert "Next period" in report.headline[1]


@pytest.mark.parametrize("case", ["team with reps but no deals", "company with no deals"])
def test_the_forecast_of_a_scope_without_deals_says_there_is_nothing_to_forecast(cases, case):
    ds, values = cases[case]
    scope = resolve_scope(ds, **values)
    report = BUILDERS["forecast"](ds, scope, _params("forecast", None))
    assert report.headline == [
        f"{scope.subject} has no deals in the data, so there is nothing to forecast."
    ]
    assert report.sections == [] and report.values["forecast"] is None
