"""CRM mappings: translate an export (Salesforce, HubSpot, any CSV folder) onto the data model.

A mapping is a YAML file (format in the README, section "Mappings"). Presets ship as package data
in ``spmlib/io/presets/*.yml``; YAML files in ``params/mappings/`` can be named the same way; any
other path is read as a file. Per model table a mapping gives the source file and, in this order:

1. ``keep: {source column: [values]}``: keep only these rows (others are excluded and counted);
2. ``columns: {model column: source column}``, ``constants: {model column: value}``;
3. ``flags: {closed: col, won: col}``: derive ``status`` from true/false columns (with
   ``optional: true``, only when the export has both columns);
4. ``values: {model column: {source value: model value}}``: recode values (e.g. stages);
   ``scale: {model column: factor}``: multiply numbers (``0.01`` turns percents into fractions);
5. ``lookups: {model column: {file, key, value}}``: replace ids by a value found in another file;
6. ``fill: {model column: {value | column | lookup, reason}}``: fill missing values (counted);
   a ``lookup`` is ``{file, key, value, match}``: the value of the row whose ``key`` equals this
   row's ``match`` column;
7. ``ids_from_names: [model column]``: derive ids from names (lower-case slug: "Ada Lovelace"
   becomes ``ada-lovelace``);
8. ``drop_missing: {model column: reason}``: exclude rows still missing it (counted);
9. ``order_by`` then ``distinct: [model columns]``: keep the first row per key (e.g. the earliest
   entry of a stage, or one rep per deal owner).

Every fill, exclusion or unmatched lookup is reported as a warning with its count and reason:
nothing is dropped silently.

``infer: salesforce|hubspot`` lets the preset read the stages from the export instead of listing
them (:mod:`spmlib.io.infer`); ``dataset:`` then only holds what the user fixes. The export
folder's ``dataset.yml`` (or a database's ``dataset_config``) overrides the mapping's ``dataset:``
and the inference, key by key.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import yaml

from spmlib.exceptions import Problem, SpmError, UnknownNameError
from spmlib.io.infer import INFERENCES, get_inference
from spmlib.io.schema import TABLES

__all__ = [
    "Mapping",
    "TableMapping",
    "list_mappings",
    "load_mapping",
    "mapping_text",
    "apply_mapping",
    "slugify",
    "parse_flag",
]

log = logging.getLogger(__name__)

_TABLE_KEYS = {
    "file",
    "optional",
    "columns",
    "constants",
    "keep",
    "flags",
    "values",
    "lookups",
    "fill",
    "ids_from_names",
    "drop_missing",
    "order_by",
    "distinct",
    "date_format",
    "scale",
}
_TOP_KEYS = {"name", "description", "dataset", "timezone", "tables", "infer"}
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


@dataclass(frozen=True)
class TableMapping:
    """How one model table is built from one source file (see the module notes for each field)."""

    file: str
    optional: bool = False
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    keep: dict[str, list] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict] = field(default_factory=dict)
    lookups: dict[str, dict] = field(default_factory=dict)
    fill: dict[str, dict] = field(default_factory=dict)
    ids_from_names: tuple[str, ...] = ()
    drop_missing: dict[str, str] = field(default_factory=dict)
    order_by: str | None = None
    distinct: tuple[str, ...] = ()
    date_format: dict[str, str] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping: per-table rules, the stage configuration (or the name of the preset
    inference that reads it from the export) and the time zone."""

    name: str
    tables: dict[str, TableMapping]
    dataset: dict | None = None
    timezone: str = "UTC"
    description: str = ""
    file: str = ""
    infer: str | None = None


def _preset_dir() -> Path:
    return Path(__file__).resolve().parent / "presets"


def _named() -> dict[str, Any]:
    """Mapping names -> files: the packaged presets, then ``params/mappings/*.yml``."""
    from spmlib.config import PARAMS_DIR

    named: dict[str, Any] = {}
    for entry in _preset_dir().iterdir():
        if entry.name.endswith(".yml"):
            named[entry.name[:-4]] = entry
    extra = PARAMS_DIR / "mappings"
    if extra.is_dir():
        for path in sorted(extra.glob("*.yml")):
            named.setdefault(path.stem, path)
    return named


def list_mappings() -> list[str]:
    """The mapping names ``--mapping`` accepts (presets and ``params/mappings/*.yml``).

    Examples
    --------
    >>> {"salesforce", "hubspot"} <= set(list_mappings())
    True
    """
    return sorted(_named())


