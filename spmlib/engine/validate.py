"""Validation in the engine: the rules of :mod:`spmlib.io.validate`, run where the data is.

The engine scans every table once per rule family and hands back only the rows that break a
rule (none, on clean data): rows with an empty required value; rows whose id occurs twice;
negative amounts or durations, quotas <= 0, unknown stages or statuses, a status that disagrees
with the stage; rep_ids not in reps and stage history of unknown opportunities; closed deals
closed before they were created, leads converted before they were created; and, for warnings,
stale open deals, reps without deals, activities or leads of unknown opportunities. The pandas
rules of :mod:`spmlib.io.validate` then run on those rows (and on the whole of the small reps and
quotas tables), so the problems are word for word those of :func:`spmlib.io.load.load_checked`,
with the same counts, rows and examples, at the cost of a few scans instead of loading
every table into memory.

:func:`validate_once` records a clean result under the source fingerprint
(:func:`spmlib.io.snapshot.mark_validated`): the same files are then trusted without a scan.
"""

from __future__ import annotations

import logging

from spmlib.exceptions import DataValidationError, Problem
from spmlib.io import validate as v
from spmlib.io.schema import TABLES

__all__ = ["VALIDATION_VERSION", "validate_once", "check_now", "engine_problems"]

log = logging.getLogger(__name__)

#: Part of the validation fingerprint: bumped when the rules change, so data is checked again.
VALIDATION_VERSION = 1


def _key(tables) -> str:
    return f"{tables.fingerprint}:engine-v{VALIDATION_VERSION}" if tables.fingerprint else ""


def check_now(tables) -> list:
    """Every problem of ``tables``, checked now (whatever was recorded); a clean result is
    recorded for its fingerprint and its warnings set."""
    from spmlib.io.snapshot import mark_validated

    problems = engine_problems(tables)
    if not v.errors_of(problems):
        tables.warnings = tuple(v.warnings_of(problems))
        if _key(tables):
            mark_validated(_key(tables), list(tables.warnings))
    return problems


def validate_once(tables) -> None:
    """Validate ``tables`` unless its fingerprint was validated before; set its warnings.

    Raises
    ------
    DataValidationError
        With every error (then the warnings) when the data break the model.
    """
    from spmlib.io.snapshot import validated

    known = validated(_key(tables)) if _key(tables) else None
    if known is not None:
        tables.warnings = tuple(known)
        return
    problems = check_now(tables)
    errors = v.errors_of(problems)
    if errors:
        raise DataValidationError(problems=errors + v.warnings_of(problems), source=tables.source)


def engine_problems(tables) -> list[Problem]:
    """Every problem (errors first in the order of ``load_checked``, then warnings when there
    is no error) of a dataset opened in an engine."""
    problems: list[Problem] = list(tables.config_problems)
    problems += v.missing_tables(tables.info, tables.source)
    config = tables.config
    for name, info in tables.info.items():
        file, cols = info.file, tables.mapped_columns.get(name)
        if info.row_column:  # a typed copy: its column and parsing problems were recorded
            problems += info.problems
        else:
            import pandas as pd

            problems += v.check_columns(name, pd.DataFrame(columns=info.columns), file, cols)
            required = [c for c in TABLES[name].required if c in info.columns]
            if required:
                empty = " OR ".join(f"{c} IS NULL" for c in required)
                rows = tables.frame(name, where=empty)
                if len(rows):
                    problems += v.check_parsing(name, rows, rows, file, cols)
        if config is not None:
            where = _table_rule_rows(tables, name)
            rows = tables.frame(name, where=where) if where else None
            if rows is not None and len(rows):
                problems += v.check_table(name, rows, config, file, cols)
    if config is None:
        return problems
    problems += v.check_relations(
        _relation_rows(tables), config, tables.files, tables.mapped_columns
    )
    if v.errors_of(problems):
        return problems
    problems += v.check_warnings(
        _warning_rows(tables), config, tables.as_of, tables.files, tables.mapped_columns
    )
    return problems


