"""``spm run`` and ``spm batch``: render report notebooks, one or a whole batch."""

from __future__ import annotations

import sys
import threading
import time
from typing import Annotated

import typer

from spmlib.cli.common import (
    MappingOpt,
    app,
    console,
    err_console,
    fail,
    format_duration,
)
from spmlib.exceptions import SpmError


@app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run_command(
    ctx: typer.Context,
    notebook: Annotated[
        str, typer.Argument(help="Report notebook: a path, or a name in notebooks/ (funnel).")
    ],
    files: Annotated[
        list[str] | None,
        typer.Option(
            "-f",
            "--parameters-file",
            metavar="PARAMS.yml",
            help="YAML parameters file (repeatable).",
        ),
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", help="Output folder (default outputs/single).")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds for the whole report.")
    ] = 600,
) -> None:
    """Run one report: NOTEBOOK [-p KEY VALUE]... [-r KEY VALUE]... [-f PARAMS.yml]... [--out DIR].

    - `-p, --parameter KEY VALUE`: set one parameter (repeatable), typed by the notebook's
      default: for a parameter whose default is text or None (ids such as rep_id and team,
      dates, names) the value is the text as written (`-p rep_id 007` stays "007"; None means
      None); for the others None, true/false and numbers are typed, the rest is text.
    - `-r, --parameter-raw KEY VALUE`: set a parameter to the raw text, always.
    - `-f, --parameters-file FILE`: a YAML file of parameters (repeatable).

    Files are applied in order, then -p/-r values; later wins. Every key is checked against the
    notebook's parameters cell first. Writes `DIR/<report>.ipynb` and .html; a failed report's
    partial notebook goes to DIR/failed/ and the command exits 1. Example:
    `spm run funnel -p team Atlas -f params/defaults.yml`.
    """
    from pathlib import Path

    from spmlib.config import OUTPUTS_DIR
    from spmlib.run.check import declared_parameters
    from spmlib.run.params import Layer, parse_cli_value, read_layer
    from spmlib.run.single import resolve_notebook, run_report

    layers = []
    try:
        path = resolve_notebook(notebook)
        declared = declared_parameters(path)
        for file in files or []:
            layer = read_layer(file, path.stem)
            if layer is None:
                fail(f"parameters file {file!r} does not exist")
            layers.append(layer)
        args = list(ctx.args)
        while args:
            token = args.pop(0)
            options = ("-p", "--parameter", "-r", "--parameter-raw")
            if token not in options or len(args) < 2:
                fail(
                    f"unexpected argument {token!r}; set parameters with -p KEY VALUE "
                    "(typed) or -r KEY VALUE (text)"
                )
            key, value = args.pop(0), args.pop(0)
            if token in ("-r", "--parameter-raw"):
                layers.append(Layer("-r", {key: value}))
            else:
                layers.append(Layer("-p", {key: parse_cli_value(value, declared.get(key))}))
        job = run_report(path, layers, out or OUTPUTS_DIR / "single", timeout=timeout)
    except SpmError as exc:
        fail(str(exc))
    folder = Path(out or OUTPUTS_DIR / "single").resolve()
    outcome = job.outcome
    if outcome.error is not None:
        error = outcome.error
        cell = f" in cell {error.cell}" if error.cell is not None else ""
        fail(
            f"{job.id} {job.status}{cell}: {error.ename}: {error.evalue} "
            f"(partial notebook: {folder / outcome.outputs.get('partial', '')})"
        )
    for path in outcome.outputs.values():
        console.print(str(folder / path), highlight=False)


class ProgressLines:
    """Progress of a batch as plain lines on a stream that is not a terminal (a log, CI): one
    line at the start and then at least every ``every`` seconds until the batch ends, so a
    reader of the log knows it is alive.

    Use it as a context manager, and pass :meth:`callback` to the batch.
    """

    def __init__(self, stream, every: float = 10.0, clock=time.monotonic):
        self.stream, self.every, self.clock = stream, every, clock
        self.total, self.done, self.failed, self.running = 0, 0, 0, 0
        self.started = clock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="batch-progress", daemon=True)

    def __enter__(self) -> ProgressLines:
        self.started = self.clock()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def callback(self, event: str, job, total: int) -> None:
        if event == "begin":
            self.total = total
            self.line()
        elif event == "start":
            self.running += 1
        elif event == "done":
            self.done += 1
            self.running = max(0, self.running - 1)
            self.failed += job.status != "ok"

    def line(self) -> str:
        """Write one progress line; returns it.

        Examples
        --------
        >>> import io
        >>> p = ProgressLines(io.StringIO(), clock=iter([0.0, 130.0]).__next__)
        >>> p.total, p.done, p.failed, p.running = 40, 10, 1, 2
        >>> p.line()
        'reports: 10 of 40 done (1 not ok), 2 running, 2m10s elapsed, about 6m30s left'
        """
        elapsed = self.clock() - self.started
        text = f"reports: {self.done} of {self.total or '?'} done"
        text += f" ({self.failed} not ok)" if self.failed else ""
        text += f", {self.running} running, {format_duration(elapsed)} elapsed"
        if self.done and self.total > self.done:
            text += (
                f", about {format_duration(elapsed / self.done * (self.total - self.done))} left"
            )
        self.stream.write(text + "\n")
        self.stream.flush()
        return text

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.line()


