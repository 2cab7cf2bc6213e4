"""Time-series forecasts of bookings (or any date/value series) with prediction intervals.

Build a series with :func:`bookings_series` (won amounts by close date, per company, team, rep
or product) or :func:`series_from_frame` (any date/value table), then call :func:`forecast`.
Every forecast carries 80% and 95% prediction intervals; ``method="auto"`` picks the method by a
rolling-origin backtest (:mod:`spmlib.forecast.backtest`). The methods live in
:mod:`spmlib.forecast.methods`.

Series frames have the group columns (none for one series), then ``period_start``
(datetime64, the first day of the period), ``value`` (float) and ``complete`` (bool: False for
the period containing the data's as-of date when that date is not its last day; such a period is
never used for fitting, and is shown separately).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from spmlib.core.grouping import group_columns, grouping_name
from spmlib.core.periods import PERIODS, period_end, period_kind, period_start, period_step
from spmlib.core.ranges import parse_day
from spmlib.exceptions import (
    DataValidationError,
    MissingFileError,
    ParameterError,
    Problem,
    UnknownNameError,
)
from spmlib.io.schema import Dataset

__all__ = [
    "FORECAST_PERIODS",
    "FORECAST_GROUPINGS",
    "FREQS",
    "SEASON",
    "DEFAULT_HORIZON",
    "normalize_freq",
    "bookings_series",
    "FILL_RULES",
    "series_from_frame",
    "read_series",
    "series_keys",
]

log = logging.getLogger(__name__)

#: The period kinds a series can be forecast at (names of :data:`spmlib.core.periods.PERIODS`).
FORECAST_PERIODS = ("month", "quarter", "week")
#: Frequency codes and their period names.
FREQS = {PERIODS[n].code: n for n in FORECAST_PERIODS}
#: Seasonal period per frequency (periods in a year).
SEASON = {PERIODS[n].code: PERIODS[n].per_year for n in FORECAST_PERIODS}
#: Default horizon per frequency (half a year, a year, a quarter).
DEFAULT_HORIZON = {"M": 6, "Q": 4, "W": 13}
#: Groupings accepted by ``by`` (names of :data:`spmlib.core.grouping.GROUPINGS`, plus the
#: opportunities' ``product``); a series is keyed by the grouping's first column.
FORECAST_GROUPINGS = ("company", "team", "rep", "product")


def normalize_freq(freq: str) -> str:
    """``"M"``, ``"Q"`` or ``"W"`` from any name or alias of a period kind
    (:func:`spmlib.core.periods.period_kind`) that can be forecast.

    Examples
    --------
    >>> normalize_freq("quarter"), normalize_freq("m")
    ('Q', 'M')
    """
    return period_kind(freq, FORECAST_PERIODS).code


def _key_column(by: str | None) -> str | None:
    """The column a bookings series is keyed by for grouping ``by`` (None: one series)."""
    if by is None or by == "product":
        return by
    if by not in FORECAST_GROUPINGS and grouping_name(by) not in FORECAST_GROUPINGS:
        raise UnknownNameError("forecast grouping", by, FORECAST_GROUPINGS)
    cols = group_columns(by)
    return cols[0] if cols else None


def series_keys(series: pd.DataFrame) -> list[str]:
    """The group columns of a series frame: every column before ``period_start``."""
    cols = list(series.columns)
    return cols[: cols.index("period_start")]


def bookings_series(
    ds: Dataset,
    freq: str = "M",
    by: str | None = None,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Bookings per period: the sum of won amounts by close date.

    Parameters
    ----------
    ds : the dataset (scope it first with ``ds.scoped(team=..., rep_id=...)``).
    freq : ``"M"`` (months), ``"Q"`` (fiscal quarters, from ``fiscal_year_start_month``) or
        ``"W"`` (weeks starting Monday).
    by : None or ``"company"`` (one series), ``"team"``, ``"rep"`` (column ``rep_id``) or
        ``"product"``.
    start : first date covered; None = the first period with a created or closed deal.
    end : last date covered, used as the as-of date (its period is incomplete unless ``end``
        is its last day); None = ``ds.as_of``.

    Returns
    -------
    DataFrame with the group column (if any), ``period_start``, ``value`` (bookings, float) and
    ``complete`` (bool), one row per group and period from the first period to the one
    containing ``ds.as_of``; periods with no won deal hold 0. Every rep (or team) of
    ``ds.reps`` gets a series, even without a win.

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> opp = pd.DataFrame({"opp_id": ["a", "b", "c"], "rep_id": ["r1", "r1", "r1"],
    ...     "created_date": pd.to_datetime(["2026-01-05"] * 3),
    ...     "close_date": pd.to_datetime(["2026-01-20", "2026-03-02", "2026-03-10"]),
    ...     "stage": ["Won", "Won", "Lost"], "amount": [10.0, 5.0, 7.0],
    ...     "status": ["won", "won", "lost"]})
    >>> reps = pd.DataFrame({"rep_id": ["r1"], "rep_name": ["Ann"], "team": ["A"]})
    >>> cfg = DatasetConfig(("Open",), "Won", "Lost", as_of=pd.Timestamp("2026-03-15"))
    >>> s = bookings_series(Dataset(cfg, reps, opp), "M")
    >>> s.assign(period_start=s.period_start.dt.strftime("%Y-%m"))
      period_start  value  complete
    0      2026-01   10.0      True
    1      2026-02    0.0      True
    2      2026-03    5.0     False
    """
    code = normalize_freq(freq)
    col = _key_column(by)
    fy = ds.config.fiscal_year_start_month
    as_of = pd.Timestamp(ds.as_of)
    if end is not None:
        as_of = min(as_of, parse_day(end, "end"))
    opp = ds.opportunities
    won = opp[(opp["status"] == "won") & (opp["close_date"] <= as_of)].copy()
    if col == "team":
        won = won.merge(ds.reps[["rep_id", "team"]], on="rep_id", how="left")
    if start is None:
        dates = pd.concat([opp["created_date"], opp.loc[opp["status"] != "open", "close_date"]])
        first = dates.min() if dates.notna().any() else as_of
    else:
        first = parse_day(start, "start")
    periods = _period_grid(first, as_of, code, fy)
    won = won[won["close_date"] >= periods.iloc[0]]
    won["period_start"] = period_start(won["close_date"], FREQS[code], fy)
    if col is None:
        sums = won.groupby("period_start")["amount"].sum()
        out = pd.DataFrame({"period_start": periods})
        out["value"] = out["period_start"].map(sums).fillna(0.0).astype(float)
    else:
        if col == "rep_id":
            groups = ds.reps["rep_id"].dropna().unique().tolist()
        elif col == "team":
            groups = ds.reps["team"].dropna().unique().tolist()
        else:
            if col not in won.columns:
                raise DataValidationError(
                    [Problem("opportunities", col, "has no product column", hint="use by=None")]
                )
            groups = opp[col].dropna().unique().tolist()
        sums = won.groupby([col, "period_start"])["amount"].sum()
        grid = pd.MultiIndex.from_product([sorted(groups), periods], names=[col, "period_start"])
        out = sums.reindex(grid, fill_value=0.0).rename("value").reset_index()
        out[col] = out[col].astype("string")
        out["value"] = out["value"].astype(float)
    last_end = period_end(pd.Series([periods.iloc[-1]]), FREQS[code]).iloc[0]
    out["complete"] = out["period_start"] < periods.iloc[-1]
    if as_of >= last_end:
        out["complete"] = True
    return out.reset_index(drop=True)


