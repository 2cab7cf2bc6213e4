"""Batch reports: every report of a spec, checked first, run in parallel, recorded as it goes.

:func:`run_batch`:

1. reads the spec (:mod:`spmlib.run.spec`) and loads and validates the data once;
2. plans every report and checks every parameter and scope against the data
   (:mod:`spmlib.run.plan`, :mod:`spmlib.run.check`): any problem stops the batch here, all of
   them listed at once, before any worker or kernel starts and before anything is written;
3. starts the workers, which warm their kernels while the data is written as the Parquet
   snapshot every report reads (:func:`spmlib.io.snapshot.snapshot_dataset`);
4. runs the reports on the local workers or a Dask cluster (:mod:`spmlib.run.pool`,
   :mod:`spmlib.run.runner`) and records each in ``manifest.json``, then writes ``index.html``
   and points ``outputs/latest`` at a complete run (:mod:`spmlib.run.manifest`).

A run writes ``outputs/<run-id>/``: ``manifest.json``, ``index.html``, ``reports/``, ``failed/``
and ``data/``. :func:`retry_failed` reruns, in the same folder, the reports that are not ok.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from spmlib.config import OUTPUTS_DIR
from spmlib.exceptions import SpecError
from spmlib.io.snapshot import data_fingerprint, snapshot_dataset
from spmlib.io.sources import is_url
from spmlib.run.job import Job, Outcome, Output, Status
from spmlib.run.kernels import DEFAULT_WARM_IMPORTS
from spmlib.run.manifest import Manifest, RunStatus, finish_run, new_run_id, now, resolve_run
from spmlib.run.plan import filter_reports, plan_reports
from spmlib.run.pool import LocalPool, default_workers, run_on_dask
from spmlib.run.runner import DEFAULT_KERNEL_REUSE
from spmlib.run.spec import load_spec

__all__ = ["BatchOptions", "BatchResult", "ProgressCallback", "run_batch", "retry_failed"]

log = logging.getLogger(__name__)

#: ``progress(event, job, total)``: "begin" once (``job`` None, ``total`` reports to run), then
#: "start" and "done" for each report.
ProgressCallback = Callable[[str, Job | None, int], None]


@dataclass
class BatchOptions:
    """How a batch runs.

    Attributes
    ----------
    workers : local worker processes (default: the machine's cores).
    timeout : seconds per report; None = the spec's ``timeout`` (default 600).
    scheduler : a Dask scheduler address (``tcp://host:port``) to run the reports on instead.
    kernel_reuse : reports per warm kernel before it is replaced.
    warm_imports : modules each warm kernel imports before its first report.
    html : also export browser HTML.
    """

    workers: int | None = None
    timeout: float | None = None
    scheduler: str | None = None
    kernel_reuse: int = DEFAULT_KERNEL_REUSE
    warm_imports: tuple[str, ...] = DEFAULT_WARM_IMPORTS
    html: bool = True


@dataclass
class BatchResult:
    """The outcome of a batch: its folder and its manifest (as written)."""

    run_dir: Path
    manifest: Manifest

    @property
    def status(self) -> RunStatus:
        return self.manifest.status


def run_batch(
    spec: str | Path | None = None,
    data: str | Path | None = None,
    mapping: str | None = None,
    only: Iterable[str] = (),
    options: BatchOptions | None = None,
    outputs_dir: str | Path = OUTPUTS_DIR,
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Run every report of a spec into ``outputs_dir/<run-id>/``.

    Parameters
    ----------
    spec : the batch spec (default ``params/batch.yml``).
    data : dataset folder or URL; None = the sample data.
    mapping : CRM mapping applied when loading ``data``.
    only : ``KEY=VALUE`` filters (see :func:`spmlib.run.plan.filter_reports`).
    options : workers, timeout, scheduler, kernel reuse.
    outputs_dir : where the run folder is created (and ``latest`` points).
    progress : called as reports start and end.

    Returns
    -------
    BatchResult : the run folder and its manifest; ``status`` is "complete" when every report
        is ok, "failed" when some failed or timed out, "interrupted" after Ctrl-C.

    Raises
    ------
    SpecError, ParameterError : before anything runs (no worker started, nothing written).
    spmlib.exceptions.DataValidationError : when the data breaks the data model.
    """
    from spmlib.sample.resolve import load, resolve_data

    options = options or BatchOptions()
    loaded = load_spec(spec)
    source = resolve_data(data)
    ds = load(source, mapping=mapping)
    outputs_dir = Path(outputs_dir).resolve()
    run_id = new_run_id()
    run_dir = outputs_dir / run_id
    jobs = plan_reports(loaded, ds, str(run_dir / "data"), timeout=options.timeout)
    jobs = filter_reports(jobs, only)
    if not jobs:
        raise SpecError(f"{loaded.label}: no report matches {' '.join(only) or 'the spec'}")
    with _local_pool(options, len(jobs)) as pool:  # the kernels warm up while the data is written
        (run_dir / "reports").mkdir(parents=True)
        fingerprint = data_fingerprint(ds)
        snapshot_dataset(ds, run_dir / "data", fingerprint=fingerprint)
        manifest = Manifest(
            run_id=run_id,
            spec=loaded.label,
            data=source if is_url(source) else str(Path(source).resolve()),
            data_fingerprint=fingerprint,
            jobs=jobs,
            workers=None if options.scheduler else _workers(options),
            scheduler=options.scheduler,
        )
        return _execute(run_dir, manifest, jobs, options, outputs_dir, progress, pool)


def retry_failed(
    run: str | Path,
    options: BatchOptions | None = None,
    outputs_dir: str | Path = OUTPUTS_DIR,
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Rerun, in the same run folder, every report of a run that is not ``ok`` (failed,
    timed out, or never finished), with the parameters recorded in its manifest."""
    options = options or BatchOptions()
    outputs_dir = Path(outputs_dir).resolve()
    run_dir = resolve_run(run, outputs_dir)
    manifest = Manifest.read(run_dir)
    todo = [job for job in manifest.jobs if job.status is not Status.OK]
    manifest.retried.append(now())
    manifest.status, manifest.ended = RunStatus.RUNNING, None
    for job in todo:
        job.reset()
        job.parameters["data"] = str(run_dir / manifest.data_snapshot)
        job.timeout = float(options.timeout or job.timeout)
    if not todo:
        finish_run(run_dir, manifest, outputs_dir)
        return BatchResult(run_dir, manifest)
    with _local_pool(options, len(todo)) as pool:
        return _execute(run_dir, manifest, todo, options, outputs_dir, progress, pool)


def _workers(options: BatchOptions) -> int:
    return options.workers or default_workers()


@contextmanager
def _local_pool(options: BatchOptions, n_jobs: int) -> Iterator[LocalPool | None]:
    """The local workers (None with a Dask scheduler), stopped at the end."""
    if options.scheduler:
        yield None
        return
    pool = LocalPool(min(n_jobs, _workers(options)), options.warm_imports, options.kernel_reuse)
    try:
        yield pool
    finally:
        pool.close()


def _execute(
    run_dir: Path,
    manifest: Manifest,
    jobs: list[Job],
    options: BatchOptions,
    outputs_dir: Path,
    progress: ProgressCallback | None,
    pool: LocalPool | None,
) -> BatchResult:
    by_id = {job.id: job for job in manifest.jobs}
    total = len(jobs)

    def on_start(report_id: str) -> None:
        job = by_id[report_id]
        job.start()
        if progress:
            progress("start", job, total)

    def on_done(outcome: Outcome) -> None:
        job = by_id[outcome.id]
        job.finish(outcome)
        manifest.write(run_dir)
        if progress:
            progress("done", job, total)

    manifest.write(run_dir)
    if progress:
        progress("begin", None, total)
    output = Output(str(run_dir), html=options.html)
    try:
        if pool is None:
            run_on_dask(
                jobs,
                output,
                str(options.scheduler),
                manifest.run_id,
                options.warm_imports,
                options.kernel_reuse,
                on_done,
            )
        else:
            pool.run(jobs, output, on_start, on_done)
    except KeyboardInterrupt:
        log.warning("batch interrupted; the manifest records what finished")
    finally:
        finish_run(run_dir, manifest, outputs_dir)
    return BatchResult(run_dir, manifest)
