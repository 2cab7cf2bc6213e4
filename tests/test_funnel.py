"""Known-answer tests of the stage funnel, cohort and period views, comparisons and shrinkage.

The hand-made data (skipped and backward stage moves, a rep with no deals) is described in
tests/funnel_fixture.py; each expected figure below is worked out by hand from that table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from funnel_fixture import AS_OF, CONFIG, opportunities, reps, stage_history
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from spmlib.exceptions import DataValidationError, UnknownNameError
from spmlib.funnel.conversion import (
    FUNNEL_COLUMNS,
    cohort_funnel,
    compare_stages,
    stage_funnel,
    win_rates,
)
from spmlib.funnel.progress import deal_progress


def _rows(frame: pd.DataFrame, cols: list[str]) -> list[list]:
    out = frame[cols].astype(object).where(frame[cols].notna(), None)
    return out.values.tolist()


def test_progress_skips_and_backward_moves():
    p = deal_progress(opportunities(), stage_history(), config=CONFIG)
    # furthest stage index (A=0, B=1, C=2, Won=3): deal 3 went back from C to B but keeps C.
    assert p.furthest.tolist() == [3, 2, 2, 1, 0, 3, 0]
    # deal 2 skipped B: it reached B on the day it jumped to C (01-08).
    assert pd.Timestamp(p.reach[1, 1]) == pd.Timestamp("2026-01-08")
    # deal 6 entered at B: it reached A the same day (01-05) and C on the won date (02-01).
    assert pd.Timestamp(p.reach[5, 0]) == pd.Timestamp("2026-01-05")
    assert pd.Timestamp(p.reach[5, 2]) == pd.Timestamp("2026-02-01")


def test_all_time_funnel_known_answer():
    f = stage_funnel(opportunities(), stage_history(), config=CONFIG)
    assert list(f.columns) == FUNNEL_COLUMNS
    # A: all 7 reached; advanced = those reaching B (1,2,3,4,6); lost at A: 5; open in A: 7.
    # B: reached 1,2,3,4,6; advanced to C or beyond: 1,2,3,6; lost at B: none (3 is lost at C,
    #    its furthest stage); open: 4.
    # C: reached 1,2,3,6; advanced (won): 1,6; lost at C: 2,3.   Won: 1 and 6.
    assert _rows(f, ["stage", "reached", "advanced", "lost", "open"]) == [
        ["A", 7, 5, 1, 1],
        ["B", 5, 4, 0, 1],
        ["C", 4, 2, 2, 0],
        ["Won", 2, None, None, None],
    ]
    # conversion = advanced / (advanced + lost): 5/6, 4/4, 2/4, empty for Won.
    np.testing.assert_allclose(f["conversion"], [5 / 6, 1.0, 0.5, np.nan])
    low, high = proportion_confint(5, 6, method="wilson")
    assert f.loc[0, "conversion_low"] == pytest.approx(low)
    assert f.loc[0, "conversion_high"] == pytest.approx(high)
    # cumulative = closed deals (1,2,3,5,6) that reached the stage / 5: A 5, B 4, C 4, Won 2.
    np.testing.assert_allclose(f["cumulative_conversion"], [1.0, 0.8, 0.8, 0.4])
    # completed days in stage: A 4,7,4,6,3 -> 4; B 5, 13 (6 + 7 after coming back), 27 -> 13;
    # C 10, 7, 6 -> 7.
    np.testing.assert_allclose(f["median_days_in_stage"], [4.0, 13.0, 7.0, np.nan])
    assert f["losses_known"].all()


def test_funnel_balances_for_open_stages():
    f = stage_funnel(opportunities(), stage_history(), config=CONFIG, by="rep", reps=reps())
    open_rows = f[f["stage"] != "Won"]
    assert (
        open_rows["reached"] == open_rows["advanced"] + open_rows["lost"] + open_rows["open"]
    ).all()


def test_funnel_by_team_includes_team_without_deals():
    f = stage_funnel(opportunities(), stage_history(), config=CONFIG, by="team", reps=reps())
    assert f["team"].unique().tolist() == ["T1", "T2", "T3"]
    t2 = f[f["team"] == "T2"]
    # T2 holds deal 7 only: open in A, nothing left A so its conversion is empty.
    assert _rows(t2, ["stage", "reached", "advanced", "lost", "open"])[0] == ["A", 1, 0, 0, 1]
    assert t2["conversion"].isna().all()
    t3 = f[f["team"] == "T3"]
    assert t3["reached"].tolist() == [0, 0, 0, 0]
    assert t3["conversion"].isna().all() and t3["cumulative_conversion"].isna().all()


def test_funnel_by_rep_keeps_column_order_and_names():
    f = stage_funnel(
        opportunities(), stage_history(), config=CONFIG, by=["team", "rep"], reps=reps()
    )
    assert list(f.columns[:3]) == ["team", "rep_id", "rep_name"]
    assert len(f) == 4 * 4  # 4 reps x 4 stages, r4 with zeros
    r1_won = f[(f["rep_id"] == "r1") & (f["stage"] == "Won")]
    # r1 closed 1 (won), 2 and 3 (lost): win rate 1/3.
    assert r1_won["cumulative_conversion"].item() == pytest.approx(1 / 3)


def test_period_funnel_counts_transitions_in_range():
    f = stage_funnel(
        opportunities(), stage_history(), config=CONFIG, start="2026-01-06", end="2026-01-12"
    )
    # Reach dates in [01-06, 01-12]: A: deal 7 (01-10); B: 2 (01-08, skipped), 3 (01-06),
    # 4 (01-09); C: 1 (01-10), 2 (01-08), 3 (01-12); Won: none.
    # Lost in range: deal 5 (01-07, at A). Open on 01-12 by furthest stage then:
    # A: 7; B: 4, 6; C: 1, 2, 3 (all closed later).
    assert _rows(f, ["stage", "reached", "advanced", "lost", "open"]) == [
        ["A", 1, 3, 1, 1],
        ["B", 3, 3, 0, 2],
        ["C", 3, 0, 0, 3],
        ["Won", 0, None, None, None],
    ]
    # conversion A = 3 / (3 + 1); B = 3 / 3; C: no exits.
    np.testing.assert_allclose(f["conversion"], [0.75, 1.0, np.nan, np.nan])
    # one closed deal in range (5, lost at A): cumulative 1, 0, 0, 0.
    np.testing.assert_allclose(f["cumulative_conversion"], [1.0, 0.0, 0.0, 0.0])
    # completed stays ending in range: A 7 (deal 2), 4 (3), 6 (4), 3 (5) -> 5; B 5 (deal 1).
    np.testing.assert_allclose(f["median_days_in_stage"], [5.0, 5.0, np.nan, np.nan])


def test_period_over_everything_equals_all_time():
    a = stage_funnel(opportunities(), stage_history(), config=CONFIG)
    b = stage_funnel(opportunities(), stage_history(), config=CONFIG, start="2025-01-01", end=AS_OF)
    pd.testing.assert_frame_equal(a, b)


def test_funnel_without_stage_history():
    f = stage_funnel(opportunities(), None, config=CONFIG)
    # Only open deals' current stages (4 in B, 7 in A) and the won stage (1, 6) are known.
    assert _rows(f, ["stage", "reached", "advanced", "lost", "open"]) == [
        ["A", 4, 3, None, 1],
        ["B", 3, 2, None, 1],
        ["C", 2, 2, None, 0],
        ["Won", 2, None, None, None],
    ]
    assert f.loc[:2, "conversion"].isna().all()
    assert f.loc[:2, "cumulative_conversion"].isna().all()
    # lost deals count in the win rate only: 2 won / (2 won + 3 lost).
    assert f.loc[3, "cumulative_conversion"] == pytest.approx(0.4)
    assert not f["losses_known"].any()


def test_funnel_does_not_mutate_inputs():
    opps, hist = opportunities(), stage_history()
    before_o, before_h = opps.copy(), hist.copy()
    stage_funnel(opps, hist, config=CONFIG, by="team", reps=reps())
    pd.testing.assert_frame_equal(opps, before_o)
    pd.testing.assert_frame_equal(hist, before_h)


def test_funnel_errors_name_the_problem():
    with pytest.raises(DataValidationError, match="status"):
        stage_funnel(opportunities().drop(columns="status"), config=CONFIG)
    with pytest.raises(UnknownNameError, match="segment"):
        stage_funnel(opportunities(), config=CONFIG, by="segment", reps=reps())
    with pytest.raises(ValueError, match="before start"):
        stage_funnel(opportunities(), config=CONFIG, start="2026-02-01", end="2026-01-01")


def test_cohort_funnel_shares_open():
    c = cohort_funnel(opportunities(), stage_history(), config=CONFIG)
    won = c[c["stage"] == "Won"]
    # All seven deals were created in January 2026; two (4, 7) are still open.
    assert won["cohort"].tolist() == ["2026-01"]
    assert won["deals"].item() == 7
    assert won["share_open"].item() == pytest.approx(2 / 7)
    assert won["cumulative_conversion"].item() == pytest.approx(0.4)


def test_cohort_funnel_by_quarter_and_group():
    c = cohort_funnel(
        opportunities(), stage_history(), config=CONFIG, by="team", reps=reps(), freq="quarter"
    )
    assert set(c["cohort"]) == {"FY2026-Q1"}
    assert c.groupby("team")["deals"].first().to_dict() == {"T1": 6, "T2": 1}


def test_win_rates_counts_and_shrinkage():
    w = win_rates(opportunities(), by="rep", reps=reps())
    # r1: won 1 (deal 1), lost 2 (2, 3); r2: won 6, lost 5; r3: nothing closed; r4: no deals.
    assert _rows(w, ["rep_id", "won", "lost"]) == [
        ["r1", 1, 2],
        ["r2", 1, 1],
        ["r3", 0, 0],
        ["r4", 0, 0],
    ]
    assert w["rank"].isna().tolist() == [False, False, True, True]


def test_small_sample_never_tops_the_ranking():
    # rep x: 2 of 2; rep y: 60 of 80; rep z: 30 of 100 (as in spmlib.core.stats' example).
    rows = [("x", "won")] * 2 + [("y", "won")] * 60 + [("y", "lost")] * 20
    rows += [("z", "won")] * 30 + [("z", "lost")] * 70
    opps = pd.DataFrame(rows, columns=["rep_id", "status"])
    opps["close_date"] = pd.Timestamp("2026-01-01")
    w = win_rates(opps, by="rep_id").set_index("rep_id")
    assert w.loc["x", "win_rate"] == 1.0
    assert w.loc["y", "rank"] == 1 and w.loc["x", "rank"] > 1


def test_win_rates_compare_with_rest_of_team():
    # Team T: a 45/60, b 20/60, c 32/60; the z-test of a against the rest (52/120).
    rows = []
    for rep, won in [("a", 45), ("b", 20), ("c", 32)]:
        rows += [(rep, "won")] * won + [(rep, "lost")] * (60 - won)
    opps = pd.DataFrame(rows, columns=["rep_id", "status"])
    opps["close_date"] = pd.Timestamp("2026-01-01")
    team = pd.DataFrame({"rep_id": ["a", "b", "c"], "rep_name": ["A", "B", "C"], "team": ["T"] * 3})
    w = win_rates(opps, by="rep", reps=team, parent="team").set_index("rep_id")
    assert list(w.columns[:2]) == ["team", "rep_name"]
    p = proportions_ztest([45, 52], [60, 120])[1]
    assert w.loc["a", "p_value"] == pytest.approx(p)
    assert w.loc["a", "rest_rate"] == pytest.approx(52 / 120)
    assert w.loc["a", "direction"] == "above" and w.loc["b", "direction"] == "below"


def test_compare_stages_tests_each_stage_within_parent():
    # Hand-made funnel rows: stage A conversions 90/100, 50/100, 52/100 in team T.
    f = pd.DataFrame(
        {
            "team": ["T"] * 3,
            "rep_id": ["a", "b", "c"],
            "stage": ["A"] * 3,
            "reached": [100, 100, 100],
            "advanced": [90, 50, 52],
            "lost": [10, 50, 48],
            "open": [0, 0, 0],
            "conversion": [0.9, 0.5, 0.52],
        }
    )
    out = compare_stages(f, parent="team").set_index("rep_id")
    assert out.loc["a", "p_value"] == pytest.approx(proportions_ztest([90, 102], [100, 200])[1])
    assert out.loc["a", "direction"] == "above"
    assert out.loc["a", "rank"] == 1
    assert out.loc["b", "conversion_shrunk"] > 0.5  # pulled toward the pooled rate


def test_compare_stages_on_real_funnel_skips_won_row():
    f = stage_funnel(opportunities(), stage_history(), config=CONFIG, by="rep", reps=reps())
    out = compare_stages(f)
    assert set(out["stage"]) == {"A", "B", "C"}
    assert (out["exits"] >= out["advanced"]).all()