def _period_grid(first: pd.Timestamp, last: pd.Timestamp, code: str, fy: int) -> pd.Series:
    lo = period_start(pd.Series([first]), FREQS[code], fy).iloc[0]
    hi = period_start(pd.Series([last]), FREQS[code], fy).iloc[0]
    out = []
    cur = lo
    while cur <= hi:
        out.append(cur)
        cur = cur + period_step(code)
    return pd.Series(pd.to_datetime(out), dtype="datetime64[ns]")


def _infer_freq(dates: pd.Series) -> str:
    d = pd.Series(pd.to_datetime(dates).dropna().sort_values().unique())
    if len(d) < 2:
        return "M"
    gap = d.diff().dt.days.median()
    if gap <= 10:
        return "W"
    if gap <= 45:
        return "M"
    return "Q"


#: Rules that fill a period missing inside a series: ``zero`` (the series sums events, e.g.
#: bookings from deals: no event, 0), ``previous`` (carry the last value forward: levels such as
#: headcount), ``interpolate`` (a straight line between the neighbours: smooth measurements).
FILL_RULES = ("zero", "previous", "interpolate")


def series_from_frame(
    frame: pd.DataFrame,
    date_column: str,
    value_column: str,
    freq: str | None = None,
    by: str | list[str] | None = None,
    fiscal_year_start_month: int = 1,
    fill: str | None = None,
) -> pd.DataFrame:
    """A series frame from any date/value table: values summed per period, each group spanning
    its own first to last period.

    Parameters
    ----------
    frame : a table with a date column and a numeric value column (not modified).
    date_column, value_column : their names.
    freq : ``"M"``, ``"Q"`` or ``"W"``; None infers it from the median gap between a group's
        consecutive dates (<= 10 days weekly, <= 45 monthly, else quarterly).
    by : optional group column(s), e.g. a store number.
    fiscal_year_start_month : where quarters start (1 = calendar quarters).
    fill : how a period missing inside a series is filled, one of :data:`FILL_RULES`; None
        (default) raises :class:`~spmlib.exceptions.DataValidationError` listing the gaps, so that
        no value is invented without the user's choice.

    Returns
    -------
    DataFrame with the group columns, ``period_start``, ``value``, ``complete`` (all True: a
    plain series is assumed complete) and ``filled`` (True where ``fill`` made the value up).
    Groups of different lengths keep their own calendars: nothing is added before a group's first
    date or after its last.

    Raises
    ------
    DataValidationError : a column is missing, a row has no date or no number, or a series has
        gaps and ``fill`` is None.

    Examples
    --------
    >>> t = pd.DataFrame({"Month": ["2024-01", "2024-03"], "Sales": [5, 7]})
    >>> series_from_frame(t, "Month", "Sales", "M", fill="zero")["value"].tolist()
    [5.0, 0.0, 7.0]
    >>> series_from_frame(t, "Month", "Sales", "M", fill="interpolate")["value"].tolist()
    [5.0, 6.0, 7.0]
    """
    problems = [
        Problem("series", c, "column not found", hint=f"columns are: {', '.join(frame.columns)}")
        for c in (date_column, value_column)
        if c not in frame.columns
    ]
    if problems:
        raise DataValidationError(problems, source="series")
    if fill is not None and fill not in FILL_RULES:
        raise UnknownNameError("gap fill rule", fill, FILL_RULES)
    keys = [by] if isinstance(by, str) else list(by or [])
    df = frame[[*keys, date_column, value_column]].copy()
    df["_date"] = pd.to_datetime(df[date_column], errors="coerce", format="mixed", dayfirst=False)
    df["_value"] = pd.to_numeric(df[value_column], errors="coerce")
    bad = df["_date"].isna() | df["_value"].isna()
    if bad.any():
        rows = tuple(str(i + 2) for i in np.flatnonzero(bad.to_numpy())[:5])
        raise DataValidationError(
            [
                Problem(
                    "series",
                    date_column if df["_date"].isna().any() else value_column,
                    "every row needs a date and a numeric value",
                    rows,
                    "fix or drop those rows",
                )
            ],
            source="series",
        )
    code = normalize_freq(freq) if freq else _infer_freq_groups(df, keys)
    df["period_start"] = period_start(df["_date"], FREQS[code], fiscal_year_start_month)
    sums = df.groupby([*keys, "period_start"], sort=True)["_value"].sum().rename("value")
    observed = sums.reset_index()
    parts = observed.groupby(keys, sort=True, dropna=False) if keys else [((), observed)]
    frames = []
    for _key, part in parts:
        grid = _period_grid(
            part["period_start"].min(), part["period_start"].max(), code, fiscal_year_start_month
        )
        full = pd.DataFrame({"period_start": grid}).merge(
            part[["period_start", "value"]], on="period_start", how="left"
        )
        for k in keys:
            full.insert(0 if k == keys[0] else keys.index(k), k, part[k].iloc[0])
        frames.append(full)
    out = pd.concat(frames, ignore_index=True)[[*keys, "period_start", "value"]]
    out["filled"] = out["value"].isna()
    if out["filled"].any():
        if fill is None:
            gaps = out[out["filled"]]
            raise DataValidationError(
                [_gap_problem(gaps, keys, date_column, code)], source="series"
            )
        out["value"] = _fill(out, keys, fill)
    out["value"] = out["value"].astype(float)
    out["complete"] = True
    for k in keys:
        out[k] = out[k].astype(frame[k].dtype)
    return out[[*keys, "period_start", "value", "complete", "filled"]].reset_index(drop=True)


