"""A dataset opened in an engine: one typed view per model table, read only as a query needs.

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
dates as dates, amounts as doubles, ``status`` derived from the stage where empty. Every view
has a ``_row`` column: the row's 0-based position in its source file (problems quote it 1-based).
Validation runs once per source fingerprint (:mod:`spmlib.engine.validate`), then is trusted.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from spmlib.engine.base import Engine, engine_class
from spmlib.exceptions import DataValidationError, Problem
from spmlib.io.schema import TABLES, DatasetConfig, empty_table
from spmlib.io.sources import display_location, is_url

__all__ = ["Tables", "TableInfo", "open_tables", "SPARK_PREFIX", "table_files"]

log = logging.getLogger(__name__)

#: A location starting with this runs on Apache Spark (``spark:/data/crm``, ``spark:s3a://b/crm``).
SPARK_PREFIX = "spark:"
_NATIVE_DATE = ("date32", "date64", "timestamp")


@dataclass
class TableInfo:
    """Where one table comes from.

    Attributes
    ----------
    file : the name shown in problems (``opportunities.csv``).
    paths : the Parquet files read (the source, or its cached typed copy).
    columns : the columns present (model columns and extra ones).
    problems : problems found while converting it (unparseable values, missing columns...).
    """

    file: str
    paths: list[str]
    columns: list[str]
    problems: list[Problem] = field(default_factory=list)
    #: True when the files carry a ``_row`` column (typed copies); else the file row is used.
    row_column: bool = False


@dataclass
class Tables:
    """A dataset opened in an engine (see the module docstring).

    Attributes
    ----------
    engine : the engine holding one view per present table (named as the model's tables).
    config : the dataset's ``dataset.yml`` settings.
    source : the location as shown (a password masked).
    info : table name -> :class:`TableInfo`, for the tables present.
    fingerprint : ``sha256:...`` of the source files, settings and mapping.
    config_problems : problems of ``dataset.yml`` or of reading the source (before validation).
    warnings : the validation warnings (set by :func:`spmlib.engine.validate.validate_once`).
    """

    engine: Engine
    config: DatasetConfig | None
    source: str
    info: dict[str, TableInfo]
    fingerprint: str
    config_problems: list[Problem] = field(default_factory=list)
    warnings: tuple[Problem, ...] = ()
    files: dict[str, str] = field(default_factory=dict)
    mapped_columns: dict[str, dict[str, str]] = field(default_factory=dict)

    def has(self, name: str, *columns: str) -> bool:
        """True when table ``name`` is present (with these columns)."""
        info = self.info.get(name)
        return info is not None and all(c in info.columns for c in columns)

    def count(self, name: str) -> int:
        """Rows of table ``name`` (0 when absent)."""
        if name not in self.info:
            return 0
        return int(self.engine.sql(f"SELECT count(*) AS n FROM {name}")["n"].iloc[0])

    def frame(self, name: str, columns: list[str] | None = None, where: str = "") -> pd.DataFrame:
        """Table ``name`` (these columns, rows matching ``where``) as a typed pandas frame, its
        index the source rows; only for small tables or filtered subsets."""
        if name not in self.info:
            return empty_table(name)
        cols = [c for c in (columns or self.info[name].columns) if c in self.info[name].columns]
        if name == "opportunities" and "stage" in cols and "status" not in cols:
            cols.append("status")
        q = self.engine.quote
        select = ", ".join([*(q(c) for c in cols), "_row"])
        cond = f" WHERE {where}" if where else ""
        out = self.engine.sql(f"SELECT {select} FROM {name}{cond} ORDER BY _row")
        out = model_dtypes(name, out.set_index("_row"))
        out.index = pd.Index(out.index.astype("int64"), name=None)
        return out

    @cached_property
    def reps(self) -> pd.DataFrame:
        """The reps table in pandas (it is small), in model order with a fresh index."""
        return self.frame("reps").reset_index(drop=True)

    @cached_property
    def as_of(self) -> pd.Timestamp:
        """The reference date: ``config.as_of``, else the latest event in the data (the rule of
        :attr:`spmlib.io.schema.Dataset.as_of`)."""
        if self.config is not None and self.config.as_of is not None:
            return self.config.as_of
        parts = ["SELECT max(created_date) AS d FROM opportunities"]
        parts.append("SELECT max(close_date) AS d FROM opportunities WHERE status <> 'open'")
        for name, col in (("stage_history", "entered_date"), ("activities", "date"),
                          ("leads", "created_date")):  # fmt: skip
            if self.has(name, col):
                parts.append(f"SELECT max({col}) AS d FROM {name}")
        value = self.engine.sql(f"SELECT max(d) AS d FROM ({' UNION ALL '.join(parts)}) t")
        return pd.Timestamp(value["d"].iloc[0]).as_unit("ns").normalize()

    def data_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The dataset's full date range (the rule of :func:`spmlib.core.ranges.data_range`)."""
        lows = ["SELECT min(created_date) AS lo, CAST(NULL AS DATE) AS hi FROM opportunities"]
        if self.has("quotas"):
            day = self.engine.day(self.as_of)
            lows.append("SELECT min(period_start) AS lo, CAST(NULL AS DATE) AS hi FROM quotas")
            lows.append(
                f"SELECT CAST(NULL AS DATE) AS lo, max(period_end) AS hi FROM quotas "
                f"WHERE period_start <= {day}"
            )
        got = self.engine.sql(
            f"SELECT min(lo) AS lo, max(hi) AS hi FROM ({' UNION ALL '.join(lows)}) t"
        )
        lo, hi = (got[c].iloc[0] for c in ("lo", "hi"))
        lo = self.as_of if pd.isna(lo) else pd.Timestamp(lo).as_unit("ns")
        highs = [self.as_of] + ([] if pd.isna(hi) else [pd.Timestamp(hi).as_unit("ns")])
        return lo, max(highs)

    def close(self) -> None:
        self.engine.close()


def model_dtypes(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the model dtypes of table ``name`` on its model columns."""
    dtypes = empty_table(name).dtypes
    out = frame.copy()
    for col in out.columns:
        if col in dtypes.index:
            out[col] = out[col].astype(dtypes[col])
        elif col == "status":
            out[col] = out[col].astype("string")
    return out


# --- opening ------------------------------------------------------------------------------------


def table_files(folder: Path, name: str) -> tuple[str, list[Path]] | None:
    """The files of table ``name`` in a dataset folder: ``X.parquet``, else the Parquet files of
    a folder ``X/``, else ``X.csv``; with the name shown in problems. None when absent."""
    single = folder / f"{name}.parquet"
    if single.is_file():
        return single.name, [single]
    parts = folder / name
    if parts.is_dir():
        files = sorted(p for p in parts.rglob("*.parquet") if p.is_file())
        if files:
            return f"{name}/", files
    csv = folder / f"{name}.csv"
    if csv.is_file():
        return csv.name, [csv]
    return None


def open_tables(
    location: str | Path,
    mapping: str | Path | Any | None = None,
    engine: str | Engine | None = None,
    validate: bool = True,
) -> Tables:
    """Open a dataset in an engine (see the module docstring for the locations understood).

    Parameters
    ----------
    location : a dataset folder, an SQLAlchemy URL, or ``spark:<folder or URI>``.
    mapping : a mapping preset name or file for a CRM export (:mod:`spmlib.io.mappings`).
    engine : ``duckdb`` (default), ``spark``, or an Engine instance; ``spark:`` locations
        always use Spark.
    validate : validate the data (once per fingerprint, then trusted) and raise on errors.

    Returns
    -------
    Tables

    Raises
    ------
    DataValidationError
        When ``validate`` and the data break the model (every problem listed).
    FileNotFoundError
        When the folder does not exist.
    """
    from spmlib.engine import prepare

    text = str(location)
    if text.startswith(SPARK_PREFIX):
        text, engine = text[len(SPARK_PREFIX) :], engine or "spark"
    eng = engine if isinstance(engine, Engine) else engine_class(engine or "duckdb")()
    try:
        if mapping is not None or is_url(text) and not _is_remote_files(text):
            tables = prepare.prepared_tables(eng, text, mapping)
        else:
            tables = _folder_tables(eng, text)
        _create_views(tables)
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
    from spmlib.engine import prepare
    from spmlib.io.validate import check_config

    if hasattr(eng, "folder_tables"):  # an engine with its own file system (Spark on a URI)
        found, raw_config = eng.folder_tables(location)
    else:
        folder = Path(location)
        if not folder.is_dir():
            what = "is a file, not a folder" if folder.exists() else "does not exist"
            raise FileNotFoundError(
                f"dataset folder {location!r} {what}; give a folder of CSV/Parquet files with "
                "dataset.yml, or an SQLAlchemy URL such as sqlite:///crm.db"
            )
        found = {n: f for n in TABLES if (f := table_files(folder, n)) is not None}
        raw_config = _read_config(folder)
    config, problems = check_config(raw_config, "dataset.yml")
    timezone = str((raw_config or {}).get("timezone", "UTC"))
    digest = hashlib.sha256(repr(sorted((raw_config or {}).items())).encode())
    info: dict[str, TableInfo] = {}
    for name, (file, paths) in found.items():
        stats = [prepare.file_stamp(p) for p in paths]
        digest.update(f"{name}:{stats}".encode())
        if prepare.is_native(name, paths):
            columns = prepare.parquet_columns(paths)
            info[name] = TableInfo(file, [str(p) for p in paths], columns)
        else:
            info[name] = prepare.prepared_table(name, file, paths, timezone)
    return Tables(
        eng,
        config,
        display_location(location),
        info,
        f"sha256:{digest.hexdigest()}",
        problems,
        files={n: i.file for n, i in info.items()},
    )


def _read_config(folder: Path) -> dict | None:
    from spmlib.io.sources import Source

    raw, _file = Source(folder).config()
    return raw


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
                expr = f"CAST({q(col)} AS DATE)"
            elif kind == "float" and typ != "DOUBLE":
                expr = f"CAST({q(col)} AS DOUBLE)"
            else:
                expr = q(col)
            exprs[col] = expr
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
