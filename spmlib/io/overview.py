"""A dataset at a glance: rows and date coverage per table, data-quality notes, monthly volumes."""

from __future__ import annotations

import pandas as pd

from spmlib.io.schema import TABLES, Dataset

__all__ = [
    "TIME_COLUMNS",
    "table_summary",
    "quality_notes",
    "monthly_volumes",
    "overview_narrative",
]

#: The date column that places each table's rows in time.
TIME_COLUMNS = {
    "reps": "hire_date",
    "opportunities": "created_date",
    "stage_history": "entered_date",
    "activities": "date",
    "quotas": "period_start",
    "leads": "created_date",
    "accounts": None,  # accounts have no date
    "splits": None,
}


def table_summary(ds: Dataset) -> pd.DataFrame:
    """One row per table: ``table``, ``rows``, ``first_date``, ``last_date``, ``date_column``.

    The dates span the table's time column: hire_date, created_date, entered_date, date,
    period_start and created_date for reps, opportunities, stage history, activities, quotas
    and leads (accounts and splits have none: NaT and an empty ``date_column``).

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a"], "rep_name": ["Ann"], "team": ["T"]})
    >>> day = pd.to_datetime(["2026-01-02"])
    >>> opps = pd.DataFrame({"opp_id": ["1"], "rep_id": ["a"], "stage": ["Won"], "amount": [1.0],
    ...     "created_date": day, "close_date": day, "status": ["won"]})
    >>> ds = Dataset(DatasetConfig(("Open",), "Won", "Lost"), reps, opps)
    >>> table_summary(ds)[["table", "rows", "first_date"]].head(2)
               table  rows first_date
    0           reps     1        NaT
    1  opportunities     1 2026-01-02
    """
    rows = []
    for name in TABLES:
        frame = getattr(ds, name)
        col = TIME_COLUMNS[name]
        has_dates = col is not None and col in frame.columns
        dates = frame[col] if has_dates else pd.Series(dtype="datetime64[ns]")
        rows.append(
            {
                "table": name,
                "rows": len(frame),
                "first_date": dates.min(),
                "last_date": dates.max(),
                "date_column": col or "",
            }
        )
    out = pd.DataFrame(rows)
    out["rows"] = out["rows"].astype("int64")
    return out


def quality_notes(ds: Dataset) -> pd.DataFrame:
    """The warnings found when the dataset was validated (suspicious but legal data): columns
    ``file``, ``column``, ``rule``, ``examples``, ``hint``. Empty when there are none."""
    rows = [
        {
            "file": getattr(w, "file", ""),
            "column": getattr(w, "column", None) or "",
            "rule": getattr(w, "rule", str(w)),
            "examples": ", ".join(getattr(w, "rows", ()) or ()),
            "hint": getattr(w, "hint", ""),
        }
        for w in ds.warnings
    ]
    return pd.DataFrame(rows, columns=["file", "column", "rule", "examples", "hint"])


def monthly_volumes(ds: Dataset) -> pd.DataFrame:
    """Rows created per calendar month and table, long format: ``month``, ``table``, ``rows``.

    Opportunities count by created_date, closed deals (``won`` and ``lost``) by close_date,
    activities by date and leads by created_date.
    """
    opp = ds.opportunities
    series = {
        "opportunities": opp["created_date"],
        "won": opp.loc[opp["status"] == "won", "close_date"],
        "lost": opp.loc[opp["status"] == "lost", "close_date"],
        "activities": ds.activities["date"],
        "leads": ds.leads["created_date"],
    }
    frames = []
    for name, dates in series.items():
        dates = dates.dropna()
        if dates.empty:
            continue
        counts = dates.dt.to_period("M").dt.to_timestamp().value_counts().sort_index()
        frames.append(pd.DataFrame({"month": counts.index, "table": name, "rows": counts.values}))
    if not frames:
        return pd.DataFrame({"month": pd.Series(dtype="datetime64[ns]"), "table": [], "rows": []})
    out = pd.concat(frames, ignore_index=True)
    out["rows"] = out["rows"].astype("int64")
    return out


def overview_narrative(ds: Dataset) -> str:
    """A short Markdown paragraph describing the dataset from its numbers."""
    summary = table_summary(ds).set_index("table")
    opp = ds.opportunities
    status = opp["status"].value_counts()
    present = [t for t in TABLES if summary.loc[t, "rows"] > 0]
    absent = [t for t in TABLES if summary.loc[t, "rows"] == 0]
    first, last = summary.loc["opportunities", ["first_date", "last_date"]]
    text = (
        f"The dataset holds **{len(ds.reps):,} reps** in **{ds.reps['team'].nunique():,} teams** "
        f"and **{len(opp):,} opportunities** created from {_d(first)} to {_d(last)} "
        f"({status.get('won', 0):,} won, {status.get('lost', 0):,} lost, "
        f"{status.get('open', 0):,} open). Its reference date is {_d(ds.as_of)}. "
        f"Tables present: {', '.join(present)}."
    )
    if absent:
        text += f" Absent (optional): {', '.join(absent)}."
    n_notes = len(ds.warnings)
    text += (
        f" Validation raised **{n_notes} warning(s)**, listed below."
        if n_notes
        else " Validation raised no warnings."
    )
    return text


def _d(value) -> str:
    return "—" if pd.isna(value) else pd.Timestamp(value).date().isoformat()
