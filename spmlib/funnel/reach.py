"""The stage funnel aggregated in an engine: stage reach per deal, then counts per group.

The rules are those of :mod:`spmlib.funnel.progress` (reach = the first entry into a stage or
any later one; skipped stages count as passed; the furthest stage is a high-water mark; the
fallbacks for open, won and lost deals without the entry) and of :mod:`spmlib.funnel.velocity`
(days in stage, completed stays), written once as SQL that DuckDB and Spark both run:

1. one pass over the stage history per deal (one ``GROUP BY opp_id`` with conditional
   aggregates): its first entry into each stage and its latest entry; from those, per open
   stage, the days of its completed stays and their last exit (a deal that entered a stage
   twice takes a ``LEAD`` window over its own entries instead: 1.5% of the sample's deals);
2. one pass over the opportunities joined to that: the fallbacks, the reach dates (a running
   minimum from the won stage down), the furthest stage, the counts per group and stage
   (``SUM(CASE ...)``), for the all-time or the period view, and the median days in each open
   stage per group (the stays of closed deals end at their close).

One query, joining the stage history to the opportunities once (the history is read again
only for the entries of the deals that entered a stage twice). When the engine splits the
deals into slices of ``opp_id`` (:meth:`~spmlib.engine.base.Engine.key_slices`: DuckDB above
``SPM_DUCKDB_SLICE_ROWS`` deals, 5 M, for bounded memory), the query runs once a slice, with,
in place of the medians, how many deals spent each number of days in each open stage
(:meth:`~spmlib.engine.base.Engine.value_counts_map`); the counts add up over the slices and
the medians are exact from the summed counts (:mod:`spmlib.engine.medians`). In slices, step 1
(which depends on the files only, not on the grouping or the period asked) is written once, a
file a slice, to the cache of derived tables (:mod:`spmlib.engine.derived`), and the funnels
join the opportunities to it in place of the stage history (100 M deals: 29.5 s instead of 80).
It is written when the files are validated (:func:`prepare_deal_summaries`: ``spm validate``,
or the first command on new files), else by the first funnel that finds none.

The result is a :class:`~spmlib.funnel.conversion.FunnelCounts`, turned into the funnel table
by the same code as the pandas funnel, so both give the same table.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from spmlib.core.grouping import group_list
from spmlib.core.ranges import day_range
from spmlib.engine.derived import caches, derived_parquet
from spmlib.funnel.conversion import FunnelCounts, funnel_table
from spmlib.funnel.engine_sql import add_up, by_slice, group_order, group_select, in_slice

__all__ = ["engine_stage_funnel", "prepare_deal_summaries"]

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
    gsel, join = group_select(tables, cols)
    _register_ranks(tables)
    has_history = tables.has("stage_history") and tables.count("stage_history") > 0
    cur = (
        "CASE o.stage "
        + " ".join(f"WHEN {eng.literal(s)} THEN {k}" for k, s in enumerate(stages))
        + " END"
    )
    n_open = len(config.open_stages)
    slices = eng.key_slices("opportunities", "opp_id")
    if has_history:
        exits = start is not None or end is not None  # the period view needs the exit days
        per_deal = _deal_summaries(tables, n, n_open, exits, slices)
        hist = f"LEFT JOIN ({per_deal}) h ON o.opp_id = h.opp_id"
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
    furthest = " + ".join(f"(CASE WHEN reach{k} IS NOT NULL THEN 1 ELSE 0 END)" for k in range(n))
    sums = _count_sql(eng, n, start, end)
    gk = "".join(f"{q(c)}, " for c in cols)
    group = f"GROUP BY {gk.rstrip(', ')}" if cols else ""
    stays = _stay_days(eng, n_open, start, end) if has_history else []
    deals = (
        f"SELECT {gsel}o.status, o.created_date, o.close_date, {', '.join(reach + stays)} "
        f"FROM opportunities o {hist} {join} WHERE {{o_slice}}"
    )
    counts = f"SELECT {{sums}} FROM (SELECT d.*, {furthest} - 1 AS f FROM ({deals}) d) t {group}"
    if len(slices) == 1:  # one query: the counts and the engine's exact medians
        medians = "".join(f", {eng.median(f'm{k}')} AS median{k}" for k in range(n_open))
        sql = counts.replace("{sums}", gk + sums + (medians if has_history else ""))
        table = eng.sql(in_slice(sql, slices[0]))
    elif not has_history:  # slices of deals in bounded memory: the counts add up
        sql = counts.replace("{sums}", gk + sums)
        table = add_up(by_slice(tables, sql, slices), cols)
    else:  # and so do the counts of each number of days in each open stage
        days = "".join(f", {eng.value_counts_map(f'm{k}')} AS days{k}" for k in range(n_open))
        sql = counts.replace("{sums}", gk + sums + days)
        parts = by_slice(tables, sql, slices)
        table = _with_medians(parts, cols, n_open)
    return _to_funnel(tables, cols, table, stages, has_history)


def _deal_summaries(tables, n: int, n_open: int, exits: bool, slices: list[str]) -> str:
    """The query of one row per deal of the stage history (:func:`_per_deal_sql`), for the
    deals of the slice ``{h_slice}``. When the deals come in several slices (large data), the
    rows are written once, with the exit days, to the cache of derived tables
    (:mod:`spmlib.engine.derived`, keyed by the dataset's fingerprint and the query) and
    read from there: a funnel of 100 M deals then reads 2 GB of summaries in place of 400 M
    rows of history (its first run writes them)."""
    eng, n_ranked = tables.engine, len(tables.config.stages)
    if len(slices) == 1:
        return _per_deal_sql(eng, n, n_open, n_ranked, exits)
    per_deal, files = _summary_files(tables, slices)
    if not files:  # the engine caches nothing, or the cache is full
        return per_deal
    return f"SELECT * FROM {eng.parquet_source(files, row_column=True)} h WHERE {{h_slice}}"


def prepare_deal_summaries(tables) -> list[str] | None:
    """Write now the deal stage summaries that a funnel of ``tables`` would write on its first
    run (:func:`_deal_summaries`; a no-op when they are in the cache already), as ``spm
    validate`` does once per fingerprint: every funnel of the validated files then reads them.

    Returns
    -------
    The summary files, or None when the funnel needs none (the deals fit in one slice, or
    there is no stage history) or the engine or the cache cannot hold them (Spark, a
    database, a full disk: :func:`~spmlib.engine.derived.derived_parquet`).
    """
    config = tables.config
    if config is None or not caches(tables) or not tables.has("stage_history"):
        return None
    if not tables.count("stage_history"):
        return None
    slices = tables.engine.key_slices("opportunities", "opp_id")
    if len(slices) == 1:
        return None
    _register_ranks(tables)
    return _summary_files(tables, slices)[1]


def _summary_files(tables, slices: list[str]) -> tuple[str, list[str] | None]:
    """The per-deal query of the summaries (with the exit days: one summary for any period)
    and their files in the cache, one a slice (written now when absent; None when they
    cannot be: :func:`~spmlib.engine.derived.derived_parquet`)."""
    config = tables.config
    n, n_open, n_ranked = len(config.funnel_stages), len(config.open_stages), len(config.stages)
    per_deal = _per_deal_sql(tables.engine, n, n_open, n_ranked, exits=True)
    queries = [in_slice(per_deal, part) for part in slices]
    return per_deal, derived_parquet(tables, "deal stage summaries", per_deal, queries)


def _register_ranks(tables) -> None:
    """The table ``spm_ranks`` (stage, rank): each stage of ``dataset.yml`` and its order,
    which the per-deal SQL joins the stage history to."""
    stages = list(tables.config.stages)
    tables.engine.register("spm_ranks", pd.DataFrame({"stage": stages, "rank": range(len(stages))}))


def _with_medians(parts: list[pd.DataFrame], cols: list[str], n_open: int) -> pd.DataFrame:
    """The counts of the slices of deals ``parts`` added up per group, with ``median{k}``, the
    median days in each open stage, exact from how many deals spent each number of days there
    (the maps ``days{k}`` of each slice, added up; :mod:`spmlib.engine.medians`)."""
    from spmlib.engine.medians import map_counts, medians_from_counts

    maps = [f"days{k}" for k in range(n_open)]
    table = add_up([part.drop(columns=maps) for part in parts], cols)
    each = [map_counts(p, cols, f"days{k}").assign(rank=k) for p in parts for k in range(n_open)]
    counts = pd.concat([c for c in each if len(c)] or each[:1], ignore_index=True)
    medians = medians_from_counts(counts, [*cols, "rank"])
    for k in range(n_open):
        one = medians.loc[medians["rank"] == k, [*cols, "median"]]
        if not cols:
            table[f"median{k}"] = one["median"].iloc[0] if len(one) else np.nan
            continue
        # missing group values match each other in a pandas merge, as in the counts
        table = table.merge(one.rename(columns={"median": f"median{k}"}), on=cols, how="left")
    return table


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


def _per_deal_sql(eng, n: int, n_open: int, n_ranked: int, exits: bool) -> str:
    """One row per deal of the stage history: its first entry into each funnel stage
    (``e{k}``), its latest entry (``last_entry``), and, per open stage, the days of its
    completed stays (``d{k}``: each stay lasts until the deal's next entry, in (date, stage
    order); :func:`spmlib.funnel.velocity.stage_stays`) and their latest exit (``x{k}``, when
    ``exits``), and the stage and day of the deal's last entry (``lr``, ``lw``), whose stay ends
    when the deal closes. Entries in stages outside the ``n_ranked`` known ones count only in
    ``last_entry`` (a stay's next entry is one in a known stage).

    One ``GROUP BY opp_id`` gives each deal's first entry into each known stage. A deal that
    entered no stage twice (98.5% of the sample's) has one stay per stage entered, which ends
    at the first of its other entries that comes later: that is worked out from its row, with
    no window; when its entries come in stage order (``in_order``: each entry no later than
    the next stage entered, as most deals' are), that is simply the next stage entered. Only
    the deals that entered a stage twice go through a window (``LEAD`` over their entries),
    which would sort every entry of every deal."""
    first = [
        f"min(CASE WHEN r.rank = {k} THEN h.entered_date END) AS a{k}" for k in range(n_ranked)
    ]
    entered = " + ".join(f"CASE WHEN a{k} IS NULL THEN 0 ELSE 1 END" for k in range(n_ranked))
    # the next stage entered after stage k (its entries in stage order: their next entry)
    following = {k: f"COALESCE({', '.join(f'a{j}' for j in range(k + 1, n_ranked))})"
                 for k in range(n_ranked - 1)}  # fmt: skip
    in_order = " AND ".join(
        f"(a{k} IS NULL OR {c} IS NULL OR a{k} <= {c})" for k, c in following.items()
    )
    grouped = (
        f"SELECT *, entries > {entered} AS again, {in_order or 'TRUE'} AS in_order "
        "FROM (SELECT h.opp_id, "
        f"max(h.entered_date) AS last_entry, {', '.join(first)}, count(r.rank) AS entries "
        "FROM stage_history h LEFT JOIN spm_ranks r ON h.stage = r.stage WHERE "
        "h.entered_date IS NOT NULL AND h.opp_id IS NOT NULL AND {h_slice} GROUP BY h.opp_id) a"
    )
    cols = ["opp_id", "last_entry", *(f"e{k}" for k in range(n))]
    once = ["opp_id", "last_entry", *(f"a{k} AS e{k}" for k in range(n))]
    for k in range(n_open):
        # the next entry after stage k's: a later day, or the same day in a later stage
        later = [
            f"CASE WHEN a{j} {'>' if j < k else '>='} a{k} THEN a{j} END"
            for j in range(n_ranked)
            if j != k
        ]
        nxt = (
            f"CASE WHEN in_order AND a{k} IS NOT NULL THEN {following[k]} "
            f"ELSE LEAST({', '.join(later)}) END"
        )
        cols.append(f"d{k}")
        once.append(f"{eng.days_between(f'a{k}', nxt)} AS d{k}")  # never negative
        if exits:
            cols.append(f"x{k}")
            once.append(f"{nxt} AS x{k}")
    last = f"GREATEST({', '.join(f'a{k}' for k in range(n_ranked))})"
    cols += ["lr", "lw"]
    ranks = ", ".join(f"CASE WHEN a{k} = {last} THEN {k} END" for k in range(n_ranked))
    once += [f"GREATEST({ranks}) AS lr", f"{last} AS lw"]
    repeats = _window_per_deal_sql(eng, n, n_open, exits).replace(
        "{h_slice}", "{h_slice} AND h.opp_id IN (SELECT opp_id FROM g WHERE again)"
    )
    return (
        f"WITH {eng.reused('g', grouped)} "
        f"SELECT {', '.join(once)} FROM g WHERE NOT again "
        f"UNION ALL SELECT {', '.join(cols)} FROM ({repeats}) w"
    )


def _window_per_deal_sql(eng, n: int, n_open: int, exits: bool) -> str:
    """The columns of :func:`_per_deal_sql` through a window over each deal's entries (the
    rule as written: ``LEAD`` gives each entry's next, then one ``GROUP BY opp_id``)."""
    days = eng.days_between("w", "nxt")
    rows = (
        "SELECT h.opp_id, r.rank, h.entered_date AS w, LEAD(h.entered_date) OVER "
        "(PARTITION BY h.opp_id, r.rank IS NULL ORDER BY h.entered_date, r.rank) AS nxt "
        "FROM stage_history h LEFT JOIN spm_ranks r ON h.stage = r.stage "
        "WHERE h.entered_date IS NOT NULL AND h.opp_id IS NOT NULL AND {h_slice}"
    )
    aggs = ["max(w) AS last_entry"]
    aggs += [f"min(CASE WHEN rank = {k} THEN w END) AS e{k}" for k in range(n)]
    for k in range(n_open):
        aggs.append(
            f"sum(CASE WHEN rank = {k} AND nxt IS NOT NULL THEN GREATEST({days}, 0) END) AS d{k}"
        )
        if exits:
            aggs.append(f"max(CASE WHEN rank = {k} THEN nxt END) AS x{k}")
    aggs.append("max(CASE WHEN nxt IS NULL THEN rank END) AS lr")
    aggs.append("max(CASE WHEN nxt IS NULL AND rank IS NOT NULL THEN w END) AS lw")
    return f"SELECT opp_id, {', '.join(aggs)} FROM ({rows}) t GROUP BY opp_id"


def _stay_days(eng, n_open: int, start, end) -> list[str]:
    """Per deal and open stage k, ``m{k}``: its days in stage k when every stay there is
    completed (left by a later entry, or by the close of a closed deal) and, in the period
    view, the last one ended in the range; else NULL (rules of
    :func:`spmlib.funnel.velocity.stage_stays`). Their median per group is the median days
    in stage."""
    out = []
    closing = eng.days_between("h.lw", "o.close_date")
    for k in range(n_open):
        last = f"h.lr = {k}"
        done = f"(h.lr <> {k} OR h.lr IS NULL OR (o.status <> 'open' AND o.close_date IS NOT NULL))"
        days = f"COALESCE(h.d{k}, 0) + CASE WHEN {last} THEN GREATEST({closing}, 0) ELSE 0 END"
        cond = [f"h.e{k} IS NOT NULL", done]
        exit_day = (
            f"(CASE WHEN {last} AND (h.x{k} IS NULL OR o.close_date > h.x{k}) "
            f"THEN o.close_date ELSE h.x{k} END)"
        )
        if start is not None:
            cond.append(f"{exit_day} >= {eng.day(start)}")
        if end is not None:
            cond.append(f"{exit_day} <= {eng.day(end)}")
        out.append(f"CASE WHEN {' AND '.join(cond)} THEN {days} END AS m{k}")
    return out


def _to_funnel(tables, cols, table, stages, losses_known) -> pd.DataFrame:
    """The engine's counts as :class:`FunnelCounts`, in the group order of the pandas funnel
    (groups sorted, missing values a group of their own, every group of reps present)."""
    n, won = len(stages), len(stages) - 1
    codes, groups = group_order(tables, table, cols)
    n_groups = len(groups)

    def matrix(prefix: str, count: int) -> np.ndarray:
        out = np.zeros((n_groups, count), dtype="int64")
        for k in range(count):
            out[codes, k] = table[f"{prefix}{k}"].to_numpy(dtype="int64")
        return out

    closed = np.zeros(n_groups, dtype="int64")
    closed[codes] = table["closed"].to_numpy(dtype="int64")
    median = np.full((n_groups, won), np.nan)
    for k in range(won):
        if f"median{k}" in table.columns:
            median[codes, k] = table[f"median{k}"].to_numpy(dtype="float64", na_value=np.nan)
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
