"""Apache Spark (PySpark): the same analyses where the data lives, for data beyond one machine.

The session is the active one (inside a Spark application, a notebook on a cluster), else one
built for ``SPM_SPARK_MASTER`` (default ``local[*]``; e.g. ``spark://host:7077`` or ``yarn``),
with the session time zone set to UTC so dates are read as written. Tables are Parquet read
through Spark (local paths or any Hadoop file system URI); results come back through Arrow.
Nanosecond timestamps (what pandas writes by default) are read as integers and turned into
dates, since Spark's timestamps stop at microseconds.
"""

from __future__ import annotations

import logging
import os
from itertools import count

import pandas as pd

from spmlib.engine.base import Engine
from spmlib.io.schema import TABLES

__all__ = ["SparkEngine", "spark_session"]

log = logging.getLogger(__name__)
_ids = count()


def spark_session():
    """The active Spark session, or a new one for ``SPM_SPARK_MASTER`` (default ``local[*]``)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    master = os.environ.get("SPM_SPARK_MASTER", "local[*]")
    session = (
        SparkSession.builder.master(master)
        .appName("spm")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.legacy.parquet.nanosAsLong", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", os.environ.get("SPM_SPARK_PARTITIONS", "8"))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel(os.environ.get("SPM_SPARK_LOG_LEVEL", "ERROR"))
    return session


class SparkEngine(Engine):
    """Spark SQL on a Spark session (see the module docstring)."""

    name = "spark"
    string_type = "STRING"

    def __init__(self) -> None:
        self._spark = spark_session()
        self._views: list[str] = []

    def sql(self, text: str) -> pd.DataFrame:
        log.debug("spark: %s", text)
        return self._spark.sql(text).toArrow().to_pandas()

    def execute(self, text: str) -> None:
        log.debug("spark: %s", text)
        self._spark.sql(text)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        import pyarrow as pa

        self._spark.createDataFrame(
            pa.Table.from_pandas(frame, preserve_index=False)
        ).createOrReplaceTempView(name)
        self._views.append(name)

    def parquet_source(self, paths: list[str], row_column: bool = False) -> str:
        reader = self._spark.read.parquet(*paths)
        if not row_column:
            reader = reader.select("*", "_metadata.row_index").withColumnRenamed(
                "row_index", "_row"
            )
        name = f"spm_src_{next(_ids)}"
        reader.createOrReplaceTempView(name)
        self._views.append(name)
        return name

    def column_types(self, relation: str) -> dict[str, str]:
        return {c: t.upper() for c, t in self._spark.table(relation).dtypes}

    def is_text_type(self, type_name: str) -> bool:
        return type_name.upper().startswith(("STRING", "VARCHAR", "CHAR"))

    def date_expr(self, column: str, type_name: str) -> str:
        if type_name.upper() == "BIGINT":  # nanoseconds since the epoch (pandas' timestamps)
            return f"CAST(timestamp_micros(DIV({column}, 1000)) AS DATE)"
        return f"CAST({column} AS DATE)"

    def close(self) -> None:
        for name in self._views:
            self._spark.catalog.dropTempView(name)
        self._views.clear()

    # --- dialect --------------------------------------------------------------------------------

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def literal(self, value: str) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    def days_between(self, start: str, end: str) -> str:
        return f"datediff({end}, {start})"

    def hash64(self, expr: str) -> str:
        return f"xxhash64({expr})"

    def folder_tables(self, location: str):
        """The tables of a dataset folder given as a Hadoop file system URI (``hdfs://``,
        ``s3a://``...): ``X.parquet`` (a file or a folder of parts) or ``X/`` for each table;
        and the ``dataset.yml`` text. Returns ({table: (name shown, [path])}, settings)."""
        import yaml
        from pyspark.errors import AnalysisException

        from spmlib.io.yamltext import read_yaml

        base = location.rstrip("/")
        found = {}
        for name in TABLES:
            for candidate in (f"{base}/{name}.parquet", f"{base}/{name}"):
                try:
                    self._spark.read.parquet(candidate).schema  # noqa: B018 (probe)
                except AnalysisException:
                    continue
                found[name] = (candidate.rsplit("/", 1)[-1], [candidate])
                break
        try:
            lines = self._spark.read.text(f"{base}/dataset.yml").collect()
            config = read_yaml("\n".join(r.value for r in lines))
        except (AnalysisException, yaml.YAMLError):
            config = None
        return found, config
