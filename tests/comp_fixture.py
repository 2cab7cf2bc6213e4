"""Small hand-made compensation inputs: a calendar-year company (fiscal year = calendar year),
quarterly quotas of 100,000 per rep, and a plan with TI 10,000 per quarter unless told otherwise.
Each test states its deals and works the expected pay out by hand in comments."""

from __future__ import annotations

import copy

import pandas as pd

from spmlib.comp.engine import CompInputs
from spmlib.comp.inputs import empty_adjustments
from spmlib.comp.plan import parse_plan
from spmlib.io.schema import Dataset, DatasetConfig, empty_table

CONFIG = DatasetConfig(("Open",), "Won", "Lost", "USD", 1, pd.Timestamp("2026-12-31"))

PLAN = {
    "plan": "P",
    "currency": "USD",
    "period": "quarter",
    "credit": "bookings",
    "target_incentive": 10000,
    "rate_table": {
        "type": "graduated",
        "threshold": 0.5,
        "tiers": [
            {"from": 0.0, "to": 1.0, "multiplier": 1.0},
            {"from": 1.0, "to": 1.5, "multiplier": 2.0},
            {"from": 1.5, "multiplier": 3.0},
        ],
        "cap": 3.0,
    },
}


def plan(**changes) -> dict:
    """A copy of PLAN with top-level keys replaced (``rate_table_type`` changes the type)."""
    raw = copy.deepcopy(PLAN)
    kind = changes.pop("rate_table_type", None)
    if kind:
        raw["rate_table"]["type"] = kind
    raw.update(changes)
    return raw


def reps(*ids: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": list(ids),
            "rep_name": [f"Rep {i}" for i in ids],
            "team": "T",
            "email": [f"{i.lower()}@example.com" for i in ids],
            "manager": "Boss",
            "manager_email": "boss@example.com",
        }
    ).astype("string")


def deals(rows: list[tuple]) -> pd.DataFrame:
    """Rows (opp_id, rep_id, close_date, amount[, status[, lead_source[, product]]])."""
    full = [(*r, *("won", "Inbound", "Core")[len(r) - 4 :]) for r in rows]
    frame = pd.DataFrame(
        full,
        columns=["opp_id", "rep_id", "close_date", "amount", "status", "lead_source", "product"],
    )
    frame["close_date"] = pd.to_datetime(frame["close_date"])
    frame["created_date"] = frame["close_date"] - pd.Timedelta(days=30)
    frame["stage"] = frame["status"].map({"won": "Won", "lost": "Lost", "open": "Open"})
    for col in ("opp_id", "rep_id", "status", "lead_source", "product", "stage"):
        frame[col] = frame[col].astype("string")
    frame["amount"] = frame["amount"].astype(float)
    return frame


def quarterly_quotas(rep_ids, quota: float = 100_000.0, year: int = 2026) -> pd.DataFrame:
    starts = pd.date_range(f"{year}-01-01", periods=4, freq="QS")
    rows = [(r, s, s + pd.offsets.QuarterEnd(0), quota) for r in rep_ids for s in starts]
    q = pd.DataFrame(rows, columns=["rep_id", "period_start", "period_end", "quota"])
    q["rep_id"] = q["rep_id"].astype("string")
    return q


def dataset(rep_ids, opps, quotas=None, history=None, splits=None) -> Dataset:
    return Dataset(
        CONFIG,
        reps(*rep_ids),
        opps,
        stage_history=history if history is not None else empty_table("stage_history"),
        quotas=quotas if quotas is not None else quarterly_quotas(rep_ids),
        splits=splits if splits is not None else empty_table("splits"),
    )


def assignments(rows: list[tuple]) -> pd.DataFrame:
    """Rows (rep_id, plan, valid_from[, valid_to[, target_incentive]])."""
    full = [(*r, *(None, None)[len(r) - 3 :]) for r in rows]
    a = pd.DataFrame(full, columns=["rep_id", "plan", "valid_from", "valid_to", "target_incentive"])
    a["valid_from"] = pd.to_datetime(a["valid_from"]).astype("datetime64[ns]")
    a["valid_to"] = pd.to_datetime(a["valid_to"]).astype("datetime64[ns]")
    a["rep_id"], a["plan"] = a["rep_id"].astype("string"), a["plan"].astype("string")
    a["row"] = range(1, len(a) + 1)
    return a


def inputs(ds: Dataset, plans: list[dict], assign: pd.DataFrame, adjustments=None) -> CompInputs:
    parsed = {p["plan"]: parse_plan(p, f"{p['plan']}.yml", f"hash-{p['plan']}") for p in plans}
    adj = adjustments if adjustments is not None else empty_adjustments()
    return CompInputs(ds, parsed, assign, adj, {"plans": str(sorted(parsed))})


def pay(statements: pd.DataFrame, rep: str, period: str, col: str = "payout_cents") -> int:
    row = statements[(statements["rep_id"] == rep) & (statements["period"] == period)]
    assert len(row) == 1, (rep, period, len(row))
    return int(row[col].iloc[0])
