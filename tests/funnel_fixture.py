"""A hand-made funnel with skipped and backward stage moves, shared by the funnel tests.

Stages A -> B -> C, then Won / Lost; reference date 2026-02-10. Every expected number in the
tests is worked out by hand from this table (the comments in the tests show how).

deal rep team  history (date: stage)                                      outcome
1    r1  T1    01-01 A, 01-05 B, 01-10 C, 01-20 Won                        won, cycle 19 d
2    r1  T1    01-01 A, 01-08 C (skips B), 01-15 Lost                      lost at C
3    r1  T1    01-02 A, 01-06 B, 01-12 C, 01-18 B (backwards), 01-25 Lost  lost at C (furthest)
4    r2  T1    01-03 A, 01-09 B                                            open in B
5    r2  T1    01-04 A, 01-07 Lost                                         lost at A
6    r2  T1    01-05 B (skips A), 02-01 Won                                won (skips C too)
7    r3  T2    01-10 A                                                     open in A
rep r4 (team T3) has no deals.
"""

from __future__ import annotations

import pandas as pd

from spmlib.io.schema import Dataset, DatasetConfig

CONFIG = DatasetConfig(("A", "B", "C"), "Won", "Lost", as_of=pd.Timestamp("2026-02-10"))
AS_OF = pd.Timestamp("2026-02-10")

_HISTORY = {
    "1": [("01-01", "A"), ("01-05", "B"), ("01-10", "C"), ("01-20", "Won")],
    "2": [("01-01", "A"), ("01-08", "C"), ("01-15", "Lost")],
    "3": [("01-02", "A"), ("01-06", "B"), ("01-12", "C"), ("01-18", "B"), ("01-25", "Lost")],
    "4": [("01-03", "A"), ("01-09", "B")],
    "5": [("01-04", "A"), ("01-07", "Lost")],
    "6": [("01-05", "B"), ("02-01", "Won")],
    "7": [("01-10", "A")],
}
#: opp_id: (rep, stage, created, close, amount)
_DEALS = {
    "1": ("r1", "Won", "01-01", "01-20", 100.0),
    "2": ("r1", "Lost", "01-01", "01-15", 200.0),
    "3": ("r1", "Lost", "01-02", "01-25", 300.0),
    "4": ("r2", "B", "01-03", "03-01", 400.0),
    "5": ("r2", "Lost", "01-04", "01-07", 500.0),
    "6": ("r2", "Won", "01-05", "02-01", 600.0),
    "7": ("r3", "A", "01-10", "03-15", 700.0),
}


def _d(mmdd: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-{mmdd}")


def reps() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3", "r4"],
            "rep_name": ["Ann", "Bob", "Cid", "Dee"],
            "team": ["T1", "T1", "T2", "T3"],
        }
    ).astype("string")


def opportunities() -> pd.DataFrame:
    rows = [
        {
            "opp_id": k,
            "rep_id": rep,
            "created_date": _d(c),
            "close_date": _d(cl),
            "stage": stage,
            "amount": amount,
        }
        for k, (rep, stage, c, cl, amount) in _DEALS.items()
    ]
    out = pd.DataFrame(rows)
    out["status"] = out["stage"].map({"Won": "won", "Lost": "lost"}).fillna("open")
    return out.astype(
        {"opp_id": "string", "rep_id": "string", "stage": "string", "status": "string"}
    )


def stage_history() -> pd.DataFrame:
    rows = [
        {"opp_id": k, "stage": s, "entered_date": _d(d)} for k, h in _HISTORY.items() for d, s in h
    ]
    return pd.DataFrame(rows).astype({"opp_id": "string", "stage": "string"})


def dataset() -> Dataset:
    return Dataset(CONFIG, reps(), opportunities(), stage_history())