def mapping_text(name_or_path: str | Path) -> str:
    """The YAML text of a mapping (a preset or ``params/mappings`` name, or a file path).

    Raises
    ------
    UnknownNameError
        For a name that is neither a mapping nor an existing file.
    """
    path = Path(str(name_or_path))
    if path.is_file():
        return path.read_text()
    named = _named()
    if str(name_or_path) not in named:
        raise UnknownNameError("mapping", str(name_or_path), list(named))
    return named[str(name_or_path)].read_text()


def load_mapping(name_or_path: str | Path | Mapping) -> Mapping:
    """A mapping from a preset name or a YAML file path.

    Raises
    ------
    UnknownNameError
        For a name that is neither a preset nor an existing file (lists the presets).
    SpmError
        For a mapping file with unknown keys or tables, or a missing ``file``.
    """
    if isinstance(name_or_path, Mapping):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() in (".yml", ".yaml") or path.exists():
        if not path.is_file():
            raise SpmError(
                f"mapping file {text!r} does not exist; give a preset name or a YAML file"
            )
        return parse_mapping(_read_yaml(path.read_text(), f"mapping {path}"), file=str(path))
    named = _named()
    if text not in named:
        raise UnknownNameError("mapping", text, list(named))
    return parse_mapping(_read_yaml(named[text].read_text(), f"mapping {text}"), file=text)


