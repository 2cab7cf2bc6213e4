"""What a plan starts from: the plan year, the history window, planned hires and leavers, the
ramp curve and each rep's share of a full year.

Definitions
-----------
* **plan year** FY: the fiscal year named by the calendar year in which it ends
  (:mod:`spmlib.core.periods`); with a February start FY2028 runs 2027-02-01 .. 2028-01-31.
* **history window**: the four complete fiscal quarters before the plan year that the data
  covers (the last one ends on or before the reference date and before the plan year).
* **ramp factor** r(m) of month m since hire (hire month = 1): the median, over the data's new
  hires, of their monthly bookings / the tenured reps' median that calendar month
  (:func:`spmlib.productivity.ramp.ramp_curve`), clipped to [0, 1] and made non-decreasing by
  isotonic regression (weighted by the reps observed); 1 after the ramp horizon. Or given.
* **year share** of a rep = (1/12) sum over the plan year's months of r(tenure) x active, where
  a month is active when the rep is employed on any day of it (planned hires from their start
  date, planned leavers up to their end date). A tenured rep present all year has 1.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from spmlib.core.periods import period_start
from spmlib.core.ranges import parse_day
from spmlib.exceptions import MissingFileError, ParameterError
from spmlib.io.readers import CSV_SUFFIXES, EXCEL_SUFFIXES, read_file
from spmlib.io.schema import Dataset
from spmlib.productivity.ramp import ramp, ramp_curve

__all__ = [
    "plan_year_window",
    "history_window",
    "read_hires",
    "ramp_factors",
    "roster",
]

log = logging.getLogger(__name__)

_HIRE_COLUMNS = ["rep_id", "rep_name", "team", "start_date", "end_date", "kind"]


def plan_year_window(year: int, fiscal_year_start_month: int = 1) -> tuple[pd.Timestamp, ...]:
    """(first day, last day) of fiscal year ``year``.

    Examples
    --------
    >>> [d.date().isoformat() for d in plan_year_window(2028, 2)]
    ['2027-02-01', '2028-01-31']
    >>> [d.date().isoformat() for d in plan_year_window(2026, 1)]
    ['2026-01-01', '2026-12-31']
    """
    first = pd.Timestamp(
        year - (1 if fiscal_year_start_month > 1 else 0), fiscal_year_start_month, 1
    )
    return first, first + pd.DateOffset(years=1) - pd.Timedelta(days=1)


def history_window(ds: Dataset, plan_start: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(first day, last day) of the four complete fiscal quarters before the plan year.

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a"], "rep_name": ["A"], "team": ["T"]})
    >>> day = pd.to_datetime(["2026-10-31"])
    >>> opps = pd.DataFrame({"opp_id": ["1"], "rep_id": ["a"], "stage": ["W"], "amount": [1.0],
    ...     "created_date": day, "close_date": day, "status": ["won"]})
    >>> ds = Dataset(DatasetConfig(("O",), "W", "L", fiscal_year_start_month=2), reps, opps)
    >>> [d.date().isoformat() for d in history_window(ds, pd.Timestamp("2027-02-01"))]
    ['2025-11-01', '2026-10-31']
    """
    fy = ds.config.fiscal_year_start_month
    last = min(pd.Timestamp(ds.as_of), pd.Timestamp(plan_start) - pd.Timedelta(days=1))
    nxt = period_start(pd.Series([last + pd.Timedelta(days=1)]), "quarter", fy).iloc[0]
    end = nxt - pd.Timedelta(days=1)
    return end + pd.Timedelta(days=1) - pd.DateOffset(months=12), end


