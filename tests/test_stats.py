"""Known answers for the shared rate statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from spmlib.core.stats import (
    adjust_p_values,
    compare_to_rest,
    fit_beta_prior,
    normal_quantile,
    rate_table,
    shrink_rates,
    wilson_interval,
)


@pytest.mark.parametrize(
    "p", [[0.01, 0.04, 0.03, 0.5], [0.2], [0.001, 0.001, 0.9, 0.02, 0.04], [0.6, 0.7, 0.8]]
)
def test_holm_matches_statsmodels(p):
    expected = multipletests(np.array(p), method="holm")[1]
    np.testing.assert_allclose(adjust_p_values(np.array(p)), expected)


def test_other_corrections_go_to_statsmodels():
    p = np.array([0.01, 0.02, 0.03])
    np.testing.assert_allclose(adjust_p_values(p, "fdr_bh"), multipletests(p, method="fdr_bh")[1])


def test_rate_table_wilson_known_values():
    # statsmodels proportion_confint(1, 10, method="wilson") = (0.01787, 0.40415)
    out = rate_table(pd.DataFrame({"k": [1], "n": [10]}), "k", "n")
    assert out.loc[0, "rate"] == 0.1
    assert out.loc[0, "rate_low"] == pytest.approx(0.01787, abs=1e-5)
    assert out.loc[0, "rate_high"] == pytest.approx(0.40415, abs=1e-5)


def test_wilson_interval_is_statsmodels_to_the_last_bit():
    # the interval is computed here (statsmodels and scipy cost more to import than spm kpis
    # takes on a million deals); it must stay proportion_confint's, bit for bit
    from statsmodels.stats.proportion import proportion_confint

    k, n = (a.ravel().astype(float) for a in np.meshgrid(np.arange(0, 60), np.arange(1, 60)))
    k, n = k[k <= n], n[k <= n]
    k, n = np.concatenate([k, [0, 7, 123456, 999_999]]), np.concatenate([n, [1e6, 9, 1e6, 1e6]])
    for alpha in (0.05, 0.1, 0.2, 0.01):
        low, high = wilson_interval(k, n, alpha)
        lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
        np.testing.assert_array_equal(low, np.clip(lo, 0, 1))
        np.testing.assert_array_equal(high, np.clip(hi, 0, 1))


def test_normal_quantile_is_scipy_s():
    from scipy import stats

    for tail in (0.025, 0.05, 0.1, 0.005, 0.3):
        assert normal_quantile(tail) == float(stats.norm.isf(tail))


def test_compare_to_rest_within_parent():
    df = pd.DataFrame(
        {
            "team": ["A", "A", "B", "B"],
            "rep": ["a1", "a2", "b1", "b2"],
            "won": [80, 20, 10, 10],
            "closed": [100, 100, 20, 20],
        }
    )
    out = compare_to_rest(df, "won", "closed", parent="team").set_index("rep")
    # a1 vs a2 alone: 0.8 vs 0.2, z-test p << 0.001; b1 and b2 are equal (0.5 vs 0.5): p = 1.
    assert out.loc["a1", "rest_rate"] == 0.2 and out.loc["a1", "direction"] == "above"
    assert out.loc["a2", "direction"] == "below"
    assert out.loc["b1", "p_value"] == pytest.approx(1.0) and not out.loc["b1", "significant"]
    # The data frame passed in is left alone.
    assert list(df.columns) == ["team", "rep", "won", "closed"]


def test_compare_to_rest_small_counts_use_fisher():
    # 3/3 vs 1/5: expected counts < 5 -> Fisher exact; scipy fisher_exact([[3, 0], [1, 4]]) p = 0.1429
    df = pd.DataFrame({"rep": ["x", "y"], "won": [3, 1], "closed": [3, 5]})
    out = compare_to_rest(df, "won", "closed")
    assert out.loc[0, "p_value"] == pytest.approx(0.142857, abs=1e-6)


def test_shrinkage_never_lets_two_of_two_top_the_ranking():
    rng = np.random.default_rng(0)
    n = rng.integers(40, 120, size=20)
    k = rng.binomial(n, 0.3)
    df = pd.DataFrame(
        {"rep": [f"r{i}" for i in range(20)] + ["lucky"], "won": [*k, 2], "closed": [*n, 2]}
    )
    out = shrink_rates(df, "won", "closed", "win_rate")
    assert out.sort_values("win_rate_shrunk", ascending=False)["rep"].iloc[0] != "lucky"
    lucky = out.set_index("rep").loc["lucky"]
    assert lucky["win_rate_shrunk_low"] < lucky["win_rate_shrunk"] < lucky["win_rate_shrunk_high"]


def test_beta_prior_recovers_spread():
    # Groups drawn from Beta(6, 14) (mean 0.3): the ML fit recovers the mean closely.
    rng = np.random.default_rng(1)
    p = rng.beta(6, 14, size=400)
    n = np.full(400, 200)
    a, b = fit_beta_prior(rng.binomial(n, p), n)
    assert a / (a + b) == pytest.approx(0.3, abs=0.01)
    assert 10 < a + b < 40  # true a + b = 20