class _Loader(yaml.SafeLoader):
    """YAML without the 1.1 surprises: only true/false are booleans (``on``, ``yes``, ``No``
    stay text, so ``keep: {Active: [Yes]}`` and a lookup's keys mean what they say)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _read_yaml(text: str, where: str) -> dict:
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise SpmError(f"{where} is not valid YAML: {exc}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpmError(f"{where} must be a YAML mapping with `tables:` (see the README)")
    return raw


def _typed(spec: dict, key: str, kind: type, where: str, default):
    value = spec.get(key)
    if value is None:
        return default
    if kind is list and isinstance(value, str):
        return [value]
    if not isinstance(value, kind):
        name = {dict: "a mapping {a: b}", list: "a list [a, b]", str: "a text"}[kind]
        raise SpmError(f"{where}: `{key}` must be {name}, got {value!r}")
    return value


def parse_mapping(raw: dict, file: str = "<mapping>") -> Mapping:
    """Check and parse the content of a mapping YAML file (see the module notes).

    Raises
    ------
    SpmError
        For an unknown key or table, a missing ``file``, or a rule of the wrong shape.
    """
    where = f"mapping {file}"
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise SpmError(f"{where}: unknown key(s) {sorted(unknown)}; valid: {sorted(_TOP_KEYS)}")
    tables = {}
    for name, spec in _typed(raw, "tables", dict, where, {}).items():
        if name not in TABLES:
            raise SpmError(f"{where}: unknown table {name!r}; valid: {', '.join(TABLES)}")
        here = f"{where}, table {name}"
        if not isinstance(spec, dict):
            raise SpmError(f"{here}: give its rules as a mapping with at least `file:`")
        bad = set(spec) - _TABLE_KEYS
        if bad:
            raise SpmError(f"{here}: unknown key(s) {sorted(bad)}; valid: {sorted(_TABLE_KEYS)}")
        if "file" not in spec:
            raise SpmError(f"{here}: say which source file it comes from (`file:`)")
        fmt = spec.get("date_format") or {}
        if isinstance(fmt, str):
            fmt = {c: fmt for c, k in TABLES[name].columns.items() if k == "date"}
        keep = _typed(spec, "keep", dict, here, {})
        values = _typed(spec, "values", dict, here, {})
        for key, rules in (("keep", keep), ("values", values)):
            for col, rule in rules.items():
                if not isinstance(rule, list if key == "keep" else dict):
                    raise SpmError(f"{here}: `{key}` of {col!r} has the wrong shape: {rule!r}")
        tables[name] = TableMapping(
            file=str(spec["file"]),
            optional=bool(spec.get("optional", False)),
            columns={str(k): str(v) for k, v in _typed(spec, "columns", dict, here, {}).items()},
            constants=dict(_typed(spec, "constants", dict, here, {})),
            keep={str(k): [str(x) for x in v] for k, v in keep.items()},
            flags=dict(_typed(spec, "flags", dict, here, {})),
            values={k: {str(a): str(b) for a, b in v.items()} for k, v in values.items()},
            lookups=dict(_typed(spec, "lookups", dict, here, {})),
            fill=dict(_typed(spec, "fill", dict, here, {})),
            ids_from_names=tuple(_typed(spec, "ids_from_names", list, here, [])),
            drop_missing=dict(_typed(spec, "drop_missing", dict, here, {})),
            order_by=spec.get("order_by"),
            distinct=tuple(_typed(spec, "distinct", list, here, [])),
            date_format=dict(fmt),
            scale=_scale(spec, here),
        )
    for req in ("reps", "opportunities"):
        if req not in tables:
            raise SpmError(f"{where}: the mapping must describe table {req!r}")
    timezone = str(raw.get("timezone", "UTC"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SpmError(
            f"{where}: unknown time zone {timezone!r}; use an IANA name such as UTC, "
            "Europe/Paris or America/New_York"
        ) from None
    infer = raw.get("infer")
    if infer is not None and str(infer) not in INFERENCES:
        raise SpmError(f"{where}: unknown `infer: {infer}`; valid: {', '.join(INFERENCES)}")
    return Mapping(
        infer=None if infer is None else str(infer),
        name=str(raw.get("name", file)),
        tables=tables,
        dataset=raw.get("dataset"),
        timezone=timezone,
        description=str(raw.get("description", "")),
        file=file,
    )


def _scale(spec: dict, where: str) -> dict[str, float]:
    scale = _typed(spec, "scale", dict, where, {})
    bad = {k: v for k, v in scale.items() if isinstance(v, bool) or not isinstance(v, (int, float))}
    if bad:
        raise SpmError(f"{where}: `scale` factors must be numbers, got {bad!r}")
    return {str(k): float(v) for k, v in scale.items()}


# --- applying -----------------------------------------------------------------------------------


def slugify(names: pd.Series) -> pd.Series:
    """Deterministic ids from names: ASCII, lower case, runs of other characters as ``-``.

    Examples
    --------
    >>> slugify(pd.Series(["Ada Lovelace", " José  Núñez ", None], dtype="string")).tolist()
    ['ada-lovelace', 'jose-nunez', <NA>]
    """

    def one(name: str) -> str:
        text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")

    text = names.astype("string")
    uniques = text.dropna().unique()
    return text.map(dict(zip(uniques, (one(str(u)) for u in uniques), strict=False))).astype(
        "string"
    )


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


def _lookup_table(source, spec: dict, problems: list) -> dict:
    """``{key: value}`` from the lookup file; a missing file or column is an error (and {})."""
    for part in ("file", "key", "value"):
        if part not in spec:
            raise SpmError(f"mapping: a lookup needs file, key and value; {part!r} is missing")
    frame = source.read(spec["file"])
    label = source.label(spec["file"])
    if frame is None:
        problems.append(
            Problem(
                label,
                None,
                f"lookup file {spec['file']!r} is missing",
                hint=f"Put it in {source.location}, or change the mapping's lookup",
            )
        )
        return {}
    table = {}
    for col in (spec["key"], spec["value"]):
        if col not in frame.columns:
            problems.append(
                Problem(
                    label,
                    col,
                    f"lookup column {col!r} is missing",
                    hint="Export it, or change the mapping's lookup",
                )
            )
            return table
    return dict(zip(_text(frame[spec["key"]]), frame[spec["value"]], strict=False))


def _warn(
    problems: list, file: str, column: str | None, rule: str, rows: tuple = (), hint: str = ""
):
    problems.append(Problem(file, column, rule, rows, hint, "warning"))


def _col(tm: TableMapping, target: str) -> str:
    """The column as the user knows it: ``Source (model)``."""
    src = tm.columns.get(target)
    return f"{src} ({target})" if src and src != target else target


def _n(mask: pd.Series) -> str:
    n = int(mask.sum())
    return f"{n:,} row{'' if n == 1 else 's'}"


def _rows(mask: pd.Series) -> tuple[str, ...]:
    return tuple(f"row {int(i) + 1}" for i in mask[mask].index[:5])


def _build_table(name: str, tm: TableMapping, source, problems: list) -> pd.DataFrame | None:
    """The raw model table ``name`` built from its source file (index = source row positions)."""
    src = source.read(tm.file)
    file = source.label(tm.file)
    where = f"{file} (mapped to {name})"
    if src is None:
        if not tm.optional:
            problems.append(
                Problem(
                    file,
                    None,
                    f"source file {tm.file!r} for table {name} is missing",
                    hint=f"Put {tm.file} in {source.location}, or check the mapping's `file:`",
                )
            )
        return None
    src = src.reset_index(drop=True)
    # 1. keep
    for col, allowed in tm.keep.items():
        if col not in src.columns:
            log.info("%s: no column %r; keep rule not applied", where, col)
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
    closed_col, won_col = tm.flags.get("closed"), tm.flags.get("won")
    if tm.flags and tm.flags.get("optional") and not {closed_col, won_col} & set(src.columns):
        log.info("%s: no flag columns %r, %r; status not from flags", where, closed_col, won_col)
    elif tm.flags:
        for col in (closed_col, won_col):
            if col not in src.columns:
                problems.append(
                    Problem(
                        file,
                        col,
                        f"flag column {col!r} is missing",
                        hint="Export it, or remove `flags:` from the mapping",
                    )
                )
        if closed_col in src.columns and won_col in src.columns:
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
    # 4. values
    for target, recode in tm.values.items():
        if target in out.columns:
            text = _text(out[target])
            out[target] = text.where(~text.isin(list(recode)), text.map(recode))
    for target, factor in tm.scale.items():
        if target in out.columns:
            out[target] = _scaled(out[target], factor)
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
            filler = _text(src[spec["column"]]) if spec["column"] in src.columns else current
            how = f"from column {spec['column']!r}"
        elif "lookup" in spec:
            lk = spec["lookup"]
            if lk.get("match") not in out.columns:
                raise SpmError(
                    f"mapping, table {name}: the lookup filling {target} needs `match:` naming "
                    f"a mapped column (one of {', '.join(out.columns)})"
                )
            filler = _text(out[lk["match"]]).map(_lookup_table(source, lk, problems))
            filler = filler.astype("string")
            how = f"from {lk['file']} ({lk['key']} -> {lk['value']}, matched on {lk['match']})"
        else:
            raise SpmError(f"mapping, table {name}: fill of {target} needs value, column or lookup")
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
    # 7. ids from names
    for target in tm.ids_from_names:
        if target in out.columns:
            out[target] = slugify(_text(out[target]))
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
    if tm.order_by and tm.order_by in out.columns:
        key = pd.to_datetime(_text(out[tm.order_by]), errors="coerce", utc=True, format="ISO8601")
        out = out.loc[key.sort_values(kind="stable").index]
    if tm.distinct:
        before = len(out)
        out = out.drop_duplicates(subset=[c for c in tm.distinct if c in out.columns])
        log.info("%s: %d rows, %d distinct by %s", where, before, len(out), list(tm.distinct))
    return out


def _scaled(values: pd.Series, factor: float) -> pd.Series:
    """Numbers times ``factor``; other text is kept as it is (and reported when typed).

    Examples
    --------
    >>> _scaled(pd.Series(["20", " 7.5", "n/a", None], dtype="string"), 0.01).tolist()
    [0.2, 0.075, 'n/a', <NA>]
    """
    number = pd.to_numeric(_text(values), errors="coerce")
    out = values.astype(object).copy()
    out[number.notna()] = (number[number.notna()] * factor).to_numpy()
    return out


def _dataset_settings(mapping: Mapping, source) -> tuple[dict | None, str]:
    """The user's dataset settings: the mapping's ``dataset:`` with the folder's ``dataset.yml``
    (or a database's ``dataset_config``) over it, key by key; and where they came from."""
    folder, folder_file = source.config()
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


def apply_mapping(mapping: Mapping, source):
    """Build the raw model tables from ``source`` (a :class:`spmlib.io.load.Source`) with
    ``mapping``.

    Returns a :class:`spmlib.io.load.RawData` whose ``problems`` hold the mapping's errors (missing
    files or flag columns) and warnings (every fill, exclusion and unmatched lookup, counted).
    With ``infer:``, the stage settings come from the export (:mod:`spmlib.io.infer`); the
    decisions are in ``inferences``.
    """
    from spmlib.io.sources import RawData

    problems: list[Problem] = []
    tables, files, columns, formats = {}, {}, {}, {}
    for name, tm in mapping.tables.items():
        frame = _build_table(name, tm, source, problems)
        files[name] = source.label(tm.file)
        if frame is None:
            continue
        tables[name] = frame
        columns[name] = dict(tm.columns)
        if tm.date_format:
            formats[name] = dict(tm.date_format)
    unique = list(dict.fromkeys(problems))  # two tables from one file repeat their file's rules
    problems = unique
    config, config_file = _dataset_settings(mapping, source)
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
    )
