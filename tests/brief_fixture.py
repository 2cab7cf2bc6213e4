"""A hand-made company of two teams for the team brief tests.

Fiscal year from January; reference date 2026-02-11 (a Wednesday): this quarter is 2026-01-01
to 2026-03-31, a little under half of it gone (42 of 90 days, 30 of 64 weekdays).

rep  name  team   manager  Q1 quota  won in Q1        attainment  pace
n1   Ann   North  Meg      1,000     600 (w1)         60%         on pace
n2   Bo    North  Meg      1,000     200 (w2)         20%         behind
n3   Cy    North  Meg      1,000     -                0%          behind
s1   Dee   South  Sam      1,000     900 (w3)         90%         on pace
(w0: 700 won by n1 on 2025-12-15, last quarter: not counted.)

Every won deal spent 10 days in Demo before it was won, so Demo's p90 is 10 days; no deal ever
left Proposal or Negotiation, so those stages have no p90 and nothing is stale in them.

open  rep  stage        entered     close       amount  account            why
o1    n2   Proposal     2026-02-01  2026-03-10  5,000   Bolt & <Sons>      large and late-stage
                                                                           (with large >= 1,000)
o2    n1   Demo         2026-02-05  2026-02-01  100     Acme               past close date
o3    n3   Demo         2025-11-01  2026-03-20  50      Cobalt             stale (102 days > 10)
o4    s1   Negotiation  2026-02-10  2026-03-31  8,000   Delta Works        large and late-stage
"""

from __future__ import annotations

import pandas as pd

from spmlib.io.schema import Dataset, DatasetConfig

AS_OF = pd.Timestamp("2026-02-11")
CONFIG = DatasetConfig(("Demo", "Proposal", "Negotiation"), "Won", "Lost", as_of=AS_OF)


def _d(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def dataset() -> Dataset:
    reps = pd.DataFrame(
        {
            "rep_id": ["n1", "n2", "n3", "s1"],
            "rep_name": ["Ann", "Bo", "Cy", "Dee"],
            "team": ["North", "North", "North", "South"],
            "manager": ["Meg", "Meg", "Meg", "Sam"],
        }
    ).astype("string")
    deals = [
        # opp, rep, stage, status, created, close, amount, account
        ("w0", "n1", "Won", "won", "2025-12-05", "2025-12-15", 700.0, "A1"),
        ("w1", "n1", "Won", "won", "2026-01-05", "2026-01-15", 600.0, "A1"),
        ("w2", "n2", "Won", "won", "2026-01-10", "2026-01-20", 200.0, "A2"),
        ("w3", "s1", "Won", "won", "2026-01-12", "2026-01-22", 900.0, "A4"),
        ("o1", "n2", "Proposal", "open", "2026-01-20", "2026-03-10", 5000.0, "A2"),
        ("o2", "n1", "Demo", "open", "2026-02-05", "2026-02-01", 100.0, "A1"),
        ("o3", "n3", "Demo", "open", "2025-11-01", "2026-03-20", 50.0, "A3"),
        ("o4", "s1", "Negotiation", "open", "2026-02-01", "2026-03-31", 8000.0, "A4"),
    ]
    opps = pd.DataFrame(
        deals,
        columns=["opp_id", "rep_id", "stage", "status", "created_date", "close_date", "amount",
                 "account"],
    )  # fmt: skip
    for c in ("created_date", "close_date"):
        opps[c] = pd.to_datetime(opps[c])
    history = [
        *[(w, "Demo", created) for w, _, _, _, created, _, _, _ in deals if w.startswith("w")],
        *[(w, "Won", close) for w, _, _, _, _, close, _, _ in deals if w.startswith("w")],
        ("o1", "Demo", "2026-01-20"),
        ("o1", "Proposal", "2026-02-01"),
        ("o2", "Demo", "2026-02-05"),
        ("o3", "Demo", "2025-11-01"),
        ("o4", "Demo", "2026-02-01"),
        ("o4", "Negotiation", "2026-02-10"),
    ]
    hist = pd.DataFrame(history, columns=["opp_id", "stage", "entered_date"])
    hist["entered_date"] = pd.to_datetime(hist["entered_date"])
    quotas = pd.DataFrame(
        {
            "rep_id": ["n1", "n2", "n3", "s1"],
            "period_start": pd.Timestamp("2026-01-01"),
            "period_end": pd.Timestamp("2026-03-31"),
            "quota": 1000.0,
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4"],
            "account_name": ["Acme", "Bolt & <Sons>", "Cobalt", "Delta Works"],
            "rep_id": ["n1", "n2", "n3", "s1"],
            "potential": 1.0,
        }
    )
    return Dataset(CONFIG, reps, opps, stage_history=hist, quotas=quotas, accounts=accounts)
