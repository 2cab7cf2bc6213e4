"""Validation of a dataset against the data model: every problem at once, as ``Problem`` objects.

Rules checked (errors unless marked *warning*):

* per table: a required table or column is missing; a required value is empty; a date, number
  or true/false flag is present but cannot be parsed; an id is duplicated; an amount, duration,
  account potential or workload is negative; a quota is not positive; a latitude or longitude
  is out of range; a stage is not one of ``dataset.yml``'s stages; a ``status`` is not
  open | won | lost or disagrees with the stage; a split ``share`` is not in (0, 1] or its
  ``type`` is not revenue | overlay;
* across tables: a ``rep_id`` not in ``reps`` (opportunities, activities, quotas, leads,
  accounts, splits); an ``opportunities.account`` that is not an ``account_id`` of ``accounts``
  (when that table is given); stage history of an unknown opportunity; a closed
  deal whose close_date is before its created_date; a lead converted before it was created; a
  quota whose period_end is before its period_start; overlapping quota periods of one rep;
  credit splits of an unknown opportunity, splits whose revenue shares of a deal do not sum to 1
  (within ``SHARE_TOLERANCE``), or a rep listed twice with the same split type on one deal;
* *warnings* (suspicious but legal): open deals whose expected close date is more than
  ``STALE_OPEN_DAYS`` days before the data's reference date; reps with no deals; activities or
  leads pointing at an unknown opportunity.

Per-table domain rules (value ranges, allowed values) use pandera schemas with ``lazy=True``.
Unique ids, parsing and cross-table rules are vectorized pandas/Arrow (pandera's uniqueness check
took 6 s on 10 million activity ids; the sort-based :func:`duplicated` takes under 1 s). Row
numbers in problems are 1-based data rows of the source file (the header line is not counted).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from itertools import islice

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from spmlib.exceptions import Problem
from spmlib.io.schema import REQUIRED_TABLES, SPLIT_TYPES, TABLES, DatasetConfig
from spmlib.io.validate_stages import (
    check_history_pipelines,
    check_opportunity_stages,
    check_stage_settings,
    union_of_pipelines,
)

__all__ = [
    "STALE_OPEN_DAYS",
    "SHARE_TOLERANCE",
    "MAX_EXAMPLES",
    "check_config",
    "check_columns",
    "check_parsing",
    "check_table",
    "check_relations",
    "check_warnings",
    "missing_tables",
    "isin",
    "duplicated",
    "errors_of",
    "warnings_of",
]

log = logging.getLogger(__name__)

#: An open deal whose expected close date is this many days before the reference date is stale.
STALE_OPEN_DAYS = 90
#: How many offending rows or ids a problem quotes.
MAX_EXAMPLES = 5
STATUSES = ("open", "won", "lost")
#: The revenue shares of a deal must sum to 1 within this tolerance.
SHARE_TOLERANCE = 1e-6


def errors_of(problems: Iterable[Problem]) -> list[Problem]:
    """The problems of severity ``error``."""
    return [p for p in problems if p.severity == "error"]


def warnings_of(problems: Iterable[Problem]) -> list[Problem]:
    """The problems of severity ``warning``."""
    return [p for p in problems if p.severity == "warning"]


# --- helpers -------------------------------------------------------------------------------------


def _label(columns: Mapping[str, str] | None, col: str | None) -> str | None:
    """The column as the user knows it: ``Source (model)`` when a mapping renamed it."""
    if col is None:
        return None
    src = (columns or {}).get(col)
    return f"{src} ({col})" if src and src != col else col


def _row_examples(frame: pd.DataFrame, mask: pd.Series, col: str | None = None) -> tuple[str, ...]:
    """The first offending rows as ``row N`` (1-based data rows), with the value when ``col``."""
    idx = mask[mask.fillna(False).astype(bool)].index[:MAX_EXAMPLES]
    out = []
    for i in idx:
        row = f"row {int(i) + 1}"
        if col is not None:
            value = frame.at[i, col]
            row += f": {'(empty)' if pd.isna(value) else repr(str(value))}"
        out.append(row)
    return tuple(out)


def _id_examples(values: Iterable) -> tuple[str, ...]:
    out = []
    for v in values:
        out.append(repr(str(v)))
        if len(out) >= MAX_EXAMPLES:
            break
    return tuple(out)


def isin(values: pd.Series, allowed) -> pd.Series:
    """``values.isin(allowed)`` for id columns, fast on millions of strings (Arrow ``is_in``;
    pandas' own isin on Arrow strings loops in Python over ``allowed``). Missing -> False.

    Examples
    --------
    >>> isin(pd.Series(["a", "b", None], dtype="string"), pd.Series(["b", "c"])).tolist()
    [False, True, False]
    """
    left = pyarrow.array(values.astype("string").array)
    right = pyarrow.array(pd.Series(allowed).astype("string").array).unique().cast(left.type)
    mask = pc.is_in(left, value_set=right).fill_null(False)
    return pd.Series(np.asarray(mask, dtype=bool), index=values.index)


def duplicated(values: pd.Series) -> pd.Series:
    """True for every row whose (non-missing) value occurs more than once, like
    ``values.duplicated(keep=False)`` but sort-based with Arrow (fast on millions of strings).

    Examples
    --------
    >>> duplicated(pd.Series(["a", "b", "a", None, None], dtype="string")).tolist()
    [True, False, True, False, False]
    """
    arr = pyarrow.array(values.astype("string").array)
    n = len(arr)
    if n < 2:
        return pd.Series(np.zeros(n, dtype=bool), index=values.index)
    order = pc.sort_indices(arr)
    ordered = arr.take(order)
    same = np.asarray(pc.equal(ordered[1:], ordered[:-1]).fill_null(False), dtype=bool)
    if not same.any():
        return pd.Series(np.zeros(n, dtype=bool), index=values.index)
    dup_sorted = np.zeros(n, dtype=bool)
    dup_sorted[1:] |= same
    dup_sorted[:-1] |= same
    mask = np.empty(n, dtype=bool)
    mask[np.asarray(order)] = dup_sorted
    return pd.Series(mask, index=values.index)


def _pandera():
    """pandera, imported on first use (it takes half a second, and clean data never needs it
    in the engines' validation). pandera imports PySpark's pandas API when PySpark is installed,
    which warns about the pandas version although pandera's pandas checks do not use it."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
        import pandera.pandas as pa
    return pa


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


# --- dataset.yml -------------------------------------------------------------------------------


def check_config(
    raw: Mapping | None, file: str = "dataset.yml"
) -> tuple[DatasetConfig | None, list[Problem]]:
    """Parse ``dataset.yml`` content into a :class:`DatasetConfig`, or explain what is wrong.

    Rules: ``open_stages`` is a non-empty list of distinct names; ``won_stage`` and ``lost_stage``
    differ and are not open stages; ``fiscal_year_start_month`` is 1-12; ``as_of`` is a date;
    the stage settings of :func:`spmlib.io.validate_stages.check_stage_settings` (close reasons,
    pipelines, stage probabilities and forecast categories).

    Examples
    --------
    >>> cfg, problems = check_config({"open_stages": ["Lead", "Demo"]})
    >>> cfg.stages, problems
    (('Lead', 'Demo', 'Closed Won', 'Closed Lost'), [])
    >>> check_config({"open_stages": []})[1][0].rule
    'open_stages must list at least one open stage'
    """
    hint_stages = (
        "Write e.g. `open_stages: [Prospecting, Proposal]`, `won_stage: Closed Won`, "
        "`lost_stage: Closed Lost`"
    )
    if not raw:
        return None, [
            Problem(
                file,
                None,
                "the dataset configuration is missing",
                hint=f"Create {file}. {hint_stages}",
            )
        ]
    problems: list[Problem] = check_stage_settings(raw, file)
    stages = raw.get("open_stages")
    if raw.get("pipelines") is not None:  # open stages are the pipelines' (checked above)
        stages = union_of_pipelines(raw["pipelines"]) or None
    if not isinstance(stages, (list, tuple)) or not stages:
        problems.append(
            Problem(
                file,
                "open_stages",
                "open_stages must list at least one open stage",
                hint=hint_stages,
            )
        )
    elif len({str(s) for s in stages}) != len(stages):
        problems.append(
            Problem(
                file, "open_stages", "open_stages lists a stage twice", hint="List each stage once"
            )
        )
    won, lost = str(raw.get("won_stage", "Closed Won")), str(raw.get("lost_stage", "Closed Lost"))
    if won == lost:
        problems.append(
            Problem(file, "won_stage", "won_stage and lost_stage are the same", hint=hint_stages)
        )
    if isinstance(stages, (list, tuple)) and {won, lost} & {str(s) for s in stages}:
        problems.append(
            Problem(
                file,
                "open_stages",
                "a closed stage (won or lost) is listed among open_stages",
                hint=hint_stages,
            )
        )
    month = raw.get("fiscal_year_start_month", 1)
    if not (isinstance(month, int) and 1 <= month <= 12):
        problems.append(
            Problem(
                file,
                "fiscal_year_start_month",
                f"fiscal_year_start_month must be 1-12, got {month!r}",
            )
        )
    timezone = raw.get("timezone")
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                Problem(
                    file,
                    "timezone",
                    f"unknown time zone {timezone!r}",
                    hint="Use an IANA name such as UTC, Europe/Paris or America/New_York",
                )
            )
    as_of = raw.get("as_of")
    if as_of is not None:
        try:
            pd.Timestamp(str(as_of))
        except (ValueError, TypeError):
            problems.append(
                Problem(file, "as_of", f"as_of {as_of!r} is not a date", hint="Use YYYY-MM-DD")
            )
    if problems:
        return None, problems
    return DatasetConfig.from_dict(dict(raw)), []


# --- per table -----------------------------------------------------------------------------------


def check_columns(
    name: str, frame: pd.DataFrame, file: str, columns: Mapping[str, str] | None = None
) -> list[Problem]:
    """A problem per required column of table ``name`` that ``frame`` lacks."""
    missing = [c for c in TABLES[name].required if c not in frame.columns]
    return [
        Problem(
            file,
            _label(columns, c),
            f"required column '{_label(columns, c)}' is missing from table {name}",
            hint=f"Add the column (or map it with --mapping); {name} needs: "
            + ", ".join(TABLES[name].required),
        )
        for c in missing
    ]


def _present(raw: pd.Series) -> pd.Series:
    """True where a raw value is given (not missing, not blank text)."""
    present = raw.notna()
    if pd.api.types.is_string_dtype(raw.dtype) or raw.dtype == object:
        present &= raw.astype("string").str.strip().ne("").fillna(False)
    return present


def check_parsing(
    name: str,
    raw: pd.DataFrame,
    typed: pd.DataFrame,
    file: str,
    columns: Mapping[str, str] | None = None,
    date_formats: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Empty required values and present-but-unparseable dates or numbers of table ``name``.

    ``raw`` is the table as read (text), ``typed`` the result of
    :func:`spmlib.io.load.coerce_table`;
    a value present in ``raw`` but missing in ``typed`` could not be parsed. Nothing is dropped.
    """
    spec = TABLES[name]
    problems: list[Problem] = []
    for col, kind in spec.columns.items():
        if col not in raw.columns:
            continue
        if kind in ("id", "str"):  # coerce_table already strips text and blanks out ""
            if col not in spec.required:
                continue
            present = typed[col].notna()
        else:
            present = _present(raw[col])
        label = _label(columns, col)
        if kind in ("date", "float", "int", "bool"):
            bad = present & typed[col].isna()
            if bad.any():
                fmt = (date_formats or {}).get(col)
                what = {"date": "date", "bool": "true/false flag"}.get(kind, "number")
                if kind == "date":
                    hint = (
                        f"Write dates as {fmt!r}"
                        if fmt
                        else "Write dates as YYYY-MM-DD (or ISO 8601 timestamps), "
                        "or set date_format in the mapping"
                    )
                elif kind == "bool":
                    hint = "Write true or false (yes/no and 1/0 are read too), or leave it empty"
                else:
                    hint = (
                        "Write plain numbers such as 1234.5 "
                        "(no currency signs or thousands separators)"
                    )
                problems.append(
                    Problem(
                        file,
                        label,
                        f"{_count(int(bad.sum()), 'value')} cannot be read as a {what}",
                        _row_examples(raw, bad, col),
                        hint,
                    )
                )
        if col in spec.required:
            empty = ~present
            if empty.any():
                extra = " (for open deals, the expected close date)" if col == "close_date" else ""
                problems.append(
                    Problem(
                        file,
                        label,
                        f"{_count(int(empty.sum()), 'row')} without a value "
                        f"in required column '{label}'",
                        _row_examples(raw, empty),
                        f"Fill in every {col}{extra}, or map a fallback in the mapping",
                    )
                )
    return problems


def _schema(name: str, config: DatasetConfig):
    """The pandera schema of the per-table domain rules (missing values are checked elsewhere)."""
    pa = _pandera()
    spec = TABLES[name]
    checks: dict[str, list[pa.Check]] = {c: [] for c in spec.columns}
    if name == "opportunities":
        checks["amount"].append(pa.Check.ge(0, error="amount must be >= 0"))
        checks["stage"].append(
            pa.Check.isin(list(config.stages), error="stage must be one of dataset.yml's stages")
        )
        checks["status"].append(
            pa.Check.isin(list(STATUSES), error="status must be open, won or lost")
        )
    elif name == "stage_history":
        checks["stage"].append(
            pa.Check.isin(list(config.stages), error="stage must be one of dataset.yml's stages")
        )
    elif name == "activities":
        checks["duration_minutes"].append(pa.Check.ge(0, error="duration_minutes must be >= 0"))
    elif name == "quotas":
        checks["quota"].append(pa.Check.gt(0, error="quota must be > 0"))
    elif name == "accounts":
        checks["potential"].append(pa.Check.ge(0, error="potential must be >= 0"))
        checks["workload"].append(pa.Check.ge(0, error="workload must be >= 0"))
        checks["latitude"].append(
            pa.Check.in_range(-90, 90, error="latitude must be between -90 and 90")
        )
        checks["longitude"].append(
            pa.Check.in_range(-180, 180, error="longitude must be between -180 and 180")
        )
    elif name == "splits":
        checks["share"].append(
            pa.Check.in_range(0, 1, include_min=False, error="share must be in (0, 1]")
        )
        checks["type"].append(
            pa.Check.isin(list(SPLIT_TYPES), error="type must be revenue or overlay")
        )
    cols = {c: pa.Column(nullable=True, required=False, checks=checks[c]) for c in spec.columns}
    return pa.DataFrameSchema(cols, coerce=False, strict=False)


_HINTS = {
    "amount must be >= 0": "Amounts are deal values in the dataset currency; fix the negative ones",
    "duration_minutes must be >= 0": "Fix the negative durations",
    "quota must be > 0": "Give every quota period a positive target (or remove the row)",
    "potential must be >= 0": "Potential is the account's yearly revenue potential in the dataset "
    "currency; fix the negative ones (0 is allowed)",
    "workload must be >= 0": "Workload is the hours a year the account needs; "
    "fix the negative ones",
    "latitude must be between -90 and 90": "Write decimal degrees (e.g. 48.85); check for "
    "swapped latitude and longitude",
    "longitude must be between -180 and 180": "Write decimal degrees (e.g. 2.35)",
    "stage must be one of dataset.yml's stages": "Add the stage to dataset.yml (open_stages, "
    "won_stage, lost_stage) or map it with `values:` in the mapping",
    "status must be open, won or lost": "Use open, won or lost, or drop the status column "
    "to derive it from the stage",
    "share must be in (0, 1]": "A share is the fraction of the deal credited to the rep, "
    "e.g. 0.4 for 40%",
    "type must be revenue or overlay": "revenue shares divide the deal's amount; overlay "
    "credit comes on top",
}


def check_table(
    name: str,
    typed: pd.DataFrame,
    config: DatasetConfig,
    file: str,
    columns: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Domain rules of one typed table (pandera, every failure collected): unique ids,
    non-negative amounts and durations, positive quotas, known stages and statuses; for
    opportunities also ``status`` agreeing with ``stage``."""
    problems: list[Problem] = []
    key = TABLES[name].key
    if key is not None and key in typed.columns:
        dup = duplicated(typed[key])
        if dup.any():
            hits = typed.loc[dup, [key]].assign(row=typed.index[dup.to_numpy()])
            rows = hits.groupby(key, sort=False)["row"]
            label = _label(columns, key)
            problems.append(
                Problem(
                    file,
                    label,
                    f"{_count(rows.ngroups, 'duplicated id')} in '{label}'",
                    tuple(
                        f"{v!r} (rows {', '.join(str(int(i) + 1) for i in idx[:MAX_EXAMPLES])})"
                        for v, idx in islice(rows, MAX_EXAMPLES)
                    ),
                    f"Each {key} must appear once; remove or renumber the duplicates",
                )
            )
    try:
        _schema(name, config).validate(typed, lazy=True)
    except _pandera().errors.SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["column"].isin(list(TABLES[name].columns))]
        for (col, check), group in cases.groupby(["column", "check"], sort=False):
            label = _label(columns, col)
            rule = f"{check} ({_count(len(group), 'row')})"
            examples = tuple(
                f"row {int(i) + 1}: {v!r}"
                for i, v in zip(
                    group["index"][:MAX_EXAMPLES],
                    group["failure_case"][:MAX_EXAMPLES],
                    strict=False,
                )
            )
            if check.startswith("stage must"):
                examples = _id_examples(pd.unique(group["failure_case"].astype(str)))
                rule += f"; allowed: {', '.join(config.stages)}"
                if config.closed_reasons:
                    rule += f" (or a close reason: {', '.join(config.closed_reasons)})"
            hint = _HINTS.get(check, "")
            problems.append(Problem(file, label, rule, examples, hint))
    if name == "opportunities":
        problems += check_opportunity_stages(typed, config, file, columns)
    if name == "opportunities" and {"stage", "status"} <= set(typed.columns):
        expected = pd.Series("open", index=typed.index, dtype="string")
        expected[typed["stage"] == config.won_stage] = "won"
        expected[typed["stage"] == config.lost_stage] = "lost"
        known = typed["status"].isin(list(STATUSES)) & typed["stage"].isin(list(config.stages))
        bad = known & typed["status"].ne(expected).fillna(False)
        if bad.any():
            problems.append(
                Problem(
                    file,
                    _label(columns, "status"),
                    f"{_count(int(bad.sum()), 'deal')} whose status disagrees with the stage "
                    f"({config.won_stage} => won, {config.lost_stage} => lost, "
                    "other stages => open)",
                    tuple(
                        f"row {int(i) + 1}: {typed.at[i, 'stage']!r} / {typed.at[i, 'status']!r}"
                        for i in bad[bad].index[:MAX_EXAMPLES]
                    ),
                    "Correct the stage or the status (or drop the status column to derive it)",
                )
            )
    return problems


# --- across tables -------------------------------------------------------------------------------


def check_relations(
    tables: Mapping[str, pd.DataFrame],
    config: DatasetConfig,
    files: Mapping[str, str],
    columns: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Problem]:
    """Cross-table and cross-column rules on typed tables (only on tables that have the columns).

    Foreign keys (rep_id in reps, stage history of known opportunities), date order (closed
    deals, converted leads, quota periods) and overlapping quota periods per rep.
    """
    columns = columns or {}
    problems: list[Problem] = []
    reps = tables.get("reps")
    rep_ids = reps["rep_id"].dropna() if reps is not None and "rep_id" in reps else None

    def has(name: str, *cols: str) -> bool:
        return name in tables and all(c in tables[name].columns for c in cols)

    # rep_id in reps
    if rep_ids is not None:
        for name in ("opportunities", "activities", "quotas", "leads", "accounts", "splits"):
            if not has(name, "rep_id"):
                continue
            frame = tables[name]
            bad = frame["rep_id"].notna() & ~isin(frame["rep_id"], rep_ids)
            if bad.any():
                unknown = pd.unique(frame.loc[bad, "rep_id"])
                problems.append(
                    Problem(
                        files.get(name, name),
                        _label(columns.get(name), "rep_id"),
                        f"{_count(int(bad.sum()), 'row')} with a rep_id that is not in reps "
                        f"({_count(len(unknown), 'unknown id')})",
                        _id_examples(unknown),
                        "Add these reps to the reps table, or correct the rep_id",
                    )
                )
    # opportunities.account in accounts (only when the dataset has an accounts table)
    if (
        has("accounts", "account_id")
        and len(tables["accounts"])
        and has("opportunities", "account")
    ):
        opp = tables["opportunities"]
        bad = opp["account"].notna() & ~isin(opp["account"], tables["accounts"]["account_id"])
        if bad.any():
            unknown = pd.unique(opp.loc[bad, "account"])
            problems.append(
                Problem(
                    files.get("opportunities", "opportunities"),
                    _label(columns.get("opportunities"), "account"),
                    f"{_count(int(bad.sum()), 'row')} with an account that is not an "
                    f"account_id of accounts ({_count(len(unknown), 'unknown id')})",
                    _id_examples(unknown),
                    "Add these accounts to the accounts table, or write the account_id "
                    "(not the account name) in opportunities.account",
                )
            )
    # stage history of unknown opportunities
    if has("stage_history", "opp_id") and has("opportunities", "opp_id"):
        sh = tables["stage_history"]
        bad = sh["opp_id"].notna() & ~isin(sh["opp_id"], tables["opportunities"]["opp_id"])
        if bad.any():
            unknown = pd.unique(sh.loc[bad, "opp_id"])
            problems.append(
                Problem(
                    files.get("stage_history", "stage_history"),
                    _label(columns.get("stage_history"), "opp_id"),
                    f"{_count(int(bad.sum()), 'stage change')} of "
                    f"{_count(len(unknown), 'opportunity')} not in opportunities",
                    _id_examples(unknown),
                    "Remove the history of deleted deals, or add the missing opportunities",
                )
            )
    if has("stage_history", "opp_id", "stage") and has("opportunities", "opp_id", "stage"):
        problems += check_history_pipelines(
            tables["stage_history"],
            tables["opportunities"],
            config,
            files.get("stage_history", "stage_history"),
        )
    if has("splits", "opp_id", "rep_id", "share", "type") and has("opportunities", "opp_id"):
        problems += _check_splits(tables["splits"], tables["opportunities"], files, columns)
    # closed deals: close_date >= created_date
    if has("opportunities", "stage", "created_date", "close_date"):
        opp = tables["opportunities"]
        closed = opp["stage"].isin([config.won_stage, config.lost_stage])
        bad = closed & (opp["close_date"] < opp["created_date"]).fillna(False)
        if bad.any():
            problems.append(
                Problem(
                    files.get("opportunities", "opportunities"),
                    _label(columns.get("opportunities"), "close_date"),
                    f"{_count(int(bad.sum()), 'closed deal')} closed before it was created "
                    "(close_date < created_date)",
                    _date_pairs(opp, bad, "opp_id", "created_date", "close_date"),
                    "Correct the close_date or the created_date of these deals",
                )
            )
    # leads converted before created
    if has("leads", "created_date", "converted_date"):
        leads = tables["leads"]
        bad = (leads["converted_date"] < leads["created_date"]).fillna(False)
        if bad.any():
            problems.append(
                Problem(
                    files.get("leads", "leads"),
                    _label(columns.get("leads"), "converted_date"),
                    f"{_count(int(bad.sum()), 'lead')} converted before it was created",
                    _date_pairs(leads, bad, "lead_id", "created_date", "converted_date"),
                    "Correct the converted_date or the created_date",
                )
            )
    # quotas: period order and overlaps
    if has("quotas", "rep_id", "period_start", "period_end"):
        q = tables["quotas"]
        file = files.get("quotas", "quotas")
        reversed_ = (q["period_end"] < q["period_start"]).fillna(False)
        if reversed_.any():
            problems.append(
                Problem(
                    file,
                    _label(columns.get("quotas"), "period_end"),
                    f"{_count(int(reversed_.sum()), 'quota')} whose period_end is before "
                    "its period_start",
                    _row_examples(q, reversed_),
                    "Swap or correct the period dates",
                )
            )
        ok = q[
            ~reversed_ & q["period_start"].notna() & q["period_end"].notna() & q["rep_id"].notna()
        ]
        ok = ok.sort_values(["rep_id", "period_start", "period_end"], kind="stable")
        prev_end = (
            ok.groupby("rep_id", sort=False)["period_end"].cummax().groupby(ok["rep_id"]).shift()
        )
        overlap = ok["period_start"] <= prev_end
        if overlap.any():
            hits = ok[overlap.fillna(False)]
            problems.append(
                Problem(
                    file,
                    _label(columns.get("quotas"), "period_start"),
                    f"{_count(len(hits), 'quota period')} overlapping an earlier period "
                    "of the same rep "
                    f"({_count(hits['rep_id'].nunique(), 'rep')})",
                    tuple(
                        f"row {int(i) + 1}: rep {r!r} from {s.date()}"
                        for i, r, s in zip(
                            hits.index[:MAX_EXAMPLES],
                            hits["rep_id"][:MAX_EXAMPLES],
                            hits["period_start"][:MAX_EXAMPLES],
                            strict=False,
                        )
                    ),
                    "Give each rep one quota per period: remove the duplicate or fix the dates",
                )
            )
    return problems


def _check_splits(
    splits: pd.DataFrame,
    opp: pd.DataFrame,
    files: Mapping[str, str],
    columns: Mapping[str, Mapping[str, str]],
) -> list[Problem]:
    """Splits of unknown deals, revenue shares of a deal not summing to 1, repeated reps."""
    file, cols = files.get("splits", "splits"), columns.get("splits")
    problems: list[Problem] = []
    unknown = splits["opp_id"].notna() & ~isin(splits["opp_id"], opp["opp_id"])
    if unknown.any():
        ids = pd.unique(splits.loc[unknown, "opp_id"])
        problems.append(
            Problem(
                file,
                _label(cols, "opp_id"),
                f"{_count(int(unknown.sum()), 'split')} of "
                f"{_count(len(ids), 'opportunity')} not in opportunities",
                _id_examples(ids),
                "Remove the splits of deleted deals, or correct the opp_id",
            )
        )
    repeated = splits.duplicated(["opp_id", "rep_id", "type"], keep=False) & splits[
        ["opp_id", "rep_id", "type"]
    ].notna().all(axis=1)
    if repeated.any():
        problems.append(
            Problem(
                file,
                _label(cols, "rep_id"),
                f"{_count(int(repeated.sum()), 'split')} repeating a rep with the same type "
                "on one deal",
                _row_examples(splits, repeated, "opp_id"),
                "Give each rep one revenue row and at most one overlay row per deal",
            )
        )
    revenue = splits[(splits["type"] == "revenue").fillna(False)]
    total = revenue.groupby("opp_id", sort=True)["share"].sum()
    off = total[(total - 1.0).abs() > SHARE_TOLERANCE]
    if len(off):
        problems.append(
            Problem(
                file,
                _label(cols, "share"),
                f"{_count(len(off), 'deal')} whose revenue shares do not sum to 1",
                tuple(f"{k!r}: {v:.6g}" for k, v in off.head(MAX_EXAMPLES).items()),
                "Make the revenue shares of each deal add up to 1 (e.g. 0.6 + 0.4); "
                "use type overlay for credit on top of the deal's amount",
            )
        )
    return problems


def _date_pairs(frame: pd.DataFrame, mask: pd.Series, key: str, a: str, b: str) -> tuple[str, ...]:
    hits = frame[mask].head(MAX_EXAMPLES)
    return tuple(
        f"row {int(i) + 1}"
        + (f" ({r[key]})" if key in frame.columns else "")
        + f": {a} {r[a].date()}, {b} {r[b].date()}"
        for i, r in hits.iterrows()
    )


def check_warnings(
    tables: Mapping[str, pd.DataFrame],
    config: DatasetConfig,
    as_of: pd.Timestamp | None,
    files: Mapping[str, str],
    columns: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Problem]:
    """Suspicious but legal data, as warnings: stale open deals, reps without deals, and
    activities or leads pointing at unknown opportunities."""
    columns = columns or {}
    problems: list[Problem] = []
    opp, reps = tables["opportunities"], tables["reps"]
    f_opp = files.get("opportunities", "opportunities")
    if as_of is not None and not pd.isna(as_of):
        cutoff = as_of - pd.Timedelta(days=STALE_OPEN_DAYS)
        stale = (opp["status"] == "open") & (opp["close_date"] < cutoff).fillna(False)
        if stale.any():
            problems.append(
                Problem(
                    f_opp,
                    _label(columns.get("opportunities"), "close_date"),
                    f"{_count(int(stale.sum()), 'open deal')} with an expected close date "
                    "more than "
                    f"{STALE_OPEN_DAYS} days before the reference date {as_of.date()}",
                    _id_examples(opp.loc[stale, "opp_id"]),
                    "Update the expected close dates, or close these deals in the CRM",
                    "warning",
                )
            )
    idle = ~isin(reps["rep_id"], opp["rep_id"])
    if idle.any():
        problems.append(
            Problem(
                files.get("reps", "reps"),
                _label(columns.get("reps"), "rep_id"),
                f"{_count(int(idle.sum()), 'rep')} with no deals",
                _id_examples(reps.loc[idle, "rep_id"]),
                "Fine for new hires or non-selling staff; otherwise check their deals' rep_id",
                "warning",
            )
        )
    for name in ("activities", "leads"):
        frame = tables.get(name)
        if frame is None or "opp_id" not in frame.columns or frame.empty:
            continue
        bad = frame["opp_id"].notna() & ~isin(frame["opp_id"], opp["opp_id"])
        if bad.any():
            problems.append(
                Problem(
                    files.get(name, name),
                    _label(columns.get(name), "opp_id"),
                    f"{_count(int(bad.sum()), 'row')} pointing at an opportunity "
                    "that is not in opportunities",
                    _id_examples(pd.unique(frame.loc[bad, "opp_id"])),
                    "Kept as they are; they count for the rep but not for any deal",
                    "warning",
                )
            )
    return problems


def missing_tables(present: Iterable[str], location: str) -> list[Problem]:
    """A problem per required table (reps, opportunities) that is absent."""
    have = set(present)
    return [
        Problem(
            f"{name}.csv",
            None,
            f"required table '{name}' is missing",
            hint=f"Put {name}.csv or {name}.parquet in {location} (or map it with --mapping)",
        )
        for name in REQUIRED_TABLES
        if name not in have
    ]
