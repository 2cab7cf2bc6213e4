"""How one report executes: papermill on a warm kernel, HTML export, atomic writes.

:meth:`Runner.run` takes a :class:`~spmlib.run.job.Job` and an :class:`~spmlib.run.job.Output`
and returns an :class:`~spmlib.run.job.Outcome` (ok | failed | timeout, seconds, outputs relative
to the output folder, and for a failure the cell, error name and message). It never raises for a
failing report.

The report runs through :func:`papermill.execute_notebook` with the ``spm`` engine
(:mod:`spmlib.run.engine`), so papermill's rules hold: ``sys.exit(0)`` or ``SystemExit("")`` in a
cell ends the report successfully (the cells after it do not run), any other exception fails it,
and the failing cell is marked in the kept notebook with papermill's error banner and anchor
cells and its ``metadata.papermill``. A cell past the report's timeout or whose kernel dies is
marked the same way.

Each :class:`Runner` keeps one :class:`~spmlib.run.kernels.WarmKernel` and reuses it for up to
``kernel_reuse`` reports, resetting the namespace before each; after a failure, a timeout or a
dead kernel the kernel is replaced. Outputs are written aside and renamed into place only when
complete: ``reports/<id>.html`` then ``reports/<id>.ipynb``; a failed report's partial notebook
goes to ``failed/<id>.ipynb`` and never under ``reports/``. Every parameter value written (the
injected cell, ``metadata.papermill.parameters``, the HTML header) and every cell output (text,
HTML, errors) has its secrets masked (:func:`spmlib.io.sources.mask_secrets`). A complete
report keeps no stream output (stdout, stderr: warnings, log lines); they are logged and kept in
its ``metadata.spm.streams``. What it recorded for readers (title, headline, single-number
values) travels in the outcome's ``summary`` to the manifest and the run's index.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import weakref
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat

from spmlib.config import KERNEL_NAME
from spmlib.exceptions import KernelStartError
from spmlib.forecast.threads import limit_native_threads
from spmlib.io.sources import mask_secrets
from spmlib.reports.browser import atomic_write_notebook, write_report
from spmlib.reports.notebook import read_glued
from spmlib.run.engine import (
    ENGINE_NAME,
    IOPUB_TIMEOUT,
    Execution,
    mark_failed_cell,
    register_engine,
)
from spmlib.run.job import Job, Outcome, Output, ReportError, Status, report_summary
from spmlib.run.kernels import DEFAULT_WARM_IMPORTS, WarmKernel, kill_and_reap
from spmlib.run.lifeline import die_with_parent

__all__ = [
    "Runner",
    "run_job",
    "worker_main",
    "release_kernels",
    "DEFAULT_KERNEL_REUSE",
]

log = logging.getLogger(__name__)

#: A kernel runs at most this many reports before it is replaced by a fresh one.
DEFAULT_KERNEL_REUSE = 20
_KERNELSPEC = {"name": KERNEL_NAME, "display_name": "SPM workbench (.venv)", "language": "python"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Runner:
    """Runs report jobs one after the other on a reused warm kernel.

    Parameters
    ----------
    warm_imports : modules the kernel imports before its first report.
    kernel_reuse : reports per kernel before it is replaced (1 = a fresh kernel per report).
    """

    def __init__(
        self,
        warm_imports: tuple[str, ...] | list[str] = DEFAULT_WARM_IMPORTS,
        kernel_reuse: int = DEFAULT_KERNEL_REUSE,
    ):
        self.warm_imports = tuple(warm_imports)
        self.kernel_reuse = max(1, int(kernel_reuse))
        self.kernel: WarmKernel | None = None
        register_engine()
        _quiet_papermill()

    def warm_up(self) -> None:
        """Start the kernel now (instead of at the first report)."""
        self._kernel()

    def _kernel(self) -> WarmKernel:
        kernel = self.kernel
        if kernel is not None and (kernel.reports_run >= self.kernel_reuse or not kernel.alive()):
            self._drop_kernel()
        if self.kernel is None:
            self.kernel = WarmKernel(warm_imports=self.warm_imports).start()
        return self.kernel

    def _drop_kernel(self) -> None:
        if self.kernel is not None:
            self.kernel.shutdown()
            self.kernel = None

    def close(self) -> None:
        """Shut the kernel down (its process is killed and reaped)."""
        self._drop_kernel()

    def run(self, job: Job, output: Output) -> Outcome:
        """Run one report; return how it ended (never raises for a report failure)."""
        started = time.monotonic()
        execution = Execution()
        nb, status, error = self._execute(job, execution)
        if status is not Status.OK:
            self._drop_kernel()  # never reuse a kernel after a failure, a timeout or a death
        _mask_notebook(nb)
        nb.metadata["kernelspec"] = dict(_KERNELSPEC)
        nb.metadata["spm"] = {
            "report_id": job.id,
            "status": str(status),
            "error": error.to_dict() if error else None,
            "ended_early_at": _clean_exit(nb) if status is Status.OK else None,
            "finished": _now(),
        }
        summary: dict[str, Any] = {}
        if status is Status.OK:
            _set_aside_streams(nb, job.id)
            summary = report_summary(read_glued(nb))
        try:
            outputs = _write(nb, job, output, status)
        except Exception as exc:
            log.exception("could not write the outputs of %s", job.id)
            status, outputs, summary = Status.FAILED, {}, {}
            error = ReportError(None, type(exc).__name__, f"writing outputs: {exc}")
        seconds = round(time.monotonic() - started, 3)
        return Outcome(job.id, status, seconds, outputs, error, summary)

    def _execute(
        self, job: Job, execution: Execution
    ) -> tuple[nbformat.NotebookNode, Status, ReportError | None]:
        """Execute the notebook; returns it (marked when it failed), the status and the error."""
        import papermill
        from nbclient.exceptions import CellTimeoutError, DeadKernelError
        from papermill.exceptions import PapermillExecutionError

        timeout = float(job.timeout or 600)
        too_long = f"the report ran longer than its timeout of {timeout:g} s"
        watchdog_fired = threading.Event()
        status, error = Status.FAILED, None
        try:
            kernel = self._kernel()
            kernel.reset(Path(job.notebook_path).parent)

            def fire():
                watchdog_fired.set()
                kernel.kill()

            watchdog = threading.Timer(timeout + 5, fire)
            watchdog.daemon = True
            watchdog.start()
            try:
                papermill.execute_notebook(
                    job.notebook_path,
                    None,
                    job.parameters,
                    engine_name=ENGINE_NAME,
                    kernel_name=KERNEL_NAME,
                    language="python",
                    progress_bar=False,
                    request_save_on_cell_execute=False,
                    kernel=kernel,
                    deadline=time.monotonic() + timeout,
                    execution=execution,
                )
                status = Status.OK
            finally:
                watchdog.cancel()
                kernel.reports_run += 1
        except PapermillExecutionError as exc:  # papermill marked the failing cell already
            return execution.nb, status, ReportError(exc.cell_index, exc.ename, exc.evalue)
        except CellTimeoutError as exc:
            if "IOPub" in str(exc):  # the cell ended, some of its outputs never came
                evalue = f"the cell's outputs did not all arrive within {IOPUB_TIMEOUT} s"
                error = ReportError(execution.cell, "IOPubTimeout", evalue)
            else:
                status, error = (
                    Status.TIMEOUT,
                    ReportError(execution.cell, "TimeoutError", too_long),
                )
        except DeadKernelError:
            if watchdog_fired.is_set():
                status, evalue = Status.TIMEOUT, too_long
            else:
                evalue = "the kernel died while running this cell (crash, out of memory or killed)"
            error = ReportError(execution.cell, "DeadKernelError", evalue)
        except KernelStartError as exc:
            error = ReportError(None, "KernelStartError", str(exc))
        except Exception as exc:  # anything else: still one report's failure, not the batch's
            log.exception("report %s failed outside its cells", job.id)
            error = ReportError(execution.cell, type(exc).__name__, str(exc))
        nb = execution.nb
        if nb is None:  # it never started: keep the notebook as it was
            return nbformat.read(job.notebook_path, as_version=4), status, error
        if status is not Status.OK and execution.cell is not None:
            mark_failed_cell(nb, execution.cell)  # a timeout or a death: papermill does not mark
        return nb, status, error


def _is_clean_exit(output: Any) -> bool:
    """IPython's two outputs of a ``sys.exit(0)`` / ``SystemExit("")``: the error papermill
    accepts as a clean end, and the "To exit: use 'exit'" warning."""
    if output.get("output_type") == "error":
        return output.get("ename") == "SystemExit" and output.get("evalue") in ("", "0")
    return output.get("name") == "stderr" and "To exit: use 'exit'" in str(output.get("text"))


def _clean_exit(nb: nbformat.NotebookNode) -> int | None:
    """The index of the cell that ended a successful report with a clean exit (None when it ran
    to the end); that cell's exit outputs are removed, so a stakeholder sees the report's own
    last words ("no deals this quarter"), not a SystemExit. Its ``metadata.papermill`` keeps
    papermill's record."""
    for index, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        if any(o.get("output_type") == "error" and _is_clean_exit(o) for o in outputs):
            cell.outputs = [o for o in outputs if not _is_clean_exit(o)]
            return index
    return None


