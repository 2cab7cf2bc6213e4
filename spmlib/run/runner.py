"""How one report executes: parameterize, run on a warm kernel, export HTML, write atomically.

A *job* is a plain dict (so it travels to worker processes and Dask workers unchanged)::

    {"id": "funnel__team-Atlas", "kind": "funnel", "notebook_path": "/abs/notebooks/funnel.ipynb",
     "scope": {"team": "Atlas"}, "parameters": {...}, "run_dir": "/abs/outputs/<run-id>",
     "timeout": 600, "warm_imports": [...], "kernel_reuse": 20}

:meth:`Runner.run` returns the report's manifest fields: ``status`` (ok | failed | timeout),
``seconds``, ``outputs`` (paths relative to the run folder) and ``error`` (``cell``: the 0-based
index of the failing cell in the executed notebook, ``ename``, ``evalue``). It never raises for a
failing report.

Each :class:`Runner` keeps one :class:`~spmlib.run.kernels.WarmKernel` and reuses it for up to
``kernel_reuse`` reports, resetting the namespace before each; after a failure, a timeout or a
dead kernel the kernel is replaced. Outputs are written aside and renamed into place only when
complete: ``reports/<id>.html`` then ``reports/<id>.ipynb``; a failed report's partial notebook
goes to ``failed/<id>.ipynb`` and never under ``reports/``.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
import time
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat

from spmlib.config import KERNEL_NAME
from spmlib.exceptions import KernelStartError
from spmlib.forecast.threads import limit_native_threads
from spmlib.reports.browser import atomic_write_notebook, write_report
from spmlib.run.kernels import DEFAULT_WARM_IMPORTS, WarmKernel, kill_and_reap

__all__ = [
    "Runner",
    "run_job",
    "worker_main",
    "close_thread_runner",
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

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        """Run one report job; return its manifest fields (never raises for a report failure)."""
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
        from papermill.iorw import load_notebook_node
        from papermill.parameterize import parameterize_notebook

        started = time.monotonic()
        run_dir = Path(job["run_dir"])
        report_id = job["id"]
        timeout = float(job.get("timeout") or 600)
        parameters = dict(job.get("parameters", {}))
        result: dict[str, Any] = {"id": report_id, "status": "failed", "outputs": {}, "error": None}
        self.kernel_reuse = max(1, int(job.get("kernel_reuse", self.kernel_reuse)))
        if job.get("warm_imports") is not None:
            self.warm_imports = tuple(job["warm_imports"])

        notebook_path = Path(job["notebook_path"])
        current = {"index": None}
        watchdog_fired = threading.Event()
        kernel: WarmKernel | None = None
        nb = nbformat.v4.new_notebook()
        try:
            nb = load_notebook_node(str(notebook_path))
            nb.metadata["kernelspec"] = dict(_KERNELSPEC)
            nb = parameterize_notebook(nb, parameters, kernel_name=KERNEL_NAME, language="python")
            kernel = self._kernel()
            kernel.reset(notebook_path.parent)
            deadline = time.monotonic() + timeout

            def on_cell_start(cell=None, cell_index=None, **_):
                current["index"] = cell_index

            client = NotebookClient(
                nb,
                km=kernel.km,
                kernel_name=KERNEL_NAME,
                timeout=int(timeout),
                timeout_func=lambda cell: max(1, int(deadline - time.monotonic()) + 1),
                interrupt_on_timeout=False,
                record_timing=True,
                on_cell_start=on_cell_start,
                resources={"metadata": {"path": str(notebook_path.parent)}},
            )
            client.kc = kernel.kc

            def fire():
                watchdog_fired.set()
                kernel.kill()

            watchdog = threading.Timer(timeout + 5, fire)
            watchdog.daemon = True
            watchdog.start()
            try:
                client.execute()
                result["status"] = "ok"
            finally:
                watchdog.cancel()
                atexit.unregister(client._cleanup_kernel)
                kernel.reports_run += 1
        except CellExecutionError as exc:
            result["error"] = {"cell": current["index"], "ename": exc.ename, "evalue": exc.evalue}
        except CellTimeoutError:
            result["status"] = "timeout"
            result["error"] = {
                "cell": current["index"],
                "ename": "TimeoutError",
                "evalue": f"the report ran longer than its timeout of {timeout:g} s",
            }
        except DeadKernelError:
            if watchdog_fired.is_set():
                result["status"] = "timeout"
                evalue = f"the report ran longer than its timeout of {timeout:g} s"
            else:
                evalue = "the kernel died while running this cell (crash, out of memory or killed)"
            result["error"] = {
                "cell": current["index"],
                "ename": "DeadKernelError",
                "evalue": evalue,
            }
        except KernelStartError as exc:
            result["error"] = {"cell": None, "ename": "KernelStartError", "evalue": str(exc)}
        except Exception as exc:  # anything else: still one report's failure, not the batch's
            log.exception("report %s failed outside its cells", report_id)
            result["error"] = {
                "cell": current["index"],
                "ename": type(exc).__name__,
                "evalue": str(exc),
            }
        if result["status"] != "ok":
            self._drop_kernel()  # never reuse a kernel after a failure, a timeout or a death

        nb.metadata["spm"] = {
            "report_id": report_id,
            "status": result["status"],
            "error": result["error"],
            "finished": _now(),
        }
        try:
            if result["status"] == "ok":
                reports = run_dir / job.get("reports_subdir", "reports")
                written = write_report(
                    nb,
                    reports / f"{report_id}.ipynb",
                    reports / f"{report_id}.html" if job.get("html", True) else None,
                    parameters=parameters,
                    rendered=_now(),
                )
                result["outputs"] = {k: str(p.relative_to(run_dir)) for k, p in written.items()}
                stale = run_dir / job.get("failed_subdir", "failed") / f"{report_id}.ipynb"
                if stale.exists():
                    stale.unlink()
            else:
                failed = run_dir / job.get("failed_subdir", "failed")
                partial = atomic_write_notebook(failed / f"{report_id}.ipynb", nb)
                result["outputs"] = {"partial": str(partial.relative_to(run_dir))}
        except Exception as exc:
            log.exception("could not write the outputs of %s", report_id)
            result.update(
                status="failed",
                outputs={},
                error={
                    "cell": None,
                    "ename": type(exc).__name__,
                    "evalue": f"writing outputs: {exc}",
                },
            )
        result["seconds"] = round(time.monotonic() - started, 3)
        return result


# --- entry points for worker processes and Dask ------------------------------------------------

_thread = threading.local()
_RUNNERS: weakref.WeakSet[Runner] = weakref.WeakSet()


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job on this thread's :class:`Runner` (kept warm between calls).

    Self-contained and importable, so a Dask worker can run it: it receives paths and writes its
    outputs under ``job["run_dir"]`` on the shared filesystem.
    """
    runner = getattr(_thread, "runner", None)
    if runner is None:
        runner = Runner(
            warm_imports=job.get("warm_imports") or DEFAULT_WARM_IMPORTS,
            kernel_reuse=job.get("kernel_reuse", DEFAULT_KERNEL_REUSE),
        )
        _thread.runner = runner
        _RUNNERS.add(runner)
    return runner.run(job)


def close_thread_runner() -> None:
    """Shut down this thread's runner kernel (Dask: called on every worker after a batch)."""
    runner = getattr(_thread, "runner", None)
    if runner is not None:
        runner.close()
        _thread.runner = None


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
    """Loop of a local worker process: take jobs from ``tasks`` until ``None`` (or until the
    ``stop`` event is set), report ``("start", worker_id, report_id)`` then
    ``("done", worker_id, result)`` to ``results``. Its kernel is shut down on exit, also on
    SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the parent
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the finally: no stray kernel
    logging.basicConfig(level=options.get("log_level", logging.WARNING))
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
            job = tasks.get()
            if job is None or (stop is not None and stop.is_set()):
                break
            results.put(("start", worker_id, job["id"]))
            results.put(("done", worker_id, runner.run(job)))
    finally:
        runner.close()
