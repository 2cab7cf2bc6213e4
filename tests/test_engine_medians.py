"""Exact medians from counts of values (spmlib.engine.medians), against pandas' median."""

import numpy as np
import pandas as pd
import pytest

from spmlib.engine.medians import map_counts, medians_from_counts


def test_known_answers_odd_even_and_a_missing_group():
    # g=a: 1 5 5 9 (even: (5 + 5) / 2 = 5); g=b: 2 4 (3); g=<NA>: 7 (one value)
    counts = pd.DataFrame(
        {
            "g": pd.array(["a", "a", "a", "b", "b", None], dtype="string"),
            "v": [5, 1, 9, 2, 4, 7],
            "n": [2, 1, 1, 1, 1, 1],
        }
    )
    got = medians_from_counts(counts, ["g"])
    assert got["g"].tolist() == ["a", "b", pd.NA]
    assert got["median"].tolist() == [5.0, 3.0, 7.0]


def test_no_keys_and_no_rows():
    # 0 0 3 10: (0 + 3) / 2 = 1.5
    counts = pd.DataFrame({"v": [10, 0, 3], "n": [1, 2, 1]})
    assert medians_from_counts(counts, [])["median"].tolist() == [1.5]
    empty = medians_from_counts(pd.DataFrame({"g": [], "v": [], "n": []}), ["g"])
    assert list(empty.columns) == ["g", "median"] and empty.empty


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_pandas_median_in_duckdb(seed):
    from spmlib.engine.embedded import DuckDBEngine

    rng = np.random.default_rng(seed)
    n = 2_000
    frame = pd.DataFrame(
        {
            "team": rng.choice(["east", "west", None], n),
            "rank": rng.integers(0, 4, n),
            "days": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 60, n)),
        }
    )
    eng = DuckDBEngine()
    try:
        eng.register("stays", frame)
        maps = eng.sql(
            f"SELECT team, rank, {eng.value_counts_map('days')} AS days FROM stays "
            "GROUP BY team, rank"
        )
        got = medians_from_counts(map_counts(maps, ["team", "rank"], "days"), ["team", "rank"])
    finally:
        eng.close()
    want = frame.dropna(subset=["days"]).groupby(["team", "rank"], dropna=False)["days"].median()
    got = got.set_index(["team", "rank"])["median"]
    got.index = got.index.set_levels(got.index.levels[0].astype(object), level=0)
    pd.testing.assert_series_equal(
        got.sort_index(), want.sort_index(), check_names=False, check_index_type=False
    )