def read_hires(path: str | Path | None, ds: Dataset) -> pd.DataFrame:
    """Planned hires and leavers from a YAML or CSV file.

    YAML: ``hires:`` a list of {rep_id, team, start_date, rep_name (optional)} and
    ``leavers:`` a list of {rep_id, end_date} (rep_id of ``reps``). CSV: columns rep_id, team,
    start_date, end_date, rep_name; a row with a start_date is a hire, with an end_date a leaver.

    Returns
    -------
    DataFrame ``rep_id``, ``rep_name``, ``team``, ``start_date``, ``end_date``, ``kind``
    (hire | leaver); empty when ``path`` is None.

    Raises
    ------
    MissingFileError
        The file does not exist.
    ParameterError
        Naming the file and the entry: unknown team, a leaver not in reps, a hire whose id is
        already a rep, a date that cannot be read, a missing key.
    """
    if path is None:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in _HIRE_COLUMNS}).astype(
            {"start_date": "datetime64[ns]", "end_date": "datetime64[ns]"}
        )
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"hires file {str(path)!r} does not exist")
    if path.suffix.lower() in (*CSV_SUFFIXES, *EXCEL_SUFFIXES):
        raw = read_file(path)[0].fillna("")  # any encoding or delimiter, or Excel
        entries = raw.to_dict("records")
        for e in entries:
            e["kind"] = "hire" if e.get("start_date") else "leaver"
    else:
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            text = " ".join(str(exc).split())
            raise ParameterError(f"{path.name} is not valid YAML: {text}") from None
        if not isinstance(doc, dict) or set(doc) - {"hires", "leavers"}:
            raise ParameterError(f"{path.name}: use the top-level keys hires: and leavers: (lists)")
        entries = [{**e, "kind": "hire"} for e in doc.get("hires") or []]
        entries += [{**e, "kind": "leaver"} for e in doc.get("leavers") or []]
    reps = ds.reps.set_index("rep_id")
    teams = set(ds.reps["team"].dropna())
    rows = []
    for i, e in enumerate(entries, start=1):
        where = f"{path.name}, {e['kind']} {i} ({e.get('rep_id', '?')})"
        rid = str(e.get("rep_id") or "").strip()
        if not rid:
            raise ParameterError(
                f"{where}: rep_id is missing; give the id the rep has or will have"
            )
        date_key = "start_date" if e["kind"] == "hire" else "end_date"
        date = parse_day(e.get(date_key), f"{where}: {date_key}")
        if date is None:
            raise ParameterError(f"{where}: {date_key} is missing (YYYY-MM-DD)")
        if e["kind"] == "hire":
            team = str(e.get("team") or "")
            if team not in teams:
                raise ParameterError(
                    f"{where}: team {team!r} is not a team of the dataset "
                    f"({', '.join(sorted(teams))})"
                )
            if rid in reps.index:
                raise ParameterError(
                    f"{where}: {rid!r} is already a rep; list them as a leaver or "
                    "give the hire a new id"
                )
            name = str(e.get("rep_name") or f"New hire {rid}")
            rows.append([rid, name, team, date, pd.NaT, "hire"])
        else:
            if rid not in reps.index:
                raise ParameterError(f"{where}: {rid!r} is not in reps")
            rows.append(
                [rid, reps.at[rid, "rep_name"], reps.at[rid, "team"], pd.NaT, date, "leaver"]
            )
    out = pd.DataFrame(rows, columns=_HIRE_COLUMNS)
    for c in ("rep_id", "rep_name", "team", "kind"):
        out[c] = out[c].astype("string")
    return out.astype({"start_date": "datetime64[ns]", "end_date": "datetime64[ns]"})


def ramp_factors(ds: Dataset, horizon: int = 12, given: list[float] | None = None) -> pd.DataFrame:
    """The ramp factor r(m) for months 1..``horizon`` since hire (module docstring).

    ``given`` (a list of factors for months 1, 2, ...) replaces the measured curve; months past
    its end are 1. With no new hire in the data the factors are all 1.

    Returns
    -------
    DataFrame ``month_since_hire``, ``factor``, ``reps`` (new hires behind the measure; 0 when
    given), ``source`` (measured | given | none).

    Examples
    --------
    >>> ramp_factors(None, horizon=4, given=[0.2, 0.6])["factor"].tolist()
    [0.2, 0.6, 1.0, 1.0]
    """
    months = np.arange(1, horizon + 1)
    if given is not None:
        f = np.ones(horizon)
        g = np.clip(np.asarray(given, float)[:horizon], 0.0, 1.0)
        f[: g.size] = g
        return pd.DataFrame({"month_since_hire": months, "factor": f, "reps": 0, "source": "given"})
    from scipy.optimize import isotonic_regression

    curve = ramp_curve(ramp(ds, "bookings", horizon=horizon)).set_index("month_since_hire")
    share = curve["median_share_of_tenured"].reindex(months)
    seen = share.notna().to_numpy()
    factor = np.ones(horizon)
    reps = curve["reps"].reindex(months).fillna(0).astype(int).to_numpy()
    if seen.any():
        fit = isotonic_regression(
            np.clip(share[seen].to_numpy(float), 0.0, 1.0), weights=np.maximum(reps[seen], 1)
        ).x
        factor[seen] = fit
        last = np.flatnonzero(seen)[-1]
        factor[last + 1 :] = 1.0
        for i in range(1, horizon):  # gaps inside the curve take the month before
            if not seen[i] and i < last:
                factor[i] = factor[i - 1]
    source = "measured" if seen.any() else "none"
    return pd.DataFrame(
        {"month_since_hire": months, "factor": factor, "reps": reps, "source": source}
    )


