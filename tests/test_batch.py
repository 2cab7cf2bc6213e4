"""Batch runs for real (kernels, worker processes, a Dask cluster) on tiny notebooks and data.

The notebooks in tests/notebooks misbehave (raise, kill their kernel, kill their worker, sleep
past the timeout) only while a flag file exists, so one run shows the faults and
``--retry-failed`` then shows the recovery.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from papermill.execute import ERROR_MARKER_TAG
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.config import PROJ_ROOT
from spmlib.reports.notebook import read_glued
from spmlib.run.batch import BatchOptions, run_batch

pytestmark = pytest.mark.slow

TEST_NB = PROJ_ROOT / "tests" / "notebooks"
MINI = PROJ_ROOT / "tests" / "data" / "mini"  # 3 reps: R1, R2 in North; R3 in South
LIGHT = ("pandas", "IPython.display", "spmlib", "spmlib.reports.notebook")  # fast warm-up for tests


def _stray_kernels() -> list[psutil.Process]:
    """ipykernel processes started by this test process that are still running."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and "ipykernel_launcher" in " ".join(
                proc.cmdline()
            ):
                found.append(proc)
        except psutil.NoSuchProcess:
            pass
    return found


def _wait_no_strays(seconds: float = 5) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while _stray_kernels() and time.monotonic() < deadline:
        time.sleep(0.2)
    return _stray_kernels()


def _write_spec(folder: Path, flag: Path) -> Path:
    spec = folder / "batch.yml"
    spec.write_text(
        f"notebooks_dir: {TEST_NB}\n"
        "timeout: 60\n"
        "reports:\n"
        "  - notebook: ok\n    for_each: team\n"
        "  - notebook: ok\n    for_each: rep\n"
        f"  - notebook: raises\n    for_each: team\n    parameters: {{fail_team: South, flag_file: {flag}}}\n"
        f"  - notebook: kills_kernel\n    parameters: {{flag_file: {flag}}}\n"
        f"  - notebook: kills_worker\n    parameters: {{flag_file: {flag}}}\n"
        f"  - notebook: sleeps\n    timeout: 4\n    parameters: {{flag_file: {flag}, seconds: 60.0}}\n"
    )
    return spec