def _batch_progress():
    """How a batch reports progress on stderr, and the callback that drives it: a rich
    progress bar (counts, failures, elapsed and remaining time) on a terminal, else a plain
    line at least every ten seconds (:class:`ProgressLines`)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if not err_console.is_terminal:
        lines = ProgressLines(sys.stderr)
        return lines, lines.callback
    progress = Progress(
        TextColumn("[bold]reports"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=err_console,
    )
    task = progress.add_task("reports", total=None, failed=0)
    failed = 0

    def callback(event: str, job, total: int) -> None:
        nonlocal failed
        if event == "begin":
            progress.reset(task, total=total, failed=0)
        elif event == "done":
            failed += job.status != "ok"
            progress.update(task, advance=1, failed=failed)

    return progress, callback


@app.command("batch")
def batch_command(
    spec: Annotated[
        str | None, typer.Argument(help="Batch spec YAML (default params/batch.yml).")
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", help="Dataset folder or URL (default: the sample data)."),
    ] = None,
    mapping: MappingOpt = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", min=1, help="Worker processes (default: CPU cores)."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            metavar="KEY=VALUE",
            help="Run only matching reports: KEY=VALUE, KEY one of notebook, id, "
            "team, rep_id, manager (repeatable).",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1, help="Seconds per report (default: spec, else 600)."),
    ] = None,
    retry_failed: Annotated[
        str | None,
        typer.Option("--retry-failed", metavar="RUN-ID", help="Rerun the failed reports of a run."),
    ] = None,
    outputs: Annotated[
        str | None, typer.Option("--outputs", help="Folder of run folders (default outputs/).")
    ] = None,
    kernel_reuse: Annotated[
        int, typer.Option("--kernel-reuse", min=1, help="Reports per warm kernel.")
    ] = 20,
    compare_to: Annotated[
        str | None,
        typer.Option(
            "--compare-to",
            metavar="PATH|RUN-ID",
            help="The earlier extract reports list changes since ('Since last week'): a run "
            "id, a run folder or a dataset folder; 'none' for no comparison. Default: the data "
            "of the last complete run of the same spec with an earlier as-of date (for the "
            "sample, its extract of the week before).",
        ),
    ] = None,
    warm_imports: Annotated[
        str | None,
        typer.Option(
            "--warm-imports",
            help="Comma-separated modules each kernel imports before its first report "
            "(default: pandas, statsmodels, seaborn, spmlib and its analysis modules).",
        ),
    ] = None,
) -> None:
    """Render every report of a batch spec into `outputs/<run-id>/` with manifest.json and
    index.html; outputs/latest points at the last complete run.

    Exits 1 when a report failed (a summary lists them), 130 when interrupted.
    """
    from pathlib import Path

    from spmlib.config import OUTPUTS_DIR
    from spmlib.run import batch
    from spmlib.run.manifest import summarize_failures

    options = batch.BatchOptions(
        workers=workers, timeout=timeout, scheduler=scheduler, kernel_reuse=kernel_reuse
    )
    if warm_imports:
        options.warm_imports = tuple(m.strip() for m in warm_imports.split(",") if m.strip())
    outputs_dir = Path(outputs) if outputs else OUTPUTS_DIR
    started = time.monotonic()
    bar, callback = _batch_progress()
    try:
        with bar:
            if retry_failed:
                result = batch.retry_failed(retry_failed, options, outputs_dir, callback)
            else:
                result = batch.run_batch(
                    spec, data, mapping, only or (), options, outputs_dir, callback, compare_to
                )
    except SpmError as exc:
        fail(str(exc))
    jobs = result.manifest.jobs
    failures = summarize_failures(jobs)
    err_console.print(
        f"{len(jobs)} reports: {len(jobs) - len(failures)} ok, {len(failures)} not ok, "
        f"in {time.monotonic() - started:.1f} s; run {result.manifest.run_id} "
        f"({result.status}): {result.run_dir / 'index.html'}",
        highlight=False,
    )
    if failures:
        err_console.print("[bold red]Reports not ok:[/]")
        for line in failures:
            err_console.print(f"  {line}", highlight=False, markup=False)
        err_console.print(
            f"Rerun them with: spm batch --retry-failed {result.manifest.run_id}",
            highlight=False,
        )
    if result.status == "interrupted":
        raise typer.Exit(130)
    if result.status != "complete":
        raise typer.Exit(1)
