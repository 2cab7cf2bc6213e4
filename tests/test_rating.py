"""The rep rating: its rule's boundaries, its order (never a rep at or above 100% below one
under 50%), and the review window on hand-made reps (a hire inside the window, a ramping rep,
a rep without quota)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spmlib.core.benchmark import band_of, round_significant, team_benchmark
from spmlib.io.schema import Dataset, DatasetConfig
from spmlib.productivity.rating import RATING_ORDER, rate, rep_ratings, review_window

NAN = float("nan")


@pytest.mark.parametrize(
    ("attainment", "pace", "counts", "expected"),
    [
        (1.10, NAN, False, "Exceeds expectations"),  # 110% on its own
        (1.0999, NAN, False, "Meets expectations"),
        (1.00, 1.10, True, "Exceeds expectations"),  # 100% with a pace of 110%
        (1.00, 1.10, False, "Meets expectations"),  # the pace does not count yet
        (0.99, 1.50, True, "Meets expectations"),  # under 100%: pace cannot lift it to Exceeds
        (0.85, 0.10, True, "Meets expectations"),  # 85%: pace cannot drop it
        (0.8499, 0.6999, True, "Needs improvement"),  # under 85% with a pace under 70%
        (0.8499, 0.70, True, "Meets expectations"),
        (0.70, NAN, False, "Meets expectations"),
        (0.6999, 2.0, True, "Needs improvement"),  # under 70% whatever the pace
        (0.31, NAN, False, "Needs improvement"),  # the 31% and 39% "Meets"
        (0.79, NAN, False, "Meets expectations"),  # and 79% "Needs improvement"
    ],
)
def test_rule_boundaries(attainment, pace, counts, expected):
    assert rate(attainment, pace, counts) == expected


def test_ramping_and_not_rated():
    assert rate(2.0, ramping=True) == "Ramping"
    assert rate(NAN) == "Not rated" and rate(NAN, pace=1.5, pace_counts=True) == "Not rated"


rates = st.floats(0, 5, allow_nan=False)
paces = st.one_of(st.just(NAN), st.floats(0, 5, allow_nan=False))


@settings(max_examples=500, deadline=None)
@given(high=st.floats(1.0, 5, allow_nan=False), low=st.floats(0, 0.4999, allow_nan=False),
       pace_high=paces, pace_low=paces, counts=st.booleans())  # fmt: skip
def test_at_or_above_quota_is_never_rated_below_under_half(high, low, pace_high, pace_low, counts):
    top = RATING_ORDER[rate(high, pace_high, counts)]
    bottom = RATING_ORDER[rate(low, pace_low, counts)]
    assert top > bottom  # strictly: at least Meets against Needs improvement


@settings(max_examples=500, deadline=None)
@given(a=rates, b=rates, pace=paces, counts=st.booleans())
def test_more_attainment_never_rates_lower_at_the_same_pace(a, b, pace, counts):
    lo, hi = sorted((a, b))
    assert RATING_ORDER[rate(hi, pace, counts)] >= RATING_ORDER[rate(lo, pace, counts)]


def test_review_window_is_the_two_quarters_before_this_one():
    # fiscal year from February; 2026-12-14 is in FY2027-Q4 (Nov-Jan)
    lo, hi, label = review_window(pd.Timestamp("2026-12-14"), 2)
    assert (lo, hi) == (pd.Timestamp("2026-05-01"), pd.Timestamp("2026-10-31"))
    assert label == "FY2027-Q2 to FY2027-Q3"
    assert review_window(pd.Timestamp("2026-12-14"), 2, quarters=1)[2] == "FY2027-Q3"


def _reps_dataset() -> Dataset:
    """Fiscal year from January; as_of 2026-05-15, in Q2 (Apr-Jun): the window is Oct 2025 to
    Mar 2026; 33 of Q2's 65 weekdays are gone (Apr 1 to May 15), over a third.

    rep  hired       quota (monthly)       won in window        won in Q2
    old  -           1,000 Oct-Jun         6,600 -> 110%        900 of 3,000
    mid  2026-01-01  2,000 Jan-Jun         4,000 of 6,000       -
                     (Oct-Dec rows of 0 would be absent anyway)
    new  2026-03-01  500 Mar-Jun           600 of 500 (120%)    -
    none -           -                     5,000                -
    """
    reps = pd.DataFrame(
        {
            "rep_id": ["old", "mid", "new", "none"],
            "rep_name": ["Olga", "Mia", "Ned", "Nora"],
            "team": ["T"] * 4,
            "hire_date": pd.to_datetime([None, "2026-01-01", "2026-03-01", None]),
        }
    )
    won = [
        ("w1", "old", "2025-11-10", 3300.0),
        ("w2", "old", "2026-02-10", 3300.0),
        ("w3", "old", "2026-04-20", 900.0),
        ("w4", "mid", "2026-02-15", 4000.0),
        ("w5", "mid", "2025-12-20", 999.0),  # before her hire (bad data): not counted
        ("w6", "new", "2026-03-20", 600.0),
        ("w7", "none", "2026-01-20", 5000.0),
    ]
    opps = pd.DataFrame(won, columns=["opp_id", "rep_id", "close_date", "amount"])
    opps["close_date"] = pd.to_datetime(opps["close_date"])
    opps["created_date"] = opps["close_date"] - pd.Timedelta(days=20)
    opps["status"], opps["stage"] = "won", "Won"
    months = pd.date_range("2025-10-01", "2026-06-01", freq="MS")
    rows = [("old", m, 1000.0) for m in months]
    rows += [("mid", m, 2000.0) for m in months if m >= pd.Timestamp("2026-01-01")]
    rows += [("new", m, 500.0) for m in months if m >= pd.Timestamp("2026-03-01")]
    quotas = pd.DataFrame(rows, columns=["rep_id", "period_start", "quota"])
    quotas["period_end"] = quotas["period_start"] + pd.offsets.MonthEnd(0)
    cfg = DatasetConfig(("Open",), "Won", "Lost", as_of=pd.Timestamp("2026-05-15"))
    return Dataset(cfg, reps, opps, quotas=quotas)


def test_rep_ratings_on_hand_made_reps():
    r = rep_ratings(_reps_dataset()).set_index("rep_id")
    assert set(r["window"]) == {"FY2025-Q4 to FY2026-Q1"}
    # old: 6,600 / 6,000 = 110%: Exceeds on attainment alone
    assert r.loc["old", "attainment"] == pytest.approx(1.1)
    assert r.loc["old", "rating"] == "Exceeds expectations"
    # this quarter: 900 of 3,000 = 30%, with 33 / 65 weekdays gone: pace 0.3 / (33/65)
    assert r.loc["old", "quarter_attainment"] == pytest.approx(0.3)
    assert r.loc["old", "elapsed_share"] == pytest.approx(33 / 65)
    assert r.loc["old", "pace"] == pytest.approx(0.3 * 65 / 33) and r.loc["old", "pace_counts"]
    # mid: measured from her hire on 2026-01-01: 4,000 / 6,000; the December deal is not hers
    # to count; 3 months in role at the window's end: ramping (under 6)
    assert r.loc["mid", "measured_from"] == pd.Timestamp("2026-01-01")
    assert r.loc["mid", "attainment"] == pytest.approx(4000 / 6000)
    assert r.loc["mid", "months_in_role"] == 3 and r.loc["mid", "rating"] == "Ramping"
    # new: one month in role: ramping whatever her 120%
    assert r.loc["new", "attainment"] == pytest.approx(1.2) and r.loc["new", "ramping"]
    # none: bookings but no quota
    assert math.isnan(r.loc["none", "attainment"]) and r.loc["none", "rating"] == "Not rated"
    # with a shorter ramp, mid (67%) is rated: under 70%
    r3 = rep_ratings(_reps_dataset(), ramp_months=3).set_index("rep_id")
    assert r3.loc["mid", "rating"] == "Needs improvement"


def test_sample_ratings_keep_the_order():
    import spmlib

    ratings = rep_ratings(spmlib.load(None))
    rated = ratings[ratings["rating"].isin(list(RATING_ORDER))]
    order = rated["rating"].map(RATING_ORDER)
    at_quota = order[rated["attainment"] >= 1.0]
    under_half = order[rated["attainment"] < 0.5]
    assert len(at_quota) and len(under_half)
    assert at_quota.min() > under_half.max()


def test_benchmark_helpers():
    # two significant figures; the band counts ties half
    assert round_significant(31.67) == 32.0 and round_significant(0.04567) == 0.046
    assert band_of(5, [1, 2, 3, 4, 6]) == "top quarter"  # better than 4 of 5 = 0.8
    assert band_of(3, [1, 2, 3, 4, 6]) == "middle half"  # 2.5 of 5 = 0.5
    assert band_of(1, [1, 2, 3, 4, 6]) == "bottom quarter"  # 0.5 of 5 = 0.1
    # four others: no benchmark; missing values do not count
    assert team_benchmark(0.5, [0.1, 0.2, 0.3, 0.4, NAN]).median is None
    assert team_benchmark(0.5, [0.1, 0.2, 0.3, 0.4, 0.9]).median == 0.3


def test_spm_scorecards_lists_every_rep(tmp_path):
    import json

    import yaml
    from typer.testing import CliRunner

    from spmlib.cli import app

    ds = _reps_dataset()
    ds.reps.to_csv(tmp_path / "reps.csv", index=False)
    ds.opportunities.to_csv(tmp_path / "opportunities.csv", index=False)
    ds.quotas.to_csv(tmp_path / "quotas.csv", index=False)
    (tmp_path / "dataset.yml").write_text(
        yaml.safe_dump({"open_stages": ["Open"], "won_stage": "Won", "lost_stage": "Lost",
                        "fiscal_year_start_month": 1, "as_of": "2026-05-15"})
    )  # fmt: skip
    runner = CliRunner()
    result = runner.invoke(app, ["scorecards", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["rep_id"]: r for r in json.loads(result.stdout)}
    assert {k: v["rating"] for k, v in rows.items()} == {
        "old": "Exceeds expectations", "mid": "Ramping", "new": "Ramping", "none": "Not rated"
    }  # fmt: skip
    assert rows["old"]["attainment"] == pytest.approx(1.1)
    assert rows["old"]["window"] == "FY2025-Q4 to FY2026-Q1"
    # a team of four: no comparison, so no strengths or areas
    assert {r["strengths"] for r in rows.values()} == {""}
    table = runner.invoke(app, ["scorecards", str(tmp_path), "--team", "T"])
    assert table.exit_code == 0 and "Exceeds expectations" in table.stdout
    assert "Olga" in table.stdout and "110%" in table.stdout
    bad = runner.invoke(app, ["scorecards", str(tmp_path), "--team", "Nope"])
    assert bad.exit_code == 1 and "team 'Nope' is not in the dataset" in bad.output
