"""Applying a mapping (:mod:`spmlib.io.mappings`) to an export: the raw model tables, and every
fill, exclusion, merge and unmatched lookup reported with its count and reason.

Nothing is dropped or merged silently:

* a ``keep`` or ``fill`` rule naming a source column the file lacks, and a ``distinct`` or
  ``order_by`` naming a column the table does not have, are errors (with the closest column);
* rows dropped by ``distinct`` are reported: as a warning when they differ from the row kept
  in another column (a conflict), as a note when they repeat it or are later entries after
  ``order_by``;
* ids made from names (``ids_from_names``) never merge different names: names that give the
  same slug (``Ana López``, ``Ana Lopez``, ``ANA  LOPEZ``) each get the slug plus a short hash
  of the exact name, with a warning naming them; names in any script keep their letters
  (``Иван Петров`` becomes ``иван-петров``).

Source headers that differ from the mapping's column names only by case, spaces, hyphens or
underscores are matched (with a note).
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable

import pandas as pd

from spmlib.exceptions import Problem, SpmError
from spmlib.io.infer import get_inference
from spmlib.io.readers import align_headers
from spmlib.io.schema import TABLES

__all__ = ["apply_mapping", "slugify", "name_ids", "parse_flag"]

log = logging.getLogger(__name__)

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def _slug(name: str) -> str:
    """Lower case, accents off, letters of any script kept, other runs as ``-``."""
    text = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub(r"(?:[^\w]|_)+", "-", text.casefold()).strip("-")


def slugify(names: pd.Series) -> pd.Series:
    """Deterministic ids from names: lower case, accents off, letters and digits of any script
    kept, runs of other characters as ``-``. Different names may share a slug: ids for a
    dataset come from :func:`name_ids`, which keeps them apart.

    Examples
    --------
    >>> slugify(pd.Series(["Ada Lovelace", " José  Núñez ", "Иван Петров", None],
    ...     dtype="string")).tolist()
    ['ada-lovelace', 'jose-nunez', 'иван-петров', <NA>]
    """
    text = names.astype("string")
    uniques = text.dropna().unique()
    return text.map(dict(zip(uniques, (_slug(str(u)) for u in uniques), strict=False))).astype(
        "string"
    )


def _tag(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:6]  # noqa: S324 - an id, not security


def name_ids(names: Iterable[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Ids for distinct names: each name's slug, except where different names share a slug;
    each of those gets the slug plus ``-`` and six hex digits of a hash of the exact name
    (stable: the same name always gets the same id while the clash lasts). A name without
    letters or digits gets ``name-`` plus the hash. Returns (name -> id, slug -> the names
    that share it).

    Examples
    --------
    >>> ids, clashes = name_ids(["Ada Lovelace", "Ana López", "Ana Lopez"])
    >>> ids["Ada Lovelace"], ids["Ana López"] != ids["Ana Lopez"], clashes
    ('ada-lovelace', True, {'ana-lopez': ['Ana Lopez', 'Ana López']})
    >>> ids["Ana Lopez"]
    'ana-lopez-822186'
    """
    groups: dict[str, list[str]] = {}
    for name in sorted(set(names)):
        groups.setdefault(_slug(name), []).append(name)
    ids = {}
    for slug, members in groups.items():
        for name in members:
            if not slug:
                ids[name] = f"name-{_tag(name)}"
            elif len(members) == 1:
                ids[name] = slug
            else:
                ids[name] = f"{slug}-{_tag(name)}"
    return ids, {s: m for s, m in groups.items() if len(m) > 1 and s}


