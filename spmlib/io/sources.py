"""Where raw tables come from: a folder of CSV/Excel/Parquet files, or a database (SQLAlchemy URL).

A :class:`Source` reads raw frames (CSV and Excel as text, so every value can be checked with its
row; :mod:`spmlib.io.readers`);
:class:`RawData` holds what was read before typing and validation. A database password is masked
wherever a location is shown (:func:`mask_secrets`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from spmlib.exceptions import DataValidationError, MissingFileError, Problem, SpmError
from spmlib.io.readers import (
    FileFormat,
    ReadOptions,
    decode_text,
    find_table,
    read_file,
    unique_columns,
)
from spmlib.io.yamltext import read_yaml

__all__ = ["Source", "RawData", "is_url", "mask_secrets", "dataset_folder"]

log = logging.getLogger(__name__)


def is_url(location: str | Path) -> bool:
    """True for an SQLAlchemy URL such as ``sqlite:///crm.db`` (anything with ``://``)."""
    return "://" in str(location)


def dataset_folder(location: str | Path) -> Path:
    """The folder of a dataset given as a path.

    Raises
    ------
    MissingFileError
        When ``location`` is a file or does not exist, saying what to give instead.
    """
    folder = Path(location)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise MissingFileError(
            f"dataset folder {str(location)!r} {what}; give a folder of CSV/Parquet/Excel "
            "files with dataset.yml, or an SQLAlchemy URL such as sqlite:///crm.db"
        )
    return folder


def mask_secrets(text: str | Path) -> str:
    """``text`` with the password of every URL in it masked: the one masking function for every
    location that is printed or written (messages, logs, ``manifest.json``, ``Dataset.source``).

    A password is what a URL holds between ``user:`` and ``@`` (as SQLAlchemy parses it);
    anything else is left as it is.

    Examples
    --------
    >>> mask_secrets("postgresql://ann:s3cret@db.example.com/crm")
    'postgresql://ann:***@db.example.com/crm'
    >>> mask_secrets("cannot read mysql+pymysql://bo:p:w/d@h:3306/x (timeout)")
    'cannot read mysql+pymysql://bo:***@h:3306/x (timeout)'
    >>> mask_secrets("data/sample"), mask_secrets("sqlite:///crm.db")
    ('data/sample', 'sqlite:///crm.db')
    """
    return _URL_PASSWORD.sub(r"\g<head>***@", str(text))


#: ``scheme://user:password@``: the password is everything up to the ``@`` (SQLAlchemy's rule).
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][\w+.-]*://[^:/@\s]*:)[^@\s]*@")


