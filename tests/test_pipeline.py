"""Known-answer tests of the pipeline, velocity (time) and lead analyses.

Hand-made data: tests/funnel_fixture.py (seven deals, reference date 2026-02-10); each
expected figure is worked out by hand in the comment above it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from funnel_fixture import AS_OF, CONFIG, opportunities, reps, stage_history

from spmlib.funnel.flow import pipeline_flow
from spmlib.funnel.leads import lead_funnel
from spmlib.funnel.pipeline import (
    coverage,
    open_pipeline,
    pipeline_velocity,
    stage_win_probability,
    weighted_pipeline,
)
from spmlib.funnel.velocity import days_in_pipeline, sales_cycle, stale_deals, time_in_stage


def test_time_in_stage_quantiles():
    t = time_in_stage(opportunities(), stage_history(), config=CONFIG, as_of=AS_OF)
    # completed days: A 3,4,4,6,7; B 5,13,27 (deal 3: 6 + 7 after coming back); C 6,7,10.
    # Linear quantiles: A p75 = 6, p90 = 6 + 0.6 x 1 = 6.6; B p90 = 13 + 0.8 x 14 = 24.2;
    # C p90 = 7 + 0.8 x 3 = 9.4. Still in the stage: deal 7 in A, deal 4 in B.
    assert t["stage"].tolist() == ["A", "B", "C"]
    assert t["deals"].tolist() == [5, 3, 3]
    np.testing.assert_allclose(t["median_days"], [4.0, 13.0, 7.0])
    np.testing.assert_allclose(t["p75_days"], [6.0, 20.0, 8.5])
    np.testing.assert_allclose(t["p90_days"], [6.6, 24.2, 9.4])
    assert t["in_stage_now"].tolist() == [1, 1, 0]


def test_time_in_stage_by_team_keeps_empty_groups():
    t = time_in_stage(opportunities(), stage_history(), config=CONFIG, by="team", reps=reps())
    t3 = t[t["team"] == "T3"]
    assert len(t3) == 3 and (t3["deals"] == 0).all() and t3["median_days"].isna().all()


def test_stale_deals_against_p90():
    s = stale_deals(opportunities(), stage_history(), config=CONFIG, as_of=AS_OF)
    # Deal 7 in A since 01-10: 31 days > 6.6 (over by 24.4); deal 4 in B since 01-09:
    # 32 days > 24.2 (over by 7.8). Longest over first.
    assert s["opp_id"].tolist() == ["7", "4"]
    np.testing.assert_allclose(s["days_in_stage"], [31.0, 32.0])
    np.testing.assert_allclose(s["days_over"], [24.4, 7.8])
    assert s["rep_id"].tolist() == ["r3", "r2"] and s["amount"].tolist() == [700.0, 400.0]


def test_sales_cycle_and_days_in_pipeline():
    c = sales_cycle(opportunities()).set_index("outcome")
    # won: 19 (deal 1), 27 (deal 6); won or lost adds 14 (2), 23 (3), 3 (5).
    assert c.loc["won", "median_days"] == 23.0 and c.loc["won", "deals"] == 2
    assert c.loc["won_or_lost", "median_days"] == 19.0
    assert c.loc["won_or_lost", "mean_days"] == pytest.approx(86 / 5)
    d = days_in_pipeline(opportunities(), as_of=AS_OF)
    # open deals 4 (created 01-03: 38 days) and 7 (01-10: 31 days).
    assert d["open_deals"].item() == 2 and d["median_days"].item() == 34.5
    assert d["max_days"].item() == 38.0


def test_open_and_weighted_pipeline():
    p = open_pipeline(opportunities(), config=CONFIG)
    assert p[["stage", "close_period", "deals", "amount"]].values.tolist() == [
        ["A", "2026-03", 1, 700.0],
        ["B", "2026-03", 1, 400.0],
    ]
    w = stage_win_probability(opportunities(), stage_history(), config=CONFIG)
    # closed deals reaching A: 1,2,3,5,6 (won 1, 6) -> 2/5; B and C: 1,2,3,6 -> 2/4.
    np.testing.assert_allclose(w["win_probability"], [0.4, 0.5, 0.5])
    wp = weighted_pipeline(opportunities(), stage_history(), config=CONFIG)
    # deal 7 (A, 700) x 0.4 = 280; deal 4 (B, 400) x 0.5 = 200.
    np.testing.assert_allclose(wp["weighted_amount"], [280.0, 200.0, 0.0])


def test_weighted_pipeline_by_team_with_company_probabilities():
    probs = stage_win_probability(opportunities(), stage_history(), config=CONFIG)
    wp = weighted_pipeline(
        opportunities(), config=CONFIG, by="team", reps=reps(), probabilities=probs
    )
    assert wp.groupby("team")["weighted_amount"].sum().to_dict() == {
        "T1": 200.0,
        "T2": 280.0,
        "T3": 0.0,
    }


def test_coverage_of_remaining_quota():
    quotas = pd.DataFrame(
        {
            "rep_id": ["r2", "r1"],
            "period_start": pd.to_datetime(["2026-03-01", "2026-01-01"]),
            "period_end": pd.to_datetime(["2026-03-31", "2026-01-31"]),
            "quota": [800.0, 1000.0],
        }
    )
    cov = coverage(
        opportunities(),
        quotas,
        start="2026-03-01",
        end="2026-03-31",
        as_of=AS_OF,
        by="rep_id",
        reps=reps(),
    ).set_index("rep_id")
    # March: r2 quota 800, nothing booked yet, deal 4 (400) due 03-01 -> 0.5.
    assert cov.loc["r2", "coverage"] == pytest.approx(0.5)
    # r3 has deal 7 (700) due but no quota -> empty coverage; r1's January quota is outside.
    assert cov.loc["r3", "open_pipeline"] == 700.0 and np.isnan(cov.loc["r3", "coverage"])
    assert cov.loc["r1", "quota"] == 0.0
    jan = coverage(
        opportunities(), quotas, start="2026-01-01", end="2026-01-31", as_of=AS_OF, by="rep_id"
    )
    # r1 booked deal 1 (100) in January against 1000: 900 left, no pipeline due -> 0.
    row = jan.set_index("rep_id").loc["r1"]
    assert row["remaining_quota"] == 900.0 and row["coverage"] == 0.0


def test_pipeline_velocity():
    v = pipeline_velocity(opportunities())
    # 2 open x (2 won / 5 closed) x mean won amount (100 + 600) / 2 / mean cycle (19 + 27) / 2
    assert v["velocity_per_day"].item() == pytest.approx(2 * 0.4 * 350 / 23)
    assert v["velocity_per_month"].item() == pytest.approx(30 * 2 * 0.4 * 350 / 23)


def test_pipeline_flow_known_answer_and_balance():
    f = pipeline_flow(
        opportunities(), stage_history(), config=CONFIG, start="2026-01-06", end="2026-01-20"
    ).set_index("measure")
    # Open at the end of 01-05: deals 1-6 (2100). Created in range: 7 (700). Won: 1 on 01-20
    # (100). Lost: 5 on 01-07, 2 on 01-15 (700). Open on 01-20: 3, 4, 6, 7 (2000).
    assert f.loc["count"].tolist() == [6.0, 1.0, 1.0, 2.0, 4.0]
    assert f.loc["amount"].tolist() == [2100.0, 700.0, 100.0, 700.0, 2000.0]


def test_pipeline_flow_balances_by_team():
    f = pipeline_flow(
        opportunities(),
        stage_history(),
        config=CONFIG,
        start="2026-01-03",
        end="2026-01-31",
        by="team",
        reps=reps(),
    )
    lhs = f["open_start"] + f["created"] - f["won"] - f["lost"]
    assert np.allclose(lhs, f["open_end"])
    assert set(f["team"]) == {"T1", "T2", "T3"}


def _leads() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4", "L5"],
            "rep_id": ["r1", "r1", "r2", "r2", "r3"],
            "created_date": pd.to_datetime(
                ["2025-12-20", "2025-12-25", "2025-12-28", "2026-01-02", "2026-01-05"]
            ),
            "source": ["Web", "Web", "Event", "Event", "Web"],
            "converted_date": pd.to_datetime(["2025-12-31", None, "2026-01-03", None, None]),
            "opp_id": ["1", "2", "4", None, None],
        }
    ).astype({"lead_id": "string", "rep_id": "string", "source": "string", "opp_id": "string"})


def test_lead_funnel_by_source():
    out = lead_funnel(_leads(), opportunities()).set_index("source")
    # Web: L1 -> deal 1 (won, 11 days), L2 -> deal 2 (lost; no converted_date, deal created
    # 01-01: 7 days), L5 not converted. Event: L3 -> deal 4 (open, 6 days), L4 not converted.
    assert out.loc["Web", ["leads", "converted", "won", "lost", "open"]].tolist() == [3, 2, 1, 1, 0]
    assert out.loc["Web", "conversion_rate"] == pytest.approx(2 / 3)
    assert out.loc["Web", "win_rate"] == 0.5
    assert out.loc["Web", "median_days_to_opportunity"] == 9.0
    assert out.loc["Event", "open"] == 1 and out.loc["Event", "median_days_to_opportunity"] == 6.0
    assert np.isnan(out.loc["Event", "win_rate"])


def test_lead_funnel_by_team_includes_all_teams():
    out = lead_funnel(_leads(), opportunities(), by="team", reps=reps()).set_index("team")
    assert out["leads"].to_dict() == {"T1": 4, "T2": 1, "T3": 0}
