"""A dataset opened in an engine: the :class:`Tables` handle the analyses aggregate through.

:func:`spmlib.engine.locations.open_tables` makes one (which locations, how each table is read,
typed and validated). Every present table is a view named like the model's table, with a
``_row`` column (the row's 0-based position in its source file; problems quote it 1-based).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from spmlib.engine.base import Engine
from spmlib.exceptions import Problem
from spmlib.io.schema import TABLES, DatasetConfig, empty_table

__all__ = ["Tables", "TableInfo", "model_dtypes"]

log = logging.getLogger(__name__)


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
    checked_now : True when the files were validated now (new files: the first command on
        them), False when an earlier check of them was trusted or none was asked for.
    progress : called with each long step as it starts (a table checked, a slice of deals
        aggregated), for a display such as the CLI's; None: the steps are only logged.
    """

    engine: Engine
    config: DatasetConfig | None
    source: str
    info: dict[str, TableInfo]
    fingerprint: str
    config_problems: list[Problem] = field(default_factory=list)
    warnings: tuple[Problem, ...] = ()
    checked_now: bool = False
    files: dict[str, str] = field(default_factory=dict)
    mapped_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Tables whose file exists but cannot be read (their problem is in ``config_problems``).
    unreadable: tuple[str, ...] = ()
    progress: Callable[[str], None] | None = None

    def report(self, step: str) -> None:
        """Say that the long step ``step`` starts (to :attr:`progress`, and to the log)."""
        log.debug("%s: %s", self.source, step)
        if self.progress is not None:
            self.progress(step)

    @property
    def notes(self) -> list[Problem]:
        """How the source was read, where the user should know it (an encoding other than
        UTF-8, a delimiter or decimal comma detected, a header matched, the mapping used)."""
        found = [p for p in self.config_problems if p.severity == "note"]
        for info in self.info.values():
            found += [p for p in info.problems if p.severity == "note" and p not in found]
        return found

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

    def summary(self) -> pd.DataFrame:
        """One row per table: ``table``, ``rows``, ``first_date``, ``last_date``,
        ``date_column`` (as :func:`spmlib.io.overview.table_summary`), counted in the engine."""
        from spmlib.io.overview import TIME_COLUMNS

        rows = []
        for name in TABLES:
            col = TIME_COLUMNS[name]
            first = last = pd.NaT
            n = 0
            if name in self.info:
                if col in self.info[name].columns:
                    got = self.engine.sql(
                        f"SELECT count(*) AS n, min({col}) AS lo, max({col}) AS hi FROM {name}"
                    )
                    n, first, last = (got[c].iloc[0] for c in ("n", "lo", "hi"))
                else:
                    n = self.count(name)
            rows.append(
                {
                    "table": name,
                    "rows": int(n),
                    "first_date": pd.Timestamp(first),
                    "last_date": pd.Timestamp(last),
                    "date_column": col,
                }
            )
        out = pd.DataFrame(rows)
        out["rows"] = out["rows"].astype("int64")
        return out

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
