"""A run's record: ``manifest.json``, ``index.html`` and the ``outputs/latest`` link.

``outputs/<run-id>/manifest.json`` is rewritten atomically after every report. Per run: its id,
the spec, the data location (secrets masked), the snapshot folder, the data fingerprint, the
spmlib version, start and end, the run status (:class:`RunStatus`), the workers or the Dask
scheduler, the retries, the data's as-of date and the previous extract the reports compared
with (``compare_to``); per report, its :meth:`~spmlib.run.job.Job.to_manifest` entry.
:mod:`spmlib.mail` reads this file; its format is kept.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from spmlib.config import OUTPUTS_DIR
from spmlib.exceptions import SpecError
from spmlib.io.files import atomic_write_json, atomic_write_text, follow_pointer, point_to
from spmlib.io.sources import mask_secrets
from spmlib.run.index import read_people, render_portal
from spmlib.run.job import Job, Status

__all__ = [
    "RunStatus",
    "Manifest",
    "new_run_id",
    "now",
    "render_index",
    "finish_run",
    "resolve_run",
    "summarize_failures",
]


log = logging.getLogger(__name__)


class RunStatus(StrEnum):
    """The state of a run."""

    RUNNING = "running"
    COMPLETE = "complete"  # every report ok
    FAILED = "failed"  # some report failed or timed out
    INTERRUPTED = "interrupted"  # some report never finished (Ctrl-C)


def now() -> str:
    """The current UTC time as ``2026-11-24T09:12:00Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id() -> str:
    """A run id like ``20261124T0912Z-3f2a`` (UTC minute plus 4 random hex digits)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%MZ}-{secrets.token_hex(2)}"


def _spmlib_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("spmlib")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


@dataclass
class Manifest:
    """What ``manifest.json`` holds (see the module docstring); ``jobs`` are the reports;
    ``as_of`` is the data's reference date, ``compare_to`` the previous extract the reports
    compared with (``source``, ``as_of``, ``snapshot``: its folder in the run)."""

    run_id: str
    spec: str
    data: str
    data_fingerprint: str
    jobs: list[Job]
    data_snapshot: str = "data"
    spmlib_version: str = field(default_factory=_spmlib_version)
    started: str = field(default_factory=now)
    ended: str | None = None
    status: RunStatus = RunStatus.RUNNING
    workers: int | None = None
    scheduler: str | None = None
    retried: list[str] = field(default_factory=list)
    as_of: str | None = None
    compare_to: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (reports as their manifest entries)."""
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "spec": self.spec,
            "data": mask_secrets(self.data),
            "data_snapshot": self.data_snapshot,
            "data_fingerprint": self.data_fingerprint,
            "spmlib_version": self.spmlib_version,
            "started": self.started,
            "ended": self.ended,
            "status": str(self.status),
            "workers": self.workers,
            "scheduler": self.scheduler,
            "reports": [job.to_manifest() for job in self.jobs],
        }
        if self.retried:
            out["retried"] = list(self.retried)
        if self.as_of is not None:
            out["as_of"] = self.as_of
        if self.compare_to is not None:
            out["compare_to"] = {k: mask_secrets(v) for k, v in self.compare_to.items()}
        return out

    @classmethod
    def read(cls, run_dir: str | Path) -> Manifest:
        """The manifest of a run folder."""
        raw = json.loads((Path(run_dir) / "manifest.json").read_text())
        return cls(
            run_id=raw["run_id"],
            spec=raw.get("spec", ""),
            data=raw.get("data", ""),
            data_fingerprint=raw.get("data_fingerprint", ""),
            jobs=[Job.from_manifest(r) for r in raw.get("reports", [])],
            data_snapshot=raw.get("data_snapshot", "data"),
            spmlib_version=raw.get("spmlib_version", "unknown"),
            started=raw.get("started", ""),
            ended=raw.get("ended"),
            status=RunStatus(raw.get("status", "running")),
            workers=raw.get("workers"),
            scheduler=raw.get("scheduler"),
            retried=list(raw.get("retried", [])),
            as_of=raw.get("as_of"),
            compare_to=raw.get("compare_to"),
        )

    def write(self, run_dir: str | Path) -> None:
        """Write ``manifest.json`` atomically."""
        atomic_write_json(Path(run_dir) / "manifest.json", self.to_dict())

    def run_status(self) -> RunStatus:
        """The run's status from its reports' statuses."""
        statuses = {job.status for job in self.jobs}
        if not all(s.finished for s in statuses):
            return RunStatus.INTERRUPTED
        return RunStatus.FAILED if statuses - {Status.OK} else RunStatus.COMPLETE


