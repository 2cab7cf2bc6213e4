"""Writing files so that a reader never sees half of one: write beside it, then rename.

Every file spmlib writes for someone else to read (reports, manifests, snapshots, mail outboxes)
goes through these helpers.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_write_text",
    "atomic_write_json",
    "FORMULA_START",
    "escape_cell",
    "unescape_cell",
    "csv_text",
    "point_to",
    "follow_pointer",
]


def _temp_path(path: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    return Path(name)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    return atomic_write_text(path, json.dumps(data, indent=1, default=str) + "\n")


def point_to(link: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Make ``link`` point at the folder ``target`` (a sibling of ``link``), atomically: a
    relative symlink, or, on a filesystem without symlinks (some network and Windows shares), a
    small text file holding the target's name, which :func:`follow_pointer` understands.

    Raises
    ------
    IsADirectoryError
        When ``link`` is a real folder (never replaced).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()).resolve()
    >>> (root / "run-1").mkdir()
    >>> follow_pointer(point_to(root / "latest", root / "run-1")).resolve() == root / "run-1"
    True
    """
    link, target = Path(link), Path(target)
    if link.is_dir() and not link.is_symlink():
        raise IsADirectoryError(f"{link} is a folder; it is not replaced by a link to {target}")
    name = os.path.relpath(target, link.parent)
    tmp = link.parent / f".{link.name}.tmp-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(name, tmp)
    except (OSError, NotImplementedError):
        tmp.write_text(name + "\n", encoding="utf-8")
    os.replace(tmp, link)
    return link


def follow_pointer(path: str | os.PathLike[str]) -> Path:
    """Where ``path`` leads: a pointer file written by :func:`point_to` on a filesystem without
    symlinks leads to the folder it names (a plain name beside it, nothing else is followed);
    any other path (a symlink, a folder) is returned as it is."""
    path = Path(path)
    if path.is_file() and not path.is_symlink() and path.stat().st_size < 4096:
        try:
            name = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return path
        if name and name == Path(name).name and name not in (".", ".."):
            return path.parent / name
    return path


#: First characters that make a spreadsheet read a text cell as a formula (OWASP's list for CSV
#: injection: ``=``, ``+``, ``-``, ``@``, tab and carriage return).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    """A value for a CSV cell that no spreadsheet runs as a formula: text that starts with one
    of :data:`FORMULA_START` gets a leading ``'`` (which Excel, LibreOffice and Google Sheets
    show as text and hide); anything else, numbers included, is returned as it is.

    Examples
    --------
    >>> print(escape_cell('=HYPERLINK("http://x")'), escape_cell("Ann"), escape_cell("-1+2"))
    '=HYPERLINK("http://x") Ann '-1+2
    >>> escape_cell(-1.5), escape_cell(None)
    (-1.5, None)
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    """The text :func:`escape_cell` was given (for reading a file it wrote back).

    >>> unescape_cell("'=1+1"), unescape_cell("'quoted"), unescape_cell("Ann")
    ('=1+1', "'quoted", 'Ann')
    """
    if value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def csv_text(frame, **to_csv) -> str:
    """``frame`` as CSV text for people to open in a spreadsheet, every text cell escaped with
    :func:`escape_cell` (CSV injection). Numbers, dates and booleans are written as they are,
    also in a column that mixes them with text.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"name": ["=1+1", "Ann"], "x": [-1.5, 2.0], "mixed": ["-x", -3]})
    >>> print(csv_text(frame), end="")
    name,x,mixed
    '=1+1,-1.5,'-x
    Ann,2.0,-3
    """
    import pandas as pd
    from pandas.api import types

    out = frame.copy()
    for col in out.columns:
        column = out[col]
        kind = column.dtype
        if types.is_numeric_dtype(kind) or types.is_datetime64_any_dtype(kind):
            continue
        if types.is_bool_dtype(kind) or types.is_timedelta64_dtype(kind):
            continue
        if isinstance(kind, pd.CategoricalDtype):
            column = column.astype(object)
        out[col] = column.map(escape_cell)
    return out.to_csv(index=False, **to_csv)
