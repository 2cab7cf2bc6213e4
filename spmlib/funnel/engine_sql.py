"""SQL pieces shared by the analyses aggregated in an engine (:mod:`spmlib.funnel.reach`,
:mod:`spmlib.funnel.pipeline_sums`): the group columns of the deals (joined from the reps where
the opportunities lack them), the groups put back in the order of the pandas analyses, and the
slices of deals that large data runs in (sums of each slice added up per group).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spmlib.core.grouping import group_codes, rep_groups
from spmlib.engine.base import slice_on

__all__ = ["add_up", "by_slice", "group_order", "group_select", "in_slice"]


def group_select(tables, cols: list[str]) -> tuple[str, str]:
    """The SELECT items of the group columns ``cols`` for the deals ``o`` (``o.product AS
    product, ``) and the join they need (empty when none): a column the opportunities lack
    comes from the reps, through the view ``spm_reps`` of the first row per rep_id (as
    :func:`spmlib.core.grouping.with_rep_columns`), created here.

    Raises
    ------
    UnknownNameError : a column of neither table.
    """
    eng, q = tables.engine, tables.engine.quote
    opp_cols = tables.info["opportunities"].columns
    rep_cols = [c for c in cols if c not in opp_cols]
    if rep_cols:
        from spmlib.exceptions import UnknownNameError

        for c in rep_cols:
            if not tables.has("reps", c):
                available = sorted({*opp_cols, *tables.info["reps"].columns})
                raise UnknownNameError("group column", c, available)
    gsel = "".join(f"{'r' if c in rep_cols else 'o'}.{q(c)} AS {q(c)}, " for c in cols)
    join = "LEFT JOIN spm_reps r ON o.rep_id = r.rep_id" if rep_cols else ""
    if rep_cols:  # first row per rep_id, as spmlib.core.grouping.with_rep_columns
        eng.execute(
            "CREATE OR REPLACE TEMP VIEW spm_reps AS SELECT * FROM reps WHERE _row IN "
            "(SELECT min(_row) FROM reps GROUP BY rep_id)"
        )
    return gsel, join


def in_slice(sql: str, part: str) -> str:
    """``sql`` with its slice placeholders set to the condition ``part`` of
    :meth:`~spmlib.engine.base.Engine.key_slices`."""
    o_part, h_part = slice_on(part, "o.opp_id"), slice_on(part, "h.opp_id")
    return sql.replace("{o_slice}", o_part).replace("{h_slice}", h_part)


def by_slice(
    tables, sql: str, slices: list[str], what: str = "funnel of the deals"
) -> list[pd.DataFrame]:
    """The results of ``sql`` on each slice of deals, one after the other (each reported as
    ``what``, slice i of n)."""
    out = []
    for i, part in enumerate(slices, 1):
        tables.report(f"{what}, slice {i} of {len(slices)}")
        out.append(tables.engine.sql(in_slice(sql, part)))
    return out


def add_up(parts: list[pd.DataFrame], cols: list[str]) -> pd.DataFrame:
    """The counts of several slices of deals, summed per group."""
    frame = pd.concat(parts, ignore_index=True)
    if not cols:
        return frame.sum().to_frame().T
    return frame.groupby(cols, dropna=False, sort=False).sum().reset_index()


def group_order(tables, table: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """The rows of an engine's result ``table`` coded by their group columns ``cols``, and the
    groups in the order of the pandas analyses (:func:`spmlib.core.grouping.group_codes`:
    sorted, missing values a group of their own, every group of the reps present)."""
    keys = table[cols].copy()
    for c in cols:
        if keys[c].dtype == object or pd.api.types.is_string_dtype(keys[c]):
            keys[c] = keys[c].astype("string")
    return group_codes(keys, cols, rep_groups(tables.reps, cols))
