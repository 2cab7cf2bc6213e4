"""Where raw tables come from: a folder of CSV/Parquet files, or a database (SQLAlchemy URL).

A :class:`Source` reads raw frames (CSV as text, so every value can be checked with its row);
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

__all__ = ["Source", "RawData", "is_url", "mask_secrets"]

log = logging.getLogger(__name__)

#: Only an empty field is missing; "NA", "null" and the like are values (and then errors if
#: they are not valid for the column).
_NA_VALUES = [""]


def is_url(location: str | Path) -> bool:
    """True for an SQLAlchemy URL such as ``sqlite:///crm.db`` (anything with ``://``)."""
    return "://" in str(location)


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

    ``read(name)`` returns a raw frame (text columns for CSV) or None when absent; ``name`` is a
    file name (``Opportunity.csv``), a stem (``opportunities``: ``.parquet`` then ``.csv``) or,
    for a database, a table name.
    """

    def __init__(self, location: str | Path):
        self.url = is_url(location)
        self._target = str(location)
        #: How the source is shown (a database password is masked).
        self.location = mask_secrets(location)
        self._engine = None
        self._cache: dict[str, pd.DataFrame | None] = {}
        if not self.url and not Path(location).is_dir():
            what = "is a file, not a folder" if Path(location).exists() else "does not exist"
            raise MissingFileError(
                f"dataset folder {str(location)!r} {what}; give a folder of CSV/Parquet "
                "files with dataset.yml, or an SQLAlchemy URL such as sqlite:///crm.db"
            )

    def _path(self, name: str) -> Path | None:
        folder = Path(self._target)
        if Path(name).suffix.lower() in (".csv", ".parquet", ".txt"):
            return folder / name if (folder / name).exists() else None
        if (folder / f"{name}.parquet").exists():
            return folder / f"{name}.parquet"
        if (folder / name).is_dir() and any((folder / name).rglob("*.parquet")):
            return folder / name  # a folder of Parquet parts (a large or partitioned table)
        if (folder / f"{name}.csv").exists():
            return folder / f"{name}.csv"
        return None

    def label(self, name: str) -> str:
        """The file name (or table name) shown in problems."""
        if self.url:
            return name
        path = self._path(name)
        if path is None:
            return name
        return f"{path.name}/" if path.is_dir() else path.name

    def exists(self, name: str) -> bool:
        if self.url:
            return name in self._tables()
        return self._path(name) is not None

    def read(self, name: str) -> pd.DataFrame | None:
        if name not in self._cache:
            self._cache[name] = self._read(name)
        return self._cache[name]  # pandas copy-on-write keeps the cached frame safe

    def _read(self, name: str) -> pd.DataFrame | None:
        if self.url:
            if name not in self._tables():
                return None
            import sqlalchemy

            try:
                with self._get_engine().connect() as conn:
                    return pd.read_sql_table(name, conn)
            except sqlalchemy.exc.SQLAlchemyError as exc:
                raise SpmError(
                    f"cannot read table {name!r} from {self.location!r}: "
                    + " ".join(str(exc).split())[:300]
                ) from None
        path = self._path(name)
        if path is None:
            return None
        if path.suffix.lower() == ".parquet" or path.is_dir():
            return pd.read_parquet(path)
        return _read_csv(path)

    def _get_engine(self):
        if self._engine is None:
            import sqlalchemy

            try:
                self._engine = sqlalchemy.create_engine(self._target)
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
        """The ``dataset.yml`` content (or the ``dataset_config`` table) and where it came from."""
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
                    parsed = yaml.safe_load(str(value)) if value is not None else None
                except yaml.YAMLError:
                    parsed = str(value)  # plain text; check_config reports it if it matters
                if key == "open_stages" and isinstance(parsed, str):
                    parsed = [s.strip() for s in parsed.split(",") if s.strip()]
                raw[str(key)] = parsed
            return raw, "dataset_config"
        path = Path(self._target) / "dataset.yml"
        if not path.exists():
            return None, "dataset.yml"
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise DataValidationError(
                problems=[
                    Problem(
                        "dataset.yml",
                        None,
                        f"dataset.yml is not valid YAML ({' '.join(str(exc).split())})",
                        hint="Fix the syntax; see the README for an example",
                    )
                ],
                source=self.location,
            ) from None
        return (raw if isinstance(raw, dict) else {}), "dataset.yml"


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
    problems : problems found while reading or mapping (missing files, counted fills/exclusions).
    inferences : the decisions a preset took from the export (:class:`spmlib.io.infer.Inference`).
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


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV file with every column as text (pandas ``string``); only empty fields are missing.

    Read with Arrow's multithreaded reader (a 10-million-row file in seconds).
    """
    import csv

    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh), [])
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header},
                null_values=_NA_VALUES,
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise DataValidationError(
            problems=[
                Problem(
                    path.name,
                    None,
                    f"the file cannot be read as CSV ({exc})".replace("\n", " "),
                    hint="Save it as UTF-8 CSV with a header line and the same number of "
                    "fields on every line (quote fields that contain commas)",
                )
            ],
            source=str(path),
        ) from None
    text = {pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}
    frame = table.to_pandas(types_mapper=text.get)
    frame.columns = [str(c).lstrip("\ufeff") for c in frame.columns]
    return frame
