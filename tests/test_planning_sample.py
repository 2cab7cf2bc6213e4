"""The planning code on the sample recovers what the generator put in (ground_truth.yml).

The generator (spmlib.sample.accounts) gives each tenured rep a territory potential of
3 x B^0.6 x B_team^0.4 x exp(N(0, 0.2)), B = the rep's bookings over the data's last 12 months,
splits it into accounts, and records per rep the potential of the accounts it owns and, over
the tenured reps with bookings, the correlation of log potential with log bookings (overall and
within teams) and its square. The quota plan measures bookings over its history window (the
four complete fiscal quarters before the plan year) and potential from the accounts table. On
the sample (reference date 2026-12-14, inside FY2027-Q4 with a February fiscal year) that window
is 2025-11-01 .. 2026-10-31, not the generator's last 365 days, so the correlation is checked
on the plan's potentials against bookings over the generator's window; the figures must agree
up to the rounding of ground_truth.yml (potential to the unit: 0.5; correlations to 4 decimals:
5e-5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

import spmlib
from spmlib.config import SAMPLE_DATA_DIR
from spmlib.core.stats import wilson_interval
from spmlib.planning.fairness import correlation
from spmlib.planning.quota_plan import plan_quotas


@pytest.fixture(scope="module")
def sample():
    ds = spmlib.load(None)
    truth = yaml.safe_load((SAMPLE_DATA_DIR / "ground_truth.yml").read_text())
    return ds, truth, plan_quotas(ds, 30_000_000.0, weights="potential")


@pytest.mark.slow  # loads the sample
def test_plan_recovers_each_reps_potential(sample):
    ds, truth, plan = sample
    reps = plan.reps.set_index("rep_id")
    expected = pd.Series({rid: r["potential"] for rid, r in truth["reps"].items()})
    assert set(expected.index) == set(reps.index)
    # ground_truth.yml rounds each rep's potential to the unit
    assert (reps["potential"] - expected.reindex(reps.index)).abs().max() <= 0.5
    assert reps["potential"].sum() == pytest.approx(ds.accounts["potential"].sum())


@pytest.mark.slow
def test_plan_recovers_the_potential_bookings_correlation(sample):
    ds, truth, plan = sample
    s = plan.settings
    # the plan's history window: FY2027-Q4 (Nov 2026 - Jan 2027) is not complete on 2026-12-14
    assert (s["history_start"], s["history_end"]) == (
        pd.Timestamp("2025-11-01"),
        pd.Timestamp("2026-10-31"),
    )
    # the generator's window: won deals closed in the 365 days up to the reference date
    opp = ds.opportunities
    recent = (
        (opp["status"] == "won")
        & (opp["close_date"] <= ds.as_of)
        & (opp["close_date"] > ds.as_of - pd.Timedelta(days=365))
    )
    reps = plan.reps.set_index("rep_id")
    reps["recent"] = opp[recent].groupby("rep_id")["amount"].sum().reindex(reps.index).fillna(0)
    new_hire = pd.Series({rid: r["new_hire"] for rid, r in truth["reps"].items()})
    fit = reps[~new_hire.reindex(reps.index).astype(bool) & (reps["recent"] > 0)]
    log_b, log_p = np.log(fit["recent"]), np.log(fit["potential"])
    acc = truth["accounts"]
    c = correlation(log_b, log_p).iloc[0]
    assert c["pearson"] == pytest.approx(acc["log_potential_log_bookings_correlation"], abs=5e-5)
    assert c["pearson"] ** 2 == pytest.approx(acc["r_squared"], abs=5e-5)
    # within teams: both logs minus their team's mean
    within = correlation(
        log_b - log_b.groupby(fit["team"]).transform("mean"),
        log_p - log_p.groupby(fit["team"]).transform("mean"),
    ).iloc[0]
    assert within["pearson"] == pytest.approx(acc["within_team_correlation"], abs=5e-5)


@pytest.mark.slow
def test_sample_locked_share_within_its_interval(sample):
    ds, truth, _ = sample
    # each account is locked with probability locked_share: the truth lies in the Wilson 95%
    # interval of the observed share
    locked = ds.accounts["locked"].fillna(False).astype(bool)
    low, high = wilson_interval([locked.sum()], [len(locked)])
    assert low[0] <= truth["accounts"]["locked_share"] <= high[0]