def render_index(manifest: dict[str, Any], run_dir: str | Path | None = None) -> str:
    """``index.html`` of a run (from its ``manifest.json`` document): a portal grouped by team
    (:mod:`spmlib.run.index`), with the names of reps and managers from the run's data snapshot
    in ``run_dir`` when given. Failures show their cell and error. Every text from the data is
    escaped (jinja2 autoescape)."""
    people, currency = (None, "USD")
    if run_dir is not None:
        people, currency = read_people(Path(run_dir) / manifest.get("data_snapshot", "data"))
    return render_portal(manifest, people, currency)


def finish_run(run_dir: Path, manifest: Manifest, outputs_dir: Path) -> None:
    """Close a run: its status and end time, ``manifest.json``, ``index.html``, and
    ``outputs/latest`` when every report is ok. Running reports (an interrupted run) go back
    to pending."""
    for job in manifest.jobs:
        if job.status is Status.RUNNING:
            job.reset()
    manifest.status = manifest.run_status()
    manifest.ended = now()
    document = manifest.to_dict()
    atomic_write_json(run_dir / "manifest.json", document)
    atomic_write_text(run_dir / "index.html", render_index(document, run_dir))
    if manifest.status is RunStatus.COMPLETE:
        _point_latest(outputs_dir, run_dir)


def _point_latest(outputs_dir: Path, run_dir: Path) -> None:
    """Point ``outputs/latest`` at ``run_dir``: a relative symlink, or a text file naming the run
    where the filesystem has no symlinks (:func:`spmlib.io.files.point_to`)."""
    try:
        point_to(outputs_dir / "latest", run_dir)
    except OSError as exc:
        log.warning("outputs/latest was not updated: %s", exc)


def resolve_run(run: str | Path, outputs_dir: str | Path = OUTPUTS_DIR) -> Path:
    """The folder of a run given its id, ``latest`` or a path (``latest`` as a symlink or as the
    pointer file written where symlinks are missing).

    Raises
    ------
    SpecError : no ``manifest.json`` there.
    """
    path = follow_pointer(run)
    if not (path / "manifest.json").exists():
        path = follow_pointer(Path(outputs_dir) / str(run))
    if not (path / "manifest.json").exists():
        raise SpecError(f"run {str(run)!r} not found: no manifest.json in {path}")
    return path.resolve()


def summarize_failures(jobs: list[Job]) -> list[str]:
    """One line per report that is not ok: id, status, cell and error, partial notebook.

    Examples
    --------
    >>> from spmlib.run.job import Outcome, ReportError
    >>> job = Job("funnel__team-A", "funnel", "funnel.ipynb", {"team": "A"}, {})
    >>> job.finish(Outcome(job.id, Status.FAILED, 1.0, {"partial": "failed/funnel__team-A.ipynb"},
    ...                    ReportError(5, "ValueError", "boom")))
    >>> for line in summarize_failures([job, Job("x__company", "x", "x.ipynb", {}, {})]):
    ...     print(line)
    funnel__team-A: failed cell 5: ValueError: boom (partial notebook: failed/funnel__team-A.ipynb)
    x__company: pending: did not finish
    """
    lines = []
    for job in jobs:
        if job.status is Status.OK:
            continue
        outcome = job.outcome
        error = outcome.error if outcome else None
        cell = f" cell {error.cell}" if error and error.cell is not None else ""
        what = f"{error.ename}: {mask_secrets(error.evalue)}" if error else "did not finish"
        partial = outcome.outputs.get("partial") if outcome else None
        lines.append(
            f"{job.id}: {job.status}{cell}: {what}"
            + (f" (partial notebook: {partial})" if partial else "")
        )
    return lines
