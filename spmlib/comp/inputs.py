"""The CSV inputs of a compensation run, beside the plan files in ``params/comp/``.

``assignments.csv`` (required): which plan each rep is on, when.

==================  =========================================================================
column              meaning
==================  =========================================================================
rep_id              a rep of the dataset
plan                the ``plan:`` name of a plan file
valid_from          first day on the plan (YYYY-MM-DD)
valid_to            last day on the plan, inclusive; empty = still on it
target_incentive    optional: this rep's target incentive per full period (else the plan's)
==================  =========================================================================

A rep's assignments may not overlap. ``adjustments.csv`` (optional): manual adjustments, each
paid in its period with its reason on the statement.

==================  =========================================================================
id                  unique, stable identifier (so an edit is tracked as a change, not a new line)
rep_id              the rep paid (or charged, with a negative amount)
period              the period label it belongs to (``FY2027-Q3``, ``2026-08``)
amount              in the plan currency, at most 2 decimals
reason              why (required, shown on the statement)
==================  =========================================================================

Every problem is reported at once in a :class:`spmlib.exceptions.PlanError` naming the row
(1-based data row, the header not counted) and the column.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from spmlib.comp.money import to_cents
from spmlib.core.periods import parse_period
from spmlib.exceptions import MissingFileError, PlanError
from spmlib.io.readers import read_file

__all__ = [
    "ASSIGNMENTS_FILE",
    "ADJUSTMENTS_FILE",
    "read_assignments",
    "read_adjustments",
    "empty_adjustments",
]

ASSIGNMENTS_FILE = "assignments.csv"
ADJUSTMENTS_FILE = "adjustments.csv"


def _read(path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> pd.DataFrame:
    frame = read_file(path)[0].fillna("")  # any encoding or delimiter
    frame = frame.apply(lambda col: col.str.lstrip(" "))
    missing = [c for c in required if c not in frame.columns]
    unknown = [c for c in frame.columns if c not in (*required, *optional)]
    problems = [(f"column {c}", "is required") for c in missing]
    problems += [
        (f"column {c}", f"unknown column; valid: {', '.join((*required, *optional))}")
        for c in unknown
    ]
    if problems:
        raise PlanError(str(path), problems)
    for c in optional:
        if c not in frame.columns:
            frame[c] = ""
    return frame.apply(lambda col: col.str.strip())


def _date(value: str, where: str, problems: list) -> pd.Timestamp | None:
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        problems.append((where, f"{value!r} is not a date; write YYYY-MM-DD"))
        return None


def _amount(value: str, where: str, problems: list, positive: bool = False) -> Decimal | None:
    try:
        d = Decimal(value)
    except InvalidOperation:
        problems.append((where, f"{value!r} is not a number; write e.g. 1250.50"))
        return None
    if not d.is_finite() or (positive and d <= 0):
        problems.append((where, f"must be a number{' > 0' if positive else ''}, got {value!r}"))
        return None
    if d != d.quantize(Decimal("0.01")):
        problems.append((where, f"{value!r} has more than 2 decimals (cents)"))
        return None
    return d


def read_assignments(
    path: str | Path, plans: Iterable[str], rep_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """Read and check ``assignments.csv`` (see the module docstring).

    Returns
    -------
    DataFrame ``rep_id``, ``plan`` (string), ``valid_from``, ``valid_to`` (datetime64, NaT when
    open-ended), ``target_incentive`` (``Decimal`` or None: the plan's), ``row`` (1-based).

    Raises
    ------
    PlanError
        Listing every problem (unknown plan or rep, bad dates, overlaps, bad amounts).
    MissingFileError
        When the file does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(
            f"{path} not found: the plan assignments (rep_id, plan, valid_from, valid_to, "
            "target_incentive) are required; see docs/compensation.md."
        )
    raw = _read(path, ("rep_id", "plan", "valid_from"), ("valid_to", "target_incentive"))
    plans, reps = set(plans), set(rep_ids) if rep_ids is not None else None
    problems: list[tuple[str, str]] = []
    rows = []
    for i, r in enumerate(raw.itertuples(index=False), start=1):
        where = f"row {i}, column"
        if not r.rep_id:
            problems.append((f"{where} rep_id", "is empty"))
        elif reps is not None and r.rep_id not in reps:
            problems.append((f"{where} rep_id", f"{r.rep_id!r} is not a rep of the dataset"))
        if r.plan not in plans:
            problems.append(
                (f"{where} plan", f"unknown plan {r.plan!r}; plans: {', '.join(sorted(plans))}")
            )
        start = _date(r.valid_from, f"{where} valid_from", problems)
        end = _date(r.valid_to, f"{where} valid_to", problems) if r.valid_to else None
        if start is not None and end is not None and end < start:
            problems.append((f"{where} valid_to", f"{end.date()} is before valid_from"))
        ti = None
        if r.target_incentive:
            ti = _amount(r.target_incentive, f"{where} target_incentive", problems, True)
        rows.append((r.rep_id, r.plan, start, end, ti, i))
    out = pd.DataFrame(
        rows, columns=["rep_id", "plan", "valid_from", "valid_to", "target_incentive", "row"]
    )
    out["valid_from"] = pd.to_datetime(out["valid_from"]).astype("datetime64[ns]")
    out["valid_to"] = pd.to_datetime(out["valid_to"]).astype("datetime64[ns]")
    ok = out.dropna(subset=["valid_from"]).sort_values(["rep_id", "valid_from"], kind="stable")
    prev_end = ok.groupby("rep_id")["valid_to"].shift()
    has_prev = ok.groupby("rep_id").cumcount() > 0  # NaT prev_end: open-ended or no previous
    overlap = has_prev & (prev_end.isna() | (ok["valid_from"] <= prev_end))
    for row, rep in zip(ok.loc[overlap, "row"], ok.loc[overlap, "rep_id"], strict=True):
        problems.append(
            (
                f"row {row}, column valid_from",
                f"overlaps an earlier assignment of rep {rep!r}; end that one first (valid_to)",
            )
        )
    if problems:
        raise PlanError(str(path), problems)
    out["rep_id"] = out["rep_id"].astype("string")
    out["plan"] = out["plan"].astype("string")
    return out.reset_index(drop=True)


def empty_adjustments() -> pd.DataFrame:
    """An adjustments table with no rows (the columns of :func:`read_adjustments`)."""
    return pd.DataFrame(
        {
            "id": pd.Series(dtype="string"),
            "rep_id": pd.Series(dtype="string"),
            "period": pd.Series(dtype="string"),
            "amount_cents": pd.Series(dtype="int64"),
            "reason": pd.Series(dtype="string"),
            "row": pd.Series(dtype="int64"),
        }
    )


def read_adjustments(
    path: str | Path, fiscal_year_start_month: int = 1, rep_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """Read and check ``adjustments.csv`` (see the module docstring); no file, no rows.

    Returns
    -------
    DataFrame ``id``, ``rep_id``, ``period`` (label), ``amount_cents`` (int64), ``reason``,
    ``row`` (1-based).

    Raises
    ------
    PlanError
        On an empty reason, a bad amount or period label, an unknown rep or a repeated id.
    """
    path = Path(path)
    if not path.exists():
        return empty_adjustments()
    raw = _read(path, ("id", "rep_id", "period", "amount", "reason"), ())
    reps = set(rep_ids) if rep_ids is not None else None
    problems: list[tuple[str, str]] = []
    rows = []
    for i, r in enumerate(raw.itertuples(index=False), start=1):
        where = f"row {i}, column"
        if not r.id:
            problems.append((f"{where} id", "is empty; give each adjustment a unique id"))
        if reps is not None and r.rep_id not in reps:
            problems.append((f"{where} rep_id", f"{r.rep_id!r} is not a rep of the dataset"))
        try:
            parse_period(r.period, fiscal_year_start_month)
        except ValueError as exc:
            problems.append((f"{where} period", str(exc)))
        amount = _amount(r.amount, f"{where} amount", problems)
        if not r.reason:
            problems.append((f"{where} reason", "is empty; every adjustment needs a reason"))
        rows.append(
            (r.id, r.rep_id, r.period, to_cents(amount) if amount is not None else 0, r.reason, i)
        )
    out = pd.DataFrame(rows, columns=["id", "rep_id", "period", "amount_cents", "reason", "row"])
    for row in out.loc[out["id"].ne("") & out["id"].duplicated(), "row"]:
        problems.append((f"row {row}, column id", "repeats an earlier id"))
    if problems:
        raise PlanError(str(path), problems)
    return out.astype(empty_adjustments().dtypes.to_dict()).reset_index(drop=True)
