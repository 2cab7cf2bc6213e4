"""Loading datasets: a folder of CSV or Parquet files (plus ``dataset.yml``), or an SQLAlchemy URL.

``load`` returns a typed, validated :class:`~spmlib.schema.Dataset`, or raises one
:class:`~spmlib.exceptions.DataValidationError` listing every problem. A CRM export is translated
onto the model by a mapping (:mod:`spmlib.mappings`).

Sources
-------
* **Folder**: for each table ``X`` a file ``X.parquet`` or ``X.csv`` (Parquet wins), and
  ``dataset.yml``. CSV files are read as text so that an unparseable value is reported with its
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
import yaml

from spmlib.exceptions import DataValidationError, Problem, SpmError
from spmlib.schema import TABLES, Dataset, DatasetConfig, empty_table

__all__ = [
    "load",
    "load_checked",
    "read_raw",
    "read_tables",
    "read_sql_tables",
    "coerce_table",
    "derive_status",
    "resolve_data",
    "is_url",
    "display_location",
    "RawData",
    "Source",
]

log = logging.getLogger(__name__)

#: Only an empty field is missing; "NA", "null" and the like are values (and then errors if
#: they are not valid for the column).
_NA_VALUES = [""]


def resolve_data(data: str | Path | None) -> str:
    """The dataset to load: ``data`` itself, or the sample dataset (generated on first use)."""
    if data is None or str(data) == "":
        from spmlib.config import SAMPLE_DATA_DIR
        from spmlib.sample import ensure_sample

        return str(ensure_sample(SAMPLE_DATA_DIR))
    return str(data)


def is_url(location: str | Path) -> bool:
    """True for an SQLAlchemy URL such as ``sqlite:///crm.db`` (anything with ``://``)."""
    return "://" in str(location)


def display_location(location: str | Path) -> str:
    """``location`` as shown in messages and ``Dataset.source``: a URL's password is masked.

    Examples
    --------
    >>> display_location("postgresql://ann:s3cret@db.example.com/crm")
    'postgresql://ann:***@db.example.com/crm'
    >>> display_location("data/sample")
    'data/sample'
    """
    if not is_url(location):
        return str(location)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(str(location)).render_as_string(hide_password=True)
    except ArgumentError:
        return str(location)


# --- sources ------------------------------------------------------------------------------------


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
        self.location = display_location(location)
        self._engine = None
        self._cache: dict[str, pd.DataFrame | None] = {}
        if not self.url and not Path(location).is_dir():
            what = "is a file, not a folder" if Path(location).exists() else "does not exist"
            raise FileNotFoundError(
                f"dataset folder {str(location)!r} {what}; give a folder of CSV/Parquet "
                "files with dataset.yml, or an SQLAlchemy URL such as sqlite:///crm.db"
            )

    def _path(self, name: str) -> Path | None:
        folder = Path(self._target)
        if Path(name).suffix.lower() in (".csv", ".parquet", ".txt"):
            return folder / name if (folder / name).exists() else None
        for ext in ("parquet", "csv"):
            if (folder / f"{name}.{ext}").exists():
                return folder / f"{name}.{ext}"
        return None

    def label(self, name: str) -> str:
        """The file name (or table name) shown in problems."""
        if self.url:
            return name
        path = self._path(name)
        return path.name if path is not None else name

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
        if path.suffix.lower() == ".parquet":
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


def read_tables(path: str | Path) -> tuple[dict[str, pd.DataFrame], dict, dict[str, str]]:
    """Read the raw tables of a dataset folder (or database URL), without typing or validation.

    Returns (tables by name, the parsed dataset.yml, the file each table came from).
    For each table ``X`` the folder may hold ``X.parquet`` or ``X.csv`` (Parquet wins).
    """
    raw = read_raw(path)
    return raw.tables, raw.config or {}, raw.files


def read_sql_tables(url: str) -> tuple[dict[str, pd.DataFrame], dict, dict[str, str]]:
    """Read the model's tables and ``dataset_config`` from an SQLAlchemy URL (see module notes)."""
    return read_tables(url)


def read_raw(location: str | Path, mapping: str | Path | Any | None = None) -> RawData:
    """Read a dataset's raw tables, through ``mapping`` when given (a name, a path or a
    :class:`spmlib.mappings.Mapping`)."""
    source = Source(location)
    try:
        if mapping is not None:
            from spmlib.mappings import apply_mapping, load_mapping

            return apply_mapping(load_mapping(mapping), source)
        tables, files = {}, {}
        for name in TABLES:
            frame = source.read(name)
            if frame is not None:
                tables[name] = frame
                files[name] = source.label(name)
        config, config_file = source.config()
        timezone = str((config or {}).get("timezone", "UTC"))
        return RawData(source.location, tables, config, config_file, files, timezone=timezone)
    finally:
        source.close()


