"""Known-answer tests of the foundation KPIs on a hand-made dataset (values worked out by hand)."""

from __future__ import annotations

import pandas as pd
import pytest
from kpi_fixture import kpi_dataset
from pandas.testing import assert_frame_equal

from spmlib.exceptions import UnknownNameError
from spmlib.io.schema import Dataset
from spmlib.productivity.kpis import kpis

D = pd.to_datetime


@pytest.fixture
def ds() -> Dataset:
    return kpi_dataset()


def test_kpis_by_rep_over_all_data(ds):
    out = kpis(ds, by="rep")
    # a: won 1 (100) + 6 (60) = 2 won, 1 lost -> win 2/3; cycles 10 and 5 days -> median 7.5;
    #    quota 200 + 200 = 400 -> attainment 160/400 = 0.4.
    # b: won 4 (300, 30 days) and 5 (200, 10 days) -> bookings 500, median 20; quota 800 -> 0.625.
    # c: no deals, no quota rows -> zero counts, empty rates, quota 0.
    expected = pd.DataFrame(
        {
            "rep_id": pd.array(["a", "b", "c"], dtype=object),
            "opportunities_created": [4, 2, 0],
            "won": [2, 2, 0],
            "lost": [1, 0, 0],
            "win_rate": [2 / 3, 1.0, float("nan")],
            "bookings": [160.0, 500.0, 0.0],
            "avg_deal_size": [80.0, 250.0, float("nan")],
            "median_cycle_days": [7.5, 20.0, float("nan")],
            "quota": [400.0, 800.0, 0.0],
            "attainment": [0.4, 0.625, float("nan")],
        }
    )
    got = out[expected.columns].astype({"rep_id": object})
    assert_frame_equal(got, expected, check_dtype=False)
    assert list(out.columns[:3]) == ["rep_id", "rep_name", "team"]
    # Wilson 95% for 2/3: statsmodels proportion_confint(2, 3, method="wilson") = (0.2077, 0.9385)
    assert out.loc[0, "win_rate_low"] == pytest.approx(0.2077, abs=1e-4)
    assert out.loc[0, "win_rate_high"] == pytest.approx(0.9385, abs=1e-4)


def test_kpis_range_is_inclusive_and_quota_must_fit_whole(ds):
    # Range Jan 11 - Feb 15: created in range: opps 4 (Jan 20), 5 (Feb 2), 6 (Feb 10) -> a 1, b 2.
    # Closed in range: 1 (Jan 11 won), 2 (Jan 20 lost), 5 (Feb 12 won), 6 (Feb 15 won); 4 closes Feb 19.
    # No quota period lies wholly inside -> quota 0, attainment empty.
    out = kpis(ds, by="team", start="2026-01-11", end="2026-02-15").set_index("team")
    assert out.loc["North", "opportunities_created"] == 3
    assert (out.loc["North", "won"], out.loc["North", "lost"]) == (3, 1)
    assert out.loc["North", "bookings"] == 360.0
    assert out.loc["North", "quota"] == 0.0 and pd.isna(out.loc["North", "attainment"])
    assert out.loc["South", "opportunities_created"] == 0


def test_kpis_per_month(ds):
    out = kpis(ds, by="rep", period="month")
    a = out[out["rep_id"] == "a"].set_index("period")
    # Jan: a won opp 1 (100), lost 2; quota 200 -> 0.5. Feb: won 6 (60); quota 200 -> 0.3.
    assert a.loc["2026-01", "bookings"] == 100.0 and a.loc["2026-01", "attainment"] == 0.5
    assert a.loc["2026-02", "bookings"] == 60.0 and a.loc["2026-02", "attainment"] == 0.3
    # The data ends with February's quotas: an open deal's expected close (Mar 1) is no event.
    assert list(a.index) == ["2026-01", "2026-02"]
    assert set(out["rep_id"]) == {"a", "b", "c"}


def test_kpis_per_fiscal_quarter_and_ytd(ds):
    q = kpis(ds, by="all", period="quarter").set_index("period")
    # FY starts Feb: Jan 2026 is FY2026-Q4, Feb-Mar 2026 is FY2027-Q1 (clipped to the data).
    assert list(q.index) == ["FY2026-Q4", "FY2027-Q1"]
    assert q.loc["FY2026-Q4", "bookings"] == 100.0  # opp 1 only
    assert q.loc["FY2027-Q1", "bookings"] == 560.0  # 300 + 200 + 60
    assert q.loc["FY2026-Q4", "quota"] == 600.0  # Jan quotas of a and b
    ytd = kpis(ds, by="all", period="ytd")
    assert ytd["period"].tolist() == ["FY2026", "FY2027 YTD"]
    assert ytd["period_end"].iloc[-1] == pd.Timestamp("2026-02-28")


def test_kpis_rejects_unknown_grouping_and_period(ds):
    with pytest.raises(UnknownNameError, match="valid: company, manager, region, rep, team"):
        kpis(ds, by="planet")
    with pytest.raises(UnknownNameError, match="period"):
        kpis(ds, period="decade")
    with pytest.raises(ValueError, match="before start"):
        kpis(ds, start="2026-02-01", end="2026-01-01")


def test_planned_quotas_after_the_reference_date_are_not_data_yet(ds):
    # A March quota is planned, but the data ends on Feb 19 (its latest close): the range still
    # ends with February's quota period, so March neither appears nor dilutes attainment.
    planned = pd.DataFrame(
        {
            "rep_id": ["a"],
            "period_start": D(["2026-03-01"]),
            "period_end": D(["2026-03-31"]),
            "quota": [999.0],
        }
    )
    ds2 = Dataset(ds.config, ds.reps, ds.opportunities, quotas=pd.concat([ds.quotas, planned]))
    assert kpis(ds2).set_index("rep_id").loc["a", "quota"] == 400.0
    assert kpis(ds2, period="month")["period"].unique().tolist() == ["2026-01", "2026-02"]
    # An explicit range that holds March counts it.
    march = kpis(ds2, start="2026-03-01", end="2026-03-31").set_index("rep_id")
    assert march.loc["a", "quota"] == 999.0 and march.loc["a", "won"] == 0