def _in(tables, values) -> str:
    return "(" + ", ".join(tables.engine.literal(s) for s in values) + ")"


def _table_rule_rows(tables, name: str) -> str:
    """The condition selecting the rows that break a rule of :func:`check_table`."""
    config, has = tables.config, tables.info[name].columns
    conds = []
    key = TABLES[name].key
    if key is not None and key in has:
        conds.append(
            f"{key} IN (SELECT {key} FROM {name} WHERE {key} IS NOT NULL "
            f"GROUP BY {key} HAVING count(*) > 1)"
        )
    stages = _in(tables, config.stages)
    if name in ("opportunities", "stage_history") and "stage" in has:
        conds.append(f"(stage IS NOT NULL AND stage NOT IN {stages})")
    if name == "opportunities":
        if "amount" in has:
            conds.append("amount < 0")
        if "stage" in has:
            won, lost = (tables.engine.literal(s) for s in (config.won_stage, config.lost_stage))
            expected = (
                f"CASE WHEN stage = {won} THEN 'won' WHEN stage = {lost} THEN 'lost' "
                "ELSE 'open' END"
            )
            conds.append(f"(status NOT IN {_in(tables, v.STATUSES)})")
            conds.append(f"(stage IN {stages} AND status <> {expected})")
    if name == "activities" and "duration_minutes" in has:
        conds.append("duration_minutes < 0")
    if name == "quotas" and "quota" in has:
        conds.append("quota <= 0")
    return " OR ".join(conds)


def _unknown(tables, name: str, col: str, ref: str, ref_col: str) -> str:
    return (
        f"({col} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {ref} k WHERE k.{ref_col} = {name}.{col}))"
    )


def _relation_rows(tables) -> dict:
    """Per table, the rows that may break a rule of :func:`check_relations` (all of reps and
    quotas, which are small)."""
    config = tables.config
    out = {}
    for name in tables.info:
        if name in ("reps", "quotas"):
            out[name] = tables.frame(name)
            continue
        conds = []
        if tables.has(name, "rep_id") and tables.has("reps", "rep_id"):
            conds.append(_unknown(tables, name, "rep_id", "reps", "rep_id"))
        if name == "stage_history" and tables.has(name, "opp_id"):
            if tables.has("opportunities", "opp_id"):
                conds.append(_unknown(tables, name, "opp_id", "opportunities", "opp_id"))
        if name == "opportunities" and tables.has(name, "stage", "created_date", "close_date"):
            closed = _in(tables, (config.won_stage, config.lost_stage))
            conds.append(f"(stage IN {closed} AND close_date < created_date)")
        if name == "leads" and tables.has(name, "created_date", "converted_date"):
            conds.append("converted_date < created_date")
        if conds:
            out[name] = tables.frame(name, where=" OR ".join(conds))
    return out


def _warning_rows(tables) -> dict:
    """The rows that may raise a warning of :func:`check_warnings` (see the module)."""
    from spmlib.io.schema import empty_table

    day = tables.engine.day(tables.as_of - _stale_days())
    out = {
        "opportunities": tables.frame(
            "opportunities", where=f"status = 'open' AND close_date < {day}"
        ),
        "reps": tables.frame(
            "reps",
            where="NOT EXISTS (SELECT 1 FROM opportunities o WHERE o.rep_id = reps.rep_id)",
        ),
    }
    for name in ("activities", "leads"):
        if tables.has(name, "opp_id"):
            where = _unknown(tables, name, "opp_id", "opportunities", "opp_id")
            out[name] = tables.frame(name, where=where)
        else:
            out[name] = (
                tables.frame(name, where="1 = 0") if name in tables.info else empty_table(name)
            )
    return out


def _stale_days():
    import pandas as pd

    return pd.Timedelta(days=v.STALE_OPEN_DAYS)
