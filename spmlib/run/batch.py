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

A run writes ``outputs/<run-id>/``: ``manifest.json``, ``index.html``, ``reports/``, ``failed/``,
``data/`` and, when the reports compare with an earlier extract, ``previous/``.
:func:`retry_failed` reruns, in the same folder, the reports that are not ok.

**Since last week.** Reports that declare a ``compare_to`` parameter list what changed since an
earlier extract (:mod:`spmlib.reports.changes`). :func:`previous_extract` finds it: the one
given (a run id, a run folder, or a dataset folder), else the data of the last complete run of
the same spec with an earlier as-of date, else, for the bundled sample, the sample's own
previous extract (the same world a week earlier, :func:`spmlib.sample.resolve.previous_sample`),
else none. It is copied into the run as ``previous/`` and recorded in the manifest.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from spmlib.config import OUTPUTS_DIR
from spmlib.exceptions import SpecError
from spmlib.io.schema import Dataset
from spmlib.io.snapshot import data_fingerprint, snapshot_dataset
from spmlib.io.sources import is_url
from spmlib.run.job import Job, Outcome, Output, Status
from spmlib.run.kernels import DEFAULT_WARM_IMPORTS
from spmlib.run.manifest import Manifest, RunStatus, finish_run, new_run_id, now, resolve_run
from spmlib.run.plan import filter_reports, plan_reports
from spmlib.run.pool import LocalPool, default_workers, run_on_dask
from spmlib.run.runner import DEFAULT_KERNEL_REUSE
from spmlib.run.spec import load_spec

__all__ = [
    "BatchOptions",
    "BatchResult",
    "ProgressCallback",
    "NO_COMPARISON",
    "run_batch",
    "retry_failed",
    "previous_extract",
    "last_complete_run",
]

#: ``compare_to`` value that turns the comparison with an earlier extract off.
NO_COMPARISON = "none"
#: The run folder the previous extract is copied to.
PREVIOUS_SNAPSHOT = "previous"

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
    compare_to: str | None = None,
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
    compare_to : the earlier extract reports compare with (:func:`previous_extract`): a run id,
        a run folder or a dataset folder; None = the default; ``"none"`` = no comparison.

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
    previous, compared = previous_extract(compare_to, loaded.label, ds, data, mapping, outputs_dir)
    run_id = new_run_id()
    run_dir = outputs_dir / run_id
    compare_path = str(run_dir / PREVIOUS_SNAPSHOT) if previous is not None else None
    jobs = plan_reports(
        loaded, ds, str(run_dir / "data"), timeout=options.timeout, compare_path=compare_path
    )
    jobs = filter_reports(jobs, only)
    if not jobs:
        raise SpecError(f"{loaded.label}: no report matches {' '.join(only) or 'the spec'}")
    with _local_pool(options, len(jobs)) as pool:  # the kernels warm up while the data is written
        (run_dir / "reports").mkdir(parents=True)
        fingerprint = data_fingerprint(ds)
        snapshot_dataset(ds, run_dir / "data", fingerprint=fingerprint)
        if previous is not None:
            snapshot_dataset(previous, run_dir / PREVIOUS_SNAPSHOT)
        manifest = Manifest(
            run_id=run_id,
            spec=loaded.label,
            data=source if is_url(source) else str(Path(source).resolve()),
            data_fingerprint=fingerprint,
            jobs=jobs,
            workers=None if options.scheduler else _workers(options),
            scheduler=options.scheduler,
            as_of=ds.as_of.date().isoformat(),
            compare_to=compared,
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
        if manifest.compare_to and job.parameters.get("compare_to"):
            job.parameters["compare_to"] = str(run_dir / manifest.compare_to["snapshot"])
        job.timeout = float(options.timeout or job.timeout)
    if not todo:
        finish_run(run_dir, manifest, outputs_dir)
        return BatchResult(run_dir, manifest)
    with _local_pool(options, len(todo)) as pool:
        return _execute(run_dir, manifest, todo, options, outputs_dir, progress, pool)


def last_complete_run(
    outputs_dir: str | Path, spec_label: str, before: pd.Timestamp
) -> Path | None:
    """The folder of the last complete run of the spec ``spec_label`` whose data is as of a day
    before ``before`` (the latest such day; then the latest start), or None."""
    best: tuple[str, str, Path] | None = None
    for manifest_path in Path(outputs_dir).glob("*/manifest.json"):
        try:
            raw = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            continue
        as_of = raw.get("as_of")
        if raw.get("status") != "complete" or raw.get("spec") != spec_label or not as_of:
            continue
        if pd.Timestamp(as_of) >= before:
            continue
        key = (as_of, raw.get("started", ""), manifest_path.parent)
        best = key if best is None or key[:2] > best[:2] else best
    return best[2] if best else None


def previous_extract(
    compare_to: str | None,
    spec_label: str,
    ds: Dataset,
    data: str | Path | None,
    mapping: str | None,
    outputs_dir: Path,
) -> tuple[Dataset | None, dict[str, str] | None]:
    """The earlier extract the reports compare with, and how the manifest records it.

    ``compare_to``: ``"none"`` = no comparison; a run id or a run folder = that run's data
    snapshot; any other value = a dataset folder or URL (loaded with ``mapping``). None = the
    data of the last complete run of the same spec with an earlier as-of date
    (:func:`last_complete_run`), else, when ``data`` is the bundled sample (None), the sample's
    extract of a week earlier, else no comparison.

    Raises
    ------
    SpecError : the extract found is not earlier than ``ds``.
    """
    from spmlib.sample.resolve import load, previous_sample

    if compare_to is not None and str(compare_to).strip().lower() == NO_COMPARISON:
        return None, None
    run = None
    if compare_to:
        candidates = [Path(compare_to), Path(outputs_dir) / str(compare_to)]
        run = next((c for c in candidates if (c / "manifest.json").exists()), None)
    elif (found := last_complete_run(outputs_dir, spec_label, ds.as_of)) is not None:
        run = found
    if run is not None:
        manifest = Manifest.read(run)
        previous = load(run / manifest.data_snapshot)
        source = f"run {manifest.run_id}"
    elif compare_to:
        previous, source = load(compare_to, mapping=mapping), str(compare_to)
    elif data is None or str(data) == "":
        previous, source = load(previous_sample()), "the sample's extract of the week before"
    else:
        log.info("no earlier run of %s to compare with; reports list no changes", spec_label)
        return None, None
    if previous.as_of >= ds.as_of:
        raise SpecError(
            f"--compare-to {source} is as of {previous.as_of.date()}, not before the data's "
            f"{ds.as_of.date()}; give an earlier extract or run (or --compare-to none)"
        )
    info = {
        "source": source,
        "as_of": previous.as_of.date().isoformat(),
        "snapshot": PREVIOUS_SNAPSHOT,
    }
    return previous, info


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