def _papermill_noise(record: logging.LogRecord) -> bool:
    """False for papermill's warnings about the parameters cell: its line parser gives up on
    some comments and then calls every parameter unknown, while the parameters were already
    checked against the cell (parsed with :mod:`ast`) before the batch ran."""
    text = str(record.msg)
    return not text.startswith(("Unable to parse line", "Passed unknown parameter"))


@lru_cache(maxsize=1)
def _quiet_papermill() -> None:
    for name in ("papermill", "papermill.translators"):
        logging.getLogger(name).addFilter(_papermill_noise)


def _set_aside_streams(nb: nbformat.NotebookNode, report_id: str) -> None:
    """Take the stream outputs (stdout, stderr: warnings, log lines) out of a complete report,
    so none reaches its readers; they are kept in ``metadata.spm.streams`` and logged, for
    whoever debugs the report."""
    kept = []
    for index, cell in enumerate(nb.cells):
        streams = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
        if streams:
            cell.outputs = [o for o in cell.outputs if o.get("output_type") != "stream"]
            for o in streams:
                text = "".join(o.get("text", ""))
                kept.append({"cell": index, "name": o.get("name"), "text": text})
                log.warning("report %s, cell %d wrote to %s: %s", report_id, index,
                            o.get("name"), text.strip()[:500])  # fmt: skip
    if kept:
        nb.metadata.setdefault("spm", {})["streams"] = kept


