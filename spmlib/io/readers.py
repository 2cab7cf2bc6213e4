"""Reading one table file as text: CSV in any common encoding and delimiter, Excel, Parquet.

Every reader of raw tables (the pandas loader through :class:`spmlib.io.sources.Source`, the
engines' typed copies in :mod:`spmlib.engine.prepare`) goes through :func:`read_file`, so that
what one accepts the other accepts too.

* **CSV** (``.csv``, ``.tsv``, ``.txt``): every column as text (pandas ``string``); only an empty
  field is missing. The *encoding* is UTF-8 unless a byte-order mark says otherwise (UTF-8 with
  BOM, UTF-16, UTF-32); a file that is not valid UTF-8 is detected with charset-normalizer on its
  non-ASCII lines (Windows-1252, Excel's default in Western Europe and the Americas, wins among
  equally likely Western encodings). The *delimiter* is detected from the first lines among
  ``,``, ``;``, tab and ``|``; with a delimiter other than a comma, a *decimal comma*
  (``1234,56``, ``1.234,56``) is detected from the values. ``encoding:``, ``delimiter:`` and
  ``decimal:`` (in ``dataset.yml`` or a mapping) fix them instead of detecting.
* **Excel** (``.xlsx``, ``.xlsm``, ``.xls``, ``.ods``), read with python-calamine: the first sheet
  (or ``sheet:``), the first row as header; numbers as written (``1001``, not ``1001.0``), dates
  as ISO dates, true/false flags as ``true``/``false``.
* **Parquet** (a file, or a folder of parts): columns keep their types, integers with missing
  values stay integers (so an id ``7`` is never read as ``7.0``).

Whatever was detected rather than given is returned as a *note* (:meth:`FileFormat.notes`), so
the user sees which encoding, delimiter and decimal mark were used. A file that cannot be read
(corrupt Parquet, undecodable text, a folder named like a file) raises a
:class:`~spmlib.exceptions.DataValidationError` with one problem naming it; callers collect it
with the dataset's other problems. Duplicate column names are an error naming the columns.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from spmlib.exceptions import DataValidationError, Problem

__all__ = [
    "READ_KEYS",
    "CSV_SUFFIXES",
    "EXCEL_SUFFIXES",
    "ReadOptions",
    "FileFormat",
    "find_table",
    "read_file",
    "decode_text",
    "align_headers",
    "normal_header",
    "unique_columns",
]

log = logging.getLogger(__name__)

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
#: The file kinds a table may come in, in the order a folder is searched for table ``X``.
TABLE_SUFFIXES = (".parquet", *CSV_SUFFIXES, *EXCEL_SUFFIXES)
#: Settings (in ``dataset.yml`` or a mapping) that say how files are read instead of detecting.
READ_KEYS = ("encoding", "delimiter", "decimal", "sheet")
#: The delimiters detected, and the names they may be given by.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
#: How much of a CSV file's start is read to detect its delimiter and decimal mark.
_HEAD_BYTES = 256 * 1024
_HEAD_LINES = 200
#: At most this much of a non-UTF-8 file's non-ASCII lines is given to charset-normalizer.
_DETECT_BYTES = 2 * 1024 * 1024
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: Encodings charset-normalizer cannot tell apart on a few accented Latin letters; Excel's
#: default (Windows-1252) is taken when it reads the file as well as the best guess.
_WESTERN = "cp1252"
_COMMA_NUMBER = re.compile(r"^\s*[-+]?(?:\d{1,3}(?:[.\s\u00a0\u202f]\d{3})+|\d+),\d+\s*$")
_DOT_NUMBER = re.compile(r"^\s*[-+]?\d*\.\d+\s*$")
_GROUPED = re.compile(r"^\s*[-+]?\d{1,3}(?:\.\d{3})+\s*$")


@dataclass(frozen=True)
class ReadOptions:
    """How to read files, when it should not be detected (``dataset.yml`` or mapping keys).

    Attributes
    ----------
    encoding : a Python codec name (``utf-8``, ``cp1252``, ``latin-1``, ``utf-16``...).
    delimiter : ``,``, ``;``, tab (``"\\t"`` or ``tab``) or ``|``.
    decimal : ``.`` or ``,`` (the decimal mark of numbers in the file).
    sheet : the Excel sheet to read (default: the first).
    """

    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    sheet: str | None = None

    @staticmethod
    def check(raw: Mapping[str, Any]) -> dict[str, str]:
        """Problems of the read settings in ``raw``, as ``{key: sentence}`` (empty when fine).

        Examples
        --------
        >>> ReadOptions.check({"encoding": "latin-1", "delimiter": ";", "decimal": ","})
        {}
        >>> sorted(ReadOptions.check({"encoding": "klingon", "decimal": "'"}))
        ['decimal', 'encoding']
        """
        out = {}
        enc = raw.get("encoding")
        if enc is not None:
            try:
                codecs.lookup(str(enc))
            except LookupError:
                out["encoding"] = (
                    f"unknown encoding {enc!r}; use a Python codec name such as utf-8, cp1252, "
                    "latin-1 or utf-16"
                )
        delim = raw.get("delimiter")
        if delim is not None and _delimiter(str(delim)) is None:
            out["delimiter"] = (
                f"delimiter {delim!r} is not one of: comma (,), semicolon (;), tab, pipe (|)"
            )
        dec = raw.get("decimal")
        if dec is not None and str(dec) not in (".", ","):
            out["decimal"] = f"decimal {dec!r} must be '.' or ','"
        sheet = raw.get("sheet")
        if sheet is not None and not isinstance(sheet, (str, int)):
            out["sheet"] = f"sheet {sheet!r} must be a sheet name"
        return out

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any] | None, base: ReadOptions | None = None):
        """The options given in ``raw`` (valid ones; see :meth:`check`) over ``base``."""
        base = base or cls()
        raw = raw or {}
        bad = cls.check(raw)
        given = {k: str(raw[k]) for k in READ_KEYS if raw.get(k) is not None and k not in bad}
        if "delimiter" in given:
            given["delimiter"] = _delimiter(given["delimiter"])
        return replace(base, **given)


def _delimiter(text: str) -> str | None:
    if text in DELIMITERS:
        return text
    return _DELIMITER_NAMES.get(text.strip().lower())


@dataclass(frozen=True)
class FileFormat:
    """How a file was read.

    Attributes
    ----------
    file : the file's name (as shown in problems).
    kind : ``csv``, ``excel`` or ``parquet``.
    encoding, delimiter, decimal : for CSV (``decimal`` for Excel text numbers too).
    sheet : the Excel sheet read; ``other_sheets`` the workbook's other sheets.
    detected : which of encoding, delimiter, decimal (and sheet) were detected rather than
        given.
    """

    file: str
    kind: str
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    sheet: str | None = None
    detected: tuple[str, ...] = ()
    other_sheets: tuple[str, ...] = ()

    def notes(self) -> list[Problem]:
        """What the user should know about how the file was read: an encoding other than
        UTF-8, a delimiter other than a comma, a decimal comma, the sheet of a workbook with
        several (severity ``note``).

        Examples
        --------
        >>> fmt = FileFormat("deals.csv", "csv", "cp1252", ";", ",", detected=("encoding",
        ...     "delimiter", "decimal"))
        >>> [p.rule for p in fmt.notes()]  # doctest: +NORMALIZE_WHITESPACE
        ['read as cp1252 (Windows Western European), not UTF-8 (detected)',
         'read as semicolon-delimited (detected)',
         'numbers read with a decimal comma (1234,56), points or spaces grouping thousands
          (detected)']
        """
        out = []

        def how(key: str) -> str:
            return "detected" if key in self.detected else "as set"

        def hint(key: str) -> str:
            if key in self.detected:
                return f"If this is wrong, set `{key}:` in dataset.yml or the mapping"
            return ""

        if self.kind == "csv":
            if self.encoding.replace("_", "-").lower() not in ("utf-8", "utf8", "ascii"):
                name = _ENCODING_NAMES.get(codecs.lookup(self.encoding).name, "")
                label = f"{self.encoding} ({name})" if name else self.encoding
                out.append(
                    Problem(
                        self.file,
                        None,
                        f"read as {label}, not UTF-8 ({how('encoding')})",
                        hint=hint("encoding"),
                        severity="note",
                    )
                )
            if self.delimiter != ",":
                out.append(
                    Problem(
                        self.file,
                        None,
                        f"read as {DELIMITERS[self.delimiter]}-delimited ({how('delimiter')})",
                        hint=hint("delimiter"),
                        severity="note",
                    )
                )
        if self.decimal == ",":
            out.append(
                Problem(
                    self.file,
                    None,
                    "numbers read with a decimal comma (1234,56), points or spaces grouping "
                    f"thousands ({how('decimal')})",
                    hint=hint("decimal"),
                    severity="note",
                )
            )
        if self.sheet is not None and "sheet" in self.detected:
            out.append(
                Problem(
                    self.file,
                    None,
                    f"read the first sheet, {self.sheet!r}, of {len(self.other_sheets) + 1} sheets "
                    f"(the others: {', '.join(map(repr, self.other_sheets))})",
                    hint="Set `sheet:` in dataset.yml or the mapping to read another",
                    severity="note",
                )
            )
        return out


_ENCODING_NAMES = {
    "cp1252": "Windows Western European",
    "cp1250": "Windows Central European",
    "cp1251": "Windows Cyrillic",
    "iso8859-1": "Latin-1",
    "iso8859-15": "Latin-9",
    "mac-roman": "Mac Roman",
    "utf-16": "UTF-16",
    "utf-32": "UTF-32",
    "utf-8-sig": "UTF-8 with byte-order mark",
    "cp932": "Japanese Shift-JIS",
    "shift_jis": "Japanese Shift-JIS",
    "gb18030": "Chinese",
    "big5": "Traditional Chinese",
}


def _problem(file: str, rule: str, hint: str) -> DataValidationError:
    return DataValidationError(problems=[Problem(file, None, rule, hint=hint)], source=file)


# --- finding a table's file ---------------------------------------------------------------------


def find_table(folder: Path, name: str) -> Path | None:
    """The file of table (or file) ``name`` in ``folder``, or None when there is none.

    A bare name ``X`` is searched as ``X.parquet``, a folder ``X/`` of Parquet parts, then
    ``X.csv``, ``X.tsv``, ``X.txt``, ``X.xlsx``, ``X.xlsm``, ``X.xls``, ``X.ods``. A name with a
    suffix (``Opportunity.csv``) is that file, else the same name with another table suffix
    (an ``Opportunity.xlsx`` export serves for ``Opportunity.csv``). A *folder* named like a
    file (``leads.csv/``) is returned too: :func:`read_file` reports it.
    """
    folder = Path(folder)
    suffix = Path(name).suffix.lower()
    if suffix in TABLE_SUFFIXES:
        given = folder / name
        if given.exists():
            return given
        stem = Path(name).stem
        others = [folder / f"{stem}{s}" for s in TABLE_SUFFIXES if s != suffix]
        return next((p for p in others if p.is_file()), None)
    if (folder / name).is_dir() and any((folder / name).rglob("*.parquet")):
        if (folder / f"{name}.parquet").exists():
            return folder / f"{name}.parquet"
        return folder / name
    return next((folder / f"{name}{s}" for s in TABLE_SUFFIXES if (folder / f"{name}{s}").exists()),
                None)  # fmt: skip


# --- reading ------------------------------------------------------------------------------------


def read_file(
    path: str | Path, options: ReadOptions | None = None, label: str | None = None
) -> tuple[pd.DataFrame, FileFormat, list[Problem]]:
    """Read one table file (see the module notes): a text frame, how it was read, and its
    problems (duplicate column names are errors; the later ones are renamed ``name (2)``).

    Raises
    ------
    DataValidationError
        With one problem naming the file when it cannot be read at all.
    """
    options = options or ReadOptions()
    path = Path(path)
    file = label or path.name
    suffix = path.suffix.lower()
    if path.is_dir() and suffix in (*CSV_SUFFIXES, *EXCEL_SUFFIXES):
        raise _problem(
            file,
            f"{path.name} is a folder, not a file",
            "Rename or remove the folder, and put the table's file there",
        )
    if not path.exists():
        raise _problem(file, f"{path.name} does not exist", "Put the file there")
    try:
        if suffix == ".parquet" or path.is_dir():
            frame, fmt = _read_parquet(path, file), FileFormat(file, "parquet")
        elif suffix in EXCEL_SUFFIXES:
            frame, fmt = _read_excel(path, file, options)
        else:
            frame, fmt = _read_csv(path, file, options)
    except OSError as exc:  # permissions, a file removed while read, a network share gone
        raise _problem(file, f"the file cannot be read ({exc.strerror or exc})", "") from None
    frame, problems = unique_columns(frame, file)
    return frame, fmt, problems


def unique_columns(frame: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Column names made unique (``amount (2)`` for the second ``amount``), with an error per
    repeated name; a byte-order mark or surrounding spaces are taken off the names, and an
    empty name becomes ``(unnamed column N)`` (an extra column).

    Examples
    --------
    >>> frame, problems = unique_columns(pd.DataFrame(columns=["a", " b", "a", ""]), "x.csv")
    >>> list(frame.columns), [p.rule for p in problems]  # doctest: +NORMALIZE_WHITESPACE
    (['a', 'b', 'a (2)', '(unnamed column 4)'],
     ["column 'a' appears 2 times (columns 1, 3); only the first is read as it"])
    """
    names = [str(c).lstrip("\ufeff").strip() for c in frame.columns]
    names = [n or f"(unnamed column {i + 1})" for i, n in enumerate(names)]
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        seen.setdefault(n, []).append(i)
    problems, out = [], list(names)
    for n, where in seen.items():
        if len(where) < 2:
            continue
        for k, i in enumerate(where[1:], start=2):
            out[i] = f"{n} ({k})"
        problems.append(
            Problem(
                file,
                n,
                f"column {n!r} appears {len(where)} times (columns "
                + ", ".join(str(i + 1) for i in where)
                + "); only the first is read as it",
                hint="Give each column its own name (rename or delete the others)",
            )
        )
    frame = frame.copy(deep=False)
    frame.columns = out
    return frame, problems


def _read_parquet(path: Path, file: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _problem(
            file,
            f"the file cannot be read as Parquet ({_short(exc)})",
            "The file is corrupt or truncated: export it again (or remove it to use the "
            "CSV beside it)",
        ) from None
    return table.to_pandas(types_mapper=_nullable_type, split_blocks=True)


def _nullable_type(typ):
    """pandas dtypes that keep missing values without turning integers into floats."""
    import pyarrow as pa

    if pa.types.is_integer(typ):
        return pd.Int64Dtype()
    if pa.types.is_boolean(typ):
        return pd.BooleanDtype()
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return pd.StringDtype()
    return None


def _short(exc: BaseException, limit: int = 300) -> str:
    return " ".join(str(exc).split())[:limit]


# --- Excel --------------------------------------------------------------------------------------


def _read_excel(path: Path, file: str, options: ReadOptions) -> tuple[pd.DataFrame, FileFormat]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        names = list(book.sheet_names)
        if not names:
            raise ValueError("the workbook has no sheet")
        sheet = names[0] if options.sheet is None else str(options.sheet)
        if sheet not in names:
            raise _problem(
                file,
                f"the workbook has no sheet {sheet!r}",
                f"Set `sheet:` to one of: {', '.join(names)}",
            )
        rows = book.get_sheet_by_name(sheet).to_python()
    except DataValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine raises its own and built-in errors
        raise _problem(
            file,
            f"the file cannot be read as an Excel workbook ({_short(exc)})",
            "Save it again from Excel as .xlsx (or as CSV UTF-8)",
        ) from None
    header = [_cell_text(c) or "" for c in rows[0]] if rows else []
    body = [[_cell_text(c) for c in r] for r in rows[1:]]
    width = len(header)
    frame = pd.DataFrame(
        [(r + [None] * width)[:width] for r in body], columns=range(width), dtype="string"
    )
    frame.columns = header
    keep = [i for i, h in enumerate(header) if h or frame.iloc[:, i].notna().any()]
    frame = frame.iloc[:, keep]
    detected = ("sheet",) if options.sheet is None and len(names) > 1 else ()
    fmt = FileFormat(
        file,
        "excel",
        decimal=options.decimal or ".",
        sheet=sheet,
        detected=detected,
        other_sheets=tuple(n for n in names if n != sheet),
    )
    return frame, fmt


def _cell_text(value: Any) -> str | None:
    """An Excel cell as the text a CSV export would hold.

    Examples
    --------
    >>> [_cell_text(v) for v in (1001.0, 12.5, True, "", dt.date(2024, 1, 5),
    ...     dt.datetime(2024, 1, 5, 9, 30), dt.datetime(2024, 1, 5))]
    ['1001', '12.5', 'true', None, '2024-01-05', '2024-01-05T09:30:00', '2024-01-05']
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


# --- CSV ----------------------------------------------------------------------------------------


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """``data`` as text and the encoding used: ``encoding`` when given, else the byte-order mark,
    UTF-8, or the encoding detected (see the module notes).

    Examples
    --------
    >>> decode_text("won_stage: Gagné\\n".encode("cp1252"))
    ('won_stage: Gagné\\n', 'cp1252')
    >>> decode_text("a: é".encode("utf-8"))
    ('a: é', 'utf-8')
    """
    if encoding is None:
        encoding = _bom(data)
    if encoding is None:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            encoding = _detect(data)
    return data.decode(encoding), encoding


def _bom(head: bytes) -> str | None:
    return next((enc for bom, enc in _BOMS if head.startswith(bom)), None)


def _detect(data: bytes) -> str:
    """The most likely encoding of non-UTF-8 ``data`` (charset-normalizer; Windows-1252 among
    equally likely Western encodings; Latin-1, which decodes any byte, as the last resort)."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return "latin-1"
    best = matches[0]
    try:
        western = data.decode(_WESTERN)
    except UnicodeDecodeError:
        return best.encoding
    if western == str(best) or any(
        m.encoding == _WESTERN and m.chaos <= best.chaos + 0.01 for m in matches
    ):
        return _WESTERN
    return best.encoding


def _non_ascii_lines(path: Path) -> bytes:
    """The lines of a file holding non-ASCII bytes (up to :data:`_DETECT_BYTES`)."""
    out, size = [], 0
    with open(path, "rb") as fh:
        for line in fh:
            if not line.isascii():
                out.append(line)
                size += len(line)
                if size >= _DETECT_BYTES:
                    break
    return b"".join(out)


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of fields.

    Examples
    --------
    >>> _sniff_delimiter(["a;b;c", "1;2,5;x", "2;3;y"]), _sniff_delimiter(["a,b", "1,2"])
    (';', ',')
    >>> _sniff_delimiter(["only"])
    ','
    """
    best, score = ",", (0.0, 1)
    for delim in DELIMITERS:
        counts = [len(r) for r in csv.reader(lines, delimiter=delim) if r]
        if not counts or counts[0] < 2:
            continue
        same = sum(c == counts[0] for c in counts) / len(counts)
        if (same, counts[0]) > score:
            best, score = delim, (same, counts[0])
    return best


def _sniff_decimal(rows: Iterable[list[str]]) -> str:
    """``,`` when numbers in the rows are written with a decimal comma (and none with a
    decimal point), else ``.``.

    Examples
    --------
    >>> _sniff_decimal([["x", "1.234,5"], ["y", "12"]]), _sniff_decimal([["1,5", "2.25"]])
    (',', '.')
    """
    comma = dot = 0
    for row in rows:
        for cell in row:
            if _COMMA_NUMBER.match(cell):
                comma += 1
            elif _DOT_NUMBER.match(cell) and not _GROUPED.match(cell):
                dot += 1
    return "," if comma and not dot else "."


def _read_csv(path: Path, file: str, options: ReadOptions) -> tuple[pd.DataFrame, FileFormat]:
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if not head.strip():
        raise _problem(file, "the file is empty", "Export the table again with its header line")
    detected = []
    encoding = options.encoding or _bom(head)
    if encoding is None:
        encoding = "utf-8"
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the end of the head
                encoding = _detect(_non_ascii_lines(path))
                detected.append("encoding")
    try:
        frame, fmt = _read_csv_as(path, file, head, encoding, options, detected)
    except _NotUtf8:
        encoding = _detect(_non_ascii_lines(path))
        frame, fmt = _read_csv_as(path, file, head, encoding, options, [*detected, "encoding"])
    return frame, fmt


class _NotUtf8(Exception):
    pass


def _read_csv_as(path, file, head, encoding, options, detected):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    lines = re.split(r"\r\n|\n|\r", text)  # as Arrow splits lines (not str.splitlines)
    lines = lines[:-1] if len(head) == _HEAD_BYTES and len(lines) > 1 else lines
    lines = lines[:_HEAD_LINES]
    delimiter = options.delimiter
    if delimiter is None:
        delimiter = _sniff_delimiter(lines)
        detected = [*detected, "delimiter"] if delimiter != "," else detected
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    header = rows[0] if rows else []
    decimal = options.decimal
    if decimal is None:
        decimal = _sniff_decimal(rows[1:]) if delimiter != "," else "."
        detected = [*detected, "decimal"] if decimal == "," else detected
    names = [f"\x00{i}" for i in range(len(header))]  # positional; real names set after
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding=encoding, column_names=names, skip_rows=1, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        if "invalid UTF8" in str(exc) and "encoding" not in detected and not options.encoding:
            raise _NotUtf8 from None
        raise _problem(
            file,
            f"the file cannot be read as CSV ({DELIMITERS[delimiter]}-delimited): {_short(exc)}",
            "Give every line the same number of fields as the header (quote fields that "
            "contain the delimiter or line breaks), or set `delimiter:` in dataset.yml or "
            "the mapping",
        ) from None
    except (UnicodeDecodeError, LookupError) as exc:
        raise _problem(
            file,
            f"the file cannot be decoded as {encoding} ({_short(exc)})",
            "Save it as UTF-8 CSV, or set `encoding:` (e.g. cp1252, latin-1, utf-16) in "
            "dataset.yml or the mapping",
        ) from None
    types = {pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}
    frame = table.to_pandas(types_mapper=types.get)
    frame.columns = header
    fmt = FileFormat(file, "csv", encoding, delimiter, decimal, detected=tuple(detected))
    return frame, fmt


# --- headers ------------------------------------------------------------------------------------


def normal_header(name: str) -> str:
    """A column name without case, accents of spacing: what two headers that "look the same"
    share.

    Examples
    --------
    >>> normal_header(" Rep  Name "), normal_header("rep-name"), normal_header("REP_NAME")
    ('rep_name', 'rep_name', 'rep_name')
    """
    return re.sub(r"[\s_\-]+", "_", str(name).strip().casefold())


def align_headers(
    frame: pd.DataFrame, wanted: Iterable[str], file: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """``frame`` with columns that differ from a ``wanted`` name only by case, spaces, hyphens
    or underscores renamed to it, with a note for each; a wanted name matched by several
    columns is an error naming them.

    Examples
    --------
    >>> frame = pd.DataFrame(columns=["Rep ID", "rep_name", "TEAM"])
    >>> out, notes = align_headers(frame, ["rep_id", "rep_name", "team"], "reps.csv")
    >>> list(out.columns)
    ['rep_id', 'rep_name', 'team']
    >>> [p.rule for p in notes]
    ["column 'Rep ID' read as 'rep_id'", "column 'TEAM' read as 'team'"]
    """
    have = [str(c) for c in frame.columns]
    present = set(have)
    rename, problems = {}, []
    for want in dict.fromkeys(wanted):
        if want in present:
            continue
        near = [c for c in have if normal_header(c) == normal_header(want) and c not in rename]
        if len(near) == 1:
            rename[near[0]] = want
            problems.append(
                Problem(file, None, f"column {near[0]!r} read as {want!r}", severity="note")
            )
        elif len(near) > 1:
            problems.append(
                Problem(
                    file,
                    want,
                    f"columns {', '.join(map(repr, near))} all look like {want!r}; none is used",
                    hint=f"Keep one of them, or name one exactly {want!r}",
                )
            )
    if rename:
        frame = frame.rename(columns=rename)
    return frame, problems
