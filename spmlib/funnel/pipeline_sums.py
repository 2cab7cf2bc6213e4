"""The open pipeline and the pipeline flow aggregated in an engine, where the data is.

The definitions stay with the pandas functions: :func:`spmlib.funnel.pipeline.open_pipeline`
(open deals by group, current stage and expected close period) and
:func:`spmlib.funnel.flow.pipeline_flow` (open at start + created - won - lost = open at end,
exactly). This module computes the same tables in an engine (DuckDB by default, Spark with the
same SQL), so a dataset of 100 M deals and 400 M stage-history rows is summed in bounded
memory, reading only the columns needed, instead of being loaded whole into pandas:

- **open pipeline**: one ``GROUP BY`` (group, stage, close period) over the open deals. Each
  close date is put in its period through a small table of the distinct close dates of the
  open deals (``spm_close_periods``), whose periods come from the pandas helpers of
  :mod:`spmlib.core.periods`, so the labels are those of the pandas path. A few groups,
  stages and periods: no slices are needed.
- **pipeline flow**: each deal's close day needs the stage history: the first entry into the
  won or the lost stage (one ``GROUP BY opp_id`` over the history rows in those two stages),
  else the close date (for a won deal with neither, its creation: the fallbacks of
  :func:`spmlib.funnel.progress.deal_progress`), never before its creation. Joined to the
  opportunities, it gives each deal's five measures, summed per group (``SUM(CASE ...)``).
  When the engine splits the deals into slices of ``opp_id``
  (:meth:`~spmlib.engine.base.Engine.key_slices`: DuckDB above ``SPM_DUCKDB_SLICE_ROWS``
  deals), the query runs once a slice (the history read for that slice's deals only) and the
  per-group sums add up.

Money is summed as exact decimals (:data:`~spmlib.engine.base.MONEY`, added up across slices as
Python decimals), so DuckDB and Spark agree to the cent. The results come back in the row order
and dtypes of the pandas functions (groups ordered as :func:`spmlib.core.grouping.group_codes`).
A dataset with several pipelines raises :class:`~spmlib.exceptions.SpmError` here (its
stages differ per pipeline): ``spm pipeline`` and ``spm flow`` then run the pandas functions
on the loaded data, one result per pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa

from spmlib.core.grouping import group_list
from spmlib.core.periods import period_kind, period_start
from spmlib.core.pipelines import require_one_pipeline
from spmlib.core.ranges import day_range
from spmlib.engine.base import MONEY
from spmlib.exceptions import ParameterError
from spmlib.funnel.engine_sql import add_up, by_slice, group_order, group_select, in_slice
from spmlib.funnel.flow import FLOW_MEASURES, flow_table
from spmlib.funnel.pipeline import open_pipeline_table

__all__ = ["CLOSE_PERIODS", "engine_open_pipeline", "engine_pipeline_flow"]

log = logging.getLogger(__name__)

#: The close periods of the open pipeline (``freq`` of
#: :func:`~spmlib.funnel.pipeline.open_pipeline`): calendar months, fiscal quarters.
CLOSE_PERIODS = ("month", "quarter")


def engine_open_pipeline(
    tables, by: str | Sequence[str] | None = None, freq: str = "month"
) -> pd.DataFrame:
    """:func:`spmlib.funnel.pipeline.open_pipeline` of a dataset opened in an engine
    (:class:`~spmlib.engine.tables.Tables`): the same table, summed where the data is.

    Parameters
    ----------
    tables : the dataset opened in an engine (one pipeline).
    by, freq : as :func:`~spmlib.funnel.pipeline.open_pipeline` ("month" or "quarter").

    Returns
    -------
    DataFrame with the group columns, ``stage``, ``close_period``, ``close_period_start``,
    ``deals``, ``amount``: the columns, rows and dtypes of the pandas function.

    Raises
    ------
    SpmError : the dataset has several pipelines.
    UnknownNameError : a group column of neither the opportunities nor the reps.
    """
    freq = period_kind(freq, CLOSE_PERIODS).name
    cols = group_list(by)
    config = tables.config
    require_one_pipeline(config, "engine_open_pipeline")
    gsel, join = group_select(tables, cols)
    starts = _register_close_periods(tables, freq)
    gk = "".join(f"{tables.engine.quote(c)}, " for c in cols)
    table = tables.engine.sql(
        f"SELECT {gk}stage, period, count(*) AS deals, {_money_sum(tables, 'amount')} AS amount "
        f"FROM (SELECT {gsel}o.stage, c.period, o.amount FROM opportunities o "
        f"LEFT JOIN spm_close_periods c ON o.close_date = c.day {join} "
        f"WHERE o.status = 'open') d GROUP BY {gk}stage, period"
    )
    return open_pipeline_table(_combinations(tables, table, cols, starts), cols, freq, config)


def _combinations(tables, table: pd.DataFrame, cols: list[str], starts: np.ndarray):
    """The engine's sums per (group, stage, close period number) as a frame of the group
    columns (typed as pandas types them), ``stage``, ``close_period_start`` (``starts`` of the
    period number, NaT without a close date), ``deals`` and ``amount`` (float64)."""
    codes, groups = group_order(tables, table, cols)
    period = table["period"].to_numpy(dtype="float64", na_value=np.nan)
    known = ~np.isnan(period)
    start = np.full(len(table), np.datetime64("NaT"), dtype="datetime64[ns]")
    start[known] = starts[period[known].astype(np.int64)]
    rows = groups.iloc[codes].reset_index(drop=True)
    rows["stage"] = table["stage"].astype("string")
    rows["close_period_start"] = start
    rows["deals"] = table["deals"].to_numpy(dtype="int64")
    rows["amount"] = _to_float(table["amount"])
    return rows


def _register_close_periods(tables, freq: str) -> np.ndarray:
    """Register ``spm_close_periods`` (``day``, ``period``): each distinct close date of an
    open deal and the number of its period (month or fiscal quarter, by
    :func:`~spmlib.core.periods.period_start`). Returns the first day of each period, by number
    (datetime64[ns])."""
    eng = tables.engine
    days = eng.sql(
        "SELECT DISTINCT close_date AS day FROM opportunities "
        "WHERE status = 'open' AND close_date IS NOT NULL"
    )
    day = pd.Series(pd.to_datetime(days["day"]), dtype="datetime64[ns]")
    codes, starts = pd.factorize(
        period_start(day, freq, tables.config.fiscal_year_start_month), sort=True
    )
    calendar = pd.DataFrame(
        {"day": day.astype(pd.ArrowDtype(pa.date32())), "period": codes.astype("int64")}
    )
    eng.register("spm_close_periods", calendar)
    return np.asarray(starts, dtype="datetime64[ns]")


def engine_pipeline_flow(
    tables,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`spmlib.funnel.flow.pipeline_flow` of a dataset opened in an engine
    (:class:`~spmlib.engine.tables.Tables`): the same balance, summed where the data is (in
    slices of deals when the engine splits them; see the module docstring).

    Parameters
    ----------
    tables : the dataset opened in an engine (one pipeline).
    start, end : the first and the last day (inclusive).
    by : as :func:`~spmlib.funnel.flow.pipeline_flow`.

    Returns
    -------
    DataFrame, two rows per group (``measure`` = "count" then "amount"), with the group columns,
    ``measure``, ``open_start``, ``created``, ``won``, ``lost``, ``open_end`` (floats): the
    columns, rows and dtypes of the pandas function.

    Raises
    ------
    ParameterError : no start or no end, or the end before the start.
    SpmError : the dataset has several pipelines.
    UnknownNameError : a group column of neither the opportunities nor the reps.
    """
    cols = group_list(by)
    lo, hi = day_range(start, end)
    if lo is None or hi is None:
        raise ParameterError("the pipeline flow needs a start and an end day")
    require_one_pipeline(tables.config, "engine_pipeline_flow")
    gsel, join = group_select(tables, cols)
    sql = _flow_sql(tables, cols, gsel, join, lo, hi)
    table = add_up(_flow_parts(tables, sql), cols)
    return _flow_table(tables, table, cols)