def _mask_notebook(nb: nbformat.NotebookNode) -> None:
    """Mask secrets in everything a notebook records: the injected parameters, papermill's
    metadata, and every cell's outputs (streams, HTML and text, errors and their tracebacks),
    so a report that prints its ``data`` URL or fails to reach the database shows no password.
    Images are left as they are."""
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = mask_secrets(cell.source)
        for output in cell.get("outputs", []):
            for key, value in output.items():
                if key == "data":
                    for mime, content in value.items():
                        if not mime.startswith("image/"):
                            value[mime] = _masked_value(content)
                elif key in ("text", "evalue", "traceback"):
                    output[key] = _masked_value(value)
    recorded = nb.metadata.get("papermill", {}).get("parameters")
    if recorded:
        nb.metadata.papermill["parameters"] = _masked(recorded)


def _masked_value(value: Any) -> Any:
    """``value`` with :func:`mask_secrets` applied to every string in it (lists and dicts too)."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, list):
        return [_masked_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked_value(v) for k, v in value.items()}
    return value


def _masked(parameters: dict[str, Any]) -> dict[str, Any]:
    return {k: mask_secrets(v) if isinstance(v, str) else v for k, v in parameters.items()}


def _write(nb: nbformat.NotebookNode, job: Job, output: Output, status: Status) -> dict[str, str]:
    """Write a report's files; returns their paths relative to the output folder."""
    folder = Path(output.folder)
    failed = folder / output.failed / f"{job.id}.ipynb"
    if status is not Status.OK:
        return {"partial": str(atomic_write_notebook(failed, nb).relative_to(folder))}
    reports = folder / output.reports
    index = os.path.relpath(folder / output.index, reports) if output.index else None
    written = write_report(
        nb,
        reports / f"{job.id}.ipynb",
        reports / f"{job.id}.html" if output.html else None,
        parameters=_masked(job.parameters),
        rendered=_now(),
        index=Path(index).as_posix() if index else None,
    )
    if failed.exists():
        failed.unlink()  # a retry that succeeded: the old partial notebook goes
    return {k: str(p.relative_to(folder)) for k, p in written.items()}


