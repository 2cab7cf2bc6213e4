"""The funnel on realistic data: the sample generator's true rates, and the public Maven CRM data.

- Sample data (spmlib.sample.generator, seed 42): each stage's observed next-step conversion must contain
  the generator's true ``stage_conversion`` (ground_truth.yml) in its Wilson 95% interval.
  Open deals are right-censored; conversion counts only deals that left the stage, so no
  maturity restriction is needed (the truth is defined over deals that reached the stage).
- Maven Analytics CRM sales opportunities (../shared/data, skipped when absent): the win rate
  per sales agent equals a plain count of Won / (Won + Lost) in sales_pipeline.csv.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

import spmlib
from spmlib.config import PROJ_ROOT, SAMPLE_DATA_DIR, SHARED_DATA_DIR
from spmlib.funnel.conversion import stage_funnel, win_rates
from spmlib.funnel.flow import pipeline_flow

MAVEN = SHARED_DATA_DIR / "maven_crm_sales_opportunities"
MAVEN_MAPPING = PROJ_ROOT / "params" / "mappings" / "maven_crm.yml"


@pytest.fixture(scope="module")
def sample():
    return spmlib.load(None)


@pytest.mark.slow  # loading the sample takes a few seconds
def test_sample_stage_conversion_recovers_true_rates(sample):
    truth = yaml.safe_load((SAMPLE_DATA_DIR / "ground_truth.yml").read_text())
    f = stage_funnel(sample.opportunities, sample.stage_history, config=sample.config)
    f = f.set_index("stage")
    for stage, true_rate in truth["stage_conversion"].items():
        low, high = f.loc[stage, ["conversion_low", "conversion_high"]]
        assert low <= true_rate <= high, (stage, true_rate, low, high)


@pytest.mark.slow
def test_sample_funnel_balances_and_flow_balances(sample):
    f = stage_funnel(
        sample.opportunities,
        sample.stage_history,
        config=sample.config,
        by="team",
        reps=sample.reps,
    )
    open_rows = f[f["stage"] != sample.config.won_stage]
    assert (
        open_rows["reached"] == open_rows["advanced"] + open_rows["lost"] + open_rows["open"]
    ).all()
    flow = pipeline_flow(
        sample.opportunities,
        sample.stage_history,
        config=sample.config,
        start="2025-11-01",
        end="2026-01-31",
        by="team",
        reps=sample.reps,
    )
    lhs = flow["open_start"] + flow["created"] - flow["won"] - flow["lost"]
    np.testing.assert_allclose(lhs, flow["open_end"])


def _maven_raw() -> pd.DataFrame:
    if not MAVEN.exists():
        pytest.skip(f"{MAVEN} is absent (public data sets are not part of the repository)")
    return pd.read_csv(MAVEN / "sales_pipeline.csv")


def _independent_win_rate(raw: pd.DataFrame) -> pd.Series:
    closed = raw[raw["deal_stage"].isin(["Won", "Lost"])]
    counts = closed.groupby("sales_agent")["deal_stage"].value_counts().unstack(fill_value=0)
    return counts["Won"] / (counts["Won"] + counts["Lost"])


def test_maven_win_rate_per_agent_from_plain_frame():
    raw = _maven_raw()
    status = raw["deal_stage"].map({"Won": "won", "Lost": "lost"}).fillna("open")
    opps = pd.DataFrame(
        {
            "rep_id": raw["sales_agent"],
            "status": status,
            "close_date": pd.to_datetime(raw["close_date"]),
        }
    )
    ours = win_rates(opps, by="rep_id").set_index("rep_id")["win_rate"]
    expected = _independent_win_rate(raw)
    pd.testing.assert_series_equal(
        ours.sort_index(), expected.sort_index(), check_names=False, check_index_type=False
    )


def test_maven_win_rate_through_the_mapping():
    raw = _maven_raw()
    ds = spmlib.load(MAVEN, mapping=MAVEN_MAPPING)
    expected = _independent_win_rate(raw)
    ours = win_rates(ds.opportunities, by="rep_id", reps=ds.reps).set_index("rep_id")
    closed = ours[ours["closed"] > 0]["win_rate"]
    np.testing.assert_allclose(closed.sort_index().to_numpy(), expected.sort_index().to_numpy())
    assert list(closed.sort_index().index) == list(expected.sort_index().index)
    # The five agents with no deals still appear, with no rate.
    assert (ours["closed"] == 0).sum() == 5
    # Without stage history, the funnel's won row carries the same win rate per agent.
    f = stage_funnel(ds.opportunities, ds.stage_history, config=ds.config, by="rep_id")
    won_rows = f[f["stage"] == "Won"].set_index("rep_id")["cumulative_conversion"]
    np.testing.assert_allclose(won_rows.sort_index().to_numpy(), expected.sort_index().to_numpy())
    assert not f["losses_known"].any()
