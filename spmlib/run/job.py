"""One report to run (:class:`Job`), where its files go (:class:`Output`) and how it ended
(:class:`Outcome`).

A job is planned once (:func:`spmlib.run.plan.plan_reports`), travels to a worker process or a
Dask worker (it pickles), and moves through explicit states::

    pending --start()--> running --finish(outcome)--> ok | failed | timeout
       ^                    |                              |
       +------reset()-------+------------reset()-----------+   (interrupted run, retry)

Its manifest entry (:meth:`Job.to_manifest`) keeps the ``manifest.json`` format that
:mod:`spmlib.mail` and ``spm batch --retry-failed`` read: ``id``, ``notebook``, ``kind``,
``notebook_path``, ``scope``, ``parameters``, ``timeout``, ``status``, ``seconds``, ``outputs``,
``error`` and ``summary``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from spmlib.config import PROJ_ROOT
from spmlib.io.sources import mask_secrets

__all__ = ["Status", "ReportError", "Outcome", "Output", "Job", "path_label", "report_summary"]


class Status(StrEnum):
    """The state of one report."""

    PENDING = "pending"
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"

    @property
    def finished(self) -> bool:
        """True for the end states (ok, failed, timeout)."""
        return self in (Status.OK, Status.FAILED, Status.TIMEOUT)


@dataclass(frozen=True)
class ReportError:
    """Why a report failed.

    Attributes
    ----------
    cell : 0-based index of the failing cell in the executed notebook (before papermill's two
        marker cells are inserted), None when no cell was running.
    ename, evalue : the exception's name and message.
    """

    cell: int | None
    ename: str
    evalue: str

    def to_dict(self) -> dict[str, Any]:
        return {"cell": self.cell, "ename": self.ename, "evalue": mask_secrets(self.evalue)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> ReportError | None:
        if not raw:
            return None
        return cls(raw.get("cell"), str(raw.get("ename")), str(raw.get("evalue")))

    def __str__(self) -> str:
        cell = f"cell {self.cell}: " if self.cell is not None else ""
        return f"{cell}{self.ename}: {self.evalue}"


@dataclass(frozen=True)
class Outcome:
    """How one execution of a report ended (what the runner returns; it never raises).

    Attributes
    ----------
    id : the report's id.
    status : ok, failed or timeout.
    seconds : wall time of the execution, None when it never started (a dead worker).
    outputs : written files relative to the output folder: ``html`` and ``ipynb`` for a
        complete report, ``partial`` (``failed/<id>.ipynb``) for a failed one.
    error : why it failed (None when ok).
    summary : what the report recorded for its readers (:func:`report_summary`): ``title``,
        ``headline`` and its single-number ``values``; the run's index shows them.
    """

    id: str
    status: Status
    seconds: float | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    error: ReportError | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failure(cls, report_id: str, ename: str, evalue: str) -> Outcome:
        """A failure outside any cell (a dead worker, a lost Dask task)."""
        return cls(report_id, Status.FAILED, error=ReportError(None, ename, evalue))


@dataclass(frozen=True)
class Output:
    """Where the reports of one run are written.

    Attributes
    ----------
    folder : the run folder; outcome paths are relative to it.
    reports : sub-folder of complete reports (``.`` for ``spm run``).
    failed : sub-folder of the partial notebooks of failed reports.
    html : also export browser HTML beside each notebook.
    index : the run's index page, relative to ``folder`` (each browser report links back to
        it); None when there is none (``spm run``).
    """

    folder: str
    reports: str = "reports"
    failed: str = "failed"
    html: bool = True
    index: str | None = "index.html"


@dataclass
class Job:
    """One report: which notebook, for which scope, with which parameters, and its state.

    Attributes
    ----------
    id : the report id, also its file name (:func:`spmlib.run.plan.report_id`).
    kind : the notebook's name (``funnel``); a key of :data:`spmlib.reports.params.REPORT_PARAMS`
        for the report notebooks.
    notebook_path : absolute path of the notebook.
    scope : ``team`` / ``rep_id`` / ``manager`` (empty for the company).
    parameters : the merged, checked parameters injected into the notebook.
    timeout : seconds for the whole report.
    status : see :class:`Status`; changed only by :meth:`start`, :meth:`finish`, :meth:`reset`.
    outcome : how its last execution ended (None until it finished once).
    """

    id: str
    kind: str
    notebook_path: str
    scope: dict[str, str]
    parameters: dict[str, Any]
    timeout: float = 600.0
    status: Status = Status.PENDING
    outcome: Outcome | None = None

    def start(self) -> None:
        """pending → running."""
        if self.status is not Status.PENDING:
            raise RuntimeError(f"report {self.id} cannot start: it is {self.status}")
        self.status = Status.RUNNING

    def finish(self, outcome: Outcome) -> None:
        """pending/running → ok, failed or timeout (a dead worker may finish a pending job)."""
        if self.status.finished or not outcome.status.finished:
            raise RuntimeError(f"report {self.id} cannot go from {self.status} to {outcome.status}")
        self.status, self.outcome = outcome.status, outcome

    def reset(self) -> None:
        """Back to pending: a running report of an interrupted run, or a report to retry."""
        self.status, self.outcome = Status.PENDING, None

    def to_manifest(self) -> dict[str, Any]:
        """The job's ``manifest.json`` entry (string parameters with secrets masked)."""
        outcome = self.outcome
        return {
            "id": self.id,
            "notebook": self.kind,
            "kind": self.kind,
            "notebook_path": path_label(self.notebook_path),
            "scope": dict(self.scope),
            "parameters": {
                k: mask_secrets(v) if isinstance(v, str) else v for k, v in self.parameters.items()
            },
            "timeout": self.timeout,
            "status": str(self.status),
            "seconds": outcome.seconds if outcome else None,
            "outputs": dict(outcome.outputs) if outcome else {},
            "error": outcome.error.to_dict() if outcome and outcome.error else None,
            "summary": dict(outcome.summary) if outcome else {},
        }

    @classmethod
    def from_manifest(cls, entry: dict[str, Any]) -> Job:
        """A job from its manifest entry (paths relative to the project made absolute)."""
        path = Path(entry["notebook_path"])
        status = Status(entry["status"])
        job = cls(
            id=entry["id"],
            kind=entry["kind"],
            notebook_path=str(path if path.is_absolute() else PROJ_ROOT / path),
            scope=dict(entry.get("scope") or {}),
            parameters=dict(entry.get("parameters") or {}),
            timeout=float(entry.get("timeout") or 600),
            status=status,
        )
        if status.finished:
            job.outcome = Outcome(
                job.id,
                status,
                entry.get("seconds"),
                dict(entry.get("outputs") or {}),
                ReportError.from_dict(entry.get("error")),
                dict(entry.get("summary") or {}),
            )
        return job


