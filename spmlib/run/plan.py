"""A spec and a dataset → the checked list of report jobs: scopes, report ids, layered parameters.

Each spec entry expands into scopes (``for_each`` enumerates the reps table, filtered with
``where`` / ``exclude``; or explicit ``scopes``); each scope becomes a :class:`~spmlib.run.job.Job`
whose parameters are layered as described in :mod:`spmlib.run.params` and checked by
:class:`spmlib.run.check.ReportCheck` before anything runs.

Report ids (:func:`spmlib.reports.links.report_id`) are ``<kind>__company``,
``<kind>__team-<team>``, ``<kind>__rep-<rep_id>`` and ``<kind>__manager-<manager>`` (unsafe
characters replaced by ``-``, long names cut), so any id in the data makes a file name, and a
report id is never a path.

The per-team and per-rep parameter layers are found by listing ``params/teams/`` and
``params/reps/`` (:func:`layer_files`) and matching each file's name to the id exactly: a value
from the data is never joined into a path, so an id such as ``../../secrets`` or ``/etc/x``
matches no file (and its reports still run, with no layer of their own).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from spmlib.exceptions import MissingParameterError, ParameterError, SpecError
from spmlib.io.schema import Dataset
from spmlib.reports.links import report_id
from spmlib.reports.params import SCOPE_PARAMETERS
from spmlib.run.check import ReportCheck, declared_parameters
from spmlib.run.job import Job, path_label
from spmlib.run.params import Layer, merge_layers, read_layer
from spmlib.run.spec import Spec, SpecEntry

__all__ = ["report_id", "entry_scopes", "layer_files", "plan_reports", "filter_reports"]


def _select(reps: pd.DataFrame, rules: dict[str, Any], keep: bool, where: str) -> pd.DataFrame:
    for column, wanted in rules.items():
        if column not in reps.columns:
            raise SpecError(
                f"{where}: filter column {column!r} is not a column of the reps table "
                f"({', '.join(reps.columns)})"
            )
        values = {str(v) for v in (wanted if isinstance(wanted, list) else [wanted])}
        mask = reps[column].astype("string").isin(values).fillna(False).astype(bool)
        reps = reps[mask if keep else ~mask]
    return reps


def entry_scopes(entry: SpecEntry, reps: pd.DataFrame) -> list[dict[str, str]]:
    """The scopes of one spec entry, in order: its explicit ``scopes``, or one per team, rep
    (``{"rep_id", "team"}``) or manager of the filtered reps table, or the company (``{}``).

    Raises
    ------
    SpecError : a filter on a column the reps table lacks; ``for_each: manager`` without managers.
    """
    if entry.scopes is not None:
        return [{k: str(v) for k, v in s.items() if v is not None} for s in entry.scopes]
    if entry.for_each is None:
        return [{}]
    chosen = _select(reps, entry.where, True, entry.label)
    chosen = _select(chosen, entry.exclude, False, entry.label)
    if entry.for_each == "team":
        return [{"team": str(t)} for t in sorted(chosen["team"].dropna().unique())]
    if entry.for_each == "rep":
        rows = chosen.sort_values("rep_id")
        return [
            {"rep_id": str(r), "team": str(t)}
            for r, t in zip(rows["rep_id"], rows["team"], strict=True)
        ]
    if "manager" not in chosen.columns or chosen["manager"].isna().all():
        raise SpecError(
            f"{entry.label}: for_each: manager needs a 'manager' column in the reps table"
        )
    return [{"manager": str(m)} for m in sorted(chosen["manager"].dropna().unique())]


def layer_files(folder: str | Path) -> dict[str, Path]:
    """The parameter layer files of a folder (``params/teams/``, ``params/reps/``) by the id
    they are for: each ``<id>.yml`` regular file directly in it (none when it does not exist).
    Names are in Unicode NFC form (as :func:`_layer_key` makes ids), so ``Zoë.yml`` saved by a
    system that decomposes accents still matches the team ``Zoë``.

    Ids are matched against these names exactly; nothing from the data is joined into a path.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "Atlas.yml").write_text("start: 2025-01-01")
    >>> _ = (folder / "notes.txt").write_text("")
    >>> sorted(layer_files(folder)), layer_files(folder / "missing")
    (['Atlas'], {})
    """
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {_layer_key(p.stem): p for p in folder.iterdir() if p.suffix == ".yml" and p.is_file()}


def _layer_key(name: Any) -> str:
    return unicodedata.normalize("NFC", str(name))


def _scope_parameters(entry: SpecEntry, scope: dict[str, str]) -> dict[str, str]:
    """The parameters a scope sets: an explicit scope as written; from ``for_each``, ``rep_id``
    for a rep (the notebook finds the team), ``team`` for a team, ``manager`` for a manager."""
    if entry.scopes is None and "rep_id" in scope:
        return {"rep_id": scope["rep_id"]}
    return dict(scope)


def plan_reports(
    spec: Spec,
    data: Dataset,
    data_path: str,
    timeout: float | None = None,
    compare_path: str | None = None,
) -> list[Job]:
    """Expand a loaded spec into report jobs with merged parameters, every one checked.

    Parameters
    ----------
    spec : from :func:`spmlib.run.spec.load_spec`.
    data : the dataset: ``for_each`` enumerates its reps, scopes are resolved against it.
    data_path : the dataset every report reads (the run's snapshot), set as ``data``.
    timeout : seconds per report; None = the entry's, else the spec's.
    compare_path : the previous extract (the run's copy of it), set as ``compare_to`` of every
        report whose notebook declares that parameter; None = leave it to the layers.

    Returns
    -------
    list of Job : pending jobs in spec order.

    Raises
    ------
    SpecError : a malformed entry (see :func:`entry_scopes`).
    ParameterError : listing every problem of every report at once (each once), each naming
        the file and key (see :mod:`spmlib.run.check`); nothing may run then.
    """
    check = ReportCheck(data)
    jobs: list[Job] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    own_layers = {"team": layer_files(spec.teams_dir), "rep_id": layer_files(spec.reps_dir)}
    for entry in spec.entries:
        kind = entry.kind
        if "data" not in declared_parameters(entry.notebook_path):
            raise MissingParameterError(
                f"{entry.label}: the notebook has no 'data' parameter; batch reports "
                "read the run's data snapshot through it (add `data = None` to its parameters cell)"
            )
        defaults = read_layer(spec.defaults, kind, path_label(spec.defaults))
        entry_layer = Layer(f"{spec.label}, report entry {entry.number}", entry.parameters)
        for scope in entry_scopes(entry, data.reps):
            layers = [defaults, entry_layer]
            for key in ("team", "rep_id"):
                path = own_layers[key].get(_layer_key(scope.get(key)))
                if scope.get(key) is not None and path is not None:
                    layers.append(read_layer(path, kind, path_label(path)))
            layers.append(
                Layer(f"{spec.label}: the report's scope", _scope_parameters(entry, scope))
            )
            batch: dict[str, Any] = {"data": data_path}
            if "mapping" in declared_parameters(entry.notebook_path):
                batch["mapping"] = None  # the snapshot is already in the native model
            if compare_path and "compare_to" in declared_parameters(entry.notebook_path):
                batch["compare_to"] = compare_path
            layers.append(Layer("the batch (data snapshot)", batch))
            values, origin = merge_layers(layers)
            problems += check.problems(kind, entry.notebook_path, values, origin)
            rid = report_id(kind, scope)
            seen[rid] = seen.get(rid, 0) + 1
            if seen[rid] > 1:
                rid = f"{rid}-{seen[rid]}"
            jobs.append(
                Job(
                    id=rid,
                    kind=kind,
                    notebook_path=entry.notebook_path,
                    scope=scope,
                    parameters=values,
                    timeout=float(timeout or entry.timeout or spec.timeout),
                )
            )
    if problems:
        unique = list(dict.fromkeys(problems))
        raise ParameterError(
            [f"{len(unique)} parameter problem(s); nothing was run:"] + [f"  - {p}" for p in unique]
        )
    return jobs


def filter_reports(jobs: list[Job], only: Iterable[str] = ()) -> list[Job]:
    """Keep the jobs matching every ``KEY=VALUE`` of ``only`` (values of one key are OR-ed).

    Keys: ``notebook`` / ``kind``, ``id``, ``team``, ``rep_id``, ``manager``.

    Examples
    --------
    >>> jobs = [Job("funnel__team-A", "funnel", "f.ipynb", {"team": "A"}, {}),
    ...         Job("funnel__team-B", "funnel", "f.ipynb", {"team": "B"}, {}),
    ...         Job("forecast__team-A", "forecast", "g.ipynb", {"team": "A"}, {})]
    >>> [j.id for j in filter_reports(jobs, ["team=A", "notebook=funnel"])]
    ['funnel__team-A']
    """
    wanted: dict[str, set[str]] = {}
    for item in only:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in ("notebook", "kind", "id", *SCOPE_PARAMETERS):
            raise SpecError(
                f"--only {item!r}: use KEY=VALUE, KEY one of notebook, id, team, rep_id, manager"
            )
        wanted.setdefault("kind" if key == "notebook" else key, set()).add(value.strip())

    def value_of(job: Job, key: str) -> str | None:
        if key in ("kind", "id"):
            return getattr(job, key)
        return job.scope.get(key)

    return [j for j in jobs if all(value_of(j, k) in v for k, v in wanted.items())]
