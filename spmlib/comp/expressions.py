"""A small, safe condition language over deal columns (the ``when`` of a SPIF).

Grammar (keywords are lower case; no Python ``eval``, no function calls, no attribute access)::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := operand (OP operand | "in" list | "not" "in" list)?   OP: == != < <= > >=
    operand    := COLUMN | STRING | NUMBER | "(" condition ")"
    list       := "[" literal ("," literal)* "]"

Strings are quoted with ``'`` or ``"`` (a backslash escapes the quote); numbers are written
``500`` or ``-2.5``. Every column must exist with a known kind (text, number or date): text is
compared with strings, numbers with numbers, and dates with ISO date strings
(``close_date >= '2026-09-01'``); a comparison of mismatched kinds is refused when the condition
is parsed, not when it runs. A deal whose value is missing never matches a comparison (``==``
and ``!=`` alike), so ``not`` of it does. Evaluation is vectorized over a DataFrame.

Examples
--------
>>> cond = parse_condition("lead_source == 'Outbound' and amount >= 10000",
...                        {"lead_source": "str", "amount": "float"})
>>> deals = pd.DataFrame({"lead_source": ["Outbound", "Inbound", "Outbound"],
...                       "amount": [20000.0, 50000.0, 500.0]})
>>> cond.evaluate(deals).tolist()
[True, False, False]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spmlib.exceptions import ExpressionError

__all__ = ["Condition", "parse_condition", "KINDS"]

#: Column kinds: the data model's kinds mapped to the three the language compares.
KINDS = {"id": "text", "str": "text", "float": "number", "int": "number", "date": "date"}
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>-?\d+(?:\.\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op>==|!=|<=|>=|<|>)
    | (?P<punct>[()\[\],])
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in"}
_OPS = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


@dataclass(frozen=True)
class _Tok:
    kind: str  # number | string | op | punct | name | keyword | end
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            bad = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise ExpressionError(text, bad, f"unexpected character {text[bad]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        start = m.start(kind)
        if kind == "name" and value in _KEYWORDS:
            kind = "keyword"
        out.append(_Tok(kind, value, start))
        pos = m.end()
    out.append(_Tok("end", "", len(text)))
    return out


@dataclass(frozen=True)
class _Value:
    """An operand: a column (``column`` set) or a literal, with its kind."""

    kind: str
    column: str | None = None
    literal: Any = None

    def values(self, frame: pd.DataFrame) -> tuple[Any, np.ndarray | bool]:
        """(values, present mask) over the rows of ``frame``; a literal stays a scalar."""
        if self.column is None:
            return self.literal, True
        col = frame[self.column]
        present = col.notna().to_numpy()
        if self.kind == "number":
            return col.astype("float64").fillna(0.0).to_numpy(), present
        if self.kind == "date":
            return col.to_numpy(dtype="datetime64[ns]"), present
        return col.astype(object).where(col.notna(), "").to_numpy(), present


@dataclass(frozen=True)
class Condition:
    """A parsed condition; ``evaluate(frame)`` gives a boolean array over its rows."""

    text: str
    node: tuple
    columns: tuple[str, ...]

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows of ``frame`` that satisfy the condition."""
        return _eval(self.node, frame)


def _eval(node: tuple, frame: pd.DataFrame) -> np.ndarray:
    op = node[0]
    if op == "or":
        return _eval(node[1], frame) | _eval(node[2], frame)
    if op == "and":
        return _eval(node[1], frame) & _eval(node[2], frame)
    if op == "not":
        return ~_eval(node[1], frame)
    if op == "in":
        values, present = node[1].values(frame)
        return present & np.isin(values, np.asarray(node[2], dtype=np.asarray(values).dtype))
    left, lp = node[1].values(frame)
    right, rp = node[2].values(frame)
    with np.errstate(invalid="ignore"):
        result = _OPS[op](left, right)
    return np.asarray(lp & rp & result, dtype=bool)


