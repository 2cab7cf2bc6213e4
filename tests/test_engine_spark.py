"""The same analyses on Apache Spark (a real local session, ``local[2]``) against DuckDB: KPIs,
the funnel and validation must be identical (money is summed as exact decimals in both)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from test_engine_validation_rules import broken

from spmlib.engine.locations import open_tables
from spmlib.engine.validate import engine_problems
from spmlib.funnel.reach import engine_stage_funnel
from spmlib.io.load import load_checked
from spmlib.productivity.kpis import kpis

pytestmark = pytest.mark.slow
MINI = Path(__file__).parent / "data" / "mini"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, spark):
    """The mini dataset with one stale open deal (a warning), so validation has a finding."""
    folder = tmp_path_factory.mktemp("spark") / "ds"
    shutil.copytree(MINI, folder)
    path = folder / "opportunities.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[3, "close_date"] = "2023-01-01"
    frame.to_csv(path, index=False)
    return folder


def test_kpis_funnel_and_validation_identical_on_spark(dataset):
    duck = open_tables(dataset, validate=False)
    spark = open_tables(f"spark:{dataset}", validate=False)
    problems = engine_problems(spark)
    assert problems == engine_problems(duck)
    assert [p.severity for p in problems] == ["warning"]  # the stale deal
    for by, period in (("rep", None), ("team", "quarter")):
        assert_frame_equal(kpis(spark, by=by, period=period), kpis(duck, by=by, period=period))
    for by, end in ((None, None), ("team", "2024-04-30")):
        assert_frame_equal(
            engine_stage_funnel(spark, by=by, end=end), engine_stage_funnel(duck, by=by, end=end)
        )


#: Rules whose engine queries go beyond one table's rows (lookups, groups, pipelines).
CROSS_CASES = (
    "unknown account and rep",
    "unknown rep of a split",
    "split of unknown deal",
    "revenue shares not summing to 1",
    "a rep twice on a deal",
    "history stage outside its deal's pipeline",
    "stage outside its pipeline",
    "unknown stage beside a close reason",
    "share zero",
    "latitude",
)


@pytest.mark.parametrize("case", CROSS_CASES)
def test_validation_rules_identical_on_spark(tmp_path, spark, case):
    folder = broken(tmp_path / "ds", case)
    expected = load_checked(folder)[1]
    assert expected
    assert engine_problems(open_tables(f"spark:{folder}", validate=False)) == expected
