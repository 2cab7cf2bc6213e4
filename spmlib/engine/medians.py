"""Exact medians of whole numbers (days) per group, in memory bounded by the distinct values.

An engine's ``median`` aggregate keeps every value of a group until the end: over the ~300 M
completed stage stays of 100 M deals that is gigabytes, beyond the engine's memory cap. Days
are whole numbers with few distinct values, so the engine counts how many times each value
occurs per group (:meth:`~spmlib.engine.base.Engine.value_counts_map`, an aggregate beside the
others of the group, read by :func:`map_counts`) and :func:`medians_from_counts` takes the
median from those counts in pandas: exactly the median of the values (the middle one, or
the mean of the two middle ones for an even count), as :meth:`pandas.Series.median` and the
engines' ``median`` give it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["map_counts", "medians_from_counts"]


def medians_from_counts(counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The median of ``v`` per group of ``keys``, from ``counts`` (rows ``keys``, ``v``,
    ``n`` = how many times ``v`` occurs; a group and value may have several rows, as when the
    counts of slices of the data are put together).

    Returns one row per group: ``keys`` and ``median`` (float); missing key values form a group.

    >>> counts = pd.DataFrame({"g": ["a", "a", "a", "b", "b"], "v": [5, 1, 9, 2, 4],
    ...                        "n": [2, 1, 1, 1, 1]})
    >>> medians_from_counts(counts, ["g"])  # a: 1 5 5 9 -> 5; b: 2 4 -> 3
       g  median
    0  a     5.0
    1  b     3.0
    """
    if counts.empty:
        return pd.DataFrame({**{k: counts[k] for k in keys}, "median": pd.Series(dtype=float)})
    frame = counts.sort_values([*keys, "v"], kind="stable", na_position="last")
    frame = frame.reset_index(drop=True)
    group = frame.groupby(keys, dropna=False, sort=False).ngroup().to_numpy() if keys else None
    group = np.zeros(len(frame), dtype=np.int64) if group is None else group
    n = frame["n"].to_numpy(dtype=np.int64)
    upto = pd.Series(n).groupby(group).cumsum().to_numpy()  # values up to and including a row
    total = np.bincount(group, weights=n).astype(np.int64)[group]
    value = frame["v"].to_numpy(dtype=np.float64)

    def nth(rank: np.ndarray) -> np.ndarray:
        """The rank-th smallest value (1-based) of each group: the row holding it."""
        hit = (upto - n < rank) & (rank <= upto)
        return value[hit]

    lower, upper = nth((total + 1) // 2), nth(total // 2 + 1)
    first = np.r_[True, group[1:] != group[:-1]]
    out = frame.loc[first, keys].reset_index(drop=True)
    out["median"] = (lower + upper) / 2
    return out


def map_counts(frame: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    """The counts held in ``column`` of ``frame``, one per row of ``keys``: maps from a value
    to how many times it occurs (:meth:`~spmlib.engine.base.Engine.value_counts_map`; missing
    when the group has no value), as rows ``keys``, ``v``, ``n`` (the input of
    :func:`medians_from_counts`).

    >>> frame = pd.DataFrame({"g": ["a", "b", "c"], "m": [{1: 2, 5: 1}, {3: 1}, None]})
    >>> map_counts(frame, ["g"], "m")
       g  v  n
    0  a  1  2
    1  a  5  1
    2  b  3  1
    """
    rows = [
        (*key, v, n)
        for *key, counts in frame[[*keys, column]].itertuples(index=False)
        if isinstance(counts, dict)
        for v, n in counts.items()
    ]
    return pd.DataFrame(rows, columns=[*keys, "v", "n"])
