"""Loading datasets: a folder of CSV or Parquet files (plus ``dataset.yml``), or an SQLAlchemy URL.

``load`` returns a typed, validated :class:`~spmlib.io.schema.Dataset`, or raises one
:class:`~spmlib.exceptions.DataValidationError` listing every problem. A CRM export is translated
onto the model by a mapping (:mod:`spmlib.io.mappings`).

Sources
-------
* **Folder**: for each table ``X`` a file ``X.parquet``, a folder ``X/`` of Parquet parts,
  ``X.csv`` or an Excel workbook ``X.xlsx`` (in that order; :mod:`spmlib.io.readers` reads them
  all, detecting a CSV file's encoding, delimiter and decimal comma), and ``dataset.yml``. CSV
  and Excel files are read as text so that an unparseable value is reported with its
  row, never silently turned into a missing value; only an empty field counts as missing.
* **Database** (any SQLAlchemy URL, e.g. ``sqlite:///crm.db``): tables with the model's names, and
  the ``dataset.yml`` content in a table ``dataset_config`` with columns ``key`` and ``value``
  (one row per setting; each value is read as YAML, so ``open_stages`` is ``[Lead, Demo]`` or
  ``Lead, Demo``). A mapping's ``dataset:`` section may replace that table. A password in the
  URL is masked (``***``) in messages and in ``Dataset.source``.

Typing
------
Every ``*_date`` column becomes datetime64[ns] at midnight. Dates are ISO 8601 unless the mapping
gives a ``date_format``. A timestamp with a time zone offset (``...Z``, ``+02:00``) is converted
to the mapping's time zone (or ``timezone:`` in ``dataset.yml``; UTC by default) and reduced to
its date there; a timestamp without an offset keeps its own date. Amounts become float64, ids and
text pandas ``string`` (stripped; blank text counts as missing).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from spmlib.exceptions import DataValidationError, Problem
from spmlib.io.coerce import coerce_table, derive_status, fill_stage_defaults, fold_close_reasons
from spmlib.io.readers import align_headers
from spmlib.io.schema import TABLES, Dataset, empty_table
from spmlib.io.sources import RawData, Source, mask_secrets

__all__ = [
    "load",
    "load_checked",
    "load_result",
    "LoadResult",
    "validate",
    "read_raw",
    "read_tables",
    "read_sql_tables",
]

log = logging.getLogger(__name__)


def read_tables(path: str | Path) -> tuple[dict[str, pd.DataFrame], dict, dict[str, str]]:
    """Read the raw tables of a dataset folder (or database URL), without typing or validation.

    Returns (tables by name, the parsed dataset.yml, the file each table came from).
    For each table ``X`` the folder may hold ``X.parquet``, ``X/``, ``X.csv`` or ``X.xlsx``
    (:func:`spmlib.io.readers.find_table`).
    """
    raw = read_raw(path)
    return raw.tables, raw.config or {}, raw.files


def read_sql_tables(url: str) -> tuple[dict[str, pd.DataFrame], dict, dict[str, str]]:
    """Read the model's tables and ``dataset_config`` from an SQLAlchemy URL (see module notes)."""
    return read_tables(url)


