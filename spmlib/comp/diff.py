"""What changed between two stored runs, and why.

Lines are matched by ``line_key`` (the same period, rep, plan, kind and deal or tier). For each
rep and period whose payout differs, :func:`diff_runs` says why in words: deals credited,
uncredited or re-credited (with amounts), quota changes, SPIFs gained or lost, clawbacks,
adjustments, draws and prior-period adjustments. :func:`input_changes` names the inputs that
differ (plan files, data, assignments, adjustments, paid history).
"""

from __future__ import annotations

import pandas as pd

from spmlib.comp.ledger import StoredRun
from spmlib.comp.money import format_money

__all__ = ["diff_runs", "diff_lines", "input_changes", "DIFF_COLUMNS"]

DIFF_COLUMNS = [
    "rep_id",
    "rep_name",
    "period",
    "payout_a_cents",
    "payout_b_cents",
    "change_cents",
    "credited_a_cents",
    "credited_b_cents",
    "why",
]


def input_changes(a: StoredRun, b: StoredRun) -> list[str]:
    """The inputs that differ between two runs, in words (empty: same inputs)."""
    ma, mb = a.manifest, b.manifest
    out = []
    names = {
        "plans_hash": "plan files",
        "data_fingerprint": "data",
        "assignments_hash": "assignments.csv",
        "adjustments_hash": "adjustments.csv",
        "builds_on": "paid runs built on",
        "target": "target period",
    }
    for key, label in names.items():
        if ma.get(key) != mb.get(key):
            out.append(f"{label} changed ({_short(ma.get(key))} -> {_short(mb.get(key))})")
    plans_a, plans_b = ma.get("plans", {}), mb.get("plans", {})
    for name in sorted(set(plans_a) | set(plans_b)):
        if name not in plans_a:
            out.append(f"plan {name!r} added")
        elif name not in plans_b:
            out.append(f"plan {name!r} removed")
        elif plans_a[name]["sha256"] != plans_b[name]["sha256"]:
            out.append(f"plan {name!r} edited ({plans_b[name]['file']})")
    return out


def _short(value) -> str:
    text = ", ".join(value) if isinstance(value, list) else str(value or "none")
    return text.removeprefix("sha256:")[:12] if text.startswith("sha256:") else text


def diff_lines(a: StoredRun, b: StoredRun) -> pd.DataFrame:
    """Every line whose amount differs (or exists in one run only): ``line_key``, ``period``,
    ``rep_id``, ``kind``, ``deal``, ``rule``, ``amount_a_cents``, ``amount_b_cents``,
    ``change_cents``, ``reason`` (of run b's line, when it has one)."""
    cols = ["line_key", "period", "rep_id", "kind", "deal", "rule", "reason"]
    la = a.lines.set_index("line_key")
    lb = b.lines.set_index("line_key")
    keys = la.index.union(lb.index)
    amt_a = la["amount_cents"].reindex(keys, fill_value=0)
    amt_b = lb["amount_cents"].reindex(keys, fill_value=0)
    changed = keys[(amt_a != amt_b).to_numpy() | ~keys.isin(la.index) | ~keys.isin(lb.index)]
    info = pd.concat([lb[cols[1:]], la[cols[1:]]])
    info = info[~info.index.duplicated()].reindex(changed)
    out = info.reset_index().rename(columns={"index": "line_key"})
    out["amount_a_cents"] = amt_a.reindex(changed).to_numpy().astype("int64")
    out["amount_b_cents"] = amt_b.reindex(changed).to_numpy().astype("int64")
    out["change_cents"] = out["amount_b_cents"] - out["amount_a_cents"]
    order = [
        "line_key",
        "period",
        "rep_id",
        "kind",
        "deal",
        "rule",
        "amount_a_cents",
        "amount_b_cents",
        "change_cents",
        "reason",
    ]
    return out[order].sort_values(["rep_id", "period", "kind", "line_key"]).reset_index(drop=True)


