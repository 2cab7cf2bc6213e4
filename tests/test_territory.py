"""Territory balancing: the MILP against brute force on small instances, locks, move limits,
infeasible bands with the tightest band, workload, travel, the trade-off curve and the greedy
baseline. Every expected value is worked out by hand or by enumerating all assignments."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from spmlib.exceptions import SpmError, UnknownNameError
from spmlib.planning.territory import (
    balance_territories,
    greedy_balance,
    haversine_km,
    tightest_band,
    tradeoff_curve,
)


def _accounts(potential, owners, locked=None, **extra) -> pd.DataFrame:
    n = len(potential)
    frame = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "account_name": [f"Account {i}" for i in range(n)],
            "rep_id": owners,
            "potential": np.asarray(potential, float),
            "locked": locked if locked is not None else [False] * n,
        }
    )
    return frame.assign(**extra)


def _brute_force(acc: pd.DataFrame, reps: list[str], band: float, max_moves=None):
    """Least potential moved over every assignment meeting the band (None if none does)."""
    pot = acc["potential"].to_numpy()
    owner = acc["rep_id"].tolist()
    mean = pot.sum() / len(reps)
    best = None
    for combo in itertools.product(reps, repeat=len(acc)):
        if any(lk and c != o for lk, c, o in zip(acc["locked"], combo, owner, strict=True)):
            continue
        moved = [c != o for c, o in zip(combo, owner, strict=True)]
        if max_moves is not None and sum(moved) > max_moves:
            continue
        loads = np.array([pot[[c == r for c in combo]].sum() for r in reps])
        if np.all(np.abs(loads - mean) <= band * mean + 1e-9):
            cost = float(pot[moved].sum())
            best = cost if best is None else min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_milp_matches_brute_force_on_small_instances(seed):
    rng = np.random.default_rng(seed)
    n, reps = 7, ["x", "y", "z"]
    pot = np.round(rng.lognormal(3, 0.8, n))
    owners = list(rng.choice(reps, n, p=[0.6, 0.3, 0.1]))
    locked = list(rng.random(n) < 0.2)
    acc = _accounts(pot, owners, locked)
    for band in (0.1, 0.25):
        expected = _brute_force(acc, reps, band)
        plan = balance_territories(acc, reps=reps, band=band)
        row = plan.summary.iloc[0]
        if expected is None:
            assert row["status"] == "infeasible" and not row["feasible"]
            assert row["tightest_band"] > band
        else:
            assert row["status"] == "optimal" and row["feasible"]
            assert row["potential_moved"] == pytest.approx(expected)
            assert plan.assignments.loc[plan.assignments["locked"], "moved"].sum() == 0
            assert row["max_deviation"] <= band + 1e-9


def test_max_moves_against_brute_force():
    # x holds 10+6+1+1 = 18, y holds 2, mean 10, band 0.2 -> each in [8, 12]
    acc = _accounts([10, 6, 1, 1, 2], ["x", "x", "x", "x", "y"])
    free = balance_territories(acc, band=0.2)
    # best without a limit: move 6 (x: 12, y: 8), one move of 6
    assert free.summary["potential_moved"].iloc[0] == 6
    assert _brute_force(acc, ["x", "y"], 0.2) == 6
    # with at most 0 moves it is infeasible; the tightest band with no move is 0.8 (18 vs 2)
    none = balance_territories(acc, band=0.2, max_moves=0)
    assert none.summary["status"].iloc[0] == "infeasible"
    assert none.summary["tightest_band"].iloc[0] == pytest.approx(0.8)
    assert not none.assignments["moved"].any()


def test_locked_accounts_never_move_and_tightest_band():
    # x: 6 (locked) + 3, y: 1; mean 5. Best reachable: x 6, y 4 -> band 0.2 (hand)
    acc = _accounts([6, 3, 1], ["x", "x", "y"], [True, False, False])
    plan = balance_territories(acc, band=0.1)
    assert plan.summary["status"].iloc[0] == "infeasible"
    assert plan.summary["tightest_band"].iloc[0] == pytest.approx(0.2)
    tight = tightest_band(acc)
    assert tight["band"].iloc[0] == pytest.approx(0.2) and tight["moves"].iloc[0] == 1
    ok = balance_territories(acc, band=0.2)
    moved = ok.assignments[ok.assignments["moved"]]
    assert moved["account_id"].tolist() == ["A1"] and moved["rep_id_after"].tolist() == ["y"]


def test_new_rep_without_accounts_gets_a_territory():
    # x: 4+4+2+2 = 12, new rep n: 0; mean 6; band 0 -> n takes 4+2 (or 2+4): 6 moved
    acc = _accounts([4, 4, 2, 2], ["x"] * 4)
    plan = balance_territories(acc, reps=["x", "n"], band=0.0)
    bal = plan.balance.set_index("rep_id")
    assert bal.loc["n", "potential_after"] == 6 and bal.loc["x", "potential_after"] == 6
    assert bal.loc["n", "accounts_before"] == 0 and bal.loc["n", "moved_in"] == 2
    assert plan.summary["potential_moved"].iloc[0] == 6


def test_workload_and_both():
    # potential is balanced (5 / 5) but workload is 30 / 10; moving A1 (pot 2, work 10) to y
    # and A3 (pot 2, work 0) to x swaps: pot 5/5, work 20/20 (hand); cost 4
    acc = _accounts([3, 2, 3, 2], ["x", "x", "y", "y"], workload=[20.0, 10.0, 10.0, 0.0])
    pot_only = balance_territories(acc, balance="potential", band=0.0)
    assert pot_only.summary["moves"].iloc[0] == 0
    both = balance_territories(acc, balance="both", band=0.0)
    assert both.summary["potential_moved"].iloc[0] == 4
    bal = both.balance.set_index("rep_id")
    assert bal["workload_after"].tolist() == [20.0, 20.0]
    assert bal["potential_after"].tolist() == [5.0, 5.0]
    with pytest.raises(SpmError, match="workload"):
        balance_territories(acc.drop(columns="workload"), balance="workload")
    with pytest.raises(UnknownNameError, match="both, potential, workload"):
        balance_territories(acc, balance="revenue")


def test_travel_weight_prefers_the_nearer_rep():
    # x owns A0 (2) and A1 (1) in Paris and A2 (1) in Berlin; y owns A3 (2) in Berlin. Mean 3,
    # band 0: x gives 1, either A1 (Paris) or A2 (Berlin) at the same potential; with a travel
    # weight A2 goes, as it lies near y's base (hand).
    acc = _accounts(
        [2, 1, 1, 2],
        ["x", "x", "x", "y"],
        latitude=[48.85, 48.86, 52.52, 52.52],
        longitude=[2.35, 2.36, 13.40, 13.41],
    )
    plan = balance_territories(acc, band=0.0, travel_weight=1.0)
    moved = plan.assignments.loc[plan.assignments["moved"], "account_id"].tolist()
    assert moved == ["A2"]
    s = plan.summary.iloc[0]
    assert s["potential_moved"] == 1 and s["travel_km_after"] < s["travel_km_before"]


def test_haversine_known_distance():
    # Paris (48.8566, 2.3522) to London (51.5074, -0.1278): 343.5 km (great circle, R 6371 km)
    assert haversine_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, abs=0.5)


def test_tradeoff_curve_is_monotone():
    rng = np.random.default_rng(3)
    acc = _accounts(np.round(rng.lognormal(3, 1, 30)), list(rng.choice(["a", "b", "c"], 30)))
    curve = tradeoff_curve(acc, limits=(0.0, 0.05, 0.2, 0.5))
    assert curve["max_share_moved"].tolist() == [0.0, 0.05, 0.2, 0.5]
    assert (np.diff(curve["band"]) <= 1e-9).all()  # more moves allowed, never worse balance
    assert (curve["share_moved"] <= curve["max_share_moved"] + 1e-9).all()
    assert curve["moves"].iloc[0] == 0


def test_greedy_baseline_is_beaten_by_the_milp():
    # x: 5+3+2 = 10, y: 2; band 0.2 -> [4.8, 7.2]. Greedy moves the largest fitting (5),
    # the MILP the cheapest fitting (3) (hand).
    acc = _accounts([5, 3, 2, 2], ["x", "x", "x", "y"])
    g = greedy_balance(acc, band=0.2).summary.iloc[0]
    m = balance_territories(acc, band=0.2).summary.iloc[0]
    assert (g["potential_moved"], m["potential_moved"]) == (5.0, 3.0)
    assert g["status"] == "reached" and m["status"] == "optimal"


def test_bad_arguments():
    acc = _accounts([1, 2], ["x", "y"])
    with pytest.raises(SpmError, match="band must be >= 0"):
        balance_territories(acc, band=-0.1)
    with pytest.raises(SpmError, match="at least 2 reps"):
        balance_territories(acc, reps=["x"])
    with pytest.raises(SpmError, match="latitude and longitude"):
        balance_territories(acc, travel_weight=1.0)