class _Parser:
    def __init__(self, text: str, columns: Mapping[str, str]):
        self.text, self.columns = text, columns
        self.toks, self.i = _tokenize(text), 0
        self.used: list[str] = []

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def fail(self, message: str, tok: _Tok | None = None):
        raise ExpressionError(self.text, (tok or self.tok).pos, message)

    def take(self, kind: str, text: str | None = None) -> _Tok | None:
        t = self.tok
        if t.kind == kind and (text is None or t.text == text):
            self.i += 1
            return t
        return None

    def parse(self) -> tuple:
        if self.tok.kind == "end":
            self.fail("empty condition")
        node = self.boolean()
        if self.tok.kind != "end":
            self.fail(f"unexpected {self.tok.text!r}; expected and, or or the end")
        return node

    def boolean(self, level: str = "or") -> tuple:
        lower = {"or": "and", "and": "not"}[level]
        node = self.boolean(lower) if lower != "not" else self.negation()
        while self.take("keyword", level):
            right = self.boolean(lower) if lower != "not" else self.negation()
            node = (level, node, right)
        return node

    def negation(self) -> tuple:
        if self.take("keyword", "not"):
            return ("not", self.negation())
        return self.comparison()

    def comparison(self) -> tuple:
        start = self.tok
        if self.take("punct", "("):
            node = self.boolean()
            if not self.take("punct", ")"):
                self.fail("missing ')'")
            return node
        left = self.operand()
        if op := self.take("op"):
            right = self.operand()
            return (op.text, *self._typed(left, right, op))
        negate = False
        if self.tok.kind == "keyword" and self.tok.text == "not":
            self.i += 1
            negate = True
            if not (self.tok.kind == "keyword" and self.tok.text == "in"):
                self.fail("expected 'in' after 'not'")
        if self.take("keyword", "in"):
            if left.column is None:
                self.fail("the left side of 'in' must be a column", start)
            items = self.literal_list(left)
            node = ("in", left, items)
            return ("not", node) if negate else node
        self.fail(f"expected a comparison (==, !=, <, <=, >, >=, in) after {start.text!r}")

    def operand(self) -> _Value:
        t = self.tok
        if self.take("name"):
            if t.text not in self.columns:
                valid = ", ".join(sorted(self.columns))
                self.fail(f"unknown column {t.text!r}; valid: {valid}", t)
            self.used.append(t.text)
            return _Value(KINDS.get(self.columns[t.text], "text"), column=t.text)
        if self.take("number"):
            return _Value("number", literal=float(t.text))
        if self.take("string"):
            return _Value("text", literal=_unquote(t.text))
        self.fail(f"expected a column, a 'string' or a number, got {t.text or 'the end'!r}")

    def literal_list(self, column: _Value) -> list:
        if not self.take("punct", "["):
            self.fail("expected '[' to start the list of 'in'")
        items = []
        while True:
            t = self.tok
            value = self.operand()
            if value.column is not None:
                self.fail("a list of 'in' holds literals, not columns", t)
            items.append(self._coerce(value, column.kind, t))
            if self.take("punct", "]"):
                return items
            if not self.take("punct", ","):
                self.fail("expected ',' or ']' in the list")

    def _coerce(self, literal: _Value, kind: str, tok: _Tok):
        """A literal as a value comparable with a column of ``kind``, or fail."""
        if kind == "date" and literal.kind == "text":
            try:
                return np.datetime64(pd.Timestamp(literal.literal).normalize(), "ns")
            except (ValueError, TypeError):
                self.fail(f"{literal.literal!r} is not a date (write 'YYYY-MM-DD')", tok)
        if kind != literal.kind:
            self.fail(f"cannot compare a {kind} column with a {literal.kind}", tok)
        return literal.literal

    def _typed(self, left: _Value, right: _Value, op: _Tok) -> tuple[_Value, _Value]:
        if left.column is None and right.column is None:
            self.fail("a comparison needs at least one column", op)
        if left.column is not None and right.column is not None:
            if left.kind != right.kind:
                self.fail(f"cannot compare a {left.kind} column with a {right.kind} column", op)
            return left, right
        col, lit = (left, right) if left.column is not None else (right, left)
        value = _Value(col.kind, literal=self._coerce(lit, col.kind, op))
        if col.kind == "text" and op.text not in ("==", "!="):
            self.fail("text is compared with == or != only (or 'in')", op)
        return (col, value) if left.column is not None else (value, col)


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def parse_condition(text: str, columns: Mapping[str, str]) -> Condition:
    """Parse ``text`` against the columns it may use (name -> data-model kind).

    Parameters
    ----------
    text : the condition, e.g. ``"lead_source in ['Outbound', 'Event'] and amount > 5000"``.
    columns : allowed column names and their kinds (``id``, ``str``, ``float``, ``int``,
        ``date``), e.g. ``spmlib.io.schema.TABLES["opportunities"].columns``.

    Returns
    -------
    Condition

    Raises
    ------
    spmlib.exceptions.ExpressionError
        On a syntax error, an unknown column (the message lists the valid ones) or a
        comparison of mismatched kinds; the message points at the character.

    Examples
    --------
    >>> parse_condition("amount > 'x'", {"amount": "float"})
    Traceback (most recent call last):
    ...
    spmlib.exceptions.ExpressionError: cannot compare a number column with a text at character 8 of:
    amount > 'x'
           ^
    """
    if not isinstance(text, str):
        raise ExpressionError(str(text), 0, "a condition must be text")
    parser = _Parser(text, columns)
    node = parser.parse()
    return Condition(text, node, tuple(dict.fromkeys(parser.used)))