def test_faults_are_isolated_then_retry_failed_recovers(tmp_path):
    flag = tmp_path / "misbehave"
    flag.touch()
    spec = _write_spec(tmp_path, flag)
    out = tmp_path / "outputs"
    warm = ["--warm-imports", ",".join(LIGHT), "--workers", "2", "--outputs", str(out)]
    cli = CliRunner().invoke(app, ["batch", str(spec), "--data", str(MINI), *warm])
    # exit 1 and a summary naming each failure, its cell and error, and how to retry
    assert cli.exit_code == 1, cli.output
    assert "raises__team-South: failed cell 5: ValueError: boom in team South" in cli.output
    assert "10 reports: 6 ok, 4 not ok" in cli.output
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    assert f"spm batch --retry-failed {run_dir.name}" in cli.output
    manifest = json.loads((run_dir / "manifest.json").read_text())
    by_id = {r["id"]: r for r in manifest["reports"]}
    statuses = {rid: r["status"] for rid, r in by_id.items()}
    assert statuses == {
        "ok__team-North": "ok",
        "ok__team-South": "ok",
        "ok__rep-R1": "ok",
        "ok__rep-R2": "ok",
        "ok__rep-R3": "ok",
        "raises__team-North": "ok",  # fail_team is South
        "raises__team-South": "failed",
        "kills_kernel__company": "failed",
        "kills_worker__company": "failed",
        "sleeps__company": "timeout",
    }
    assert manifest["status"] == "failed" and manifest["ended"] is not None
    assert manifest["data_fingerprint"].startswith("sha256:") and manifest["spmlib_version"]

    # the manifest names the failing cell: index 5 of the executed notebook (markdown, imports,
    # parameters, injected parameters, title glue, then the raising cell)
    raised = by_id["raises__team-South"]
    assert raised["error"] == {"cell": 5, "ename": "ValueError", "evalue": "boom in team South"}
    assert by_id["kills_kernel__company"]["error"]["ename"] == "DeadKernelError"
    assert by_id["kills_kernel__company"]["error"]["cell"] == 5
    assert by_id["kills_worker__company"]["error"]["ename"] == "WorkerDied"
    assert by_id["sleeps__company"]["error"]["ename"] in ("TimeoutError", "DeadKernelError")
    assert by_id["sleeps__company"]["seconds"] < 30
    # the cell that died or ran out of time is marked in the partial notebook as papermill marks
    # a cell error: a banner on top, an anchor just before the cell, its metadata
    for rid, source in (("kills_kernel__company", "SIGKILL"), ("sleeps__company", "time.sleep")):
        cells = nbformat.read(run_dir / "failed" / f"{rid}.ipynb", as_version=4).cells
        index = by_id[rid]["error"]["cell"]
        assert ERROR_MARKER_TAG in cells[0].metadata.tags
        assert 'id="papermill-error-cell"' in cells[index + 1].source
        assert source in cells[index + 2].source
        assert cells[index + 2].metadata.papermill["status"] == "failed"

    # atomic outputs: failed reports only have a partial notebook under failed/, never reports/
    reports = sorted(p.name for p in (run_dir / "reports").iterdir())
    ok_ids = sorted(rid for rid, s in statuses.items() if s == "ok")
    assert reports == sorted([f"{i}.html" for i in ok_ids] + [f"{i}.ipynb" for i in ok_ids])
    assert raised["outputs"] == {"partial": "failed/raises__team-South.ipynb"}
    assert (run_dir / raised["outputs"]["partial"]).exists()
    assert not list(run_dir.rglob(".*tmp*"))
    for r in manifest["reports"]:
        if r["status"] == "ok":
            assert r["outputs"] == {
                "html": f"reports/{r['id']}.html",
                "ipynb": f"reports/{r['id']}.ipynb",
            }

    # every report read the run's snapshot, and saw only its scope
    glued = {rid: read_glued(run_dir / "reports" / f"{rid}.ipynb") for rid in ok_ids}
    assert by_id["ok__team-North"]["parameters"]["data"] == str(run_dir / "data")
    assert glued["ok__team-North"]["n_reps"] == 2 and glued["ok__rep-R3"]["n_reps"] == 1
    # clean namespace: each ok report sets `leak`, no later report on the same kernel sees it
    assert all(g["leaked"] is False for rid, g in glued.items() if rid.startswith("ok__"))
    assert all(g["foreign_names"] == [] for rid, g in glued.items() if rid.startswith("ok__"))
    kernel_pids = [g["pid"] for rid, g in glued.items() if rid.startswith("ok__")]
    assert len(set(kernel_pids)) < len(kernel_pids), "kernels should be reused between reports"
    # always this interpreter's kernel
    assert {g["kernel_python"] for rid, g in glued.items() if rid.startswith("ok__")} == {
        sys.executable
    }

    # the index lists every report with its status, links only complete ones
    index = (run_dir / "index.html").read_text()
    assert 'href="reports/ok__team-North.html"' in index
    assert "boom in team South" in index and "WorkerDied" in index
    assert 'href="reports/raises__team-South.html"' not in index
    assert not (out / "latest").exists()  # no complete run yet
    assert _wait_no_strays() == []

    # retry: the faults are gone, only the 4 failed reports rerun, in the same run folder
    flag.unlink()
    cli = CliRunner().invoke(app, ["batch", "--retry-failed", run_dir.name, *warm])
    assert cli.exit_code == 0, cli.output
    assert "10 reports: 10 ok, 0 not ok" in cli.output
    after = json.loads((run_dir / "manifest.json").read_text())
    assert after["status"] == "complete" and len(after["retried"]) == 1
    assert all(r["status"] == "ok" for r in after["reports"])
    # the ok reports were not rerun: same outputs, same seconds
    assert {r["id"]: r["seconds"] for r in after["reports"] if r["id"].startswith("ok__")} == {
        rid: by_id[rid]["seconds"] for rid in by_id if rid.startswith("ok__")
    }
    assert not (run_dir / "failed" / "raises__team-South.ipynb").exists()
    assert (out / "latest").resolve() == run_dir
    assert os.readlink(out / "latest") == run_dir.name  # relative link
    assert _wait_no_strays() == []


def test_nothing_runs_when_no_report_matches(tmp_path):
    spec = tmp_path / "batch.yml"
    spec.write_text(f"notebooks_dir: {TEST_NB}\nreports:\n  - notebook: ok\n    for_each: team\n")
    out = tmp_path / "out"
    args = ["batch", str(spec), "--data", str(MINI), "--outputs", str(out), "--only", "team=West"]
    cli = CliRunner().invoke(app, args)
    assert cli.exit_code == 1 and "no report matches team=West" in cli.output
    assert not out.exists()
    assert _wait_no_strays() == []  # the workers started early were stopped, kernels too


