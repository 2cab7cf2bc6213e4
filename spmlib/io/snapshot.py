"""Batch data snapshots: loaded and validated once per process, then handed out as copies.

A batch writes the validated dataset once as Parquet (:func:`spmlib.run.batch.snapshot_dataset`)
with
a marker file ``.spm-snapshot.json`` holding its fingerprint. Every report of the batch calls
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

__all__ = ["MARKER", "data_fingerprint", "write_marker", "cached_load", "clear_cache"]

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


def write_marker(folder: str | os.PathLike[str], fingerprint: str) -> Path:
    """Mark ``folder`` as an immutable, validated batch snapshot (written last, atomically)."""
    from spmlib.io.files import atomic_write_text

    return atomic_write_text(Path(folder) / MARKER, json.dumps({"fingerprint": fingerprint}))


def cached_load(location: str, load_checked: Callable[[str, Any], tuple[Any, list]]):
    """The dataset of a marked snapshot folder (a fresh deep copy), or None when ``location``
    is not one (the caller then loads it normally). ``load_checked`` is
    :func:`spmlib.io.load.load_checked`; a snapshot that fails validation is not cached."""
    marker = Path(location) / MARKER
    if "://" in str(location) or not marker.is_file():
        return None
    key = (str(Path(location).resolve()), marker.read_text())
    ds = _CACHE.get(key)
    if ds is None:
        ds, _problems = load_checked(location, None)
        if ds is None:
            return None
        _CACHE.clear()  # one snapshot per process: a batch reads one
        _CACHE[key] = ds
    return replace(ds, **{name: frame.copy(deep=True) for name, frame in ds.tables().items()})


def clear_cache() -> None:
    """Forget the cached snapshot."""
    _CACHE.clear()
