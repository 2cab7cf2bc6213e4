"""Known-answer tests of quota attainment, its distribution and pace (values worked out by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spmlib.exceptions import UnknownNameError
from spmlib.io.schema import Dataset, DatasetConfig
from spmlib.productivity.attainment import (
    allocate_quota,
    attainment,
    attainment_distribution,
    share_at_quota,
)
from spmlib.productivity.kpis import kpis

D = pd.to_datetime


@pytest.fixture
def ds() -> Dataset:
    # Calendar fiscal year; as_of Saturday 14 Feb 2026: 32 of the 64 weekdays (selling days) of
    # Q1 have passed (elapsed 0.5: January's 22 and 2-13 February's 10), and 10 of February's
    # 20 (elapsed 0.5).
    reps = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c", "d"],
            "rep_name": ["Ann", "Bob", "Cy", "Dee"],
            "team": ["North", "North", "North", "South"],
            "hire_date": D(["2020-01-01", "2026-02-01", "2021-01-01", "2022-01-01"]),
        }
    )
    quotas = pd.DataFrame(
        {
            # a: monthly 300s. b (hired 1 Feb): one row Feb-Mar of 600, straddling months.
            # c: one 90-day row 1 Dec 2025 - 28 Feb 2026 of 900, straddling the quarter boundary.
            # d: no quota.
            "rep_id": ["a", "a", "a", "b", "c"],
            "period_start": D(
                ["2026-01-01", "2026-02-01", "2026-03-01", "2026-02-01", "2025-12-01"]
            ),
            "period_end": D(["2026-01-31", "2026-02-28", "2026-03-31", "2026-03-31", "2026-02-28"]),
            "quota": [300.0, 300.0, 300.0, 600.0, 900.0],
        }
    )
    won = [
        ("a", "2026-01-02", "2026-01-10", 450.0),
        ("a", "2026-01-15", "2026-02-05", 300.0),
        ("a", "2026-01-20", "2026-02-20", 1000.0),  # closes after as_of: not counted
        ("b", "2026-02-02", "2026-02-10", 200.0),
        ("c", "2025-11-20", "2025-12-15", 155.0),
        ("c", "2026-01-02", "2026-01-20", 295.0),
        ("d", "2026-01-02", "2026-01-05", 100.0),
    ]
    opps = pd.DataFrame(won, columns=["rep_id", "created_date", "close_date", "amount"])
    opps.insert(0, "opp_id", [f"o{i}" for i in range(len(opps))])
    opps["created_date"], opps["close_date"] = D(opps["created_date"]), D(opps["close_date"])
    opps["stage"], opps["status"] = "Won", "won"
    cfg = DatasetConfig(("Open",), "Won", "Lost", as_of=pd.Timestamp("2026-02-14"))
    return Dataset(cfg, reps, opps, quotas=quotas)


def test_allocate_quota_by_days():
    q = pd.DataFrame(
        {
            "rep_id": ["c"],
            "quota": [900.0],
            "period_start": D(["2025-12-01"]),
            "period_end": D(["2026-02-28"]),
        }
    )
    w = pd.DataFrame(
        {
            "period_start": D(["2025-10-01", "2026-01-01"]),
            "period_end": D(["2025-12-31", "2026-03-31"]),
        }
    )
    out = allocate_quota(q, w)
    # 90 days: December's 31 go to Q4 (310), January + February's 59 to Q1 (590).
    assert out["window"].tolist() == [0, 1]
    assert out["quota"].tolist() == pytest.approx([310.0, 590.0])


def test_quarter_attainment_and_pace(ds):
    att = attainment(ds, "quarter").set_index(["rep_id", "period"])
    q1 = att.xs("FY2026-Q1", level="period")
    assert q1["elapsed_share"].tolist() == [0.5] * 4
    # a: quota 3 x 300 = 900; bookings 450 + 300 (the 1000 closes after as_of) = 750 -> 0.8333;
    #    pace gap 0.8333 - 0.5; projected 0.8333 / 0.5 = 1.6667.
    assert q1.loc["a", "quota"] == 900.0 and q1.loc["a", "bookings"] == 750.0
    assert q1.loc["a", "attainment"] == pytest.approx(750 / 900)
    assert q1.loc["a", "pace_gap"] == pytest.approx(750 / 900 - 0.5)
    assert q1.loc["a", "projected_attainment"] == pytest.approx(1500 / 900)
    assert bool(q1.loc["a", "on_pace"])
    # b, hired mid-quarter: 600 (wholly inside Q1), 200 booked -> 1/3, behind pace.
    assert q1.loc["b", "attainment"] == pytest.approx(1 / 3)
    assert not bool(q1.loc["b", "on_pace"])
    # c: the straddling row gives Q1 59/90 of 900 = 590; 295 booked -> 0.5 = exactly on pace.
    assert q1.loc["c", "quota"] == pytest.approx(590.0)
    assert q1.loc["c", "attainment"] == pytest.approx(0.5)
    assert q1.loc["c", "projected_attainment"] == pytest.approx(1.0)
    # d: no quota -> reps 0, empty attainment, bookings still shown.
    assert q1.loc["d", "reps"] == 0 and np.isnan(q1.loc["d", "attainment"])
    assert q1.loc["d", "bookings"] == 100.0
    # FY2025-Q4 (Oct-Dec 2025) is over: c 155 of 310 -> 0.5, elapsed 1, projected = attainment.
    q4 = att.xs("FY2025-Q4", level="period")
    assert q4.loc["c", "quota"] == pytest.approx(310.0)
    assert q4.loc["c", "elapsed_share"] == 1.0
    assert q4.loc["c", "projected_attainment"] == pytest.approx(0.5)


def test_month_attainment_with_straddling_rows(ds):
    att = attainment(ds, "month").set_index(["rep_id", "period"])
    # February (elapsed 14/28): a 300 of 300; b 28/59 of 600 = 284.75, 200 booked; c 28/90 of 900 = 280.
    assert att.loc[("a", "2026-02"), "attainment"] == 1.0
    assert att.loc[("b", "2026-02"), "quota"] == pytest.approx(600 * 28 / 59)
    assert att.loc[("b", "2026-02"), "attainment"] == pytest.approx(200 / (600 * 28 / 59))
    assert att.loc[("c", "2026-02"), "quota"] == pytest.approx(280.0)
    assert att.loc[("c", "2026-02"), "elapsed_share"] == 0.5
    # b had no quota in January (hired 1 Feb).
    assert np.isnan(att.loc[("b", "2026-01"), "attainment"])
    # March starts after as_of: not reported.
    assert "2026-03" not in att.index.get_level_values("period")


def test_team_and_ytd(ds):
    team = attainment(ds, "quarter", by="team").set_index(["team", "period"])
    # North Q1: quota 900 + 600 + 590 = 2090, bookings 750 + 200 + 295 = 1245, 3 reps.
    north = team.loc[("North", "FY2026-Q1")]
    assert north["quota"] == pytest.approx(2090.0) and north["bookings"] == 1245.0
    assert north["reps"] == 3 and north["attainment"] == pytest.approx(1245 / 2090)
    # South: d carries no quota, so the team has none.
    assert team.loc[("South", "FY2026-Q1"), "reps"] == 0
    ytd = attainment(ds, "ytd", start="2026-01-01").set_index("rep_id")
    assert ytd["period"].unique().tolist() == ["FY2026 YTD"]
    # FY2026 quota rows known: a's 900; elapsed 32 of the year's 261 selling days (weekdays).
    assert ytd.loc["a", "attainment"] == pytest.approx(750 / 900)
    assert ytd.loc["a", "elapsed_share"] == pytest.approx(32 / 261)
    company = attainment(ds, "quarter", by="all", start="2026-01-01")
    assert list(company.columns[:2]) == ["period", "period_start"] and len(company) == 1
    assert company.loc[0, "quota"] == pytest.approx(2090.0)


def test_agrees_with_kpis_when_quota_rows_lie_inside_periods(ds):
    mine = attainment(ds, "month").set_index(["rep_id", "period"])
    theirs = kpis(ds, by="rep", period="month").set_index(["rep_id", "period"])
    # a's quota rows are whole months: both definitions give 450/300 in January.
    assert (
        mine.loc[("a", "2026-01"), "attainment"]
        == theirs.loc[("a", "2026-01"), "attainment"]
        == 1.5
    )


def test_distribution_and_share_at_quota(ds):
    att = attainment(ds, "quarter", start="2026-01-01")
    dist = attainment_distribution(att).set_index("band")
    # Q1: a 0.83 (80-100%), b 0.33 (< 50%), c 0.50 (50-80%); d has no quota.
    assert dist["reps"].tolist() == [1, 1, 1, 0, 0]
    assert dist["share"].sum() == pytest.approx(1.0)
    share = share_at_quota(att)
    assert (share.loc[0, "reps_with_quota"], share.loc[0, "at_or_above"]) == (3, 0)
    # Wilson upper bound of 0/3 = z^2/(n+z^2) = 3.8416/6.8416 = 0.5615.
    assert share.loc[0, "share_at_quota_high"] == pytest.approx(0.5615, abs=1e-4)
    monthly = attainment(ds, "month", start="2026-02-01")
    by_team = share_at_quota(monthly, by="team")
    # February: a at 100% counts as "at or above"; b 0.70, c 0.
    assert by_team.loc[0, ["team", "at_or_above", "reps_with_quota"]].tolist() == ["North", 1, 3]


def test_unknown_period(ds):
    with pytest.raises(UnknownNameError):
        attainment(ds, "fortnight")