def path_label(path: str | Path) -> str:
    """A path as shown in messages and the manifest: relative to the project when inside it.

    Examples
    --------
    >>> path_label(PROJ_ROOT / "notebooks" / "funnel.ipynb")
    'notebooks/funnel.ipynb'
    >>> path_label("/elsewhere/x.yml")
    '/elsewhere/x.yml'
    """
    try:
        return str(Path(path).resolve().relative_to(PROJ_ROOT))
    except ValueError:
        return str(path)


def report_summary(glued: dict[str, Any]) -> dict[str, Any]:
    """What the run's index shows of a report: its ``title``, ``headline`` and the values it
    recorded (:func:`spmlib.reports.notebook.read_glued`) that are single numbers or words;
    tables and lists stay in the notebook.

    Examples
    --------
    >>> summary = report_summary({"title": "Funnel", "headline": ["Win rate 24%."],
    ...     "win_rate": 0.24, "funnel": [{"stage": "A"}], "rating": "Meets", "flag": True})
    >>> summary["title"], summary["headline"], summary["values"]
    ('Funnel', ['Win rate 24%.'], {'win_rate': 0.24, 'rating': 'Meets'})
    """
    values = {
        k: v
        for k, v in glued.items()
        if k not in ("title", "headline")
        and isinstance(v, int | float | str)
        and not isinstance(v, bool)
    }
    headline = glued.get("headline") or []
    return {
        "title": str(glued.get("title") or ""),
        "headline": [str(h) for h in ([headline] if isinstance(headline, str) else headline)],
        "values": values,
    }