def roster(
    ds: Dataset, plan_start: pd.Timestamp, hires: pd.DataFrame, ramp: pd.DataFrame
) -> pd.DataFrame:
    """The reps of the plan year with their year share (module docstring).

    Returns
    -------
    DataFrame ``rep_id``, ``rep_name``, ``team``, ``hire_date``, ``end_date``, ``planned``
    (a planned hire), ``month_factors`` (a tuple of the 12 months' ramp x active factors),
    ``year_share`` (their mean, 0-1), one row per current rep and planned hire.

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a", "b"], "rep_name": ["A", "B"], "team": ["T", "T"],
    ...     "hire_date": pd.to_datetime(["2020-01-01", "2025-12-01"])})
    >>> ds = Dataset(DatasetConfig(("O",), "W", "L"), reps, reps.iloc[:0])
    >>> r = ramp_factors(None, 3, given=[0.0, 0.5, 0.5])
    >>> roster(ds, pd.Timestamp("2026-01-01"), read_hires(None, ds), r)["year_share"].round(3)
    0    1.000
    1    0.917
    Name: year_share, dtype: float64

    (b was hired in December: January is month 2 (0.5), February month 3 (0.5), then 1;
    (0.5 + 0.5 + 10) / 12 = 0.917.)
    """
    reps = ds.reps
    hire = reps["hire_date"] if "hire_date" in reps else pd.Series(pd.NaT, index=reps.index)
    base = pd.DataFrame(
        {
            "rep_id": reps["rep_id"].astype("string"),
            "rep_name": reps["rep_name"].astype("string"),
            "team": reps["team"].astype("string"),
            "hire_date": pd.to_datetime(hire),
            "end_date": pd.Series(pd.NaT, index=reps.index, dtype="datetime64[ns]"),
            "planned": False,
        }
    )
    leavers = hires[hires["kind"] == "leaver"].set_index("rep_id")["end_date"]
    base["end_date"] = pd.to_datetime(leavers.reindex(base["rep_id"]).to_numpy())
    new = hires[hires["kind"] == "hire"]
    planned = pd.DataFrame(
        {
            "rep_id": new["rep_id"],
            "rep_name": new["rep_name"],
            "team": new["team"],
            "hire_date": new["start_date"],
            "end_date": pd.Series(pd.NaT, index=new.index, dtype="datetime64[ns]"),
            "planned": True,
        }
    )
    out = pd.concat([base, planned], ignore_index=True) if len(planned) else base
    month_starts = pd.date_range(pd.Timestamp(plan_start), periods=12, freq="MS")
    month_ends = month_starts + pd.offsets.MonthEnd(0)
    factors = ramp.set_index("month_since_hire")["factor"]
    horizon = int(factors.index.max()) if len(factors) else 0
    per_month = []
    for h, e in zip(out["hire_date"], out["end_date"], strict=True):
        f = []
        for ms, me in zip(month_starts, month_ends, strict=True):
            if (pd.notna(h) and h > me) or (pd.notna(e) and e < ms):
                f.append(0.0)
                continue
            m = (ms.year - h.year) * 12 + ms.month - h.month + 1 if pd.notna(h) else horizon + 1
            f.append(float(factors.get(m, 1.0)) if m <= horizon else 1.0)
        per_month.append(tuple(f))
    out["month_factors"] = per_month
    out["year_share"] = np.asarray([sum(f) / 12.0 for f in per_month], float)
    out["planned"] = out["planned"].astype(bool)
    return out.reset_index(drop=True)
