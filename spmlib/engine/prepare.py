"""Typed Parquet copies of what an engine cannot read in place, cached by source fingerprint.

A CSV file (or a Parquet file holding dates or numbers as text) is read, typed and checked for
unparseable values **once** by the pandas loader (:func:`spmlib.io.coerce.coerce_table`,
:func:`spmlib.io.validate.check_parsing`), then written as Parquet to
``<SPM cache>/tables/<key>/`` with a ``_row`` column (the source row) and the problems found.
The key hashes the file's path, size and modification time and the typing settings, so a
changed file is converted again and an unchanged one never is. A mapped CRM export or a
database is read and mapped the same way (:func:`spmlib.io.load.read_raw`); a folder's copy is
cached, a database's is not (its content has no cheap fingerprint).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from spmlib.config import CACHE_DIR
from spmlib.engine.staging import written_whole
from spmlib.exceptions import DataValidationError, Problem
from spmlib.io.readers import align_headers, normal_header
from spmlib.io.schema import TABLES

__all__ = [
    "PREPARE_VERSION",
    "file_stamp",
    "is_native",
    "parquet_columns",
    "prepared_table",
    "prepared_tables",
]

log = logging.getLogger(__name__)

#: Bumped when the typed copies change; older copies are then ignored.
PREPARE_VERSION = 2


def file_stamp(path: Path) -> tuple[str, int, int]:
    """(resolved path, size, modification time in ns): what a file's fingerprint is made of."""
    st = Path(path).stat()
    return (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def _native_type(kind: str, typ: pa.DataType) -> bool:
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if kind == "date":
        return pa.types.is_date(typ) or (pa.types.is_timestamp(typ) and typ.tz is None)
    if kind in ("float", "int"):
        return pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)
    return (
        pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or pa.types.is_integer(typ)
        or pa.types.is_null(typ)
    )


def is_native(name: str, paths: list[Path]) -> bool:
    """True when table ``name`` is Parquet whose model columns have the model's types (text for
    ids, dates or naive timestamps for dates, numbers for amounts), no ``_row`` column, unique
    column names and, by the files' statistics, no date outside the range pandas handles: an
    engine reads it in place. Anything else (a file that cannot be read too) goes through the
    pandas reader, which reports what is wrong."""
    if not all(Path(p).suffix == ".parquet" for p in paths):
        return False
    try:
        schema = pq.read_schema(paths[0])
    except (pa.ArrowException, OSError):
        return False
    kinds = TABLES[name].columns
    if "_row" in schema.names or len(set(schema.names)) != len(schema.names):
        return False
    near = {normal_header(c) for c in kinds}
    if any(c not in kinds and normal_header(c) in near for c in schema.names):
        return False  # a header like "Rep ID": the reader matches it to rep_id
    if not all(_native_type(kinds[f.name], f.type) for f in schema if f.name in kinds):
        return False
    dates = [f.name for f in schema if kinds.get(f.name) == "date"]
    return not dates or all(_dates_in_range(p, dates) for p in paths)


def _dates_in_range(path: Path, columns: list[str]) -> bool:
    """True when the row-group statistics of ``columns`` lie within pandas' date range (and
    the file's metadata can be read)."""
    import datetime as dt

    from spmlib.io.coerce import DATE_RANGE

    lo, hi = (d.date() for d in DATE_RANGE)
    try:
        meta = pq.read_metadata(path)
    except (pa.ArrowException, OSError):
        return False
    index = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for col in columns:
            stats = group.column(index[col]).statistics if col in index else None
            if stats is None or not stats.has_min_max:
                continue
            for value in (stats.min, stats.max):
                day = value.date() if isinstance(value, dt.datetime) else value
                if isinstance(day, dt.date) and not lo <= day <= hi:
                    return False
    return True


def parquet_columns(paths: list[Path | str]) -> list[str]:
    """The columns of a Parquet table (its first file), ``_row`` left out."""
    return [c for c in pq.read_schema(paths[0]).names if c != "_row"]


def _key(*parts: Any) -> str:
    return hashlib.sha256(repr((PREPARE_VERSION, *parts)).encode()).hexdigest()[:32]


def prepared_table(name: str, file: str, paths: list[Path], timezone: str, options=None):
    """The cached typed copy of one table (made now when absent), as a TableInfo. A file that
    cannot be read gives a TableInfo without paths, holding the problem."""
    from spmlib.io.readers import ReadOptions

    options = options or ReadOptions()
    folder = CACHE_DIR / "tables" / _key(name, [file_stamp(p) for p in paths], timezone, options)
    if not (folder / "problems.json").is_file():
        try:
            raw, decimal, problems = _read(paths, file, options)
        except DataValidationError as exc:
            _write(folder, name, None, file, timezone, None, None, exc.problems)
        else:
            raw, aligned = align_headers(raw, TABLES[name].columns, file)
            _write(folder, name, raw, file, timezone, None, None, problems + aligned, decimal)
    return _info(folder, file)