# --- typing -------------------------------------------------------------------------------------


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


def _iso_dates_fast(text: pd.Series) -> pd.Series:
    """``YYYY-MM-DD`` text parsed by Arrow (fast); anything else is NaT for the slow path."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(text.astype("string").array)
    parsed = pc.strptime(arr, format="%Y-%m-%d", unit="s", error_is_null=True)
    # Arrow rolls impossible days over (2024-02-30 -> 03-01): keep values whose day is as written
    day_text = pc.utf8_slice_codeunits(arr, 8, 10)
    day_text = pc.if_else(pc.utf8_is_digit(day_text).fill_null(False), day_text, "0")
    exact = pc.and_(
        pc.equal(pc.utf8_length(arr), 10), pc.equal(pc.day(parsed), pc.cast(day_text, pa.int64()))
    )
    parsed = pc.if_else(exact.fill_null(False), parsed, pa.scalar(None, parsed.type))
    values = parsed.to_numpy(zero_copy_only=False)
    return pd.Series(values, index=text.index).astype("datetime64[ns]")


def _parse_dates(s: pd.Series, fmt: str | None = None, timezone: str = "UTC") -> pd.Series:
    """Dates at midnight (datetime64[ns]); unparseable values become NaT (callers report them)."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        out = s.dt.tz_convert(timezone).dt.tz_localize(None)
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s
    else:
        text = s.astype("string").str.strip()
        if fmt is None:  # plain dates first (the common case), timestamps and the rest after
            out = _iso_dates_fast(text)
            rest = out.isna() & text.notna()
            if rest.any():
                out[rest] = _parse_dates(text[rest], "ISO8601", timezone)
            return out
        kw = {"format": fmt, "errors": "coerce"}
        try:
            out = pd.to_datetime(text, **kw)
            if isinstance(out.dtype, pd.DatetimeTZDtype):
                out = out.dt.tz_convert(timezone).dt.tz_localize(None)
        except ValueError:  # mixed offsets, or offsets mixed with naive timestamps
            aware = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).fillna(False)
            out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
            if aware.any():
                parsed = pd.to_datetime(text[aware], utc=True, **kw)
                out[aware] = parsed.dt.tz_convert(timezone).dt.tz_localize(None)
            if (~aware).any():
                out[~aware] = pd.to_datetime(text[~aware], **kw)
    return out.dt.normalize().astype("datetime64[ns]")


