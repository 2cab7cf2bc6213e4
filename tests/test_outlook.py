"""The quarter outlook against an independent calculation on hand-made data.

The data start in the quarter itself, so there is no past quarter to learn from: each open
deal is won with its CRM probability when it is due by the quarter's end (0 otherwise), no new
deal is expected and no shock is measured (see spmlib.forecast.pipeline.deal_probabilities).
Quarter-end bookings are then booked + a sum of independent Bernoulli deals, whose exact
distribution is enumerated below and set against the Monte Carlo.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from spmlib.exceptions import ParameterError, UnknownNameError
from spmlib.forecast.outlook import OUTLOOK_COLUMNS, OUTLOOK_METHOD, quarter_outlook
from spmlib.io.schema import Dataset, DatasetConfig

D = pd.to_datetime
AS_OF = pd.Timestamp("2026-02-11")  # a Wednesday
# Calendar fiscal year: this quarter is 2026-01-01 .. 2026-03-31, 64 weekdays (22 + 20 + 22);
# by 11 Feb: January's 22 + 2-11 February's 8 = 30 -> elapsed 30 / 64.
ELAPSED = 30 / 64
# open deals due this quarter: (rep, amount, probability)
OPEN_DUE = {"O1": ("a", 200.0, 0.4), "O3": ("b", 80.0, 0.7), "O4": ("c", 60.0, 0.3)}
BOOKED = {"a": 100.0, "b": 50.0, "c": 30.0}
QUOTA = {"a": 300.0, "b": 200.0}  # c has none


def _dataset(as_of: pd.Timestamp = AS_OF) -> Dataset:
    reps = pd.DataFrame(
        {"rep_id": ["a", "b", "c"], "rep_name": ["Ann", "Bo", "Cy"], "team": ["N", "N", "S"]}
    )
    opps = pd.DataFrame(
        {
            "opp_id": ["W1", "W2", "W3", "L1", "O1", "O2", "O3", "O4"],
            "rep_id": ["a", "b", "c", "a", "a", "a", "b", "c"],
            "created_date": D(["2026-01-02"] * 8),
            # O2 is due after the quarter (not counted); O3 is overdue (counted)
            "close_date": D(["2026-01-20", "2026-02-05", "2026-01-10", "2026-01-15",
                             "2026-03-10", "2026-04-15", "2026-02-01", "2026-03-31"]),
            "stage": ["Won", "Won", "Won", "Lost", "Offer", "Offer", "Offer", "Offer"],
            "amount": [100.0, 50.0, 30.0, 999.0, 200.0, 100.0, 80.0, 60.0],
            "status": ["won", "won", "won", "lost", "open", "open", "open", "open"],
            "probability": [1.0, 1.0, 1.0, 0.0, 0.4, 0.25, 0.7, 0.3],
        }
    )  # fmt: skip
    quotas = pd.DataFrame(
        {
            "rep_id": ["a"] * 3 + ["b"] * 3,
            "period_start": D(["2026-01-01", "2026-02-01", "2026-03-01"] * 2),
            "period_end": D(["2026-01-31", "2026-02-28", "2026-03-31"] * 2),
            "quota": [100.0] * 3 + [200 / 3] * 3,
        }
    )
    cfg = DatasetConfig(("Offer",), "Won", "Lost", as_of=as_of)
    return Dataset(cfg, reps, opps, quotas=quotas)


def _exact(reps: list[str]) -> tuple[dict[float, float], float]:
    """The exact distribution of quarter-end bookings of ``reps`` (value -> probability),
    enumerating every outcome of their open deals, and their booked amount."""
    deals = [(amount, p) for rep, amount, p in OPEN_DUE.values() if rep in reps]
    booked = sum(BOOKED[r] for r in reps)
    dist: dict[float, float] = {}
    for wins in itertools.product([0, 1], repeat=len(deals)):
        value = booked + sum(a for (a, _), w in zip(deals, wins, strict=True) if w)
        prob = np.prod([p if w else 1 - p for (_, p), w in zip(deals, wins, strict=True)])
        dist[value] = dist.get(value, 0.0) + prob
    return dist, booked


def _quantile(dist: dict[float, float], q: float) -> float:
    """The smallest value whose cumulative probability reaches q (checked not to sit on a
    boundary, where the Monte Carlo could fall either side)."""
    cdf = 0.0
    for value in sorted(dist):
        cdf += dist[value]
        if cdf >= q:
            assert cdf - q > 0.01, "boundary: choose other probabilities"
            return value
    raise AssertionError


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return _dataset()


@pytest.mark.parametrize(
    ("by", "key", "reps"),
    [("company", None, ["a", "b", "c"]), ("team", "N", ["a", "b"]), ("team", "S", ["c"]),
     ("rep", "a", ["a"]), ("rep", "b", ["b"])],
)  # fmt: skip
def test_outlook_matches_the_exact_distribution(ds, by, key, reps):
    out = quarter_outlook(ds, by=by, n_sims=200_000, seed=1)
    assert list(out.columns[-len(OUTLOOK_COLUMNS) :]) == OUTLOOK_COLUMNS
    col = {"team": "team", "rep": "rep_id"}.get(by)
    row = out.iloc[0] if col is None else out.set_index(col).loc[key]
    dist, booked = _exact(reps)
    quota = sum(QUOTA.get(r, 0.0) for r in reps) or np.nan
    due = [(a, r) for r, a, _ in OPEN_DUE.values() if r in reps]
    assert row["period"] == "FY2026-Q1" and row["as_of"] == AS_OF
    assert (row["selling_days"], row["selling_days_elapsed"]) == (64, 30)
    assert row["elapsed"] == pytest.approx(ELAPSED)
    assert row["booked"] == booked
    for q, name in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90")):
        assert row[name] == _quantile(dist, q), name
    assert row["open_pipeline"] == sum(a for a, _ in due) and row["open_deals"] == len(due)
    if np.isnan(quota):
        assert np.isnan(row["quota"]) and np.isnan(row["p_quota"]) and np.isnan(row["pace"])
        assert np.isnan(row["coverage"])
        return
    exact_p = sum(p for v, p in dist.items() if v >= quota)
    # 200,000 simulations: standard error below 0.0012
    assert row["p_quota"] == pytest.approx(exact_p, abs=0.005)
    assert row["quota"] == pytest.approx(quota)
    assert row["attainment"] == pytest.approx(booked / quota)
    assert row["pace"] == pytest.approx(booked / quota / ELAPSED)
    assert row["projected_attainment"] == pytest.approx(row["p50"] / quota)
    assert row["remaining_quota"] == pytest.approx(quota - booked)
    assert row["coverage"] == pytest.approx(sum(a for a, _ in due) / (quota - booked))
    assert row["coverage_target"] == 3.0


def test_the_hand_worked_company_figures(ds):
    # Company: booked 180; open due O1 200 (0.4), O3 80 (0.7), O4 60 (0.3). Outcomes sorted:
    # 180 .126, 240 .054, 260 .294, 320 .126, 380 .084, 440 .036, 460 .196, 520 .084, so the
    # cumulative probability passes 10% at 180, 50% at 320, 90% at 460; only 520 reaches the
    # quota of 500: p = 0.4 x 0.7 x 0.3 = 0.084. Pace: 180 / 500 / (30/64) = 0.768.
    row = quarter_outlook(ds, n_sims=200_000, seed=2).iloc[0]
    assert (row["p10"], row["p50"], row["p90"]) == (180.0, 320.0, 460.0)
    assert row["p_quota"] == pytest.approx(0.084, abs=0.005)
    assert row["pace"] == pytest.approx(0.768)
    assert row["coverage"] == pytest.approx(340 / 320)


def test_groups_agree_and_the_last_day_is_settled(ds):
    teams = quarter_outlook(ds, by="team", n_sims=5000)
    reps = quarter_outlook(ds, by="rep", n_sims=5000)
    assert list(reps["rep_name"]) == ["Ann", "Bo", "Cy"]
    assert teams["booked"].sum() == reps["booked"].sum() == 180.0
    # the quarter's last day: nothing left to simulate
    last = quarter_outlook(_dataset(pd.Timestamp("2026-03-31")), by="rep").set_index("rep_id")
    assert (last["p10"] == last["booked"]).all() and (last["p90"] == last["booked"]).all()
    assert last.loc["a", "p_quota"] == 0.0 and last.loc["a", "elapsed"] == 1.0
    # an earlier day reads the data as it stood: W2 (5 Feb) was not booked on 1 Feb
    early = quarter_outlook(ds, by="rep", as_of="2026-02-01", n_sims=1000).set_index("rep_id")
    assert early.loc["b", "booked"] == 0.0 and early.loc["b", "as_of"] == pd.Timestamp("2026-02-01")
    with pytest.raises(UnknownNameError, match="unknown grouping 'product'"):
        quarter_outlook(ds, by="product")
    with pytest.raises(ParameterError, match="needs the manager column of the reps table"):
        quarter_outlook(ds, by="manager")


def test_measured_coverage_comes_from_the_calibration(ds):
    calibration = pd.DataFrame(
        {"level": ["all", "company", "team"], "team": [pd.NA, pd.NA, "N"],
         "replays": [6, 3, 3], "coverage_80": [0.5, 2 / 3, 1 / 3]}
    )  # fmt: skip
    company = quarter_outlook(ds, n_sims=100, calibration=calibration).iloc[0]
    assert company["replay_coverage_80"] == pytest.approx(2 / 3) and company["replays"] == 3
    teams = quarter_outlook(ds, "team", n_sims=100, calibration=calibration).set_index("team")
    assert teams.loc["N", "replay_coverage_80"] == pytest.approx(1 / 3)
    assert np.isnan(teams.loc["S", "replay_coverage_80"]) and teams.loc["S", "replays"] == 0
    reps = quarter_outlook(ds, "rep", n_sims=100, calibration=calibration)
    assert reps["replay_coverage_80"].isna().all()
    assert "{n_sims:,}" in OUTLOOK_METHOD and "3×" in OUTLOOK_METHOD.format(n_sims=1, target=3)
