"""Fast codes for big columns: positions of keys, category codes, dates as integers.

Each helper factorises a column once and works on its distinct values, so a million rows cost
one hash pass rather than a lookup per row. ``require_columns`` checks a frame's columns at the
entry of an analysis.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from spmlib.exceptions import DataValidationError, Problem

__all__ = [
    "require_columns",
    "to_ns",
    "codes_of",
    "labels",
    "positions",
    "sorted_codes",
    "NEVER",
]

log = logging.getLogger(__name__)

#: Stand-in for "never reached" in the int64 nanosecond date matrix.
NEVER = np.iinfo(np.int64).max


def require_columns(frame: pd.DataFrame, columns: list[str] | tuple[str, ...], table: str) -> None:
    """Raise DataValidationError naming the missing columns of ``frame``, if any."""
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            [Problem(table, None, f"expected a DataFrame, got {type(frame).__name__}")]
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            [
                Problem(
                    table,
                    c,
                    "required column is missing",
                    hint="Load the data with spmlib.load or add the column.",
                )
                for c in missing
            ]
        )


def codes_of(series: pd.Series, categories: Sequence[str]) -> np.ndarray:
    """Position of each value in ``categories`` (-1 when absent or missing), vectorised.

    Factorises first, so a million strings cost one hash pass rather than a dict lookup each.

    Examples
    --------
    >>> codes_of(pd.Series(["b", "x", None, "a"]), ["a", "b"]).tolist()
    [1, -1, -1, 0]
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    lookup = {v: i for i, v in enumerate(categories)}
    table = np.array([lookup.get(u, -1) for u in uniques] + [-1], dtype=np.int64)
    return table[codes]  # code -1 (missing) picks the trailing -1


def labels(series: pd.Series) -> np.ndarray:
    """The values of a (possibly Arrow-backed) text column as a NumPy object array, fast."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = np.array([*map(str, uniques), None], dtype=object)
    return table[codes]


def positions(keys: pd.Series, index_values: pd.Series) -> np.ndarray:
    """Row of each key in ``index_values`` (a column of unique ids), -1 when not found.

    Examples
    --------
    >>> positions(pd.Series(["c", "a", "z"]), pd.Series(["a", "b", "c"])).tolist()
    [2, 0, -1]
    """
    n = len(index_values)
    both = pd.concat(
        [pd.Series(index_values).reset_index(drop=True), pd.Series(keys).reset_index(drop=True)],
        ignore_index=True,
    )
    codes, uniques = pd.factorize(both, use_na_sentinel=True)
    inverse = np.full(len(uniques) + 1, -1, dtype=np.int64)
    first = codes[:n]
    ok = first >= 0
    # Later duplicates must not overwrite the first row: assign in reverse order.
    inverse[first[ok][::-1]] = np.arange(n, dtype=np.int64)[ok][::-1]
    return inverse[codes[n:]]


def sorted_codes(*columns: pd.Series) -> tuple[list[np.ndarray], pd.Series]:
    """Integer codes of text columns over the sorted union of their values, so that comparing
    or sorting codes is comparing or sorting the texts; missing values get -1.

    Each column is factorised once (one hash pass over a million Arrow strings, no Python
    object per row); only the distinct values are sorted.

    Returns
    -------
    (codes, names)
        One int64 array per column, and the distinct values in sorted order (a ``string``
        Series: ``names.iloc[codes]`` gives the texts back).

    Examples
    --------
    >>> (a, b), names = sorted_codes(pd.Series(["r2", "r1", None]), pd.Series(["r3", "r1"]))
    >>> a.tolist(), b.tolist(), names.tolist()
    ([1, 0, -1], [2, 0], ['r1', 'r2', 'r3'])
    """
    factorised = [pd.factorize(pd.Series(c), use_na_sentinel=True) for c in columns]
    seen = [np.asarray(pd.Series(u).astype(object), dtype=object) for _c, u in factorised]
    both = np.concatenate(seen) if seen else np.zeros(0, dtype=object)
    names = pd.Index(pd.unique(both)).sort_values() if len(both) else pd.Index([], dtype=object)
    out = []
    for (codes, _u), values in zip(factorised, seen, strict=True):
        remap = np.append(names.get_indexer(values), -1).astype(np.int64)
        out.append(remap[codes])  # code -1 (missing) picks the trailing -1
    return out, pd.Series(names.astype(str), dtype="string")


def to_ns(series: pd.Series) -> np.ndarray:
    """Dates as int64 nanoseconds, with NEVER for missing dates."""
    values = pd.to_datetime(series).astype("datetime64[ns]")
    out = values.to_numpy().astype("int64")
    out[values.isna().to_numpy()] = NEVER
    return out
