"""Validation in the engine: the rules of :mod:`spmlib.io.validate`, run where the data is.

The engine scans every table twice (:func:`_probe`: the rules of a row and the duplicate keys
counted in one pass, the lookups in other tables as outer joins in another; on tables too large
for one pass in memory, the keys and the lookups go one slice at a time) and then hands back
only the rows that break a rule of a family found there (none, on clean data):

* ``empty``: rows with an empty required value (tables read in place);
* ``table`` and ``duplicate``: rows whose id occurs twice; non-finite numbers; negative amounts,
  durations, account potentials or workloads; quotas <= 0; coordinates out of range; split
  shares outside (0, 1] or unknown split types; probabilities outside 0-1; unknown stages,
  statuses or pipelines, a stage outside its deal's pipeline, a status that disagrees with the
  stage;
* ``relation``: rep_ids not in reps; opportunities' accounts not in accounts; stage history and
  splits of unknown opportunities; stage changes outside their deal's pipeline; closed deals
  closed before they were created, leads converted before they were created; every split of a
  deal whose revenue shares do not sum to 1 or that names a rep twice with one split type;
* ``warning``: stale open deals, reps without deals, activities or leads of unknown
  opportunities.

Beside the rows of a ``relation`` family the engine fetches the rows those rules look up (the
deals of the stage changes and splits taken, the accounts of the deals taken), so no rule is
judged against a partial table; reps and quotas (small) are read whole. The pandas rules of
:mod:`spmlib.io.validate` then run on those rows, so the problems are word for word those of
:func:`spmlib.io.load.load_checked`, with the same counts, rows and examples, at the cost of
two scans per table (and one more per family with problems) instead of loading every table
into memory. tests/test_engine_validation_rules.py breaks every rule of the loader once and
compares.

:func:`validate_once` records a clean result under the source fingerprint
(:func:`spmlib.io.snapshot.mark_validated`): the same files are then trusted without a scan.
"""

from __future__ import annotations

import logging

import pandas as pd

from spmlib.engine.base import slice_on
from spmlib.exceptions import DataValidationError, Problem
from spmlib.io import validate as v
from spmlib.io.schema import SPLIT_TYPES, TABLES
from spmlib.io.validate_stages import check_opportunity_stages

__all__ = ["VALIDATION_VERSION", "validate_once", "check_now", "engine_problems"]

log = logging.getLogger(__name__)

#: Part of the validation fingerprint: bumped when the rules change, so data is checked again.
VALIDATION_VERSION = 3


#: Keys per slice of the count of distinct ids, in slices of deals (``key_slices``): 15 M id
#: hashes fit in DuckDB's memory cap (the 1.24 billion activity ids of 100 M deals do not; 33 M
#: a slice ran out of 1200MB), and the 12.4 M activity ids of 1 M deals take one scan (at 10 M a
#: slice they took two, and validation 1.4x the time).
DISTINCT_SCALE = 3


def _key(tables) -> str:
    return f"{tables.fingerprint}:engine-v{VALIDATION_VERSION}" if tables.fingerprint else ""


def check_now(tables) -> list:
    """Every problem of ``tables``, checked now (whatever was recorded); a clean result is
    recorded for its fingerprint and its warnings set."""
    from spmlib.io.snapshot import mark_validated

    problems = engine_problems(tables)
    if not v.errors_of(problems):
        tables.warnings, tables.checked_now = tuple(v.warnings_of(problems)), True
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
    problems += v.missing_tables([*tables.info, *tables.unreadable], tables.source)
    config = tables.config
    hits = {}
    for i, name in enumerate(tables.info, 1):
        tables.report(f"checking {name} (table {i} of {len(tables.info)})")
        hits[name] = _probe(tables, name)
    for name, info in tables.info.items():
        file, cols = info.file, tables.mapped_columns.get(name)
        if info.row_column:  # a typed copy: its column and parsing problems were recorded
            problems += info.problems
        else:
            problems += v.check_columns(name, pd.DataFrame(columns=info.columns), file, cols)
            if "empty" in hits[name]:
                rows = tables.frame(name, where=_empty_rows(tables, name))
                if len(rows):
                    problems += v.check_parsing(name, rows, rows, file, cols)
        if config is not None and {"table", "duplicate"} & hits[name]:
            rows = tables.frame(name, where=_table_rule_rows(tables, name))
            if len(rows):
                problems += v.check_table(name, rows, config, file, cols)
                continue  # (check_table also checked the pipeline column)
        if name == "opportunities" and config is not None and config.pipelines:
            if not tables.has(name, "pipeline"):  # a rule of the table, whatever its rows
                empty = pd.DataFrame(columns=info.columns)
                problems += check_opportunity_stages(empty, config, file, cols)
    if config is None:
        return problems
    problems += v.check_relations(
        _relation_rows(tables, hits), config, tables.files, tables.mapped_columns
    )
    if v.errors_of(problems):
        return problems
    problems += v.check_warnings(
        _warning_rows(tables, hits), config, tables.as_of, tables.files, tables.mapped_columns
    )
    return problems


