"""The engine interface: run SQL on a dataset's tables, get a pandas frame back.

The analyses write their aggregation once, as SQL in the common subset of DuckDB and Spark SQL
(``WITH``, joins, ``GROUP BY``, ``CASE``, window functions); the few spellings that differ come
from the engine's dialect methods (:meth:`Engine.days_between`, :meth:`Engine.text`, ...).
:data:`ENGINES` lists the engines by name.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from itertools import pairwise

import pandas as pd

__all__ = ["Engine", "ENGINES", "MONEY", "slice_on"]

log = logging.getLogger(__name__)


def slice_on(part: str, column: str) -> str:
    """The slice condition ``part`` (of :meth:`Engine.key_slices`) on ``column``.

    >>> slice_on("({col} >= 'A' AND {col} < 'M')", "h.opp_id")
    "(h.opp_id >= 'A' AND h.opp_id < 'M')"
    """
    return part.replace("{col}", column)


#: The exact type money is summed in (both engines sum decimals exactly, so their results agree
#: to the last digit; floats summed in a different order could differ in the last bit).
MONEY = "DECIMAL(38, 6)"


class Engine(ABC):
    """A SQL engine holding a dataset's tables as views (one per model table)."""

    #: The name in :data:`ENGINES`.
    name: str = ""

    @abstractmethod
    def sql(self, text: str) -> pd.DataFrame:
        """Run a query and return its result (small: an aggregate) as a pandas frame."""

    @abstractmethod
    def execute(self, text: str) -> None:
        """Run a statement that returns nothing (``CREATE VIEW``...)."""

    @abstractmethod
    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Make a (small) pandas frame queryable as view ``name``, replacing any previous one."""

    @abstractmethod
    def parquet_source(self, paths: list[str], row_column: bool = False) -> str:
        """A FROM-clause item reading these Parquet files, with a ``_row`` column: the files' own
        when ``row_column``, else each file's rows numbered from 0 (the row shown in problems)."""

    @abstractmethod
    def column_types(self, relation: str) -> dict[str, str]:
        """Column name -> SQL type name (upper case) of a view or FROM-clause item."""

    def is_text_type(self, type_name: str) -> bool:
        """True for the engine's text type names."""
        return type_name.upper().startswith(("VARCHAR", "STRING"))

    def close(self) -> None:  # noqa: B027 (engines without resources need nothing)
        """Release the engine's resources."""

    #: True when :meth:`write_parquet` writes files on this machine (derived tables are then
    #: cached there: :mod:`spmlib.engine.derived`).
    writes_local_files = False

    def write_parquet(self, sql: str, path: str) -> None:
        """Write the rows of query ``sql`` to the Parquet file ``path`` (:class:`OSError` when
        it cannot: out of disk space, a folder not writable)."""
        raise NotImplementedError(f"the {self.name} engine does not write local files")

    def key_slices(self, table: str, column: str, scale: int = 1) -> list[str]:
        """Conditions (on ``{col}``, a placeholder for the key column) that split the rows of
        ``table`` by ranges of ``column`` into slices an aggregation per key can run on one
        after the other in bounded memory; every key falls in exactly one (a missing one in
        the first). ``scale``: how many times the engine's rows per slice the aggregation
        can hold (a set of key hashes is far smaller than a row per key). One slice
        (``TRUE``) unless the engine needs them."""
        return ["TRUE"]

    def _range_slices(self, bounds: list) -> list[str]:
        """The conditions of :meth:`key_slices` for sorted, distinct inner ``bounds``."""
        if not bounds:
            return ["TRUE"]
        lits = [self.literal(b) for b in bounds]
        out = [f"({{col}} IS NULL OR {{col}} < {lits[0]})"]
        out += [f"({{col}} >= {lo} AND {{col}} < {hi})" for lo, hi in pairwise(lits)]
        return [*out, f"{{col}} >= {lits[-1]}"]

    # --- dialect: the spellings that differ between engines ------------------------------------

    #: The SQL name of the text type.
    string_type = "VARCHAR"

    def quote(self, name: str) -> str:
        """A quoted identifier."""
        return '"' + name.replace('"', '""') + '"'

    def literal(self, value: str) -> str:
        """A quoted text literal."""
        return "'" + str(value).replace("'", "''") + "'"

    def days_between(self, start: str, end: str) -> str:
        """Whole days from date ``start`` to date ``end``."""
        return f"date_diff('day', {start}, {end})"

    def date_expr(self, column: str, type_name: str) -> str:
        """A column of type ``type_name`` (a timestamp, text...) as a date."""
        return f"CAST({column} AS DATE)"

    def median(self, expr: str) -> str:
        """The median (mean of the two middle values for an even count), as a double."""
        return f"median(CAST({expr} AS DOUBLE))"

    def value_counts_map(self, expr: str) -> str:
        """An aggregate of ``expr`` per group: a map from each value (missing ones left out) to
        how many times it occurs, missing when there is none
        (:func:`spmlib.engine.medians.map_counts` reads it). Needed by the engines that split
        keys into slices (:meth:`key_slices`), to add up the counts behind exact medians."""
        return f"histogram({expr})"

    def reused(self, name: str, sql: str) -> str:
        """A common table expression ``name`` of query ``sql`` that a query reads twice."""
        return f"{name} AS ({sql})"

    def hash64(self, expr: str) -> str:
        """A 64-bit hash of a value (equal values, equal hashes)."""
        return f"hash({expr})"

    def day(self, value: pd.Timestamp) -> str:
        """A date literal."""
        return f"DATE '{pd.Timestamp(value).date().isoformat()}'"


#: Every engine by name, with what it is for.
ENGINES = {
    "duckdb": "DuckDB embedded in this process (default): Parquet in place, CSV cached as Parquet",
    "spark": "Apache Spark (PySpark): a local session or the cluster of SPM_SPARK_MASTER",
}