def _flow_parts(tables, sql: str) -> list[pd.DataFrame]:
    """The flow's sums of each slice of deals (one when the engine needs no slices), their
    money as exact decimals (to add up over the slices)."""
    slices = tables.engine.key_slices("opportunities", "opp_id")
    if len(slices) == 1:
        parts = [tables.engine.sql(in_slice(sql, slices[0]))]
    else:
        parts = by_slice(tables, sql, slices, "pipeline flow of the deals")
    for part in parts:
        for m in FLOW_MEASURES:
            part[f"a_{m}"] = [Decimal(0) if pd.isna(v) else Decimal(v) for v in part[f"a_{m}"]]
    return parts


def _flow_table(tables, table: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """The sums per group ``table`` as :func:`~spmlib.funnel.flow.pipeline_flow` lays them
    out: every group in its order (zeros when it has no deals), a count row then an amount
    row."""
    codes, groups = group_order(tables, table, cols)
    count, amount = ({m: np.zeros(len(groups)) for m in FLOW_MEASURES} for _ in range(2))
    for m in FLOW_MEASURES:
        count[m][codes] = _to_float(table[f"n_{m}"])
        amount[m][codes] = _to_float(table[f"a_{m}"])
    return flow_table(groups, cols, pd.DataFrame(count), pd.DataFrame(amount))


def _flow_sql(tables, cols: list[str], gsel: str, join: str, lo, hi) -> str:
    """The query of the flow's sums per group (``n_<measure>`` deals, ``a_<measure>`` amount
    as exact decimal text) over the deals of the slice ``{o_slice}``."""
    eng, config = tables.engine, tables.config
    won, lost = eng.literal(config.won_stage), eng.literal(config.lost_stage)
    if tables.has("stage_history") and tables.count("stage_history") > 0:
        entries = (
            f"SELECT h.opp_id, min(CASE WHEN h.stage = {won} THEN h.entered_date END) AS won_on, "
            f"min(CASE WHEN h.stage = {lost} THEN h.entered_date END) AS lost_on "
            f"FROM stage_history h WHERE h.stage IN ({won}, {lost}) AND h.opp_id IS NOT NULL "
            "AND {h_slice} GROUP BY h.opp_id"
        )
        hist = f"LEFT JOIN ({entries}) h ON o.opp_id = h.opp_id"
        won_on, lost_on = "h.won_on, ", "h.lost_on, "
    else:
        hist, won_on, lost_on = "", "", ""

    def not_before_created(day: str) -> str:  # a missing day stays missing
        return f"CASE WHEN {day} < o.created_date THEN o.created_date ELSE {day} END"

    closed = (
        "CASE WHEN o.status = 'won' THEN "
        + not_before_created(f"COALESCE({won_on}o.close_date, o.created_date)")
        + " WHEN o.status = 'lost' THEN "
        + not_before_created(f"COALESCE({lost_on}o.close_date)")
        + " END"
    )
    first, last, before = eng.day(lo), eng.day(hi), "(x IS NULL OR x {} {})"
    conds = {
        "open_start": f"c < {first} AND " + before.format(">=", first),
        "created": f"c >= {first} AND c <= {last}",
        "won": f"status = 'won' AND x >= {first} AND x <= {last}",
        "lost": f"status = 'lost' AND x >= {first} AND x <= {last}",
        "open_end": f"c <= {last} AND " + before.format(">", last),
    }
    sums = [f"sum(CASE WHEN {c} THEN 1 ELSE 0 END) AS n_{m}" for m, c in conds.items()]
    sums += [f"{_money_sum(tables, f'CASE WHEN {c} THEN amount END')} AS a_{m}"
             for m, c in conds.items()]  # fmt: skip
    gk = "".join(f"{eng.quote(c)}, " for c in cols)
    group = f" GROUP BY {gk.rstrip(', ')}" if cols else ""
    deals = (
        f"SELECT {gsel}o.status, o.created_date AS c, o.amount, {closed} AS x "
        f"FROM opportunities o {hist} {join} WHERE {{o_slice}}"
    )
    return f"SELECT {gk}{', '.join(sums)} FROM ({deals}) d{group}"


def _money_sum(tables, expr: str) -> str:
    """The exact sum of the money ``expr``, as text (:data:`~spmlib.engine.base.MONEY`)."""
    eng = tables.engine
    return f"CAST(sum(CAST({expr} AS {MONEY})) AS {eng.string_type})"


def _to_float(values: pd.Series) -> np.ndarray:
    """Exact money sums (decimal text or decimals; missing = no rows = 0) as float64."""
    return np.array([0.0 if pd.isna(v) else float(v) for v in values], dtype="float64")
