"""Known-answer tests of spmlib.productivity.activity on a hand-made dataset (every value worked out by hand)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from spmlib.exceptions import UnknownNameError
from spmlib.io.schema import Dataset, DatasetConfig
from spmlib.productivity.activity import (
    activity_mix,
    activity_outcomes,
    activity_time_share,
    activity_volume,
    revenue_per_rep,
)
from spmlib.productivity.ramp import ramp, ramp_curve

D = pd.to_datetime


@pytest.fixture
def ds() -> Dataset:
    # a: tenured, busy; b: hired 15 Feb 2026 (mid-period); c: tenured, no activity at all;
    # d: another team. Range: 1 Jan - 31 Mar 2026 (as_of 31 Mar).
    reps = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c", "d"],
            "rep_name": ["Ann", "Bob", "Cy", "Dee"],
            "team": ["North", "North", "North", "South"],
            "hire_date": D([None, "2026-02-15", "2020-01-01", "2019-05-01"]),
        }
    )
    rows = [
        # rep, type, date, outcome, minutes
        ("a", "call", "2026-01-05", None, 10),
        ("a", "Calls", "2026-01-06", None, 10),
        ("a", "call", "2026-02-02", None, 10),
        ("a", "call", "2026-03-03", None, 10),
        ("a", "meeting", "2026-01-07", None, 60),
        ("a", "meeting", "2026-02-03", None, 60),
        ("a", "proposal", "2026-01-20", "accepted", 30),
        ("a", "proposal", "2026-02-10", "Rejected", 30),
        ("a", "proposal", "2026-03-10", None, 30),
        ("a", "email", "2026-03-04", None, 5),
        ("b", "call", "2026-02-20", None, None),
        ("b", "call", "2026-03-01", None, None),
        ("b", "meeting", "2026-03-02", None, None),
        ("b", "referral", "2026-03-05", None, None),
        ("d", "event", "2026-01-15", None, None),
    ]
    acts = pd.DataFrame(rows, columns=["rep_id", "type", "date", "outcome", "duration_minutes"])
    acts.insert(0, "activity_id", [f"x{i}" for i in range(len(acts))])
    acts["date"] = D(acts["date"])
    acts["duration_minutes"] = acts["duration_minutes"].astype(float)
    opps = pd.DataFrame(
        {
            "opp_id": ["o1", "o2", "o3", "o4", "o5"],
            "rep_id": ["a", "a", "a", "b", "d"],
            "created_date": D(
                ["2026-01-03", "2026-02-01", "2026-03-01", "2026-02-20", "2026-01-10"]
            ),
            "close_date": D(["2026-01-25", "2026-02-20", "2026-04-30", "2026-03-20", "2026-01-30"]),
            "stage": ["Won", "Lost", "Open", "Won", "Won"],
            "amount": [1000.0, 500.0, 800.0, 2000.0, 700.0],
            "status": ["won", "lost", "open", "won", "won"],
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["l1", "l2"],
            "rep_id": ["b", "a"],
            "created_date": D(["2026-03-01", "2026-01-02"]),
            "source": ["Referral", "web"],
        }
    )
    cfg = DatasetConfig(("Open",), "Won", "Lost", as_of=pd.Timestamp("2026-03-31"))
    return Dataset(cfg, reps, opps, activities=acts, leads=leads)


def test_activity_volume_by_month_and_type(ds):
    vol = activity_volume(ds, "month")
    # 4 reps x 3 months x 6 types found (call, email, meeting, proposal, referral, event).
    assert len(vol) == 4 * 3 * 6
    assert list(vol.columns) == [
        "rep_id",
        "rep_name",
        "team",
        "period",
        "period_start",
        "type",
        "activities",
        "active",
    ]
    v = vol.set_index(["rep_id", "period", "type"])["activities"]
    # a in January: calls on 5 and 6 Jan ("Calls" read as call), meeting 7 Jan, proposal 20 Jan.
    assert (
        v["a", "2026-01", "call"],
        v["a", "2026-01", "meeting"],
        v["a", "2026-01", "proposal"],
    ) == (2, 1, 1)
    assert v["a", "2026-03", "email"] == 1 and v["b", "2026-03", "referral"] == 1
    # c logged nothing: zero rows, not missing ones.
    assert vol.loc[vol["rep_id"] == "c", "activities"].sum() == 0
    assert vol["activities"].sum() == 15
    # b was hired 15 Feb: January is before the hire (inactive), February and March count.
    act = vol[vol["rep_id"] == "b"].groupby("period")["active"].first()
    assert act.tolist() == [False, True, True]


def test_activity_volume_by_week(ds):
    vol = activity_volume(ds, "week")
    wk = vol[(vol["rep_id"] == "a") & (vol["type"] == "call")].set_index("period_start")[
        "activities"
    ]
    # Monday 5 Jan 2026 week holds the calls of 5 and 6 Jan.
    assert wk[pd.Timestamp("2026-01-05")] == 2
    assert vol["activities"].sum() == 15


def test_activity_time_share(ds):
    share = activity_time_share(ds).set_index(["rep_id", "type"])
    # a logged 4 x 10 (calls) + 2 x 60 (meetings) + 3 x 30 (proposals) + 5 (email) = 255 minutes.
    assert share.loc[("a", "call"), "minutes"] == 40
    assert share.loc[("a", "meeting"), "share"] == pytest.approx(120 / 255)
    assert share.loc["a", "share"].sum() == pytest.approx(1.0)
    # b logged no durations: absent.
    assert "b" not in share.index.get_level_values("rep_id")


def test_activity_time_share_without_durations(ds):
    acts = ds.activities.drop(columns=["duration_minutes"])
    out = activity_time_share(replace(ds, activities=acts))
    assert out.empty and list(out.columns) == [
        "rep_id",
        "rep_name",
        "team",
        "type",
        "minutes",
        "share",
    ]


def test_activity_outcomes_known_answers(ds):
    # The data start on 3 Jan (first creation), so the range is given from 1 Jan.
    out = activity_outcomes(ds, start="2026-01-01").set_index("rep_id")
    a, b, c, d = (out.loc[r] for r in "abcd")
    # a: 10 activities, 4 calls, 2 meetings; 3 proposals of which 2 decided, 1 accepted.
    assert (
        a.activities,
        a.calls,
        a.meetings,
        a.proposals,
        a.proposals_decided,
        a.proposals_accepted,
    ) == (10, 4, 2, 3, 2, 1)
    # Wilson 95% for 1/2 by hand: centre 0.5, half-width 1.96*sqrt(0.125+0.2401)/2.9208 = 0.4055.
    assert a.proposal_acceptance == 0.5
    assert a.proposal_acceptance_low == pytest.approx(0.0945, abs=1e-4)
    assert a.proposal_acceptance_high == pytest.approx(0.9055, abs=1e-4)
    # a: 3 opps created, 1 won (o1), Jan-Mar = 3 months active.
    assert a.calls_per_meeting == 2.0
    assert a.meetings_per_opportunity == pytest.approx(2 / 3)
    assert a.activities_per_won_deal == 10.0
    assert a.months_active == 3.0 and a.opportunities_per_month == 1.0
    assert a.activities_per_month == pytest.approx(10 / 3)
    # b hired 15 Feb: 14/28 of February + March = 1.5 months; 1 opp -> 0.667 per month.
    assert b.months_active == 1.5
    assert b.opportunities_per_month == pytest.approx(1 / 1.5)
    assert (b.calls_per_meeting, b.meetings_per_opportunity, b.activities_per_won_deal) == (
        2.0,
        1.0,
        4.0,
    )
    # b: one referral logged, one lead whose source is "Referral".
    assert (b.referrals_given, b.referrals_received) == (1, 1)
    assert np.isnan(b.proposal_acceptance)
    # c: no activity, no deals -> zero counts, every ratio empty.
    assert (c.activities, c.opportunities_created, c.won) == (0, 0, 0)
    assert (
        c[["calls_per_meeting", "meetings_per_opportunity", "activities_per_won_deal"]].isna().all()
    )
    assert c.opportunities_per_month == 0.0
    # d: no calls and no meetings -> calls per meeting empty; 0 meetings over 1 opp = 0.
    assert np.isnan(d.calls_per_meeting) and d.meetings_per_opportunity == 0.0


def test_activity_outcomes_respects_the_range(ds):
    out = activity_outcomes(ds, start="2026-02-01", end="2026-02-28").set_index("rep_id")
    # February only: a has call 2 Feb, meeting 3 Feb, proposal 10 Feb (rejected); o2 created 1 Feb.
    assert (out.loc["a", "activities"], out.loc["a", "opportunities_created"]) == (3, 1)
    assert out.loc["a", "proposal_acceptance"] == 0.0
    # b hired 15 Feb: active 14 of 28 days.
    assert out.loc["b", "months_active"] == 0.5


def test_activity_outcomes_referrals_from_lead_source_without_leads(ds):
    opps = ds.opportunities.assign(lead_source=["web", "referral", None, "Referral", None])
    empty_leads = ds.leads.iloc[0:0]
    out = activity_outcomes(replace(ds, opportunities=opps, leads=empty_leads)).set_index("rep_id")
    assert (out.loc["a", "referrals_received"], out.loc["b", "referrals_received"]) == (1, 1)


def test_referrals_received_from_activity_outcomes(ds):
    acts = ds.activities.copy()
    # Mark b's referral as one received: given 0, received 1 (leads are then not used).
    acts.loc[acts["type"] == "referral", "outcome"] = "received"
    out = activity_outcomes(replace(ds, activities=acts)).set_index("rep_id")
    assert (out.loc["b", "referrals_given"], out.loc["b", "referrals_received"]) == (0, 1)
    assert out["referrals_received"].sum() == 1
    vol = activity_volume(replace(ds, activities=acts))
    by_type = vol.groupby("type")["activities"].sum()
    assert by_type["referral received"] == 1 and by_type.get("referral given", 0) == 0


def test_does_not_mutate_inputs(ds):
    before = ds.activities.copy()
    activity_volume(ds)
    activity_outcomes(ds)
    pd.testing.assert_frame_equal(ds.activities, before)


def test_ramp_against_tenured_median(ds):
    # Keep reps a (tenured: no hire date) and b (hired 15 Feb 2026).
    two = replace(ds, reps=ds.reps[ds.reps["rep_id"].isin(["a", "b"])].reset_index(drop=True))
    rows = ramp(two, "activities", horizon=2)
    assert rows["rep_id"].tolist() == ["b", "b"]
    assert rows["month_since_hire"].tolist() == [1, 2]
    # February: b 1 call, a 3 activities -> 1/3; March: b 3 (call, meeting, referral), a 3 -> 1.
    assert rows["value"].tolist() == [1.0, 3.0]
    assert rows["tenured_median"].tolist() == [3.0, 3.0]
    assert rows["share_of_tenured"].tolist() == pytest.approx([1 / 3, 1.0])
    curve = ramp_curve(rows)
    assert curve["reps"].tolist() == [1, 1]
    assert curve["median_share_of_tenured"].tolist() == pytest.approx([1 / 3, 1.0])


def test_ramp_bookings_and_unknown_metric(ds):
    two = replace(ds, reps=ds.reps[ds.reps["rep_id"].isin(["a", "b"])].reset_index(drop=True))
    rows = ramp(two, "bookings", horizon=3)
    # b won o4 (2000) on 20 Mar, month 2 since hire; a booked nothing in Feb or Mar -> median 0.
    assert rows["value"].tolist() == [0.0, 2000.0]
    assert rows["share_of_tenured"].isna().all()
    with pytest.raises(UnknownNameError):
        ramp(ds, "happiness")


def test_activity_mix_shares(ds):
    mix = activity_mix(activity_volume(ds)).set_index(["rep_id", "type"])
    # a: 4 calls of 10 activities; c logged nothing -> shares empty, counts 0.
    assert mix.loc[("a", "call"), "share"] == pytest.approx(0.4)
    assert mix.loc["c", "activities"].sum() == 0 and mix.loc["c", "share"].isna().all()
    by_team = activity_mix(activity_volume(ds), by="team").set_index(["team", "type"])
    assert by_team.loc[("South", "event"), "share"] == 1.0


def test_revenue_per_rep_counts_part_time_hires(ds):
    out = revenue_per_rep(ds, by="team", start="2026-01-01", end="2026-03-31").set_index("team")
    # North: a and c full time (1 + 1), b hired 15 Feb = 1.5 of 3 months (0.5): fte 2.5;
    # bookings o1 1000 + o4 2000 = 3000 -> 1200 per full-time rep. South: d alone, 700.
    assert out.loc["North", "fte"] == pytest.approx(2.5) and out.loc["North", "reps"] == 3
    assert out.loc["North", "revenue_per_rep"] == pytest.approx(1200.0)
    assert out.loc["South", "revenue_per_rep"] == pytest.approx(700.0)
    company = revenue_per_rep(ds, by="all", start="2026-01-01", end="2026-03-31")
    assert company.loc[0, "bookings"] == 3700.0 and company.loc[0, "fte"] == pytest.approx(3.5)


def test_plots_return_axes(ds):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.axes import Axes

    from spmlib.productivity.attainment import attainment, attainment_distribution
    from spmlib.reports import plotting

    att = attainment(ds, "month")
    now = att[att["period"] == "2026-03"]
    two = replace(ds, reps=ds.reps[ds.reps["rep_id"].isin(["a", "b"])].reset_index(drop=True))
    axes = [
        plotting.plot_pace(now),
        plotting.plot_attainment_distribution(attainment_distribution(att)),
        plotting.plot_activity_mix(activity_mix(activity_volume(ds))),
        plotting.plot_ramp(ramp_curve(ramp(two, "activities", horizon=2))),
    ]
    assert all(isinstance(ax, Axes) for ax in axes)