def _probe(tables, name: str) -> set[str]:
    """The rule families (``empty``, ``table``, ``duplicate``, ``relation``, ``warning``) that
    some row of table ``name`` may break, from scans that count: one counts the rows breaking
    a rule of the row itself and the keys beside their distinct hashes (fewer hashes than keys
    when a key repeats, or, rarely, when two keys collide: then the exact query finds nothing);
    another counts the rows whose lookups in reps or opportunities (outer joins) fail. The rows
    are then fetched only for those families (none on clean data), by the exact conditions; a
    family counted here is a superset of them, never less.

    In bounded memory at any size: where the engine splits keys into slices
    (:meth:`~spmlib.engine.base.Engine.key_slices`), the distinct hashes are counted one slice
    of keys at a time, and the lookups of a table that refers to deals join one slice of deals
    at a time (each slice's rows against that slice's deals)."""
    eng = tables.engine
    key = TABLES[name].key
    counts: dict[str, int] = {}
    sums = [
        f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {family}"
        for family, cond in (
            ("empty", _empty_rows(tables, name)),
            ("table", _table_rule_rows(tables, name, duplicates=False)),
        )
        if cond
    ]
    key_parts = ["TRUE"]
    if tables.config is not None and key is not None and key in tables.info[name].columns:
        key_parts = eng.key_slices(name, key, scale=DISTINCT_SCALE)
        # a missing key has a hash too, and is no duplicate
        repeats = (
            f"count({key}) - count(DISTINCT CASE WHEN {key} IS NOT NULL "
            f"THEN {eng.hash64(key)} END) AS duplicate"
        )
        if len(key_parts) == 1:
            sums.append(repeats)
        else:
            for i, part in enumerate(key_parts, 1):
                tables.report(f"checking the ids of {name}, slice {i} of {len(key_parts)}")
                _count(eng, counts, f"SELECT {repeats} FROM {name} WHERE {slice_on(part, key)}")
    if sums:
        _count(eng, counts, f"SELECT {', '.join(sums)} FROM {name}")
    refers = name not in ("opportunities", "reps", "quotas") and tables.has(name, "opp_id")
    deal_parts = ["TRUE"]
    if refers and tables.has("opportunities", "opp_id"):
        deal_parts = eng.key_slices("opportunities", "opp_id")
    for i, part in enumerate(deal_parts, 1):
        if len(deal_parts) > 1:
            tables.report(f"checking {name} against their deals, slice {i} of {len(deal_parts)}")
        joins: dict[str, str] = {}
        lookups = [
            f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {family}"
            for family, cond in (
                ("relation", _relation_conds(tables, name, joins, part)),
                ("warning", _warning_conds(tables, name, joins, part)),
            )
            if cond
        ]
        if lookups:
            where = f" WHERE {slice_on(part, 't.opp_id')}" if refers else ""
            source = f"{name} t {' '.join(joins.values())}{where}"
            _count(eng, counts, f"SELECT {', '.join(lookups)} FROM {source}")
    return {family for family, n in counts.items() if n > 0}


def _count(eng, counts: dict[str, int], sql: str) -> None:
    """Add the counts of the one-row query ``sql`` (a column per family) to ``counts``."""
    got = eng.sql(sql)
    for family in got.columns:
        n = got[family].iloc[0]
        counts[family] = counts.get(family, 0) + (0 if n is None or n != n else int(n))


def _empty_rows(tables, name: str) -> str:
    """The condition selecting rows with an empty required value (tables read in place; a
    typed copy recorded its own), or ""."""
    info = tables.info[name]
    if info.row_column:
        return ""
    required = [c for c in TABLES[name].required if c in info.columns]
    return " OR ".join(_empty(name, c) for c in required)


def _in(tables, values) -> str:
    return "(" + ", ".join(tables.engine.literal(s) for s in values) + ")"


def _empty(name: str, col: str) -> str:
    """A missing value: NULL, or NaN in a number column (pandas reads NaN as missing)."""
    if TABLES[name].columns.get(col) == "float":
        return f"({col} IS NULL OR {col} = CAST('NaN' AS DOUBLE))"
    return f"{col} IS NULL"