def test_interrupted_batch_leaves_a_manifest_of_what_finished(tmp_path):
    spec = tmp_path / "batch.yml"
    spec.write_text(f"notebooks_dir: {TEST_NB}\nreports:\n  - notebook: ok\n    for_each: rep\n")
    seen = []

    def ctrl_c_after_first(event, job, total):
        if event == "done":
            seen.append(job.id)
            raise KeyboardInterrupt

    run_dir = run_batch(
        spec,
        data=MINI,
        options=BatchOptions(workers=1, warm_imports=LIGHT),
        outputs_dir=tmp_path / "out",
        progress=ctrl_c_after_first,
    ).run_dir
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["ended"]
    statuses = [r["status"] for r in manifest["reports"]]
    assert statuses == ["ok", "pending", "pending"] and seen == ["ok__rep-R1"]
    assert not (tmp_path / "out" / "latest").exists()
    assert _wait_no_strays() == []


def test_spm_run_one_report_and_kernel_cannot_be_shadowed(tmp_path, monkeypatch):
    # a broken kernel named "spm" in the user's Jupyter folders must not be used
    for var in ("JUPYTER_DATA_DIR", "JUPYTER_PATH"):
        fake = tmp_path / var / "kernels" / "spm"
        fake.mkdir(parents=True)
        (fake / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": ["/bin/false", "{connection_file}"],
                    "display_name": "x",
                    "language": "python",
                }
            )
        )
        monkeypatch.setenv(var, str(tmp_path / var))
    params = tmp_path / "p.yml"
    params.write_text("label: from file\nrepeat: 2\nnotebooks:\n  ok: {start: 2024-01-01}\n")
    out = tmp_path / "single"
    cli = CliRunner().invoke(
        app,
        [
            "run",
            str(TEST_NB / "ok.ipynb"),
            "-f",
            str(params),
            "-p",
            "data",
            str(MINI),
            "-p",
            "team",
            "North",
            "-p",
            "label",
            "<i>Q4</i>",
            "--out",
            str(out),
        ],
    )
    assert cli.exit_code == 0, cli.output
    assert sorted(p.name for p in out.iterdir()) == ["ok__team-North.html", "ok__team-North.ipynb"]
    glued = read_glued(out / "ok__team-North.ipynb")
    assert glued["kernel_python"] == sys.executable and glued["n_reps"] == 2
    html = (out / "ok__team-North.html").read_text()
    # -p wins over -f; YAML dates arrive as strings; values are escaped in the header
    assert "<b>label</b> = &lt;i&gt;Q4&lt;/i&gt;" in html and "<b>start</b> = 2024-01-01" in html
    assert "<b>repeat</b> = 2" in html

    cli = CliRunner().invoke(app, ["run", str(TEST_NB / "ok.ipynb"), "-p", "repeat", "twice"])
    assert cli.exit_code == 1 and "-p: parameter 'repeat' must be int" in cli.output
    cli = CliRunner().invoke(app, ["run", str(TEST_NB / "raises.ipynb"), "--out", str(out)])
    # no parameter given: papermill injects no parameters cell, so the raising cell is cell 4
    assert cli.exit_code == 1 and "cell 4: ValueError: boom in team None" in cli.output
    assert (out / "failed" / "raises__company.ipynb").exists()
    assert not (out / "raises__company.html").exists()
    assert _wait_no_strays() == []