def _read(paths: list[Path], file: str, options) -> tuple:
    """The raw frame of a table's files (:func:`spmlib.io.readers.read_file`), and the
    problems and notes of reading it."""
    import pandas as pd

    from spmlib.io.readers import read_file

    frames, problems = [], []
    for path in paths:
        frame, fmt, found = read_file(path, options, file)
        frames.append(frame)
        problems += [p for p in [*found, *fmt.notes()] if p not in problems]
    raw = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return raw, fmt.decimal, problems


def _write(
    folder: Path,
    name: str,
    raw,
    file: str,
    timezone: str,
    columns,
    formats,
    read_problems=(),
    decimal: str = ".",
) -> None:
    """Type ``raw``, record its column and parsing problems (after ``read_problems``), write
    both into ``folder``. ``raw`` None (the file cannot be read) records the problems only."""
    from spmlib.io.coerce import coerce_table
    from spmlib.io.validate import check_columns, check_parsing

    problems = list(read_problems)
    with written_whole(folder, ".prep-") as tmp:
        if raw is not None:
            problems += check_columns(name, raw, file, columns)
            typed = coerce_table(name, raw, timezone, formats, decimal)
            problems += check_parsing(name, raw, typed, file, columns, formats, decimal)
            typed = typed.assign(_row=raw.index.to_numpy().astype("int64"))
            typed.to_parquet(tmp / "data.parquet", index=False)
        (tmp / "problems.json").write_text(json.dumps([p.__dict__ for p in problems]))
        (tmp / "file.txt").write_text(file)
    log.info("typed copy of %s written to %s", file, folder)


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _info(folder: Path, file: str):
    from spmlib.engine.tables import TableInfo

    problems = [
        Problem(**{**p, "rows": tuple(p["rows"])})
        for p in json.loads((folder / "problems.json").read_text())
    ]
    path = folder / "data.parquet"
    if not path.is_file():  # the source cannot be read
        return TableInfo(file, [], [], problems, row_column=True)
    return TableInfo(file, [str(path)], parquet_columns([path]), problems, row_column=True)


def prepared_tables(eng, location: str, mapping):
    """A mapped export or a database, read through pandas into typed copies (see module)."""
    from spmlib.engine.tables import Tables
    from spmlib.io.load import read_raw
    from spmlib.io.sources import dataset_folder, is_url, mask_secrets
    from spmlib.io.validate import check_config

    if is_url(location):
        folder_key = None
    else:
        folder = dataset_folder(location)
        stamps = sorted(file_stamp(p) for p in folder.iterdir() if p.is_file())
        folder_key = _key("mapped", stamps, _mapping_identity(mapping))
    base = CACHE_DIR / "datasets" / folder_key if folder_key else _scratch()
    meta_path = base / "meta.json"
    if not meta_path.is_file():
        raw = read_raw(location, mapping)
        timezone = raw.timezone
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            timezone = "UTC"  # reported by check_config
        for name, frame in raw.tables.items():
            file = raw.files.get(name, name)
            cols, formats = raw.columns.get(name), raw.date_formats.get(name)
            decimal = raw.decimals.get(name, ".")
            _write(base / name, name, frame, file, timezone, cols, formats, (), decimal)
        meta = {
            "config": raw.config,
            "config_file": raw.config_file,
            "files": raw.files,
            "columns": raw.columns,
            "problems": [p.__dict__ for p in raw.problems],
            "tables": sorted(raw.tables),
            "unreadable": sorted(raw.unreadable),
        }
        _ensure(base)
        from spmlib.io.files import atomic_write_json

        atomic_write_json(meta_path, meta)
    meta = json.loads(meta_path.read_text())
    unreadable = meta.get("unreadable", [])
    if meta["config"] is None and "dataset.yml" in unreadable:
        config, config_problems = None, []  # why it cannot be read is among the problems
    else:
        config, config_problems = check_config(meta["config"], meta["config_file"])
    read_problems = [Problem(**{**p, "rows": tuple(p["rows"])}) for p in meta["problems"]]
    info = {name: _info(base / name, meta["files"].get(name, name)) for name in meta["tables"]}
    digest = hashlib.sha256(f"{folder_key or base}".encode()).hexdigest()
    return Tables(
        eng,
        config,
        mask_secrets(location),
        info,
        f"sha256:{digest}" if folder_key else "",
        read_problems + config_problems,
        files=meta["files"],
        mapped_columns=meta["columns"],
        unreadable=tuple(n for n in unreadable if n in TABLES),
    )


def _mapping_identity(mapping) -> str:
    from spmlib.io.mappings import load_mapping

    return repr(load_mapping(mapping))


def _scratch() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="spm-db-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder
