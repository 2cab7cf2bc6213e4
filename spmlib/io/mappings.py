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

import difflib
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from spmlib.exceptions import SpmError, UnknownNameError
from spmlib.io.infer import INFERENCES
from spmlib.io.readers import READ_KEYS, ReadOptions
from spmlib.io.schema import TABLES
from spmlib.io.yamltext import read_yaml

__all__ = [
    "Mapping",
    "TableMapping",
    "list_mappings",
    "load_mapping",
    "mapping_text",
    "parse_mapping",
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
    *READ_KEYS,
}
_TOP_KEYS = {"name", "description", "dataset", "timezone", "tables", "infer", *READ_KEYS}
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
    #: How to read this table's file (``encoding``, ``delimiter``, ``decimal``, ``sheet``),
    #: over the mapping's own; None to use the mapping's.
    read: ReadOptions | None = None


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
    #: How to read the export's files (top-level ``encoding``, ``delimiter``, ``decimal``,
    #: ``sheet``); what is not given is detected.
    read_options: ReadOptions = field(default_factory=ReadOptions)
    #: What the user should know about how the mapping was found (a path that looked like
    #: a preset name, or the reverse).
    notes: tuple[str, ...] = ()


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

    A name that is both a mapping name and an existing path is read from the path only when the
    path is a mapping *file*; a folder (e.g. an export folder called ``hubspot`` in the working
    directory) never hides the preset. Either way the other candidate is named in
    ``Mapping.notes``, which ``spm validate`` prints.

    Raises
    ------
    UnknownNameError
        For a name that is neither a preset nor an existing file (lists the presets).
    SpmError
        For a mapping file with unknown keys or tables, a rule of the wrong shape, or a missing
        ``file``.
    """
    if isinstance(name_or_path, Mapping):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    named = _named()
    if path.is_file():
        notes = ()
        if text in named:
            notes = (f"mapping {text!r} read from the file {path.resolve()}, not the preset of "
                     "that name (rename the file to use the preset)",)  # fmt: skip
        return replace(_parse_file(path), notes=notes)
    if text in named:
        notes = ()
        if path.exists():
            notes = (f"mapping {text!r} is the preset; {path.resolve()} is a folder, not a "
                     "mapping file, so it was not used",)  # fmt: skip
        mapping = parse_mapping(_read_yaml(named[text].read_text(), f"mapping {text}"), file=text)
        return replace(mapping, notes=notes)
    if path.suffix.lower() in (".yml", ".yaml") or path.exists():
        what = "is a folder, not a mapping file" if path.is_dir() else "does not exist"
        raise SpmError(
            f"mapping file {text!r} {what}; give a preset name ({', '.join(sorted(named))}) "
            "or a YAML mapping file"
        )
    raise UnknownNameError("mapping", text, list(named))


def _parse_file(path: Path) -> Mapping:
    from spmlib.io.readers import decode_text

    try:
        text, _encoding = decode_text(path.read_bytes())
    except (OSError, UnicodeDecodeError) as exc:
        raise SpmError(f"mapping {path} cannot be read: {exc}") from None
    return parse_mapping(_read_yaml(text, f"mapping {path}"), file=str(path))


def _read_yaml(text: str, where: str) -> dict:
    try:
        raw = read_yaml(text)
    except yaml.YAMLError as exc:
        raise SpmError(f"{where} is not valid YAML: {exc}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpmError(f"{where} must be a YAML mapping with `tables:` (see the README)")
    return raw


_SCALAR = (str, int, float, bool)
_SHAPES = {
    "columns": "a mapping {model column: source column}",
    "constants": "a mapping {model column: value}",
    "keep": "a mapping {source column: [values to keep]}",
    "flags": "a mapping {closed: source column, won: source column, optional: true|false}",
    "values": "a mapping {model column: {source value: model value}}",
    "lookups": "a mapping {model column: {file: F, key: K, value: V}}",
    "fill": "a mapping {model column: {value: V | column: C | lookup: {...}, reason: R}}",
    "ids_from_names": "a list [model columns]",
    "drop_missing": "a mapping {model column: reason}",
    "order_by": "a model column name",
    "distinct": "a list [model columns]",
    "date_format": "a strptime format, or a mapping {model column: format}",
    "scale": "a mapping {model column: number}",
    "optional": "true or false",
    "file": "a file name",
}


def _check_shape(key: str, value: Any, here: str) -> Any:
    """``value`` of rule ``key`` if it has the rule's shape (:data:`_SHAPES`); else SpmError
    naming the table, the rule (and the entry) and what it should look like."""

    def wrong(shown, entry=None):
        of = f" of {entry!r}" if entry is not None else ""
        return SpmError(
            f"{here}: `{key}`{of} has the wrong shape: {shown!r}; `{key}` must be {_SHAPES[key]}"
        )

    def scalar(v):
        return isinstance(v, _SCALAR)

    whole = {
        "file": lambda v: isinstance(v, str) and v.strip() != "",
        "optional": lambda v: isinstance(v, bool),
        "ids_from_names": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "distinct": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "order_by": lambda v: isinstance(v, str),
        "date_format": lambda v: isinstance(v, (str, dict)),
        "flags": lambda v: (
            isinstance(v, dict)
            and set(v) <= {"closed", "won", "optional"}
            and isinstance(v.get("closed"), str)
            and isinstance(v.get("won"), str)
            and isinstance(v.get("optional", False), bool)
        ),
    }
    entry = {
        "columns": lambda v: isinstance(v, (str, int)) and not isinstance(v, bool),
        "constants": scalar,
        "keep": lambda v: isinstance(v, list) and all(scalar(y) for y in v),
        "values": lambda v: isinstance(v, dict) and all(scalar(y) for y in v.values()),
        "lookups": _is_lookup,
        "fill": _is_fill,
        "drop_missing": scalar,
        "date_format": lambda v: isinstance(v, str),
        "scale": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    }
    if key in whole and not whole[key](value):
        raise wrong(value)
    if key in entry:
        if not isinstance(value, dict) and key != "date_format":
            raise wrong(value)
        for col, rule in value.items() if isinstance(value, dict) else ():
            if not entry[key](rule):
                raise wrong(rule, col)
    return value


def _is_lookup(spec: Any, match: bool = False) -> bool:
    need = {"file", "key", "value"} | ({"match"} if match else set())
    return (
        isinstance(spec, dict)
        and need <= set(spec)
        and set(spec) <= need | {"match"}
        and all(isinstance(spec[k], str) for k in need)
    )


def _is_fill(spec: Any) -> bool:
    if not isinstance(spec, dict) or not set(spec) <= {"value", "column", "lookup", "reason"}:
        return False
    how = [k for k in ("value", "column", "lookup") if k in spec]
    if len(how) != 1:
        return False
    if how == ["value"]:
        return isinstance(spec["value"], _SCALAR)
    if how == ["column"]:
        return isinstance(spec["column"], str)
    return _is_lookup(spec["lookup"], match=True)


def _read_options(spec: dict, where: str, base: ReadOptions | None = None) -> ReadOptions:
    bad = ReadOptions.check(spec)
    if bad:
        raise SpmError(f"{where}: " + "; ".join(bad.values()))
    return ReadOptions.from_settings(spec, base)


def _unknown(keys, valid, where: str, what: str) -> None:
    bad = sorted(str(k) for k in set(keys) - set(valid))
    if not bad:
        return
    hints = []
    for key in bad:
        close = difflib.get_close_matches(key, sorted(valid), n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise SpmError(f"{where}: unknown {what} {', '.join(hints)}; valid: {sorted(valid)}")


def parse_mapping(raw: dict, file: str = "<mapping>") -> Mapping:
    """Check and parse the content of a mapping YAML file (see the module notes).

    Raises
    ------
    SpmError
        For an unknown key or table, a missing ``file``, or a rule of the wrong shape (naming
        the table, the rule and the shape it needs).
    """
    where = f"mapping {file}"
    _unknown(raw, _TOP_KEYS, where, "key(s)")
    top_read = _read_options(raw, where)
    tables_raw = raw.get("tables") or {}
    if not isinstance(tables_raw, dict):
        raise SpmError(f"{where}: `tables` must be a mapping {{model table: rules}}")
    dataset = raw.get("dataset")
    if dataset is not None and not isinstance(dataset, dict):
        raise SpmError(f"{where}: `dataset` must be a mapping of dataset.yml settings")
    tables = {}
    for name, spec in tables_raw.items():
        if name not in TABLES:
            _unknown([name], TABLES, where, "table")
        here = f"{where}, table {name}"
        if not isinstance(spec, dict):
            raise SpmError(f"{here}: give its rules as a mapping with at least `file:`")
        _unknown(spec, _TABLE_KEYS, here, "key(s)")
        if "file" not in spec:
            raise SpmError(f"{here}: say which source file it comes from (`file:`)")
        rules = {k: _check_shape(k, v, here) for k, v in spec.items() if k not in READ_KEYS}
        fmt = rules.get("date_format") or {}
        if isinstance(fmt, str):
            fmt = {c: fmt for c, k in TABLES[name].columns.items() if k == "date"}
        read = _read_options(spec, here, top_read) if set(spec) & set(READ_KEYS) else None
        tables[name] = TableMapping(
            file=str(spec["file"]),
            optional=bool(rules.get("optional", False)),
            columns={str(k): str(v) for k, v in (rules.get("columns") or {}).items()},
            constants=dict(rules.get("constants") or {}),
            keep={str(k): [str(x) for x in v] for k, v in (rules.get("keep") or {}).items()},
            flags=dict(rules.get("flags") or {}),
            values={
                k: {str(a): str(b) for a, b in v.items()}
                for k, v in (rules.get("values") or {}).items()
            },
            lookups=dict(rules.get("lookups") or {}),
            fill=dict(rules.get("fill") or {}),
            ids_from_names=tuple(rules.get("ids_from_names") or ()),
            drop_missing={str(k): str(v) for k, v in (rules.get("drop_missing") or {}).items()},
            order_by=rules.get("order_by"),
            distinct=tuple(rules.get("distinct") or ()),
            date_format=dict(fmt),
            scale={str(k): float(v) for k, v in (rules.get("scale") or {}).items()},
            read=read,
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
        dataset=dataset,
        timezone=timezone,
        description=str(raw.get("description", "")),
        file=file,
        read_options=top_read,
    )
