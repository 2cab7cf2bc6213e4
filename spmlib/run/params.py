"""Report parameters as data: YAML layers, merged in order, checked against the notebook.

A report's parameters come from layers, later ones winning: ``params/defaults.yml``, the batch
spec entry's ``parameters``, ``params/teams/<team>.yml``, ``params/reps/<rep_id>.yml``, then the
scope itself (``team``, ``rep_id``) and the batch's data snapshot. A layer file holds parameters
at its top level, and optionally a ``notebooks:`` section with parameters for one notebook only::

    start: 2025-01-01            # every report
    notebooks:
      forecast: {horizon_months: 6}   # only notebooks/forecast.ipynb

Dates written in YAML (``2025-01-01``) stay the text written (``"2025-01-01"``), since notebook
date parameters are strings or None; the parameter check parses them.

Before anything runs, each merged set is checked against the notebook's cell tagged
``parameters`` (papermill itself only warns about unknown names): an unknown key, or a value whose
type does not match the default's, is a :class:`ParameterError` naming the layer file and the key.
Type rules: a ``None`` default accepts a string or None; an ``int`` default an int; a ``float``
default an int or a float; ``str``, ``bool``, ``list`` and ``dict`` defaults their own type.
"""

from __future__ import annotations

import ast
import io
import logging
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

from spmlib.exceptions import MissingFileError, ParameterError

__all__ = [
    "NotebookParameter",
    "Layer",
    "notebook_parameters",
    "read_layer",
    "load_yaml",
    "merge_layers",
    "check_parameters",
    "parse_cli_value",
    "NOTEBOOKS_KEY",
]

log = logging.getLogger(__name__)

#: The section of a layer file that holds per-notebook parameters.
NOTEBOOKS_KEY = "notebooks"


@dataclass(frozen=True)
class NotebookParameter:
    """One assignment of a notebook's ``parameters`` cell.

    Attributes
    ----------
    name : the variable name.
    default : the default value (a Python literal).
    type_name : ``type(default).__name__`` ("NoneType" for None), or "unknown" when the default
        is an expression rather than a literal (any value is then accepted).
    help : the trailing ``# comment``, or "".
    """

    name: str
    default: Any
    type_name: str
    help: str = ""


@dataclass(frozen=True)
class Layer:
    """One source of parameters: where it came from (shown in errors) and its values."""

    source: str
    values: dict[str, Any]


