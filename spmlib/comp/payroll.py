"""The payroll file of a run: one row per rep and period, as CSV or XLSX.

Columns: ``rep_id``, ``rep_name``, ``period``, ``payout`` (currency units with 2 decimals, the
exact cents of the statements), ``currency``. Text cells that a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) are written with a
leading ``'`` in CSV; in XLSX every text cell is stored as text, never as a formula. The file is
read back and checked against the statements to the cent (:func:`check_payroll`).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

from spmlib.comp.checks import check_row
from spmlib.comp.money import format_money
from spmlib.exceptions import SpmError
from spmlib.io.files import atomic_write_text, escape_cell, unescape_cell

__all__ = [
    "PAYROLL_COLUMNS",
    "FORMATS",
    "payroll_table",
    "write_payroll",
    "read_payroll",
    "check_payroll",
]

PAYROLL_COLUMNS = ["rep_id", "rep_name", "period", "payout", "currency"]
FORMATS = ("csv", "xlsx")


def _cell(value: object) -> str:
    """Text for a payroll CSV cell: missing as "", formulas escaped (:func:`escape_cell`)."""
    return escape_cell("" if value is None or value is pd.NA else str(value))


def payroll_table(statements: pd.DataFrame) -> pd.DataFrame:
    """One row per rep and period: ``rep_id``, ``rep_name``, ``period``, ``payout_cents``,
    ``currency`` (a rep with two plan segments in a period gets one row with their sum)."""
    keys = ["rep_id", "rep_name", "period", "currency"]
    st = statements.assign(rep_name=statements["rep_name"].fillna(""))
    out = st.groupby(keys, sort=False, dropna=False)["payout_cents"].sum().reset_index()
    return out[["rep_id", "rep_name", "period", "payout_cents", "currency"]]


def _money(cents: int) -> str:
    return str(Decimal(int(cents)).scaleb(-2).quantize(Decimal("0.01")))


def write_payroll(statements: pd.DataFrame, path: str | Path) -> Path:
    """Write the payroll file; the format comes from the suffix (``.csv`` or ``.xlsx``).

    Raises
    ------
    SpmError
        For another suffix.
    """
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise SpmError(f"payroll file {path.name}: use a .csv or .xlsx name.")
    table = payroll_table(statements)
    if kind == "csv":
        out = pd.DataFrame(
            {
                "rep_id": table["rep_id"].map(_cell),
                "rep_name": table["rep_name"].map(_cell),
                "period": table["period"].map(_cell),
                "payout": table["payout_cents"].map(_money),
                "currency": table["currency"].map(_cell),
            }
        )
        return atomic_write_text(path, out.to_csv(index=False, lineterminator="\n"))
    return _write_xlsx(table, path)


def _write_xlsx(table: pd.DataFrame, path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "payroll"
    ws.append(PAYROLL_COLUMNS)
    for row in table.itertuples(index=False):
        ws.append([None, None, None, Decimal(int(row.payout_cents)).scaleb(-2), None])
        r = ws.max_row
        for col, value in ((1, row.rep_id), (2, row.rep_name), (3, row.period), (5, row.currency)):
            cell = ws.cell(row=r, column=col)
            cell.value = "" if value is None or value is pd.NA else str(value)
            cell.data_type = "s"  # text, never a formula
        ws.cell(row=r, column=4).number_format = "#,##0.00"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path


def read_payroll(path: str | Path) -> pd.DataFrame:
    """Read a payroll file back: ``rep_id``, ``period``, ``payout_cents`` (exact)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        rep, period, payout = raw["rep_id"].map(unescape_cell), raw["period"], raw["payout"]
    else:
        from openpyxl import load_workbook

        ws = load_workbook(path, read_only=True).active
        rows = list(ws.iter_rows(min_row=2, values_only=True))
        rep = pd.Series([str(r[0]) for r in rows], dtype=object)
        period = pd.Series([str(r[2]) for r in rows], dtype=object)
        payout = pd.Series([repr(r[3]) if isinstance(r[3], float) else str(r[3]) for r in rows])
    cents = [int(Decimal(v).scaleb(2).to_integral_value()) for v in payout]
    return pd.DataFrame(
        {
            "rep_id": rep.astype(str),
            "period": period.astype(str),
            "payout_cents": pd.Series(cents, dtype="int64"),
        }
    )


def check_payroll(statements: pd.DataFrame, path: str | Path) -> dict:
    """Statements = payroll: the file read back has each rep's and period's payout, to the cent.

    Examples
    --------
    >>> import tempfile, os
    >>> st = pd.DataFrame({"rep_id": ["=cmd"], "rep_name": ["A"], "period": ["2026-08"],
    ...     "payout_cents": [123456], "currency": ["USD"]})
    >>> f = os.path.join(tempfile.mkdtemp(), "p.csv")
    >>> _ = write_payroll(st, f)
    >>> check_payroll(st, f)["ok"]
    True
    """
    want = payroll_table(statements)[["rep_id", "period", "payout_cents"]].astype(
        {"rep_id": str, "period": str}
    )
    got = read_payroll(path)
    merged = want.merge(got, on=["rep_id", "period"], how="outer", suffixes=("", "_file"))
    bad = merged[merged["payout_cents"].ne(merged["payout_cents_file"])]
    total = int(want["payout_cents"].sum())
    ok = bad.empty and len(got) == len(want)
    detail = (
        f"{Path(path).name}: {len(got)} rows, total {format_money(total)}, as the statements"
        if ok
        else f"{Path(path).name}: {len(bad)} row(s) differ from the statements"
    )
    return check_row("statements = payroll", ok, detail)
