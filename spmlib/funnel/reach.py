"""The stage funnel aggregated in an engine: stage reach per deal, then counts per group.

The rules are those of :mod:`spmlib.funnel.progress` (reach = the first entry into a stage or
any later one; skipped stages count as passed; the furthest stage is a high-water mark; the
fallbacks for open, won and lost deals without the entry) and of :mod:`spmlib.funnel.velocity`
(days in stage, completed stays), written once as SQL that DuckDB and Spark both run:

1. one pass over the stage history per deal: its first entry into each funnel stage and its
   latest entry (a ``GROUP BY opp_id`` with one conditional minimum per stage);
2. one pass over the opportunities joined to that: the fallbacks, the reach dates (a running
   minimum from the won stage down), the furthest stage, and the counts per group and stage
   (``SUM(CASE ...)``), for the all-time or the period view;
3. the stays (``LEAD`` over each deal's history) summed per deal and stage, their median per
   group and stage.

The result is a :class:`~spmlib.funnel.conversion.FunnelCounts`, turned into the funnel table
by the same code as the pandas funnel, so both give the same table.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from spmlib.core.grouping import group_codes, group_list, rep_groups
from spmlib.core.ranges import day_range
from spmlib.funnel.conversion import FunnelCounts, funnel_table

__all__ = ["engine_stage_funnel"]

log = logging.getLogger(__name__)


def engine_stage_funnel(
    tables,
    by: str | Sequence[str] | None = None,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """:func:`spmlib.funnel.conversion.stage_funnel` of a dataset opened in an engine
    (:class:`~spmlib.engine.tables.Tables`): the same table, aggregated where the data is.

    Parameters
    ----------
    tables : the dataset opened in an engine.
    by, start, end : as :func:`~spmlib.funnel.conversion.stage_funnel`.
    """
    cols = group_list(by)
    start, end = day_range(start, end)
    eng, q, config = tables.engine, tables.engine.quote, tables.config
    stages = config.funnel_stages
    n, won = len(stages), len(stages) - 1
    opp_cols = tables.info["opportunities"].columns
    rep_cols = [c for c in cols if c not in opp_cols]
    if rep_cols:
        from spmlib.exceptions import UnknownNameError

        for c in rep_cols:
            if not tables.has("reps", c):
                available = sorted({*opp_cols, *tables.info["reps"].columns})
                raise UnknownNameError("group column", c, available)
    eng.register(
        "spm_ranks", pd.DataFrame({"stage": list(config.stages), "rank": range(len(config.stages))})
    )
    has_history = tables.has("stage_history") and tables.count("stage_history") > 0
    gsel = "".join(f"{'r' if c in rep_cols else 'o'}.{q(c)} AS {q(c)}, " for c in cols)
    join = "LEFT JOIN spm_reps r ON o.rep_id = r.rep_id" if rep_cols else ""
    if rep_cols:  # first row per rep_id, as spmlib.core.grouping.with_rep_columns
        eng.execute(
            "CREATE OR REPLACE TEMP VIEW spm_reps AS SELECT * FROM reps WHERE _row IN "
            "(SELECT min(_row) FROM reps GROUP BY rep_id)"
        )
    cur = (
        "CASE o.stage "
        + " ".join(f"WHEN {eng.literal(s)} THEN {k}" for k, s in enumerate(stages))
        + " END"
    )
    if has_history:
        firsts = ", ".join(
            f"min(CASE WHEN r.rank = {k} THEN h.entered_date END) AS e{k}" for k in range(n)
        )
        hist = (
            f"LEFT JOIN (SELECT h.opp_id, max(h.entered_date) AS last_entry, {firsts} "
            "FROM stage_history h LEFT JOIN spm_ranks r ON h.stage = r.stage "
            "WHERE h.entered_date IS NOT NULL AND h.opp_id IS NOT NULL AND {h_slice} "
            "GROUP BY h.opp_id) h ON o.opp_id = h.opp_id"
        )
        e = [f"h.e{k}" for k in range(n)]
        last = "h.last_entry"
    else:
        hist, e, last = "", ["CAST(NULL AS DATE)"] * n, "CAST(NULL AS DATE)"
    x = []
    for k in range(n):
        if k == won:
            expr = (
                f"CASE WHEN o.status = 'won' AND {e[k]} IS NULL "
                f"THEN COALESCE(o.close_date, o.created_date) ELSE {e[k]} END"
            )
        else:
            expr = (
                f"CASE WHEN o.status = 'open' AND {cur} = {k} AND {e[k]} IS NULL "
                f"THEN COALESCE({last}, o.created_date)"
            )
            if k == 0 and has_history:
                none = " AND ".join(f"{v} IS NULL" for v in e)
                expr += f" WHEN o.status = 'lost' AND {none} THEN o.created_date"
            expr += f" ELSE {e[k]} END"
        x.append(expr)
    reach = [
        (f"LEAST({', '.join(x[k:])})" if k < won else x[k]) + f" AS reach{k}" for k in range(n)
    ]
    deals = (
        f"SELECT {gsel}o.status, o.created_date, o.close_date, {', '.join(reach)} "
        f"FROM opportunities o {hist} {join} WHERE {{o_slice}}"
    )
    furthest = " + ".join(f"(CASE WHEN reach{k} IS NOT NULL THEN 1 ELSE 0 END)" for k in range(n))
    sums = _count_sql(eng, n, start, end)
    gk = "".join(f"{q(c)}, " for c in cols)
    counts = f"SELECT {gk}{sums} FROM (SELECT d.*, {furthest} - 1 AS f FROM ({deals}) d) t " + (
        f"GROUP BY {gk.rstrip(', ')}" if cols else ""
    )
    # the deals in slices of opp_id when the engine needs them (bounded memory); the counts
    # and the counts of days behind the medians add up over the slices
    slices = eng.key_slices("opportunities", "opp_id")
    per_slice, days = [], []
    for part in slices:
        sql = counts.replace("{o_slice}", part.replace("{col}", "o.opp_id"))
        per_slice.append(eng.sql(sql.replace("{h_slice}", part.replace("{col}", "h.opp_id"))))
        if has_history:
            days.append(_stay_days_sql(tables, cols, gsel, join, start, end, part))
    table = per_slice[0] if len(slices) == 1 else _add_up(per_slice, cols)
    medians = None
    if has_history:
        from spmlib.engine.medians import medians_from_counts

        medians = medians_from_counts(pd.concat(days, ignore_index=True), [*cols, "rank"])
        medians = medians.rename(columns={"median": "median_days"})
    return _to_funnel(tables, cols, table, medians, stages, has_history)


def _add_up(parts: list[pd.DataFrame], cols: list[str]) -> pd.DataFrame:
    """The counts of several slices of deals, summed per group."""
    frame = pd.concat(parts, ignore_index=True)
    if not cols:
        return frame.sum().to_frame().T
    return frame.groupby(cols, dropna=False, sort=False).sum().reset_index()


def _count_sql(eng, n: int, start, end) -> str:
    """The SUM(CASE ...) columns of the counts: reached{k}, lost{k}, open{k}, creached{k},
    closed (see :func:`spmlib.funnel.conversion._funnel_core`)."""
    won = n - 1

    def one(cond: str) -> str:
        return f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END)"

    if start is None and end is None:
        reached = [f"reach{k} IS NOT NULL" for k in range(n)]
        lost_in = "status = 'lost'"
        open_at, f_at = "status = 'open' AND f >= 0", "f"
    else:
        bounds = []
        if start is not None:
            bounds.append(f">= {eng.day(start)}")
        if end is not None:
            bounds.append(f"<= {eng.day(end)}")

        def inside(col: str) -> str:
            return "(" + " AND ".join(f"{col} {b}" for b in bounds) + ")"

        reached = [inside(f"reach{k}") for k in range(n)]
        lost_in = f"status = 'lost' AND {inside('close_date')}"
        if end is None:
            open_at, f_at = "status = 'open' AND f >= 0", "f"
        else:
            hi = eng.day(end)
            f_at = (
                "("
                + " + ".join(f"(CASE WHEN reach{k} <= {hi} THEN 1 ELSE 0 END)" for k in range(n))
                + " - 1)"
            )
            closed_by = (
                f"(COALESCE(reach{won} <= {hi}, FALSE) "
                f"OR (status = 'lost' AND COALESCE(close_date <= {hi}, FALSE)))"
            )
            open_at = f"created_date <= {hi} AND NOT {closed_by} AND {f_at} >= 0"
    closed = f"(({reached[won]}) OR ({lost_in}))"
    cols = [one(reached[k]) + f" AS reached{k}" for k in range(n)]
    cols += [one(f"({lost_in}) AND f = {k}") + f" AS lost{k}" for k in range(won)]
    cols += [one(f"({open_at}) AND {f_at} = {k}") + f" AS open{k}" for k in range(won)]
    cols += [one(f"{closed} AND f >= {k}") + f" AS creached{k}" for k in range(won)]
    cols += [one(reached[won]) + f" AS creached{won}", one(closed) + " AS closed"]
    return ", ".join(cols)


def _stay_days_sql(tables, cols, gsel, join, start, end, part: str) -> pd.DataFrame:
    """How many deals of the slice ``part`` (a condition of
    :meth:`~spmlib.engine.base.Engine.key_slices`) spent each number of completed days in
    each open stage, per group (rules of :func:`spmlib.funnel.velocity.stage_stays`): the
    counts behind the exact medians (:mod:`spmlib.engine.medians`), which need no engine to
    hold every stay in memory. The deals are joined once (status, close date and groups)."""
    from spmlib.engine.medians import value_counts

    eng = tables.engine
    n_open = len(tables.config.open_stages)
    days = eng.days_between("s.w", "s.e")
    bounds = []
    if start is not None:
        bounds.append(f"exit_date >= {eng.day(start)}")
    if end is not None:
        bounds.append(f"exit_date <= {eng.day(end)}")
    gk = "".join(f"{eng.quote(c)}, " for c in cols)
    stays = (
        "SELECT h.opp_id, r.rank, h.entered_date AS w, "
        "LEAD(h.entered_date) OVER (PARTITION BY h.opp_id ORDER BY h.entered_date, r.rank) AS nxt "
        "FROM stage_history h JOIN spm_ranks r ON h.stage = r.stage "
        "WHERE h.entered_date IS NOT NULL AND h.opp_id IS NOT NULL "
        f"AND {part.replace('{col}', 'h.opp_id')}"
    )
    ends = (
        f"SELECT {gsel}t.opp_id, t.rank, t.w, CASE WHEN t.nxt IS NOT NULL THEN t.nxt "
        "WHEN o.status <> 'open' THEN o.close_date END AS e "
        f"FROM ({stays}) t JOIN opportunities o ON t.opp_id = o.opp_id {join} "
        f"WHERE t.rank < {n_open} AND {part.replace('{col}', 'o.opp_id')}"
    )
    per_deal = (
        f"SELECT {gk}s.rank, sum(GREATEST({days}, 0)) AS days, max(s.e) AS exit_date "
        f"FROM ({ends}) s GROUP BY {gk}s.opp_id, s.rank HAVING count(s.e) = count(*)"
    )
    where = f" WHERE {' AND '.join(bounds)}" if bounds else ""
    return value_counts(eng, f"(SELECT * FROM ({per_deal}) x{where})", [*cols, "rank"], "days")


def _to_funnel(tables, cols, table, medians, stages, losses_known) -> pd.DataFrame:
    """The engine's counts as :class:`FunnelCounts`, in the group order of the pandas funnel
    (groups sorted, missing values a group of their own, every group of reps present)."""
    n, won = len(stages), len(stages) - 1
    medians = (
        medians if medians is not None else pd.DataFrame(columns=[*cols, "rank", "median_days"])
    )
    keys = pd.concat([table[cols], medians[cols]], ignore_index=True)
    for c in cols:
        if keys[c].dtype == object or pd.api.types.is_string_dtype(keys[c]):
            keys[c] = keys[c].astype("string")
    # the medians' groups are among the counts' (every deal is counted), so coding both
    # together gives the groups of the counts alone
    codes, groups = group_codes(keys, cols, rep_groups(tables.reps, cols))
    codes, mcodes = codes[: len(table)], codes[len(table) :]
    n_groups = len(groups)

    def matrix(prefix: str, count: int) -> np.ndarray:
        out = np.zeros((n_groups, count), dtype="int64")
        for k in range(count):
            out[codes, k] = table[f"{prefix}{k}"].to_numpy(dtype="int64")
        return out

    closed = np.zeros(n_groups, dtype="int64")
    closed[codes] = table["closed"].to_numpy(dtype="int64")
    median = np.full((n_groups, won), np.nan)
    median[mcodes, medians["rank"].to_numpy(dtype="int64")] = medians["median_days"].to_numpy(
        dtype="float64"
    )
    counts = FunnelCounts(
        stages=stages,
        reached=matrix("reached", n),
        lost=matrix("lost", won),
        open=matrix("open", won),
        closed_reached=matrix("creached", n),
        closed=closed,
        median_days=median,
        losses_known=losses_known,
    )
    return funnel_table(groups, cols, counts)
