"""Fixtures shared by several test modules."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    """A local Spark session with two cores (one per test worker, however many modules compare
    with Spark), stopped at the end; skipped where pyspark or Java is missing."""
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    import os

    os.environ.setdefault("SPM_SPARK_MASTER", "local[2]")
    from spmlib.engine.spark import spark_session

    try:
        session = spark_session()
    except Exception as exc:  # no Java, or the JVM cannot start here
        pytest.skip(f"a local Spark session cannot start: {exc}")
    yield session
    session.stop()
