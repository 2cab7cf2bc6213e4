"""Since last week: which earlier extract a batch compares with, how reports receive it, and the
"Since" section of a report (a small sample and its own extract of a week earlier)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import spmlib
from spmlib.exceptions import SpecError
from spmlib.io.snapshot import snapshot_dataset
from spmlib.reports.builders import build_report
from spmlib.reports.params import FunnelParams
from spmlib.reports.scope import resolve_scope
from spmlib.run.batch import last_complete_run, previous_extract
from spmlib.run.plan import plan_reports
from spmlib.run.spec import load_spec
from spmlib.sample.generator import write_sample

SMALL = dict(teams=2, reps_per_team=3, months=6, seed=5)
SPEC = "params/batch.yml"


@pytest.fixture(scope="module")
def extracts(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("extracts")
    now = write_sample(root / "now", **SMALL)
    before = write_sample(root / "before", **SMALL, as_of="2026-12-07")
    return before, now


def _run(outputs: Path, name: str, spec: str, as_of: str | None, status: str, started: str):
    folder = outputs / name
    (folder / "data").mkdir(parents=True)
    raw = {"run_id": name, "spec": spec, "status": status, "started": started,
           "data_snapshot": "data", "reports": []}  # fmt: skip
    if as_of:
        raw["as_of"] = as_of
    (folder / "manifest.json").write_text(json.dumps(raw))
    return folder


def test_last_complete_run_of_the_same_spec_with_an_earlier_as_of(tmp_path):
    before = pd.Timestamp("2026-12-14")
    _run(tmp_path, "a", SPEC, "2026-11-30", "complete", "2026-12-01T09:00:00Z")
    best = _run(tmp_path, "b", SPEC, "2026-12-07", "complete", "2026-12-08T09:00:00Z")
    _run(tmp_path, "c", SPEC, "2026-12-07", "failed", "2026-12-09T09:00:00Z")  # not complete
    _run(tmp_path, "d", "other.yml", "2026-12-10", "complete", "2026-12-11T09:00:00Z")
    _run(tmp_path, "e", SPEC, "2026-12-14", "complete", "2026-12-15T09:00:00Z")  # not earlier
    _run(tmp_path, "f", SPEC, None, "complete", "2026-12-16T09:00:00Z")  # as_of not recorded
    assert last_complete_run(tmp_path, SPEC, before) == best
    assert last_complete_run(tmp_path, SPEC, pd.Timestamp("2026-11-30")) is None


def test_previous_extract_sources(tmp_path, extracts):
    before, now = extracts
    ds = spmlib.load(now)
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    # none: no comparison
    assert previous_extract("none", SPEC, ds, now, None, outputs) == (None, None)
    # a dataset folder
    prev, info = previous_extract(str(before), SPEC, ds, now, None, outputs)
    assert prev.as_of == pd.Timestamp("2026-12-07") and info["source"] == str(before)
    assert info == {"source": str(before), "as_of": "2026-12-07", "snapshot": "previous"}
    # no earlier run and data that is not the sample: no comparison
    assert previous_extract(None, SPEC, ds, now, None, outputs) == (None, None)
    # a run: its data snapshot, found by id, and by default as the last earlier run
    run = _run(outputs, "r1", SPEC, "2026-12-07", "complete", "2026-12-08T09:00:00Z")
    snapshot_dataset(spmlib.load(before), run / "data")
    by_id = previous_extract("r1", SPEC, ds, now, None, outputs)
    by_default = previous_extract(None, SPEC, ds, now, None, outputs)
    assert by_id[1]["source"] == by_default[1]["source"] == "run r1"
    assert len(by_id[0].opportunities) == len(spmlib.load(before).opportunities)
    # an extract that is not earlier is refused
    with pytest.raises(SpecError, match="not before the data's 2026-12-14"):
        previous_extract(str(now), SPEC, ds, now, None, outputs)


def test_the_sample_compares_with_its_week_before_by_default(tmp_path):
    ds = spmlib.load()
    prev, info = previous_extract(None, SPEC, ds, None, None, tmp_path)
    assert prev.as_of == ds.as_of - pd.Timedelta(days=7)
    assert info["source"] == "the sample's extract of the week before"
    # the same world: every deal of the week before is still there, with the same creation day
    both = prev.opportunities.merge(ds.opportunities, on="opp_id", suffixes=("_b", "_a"))
    assert len(both) == len(prev.opportunities)
    assert (both["created_date_b"] == both["created_date_a"]).all()


def test_plan_sets_compare_to_where_the_notebook_declares_it(extracts):
    _, now = extracts
    ds = spmlib.load(now)
    jobs = plan_reports(load_spec(SPEC), ds, str(now), compare_path="/runs/x/previous")
    by_kind = {j.kind: j.parameters for j in jobs}
    assert by_kind["funnel"]["compare_to"] == "/runs/x/previous"
    assert "compare_to" not in by_kind["productivity"]
    unset = plan_reports(load_spec(SPEC), ds, str(now))
    assert all(j.parameters.get("compare_to") is None for j in unset if j.kind == "funnel")


def test_funnel_report_lists_the_scope_changes_since(extracts):
    before, now = extracts
    ds = spmlib.load(now)
    rep = ds.reps.iloc[0]
    params = FunnelParams(compare_to=str(before))
    company = build_report("funnel", ds, resolve_scope(ds), params)
    assert company.sections[0].title == "Since 2026-12-07"
    changes = company.values["changes"]
    assert len(changes) and set(changes["change"]) >= {"new", "advanced"}
    mine = build_report("funnel", ds, resolve_scope(ds, rep_id=rep["rep_id"]), params)
    # a rep's report lists that rep's deals only
    assert set(mine.values["changes"]["rep_id"]) <= {rep["rep_id"]}
    assert len(mine.values["changes"]) == (changes["rep_id"] == rep["rep_id"]).sum()
    plain = build_report("funnel", ds, resolve_scope(ds), FunnelParams())
    assert "changes" not in plain.values and not plain.sections[0].title.startswith("Since")
