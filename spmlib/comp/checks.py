"""Reconciliation checks: pay that adds up, to the cent, every time.

Every run checks, and its statements show:

- **split conservation**: the owner and revenue-split credits of each won deal add up to its
  amount exactly (overlay credit is extra by definition);
- **lines = statements**: the paying lines of each statement add up to its payout, and the
  statements add up to the run's total;
- **rerun identical**: working the run out again on the same inputs gives the same lines, to the
  cent (:func:`lines_hash` of both), and so does any earlier stored run with the same inputs.

``spm comp payroll`` adds **statements = payroll**: the payroll file, read back, holds the same
payout per rep and period and the same total.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from spmlib.comp.money import format_money

__all__ = ["CHECK_COLUMNS", "lines_hash", "check_lines_match", "check_row", "checks_ok"]

CHECK_COLUMNS = ["check", "ok", "detail"]


def lines_hash(lines: pd.DataFrame) -> str:
    """``sha256:<hex>`` of the lines in line_key order (equal lines, equal hash, any process).

    >>> from spmlib.comp.lines import make_lines
    >>> a = make_lines({"line_key": ["x", "y"], "kind": ["earnings", "spif"],
    ...                 "amount_cents": [100, 5]})
    >>> lines_hash(a) == lines_hash(a.iloc[::-1])
    True
    """
    ordered = lines.sort_values("line_key", kind="stable").reset_index(drop=True)
    digest = hashlib.sha256()
    digest.update(",".join(ordered.columns).encode())
    if len(ordered):
        digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return f"sha256:{digest.hexdigest()}"


def check_row(name: str, ok: bool, detail: str) -> dict:
    """One row of a checks table."""
    return {"check": name, "ok": bool(ok), "detail": detail}


def check_lines_match(statements: pd.DataFrame, lines: pd.DataFrame) -> dict:
    """Lines = statements: each statement's payout equals the sum of its paying lines.

    Examples
    --------
    >>> from spmlib.comp.lines import make_lines
    >>> lines = make_lines({"seg_key": ["a", "a"], "line_key": ["1", "2"],
    ...     "kind": ["earnings", "credit"], "amount_cents": [500, 99999]})
    >>> st = pd.DataFrame({"seg_key": ["a"], "payout_cents": [500]})
    >>> check_lines_match(st, lines)["ok"]
    True
    """
    sums = lines[lines["pays"]].groupby("seg_key")["amount_cents"].sum()
    got = statements["seg_key"].map(sums).fillna(0).astype("int64")
    bad = statements[got.to_numpy() != statements["payout_cents"].to_numpy()]
    orphan = set(lines.loc[lines["pays"], "seg_key"]) - set(statements["seg_key"])
    total = int(statements["payout_cents"].sum())
    line_total = int(lines.loc[lines["pays"], "amount_cents"].sum())
    ok = bad.empty and not orphan and total == line_total
    detail = (
        f"{len(statements)} statements, total {format_money(total)} = sum of "
        f"{int(lines['pays'].sum())} paying lines"
        if ok
        else f"{len(bad)} statement(s) differ from their lines (e.g. "
        f"{', '.join(bad['seg_key'].astype(str).head(3))}); {len(orphan)} line segment(s) "
        f"without a statement; statements {format_money(total)} vs lines "
        f"{format_money(line_total)}"
    )
    return check_row("lines = statements", ok, detail)


def checks_ok(checks: pd.DataFrame) -> bool:
    """True when every check passed."""
    return bool(checks["ok"].all()) if len(checks) else True
