"""Deals needing attention and the current stay of open deals, on a hand-made set of deals.

Stages A -> B -> C (C and B are the late ones with ``late_stages=2``), reference date
2026-02-10 (a Tuesday), fiscal quarters from January: the current quarter ends 2026-03-31.

deal rep  stage entered (current stay)  close date   amount  why
d1   r1   A     01-01 (40 days)         03-20        100     stale (A's p90 is 20)
d2   r1   C     02-05 (5 days)          03-25        900     large (>= 800), late, closes in Q
d3   r2   B     02-01 (9 days)          02-01        50      past its close date (02-01 < 02-10)
d4   r2   C     01-10 (31 days)         01-31        950     past close, stale (C's p90 30),
                                                             large and late (closes before
                                                             the quarter ends)
d5   r2   B     02-09 (1 day)           04-15        850     large, late, but closes next
                                                             quarter: none
d6   r1   A     02-08 (2 days)          03-01        10      slipped (from the changes)
d7   r1   (won)                                              closed: never listed
"""

from __future__ import annotations

import pandas as pd
import pytest

from spmlib.funnel.attention import deals_needing_attention, large_deal_amount
from spmlib.funnel.velocity import current_stays
from spmlib.io.schema import DatasetConfig

CFG = DatasetConfig(("A", "B", "C"), "Won", "Lost")
AS_OF = pd.Timestamp("2026-02-10")
P90 = pd.DataFrame({"stage": ["A", "B", "C"], "p90_days": [20.0, 15.0, 30.0]})


def _d(mmdd: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-{mmdd}")


def _deals():
    rows = [
        # opp, rep, stage, status, close, amount, account
        ("d1", "r1", "A", "open", "03-20", 100.0, "Acme"),
        ("d2", "r1", "C", "open", "03-25", 900.0, "Bolt"),
        ("d3", "r2", "B", "open", "02-01", 50.0, "O'Neil & <Co>"),
        ("d4", "r2", "C", "open", "01-31", 950.0, "Dyne"),
        ("d5", "r2", "B", "open", "04-15", 850.0, "Echo"),
        ("d6", "r1", "A", "open", "03-01", 10.0, "Fig"),
        ("d7", "r1", "Won", "won", "01-15", 5000.0, "Gold"),
    ]
    opps = pd.DataFrame(
        rows, columns=["opp_id", "rep_id", "stage", "status", "close_date", "amount", "account"]
    )
    opps["close_date"] = opps["close_date"].map(_d)
    opps["created_date"] = _d("01-01")
    history = pd.DataFrame(
        [
            ("d1", "A", "01-01"),
            ("d2", "A", "01-02"),
            ("d2", "C", "02-05"),
            ("d3", "A", "01-20"),
            ("d3", "B", "02-01"),
            ("d4", "C", "01-10"),
            ("d5", "B", "02-09"),
            ("d6", "A", "02-08"),
            ("d7", "A", "01-01"),
            ("d7", "Won", "01-15"),
        ],
        columns=["opp_id", "stage", "entered_date"],
    )
    history["entered_date"] = history["entered_date"].map(_d)
    return opps, history


def test_current_stays_of_open_deals():
    opps, hist = _deals()
    out = current_stays(opps, hist, config=CFG, as_of=AS_OF)
    # 02-10 minus each deal's last entry: d1 01-01 -> 40, d2 02-05 -> 5, d3 02-01 -> 9,
    # d4 01-10 -> 31, d5 02-09 -> 1, d6 02-08 -> 2; d7 is closed
    assert out["opp_id"].tolist() == ["d1", "d2", "d3", "d4", "d5", "d6"]
    assert out["stage"].tolist() == ["A", "C", "B", "C", "B", "A"]
    assert out["days_in_stage"].tolist() == [40.0, 5.0, 9.0, 31.0, 1.0, 2.0]
    assert out["entered_date"].iloc[1] == _d("02-05")


def test_every_reason_on_hand_made_deals():
    opps, hist = _deals()
    out = deals_needing_attention(
        opps, hist, config=CFG, as_of=AS_OF, thresholds=P90, large_amount=800.0,
        late_stages=2, slipped=["d6"],
    )  # fmt: skip
    got = dict(zip(out["opp_id"], out["reasons"], strict=True))
    # d4: closes 01-31 < 02-10 and 31 days in C > 30; large (950 >= 800) and late (C) but its
    # close date is past, which is before the quarter end, so it is large-late too.
    assert got == {
        "d4": "past close date, stale, large and late-stage",
        "d2": "large and late-stage",
        "d3": "past close date",
        "d1": "stale",
        "d6": "slipped",
    }
    # most reasons first, then the largest amount: d4 (3), then 900, 100, 50, 10 (one each)
    assert out["opp_id"].tolist() == ["d4", "d2", "d1", "d3", "d6"]
    row = out.set_index("opp_id").loc["d3"]
    assert row["account"] == "O'Neil & <Co>" and row["close_date"] == _d("02-01")
    assert row["days_in_stage"] == 9.0 and row["stage"] == "B"
    assert bool(row["past_close"]) and not row["stale"] and not row["large_late"]


def test_late_stages_and_quarter_end_decide_large_late():
    opps, hist = _deals()
    # only C is late: d5 (B) is not, and with a quarter ending 04-30 d5 would still be in B
    only_c = deals_needing_attention(
        opps, hist, config=CFG, as_of=AS_OF, thresholds=P90, large_amount=800.0, late_stages=1,
        quarter_end="2026-04-30",
    )  # fmt: skip
    assert "d5" not in set(only_c["opp_id"])
    # two late stages and a quarter ending 04-30: d5 (B, 850, closes 04-15) counts
    later = deals_needing_attention(
        opps, hist, config=CFG, as_of=AS_OF, thresholds=P90, large_amount=800.0, late_stages=2,
        quarter_end="2026-04-30",
    )  # fmt: skip
    assert later.set_index("opp_id").loc["d5", "reasons"] == "large and late-stage"


def test_without_stage_history_only_dates_and_amounts_count():
    opps, _ = _deals()
    empty = pd.DataFrame(
        {"opp_id": pd.Series(dtype="string"), "stage": pd.Series(dtype="string"),
         "entered_date": pd.Series(dtype="datetime64[ns]")}
    )  # fmt: skip
    out = deals_needing_attention(
        opps.drop(columns="account"), empty, config=CFG, as_of=AS_OF, thresholds=P90,
        large_amount=800.0,
    )  # fmt: skip
    assert not out["stale"].any()
    assert out["days_in_stage"].isna().all() and out["account"].isna().all()
    assert set(out["opp_id"]) == {"d2", "d3", "d4"}


def test_default_large_amount_and_quarter_end():
    opps, hist = _deals()
    # open amounts 10, 50, 100, 850, 900, 950: p90 by linear interpolation = 900 + 0.5 * 50
    assert large_deal_amount(opps) == pytest.approx(925.0)
    # by default the quarter ends 03-31: d5 (closes 04-15) is not large-late
    out = deals_needing_attention(
        opps, hist, config=CFG, as_of=AS_OF, thresholds=P90, large_amount=800.0
    )
    assert "d5" not in set(out["opp_id"]) and "d2" in set(out["opp_id"])
