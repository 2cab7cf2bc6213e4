"""Team effects of the pipeline Monte Carlo: lasting team factors and team shocks (known answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spmlib.forecast.pipeline import period_shock, pipeline_forecast, team_win_factors
from spmlib.forecast.team_effects import MIN_PERIODS, team_factors, team_shock_sd
from spmlib.io.schema import Dataset, DatasetConfig


def _per(actual_a, actual_b, variance=0.0):
    n = len(actual_a)
    return pd.DataFrame(
        {
            "period": np.repeat(np.arange(n), 2),
            "team": ["a", "b"] * n,
            "expected": 100.0,
            "variance": variance,
            "actual": np.ravel(np.column_stack([actual_a, actual_b])).astype(float),
        }
    )


def test_team_factors_by_hand():
    # Both teams brought 100, 120, 80 against 100 expected: what moved them is the period's
    # swing (k_p = the other team's ratio: 1.0, 1.2, 0.8), so e = 100, 120, 80 = A, F = 1, se 0:
    # no spread between teams, tau^2 = 0, every factor 1 with weight 0.
    t = team_factors(_per([100, 120, 80], [100, 120, 80]), min_periods=3)
    assert t["raw"].tolist() == [1.0, 1.0] and t["se"].tolist() == [0.0, 0.0]
    assert t["weight"].tolist() == [0.0, 0.0] and t["factor"].tolist() == [1.0, 1.0]
    # Team a always brings twice team b: k for a = b's ratio 0.5, e_a = 50 a period, F_a = 2;
    # F_b = 100 / 200 = 0.5; no scatter (se 0), tau^2 = (1 + 0.25) / 2: weights 1.
    t = team_factors(_per([100, 100, 100], [50, 50, 50]), min_periods=3)
    assert t["raw"].tolist() == [2.0, 0.5] and t["factor"].tolist() == [2.0, 0.5]
    assert t["periods"].tolist() == [3, 3]


def test_team_factors_need_periods_and_two_teams():
    per = _per([100, 100, 100], [50, 50, 50])
    assert MIN_PERIODS == 5
    t = team_factors(per)  # 3 periods < MIN_PERIODS: not measured
    assert t["factor"].tolist() == [1.0, 1.0] and t["raw"].isna().all()
    one = per[per["team"] == "a"]
    assert team_factors(one, min_periods=1)["factor"].tolist() == [1.0]
    assert team_shock_sd(one, min_periods=1) == 0.0


def test_team_shock_sd_by_hand():
    # Teams swing in opposite directions (110/90, 90/110, 100/100); factors left one period out
    # are 1 (doctest of team_shock_sd): residuals +-20 four times against x = 90, 110, 110, 90,
    # 100, 100, so sd^2 = (1600 - V) / 60400; with V = 100 per team-period: 1000 / 60400.
    per = _per([110, 90, 100], [90, 110, 100], variance=100.0)
    assert team_shock_sd(per, min_periods=3) == pytest.approx(np.sqrt(1000 / 60400))
    # Independent variance larger than the scatter: no shock.
    assert team_shock_sd(_per([110, 90, 100], [90, 110, 100], 1000.0), min_periods=3) == 0.0


def _two_teams() -> Dataset:
    # Calendar quarters, forecast on 2026-07-30 (day 30 of Q3 2026); no stage history (one stage,
    # age from creation). In each of the six past quarters (2025-Q1 .. 2026-Q2) rep a1 (team A)
    # and rep b1 (team B) each create two deals of 100 on the quarter's first day, closed on day
    # 45: a1 wins both, b1 one. At the snapshots (day 30, age 29: one bucket) the company rate
    # is 3/4. Now each rep has one open deal of 100, created on 2026-07-01 (age 29).
    rows = []
    for i, start in enumerate(pd.date_range("2025-01-01", periods=6, freq="QS")):
        close = start + pd.Timedelta(days=44)
        for rep, outcomes in (("a1", ("won", "won")), ("b1", ("won", "lost"))):
            for j, status in enumerate(outcomes):
                rows.append((f"{rep}-{i}-{j}", rep, start, close, status))
    for rep in ("a1", "b1"):
        rows.append(
            (f"{rep}-now", rep, pd.Timestamp("2026-07-01"), pd.Timestamp("2026-09-30"), "open")
        )
    opp = pd.DataFrame(rows, columns=["opp_id", "rep_id", "created_date", "close_date", "status"])
    opp["stage"] = opp["status"].map({"won": "Won", "lost": "Lost", "open": "Open"})
    opp["amount"] = 100.0
    for c in ("opp_id", "rep_id"):
        opp[c] = opp[c].astype("string")
    reps = pd.DataFrame(
        {"rep_id": ["a1", "b1"], "rep_name": ["Ann", "Bob"], "team": ["A", "B"]}
    ).astype("string")
    cfg = DatasetConfig(("Open",), "Won", "Lost", as_of=pd.Timestamp("2026-07-30"))
    return Dataset(cfg, reps, opp)


def test_team_factors_on_a_dataset_and_in_the_simulation():
    ds = _two_teams()
    # Each past quarter: E = 2 x 0.75 x 100 = 150 per team, A = 200 (A) and 100 (B): k for A
    # is B's ratio 2/3, e_A = 100, F_A = 2; F_B = 100 / 200 = 0.5; no scatter: weights 1.
    f = team_win_factors(ds)
    assert f["team"].tolist() == ["A", "B"] and f["periods"].tolist() == [6, 6]
    assert f["factor"].tolist() == pytest.approx([2.0, 0.5])
    # Every quarter is what the factors say and the deals' own variance exceeds the scatter:
    # no company shock, no team shock.
    s = period_shock(ds).iloc[0]
    assert s["shock_sd"] == 0.0 and s["team_shock_sd"] == 0.0
    out = pipeline_forecast(ds, n_sims=20_000, seed=3).set_index("level")
    teams = out.loc["team"].set_index("team")
    # The company keeps the company-wide expectation 0.75 x 100 x 2 = 150. Rescaled factors
    # 2c and 0.5c with A's probability capped at 1: 100 + 0.5c x 0.75 x 100 = 150 -> c = 4/3,
    # so A's deal is certain (100) and B's wins with probability 0.5.
    assert out.loc["company", "open_expected"] == pytest.approx(150.0)
    assert teams.loc["A", "open_expected"] == pytest.approx(100.0)
    assert teams.loc["B", "open_expected"] == pytest.approx(50.0)
    assert teams.loc["A", "p10"] == teams.loc["A", "p90"] == 100.0
    assert teams.loc["B", "mean"] == pytest.approx(50.0, abs=1.0)
    assert out.loc["company", "mean"] == pytest.approx(150.0, abs=1.0)