# --- entry points for worker processes and Dask ------------------------------------------------

_thread = threading.local()
_RUNNERS: weakref.WeakSet[Runner] = weakref.WeakSet()


def run_job(
    job: Job,
    output: Output,
    warm_imports: tuple[str, ...] = DEFAULT_WARM_IMPORTS,
    kernel_reuse: int = DEFAULT_KERNEL_REUSE,
) -> Outcome:
    """Run one job on this thread's :class:`Runner` (kept warm between calls).

    Self-contained and importable, so a Dask worker can run it: it receives paths and writes its
    outputs under ``output.folder`` on the shared filesystem.
    """
    runner = getattr(_thread, "runner", None)
    if runner is None:
        runner = Runner(warm_imports=warm_imports, kernel_reuse=kernel_reuse)
        _thread.runner = runner
        _RUNNERS.add(runner)
    return runner.run(job, output)


def release_kernels() -> int:
    """Kill the kernels of every :func:`run_job` runner of this process, from any thread
    (Dask: ``client.run(release_kernels)`` after a batch, so no kernel outlives it).
    Returns how many kernels were killed; the runners start fresh ones when used again."""
    killed = 0
    for runner in list(_RUNNERS):
        kernel = runner.kernel
        if kernel is not None and kernel.pid is not None:
            kill_and_reap(kernel.pid)
            killed += 1
    return killed


def worker_main(worker_id: int, tasks, results, options: dict[str, Any], stop=None) -> None:
    """Loop of a local worker process: take ``(job, output)`` pairs from ``tasks`` until ``None``
    (or until the ``stop`` event is set), report ``("start", worker_id, job.id)`` then
    ``("done", worker_id, outcome)`` to ``results``. Its kernel is shut down on exit, also on
    SIGTERM, which it gets when the batch's process (``options["parent_pid"]``) dies
    (:func:`spmlib.run.lifeline.die_with_parent`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the parent
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the finally: no stray kernel
    logging.basicConfig(level=options.get("log_level", logging.WARNING))
    if options.get("parent_pid"):  # the batch was killed outright: stop, kernel shut down
        die_with_parent(int(options["parent_pid"]), signal.SIGTERM)
    # One native thread per worker and per kernel it starts: parallel workers must not
    # oversubscribe the cores with BLAS/OpenMP pools (spmlib.forecast.threads).
    limit_native_threads(options.get("native_threads", 1))
    runner = Runner(
        warm_imports=options.get("warm_imports") or DEFAULT_WARM_IMPORTS,
        kernel_reuse=options.get("kernel_reuse", DEFAULT_KERNEL_REUSE),
    )
    try:
        try:
            runner.warm_up()
        except KernelStartError as exc:
            log.error("worker %d: %s", worker_id, exc)
        results.put(("ready", worker_id, os.getpid()))
        while True:
            task = tasks.get()
            if task is None or (stop is not None and stop.is_set()):
                break
            job, output = task
            results.put(("start", worker_id, job.id))
            results.put(("done", worker_id, runner.run(job, output)))
    finally:
        runner.close()
