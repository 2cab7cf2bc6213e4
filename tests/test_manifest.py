"""Jobs move through explicit states, and the manifest keeps the format mail and retries read."""

from __future__ import annotations

import json

import pytest

from spmlib.config import PROJ_ROOT
from spmlib.run.job import Job, Outcome, ReportError, Status
from spmlib.run.manifest import Manifest, RunStatus, finish_run

NB = str(PROJ_ROOT / "notebooks" / "funnel.ipynb")


def _job(rid: str = "funnel__team-A") -> Job:
    return Job(rid, "funnel", NB, {"team": "A"}, {"team": "A", "data": "/run/data"}, 60.0)


def test_job_states_move_one_way_until_reset():
    job = _job()
    assert job.status is Status.PENDING and job.outcome is None
    job.start()
    assert job.status is Status.RUNNING
    with pytest.raises(RuntimeError, match="cannot start: it is running"):
        job.start()
    with pytest.raises(RuntimeError, match="cannot go from running to running"):
        job.finish(Outcome(job.id, Status.RUNNING))
    job.finish(Outcome(job.id, Status.TIMEOUT, 4.2, {}, ReportError(5, "TimeoutError", "slow")))
    assert job.status is Status.TIMEOUT and job.outcome.seconds == 4.2
    with pytest.raises(RuntimeError, match="cannot go from timeout to ok"):
        job.finish(Outcome(job.id, Status.OK))
    job.reset()
    assert job.status is Status.PENDING and job.outcome is None
    # a worker that dies before it said "start" still finishes the job
    job.finish(Outcome.failure(job.id, "WorkerDied", "exit code -9"))
    assert job.status is Status.FAILED and str(job.outcome.error) == "WorkerDied: exit code -9"


def test_manifest_entries_round_trip_with_the_keys_mail_reads(tmp_path):
    ok, failed, pending = _job("funnel__team-A"), _job("funnel__team-B"), _job("funnel__team-C")
    ok.finish(
        Outcome(ok.id, Status.OK, 1.5, {"html": "reports/a.html", "ipynb": "reports/a.ipynb"})
    )
    failed.finish(
        Outcome(failed.id, Status.FAILED, 0.5, {"partial": "f.ipynb"}, ReportError(4, "E", "x"))
    )
    failed.parameters["label"] = "mysql://bo:hunter2@db/crm"
    manifest = Manifest(
        run_id="20261124T0912Z-3f2a",
        spec="params/batch.yml",
        data="postgresql://ann:s3cret@db.example.com/crm",
        data_fingerprint="sha256:0",
        jobs=[ok, failed, pending],
        workers=2,
    )
    pending.start()  # still running when the run is interrupted
    finish_run(tmp_path, manifest, tmp_path)
    raw = json.loads((tmp_path / "manifest.json").read_text())
    assert raw["status"] == "interrupted" and raw["ended"] is not None
    assert raw["data"] == "postgresql://ann:***@db.example.com/crm"
    entry = raw["reports"][1]
    assert set(entry) == {
        "id",
        "notebook",
        "kind",
        "notebook_path",
        "scope",
        "parameters",
        "timeout",
        "status",
        "seconds",
        "outputs",
        "error",
        "summary",
    }
    assert entry["notebook_path"] == "notebooks/funnel.ipynb"
    assert entry["error"] == {"cell": 4, "ename": "E", "evalue": "x"}
    assert entry["parameters"]["label"] == "mysql://bo:***@db/crm"
    assert raw["reports"][2]["status"] == "pending"  # running when interrupted → pending
    assert not (tmp_path / "latest").exists()

    again = Manifest.read(tmp_path)
    assert again.status is RunStatus.INTERRUPTED
    assert [j.status for j in again.jobs] == [Status.OK, Status.FAILED, Status.PENDING]
    assert again.jobs[0].notebook_path == NB and again.jobs[1].outcome.error.cell == 4
    assert again.to_dict() == raw
