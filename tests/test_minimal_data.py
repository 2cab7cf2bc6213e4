"""Reports adapt to the data that exists: a dataset with only the required tables (reps and
opportunities), and the public Maven CRM data (no quotas, activities or stage history).

- Every report kind, built directly for the company, a team and a rep of the sample reduced to
  reps and opportunities: no part needing quotas, activities or a stage history is shown (no
  attainment column, no activity KPI, no stale deals counted as zero); each such part is
  named in a closing "Not in this report" section with the data that would enable it.
- One batch of every report notebook on that data: every report renders; no report or email
  holds a snake_case header, scientific notation, stream output or a rep id (people are
  named), and no email table is wider than five columns.
- The same batch checks on the Maven CRM data for one team (skipped when ../shared/data is
  absent).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from rendered_support import notebook_problems
from report_support import examine

import spmlib
from spmlib.config import PARAMS_DIR, PROJ_ROOT, SHARED_DATA_DIR
from spmlib.io.schema import Dataset
from spmlib.reports.builders import BUILDERS, build_report
from spmlib.reports.params import (
    REPORT_PARAMS,
    CompPlanParams,
    CompStatementParams,
    ForecastParams,
    QuotaPlanParams,
)
from spmlib.reports.scope import resolve_scope
from spmlib.run.batch import BatchOptions, run_batch

pytestmark = pytest.mark.slow

MAVEN = SHARED_DATA_DIR / "maven_crm_sales_opportunities"
MAVEN_MAPPING = PROJ_ROOT / "params" / "mappings" / "maven_crm.yml"
FAST_FORECAST = {"origins": 2, "horizon": 3, "methods": "snaive,ets", "n_sims": 300}
#: Words that only a part built on quotas or activities would show.
NEEDS_QUOTAS = ("Attainment", "Projected attainment", "Quota attainment", "On pace")
NEEDS_ACTIVITIES = ("Activities per month", "Activity mix", "Proposal acceptance", "Calls")


@pytest.fixture(scope="module")
def minimal() -> Dataset:
    """The sample with only its required tables."""
    ds = spmlib.load(None)
    return Dataset(ds.config, ds.reps, ds.opportunities)


def _reports(ds: Dataset, tmp: Path):
    team = sorted(ds.reps["team"].unique())[0]
    rep = sorted(ds.reps.loc[ds.reps["team"] == team, "rep_id"])[0]
    scopes = [resolve_scope(ds), resolve_scope(ds, team=team), resolve_scope(ds, rep_id=rep)]
    hires = str(PARAMS_DIR / "plan" / "hires.yml")
    special = {
        "forecast": ForecastParams(**FAST_FORECAST),
        "quota_plan": QuotaPlanParams(hires=hires),
        "comp_statement": CompStatementParams(outputs=str(tmp)),
        "comp_plan": CompPlanParams(n_sims=200),
    }
    for kind in BUILDERS:
        if kind in ("forecast", "rep_scorecard"):
            kind_scopes = scopes[1:]
        elif kind in ("quota_plan", "comp_plan", "team_brief"):  # no rep scope
            kind_scopes = scopes[:2]
        else:
            kind_scopes = scopes
        for scope in kind_scopes:
            yield build_report(kind, ds, scope, special.get(kind) or REPORT_PARAMS[kind]())


def test_every_report_kind_leaves_out_what_the_data_cannot_show(minimal, tmp_path):
    seen = set()
    for report in _reports(minimal, tmp_path):
        seen.add(report.kind)
        text, problems = examine(report)
        assert problems == [], report.title
        headers = {h for t in report.tables() for h in t.formatted(report.currency).columns}
        assert not headers & set(NEEDS_QUOTAS + NEEDS_ACTIVITIES), (report.title, headers)
        gaps = [s for s in report.sections if s.title == "Not in this report"]
        if report.kind in (
            "funnel",
            "productivity",
            "rep_scorecard",
            "comp_statement",
            "comp_plan",
        ):
            (gap,) = gaps
            lines = gap.intro + " ".join(getattr(b, "markdown", "") for b in gap.blocks)
            assert "needs a quotas table" in lines or "needs a stage history table" in lines
        if report.kind == "funnel":
            assert (
                "Stale deals" not in text
                and "Time in each stage" not in text.split("Not in this report")[0]
            )
        if report.kind == "productivity":
            assert "**Activity mix** needs an activities table" in lines
    assert seen == set(BUILDERS)


def _write_minimal(ds: Dataset, folder: Path, team: str) -> Path:
    """The reps and deals of one team, as CSV files and dataset.yml (no optional table)."""
    folder.mkdir(parents=True)
    reps = ds.reps[ds.reps["team"] == team]
    reps.to_csv(folder / "reps.csv", index=False)
    opps = ds.opportunities[ds.opportunities["rep_id"].isin(reps["rep_id"])]
    opps.drop(columns=["status"], errors="ignore").to_csv(folder / "opportunities.csv", index=False)
    cfg = ds.config
    config = {
        "open_stages": list(cfg.open_stages),
        "won_stage": cfg.won_stage,
        "lost_stage": cfg.lost_stage,
        "currency": cfg.currency,
        "fiscal_year_start_month": cfg.fiscal_year_start_month,
        "as_of": str(ds.as_of.date()),
    }
    (folder / "dataset.yml").write_text(yaml.safe_dump(config))
    return folder


def _spec(folder: Path, rep_id: str) -> Path:
    """Every report notebook once: the company, the team, one rep."""
    spec = {
        "defaults": str(PARAMS_DIR / "defaults.yml"),
        "teams_dir": str(folder / "teams"),
        "reps_dir": str(folder / "reps"),
        "timeout": 900,
        "reports": [
            {"notebook": "data_overview", "scopes": [{}]},
            {"notebook": "funnel", "for_each": "team"},
            {"notebook": "productivity", "for_each": "team"},
            {"notebook": "forecast", "for_each": "team", "parameters": dict(FAST_FORECAST)},
            {"notebook": "quota_plan", "for_each": "team"},  # the sample's hires name its teams
            {"notebook": "rep_scorecard", "for_each": "rep", "where": {"rep_id": rep_id}},
            {"notebook": "comp_statement", "for_each": "rep", "where": {"rep_id": rep_id},
             "parameters": {"outputs": str(folder / "comp")}},
        ],
    }  # fmt: skip
    path = folder / "batch.yml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _check_batch(run_dir: Path, rep_ids: set[str]) -> None:
    import json

    manifest = json.loads((run_dir / "manifest.json").read_text())
    failed = {r["id"]: r["error"] for r in manifest["reports"] if r["status"] != "ok"}
    assert failed == {}
    problems = []
    for report in manifest["reports"]:
        problems += notebook_problems(run_dir / report["outputs"]["ipynb"], rep_ids)
    assert problems == []
    index = (run_dir / "index.html").read_text()
    assert "filter" in index.lower() and 'class="card"' in index


def test_a_batch_on_the_required_tables_only_renders_every_report_for_people(minimal, tmp_path):
    team = sorted(minimal.reps["team"].unique())[0]
    folder = _write_minimal(minimal, tmp_path / "data", team)
    rep_id = str(sorted(minimal.reps.loc[minimal.reps["team"] == team, "rep_id"])[0])
    result = run_batch(
        _spec(tmp_path, rep_id), str(folder), None, (), BatchOptions(workers=2), tmp_path / "out"
    )
    assert len(result.manifest.jobs) == 7
    _check_batch(result.run_dir, set(pd.read_csv(folder / "reps.csv")["rep_id"].astype(str)))


@pytest.mark.skipif(not MAVEN.exists(), reason=f"the public Maven CRM data is not in {MAVEN}")
def test_the_default_batch_on_the_maven_crm_data_reads_well_for_one_team(tmp_path):
    ds = spmlib.load(str(MAVEN), mapping=str(MAVEN_MAPPING))
    team = sorted(ds.reps["team"].unique())[0]
    rep_id = str(sorted(ds.reps.loc[ds.reps["team"] == team, "rep_id"])[0])
    only = [f"team={team}", *(f"notebook={n}" for n in ("funnel", "productivity", "forecast"))]
    teams = run_batch(None, str(MAVEN), str(MAVEN_MAPPING), only, BatchOptions(workers=2),
                      tmp_path / "out")  # fmt: skip
    _check_batch(teams.run_dir, set())  # Maven's rep ids are the reps' names
    only = [f"rep_id={rep_id}"]
    reps = run_batch(None, str(MAVEN), str(MAVEN_MAPPING), only, BatchOptions(workers=2),
                     tmp_path / "out")  # fmt: skip
    _check_batch(reps.run_dir, set())
    (card,) = [j for j in reps.manifest.jobs if j.kind == "rep_scorecard"]
    text = (reps.run_dir / card.outcome.outputs["html"]).read_text()
    assert "Activities per month" not in text and "Not in this report" in text
    assert "needs an activities table" in text and "needs a quotas table" in text
