"""The batch spec (``params/batch.yml``): which report notebook runs for which scopes.

A spec lists report entries; each names a notebook and its scopes::

    reports:
      - notebook: funnel          # notebooks/funnel.ipynb (or a path, relative to the spec)
        for_each: team            # team | rep | manager, enumerated from the data
        where: {region: [EMEA]}   # optional filters on the reps table (value or list)
        exclude: {team: Test}     # optional, same form
      - notebook: productivity
        scopes: [{}]              # or explicit scopes; {} is the whole company
        parameters: {start: 2025-01-01}

Optional top-level keys: ``defaults`` (default ``defaults.yml``), ``teams_dir`` (``teams``),
``reps_dir`` (``reps``), ``notebooks_dir`` (the project's ``notebooks/``), all paths as text
relative to the spec's folder, and ``timeout`` (a number of seconds per report, default 600; an
entry may set its own). :func:`load_spec` checks the structure and the type of every key (a
``timeout: "ten minutes"`` or a ``defaults: 5`` is a :class:`SpecError` naming the file and the
key); the parameters are checked when the reports are planned
(:func:`spmlib.run.plan.plan_reports`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spmlib.config import NOTEBOOKS_DIR, PARAMS_DIR, PROJ_ROOT
from spmlib.exceptions import SpecError
from spmlib.reports.params import SCOPE_PARAMETERS
from spmlib.run.job import path_label
from spmlib.run.params import load_yaml

__all__ = ["DEFAULT_SPEC", "FOR_EACH", "Spec", "SpecEntry", "load_spec"]

DEFAULT_SPEC = PARAMS_DIR / "batch.yml"
#: What ``for_each`` may enumerate from the reps table.
FOR_EACH = ("team", "rep", "manager")
_SPEC_KEYS = {"reports", "defaults", "teams_dir", "reps_dir", "notebooks_dir", "timeout"}
_ENTRY_KEYS = {"notebook", "for_each", "scopes", "where", "exclude", "parameters", "timeout"}


@dataclass(frozen=True)
class SpecEntry:
    """One report entry of a spec.

    Attributes
    ----------
    number : its position in the spec (1-based).
    label : how messages name it (``params/batch.yml, report entry 3 (notebook: forecast)``).
    notebook_path : the notebook's absolute path; ``kind`` is its name.
    for_each : team, rep or manager; None with explicit ``scopes`` (or the company).
    scopes : explicit scopes (``{}`` = the company); None with ``for_each``.
    where, exclude : filters on columns of the reps table.
    parameters : the entry's parameter layer.
    timeout : seconds per report, None = the spec's.
    """

    number: int
    label: str
    notebook_path: str
    kind: str
    for_each: str | None = None
    scopes: tuple[dict[str, Any], ...] | None = None
    where: dict[str, Any] = field(default_factory=dict)
    exclude: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None


@dataclass(frozen=True)
class Spec:
    """A loaded batch spec, paths absolute.

    Attributes
    ----------
    path, label : the spec file, and how messages name it (relative to the project).
    defaults : the defaults layer file; teams_dir, reps_dir : folders of per-team and per-rep
        layer files.
    timeout : seconds per report.
    entries : the report entries in order.
    """

    path: str
    label: str
    defaults: Path
    teams_dir: Path
    reps_dir: Path
    timeout: float
    entries: tuple[SpecEntry, ...]


def load_spec(path: str | Path | None = None) -> Spec:
    """Read and check a batch spec's structure (not its parameters).

    Raises
    ------
    SpecError : for an unknown key, a missing or unknown ``for_each``, a missing notebook file.
    """
    spec_path = Path(path) if path is not None else DEFAULT_SPEC
    if not spec_path.exists():
        raise SpecError(f"batch spec {str(spec_path)!r} does not exist")
    label = path_label(spec_path)
    raw = load_yaml(spec_path)
    _no_unknown(raw, _SPEC_KEYS, label)
    base = spec_path.resolve().parent
    entries = raw.get("reports")
    if not isinstance(entries, list) or not entries:
        raise SpecError(f"{label}: 'reports' must be a non-empty list of report entries")
    notebooks_dir = (
        base / _text(raw, "notebooks_dir", label) if "notebooks_dir" in raw else NOTEBOOKS_DIR
    )
    return Spec(
        path=str(spec_path.resolve()),
        label=label,
        defaults=base / _text(raw, "defaults", label, "defaults.yml"),
        teams_dir=base / _text(raw, "teams_dir", label, "teams"),
        reps_dir=base / _text(raw, "reps_dir", label, "reps"),
        timeout=_seconds(raw, "timeout", label, 600.0),
        entries=tuple(
            _entry(entry, i, label, base, notebooks_dir) for i, entry in enumerate(entries, 1)
        ),
    )


def _text(raw: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    """The text value of ``key`` (a path or a name), or ``default`` when it is absent."""
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise SpecError(
            f"{where}: '{key}' must be a path or name written as text, got "
            f"{type(value).__name__} {value!r}"
        )
    return value


def _seconds(raw: dict[str, Any], key: str, where: str, default: float | None) -> float | None:
    """The positive number of seconds of ``key``, or ``default`` when it is absent."""
    if key not in raw or (raw[key] is None and default is None):
        return default
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise SpecError(
            f"{where}: '{key}' must be a positive number of seconds (e.g. {key}: 600), got "
            f"{type(value).__name__} {value!r}"
        )
    return float(value)


def _no_unknown(raw: dict[str, Any], valid: set[str], where: str) -> None:
    unknown = sorted(set(raw) - valid)
    if unknown:
        raise SpecError(
            f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}"
        )


def _entry(entry: Any, number: int, label: str, base: Path, notebooks_dir: Path) -> SpecEntry:
    where = f"{label}, report entry {number}"
    if not isinstance(entry, dict) or "notebook" not in entry:
        raise SpecError(f"{where}: each entry needs a 'notebook' (e.g. notebook: funnel)")
    notebook = _text(entry, "notebook", where)
    where += f" (notebook: {notebook})"
    _no_unknown(entry, _ENTRY_KEYS, where)
    if "for_each" in entry and "scopes" in entry:
        raise SpecError(f"{where}: give either 'for_each' or 'scopes', not both")
    if "for_each" in entry and entry["for_each"] not in FOR_EACH:
        raise SpecError(
            f"{where}: for_each must be one of {', '.join(FOR_EACH)}, got {entry['for_each']!r}"
        )
    scopes = entry.get("scopes")
    if scopes is not None and (
        not isinstance(scopes, list)
        or not all(isinstance(s, dict) and set(s) <= set(SCOPE_PARAMETERS) for s in scopes)
    ):
        raise SpecError(
            f"{where}: 'scopes' must be a list of mappings with keys among "
            f"{', '.join(SCOPE_PARAMETERS)} ({{}} = the whole company)"
        )
    for key in ("where", "exclude", "parameters"):
        if key in entry and not isinstance(entry[key] or {}, dict):
            raise SpecError(f"{where}: '{key}' must be a mapping")
    for key in ("where", "exclude"):
        for column, wanted in (entry.get(key) or {}).items():
            values = wanted if isinstance(wanted, list) else [wanted]
            if not all(isinstance(v, str | int | float) for v in values):
                raise SpecError(
                    f"{where}: '{key}.{column}' must be a value or a list of values, got {wanted!r}"
                )
    timeout = _seconds(entry, "timeout", where, None)
    nb_path = _notebook_path(notebook, base, notebooks_dir)
    if not nb_path.exists():
        raise SpecError(f"{where}: notebook file {path_label(nb_path)} not found")
    return SpecEntry(
        number=number,
        label=where,
        notebook_path=str(nb_path),
        kind=nb_path.stem,
        for_each=entry.get("for_each"),
        scopes=tuple(scopes) if scopes is not None else None,
        where=dict(entry.get("where") or {}),
        exclude=dict(entry.get("exclude") or {}),
        parameters=dict(entry.get("parameters") or {}),
        timeout=timeout,
    )


def _notebook_path(name: str, base: Path, notebooks_dir: Path) -> Path:
    if "/" in name or name.endswith(".ipynb"):
        candidate = Path(name)
        if not candidate.is_absolute():
            candidate = base / name if (base / name).exists() else PROJ_ROOT / name
        return candidate.resolve()
    return (notebooks_dir / f"{name}.ipynb").resolve()