def _why(changes: pd.DataFrame, st_a: pd.Series | None, st_b: pd.Series | None) -> str:
    parts = []
    if st_a is not None and st_b is not None and st_a["quota_cents"] != st_b["quota_cents"]:
        parts.append(
            f"quota {format_money(st_a['quota_cents'])} -> {format_money(st_b['quota_cents'])}"
        )
    for r in changes.itertuples(index=False):
        a, b = format_money(r.amount_a_cents), format_money(r.amount_b_cents)
        if r.kind == "credit":
            what = "credited" if r.amount_a_cents == 0 else "uncredited"
            what = what if 0 in (r.amount_a_cents, r.amount_b_cents) else "re-credited"
            parts.append(f"deal {r.deal} {what} ({a} -> {b})")
        elif r.kind in ("spif", "clawback"):
            parts.append(f"{r.kind} on deal {r.deal} {a} -> {b}")
        elif r.kind in ("adjustment", "prior_period_adjustment"):
            why = f": {r.reason}" if isinstance(r.reason, str) else ""
            parts.append(f"{r.kind.replace('_', ' ')} {a} -> {b}{why}")
        elif r.kind != "earnings":
            parts.append(f"{r.kind.replace('_', ' ')} {a} -> {b}")
    earn = changes[changes["kind"] == "earnings"]
    if len(earn):
        parts.append(
            f"earnings {format_money(earn['amount_a_cents'].sum())} -> "
            f"{format_money(earn['amount_b_cents'].sum())}"
        )
    if len(parts) > 8:
        parts = [*parts[:8], f"and {len(parts) - 8} more line changes"]
    return "; ".join(parts)


def diff_runs(a: StoredRun, b: StoredRun) -> pd.DataFrame:
    """One row per rep and period whose payout or lines differ between runs ``a`` and ``b``.

    Returns
    -------
    DataFrame with :data:`DIFF_COLUMNS`: payouts and credited totals of both runs (0 where a run
    has no statement), the change, and ``why`` (see the module docstring).
    """
    keys = ["rep_id", "period"]

    def per_rep_period(statements: pd.DataFrame) -> pd.DataFrame:
        return statements.groupby(keys, as_index=False).agg(
            rep_name=("rep_name", "first"),
            payout_cents=("payout_cents", "sum"),
            credited_cents=("credited_cents", "sum"),
            quota_cents=("quota_cents", "sum"),
        )

    both = per_rep_period(a.statements).merge(
        per_rep_period(b.statements), on=keys, how="outer", suffixes=("_a", "_b")
    )
    lines = diff_lines(a, b)
    rows = []
    for r in both.itertuples(index=False):
        ch = lines[(lines["rep_id"] == r.rep_id) & (lines["period"] == r.period)]
        pa = 0 if pd.isna(r.payout_cents_a) else int(r.payout_cents_a)
        pb = 0 if pd.isna(r.payout_cents_b) else int(r.payout_cents_b)
        if ch.empty and pa == pb:
            continue
        st_a = None if pd.isna(r.quota_cents_a) else pd.Series({"quota_cents": r.quota_cents_a})
        st_b = None if pd.isna(r.quota_cents_b) else pd.Series({"quota_cents": r.quota_cents_b})
        why = _why(ch, st_a, st_b)
        if pd.isna(r.payout_cents_a) or pd.isna(r.payout_cents_b):
            why = ("only in run b; " if pd.isna(r.payout_cents_a) else "only in run a; ") + why
        rows.append(
            {
                "rep_id": r.rep_id,
                "rep_name": r.rep_name_b if isinstance(r.rep_name_b, str) else r.rep_name_a,
                "period": r.period,
                "payout_a_cents": pa,
                "payout_b_cents": pb,
                "change_cents": pb - pa,
                "credited_a_cents": 0 if pd.isna(r.credited_cents_a) else int(r.credited_cents_a),
                "credited_b_cents": 0 if pd.isna(r.credited_cents_b) else int(r.credited_cents_b),
                "why": why,
            }
        )
    out = pd.DataFrame(rows, columns=DIFF_COLUMNS)
    return out.sort_values(["period", "rep_id"], kind="stable").reset_index(drop=True)