def coerce_table(
    name: str,
    frame: pd.DataFrame,
    timezone: str = "UTC",
    date_formats: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Give each known column of table ``name`` its model dtype (ids and text as stripped
    strings, blank = missing; dates as datetime64 at midnight in ``timezone``; amounts as float).
    Unknown columns are kept as they are. Unparseable values become missing: compare with the
    input (:func:`spmlib.validate.check_parsing`) to report them.

    Examples
    --------
    >>> raw = pd.DataFrame({"opp_id": [" O1"], "rep_id": ["R1"],
    ...     "created_date": ["2024-01-31T23:30:00Z"], "close_date": ["2024-02-03"],
    ...     "stage": ["Won"], "amount": ["12.5"]})
    >>> typed = coerce_table("opportunities", raw, timezone="Europe/Paris")
    >>> typed["opp_id"][0], str(typed["created_date"][0].date()), typed["amount"][0]
    ('O1', '2024-02-01', np.float64(12.5))
    """
    out = frame.copy()
    formats = date_formats or {}
    for col, kind in TABLES[name].columns.items():
        if col not in out.columns:
            continue
        s = out[col]
        if kind in ("id", "str"):
            text = s.astype("string").str.strip()
            out[col] = text.mask(text == "")
        elif kind == "date":
            out[col] = _parse_dates(s, formats.get(col), timezone)
        elif kind == "float":
            out[col] = _to_number(s).astype("float64")
        elif kind == "int":
            out[col] = _to_number(s).astype("Int64")
    return out


def _to_number(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s
    return pd.to_numeric(s.astype("string").str.strip(), errors="coerce")


def derive_status(opportunities: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    """Copy of ``opportunities`` with ``status`` = won | lost | open derived from ``stage``.

    A ``status`` column already present is kept where given (lower-cased) and derived where empty;
    :func:`spmlib.validate.check_table` reports a status that disagrees with the stage.

    Examples
    --------
    >>> cfg = DatasetConfig(open_stages=("Lead",), won_stage="Won", lost_stage="Lost")
    >>> derive_status(pd.DataFrame({"stage": ["Lead", "Won", "Lost"]}), cfg)["status"].tolist()
    ['open', 'won', 'lost']
    """
    out = opportunities.copy()
    status = pd.Series("open", index=out.index, dtype="string")
    status[out["stage"] == config.won_stage] = "won"
    status[out["stage"] == config.lost_stage] = "lost"
    if "status" in out.columns:
        given = out["status"].astype("string").str.strip().str.lower()
        given = given.mask(given == "")
        status = given.fillna(status)
    out["status"] = status.astype("string")
    return out


# --- loading ------------------------------------------------------------------------------------


def load_checked(
    path_or_url: str | Path | None = None, mapping: str | Path | Any | None = None
) -> tuple[Dataset | None, list[Problem]]:
    """Read, type and validate a dataset; return it (None if it has errors) and every problem.

    The problems list holds errors first, then warnings. ``load`` raises on errors instead.
    """
    from spmlib import validate as v

    location = resolve_data(path_or_url)
    raw = read_raw(location, mapping)
    problems: list[Problem] = list(raw.problems)
    config, config_problems = v.check_config(raw.config, raw.config_file)
    problems += config_problems
    problems += v.missing_tables(raw.tables, raw.location)
    typed: dict[str, pd.DataFrame] = {}
    timezone = raw.timezone if _known_zone(raw.timezone) else "UTC"  # else reported above
    for name, frame in raw.tables.items():
        file, cols = raw.files.get(name, name), raw.columns.get(name)
        formats = raw.date_formats.get(name)
        problems += v.check_columns(name, frame, file, cols)
        typed[name] = coerce_table(name, frame, timezone, formats)
        problems += v.check_parsing(name, frame, typed[name], file, cols, formats)
        if config is None:
            continue
        if name == "opportunities" and "stage" in typed[name].columns:
            typed[name] = derive_status(typed[name], config)
        problems += v.check_table(name, typed[name], config, file, cols)
    if config is not None:
        problems += v.check_relations(typed, config, raw.files, raw.columns)
    errors = v.errors_of(problems)
    if errors:
        return None, errors + v.warnings_of(problems)
    for name in TABLES:
        if name in typed:
            typed[name] = _in_model_order(name, typed[name])
        else:
            typed[name] = empty_table(name)
    ds = Dataset(config=config, source=raw.location, **typed)
    problems += v.check_warnings(typed, config, ds.as_of, raw.files, raw.columns)
    warnings = v.warnings_of(problems)
    for w in warnings:
        log.info("data warning: %s", w)
    if warnings:
        log.warning(
            "%d data warning(s) in %s; see Dataset.warnings or run `spm validate`",
            len(warnings),
            location,
        )
    return replace(ds, warnings=tuple(warnings)), warnings


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


def load(path_or_url: str | Path | None = None, mapping: str | Path | Any | None = None) -> Dataset:
    """Load, type and validate a dataset.

    Parameters
    ----------
    path_or_url : a folder of CSV/Parquet files with ``dataset.yml``, or an SQLAlchemy URL
        (tables named as the model, settings in a ``dataset_config`` key/value table);
        None = the bundled sample data.
    mapping : a mapping preset name (``salesforce``, ``hubspot``) or a YAML file translating a
        CRM export onto the model (see :mod:`spmlib.mappings`).

    Returns
    -------
    Dataset
        Typed tables (optional ones empty when absent); ``warnings`` holds suspicious but legal
        findings (:func:`spmlib.validate.check_warnings`).

    Raises
    ------
    DataValidationError
        With every error found (file, column, rule, first offending rows, what to fix).
    FileNotFoundError
        When the folder does not exist.
    spmlib.exceptions.UnknownNameError
        For an unknown mapping preset.
    """
    location = resolve_data(path_or_url)
    if mapping is None:  # a batch's validated snapshot: read once per process (spmlib.snapshot)
        from spmlib.snapshot import cached_load

        cached = cached_load(location, load_checked)
        if cached is not None:
            return cached
    ds, problems = load_checked(location, mapping)
    if ds is None:
        raise DataValidationError(problems=problems, source=display_location(location))
    return ds