class Source:
    """Where raw tables come from: a folder of files or a database.

    ``read(name)`` returns a raw frame (text columns for CSV and Excel) or None when absent or
    unreadable; ``name`` is a file name (``Opportunity.csv``), a stem (``opportunities``:
    ``.parquet``, a folder of parts, ``.csv``, ``.xlsx``...; :func:`spmlib.io.readers.find_table`)
    or, for a database, a table name. A file that cannot be read is not an exception: its
    problem is kept in ``problems`` (with the notes on how other files were read: encoding,
    delimiter, decimal mark), so it is reported with every other problem of the dataset.

    Parameters
    ----------
    location : a folder, or an SQLAlchemy URL (a SQLite file is opened read-only and must exist).
    options : how to read files when it should not be detected (``encoding``, ``delimiter``,
        ``decimal``, ``sheet``); ``dataset.yml``'s read settings are added to them.
    """

    def __init__(self, location: str | Path, options: ReadOptions | None = None):
        self.url = is_url(location)
        self._target = str(location)
        #: How the source is shown (a database password is masked).
        self.location = mask_secrets(location)
        self._engine = None
        self._cache: dict[tuple, pd.DataFrame | None] = {}
        #: Problems met while reading (unreadable files, duplicate columns) and notes.
        self.problems: list[Problem] = []
        #: Names whose file exists but could not be read.
        self.unreadable: set[str] = set()
        #: Read options of particular files (a mapping's per-table ``encoding:``...).
        self.file_options: dict[str, ReadOptions] = {}
        #: How each file read so far was read (by the name asked for).
        self.formats: dict[str, FileFormat] = {}
        if not self.url:
            dataset_folder(location)
        if self.url:
            _check_sqlite(self._target, self.location)
        self.options = options or ReadOptions()

    def _path(self, name: str) -> Path | None:
        return find_table(Path(self._target), name)

    def label(self, name: str) -> str:
        """The file name (or table name) shown in problems."""
        if self.url:
            return name
        path = self._path(name)
        if path is None:
            return name
        return f"{path.name}/" if path.is_dir() and not path.suffix else path.name

    def exists(self, name: str) -> bool:
        if self.url:
            return name in self._tables()
        return self._path(name) is not None

    def read(self, name: str, options: ReadOptions | None = None) -> pd.DataFrame | None:
        """The raw frame of ``name`` (None when absent or unreadable; see the class notes)."""
        options = options or self.file_options.get(name) or self.options
        key = (name, options)
        if key not in self._cache:
            try:
                self._cache[key] = self._read(name, options)
            except DataValidationError as exc:
                self._keep(exc.problems)
                self.unreadable.add(name)
                self._cache[key] = None
        return self._cache[key]  # pandas copy-on-write keeps the cached frame safe

    def _keep(self, problems) -> None:
        for p in problems:
            if p not in self.problems:
                self.problems.append(p)

    def _read(self, name: str, options: ReadOptions) -> pd.DataFrame | None:
        if self.url:
            if name not in self._tables():
                return None
            import sqlalchemy

            try:
                with self._get_engine().connect() as conn:
                    frame = pd.read_sql_table(name, conn, dtype_backend="numpy_nullable")
            except (sqlalchemy.exc.SQLAlchemyError, ValueError) as exc:
                raise DataValidationError(
                    problems=[
                        Problem(
                            name,
                            None,
                            f"cannot read table {name!r}: " + " ".join(str(exc).split())[:300],
                            hint="Check the table in the database",
                        )
                    ],
                    source=self.location,
                ) from None
            frame, problems = unique_columns(frame, name)
            self._keep(problems)
            return frame
        path = self._path(name)
        if path is None:
            return None
        frame, fmt, problems = read_file(path, options, self.label(name))
        self._keep(problems + fmt.notes())
        self.formats[name] = fmt
        return frame

    def decimal(self, name: str) -> str:
        """The decimal mark of the numbers in ``name`` (``.`` unless read with a comma)."""
        fmt = self.formats.get(name)
        return fmt.decimal if fmt is not None else (self.options.decimal or ".")

    def _get_engine(self):
        if self._engine is None:
            import sqlalchemy

            try:
                self._engine = _create_engine(self._target)
            except (sqlalchemy.exc.SQLAlchemyError, ValueError, ImportError) as exc:
                raise SpmError(f"cannot use database URL {self.location!r}: {exc}") from None
        return self._engine

    def _tables(self) -> list[str]:
        import sqlalchemy

        if not hasattr(self, "_table_names"):
            try:
                self._table_names = sqlalchemy.inspect(self._get_engine()).get_table_names()
            except sqlalchemy.exc.SQLAlchemyError as exc:
                raise SpmError(
                    f"cannot read database {self.location!r}: {' '.join(str(exc).split())[:300]}"
                ) from None
        return self._table_names

    def close(self) -> None:
        """Release the database connections (tables already read stay available)."""
        if self._engine is not None:
            self._engine.dispose()

    def config(self) -> tuple[dict | None, str]:
        """The ``dataset.yml`` content (or the ``dataset_config`` table) and where it came from.

        Dates stay text (:mod:`spmlib.io.yamltext`), so a wrong one is reported by the checks of
        :func:`spmlib.io.validate.check_config`. The read settings it gives (``encoding``,
        ``delimiter``, ``decimal``, ``sheet``) become this source's options.
        """
        raw, file = self._config()
        if isinstance(raw, dict):
            self.options = ReadOptions.from_settings(raw, self.options)
        return raw, file

    def _config(self) -> tuple[dict | None, str]:
        if self.url:
            frame = self.read("dataset_config")
            if frame is None:
                return None, "dataset_config"
            if not {"key", "value"} <= set(frame.columns):
                raise DataValidationError(
                    problems=[
                        Problem(
                            "dataset_config",
                            None,
                            "table dataset_config needs columns key and value",
                            hint="One row per dataset.yml setting, e.g. open_stages | [Lead, Demo]",
                        )
                    ],
                    source=self.location,
                )
            raw: dict[str, Any] = {}
            for key, value in zip(frame["key"], frame["value"], strict=False):
                try:
                    parsed = read_yaml(str(value)) if not pd.isna(value) else None
                except yaml.YAMLError:
                    parsed = str(value)  # plain text; check_config reports it if it matters
                if key == "open_stages" and isinstance(parsed, str):
                    parsed = [s.strip() for s in parsed.split(",") if s.strip()]
                raw[str(key)] = parsed
            return raw, "dataset_config"
        path = Path(self._target) / "dataset.yml"
        if not path.exists():
            return None, "dataset.yml"

        def bad(rule: str, hint: str):
            return DataValidationError(
                problems=[Problem("dataset.yml", None, rule, hint=hint)], source=self.location
            )

        if not path.is_file():
            raise bad("dataset.yml is a folder, not a file", "Replace it by the settings file")
        try:
            text, encoding = decode_text(path.read_bytes())
            raw = read_yaml(text)
        except yaml.YAMLError as exc:
            raise bad(
                f"dataset.yml is not valid YAML ({' '.join(str(exc).split())})",
                "Fix the syntax; see docs/data.md for an example",
            ) from None
        except (UnicodeDecodeError, OSError) as exc:
            raise bad(f"dataset.yml cannot be read ({exc})", "Save it as UTF-8 text") from None
        if encoding not in ("utf-8", "utf-8-sig"):
            self._keep([Problem("dataset.yml", None, f"read as {encoding}, not UTF-8 (detected)",
                                severity="note")])  # fmt: skip
        if raw is not None and not isinstance(raw, dict):
            raise bad(
                "dataset.yml must hold settings (key: value lines), not " + type(raw).__name__,
                "Write e.g. `open_stages: [Prospecting, Proposal]`",
            )
        return ({str(k): v for k, v in raw.items()} if raw else {}), "dataset.yml"


