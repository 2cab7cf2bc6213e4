"""Tables derived from a dataset's files, cached by their fingerprint.

An aggregation that reads a large table the same way on every run (the funnel's summary of
each deal's stage history: :func:`spmlib.funnel.reach.engine_stage_funnel`) is written once,
slice by slice, as Parquet to ``<SPM cache>/derived/<key>/``; later runs read the summary in
place of the table. The key hashes the dataset's fingerprint (the path, size and
modification time of every file, and its settings: :attr:`spmlib.engine.tables.Tables.fingerprint`)
and the query, so a changed file, setting or query makes a new summary, an unchanged one never
does. The files are written into a temporary folder renamed into place when complete: a run
that stops part-way leaves nothing that a later run would read. A new copy for a dataset
whose files have changed replaces the older copies of that dataset (once they are an hour
old), so a dataset refreshed every week holds one copy, not one a week.

Only engines that write files on this machine cache (DuckDB); a dataset read in place from a
cluster file system (Spark) has no cheap fingerprint, and its queries run on every run.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spmlib import config
from spmlib.engine.staging import written_whole

__all__ = ["DERIVED_VERSION", "caches", "derived_parquet"]

log = logging.getLogger(__name__)

#: Seconds after which an older copy of a dataset's derived table, replaced by a newer one, is
#: removed (a command that started reading it before has finished by then).
STALE_AFTER = 3600

#: Bumped when the layout of the derived files changes (a changed query alone makes a new
#: key); older copies are then ignored.
DERIVED_VERSION = 1


def derived_parquet(tables, name: str, settings: Any, queries: Sequence[str]) -> list[str] | None:
    """The Parquet files of the derived table ``name``: one per query of ``queries`` (each
    the rows of one slice), written now when the cache has none for this dataset and
    ``settings`` (what else the rows depend on: the query). None when the engine cannot
    cache them (see the module docstring), or the cache cannot take them (out of disk space:
    a warning says so, and nothing half-written is left): the caller then runs its queries
    itself.

    The files of one table are found again whatever the slices of a later run: read them all
    with the later slice's condition on the slicing key.
    """
    if not caches(tables):
        return None
    key = repr((DERIVED_VERSION, name, tables.fingerprint, settings))
    key = hashlib.sha256(key.encode()).hexdigest()
    folder = config.CACHE_DIR / "derived" / key[:32]
    if not folder.is_dir():
        owner = f"{name}\n{_where(tables.source)}\n"
        try:
            _write(tables, folder, name, owner, queries)
        except OSError as exc:
            log.warning(
                "The %s could not be written to the cache (%s): %s. They are worked out on "
                "every run until they can be: free disk space there, or point SPM_CACHE_DIR at "
                "a writable folder with room.",
                name,
                folder.parent,
                exc,
            )
            return None
        _remove_older(folder, owner)
    return sorted(str(p) for p in folder.glob("part-*.parquet"))


def caches(tables) -> bool:
    """True when derived tables of ``tables`` are cached: its engine writes files on this
    machine and its files have a fingerprint (see the module docstring)."""
    return tables.engine.writes_local_files and bool(tables.fingerprint)


def _where(source: str) -> str:
    """The dataset's location, a folder resolved (the same from any working folder)."""
    path = Path(source)
    return str(path.resolve()) if path.exists() else source


def _write(tables, folder: Path, name: str, owner: str, queries: Sequence[str]) -> None:
    with written_whole(folder, ".derived-") as tmp:
        for i, sql in enumerate(queries):
            tables.report(f"{name}, slice {i + 1} of {len(queries)}")
            tables.engine.write_parquet(sql, str(tmp / f"part-{i:05d}.parquet"))
        (tmp / "owner.txt").write_text(owner)
    log.info("%s written to %s", name, folder)


def _remove_older(folder: Path, owner: str) -> None:
    """Remove the older copies of the same table of the same dataset (its files have changed
    since: nothing will read them again), but not those of the last hour, which a command
    started before the change may still be reading."""
    for other in folder.parent.iterdir():
        mark = other / "owner.txt"
        if other == folder or not mark.is_file() or mark.read_text() != owner:
            continue
        if time.time() - mark.stat().st_mtime > STALE_AFTER:
            shutil.rmtree(other, ignore_errors=True)
            log.info("older %s removed", other)