def _gap_problem(gaps: pd.DataFrame, keys: list[str], date_column: str, code: str) -> Problem:
    """One problem naming the groups with missing periods and the first missing periods."""
    label = {"M": "%Y-%m", "Q": "%Y-%m", "W": "%Y-%m-%d"}[code]
    shown = []
    for _, row in gaps.head(8).iterrows():
        who = "/".join(str(row[k]) for k in keys)
        shown.append(f"{who + ' ' if who else ''}{row['period_start']:{label}}")
    return Problem(
        "series",
        date_column,
        f"{len(gaps)} period(s) missing inside the series: {', '.join(shown)}"
        + (" ..." if len(gaps) > 8 else ""),
        (),
        "Choose how to fill them: zero (the values sum events, e.g. bookings from deals), "
        "previous (carry the last value) or interpolate (straight line); "
        "spm forecast --fill RULE",
    )


def _fill(out: pd.DataFrame, keys: list[str], rule: str) -> pd.Series:
    if rule == "zero":
        return out["value"].fillna(0.0)
    groups = out.groupby(keys, sort=False, dropna=False)["value"] if keys else None
    if rule == "previous":
        return groups.ffill() if keys else out["value"].ffill()
    if keys:
        return groups.transform(lambda v: v.interpolate(limit_area="inside"))
    return out["value"].interpolate(limit_area="inside")