def test_batch_on_a_real_local_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = tmp_path / "batch.yml"
    spec.write_text(
        f"notebooks_dir: {TEST_NB}\nreports:\n"
        "  - notebook: ok\n    for_each: team\n"
        "  - notebook: raises\n    parameters: {fail_team: all}\n"
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        run_dir = run_batch(
            spec,
            data=MINI,
            options=BatchOptions(scheduler=cluster.scheduler_address, warm_imports=LIGHT),
            outputs_dir=tmp_path / "out",
        ).run_dir
        n_workers = len(cluster.scheduler_info["workers"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["scheduler"] == cluster.scheduler_address and manifest["status"] == "failed"
    statuses = {r["id"]: r["status"] for r in manifest["reports"]}
    assert statuses == {"ok__team-North": "ok", "ok__team-South": "ok", "raises__company": "failed"}
    assert manifest["reports"][2]["error"]["ename"] == "ValueError"
    assert (run_dir / "reports" / "ok__team-South.html").exists()
    assert n_workers == 2
    assert _wait_no_strays() == []


def test_kernel_start_is_retried_and_the_kernel_imports_this_spmlib(tmp_path, monkeypatch):
    import spmlib
    from spmlib.run import kernels

    # started from another checkout's folder, the kernel still imports this spmlib
    fake = tmp_path / "other_checkout" / "spmlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('the spmlib of another checkout')\n")
    monkeypatch.chdir(fake.parent)

    calls = []
    real = kernels.WarmKernel._start_once

    def flaky(self):
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("kernel didn't respond in 60 seconds")  # what wait_for_ready raises
        real(self)

    monkeypatch.setattr(kernels.WarmKernel, "_start_once", flaky)
    kernel = kernels.WarmKernel(warm_imports=()).start()
    try:
        assert len(calls) == 2 and kernel.alive()
        code = f"import spmlib\nassert spmlib.__file__ == {spmlib.__file__!r}, spmlib.__file__"
        assert kernel.run_code(code)["status"] == "ok"
    finally:
        kernel.shutdown()
    assert _wait_no_strays() == []

    monkeypatch.setattr(
        kernels.WarmKernel, "_start_once", lambda self: (_ for _ in ()).throw(OSError("zmq"))
    )
    with pytest.raises(kernels.KernelStartError, match="did not start after 2 attempts"):
        kernels.WarmKernel(warm_imports=(), retries=1).start()


class _SQLiteWithLogin(SQLiteDialect_pysqlite):
    """SQLite behind a URL that carries a login, as a server database's does (the login is not
    used), so a batch can read a database whose URL holds a password."""

    supports_statement_cache = True

    def create_connect_args(self, url):
        return super().create_connect_args(url._replace(username=None, password=None))


def test_no_file_or_message_of_a_batch_shows_the_data_password(tmp_path):
    import pandas as pd
    import sqlalchemy
    from sqlalchemy.dialects import registry

    from spmlib.io.load import read_tables

    registry.register("sqlite.withlogin", __name__, "_SQLiteWithLogin")
    secret = "Pa55-w0rd"
    url = f"sqlite+withlogin://ann:{secret}@/{tmp_path / 'crm.db'}"
    engine = sqlalchemy.create_engine(url)
    tables, config, _files = read_tables(MINI)
    with engine.begin() as conn:
        for name, frame in tables.items():
            frame.to_sql(name, conn, index=False)
        rows = [(k, str(v)) for k, v in config.items()]
        pd.DataFrame(rows, columns=["key", "value"]).to_sql("dataset_config", conn, index=False)
    engine.dispose()
    spec = tmp_path / "batch.yml"
    spec.write_text(
        f"notebooks_dir: {TEST_NB}\nreports:\n"
        "  - notebook: ok\n    for_each: team\n"
        "  - notebook: raises\n"
    )
    out = tmp_path / "out"
    warm = ["--warm-imports", ",".join(LIGHT), "--workers", "1", "--outputs", str(out)]
    cli = CliRunner().invoke(app, ["batch", str(spec), "--data", url, *warm])
    assert cli.exit_code == 1 and "raises__company: failed" in cli.output  # raises always
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["data"] == f"sqlite+withlogin://ann:***@/{tmp_path / 'crm.db'}"
    written = [p for p in run_dir.rglob("*") if p.is_file()]
    assert len(written) >= 10  # manifest, index, 2 reports x 2 files, a partial, the snapshot
    assert [str(p) for p in written if secret.encode() in p.read_bytes()] == []
    assert secret not in cli.output
    # a bad parameter's message is masked too
    bad = CliRunner().invoke(app, ["run", str(TEST_NB / "ok.ipynb"), "-p", "repeat", url])
    assert bad.exit_code == 1 and "ann:***@" in bad.output and secret not in bad.output
    assert _wait_no_strays() == []


def test_workers_that_die_before_they_are_ready_fail_the_reports_instead_of_looping(
    tmp_path, monkeypatch
):
    from spmlib.run import runner

    # a "worker" that dies at once (os._exit called with the worker's five arguments raises)
    monkeypatch.setattr(runner, "worker_main", os._exit)
    spec = tmp_path / "batch.yml"
    spec.write_text(f"notebooks_dir: {TEST_NB}\nreports:\n  - notebook: ok\n    for_each: rep\n")
    result = run_batch(
        spec, data=MINI, options=BatchOptions(workers=2), outputs_dir=tmp_path / "out"
    )
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    errors = {r["error"]["ename"] for r in manifest["reports"]}
    assert errors == {"WorkerStartError"}
    assert (
        "4 worker processes died before they were ready"
        in manifest["reports"][0]["error"]["evalue"]
    )
