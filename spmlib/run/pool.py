"""Where the reports run: N local worker processes with warm kernels, or a Dask cluster.

:class:`LocalPool` spawns worker processes (:func:`spmlib.run.runner.worker_main`), each with a
warm kernel; :func:`run_on_dask` submits one task per report to an existing Dask cluster whose
workers share the output folder. Both call ``on_done(outcome)`` as each report ends; a worker
that dies fails its current report (``WorkerDied``) and is replaced.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import time
from collections.abc import Callable, Sequence
from typing import Any

from spmlib.run.job import Job, Outcome, Output

__all__ = ["LocalPool", "run_on_dask", "default_workers"]

log = logging.getLogger(__name__)


def default_workers() -> int:
    """The machine's cores (at least 1)."""
    return os.cpu_count() or 1


class LocalPool:
    """N spawned worker processes, each with a warm kernel.

    Parameters
    ----------
    workers : how many processes.
    warm_imports : modules each kernel imports before its first report.
    kernel_reuse : reports per kernel before it is replaced.

    The workers start warming their kernels at once; :meth:`run` hands them jobs, :meth:`close`
    stops every worker (their kernels are shut down) and kills the ones that do not stop. A
    worker that dies is replaced, unless workers keep dying before they are ready (twice as
    many as were asked for): the reports left then fail with ``WorkerStartError``. When this
    process is killed outright, its workers and their kernels end by themselves
    (:mod:`spmlib.run.lifeline`); create the pool on the thread that keeps it (the main thread).
    """

    def __init__(self, workers: int, warm_imports: Sequence[str], kernel_reuse: int):
        from spmlib.run.runner import worker_main

        self._target = worker_main
        self._ctx = mp.get_context("spawn")
        self.tasks, self.results = self._ctx.Queue(), self._ctx.Queue()
        self.stop = self._ctx.Event()
        self._options = {
            "warm_imports": list(warm_imports),
            "kernel_reuse": kernel_reuse,
            "log_level": logging.getLogger("spmlib").getEffectiveLevel(),
            "parent_pid": os.getpid(),  # a worker ends when this process dies (lifeline)
        }
        self.procs: dict[int, Any] = {}
        self.ready: set[int] = set()
        self._next_id = 0
        self._deaths_before_ready = 0
        self._max_deaths_before_ready = 2 * max(1, workers)
        for _ in range(max(1, workers)):
            self._spawn()

    def _spawn(self) -> None:
        proc = self._ctx.Process(
            target=self._target,
            args=(self._next_id, self.tasks, self.results, self._options, self.stop),
            daemon=True,
        )
        proc.start()
        self.procs[self._next_id] = proc
        self._next_id += 1

    def run(
        self,
        jobs: Sequence[Job],
        output: Output,
        on_start: Callable[[str], None],
        on_done: Callable[[Outcome], None],
    ) -> None:
        """Run the jobs; returns when every job is done (or raises KeyboardInterrupt)."""
        for job in jobs:
            self.tasks.put((job, output))
        running: dict[int, str] = {}
        remaining = {job.id for job in jobs}
        while remaining:
            try:
                kind, wid, payload = self.results.get(timeout=0.5)
            except queue.Empty:
                for wid, proc in list(self.procs.items()):
                    if proc.is_alive():
                        continue
                    del self.procs[wid]
                    rid = running.pop(wid, None)
                    if rid is not None and rid in remaining:
                        remaining.discard(rid)
                        on_done(
                            Outcome.failure(
                                rid,
                                "WorkerDied",
                                f"the worker process died (exit code {proc.exitcode}) "
                                "while running this report",
                            )
                        )
                    if wid not in self.ready:
                        self._deaths_before_ready += 1
                    if self._deaths_before_ready >= self._max_deaths_before_ready:
                        # workers that cannot even start would be replaced forever
                        self.stop.set()
                        for rid in sorted(remaining - set(running.values())):
                            remaining.discard(rid)
                            on_done(
                                Outcome.failure(
                                    rid,
                                    "WorkerStartError",
                                    f"{self._deaths_before_ready} worker processes died before "
                                    f"they were ready (last exit code {proc.exitcode}); see the "
                                    "log above",
                                )
                            )
                    elif remaining:
                        self._spawn()
                continue
            if kind == "ready":
                self.ready.add(wid)
            elif kind == "start":
                running[wid] = payload
                on_start(payload)
            elif kind == "done":
                running.pop(wid, None)
                if payload.id in remaining:
                    remaining.discard(payload.id)
                    on_done(payload)

    def close(self, wait: float = 15) -> None:
        """Stop the workers: no further report is taken (also after Ctrl-C), kernels are shut
        down by each worker; the ones still running after ``wait`` seconds are terminated
        (their kernels are shut down too), then killed."""
        self.stop.set()
        for _ in self.procs:
            self.tasks.put(None)
        deadline = time.monotonic() + wait
        for proc in self.procs.values():
            proc.join(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            if proc.is_alive():  # pragma: no cover
                proc.kill()
                proc.join(timeout=5)
        self.tasks.cancel_join_thread()
        self.results.cancel_join_thread()


def run_on_dask(
    jobs: Sequence[Job],
    output: Output,
    address: str,
    run_id: str,
    warm_imports: Sequence[str],
    kernel_reuse: int,
    on_done: Callable[[Outcome], None],
) -> None:
    """Submit one task per report to an existing Dask cluster and collect the outcomes; the
    workers' kernels are killed at the end."""
    from distributed import Client, as_completed

    from spmlib.run.runner import release_kernels, run_job

    with Client(address, timeout=30) as client:
        futures = {
            client.submit(
                run_job,
                job,
                output,
                tuple(warm_imports),
                kernel_reuse,
                key=f"spm-{run_id}-{job.id}",
                pure=False,
            ): job
            for job in jobs
        }
        try:
            for future in as_completed(futures):
                job = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # KilledWorker, a lost worker, …
                    outcome = Outcome.failure(job.id, type(exc).__name__, str(exc))
                on_done(outcome)
        finally:
            for future in futures:
                future.cancel()
            try:
                client.run(release_kernels)
            except Exception as exc:  # pragma: no cover - best effort
                log.warning("could not release the workers' kernels: %s", exc)