def notebook_parameters(
    notebook: str | Path | nbformat.NotebookNode,
) -> dict[str, NotebookParameter]:
    """The parameters declared in a notebook's cell tagged ``parameters``, in order.

    Parsed with :mod:`ast` (papermill's line-based parser gives up on some comments), so any
    valid Python is understood; a default that is not a literal has type "unknown".

    Raises
    ------
    MissingFileError : when the notebook does not exist.
    ParameterError : when there is no cell tagged ``parameters``, or it is not valid Python.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook()
    >>> code = "team = None  # a team\\nn = 3"
    >>> nb.cells = [nbformat.v4.new_code_cell(code, metadata={"tags": ["parameters"]})]
    >>> [(p.name, p.type_name, p.help) for p in notebook_parameters(nb).values()]
    [('team', 'NoneType', 'a team'), ('n', 'int', '')]
    """
    if isinstance(notebook, nbformat.NotebookNode):
        nb, label = notebook, "the notebook"
    else:
        path = Path(notebook)
        if not path.exists():
            raise MissingFileError(f"notebook {str(path)!r} does not exist")
        nb, label = nbformat.read(str(path), as_version=4), str(path)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise ParameterError(
            f"{label} has no cell tagged 'parameters'; tag the cell holding the defaults"
        )
    source = cells[0].source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError(f"{label}: the parameters cell is not valid Python ({exc})") from exc
    comments = _line_comments(source)
    found: dict[str, NotebookParameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        try:
            default = ast.literal_eval(value)
            type_name = type(default).__name__
        except ValueError:
            default, type_name = ast.get_source_segment(source, value), "unknown"
        found[target.id] = NotebookParameter(
            target.id, default, type_name, comments.get(node.end_lineno or node.lineno, "")
        )
    return found


def _line_comments(source: str) -> dict[int, str]:
    out: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.string.lstrip("#").strip()
    except tokenize.TokenError:  # pragma: no cover - ast.parse succeeded already
        pass
    return out


class _NoDatesLoader(yaml.SafeLoader):
    """YAML without implicit dates: ``2025-01-01`` stays the text written (as papermill reads
    parameter files), so a date that does not exist (``2025-02-30``) reaches the parameter
    check, which names its key, instead of failing the YAML parser."""


_NoDatesLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _str_keys(value: Any) -> Any:
    """Mapping keys as text, recursively (``2025: x`` gives the key ``"2025"``)."""
    if isinstance(value, dict):
        return {str(k): _str_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_str_keys(v) for v in value]
    return value


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping (an empty file is ``{}``), dates as the text written.

    Raises
    ------
    ParameterError : when the file is not valid YAML or not a mapping.
    """
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_NoDatesLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML ({exc})") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ParameterError(f"{path}: must be a mapping of parameter names to values")
    return _str_keys(raw)


def read_layer(
    path: str | Path, notebook: str | None = None, label: str | None = None
) -> Layer | None:
    """The parameters a layer file gives a notebook: its top-level keys, then its
    ``notebooks: {<notebook>: {...}}`` section. None when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return None
    raw = load_yaml(path)
    values = {k: v for k, v in raw.items() if k != NOTEBOOKS_KEY}
    section = raw.get(NOTEBOOKS_KEY) or {}
    if not isinstance(section, dict):
        raise ParameterError(f"{path}: '{NOTEBOOKS_KEY}' must map notebook names to parameters")
    if notebook is not None:
        own = section.get(notebook) or {}
        if not isinstance(own, dict):
            raise ParameterError(f"{path}: '{NOTEBOOKS_KEY}.{notebook}' must be a mapping")
        values.update(own)
    return Layer(label or str(path), values)


def merge_layers(layers: Iterable[Layer | None]) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge layers in order (later wins). Returns the values and, per key, the layer it came from.

    Examples
    --------
    >>> layers = [Layer("defaults.yml", {"a": 1, "b": 2}), None, Layer("teams/X.yml", {"b": 3})]
    >>> merge_layers(layers)
    ({'a': 1, 'b': 3}, {'a': 'defaults.yml', 'b': 'teams/X.yml'})
    """
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for layer in layers:
        if layer is None:
            continue
        for key, value in layer.values.items():
            values[key] = value
            origin[key] = layer.source
    return values, origin


def _type_ok(value: Any, declared: NotebookParameter) -> bool:
    kind = declared.type_name
    if kind == "unknown":
        return True
    if kind == "NoneType":
        return value is None or isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    expected = {"str": str, "list": list, "dict": dict, "tuple": (list, tuple)}.get(kind)
    return isinstance(value, expected) if expected is not None else True


def check_parameters(
    values: Mapping[str, Any],
    declared: Mapping[str, NotebookParameter],
    origin: Mapping[str, str] | None = None,
    notebook: str = "the notebook",
) -> list[str]:
    """Every problem of ``values`` against the declared parameters, one sentence each.

    An empty list means the set is fine. Each sentence names the layer the key came from.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook()
    >>> code = "team = None\\nn = 3"
    >>> nb.cells = [nbformat.v4.new_code_cell(code, metadata={"tags": ["parameters"]})]
    >>> origin = {"tem": "x.yml", "n": "y.yml"}
    >>> declared = notebook_parameters(nb)
    >>> for problem in check_parameters({"tem": "A", "n": "3"}, declared, origin, "nb"):
    ...     print(problem)
    x.yml: unknown parameter 'tem' for nb (its parameters: team, n)
    y.yml: parameter 'n' must be int (the default is 3), got str '3'
    """
    origin = origin or {}
    problems: list[str] = []
    for key, value in values.items():
        where = origin.get(key, "parameters")
        if key not in declared:
            problems.append(
                f"{where}: unknown parameter {key!r} for {notebook} "
                f"(its parameters: {', '.join(declared)})"
            )
            continue
        spec = declared[key]
        if not _type_ok(value, spec):
            want = "str or None" if spec.type_name == "NoneType" else spec.type_name
            problems.append(
                f"{where}: parameter {key!r} must be {want} (the default is {spec.default!r}), "
                f"got {type(value).__name__} {value!r}"
            )
    return problems


def parse_cli_value(text: str, declared: NotebookParameter | None = None) -> Any:
    """A ``-p KEY VALUE`` value, typed by the parameter it sets.

    A parameter whose default is text or None (ids, dates, names: ``rep_id``, ``team``,
    ``start``) takes the text as written, so ``-p rep_id 007`` stays ``"007"``; only ``None`` /
    ``null`` mean None there. Any other parameter (or one the notebook does not declare) is typed
    like papermill's CLI does: None, bools, ints, floats, or the text itself.

    Examples
    --------
    >>> [parse_cli_value(v) for v in ["None", "true", "12", "0.5", "2025-01-01", "Atlas"]]
    [None, True, 12, 0.5, '2025-01-01', 'Atlas']
    >>> rep_id = NotebookParameter("rep_id", None, "NoneType")
    >>> parse_cli_value("007", rep_id), parse_cli_value("None", rep_id)
    ('007', None)
    >>> parse_cli_value("1e3", NotebookParameter("label", "hello", "str"))
    '1e3'
    """
    lowered = text.strip().lower()
    if declared is not None and declared.type_name in ("str", "NoneType"):
        if declared.type_name == "NoneType" and lowered in ("none", "null"):
            return None
        return text
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text
