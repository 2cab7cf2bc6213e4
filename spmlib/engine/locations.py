"""Dataset locations opened in an engine: one typed view per model table, read as queries need.

:func:`open_tables` turns a dataset location into :class:`Tables`:

* a **folder**: each table is ``X.parquet``, a folder ``X/`` of Parquet files, or ``X.csv``
  (in that order). Parquet whose columns already have the model's types is read in place; CSV
  (and Parquet holding dates or numbers as text) is converted once into a typed Parquet copy in
  the cache (:mod:`spmlib.engine.prepare`), keyed by the file's fingerprint;
* a **mapping** of a CRM export, or an **SQLAlchemy URL**: read and mapped through pandas
  (:func:`spmlib.io.load.read_raw`) into typed Parquet copies (cached per fingerprint for a
  folder; a database is read on every run, as its content cannot be fingerprinted cheaply);
* ``spark:<location>``: the same folder layout read by Apache Spark (local paths or any Hadoop
  file system URI: ``hdfs://``, ``s3a://``, ``abfss://``); see docs/data.md.

Typing in the views follows :mod:`spmlib.io.coerce`: ids and text stripped (blank = missing),
dates as dates, amounts as doubles, the close reasons of ``dataset.yml`` (``won_reasons``,
``lost_reasons``) read as the won / lost stage with the CRM stage kept in ``close_reason``,
``status`` derived from the stage where empty. Every view
has a ``_row`` column: the row's 0-based position in its source file (problems quote it 1-based).
Validation runs once per source fingerprint (:mod:`spmlib.engine.validate`), then is trusted.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spmlib.engine import prepare
from spmlib.engine.base import ENGINES, Engine
from spmlib.engine.tables import TableInfo, Tables
from spmlib.exceptions import UnknownNameError
from spmlib.io.readers import ReadOptions, find_table
from spmlib.io.schema import TABLES
from spmlib.io.sources import dataset_folder, is_url, mask_secrets

__all__ = ["open_tables", "engine_class", "table_files", "SPARK_PREFIX"]

log = logging.getLogger(__name__)

#: A location starting with this runs on Apache Spark (``spark:/data/crm``, ``spark:s3a://b/crm``).
SPARK_PREFIX = "spark:"


def engine_class(name: str) -> type[Engine]:
    """The engine class called ``name`` (``duckdb`` or ``spark``); UnknownNameError otherwise."""
    if name == "duckdb":
        from spmlib.engine.embedded import DuckDBEngine

        return DuckDBEngine
    if name == "spark":
        from spmlib.engine.spark import SparkEngine

        return SparkEngine
    raise UnknownNameError("engine", name, list(ENGINES))


def table_files(folder: Path, name: str) -> tuple[str, list[Path]] | None:
    """The files of table ``name`` in a dataset folder, found as the pandas loader finds them
    (:func:`spmlib.io.readers.find_table`: ``X.parquet``, a folder ``X/`` of Parquet parts,
    ``X.csv``, ``X.xlsx``...), with the name shown in problems. None when absent."""
    path = find_table(folder, name)
    if path is None:
        return None
    if path.is_dir() and not path.suffix:
        return f"{name}/", sorted(p for p in path.rglob("*.parquet") if p.is_file())
    return path.name, [path]


def open_tables(
    location: str | Path,
    mapping: str | Path | Any | None = None,
    engine: str | Engine | None = None,
    validate: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Tables:
    """Open a dataset in an engine (see the module docstring for the locations understood).

    Parameters
    ----------
    location : a dataset folder, an SQLAlchemy URL, or ``spark:<folder or URI>``.
    mapping : a mapping preset name or file for a CRM export (:mod:`spmlib.io.mappings`).
    engine : ``duckdb`` (default), ``spark``, or an Engine instance; ``spark:`` locations
        always use Spark.
    validate : validate the data (once per fingerprint, then trusted) and raise on errors.
    progress : called with each long step as it starts (:attr:`Tables.progress`).

    Returns
    -------
    Tables

    Raises
    ------
    DataValidationError
        When ``validate`` and the data break the model (every problem listed).
    MissingFileError
        When the folder does not exist.
    """
    text = str(location)
    if text.startswith(SPARK_PREFIX):
        text = text[len(SPARK_PREFIX) :]
        engine = engine if isinstance(engine, Engine) else "spark"  # whatever name was given
    eng = engine if isinstance(engine, Engine) else engine_class(engine or "duckdb")()
    try:
        if mapping is not None or is_url(text) and not _is_remote_files(text):
            tables = prepare.prepared_tables(eng, text, mapping)
        else:
            tables = _folder_tables(eng, text)
        _create_views(tables)
        tables.progress = progress
        if validate:
            from spmlib.engine.validate import validate_once

            validate_once(tables)
    except BaseException:
        eng.close()
        raise
    return tables


def _is_remote_files(text: str) -> bool:
    """A Hadoop file system URI (read by Spark), as opposed to an SQLAlchemy database URL."""
    return text.split("://", 1)[0] in ("file", "hdfs", "s3a", "s3", "gs", "abfs", "abfss", "wasbs")


def _folder_tables(eng: Engine, location: str) -> Tables:
    from spmlib.io.validate import check_config

    remote = _is_remote_files(location)
    if remote:  # a Hadoop file system URI, read by Spark
        found, raw_config = eng.folder_tables(location)
    else:
        folder = dataset_folder(location)
        found = {n: f for n in TABLES if (f := table_files(folder, n)) is not None}
        raw_config, read_problems = _read_config(folder)
    if remote:
        read_problems = []
    if any(p.severity == "error" for p in read_problems):  # say why, not that it is missing
        config, problems = None, list(read_problems)
    else:
        config, problems = check_config(raw_config, "dataset.yml")
        problems = read_problems + problems
    timezone = str((raw_config or {}).get("timezone", "UTC"))
    options = ReadOptions.from_settings(raw_config if isinstance(raw_config, dict) else None)
    digest = hashlib.sha256(repr(sorted((raw_config or {}).items())).encode())
    info: dict[str, TableInfo] = {}
    unreadable = []
    for name, (file, paths) in found.items():
        if remote:  # read in place; no cheap fingerprint, so validated on every run
            types = eng.column_types(eng.parquet_source(paths))
            info[name] = TableInfo(file, paths, [c for c in types if c != "_row"])
            continue
        stats = [prepare.file_stamp(p) for p in paths]
        digest.update(f"{name}:{stats}".encode())
        if prepare.is_native(name, paths):
            columns = prepare.parquet_columns(paths)
            info[name] = TableInfo(file, [str(p) for p in paths], columns)
        else:
            table = prepare.prepared_table(name, file, paths, timezone, options)
            if table.paths:
                info[name] = table
            else:  # the file cannot be read: its problem is reported with the others
                problems += table.problems
                unreadable.append(name)
    return Tables(
        eng,
        config,
        mask_secrets(location),
        info,
        "" if remote else f"sha256:{digest.hexdigest()}",
        problems,
        files={n: i.file for n, i in info.items()},
        unreadable=tuple(unreadable),
    )


def _read_config(folder: Path) -> tuple[dict | None, list]:
    """``dataset.yml`` (None when absent), and the problem when it cannot be read or the note
    on how it was read (an encoding other than UTF-8)."""
    from spmlib.exceptions import DataValidationError
    from spmlib.io.sources import Source

    source = Source(folder)
    try:
        raw, _file = source.config()
    except DataValidationError as exc:
        return None, list(exc.problems)
    return raw, list(source.problems)


def _create_views(tables: Tables) -> None:
    """One typed view per present table. Columns already of the model's type are read as they
    are (so filters reach the Parquet row groups); others are cast: ids to text, timestamps to
    dates, integers to doubles. Text in Parquet is taken as written (typed copies of CSV are
    already stripped, blank = missing)."""
    eng, q = tables.engine, tables.engine.quote
    config = tables.config
    for name, info in tables.info.items():
        kinds = TABLES[name].columns
        types = eng.column_types(eng.parquet_source(info.paths, info.row_column))
        exprs = {}
        for col in info.columns:
            kind, typ = kinds.get(col), types.get(col, "").upper()
            if kind in ("id", "str") and not eng.is_text_type(typ):
                expr = f"CAST({q(col)} AS {eng.string_type})"
            elif kind == "date" and typ != "DATE":
                expr = eng.date_expr(q(col), typ)
            elif kind == "float" and typ != "DOUBLE":
                expr = f"CAST({q(col)} AS DOUBLE)"
            else:
                expr = q(col)
            exprs[col] = expr
        if name in ("opportunities", "stage_history") and config is not None:
            _fold_close_reasons(tables, name, exprs)
        if name == "opportunities" and config is not None and "stage" in info.columns:
            stage = exprs["stage"]
            derived = (
                f"CASE WHEN {stage} = {eng.literal(config.won_stage)} THEN 'won' "
                f"WHEN {stage} = {eng.literal(config.lost_stage)} THEN 'lost' ELSE 'open' END"
            )
            given = exprs.pop("status", None)
            exprs["status"] = f"COALESCE(lower({given}), {derived})" if given else derived
            if "status" not in info.columns:
                info.columns = [*info.columns, "status"]
        select = ", ".join(f"{e} AS {q(c)}" for c, e in exprs.items())
        eng.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {select}, _row "
            f"FROM {eng.parquet_source(info.paths, info.row_column)} src"
        )


def _fold_close_reasons(tables: Tables, name: str, exprs: dict[str, str]) -> None:
    """The CRM stages of ``won_reasons`` / ``lost_reasons`` read as the won / lost stage, and,
    for opportunities, the CRM stage of every closed deal kept in ``close_reason`` where that is
    empty: :func:`spmlib.io.coerce.fold_close_reasons` as view expressions (in place)."""
    config, eng = tables.config, tables.engine
    if not config.closed_reasons or "stage" not in exprs:
        return
    stage = exprs["stage"]

    def among(stages) -> str:
        return f"{stage} IN ({', '.join(eng.literal(s) for s in stages)})"

    exprs["stage"] = (
        f"CASE WHEN {among(config.won_reasons or [config.won_stage])} "
        f"THEN {eng.literal(config.won_stage)} "
        f"WHEN {among(config.lost_reasons or [config.lost_stage])} "
        f"THEN {eng.literal(config.lost_stage)} ELSE {stage} END"
    )
    if name == "opportunities":
        closed = among([*config.closed_reasons, config.won_stage, config.lost_stage])
        reason = f"CASE WHEN {closed} THEN {stage} END"
        given = exprs.get("close_reason")
        exprs["close_reason"] = f"COALESCE({given}, {reason})" if given else reason
        if "close_reason" not in tables.info[name].columns:
            tables.info[name].columns = [*tables.info[name].columns, "close_reason"]