def read_raw(location: str | Path, mapping: str | Path | Any | None = None) -> RawData:
    """Read a dataset's raw tables, through ``mapping`` when given (a name, a path or a
    :class:`spmlib.io.mappings.Mapping`).

    Files are read by :func:`spmlib.io.readers.read_file` with the read settings of the
    mapping and ``dataset.yml`` (``encoding``, ``delimiter``, ``decimal``, ``sheet``; detected
    when absent). A file that cannot be read, or an unreadable ``dataset.yml``, is a problem in
    ``RawData.problems`` beside all the others, never an exception that hides them. Headers that
    differ from the model's column names only by case, spaces, hyphens or underscores are read as
    those columns (with a note).
    """
    if mapping is not None:
        from spmlib.io.mappings import load_mapping

        mapping = load_mapping(mapping)
    source = Source(location, mapping.read_options if mapping is not None else None)
    try:
        config, config_file, config_problems = _read_config(source)
        if mapping is not None:
            from spmlib.io.mapping_apply import apply_mapping

            raw = apply_mapping(mapping, source, (config, config_file, config_problems))
            return raw
        tables, files, decimals = {}, {}, {}
        header_problems: list[Problem] = []
        for name in TABLES:
            frame = source.read(name)
            if frame is not None:
                label = source.label(name)
                frame, found = align_headers(frame, TABLES[name].columns, label)
                header_problems += found
                tables[name] = frame
                files[name] = label
                if source.decimal(name) != ".":
                    decimals[name] = source.decimal(name)
            elif name in source.unreadable:
                files[name] = source.label(name)
        timezone = str((config or {}).get("timezone", "UTC"))
        return RawData(
            source.location,
            tables,
            config,
            config_file,
            files,
            timezone=timezone,
            problems=config_problems + source.problems + header_problems,
            decimals=decimals,
            unreadable=set(source.unreadable),
        )
    finally:
        source.close()


def _read_config(source: Source) -> tuple[dict | None, str, list[Problem]]:
    """The dataset settings, where they came from, and the problem when they cannot be read
    (reported with the others; the settings are then None and ``dataset.yml`` unreadable)."""
    try:
        config, file = source.config()
    except DataValidationError as exc:
        source.unreadable.add("dataset.yml")
        return None, "dataset.yml", list(exc.problems)
    return config, file, []


# --- loading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    """What loading found: the dataset (None when it has errors), every problem (errors first,
    then warnings, then notes on how files were read) and the decisions a preset inferred from
    the export, with their evidence."""

    dataset: Dataset | None
    problems: list[Problem] = field(default_factory=list)
    inferences: list[Any] = field(default_factory=list)


def load_checked(
    path_or_url: str | Path, mapping: str | Path | Any | None = None, announce: bool = True
) -> tuple[Dataset | None, list[Problem]]:
    """Read, type and validate a dataset; return it (None if it has errors) and every problem.

    The problems list holds errors first, then warnings, then notes (severity ``note``: how
    files were read, e.g. an encoding other than UTF-8). ``load`` raises on errors instead.
    ``announce``: log the count of data warnings as a warning (else at info level: a batch's
    snapshot, whose warnings the batch reported when it validated the data).
    """
    result = load_result(path_or_url, mapping, announce)
    return result.dataset, result.problems


def load_result(
    path_or_url: str | Path, mapping: str | Path | Any | None = None, announce: bool = True
) -> LoadResult:
    """Read, type and validate a dataset: :func:`load_checked` plus the preset's inferences
    (also on ``Dataset.inferences``), which ``spm validate`` prints even when the data has
    errors."""
    from spmlib.io import validate as v

    location = str(path_or_url)
    raw = read_raw(location, mapping)
    for note in raw.inferences:
        log.info("inferred: %s", note)
    problems: list[Problem] = list(raw.problems)
    if raw.config is None and "dataset.yml" in raw.unreadable:
        config, config_problems = None, []  # why it cannot be read is among the problems
    else:
        config, config_problems = v.check_config(raw.config, raw.config_file)
    problems += config_problems
    problems += v.missing_tables([*raw.tables, *raw.unreadable], raw.location)
    typed: dict[str, pd.DataFrame] = {}
    timezone = raw.timezone if _known_zone(raw.timezone) else "UTC"  # else reported above
    for name, frame in raw.tables.items():
        file, cols = raw.files.get(name, name), raw.columns.get(name)
        formats = raw.date_formats.get(name)
        decimal = raw.decimals.get(name, ".")
        problems += v.check_columns(name, frame, file, cols)
        typed[name] = coerce_table(name, frame, timezone, formats, decimal)
        problems += v.check_parsing(name, frame, typed[name], file, cols, formats, decimal)
        if config is None:
            continue
        if "stage" in typed[name].columns and name in ("opportunities", "stage_history"):
            typed[name] = fold_close_reasons(typed[name], config, name == "opportunities")
        if name == "opportunities" and "stage" in typed[name].columns:
            typed[name] = fill_stage_defaults(derive_status(typed[name], config), config)
        problems += v.check_table(name, typed[name], config, file, cols)
    if config is not None:
        problems += v.check_relations(typed, config, raw.files, raw.columns)
    errors, notes = v.errors_of(problems), v.notes_of(problems)
    if errors:
        return LoadResult(None, errors + v.warnings_of(problems) + notes, list(raw.inferences))
    for name in TABLES:
        if name in typed:
            typed[name] = _in_model_order(name, typed[name])
        else:
            typed[name] = empty_table(name)
    ds = Dataset(config=config, source=raw.location, inferences=tuple(raw.inferences), **typed)
    problems += v.check_warnings(typed, config, ds.as_of, raw.files, raw.columns)
    warnings = v.warnings_of(problems)
    for w in warnings:
        log.info("data warning: %s", w)
    if warnings:
        log.log(
            logging.WARNING if announce else logging.INFO,
            "%d data warning(s) in %s; see Dataset.warnings or run `spm validate`",
            len(warnings),
            mask_secrets(location),
        )
    for n in notes:
        log.info("data note: %s", n)
    return LoadResult(replace(ds, warnings=tuple(warnings)), warnings + notes, list(raw.inferences))


def _known_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _in_model_order(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Model columns first (required, then optional present), extra columns after; fresh index."""
    spec = TABLES[name].columns
    order = [c for c in spec if c in frame.columns] + [c for c in frame.columns if c not in spec]
    return frame[order].reset_index(drop=True)


def load(path_or_url: str | Path, mapping: str | Path | Any | None = None) -> Dataset:
    """Load, type and validate a dataset.

    Parameters
    ----------
    path_or_url : a folder of CSV/Parquet files with ``dataset.yml``, or an SQLAlchemy URL
        (tables named as the model, settings in a ``dataset_config`` key/value table).
        ``spmlib.load`` (:func:`spmlib.sample.resolve.load`) also takes None for the sample.
    mapping : a mapping preset name (``salesforce``, ``hubspot``) or a YAML file translating a
        CRM export onto the model (see :mod:`spmlib.io.mappings`).

    Returns
    -------
    Dataset
        Typed tables (optional ones empty when absent); ``warnings`` holds suspicious but legal
        findings (:func:`spmlib.io.validate.check_warnings`).

    Raises
    ------
    DataValidationError
        With every error found (file, column, rule, first offending rows, what to fix).
    FileNotFoundError
        When the folder does not exist.
    spmlib.exceptions.UnknownNameError
        For an unknown mapping preset.
    """
    location = str(path_or_url)
    if mapping is None:  # a batch's validated snapshot: read once per process (spmlib.io.snapshot)
        from spmlib.io.snapshot import cached_load

        cached = cached_load(location, load_checked)
        if cached is not None:
            return cached
    ds, problems = load_checked(location, mapping)
    if ds is None:
        raise DataValidationError(problems=problems, source=mask_secrets(location))
    return ds


def validate(path_or_url: str | Path, mapping: str | Path | None = None) -> list[Problem]:
    """Every problem (errors and warnings) found when loading a dataset; empty when it is clean.

    Parameters
    ----------
    path_or_url : a dataset folder, an SQLAlchemy URL, or None for the sample data.
    mapping : a mapping preset name or YAML file (see :mod:`spmlib.io.mappings`).

    Returns
    -------
    list of Problem
        Errors first, then warnings, each naming the file, column, rule, examples and a fix.

    See Also
    --------
    spmlib.io.load.load : raises the same errors as one ``DataValidationError``.
    """
    from spmlib.io.load import load_checked

    _ds, problems = load_checked(path_or_url, mapping=mapping)
    return problems