def _infer_freq_groups(df: pd.DataFrame, keys: list[str]) -> str:
    """The frequency from the median gap between consecutive dates within each group."""
    if not keys:
        return _infer_freq(df["_date"])
    gaps = []
    for _, g in df.groupby(keys, sort=False, dropna=False):
        d = pd.Series(g["_date"].drop_duplicates().sort_values())
        gaps.extend(d.diff().dt.days.dropna().tolist())
    if not gaps:
        return "M"
    gap = float(np.median(gaps))
    return "W" if gap <= 10 else "M" if gap <= 45 else "Q"


def read_series(
    path: str | Path, spec: str, freq: str | None = None, fill: str | None = None
) -> pd.DataFrame:
    """Read a CSV (or Parquet) file and build a series from ``spec`` = ``"DATE,VALUE"``.

    A third name (``"DATE,VALUE,GROUP"``) adds a group column; each group keeps its own
    calendar. ``fill`` is the gap rule of :func:`series_from_frame`.
    """
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if len(names) not in (2, 3):
        raise ParameterError(f"--series needs DATE_COLUMN,VALUE_COLUMN (got {spec!r}).")
    p = Path(path)
    if not p.exists():
        raise MissingFileError(f"series file not found: {p}")
    frame = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    return series_from_frame(frame, names[0], names[1], freq, by=names[2:] or None, fill=fill)


def _series_freq(series: pd.DataFrame, freq: str | None) -> str:
    if freq:
        return normalize_freq(freq)
    keys = series_keys(series)
    return _infer_freq_groups(series.rename(columns={"period_start": "_date"}), keys)
