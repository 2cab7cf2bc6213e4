"""Validated data, trusted afterwards: batch snapshots and validation results by fingerprint.

**Any source.** :func:`mark_validated` records that the data with a given fingerprint (a hash of
its files' paths, sizes and modification times, its settings and its mapping) passed validation,
with its warnings, in ``<SPM cache>/validated/``; :func:`validated` returns those warnings (None
when the fingerprint was never validated). The engines (:mod:`spmlib.engine.validate`) check a
dataset once per fingerprint this way and trust it afterwards; changing a file changes the
fingerprint, so changed data is always checked again.

**Batch snapshots.** A batch writes the validated dataset once as Parquet
(:func:`snapshot_dataset`) with a marker file ``.spm-snapshot.json`` holding its content
fingerprint (:func:`data_fingerprint`). Every report of the batch calls
``spmlib.load(<snapshot>)``; in a warm kernel that runs many reports, :func:`cached_load` keeps
the last snapshot it loaded and returns a **deep copy** of its tables for each call, so a report
can never see another report's changes, and the files are read and validated once per kernel
instead of once per report. Folders without the marker (any other dataset) are never cached.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from spmlib.io.files import atomic_write_text

__all__ = [
    "MARKER",
    "data_fingerprint",
    "snapshot_dataset",
    "write_marker",
    "cached_load",
    "clear_cache",
    "validated",
    "mark_validated",
]

log = logging.getLogger(__name__)

MARKER = ".spm-snapshot.json"
_CACHE: dict[tuple[str, str], Any] = {}


def data_fingerprint(ds) -> str:
    """``sha256:<hex>`` of a dataset's content: every table's columns, dtypes and row hashes,
    and its configuration. Equal data gives equal fingerprints whatever the file format."""
    digest = hashlib.sha256()
    digest.update(yaml.safe_dump(ds.config.to_dict(), sort_keys=True).encode())
    for name, frame in ds.tables().items():
        digest.update(f"{name}:{list(frame.columns)}:{[str(t) for t in frame.dtypes]}".encode())
        if len(frame):
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return f"sha256:{digest.hexdigest()}"


def snapshot_dataset(ds, folder: str | os.PathLike[str], fingerprint: str | None = None) -> Path:
    """Write a validated dataset as Parquet files plus ``dataset.yml`` (loadable by
    :func:`spmlib.load`); empty optional tables are left out. The marker written last, with the
    data's fingerprint (computed when not given), lets each kernel load and validate it once
    (:func:`cached_load`). Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in ds.tables().items():
        if len(frame) or name in ("reps", "opportunities"):
            tmp = folder / f".{name}.parquet.tmp"
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, folder / f"{name}.parquet")
    atomic_write_text(folder / "dataset.yml", yaml.safe_dump(ds.config.to_dict(), sort_keys=False))
    write_marker(folder, fingerprint or data_fingerprint(ds))
    return folder


def write_marker(folder: str | os.PathLike[str], fingerprint: str) -> Path:
    """Mark ``folder`` as an immutable, validated batch snapshot (written last, atomically)."""
    return atomic_write_text(Path(folder) / MARKER, json.dumps({"fingerprint": fingerprint}))


def cached_load(location: str, load_checked: Callable[[str, Any, bool], tuple[Any, list]]):
    """The dataset of a marked snapshot folder (a fresh deep copy), or None when ``location``
    is not one (the caller then loads it normally). ``load_checked`` is
    :func:`spmlib.io.load.load_checked`; a snapshot that fails validation is not cached."""
    marker = Path(location) / MARKER
    if "://" in str(location) or not marker.is_file():
        return None
    key = (str(Path(location).resolve()), marker.read_text())
    ds = _CACHE.get(key)
    if ds is None:
        ds, _problems = load_checked(location, None, False)  # warnings told by the batch
        if ds is None:
            return None
        _CACHE.clear()  # one snapshot per process: a batch reads one
        _CACHE[key] = ds
    return replace(ds, **{name: frame.copy(deep=True) for name, frame in ds.tables().items()})


def clear_cache() -> None:
    """Forget the cached snapshot."""
    _CACHE.clear()


def _validated_path(fingerprint: str) -> Path:
    import hashlib

    from spmlib.config import CACHE_DIR

    return CACHE_DIR / "validated" / f"{hashlib.sha256(fingerprint.encode()).hexdigest()}.json"


def validated(fingerprint: str) -> list | None:
    """The warnings recorded when data with ``fingerprint`` passed validation, or None when it
    never did (or the record cannot be read)."""
    from spmlib.exceptions import Problem

    path = _validated_path(fingerprint)
    try:
        record = json.loads(path.read_text())
        return [Problem(**{**p, "rows": tuple(p["rows"])}) for p in record["warnings"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def mark_validated(fingerprint: str, warnings: list) -> Path:
    """Record that data with ``fingerprint`` passed validation, with its warnings."""
    from spmlib.io.files import atomic_write_json

    record = {"fingerprint": fingerprint, "warnings": [w.__dict__ for w in warnings]}
    return atomic_write_json(_validated_path(fingerprint), record)
