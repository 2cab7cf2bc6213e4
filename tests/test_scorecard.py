"""Scorecards: known answers on hand-made data, the generator's built-in strengths, privacy."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from spmlib.exceptions import SpmError
from spmlib.io.schema import Dataset, DatasetConfig
from spmlib.productivity.scorecard import SCORECARD_KPIS, overall_rating, scorecard, team_scorecards
from spmlib.productivity.scorecard_trend import scorecard_trend
from spmlib.reports.rep_scorecard import scorecard_narrative

FIVE = ["win_rate", "avg_deal_size", "activity_volume", "proposal_acceptance", "cycle_days"]
START, END = "2026-01-01", "2026-06-30"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    # Team T: a (wins 15/20, deals of ~5000, 10-day cycles, quota 60000), b (wins 5/20, 40-day
    # cycles), c and d (10/20, 20 days); d logs 5 activities a month, the others 30.
    # Team U has two reps only: too small for benchmarks.
    reps = pd.DataFrame(
        {
            "rep_id": list("abcdef"),
            "rep_name": ["Ann", "Bob", "Cy", "Dee", "Eve", "Fay"],
            "team": ["T", "T", "T", "T", "U", "U"],
            "email": [f"{n}@x.org" for n in ["ann", "bob", "cy", "dee", "eve", "fay"]],
        }
    )
    plan = {
        "a": (15, 5000, 10),
        "b": (5, 1000, 40),
        "c": (10, 1000, 20),
        "d": (10, 1000, 20),
        "e": (10, 1000, 20),
        "f": (10, 1000, 20),
    }
    opps, acts = [], []
    for rep, (won, size, cycle) in plan.items():
        for i in range(20):
            created = pd.Timestamp("2026-01-05") + pd.Timedelta(days=7 * i)
            status = "won" if i < won else "lost"
            opps.append(
                (
                    f"{rep}{i}",
                    rep,
                    created,
                    created + pd.Timedelta(days=cycle),
                    status,
                    float(size + i),
                )
            )
        per_month = 5 if rep == "d" else 30
        for month in range(1, 7):
            for j in range(per_month):
                acts.append((rep, "call", pd.Timestamp(2026, month, j % 28 + 1), None))
        accepted = 9 if rep == "a" else 5
        for j in range(10):
            acts.append(
                (
                    rep,
                    "proposal",
                    pd.Timestamp("2026-03-01") + pd.Timedelta(days=j),
                    "accepted" if j < accepted else "rejected",
                )
            )
    opps = pd.DataFrame(
        opps, columns=["opp_id", "rep_id", "created_date", "close_date", "status", "amount"]
    )
    opps["stage"] = opps["status"].map({"won": "Won", "lost": "Lost"})
    acts = pd.DataFrame(acts, columns=["rep_id", "type", "date", "outcome"])
    acts.insert(0, "activity_id", [f"x{i}" for i in range(len(acts))])
    quotas = pd.DataFrame(
        {
            "rep_id": ["a"] * 6,
            "period_start": pd.date_range("2026-01-01", periods=6, freq="MS"),
            "period_end": pd.date_range("2026-01-31", periods=6, freq="ME"),
            "quota": [10000.0] * 6,
        }
    )
    cfg = DatasetConfig(("Open",), "Won", "Lost", as_of=pd.Timestamp(END))
    return Dataset(cfg, reps, opps, activities=acts, quotas=quotas)


def _card(ds, rep):
    return scorecard(ds, rep, start=START, end=END).set_index("kpi")


def test_win_rate_against_the_team(ds):
    a = _card(ds, "a").loc["win_rate"]
    # a 15/20 = 0.75; team rates [0.75, 0.25, 0.5, 0.5] -> median 0.5, p25 0.4375;
    # percentile: 3 reps below + half of 1 tie (itself) over 4 = 87.5; rest = 25/60.
    assert a["value"] == 0.75 and a["team_median"] == 0.5 and a["team_p25"] == 0.4375
    assert a["percentile"] == 87.5
    assert a["rest_value"] == pytest.approx(25 / 60)
    # Two-proportion z-test by hand: pooled 40/80, se = sqrt(.25 (1/20 + 1/60)) = 0.1291,
    # z = (0.75 - 0.4167) / 0.1291 = 2.582 -> p = 0.00982; Holm over 4 reps (b has the same p,
    # c and d p = 1): 4 x 0.00982 = 0.0393.
    assert a["p_value"] == pytest.approx(2 * stats.norm.sf(2.582), abs=2e-4)
    assert a["p_adjusted"] == pytest.approx(0.0393, abs=1e-3)
    assert a["assessment"] == "strength"
    assert _card(ds, "b").loc["win_rate", "assessment"] == "area to improve"
    assert _card(ds, "c").loc["win_rate", "assessment"] == "in line"


def test_continuous_kpis(ds):
    a, b, d = _card(ds, "a"), _card(ds, "b"), _card(ds, "d")
    # a's 15 wins are 5000..5014 (mean 5007) against the rest's ~1000: Mann-Whitney, fully separated.
    assert a.loc["avg_deal_size", "value"] == 5007.0
    assert a.loc["avg_deal_size", "assessment"] == "strength"
    # Cycle: a 10 days (lower is better) vs team [10, 40, 20, 20] -> median 20, percentile
    # 100 - (0 + 0.5) / 4 * 100 = 87.5.
    assert a.loc["cycle_days", "value"] == 10 and a.loc["cycle_days", "team_median"] == 20
    assert a.loc["cycle_days", "percentile"] == 87.5
    assert a.loc["cycle_days", "assessment"] == "strength"
    assert b.loc["cycle_days", "assessment"] == "area to improve"
    # d: 5 calls + 10 proposals in 6 months = 40 activities / 6 months; the others log 30 a month.
    assert d.loc["activity_volume", "value"] == pytest.approx(40 / 6)
    assert d.loc["activity_volume", "assessment"] == "area to improve"
    # Proposal acceptance: a 9/10 (rest 15/30 = 0.5).
    assert a.loc["proposal_acceptance", "value"] == 0.9
    assert a.loc["proposal_acceptance", "rest_value"] == 0.5
    # Bookings and attainment are shown, not tested: a 75105 over a 60000 quota.
    assert a.loc["attainment", "value"] == pytest.approx(75105 / 60000)
    assert a.loc["attainment", "assessment"] == ""


def test_rating_and_narrative(ds):
    card_a = scorecard(ds, "a", start=START, end=END)
    rating = overall_rating(card_a).iloc[0]
    # a: at least win rate, deal size and cycle are strengths, no area; attainment 125% -> +1.
    assert rating["strengths"] >= 3 and rating["areas_to_improve"] == 0
    assert rating["attainment_points"] == 1 and rating["rating"] == "Exceeds expectations"
    card_b = scorecard(ds, "b", start=START, end=END)
    assert overall_rating(card_b).iloc[0]["rating"] == "Needs improvement"
    text = scorecard_narrative(card_a, overall_rating(card_a), "Ann")
    assert "Exceeds expectations" in text and "Win rate: 75%" in text


def test_rating_rule_boundaries():
    def card(strong, weak, att):
        return pd.DataFrame(
            {
                "kpi": ["x"] * (strong + weak) + ["attainment"],
                "value": [0.0] * (strong + weak) + [att],
                "assessment": ["strength"] * strong + ["area to improve"] * weak + [""],
            }
        )

    # score = strengths - areas + (1 if att >= 1, -1 if att < 0.8).
    assert overall_rating(card(1, 0, 1.0)).loc[0, "rating"] == "Exceeds expectations"  # 1 + 1
    assert overall_rating(card(1, 0, 0.9)).loc[0, "rating"] == "Meets expectations"  # 1 + 0
    assert overall_rating(card(0, 1, 0.79)).loc[0, "rating"] == "Needs improvement"  # -1 - 1
    assert overall_rating(card(0, 0, np.nan)).loc[0, "score"] == 0


def test_small_team_withholds_benchmarks(ds):
    e = _card(ds, "e")
    assert e["team_median"].isna().all() and e["rest_value"].isna().all()
    assert set(e.loc[FIVE, "assessment"]) == {"not enough data"}


def test_scorecard_rows_and_unknown_rep(ds):
    card = scorecard(ds, "a", start=START, end=END)
    assert card["kpi"].tolist() == list(SCORECARD_KPIS)
    assert "rep_id" not in card.columns
    with pytest.raises(SpmError, match="not in the dataset"):
        scorecard(ds, "zz")


def test_trend(ds):
    trend = scorecard_trend(ds, "a", "quarter", periods=2)
    book = trend[trend["kpi"] == "bookings"].set_index("period")["value"]
    # a's wins close 15 Jan + 7-day steps: wins 0..10 close by 31 Mar (5000..5010 = 55055),
    # wins 11..14 in Q2 (5011..5014 = 20050).
    assert book["FY2026-Q1"] == 55055
    assert book["FY2026-Q2"] == 20050
    assert set(trend["kpi"]) == {
        "bookings",
        "win_rate",
        "avg_deal_size",
        "cycle_days",
        "activity_volume",
    }


# --- on the sample data --------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    from spmlib.sample.resolve import load, resolve_data

    folder = Path(resolve_data(None))
    truth_file = folder / "ground_truth.yml"
    return load(folder), yaml.safe_load(truth_file.read_text())


@pytest.fixture(scope="module")
def sample_cards(sample):
    ds, _ = sample
    return pd.concat(
        [team_scorecards(ds, t) for t in sorted(ds.reps["team"].unique())], ignore_index=True
    )


def test_scorecards_find_the_built_in_strengths(sample, sample_cards):
    _, truth = sample
    found_right = built = contradictions = 0
    for rep, info in truth["reps"].items():
        card = sample_cards[(sample_cards["rep_id"] == rep) & sample_cards["kpi"].isin(FIVE)]
        strong = set(card.loc[card["assessment"] == "strength", "kpi"])
        weak = set(card.loc[card["assessment"] == "area to improve", "kpi"])
        built += len(info["strengths"]) + len(info["weaknesses"])
        found_right += len(strong & set(info["strengths"])) + len(weak & set(info["weaknesses"]))
        contradictions += len(strong & set(info["weaknesses"])) + len(weak & set(info["strengths"]))
    # The generator builds ~24 clear strengths/weaknesses; some are masked by another built-in
    # effect (a proposal-acceptance weakness lowers the win rate), so allow a few misses.
    assert built > 0 and found_right / built >= 0.8
    assert contradictions == 0


def _visible(html: str) -> str:
    """HTML without embedded images (base64 can spell an id by chance)."""
    return re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "", html)


def test_scorecard_tables_name_no_other_rep(sample, sample_cards):
    ds, _ = sample
    reps = ds.reps.astype(str)
    for rep in reps.itertuples(index=False):
        card = sample_cards[sample_cards["rep_id"] == rep.rep_id].drop(columns=["rep_id"])
        html = card.to_html() + overall_rating(card).to_html()
        html += scorecard_narrative(card, overall_rating(card), rep.rep_name)
        others = reps[reps["rep_id"] != rep.rep_id]
        for o in others.itertuples(index=False):
            assert o.rep_name not in html and o.email not in html
            assert re.search(rf"\b{re.escape(o.rep_id)}\b", _visible(html)) is None


def test_trend_tables_name_no_other_rep(sample):
    ds, _ = sample
    reps = ds.reps.astype(str)
    # The trend table has no identity column by construction; check the first rep of each team.
    for rep in reps.drop_duplicates("team").itertuples(index=False):
        html = scorecard_trend(ds, rep.rep_id).to_html()
        for o in reps[reps["rep_id"] != rep.rep_id].itertuples(index=False):
            assert o.rep_name not in html and o.rep_id not in html


def test_scorecard_plots_return_axes(ds):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.axes import Axes

    from spmlib.reports import plotting

    card = scorecard(ds, "a", start=START, end=END)
    trend = scorecard_trend(ds, "a", "quarter", periods=2)
    assert isinstance(plotting.plot_scorecard(card), Axes)
    assert isinstance(plotting.plot_scorecard_trend(trend, "win_rate"), Axes)