def _table_rule_rows(tables, name: str, duplicates: bool = True) -> str:
    """The condition selecting the rows that break a rule of :func:`check_table` (without the
    duplicate keys when not ``duplicates``), or "" without a ``dataset.yml``."""
    config, has = tables.config, tables.info[name].columns
    if config is None:
        return ""
    conds = [
        f"abs({c}) = CAST('Infinity' AS DOUBLE)"
        for c, kind in TABLES[name].columns.items()
        if kind == "float" and c in has
    ]
    key = TABLES[name].key
    if duplicates and key is not None and key in has:
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
    if name == "opportunities" and "probability" in has:
        conds.append("(probability < 0 OR probability > 1)")
    if name == "opportunities" and config.pipelines and {"pipeline", "stage"} <= set(has):
        conds.append(f"(pipeline IS NULL OR pipeline NOT IN {_in(tables, config.pipelines)})")
        conds.append(_outside_pipeline(tables, "pipeline", "stage"))
    if name == "activities" and "duration_minutes" in has:
        conds.append("duration_minutes < 0")
    if name == "quotas" and "quota" in has:
        conds.append("quota <= 0")
    if name == "accounts":
        for col, low, high in (
            ("potential", 0, None),
            ("workload", 0, None),
            ("latitude", -90, 90),
            ("longitude", -180, 180),
        ):
            if col in has:
                conds.append(f"({col} < {low}" + (f" OR {col} > {high})" if high else ")"))
    if name == "splits":
        if "share" in has:
            conds.append("(share <= 0 OR share > 1)")
        if "type" in has:
            conds.append(f"type NOT IN {_in(tables, SPLIT_TYPES)}")
    return " OR ".join(conds)


def _outside_pipeline(tables, pipeline: str, stage: str) -> str:
    """The condition of a known ``pipeline`` with a known ``stage`` that is not one of its
    stages (nor a closed one): the rule of :func:`spmlib.io.validate_stages._outside_pipeline`."""
    config = tables.config
    closed = (config.won_stage, config.lost_stage)
    allowed = " OR ".join(
        f"({pipeline} = {tables.engine.literal(p)} AND {stage} IN {_in(tables, (*s, *closed))})"
        for p, s in config.pipelines.items()
    )
    return (
        f"({pipeline} IN {_in(tables, config.pipelines)} "
        f"AND {stage} IN {_in(tables, config.stages)} AND NOT ({allowed}))"
    )


def _unknown(
    tables, name: str, col: str, ref: str, ref_col: str, joins=None, part: str = "TRUE"
) -> str:
    """Rows whose ``col`` is not a ``ref_col`` of table ``ref``: a NOT EXISTS lookup, or, given
    ``joins`` (the probe's), an outer join added there (on the keys of the slice ``part``
    when the key is a deal's) and a test of its key."""
    if joins is None:
        return (
            f"({name}.{col} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {ref} k WHERE k.{ref_col} = {name}.{col}))"
        )
    alias = f"spm_{ref}_{ref_col}"
    where = f" WHERE {slice_on(part, ref_col)}" if ref_col == "opp_id" else ""
    joins[alias] = (
        f"LEFT JOIN (SELECT {ref_col} AS spm_key FROM {ref}{where}) {alias} "
        f"ON t.{col} = {alias}.spm_key"
    )
    return f"(t.{col} IS NOT NULL AND {alias}.spm_key IS NULL)"


def _member(name: str, col: str, keys: str, alias: str, joins=None) -> str:
    """Rows whose ``col`` is one of the distinct ``spm_key`` values that the query ``keys``
    selects: an IN test, or, given ``joins`` (the probe's), an outer join added there."""
    if joins is None:
        return f"{name}.{col} IN (SELECT spm_key FROM ({keys}) {alias})"
    joins[alias] = f"LEFT JOIN ({keys}) {alias} ON t.{col} = {alias}.spm_key"
    return f"({alias}.spm_key IS NOT NULL)"


