"""Groupings: the one vocabulary of ``by``, joining rep attributes, and coding groups.

:data:`GROUPINGS` names the groupings every analysis, parameter and CLI option understands:
``company`` (one group for all the data; ``all`` is an alias), ``team``, ``manager``, ``region``
and ``rep`` (``rep_id``, ``rep_name`` and ``team``). Analyses of deals also accept any column of
the opportunities (``lead_source``, ``product``, a segment column) as a group column.

Group columns may live on the opportunities or on the reps (``team``, ``manager``, ``region``,
``rep_name``): the latter are joined through ``rep_id`` by :func:`with_rep_columns`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from spmlib.core.codes import positions
from spmlib.exceptions import UnknownNameError

__all__ = [
    "GROUPINGS",
    "grouping_name",
    "group_columns",
    "group_list",
    "with_rep_columns",
    "rep_groups",
    "group_codes",
]

log = logging.getLogger(__name__)

#: Every named grouping and the columns it puts first (its key column first).
GROUPINGS: dict[str, tuple[str, ...]] = {
    "company": (),
    "team": ("team",),
    "manager": ("manager",),
    "region": ("region",),
    "rep": ("rep_id", "rep_name", "team"),
}
_ALIASES = {"all": "company"}


def grouping_name(by: str) -> str:
    """The canonical name of a grouping (``all`` is ``company``); UnknownNameError otherwise.

    Examples
    --------
    >>> grouping_name("all"), grouping_name("rep")
    ('company', 'rep')
    """
    name = _ALIASES.get(str(by), str(by))
    if name not in GROUPINGS:
        raise UnknownNameError("grouping", str(by), list(GROUPINGS))
    return name


def group_columns(by: str) -> list[str]:
    """The columns of a named grouping (reps-table columns only).

    Examples
    --------
    >>> group_columns("rep"), group_columns("all")
    (['rep_id', 'rep_name', 'team'], [])
    """
    return list(GROUPINGS[grouping_name(by)])


def group_list(by: str | Sequence[str] | None) -> list[str]:
    """The group columns of ``by``: a grouping name, a column name, a list of them, or None.

    Examples
    --------
    >>> group_list("rep"), group_list(["team", "product"]), group_list(None)
    (['rep_id', 'rep_name', 'team'], ['team', 'product'], [])
    """
    if by is None:
        return []
    items = [by] if isinstance(by, str) else list(by)
    out: list[str] = []
    for item in items:
        name = _ALIASES.get(item, item)
        for col in GROUPINGS.get(name, (item,)):
            if col not in out:
                out.append(col)
    return out


def with_rep_columns(
    frame: pd.DataFrame, reps: pd.DataFrame | None, columns: Sequence[str]
) -> pd.DataFrame:
    """Copy of ``frame`` with the ``columns`` it lacks joined from ``reps`` on ``rep_id``.

    Parameters
    ----------
    frame : any table with a ``rep_id`` column (opportunities, leads, quotas).
    reps : the reps table; may be None when ``frame`` already holds every column.
    columns : the columns wanted; those already in ``frame`` are kept as they are.

    Returns
    -------
    DataFrame: the rows of ``frame`` in the same order, plus the joined columns.

    Raises
    ------
    UnknownNameError : a column is neither in ``frame`` nor in ``reps``.

    Examples
    --------
    >>> opps = pd.DataFrame({"opp_id": ["1", "2"], "rep_id": ["a", "b"]})
    >>> reps = pd.DataFrame({"rep_id": ["a", "b"], "team": ["N", "S"]})
    >>> with_rep_columns(opps, reps, ["team"])
      opp_id rep_id team
    0      1      a    N
    1      2      b    S
    """
    need = [c for c in columns if c not in frame.columns]
    if not need:
        return frame.copy()
    available = set(frame.columns) | (set(reps.columns) if reps is not None else set())
    for col in need:
        if reps is None or col not in reps.columns:
            raise UnknownNameError("group column", col, sorted(available))
    lookup = reps.drop_duplicates("rep_id").set_index("rep_id")[need]
    out = frame.copy()
    idx = positions(out["rep_id"], lookup.index.to_series())
    for col in need:
        values = lookup[col].to_numpy()
        joined = pd.Series(values[np.where(idx >= 0, idx, 0)], index=out.index)
        out[col] = joined.where(idx >= 0).astype(lookup[col].dtype)
    return out


def rep_groups(reps: pd.DataFrame | None, columns: Sequence[str]) -> pd.DataFrame | None:
    """Every group of ``reps`` for these columns (to show groups without data), or None when
    ``reps`` is None, there are no columns, or a column is not a reps column."""
    cols = list(columns)
    if reps is None or not cols or not all(c in reps.columns for c in cols):
        return None
    return reps[cols].drop_duplicates()


def group_codes(
    frame: pd.DataFrame, by: Sequence[str], extra_groups: pd.DataFrame | None = None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Code the rows of ``frame`` by their group: (codes aligned with ``frame``, groups frame).

    The groups frame has one row per group (the ``by`` columns, sorted), row i being code i.
    ``extra_groups`` (e.g. every team of the reps table) adds groups that have no rows, so they
    still appear with zero counts. Missing values form their own group. With no ``by`` columns
    every row is code 0 and the groups frame has one row and no columns.
    """
    by = list(by)
    if not by:
        return np.zeros(len(frame), dtype=np.int64), pd.DataFrame(index=[0])
    keys = frame[by].copy()
    if extra_groups is not None and not extra_groups.empty:
        keys = pd.concat([keys, extra_groups[by]], ignore_index=True)
    for col in by:
        if keys[col].dtype == object:
            keys[col] = keys[col].astype("string")
    grouped = keys.groupby(by, dropna=False, sort=True)
    codes = grouped.ngroup().to_numpy()[: len(frame)]
    groups = grouped.size().reset_index()[by]
    return codes.astype(np.int64), groups
