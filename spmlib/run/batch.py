"""Batch reports: expand a spec into reports, run them in parallel, record a manifest and an index.

A **spec** (``params/batch.yml``) lists report entries; each names a notebook and its scopes::

    reports:
      - notebook: funnel          # notebooks/funnel.ipynb (or a path, relative to the spec)
        for_each: team            # team | rep | manager, enumerated from the data
        where: {region: [EMEA]}   # optional filters on the reps table (value or list)
        exclude: {team: Test}     # optional, same form
      - notebook: productivity
        scopes: [{}]              # or explicit scopes; {} is the whole company
        parameters: {start: 2025-01-01}

Optional top-level keys: ``defaults`` (default ``defaults.yml``), ``teams_dir`` (``teams``),
``reps_dir`` (``reps``), ``notebooks_dir`` (the project's ``notebooks/``), all relative to the
spec's folder, and ``timeout`` (seconds per report, default 600). Parameters are layered as
described in :mod:`spmlib.run.params` and checked against every notebook before anything runs.

A **run** (:func:`run_batch`) loads and validates the data once, writes it as a Parquet snapshot
that every report reads, runs the reports on N local worker processes (each with a warm kernel,
see :mod:`spmlib.run.runner`) or on a Dask cluster, and writes ``outputs/<run-id>/``:
``manifest.json``
(rewritten atomically after every report), ``index.html``, ``reports/`` and ``failed/``.
``outputs/latest`` points at the last complete run.

Report ids are ``<kind>__company``, ``<kind>__team-<team>``, ``<kind>__rep-<rep_id>`` and
``<kind>__manager-<manager>`` (unsafe characters replaced by ``-``).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from spmlib.config import NOTEBOOKS_DIR, OUTPUTS_DIR, PARAMS_DIR, PROJ_ROOT
from spmlib.exceptions import MissingParameterError, ParameterError, SpecError
from spmlib.io.files import atomic_write_json, atomic_write_text
from spmlib.io.snapshot import data_fingerprint, write_marker
from spmlib.reports.jinja import environment
from spmlib.run.kernels import DEFAULT_WARM_IMPORTS
from spmlib.run.params import (
    Layer,
    check_parameters,
    load_yaml,
    merge_layers,
    notebook_parameters,
    read_layer,
)
from spmlib.run.runner import DEFAULT_KERNEL_REUSE

__all__ = [
    "BatchOptions",
    "BatchResult",
    "DEFAULT_SPEC",
    "FOR_EACH",
    "load_spec",
    "plan_reports",
    "filter_reports",
    "report_id",
    "new_run_id",
    "snapshot_dataset",
    "data_fingerprint",
    "run_batch",
    "retry_failed",
    "render_index",
    "summarize_failures",
    "resolve_notebook",
    "run_report",
    "resolve_run",
]

log = logging.getLogger(__name__)

DEFAULT_SPEC = PARAMS_DIR / "batch.yml"
FOR_EACH = ("team", "rep", "manager")
_SPEC_KEYS = {"reports", "defaults", "teams_dir", "reps_dir", "notebooks_dir", "timeout"}
_ENTRY_KEYS = {"notebook", "for_each", "scopes", "where", "exclude", "parameters", "timeout"}
_SCOPE_KEYS = ("team", "rep_id", "manager")
FAILED_STATUSES = ("failed", "timeout")


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
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.manifest.get("status", "running")

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.manifest.get("reports", []) if r["status"] != "ok"]


# --- spec ----------------------------------------------------------------------------------------


def _label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJ_ROOT))
    except ValueError:
        return str(path)


def load_spec(path: str | Path | None = None) -> dict[str, Any]:
    """Read and check a batch spec's structure (not its parameters); paths become absolute.

    Returns a dict with ``path``, ``label``, ``defaults``, ``teams_dir``, ``reps_dir``,
    ``timeout`` and ``reports`` (each entry with ``notebook_path`` and ``kind`` added).

    Raises
    ------
    SpecError : for an unknown key, a missing or unknown ``for_each``, a missing notebook file.
    """
    spec_path = Path(path) if path is not None else DEFAULT_SPEC
    if not spec_path.exists():
        raise SpecError(f"batch spec {str(spec_path)!r} does not exist")
    label = _label(spec_path)
    raw = load_yaml(spec_path)
    unknown = sorted(set(raw) - _SPEC_KEYS)
    if unknown:
        raise SpecError(
            f"{label}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(_SPEC_KEYS))}"
        )
    base = spec_path.resolve().parent
    entries = raw.get("reports")
    if not isinstance(entries, list) or not entries:
        raise SpecError(f"{label}: 'reports' must be a non-empty list of report entries")
    notebooks_dir = base / raw["notebooks_dir"] if "notebooks_dir" in raw else NOTEBOOKS_DIR
    spec: dict[str, Any] = {
        "path": str(spec_path.resolve()),
        "label": label,
        "defaults": base / raw.get("defaults", "defaults.yml"),
        "teams_dir": base / raw.get("teams_dir", "teams"),
        "reps_dir": base / raw.get("reps_dir", "reps"),
        "timeout": float(raw.get("timeout", 600)),
        "reports": [],
    }
    for i, entry in enumerate(entries, start=1):
        where = f"{label}, report entry {i}"
        if not isinstance(entry, dict) or "notebook" not in entry:
            raise SpecError(f"{where}: each entry needs a 'notebook' (e.g. notebook: funnel)")
        where += f" (notebook: {entry['notebook']})"
        bad = sorted(set(entry) - _ENTRY_KEYS)
        if bad:
            raise SpecError(
                f"{where}: unknown key(s) {', '.join(bad)}; valid: {', '.join(sorted(_ENTRY_KEYS))}"
            )
        if "for_each" in entry and "scopes" in entry:
            raise SpecError(f"{where}: give either 'for_each' or 'scopes', not both")
        if "for_each" in entry and entry["for_each"] not in FOR_EACH:
            raise SpecError(
                f"{where}: for_each must be one of {', '.join(FOR_EACH)}, got {entry['for_each']!r}"
            )
        scopes = entry.get("scopes")
        if scopes is not None and (
            not isinstance(scopes, list)
            or not all(isinstance(s, dict) and set(s) <= set(_SCOPE_KEYS) for s in scopes)
        ):
            raise SpecError(
                f"{where}: 'scopes' must be a list of mappings with keys among "
                f"{', '.join(_SCOPE_KEYS)} ({{}} = the whole company)"
            )
        for key in ("where", "exclude", "parameters"):
            if key in entry and not isinstance(entry[key] or {}, dict):
                raise SpecError(f"{where}: '{key}' must be a mapping")
        nb_path = _notebook_path(str(entry["notebook"]), base, notebooks_dir)
        if not nb_path.exists():
            raise SpecError(f"{where}: notebook file {_label(nb_path)} not found")
        spec["reports"].append(
            {**entry, "notebook_path": str(nb_path), "kind": nb_path.stem, "where_label": where}
        )
    return spec


def _notebook_path(name: str, base: Path, notebooks_dir: Path) -> Path:
    if "/" in name or name.endswith(".ipynb"):
        candidate = Path(name)
        if not candidate.is_absolute():
            candidate = base / name if (base / name).exists() else PROJ_ROOT / name
        return candidate.resolve()
    return (notebooks_dir / f"{name}.ipynb").resolve()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


def report_id(kind: str, scope: dict[str, Any]) -> str:
    """The report's id (also its file name) from its kind and scope.

    Examples
    --------
    >>> report_id("funnel", {"team": "Atlas"})
    'funnel__team-Atlas'
    >>> report_id("rep_scorecard", {"rep_id": "R001", "team": "Atlas"})
    'rep_scorecard__rep-R001'
    >>> report_id("productivity", {}), report_id("funnel", {"manager": "Ann O'Neil"})
    ('productivity__company', 'funnel__manager-Ann-O-Neil')
    """
    if scope.get("rep_id") is not None:
        return f"{kind}__rep-{_slug(scope['rep_id'])}"
    if scope.get("manager") is not None:
        return f"{kind}__manager-{_slug(scope['manager'])}"
    if scope.get("team") is not None:
        return f"{kind}__team-{_slug(scope['team'])}"
    return f"{kind}__company"


def _select(
    reps: pd.DataFrame, rules: dict[str, Any] | None, keep: bool, where: str
) -> pd.DataFrame:
    for column, wanted in (rules or {}).items():
        if column not in reps.columns:
            raise SpecError(
                f"{where}: filter column {column!r} is not a column of the reps table "
                f"({', '.join(reps.columns)})"
            )
        values = {str(v) for v in (wanted if isinstance(wanted, list) else [wanted])}
        mask = reps[column].astype("string").isin(values).fillna(False).astype(bool)
        reps = reps[mask if keep else ~mask]
    return reps


def _scopes(entry: dict[str, Any], reps: pd.DataFrame) -> list[dict[str, Any]]:
    where = entry["where_label"]
    if "scopes" in entry:
        return [{k: str(v) for k, v in s.items() if v is not None} for s in entry["scopes"]]
    if "for_each" not in entry:
        return [{}]
    chosen = _select(reps, entry.get("where"), True, where)
    chosen = _select(chosen, entry.get("exclude"), False, where)
    kind = entry["for_each"]
    if kind == "team":
        return [{"team": str(t)} for t in sorted(chosen["team"].dropna().unique())]
    if kind == "rep":
        rows = chosen.sort_values("rep_id")
        return [
            {"rep_id": str(r), "team": str(t)}
            for r, t in zip(rows["rep_id"], rows["team"], strict=True)
        ]
    if "manager" not in chosen.columns or chosen["manager"].isna().all():
        raise SpecError(f"{where}: for_each: manager needs a 'manager' column in the reps table")
    return [{"manager": str(m)} for m in sorted(chosen["manager"].dropna().unique())]


def _scope_parameters(scope: dict[str, Any]) -> dict[str, Any]:
    """The parameters a scope sets: ``rep_id`` for a rep (the notebook finds the team),
    ``team`` for a team, ``manager`` for a manager."""
    if "rep_id" in scope:
        return {"rep_id": scope["rep_id"]}
    return dict(scope)


def plan_reports(
    spec: dict[str, Any], reps: pd.DataFrame, data_path: str, timeout: float | None = None
) -> list[dict[str, Any]]:
    """Expand a loaded spec into report jobs with merged, checked parameters.

    Parameters
    ----------
    spec : from :func:`load_spec`.
    reps : the dataset's reps table (``for_each`` enumerates it).
    data_path : the dataset every report reads (the run's snapshot), set as ``data``.
    timeout : seconds per report; None = the spec's.

    Returns
    -------
    list of dict : jobs with ``id``, ``kind``, ``notebook``, ``notebook_path``, ``scope``,
        ``parameters`` and ``timeout``, in spec order.

    Raises
    ------
    ParameterError : listing every unknown key and wrongly typed value, each with its file.
    """
    jobs: list[dict[str, Any]] = []
    problems: list[str] = []
    declared_cache: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for i, entry in enumerate(spec["reports"], start=1):
        nb_path, kind = entry["notebook_path"], entry["kind"]
        if nb_path not in declared_cache:
            declared_cache[nb_path] = notebook_parameters(nb_path)
        declared = declared_cache[nb_path]
        if "data" not in declared:
            raise MissingParameterError(
                f"{entry['where_label']}: the notebook has no 'data' parameter; batch reports "
                "read the run's data snapshot through it (add `data = None` to its parameters cell)"
            )
        defaults = read_layer(spec["defaults"], kind, _label(spec["defaults"]))
        entry_layer = Layer(f"{spec['label']}, report entry {i}", entry.get("parameters") or {})
        for scope in _scopes(entry, reps):
            layers = [defaults, entry_layer]
            if scope.get("team") is not None:
                path = spec["teams_dir"] / f"{scope['team']}.yml"
                layers.append(read_layer(path, kind, _label(path)))
            if scope.get("rep_id") is not None:
                path = spec["reps_dir"] / f"{scope['rep_id']}.yml"
                layers.append(read_layer(path, kind, _label(path)))
            layers.append(Layer(f"{spec['label']}: the report's scope", _scope_parameters(scope)))
            batch = {"data": data_path}
            if "mapping" in declared:
                batch["mapping"] = None  # the snapshot is already in the native model
            layers.append(Layer("the batch (data snapshot)", batch))
            values, origin = merge_layers(layers)
            problems += check_parameters(values, declared, origin, notebook=_label(Path(nb_path)))
            rid = report_id(kind, scope)
            seen[rid] = seen.get(rid, 0) + 1
            if seen[rid] > 1:
                rid = f"{rid}-{seen[rid]}"
            jobs.append(
                {
                    "id": rid,
                    "kind": kind,
                    "notebook": kind,
                    "notebook_path": nb_path,
                    "scope": scope,
                    "parameters": values,
                    "timeout": float(entry.get("timeout") or timeout or spec["timeout"]),
                }
            )
    if problems:
        unique = list(dict.fromkeys(problems))
        raise ParameterError(
            [f"{len(unique)} parameter problem(s); nothing was run:"] + [f"  - {p}" for p in unique]
        )
    return jobs


def filter_reports(jobs: list[dict[str, Any]], only: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Keep the jobs matching every ``KEY=VALUE`` of ``only`` (values of one key are OR-ed).

    Keys: ``notebook`` / ``kind``, ``id``, ``team``, ``rep_id``, ``manager``.

    Examples
    --------
    >>> jobs = [{"id": "funnel__team-A", "kind": "funnel", "scope": {"team": "A"}},
    ...         {"id": "funnel__team-B", "kind": "funnel", "scope": {"team": "B"}},
    ...         {"id": "forecast__team-A", "kind": "forecast", "scope": {"team": "A"}}]
    >>> [j["id"] for j in filter_reports(jobs, ["team=A", "notebook=funnel"])]
    ['funnel__team-A']
    """
    wanted: dict[str, set[str]] = {}
    for item in only:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in ("notebook", "kind", "id", *_SCOPE_KEYS):
            raise SpecError(
                f"--only {item!r}: use KEY=VALUE, KEY one of notebook, id, team, rep_id, manager"
            )
        wanted.setdefault("kind" if key == "notebook" else key, set()).add(value.strip())

    def value_of(job: dict[str, Any], key: str) -> str | None:
        if key in ("kind", "id"):
            return job[key]
        return job["scope"].get(key)

    return [j for j in jobs if all(value_of(j, k) in v for k, v in wanted.items())]


# --- data snapshot -------------------------------------------------------------------------------


def snapshot_dataset(ds, folder: str | Path) -> Path:
    """Write a validated dataset as Parquet files plus ``dataset.yml`` (loadable by
    :func:`spmlib.load`); empty optional tables are left out. A marker file written last lets
    each kernel load and validate it once (:mod:`spmlib.io.snapshot`). Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in ds.tables().items():
        if len(frame) or name in ("reps", "opportunities"):
            tmp = folder / f".{name}.parquet.tmp"
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, folder / f"{name}.parquet")
    atomic_write_text(folder / "dataset.yml", yaml.safe_dump(ds.config.to_dict(), sort_keys=False))
    write_marker(folder, data_fingerprint(ds))  # reports may cache it (spmlib.io.snapshot)
    return folder


# --- manifest and index --------------------------------------------------------------------------


def _now() -> str:
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


def _manifest_entry(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": job["id"],
        "notebook": job["notebook"],
        "kind": job["kind"],
        "notebook_path": _label(Path(job["notebook_path"])),
        "scope": job["scope"],
        "parameters": job["parameters"],
        "timeout": job["timeout"],
        "status": "pending",
        "seconds": None,
        "outputs": {},
        "error": None,
    }


def _run_status(manifest: dict[str, Any]) -> str:
    statuses = {r["status"] for r in manifest["reports"]}
    if statuses & {"pending", "running"}:
        return "interrupted"
    return "failed" if statuses & set(FAILED_STATUSES) else "complete"


def render_index(manifest: dict[str, Any]) -> str:
    """``index.html`` of a run: every report with its status and a link, failures with their
    cell and error. Every text from the data is escaped (jinja2 autoescape)."""
    reports = manifest.get("reports", [])
    counts: dict[str, int] = {}
    for r in reports:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    kinds: dict[str, list[dict[str, Any]]] = {}
    for r in reports:
        kinds.setdefault(r["kind"], []).append(r)
    return (
        environment()
        .get_template("index_batch.html.j2")
        .render(manifest=manifest, counts=counts, kinds=kinds, total=len(reports))
    )


def _write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    atomic_write_json(run_dir / "manifest.json", manifest)


def _finish(run_dir: Path, manifest: dict[str, Any], outputs_dir: Path) -> None:
    manifest["status"] = _run_status(manifest)
    manifest["ended"] = _now()
    _write_manifest(run_dir, manifest)
    atomic_write_text(run_dir / "index.html", render_index(manifest))
    if manifest["status"] == "complete":
        _point_latest(outputs_dir, run_dir)


def _point_latest(outputs_dir: Path, run_dir: Path) -> None:
    """Make ``outputs/latest`` a relative symlink to ``run_dir`` (atomically)."""
    link = outputs_dir / "latest"
    tmp = outputs_dir / f".latest.tmp-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(run_dir, outputs_dir), tmp)
    os.replace(tmp, link)


# --- running -------------------------------------------------------------------------------------

#: ``progress(event, manifest, report)``: event "begin" (report = ``{"total": n}``), then
#: "start" and "done" per report (report = its manifest entry).
ProgressCallback = Callable[[str, dict[str, Any], dict[str, Any]], None]


def _failure(job_id: str, ename: str, evalue: str) -> dict[str, Any]:
    return {
        "id": job_id,
        "status": "failed",
        "seconds": None,
        "outputs": {},
        "error": {"cell": None, "ename": ename, "evalue": evalue},
    }


class _LocalPool:
    """N spawned worker processes, each with a warm kernel (see
    :func:`spmlib.run.runner.worker_main`).

    Started early (before the data is loaded) so the workers warm up meanwhile. A worker that
    dies fails its current report and is replaced; :meth:`close` stops every worker (their
    kernels are shut down) and kills the ones that do not stop.
    """

    def __init__(self, workers: int, options: BatchOptions):
        from spmlib.run.runner import worker_main

        self._target = worker_main
        self._ctx = mp.get_context("spawn")
        self.tasks, self.results = self._ctx.Queue(), self._ctx.Queue()
        self.stop = self._ctx.Event()
        self._options = {
            "warm_imports": list(options.warm_imports),
            "kernel_reuse": options.kernel_reuse,
            "log_level": logging.getLogger("spmlib").getEffectiveLevel(),
        }
        self.procs: dict[int, Any] = {}
        self._next_id = 0
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
        jobs: list[dict[str, Any]],
        on_start: Callable[[str], None],
        on_done: Callable[[dict[str, Any]], None],
    ) -> None:
        """Run the jobs; returns when every job is done (or raises KeyboardInterrupt)."""
        for job in jobs:
            self.tasks.put(job)
        running: dict[int, str] = {}
        remaining = {job["id"] for job in jobs}
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
                            _failure(
                                rid,
                                "WorkerDied",
                                f"the worker process died (exit code {proc.exitcode}) "
                                "while running this report",
                            )
                        )
                    if remaining:
                        self._spawn()
                continue
            if kind == "start":
                running[wid] = payload
                on_start(payload)
            elif kind == "done":
                running.pop(wid, None)
                if payload["id"] in remaining:
                    remaining.discard(payload["id"])
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


def _run_dask(
    jobs: list[dict[str, Any]],
    address: str,
    run_id: str,
    on_done: Callable[[dict[str, Any]], None],
) -> None:
    """Submit one task per report to an existing Dask cluster and collect the results."""
    from distributed import Client, as_completed

    from spmlib.run.runner import release_kernels, run_job

    with Client(address, timeout=30) as client:
        futures = {
            client.submit(run_job, job, key=f"spm-{run_id}-{job['id']}", pure=False): job
            for job in jobs
        }
        try:
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # KilledWorker, a lost worker, …
                    result = _failure(job["id"], type(exc).__name__, str(exc))
                on_done(result)
        finally:
            for future in futures:
                future.cancel()
            try:
                client.run(release_kernels)
            except Exception as exc:  # pragma: no cover - best effort
                log.warning("could not release the workers' kernels: %s", exc)


def _execute(
    run_dir: Path,
    manifest: dict[str, Any],
    jobs: list[dict[str, Any]],
    options: BatchOptions,
    outputs_dir: Path,
    progress: ProgressCallback | None,
    pool: _LocalPool | None = None,
) -> BatchResult:
    entries = {r["id"]: r for r in manifest["reports"]}

    def on_start(rid: str) -> None:
        entries[rid]["status"] = "running"
        if progress:
            progress("start", manifest, entries[rid])

    def on_done(result: dict[str, Any]) -> None:
        entry = entries[result["id"]]
        entry.update({k: result.get(k) for k in ("status", "seconds", "outputs", "error")})
        _write_manifest(run_dir, manifest)
        if progress:
            progress("done", manifest, entry)

    for job in jobs:
        job.update(
            run_dir=str(run_dir),
            html=options.html,
            warm_imports=list(options.warm_imports),
            kernel_reuse=options.kernel_reuse,
        )
        entries[job["id"]].update(status="pending", outputs={}, error=None, seconds=None)
    _write_manifest(run_dir, manifest)
    if progress:
        progress("begin", manifest, {"total": len(jobs)})
    try:
        if options.scheduler:
            _run_dask(jobs, options.scheduler, manifest["run_id"], on_done)
        else:
            own = pool is None
            if own:
                pool = _LocalPool(min(len(jobs), _workers(options)), options)
            try:
                pool.run(jobs, on_start, on_done)
            finally:
                if own:
                    pool.close()
    except KeyboardInterrupt:
        log.warning("batch interrupted; the manifest records what finished")
    finally:
        for entry in entries.values():
            if entry["status"] == "running":
                entry["status"] = "pending"
        _finish(run_dir, manifest, outputs_dir)
    return BatchResult(run_dir, manifest)


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
    only : ``KEY=VALUE`` filters (see :func:`filter_reports`).
    options : workers, timeout, scheduler, kernel reuse.
    outputs_dir : where the run folder is created (and ``latest`` points).
    progress : called on each report's start and end.

    Returns
    -------
    BatchResult : the run folder and its manifest; ``status`` is "complete" when every report
        is ok, "failed" when some failed or timed out, "interrupted" after Ctrl-C.

    Raises
    ------
    SpecError, ParameterError : before anything runs (nothing is written).
    spmlib.exceptions.DataValidationError : when the data breaks the data model.
    """
    options = options or BatchOptions()
    loaded = load_spec(spec)
    # start the workers now: they warm their kernels while the data is loaded and checked
    pool = None if options.scheduler else _LocalPool(_workers(options), options)
    try:
        result = _plan_and_run(loaded, data, mapping, only, options, outputs_dir, progress, pool)
    except BaseException:
        if pool is not None:
            pool.close(wait=0)  # a data or parameter error: nothing ran, do not wait for warm-up
        raise
    if pool is not None:
        pool.close()
    return result


def _workers(options: BatchOptions) -> int:
    return options.workers or os.cpu_count() or 1


def _plan_and_run(loaded, data, mapping, only, options, outputs_dir, progress, pool):
    from spmlib.sample.resolve import load, resolve_data

    source = resolve_data(data)
    ds = load(source, mapping=mapping)
    outputs_dir = Path(outputs_dir).resolve()
    run_id = new_run_id()
    run_dir = outputs_dir / run_id
    jobs = plan_reports(loaded, ds.reps, str(run_dir / "data"), timeout=options.timeout)
    jobs = filter_reports(jobs, only)
    if not jobs:
        raise SpecError(f"{loaded['label']}: no report matches {' '.join(only) or 'the spec'}")

    (run_dir / "reports").mkdir(parents=True)
    snapshot_dataset(ds, run_dir / "data")
    manifest: dict[str, Any] = {
        "run_id": run_id,
        "spec": loaded["label"],
        "data": source if "://" in source else str(Path(source).resolve()),
        "data_snapshot": "data",
        "data_fingerprint": data_fingerprint(ds),
        "spmlib_version": _spmlib_version(),
        "started": _now(),
        "ended": None,
        "status": "running",
        "workers": None if options.scheduler else _workers(options),
        "scheduler": options.scheduler,
        "reports": [_manifest_entry(job) for job in jobs],
    }
    return _execute(run_dir, manifest, jobs, options, outputs_dir, progress, pool)


def resolve_run(run: str | Path, outputs_dir: str | Path = OUTPUTS_DIR) -> Path:
    """The folder of a run given its id, ``latest`` or a path."""
    path = Path(run)
    if not (path / "manifest.json").exists():
        path = Path(outputs_dir) / str(run)
    if not (path / "manifest.json").exists():
        raise SpecError(f"run {str(run)!r} not found: no manifest.json in {path}")
    return path.resolve()


def retry_failed(
    run: str | Path,
    options: BatchOptions | None = None,
    outputs_dir: str | Path = OUTPUTS_DIR,
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Rerun, in the same run folder, every report of a run that is not ``ok`` (failed,
    timed out, or never finished), with the parameters recorded in its manifest."""
    import json

    options = options or BatchOptions()
    run_dir = resolve_run(run, outputs_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    todo = [r for r in manifest["reports"] if r["status"] != "ok"]
    manifest["retried"] = [*manifest.get("retried", []), _now()]
    manifest["status"], manifest["ended"] = "running", None
    jobs = []
    for entry in todo:
        params = dict(entry["parameters"])
        params["data"] = str(run_dir / manifest.get("data_snapshot", "data"))
        entry["parameters"] = params
        path = Path(entry["notebook_path"])
        jobs.append(
            {
                "id": entry["id"],
                "kind": entry["kind"],
                "notebook": entry["notebook"],
                "notebook_path": str(path if path.is_absolute() else PROJ_ROOT / path),
                "scope": entry["scope"],
                "parameters": params,
                "timeout": float(options.timeout or entry.get("timeout") or 600),
            }
        )
    if not jobs:
        _finish(run_dir, manifest, Path(outputs_dir).resolve())
        return BatchResult(run_dir, manifest)
    return _execute(run_dir, manifest, jobs, options, Path(outputs_dir).resolve(), progress)


def summarize_failures(manifest: dict[str, Any]) -> list[str]:
    """One line per report that is not ok: id, status, cell and error."""
    lines = []
    for r in manifest.get("reports", []):
        if r["status"] == "ok":
            continue
        err = r.get("error") or {}
        cell = f" cell {err['cell']}" if err.get("cell") is not None else ""
        what = f"{err.get('ename')}: {err.get('evalue')}" if err else "did not finish"
        partial = (r.get("outputs") or {}).get("partial")
        lines.append(
            f"{r['id']}: {r['status']}{cell}: {what}"
            + (f" (partial notebook: {partial})" if partial else "")
        )
    return lines


# --- one report (spm run) -------------------------------------------------------------------------


def resolve_notebook(name: str | Path) -> Path:
    """A notebook given as a path, or as a name in ``notebooks/`` (``funnel`` or ``funnel.ipynb``).

    Raises
    ------
    FileNotFoundError : naming the paths tried.
    """
    path = Path(name)
    candidates = [path, NOTEBOOKS_DIR / path.name, NOTEBOOKS_DIR / f"{path.name}.ipynb"]
    for candidate in candidates:
        if candidate.is_file() and candidate.suffix == ".ipynb":
            return candidate.resolve()
    raise FileNotFoundError(
        f"notebook {str(name)!r} not found (tried {', '.join(str(c) for c in candidates)})"
    )


def run_report(
    notebook: str | Path,
    layers: list[Layer],
    out_dir: str | Path,
    timeout: float = 600,
    warm_imports: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Run one report: check its parameters, execute it on a fresh warm kernel in this process,
    and write ``<out_dir>/<report-id>.ipynb`` and ``.html`` (a failure: ``failed/<id>.ipynb``).

    Parameters
    ----------
    notebook : a path or a name in ``notebooks/``.
    layers : parameter layers in order (``-f`` files, then ``-p`` values); later wins.
    out_dir : the output folder.
    timeout : seconds for the whole report.

    Returns
    -------
    dict : the report's manifest fields (``id``, ``status``, ``seconds``, ``outputs`` relative to
        ``out_dir``, ``error``), plus ``parameters``.

    Raises
    ------
    FileNotFoundError, ParameterError : before anything runs.
    """
    from spmlib.run.runner import Runner

    path = resolve_notebook(notebook)
    declared = notebook_parameters(path)
    values, origin = merge_layers(layers)
    problems = check_parameters(values, declared, origin, notebook=_label(path))
    if problems:
        raise ParameterError(problems)
    scope = {k: str(values[k]) for k in _SCOPE_KEYS if values.get(k) is not None}
    out = Path(out_dir).resolve()
    job = {
        "id": report_id(path.stem, scope),
        "kind": path.stem,
        "notebook_path": str(path),
        "scope": scope,
        "parameters": values,
        "run_dir": str(out),
        "timeout": timeout,
        "reports_subdir": ".",
        "failed_subdir": "failed",
    }
    # one report on a fresh kernel: only spmlib is imported first (from this process's folder)
    runner = Runner(warm_imports=warm_imports or ("spmlib",), kernel_reuse=1)
    try:
        result = runner.run(job)
    finally:
        runner.close()
    result["parameters"] = values
    return result
