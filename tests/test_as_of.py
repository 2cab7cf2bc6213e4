"""The week's frame: selling days, this quarter, and a dataset read as it stood on an earlier day
(known answers worked out by hand on a calendar)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spmlib.core.periods import elapsed_share, period_frame, selling_days
from spmlib.exceptions import ParameterError
from spmlib.io.as_of import dataset_as_of
from spmlib.io.schema import Dataset, DatasetConfig
from spmlib.reports.params import FunnelParams
from spmlib.reports.scope import resolve_scope, scope_as_of

D = pd.to_datetime


def test_selling_days_are_weekdays():
    # 2026-12-14 is a Monday: Mon 14 .. Sun 20 holds 5 weekdays; a single Saturday none.
    assert selling_days(D("2026-12-14"), D("2026-12-20")) == 5
    assert selling_days(D("2026-12-19"), D("2026-12-19")) == 0
    # arrays: November 2026 (21 weekdays: Sun 1st, Mon 30th), December 2026 (23)
    starts, ends = D(["2026-11-01", "2026-12-01"]), D(["2026-11-30", "2026-12-31"])
    assert selling_days(starts, ends).tolist() == [21, 23]


def test_elapsed_share_and_this_quarter():
    # FY2027-Q4 (February fiscal year) = Nov 2026 - Jan 2027: 21 + 23 + 21 = 65 weekdays.
    # By Monday 14 Dec: November's 21 + 1-14 December's 10 = 31 -> 31 / 65.
    q = D("2026-11-01"), D("2027-01-31")
    assert elapsed_share(*q, D("2026-12-14")) == pytest.approx(31 / 65)
    # the weekend after adds nothing: Sunday 13 Dec = 30 / 65
    assert elapsed_share(*q, D("2026-12-13")) == pytest.approx(30 / 65)
    assert elapsed_share(*q, D("2026-10-31")) == 0.0 and elapsed_share(*q, D("2027-03-01")) == 1.0
    shares = elapsed_share(D(["2026-11-01", "2026-12-01"]), D(["2026-11-30", "2026-12-31"]),
                           D("2026-12-14"))  # fmt: skip
    np.testing.assert_allclose(shares, [1.0, 10 / 23])
    f = period_frame("2026-12-14", "quarter", fiscal_year_start_month=2)
    assert (f.period, f.start, f.end) == ("FY2027-Q4", *q)
    assert (f.selling_days, f.selling_days_elapsed, f.selling_days_left) == (65, 31, 34)
    # on the quarter's last day the quarter is complete (and still "this quarter")
    assert period_frame("2027-01-31", "quarter", 2).period == "FY2027-Q4"
    assert period_frame("2027-01-31", "quarter", 2).elapsed == 1.0


@pytest.fixture
def ds() -> Dataset:
    cfg = DatasetConfig(
        ("Lead", "Offer"),
        "Won",
        "Lost",
        as_of=pd.Timestamp("2026-03-31"),
        stage_probabilities={"Lead": 0.1, "Offer": 0.5},
        stage_forecast_categories={"Lead": "Pipeline", "Offer": "Best Case"},
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c"],
            "rep_name": ["Ann", "Bo", "Cy"],
            "team": ["T", "T", "T"],
            "hire_date": D(["2020-01-01", "2020-01-01", "2026-03-15"]),
        }
    )
    opps = pd.DataFrame(
        {
            "opp_id": ["1", "2", "3", "4", "5"],
            "rep_id": ["a", "a", "b", "b", "c"],
            "created_date": D(["2026-01-05", "2026-01-10", "2026-02-01", "2026-03-05", "2026-03-20"]),
            "close_date": D(["2026-02-20", "2026-03-10", "2026-04-30", "2026-03-25", "2026-05-01"]),
            "stage": ["Won", "Lost", "Offer", "Won", "Lead"],
            "amount": [100.0, 200.0, 300.0, 400.0, 500.0],
            "status": ["won", "lost", "open", "won", "open"],
            "probability": [1.0, 0.0, 0.5, 1.0, 0.1],
            "forecast_category": ["Closed", "Omitted", "Best Case", "Closed", "Pipeline"],
            "close_reason": ["Won", "Lost", pd.NA, "Won", pd.NA],
        }
    ).astype({"opp_id": "string", "rep_id": "string", "stage": "string", "status": "string",
              "forecast_category": "string", "close_reason": "string"})  # fmt: skip
    hist = pd.DataFrame(
        {
            "opp_id": ["1", "1", "1", "2", "2", "3", "3", "4"],
            "stage": ["Lead", "Offer", "Won", "Lead", "Lost", "Lead", "Offer", "Won"],
            "entered_date": D(["2026-01-05", "2026-02-01", "2026-02-20", "2026-01-10",
                               "2026-03-10", "2026-02-01", "2026-03-02", "2026-03-25"]),
        }
    ).astype({"opp_id": "string", "stage": "string"})  # fmt: skip
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3"],
            "rep_id": ["a", "b", "b"],
            "created_date": D(["2026-01-01", "2026-02-25", "2026-03-10"]),
            "source": ["Web", "Web", "Event"],
            "converted_date": D(["2026-01-05", "2026-03-05", None]),
            "opp_id": pd.array(["1", "4", None], dtype="string"),
        }
    )
    acts = pd.DataFrame(
        {
            "activity_id": ["x1", "x2", "x3"],
            "rep_id": ["a", "b", "c"],
            "type": ["call", "call", "call"],
            "date": D(["2026-02-10", "2026-03-01", "2026-03-21"]),
            "opp_id": pd.array(["1", "3", "5"], dtype="string"),
        }
    )
    quotas = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c"],
            "period_start": D(["2026-01-01"] * 3),
            "period_end": D(["2026-03-31"] * 3),
            "quota": [900.0, 900.0, 300.0],
        }
    )
    splits = pd.DataFrame(
        {"opp_id": ["4", "4"], "rep_id": ["b", "a"], "share": [0.5, 0.5],
         "type": ["revenue", "revenue"]}
    )  # fmt: skip
    return Dataset(cfg, reps, opps, hist, acts, quotas, leads, splits=splits)


def test_dataset_as_of_cuts_every_table(ds):
    then = dataset_as_of(ds, "2026-03-01")
    assert then.as_of == pd.Timestamp("2026-03-01")
    opp = then.opportunities.set_index("opp_id")
    # 4 (created 5 Mar) and 5 (20 Mar) did not exist yet
    assert list(opp.index) == ["1", "2", "3"]
    # 1 was won on 20 Feb: unchanged
    assert opp.loc["1", ["stage", "status", "probability"]].tolist() == ["Won", "won", 1.0]
    # 2 was lost on 10 Mar: open on 1 Mar, in Lead (its last entry by then, 10 Jan), with
    # Lead's CRM probability and category, no close reason, its later close date kept
    assert opp.loc["2", ["stage", "status", "probability", "forecast_category"]].tolist() == [
        "Lead", "open", 0.1, "Pipeline"]  # fmt: skip
    assert pd.isna(opp.loc["2", "close_reason"])
    assert opp.loc["2", "close_date"] == pd.Timestamp("2026-03-10")
    # 3 is open in the extract, in Offer since 2 Mar: it was in Lead on 1 Mar
    assert opp.loc["3", ["stage", "status", "probability"]].tolist() == ["Lead", "open", 0.1]
    # history, activities, leads and splits dated after the day are gone
    assert len(then.stage_history) == 5  # 1: Lead, Offer, Won; 2: Lead; 3: Lead
    assert then.activities["activity_id"].tolist() == ["x1", "x2"]
    assert then.leads["lead_id"].tolist() == ["L1", "L2"]
    # L2 was converted into deal 4 on 5 Mar: not yet on 1 Mar
    assert pd.isna(then.leads.loc[1, "converted_date"]) and pd.isna(then.leads.loc[1, "opp_id"])
    assert then.splits.empty
    # c, hired on 15 Mar, is not a rep yet (nor their quota); a and b keep theirs
    assert then.reps["rep_id"].tolist() == ["a", "b"]
    assert then.quotas["rep_id"].tolist() == ["a", "b"]
    # the extract itself is untouched
    assert len(ds.opportunities) == 5 and ds.opportunities.loc[1, "status"] == "lost"


def test_dataset_as_of_without_history_and_at_the_edges(ds):
    bare = Dataset(ds.config, ds.reps, ds.opportunities)
    # without stage history a reopened deal starts in the first open stage; an open one keeps
    # its stage
    then = dataset_as_of(bare, "2026-03-12").opportunities.set_index("opp_id")
    assert then.loc["4", "status"] == "open" and then.loc["4", "stage"] == "Lead"
    assert then.loc["3", "stage"] == "Offer"
    assert dataset_as_of(ds, None) is ds and dataset_as_of(ds, "2026-03-31") is ds
    with pytest.raises(ParameterError, match="after the data's reference date 2026-03-31"):
        dataset_as_of(ds, "2026-04-01")


def test_scope_as_of_resolves_the_same_scope_again(ds):
    scope = resolve_scope(ds, rep_id="b")
    cut, then = scope_as_of(ds, scope, FunnelParams(as_of="2026-03-01").as_of)
    assert then.kind == "rep" and then.rep_id == "b" and cut.as_of == pd.Timestamp("2026-03-01")
    assert then.data.opportunities["opp_id"].tolist() == ["3"]
    assert scope_as_of(ds, scope, None) == (ds, scope)
    with pytest.raises(ParameterError, match="rep_id 'c' is not in the data"):
        scope_as_of(ds, resolve_scope(ds, rep_id="c"), "2026-03-01")
    with pytest.raises(ParameterError, match="as_of '2026-02-30' is not a date"):
        FunnelParams(as_of="2026-02-30")
