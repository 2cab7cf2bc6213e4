"""DuckDB, embedded in this process: the default engine.

Queries read Parquet files in place: only the columns a query uses are read, and its filters
are pushed down to the row groups. Memory is capped (:data:`MEMORY_LIMIT`, spilling to a
temporary folder beyond it), so a table far larger than memory still aggregates.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from spmlib.engine.base import Engine
from spmlib.exceptions import EngineMemoryError

__all__ = ["DuckDBEngine", "MEMORY_LIMIT", "SLICE_MEMORY", "SLICE_ROWS"]

log = logging.getLogger(__name__)

#: DuckDB's memory cap (``SPM_DUCKDB_MEMORY``, default 500MB, so that a whole command stays
#: under 1 GB beside Python and pandas); beyond it, it spills to disk. A larger cap speeds up
#: little: checking 12 M activity ids for duplicates takes the same time at 500MB as at 1GB.
MEMORY_LIMIT = os.environ.get("SPM_DUCKDB_MEMORY", "500MB")

#: Keys per slice of a per-key aggregation (``SPM_DUCKDB_SLICE_ROWS``): a funnel over 100 M
#: deals and 400 M stage-history rows needs more than 1 GB at once, so it runs in slices of
#: 5 M deals.
SLICE_ROWS = int(os.environ.get("SPM_DUCKDB_SLICE_ROWS", "5000000"))

#: DuckDB's memory cap once a table needs slices (``SPM_DUCKDB_SLICE_MEMORY``, else
#: ``SPM_DUCKDB_MEMORY`` when set, else 1200MB): data that large is past the 1 GB of a small
#: command, and a slice that fits spills less (the funnel of 100 M deals took 2 min 3 s with
#: 10 M deals a slice at 500MB, 80 s with 5 M at 1200MB, its peak 1.4 GB).
SLICE_MEMORY = os.environ.get("SPM_DUCKDB_SLICE_MEMORY") or os.environ.get(
    "SPM_DUCKDB_MEMORY", "1200MB"
)
_SAMPLE = 100_000


class DuckDBEngine(Engine):
    """An in-memory DuckDB connection (one per opened dataset)."""

    name = "duckdb"

    def __init__(self) -> None:
        import duckdb

        # every query that needs an order says so (ORDER BY): without keeping the file order,
        # operators over tables larger than memory can spill instead of running out of it
        self._con = duckdb.connect(
            config={"memory_limit": MEMORY_LIMIT, "preserve_insertion_order": False}
        )
        self._cap = MEMORY_LIMIT
        self._run(f"SET temp_directory = '{tempfile.gettempdir()}/spm-duckdb'")
        self._slices: dict[tuple[str, str, int], list[str]] = {}

    def sql(self, text: str) -> pd.DataFrame:
        log.debug("duckdb: %s", text)
        with self._memory_said():
            return self._con.execute(text).df()

    def execute(self, text: str) -> None:
        log.debug("duckdb: %s", text)
        self._run(text)

    def _run(self, text: str):
        """``text`` run on the connection (its result), DuckDB's out of memory said."""
        with self._memory_said():
            return self._con.execute(text)

    @contextmanager
    def _memory_said(self) -> Iterator[None]:
        """DuckDB's out-of-memory error as an :class:`~spmlib.exceptions.EngineMemoryError`
        naming the cap and the settings that change it."""
        import duckdb

        try:
            yield
        except duckdb.OutOfMemoryException as exc:
            raise EngineMemoryError(
                f"DuckDB ran out of its memory cap ({self._cap}) and of what it could spill to "
                f"{tempfile.gettempdir()}/spm-duckdb. Raise the cap (SPM_DUCKDB_MEMORY, and "
                "SPM_DUCKDB_SLICE_MEMORY for data split into slices), or split large tables "
                "into smaller slices (SPM_DUCKDB_SLICE_ROWS), and check the free disk space. "
                f"DuckDB said: {str(exc).splitlines()[0]}"
            ) from None

    def register(self, name: str, frame: pd.DataFrame) -> None:
        # copied into a table: joins on a frame scanned in place are ~50x slower (0.1 s for a
        # calendar of a thousand days), and the frames registered are small
        self._con.register("spm_frame", frame)
        try:
            self._run(f"CREATE OR REPLACE TEMP TABLE {self.quote(name)} AS SELECT * FROM spm_frame")
        finally:
            self._con.unregister("spm_frame")

    writes_local_files = True

    def write_parquet(self, sql: str, path: str) -> None:
        import duckdb

        try:
            self._run(f"COPY ({sql}) TO {self.literal(path)} (FORMAT parquet)")
        except duckdb.IOException as exc:  # out of disk space, a folder not writable
            raise OSError(str(exc).splitlines()[0]) from exc

    def parquet_source(self, paths: list[str], row_column: bool = False) -> str:
        files = ", ".join(self.literal(p) for p in paths)
        if row_column:
            return f"read_parquet([{files}])"
        return (
            f"(SELECT * EXCLUDE (file_row_number), file_row_number AS _row "
            f"FROM read_parquet([{files}], file_row_number = true))"
        )

    def column_types(self, relation: str) -> dict[str, str]:
        rows = self._run(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        return {r[0]: str(r[1]).upper() for r in rows}

    def key_slices(self, table: str, column: str, scale: int = 1) -> list[str]:
        """Slices of about ``scale`` x :data:`SLICE_ROWS` keys, split at quantiles of a sample of
        the column (the bounds only balance the slices; any bounds give the same result). On
        Parquet, a range of keys skips the row groups outside it by their statistics. Worked
        out once per table and column; when a table needs slices, the memory cap becomes
        :data:`SLICE_MEMORY`."""
        if (table, column, scale) not in self._slices:
            self._slices[table, column, scale] = self._key_slices(table, column, scale)
        return self._slices[table, column, scale]

    def _key_slices(self, table: str, column: str, scale: int) -> list[str]:
        rows = self._run(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        parts = -(-rows // (SLICE_ROWS * scale))
        if parts <= 1:
            return ["TRUE"]
        self._run(f"SET memory_limit = '{SLICE_MEMORY}'")
        self._cap = SLICE_MEMORY
        at = ", ".join(str(i / parts) for i in range(1, parts))
        col = self.quote(column)
        bounds = self._run(
            f"SELECT quantile_disc({col}, [{at}]) FROM (SELECT {col} FROM {table} "
            f"WHERE {col} IS NOT NULL USING SAMPLE {_SAMPLE} ROWS) s"
        ).fetchall()[0][0]
        return self._range_slices(sorted(set(bounds or [])))

    def reused(self, name: str, sql: str) -> str:
        # computed once, not once per reference
        return f"{name} AS MATERIALIZED ({sql})"

    def close(self) -> None:
        self._con.close()