def _sqlite_file(url: str) -> str | None:
    """The file of a ``sqlite:///file`` URL (None for other databases or in-memory SQLite); a
    login in the URL (``sqlite+driver://user:password@/file``) is not part of the file.

    Examples
    --------
    >>> _sqlite_file("sqlite:///crm.db"), _sqlite_file("sqlite+x://ann:pw@/tmp/crm.db")
    ('crm.db', 'tmp/crm.db')
    >>> _sqlite_file("sqlite://"), _sqlite_file("postgresql://db/crm")
    (None, None)
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    return None if parsed.database in (None, "", ":memory:") else parsed.database


def _check_sqlite(url: str, shown: str) -> None:
    path = _sqlite_file(url)
    if path is not None and not Path(path).is_file():
        what = "is a folder" if Path(path).exists() else "does not exist"
        raise MissingFileError(
            f"SQLite database file {path!r} {what} (from {shown}); check the path "
            "(sqlite:///relative/path.db or sqlite:////absolute/path.db)"
        )


def _create_engine(url: str):
    """An SQLAlchemy engine; a SQLite file is opened read-only (never created or changed)."""
    import sqlalchemy

    path = _sqlite_file(url)
    if path is None:
        return sqlalchemy.create_engine(url)
    import sqlite3

    uri = Path(path).resolve().as_uri() + "?mode=ro"
    return sqlalchemy.create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
    )


@dataclass
class RawData:
    """Raw tables (model column names, source row positions as index) and what is known about them.

    Attributes
    ----------
    tables : raw frames by model table name.
    config : the dataset.yml content (None when absent), and ``config_file`` where it came from.
    files : table name -> file (or database table) shown in problems.
    columns : table name -> {model column: source column} for mapped tables.
    timezone : time zone in which timestamps are reduced to dates.
    date_formats : table name -> {column: strptime format}.
    problems : problems found while reading or mapping (unreadable or missing files, counted
        fills and exclusions) and notes on how files were read.
    inferences : the decisions a preset took from the export (:class:`spmlib.io.infer.Inference`).
    decimals : table name -> the decimal mark of its numbers, when it is a comma.
    unreadable : tables whose file exists but could not be read (reported in ``problems``).
    """

    location: str
    tables: dict[str, pd.DataFrame]
    config: dict | None
    config_file: str = "dataset.yml"
    files: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    timezone: str = "UTC"
    date_formats: dict[str, dict[str, str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    inferences: list[Any] = field(default_factory=list)
    decimals: dict[str, str] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)