def _relation_conds(tables, name: str, joins=None, part: str = "TRUE") -> str:
    """The condition selecting the rows of ``name`` that may break a rule of
    :func:`check_relations` ("" for reps and quotas, read whole, and without a config):
    unknown reps, accounts and deals, closed deals or leads out of date order, stage changes
    outside their deal's pipeline, and every split of a deal whose revenue shares do not sum
    to 1 or that names a rep twice with one type. With ``joins``, the lookups of deals cover
    the deals of the slice ``part`` (the probe's rows are those of the slice too)."""
    config = tables.config
    if config is None or name in ("reps", "quotas"):
        return ""
    conds = []
    if tables.has(name, "rep_id") and tables.has("reps", "rep_id"):
        conds.append(_unknown(tables, name, "rep_id", "reps", "rep_id", joins))
    known_deals = tables.has("opportunities", "opp_id")
    if name in ("stage_history", "splits") and tables.has(name, "opp_id") and known_deals:
        conds.append(_unknown(tables, name, "opp_id", "opportunities", "opp_id", joins, part))
    if name == "opportunities" and tables.has(name, "account"):
        if tables.has("accounts", "account_id") and tables.count("accounts"):  # (else no rule)
            conds.append(_unknown(tables, name, "account", "accounts", "account_id", joins))
    if name == "opportunities" and tables.has(name, "stage", "created_date", "close_date"):
        closed = _in(tables, (config.won_stage, config.lost_stage))
        conds.append(f"(stage IN {closed} AND close_date < created_date)")
    if name == "leads" and tables.has(name, "created_date", "converted_date"):
        conds.append("converted_date < created_date")
    if (
        name == "stage_history"
        and config.pipelines
        and tables.has(name, "opp_id", "stage")
        and tables.has("opportunities", "opp_id", "stage", "pipeline")
    ):
        pipelines = (
            "SELECT DISTINCT h.opp_id AS spm_key FROM stage_history h "
            "JOIN opportunities o ON o.opp_id = h.opp_id "
            f"WHERE {_outside_pipeline(tables, 'o.pipeline', 'h.stage')} "
            f"AND {slice_on(part, 'h.opp_id')}"
        )
        conds.append(_member(name, "opp_id", pipelines, "spm_history_pipelines", joins))
    if name == "splits" and tables.has(name, "opp_id", "rep_id", "share", "type") and known_deals:
        shares = (
            "SELECT opp_id AS spm_key FROM splits "
            f"WHERE type = 'revenue' AND {slice_on(part, 'opp_id')} GROUP BY opp_id "
            f"HAVING abs(coalesce(sum(share), 0) - 1) > {v.SHARE_TOLERANCE / 2!r}"
        )
        repeated = (
            "SELECT DISTINCT opp_id AS spm_key FROM splits WHERE opp_id IS NOT NULL AND "
            f"rep_id IS NOT NULL AND type IS NOT NULL AND {slice_on(part, 'opp_id')} "
            "GROUP BY opp_id, rep_id, type "
            "HAVING count(*) > 1"
        )
        conds.append(_member(name, "opp_id", shares, "spm_split_shares", joins))
        conds.append(_member(name, "opp_id", repeated, "spm_split_repeats", joins))
    return " OR ".join(conds)


def _relation_rows(tables, hits) -> dict:
    """Per table, the rows that may break a rule of :func:`check_relations` (all of reps and
    quotas, which are small; none where the probe found none), with the rows those rules
    look up beside them: the deals of the stage changes and splits taken, and the accounts of
    the deals taken (and the first account, so an accounts table that has rows has some here)."""
    where = {}
    for name in tables.info:
        cond = _relation_conds(tables, name)
        if cond:
            where[name] = cond if "relation" in hits[name] else ""
    if where.get("splits"):  # the rules of splits sum or compare the rows of a deal
        where["splits"] = (
            f"{where['splits']} OR opp_id IN (SELECT opp_id FROM splits WHERE {where['splits']})"
        )
    if "opportunities" in where:
        needed = [where["opportunities"]] + [
            f"opp_id IN (SELECT opp_id FROM {name} WHERE {where[name]})"
            for name in ("stage_history", "splits")
            if where.get(name) and tables.has(name, "opp_id")
        ]
        where["opportunities"] = " OR ".join(c for c in needed if c)
    if where.get("opportunities") and tables.has("accounts", "account_id"):
        if tables.has("opportunities", "account"):
            needed = [
                where.get("accounts", ""),
                f"account_id IN (SELECT account FROM opportunities WHERE {where['opportunities']})",
                "_row = (SELECT min(_row) FROM accounts)",
            ]
            where["accounts"] = " OR ".join(c for c in needed if c)
    return {
        name: tables.frame(name)
        if name in ("reps", "quotas")
        else tables.frame(name, where=where.get(name) or "1 = 0")
        for name in tables.info
    }


def _warning_conds(tables, name: str, joins=None, part: str = "TRUE") -> str:
    """The condition selecting the activities or leads pointing at an unknown opportunity
    (a warning of :func:`check_warnings`), or "" (``joins``, ``part``: as
    :func:`_relation_conds`)."""
    if tables.config is None or name not in ("activities", "leads"):
        return ""
    if not tables.has(name, "opp_id") or not tables.has("opportunities", "opp_id"):
        return ""  # (a missing opportunities table is an error: no warning is checked)
    return _unknown(tables, name, "opp_id", "opportunities", "opp_id", joins, part)


def _warning_rows(tables, hits) -> dict:
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
        if name not in tables.info:
            out[name] = empty_table(name)
        elif tables.has(name, "opp_id") and "warning" in hits[name]:
            out[name] = tables.frame(name, where=_warning_conds(tables, name))
        else:
            out[name] = tables.frame(name, where="1 = 0")
    return out


def _stale_days():
    import pandas as pd

    return pd.Timedelta(days=v.STALE_OPEN_DAYS)
