"""The funnel notebook runs under papermill for every scope of the sample data (the company,
each team, each rep) through the batch runner, and each report agrees with spmlib and keeps to
its scope."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import spmlib
from spmlib.config import NOTEBOOKS_DIR
from spmlib.productivity.kpis import kpis
from spmlib.reports.notebook import read_glued
from spmlib.run.batch import BatchOptions, run_batch

pytestmark = pytest.mark.slow


def test_funnel_notebook_for_every_scope_of_the_sample(tmp_path):
    spec = tmp_path / "batch.yml"
    spec.write_text(
        f"notebooks_dir: {NOTEBOOKS_DIR}\n"
        "timeout: 300\n"
        "reports:\n"
        "  - notebook: funnel\n    scopes: [{}]\n"
        "  - notebook: funnel\n    for_each: team\n"
        "  - notebook: funnel\n    for_each: rep\n"
    )
    ds = spmlib.load(None)
    result = run_batch(spec, options=BatchOptions(workers=2), outputs_dir=tmp_path / "out")
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    reports = manifest["reports"]
    assert len(reports) == 1 + ds.reps["team"].nunique() + len(ds.reps)
    assert [r["id"] for r in reports if r["status"] != "ok"] == []

    # Each report's win rate is the won / (won + lost) of its own scope, as spm kpis counts it.
    by_rep = kpis(ds, by="rep").set_index("rep_id")
    by_team = kpis(ds, by="team").set_index("team")
    reps = ds.reps.set_index("rep_id")
    for report in reports:
        glued = read_glued(result.run_dir / report["outputs"]["ipynb"])
        scope = report["scope"]
        if "rep_id" in scope:
            row = by_rep.loc[scope["rep_id"]]
        elif "team" in scope:
            row = by_team.loc[scope["team"]]
        else:
            row = kpis(ds, by="all").iloc[0]
        assert glued["win_rate"] == pytest.approx(row["won"] / (row["won"] + row["lost"]))

        if "rep_id" in scope:
            # A rep's report names no other rep: neither name, nor email, nor id.
            html = (result.run_dir / report["outputs"]["html"]).read_text()
            others = reps.drop(index=scope["rep_id"])
            leaked = [
                text for text in [*others["rep_name"], *others["email"].dropna()] if text in html
            ]
            assert leaked == [], (report["id"], leaked[:3])
            assert reps.loc[scope["rep_id"], "rep_name"] in html
    assert pd.Timestamp(manifest["ended"]) >= pd.Timestamp(manifest["started"])