def parse_flag(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(boolean flags, mask of unreadable values) from true/false text such as Salesforce's.

    Examples
    --------
    >>> flags, bad = parse_flag(pd.Series(["true", "FALSE", "1", "maybe"]))
    >>> flags.tolist(), bad.tolist()
    ([True, False, True, False], [False, False, False, True])
    """
    text = values.astype("string").str.strip().str.lower()
    true, false = text.isin(list(_TRUE)).fillna(False), text.isin(list(_FALSE)).fillna(False)
    bad = text.notna() & ~true & ~false
    return true.astype(bool), bad.astype(bool)


def _text(s: pd.Series) -> pd.Series:
    out = s.astype("string").str.strip()
    return out.mask(out == "")


def _missing_column(problems: list, file: str, col: str, rule: str, have) -> None:
    """An error: the mapping's rule ``rule`` names column ``col``, which ``have`` lacks."""
    near = difflib.get_close_matches(str(col), [str(c) for c in have], n=1, cutoff=0.6)
    problems.append(
        Problem(
            file,
            str(col),
            f"the mapping's `{rule}` rule names column {col!r}, which is not there"
            + (f" (did you mean {near[0]!r}?)" if near else ""),
            hint="Correct the column name in the mapping, or export the column",
        )
    )


def _lookup_table(source, spec: dict, problems: list) -> dict:
    """``{key: value}`` from the lookup file; a missing file or column is an error (and {})."""
    frame = source.read(spec["file"])
    label = source.label(spec["file"])
    if frame is None:
        if spec["file"] not in source.unreadable:
            problems.append(
                Problem(
                    label,
                    None,
                    f"lookup file {spec['file']!r} is missing",
                    hint=f"Put it in {source.location}, or change the mapping's lookup",
                )
            )
        return {}
    frame, notes = align_headers(frame, (spec["key"], spec["value"]), label)
    problems += notes
    for col in (spec["key"], spec["value"]):
        if col not in frame.columns:
            _missing_column(problems, label, col, "lookups", frame.columns)
            return {}
    return dict(zip(_text(frame[spec["key"]]), frame[spec["value"]], strict=False))


def _warn(
    problems: list, file: str, column: str | None, rule: str, rows: tuple = (), hint: str = ""
):
    problems.append(Problem(file, column, rule, rows, hint, "warning"))


def _col(tm, target: str) -> str:
    """The column as the user knows it: ``Source (model)``."""
    src = tm.columns.get(target)
    return f"{src} ({target})" if src and src != target else target


def _n(mask: pd.Series) -> str:
    n = int(mask.sum())
    return f"{n:,} row{'' if n == 1 else 's'}"


def _rows(mask: pd.Series) -> tuple[str, ...]:
    return tuple(f"row {int(i) + 1}" for i in mask[mask].index[:5])


def _referenced(tm) -> list[str]:
    """The source columns a table's rules name."""
    cols = [*tm.columns.values(), *tm.keep]
    cols += [tm.flags[k] for k in ("closed", "won") if k in tm.flags]
    cols += [spec["column"] for spec in tm.fill.values() if "column" in spec]
    return [str(c) for c in cols]


def _build_table(name: str, tm, source, problems: list) -> pd.DataFrame | None:
    """The raw model table ``name`` built from its source file (index = source row positions),
    up to its ids (:func:`_finish_table` does the rest)."""
    src = source.read(tm.file)
    file = source.label(tm.file)
    where = f"{file} (mapped to {name})"
    if src is None:
        if not tm.optional and tm.file not in source.unreadable:
            problems.append(
                Problem(
                    file,
                    None,
                    f"source file {tm.file!r} for table {name} is missing",
                    hint=f"Put {tm.file} in {source.location}, or check the mapping's `file:`",
                )
            )
        return None
    src, notes = align_headers(src.reset_index(drop=True), _referenced(tm), file)
    problems += notes
    # 1. keep
    for col, allowed in tm.keep.items():
        if col not in src.columns:
            _missing_column(problems, file, col, "keep", src.columns)
            continue
        out_rows = ~_text(src[col]).isin(allowed).fillna(False)
        if out_rows.any():
            _warn(
                problems,
                file,
                col,
                f"{_n(out_rows)} excluded: {col} not in {allowed} (mapping rule `keep`)",
                _rows(out_rows),
                "Map the other values, or remove the keep rule, to include them",
            )
            src = src[~out_rows]
    # 2. columns and constants
    out = pd.DataFrame(index=src.index)
    for target, col in tm.columns.items():
        if col in src.columns:
            out[target] = src[col]
        elif target not in TABLES[name].required:
            log.info("%s: optional column %r (%s) absent", where, col, target)
    for target, value in tm.constants.items():
        out[target] = pd.Series(str(value), index=src.index, dtype="string")
    # 3. flags -> status
    _flags(tm, src, out, file, where, problems)
    # 4. values and scale
    for target, recode in tm.values.items():
        if target in out.columns:
            text = _text(out[target])
            out[target] = text.where(~text.isin(list(recode)), text.map(recode))
    for target, factor in tm.scale.items():
        if target in out.columns:
            out[target] = _scaled(out[target], factor, source.decimal(tm.file))
    # 5. lookups
    for target, spec in tm.lookups.items():
        if target not in out.columns:
            continue
        table = _lookup_table(source, spec, problems)
        if not table:
            continue
        keys = _text(out[target])
        found = keys.map(table)
        unmatched = keys.notna() & found.isna()
        if unmatched.any():
            _warn(
                problems,
                file,
                _col(tm, target),
                f"{int(unmatched.sum()):,} values of {target} not found in {spec['file']} "
                f"({spec['key']} -> {spec['value']}); left empty",
                _rows(unmatched),
                f"Add them to {spec['file']}",
            )
        out[target] = found
    # 6. fill
    for target, spec in tm.fill.items():
        _fill(name, tm, target, spec, src, out, source, file, problems)
    return out


def _flags(tm, src, out, file, where, problems) -> None:
    closed_col, won_col = tm.flags.get("closed"), tm.flags.get("won")
    if tm.flags and tm.flags.get("optional") and not {closed_col, won_col} & set(src.columns):
        log.info("%s: no flag columns %r, %r; status not from flags", where, closed_col, won_col)
        return
    if not tm.flags:
        return
    for col in (closed_col, won_col):
        if col not in src.columns:
            _missing_column(problems, file, col, "flags", src.columns)
    if closed_col not in src.columns or won_col not in src.columns:
        return
    closed, bad_c = parse_flag(src[closed_col])
    won, bad_w = parse_flag(src[won_col])
    for col, bad in ((closed_col, bad_c), (won_col, bad_w)):
        if bad.any():
            problems.append(
                Problem(
                    file,
                    col,
                    f"{int(bad.sum()):,} values are not true/false",
                    _rows(bad),
                    "Use true or false",
                )
            )
    contra = won & ~closed
    if contra.any():
        problems.append(
            Problem(
                file,
                won_col,
                f"{int(contra.sum()):,} deals won but not closed",
                _rows(contra),
                f"Correct {closed_col} or {won_col}",
            )
        )
    status = pd.Series("open", index=src.index, dtype="string")
    status[closed & ~won] = "lost"
    status[won] = "won"
    status[bad_c | bad_w] = pd.NA
    out["status"] = status


def _fill(name, tm, target, spec, src, out, source, file, problems) -> None:
    current = (
        _text(out[target])
        if target in out.columns
        else pd.Series(pd.NA, index=src.index, dtype="string")
    )
    missing = current.isna()
    if "value" in spec:
        filler = pd.Series(str(spec["value"]), index=src.index, dtype="string")
        how = f"with {str(spec['value'])!r}"
    elif "column" in spec:
        if spec["column"] not in src.columns:
            _missing_column(problems, file, spec["column"], "fill", src.columns)
            return
        filler = _text(src[spec["column"]])
        how = f"from column {spec['column']!r}"
    else:
        lk = spec["lookup"]
        if lk["match"] not in out.columns:
            raise SpmError(
                f"mapping, table {name}: the lookup filling {target} needs `match:` naming "
                f"a mapped column (one of {', '.join(out.columns)})"
            )
        filler = _text(out[lk["match"]]).map(_lookup_table(source, lk, problems))
        filler = filler.astype("string")
        how = f"from {lk['file']} ({lk['key']} -> {lk['value']}, matched on {lk['match']})"
    filled = missing & filler.notna()
    if filled.any():
        _warn(
            problems,
            file,
            _col(tm, target),
            f"{int(filled.sum()):,} empty {target} values filled {how}: "
            + str(spec.get("reason", "mapping rule")),
            _rows(filled),
            "Change `fill:` in the mapping to treat them otherwise",
        )
    out[target] = current.astype("string").where(~filled, filler)


def _finish_table(name: str, tm, frame: pd.DataFrame, ids: dict, file: str, problems: list):
    """Steps 7-9 of a table: ids from names, drop_missing, order_by and distinct."""
    out = frame
    # 7. ids from names
    for target in tm.ids_from_names:
        if target in out.columns:
            out[target] = _text(out[target]).map(ids).astype("string")
    # 8. drop_missing
    for target, reason in tm.drop_missing.items():
        if target not in out.columns:
            continue
        gone = _text(out[target]).isna()
        if gone.any():
            _warn(
                problems,
                file,
                _col(tm, target),
                f"{_n(gone)} excluded because {target} is empty: {reason}",
                _rows(gone),
                "Give them a value, or change `drop_missing:` in the mapping",
            )
            out = out[~gone]
    # 9. order and distinct
    for rule, cols in (
        ("order_by", [tm.order_by] if tm.order_by else []),
        ("distinct", tm.distinct),
    ):
        for col in cols:
            if col not in out.columns:
                _missing_column(problems, file, col, rule, out.columns)
                return out
    if tm.order_by:
        key = pd.to_datetime(_text(out[tm.order_by]), errors="coerce", utc=True, format="ISO8601")
        out = out.loc[key.sort_values(kind="stable").index]
    if tm.distinct:
        out = _distinct(tm, out, file, problems)
    return out


def _distinct(tm, out: pd.DataFrame, file: str, problems: list) -> pd.DataFrame:
    """The first row per ``tm.distinct`` key; the others reported (see the module notes)."""
    key = list(tm.distinct)
    dropped = out.duplicated(subset=key, keep="first")
    if not dropped.any():
        return out
    others = [c for c in out.columns if c not in key and c != tm.order_by]
    rows = pd.util.hash_pandas_object(out[others], index=False) if others else None
    if rows is None:
        conflict = pd.Series(False, index=out.index)
    else:
        groups = [out[k].astype("string").fillna("\x00") for k in key]
        kept = rows.groupby(groups, sort=False).transform("first")
        conflict = dropped & (rows != kept)
    keys = ", ".join(key)
    if conflict.any():
        keyed = [
            tuple("\x00" if pd.isna(v) else str(v) for v in r)
            for r in out[key].itertuples(index=False)
        ]
        kept_at: dict[tuple, int] = {}
        for pos, (i, k) in enumerate(zip(out.index, keyed, strict=True)):
            if not dropped.iloc[pos]:
                kept_at.setdefault(k, i)
        examples = []
        for pos in [p for p, c in enumerate(conflict) if c][:5]:
            i, j = out.index[pos], kept_at[keyed[pos]]
            row, kept_row = out.loc[i], out.loc[j]
            diff = [c for c in others if str(row[c]) != str(kept_row[c])][:2]
            shown = "; ".join(f"{c} {row[c]!r}, kept {kept_row[c]!r}" for c in diff)
            examples.append(f"row {int(i) + 1} ({shown}; row {int(j) + 1} kept)")
        _warn(
            problems,
            file,
            keys,
            f"{_n(conflict)} dropped as repeats of an earlier row with the same {keys} although "
            "other columns differ (mapping rule `distinct`)",
            tuple(examples),
            "Make the values agree in the export, or add the differing column to `distinct:`",
        )
    repeats = dropped & ~conflict
    if repeats.any():
        why = f"later entries after `order_by: {tm.order_by}`" if tm.order_by else "identical"
        problems.append(
            Problem(
                file,
                keys,
                f"{_n(repeats)} merged into the first row with the same {keys} ({why}; "
                "mapping rule `distinct`)",
                severity="note",
            )
        )
    return out[~dropped]


def _scaled(values: pd.Series, factor: float, decimal: str = ".") -> pd.Series:
    """Numbers times ``factor``; other text is kept as it is (and reported when typed).

    Examples
    --------
    >>> _scaled(pd.Series(["20", " 7.5", "n/a", None], dtype="string"), 0.01).tolist()
    [0.2, 0.075, 'n/a', <NA>]
    """
    from spmlib.io.coerce import _to_number

    number = _to_number(values, decimal)
    out = values.astype(object).copy()
    out[number.notna()] = (number[number.notna()] * factor).to_numpy()
    return out


def _dataset_settings(mapping, folder: dict | None, folder_file: str) -> tuple[dict | None, str]:
    """The user's dataset settings: the mapping's ``dataset:`` with the folder's ``dataset.yml``
    (or a database's ``dataset_config``) over it, key by key; and where they came from."""
    if mapping.dataset is None:
        return folder, folder_file
    if not folder:
        return dict(mapping.dataset), f"mapping {mapping.file} (dataset:)"
    return {**mapping.dataset, **folder}, f"{folder_file} (over mapping {mapping.file})"


def _recode(tables: dict, recodes: dict) -> None:
    for name, columns in recodes.items():
        frame = tables.get(name)
        for col, recode in columns.items():
            if frame is not None and col in frame.columns and recode:
                text = _text(frame[col])
                frame[col] = text.where(~text.isin(list(recode)), text.map(recode))


def _ids(mapping, built: dict, source, problems: list) -> dict[str, str]:
    """One name -> id table for every ``ids_from_names`` column of the mapping (so that a name
    gets the same id in every table), with a warning per clash of slugs."""
    names: set[str] = set()
    where = []
    for name, frame in built.items():
        tm = mapping.tables[name]
        for target in tm.ids_from_names:
            if target in frame.columns:
                names |= set(_text(frame[target]).dropna())
                where.append((source.label(tm.file), _col(tm, target)))
    ids, clashes = name_ids(names)
    if clashes:
        file, col = where[0]
        _warn(
            problems,
            file,
            col,
            f"{len(clashes):,} id{'s' if len(clashes) > 1 else ''} made from names would be "
            "shared by different names (case, accents or spaces differ); each name is kept as "
            "its own rep",
            tuple(
                ", ".join(f"{n!r} -> {ids[n]}" for n in members)
                for members in list(clashes.values())[:5]
            ),
            "If they are one person, write the name the same way in the CRM (or recode it with "
            "`values:` in the mapping); if not, nothing to do",
        )
    return ids


def apply_mapping(mapping, source, settings: tuple | None = None):
    """Build the raw model tables from ``source`` (a :class:`spmlib.io.sources.Source`) with
    ``mapping`` (a :class:`spmlib.io.mappings.Mapping`).

    ``settings`` is ``(dataset.yml content, where it came from, problems reading it)`` when
    already read (else it is read here). Returns a :class:`spmlib.io.sources.RawData` whose
    ``problems`` hold the mapping's errors (missing files or columns), warnings (every fill,
    exclusion, conflicting merge and unmatched lookup, counted) and notes (how files were read,
    rows merged). With ``infer:``, the stage settings come from the export
    (:mod:`spmlib.io.infer`); the decisions are in ``inferences``.
    """
    from spmlib.io.sources import RawData

    if settings is None:
        settings = (*source.config(), [])
    folder, folder_file, problems = settings[0], settings[1], list(settings[2])
    problems += [Problem("mapping", None, n, severity="note") for n in mapping.notes]
    built, files, columns, formats, decimals = {}, {}, {}, {}, {}
    for tm in mapping.tables.values():
        if tm.read is not None:
            source.file_options[tm.file] = tm.read
    for name, tm in mapping.tables.items():
        frame = _build_table(name, tm, source, problems)
        files[name] = source.label(tm.file)
        if frame is not None:
            built[name] = frame
    ids = _ids(mapping, built, source, problems)
    tables = {}
    for name, frame in built.items():
        tm = mapping.tables[name]
        tables[name] = _finish_table(name, tm, frame, ids, files[name], problems)
        columns[name] = dict(tm.columns)
        if tm.date_format:
            formats[name] = dict(tm.date_format)
        if source.decimal(tm.file) != ".":
            decimals[name] = source.decimal(tm.file)
    problems = list(dict.fromkeys(problems))  # two tables from one file repeat its rules
    problems = source.problems + [p for p in problems if p not in source.problems]
    config, config_file = _dataset_settings(mapping, folder, folder_file)
    inferences = []
    if mapping.infer is not None and "opportunities" in tables:
        inferred = get_inference(mapping.infer)(tables, source, config or {}, mapping)
        _recode(tables, inferred.recodes)
        problems += inferred.problems
        inferences = inferred.inferences
        if config:
            config_file = f"{config_file}, over the {mapping.infer} inference"
        else:
            config_file = f"mapping {mapping.file} (inferred)"
        config = {**inferred.config, **(config or {})}
    unreadable = {n for n, tm in mapping.tables.items() if tm.file in source.unreadable}
    if "dataset.yml" in source.unreadable or (
        config is None and mapping.infer is not None and "opportunities" in unreadable
    ):  # the settings cannot be read (or inferred from an unreadable file): not "missing"
        unreadable.add("dataset.yml")
    return RawData(
        location=source.location,
        tables=tables,
        config=config,
        config_file=config_file,
        files=files,
        columns=columns,
        timezone=mapping.timezone,
        date_formats=formats,
        problems=problems,
        inferences=inferences,
        decimals=decimals,
        unreadable=unreadable,
    )
